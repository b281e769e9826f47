#!/usr/bin/env bash
# Smoke-runs every fuzz target of fuzz/ for a few seconds (FUZZ_SECONDS, default 5) from its
# seeds, so that a parser of untrusted input that panics on some input fails the run. A crash
# input lands in fuzz/artifacts/<target>/; keep it as a regression test beside the parser.
# Installs cargo-fuzz when missing. The stable toolchain builds the targets with
# RUSTC_BOOTSTRAP=1, as cargo-fuzz needs the sanitizer flags of nightly.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-5}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/strongroom/fuzz-target}"
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in $(cargo fuzz list); do
    mkdir -p "$work/$target"
    cp seeds/"$target"/* "$work/$target/" 2>/dev/null || true
    echo "-- $target (${seconds} s)"
    cargo fuzz run "$target" "$work/$target" -- \
        -max_total_time="$seconds" -print_final_stats=0 2>&1 | grep -E "^Done|ERROR|panicked|SUMMARY" || {
        echo "fuzz target $target failed" >&2
        exit 1
    }
done
