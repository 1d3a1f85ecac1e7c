#!/usr/bin/env python3
"""Builds the tiny random reference models under Tests/Fixtures/models/ and the outputs Steer must reproduce.

Usage: STEER_VENV=... scripts/py.sh scripts/make_model_fixtures.py [--only NAME ...] [--out DIR]

Every folder is a normal Hugging Face model folder (config.json, safetensors weights, generation_config.json)
plus `reference.safetensors` (what transformers, or scripts/qwen1_reference.py for Qwen-1, computes in
float32 with eager attention) and `fixture.json` (what the folder exercises, config style, provenance).

Nothing expected is typed by hand: every number comes from running the models here. Everything is seeded,
so re-running gives the same files.

reference.safetensors tensors:
  input_ids            int64   [T]              random ids (no BOS logic), T = 24
  logits               float32 [T, V]           logits of one unpadded forward over input_ids
  hidden_states        float32 [L+1, T, H]      transformers' output_hidden_states: the embedding output (after
                                                 any embedding scale), the output of each layer but the last,
                                                 and the final-norm output (so the last entry is post-norm)
  gen_prompt_{i}       int64   [n_i]            i = 0, 1, 2; n = 5, 9, 13
  gen_unbatched_{i}    int64   [20]             greedy new tokens for prompt i run alone
  gen_batched_{i}      int64   [20]             greedy new tokens for prompt i in one left-padded batch of 3
  batch_input_ids      int64   [3, 13]          the left-padded batch (pad id 0)
  batch_attention_mask int64   [3, 13]          1 = token, 0 = padding
  batch_logits         float32 [3, 13, V]       prefill logits of that batch (position_ids = cumsum(mask) - 1,
                                                 as generate() uses); padded positions zero-filled
Generation runs with EOS stopping disabled (eos_token_id=None), so exactly 20 tokens come out.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import transformers
from transformers import (
    AutoModelForCausalLM,
    Gemma2Config,
    Gemma3Config,
    Gemma3TextConfig,
    GemmaConfig,
    GenerationConfig,
    GraniteConfig,
    LlamaConfig,
    MistralConfig,
    Olmo2Config,
    Phi3Config,
    Qwen2Config,
    Qwen3Config,
    SmolLM3Config,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import qwen1_reference  # noqa: E402

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "Tests" / "Fixtures" / "models"

T = 24
PROMPT_LENS = (5, 9, 13)
NEW_TOKENS = 20
PAD_ID = 0
# Greedy decisions must not be near-ties, or a float32 engine that is correct to ~1e-6 could legitimately pick
# a different token: the top-1 minus top-2 logit margin is measured at every greedy step (unbatched and
# batched), and the weights are re-seeded until its minimum is at least MIN_MARGIN.
MIN_MARGIN = 1e-2
MAX_TRIES = 30

VOCAB = 256
COMMON = dict(
    vocab_size=VOCAB,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=None,
)


# --------------------------------------------------------------------------------------------------------------
# Weights


def randomize(model: torch.nn.Module, seed: int, *, norm_center: float, emb_std: float, mat_std: float = 0.15,
              bias_std: float = 0.1, norm_spread: float = 0.3) -> None:
    """HF init gives zero biases, unit norms and near-uniform logits, which would hide bugs. Overwrite every
    parameter: norm weights uniform in norm_center +- norm_spread (1 +- 0.3; gemma stores w with the norm
    applying 1 + w, so its center is 0), biases N(0, bias_std), embeddings N(0, emb_std), other matrices
    N(0, mat_std)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=g) * bias_std)
            elif p.ndim == 1:
                p.copy_(norm_center + (torch.rand(p.shape, generator=g) * 2 - 1) * norm_spread)
            elif "embed" in name or "wte" in name:
                p.copy_(torch.randn(p.shape, generator=g) * emb_std)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * mat_std)


# --------------------------------------------------------------------------------------------------------------
# Running models: one adapter for transformers models, one for the Qwen-1 reference


class HFRunner:
    def __init__(self, model):
        self.model = model.eval()

    @torch.no_grad()
    def forward(self, ids, mask=None, hidden=False):
        kwargs = {}
        if mask is not None:
            kwargs["attention_mask"] = mask
            # generate() derives position ids this way for padded batches.
            kwargs["position_ids"] = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
        out = self.model(ids, output_hidden_states=hidden, use_cache=False, **kwargs)
        return out.logits, (out.hidden_states if hidden else None)

    @torch.no_grad()
    def greedy(self, ids, mask):
        gc = GenerationConfig(
            do_sample=False,
            max_new_tokens=NEW_TOKENS,
            eos_token_id=None,
            pad_token_id=PAD_ID,
            bos_token_id=None,
            num_beams=1,
        )
        out = self.model.generate(
            ids, attention_mask=mask, generation_config=gc, return_dict_in_generate=True, output_logits=True
        )
        new = out.sequences[:, ids.shape[1]:]
        assert new.shape[1] == NEW_TOKENS, f"generation stopped early: {new.shape}"
        return new, torch.stack(out.logits, dim=0)


