#!/usr/bin/env python3
"""Reference implementation of the selection stage of the refusal-direction method (Arditi et al., 2024).

Usage:
  STEER_VENV=... scripts/py.sh scripts/refusal_reference.py MODEL_DIR \
      --harmful-train F --harmless-train F --harmful-val F --harmless-val F \
      --refusal-tokens 1,2,... [--filter-val] [--batch-size 8] [--device cpu] [--no-self-check] [--out DIR]

Prompt files are JSON lists of strings. Everything runs in float32 with eager attention through plain
transformers modules and PyTorch hooks; this file is what Steer's Swift pipeline is checked against, so every
definition below is exactly what Steer implements.

Definitions
-----------
Rendering.  A prompt is `tokenizer.apply_chat_template([{"role": "user", "content": instr}],
  add_generation_prompt=True, tokenize=False)`, tokenized with `add_special_tokens=False`. Batches (of
  --batch-size prompts, in file order) are left-padded (pad id: the tokenizer's pad id, else 0) with an
  attention mask; position ids = cumsum(mask) - 1, padded positions set to 1 (they never influence real ones).
EOI positions.  `n_eoi` = number of tokens of render(SENTINEL) (SENTINEL = "X") whose character start offset
  (return_offsets_mapping) is at or after the end of the sentinel's character span (its last occurrence in the
  rendered text). The positions are -n_eoi ... -1 (negative, from the end of each prompt; with left padding the
  same template token in every row). Candidate index p = 0..n_eoi-1 is position p - n_eoi.
Activations.  resid_pre[l] = input of decoder layer l = hidden_states[l] of output_hidden_states, l in 0..<L,
  at the EOI positions of each train prompt. Means are accumulated in float64 (sum of float32 values cast to
  float64, divided by the prompt count), stored as float32.
Candidates.  r[p][l] = mean_harmful[p][l] - mean_harmless[p][l] (unnormalised), [n_eoi, L, d] float32.
Refusal score of one prompt.  Last position's next-token distribution probs = softmax(logits) (the float32
  logits, evaluated in float64 here), P = sum of probs[t] over the refusal token ids,
  score = log(P + 1e-8) - log(1 - P + 1e-8). A set's score is the mean over its prompts.
Directional ablation with r_hat = r / ||r||.  x <- x - (x . r_hat) r_hat on (a) the input of every decoder
  layer (forward pre-hook), (b) the output of every self-attention block (forward hook, output[0]), (c) the
  output of every MLP (forward hook), at all positions (padding included; it is masked anyway).
Bypass score of (p, l).  Mean refusal score on harmful val under that ablation.
Induce score of (p, l).  Mean refusal score on harmless val with +r (unnormalised) added to the input of
  decoder layer l only (forward pre-hook), all positions.
KL score of (p, l).  Mean over harmless val of KL(P_base || P_abl) = sum_t p_base (log p_base - log p_abl) of
  the last position's next-token distributions, log-softmax of the float32 logits evaluated in float64, with the
  same all-layer ablation as bypass.
Filters.  A candidate is discarded when any score is NaN ("nan"), l >= int(0.8 * L) ("layer"), KL > 0.1 ("kl"),
  or induce < 0 ("induce", strictly below 0). `filtered_by` is the first rule that applies in that order
  (nan, layer, kl, induce); `failed` lists all that apply. The selected candidate is the lowest bypass score
  among the survivors (ties: the first in (p, l) order); if none survive, `selected` is null and the script
  says so (no fallback). All scores are computed for every candidate, also for those the layer rule discards.
Validation filtering (--filter-val, off by default).  Keep harmful val prompts whose baseline score is > 0 and
  harmless val prompts whose baseline score is < 0, before any candidate is scored.

Outputs (in --out, default ./refusal_reference_out)
-------
candidates.safetensors  `candidates`, `harmful_mean`, `harmless_mean`: F32 [n_eoi, L, d].
scores.json             the schema below.
stdout                  one JSON line: {"activations_s", "selection_s", "self_check_s", "total_s", ...}.

scores.json = {
  "model": str, "n_layers": L, "d_model": d, "n_eoi": int, "eoi_positions": [-n_eoi..-1],
  "eoi_token_ids": [int] (the template's post-instruction ids), "refusal_tokens": [int],
  "filter_val": bool, "n_val": {"harmful": int, "harmless": int} (after filtering),
  "n_train": {"harmful": int, "harmless": int},
  "baseline": {"harmful_val": float, "harmless_val": float} (mean refusal scores, after val filtering),
  "baseline_per_prompt": {"harmful_val": [float], "harmless_val": [float]} (before filtering),
  "layer_cutoff": int(0.8 * L), "kl_threshold": 0.1, "induce_threshold": 0.0,
  "candidates": [{"position": int (negative), "pos_index": p, "layer": l, "bypass": float, "induce": float,
                  "kl": float, "filtered_by": "nan"|"layer"|"kl"|"induce"|null, "failed": [str]}, ...]
                 ordered by pos_index, then layer,
  "selected": {"position", "pos_index", "layer", "bypass", "induce", "kl"} | null,
  "self_check": {...} | null  (max abs differences of the self-checks; see self_check())
}
NaN scores are written as null in JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()

SENTINEL = "X"
EPS = 1e-8
KL_THRESHOLD = 0.1
INDUCE_THRESHOLD = 0.0
LAYER_FRACTION = 0.8


# ------------------------------------------------------------------------------------------------------------
# Prompts


def render(tokenizer, instruction: str) -> str:
    return tokenizer.apply_chat_template([{"role": "user", "content": instruction}],
                                         add_generation_prompt=True, tokenize=False)


def encode(tokenizer, instruction: str) -> list[int]:
    return tokenizer(render(tokenizer, instruction), add_special_tokens=False)["input_ids"]


def eoi_token_ids(tokenizer) -> list[int]:
    """The post-instruction tokens of the template: those starting at or after the end of the sentinel."""
    text = render(tokenizer, SENTINEL)
    end = text.rfind(SENTINEL)
    assert end >= 0, "the chat template dropped the instruction"
    end += len(SENTINEL)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = [i for i, (start, _) in zip(enc["input_ids"], enc["offset_mapping"]) if start >= end]
    assert ids, "no tokens after the instruction"
    return ids


def batches(tokenizer, prompts: list[str], batch_size: int, device):
    """Yields (input_ids, attention_mask, position_ids) of left-padded batches in prompt order."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for i in range(0, len(prompts), batch_size):
        seqs = [encode(tokenizer, p) for p in prompts[i:i + batch_size]]
        T = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), T), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), T), dtype=torch.long)
        for b, s in enumerate(seqs):
            ids[b, T - len(s):] = torch.tensor(s)
            mask[b, T - len(s):] = 1
        pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
        yield ids.to(device), mask.to(device), pos.to(device)


