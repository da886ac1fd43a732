#!/usr/bin/env bash
# What compiling asiolite costs a program, against bare Asio, in one run:
#   (a) a_bare_asio.cpp        a coroutine handing work to a std::thread, bare Asio (the floor)
#   (b) b_one_query.cpp        asiolite: open + one async_query<std::tuple<int, std::string>>
#   (c) c_every_operation.cpp  asiolite: every public asynchronous operation once
# (b) and (c) both header-only and with ASIOLITE_SEPARATE_COMPILATION (whose <asiolite/src.hpp>,
# compiled once per program, is timed too), and what including <asiolite.hpp> alone leaves
# in the object file at -O0.
# Each TU is compiled to an object file (no link) --runs times per compiler and level, the
# builds interleaved; the table shows medians and (b)/(a), (c)/(a).
# Usage: bench/compile_time.sh [--runs N] [--compilers "g++ clang++"] [--levels "-O2 -O0"]
#                              [--include DIR]  (another asiolite include/ tree, to compare)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
include="$here/../include"
# clang 14 with Asio 1.22 does not detect coroutine support by itself (asiolite's config.hpp
# says so for its own TUs; (a) includes no asiolite header, so every TU gets it here).
flags="-std=c++20 -DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1"
runs=3
compilers="g++ clang++"
levels="-O2 -O0"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --compilers) compilers=$2; shift 2 ;;
    --levels) levels=$2; shift 2 ;;
    --include) include=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "compile_time.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*|0) echo "compile_time.sh: --runs: expected a number >= 1, got '$runs'" >&2; exit 2 ;; esac
if [ ! -f "$include/asiolite.hpp" ]; then
  echo "compile_time.sh: --include: no asiolite.hpp in '$include'" >&2
  exit 2
fi
for cxx in $compilers; do
  command -v "$cxx" > /dev/null || { echo "compile_time.sh: --compilers: '$cxx' not found" >&2; exit 2; }
done
for level in $levels; do
  case "$level" in -O*) ;; *) echo "compile_time.sh: --levels: expected -O flags, got '$level'" >&2; exit 2 ;; esac
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# name:file:extra flags. "sep": separate compilation; src: what it compiles once.
tus="a:a_bare_asio: b:b_one_query: c:c_every_operation: bsep:b_one_query:-DASIOLITE_SEPARATE_COMPILATION"
tus="$tus csep:c_every_operation:-DASIOLITE_SEPARATE_COMPILATION src:src:-DASIOLITE_SEPARATE_COMPILATION"
if [ ! -f "$include/asiolite/src.hpp" ]; then  # a tree from before separate compilation
  tus="a:a_bare_asio: b:b_one_query: c:c_every_operation:"
fi
printf '#include <asiolite/src.hpp>\n' > "$out/src.cpp"

seconds() {  # compiler level file extra -> wall seconds of one compile
  local start end src="$here/compile_time/$3.cpp"
  [ "$3" = src ] && src="$out/src.cpp"
  start=$(date +%s%N)
  "$1" $flags $4 "$2" -I"$include" -c "$src" -o "$out/$3.o"
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN {printf "%.3f\n", ns / 1e9}'
}

median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

declare -A m  # medians of this compiler and level, by name
sep() { [ -n "$1" ] && awk -v s="$1" -v a="${m[a]}" 'BEGIN {printf "%.2f | %.2fx", s, s / a}' || echo "- | -"; }

echo "| compiler | level | (a) bare Asio, s | (b) one query, s | (b)/(a) | (c) every operation, s | (c)/(a) | (b) separate | (b)/(a) | (c) separate | (c)/(a) | src.hpp once, s |"
echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
for cxx in $compilers; do
  for level in $levels; do
    for ((i = 0; i < runs; ++i)); do
      for tu in $tus; do
        IFS=: read -r name file extra <<< "$tu"
        seconds "$cxx" "$level" "$file" "$extra" >> "$out/$cxx$level.$name"
      done
    done
    m=()
    for tu in $tus; do m[${tu%%:*}]=$(median < "$out/$cxx$level.${tu%%:*}"); done
    printf '| %s | %s | %s | %s | %s | %s |\n' "$("$cxx" --version | head -1 | sed 's/ (.*)//')" "$level" \
      "$(awk -v a="${m[a]}" -v b="${m[b]}" -v c="${m[c]}" 'BEGIN {printf "%.2f | %.2f | %.2fx | %.2f | %.2fx", a, b, b / a, c, c / a}')" \
      "$(sep "${m[bsep]:-}")" "$(sep "${m[csep]:-}")" "${m[src]:--}"
  done
done

# Including the library and using none of it.
for cxx in $compilers; do
  "$cxx" $flags -O0 -I"$include" -c "$here/compile_time/include_only.cpp" -o "$out/include_only.o"
  text=$(size -A "$out/include_only.o" | awk '$1 ~ /^\.text/ {s += $2} END {print s + 0}')
  fns=$(nm --defined-only "$out/include_only.o" | grep -c ' [TtWw] ' || true)
  echo "include only, $cxx -O0: $text bytes of code, $fns functions"
done
