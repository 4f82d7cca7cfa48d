#!/usr/bin/env bash
# Builds and runs one tiny host project per way of taking in noggin, against this checkout (CI: .ci/run):
#   add_subdirectory   a CMake host adds the source tree (add_subdirectory/CMakeLists.txt); runs embed.cpp,
#                      the README's "Embed noggin in 20 lines", on the bundled model
#   find_package       `cmake --install` into a prefix, then find_package(noggin) (find_package/CMakeLists.txt)
#   pkg_config         the same prefix through `pkg-config --cflags --libs noggin` (noggin.pc from
#                      cmake/noggin.pc.in); `meson install` must write the same noggin.pc
#   meson_subproject   dependency('noggin') in a Meson host (meson_subproject/meson.build), found through
#                      subprojects/noggin.wrap: a wrap-file whose tarball is this tree, served from
#                      subprojects/packagecache as a downloaded release would be
#   single_header      `python3 tools/amalgamate.py noggin.hpp`, then embed.cpp compiled against that one
#                      file (+ the standard library, xsimd, -pthread) and run: same output as add_subdirectory;
#                      and the C example (C99, noggin.h) linked with the C API compiled from that file
# Usage: tests/consumers/run.sh [NAME...]   (default: all, in the order above). Prints "consumer NAME: ok"
# for each; exits non-zero at the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$root/build/consumers
model=$root/models/noggin-tiny-reasoner.gguf
cxx=${CXX:-c++}
all=(add_subdirectory find_package pkg_config meson_subproject single_header)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${all[@]}")
mkdir -p "$work"

# The embed program greedily answers "What is 4821+937?"; its output ends with the answer line.
check_embed() {  # NAME OUTPUT_FILE
  if ! grep -q '5758' "$2"; then
    echo "consumer $1: the embed program's output lacks the sum 5758:" >&2; cat "$2" >&2; return 1
  fi
}

add_subdirectory() {
  # The README's "Embed noggin in 20 lines — C++" block is this program (less its two comment lines).
  if ! awk '/^### Embed noggin in 20 lines — C\+\+/{f=1} f&&/^```cpp/{g=1;next} g&&/^```/{exit} g' README.md |
      cmp -s - <(tail -n +3 tests/consumers/embed.cpp); then
    echo "consumer add_subdirectory: README's 20-line C++ program differs from tests/consumers/embed.cpp" >&2; return 1
  fi
  rm -rf "$work/add_subdirectory"
  # -march=native as in single_header below: the same kernels, so the two outputs must be identical.
  cmake -S tests/consumers/add_subdirectory -B "$work/add_subdirectory" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS=-march=native -DNOGGIN_SOURCE_DIR="$root" >/dev/null
  cmake --build "$work/add_subdirectory" >/dev/null
  "$work/add_subdirectory/embed" "$model" >"$work/add_subdirectory/out.txt"
  check_embed add_subdirectory "$work/add_subdirectory/out.txt"
}

install_prefix() {  # once: `cmake --install` into $work/prefix
  [ -f "$work/prefix/.done" ] && return 0
  rm -rf "$work/noggin" "$work/prefix"
  cmake -S . -B "$work/noggin" -G Ninja -DNOGGIN_BUILD_TESTS=OFF -DNOGGIN_BUILD_EXAMPLES=OFF >/dev/null
  cmake --install "$work/noggin" --prefix "$work/prefix" >/dev/null
  touch "$work/prefix/.done"
}

find_package() {
  install_prefix
  rm -rf "$work/find_package"
  cmake -S tests/consumers/find_package -B "$work/find_package" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
  cmake --build "$work/find_package" >/dev/null
  "$work/find_package/consumer"
}

pkg_config() {
  install_prefix
  rm -rf "$work/pkg_config"; mkdir -p "$work/pkg_config"
  local pcdir=$work/prefix/share/pkgconfig
  # What a Makefile host writes: flags from pkg-config only (no path into this source tree).
  PKG_CONFIG_PATH=$pcdir pkg-config --exists --print-errors noggin
  # shellcheck disable=SC2046
  $cxx -std=c++17 -O1 $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags noggin) tests/consumers/consumer.cpp \
    -o "$work/pkg_config/consumer" $(PKG_CONFIG_PATH=$pcdir pkg-config --libs noggin)
  "$work/pkg_config/consumer"
  # Meson installs the same noggin.pc (one template for both builds).
  meson setup "$work/pkg_config/meson" -Dtests=false -Dexamples=false -Dvulkan=false --prefix "$work/pkg_config/mprefix" >/dev/null
  meson install -C "$work/pkg_config/meson" >/dev/null
  cmp "$pcdir/noggin.pc" "$work/pkg_config/mprefix/share/pkgconfig/noggin.pc"
  PKG_CONFIG_PATH=$work/pkg_config/mprefix/share/pkgconfig pkg-config --cflags noggin |
    grep -qx -- "-I$work/pkg_config/mprefix/share/pkgconfig/../../include *"
  [ -f "$work/pkg_config/mprefix/include/noggin/noggin.hpp" ]
}

