# Fails when a test, a docs page or the README puts a co_await inside a Catch assertion
# (CHECK, REQUIRE and their forms). g++ 12 evaluates such a co_await more than once (the
# assertion macro repeats its expression in a condition that should never run, and g++
# runs the awaited operation anyway): CHECK of an awaited value ran the operation three
# times and compared the second result. Await into a named value first, then check it.
# Run as: cmake -DROOT=<source dir> -P check_no_await_in_assertions.cmake
file(GLOB files ${ROOT}/tests/*.cpp ${ROOT}/tests/*.hpp ${ROOT}/tests/*/*.cpp ${ROOT}/tests/*/*.hpp
     ${ROOT}/docs/*.md ${ROOT}/README.md ${ROOT}/examples/*.cpp)
set(found "")
set(checked 0)
foreach(f IN LISTS files)
  file(READ ${f} text)
  math(EXPR checked "${checked} + 1")
  # An assertion macro's opening parenthesis, then anything but a ';' (the statement's
  # end), then co_await.
  string(REGEX MATCHALL "(^|[^A-Za-z_])(CHECK|REQUIRE)[A-Z_]*\\([^;]*co_await" hits "${text}")
  foreach(hit IN LISTS hits)
    string(REGEX REPLACE "\n.*" "" first_line "${hit}")
    file(RELATIVE_PATH rel ${ROOT} ${f})
    list(APPEND found "  ${rel}: ${first_line}")
  endforeach()
endforeach()
message(STATUS "${checked} files checked for co_await inside an assertion")
if(found)
  list(JOIN found "\n" listing)
  message(FATAL_ERROR "co_await inside a Catch assertion (g++ 12 runs it more than once; await into a "
                      "named value first):\n${listing}")
endif()