class Qwen1Runner:
    def __init__(self, model: qwen1_reference.Qwen1ForCausalLM):
        self.model = model.eval()

    def forward(self, ids, mask=None, hidden=False):
        return self.model(ids, mask, output_hidden_states=hidden)

    def greedy(self, ids, mask):
        return self.model.greedy(ids, mask, NEW_TOKENS)


def margins(step_logits: torch.Tensor) -> torch.Tensor:
    top2 = step_logits.float().topk(2, dim=-1).values
    return top2[..., 0] - top2[..., 1]


def compute_reference(runner, vocab: int, seed: int):
    """All expected outputs for one model. Returns (tensors, stats)."""
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(0, vocab, (T,), generator=g)
    logits, hs = runner.forward(input_ids[None], hidden=True)
    tensors = {
        "input_ids": input_ids,
        "logits": logits[0].float(),
        "hidden_states": torch.stack([h[0].float() for h in hs]),
    }
    prompts = [torch.randint(0, vocab, (n,), generator=g) for n in PROMPT_LENS]
    min_margin = float("inf")
    decode_vs_full = 0.0
    for i, p in enumerate(prompts):
        toks, step_logits = runner.greedy(p[None], torch.ones(1, len(p), dtype=torch.long))
        min_margin = min(min_margin, margins(step_logits).min().item())
        # The decode path (KV cache) must compute what a full cache-free forward over prompt + tokens computes.
        full, _ = runner.forward(torch.cat([p, toks[0]])[None])
        full_steps = full[0, len(p) - 1 : len(p) - 1 + NEW_TOKENS]
        assert torch.equal(full_steps.argmax(-1), toks[0]), "greedy tokens differ from full-forward argmax"
        decode_vs_full = max(decode_vs_full, (full_steps - step_logits[:, 0]).abs().max().item())
        tensors[f"gen_prompt_{i}"] = p
        tensors[f"gen_unbatched_{i}"] = toks[0]
    maxlen = max(PROMPT_LENS)
    batch = torch.full((len(prompts), maxlen), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(prompts), maxlen), dtype=torch.long)
    for i, p in enumerate(prompts):
        batch[i, maxlen - len(p):] = p
        mask[i, maxlen - len(p):] = 1
    toks, step_logits = runner.greedy(batch, mask)
    step_margins = margins(step_logits)  # [steps, B]
    min_margin = min(min_margin, step_margins.min().item())
    batched_equal = True
    for i in range(len(prompts)):
        tensors[f"gen_batched_{i}"] = toks[i].clone()
        batched_equal &= torch.equal(toks[i], tensors[f"gen_unbatched_{i}"])
    blog, _ = runner.forward(batch, mask)
    blog = blog.float() * mask[..., None]
    # The batched prefill logits must be what generate() saw for its first token.
    prefill_vs_generate = (blog[:, -1] - step_logits[0].float()).abs().max().item()
    unbatched_vs_batched = 0.0
    for i, p in enumerate(prompts):
        solo, _ = runner.forward(p[None])
        unbatched_vs_batched = max(unbatched_vs_batched, (solo[0] - blog[i, maxlen - len(p):]).abs().max().item())
    tensors["batch_input_ids"] = batch
    tensors["batch_attention_mask"] = mask
    tensors["batch_logits"] = blog
    stats = {
        "min_greedy_margin": min_margin,
        "batched_equals_unbatched": bool(batched_equal),
        "max_abs_decode_vs_full_forward": decode_vs_full,
        "max_abs_batch_prefill_vs_generate_first_step": prefill_vs_generate,
        "max_abs_batch_logits_vs_unbatched": unbatched_vs_batched,
        "logits_abs_max": tensors["logits"].abs().max().item(),
        "logits_std": tensors["logits"].std().item(),
    }
    return tensors, stats


def acceptable(stats) -> bool:
    return stats["min_greedy_margin"] >= MIN_MARGIN and stats["batched_equals_unbatched"]


# --------------------------------------------------------------------------------------------------------------
# Config rewriting (transformers 5 writes v5 style; published checkpoints mostly carry v4 style)


def to_v4_style(cfg: dict, *, rope_key: str = "rope_type", extra: dict | None = None) -> dict:
    """`rope_parameters` -> `rope_theta` + `rope_scaling` (None for plain RoPE; otherwise the scaling keys with
    the type under `rope_key`: "rope_type" or the older "type"), `dtype` -> `torch_dtype`, no `layer_types`
    (v4 models derive the layer pattern from other keys)."""
    cfg = dict(cfg)
    rp = dict(cfg.pop("rope_parameters"))
    cfg["rope_theta"] = rp.pop("rope_theta")
    if "partial_rotary_factor" in rp:
        cfg["partial_rotary_factor"] = rp.pop("partial_rotary_factor")
    rope_type = rp.pop("rope_type", "default")
    if rope_type == "default":
        assert not rp, rp
        cfg["rope_scaling"] = None
    else:
        cfg["rope_scaling"] = {rope_key: rope_type, **rp}
    if "dtype" in cfg:
        cfg["torch_dtype"] = cfg.pop("dtype")
    cfg.pop("layer_types", None)
    if extra:
        cfg.update(extra)
    return dict(sorted(cfg.items()))


