#!/usr/bin/env python3
"""Builds Tests/Fixtures/interventions/: a fixed direction file and, for several fixture models, what
transformers computes on the *abliterated* (weight-orthogonalised) model, so that Steer's hook ablation and
Steer's export can be checked against an independent implementation.

Usage: STEER_VENV=... scripts/py.sh scripts/make_intervention_fixtures.py [--steer .build/release/steer] [--only NAME ...]

`--only` rebuilds just the named models of LATER_VARIANTS (and their direction files) and updates their entries
in fixtures.json, leaving every other file as it is. The models in LATER_VARIANTS draw their random numbers from
generators of their own, so adding them did not change the earlier fixtures.

Nothing expected is typed by hand: every number comes from running the code below.

The edit (SPEC §3.7), re-implemented here in float64 and cast back to each tensor's dtype
(bf16 with round-to-nearest-even, as torch's `.to(torch.bfloat16)`):
  * r̂ = r / ‖r‖; projected variant: r ← r − (r·ĥ) ĥ with ĥ = harmless_mean[layer] / ‖…‖ first.
  * token embedding E [V, d]: every row e ← e − (e·r̂) r̂  (only when layer 0 is edited)
  * every attention output projection and MLP down projection W [d, in] of the edited layers:
    W ← W − û ûᵀ W, their biases b ← b − (b·û) û, where û = r̂, except for the families with a norm after
    each sublayer (Gemma-2, Gemma-3, OLMo-2) where û = normalize((o + w) ⊙ r̂) with w the following
    post-attention / post-feedforward norm weight (o = 1 for Gemma's (1 + w) norms, 0 for OLMo-2).
  * multimodal Gemma-3 folders: the text model's tensors under `language_model.model.`, the untied head as
    `language_model.lm_head.weight`; the vision tower and projector are never edited.
  * norm-preserving variant: every vector one input unit writes into the residual stream (an embedding row,
    a column of W, a bias) is projected as above and then rescaled to its original Euclidean norm.
  * a tied output head is untied: `lm_head.weight` = the original embedding, `tie_word_embeddings: false`.

Outputs:
  direction_d{D}.safetensors `direction` F32 [D] (random, unnormalised), `harmless_mean` F32 [2, D], one per
                             d_model D of the models used; __metadata__ layer = 1 and provenance.
  <model>.safetensors        `input_ids` I64 [T]; `logits.original` F32 [T, V] (the unedited model);
                             for each variant v: `logits.<v>` F32 [T, V], transformers (or
                             scripts/qwen1_reference.py for Qwen-1) on the exported folder; `tensor.<v>.<name>`
                             the edited tensors in their file dtype (untied `lm_head.weight` included).
  contrastive.safetensors    synthetic activations `positive`, `negative` F32 [8, 64] and the control-vector
                             directions Steer must compute from them: `mean` (difference of means) and `pca`
                             (repeng's pca_diff: first principal component of the centred paired differences,
                             unit length, sign along the mean difference), computed with numpy SVD in float64.
  vector_<model>.safetensors control-vector directions from transformers: `positive_{i}`, `negative_{i}` I64 token
                             ids (6 + 6 prompts of different lengths, each run alone), `mean` and `pca` F32
                             [L-1, d]: row n-1 is direction.n, from the output of decoder block n (a forward hook
                             on model.layers[n], i.e. resid_post[n]) at the last prompt token, n = 1..L-1.
  fixtures.json              the variants per model, max |logits change| per variant (the edit matters), and,
                             with --steer, how far Steer's own export (loaded by transformers) is from this one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import transformers
from transformers import AutoModelForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import qwen1_reference  # noqa: E402

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "Tests/Fixtures/models"
OUT = ROOT / "Tests/Fixtures/interventions"
T = 16
DIRECTION_LAYER = 1

# model name -> variants: name -> dict(layers, projected, norm_preserving)
VARIANTS = {
    "llama": {
        "plain": {},
        "norm_preserving": {"norm_preserving": True},
        "projected": {"projected": True},
        "layers_1_1": {"layers": (1, 1)},
    },
    "llama_bf16": {"plain": {}},
    "qwen2": {"plain": {}},
    "qwen3": {"plain": {}},
    "gemma2": {"plain": {}, "norm_preserving": {"norm_preserving": True}},
    "qwen": {"plain": {}},
}
# Added later; each draws from its own generator (seeded from its name) and its direction file from one seeded
# from d_model, so that their presence changes none of the files above.
LATER_VARIANTS = {
    "gemma3": {"plain": {}, "norm_preserving": {"norm_preserving": True}},
    "gemma3_text": {"plain": {}},
    "olmo2": {"plain": {}},
}
POST_NORM_TYPES = {"gemma2": 1.0, "gemma3": 1.0, "gemma3_text": 1.0, "olmo2": 0.0}  # model_type -> norm offset o


def weight_files(folder: Path) -> list[Path]:
    single = folder / "model.safetensors"
    if single.exists():
        return [single]
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    return [folder / f for f in sorted(set(index["weight_map"].values()))]


def load_weights(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    tensors, where = {}, {}
    for f in weight_files(folder):
        for k, v in load_file(f).items():
            tensors[k] = v
            where[k] = f.name
    return tensors, where


def text_prefix(tensors: dict) -> str:
    """Where the text model's `model.*` tensors are stored: `language_model.model.` in a multimodal Gemma-3 folder."""
    return "language_model.model." if any(k.startswith("language_model.model.") for k in tensors) else "model."


