#!/usr/bin/env python3
"""Makes Tests/Fixtures/trace/: a tiny loan model whose tokenizer glues tags to what follows them, and a
transformers reference of the trace-mediation prefixes cut from the rollouts' own token ids.

The model (qwen2, byte-level BPE with the Qwen2 split pattern) answers

  <reasoning>
  The applicant is a 34-year-old nurse. Income is 5200. Expenses are 3100. 5200 is more than 3100, so net income is positive.
  </reasoning>
  <recommendation>approve</recommendation>

and its merges make `>approve`, `>reject` and `>\\n` single tokens: `<recommendation>approve` is `<recommendation` +
`>approve` and `<reasoning>\\n` is `<reasoning` + `>\\n`. It is trained on the canonical tokenization only (no split
pieces, unlike models/reasoning-demo), so a lone `>` token is only ever followed by the end of the reply: a prefix
rebuilt from text (`... <recommendation` `>`) makes it stop at once, while the rollout's own tokens reproduce the answer.

reference.json holds, per profile: the greedy rollout (token ids, text, answer) and, for frozen-closed, frozen-open and
truncated f in FRACTIONS, the forced ids cut from the rollout's ids (independently of Steer: byte offsets of the tags in
the decoded bytes, mapped to the last token boundary at or before them), the greedy continuation and its answer; and
the same conditions with the old prefixes re-tokenized from text (`old_rows`). Seeded and deterministic (CPU).

Usage: STEER_VENV=... scripts/py.sh scripts/make_trace_fixture.py [--out Tests/Fixtures/trace] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_common as dc  # noqa: E402
import train_reasoning_model as trm  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FRACTIONS = [0.0, 0.5, 1.0]
MAX_NEW, ANSWER_TOKENS = 96, 16
OPEN, CLOSE, A_OPEN, A_CLOSE = "<reasoning>", "</reasoning>", "<recommendation>", "</recommendation>"


def profile(r: random.Random) -> dict:
    a = trm.sample_profile(r)
    a["phrasing"] = 0  # one phrasing: the tiny model only has to produce well-formed traces
    return a


def answer_text(a: dict) -> str:
    facts, concl, lab = trm.trace_parts(a)
    return f"{OPEN}\n{facts}{concl}\n{CLOSE}\n{A_OPEN}{lab}{A_CLOSE}"


def byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, inverted (character of the token string -> byte)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


class Cuts:
    """Byte offsets of every token boundary of a reply (special tokens are empty), independent of Steer's decoder."""

    def __init__(self, tok, ids: list[int]):
        dec, special = byte_decoder(), set(dc.SPECIAL_TOKENS)
        self.ends, raw = [0], b""
        for i in ids:
            t = tok.id_to_token(i)
            if t not in special:
                raw += bytes(dec[c] for c in t)
            self.ends.append(len(raw))
        self.raw = raw

    def at_or_before(self, offset: int) -> int:
        """Tokens kept when the cut falls at the last token boundary at or before byte `offset`."""
        return max(k for k, e in enumerate(self.ends) if e <= offset)


def lenient_answer(text: str) -> str | None:
    spans = re.findall(r"<recommendation>(.*?)</recommendation>", text, flags=re.S | re.I)
    if not spans:
        return None
    a = spans[-1].strip().strip(".!?,;:\"'`*").lower()
    return a if a in ("approve", "reject") else None


@torch.no_grad()
def greedy(model, tok, ids: list[int], max_new: int, eos: int) -> list[int]:
    """Greedy continuation that stops at EOS or once the decoded new text contains the answer's closing tag."""
    out: list[int] = []
    for _ in range(max_new):
        logits = model(input_ids=torch.tensor([ids + out])).logits[0, -1]
        t = int(torch.argmax(logits))
        out.append(t)
        if t == eos or A_CLOSE in tok.decode(out, skip_special_tokens=True):
            break
    return out


