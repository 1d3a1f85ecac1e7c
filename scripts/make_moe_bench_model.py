#!/usr/bin/env python3
"""Writes a random model with Qwen3-30B-A3B's layer shape at reduced depth, for the mixture-of-experts prefill
benchmark (not committed).

Usage: STEER_VENV=... scripts/py.sh scripts/make_moe_bench_model.py OUT_DIR [--layers 2] [--vocab 32768] [--seed 0]

Layer shape as Qwen3-30B-A3B: hidden 2048, 32 heads, 4 KV heads, head_dim 128 with q/k norms, 128 experts of
width 768, top 8 (norm_topk_prob true), rope_theta 1e6. Reduced: depth (--layers, default 2 of 48) and the
vocabulary (--vocab, default 32768 of 151936), so that the folder (BF16, ~1.2 GB per layer) fits a small
machine. Per layer: 604M expert parameters in total, of which a token uses 8 × 4.7M = 38M, plus 19M of
attention: ~57M active of ~623M. Weights N(0, 0.02), norm weights 1 ± 0.1; the router is random, so tokens
spread over the experts roughly evenly (as a trained router is meant to).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import transformers
from transformers import GenerationConfig, Qwen3MoeConfig, Qwen3MoeForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=32768)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    cfg = Qwen3MoeConfig(
        vocab_size=args.vocab, hidden_size=2048, intermediate_size=6144, moe_intermediate_size=768,
        num_hidden_layers=args.layers, num_attention_heads=32, num_key_value_heads=4, head_dim=128,
        num_experts=128, num_experts_per_tok=8, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[],
        max_position_embeddings=40960, rms_norm_eps=1e-6, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=2, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
    )
    # Built on the meta device in BF16, then materialized and filled slice by slice (no float32 copy of the model).
    with torch.device("meta"):
        model = Qwen3MoeForCausalLM(cfg).to(torch.bfloat16)
    model = model.to_empty(device="cpu")
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            for part in (p if p.ndim == 3 else [p]):
                if part.ndim == 1:
                    part.copy_(torch.empty(part.shape).uniform_(0.9, 1.1, generator=g))
                else:
                    part.copy_(torch.empty(part.shape).normal_(0.0, 0.02, generator=g))
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out_dir)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out_dir} ({n / 1e6:.1f}M parameters, bf16)")


if __name__ == "__main__":
    main()
