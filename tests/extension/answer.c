/* A loadable SQLite extension for the tests (test_options.cpp): answer() returns 42.
   Its second entry point, asiolite_test_seven_init, registers seven() instead, to load by
   name. Built by the test suite as a shared module, libanswer.so, so that SQLite finds
   the default entry point, sqlite3_answer_init, from the file's name. */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

static void answer(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_int(ctx, 42);
}

static void seven(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_int(ctx, 7);
}

int sqlite3_answer_init(sqlite3* db, char** error, const sqlite3_api_routines* api) {
  SQLITE_EXTENSION_INIT2(api);
  (void)error;
  return sqlite3_create_function(db, "answer", 0, SQLITE_UTF8 | SQLITE_DETERMINISTIC, 0, answer, 0, 0);
}

int asiolite_test_seven_init(sqlite3* db, char** error, const sqlite3_api_routines* api) {
  SQLITE_EXTENSION_INIT2(api);
  (void)error;
  return sqlite3_create_function(db, "seven", 0, SQLITE_UTF8 | SQLITE_DETERMINISTIC, 0, seven, 0, 0);
}
