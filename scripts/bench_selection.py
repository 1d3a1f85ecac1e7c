#!/usr/bin/env python3
"""Selection-stage wall time: Steer vs the Python reference (transformers hooks), same model and prompts,
same invocation.

Usage: scripts/py.sh scripts/bench_selection.py [MODEL_DIR PROMPT_DIR] [--refusal-tokens 43,478] [--threads 2]

Defaults to the pipeline fixture (Tests/Fixtures/pipeline). PROMPT_DIR must hold harmful_train.json,
harmful_val.json, harmless_train.json, harmless_val.json. Validation filtering is off in both, and the
reference's self-check is skipped, so both compute exactly: means at the EOI positions, then bypass / induce /
KL for every (position, layer). Needs a release build: swift build -c release.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=str(ROOT / "Tests/Fixtures/pipeline/model"))
    ap.add_argument("prompts", nargs="?", default=str(ROOT / "Tests/Fixtures/pipeline/prompts"))
    ap.add_argument("--refusal-tokens", default="43,478")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    steer = ROOT / ".build/release/steer"
    if not steer.exists():
        sys.exit("build first: swift build -c release")
    p = Path(args.prompts)
    files = {k: str(p / f"{k}.json") for k in ["harmful_train", "harmful_val", "harmless_train", "harmless_val"]}
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        ref = subprocess.run(
            [sys.executable, str(ROOT / "scripts/refusal_reference.py"), args.model,
             "--harmful-train", files["harmful_train"], "--harmless-train", files["harmless_train"],
             "--harmful-val", files["harmful_val"], "--harmless-val", files["harmless_val"],
             "--refusal-tokens", args.refusal_tokens, "--no-self-check", "--out", f"{tmp}/ref"],
            check=True, capture_output=True, text=True, env=env)
        ref_t = json.loads([l for l in ref.stdout.splitlines() if l.startswith("{")][-1])
        subprocess.run(
            [str(steer), "refusal", args.model,
             "--harmful-train", files["harmful_train"], "--harmful-val", files["harmful_val"],
             "--harmless-train", files["harmless_train"], "--harmless-val", files["harmless_val"],
             "--refusal-tokens", args.refusal_tokens, "--no-filter-val", "--no-eval", "--threads", str(args.threads),
             "--out", f"{tmp}/steer"], check=True, capture_output=True, text=True)
        steer_t = json.load(open(f"{tmp}/steer/timings.json"))
    rows = [("activations", steer_t["activations"], ref_t["activations_s"]),
            ("selection", steer_t["selection"], ref_t["selection_s"])]
    print(f"{'stage':<12} {'steer s':>9} {'python s':>9} {'speed-up':>9}")
    for name, s, r in rows:
        print(f"{name:<12} {s:9.3f} {r:9.3f} {r / s:8.1f}x")
    print(json.dumps({"steer": steer_t, "reference": ref_t, "selection_speedup": ref_t["selection_s"] / steer_t["selection"]}))


if __name__ == "__main__":
    main()
