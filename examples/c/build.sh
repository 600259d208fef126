#!/usr/bin/env bash
# Builds examples/c/pt2_run against libpt2 (the shared library, found at run time through an
# rpath). PT2_LIB_DIR names the folder holding libpt2.so; without it, cargo builds the library
# into the workspace's target/release first. CC picks the compiler (default: cc).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ -z "${PT2_LIB_DIR:-}" ]; then
    cargo build --release --quiet -p pt2-capi --manifest-path "$root/Cargo.toml"
    PT2_LIB_DIR="${CARGO_TARGET_DIR:-$root/target}/release"
fi
"${CC:-cc}" -std=c11 -O2 -Wall -Wextra -Werror -I "$root/include" \
    "$here/pt2_run.c" -o "$here/pt2_run" \
    -L "$PT2_LIB_DIR" -lpt2 -Wl,-rpath,"$PT2_LIB_DIR"
echo "built $here/pt2_run"
