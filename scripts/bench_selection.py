#!/usr/bin/env python3
"""Selection-stage wall time: Steer vs the Python reference (transformers hooks), same model, prompts and
refusal tokens, in one invocation, with the speed-up and the largest score difference.

Usage:
  scripts/py.sh scripts/bench_selection.py                       # the pipeline fixture (Tests/Fixtures/pipeline)
  scripts/py.sh scripts/bench_selection.py --demo                # models/refusal-demo, data/prompts, 128 train / 32 val
  scripts/py.sh scripts/bench_selection.py MODEL_DIR PROMPT_DIR [--n-train N] [--n-val N]
      [--refusal-tokens 43,478] [--threads 2] [--repeat 1]

PROMPT_DIR must hold harmful_train.json, harmful_val.json, harmless_train.json, harmless_val.json (JSON lists of
strings); --n-train / --n-val keep the first N of each (SPEC defaults: 128 / 32). Refusal tokens default to the ones
Steer derives from the tokenizer (read from its selection.json). Validation filtering is off in both, and the
reference's self-check is skipped, so both compute exactly: means at the EOI positions, then bypass / induce / KL for
every (position, layer). With --repeat N each side runs N times and the fastest time of each stage counts.
Needs a release build: swift build -c release.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS = ["harmful_train", "harmful_val", "harmless_train", "harmless_val"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=str(ROOT / "Tests/Fixtures/pipeline/model"))
    ap.add_argument("prompts", nargs="?", default=str(ROOT / "Tests/Fixtures/pipeline/prompts"))
    ap.add_argument("--demo", action="store_true", help="models/refusal-demo with data/prompts, 128 train / 32 val")
    ap.add_argument("--n-train", type=int)
    ap.add_argument("--n-val", type=int)
    ap.add_argument("--refusal-tokens")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    if args.demo:
        args.model, args.prompts = str(ROOT / "models/refusal-demo"), str(ROOT / "data/prompts")
        args.n_train, args.n_val = args.n_train or 128, args.n_val or 32
    steer = ROOT / ".build/release/steer"
    if not steer.exists():
        sys.exit("build first: swift build -c release")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for k in SETS:
            data = json.load(open(Path(args.prompts) / f"{k}.json"))
            n = args.n_train if k.endswith("train") else args.n_val
            files[k] = f"{tmp}/{k}.json"
            json.dump(data[:n] if n else data, open(files[k], "w"))
        counts = {k: len(json.load(open(f))) for k, f in files.items()}

        def run_steer(i, tokens):
            cmd = [str(steer), "refusal", args.model,
                   "--harmful-train", files["harmful_train"], "--harmful-val", files["harmful_val"],
                   "--harmless-train", files["harmless_train"], "--harmless-val", files["harmless_val"],
                   "--no-filter-val", "--no-eval", "--threads", str(args.threads), "--out", f"{tmp}/steer{i}"]
            if tokens:
                cmd += ["--refusal-tokens", tokens]
            subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            return (json.load(open(f"{tmp}/steer{i}/timings.json")), json.load(open(f"{tmp}/steer{i}/selection.json")))

        def run_reference(i, tokens):
            out = subprocess.run(
                [sys.executable, str(ROOT / "scripts/refusal_reference.py"), args.model,
                 "--harmful-train", files["harmful_train"], "--harmless-train", files["harmless_train"],
                 "--harmful-val", files["harmful_val"], "--harmless-val", files["harmless_val"],
                 "--refusal-tokens", tokens, "--no-self-check", "--out", f"{tmp}/ref{i}"],
                check=True, capture_output=True, text=True, env=env)
            t = json.loads([l for l in out.stdout.splitlines() if l.startswith("{")][-1])
            return ({"activations": t["activations_s"], "selection": t["selection_s"]},
                    json.load(open(f"{tmp}/ref{i}/scores.json")))

        steer_runs, ref_runs = [], []
        tokens = args.refusal_tokens
        for i in range(args.repeat):
            steer_runs.append(run_steer(i, tokens))
            tokens = tokens or ",".join(map(str, steer_runs[0][1]["refusal_tokens"]))
            ref_runs.append(run_reference(i, tokens))

    best = lambda runs, k: min(r[0][k] for r in runs)  # noqa: E731
    sel, ref = steer_runs[0][1], ref_runs[0][1]
    worst = 0.0
    ours = {(c["position"], c["layer"]): c for c in sel["candidates"]}
    for c in ref["candidates"]:
        o = ours[(c["position"], c["layer"])]
        for k in ("bypass", "induce", "kl"):
            if c[k] is not None and o[k] is not None:
                worst = max(worst, abs(c[k] - o[k]))
    pick = lambda s: None if s["selected"] is None else [s["selected"]["position"], s["selected"]["layer"]]  # noqa: E731
    print(f"model {args.model}  prompts {counts}  refusal tokens {tokens}  threads {args.threads}  repeat {args.repeat}")
    print(f"{'stage':<12} {'steer s':>9} {'python s':>9} {'speed-up':>9}")
    for k in ("activations", "selection"):
        s, r = best(steer_runs, k), best(ref_runs, k)
        print(f"{k:<12} {s:9.3f} {r:9.3f} {r / s:8.1f}x")
    print(f"candidates {len(ref['candidates'])}, selected steer {pick(sel)} python {pick(ref)}, "
          f"largest score difference {worst:.2e}")
    print(json.dumps({"steer": [r[0] for r in steer_runs], "reference": [r[0] for r in ref_runs],
                      "selection_speedup": best(ref_runs, "selection") / best(steer_runs, "selection"),
                      "max_score_diff": worst, "same_selection": pick(sel) == pick(ref)}))


if __name__ == "__main__":
    main()