def gemma3_text_to_v4(tc: dict) -> dict:
    """A Gemma-3 text config in the published v4 form: per-type `rope_parameters` -> `rope_theta` (full layers,
    with their scaling in `rope_scaling`) and `rope_local_base_freq` (sliding layers), `layer_types` ->
    `sliding_window_pattern` (layer i is full when (i + 1) % pattern == 0), `dtype` -> `torch_dtype`."""
    tc = dict(tc)
    rp = tc.pop("rope_parameters")
    full, sliding = dict(rp["full_attention"]), dict(rp["sliding_attention"])
    tc["rope_theta"] = full.pop("rope_theta")
    tc["rope_local_base_freq"] = sliding.pop("rope_theta")
    assert sliding.pop("rope_type", "default") == "default" and not sliding, sliding
    kind = full.pop("rope_type", "default")
    tc["rope_scaling"] = None if kind == "default" else {"rope_type": kind, **full}
    types = tc.pop("layer_types")
    tc.pop("_sliding_window_pattern", None)
    n = len(types)
    tc["sliding_window_pattern"] = next(
        p for p in range(1, n + 2)
        if ["sliding_attention" if (i + 1) % p else "full_attention" for i in range(n)] == types)
    if "dtype" in tc:
        tc["torch_dtype"] = tc.pop("dtype")
    return dict(sorted(tc.items()))


def gemma3_to_v4(cfg: dict, *, rope_key: str = "rope_type", extra: dict | None = None) -> dict:
    """`gemma3_text`: `gemma3_text_to_v4`. Multimodal `gemma3`: the same on `text_config`, then trimmed the way
    published configs are (gemma-3-4b-it's text_config lists five keys): every text key equal to
    Gemma3TextConfig's default is dropped (so reading it exercises the defaults), as are the top-level
    `tie_word_embeddings` (default true) and the sub-configs' dtypes; `dtype` -> `torch_dtype`."""
    if cfg["model_type"] == "gemma3_text":
        out = gemma3_text_to_v4(cfg)
    else:
        out = dict(cfg)
        defaults = gemma3_text_to_v4(Gemma3TextConfig().to_dict())
        tc = gemma3_text_to_v4(cfg["text_config"])
        out["text_config"] = {k: v for k, v in tc.items()
                              if k == "model_type" or (k not in defaults or defaults[k] != v) and k != "torch_dtype"}
        out["vision_config"] = {k: v for k, v in cfg["vision_config"].items() if k != "dtype"}
        out.pop("tie_word_embeddings")
        out["torch_dtype"] = out.pop("dtype")
    if extra:
        out.update(extra)
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------------------------
# Fixture specs

# The newer families' fixtures are smaller (d_model 32): several layers each stay within a few hundred KB.
SMALL = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    intermediate_size=64,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=None,
)
GEMMA3_TEXT = dict(
    vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_attention_heads=2, num_key_value_heads=1,
    head_dim=16, max_position_embeddings=256, bos_token_id=2, eos_token_id=1, pad_token_id=0,
)


