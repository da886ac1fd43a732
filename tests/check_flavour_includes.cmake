# Fails when a file other than the one place for it names a flavour of Asio:
# - in include/, only asiolite/config.hpp includes Asio's headers or spells `boost::` or
#   `::asio` (comments aside): the rest of the library writes `asio::`, the alias config.hpp
#   declares inside namespace asiolite, so that both flavours compile the same code;
# - in the tests, the test programs' helpers and the documentation's harness, which are
#   built in both flavours, only tests/asio_flavour.hpp includes an Asio header: one
#   standalone include in a Boost build would silently mix the two Asios (both are
#   installed where CI runs).
# Run as: cmake -DROOT=<source dir> -P check_flavour_includes.cmake
set(found "")
file(GLOB_RECURSE library RELATIVE ${ROOT} ${ROOT}/include/*.hpp ${ROOT}/include/*.ipp)
list(REMOVE_ITEM library include/asiolite/config.hpp)
file(GLOB tests RELATIVE ${ROOT} ${ROOT}/tests/*.cpp ${ROOT}/tests/*.hpp ${ROOT}/tests/*/*.cpp ${ROOT}/tests/*/*.hpp)
# (consumer/ and compile_fail/ hold programs of one flavour, built on their own.)
list(FILTER tests EXCLUDE REGEX "^tests/(asio_flavour\\.hpp|consumer/|compile_fail/|catch\\.hpp)")
foreach(rel IN LISTS library tests)
  file(STRINGS ${ROOT}/${rel} lines)
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(line MATCHES "^[ \t]*//")
      continue()
    endif()
    if(line MATCHES "#[ \t]*include[ \t]*<(asio[./]|boost/)")
      list(APPEND found "  ${rel}:${n}: ${line}")
    elseif(rel MATCHES "^include/" AND line MATCHES "(boost::|[^A-Za-z_]::asio[^A-Za-z_])")
      list(APPEND found "  ${rel}:${n}: ${line}")
    endif()
  endforeach()
endforeach()
list(LENGTH library nl)
list(LENGTH tests nt)
message(STATUS "${nl} library files and ${nt} test files checked for a flavour's Asio")
if(found)
  list(JOIN found "\n" listing)
  message(FATAL_ERROR "a flavour of Asio named outside config.hpp / tests/asio_flavour.hpp:\n${listing}")
endif()
