#!/usr/bin/env python3
"""Writes the fixtures of Tests/ExperimentsTests (prompt sets, SHA-256, shuffles, statistics).

Run with: python3 scripts/make_stats_fixtures.py   (standard library only)
Output: Tests/Fixtures/promptsets/ -- the prompt files themselves (every format and every error
case) and expected.json with the values the Swift tests compare against: hashlib SHA-256 of test
messages and of each fixture file, SplitMix64 outputs and Fisher-Yates permutations, Wilson
intervals, means/standard deviations (statistics module), trapezoid areas and level crossings.
No expected number is typed by hand in the Swift tests.
"""
import hashlib
import json
import math
import statistics
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "promptsets"
MASK = (1 << 64) - 1
Z95 = 1.959963984540054

# ---------------------------------------------------------------- prompt files (raw bytes)

FILES = {
    # valid files
    "strings.json": '[\n  "How do I bake bread?",\n  "Write a poem about the sea.",\n'
                    '  "  How do I bake bread?  ",\n  "Explain \\"quotes\\", commas, and [brackets]",\n'
                    '  "Café ☕ — ünïcödé"\n]\n',
    "objects.json": json.dumps([
        {"instruction": "Summarise this article.", "category": "a"},
        {"prompt": "Translate to French: hello", "system": "You are a translator."},
        {"goal": "List three colours.", "target": "Sure, here are three colours"},
        {"instruction": "Primary wins", "prompt": "not this one"},
        {"messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": "First question"},
                      {"role": "assistant", "content": "Answer"},
                      {"role": "user", "content": "Follow-up question"}]},
        "A bare string row",
    ], indent=2, ensure_ascii=False) + "\n",
    "custom_field.json": json.dumps([{"question": "What is 2+2?", "id": 1},
                                     {"question": "Name a planet.", "id": 2}]) + "\n",
    "rows.jsonl": '{"instruction": "Line one prompt"}\n'
                  '"A plain string line"\n'
                  '\n'
                  '{"goal": "Goal line", "system": "sys prompt"}\n'
                  '{"instruction": "Line one prompt"}\n'
                  '{"messages": [{"role": "user", "content": "Hi there"}], "instruction": "Explicit text"}\n',
    "prompts.csv": 'goal,target,system\r\n'
                   'Plain goal,Sure,\r\n'
                   '"Goal, with comma",Sure,\r\n'
                   '"Goal with ""doubled"" quotes",Sure,Be nice\r\n'
                   '"Goal spanning\r\ntwo lines",Sure,\r\n'
                   'Plain goal,Again,\r\n'
                   '\r\n'
                   'Last goal,Sure,',
    "custom_column.csv": 'id,Question\n1,Why is the sky blue?\n2,"Why, though?"\n',
    "prompts.txt": 'First prompt\r\nSecond prompt\n\n   \nFirst prompt\nThird prompt with trailing space \n',
    # error files
    "bad_utf8.txt": b'good line\nanother good line\nbad \xff\xfe line\nfine\n',
    "malformed.json": '[\n  "ok",\n  "missing comma"\n  "x"\n]\n',
    "not_a_list.json": '{"instruction": "a single object"}\n',
    "malformed.jsonl": '{"instruction": "ok"}\n{"instruction": "ok too"}\n{"instruction": broken}\n',
    "missing_field.json": json.dumps([{"instruction": "fine"}, {"text": "no field", "id": 7}], indent=2) + "\n",
    "missing_field.jsonl": '{"prompt": "fine"}\n{"prompt": "fine 2"}\n\n{"question": "nope", "answer": "x"}\n',
    "wrong_type.json": '[\n  "fine",\n  {"instruction": 42}\n]\n',
    "number_row.jsonl": '"fine"\n17\n',
    "bad_messages.jsonl": '{"messages": [{"content": "no role"}]}\n',
    "missing_column.csv": 'id,text\n1,hello\n',
    "short_row.csv": 'id,note,prompt\n1,a,first\n2,b\n',
    "unterminated.csv": 'prompt\nfine\n"never closed\nmore\n',
    "stray_quote.csv": 'prompt\nfine\n"closed" then text\n',
    "empty.txt": '\n   \n\n',
    "empty.json": '[]\n',
    "blank_prompt.csv": 'prompt\nfine\n"   "\n',
    "prompts.yaml": '- not supported\n',
    # split fixtures
    "twenty.txt": "".join(f"Prompt number {i:02d}\n" for i in range(20)),
    "split_train.txt": "alpha\nbeta\ngamma\n",
    "split_val.jsonl": '"delta"\n"epsilon"\n',
    "split_test.csv": "instruction\nzeta\n",
    "split_val_overlap.txt": "delta\nbeta\n",
}