def spec_list():
    return [
        dict(
            name="llama",
            config=LlamaConfig(
                **COMMON,
                tie_word_embeddings=False,
                attention_bias=False,
                rms_norm_eps=1e-5,
                # original_max_position_embeddings 64 with head_dim 16 and theta 1e4 puts the 8 RoPE
                # wavelengths (2*pi*1e4^(i/8): 6.3, 19.9, 62.8, 199, ...) in all three llama3 regimes:
                # kept (< 64/4 = 16), smoothed (16..64), divided by factor (> 64).
                rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0,
                                 "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 64},
            ),
            style="v4", rope_key="rope_type",
            generation={"bos_token_id": 1, "eos_token_id": 2},
            exercises=["untied embeddings", "GQA 4/2", "llama3 rope_scaling (rope_type key, v4 config)",
                       "attention_bias false", "generation_config eos_token_id int"],
        ),
        dict(
            name="llama_bf16",
            config=LlamaConfig(
                **{**COMMON, "hidden_size": 48},
                head_dim=16,  # != hidden/heads = 12
                tie_word_embeddings=False,
                attention_bias=True,
                mlp_bias=True,
                rms_norm_eps=1e-6,
                rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
            ),
            style="v5", bf16=True,
            generation={"bos_token_id": 1, "eos_token_id": [2, 3]},
            exercises=["bf16 weights on disk (reference = float32 model with exactly those bf16 values)",
                       "attention_bias and mlp_bias true", "explicit head_dim 16 != hidden/heads 12",
                       "v5 config", "generation_config eos_token_id list"],
        ),
        dict(
            name="mistral",
            config=MistralConfig(
                **COMMON,
                head_dim=16,
                tie_word_embeddings=False,
                sliding_window=6,
                rms_norm_eps=1e-5,
                rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0},
            ),
            style="v4", rope_key="type",
            generation={"bos_token_id": 1, "eos_token_id": 2},
            exercises=["sliding_window 6 on every layer (< T=24 and < prompt+20)",
                       "linear rope_scaling with the old `type` key (v4 config)", "GQA 4/2"],
        ),
        dict(
            name="qwen2",
            config=Qwen2Config(
                **{**COMMON, "bos_token_id": 250, "eos_token_id": 251},
                tie_word_embeddings=True,
                rms_norm_eps=1e-6,
                use_sliding_window=False,
                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
            ),
            style="v4",
            # Published Qwen2 configs carry a large sliding_window with use_sliding_window false; the reload
            # check proves transformers ignores it then.
            v4_extra={"sliding_window": 32768, "use_sliding_window": False, "max_window_layers": 2},
            generation={"bos_token_id": 250, "eos_token_id": [252, 251], "pad_token_id": 251},
            exercises=["tied embeddings (no lm_head.weight in the file)", "q/k/v biases, o_proj no bias",
                       "v4 config with rope_scaling null", "sliding_window present but use_sliding_window false",
                       "generation_config eos_token_id list"],
        ),
        dict(
            name="qwen3",
            config=Qwen3Config(
                **{**COMMON, "num_hidden_layers": 3, "hidden_size": 48},
                head_dim=16,
                tie_word_embeddings=True,
                rms_norm_eps=1e-6,
                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
            ),
            style="v5", shard="160KB",
            generation={"bos_token_id": 1, "eos_token_id": [2, 3]},
            exercises=["q_norm/k_norm (per-head RMSNorm before RoPE)", "explicit head_dim 16 != 48/4",
                       "sharded safetensors + model.safetensors.index.json", "tied embeddings", "v5 config"],
        ),
        dict(
            name="gemma",
            config=GemmaConfig(
                **COMMON,
                head_dim=16,
                tie_word_embeddings=True,
                hidden_activation="gelu_pytorch_tanh",
                rms_norm_eps=1e-6,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            ),
            style="v5", norm_center=0.0,
            generation={"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0},
            exercises=["(1 + w) RMSNorm", "embedding * sqrt(hidden)", "GELU tanh (gelu_pytorch_tanh)",
                       "tied embeddings", "v5 config"],
        ),
        dict(
            name="gemma2",
            config=Gemma2Config(
                **{**COMMON, "num_hidden_layers": 3},
                head_dim=16,
                tie_word_embeddings=True,
                hidden_activation="gelu_pytorch_tanh",
                rms_norm_eps=1e-6,
                query_pre_attn_scalar=24,
                attn_logit_softcapping=10.0,
                final_logit_softcapping=15.0,
                sliding_window=5,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            ),
            style="v4",
            generation={"bos_token_id": 2, "eos_token_id": [1, 107], "pad_token_id": 0},
            exercises=["attn_logit_softcapping 10 and final_logit_softcapping 15 (raw values reach ~2x the caps: see softcap_stats)",
                       "query_pre_attn_scalar 24 != head_dim 16",
                       "sliding_window 5 on layers 0 and 2, full attention on layer 1 (no layer_types in the "
                       "v4 config: the pattern is implied)", "sandwich norms (pre/post attention and feedforward)",
                       "(1 + w) RMSNorm, embedding scale, GELU tanh, tied"],
        ),
        dict(
            name="phi3",
            config=Phi3Config(
                **{**COMMON, "pad_token_id": 0},
                tie_word_embeddings=False,
                rms_norm_eps=1e-5,
                sliding_window=None,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5},
            ),
            style="v5",
            generation={"bos_token_id": 1, "eos_token_id": [2, 3, 4], "pad_token_id": 0},
            exercises=["fused qkv_proj and gate_up_proj", "partial_rotary_factor 0.5 (RoPE on 8 of 16 dims)",
                       "untied", "GQA 4/2", "v5 config"],
        ),
        dict(
            name="gemma3_text",
            config=Gemma3TextConfig(
                **GEMMA3_TEXT,
                num_hidden_layers=6,
                tie_word_embeddings=True,
                rms_norm_eps=1e-6,
                query_pre_attn_scalar=20,
                sliding_window=5,
                sliding_window_pattern=3,
                final_logit_softcapping=8.0,
                rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                                 "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
            ),
            style="v4", norm_center=0.0, to_v4=gemma3_to_v4, both_styles=True,
            generation={"bos_token_id": 2, "eos_token_id": [1, 106], "pad_token_id": 0},
            exercises=["sliding_window 5 on layers 0, 1, 3, 4 and full attention on layers 2 and 5 "
                       "(v4: sliding_window_pattern 3; config.v5.json: layer_types)",
                       "two RoPE bases: rope_theta 1e6 on full layers, rope_local_base_freq 1e4 on sliding layers "
                       "(config.v5.json: per-type rope_parameters)",
                       "per-head q/k RMSNorm (1 + w) before RoPE", "sandwich norms", "query_pre_attn_scalar 20",
                       "final_logit_softcapping 8 (Gemma3ForCausalLM applies it)", "tied embeddings, GQA 2/1"],
        ),
        dict(
            name="gemma3",
            config=Gemma3Config(
                text_config=dict(
                    **GEMMA3_TEXT,
                    num_hidden_layers=6,
                    query_pre_attn_scalar=16,
                    sliding_window=5,
                    final_logit_softcapping=8.0,
                    rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                                     "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                ),
                vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                   image_size=28, patch_size=14),
                mm_tokens_per_image=4, boi_token_index=253, eoi_token_index=254, image_token_index=255,
            ),
            style="v4", norm_center=0.0, to_v4=gemma3_to_v4, both_styles=True, v4_extra={"eos_token_id": [1, 106]},
            generation={"bos_token_id": 2, "eos_token_id": [1, 106], "pad_token_id": 0},
            exercises=["multimodal Gemma3ForConditionalGeneration folder: text model under language_model.model.*, "
                       "vision_tower.* and multi_modal_projector.* skipped (weights as transformers 5 saves them, "
                       "which is the published layout)",
                       "published-style v4 config: text_config lists only keys that differ from Gemma3TextConfig's "
                       "defaults (rope_theta 1e6, rope_local_base_freq 1e4, sliding_window_pattern 6, rms_norm_eps "
                       "come from the defaults); config.v5.json as transformers 5 writes it",
                       "linear rope_scaling x8 on the full layer (5) only", "sliding_window 5 on layers 0-4",
                       "final_logit_softcapping 8 in text_config, which Gemma3ForConditionalGeneration does not apply",
                       "top-level eos_token_id [1, 106], tied embeddings (top-level default)"],
        ),
        dict(
            name="olmo2",
            config=Olmo2Config(
                **SMALL,
                num_hidden_layers=3,
                tie_word_embeddings=False,
                rms_norm_eps=1e-6,
                rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
            ),
            style="v4", both_styles=True,
            generation={"bos_token_id": 1, "eos_token_id": 2},
            exercises=["no pre-norms: RMSNorm after attention and after the MLP, before the residual add",
                       "q_norm/k_norm over all heads at once (widths 32 and 16) before RoPE", "GQA 4/2", "untied",
                       "v4 config (config.v5.json: the v5 form)"],
        ),
        dict(
            name="smollm3",
            config=SmolLM3Config(
                **SMALL,
                num_hidden_layers=4,
                tie_word_embeddings=True,
                rms_norm_eps=1e-6,
                no_rope_layers=[1, 1, 1, 0],
                use_sliding_window=True,
                sliding_window=6,
                rope_parameters={"rope_type": "default", "rope_theta": 5000000.0},
            ),
            style="v5", both_styles=True,
            generation={"bos_token_id": 1, "eos_token_id": 2},
            exercises=["no RoPE on layer 3 (no_rope_layers [1, 1, 1, 0])",
                       "use_sliding_window with sliding_window 6: the NoPE layer is sliding (v5 layer_types; the v4 "
                       "form in config.v4.json derives it from no_rope_layers)", "tied embeddings", "GQA 4/2"],
        ),
        dict(
            name="granite",
            config=GraniteConfig(
                **SMALL,
                num_hidden_layers=2,
                tie_word_embeddings=True,
                rms_norm_eps=1e-6,
                embedding_multiplier=12.0,
                residual_multiplier=0.22,
                attention_multiplier=0.05,
                logits_scaling=4.0,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            ),
            style="v4", both_styles=True,
            generation={"bos_token_id": 1, "eos_token_id": 2},
            exercises=["embedding_multiplier 12, residual_multiplier 0.22, attention_multiplier 0.05 (not 1/sqrt(8)), "
                       "logits_scaling 4", "tied embeddings", "v4 config (config.v5.json: the v5 form)"],
        ),
    ]