meson_subproject() {
  local dir=$work/meson_subproject version
  version=$(sed -n "s/^  version: '\([^']*\)',$/\1/p" meson.build)
  rm -rf "$dir"; mkdir -p "$dir/subprojects/packagecache"
  cp tests/consumers/meson_subproject/meson.build tests/consumers/consumer.cpp "$dir/"
  sed -i "s#'../consumer.cpp'#'consumer.cpp'#" "$dir/meson.build"
  # The release tarball a wrap-file names: this tree's files (tracked and new, not ignored) under noggin-VERSION/.
  git ls-files -co --exclude-standard | while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done >"$dir/files.txt"
  tar -czf "$dir/subprojects/packagecache/noggin-$version.tar.gz" --transform "s,^,noggin-$version/," -T "$dir/files.txt"
  local hash
  hash=$(sha256sum "$dir/subprojects/packagecache/noggin-$version.tar.gz" | cut -d' ' -f1)
  cat >"$dir/subprojects/noggin.wrap" <<EOF
[wrap-file]
directory = noggin-$version
source_url = https://example.invalid/noggin-$version.tar.gz
source_filename = noggin-$version.tar.gz
source_hash = $hash

[provide]
dependency_names = noggin
EOF
  # --force-fallback-for: use the wrap even where a noggin.pc is installed on the system.
  meson setup "$dir/build" "$dir" --force-fallback-for=noggin >"$dir/setup.log" || { cat "$dir/setup.log" >&2; return 1; }
  grep -q "Using noggin source from cache" "$dir/setup.log" || { cat "$dir/setup.log" >&2; return 1; }
  ninja -C "$dir/build" >/dev/null
  "$dir/build/consumer"
}

single_header() {
  local dir=$work/single_header
  rm -rf "$dir"; mkdir -p "$dir/include/noggin"
  python3 tools/amalgamate.py "$dir/include/noggin/noggin.hpp" >/dev/null
  python3 tools/amalgamate.py "$dir/include/noggin/noggin.hpp" --check  # deterministic: --check agrees
  # Only that file is on the include path (embed.cpp includes <noggin/noggin.hpp>); -Werror keeps it clean.
  $cxx -std=c++17 -O1 -march=native -Wall -Wextra -Werror -I"$dir/include" tests/consumers/embed.cpp -o "$dir/embed" -pthread
  "$dir/embed" "$model" >"$dir/out.txt"
  check_embed single_header "$dir/out.txt"
  if [ -f "$work/add_subdirectory/out.txt" ] && ! cmp -s "$work/add_subdirectory/out.txt" "$dir/out.txt"; then
    echo "consumer single_header: output differs from the add_subdirectory build's:" >&2
    diff "$work/add_subdirectory/out.txt" "$dir/out.txt" >&2 || true
    return 1
  fi
  # The C API from the same file: its implementation in one C++ unit, examples/c/main.c compiled as C99
  # against noggin.h alone (the C header a C host includes), linked and run on the bundled model.
  if [ -f include/noggin.h ] && [ -f examples/c/main.c ]; then
    mkdir -p "$dir/c/include"
    cp include/noggin.h "$dir/c/include/"
    printf '#define NOGGIN_IMPLEMENTATION\n#include <noggin/noggin.hpp>\n' >"$dir/c/impl.cpp"
    $cxx -std=c++17 -O1 -march=native -Wall -Wextra -Werror -I"$dir/include" -c "$dir/c/impl.cpp" -o "$dir/c/impl.o"
    ${CC:-cc} -std=c99 -pedantic -Wall -Werror -O1 -I"$dir/c/include" -c examples/c/main.c -o "$dir/c/main.o"
    $cxx "$dir/c/main.o" "$dir/c/impl.o" -o "$dir/c/example" -pthread
    "$dir/c/example" "$model" >"$dir/c/out.txt"
    check_embed single_header "$dir/c/out.txt"
  fi
}

rm -f "$work/prefix/.done"
for name in "${wanted[@]}"; do
  case " ${all[*]} " in *" $name "*) ;; *) echo "run.sh: unknown consumer $name (${all[*]})" >&2; exit 2 ;; esac
  start=$SECONDS
  "$name"
  echo "consumer $name: ok ($((SECONDS - start)) s)"
done
