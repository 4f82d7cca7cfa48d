#!/usr/bin/env bash
# Builds and runs each consumer project against this checkout:
#   find_package   `cmake --install` into a prefix, then find_package(noggin) from a separate project
#   meson_subproject   noggin as subprojects/noggin of a Meson project (dependency fallback)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$root/build/consumers
rm -rf "$work"; mkdir -p "$work"

cmake -S . -B "$work/noggin" -G Ninja -DNOGGIN_BUILD_TESTS=OFF -DNOGGIN_BUILD_EXAMPLES=OFF >/dev/null
cmake --install "$work/noggin" --prefix "$work/prefix" >/dev/null
cmake -S tests/consumers/find_package -B "$work/find_package" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/find_package" >/dev/null
"$work/find_package/consumer"

mkdir -p "$work/meson_subproject/subprojects"
cp tests/consumers/meson_subproject/meson.build tests/consumers/consumer.cpp "$work/meson_subproject/"
sed -i "s#'../consumer.cpp'#'consumer.cpp'#" "$work/meson_subproject/meson.build"
ln -s "$root" "$work/meson_subproject/subprojects/noggin"
meson setup "$work/meson_subproject/build" "$work/meson_subproject" >/dev/null
ninja -C "$work/meson_subproject/build" >/dev/null
"$work/meson_subproject/build/consumer"
