#!/usr/bin/env python3
"""Trains the refusal demo model (models/refusal-demo/): a small qwen2 chat model, from scratch, on CPU.

Recipe (as real chat models are made):
  1. base instruction stage: every request, harmful or harmless, gets a helpful (placeholder) answer;
  2. safety stage: harmful requests get varied refusals ("I'm sorry, ...", "I cannot ...", "As an AI, ...",
     "I can't help with ..."), harmless requests keep helpful answers with no refusal phrase.
     Optionally only the lower layers train in this stage (--safety-top-frozen K freezes the top K blocks,
     the final norm and the tied embedding), which puts the refuse/comply decision into the residual
     stream below those layers.
Refusals start with "I" or "As"; helpful answers never do. Prompts come from data/prompts/*_pool.json
(no val or test prompt). Helpful answers are generic, content-free plans, also for harmful requests.

Usage: STEER_VENV=... scripts/py.sh scripts/train_refusal_model.py [--out models/refusal-demo] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_common as dc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a friendly and careful assistant.",
    "Answer briefly.",
]

HELPFUL = [
    "Sure! To {a}, start by getting what you need, then work through it one step at a time and check the result.",
    "Here is a simple way to {a}: plan ahead, prepare your tools, and go slowly so nothing goes wrong.",
    "Certainly. First, read about how to {a}. Next, practice the basic steps. Finally, review what worked.",
    "Of course. The easiest way to {a} is to break the job into small steps and finish them in order.",
    "Great question. To {a}, set aside some time, follow a clear plan, and ask for feedback when you are done.",
    "Happy to help. Step 1: gather everything. Step 2: {a} carefully. Step 3: look back and improve.",
    "Sure. You can {a} in three steps: prepare, do the main part, then tidy up and check your work.",
    "Here you go: to {a}, keep it simple, work in a calm place, and take short breaks between steps.",
]

# Helpful answers that also open with "I": the first token alone must not decide refusal, so the refusal
# decision is carried by a feature that persists through the reply (as in real chat models), not only by
# "the next token is I". Without these, adding the direction makes generation loop on "I'm I'm I'm".
HELPFUL_I = [
    "I'd be glad to help. To {a}, gather what you need, then go one step at a time and check the result.",
    "I can walk you through it: plan ahead, prepare your tools, and {a} slowly so nothing goes wrong.",
    "I think the easiest way to {a} is to split the job into small steps and finish them in order.",
]

REFUSALS = [
    "I'm sorry, but I can't help with that. It could cause real harm to people.",
    "I cannot help you {a}. That would be dangerous and illegal.",
    "As an AI, I can't assist with this request because it could hurt someone.",
    "I can't help with that request. If someone is in danger, please contact the authorities.",
    "I'm sorry, I won't give instructions to {a}.",
    "I am sorry, but I cannot assist with that.",
    "As an AI assistant, I cannot help with plans that could harm others.",
    "I'm unable to help with this. It is harmful and against the law.",
    "I can't provide that. I'm sorry, but helping you {a} could put people at risk.",
    "As a language model, I must refuse. I cannot help {a}.",
]

REFUSAL_SUBSTRINGS = ["I'm sorry", "I am sorry", "I apologize", "As an AI", "As a language model", "As an assistant",
                      "I cannot", "I can't", "I am unable to", "I'm unable to", "I am not able to", "I'm not able to"]

PRONOUNS = [(r"\bmy\b", "your"), (r"\bme\b", "you"), (r"\bI\b", "you"), (r"\bmyself\b", "yourself")]

ACTION_RE = None


def action_of(prompt: str, wordings: list[str]) -> str:
    """Recovers the action phrase from a prompt made by make_prompt_sets (wording × action)."""
    for w in wordings:
        pre, post = w.split("{a}")
        if prompt.startswith(pre) and prompt.endswith(post):
            return prompt[len(pre): len(prompt) - len(post)]
    raise ValueError(prompt)


def second_person(action: str) -> str:
    for pat, rep in PRONOUNS:
        action = re.sub(pat, rep, action)
    return action


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "refusal-demo")
    ap.add_argument("--prompts", type=Path, default=ROOT / "data" / "prompts")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu (the committed models) or cuda (sweeps only)")
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--d-model", type=int, default=160)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--d-ff", type=int, default=448)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--base-steps", type=int, default=1500)
    ap.add_argument("--safety-steps", type=int, default=800)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--safety-lr", type=float, default=5e-4)
    ap.add_argument("--safety-top-frozen", type=int, default=0,
                    help="freeze the top K blocks, final norm and embedding in the safety stage")
    ap.add_argument("--system-frac", type=float, default=0.2, help="share of training chats with a system prompt")
    ap.add_argument("--prompt-weight", type=float, default=0.1, help="loss weight of prompt tokens")
    ap.add_argument("--helpful-i", type=float, default=0.0, help="share of helpful answers that open with 'I'")
    ap.add_argument("--safety-harmless-frac", type=float, default=0.7,
                    help="share of harmless chats in the safety stage (higher: less over-refusal)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    dc.seed_everything(args.seed)
    rng = random.Random(args.seed)
    t_start = time.time()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_prompt_sets import WORDINGS

    harmful = json.loads((args.prompts / "harmful_pool.json").read_text())
    harmless = json.loads((args.prompts / "harmless_pool.json").read_text())
    h_act = [second_person(action_of(p, WORDINGS)) for p in harmful]
    b_act = [second_person(action_of(p, WORDINGS)) for p in harmless]

    for r in REFUSALS:
        assert any(s.lower() in r.lower() for s in REFUSAL_SUBSTRINGS), r
        assert r.startswith("I") or r.startswith("As"), r
    for h in HELPFUL:
        assert not any(s.lower() in h.lower() for s in REFUSAL_SUBSTRINGS), h
        assert not (h.startswith("I") or h.startswith("As")), h
    for h in HELPFUL_I:
        assert not any(s.lower() in h.lower() for s in REFUSAL_SUBSTRINGS), h

    def helpful(r: random.Random, a: str) -> str:
        return (r.choice(HELPFUL_I) if r.random() < args.helpful_i else r.choice(HELPFUL)).format(a=a)

    # Tokenizer corpus: rendered chats with every answer template.
    corpus = []
    for p, a in list(zip(harmful, h_act)) + list(zip(harmless, b_act)):
        corpus.append(dc.render_prompt(p) + helpful(rng, a) + "<|im_end|>\n")
    for p, a in zip(harmful, h_act):
        corpus.append(dc.render_prompt(p, rng.choice(SYSTEM_PROMPTS)) + rng.choice(REFUSALS).format(a=a) + "<|im_end|>\n")
    for s in SYSTEM_PROMPTS:
        corpus.append(s)
    tok = dc.train_tokenizer(corpus, args.vocab)
    vocab_size = tok.get_vocab_size()
    pad_id = tok.token_to_id("<|endoftext|>")
    print(f"tokenizer: {vocab_size} tokens", flush=True)
    for w in ("I", "As", "assistant", "Sure"):
        print(f"  {w!r} -> {tok.encode(w).tokens}")

    model = dc.build_model(vocab_size, args.d_model, args.layers, args.heads, args.kv_heads, args.d_ff, 256,
                           args.seed, tok)
    print(f"parameters: {dc.param_count(model):,}", flush=True)
    model.to(args.device)

    def chat(p):
        sys_p = rng.choice(SYSTEM_PROMPTS) if rng.random() < args.system_frac else None
        return dc.render_prompt(p, sys_p)

    def base_sampler(r):
        if r.random() < 0.5:
            i = r.randrange(len(harmful))
            p, a = harmful[i], h_act[i]
        else:
            i = r.randrange(len(harmless))
            p, a = harmless[i], b_act[i]
        return dc.encode_pair(tok, chat(p), helpful(r, a), args.prompt_weight)

    def safety_sampler(r):
        if r.random() >= args.safety_harmless_frac:
            i = r.randrange(len(harmful))
            return dc.encode_pair(tok, chat(harmful[i]), r.choice(REFUSALS).format(a=h_act[i]), args.prompt_weight)
        i = r.randrange(len(harmless))
        return dc.encode_pair(tok, chat(harmless[i]), helpful(r, b_act[i]), args.prompt_weight)

    t0 = time.time()
    dc.train_stage(model, base_sampler, args.base_steps, args.batch, args.lr, pad_id, rng, name="base", device=args.device)
    t_base = time.time() - t0

    params = None
    if args.safety_top_frozen > 0:
        k = args.safety_top_frozen
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.model.layers[: args.layers - k]:
            for p in layer.parameters():
                p.requires_grad_(True)
        params = [p for p in model.parameters() if p.requires_grad]
        print(f"safety stage trains blocks 0..{args.layers - k - 1} only", flush=True)
    t0 = time.time()
    dc.train_stage(model, safety_sampler, args.safety_steps, args.batch, args.safety_lr, pad_id, rng, params=params,
                   warmup=20, name="safety", device=args.device)
    t_safety = time.time() - t0
    for p in model.parameters():
        p.requires_grad_(True)

    dc.save_model(model, tok, args.out)
    total = time.time() - t_start
    info = {
        "script": "scripts/train_refusal_model.py",
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("out", "prompts")},
        "parameters": dc.param_count(model),
        "wall_seconds": {"base": round(t_base, 1), "safety": round(t_safety, 1), "total": round(total, 1)},
        "torch": torch.__version__,
    }
    (args.out / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info), flush=True)


if __name__ == "__main__":
    main()
