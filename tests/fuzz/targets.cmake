# libFuzzer targets (see fuzz/README.md). libFuzzer comes with Clang, so they exist only
# there; each also runs briefly as a CTest test over its checked-in seed corpus.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(asiolite_fuzz_default ON)
else()
  set(asiolite_fuzz_default OFF)
endif()
option(ASIOLITE_BUILD_FUZZERS "Build the libFuzzer targets and run each briefly as a test (Clang only)"
       ${asiolite_fuzz_default})

if(ASIOLITE_BUILD_FUZZERS AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  # -fno-sanitize=function: clang 14's check rejects the calls Asio's coroutines make
  # through a function pointer of another type. The build type's optimization: CI's
  # Debug build (-O0) compiles them fastest; for long runs configure RelWithDebInfo.
  set(asiolite_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize=function -fno-sanitize-recover=all
                          -fno-omit-frame-pointer)
  foreach(name sql_forms values named_params)
    set(target asiolite_fuzz_${name})
    add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${name}.cpp)
    # Header-only whatever ASIOLITE_TEST_SEPARATE_COMPILATION says: the whole library is
    # then compiled with the fuzzer's coverage and the sanitizers.
    target_link_libraries(${target} PRIVATE ${ASIOLITE_FLAVOUR_TARGET} asiolite_warnings)
    target_compile_options(${target} PRIVATE ${asiolite_fuzz_flags})
    target_link_options(${target} PRIVATE ${asiolite_fuzz_flags})

    # New inputs go to a directory of the build (the first one named); the checked-in
    # seeds are only read. Crash reproducers are written there too.
    set(work_dir ${CMAKE_CURRENT_BINARY_DIR}/fuzz/${name})
    file(MAKE_DIRECTORY ${work_dir}/new_inputs)
    add_test(NAME fuzz_${name}
             COMMAND ${target} -max_total_time=8 -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
                     -artifact_prefix=${work_dir}/ ${work_dir}/new_inputs
                     ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name}
             WORKING_DIRECTORY ${work_dir})
    set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 60)
  endforeach()
endif()
