# Builds a standalone Asio program (an example, the benchmark) against Boost.Asio, as it
# is, in the Boost flavour's build: each <asio/X> that the given files include becomes a
# generated header that includes <boost/asio/X> and declares
# `namespace asio = boost::asio;` (after declaring that namespace, which a header such as
# version.hpp does not), found before any other include directory.
function(asiolite_use_boost_asio_shims target)
  set(shims ${CMAKE_CURRENT_BINARY_DIR}/boost_asio_shims)
  foreach(file IN LISTS ARGN)
    file(STRINGS ${file} includes REGEX "^#include <asio/[^>]+>")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include <asio/([^>]+)>.*" "\\1" header "${line}")
      file(CONFIGURE OUTPUT ${shims}/asio/${header} CONTENT
           "#pragma once\n#include <boost/asio/${header}>\nnamespace boost::asio {}\nnamespace asio = boost::asio;\n")
    endforeach()
  endforeach()
  target_include_directories(${target} BEFORE PRIVATE ${shims})
endfunction()