# ------------------------------------------------------------------------------------------------------------
# Hooks


def ablate(x: torch.Tensor, r_hat: torch.Tensor) -> torch.Tensor:
    return x - (x @ r_hat)[..., None] * r_hat


def _replace_input(args, kwargs, fn):
    if args:
        return (fn(args[0]),) + tuple(args[1:]), kwargs
    kwargs = dict(kwargs)
    kwargs["hidden_states"] = fn(kwargs["hidden_states"])
    return args, kwargs


def _replace_output(output, fn):
    if isinstance(output, tuple):
        return (fn(output[0]),) + tuple(output[1:])
    return fn(output)


@contextlib.contextmanager
def hooks(model, ablate_dir: torch.Tensor | None = None, add_vec: torch.Tensor | None = None,
          add_layer: int | None = None):
    """ablate_dir: unit vector removed at every layer input, attention output and MLP output.
    add_vec/add_layer: vector added to the input of that one layer."""
    handles = []
    layers = model.model.layers
    if ablate_dir is not None:
        f = lambda x: ablate(x, ablate_dir)  # noqa: E731
        for layer in layers:
            handles.append(layer.register_forward_pre_hook(lambda m, a, k: _replace_input(a, k, f),
                                                            with_kwargs=True))
            handles.append(layer.self_attn.register_forward_hook(lambda m, a, o: _replace_output(o, f)))
            handles.append(layer.mlp.register_forward_hook(lambda m, a, o: _replace_output(o, f)))
    if add_vec is not None:
        g = lambda x: x + add_vec  # noqa: E731
        handles.append(layers[add_layer].register_forward_pre_hook(lambda m, a, k: _replace_input(a, k, g),
                                                                   with_kwargs=True))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


# ------------------------------------------------------------------------------------------------------------
# Scores


@torch.no_grad()
def last_logits(model, tokenizer, prompts, batch_size, device) -> torch.Tensor:
    """[N, V] float32 logits of the last prompt position (current hooks apply)."""
    out = []
    for ids, mask, pos in batches(tokenizer, prompts, batch_size, device):
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False).logits
        out.append(logits[:, -1, :].float())
    return torch.cat(out)