QWEN1_CONFIG = {
    # The keys of a published Qwen-1 chat config.json (Qwen-1_8B-Chat layout), with tiny sizes. use_dynamic_ntk
    # and use_logn_attn only act past seq_length (8192); every fixture sequence is <= 33 tokens, far shorter.
    "architectures": ["QWenLMHeadModel"],
    "auto_map": {
        "AutoConfig": "configuration_qwen.QWenConfig",
        "AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel",
    },
    "attn_dropout_prob": 0.0,
    "bf16": False,
    "emb_dropout_prob": 0.0,
    "fp16": False,
    "fp32": False,
    "hidden_size": 64,
    "initializer_range": 0.02,
    "intermediate_size": 256,  # the MLP uses intermediate_size // 2 = 128
    "kv_channels": 16,
    "layer_norm_epsilon": 1e-06,
    "max_position_embeddings": 8192,
    "model_type": "qwen",
    "no_bias": True,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "onnx_safe": None,
    "rotary_emb_base": 10000,
    "rotary_pct": 1.0,
    "scale_attn_weights": True,
    "seq_length": 8192,
    "softmax_in_fp32": False,
    "tie_word_embeddings": False,
    "tokenizer_class": "QWenTokenizer",
    "transformers_version": "4.32.0",
    "use_cache": True,
    "use_cache_kernel": False,
    "use_cache_quantization": False,
    "use_dynamic_ntk": True,
    "use_flash_attn": "auto",
    "use_logn_attn": True,
    "vocab_size": VOCAB,
}

QWEN1_GENERATION_CONFIG = {
    # Qwen-1 chat generation_config.json layout; 250 stands in for <|endoftext|> (151643).
    "chat_format": "chatml",
    "do_sample": True,
    "eos_token_id": 250,
    "max_new_tokens": 512,
    "max_window_size": 6144,
    "pad_token_id": 250,
    "repetition_penalty": 1.1,
    "top_k": 0,
    "top_p": 0.8,
    "transformers_version": "4.31.0",
}


# --------------------------------------------------------------------------------------------------------------


def load_hf(folder: Path):
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()


_ST_DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.bfloat16: "BF16"}


