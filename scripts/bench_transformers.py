#!/usr/bin/env python3
"""Measures transformers on CPU for one model folder and prints one JSON object to stdout.

Usage: STEER_VENV=... scripts/py.sh scripts/bench_transformers.py MODEL_DIR [--dtype f32|bf16|auto]
       [--threads 2] [--new-tokens 128] [--attn auto|sdpa|eager] [--seed 0]

Measured (torch at --threads CPU threads, default 2; random token ids, seeded; warm-up runs excluded):
  prefill     16 prompts x 64 tokens in one batched forward (use_cache=False): tokens/s = 1024 / seconds
  decode_b1   greedy decode at batch 1 after a 64-token prompt, KV cache (DynamicCache), no EOS stop: the
              prefill (which yields the first new token) is untimed, the remaining new_tokens - 1 single-token
              forward + argmax steps are timed: tokens/s = batch * (new_tokens - 1) / seconds
  decode_b16  the same at batch 16
  peak_rss_mb resource.getrusage(RUSAGE_SELF).ru_maxrss at the end (whole process, including loading).
Weights are computed in --dtype (default f32: bf16 checkpoints are upcast on load, as the references are).
"""

from __future__ import annotations

import argparse
import inspect
import json
import platform
import resource
import sys
import time
from pathlib import Path

import torch

import transformers
from transformers import AutoModelForCausalLM

PREFILL_BATCH, PREFILL_LEN = 16, 64
PROMPT_LEN = 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--dtype", choices=["f32", "bf16", "auto"], default="f32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--attn", choices=["auto", "sdpa", "eager"], default="auto")  # auto: transformers' choice
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "auto": "auto"}[args.dtype]

    t0 = time.perf_counter()
    attn = {} if args.attn == "auto" else {"attn_implementation": args.attn}
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=dtype, **attn).eval()
    load_s = time.perf_counter() - t0
    vocab = model.config.get_text_config().vocab_size
    g = torch.Generator().manual_seed(args.seed)

    def ids(b, n):
        return torch.randint(0, vocab, (b, n), generator=g)

    result = {
        "model_dir": str(args.model_dir),
        "engine": "transformers",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "attn_implementation": model.config._attn_implementation,
        "parameters": sum(p.numel() for p in model.parameters()),
        "load_seconds": load_s,
    }

    with torch.inference_mode():
        # Prefill: one batched forward, warm-up excluded.
        x = ids(PREFILL_BATCH, PREFILL_LEN)
        model(ids(PREFILL_BATCH, PREFILL_LEN), use_cache=False)  # warm-up
        t0 = time.perf_counter()
        model(x, use_cache=False)
        dt = time.perf_counter() - t0
        result["prefill"] = {"batch": PREFILL_BATCH, "seq_len": PREFILL_LEN, "seconds": dt,
                             "tokens_per_s": PREFILL_BATCH * PREFILL_LEN / dt}

        # transformers 5.x names the KV cache argument `cache`; older versions `past_key_values`.
        cache_kw = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

        def decode(prompt, n):
            """Greedy: untimed prefill (gives the first new token), then n - 1 timed single-token steps."""
            out = model(prompt, use_cache=True)
            cache = getattr(out, cache_kw)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            t0 = time.perf_counter()
            for _ in range(n - 1):
                out = model(nxt, use_cache=True, **{cache_kw: cache})
                cache = getattr(out, cache_kw)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            return time.perf_counter() - t0

        for batch in (1, 16):
            decode(ids(batch, PROMPT_LEN), 4)  # warm-up
            dt = decode(ids(batch, PROMPT_LEN), args.new_tokens)
            steps = args.new_tokens - 1
            result[f"decode_b{batch}"] = {
                "batch": batch, "prompt_len": PROMPT_LEN, "new_tokens": args.new_tokens, "timed_steps": steps,
                "seconds": dt, "tokens_per_s": batch * steps / dt, "ms_per_step": 1000 * dt / steps,
            }

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    rss_bytes = rss if sys.platform == "darwin" else rss * 1024
    result["peak_rss_mb"] = rss_bytes / 2**20
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
