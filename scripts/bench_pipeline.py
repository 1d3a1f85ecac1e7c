#!/usr/bin/env python3
"""Wall time of the whole `steer refusal` (SPEC §3: activations, selection, evaluation) at the paper's sizes on a
random model of a real shape, with the default settings, stage by stage.

Usage:
  scripts/py.sh scripts/bench_pipeline.py --shape qwen-1.8b [--threads 2] [--weights f32|bf16] [--seed 0]
      [--n-train 128] [--n-val 32] [--n-test 100] [-- extra steer refusal options]

The model (scripts/make_bench_model.py, written once to /tmp/steer-bench-SHAPE) gets the demo model's tokenizer and
chat template; the prompts are data/prompts/*_pool.json shuffled with --seed and cut into 128 train / 32 val / 100
test per class (the paper's sizes), as in scripts/bench_selection.py. Validation filtering is off (a random model
refuses nothing, so filtering would leave random subsets), so selection scores all 32 + 32 validation prompts.
A random model has no refusal direction either: under the paper's induce and KL thresholds every candidate is
removed and the run stops before its evaluation. The script therefore passes --min-induce -1e9 --max-kl 1e9
(the same computation; only which candidate is chosen differs); --paper-filters keeps the defaults.
Progress lines are printed with the seconds since the start; at the end: the stage timings Steer wrote
(timings.json), the total wall time including hashing and loading, the CPU and the load average.
Needs a release build: swift build -c release --product steer.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_selection import ROOT, bench_model, write_sets  # noqa: E402
from machine_info import cpu_model as cpu_name  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=["qwen2-0.5b", "qwen-1.8b"], default="qwen-1.8b")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-train", type=int, default=128)
    ap.add_argument("--n-val", type=int, default=32)
    ap.add_argument("--n-test", type=int, default=100)
    ap.add_argument("--keep", help="run folder to keep (default: a temporary one); an existing one resumes")
    ap.add_argument("--paper-filters", action="store_true", help="keep the default induce / KL thresholds")
    ap.add_argument("extra", nargs="*", help="more steer refusal options (after --)")
    args = ap.parse_args()
    steer = ROOT / ".build/release/steer"
    if not steer.exists():
        sys.exit("build first: swift build -c release --product steer")
    model = bench_model(args.shape)
    args.prompts = None
    with tempfile.TemporaryDirectory() as tmp:
        files = write_sets(args, tmp)
        run = args.keep or f"{tmp}/run"
        cmd = [str(steer), "refusal", str(model), "--no-filter-val", "--threads", str(args.threads),
               "--weights", args.weights, "--out", run] + args.extra
        if not args.paper_filters:
            cmd += ["--min-induce", "-1e9", "--max-kl", "1e9"]
        for k, f in files.items():
            cmd += [f"--{k.replace('_', '-')}", f]
        load0 = os.getloadavg()[0]
        t0 = time.time()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in iter(proc.stdout.readline, ""):  # line by line as they come (a for loop reads ahead)
            print(f"{time.time() - t0:8.1f}s  {line.rstrip()}", flush=True)
        if proc.wait() != 0:
            sys.exit(f"steer refusal failed ({proc.returncode})")
        wall = time.time() - t0
        timings = json.load(open(f"{run}/timings.json"))
        selection = json.load(open(f"{run}/selection.json"))
    scored = sum(1 for c in selection["candidates"] if c["bypass"] is not None or c["induce"] is not None)
    print(f"\nmodel {model} ({args.shape}, {args.weights})  prompts per class: {args.n_train} train / {args.n_val} val / "
          f"{args.n_test} test  threads {args.threads}")
    print(f"CPU {cpu_name()}, {os.cpu_count()} logical CPUs; load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    for k in ("activations", "selection", "evaluation"):
        if k in timings:
            print(f"  {k:<12} {timings[k]:8.1f} s")
    print(f"  {'other':<12} {wall - sum(timings.values()):8.1f} s  (hashing, loading, tokenizing, direction, report)")
    print(f"  {'total':<12} {wall:8.1f} s  = {wall / 60:.1f} min; {scored} of {len(selection['candidates'])} candidates scored")
    print(json.dumps({"shape": args.shape, "weights": args.weights, "wall_s": wall, "timings": timings, "scored": scored,
                      "candidates": len(selection["candidates"]), "cpu": cpu_name(), "threads": args.threads}))


if __name__ == "__main__":
    main()
