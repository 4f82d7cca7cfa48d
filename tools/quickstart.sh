#!/usr/bin/env bash
# The README's Quick start on a fresh Debian 12 machine (run as root or a sudoer):
#   tools/quickstart.sh demo   installs what is missing, builds and runs the demo
#   tools/quickstart.sh test   installs what is missing, builds and runs every test (CTest)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config libxsimd-dev doctest-dev libstb-dev
          libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers glslc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "quickstart: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

case "${1:-}" in
  demo)
    cmake --preset default
    cmake --build --preset default --target noggin-demo
    ./build/default/noggin-demo
    ;;
  test)
    cmake --workflow --preset default
    ;;
  *)
    echo "usage: tools/quickstart.sh demo|test" >&2
    exit 2
    ;;
esac
