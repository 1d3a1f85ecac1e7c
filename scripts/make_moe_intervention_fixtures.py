#!/usr/bin/env python3
"""Builds the mixture-of-experts entries of Tests/Fixtures/interventions/ (qwen3_moe, mixtral, gpt_oss,
gpt_oss_mxfp4) with the machinery of make_intervention_fixtures.py, leaving that script's files untouched:
<model>.safetensors as there, and fixtures_moe.json (the same layout as fixtures.json) listing them.

Usage: STEER_VENV=... scripts/py.sh scripts/make_moe_intervention_fixtures.py [--only NAME ...]

The edit is make_intervention_fixtures.py's (float64, cast back to each tensor's dtype), on every tensor that
writes into the residual stream of a routed-experts model:
  * attention o_proj weight (and bias for gpt-oss); a dense MLP's down_proj (Qwen3-MoE mlp_only_layers);
  * every expert's down projection: per-expert nn.Linear weights [d, I] (Qwen3-MoE
    `mlp.experts.E.down_proj.weight`, Mixtral `block_sparse_moe.experts.E.w2.weight`), projected column by
    column; gpt-oss's fused `mlp.experts.down_proj` [E, I, d] and `down_proj_bias` [E, d], row by row.
  * gpt_oss_mxfp4: its `down_proj_blocks`/`_scales` pairs are dequantized with transformers' own
    `convert_moe_packed_tensors`, every MXFP4 pair (gate_up_proj too) is written as a BF16 tensor under the
    dequantized parameter name, and `quantization_config` is removed from config.json — the export Steer
    writes. The edited tensors are stored in BF16, as Steer writes them.
On top, the script computes transformers' hook ablation on the original model (forward hooks that project r̂
out of the embedding output and of every attention and MLP output) and asserts that it equals transformers on
the float32 exports within 1e-4; `logits.hook` holds it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from transformers import AutoModelForCausalLM
from transformers.integrations.mxfp4 import convert_moe_packed_tensors

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_intervention_fixtures as base  # noqa: E402

MODELS = ["qwen3_moe", "mixtral", "gpt_oss", "gpt_oss_mxfp4"]
TOLERANCE = 1e-4


def dequantized(tensors: dict, where: dict):
    """MXFP4 pairs replaced by transformers' dequantization in BF16 (exact), under the parameter names."""
    tensors, where = dict(tensors), dict(where)
    for name in sorted(n for n in tensors if n.endswith("_blocks")):
        stem = name[: -len("_blocks")]
        blocks, scales = tensors.pop(name), tensors.pop(stem + "_scales")
        w = convert_moe_packed_tensors(blocks, scales, dtype=torch.float32)
        assert torch.equal(w.to(torch.bfloat16).float(), w), stem
        tensors[stem] = w.to(torch.bfloat16).contiguous()
        where[stem] = where.pop(name)
        where.pop(stem + "_scales")
    return tensors, where


def writers(cfg: dict, tensors: dict):
    """(name, layout) of every tensor writing into the residual stream: "columns" ([d, in]), "bias", "rows"."""
    out = []
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        out.append((p + "self_attn.o_proj.weight", "columns"))
        if p + "self_attn.o_proj.bias" in tensors:
            out.append((p + "self_attn.o_proj.bias", "bias"))
        if p + "mlp.down_proj.weight" in tensors:
            out.append((p + "mlp.down_proj.weight", "columns"))
        for name in sorted(tensors):
            if name.startswith(p) and (name.endswith((".down_proj.weight", ".w2.weight")) and ".experts." in name):
                out.append((name, "columns"))
        for stem in ("mlp.experts.down_proj", "mlp.experts.down_proj_bias"):
            if p + stem in tensors:
                out.append((p + stem, "rows"))
    return out


