# The crash suite's child program: test_crash.cpp starts it, kills it with SIGKILL at a
# random moment, and checks what its acknowledged commits left in the database.
add_executable(asiolite_crash_child ${CMAKE_CURRENT_LIST_DIR}/crash_child.cpp)
target_link_libraries(asiolite_crash_child PRIVATE ${ASIOLITE_TEST_LIBRARY} asiolite_warnings)
target_compile_definitions(asiolite_tests PRIVATE ASIOLITE_CRASH_CHILD="$<TARGET_FILE:asiolite_crash_child>")
add_dependencies(asiolite_tests asiolite_crash_child)
