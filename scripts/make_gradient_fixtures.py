#!/usr/bin/env python3
"""Builds Tests/Fixtures/gradient/: refusal-metric gradients from torch autograd, three tiny SAEs in SAELens
layouts, and the latent attribution ranking computed from them (SPEC §6).

Usage: STEER_VENV=/work/venv scripts/py.sh scripts/make_gradient_fixtures.py [--out DIR]

Gradients. On the fixture models Tests/Fixtures/models/{qwen2,gemma2} (float32, eager attention), for each case
(layer l, point resid_pre|resid_mid, metric layer M) and each prompt (random ids, run alone, no padding):
the metric m = <resid_pre[M][last], r/|r|> (resid_pre[M] read by a hook on block M's input, or on the last
block's output when M = L) and dm/dx for x = resid_pre[l] at every position, with `torch.autograd.grad` on a
forward pre-hook that replaces block l's input by a leaf; for resid_mid, x is the tensor entering the pre-MLP
norm (also the residual), taken as the input of autograd.grad.

SAEs, written as SAELens writes them (cfg.json + sae_weights.safetensors, W_enc [d_in, d_sae], W_dec
[d_sae, d_in], b_enc, b_dec, threshold), encoded as SAELens 6.18's encode() does:
  sae_jumprelu: SAELens-6 layout (hook under metadata), qwen2 blocks.0.hook_resid_post, M = 2
  sae_topk:     SAELens-6 layout, k = 5, qwen2 blocks.1.hook_resid_pre, M = 2
  sae_standard: pre-6 layout (top-level hook_point, normalize_activations false), gemma2 blocks.1.hook_resid_mid, M = 3
Attribution a_i = mean over prompts of sum_t f_i(x_t) * (W_dec[i] . g_t) in float64 from the float32 f and g;
frequency = share of positions (all prompts) where f_i > 0; mean_activation = mean of f_i where it is > 0.
Pre-activations are kept at least MARGIN away from every decision (0, thresholds, the k-th largest) and the top
attributions apart, re-seeding until they are, so a float32 engine correct to ~1e-6 ranks the same way.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

import transformers
from transformers import AutoModelForCausalLM

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "Tests" / "Fixtures" / "models"
PROMPT_LENS = (7, 12, 4)
MARGIN = 1e-3
TOP = 12

CASES = {
    "qwen2": [(0, "resid_pre", 2), (1, "resid_pre", 2), (0, "resid_pre", 1), (0, "resid_mid", 1)],
    "gemma2": [(0, "resid_pre", 3), (1, "resid_pre", 2), (1, "resid_mid", 3), (2, "resid_pre", 3)],
}
# The module whose input is resid_mid (the pre-MLP norm) in each family.
MID_NORM = {"qwen2": "post_attention_layernorm", "gemma2": "pre_feedforward_layernorm"}


class Stop(Exception):
    pass


def metric_and_gradient(model, family, ids, layer, point, M, unit):
    """m and dm/dx (float32 [T, d]) for one prompt."""
    layers = model.model.layers
    L = len(layers)
    seen, hooks = {}, []

    def make_leaf(_mod, args, kwargs):
        x = args[0].detach().clone().requires_grad_(True)
        seen["leaf"] = x
        return (x,) + tuple(args[1:]), kwargs

    def keep_mid(_mod, args):
        seen["mid"] = args[0]

    def stop_at_input(_mod, args, kwargs):
        seen["final"] = args[0]
        raise Stop

    def stop_at_output(_mod, _args, output):
        seen["final"] = output[0] if isinstance(output, tuple) else output
        raise Stop

    hooks.append(layers[layer].register_forward_pre_hook(make_leaf, with_kwargs=True))
    if point == "resid_mid":
        hooks.append(getattr(layers[layer], MID_NORM[family]).register_forward_pre_hook(keep_mid))
    if M < L:
        hooks.append(layers[M].register_forward_pre_hook(stop_at_input, with_kwargs=True))
    else:
        hooks.append(layers[L - 1].register_forward_hook(stop_at_output))
    try:
        model(input_ids=torch.tensor([ids]), use_cache=False)
    except Stop:
        pass
    finally:
        for h in hooks:
            h.remove()
    m = (seen["final"][0, -1].double() * unit.double()).sum()
    x = seen["leaf"] if point == "resid_pre" else seen["mid"]
    (g,) = torch.autograd.grad(m, x)
    return float(m.detach()), g[0].float(), x[0].detach().float()


# ----------------------------------------------------------------------------------------------------------------
# SAEs


def encode(arch, W_enc, b_enc, b_dec, threshold, k, x, apply_b_dec=True):
    """SAELens 6.18 encode(): pre = (x - b_dec) @ W_enc + b_enc, then ReLU / JumpReLU / TopK (ReLU of the top k)."""
    pre = (x - b_dec * apply_b_dec) @ W_enc + b_enc
    if arch == "standard":
        return pre.relu(), pre
    if arch == "jumprelu":
        return pre.relu() * (pre > threshold).to(pre.dtype), pre
    values, indices = torch.topk(pre, k=k, dim=-1, sorted=False)
    out = torch.zeros_like(pre)
    out.scatter_(-1, indices, values.relu())
    return out, pre


def decision_margin(arch, pre, threshold, k):
    if arch == "standard":
        return float(pre.abs().min())
    if arch == "jumprelu":
        return float(torch.minimum((pre - threshold).abs(), pre.abs()).min())
    top = torch.topk(pre, k=k + 1, dim=-1).values
    return float(torch.minimum((top[:, k - 1] - top[:, k]).abs(), top[:, :k].abs().min(dim=-1).values).min())


def attribution(feats, grads, W_dec):
    """a_i, frequency, mean activation over prompts (float64)."""
    a = torch.zeros(W_dec.shape[0], dtype=torch.float64)
    active = torch.zeros_like(a)
    total = torch.zeros_like(a)
    positions = 0
    for f, g in zip(feats, grads):
        proj = g.double() @ W_dec.double().T  # [T, d_sae]: W_dec[i] . g_t
        a += (f.double() * proj).sum(0)
        active += (f > 0).double().sum(0)
        total += f.double().sum(0)
        positions += f.shape[0]
    mean_act = torch.where(active > 0, total / active.clamp(min=1), torch.zeros_like(total))
    return a / len(feats), active / positions, mean_act


def make_sae(name, arch, d_in, d_sae, k, seed, acts, grads, new_layout, hook, apply_b_dec=True):
    """Random SAE weights re-seeded until every decision is MARGIN clear and the top attributions are apart."""
    for attempt in range(200):
        g = torch.Generator().manual_seed(seed + attempt)
        W_enc = torch.randn(d_in, d_sae, generator=g) * 0.4
        W_dec = torch.randn(d_sae, d_in, generator=g) * 0.3
        b_enc = torch.randn(d_sae, generator=g) * 0.5
        b_dec = torch.randn(d_in, generator=g) * 0.2
        threshold = torch.rand(d_sae, generator=g) * 0.8 + 0.1
        encoded = [encode(arch, W_enc, b_enc, b_dec, threshold, k, x, apply_b_dec) for x in acts]
        if min(decision_margin(arch, pre, threshold, k) for _, pre in encoded) < MARGIN:
            continue
        a, freq, mean_act = attribution([f for f, _ in encoded], grads, W_dec)
        ranked = sorted(range(d_sae), key=lambda i: (-float(a[i]), i))
        top = [float(a[i]) for i in ranked[: TOP + 1]]
        scale = max(abs(v) for v in a.tolist())
        if min(x - y for x, y in zip(top, top[1:])) < MARGIN * scale:
            continue
        break
    else:
        raise SystemExit(f"{name}: no seed gave clear decisions")
    tensors = {"W_enc": W_enc.contiguous(), "W_dec": W_dec.contiguous(), "b_enc": b_enc, "b_dec": b_dec}
    if arch == "jumprelu":
        tensors["threshold"] = threshold
    if new_layout:
        cfg = {"d_in": d_in, "d_sae": d_sae, "dtype": "float32", "device": "cpu", "apply_b_dec_to_input": apply_b_dec,
               "normalize_activations": "none", "reshape_activations": "none", "architecture": arch,
               "metadata": {"sae_lens_version": "6.18.0", "sae_lens_training_version": "6.18.0",
                            "model_name": "steer-fixture", "hook_name": hook, "hook_head_index": None,
                            "prepend_bos": True, "dataset_path": "fixture", "context_size": 32}}
        if arch == "topk":
            cfg["k"] = k
            cfg["rescale_acts_by_decoder_norm"] = False
    else:
        cfg = {"model_name": "steer-fixture", "hook_point": hook, "hook_point_layer": int(hook.split(".")[1]),
               "hook_point_head_index": None, "d_in": d_in, "d_sae": d_sae, "dtype": "float32", "device": "cpu",
               "apply_b_dec_to_input": apply_b_dec, "normalize_activations": False, "activation_fn_str": "relu",
               "finetuning_scaling_factor": False, "sae_lens_training_version": "3.13.0", "context_size": 128,
               "prepend_bos": True}
    return cfg, tensors, {"attribution": a.tolist(), "frequency": freq.tolist(), "mean_activation": mean_act.tolist(),
                          "ranking": ranked, "seed": seed + attempt}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "Tests" / "Fixtures" / "gradient")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(6006)
    summary = {"description": "scripts/make_gradient_fixtures.py: torch autograd gradients of the refusal metric and "
                              "SAE attributions (see the script's docstring)",
               "transformers_version": transformers.__version__, "torch_version": torch.__version__.split("+")[0],
               "prompt_lens": list(PROMPT_LENS), "models": {}, "saes": {}}
    kept = {}
    for family, cases in CASES.items():
        model = AutoModelForCausalLM.from_pretrained(MODELS / family, dtype=torch.float32, attn_implementation="eager").eval()
        for p in model.parameters():
            p.requires_grad_(False)
        vocab, d = model.config.vocab_size, model.config.hidden_size
        direction = torch.randn(d, generator=g)
        unit = direction / direction.norm()
        prompts = [torch.randint(0, vocab, (n,), generator=g).tolist() for n in PROMPT_LENS]
        tensors = {"direction": direction.contiguous()}
        for i, ids in enumerate(prompts):
            tensors[f"ids.{i}"] = torch.tensor(ids, dtype=torch.int64)
        entries = []
        for c, (layer, point, M) in enumerate(cases):
            metrics = []
            for i, ids in enumerate(prompts):
                m, grad, act = metric_and_gradient(model, family, ids, layer, point, M, unit)
                tensors[f"grad.{c}.{i}"] = grad.contiguous()
                metrics.append(m)
                kept[(family, layer, point, M, i)] = (act, grad)
            entries.append({"case": c, "layer": layer, "point": point, "metric_layer": M, "metrics": metrics})
        save_file(tensors, str(args.out / f"{family}.safetensors"))
        summary["models"][family] = {"layers": model.config.num_hidden_layers, "cases": entries}

    saes = [("sae_jumprelu", "jumprelu", 96, 0, "qwen2", "blocks.0.hook_resid_post", (1, "resid_pre", 2), True, 11),
            ("sae_topk", "topk", 80, 5, "qwen2", "blocks.1.hook_resid_pre", (1, "resid_pre", 2), True, 23),
            ("sae_standard", "standard", 80, 0, "gemma2", "blocks.1.hook_resid_mid", (1, "resid_mid", 3), False, 37)]
    for name, arch, d_sae, k, family, hook, (layer, point, M), new_layout, seed in saes:
        acts = [kept[(family, layer, point, M, i)][0] for i in range(len(PROMPT_LENS))]
        grads = [kept[(family, layer, point, M, i)][1] for i in range(len(PROMPT_LENS))]
        cfg, tensors, ref = make_sae(name, arch, acts[0].shape[1], d_sae, k, seed, acts, grads, new_layout, hook)
        folder = args.out / name
        folder.mkdir(exist_ok=True)
        (folder / "cfg.json").write_text(json.dumps(cfg, indent=2) + "\n")
        save_file(tensors, str(folder / "sae_weights.safetensors"))
        summary["saes"][name] = {"model": family, "hook": hook, "metric_layer": M, "architecture": arch, "top": TOP, **ref}
    (args.out / "fixture.json").write_text(json.dumps(summary, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