def abliterate(cfg: dict, tensors: dict, r: torch.Tensor):
    u = r / r.norm()
    d = cfg["hidden_size"]
    edited = {}
    for name, layout in writers(cfg, tensors):
        w = tensors[name].double()
        if layout == "rows":
            new = base.project_columns(w.reshape(-1, d).T, u, False).T.reshape(w.shape)
        else:
            new = base.project_columns(w, u, False)
        edited[name] = new.to(tensors[name].dtype).contiguous()
    e = tensors["model.embed_tokens.weight"]
    edited["model.embed_tokens.weight"] = base.project_columns(e.double().T, u, False).T.contiguous().to(e.dtype)
    assert not cfg.get("tie_word_embeddings", False)
    return edited


@torch.no_grad()
def hook_ablation_logits(folder: Path, ids: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """transformers on the original model with r̂ projected out of every write into the residual stream."""
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    u = (r / r.norm()).float()

    def ablate(_module, _inputs, output):
        if isinstance(output, tuple):
            return (output[0] - (output[0] @ u)[..., None] * u,) + output[1:]
        return output - (output @ u)[..., None] * u

    handles = [model.model.embed_tokens.register_forward_hook(ablate)]
    for layer in model.model.layers:
        handles += [layer.self_attn.register_forward_hook(ablate), layer.mlp.register_forward_hook(ablate)]
    logits = model(ids[None]).logits[0]
    for h in handles:
        h.remove()
    return logits


def main():
    only = sys.argv[sys.argv.index("--only") + 1:] if "--only" in sys.argv else MODELS
    index = base.OUT / "fixtures_moe.json"
    report = json.loads(index.read_text()) if index.exists() else {
        "note": "made by scripts/make_moe_intervention_fixtures.py", "T": base.T, "models": {}}
    for name in only:
        g = torch.Generator().manual_seed(sum(map(ord, name)))
        src = base.MODELS / name
        cfg = json.loads((src / "config.json").read_text())
        tensors, where = base.load_weights(src)
        direction_file = base.OUT / f"direction_d{cfg['hidden_size']}.safetensors"
        r = base.load_file(direction_file)["direction"].double()
        ids = torch.randint(0, cfg["vocab_size"], (base.T,), generator=g)
        original = base.logits_of(src, cfg, ids)
        hooked = hook_ablation_logits(src, ids, r)
        packed = any(n.endswith("_blocks") for n in tensors)
        if packed:
            tensors, where = dequantized(tensors, where)
        edited = abliterate(cfg, tensors, r)
        with tempfile.TemporaryDirectory() as tmp:
            dst = Path(tmp) / "export"
            base.export(src, dst, tensors, where, edited, False, "model.embed_tokens.weight")
            if packed:
                c = json.loads((dst / "config.json").read_text())
                del c["quantization_config"]
                (dst / "config.json").write_text(json.dumps(c, indent=2) + "\n")
            logits = base.logits_of(dst, cfg, ids)
        gap = (logits - hooked).abs().max().item()
        # The BF16 export of the MXFP4 model rounds its edited experts: only the float32 exports must match.
        assert packed or gap < TOLERANCE, f"{name}: export vs hook ablation {gap}"
        out = {"input_ids": ids.to(torch.int64), "logits.original": original.float(), "logits.plain": logits.float(),
               "logits.hook": hooked.float()}
        for k, v in edited.items():
            out[f"tensor.plain.{k}"] = v
        save_file(out, base.OUT / f"{name}.safetensors")
        report["models"][name] = {"direction_file": direction_file.name, "variants": {"plain": {
            "spec": {}, "untied": False, "edited_tensors": sorted(edited), "dequantized": packed,
            "max_abs_logit_change": (logits - original).abs().max().item(),
            "transformers_export_vs_hook_ablation": gap}}}
        print(f"{name}: max |Δlogits| = {(logits - original).abs().max().item():.4g}, export vs hook ablation {gap:.3g}")
    report["models"] = dict(sorted(report["models"].items()))
    index.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
