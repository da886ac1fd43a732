#!/usr/bin/env bash
# Builds and runs the consumer project (tests/consumer) against asiolite three ways:
# FetchContent of the checkout, add_subdirectory of it, and find_package after
# `cmake --install` to a temporary prefix. Checks that a consumed asiolite builds none of
# its own tests, examples or benchmarks. No network. Usage: run.sh [asiolite-checkout]
# (default: two levels up from this script). Extra CMake arguments: $CONSUMER_CMAKE_ARGS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "${1:-$here/../..}" && pwd)
jobs=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
read -r -a extra <<<"${CONSUMER_CMAKE_ARGS:-}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asiolite-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "consumer: FAIL: $*" >&2
  exit 1
}

# consume <mode> [cmake args...]: configure, build, and run the consumer in $tmp/<mode>.
consume() {
  local mode=$1 build=$tmp/$1
  shift
  echo "---- consumer: $mode"
  cmake -S "$here" -B "$build" -DASIOLITE_CONSUME="$mode" ${extra[@]+"${extra[@]}"} "$@"
  cmake --build "$build" -j "$jobs"

  # asiolite's own tests, examples and benchmarks must not be defined (CMakeLists.txt
  # checks that), built, or registered with CTest. asiolite is header-only: the
  # consumer's main.cpp.o is the only object file the build may produce.
  local stray
  stray=$(find "$build" -type f \( -name '*.o' -o -name 'asiolite_*' -o -name 'quickstart*' \) \
    ! -path '*/CMakeFiles/consumer.dir/main.cpp.o' ! -path '*/CMakeFiles/CMake*' -print)
  [ -z "$stray" ] || fail "$mode: asiolite's own tests/examples were built: $stray"
  local listed
  listed=$(ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: //p')
  [ "$listed" = "consumer" ] || fail "$mode: expected only the test 'consumer', ctest lists: $listed"
  if [ "$mode" != package ]; then
    for opt in ASIOLITE_BUILD_TESTS ASIOLITE_BUILD_EXAMPLES ASIOLITE_BUILD_BENCHMARKS; do
      grep -qx "$opt:BOOL=OFF" "$build/CMakeCache.txt" || fail "$mode: $opt is not OFF when consumed"
    done
  fi

  ctest --test-dir "$build" --output-on-failure
  "$build/consumer" | grep -qx "asiolite consumer: ok" || fail "$mode: consumer did not report ok"
}

consume fetchcontent -DASIOLITE_SOURCE_DIR="$root"
consume subdirectory -DASIOLITE_SOURCE_DIR="$root"

echo "---- consumer: install asiolite to a temporary prefix"
prefix=$tmp/prefix
cmake -S "$root" -B "$tmp/asiolite" -DCMAKE_BUILD_TYPE=Release \
  -DASIOLITE_BUILD_TESTS=OFF -DASIOLITE_BUILD_EXAMPLES=OFF -DASIOLITE_BUILD_BENCHMARKS=OFF ${extra[@]+"${extra[@]}"}
cmake --build "$tmp/asiolite" -j "$jobs"
cmake --install "$tmp/asiolite" --prefix "$prefix"
for f in include/asiolite.hpp include/asiolite/connection.hpp share/asiolite/cmake/asioliteConfig.cmake \
  share/asiolite/cmake/asioliteConfigVersion.cmake share/asiolite/cmake/asiolite-targets.cmake; do
  [ -f "$prefix/$f" ] || fail "install: $f is missing"
done
# The installed package must not point back into the checkout or the build tree.
if grep -rlF -e "$root" -e "$tmp/asiolite" "$prefix"; then
  fail "install: the files above refer to the checkout or the build tree"
fi

consume package -DCMAKE_PREFIX_PATH="$prefix"
grep -qx "asiolite_DIR:PATH=$prefix/share/asiolite/cmake" "$tmp/package/CMakeCache.txt" ||
  fail "package: find_package did not use the installed package: $(grep '^asiolite_DIR' "$tmp/package/CMakeCache.txt")"

echo "---- consumer: all three ways passed"
