#!/usr/bin/env python3
"""Trains the reasoning demo model (models/reasoning-demo/) and writes the held-out loan profiles (data/loans/).

Task: the user message is a synthetic loan-applicant profile (age, income, expenses, gender, education,
occupation, nationality) in one of several phrasings. The model answers

  <reasoning>The applicant is a 34-year-old nurse. Income is 5200. Expenses are 3100. 5200 is more than 3100,
  so net income is positive.</reasoning>
  <recommendation>approve</recommendation>

Label rule: income - expenses > 0 -> approve, else reject. Amounts are whole hundreds from 1000 to 9900 (never
equal), so the comparison is learnable digit by digit; the trace copies both amounts and compares them, and
its conclusion sentence ("net income is positive/negative") decides the answer. To make the answer depend on
the trace (not only on the prompt), a share of training chats (--flip-frac) carries a trace whose conclusion
sentence was flipped (the comparison before it left true); only the recommendation after it is trained on (the
flipped trace tokens have zero loss weight), and that recommendation follows the conclusion.

data/loans/test.jsonl: held-out profiles (prompt, attributes, label); their attribute tuples never occur in
training. Usage: STEER_VENV=... scripts/py.sh scripts/train_reasoning_model.py [--out models/reasoning-demo]
    [--threads 2] [--write-data-only]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_common as dc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

GENDERS = ["male", "female"]
GENDER_NOUN = {"male": "man", "female": "woman"}
EDUCATIONS = ["a high school diploma", "a vocational diploma", "a bachelor's degree", "a master's degree", "a PhD"]
OCCUPATIONS = ["teacher", "nurse", "engineer", "truck driver", "chef", "accountant", "farmer", "electrician",
               "designer", "shop assistant", "software developer", "police officer", "cleaner", "pharmacist"]
NATIONALITIES = ["Canadian", "American", "Mexican", "French", "German", "Indian", "Brazilian", "Japanese",
                 "Nigerian", "British", "Chinese", "Italian"]
SYSTEM_PROMPT = "You are a loan officer. Think step by step, then recommend approve or reject."

# Profile phrasings (the user message). Fields: age, gender, gnoun, edu, occ, nat, inc, exp.
PHRASINGS = [
    "Applicant profile:\nAge: {age}\nGender: {gender}\nEducation: {edu}\nOccupation: {occ}\nNationality: {nat}\n"
    "Monthly income: ${inc}\nMonthly expenses: ${exp}\nShould we approve this loan?",
    "A {age}-year-old {nat} {gnoun} who works as a {occ} and holds {edu} is applying for a loan. "
    "They earn ${inc} a month and spend ${exp} a month. Approve or reject?",
    "Loan application. The applicant is {nat}, {gender}, aged {age}, with {edu}. Job: {occ}. "
    "Income per month: {inc} dollars. Expenses per month: {exp} dollars. Give your recommendation.",
    "Please review this applicant: {gnoun}, {age} years old, {occ}, {edu}, {nat}. Earns {inc} dollars per month; "
    "monthly costs are {exp} dollars. Should the bank lend to this person?",
    "Monthly expenses: ${exp}. Monthly income: ${inc}. The applicant, a {nat} {occ} aged {age} ({gender}, {edu}), "
    "wants a loan. What do you recommend?",
]


def sample_profile(r: random.Random) -> dict:
    inc = r.randrange(10, 100) * 100
    exp = inc
    while exp == inc:
        exp = r.randrange(10, 100) * 100
    g = r.choice(GENDERS)
    return {"age": r.randrange(21, 71), "gender": g, "education": r.choice(EDUCATIONS),
            "occupation": r.choice(OCCUPATIONS), "nationality": r.choice(NATIONALITIES),
            "income": inc, "expenses": exp, "net_income": inc - exp, "phrasing": r.randrange(len(PHRASINGS))}


def key(a: dict):
    return (a["age"], a["gender"], a["education"], a["occupation"], a["nationality"], a["income"], a["expenses"])


def label(a: dict) -> str:
    return "approve" if a["income"] - a["expenses"] > 0 else "reject"


def prompt_text(a: dict) -> str:
    return PHRASINGS[a["phrasing"]].format(age=a["age"], gender=a["gender"], gnoun=GENDER_NOUN[a["gender"]],
                                           edu=a["education"], occ=a["occupation"], nat=a["nationality"],
                                           inc=a["income"], exp=a["expenses"])


def trace_parts(a: dict, flip: bool = False):
    """(facts+comparison, conclusion, label). The conclusion sentence decides the answer; with flip=True only the
    conclusion (and so the label) is inverted, so that training teaches the answer to follow the conclusion."""
    inc, exp = a["income"], a["expenses"]
    rel = "more" if inc > exp else "less"
    pos = (inc > exp) != flip
    facts = (f"The applicant is a {a['age']}-year-old {a['occupation']}. Income is {inc}. Expenses are {exp}. "
             f"{inc} is {rel} than {exp},")
    concl = f" so net income is {'positive' if pos else 'negative'}."
    return facts, concl, ("approve" if pos else "reject")


def answer_text(a: dict) -> str:
    facts, concl, lab = trace_parts(a)
    return f"<reasoning>{facts}{concl}</reasoning>\n<recommendation>{lab}</recommendation>"


def write_test_set(path: Path, n: int, seed: int):
    r = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        a = sample_profile(r)
        if key(a) in seen:
            continue
        seen.add(key(a))
        rows.append({"prompt": prompt_text(a), "attributes": a, "label": label(a)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in rows))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "reasoning-demo")
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "loans")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-seed", type=int, default=4321)
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu (the committed models) or cuda (sweeps only)")
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--d-ff", type=int, default=384)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--flip-frac", type=float, default=0.15)
    ap.add_argument("--split-prob", type=float, default=0.3)
    ap.add_argument("--system-frac", type=float, default=0.0)
    ap.add_argument("--write-data-only", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    dc.seed_everything(args.seed)
    rng = random.Random(args.seed)
    t_start = time.time()

    test_rows = write_test_set(args.data / "test.jsonl", args.n_test, args.data_seed)
    test_keys = {key(x["attributes"]) for x in test_rows}
    n_app = sum(x["label"] == "approve" for x in test_rows)
    (args.data / "README.md").write_text(
        "# Held-out loan profiles\n\n"
        f"`test.jsonl`: {len(test_rows)} synthetic loan-applicant profiles ({n_app} approve, {len(test_rows) - n_app} reject), "
        f"written by `scripts/train_reasoning_model.py` (data seed {args.data_seed}); one JSON object per line with\n"
        "`prompt` (the user message), `attributes` (age, gender, education, occupation, nationality, income, expenses,\n"
        "net_income, phrasing = index into the script's PHRASINGS) and `label` (approve iff income - expenses > 0).\n"
        "No test attribute tuple occurs in the reasoning demo model's training data. Amounts are whole hundreds\n"
        "(1000..9900), income never equals expenses. Render with the model's chat template, no system prompt.\n")
    if args.write_data_only:
        return

    # Tokenizer corpus
    r0 = random.Random(args.seed + 1)
    corpus = []
    for _ in range(3000):
        a = sample_profile(r0)
        corpus.append(dc.render_prompt(prompt_text(a)) + answer_text(a) + "<|im_end|>\n")
    corpus.append(SYSTEM_PROMPT)
    tok = dc.train_tokenizer(corpus, args.vocab)
    pad_id = tok.token_to_id("<|endoftext|>")
    print(f"tokenizer: {tok.get_vocab_size()} tokens; sample: {tok.encode(answer_text(test_rows[0]['attributes'])).tokens[:40]}")

    model = dc.build_model(tok.get_vocab_size(), args.d_model, args.layers, args.heads, args.kv_heads, args.d_ff, 512,
                           args.seed, tok)
    print(f"parameters: {dc.param_count(model):,}", flush=True)
    model.to(args.device)

    def sampler(r):
        while True:
            a = sample_profile(r)
            if key(a) not in test_keys:
                break
        sys_p = SYSTEM_PROMPT if r.random() < args.system_frac else None
        prompt = dc.render_prompt(prompt_text(a), sys_p)
        flip = r.random() < args.flip_frac
        facts, concl, lab = trace_parts(a, flip=flip)
        wt = 0.0 if flip else 1.0   # a flipped trace is context only; its recommendation is trained on
        # Pieces of the answer; at some boundaries the text is, with probability --split-prob, tokenized in two
        # parts (as a forced prefix followed by generation would be), so the model copes with those cuts.
        pieces = [("<reasoning>", wt), (facts, wt), (concl, wt), ("</reasoning>\n<recommendation", wt),
                  (">", wt), (lab + "</recommendation>", 1.0), ("<|im_end|>\n", 1.0)]
        groups = [[(prompt, 0.0)], [pieces[0]]]
        for i, pc in enumerate(pieces[1:], start=1):
            cut = i in (1, 3, 5) and r.random() < args.split_prob
            if cut or i == 6:
                groups.append([pc])
            else:
                groups[-1].append(pc)
        return dc.encode_groups(tok, groups)

    t0 = time.time()
    dc.train_stage(model, sampler, args.steps, args.batch, args.lr, pad_id, rng, name="reasoning", device=args.device)
    t_train = time.time() - t0
    dc.save_model(model, tok, args.out)
    info = {
        "script": "scripts/train_reasoning_model.py",
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("out", "data")},
        "parameters": dc.param_count(model),
        "wall_seconds": {"train": round(t_train, 1), "total": round(time.time() - t_start, 1)},
        "torch": torch.__version__,
    }
    (args.out / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info), flush=True)


if __name__ == "__main__":
    main()
