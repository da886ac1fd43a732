#!/usr/bin/env bash
# Builds and runs the consumer project (tests/consumer) against asiolite every way the
# README shows: FetchContent of a copy, of a git URL and tag, and of a release archive;
# add_subdirectory (with g++ and with clang++); find_package after `cmake --install` to a
# temporary prefix; and pkg-config from that prefix, without CMake (g++ and clang++); and
# separate compilation (asiolite::compiled, and by hand with pkg-config). A Boost.Asio
# program (boost_main.cpp, asiolite::asiolite_boost) through FetchContent (g++),
# add_subdirectory (clang++) and find_package with COMPONENTS boost. The
# consumer compiles with -Werror and the strict warnings, so a warning from asiolite's
# headers fails here. Checks that a consumed asiolite builds none of its own tests,
# examples or benchmarks. No network. Usage: run.sh [asiolite-checkout] (default: two
# levels up from this script). Extra CMake arguments: $CONSUMER_CMAKE_ARGS.
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

# consume <mode>[-<variant>] [cmake args...]: configure, build, and run the consumer in
# $tmp/<mode>[-<variant>], consuming asiolite the way <mode> names.
consume() {
  local mode=$1 build=$tmp/$1
  shift
  echo "---- consumer: $mode"
  cmake -S "$here" -B "$build" -DASIOLITE_CONSUME="${mode%%-*}" ${extra[@]+"${extra[@]}"} "$@"
  cmake --build "$build" -j "$jobs"

  # asiolite's own tests, examples and benchmarks must not be defined (CMakeLists.txt
  # checks that), built, or registered with CTest. asiolite is header-only: the
  # consumer's main.cpp.o is the only object file the build may produce, but for
  # asiolite::compiled's library when the consumer links it (the -compiled variant; its
  # one-line source is written when asiolite is configured).
  local stray compiled=()
  [ "${mode#*-}" = compiled ] && compiled=(! -path '*/asiolite_compiled.dir/*' ! -name 'libasiolite_compiled.a')
  stray=$(find "$build" -type f \( -name '*.o' -o -name 'asiolite_*' -o -name 'libasiolite_*' -o -name 'quickstart*' \) \
    ! -path '*/CMakeFiles/consumer.dir/main.cpp.o' ! -path '*/CMakeFiles/consumer.dir/boost_main.cpp.o' \
    ! -path '*/CMakeFiles/CMake*' ! -path '*/_deps/*-src/*' \
    ! -name asiolite_compiled.cpp \
    ${compiled[@]+"${compiled[@]}"} -print)
  [ -z "$stray" ] || fail "$mode: asiolite's own tests/examples were built: $stray"
  local listed
  listed=$(ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: //p')
  [ "$listed" = "consumer" ] || fail "$mode: expected only the test 'consumer', ctest lists: $listed"
  if [ "${mode%%-*}" != package ]; then
    for opt in ASIOLITE_BUILD_TESTS ASIOLITE_BUILD_EXAMPLES ASIOLITE_BUILD_BENCHMARKS ASIOLITE_CHECK_HEADERS \
      ASIOLITE_INSTALL; do
      grep -qx "$opt:BOOL=OFF" "$build/CMakeCache.txt" || fail "$mode: $opt is not OFF when consumed"
    done
    # Installing the application installs nothing of asiolite's.
    cmake --install "$build" --prefix "$build/installed" >/dev/null
    [ ! -e "$build/installed" ] || fail "$mode: installing the consumer installed $(find "$build/installed" -type f)"
  fi

  ctest --test-dir "$build" --output-on-failure
  "$build/consumer" | grep -qx "asiolite consumer: ok" || fail "$mode: consumer did not report ok"
}

# Ways that do not depend on each other run side by side, $jobs at a time (each build
# compiles one file, so a second one uses another core): as soon as one ends, the next
# starts. The log of each is printed when it ends.
declare -A running=() # pid -> name
in_background() {
  local name=$1
  shift
  ("$@") >"$tmp/log-$name" 2>&1 &
  running[$!]=$name
  while ((${#running[@]} >= jobs)); do reap_one; done
}
reap_one() {
  local pid name status=0
  wait -n -p pid "${!running[@]}" || status=$?
  name=${running[$pid]}
  unset "running[$pid]"
  cat "$tmp/log-$name"
  ((status == 0)) || fail "$name failed (exit $status): see its log above"
}
settle() {
  while ((${#running[@]})); do reap_one; done
}

# Installed to a temporary prefix first, so that the ways that use the installed package
# share the queue with the others.
echo "---- consumer: install asiolite to a temporary prefix"
prefix=$tmp/prefix
cmake -S "$root" -B "$tmp/asiolite" -DCMAKE_BUILD_TYPE=Release \
  -DASIOLITE_BUILD_TESTS=OFF -DASIOLITE_BUILD_EXAMPLES=OFF -DASIOLITE_BUILD_BENCHMARKS=OFF ${extra[@]+"${extra[@]}"}
cmake --build "$tmp/asiolite" -j "$jobs"
cmake --install "$tmp/asiolite" --prefix "$prefix"
for f in include/asiolite.hpp include/asiolite/connection.hpp share/pkgconfig/asiolite.pc \
  share/asiolite/cmake/asioliteConfig.cmake share/asiolite/cmake/asioliteConfigVersion.cmake \
  share/asiolite/cmake/asiolite-targets.cmake share/asiolite/cmake/asiolite-boost-targets.cmake; do
  [ -f "$prefix/$f" ] || fail "install: $f is missing"
done
# The installed package must not point back into the checkout or the build tree.
if grep -rlF -e "$root" -e "$tmp/asiolite" "$prefix"; then
  fail "install: the files above refer to the checkout or the build tree"
fi
flags=$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --cflags --libs asiolite) ||
  fail "pkg-config does not take the installed asiolite.pc"
echo "pkg-config --cflags --libs asiolite: $flags"

in_background fetchcontent consume fetchcontent -DASIOLITE_SOURCE_DIR="$root"

# A git URL and a release tag: a clone of the checkout's HEAD, tagged as the README's
# example names the release; and a release archive made by git archive.
version=$(sed -n 's/^project(asiolite VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
if git -C "$root" rev-parse --verify -q HEAD >/dev/null; then
  git clone -q --bare "$root" "$tmp/asiolite.git"
  git -C "$tmp/asiolite.git" tag "v$version" HEAD
  in_background fetchcontent-git consume fetchcontent-git -DASIOLITE_GIT_URL="file://$tmp/asiolite.git" \
    -DASIOLITE_GIT_TAG="v$version"
  git -C "$root" archive --format=tar.gz --prefix="asiolite-$version/" -o "$tmp/asiolite-$version.tar.gz" HEAD
  sha=$(sha256sum "$tmp/asiolite-$version.tar.gz" | cut -d' ' -f1)
  in_background fetchcontent-archive consume fetchcontent-archive \
    -DASIOLITE_ARCHIVE_URL="file://$tmp/asiolite-$version.tar.gz" -DASIOLITE_ARCHIVE_SHA256="$sha"
else
  fail "$root is not a git checkout: the git URL and archive forms cannot be tried"
fi

in_background subdirectory consume subdirectory -DASIOLITE_SOURCE_DIR="$root"
# A Boost.Asio program (asiolite::asiolite_boost), with g++ and with clang++.
in_background fetchcontent-boost consume fetchcontent-boost -DASIOLITE_SOURCE_DIR="$root" -DASIOLITE_CONSUMER_BOOST=ON
in_background subdirectory-boost-clang consume subdirectory-boost-clang -DASIOLITE_SOURCE_DIR="$root" \
  -DASIOLITE_CONSUMER_BOOST=ON -DCMAKE_CXX_COMPILER=clang++
in_background subdirectory-clang consume subdirectory-clang -DASIOLITE_SOURCE_DIR="$root" \
  -DCMAKE_CXX_COMPILER=clang++
# Separate compilation through the CMake target.
in_background subdirectory-compiled consume subdirectory-compiled -DASIOLITE_SOURCE_DIR="$root" \
  -DASIOLITE_CONSUMER_COMPILED=ON
# find_package from the installed prefix, in both flavours (COMPONENTS boost).
in_background package consume package -DCMAKE_PREFIX_PATH="$prefix"
in_background package-boost consume package-boost -DCMAKE_PREFIX_PATH="$prefix" -DASIOLITE_CONSUMER_BOOST=ON

# pkg-config, as the README shows it, with both compilers and the consumer's warnings.
pkg_config_build() {
  local cxx=$1
  echo "---- consumer: pkg-config with $cxx"
  # shellcheck disable=SC2086 # pkg-config's output is a list of flags
  "$cxx" -std=c++20 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Werror \
    "$here/main.cpp" -o "$tmp/consumer-pc-$cxx" $flags || fail "pkg-config: $cxx could not build the consumer"
  "$tmp/consumer-pc-$cxx" | grep -qx "asiolite consumer: ok" || fail "pkg-config: the $cxx build did not report ok"
}
in_background pkg-config-g++ pkg_config_build g++
in_background pkg-config-clang++ pkg_config_build clang++

# Separate compilation by hand, as the README shows it for builds without the CMake target:
# the macro everywhere, and <asiolite/src.hpp> in one more .cpp of the program.
printf '#include <asiolite/src.hpp>\n' > "$tmp/asiolite_src.cpp"
separate_compile() {
  local src=$1 object=$2
  echo "---- consumer: separate compilation of $src"
  # shellcheck disable=SC2046 # pkg-config's output is a list of flags
  g++ -std=c++20 -DASIOLITE_SEPARATE_COMPILATION -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion \
    -Werror -c "$src" -o "$object" $(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --cflags asiolite) ||
    fail "separate compilation: g++ could not compile $src"
}
in_background separate-main separate_compile "$here/main.cpp" "$tmp/separate-main.o"
in_background separate-src separate_compile "$tmp/asiolite_src.cpp" "$tmp/separate-asiolite_src.o"
settle

[ -f "$tmp/subdirectory-compiled/asiolite/libasiolite_compiled.a" ] ||
  fail "subdirectory-compiled: asiolite::compiled's library was not built"
grep -qx "asiolite_DIR:PATH=$prefix/share/asiolite/cmake" "$tmp/package/CMakeCache.txt" ||
  fail "package: find_package did not use the installed package: $(grep '^asiolite_DIR' "$tmp/package/CMakeCache.txt")"
# shellcheck disable=SC2086
g++ "$tmp/separate-main.o" "$tmp/separate-asiolite_src.o" -o "$tmp/consumer-separate" $flags ||
  fail "separate compilation: the program does not link"
"$tmp/consumer-separate" | grep -qx "asiolite consumer: ok" || fail "separate compilation: the program did not report ok"

echo "---- consumer: every way passed"
