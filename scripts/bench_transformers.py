#!/usr/bin/env python3
"""Measures transformers on CPU for one model folder, like for like with `steer bench`; prints one JSON object.

Usage: STEER_VENV=... scripts/py.sh scripts/bench_transformers.py MODEL_DIR [--prompts-file F.json]
       [--prefill 16x64,1x512] [--decode-batches 1,16] [--new-tokens 128] [--repeat 3]
       [--dtype f32|bf16|auto] [--threads 2] [--attn auto|sdpa|eager] [--seed 0]

`steer bench --compare` runs it with the token ids it measured itself (--prompts-file: {"prefill": {"16x64":
[[ids…], …]}, "decode": {"1": [[ids…]], …}}); without that file, seeded random ids of the same shapes are used.
What is measured (torch at --threads CPU threads; every figure after one untimed warm-up, --repeat timed runs):
  prefill_PxT  one batched forward of P prompts of T tokens (no padding, use_cache=False) computing the logits
               of each prompt's last position only (logits_to_keep=1), as Steer's prefill does:
               tokens/s = P·T / seconds
  decode_bB    greedy decode of B prompts with a KV cache: the prefill (which yields the first new token) is
               untimed, the remaining new_tokens - 1 single-token steps are timed (forward + argmax):
               tokens/s = B·(new_tokens - 1) / seconds
  peak_rss_mb  the process's peak resident memory at the end (VmHWM of /proc/self/status: this process's own, not
               the parent's that getrusage's ru_maxrss carries over an exec; ru_maxrss where /proc is absent)
Each figure is a list of the runs' tokens/s. Weights are computed in --dtype (f32 default: bf16 checkpoints are
upcast on load, as Steer's default is).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_info import cpu_model  # noqa: E402

import torch

import transformers
from transformers import AutoModelForCausalLM


def shapes(text):
    out = []
    for part in text.split(","):
        p, t = part.lower().split("x")
        out.append((int(p), int(t)))
    return out


def peak_rss_bytes():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss if sys.platform == "darwin" else rss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--prompts-file", type=Path)
    ap.add_argument("--prefill", default="16x64,1x512")
    ap.add_argument("--decode-batches", default="1,16")
    ap.add_argument("--prompt-tokens", type=int, default=64, help="prompt length of the decode runs")
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dtype", choices=["f32", "bf16", "auto"], default="f32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attn", choices=["auto", "sdpa", "eager"], default="auto")  # auto: transformers' choice
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="torch device (cuda: the GPU that steer bench --backend cuda used)")
    args = ap.parse_args()
    cuda = args.device.startswith("cuda")

    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "auto": "auto"}[args.dtype]

    t0 = time.perf_counter()
    attn = {} if args.attn == "auto" else {"attn_implementation": args.attn}
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=dtype, **attn).eval().to(args.device)
    load_s = time.perf_counter() - t0
    vocab = model.config.get_text_config().vocab_size
    g = torch.Generator().manual_seed(args.seed)
    given = json.loads(args.prompts_file.read_text()) if args.prompts_file else {"prefill": {}, "decode": {}}

    def prompts(kind, key, b, n):
        ids = given.get(kind, {}).get(key)
        x = torch.tensor(ids) if ids is not None else torch.randint(0, vocab, (b, n), generator=g)
        return x.to(args.device)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    result = {
        "model_dir": str(args.model_dir),
        "engine": "transformers",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "attn_implementation": model.config._attn_implementation,
        "parameters": sum(p.numel() for p in model.parameters()),
        "load_seconds": load_s,
        "device": args.device,
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "repeat": args.repeat,
    }
    # transformers 5.x names the KV cache argument `cache`; older versions `past_key_values`.
    params = inspect.signature(model.forward).parameters
    cache_kw = "cache" if "cache" in params else "past_key_values"
    keep = {"logits_to_keep": 1} if "logits_to_keep" in params else {"num_logits_to_keep": 1}

    def timed(fn):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        return time.perf_counter() - t0

    with torch.inference_mode():
        for p, t in shapes(args.prefill):
            key = f"{p}x{t}"
            x = prompts("prefill", key, p, t)
            run = lambda: model(x, use_cache=False, **keep)  # noqa: E731
            run()  # warm-up
            rates = [p * t / timed(run) for _ in range(args.repeat)]
            result[f"prefill_{key}"] = {"prompts": p, "tokens": t, "tokens_per_s": rates}

        def decode(prompt, n):
            """Greedy: untimed prefill (gives the first new token), then n - 1 timed single-token steps."""
            out = model(prompt, use_cache=True, **keep)
            cache = getattr(out, cache_kw)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            sync()
            t0 = time.perf_counter()
            for _ in range(n - 1):
                out = model(nxt, use_cache=True, **{cache_kw: cache})
                cache = getattr(out, cache_kw)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            sync()
            return time.perf_counter() - t0

        for batch in [int(b) for b in args.decode_batches.split(",")]:
            x = prompts("decode", str(batch), batch, args.prompt_tokens)
            decode(x, 4)  # warm-up
            steps = args.new_tokens - 1
            rates = [batch * steps / decode(x, args.new_tokens) for _ in range(args.repeat)]
            result[f"decode_b{batch}"] = {"batch": batch, "prompt_len": x.shape[1], "new_tokens": args.new_tokens,
                                          "tokens_per_s": rates}

    result["peak_rss_mb"] = peak_rss_bytes() / 2**20
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
