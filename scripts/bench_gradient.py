#!/usr/bin/env python3
"""Gradient throughput: `steer gradient` against torch autograd on the same model, prompts and thread count.

Usage: STEER_VENV=/work/venv scripts/py.sh scripts/bench_gradient.py MODEL_DIR [--prompts 16] [--tokens 64]
       [--layer 6] [--metric-layer 16] [--threads 2] [--repeat 3] [--steer .build/release/steer]

MODEL_DIR is a Hugging Face folder, e.g. the random Qwen2-0.5B-shaped model of scripts/make_bench_model.py.
Both sides get the same random token ids (seeded; all prompts of one length, so torch needs no padding and runs
them as one batch) and the same random direction, in float32 (Steer converts 16-bit weights at load; torch
loads float32). Each side computes m = <resid_pre[M][last], r/|r|> and dm/d resid_pre[l] for every prompt:
torch with a forward pre-hook that makes block l's input a leaf, blocks above M skipped, one backward; Steer
with `steer gradient --ids-file`. Times exclude model loading (Steer reports its own in the output's metadata);
the fastest of --repeat runs of each side is kept. The gradients of both are compared, so the two sides are
known to compute the same thing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

import transformers
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parent.parent


class Stop(Exception):
    pass


def torch_gradients(model, ids, layer, M, unit):
    layers = model.model.layers
    seen = {}

    def make_leaf(_mod, args, kwargs):
        seen["leaf"] = args[0].detach().clone().requires_grad_(True)
        return (seen["leaf"],) + tuple(args[1:]), kwargs

    def stop(_mod, args, kwargs):
        seen["final"] = args[0]
        raise Stop

    def stop_after(_mod, _args, output):
        seen["final"] = output[0] if isinstance(output, tuple) else output
        raise Stop

    hooks = [layers[layer].register_forward_pre_hook(make_leaf, with_kwargs=True)]
    if M < len(layers):
        hooks.append(layers[M].register_forward_pre_hook(stop, with_kwargs=True))
    else:
        hooks.append(layers[-1].register_forward_hook(stop_after))
    try:
        model(input_ids=ids, use_cache=False)
    except Stop:
        pass
    finally:
        for h in hooks:
            h.remove()
    metric = (seen["final"][:, -1].double() * unit.double()).sum(-1)
    (grad,) = torch.autograd.grad(metric.sum(), seen["leaf"])
    return metric.detach(), grad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--layer", type=int, default=6)
    ap.add_argument("--metric-layer", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--steer", type=Path, default=ROOT / ".build" / "release" / "steer")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()

    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (args.prompts, args.tokens), generator=g)
    direction = torch.randn(model.config.hidden_size, generator=g)
    unit = direction / direction.norm()

    torch_best, steer_best = float("inf"), float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        metric, grad = torch_gradients(model, ids, args.layer, args.metric_layer, unit)
        torch_best = min(torch_best, time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "ids.json").write_text(json.dumps(ids.tolist()))
        save_file({"direction": direction.contiguous()}, str(tmp / "direction.safetensors"))
        for _ in range(args.repeat):
            subprocess.run([str(args.steer), "gradient", str(args.model), "--direction", str(tmp / "direction.safetensors"),
                            "--layer", str(args.layer), "--metric-layer", str(args.metric_layer), "--ids-file",
                            str(tmp / "ids.json"), "--out", str(tmp / "g.safetensors"), "--threads", str(args.threads)],
                           check=True, capture_output=True)
            with safe_open(str(tmp / "g.safetensors"), "pt") as f:
                steer_best = min(steer_best, float(f.metadata()["seconds"]))
                steer_grad = torch.stack([f.get_tensor(f"grad.{i}") for i in range(args.prompts)])
                steer_metric = f.get_tensor("metric")
    difference = float((steer_grad - grad).abs().max() / grad.abs().max())
    result = {
        "model": str(args.model), "prompts": args.prompts, "tokens": args.tokens, "layer": args.layer,
        "metric_layer": args.metric_layer, "threads": args.threads,
        "steer_seconds": round(steer_best, 3), "torch_seconds": round(torch_best, 3),
        "steer_prompts_per_s": round(args.prompts / steer_best, 2), "torch_prompts_per_s": round(args.prompts / torch_best, 2),
        "ratio": round(torch_best / steer_best, 2),
        "max_gradient_difference_relative": difference,
        "max_metric_difference": float((steer_metric.double() - metric).abs().max()),
        "torch": torch.__version__.split("+")[0], "transformers": transformers.__version__,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
