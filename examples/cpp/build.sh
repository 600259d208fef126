#!/usr/bin/env bash
# Builds examples/cpp/classify against libpt2 with the C++17 wrapper include/pt2.hpp.
# PT2_LIB_DIR names the folder holding libpt2.so; without it, cargo builds the library into the
# workspace's target/release first. CXX picks the compiler (default: c++).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ -z "${PT2_LIB_DIR:-}" ]; then
    cargo build --release --quiet -p pt2-capi --manifest-path "$root/Cargo.toml"
    PT2_LIB_DIR="${CARGO_TARGET_DIR:-$root/target}/release"
fi
"${CXX:-c++}" -std=c++17 -O2 -Wall -Wextra -Werror -I "$root/include" \
    "$here/classify.cpp" -o "$here/classify" \
    -L "$PT2_LIB_DIR" -lpt2 -Wl,-rpath,"$PT2_LIB_DIR"
echo "built $here/classify"
