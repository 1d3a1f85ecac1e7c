#!/usr/bin/env python3
"""Builds the mixture-of-experts reference models under Tests/Fixtures/models/ (qwen3_moe, mixtral, gpt_oss,
gpt_oss_mxfp4) with the machinery of make_model_fixtures.py (same reference.safetensors layout, same greedy
margin rule), plus what routed experts need on top.

Usage: STEER_VENV=... scripts/py.sh scripts/make_moe_fixtures.py [--only NAME ...] [--out DIR]

On top of make_model_fixtures.py:
  * Experts run with `experts_implementation="eager"` (transformers' readable loop: experts in increasing
    index, each token's weighted outputs added with index_add_).
  * Routing must not be a near-tie: a forward hook on every router records the gap between the k-th and the
    (k+1)-th largest router logit of every row the reference computes (prefills, greedy steps, padded batch);
    seeds are rejected until its minimum is at least MIN_ROUTER_MARGIN, so a float32 engine correct to ~1e-6
    picks the same experts.
  * Both config styles: config.json is one style, config.<other>.json the other (v4 as published:
    rope_theta + rope_scaling, torch_dtype, `num_experts` for Qwen3-MoE, gpt-oss without swiglu_alpha but with
    layer_types; v5 as transformers 5 writes it). transformers loads both to bit-identical logits (asserted).
  * gpt_oss_mxfp4: the experts in the published MXFP4 layout (`*_blocks` U8 [E, out, in/32, 16], `*_scales`
    U8 [E, out, in/32], `quantization_config` {"quant_method": "mxfp4"}); the reference outputs come from
    transformers loading that folder (it dequantizes on CPU). mxfp4_reference.safetensors holds transformers'
    own dequantization (`integrations.mxfp4.convert_moe_packed_tensors`, float32, [E, in, out]) of layer 0's
    tensors and of `edge_blocks`/`edge_scales` (every nibble in both positions, scales 0, 1, 100, 126, 127,
    128, 150, 254, 255), which Steer's MXFP4 decoder must reproduce bit for bit.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

import transformers
from transformers import AutoModelForCausalLM, GenerationConfig, GptOssConfig, MixtralConfig, Qwen3MoeConfig
from transformers.integrations.mxfp4 import FP4_VALUES, convert_moe_packed_tensors

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_model_fixtures as base  # noqa: E402

MIN_ROUTER_MARGIN = 1e-4
# mxfp4_reference.safetensors holds the packed U8 inputs too.
base._ST_DTYPES.setdefault(torch.uint8, "U8")
MIN_GREEDY_MARGIN = 5e-3
SMALL = dict(base.COMMON, hidden_size=48)


def gpt_oss_config() -> GptOssConfig:
    """The tiny gpt-oss shape both gpt-oss fixtures use (plain and MXFP4 experts)."""
    return GptOssConfig(
        **{**base.COMMON, "intermediate_size": 32},
        head_dim=16, tie_word_embeddings=False, rms_norm_eps=1e-5, sliding_window=6,
        num_local_experts=4, num_experts_per_tok=2, swiglu_limit=1.5,
        layer_types=["sliding_attention", "full_attention"],
        # gpt-oss's own YaRN (factor 32 over 4096 positions, not truncated): with head_dim 16 and theta 150000
        # the ramp covers frequencies 2..4 of 8.
        rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 32.0, "beta_fast": 32.0,
                         "beta_slow": 1.0, "truncate": False, "original_max_position_embeddings": 4096},
    )


MOE_SPECS = [
    dict(
        name="qwen3_moe",
        config=Qwen3MoeConfig(
            **{**SMALL, "num_hidden_layers": 3, "intermediate_size": 64},
            head_dim=16, tie_word_embeddings=False, rms_norm_eps=1e-6,
            num_experts=8, num_experts_per_tok=2, moe_intermediate_size=16, norm_topk_prob=False,
            decoder_sparse_step=1, mlp_only_layers=[1],
            # YaRN with transformers' default truncate=True; head_dim 16 puts the 8 frequencies in all three
            # regimes (kept, blended, divided by factor) for original_max_position_embeddings 64.
            rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 64},
        ),
        style="v4",
        generation={"bos_token_id": 1, "eos_token_id": [2, 3]},
        exercises=["routed experts on layers 0 and 2 (8 experts, top 2), dense MLP on layer 1 (mlp_only_layers)",
                   "norm_topk_prob false (softmax weights not renormalised)", "per-head q/k norms, head_dim 16 != 48/4",
                   "YaRN rope_scaling (truncate default true)", "per-expert tensors as published and as save_pretrained writes",
                   "v4 config.json (num_experts, rope_scaling) and config.v5.json"],
    ),
    dict(
        name="mixtral",
        config=MixtralConfig(
            **{**SMALL, "intermediate_size": 32},
            tie_word_embeddings=False, rms_norm_eps=1e-5, sliding_window=6,
            num_local_experts=4, num_experts_per_tok=2,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        ),
        style="v4",
        generation={"bos_token_id": 1, "eos_token_id": 2},
        exercises=["routed experts on every layer (4 experts, top 2, renormalised)", "block_sparse_moe.experts.E.w1/w2/w3",
                   "sliding_window 6 on every layer (< T=24)", "head_dim null (48/4 = 12)",
                   "v4 config.json and config.v5.json"],
    ),
    dict(
        name="gpt_oss",
        config=gpt_oss_config(),
        style="v5",
        generation={"bos_token_id": 1, "eos_token_id": [2, 3]},
        exercises=["attention sinks", "q/k/v/o biases", "sliding window 6 on layer 0, full attention on layer 1",
                   "YaRN (truncate false, attention factor 0.1 ln 32 + 1)", "router bias, top-2 logits then softmax",
                   "expert biases, clamped SwiGLU (swiglu_limit 1.5 so the clamps act, alpha 1.702)",
                   "fused transposed expert tensors (gate_up_proj [E, d, 2I] interleaved, down_proj [E, I, d])",
                   "v5 config.json and config.v4.json (published style)"],
    ),
    dict(
        name="gpt_oss_mxfp4",
        config=gpt_oss_config(),
        style="v4", mxfp4=True,
        generation={"bos_token_id": 1, "eos_token_id": [2, 3]},
        exercises=["MXFP4 experts in the published layout (*_blocks, *_scales, quantization_config mxfp4)",
                   "reference = transformers dequantizing that folder on CPU",
                   "mxfp4_reference.safetensors: transformers' dequantization of layer 0 and of every nibble and edge scale",
                   "v4 config.json (published style) and config.v5.json"],
    ),
]


def load(folder: Path, **kw):
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager",
                                                experts_implementation="eager", **kw).eval()


def routers(model):
    return [m for n, m in model.named_modules() if type(m).__name__.endswith("TopKRouter")]


class RouterMargins:
    """Forward hooks on every router: the smallest gap between the k-th and (k+1)-th router logit seen."""

    def __init__(self, model):
        self.minimum = float("inf")
        self.handles = [r.register_forward_hook(self.hook) for r in routers(model)]

    def hook(self, module, _inputs, output):
        logits = output[0].float()
        top = logits.topk(module.top_k + 1, dim=-1).values
        self.minimum = min(self.minimum, (top[:, -2] - top[:, -1]).min().item())

    def remove(self):
        for h in self.handles:
            h.remove()


def reference_with_margins(model, vocab, seed):
    margins = RouterMargins(model)
    # transformers 5's generate() fills the runner's eos_token_id=None from the model's generation config:
    # clear it there too, so exactly NEW_TOKENS come out.
    saved = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = None
    try:
        tensors, stats = base.compute_reference(base.HFRunner(model), vocab, seed)
    finally:
        margins.remove()
        model.generation_config.eos_token_id = saved
    stats["min_router_margin"] = margins.minimum
    return tensors, stats


def acceptable(stats):
    # Greedy margin 5e-3 rather than make_model_fixtures' 1e-2 (gpt-oss's tiny models rarely reach 1e-2): still
    # 50 times the 1e-4 fidelity bar, so a correct engine picks the same tokens.
    return (stats["min_greedy_margin"] >= MIN_GREEDY_MARGIN and stats["batched_equals_unbatched"]
            and stats["min_router_margin"] >= MIN_ROUTER_MARGIN)


# --------------------------------------------------------------------------------------------------------------
# MXFP4 in the published layout


def quantize_mxfp4(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """w [E, rows, cols] (nn.Linear orientation) -> blocks U8 [E, rows, cols/32, 16], scales U8 [E, rows, cols/32]:
    per block of 32 the smallest power of two 2^e with max|x| / 2^e <= 6, every value rounded to the nearest E2M1
    value (low nibble = even column)."""
    e_, r_, c_ = w.shape
    g = w.double().reshape(e_, r_, c_ // 32, 32)
    amax = g.abs().amax(-1).clamp(min=1e-30)
    exp = torch.ceil(torch.log2(amax / 6)).clamp(-127, 127)
    scaled = g / torch.pow(2.0, exp)[..., None]
    lut = torch.tensor(FP4_VALUES, dtype=torch.float64)
    nib = (scaled[..., None] - lut).abs().argmin(-1).to(torch.uint8)
    blocks = (nib[..., 0::2] | (nib[..., 1::2] << 4)).to(torch.uint8)
    scales = (exp + 127).to(torch.uint8)
    return blocks.contiguous(), scales.contiguous()


def snap_experts_to_mxfp4(model):
    """Replaces the experts' weights by their MXFP4 round trip, so the float model is the quantized one."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("experts.gate_up_proj", "experts.down_proj")):
                blocks, scales = quantize_mxfp4(p.transpose(1, 2).contiguous())
                p.copy_(convert_moe_packed_tensors(blocks, scales, dtype=torch.float32))


