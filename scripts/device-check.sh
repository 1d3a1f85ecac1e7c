#!/usr/bin/env bash
# The CUDA backend's checks on a machine with an NVIDIA GPU, in one go, within 8 minutes (GPU time is
# scarce). Nothing is built on the GPU machine:
#
#   scripts/device-check.sh prepare   # here (any Linux machine with the toolchain): builds `steer` with the
#                                     # Swift runtime linked in and the test bundle, and copies both, with the
#                                     # shared libraries they load, into dist/device-check/
#   scripts/device-check.sh run       # on the GPU machine, from the checkout root with dist/device-check/
#
# `run` needs the NVIDIA driver (libcuda.so.1), cuBLASLt and NVRTC (CUDA 12 or 13; from the toolkit or from
# the PyPI wheels of a Python on the machine, found automatically, or STEER_CUDA_LIBS=DIR). It prints one
# summary line per step (status, seconds) at the end:
#   1. the backend operation tests (checkAllOperations, the CPU backend's checks) and the NVRTC compile test;
#   2. Float32 logits of every family fixture against the CPU backend (≤ 1e-3), greedy BF16 generation on the
#      demo model against the CPU backend (≥ 95% identical);
#   3. `steer demo --backend cuda` (its thresholds);
#   4. with Python + torch + transformers: `steer bench --backend cuda --weights bf16 --compare` on a random
#      model of the Qwen2.5-7B shape (made once under $STEER_BENCH_MODEL, default /tmp/steer-bench-7b).
set -uo pipefail
cd "$(dirname "$0")/.."
DIST=dist/device-check

prepare() {
    set -e
    swift build -c release --static-swift-stdlib --product steer
    swift build -c release --build-tests -Xswiftc -enable-testing
    rm -rf "$DIST" && mkdir -p "$DIST/lib"
    cp .build/release/steer "$DIST/"
    cp .build/release/SteerPackageTests.xctest "$DIST/"
    # The libraries the two binaries load that a bare machine lacks (Swift runtime, XCTest, OpenBLAS).
    ldd "$DIST/steer" "$DIST/SteerPackageTests.xctest" | awk '/=> \// {print $3}' | sort -u |
        grep -v -E '/(libc|libm|libdl|libpthread|librt|ld-linux|libgcc_s|libstdc\+\+)[.-]' |
        while read -r lib; do cp -L "$lib" "$DIST/lib/"; done
    pwd > "$DIST/build-root.txt"
    du -sh "$DIST"
    echo "now copy the checkout (with $DIST) to the GPU machine and run: scripts/device-check.sh run"
}

# Folders holding cuBLASLt and NVRTC, for the loader.
cuda_libs() {
    local dirs="${STEER_CUDA_LIBS:-}"
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [ -d "$d" ] && dirs="$dirs:$d"; done
    if command -v python3 >/dev/null; then
        dirs="$dirs:$(python3 - <<'PY' 2>/dev/null
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
found = {os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "nvidia", "**", "lib", "lib*.so*"), recursive=True)}
print(":".join(sorted(found)))
PY
)"
    fi
    echo "$dirs"
}

SUMMARY=()
step() {  # step NAME TIMEOUT COMMAND...
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    echo "=== $name (at most ${limit}s)"
    timeout --signal=KILL "$limit" "$@"
    local rc=$?
    local verdict=passed; [ $rc -ne 0 ] && verdict="FAILED (status $rc)"; [ $rc -eq 137 ] && verdict="TIMED OUT"
    SUMMARY+=("$(printf '%-44s %-18s %4ds' "$name" "$verdict" $((SECONDS - t0)))")
}

run() {
    [ -x "$DIST/steer" ] || { echo "no $DIST/steer: run 'scripts/device-check.sh prepare' on the build machine first" >&2; exit 1; }
    export LD_LIBRARY_PATH="$PWD/$DIST/lib:$(cuda_libs):${LD_LIBRARY_PATH:-}"
    # The test bundle finds its fixtures at the path it was built in.
    local built; built=$(cat "$DIST/build-root.txt")
    if [ "$built" != "$PWD" ] && [ ! -e "$built" ]; then mkdir -p "$(dirname "$built")" && ln -s "$PWD" "$built"; fi
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    local tests="$PWD/$DIST/SteerPackageTests.xctest"
    step "backend operations (checkAllOperations)" 90 "$tests" ComputeTests.CUDABackendTests
    step "logits f32 / greedy bf16 vs cpu" 120 "$tests" SteerCLITests.CUDAFidelityTests
    step "steer demo --backend cuda" 90 "$DIST/steer" demo --backend cuda --out /tmp/steer-device-demo
    if command -v python3 >/dev/null && python3 -c 'import torch, transformers' 2>/dev/null; then
        local model="${STEER_BENCH_MODEL:-/tmp/steer-bench-7b}"
        [ -f "$model/config.json" ] || step "make the Qwen2.5-7B-shaped model" 120 \
            python3 scripts/make_bench_model.py "$model" --shape 7b --dtype bf16
        step "bench 7B bf16 --compare (transformers)" 180 "$DIST/steer" bench "$model" --backend cuda --weights bf16 \
            --prefill 8x512 --decode-batches 1,64 --new-tokens 32 --repeat 2 --compare --json /tmp/steer-device-bench.json
    else
        step "bench (no torch here: demo model only)" 60 "$DIST/steer" bench models/refusal-demo --backend cuda --repeat 2
    fi
    echo; echo "=== summary ($(date -u +%H:%M:%S) UTC, ${SECONDS}s)"
    printf '%s\n' "${SUMMARY[@]}"
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: scripts/device-check.sh prepare|run" >&2; exit 64 ;;
esac
