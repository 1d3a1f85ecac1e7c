#!/usr/bin/env python3
"""Selection-stage wall time: Steer vs the Python reference (transformers hooks), same model, prompts and
refusal tokens, in one invocation, with the speed-up and the largest score difference.

Usage:
  scripts/py.sh scripts/bench_selection.py                       # the pipeline fixture (Tests/Fixtures/pipeline)
  scripts/py.sh scripts/bench_selection.py --demo                # models/refusal-demo, data/prompts, 128 train / 32 val
  scripts/py.sh scripts/bench_selection.py MODEL_DIR PROMPT_DIR [--n-train N] [--n-val N]
      [--refusal-tokens 43,478] [--threads 2] [--repeat 1]
  scripts/py.sh scripts/bench_selection.py --shape qwen2-0.5b|qwen-1.8b [--eval] [--ref-candidates K]
      [--weights f32|bf16]                                    # the paper's sizes on a random model

--shape: a random model of that shape (scripts/make_bench_model.py, written once to /tmp/steer-bench-SHAPE, with
the demo model's tokenizer and chat template: its 1,024-token vocabulary cuts prompts into more tokens than Qwen's
would), prompts from data/prompts/*_pool.json shuffled with --seed and cut into 128 train / 32 val / 100 test per
class (the paper's sizes). --eval lets Steer also run its evaluation (greedy completions of the test prompts with
and without the direction; the reference has no such stage). --ref-candidates K scores only K candidates, evenly
spread over the grid, in the reference: its selection time is then extrapolated as baseline passes + K-candidate
mean x all candidates, and marked so.

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
import random
import shutil
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
    ap.add_argument("--shape", choices=["qwen2-0.5b", "qwen-1.8b"], help="random model of the paper's sizes")
    ap.add_argument("--n-test", type=int, default=100, help="test prompts per class (for --eval)")
    ap.add_argument("--seed", type=int, default=0, help="shuffle seed of the pools with --shape")
    ap.add_argument("--eval", action="store_true", help="Steer also runs its evaluation stage")
    ap.add_argument("--ref-candidates", type=int, help="the reference scores only this many candidates (extrapolated)")
    ap.add_argument("--weights", choices=["f32", "bf16"], default="f32", help="Steer's weight storage")
    args = ap.parse_args()
    if args.demo:
        args.model, args.prompts = str(ROOT / "models/refusal-demo"), str(ROOT / "data/prompts")
        args.n_train, args.n_val = args.n_train or 128, args.n_val or 32
    if args.shape:
        args.model, args.prompts = str(bench_model(args.shape)), None
        args.n_train, args.n_val = args.n_train or 128, args.n_val or 32
    elif args.eval and not (Path(args.prompts) / "harmful_test.json").exists():
        sys.exit(f"--eval needs harmful_test.json and harmless_test.json in {args.prompts}")
    steer = ROOT / ".build/release/steer"
    if not steer.exists():
        sys.exit("build first: swift build -c release")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        files = write_sets(args, tmp)
        counts = {k: len(json.load(open(f))) for k, f in files.items()}

        def run_steer(i, tokens):
            cmd = [str(steer), "refusal", args.model,
                   "--harmful-train", files["harmful_train"], "--harmful-val", files["harmful_val"],
                   "--harmless-train", files["harmless_train"], "--harmless-val", files["harmless_val"],
                   # --score-all-layers: the reference scores every candidate, so Steer does too.
                   "--no-filter-val", "--score-all-layers", "--threads", str(args.threads), "--weights", args.weights,
                   "--out", f"{tmp}/steer{i}"]
            cmd += ["--harmful-test", files["harmful_test"], "--harmless-test", files["harmless_test"]] \
                if args.eval else ["--no-eval"]
            if tokens:
                cmd += ["--refusal-tokens", tokens]
            subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            return (json.load(open(f"{tmp}/steer{i}/timings.json")), json.load(open(f"{tmp}/steer{i}/selection.json")))

        def run_reference(i, tokens):
            out = subprocess.run(
                [sys.executable, str(ROOT / "scripts/refusal_reference.py"), args.model,
                 "--harmful-train", files["harmful_train"], "--harmless-train", files["harmless_train"],
                 "--harmful-val", files["harmful_val"], "--harmless-val", files["harmless_val"],
                 "--refusal-tokens", tokens, "--no-self-check", "--out", f"{tmp}/ref{i}"]
                + (["--candidates", str(args.ref_candidates)] if args.ref_candidates else []),
                check=True, capture_output=True, text=True, env=env)
            t = json.loads([l for l in out.stdout.splitlines() if l.startswith("{")][-1])
            selection = t["selection_s"]
            if t["n_candidates"] < t["n_grid"]:  # a subset: baseline passes + the mean candidate x all of them
                selection = t["baseline_s"] + t["per_candidate_s"] * t["n_grid"]
            return ({"activations": t["activations_s"], "selection": selection, "scored": t["n_candidates"],
                     "per_candidate": t["per_candidate_s"]}, json.load(open(f"{tmp}/ref{i}/scores.json")))

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
    partial = ref_runs[0][0]["scored"] < len(sel["candidates"])
    print(f"model {args.model}  prompts {counts}  refusal tokens {tokens}  threads {args.threads}  repeat {args.repeat}"
          f"  weights {args.weights}  load average {os.getloadavg()[0]:.1f}")
    print(f"{'stage':<12} {'steer s':>9} {'python s':>9} {'speed-up':>9}")
    for k in ("activations", "selection"):
        s, r = best(steer_runs, k), best(ref_runs, k)
        note = f"  (python: {ref_runs[0][0]['scored']} of {len(sel['candidates'])} candidates scored, " \
               f"{best(ref_runs, 'per_candidate'):.2f} s each, extrapolated)" if k == "selection" and partial else ""
        print(f"{k:<12} {s:9.3f} {r:9.3f} {r / s:8.1f}x{note}")
    if "evaluation" in steer_runs[0][0]:
        print(f"{'evaluation':<12} {best(steer_runs, 'evaluation'):9.3f} {'-':>9}  (Steer only: "
              f"{counts['harmful_test']} + {counts['harmless_test']} test prompts, greedy completions)")
    print(f"candidates {len(sel['candidates'])}, selected steer {pick(sel)} python {pick(ref)}"
          f"{' (python: of its subset)' if partial else ''}, largest score difference {worst:.2e}")
    print(json.dumps({"steer": [r[0] for r in steer_runs], "reference": [r[0] for r in ref_runs],
                      "selection_speedup": best(ref_runs, "selection") / best(steer_runs, "selection"),
                      "max_score_diff": worst, "same_selection": pick(sel) == pick(ref), "partial_reference": partial}))


def bench_model(shape: str) -> Path:
    """The random model of `shape` with the demo tokenizer, written once to /tmp/steer-bench-SHAPE."""
    out = Path(f"/tmp/steer-bench-{shape}")
    if not (out / "model.safetensors").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts/make_bench_model.py"), str(out), "--shape", shape],
                       check=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(ROOT / "models/refusal-demo" / f, out / f)
    return out


def write_sets(args, tmp: str) -> dict:
    """The prompt files both sides read: the first N of each PROMPT_DIR set, or (--shape) shuffled pool cuts."""
    files = {}
    if args.prompts is None:
        cuts = {"train": (0, args.n_train), "val": (args.n_train, args.n_train + args.n_val),
                "test": (args.n_train + args.n_val, args.n_train + args.n_val + args.n_test)}
        for cls in ("harmful", "harmless"):
            pool = json.load(open(ROOT / f"data/prompts/{cls}_pool.json"))
            random.Random(args.seed).shuffle(pool)
            for part, (a, b) in cuts.items():
                files[f"{cls}_{part}"] = f"{tmp}/{cls}_{part}.json"
                json.dump(pool[a:b], open(files[f"{cls}_{part}"], "w"))
        return files
    for k in SETS + ["harmful_test", "harmless_test"]:
        if not (Path(args.prompts) / f"{k}.json").exists():
            continue
        data = json.load(open(Path(args.prompts) / f"{k}.json"))
        n = args.n_train if k.endswith("train") else args.n_val if k.endswith("val") else args.n_test
        files[k] = f"{tmp}/{k}.json"
        json.dump(data[:n] if n else data, open(files[k], "w"))
    return files


if __name__ == "__main__":
    main()
