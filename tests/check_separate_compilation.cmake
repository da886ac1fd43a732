# With ASIOLITE_SEPARATE_COMPILATION, a program's translation unit compiles only the
# library code that depends on its own types: the worker, the queue, the database and the
# error messages are compiled once, by <asiolite/src.hpp>. Compares the functions of
# asiolite that one translation unit (bench/compile_time/b_one_query.cpp, -O0) defines when
# built header-only and separately: the separate build may define at most MAX_SHARE
# percent of them (measured: 43% with g++ 12 and clang 14), and none of the core's.
# Usage: cmake -DNM=<nm> -DHEADER_ONLY=<a.o> -DSEPARATE=<b.o> -DMAX_SHARE=<percent> -P check_separate_compilation.cmake
function(asiolite_functions object out_count out_names)
  execute_process(COMMAND "${NM}" -C --defined-only "${object}" OUTPUT_VARIABLE symbols RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "${NM} could not read ${object}")
  endif()
  string(REGEX MATCHALL "\n[0-9a-f]* [TtWw] [^\n]*asiolite::[^\n]*" functions "\n${symbols}")
  list(LENGTH functions count)
  set(${out_count} ${count} PARENT_SCOPE)
  set(${out_names} "${functions}" PARENT_SCOPE)
endfunction()

asiolite_functions("${HEADER_ONLY}" header_only header_only_names)
asiolite_functions("${SEPARATE}" separate separate_names)
math(EXPR share "100 * ${separate} / ${header_only}")
message(STATUS "asiolite functions in one program's object file: ${header_only} header-only, ${separate} "
               "with separate compilation (${share}%, at most ${MAX_SHARE}%)")
if(header_only LESS 100)
  message(FATAL_ERROR "the header-only object defines only ${header_only} functions of asiolite: not the program expected")
endif()
# Functions of the core that a program must never compile itself when separately compiled.
string(REGEX MATCHALL "[^\n]*asiolite::detail::(connection_impl::(submit|worker_main|drain|wait_for_request)|database::(open|configure|pragma)|check_options|prepare_one)\\([^\n]*"
       core "${separate_names}")
if(core)
  string(REPLACE ";" "\n  " core "${core}")
  message(FATAL_ERROR "with ASIOLITE_SEPARATE_COMPILATION the program still compiles the core:\n  ${core}")
endif()
if(share GREATER MAX_SHARE)
  message(FATAL_ERROR "with ASIOLITE_SEPARATE_COMPILATION the program defines ${share}% of the header-only "
                      "build's asiolite functions (at most ${MAX_SHARE}%)")
endif()
