#!/usr/bin/env python3
"""Writes a random model with the Qwen2-0.5B (or Qwen-1.8B) shape as a Hugging Face folder, for benchmarks (not committed).

Usage: STEER_VENV=... scripts/py.sh scripts/make_bench_model.py OUT_DIR [--dtype bf16|f32] [--seed N]
    [--shape qwen2-0.5b|qwen-1.8b|7b]

`--shape 7b` writes the Qwen2.5-7B shape instead (hidden 3584, 28 layers, 28 heads, 4 KV heads, intermediate
18944, vocab 152064, untied head; about 15 GB in bf16), for the CUDA backend's benchmark.

Shape qwen2-0.5b (default): hidden 896, 24 layers, 14 heads, 2 KV heads (head_dim 64), intermediate 4864, vocab
151936, tied embeddings, rope_theta 1e6, q/k/v biases (as Qwen2). Shape qwen-1.8b: the dimensions of Qwen-1.8B-Chat
(the paper's smallest model) in the Qwen2 layout (as Qwen1.5-1.8B): hidden 2048, 24 layers, 16 heads, 16 KV heads,
intermediate 5504, vocab 151936, untied embeddings. Weights are random (seeded): matrices N(0, 0.02),
embeddings N(0, 0.05), biases N(0, 0.02), norm weights 1 +- 0.1. Nothing about the numbers matters for
timing; the shapes, dtype and file layout do.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import transformers
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shape", choices=["qwen2-0.5b", "qwen-1.8b", "7b"], default="qwen2-0.5b")
    args = ap.parse_args()
    torch.set_num_threads(2)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    small = args.shape == "qwen2-0.5b"
    cfg = Qwen2Config(
        vocab_size=151936,
        hidden_size=896 if small else 2048,
        intermediate_size=4864 if small else 5504,
        num_hidden_layers=24,
        num_attention_heads=14 if small else 16,
        num_key_value_heads=2 if small else 16,
        max_position_embeddings=32768,
        rms_norm_eps=1e-6,
        tie_word_embeddings=small,
        use_sliding_window=False,
        bos_token_id=151643,
        eos_token_id=151643,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
    )
    if args.shape == "7b":
        cfg.vocab_size, cfg.hidden_size, cfg.intermediate_size = 152064, 3584, 18944
        cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads = 28, 28, 4
        cfg.tie_word_embeddings = False
    # Build on the meta device (no HF init pass), then materialize and fill with our own seeded values.
    with torch.device("meta"):
        model = Qwen2ForCausalLM(cfg)
        # The 7B shape is filled in bf16 directly (in float32 first it would need twice the memory).
        if args.dtype == "bf16" and args.shape == "7b":
            model = model.to(torch.bfloat16)
    model = model.to_empty(device="cpu")
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith(".bias"):
                p.normal_(0.0, 0.02, generator=g)
            elif p.ndim == 1:
                p.uniform_(0.9, 1.1, generator=g)
            elif "embed" in name:
                p.normal_(0.0, 0.05, generator=g)
            else:
                p.normal_(0.0, 0.02, generator=g)
    # Non-persistent buffers (RoPE inv_freq) are left uninitialized by to_empty; they are not saved and are
    # recomputed when the folder is loaded.
    model.tie_weights()
    if args.dtype == "bf16":
        model = model.to(torch.bfloat16)
    model.generation_config = GenerationConfig(bos_token_id=151643, eos_token_id=151643)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out_dir)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out_dir} ({n / 1e6:.1f}M parameters, {args.dtype})")


if __name__ == "__main__":
    main()