def head_name(tensors: dict) -> str:
    """The untied head's name: next to the text model (`language_model.lm_head.weight`) in a multimodal folder."""
    if text_prefix(tensors) == "model." or "lm_head.weight" in tensors:
        return "lm_head.weight"
    return "language_model.lm_head.weight"


def text_config(folder: Path) -> dict:
    """The text model's config as transformers reads it (defaults filled in; a multimodal folder's text_config)
    with the top-level `tie_word_embeddings`."""
    full = transformers.AutoConfig.from_pretrained(folder)
    out = full.get_text_config().to_dict()
    out["tie_word_embeddings"] = full.tie_word_embeddings
    out["model_type"] = json.loads((folder / "config.json").read_text())["model_type"]
    return out


def writers(cfg: dict, tensors: dict, layers: range):
    """(tensor name, post-norm weight name or None) of every matrix/bias written into the residual stream."""
    out = []
    qwen1 = cfg["model_type"] == "qwen"
    sandwich = cfg["model_type"] in POST_NORM_TYPES
    p = text_prefix(tensors)
    for l in layers:
        if qwen1:
            o, down = f"transformer.h.{l}.attn.c_proj", f"transformer.h.{l}.mlp.c_proj"
        else:
            o, down = f"{p}layers.{l}.self_attn.o_proj", f"{p}layers.{l}.mlp.down_proj"
        post_o = f"{p}layers.{l}.post_attention_layernorm.weight" if sandwich else None
        post_d = f"{p}layers.{l}.post_feedforward_layernorm.weight" if sandwich else None
        for base, post in ((o, post_o), (down, post_d)):
            for suffix in (".weight", ".bias"):
                if base + suffix in tensors:
                    out.append((base + suffix, post))
    return out


def project_columns(w: torch.Tensor, u: torch.Tensor, norm_preserving: bool) -> torch.Tensor:
    """w [d, in] (or [d] for a bias) in float64: remove u from every column (the vector each input writes)."""
    vec = w.dim() == 1
    m = w[:, None] if vec else w
    new = m - torch.outer(u, u @ m)
    if norm_preserving:
        old_n, new_n = m.norm(dim=0), new.norm(dim=0)
        new = torch.where(new_n > 0, new * (old_n / torch.where(new_n > 0, new_n, 1)), new)
    return new[:, 0] if vec else new


def abliterate(cfg: dict, tensors: dict, r: torch.Tensor, harmless: torch.Tensor, variant: dict):
    """Returns (edited tensors by name, untied?)."""
    L = cfg["num_hidden_layers"]
    if variant.get("projected"):
        h = harmless[DIRECTION_LAYER].double()
        h = h / h.norm()
        r = r - (r @ h) * h
    u = r / r.norm()
    a, b = variant.get("layers", (0, L - 1))
    edited = {}
    offset = POST_NORM_TYPES.get(cfg["model_type"], 0.0)
    for name, post in writers(cfg, tensors, range(a, b + 1)):
        uu = u
        if post is not None:
            s = (offset + tensors[post].double()) * u
            uu = s / s.norm()
        new = project_columns(tensors[name].double(), uu, variant.get("norm_preserving", False))
        edited[name] = new.to(tensors[name].dtype)
    untied = False
    if a == 0:
        embed = embed_name(cfg, tensors)
        e = tensors[embed]
        edited[embed] = project_columns(e.double().T, u, variant.get("norm_preserving", False)).T.contiguous().to(e.dtype)
        tied = cfg.get("tie_word_embeddings", cfg["model_type"] in ("gemma", "gemma2"))
        if tied:
            edited[head_name(tensors)] = e.clone()
            untied = True
    return edited, untied