def write_safetensors_deterministic(path: Path, tensors: dict, metadata: dict) -> None:
    """safetensors' own writer orders `__metadata__` by a hash map, so the bytes change from run to run.
    Write the (simple, documented) format directly with sorted keys: u64 little-endian header length, JSON
    header padded with spaces to a multiple of 8, then the tensors' little-endian bytes in header order."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(metadata[k]) for k in sorted(metadata)}
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    back = load_file(str(path))
    assert set(back) == set(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors), path


def write_reference(folder: Path, tensors: dict, meta: dict) -> None:
    write_safetensors_deterministic(folder / "reference.safetensors", tensors, meta)


def provenance() -> dict:
    return {"transformers_version": transformers.__version__, "torch_version": torch.__version__.split("+")[0]}


def base_meta(name, style, seed, stats):
    return {
        "name": name,
        "config_style": style,
        "seed": seed,
        "T": T,
        "prompt_lens": list(PROMPT_LENS),
        "new_tokens": NEW_TOKENS,
        "eos_stopping": "disabled (eos_token_id=None); exactly new_tokens greedy tokens",
        "pad_token_id_in_batch": PAD_ID,
        "padding_side": "left",
        "batch_position_ids": "cumsum(attention_mask) - 1 (pads 0), as generate() computes",
        "hidden_states": "L+1 entries: embedding output, each layer output but the last, final-norm output",
        "dtype_of_computation": "float32, eager attention",
        **provenance(),
        **{k: (round(v, 9) if isinstance(v, float) else v) for k, v in stats.items()},
    }


def build_hf(spec: dict, out_root: Path) -> dict:
    name = spec["name"]
    folder = out_root / name
    norm_center = spec.get("norm_center", 1.0)
    # Tied models use the embedding as lm_head too: a smaller std keeps their logits in a sane range.
    emb_std = 0.3 if spec["config"].tie_word_embeddings else 1.0
    vocab = spec["config"].get_text_config().vocab_size
    base_seed = sum(map(ord, name)) * 1000
    for attempt in range(MAX_TRIES):
        seed = base_seed + attempt
        torch.manual_seed(seed)
        cfg = copy.deepcopy(spec["config"])
        model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", dtype=torch.float32).eval()
        randomize(model, seed, norm_center=norm_center, emb_std=emb_std)
        if spec.get("bf16"):
            # Round the parameters (only: the RoPE inv_freq buffer is not stored and stays float32) to bf16.
            with torch.no_grad():
                for p in model.parameters():
                    p.copy_(p.to(torch.bfloat16).to(torch.float32))
        tensors, stats = compute_reference(HFRunner(model), vocab, seed)
        if acceptable(stats):
            break
        print(f"  {name}: seed {seed} rejected (min margin {stats['min_greedy_margin']:.4g}, "
              f"batched==unbatched {stats['batched_equals_unbatched']})")
    else:
        raise SystemExit(f"{name}: no acceptable seed in {MAX_TRIES} tries")

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model.generation_config = GenerationConfig(**spec["generation"])
    save_model = model.to(torch.bfloat16) if spec.get("bf16") else model
    save_kwargs = {"max_shard_size": spec["shard"]} if "shard" in spec else {}
    save_model.save_pretrained(folder, **save_kwargs)
    model = model.to(torch.float32)

    v5_cfg = json.loads((folder / "config.json").read_text())
    reload_diff_v5 = None
    if spec["style"] == "v4":
        # Prove the v5 config and its v4 rewrite load to the same model: logits of the v5 folder first...
        ref_v5, _ = HFRunner(load_hf(folder)).forward(tensors["input_ids"][None])
        reload_diff_v5 = (ref_v5[0] - tensors["logits"]).abs().max().item()
        v4 = spec.get("to_v4", to_v4_style)(v5_cfg, rope_key=spec.get("rope_key", "rope_type"), extra=spec.get("v4_extra"))
        (folder / "config.json").write_text(json.dumps(v4, indent=2) + "\n")
    alternate = None
    if spec.get("both_styles"):
        # The other style too, as config.<style>.json next to config.json; it must give identical logits.
        alternate = "v5" if spec["style"] == "v4" else "v4"
        alt_cfg = v5_cfg if alternate == "v5" else spec.get("to_v4", to_v4_style)(
            v5_cfg, rope_key=spec.get("rope_key", "rope_type"), extra=spec.get("v4_extra"))
        (folder / f"config.{alternate}.json").write_text(json.dumps(alt_cfg, indent=2) + "\n")
        with tempfile.TemporaryDirectory() as tmp:
            other = Path(tmp) / name
            shutil.copytree(folder, other)
            (other / "config.json").write_text(json.dumps(alt_cfg, indent=2) + "\n")
            alt_logits, _ = HFRunner(load_hf(other)).forward(tensors["input_ids"][None])
        assert torch.equal(alt_logits[0], tensors["logits"]), f"{name}: config.{alternate}.json changes the logits"

    # The stored outputs come from the folder as written, reloaded by transformers.
    reloaded = load_hf(folder)
    tensors2, stats2 = compute_reference(HFRunner(reloaded), vocab, seed)
    logit_diff = (tensors2["logits"] - tensors["logits"]).abs().max().item()
    assert logit_diff == 0.0, f"{name}: reloaded folder changes logits by {logit_diff}"
    if reload_diff_v5 is not None:
        assert reload_diff_v5 == 0.0, f"{name}: v5 folder logits differ by {reload_diff_v5}"
    for k in tensors:
        assert torch.equal(tensors[k], tensors2[k]), f"{name}: {k} differs after reload"
    assert acceptable(stats2)

    if spec.get("bf16"):
        with safe_open(str(folder / "model.safetensors"), "pt") as f:
            assert all(f.get_slice(k).get_dtype() == "BF16" for k in f.keys()), "bf16 folder has non-bf16 weights"
    if "shard" in spec:
        shards = sorted(p.name for p in folder.glob("model-*-of-*.safetensors"))
        assert 2 <= len(shards) <= 3 and (folder / "model.safetensors.index.json").exists(), shards

    meta = base_meta(name, spec["style"], seed, stats2)
    meta.update(family=v5_cfg["model_type"], reference_source="transformers")
    write_reference(folder, tensors2, meta)
    fixture = {
        **meta,
        "exercises": spec["exercises"],
        "config_style_note": (
            "config.json rewritten from transformers 5 output to v4 style (rope_theta/rope_scaling, torch_dtype, "
            "no layer_types); the v5 original and this rewrite were both reloaded and gave identical logits"
            if spec["style"] == "v4" else "config.json as transformers 5 writes it (rope_parameters, dtype, layer_types)"
        ),
    }
    if alternate:
        fixture["alternate_config"] = {"file": f"config.{alternate}.json", "config_style": alternate,
                                       "note": "the same model in the other config style: identical logits in transformers"}
    if name == "llama":
        fixture["rope_inv_freq_vs_unscaled"] = llama3_check(reloaded)
    if name == "gemma2":
        fixture["softcap_stats"] = gemma2_softcap_stats(reloaded, tensors2["input_ids"])
    (folder / "fixture.json").write_text(json.dumps(fixture, indent=2) + "\n")
    return fixture


def llama3_check(model):
    """The llama3 scaling must leave some frequencies alone, divide some by `factor` and smooth the rest."""
    rot = model.model.rotary_emb
    scaled = rot.inv_freq.clone()
    rp = model.config.rope_parameters
    dim = model.config.head_dim
    plain = 1.0 / (rp["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    ratio = (plain / scaled).tolist()
    kept = sum(abs(r - 1) < 1e-6 for r in ratio)
    divided = sum(abs(r - rp["factor"]) < 1e-4 for r in ratio)
    smoothed = len(ratio) - kept - divided
    assert kept >= 1 and divided >= 1 and smoothed >= 1, ratio
    return {"unscaled_over_scaled": [round(r, 6) for r in ratio], "kept": kept, "divided_by_factor": divided,
            "smoothed": smoothed}


def gemma2_softcap_stats(model, ids):
    """How far into tanh the soft-caps reach on the T=24 input (so the fixture really exercises them)."""
    captured = []
    cap = model.config.attn_logit_softcapping
    import transformers.models.gemma2.modeling_gemma2 as g2

    original = g2.eager_attention_forward

    def spy(module, query, key, value, attention_mask, **kw):
        k = g2.repeat_kv(key, module.num_key_value_groups)
        captured.append((torch.matmul(query, k.transpose(2, 3)) * kw["scaling"]).abs().max().item())
        return original(module, query, key, value, attention_mask, **kw)

    g2.eager_attention_forward = spy
    try:
        with torch.no_grad():
            out = model.model(ids[None])
            raw = model.lm_head(out.last_hidden_state)
    finally:
        g2.eager_attention_forward = original
    return {
        "max_abs_attn_score_before_cap": max(captured) if captured else None,
        "attn_logit_softcapping": cap,
        "max_abs_final_logit_before_cap": raw.abs().max().item(),
        "final_logit_softcapping": model.config.final_logit_softcapping,
    }


def qwen1_vs_transformers_qwen2(model, ids, logits) -> float:
    """Independent check of the Qwen-1 reference: with rotary_pct 1 and no dynamic NTK/logn in range, Qwen-1 is
    computationally a Qwen2 with num_key_value_heads == num_attention_heads. Map the weights (c_attn rows
    [0:H] -> q, [H:2H] -> k, [2H:3H] -> v; c_proj -> o_proj; w2 (the SiLU branch) -> gate_proj;
    w1 -> up_proj; mlp.c_proj -> down_proj; ln_1/ln_2/ln_f -> input/post_attention layernorm and norm) into
    transformers' Qwen2ForCausalLM and compare logits."""
    from transformers import Qwen2ForCausalLM

    c = model.cfg
    assert c["rotary_pct"] == 1.0
    h = c["hidden_size"]
    cfg = Qwen2Config(
        vocab_size=c["vocab_size"], hidden_size=h, intermediate_size=c["intermediate_size"] // 2,
        num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
        num_key_value_heads=c["num_attention_heads"], rms_norm_eps=c["layer_norm_epsilon"],
        max_position_embeddings=c["max_position_embeddings"], tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": float(c["rotary_emb_base"])},
    )
    q2 = Qwen2ForCausalLM(cfg).eval()
    src = model.state_dict()
    dst = {"model.embed_tokens.weight": src["transformer.wte.weight"], "model.norm.weight": src["transformer.ln_f.weight"],
           "lm_head.weight": src["lm_head.weight"]}
    for i in range(c["num_hidden_layers"]):
        p, o = f"transformer.h.{i}.", f"model.layers.{i}."
        w, b = src[p + "attn.c_attn.weight"], src[p + "attn.c_attn.bias"]
        for j, n in enumerate("qkv"):
            dst[o + f"self_attn.{n}_proj.weight"] = w[j * h:(j + 1) * h]
            dst[o + f"self_attn.{n}_proj.bias"] = b[j * h:(j + 1) * h]
        dst[o + "self_attn.o_proj.weight"] = src[p + "attn.c_proj.weight"]
        dst[o + "mlp.gate_proj.weight"] = src[p + "mlp.w2.weight"]
        dst[o + "mlp.up_proj.weight"] = src[p + "mlp.w1.weight"]
        dst[o + "mlp.down_proj.weight"] = src[p + "mlp.c_proj.weight"]
        dst[o + "input_layernorm.weight"] = src[p + "ln_1.weight"]
        dst[o + "post_attention_layernorm.weight"] = src[p + "ln_2.weight"]
    q2.load_state_dict(dst, strict=True)
    with torch.no_grad():
        diff = (q2(ids[None]).logits[0] - logits).abs().max().item()
    assert diff < 1e-4, f"Qwen-1 reference disagrees with the Qwen2 mapping by {diff}"
    return diff