def refusal_scores(logits: torch.Tensor, refusal_ids: list[int]) -> torch.Tensor:
    """Per-prompt refusal scores (float64) from [N, V] logits."""
    probs = torch.softmax(logits.double(), dim=-1)
    P = probs[:, refusal_ids].sum(-1)
    return torch.log(P + EPS) - torch.log(1 - P + EPS)


def kl_div(base_logits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Per-prompt KL(P_base || P) (float64)."""
    lp_base = torch.log_softmax(base_logits.double(), dim=-1)
    lp = torch.log_softmax(logits.double(), dim=-1)
    return (lp_base.exp() * (lp_base - lp)).sum(-1)


def mean(t: torch.Tensor) -> float:
    return float(t.mean().item())


# ------------------------------------------------------------------------------------------------------------
# Stages


@torch.no_grad()
def mean_activations(model, tokenizer, prompts, n_eoi, batch_size, device) -> torch.Tensor:
    """[n_eoi, L, d] float64 mean of resid_pre[l] at positions -n_eoi..-1."""
    L = model.config.num_hidden_layers
    total = None
    for ids, mask, pos in batches(tokenizer, prompts, batch_size, device):
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False, output_hidden_states=True)
        hs = torch.stack(out.hidden_states[:L], dim=0)           # [L, B, T, d]; hidden_states[l] = input of layer l
        acts = hs[:, :, -n_eoi:, :].double().sum(dim=1)           # [L, n_eoi, d]
        total = acts if total is None else total + acts
    return (total / len(prompts)).transpose(0, 1).contiguous()  # [n_eoi, L, d]


def select(cands_scores: list[dict], L: int):
    cutoff = int(LAYER_FRACTION * L)
    survivors = []
    for c in cands_scores:
        failed = []
        if any(v is None or math.isnan(v) for v in (c["bypass"], c["induce"], c["kl"])):
            failed.append("nan")
        if c["layer"] >= cutoff:
            failed.append("layer")
        if c["kl"] is not None and c["kl"] > KL_THRESHOLD:
            failed.append("kl")
        if c["induce"] is not None and c["induce"] < INDUCE_THRESHOLD:
            failed.append("induce")
        c["failed"] = failed
        c["filtered_by"] = failed[0] if failed else None
        if not failed:
            survivors.append(c)
    if not survivors:
        return None
    best = min(survivors, key=lambda c: c["bypass"])  # min keeps the first of equal values
    return {k: best[k] for k in ("position", "pos_index", "layer", "bypass", "induce", "kl")}


# ------------------------------------------------------------------------------------------------------------
# Self-checks


@torch.no_grad()
def manual_ablated_logits(model, ids, mask, pos, r_hat) -> torch.Tensor | None:
    """A hook-free forward of a pre-norm llama-style decoder (llama, mistral, qwen2, qwen3) that subtracts the
    projection explicitly. None for other layouts."""
    m = model.model
    layer0 = m.layers[0]
    if model.config.model_type not in ("llama", "mistral", "qwen2", "qwen3"):
        return None
    if model.config.model_type == "mistral" and getattr(model.config, "sliding_window", None):
        return None  # the mask below has no sliding window
    B, T = ids.shape
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=ids.device))
    allowed = causal[None, None] & mask.bool()[:, None, None, :]
    attn_mask = torch.zeros(B, 1, T, T, device=ids.device).masked_fill(~allowed, torch.finfo(torch.float32).min)
    x = m.embed_tokens(ids)
    pe = m.rotary_emb(x, pos)
    for layer in m.layers:
        x = x - (x @ r_hat)[..., None] * r_hat
        a = layer.self_attn(hidden_states=layer.input_layernorm(x), attention_mask=attn_mask,
                            position_embeddings=pe, position_ids=pos)[0]
        x = x + (a - (a @ r_hat)[..., None] * r_hat)
        f = layer.mlp(layer.post_attention_layernorm(x))
        x = x + (f - (f @ r_hat)[..., None] * r_hat)
    return model.lm_head(m.norm(x))[:, -1, :].float()


@torch.no_grad()
def self_check(model, tokenizer, harmful_val, harmless_val, refusal_ids, base_harmful, base_harmless,
               direction, layer, batch_size, device) -> dict:
    """1. hidden_states[l] equals what a pre-hook on layer l sees; 2. zero ablation / zero addition reproduce the
    baseline exactly; 3. hook ablation equals a manual forward that subtracts the projection."""
    res = {}
    ids, mask, pos = next(batches(tokenizer, harmful_val, batch_size, device))
    seen = {}
    hs = []
    for l, lay in enumerate(model.model.layers):
        hs.append(lay.register_forward_pre_hook(
            lambda mod, a, k, l=l: seen.__setitem__(l, (a[0] if a else k["hidden_states"]).clone()),
            with_kwargs=True))
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False, output_hidden_states=True)
    for h in hs:
        h.remove()
    res["hidden_states_vs_prehook"] = max(
        (out.hidden_states[l] - seen[l])[mask.bool()].abs().max().item() for l in seen)

    zero = torch.zeros_like(direction)
    with hooks(model, ablate_dir=zero):
        z = mean(refusal_scores(last_logits(model, tokenizer, harmful_val, batch_size, device), refusal_ids))
    res["zero_ablation_bypass_minus_baseline"] = abs(z - base_harmful)
    with hooks(model, add_vec=zero, add_layer=layer):
        z = mean(refusal_scores(last_logits(model, tokenizer, harmless_val, batch_size, device), refusal_ids))
    res["zero_addition_induce_minus_baseline"] = abs(z - base_harmless)

    r_hat = direction / direction.norm()
    manual = manual_ablated_logits(model, ids, mask, pos, r_hat)
    if manual is not None:
        with hooks(model, ablate_dir=r_hat):
            hooked = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False).logits[:, -1, :]
        res["hook_vs_manual_ablation_logits"] = (hooked.float() - manual).abs().max().item()
    else:
        res["hook_vs_manual_ablation_logits"] = None
    return res


# ------------------------------------------------------------------------------------------------------------


def load_prompts(path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    assert isinstance(data, list) and all(isinstance(s, str) for s in data), f"{path}: expected a JSON list of strings"
    return data


def clean(v: float):
    return None if v is None or math.isnan(v) else v


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--harmful-train", required=True)
    ap.add_argument("--harmless-train", required=True)
    ap.add_argument("--harmful-val", required=True)
    ap.add_argument("--harmless-val", required=True)
    ap.add_argument("--refusal-tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--filter-val", action="store_true", help="keep harmful val with score > 0, harmless with < 0")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-self-check", action="store_true")
    ap.add_argument("--candidates", type=int, help="score only this many candidates, evenly spread over the (position, "
                    "layer) grid, for timing large models (per_candidate_s extrapolates; the selection covers the subset)")
    ap.add_argument("--out", default="refusal_reference_out")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)
    refusal_ids = [int(t) for t in args.refusal_tokens.split(",") if t.strip()]
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32,
                                                 attn_implementation="eager").to(device).eval()
    L, d = model.config.num_hidden_layers, model.config.hidden_size
    harmful_train, harmless_train = load_prompts(args.harmful_train), load_prompts(args.harmless_train)
    harmful_val, harmless_val = load_prompts(args.harmful_val), load_prompts(args.harmless_val)
    eoi_ids = eoi_token_ids(tokenizer)
    n_eoi = len(eoi_ids)
    for p in harmful_train + harmless_train + harmful_val + harmless_val:
        assert encode(tokenizer, p)[-n_eoi:] == eoi_ids, f"post-instruction tokens differ for prompt {p!r}"
    bs = args.batch_size
    sync()
    t_loaded = time.perf_counter()

    # Activations and candidates.
    mean_harmful = mean_activations(model, tokenizer, harmful_train, n_eoi, bs, device)
    mean_harmless = mean_activations(model, tokenizer, harmless_train, n_eoi, bs, device)
    candidates = (mean_harmful - mean_harmless).float()
    sync()
    t_acts = time.perf_counter()

    # Baselines and optional validation filtering.
    base_harmful_all = refusal_scores(last_logits(model, tokenizer, harmful_val, bs, device), refusal_ids)
    base_harmless_all = refusal_scores(last_logits(model, tokenizer, harmless_val, bs, device), refusal_ids)
    if args.filter_val:
        harmful_val = [p for p, s in zip(harmful_val, base_harmful_all.tolist()) if s > 0]
        harmless_val = [p for p, s in zip(harmless_val, base_harmless_all.tolist()) if s < 0]
        base_harmful = base_harmful_all[base_harmful_all > 0]
        base_harmless = base_harmless_all[base_harmless_all < 0]
        if not harmful_val or not harmless_val:
            sys.exit(f"validation filtering left {len(harmful_val)} harmful and {len(harmless_val)} harmless prompts")
    else:
        base_harmful, base_harmless = base_harmful_all, base_harmless_all
    base_harmless_logits = last_logits(model, tokenizer, harmless_val, bs, device)
    sync()
    t_base = time.perf_counter()

    # Scores for every candidate (or an evenly spread subset of --candidates of them).
    grid = [(p, l) for p in range(n_eoi) for l in range(L)]
    if args.candidates is not None and 0 < args.candidates < len(grid):
        grid = [grid[i * len(grid) // args.candidates] for i in range(args.candidates)]
    scored = []
    for p, l in grid:
        r = candidates[p, l].to(device)
        r_hat = r / r.norm()
        with hooks(model, ablate_dir=r_hat):
            bypass = mean(refusal_scores(last_logits(model, tokenizer, harmful_val, bs, device), refusal_ids))
            kl = mean(kl_div(base_harmless_logits, last_logits(model, tokenizer, harmless_val, bs, device)))
        with hooks(model, add_vec=r, add_layer=l):
            induce = mean(refusal_scores(last_logits(model, tokenizer, harmless_val, bs, device), refusal_ids))
        scored.append({"position": p - n_eoi, "pos_index": p, "layer": l,
                       "bypass": bypass, "induce": induce, "kl": kl})
    selected = select(scored, L)
    sync()
    t_sel = time.perf_counter()

    checks = None
    if not args.no_self_check:
        # The selected candidate, else the one of largest norm (layer-0 candidates are exactly zero: every prompt
        # has the same embedding at a template position, so r_hat = 0/0 is NaN and those candidates score NaN).
        flat = candidates.flatten(0, 1).norm(dim=-1).argmax().item()
        pick = selected or {"pos_index": flat // L, "layer": flat % L}
        checks = self_check(model, tokenizer, harmful_val, harmless_val, refusal_ids, mean(base_harmful),
                            mean(base_harmless), candidates[pick["pos_index"], pick["layer"]].to(device),
                            pick["layer"], bs, device)
        assert checks["hidden_states_vs_prehook"] == 0.0, checks
        assert checks["zero_ablation_bypass_minus_baseline"] == 0.0, checks
        assert checks["zero_addition_induce_minus_baseline"] == 0.0, checks
        assert checks["hook_vs_manual_ablation_logits"] is None or checks["hook_vs_manual_ablation_logits"] < 1e-3, checks
    t_check = time.perf_counter()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"method": "refusal_direction_candidates", "model": str(args.model_dir), "n_eoi": str(n_eoi),
            "tool": "scripts/refusal_reference.py"}
    save_file({"candidates": candidates.contiguous(), "harmful_mean": mean_harmful.float().contiguous(),
               "harmless_mean": mean_harmless.float().contiguous()}, str(out / "candidates.safetensors"), metadata=meta)
    for c in scored:
        for k in ("bypass", "induce", "kl"):
            c[k] = clean(c[k])
    report = {
        "model": str(args.model_dir), "n_layers": L, "d_model": d, "n_eoi": n_eoi,
        "eoi_positions": list(range(-n_eoi, 0)), "eoi_token_ids": eoi_ids, "refusal_tokens": refusal_ids,
        "filter_val": args.filter_val,
        "n_train": {"harmful": len(harmful_train), "harmless": len(harmless_train)},
        "n_val": {"harmful": len(harmful_val), "harmless": len(harmless_val)},
        "baseline": {"harmful_val": mean(base_harmful), "harmless_val": mean(base_harmless)},
        "baseline_per_prompt": {"harmful_val": base_harmful_all.tolist(), "harmless_val": base_harmless_all.tolist()},
        "layer_cutoff": int(LAYER_FRACTION * L), "kl_threshold": KL_THRESHOLD, "induce_threshold": INDUCE_THRESHOLD,
        "candidates": scored, "selected": selected, "self_check": checks,
    }
    with open(out / "scores.json", "w") as f:
        json.dump(report, f, indent=1)
    if selected is None:
        print("refusal_reference: every candidate was filtered out; no direction selected", file=sys.stderr)
    timings = {"activations_s": round(t_acts - t_loaded, 4), "selection_s": round(t_sel - t_acts, 4),
               "self_check_s": round(t_check - t_sel, 4), "load_s": round(t_loaded - t_start, 4),
               "total_s": round(time.perf_counter() - t_start, 4), "n_candidates": len(scored),
               "n_grid": n_eoi * L, "baseline_s": round(t_base - t_acts, 4),
               "per_candidate_s": round((t_sel - t_base) / max(len(scored), 1), 4),
               "selected": None if selected is None else [selected["position"], selected["layer"]]}
    print(json.dumps(timings))
    return report


if __name__ == "__main__":
    main()
