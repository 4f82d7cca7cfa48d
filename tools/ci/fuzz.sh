#!/usr/bin/env bash
# Builds the libFuzzer targets (preset "fuzz", clang) and runs each for a bounded time on its seeds:
#   tools/ci/fuzz.sh SECONDS_PER_FUZZER
# Seeds: tests/fuzz/corpus/<fuzzer name without fuzz_>/ when it exists, plus what the seeders (tests/fuzz/seeders.txt)
# write into build/fuzz/seeds/<fuzzer>/. A crash, leak or timeout fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-45}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j2

seeds=build/fuzz/seeds
rm -rf "$seeds"; mkdir -p "$seeds"
while read -r name source; do
  [[ -z "${name}" || "${name}" == \#* ]] && continue
  # A seeder "make_<x>_seeds" fills the corpus of fuzzer "fuzz_<x>".
  target=${name#make_}; target=fuzz_${target%_seeds}
  mkdir -p "$seeds/$target"
  "build/fuzz/tests/fuzz/$name" "$seeds/$target"
done < <(grep -v '^\s*$' tests/fuzz/seeders.txt 2>/dev/null || true)

status=0
while read -r name source; do
  [[ -z "${name}" || "${name}" == \#* ]] && continue
  corpus="$seeds/$name"; mkdir -p "$corpus"
  dirs=("$corpus")
  committed="tests/fuzz/corpus/${name#fuzz_}"  # e.g. fuzz_jinja -> tests/fuzz/corpus/jinja
  [ -d "$committed" ] && dirs+=("$committed")
  echo "fuzz: $name for ${seconds}s on ${dirs[*]}"
  log="build/fuzz/$name.log"
  if "build/fuzz/tests/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "${dirs[@]}" >"$log" 2>&1; then
    grep -E "^Done [0-9]+ runs|stat::number_of_executed_units" "$log" | head -2
  else
    echo "fuzz: $name FAILED"; tail -40 "$log"; status=1
  fi
done < <(grep -v '^\s*$' tests/fuzz/sources.txt 2>/dev/null || true)
exit $status