def build_qwen1(out_root: Path) -> dict:
    name = "qwen"
    folder = out_root / name
    cfg = QWEN1_CONFIG
    base_seed = sum(map(ord, name)) * 1000
    for attempt in range(MAX_TRIES):
        seed = base_seed + attempt
        model = qwen1_reference.Qwen1ForCausalLM(cfg).eval()
        randomize(model, seed, norm_center=1.0, emb_std=1.0)
        tensors, stats = compute_reference(Qwen1Runner(model), cfg["vocab_size"], seed)
        if acceptable(stats):
            break
        print(f"  {name}: seed {seed} rejected (min margin {stats['min_greedy_margin']:.4g})")
    else:
        raise SystemExit(f"{name}: no acceptable seed")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(sd, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    (folder / "generation_config.json").write_text(json.dumps(QWEN1_GENERATION_CONFIG, indent=2) + "\n")
    # Reload from disk into a fresh reference model and recompute.
    fresh = qwen1_reference.Qwen1ForCausalLM(json.loads((folder / "config.json").read_text())).eval()
    missing = fresh.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    tensors2, stats2 = compute_reference(Qwen1Runner(fresh), cfg["vocab_size"], seed)
    for k in tensors:
        assert torch.equal(tensors[k], tensors2[k]), f"qwen: {k} differs after reload"
    expected_names = {"transformer.wte.weight", "transformer.ln_f.weight", "lm_head.weight"} | {
        f"transformer.h.{i}.{n}" for i in range(cfg["num_hidden_layers"]) for n in (
            "ln_1.weight", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "ln_2.weight",
            "mlp.w1.weight", "mlp.w2.weight", "mlp.c_proj.weight")
    }
    assert set(sd) == expected_names, set(sd) ^ expected_names
    cross = qwen1_vs_transformers_qwen2(fresh, tensors2["input_ids"], tensors2["logits"])
    meta = base_meta(name, "qwen1 (trust_remote_code layout)", seed, stats2)
    meta["max_abs_logits_vs_transformers_qwen2_mapping"] = cross
    meta.update(
        family="qwen",
        reference_source="scripts/qwen1_reference.py (re-implementation of Qwen-1 modeling_qwen.py; no transformers class)",
        batch_position_ids="sequence indices including pads (as the original modeling_qwen.py); RoPE is "
                           "shift-invariant, so per-row positions agree to float rounding",
    )
    write_reference(folder, tensors2, meta)
    fixture = {
        **meta,
        "exercises": ["fused c_attn with bias, c_proj without bias", "MLP c_proj(w1(x) * silu(w2(x)))",
                      "intermediate_size halved inside the MLP", "ln_1/ln_2/ln_f RMSNorm with layer_norm_epsilon",
                      "kv_channels, rotary_emb_base, rotary_pct", "Qwen-1 weight names", "untied lm_head",
                      "generation_config eos_token_id int"],
    }
    (folder / "fixture.json").write_text(json.dumps(fixture, indent=2) + "\n")
    return fixture


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    specs = spec_list()
    names = [s["name"] for s in specs] + ["qwen"]
    todo = args.only or names
    unknown = set(todo) - set(names)
    assert not unknown, f"unknown fixtures {unknown}; known: {names}"
    for spec in specs:
        if spec["name"] in todo:
            f = build_hf(spec, args.out)
            print(f"{f['name']}: seed {f['seed']} min margin {f['min_greedy_margin']:.4g} "
                  f"logits std {f['logits_std']:.3g} decode-vs-full {f['max_abs_decode_vs_full_forward']:.2g}")
    if "qwen" in todo:
        f = build_qwen1(args.out)
        print(f"qwen: seed {f['seed']} min margin {f['min_greedy_margin']:.4g} logits std {f['logits_std']:.3g}")
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"total size of {args.out}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
