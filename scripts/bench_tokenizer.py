#!/usr/bin/env python3
"""Single-threaded encode throughput: Hugging Face `tokenizers` vs `steer tokenize --bench`.

Usage: STEER_VENV=/work/venv scripts/py.sh scripts/bench_tokenizer.py MODEL_OR_TOKENIZER_DIR [--mb 4]

Builds a few MB of deterministic mixed text (English, code, CJK, Cyrillic, emoji, numbers,
whitespace runs), times `Tokenizer.encode` line by line in a plain loop (no `encode_batch`,
RAYON_NUM_THREADS=1), then, if `.build/release/steer` exists, runs
`steer tokenize DIR --file TEXTFILE --bench`, which prints one JSON object
`{"bytes": N, "seconds": S, "tokens": K}`, and prints both figures and their ratio.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

PARAGRAPHS = [
    "The quick brown fox jumps over the lazy dog. It's a dog's life, isn't it? We'll see; they'd know.",
    "In 2024, revenue grew 12.5% to $3,141,592,653 while costs fell by 1,000,000 units.",
    "def tokenize(text):\n    for i, piece in enumerate(text.split()):\n        yield i, piece.lower()\n",
    "你好，世界！我们正在测试分词器的速度。中文文本没有空格，所以切分方式不同。",
    "Привет, мир! Это проверка скорости токенизатора на русском языке.",
    "Emoji time 😀👍🏽👩‍💻 🎉🎉 and café naïve résumé Ångström.",
    "    indented    with   runs   of   spaces\t\tand\ttabs\r\nand windows line endings\r\n",
    "SHOUTING IN CAPITALS: I'M HERE, YOU'RE THERE, THEY'VE GONE.",
    "日本語のテキストも少し。한국어 문장도 있습니다. Γειά σου κόσμε. مرحبا بالعالم.",
    "<html><body class=\"main\">{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}</body></html>",
]


def make_text(megabytes):
    rng = random.Random(20240601)
    words = " ".join(PARAGRAPHS).split(" ")
    out, size = [], 0
    target = int(megabytes * 1_000_000)
    while size < target:
        if rng.random() < 0.5:
            line = rng.choice(PARAGRAPHS)
        else:
            line = " ".join(rng.choice(words) for _ in range(rng.randrange(5, 40)))
            line += " " + str(rng.randrange(10 ** rng.randrange(1, 12)))
        out.append(line)
        size += len(line.encode()) + 1
    return "\n".join(out) + "\n"


def load_reference(directory):
    path = os.path.join(directory, "tokenizer.json")
    if not os.path.exists(path):
        sys.exit(f"bench_tokenizer: {path} not found (the reference needs a tokenizer.json)")
    return Tokenizer.from_file(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("directory")
    ap.add_argument("--mb", type=float, default=4.0, help="megabytes of text (default 4)")
    ap.add_argument("--dump", help="also write the benchmark text to this file")
    args = ap.parse_args()

    text = make_text(args.mb)
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as f:
            f.write(text)
    nbytes = len(text.encode())
    tok = load_reference(args.directory)
    lines = text.splitlines(keepends=True)
    start = time.perf_counter()
    tokens = 0
    for line in lines:
        tokens += len(tok.encode(line, add_special_tokens=False).ids)
    secs = time.perf_counter() - start
    hf_mbs = nbytes / secs / 1e6
    print(f"tokenizers: {nbytes} bytes, {tokens} tokens, {secs:.3f} s, {hf_mbs:.2f} MB/s (single thread)")

    steer = os.path.join(ROOT, ".build", "release", "steer")
    if not os.path.exists(steer):
        print("steer: .build/release/steer not built; skipping (swift build -c release --product steer)")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(text)
        path = f.name
    try:
        res = subprocess.run([steer, "tokenize", args.directory, "--file", path, "--bench"],
                             capture_output=True, text=True)
    finally:
        os.unlink(path)
    if res.returncode != 0:
        sys.exit(f"steer tokenize failed ({res.returncode}): {res.stderr.strip()}")
    try:
        report = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        sys.exit(f"steer tokenize --bench printed no JSON object: {res.stdout!r}")
    steer_mbs = report["bytes"] / report["seconds"] / 1e6
    print(f"steer:      {report['bytes']} bytes, {report['tokens']} tokens, {report['seconds']:.3f} s, "
          f"{steer_mbs:.2f} MB/s")
    if report["tokens"] != tokens:
        print(f"note: token counts differ (tokenizers {tokens}, steer {report['tokens']})")
    print(f"ratio steer/tokenizers: {steer_mbs / hf_mbs:.2f}")


if __name__ == "__main__":
    main()
