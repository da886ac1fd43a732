# A loadable extension built from a small C file, for the tests of load_extension and
# options::extensions (test_options.cpp).
enable_language(C)
add_library(asiolite_test_extension MODULE ${CMAKE_CURRENT_LIST_DIR}/answer.c)
# libanswer.so: SQLite derives the default entry point, sqlite3_answer_init, from the name.
set_target_properties(asiolite_test_extension PROPERTIES OUTPUT_NAME answer PREFIX lib)
target_compile_options(asiolite_test_extension PRIVATE -Wall -Wextra -Wpedantic)
target_compile_definitions(asiolite_tests PRIVATE ASIOLITE_TEST_EXTENSION="$<TARGET_FILE:asiolite_test_extension>")
add_dependencies(asiolite_tests asiolite_test_extension)