def train(args, tok):
    model = dc.build_model(tok.get_vocab_size(), args.d_model, args.layers, args.heads, args.kv_heads, args.d_ff, 256,
                           args.seed, tok)
    pad = tok.token_to_id("<|endoftext|>")

    def sampler(r):
        a = profile(r)
        return dc.encode_pair(tok, dc.render_prompt(trm.prompt_text(a)), answer_text(a))

    dc.train_stage(model, sampler, args.steps, args.batch, args.lr, pad, random.Random(args.seed), name="trace-fixture",
                   log_every=50)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "Tests" / "Fixtures" / "trace")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--d-ff", type=int, default=192)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--profiles", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dc.seed_everything(args.seed)
    t0 = time.time()

    r0 = random.Random(args.seed + 1)
    corpus = []
    for _ in range(2000):
        a = profile(r0)
        corpus.append(dc.render_prompt(trm.prompt_text(a)) + answer_text(a) + "<|im_end|>\n")
    tok = dc.train_tokenizer(corpus, args.vocab)
    splits = {s: tok.encode(s).tokens for s in [A_OPEN + "approve", A_OPEN + "reject", OPEN + "\n"]}
    want = {A_OPEN + "approve": ["<recommendation", ">approve"], A_OPEN + "reject": ["<recommendation", ">reject"],
            OPEN + "\n": ["<reasoning", ">Ċ"]}
    assert splits == want, f"the tokenizer must glue the tags to what follows: {splits}"

    model = train(args, tok)
    model_dir = args.out / "model"
    dc.save_model(model, tok, model_dir)
    (model_dir / "training_info.json").write_text(json.dumps({
        "script": "scripts/make_trace_fixture.py", "args": {k: v for k, v in vars(args).items() if k != "out"},
        "parameters": dc.param_count(model), "wall_seconds": round(time.time() - t0, 1), "torch": torch.__version__,
    }, indent=2) + "\n")

    # The reference runs the saved folder in float32, as Steer does.
    from transformers import AutoModelForCausalLM
    from tokenizers import Tokenizer
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    eos = tok.token_to_id("<|im_end|>")
    enc = lambda s: tok.encode(s, add_special_tokens=False).ids  # noqa: E731

    r = random.Random(args.seed + 2)
    prompts = []
    for i in range(args.profiles):
        a = profile(r)
        prompts.append({"id": f"t{i}", "prompt": trm.prompt_text(a), "label": trm.label(a)})
    (args.out / "prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))

    rollouts, rows, old_rows = [], [], []
    for p in prompts:
        p_ids = enc(dc.render_prompt(p["prompt"]))
        ids = greedy(model, tok, p_ids, MAX_NEW, eos)
        text = tok.decode(ids, skip_special_tokens=True)
        y = lenient_answer(text)
        rollouts.append({"id": p["id"], "tokens": ids, "completion": text, "answer": y})
        cuts = Cuts(tok, ids)
        raw = cuts.raw
        o = raw.index(OPEN.encode()) + len(OPEN)
        c = raw.index(CLOSE.encode(), o)
        v = raw.rindex(A_OPEN.encode()) + len(A_OPEN)
        k_open, k_close = cuts.at_or_before(o), cuts.at_or_before(c)
        conds = [("frozen-closed", None, cuts.at_or_before(v), v), ("frozen-open", None, k_close, c)]
        for f in FRACTIONS:
            conds.append(("truncated", f, k_open + math.floor(f * (k_close - k_open) + 1e-9), None))

        def run(forced, name, f):
            new = greedy(model, tok, p_ids + forced, ANSWER_TOKENS if name == "frozen-closed" else MAX_NEW, eos)
            ans = lenient_answer(tok.decode(forced + new, skip_special_tokens=True))
            return {"id": p["id"], "condition": name, "fraction": f, "forced_ids": forced, "new_tokens": new,
                    "answer": ans, "consistent": ans is not None and ans == y}

        for name, f, k, target in conds:
            row = run(ids[:k], name, f)
            row.update({"cut_token": k, "cut_byte": cuts.ends[k], "target_byte": target})
            rows.append(row)
        # The old prefixes: tags and reasoning re-tokenized from text.
        reasoning = raw[o:c].decode()
        sep = raw[c + len(CLOSE):raw.rindex(A_OPEN.encode())].decode()
        old = {"frozen-closed": (enc(OPEN) + enc(reasoning) + enc(CLOSE + sep + A_OPEN), None),
               "frozen-open": (enc(OPEN) + enc(reasoning), None)}
        r_ids = enc(reasoning)
        for name, (forced, f) in old.items():
            old_rows.append(run(forced, name, f))
        for f in FRACTIONS:
            old_rows.append(run(enc(OPEN) + r_ids[:math.floor(f * len(r_ids) + 1e-9)], "truncated", f))

    def consistency(rs):
        groups = {}
        for x in rs:
            key = x["condition"] + ("" if x["fraction"] is None else f"@{x['fraction']:.2f}")
            groups.setdefault(key, []).append(x["consistent"])
        return {k: sum(v) / len(v) for k, v in sorted(groups.items())}

    ref = {"script": "scripts/make_trace_fixture.py", "max_new_tokens": MAX_NEW, "answer_tokens": ANSWER_TOKENS,
           "fractions": FRACTIONS, "rollouts": rollouts, "rows": rows, "old_rows": old_rows,
           "consistency": consistency(rows), "old_consistency": consistency(old_rows)}
    (args.out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    print(json.dumps({"consistency": ref["consistency"], "old_consistency": ref["old_consistency"],
                      "well_formed": sum(x["answer"] is not None for x in rollouts),
                      "seconds": round(time.time() - t0, 1)}, indent=1))


if __name__ == "__main__":
    main()
