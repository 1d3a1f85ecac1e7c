#!/usr/bin/env python3
"""Builds Tests/Fixtures/leace/: LEACE erasers fitted by EleutherAI's `concept-erasure` 0.2.4 on synthetic
activations, so that Steer's estimator (Sources/Experiments/LeaceFitter.swift) can be checked against the
reference implementation without Python.

Usage: STEER_VENV=... scripts/py.sh scripts/make_leace_fixtures.py

The script installs concept-erasure==0.2.4 into the running environment when it is missing. Nothing expected
is typed by hand: every reference number comes from `LeaceFitter(...).eraser` below.

Fitting is exactly what `steer leace` does for one layer: `LeaceFitter.fit(x, z)` with the library's defaults
(method "leace", affine, constrain_cov_trace, svd_tol 0.01) and `shrinkage` True or False, `x` float64 [n, d]
(the float32 activations widened) and `z` float64 [n] the binary concept (1 = harmful), which the library
reshapes into one indicator column (z_dim = 1).

Cases (every one with a large common offset and per-dimension scales from 0.03 to 30, so a one-pass
covariance in float32 would be visibly wrong):
  tall         n = 300 > d = 24, classes 180 / 120, a clear mean difference along a random direction
  wide         n = 40 < d = 64 (a rank-deficient covariance, as the last token of 256 prompts in d = 2048)
  weak         n = 200, d = 16, the same samples in both classes shifted by ±0.008 standard deviations along
               the widest axis: the singular value falls below svd_tol and the eraser is the identity
  identical    every row the same (an embedding row at layer 0): zero covariance, the identity eraser

Outputs, one `<case>.safetensors` each:
  x_train F32 [n, d], z_train F32 [n] (0/1), x_test F32 [m, d] (held out, same distribution)
  for s in (shrinkage, plain):
    <s>.erased_test  F64 [m, d]   eraser(x_test)
    <s>.proj_left    F64 [d, k], <s>.proj_right F64 [k, d], <s>.bias F64 [d]
  __metadata__: n, d, the concept-erasure version, and the largest singular value of W Σ_xz per setting.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

VERSION = "0.2.4"


def concept_erasure():
    try:
        module = importlib.import_module("concept_erasure")
        from importlib.metadata import version
        if version("concept-erasure") == VERSION:
            return module
    except Exception:
        pass
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", f"concept-erasure=={VERSION}"])
    importlib.invalidate_caches()
    return importlib.import_module("concept_erasure")


def make_case(rng: np.random.Generator, n1: int, n0: int, d: int, m: int, gap: float, identical: bool = False,
              paired: bool = False):
    """Float32 activations of two classes: a shared offset, anisotropic noise, class means `gap` apart.
    `paired`: one sample set for both classes, shifted by ±gap/2 standard deviations along the widest axis."""
    scales = np.exp(rng.uniform(np.log(0.03), np.log(30.0), size=d))
    mix = np.linalg.qr(rng.standard_normal((d, d)))[0]
    offset = rng.normal(5.0, 2.0, size=d)
    direction = rng.standard_normal(d)
    direction /= np.linalg.norm(direction)

    def sample(k: int, cls: int):
        noise = (rng.standard_normal((k, d)) * scales) @ mix.T
        return offset + noise + (gap * cls) * direction * scales.mean()

    def draw(k1: int, k0: int):
        x = np.concatenate([sample(k1, 1), sample(k0, 0)])
        z = np.concatenate([np.ones(k1), np.zeros(k0)])
        order = rng.permutation(len(z))
        return x[order].astype(np.float32), z[order].astype(np.float32)

    x, z = draw(n1, n0)
    if paired:
        widest = mix[:, np.argmax(scales)] * scales.max()
        base = offset + (rng.standard_normal((n1, d)) * scales) @ mix.T
        x = np.concatenate([base + gap / 2 * widest, base - gap / 2 * widest]).astype(np.float32)
        z = np.concatenate([np.ones(n1), np.zeros(n1)]).astype(np.float32)
    xt, _ = draw(m // 2, m - m // 2)
    if identical:
        x[:] = x[0]
        xt = (xt * 0 + x[0]).astype(np.float32)
        xt[1:] += rng.standard_normal((m - 1, d)).astype(np.float32)  # held-out rows may differ
    return x, z, xt


def main() -> None:
    ce = concept_erasure()
    torch.set_num_threads(2)
    out = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "leace"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20230603)
    cases = {
        "tall": make_case(rng, 180, 120, 24, 40, gap=1.5),
        "wide": make_case(rng, 20, 20, 64, 20, gap=2.0),
        "weak": make_case(rng, 100, 100, 16, 20, gap=0.016, paired=True),
        "identical": make_case(rng, 10, 10, 8, 6, gap=0.0, identical=True),
    }
    summary = {}
    for name, (x, z, xt) in cases.items():
        tensors = {"x_train": torch.from_numpy(x), "z_train": torch.from_numpy(z), "x_test": torch.from_numpy(xt)}
        meta = {"n": str(len(z)), "d": str(x.shape[1]), "concept_erasure": VERSION}
        X, Z, XT = torch.from_numpy(x).double(), torch.from_numpy(z).double(), torch.from_numpy(xt).double()
        for setting, shrinkage in (("shrinkage", True), ("plain", False)):
            fitter = ce.LeaceFitter.fit(X, Z, shrinkage=shrinkage)
            eraser = fitter.eraser
            # The singular value the svd_tol threshold compares (recomputed as the library does).
            sigma = fitter.sigma_xx
            L, V = torch.linalg.eigh(sigma)
            mask = L > (L[-1] * sigma.shape[-1] * torch.finfo(L.dtype).eps)
            W = V * torch.where(mask, L.clamp_min(0).rsqrt(), 0.0) @ V.mH
            s = torch.linalg.svdvals(W @ fitter.sigma_xz)
            meta[f"{setting}.singular_value"] = repr(float(s[0]))
            assert (float(s[0]) <= 0.01) == (name in ("weak", "identical")), (name, setting, float(s[0]))
            tensors[f"{setting}.erased_test"] = eraser(XT).contiguous()
            tensors[f"{setting}.proj_left"] = eraser.proj_left.contiguous()
            tensors[f"{setting}.proj_right"] = eraser.proj_right.contiguous()
            tensors[f"{setting}.bias"] = eraser.bias.contiguous()
            assert torch.isfinite(tensors[f"{setting}.erased_test"]).all(), (name, setting)
        save_file(tensors, str(out / f"{name}.safetensors"), metadata=meta)
        summary[name] = meta
        print(name, meta)
    (out / "fixtures.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
