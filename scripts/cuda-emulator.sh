#!/usr/bin/env bash
# Runs the CUDA backend's GPU tests on a machine without a GPU, against host emulations of the driver and
# cuBLASLt (scripts/cuda-emulator/: every kernel of KernelSource as host C++ on one thread per CUDA thread,
# cuBLASLt's documented column-major product). It checks the backend's Swift side, its kernels' logic and its
# product layouts; not the real compiler's code, real cuBLASLt, timing or memory. Needs g++ (C++20) and NVRTC
# (STEER_CUDA_LIBS=DIR with libnvrtc.so.*; the real one compiles the kernels, the fake driver ignores the image).
#   scripts/cuda-emulator.sh [test filter]   (default: the CUDA backend and fidelity tests)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${STEER_CUDA_LIBS:?set STEER_CUDA_LIBS to a folder with libnvrtc.so.* (e.g. the nvidia/cu13/lib folder of the PyPI wheels)}"
EMU=${STEER_CUDA_EMULATOR_DIR:-/tmp/steer-cuda-emulator}
mkdir -p "$EMU"
python3 scripts/cuda-emulator/gen.py "$EMU/kernels_gen.cpp"
g++ -std=c++20 -O2 -fPIC -shared -Iscripts/cuda-emulator scripts/cuda-emulator/fake_cuda.cpp "$EMU/kernels_gen.cpp" \
    -o "$EMU/libcuda.so.1" -lpthread
g++ -std=c++20 -O2 -fPIC -shared scripts/cuda-emulator/fake_cublaslt.cpp -o "$EMU/libcublasLt.so.13"
# The fake cuBLASLt first (STEER_CUDA_LIBS), the real NVRTC from its own folder (NVRTC loaded through a
# symlink elsewhere cannot find its builtins and crashes).
export LD_LIBRARY_PATH="$EMU:$STEER_CUDA_LIBS:${LD_LIBRARY_PATH:-}" STEER_CUDA_LIBS="$EMU" XDG_CACHE_HOME="$EMU/cache"
swift test -c release -Xswiftc -enable-testing --filter "${1:-CUDABackendTests|CUDAFidelityTests}"