def edge_case_blocks():
    """Every nibble in the low and the high position, under scales at and around the extremes."""
    scales = torch.tensor([0, 1, 100, 126, 127, 128, 150, 254, 255], dtype=torch.uint8)
    row = torch.tensor([lo | (hi << 4) for lo, hi in zip(range(16), reversed(range(16)))], dtype=torch.uint8)
    blocks = torch.stack([row.roll(i) for i in range(len(scales))])  # [9, 16]
    return blocks[None, :, None, :].contiguous(), scales[None, :, None].contiguous()  # [1, 9, 1, 16], [1, 9, 1]


def pack_experts(folder: Path, cfg: dict):
    """Rewrites model.safetensors with the experts' fused float tensors replaced by MXFP4 pairs and adds the
    published quantization_config. Returns the dequantization reference tensors."""
    sd = load_file(str(folder / "model.safetensors"))
    ref = {}
    for name in sorted(sd):
        if not name.endswith(("experts.gate_up_proj", "experts.down_proj")):
            continue
        w = sd.pop(name)  # [E, in, out] (transposed nn.Linear)
        blocks, scales = quantize_mxfp4(w.transpose(1, 2).contiguous())
        # The weights were snapped to MXFP4 values, so packing them again loses nothing.
        assert torch.equal(convert_moe_packed_tensors(blocks, scales, dtype=torch.float32), w), name
        sd[name + "_blocks"], sd[name + "_scales"] = blocks, scales
        if ".layers.0." in name:
            ref[name] = convert_moe_packed_tensors(blocks, scales, dtype=torch.float32).contiguous()
    eb, es = edge_case_blocks()
    ref["edge_blocks"], ref["edge_scales"] = eb, es
    ref["edge_dequantized"] = convert_moe_packed_tensors(eb, es, dtype=torch.float32).contiguous()
    save_file(sd, str(folder / "model.safetensors"), metadata={"format": "pt"})
    cfg["quantization_config"] = {
        "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"],
        "quant_method": "mxfp4",
    }
    return ref


