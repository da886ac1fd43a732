# Fault injection (test_faults.cpp): the out-of-memory probe, a program of its own since
# it must install its allocator before SQLite initializes.
add_executable(asiolite_nomem_probe ${CMAKE_CURRENT_LIST_DIR}/nomem_probe.cpp)
target_link_libraries(asiolite_nomem_probe PRIVATE ${ASIOLITE_TEST_LIBRARY} asiolite_warnings)
target_compile_definitions(asiolite_tests PRIVATE ASIOLITE_NOMEM_PROBE="$<TARGET_FILE:asiolite_nomem_probe>")
add_dependencies(asiolite_tests asiolite_nomem_probe)
