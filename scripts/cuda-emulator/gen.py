"""Writes kernels_gen.cpp: Steer's kernel source (from Sources/CUDABackend/KernelSource*.swift, as NVRTC gets it)
made host C++ for the emulator, plus one launcher per kernel unpacking cuLaunchKernel's parameter array."""
import re, sys
from pathlib import Path

root = Path(__file__).resolve().parents[2] / "Sources/CUDABackend"
src = ""
for f in ["KernelSource.swift", "KernelSource+Attention.swift"]:
    src += re.search(r'#"""\n(.*?)"""#', (root / f).read_text(), re.S).group(1) + "\n"
subs = [
    ('asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));', "f = emu_f16_to_f32(h);"),
    ('asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));', "h = emu_f32_to_f16(f);"),
    ("extern __shared__ float coef[];", "float *coef = (float *)emu_dynamic_shared();"),
]
for a, b in subs:
    assert a in src, a
    src = src.replace(a, b)
out = ['#include "emu.h"', src]
table = []
for name, params in re.findall(r'extern "C" __global__ void (\w+)\(([^)]*)\)', src):
    args = []
    for i, p in enumerate(x.strip() for x in params.split(",")):
        ty = re.sub(r"\w+$", "", p).strip()
        args.append(f"*({ty}*)p[{i}]")
    out.append(f"static void launch_{name}(void **p) {{ {name}({', '.join(args)}); }}")
    table.append(f'    {{"{name}", launch_{name}}},')
out.append('extern "C" const emu_kernel emu_kernels[] = {\n' + "\n".join(table) + "\n    {0, 0}};")
Path(sys.argv[1]).write_text("\n".join(out) + "\n")
print(f"{len(table)} kernels")