def embed_name(cfg: dict, tensors: dict) -> str:
    return "transformer.wte.weight" if cfg["model_type"] == "qwen" else text_prefix(tensors) + "embed_tokens.weight"


def export(src: Path, dst: Path, tensors: dict, where: dict, edited: dict, untied: bool, embed: str):
    """Writes the edited model folder (same files and sharding; lm_head next to the embedding)."""
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file() and not f.name.endswith(".safetensors") and f.name != "model.safetensors.index.json":
            shutil.copy2(f, dst / f.name)
    if untied:
        cfg = json.loads((dst / "config.json").read_text())
        cfg["tie_word_embeddings"] = False
        (dst / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        where = dict(where)
        where[head_name(tensors)] = where[embed]
    merged = dict(tensors)
    merged.update(edited)
    for fname in sorted(set(where.values())):
        part = {k: v.contiguous() for k, v in merged.items() if where[k] == fname}
        save_file(part, dst / fname, metadata={"format": "pt"})
    if (src / "model.safetensors.index.json").exists():
        index = json.loads((src / "model.safetensors.index.json").read_text())
        index["weight_map"] = dict(sorted(where.items()))
        (dst / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


@torch.no_grad()
def logits_of(folder: Path, cfg: dict, ids: torch.Tensor) -> torch.Tensor:
    if cfg["model_type"] == "qwen":
        model = qwen1_reference.Qwen1ForCausalLM(json.loads((folder / "config.json").read_text())).eval()
        weights, _ = load_weights(folder)
        model.load_state_dict({k: v.float() for k, v in weights.items()})
        return model(ids[None])[0][0]
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    return model(ids[None]).logits[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steer", help="path of a built `steer` executable: also export with it and compare")
    ap.add_argument("--only", nargs="*", help="rebuild only these models (see the module doc)")
    args = ap.parse_args()
    every = {**VARIANTS, **LATER_VARIANTS}
    unknown = set(args.only or []) - set(LATER_VARIANTS)
    assert not unknown, f"--only takes models of LATER_VARIANTS ({sorted(LATER_VARIANTS)}); not {unknown}"
    OUT.mkdir(parents=True, exist_ok=True)

    g = torch.Generator().manual_seed(20240611)
    directions = {}

    def direction_for(d: int, later: bool = False):
        """The direction file for d_model d (made on first use) and its stored values in float64."""
        if d not in directions:
            gd = torch.Generator().manual_seed(7_000_000 + d) if later else g
            r = torch.randn(d, generator=gd, dtype=torch.float64) * 3
            harmless = torch.randn(2, d, generator=gd, dtype=torch.float64) + r / 2  # correlated: projecting matters
            path = OUT / f"direction_d{d}.safetensors"
            save_file({"direction": r.float(), "harmless_mean": harmless.float()}, path, metadata={
                "layer": str(DIRECTION_LAYER), "position": "-1", "method": "random (test fixture)",
                "model": f"Tests/Fixtures/models (d_model {d})", "tool_version": "scripts/make_intervention_fixtures.py"})
            # The stored (float32) values are what Steer reads; use exactly those.
            directions[d] = (path, r.float().double(), harmless.float().double())
        return directions[d]

    report = {"transformers_version": transformers.__version__, "torch_version": torch.__version__,
              "T": T, "direction_layer": DIRECTION_LAYER, "models": {}}
    if args.only:
        report = json.loads((OUT / "fixtures.json").read_text())
    for name, variants in every.items():
        later = name in LATER_VARIANTS
        if args.only and name not in args.only:
            continue
        src = MODELS / name
        cfg = json.loads((src / "config.json").read_text()) if name == "qwen" else text_config(src)
        tensors, where = load_weights(src)
        direction_file, r, harmless = direction_for(cfg["hidden_size"], later)
        embed = embed_name(cfg, tensors)
        gm = torch.Generator().manual_seed(sum(map(ord, name))) if later else g
        ids = torch.randint(0, cfg["vocab_size"], (T,), generator=gm)
        out = {"input_ids": ids.to(torch.int64)}
        base = logits_of(src, cfg, ids)
        out["logits.original"] = base.float()
        info = {"direction_file": direction_file.name, "variants": {}}
        for vname, variant in variants.items():
            edited, untied = abliterate(cfg, tensors, r, harmless, variant)
            with tempfile.TemporaryDirectory() as tmp:
                dst = Path(tmp) / "export"
                export(src, dst, tensors, where, edited, untied, embed)
                logits = logits_of(dst, cfg, ids)
                entry = {"spec": {k: list(v) if isinstance(v, tuple) else v for k, v in variant.items()},
                         "untied": untied, "edited_tensors": sorted(edited),
                         "max_abs_logit_change": (logits - base).abs().max().item()}
                if args.steer:
                    mine = Path(tmp) / "steer"
                    cmd = [args.steer, "abliterate", str(src), "--direction", str(direction_file), "--out", str(mine)]
                    if "layers" in variant:
                        cmd += ["--layers", f"{variant['layers'][0]}-{variant['layers'][1]}"]
                    if variant.get("projected"):
                        cmd.append("--projected")
                    if variant.get("norm_preserving"):
                        cmd.append("--norm-preserving")
                    subprocess.run(cmd, check=True, capture_output=True)
                    entry["steer_export_logits_vs_this"] = (logits_of(mine, cfg, ids) - logits).abs().max().item()
            out[f"logits.{vname}"] = logits.float()
            for k, v in edited.items():
                out[f"tensor.{vname}.{k}"] = v.contiguous()
            info["variants"][vname] = entry
            print(f"{name}/{vname}: max |Δlogits| = {entry['max_abs_logit_change']:.4g}"
                  + (f", steer export vs python export {entry['steer_export_logits_vs_this']:.3g}" if args.steer else ""))
        save_file(out, OUT / f"{name}.safetensors")
        report["models"][name] = info
    if args.only:
        (OUT / "fixtures.json").write_text(json.dumps(report, indent=2) + "\n")
        return
    # Control-vector directions from synthetic activations (a dominant axis plus noise).
    axis = torch.randn(64, generator=g, dtype=torch.float64)
    pos = (torch.randn(8, 64, generator=g, dtype=torch.float64) + torch.rand(8, 1, generator=g, dtype=torch.float64) * 4 * axis).float()
    neg = (torch.randn(8, 64, generator=g, dtype=torch.float64) - 0.5 * axis).float()
    diffs = pos.double() - neg.double()
    mean = pos.double().mean(0) - neg.double().mean(0)
    centred = diffs - diffs.mean(0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    pc = vh[0] / vh[0].norm()
    if pc @ mean < 0:
        pc = -pc
    save_file({"positive": pos, "negative": neg, "mean": mean.float(), "pca": pc.float()}, OUT / "contrastive.safetensors")

    for name in ("llama", "gemma2"):
        src = MODELS / name
        cfg = json.loads((src / "config.json").read_text())
        model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32, attn_implementation="eager").eval()
        L = cfg["num_hidden_layers"]
        captured = {}

        def hook(layer):
            def fn(_module, _inputs, output):
                captured[layer] = (output[0] if isinstance(output, tuple) else output)[0, -1].double()
            return fn

        handles = [model.model.layers[n].register_forward_hook(hook(n)) for n in range(1, L)]
        out, acts = {}, {"positive": [], "negative": []}
        for kind in ("positive", "negative"):
            for i in range(6):
                ids = torch.randint(0, cfg["vocab_size"], (int(torch.randint(3, 12, (1,), generator=g)),), generator=g)
                out[f"{kind}_{i}"] = ids
                with torch.no_grad():
                    model(ids[None])
                acts[kind].append(torch.stack([captured[n] for n in range(1, L)]))
        for h in handles:
            h.remove()
        P, N = torch.stack(acts["positive"]), torch.stack(acts["negative"])  # [6, L-1, d]
        mean = P.mean(0) - N.mean(0)
        pcs = []
        for j in range(L - 1):
            diffs = P[:, j] - N[:, j]
            _, _, vh = torch.linalg.svd(diffs - diffs.mean(0), full_matrices=False)
            pc = vh[0] / vh[0].norm()
            pcs.append(-pc if pc @ mean[j] < 0 else pc)
        out["mean"] = mean.float()
        out["pca"] = torch.stack(pcs).float()
        save_file(out, OUT / f"vector_{name}.safetensors")

    (OUT / "fixtures.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
