# Finds standalone Asio's headers (Debian's libasio-dev has no CMake package). Sets
# ASIOLITE_ASIO_FOUND, and ASIOLITE_ASIO_INCLUDE_DIR: empty when the compiler finds
# asio.hpp on its own search path. Without them, and with ASIOLITE_FETCH_ASIO on,
# downloads Asio with FetchContent.
set(ASIOLITE_ASIO_FOUND FALSE)
find_path(ASIOLITE_ASIO_HEADER_DIR asio.hpp DOC "Directory that holds standalone Asio's asio.hpp")
if(ASIOLITE_ASIO_HEADER_DIR)
  set(ASIOLITE_ASIO_FOUND TRUE)
  if(ASIOLITE_ASIO_HEADER_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    set(ASIOLITE_ASIO_INCLUDE_DIR "")
  else()
    set(ASIOLITE_ASIO_INCLUDE_DIR "${ASIOLITE_ASIO_HEADER_DIR}")
  endif()
elseif(ASIOLITE_FETCH_ASIO)
  include(FetchContent)
  FetchContent_Declare(asiolite_asio
    GIT_REPOSITORY https://github.com/chriskohlhoff/asio.git
    GIT_TAG asio-1-30-2
    GIT_SHALLOW TRUE)
  FetchContent_MakeAvailable(asiolite_asio)
  set(ASIOLITE_ASIO_FOUND TRUE)
  set(ASIOLITE_ASIO_INCLUDE_DIR "${asiolite_asio_SOURCE_DIR}/asio/include")
endif()