# --------------------------------------------------------------------------------------------------------------
# Config styles


def v4_config(name: str, v5: dict) -> dict:
    """The published (v4) style of each family's config.json."""
    extra = {}
    if name.startswith("gpt_oss"):
        extra = {"layer_types": v5["layer_types"]}
    cfg = base.to_v4_style(v5, extra=extra)
    if name == "qwen3_moe":
        cfg["num_experts"] = cfg.pop("num_local_experts")
    if name.startswith("gpt_oss"):
        assert cfg.pop("swiglu_alpha") == 1.702
    return dict(sorted(cfg.items()))


def build(spec: dict, out_root: Path) -> dict:
    name = spec["name"]
    folder = out_root / name
    base_seed = sum(map(ord, name)) * 1000
    for attempt in range(base.MAX_TRIES):
        seed = base_seed + attempt
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(copy.deepcopy(spec["config"]), attn_implementation="eager",
                                                 experts_implementation="eager", dtype=torch.float32).eval()
        base.randomize(model, seed, norm_center=1.0, emb_std=1.0)
        if spec.get("mxfp4"):
            snap_experts_to_mxfp4(model)
        tensors, stats = reference_with_margins(model, spec["config"].vocab_size, seed)
        if acceptable(stats):
            break
        print(f"  {name}: seed {seed} rejected (greedy margin {stats['min_greedy_margin']:.3g}, "
              f"router margin {stats['min_router_margin']:.3g}, batched==unbatched {stats['batched_equals_unbatched']})")
    else:
        raise SystemExit(f"{name}: no acceptable seed in {base.MAX_TRIES} tries")

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model.generation_config = GenerationConfig(**spec["generation"])
    model.save_pretrained(folder)
    v5 = json.loads((folder / "config.json").read_text())
    extra_files = {}
    if spec.get("mxfp4"):
        extra_files["mxfp4_reference.safetensors"] = pack_experts(folder, v5)
    configs = {"v5": dict(sorted(v5.items())), "v4": v4_config(name, v5)}

    # Both styles must load to the same model; the stored outputs come from the folder as written.
    logits = {}
    for style, cfg in configs.items():
        (folder / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        logits[style] = base.HFRunner(load(folder)).forward(tensors["input_ids"][None])[0][0]
    assert torch.equal(logits["v4"], logits["v5"]), f"{name}: v4 and v5 configs differ by {(logits['v4'] - logits['v5']).abs().max()}"
    other = "v5" if spec["style"] == "v4" else "v4"
    (folder / "config.json").write_text(json.dumps(configs[spec["style"]], indent=2) + "\n")
    (folder / f"config.{other}.json").write_text(json.dumps(configs[other], indent=2) + "\n")
    reloaded = load(folder)
    tensors2, stats2 = reference_with_margins(reloaded, reloaded.config.vocab_size, seed)
    for k in tensors:
        assert torch.equal(tensors[k], tensors2[k]), f"{name}: {k} differs after reload"
    for fname, t in extra_files.items():
        base.write_safetensors_deterministic(folder / fname, t, {"source": "transformers.integrations.mxfp4.convert_moe_packed_tensors",
                                                                  **base.provenance()})
    meta = base.base_meta(name, spec["style"], seed, stats2)
    meta.update(family=v5["model_type"], reference_source="transformers (experts_implementation eager)",
                min_router_margin_required=MIN_ROUTER_MARGIN)
    base.write_reference(folder, tensors2, meta)
    fixture = {**meta, "exercises": spec["exercises"],
               "config_style_note": f"config.json is {spec['style']}, config.{other}.json {other}; transformers loads both "
                                    "to bit-identical logits"}
    if name.startswith("gpt_oss"):
        fixture["clamp_stats"] = clamp_stats(reloaded, tensors2["input_ids"])
    (folder / "fixture.json").write_text(json.dumps(fixture, indent=2) + "\n")
    return fixture


def clamp_stats(model, ids):
    """How often the clamped SwiGLU's clamps act on the T=24 input (so the fixture really exercises them)."""
    seen = {"gate_clamped": 0, "up_clamped": 0, "values": 0}
    limit = model.config.swiglu_limit
    originals = {}
    for m in model.modules():
        if type(m).__name__ == "GptOssExperts":
            def spy(gate_up, m=m):
                gate, up = gate_up[..., ::2], gate_up[..., 1::2]
                seen["gate_clamped"] += int((gate > limit).sum())
                seen["up_clamped"] += int((up.abs() > limit).sum())
                seen["values"] += gate.numel()
                return type(m)._apply_gate(m, gate_up)
            originals[m] = spy
            m._apply_gate = spy
    with torch.no_grad():
        model(ids[None])
    for m in originals:
        del m._apply_gate
    assert seen["gate_clamped"] > 0 and seen["up_clamped"] > 0, seen
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=base.DEFAULT_OUT)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    names = [s["name"] for s in MOE_SPECS]
    todo = args.only or names
    assert not set(todo) - set(names), f"unknown fixtures; known: {names}"
    for spec in MOE_SPECS:
        if spec["name"] in todo:
            f = build(spec, args.out)
            size = sum(p.stat().st_size for p in (args.out / f["name"]).iterdir())
            print(f"{f['name']}: seed {f['seed']} greedy margin {f['min_greedy_margin']:.4g} router margin "
                  f"{f['min_router_margin']:.4g} logits std {f['logits_std']:.3g} ({size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
