# Including <asiolite.hpp> and using none of it leaves next to no code in an -O0 object
# file: at most MAX_FUNCTIONS functions (Asio's own error categories are some of them).
# g++ compiles every coroutine it instantiates, called or not: one non-template inline
# coroutine in a header (or a template's non-dependent co_await) put the whole connection,
# some 3,900 functions, into every object file that included the library.
# Usage: cmake -DNM=<nm> -DOBJECT=<include_only.o> -DMAX_FUNCTIONS=<n> -P check_include_only.cmake
execute_process(COMMAND "${NM}" --defined-only "${OBJECT}" OUTPUT_VARIABLE symbols RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "${NM} could not read ${OBJECT}")
endif()
string(REGEX MATCHALL "\n[0-9a-f]* [TtWw] [^\n]*" functions "\n${symbols}")
list(LENGTH functions count)
if(count GREATER MAX_FUNCTIONS)
  execute_process(COMMAND "${NM}" -C --defined-only "${OBJECT}" OUTPUT_VARIABLE demangled)
  # The coroutines compiled (their bodies are the .actor clones) are what to look for.
  string(REGEX MATCHALL "[^\n]*clone \\.actor[^\n]*" actors "${demangled}")
  string(REPLACE ";" "\n  " actors "${actors}")
  message(FATAL_ERROR "including asiolite emits ${count} functions (at most ${MAX_FUNCTIONS}); coroutines compiled:\n  ${actors}")
endif()
message(STATUS "including asiolite emits ${count} functions (at most ${MAX_FUNCTIONS})")
