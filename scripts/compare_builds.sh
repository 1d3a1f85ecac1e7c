#!/usr/bin/env bash
# Speed of two builds of steer on this machine, in one run: a git ref (default: origin of this branch,
# `main`) against the working tree. Both binaries run the same commands, alternating, REPEAT times each;
# the script prints the median of every figure and the ratio new/old.
#
#   scripts/compare_builds.sh [REF] [--repeat N] [--threads N] [--model DIR] [--old-bin PATH] [--new-bin PATH]
#
# --old-bin / --new-bin use binaries already built (say which builds they are when you quote the figures).
#
# Figures: `steer bench` (prefill 16 × 64, decode batch 1 and 16, 128 new tokens; one run per round
# on both sides) and one 512-token prompt's prefill on a random Qwen2-0.5B-shaped model
# (scripts/make_bench_model.py; made once in /tmp/steer-bench-qwen2-0.5b when --model is not given),
# and the selection stage of `steer demo` (timings.json) on the bundled demo model.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=main; repeat=3; threads=2; model=""; old=""; new=""
while [ $# -gt 0 ]; do
    case "$1" in
        --repeat) repeat="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --model) model="$2"; shift 2 ;;
        --old-bin) old="$2"; shift 2 ;;
        --new-bin) new="$2"; shift 2 ;;
        -*) echo "unknown option $1" >&2; exit 64 ;;
        *) ref="$1"; shift ;;
    esac
done
bash scripts/setup.sh
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
if [ -z "$old" ]; then
    echo "building $ref (old)…" >&2
    git worktree add -q --detach "$work/old" "$ref"
    (cd "$work/old" && swift build -c release --product steer >/dev/null)
    old="$work/old/.build/release/steer"
fi
if [ -z "$new" ]; then
    echo "building the working tree (new)…" >&2
    swift build -c release --product steer >/dev/null
    new=".build/release/steer"
fi
if [ -z "$model" ]; then
    model=/tmp/steer-bench-qwen2-0.5b
    [ -f "$model/config.json" ] || scripts/py.sh scripts/make_bench_model.py "$model" --dtype bf16 >&2
fi

# run NAME BINARY ARGS… : one measurement, numeric figures appended as "name key value" lines. Builds
# whose bench repeats runs itself (--repeat) run once per round, like older ones.
run() {
    local name="$1" bin="$2"; shift 2
    local json="$work/$name.json" once=()
    "$bin" bench --help 2>&1 | grep -q -- --repeat && once=(--repeat 1)
    "$bin" "$@" "${once[@]}" --json "$json" >/dev/null 2>&1
    python3 -c 'import json,sys; [print(sys.argv[2], k, v) for k, v in json.load(open(sys.argv[1])).items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)]' "$json" "$name"
}
demo() {
    local name="$1" bin="$2"
    rm -rf "$work/demo-$name"
    "$bin" demo --out "$work/demo-$name" --threads "$threads" >/dev/null 2>&1
    python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); [print(sys.argv[2], "demo_"+k+"_s", v) for k, v in t.items()]' \
        "$work/demo-$name/run/timings.json" "$name"
}
for i in $(seq "$repeat"); do
    echo "round $i of $repeat…" >&2
    for side in old new; do
        bin="$old"; [ "$side" = new ] && bin="$new"
        run "$side" "$bin" bench "$model" --threads "$threads" --prompts 16 --prompt-tokens 64
        run "$side" "$bin" bench "$model" --threads "$threads" --prompts 1 --prompt-tokens 512 --decode-batches 1 --new-tokens 2 \
            | grep ' prefill_tokens_per_s ' | sed 's/prefill_tokens_per_s/prefill_1x512_tokens_per_s/'
        demo "$side" "$bin"
    done
done > "$work/figures.txt"

python3 - "$work/figures.txt" "$ref" <<'EOF'
import sys, statistics, platform
rows = [l.split() for l in open(sys.argv[1])]
figs = {}
for side, key, value in rows:
    figs.setdefault(key, {}).setdefault(side, []).append(float(value))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
load = open("/proc/loadavg").read().split()[0]
print(f"old = {sys.argv[2]}, new = working tree; CPU: {cpu}; medians of {len(figs['prefill_tokens_per_s']['old'])} runs; "
      f"load average {load} at the end")
keys = ["prefill_tokens_per_s", "prefill_1x512_tokens_per_s", "decode_b1_tokens_per_s", "decode_b16_tokens_per_s",
        "decode_b1_gb_per_s", "memory_read_gb_per_s", "sgemm_gflops", "peak_rss_bytes",
        "demo_activations_s", "demo_selection_s", "demo_evaluation_s"]
for k in keys:
    if k not in figs: continue
    if "old" not in figs[k] or "new" not in figs[k]:
        side, xs = next(iter(figs[k].items()))
        print(f"{k:30s} {side} only: {statistics.median(xs):10.3f} [{min(xs):.3g}–{max(xs):.3g}]")
        continue
    o, n = statistics.median(figs[k]["old"]), statistics.median(figs[k]["new"])
    spread = lambda xs: f"{min(xs):.3g}–{max(xs):.3g}"
    better = "higher is better" if ("per_s" in k or "gflops" in k) else "lower is better"
    print(f"{k:30s} old {o:10.3f} [{spread(figs[k]['old'])}]  new {n:10.3f} [{spread(figs[k]['new'])}]  new/old {n / o:5.2f}  ({better})")
EOF