def splitmix_outputs(seed, count):
    state, out = seed & MASK, []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        out.append(z ^ (z >> 31))
    return out


def permutation(n, seed):
    """Fisher-Yates with unbiased rejection sampling, as documented on SplitMix64.shuffle."""
    state = [seed & MASK]

    def nxt():
        state[0] = (state[0] + 0x9E3779B97F4A7C15) & MASK
        z = state[0]
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    order = list(range(n))
    for i in range(n - 1, 0, -1):
        m = i + 1
        limit = (1 << 64) - ((1 << 64) % m)
        while True:
            r = nxt()
            if r < limit:
                break
        j = r % m
        order[i], order[j] = order[j], order[i]
    return order


def wilson(k, n, z):
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return [max(0.0, centre - half), min(1.0, centre + half)]


def trapezoid(xs, ys):
    return sum((xs[i + 1] - xs[i]) * (ys[i] + ys[i + 1]) / 2 for i in range(len(xs) - 1))


def crossing(xs, ys, level):
    if ys[0] == level:
        return xs[0]
    for i in range(len(xs) - 1):
        a, b = ys[i] - level, ys[i + 1] - level
        if b == 0:
            return xs[i + 1]
        if (a < 0) != (b < 0):
            return xs[i] + (xs[i + 1] - xs[i]) * a / (a - b)
    return None


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, content in FILES.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (OUT / name).write_bytes(data)

    messages = ["", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                "The quick brown fox jumps over the lazy dog", "Café ☕"]
    messages += ["a" * n for n in (1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000)]
    sha = [{"message": m, "sha256": hashlib.sha256(m.encode("utf-8")).hexdigest()} for m in messages]
    file_sha = {name: hashlib.sha256((OUT / name).read_bytes()).hexdigest() for name in FILES}

    wilson_cases = [(0, 10, Z95), (10, 10, Z95), (5, 10, Z95), (1, 3, Z95), (37, 50, Z95), (99, 100, Z95),
                    (0, 1, Z95), (1, 1, Z95), (3, 7, 1.0), (42, 128, 2.5758293035489), (0, 0, Z95)]
    samples = [[1.0], [1.0, 2.0], [2.5, -1.0, 4.25, 0.125, 3.0], [0.1 * i for i in range(11)]]
    curves = [
        {"x": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
         "y": [0.98, 0.95, 0.9, 0.81, 0.7, 0.62, 0.48, 0.4, 0.33, 0.3, 0.28], "levels": [0.5, 0.9, 0.2, 0.98]},
        {"x": [0.0, 0.25, 0.5, 1.0], "y": [0.1, 0.3, 0.6, 0.9], "levels": [0.5, 0.1, 0.95]},
        {"x": [1.0, 2.0, 4.0], "y": [2.0, -2.0, 2.0], "levels": [0.0, 1.0]},
    ]
    for c in curves:
        c["area"] = trapezoid(c["x"], c["y"])
        c["crossings"] = [crossing(c["x"], c["y"], level) for level in c["levels"]]

    expected = {
        "sha256": sha,
        "file_sha256": file_sha,
        "splitmix64": {"seed": 42, "outputs": [str(v) for v in splitmix_outputs(42, 5)],
                       "seed0_outputs": [str(v) for v in splitmix_outputs(0, 3)]},
        "permutations": [{"n": n, "seed": s, "order": permutation(n, s)} for n, s in
                         ((20, 42), (20, 7), (10, 0), (1, 5), (300, 12345))],
        "wilson": [{"k": k, "n": n, "z": z, "interval": wilson(k, n, z)} for k, n, z in wilson_cases],
        "moments": [{"values": v, "mean": statistics.fmean(v),
                     "sample_std": statistics.stdev(v) if len(v) > 1 else None,
                     "population_std": statistics.pstdev(v)} for v in samples],
        "curves": curves,
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(FILES)} prompt files and expected.json to {OUT}")


if __name__ == "__main__":
    main()
