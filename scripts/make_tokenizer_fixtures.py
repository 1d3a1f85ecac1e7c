#!/usr/bin/env python3
"""Builds the Tokenizers test fixtures under Tests/Fixtures/tokenizers/.

Each fixture folder holds a small tokenizer trained here with the `tokenizers` library in the
layout a real model family uses (GPT-2, Llama-3, Qwen2, Llama-2/Mistral SentencePiece, ...),
plus `cases.json` with the reference ids, decodes and streaming-decode chunks recorded from
`tokenizers` itself (or from tiktoken for the Qwen-1 `qwen.tiktoken` fixture). Expected values
are never typed by hand.

It also writes Tests/Fixtures/regex/split_cases.json: how `tokenizers` (Oniguruma) splits texts with
Split regexes from real tokenizer.json files and with hostile or unusual ones, for Steer's regex engine.

Usage: STEER_VENV=/work/venv scripts/py.sh scripts/make_tokenizer_fixtures.py [--regex-only]
"""
import base64
import json
import os
import random
import shutil
import sys
import unicodedata

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers
from tokenizers.decoders import DecodeStream

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tokenizers")

GPT2_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
# Not one of the hand-scanned patterns: exercises the general regex fallback.
OTHER_PAT = r"""[A-Za-z]+|\d{1,2}|[^\sA-Za-z\d]+|\s+"""

CORPUS = """
The quick brown fox jumps over the lazy dog. It's a dog's life, isn't it? We'll see; they'd know.
I'M SHOUTING BECAUSE IT'S LOUD. YOU'RE RIGHT, THEY'VE GONE. She'll be there at 10:45 on 2024-03-17.
Numbers: 1234567890, 3.14159, 42, 1000000, -273.15, 0x1F600, 007.
Tokenizers split text into tokens; byte-level BPE merges frequent byte pairs into larger units.
def main():\n    print("hello, world")\n\treturn 0\n
Line one\r\nLine two\r\n\r\nLine four   with   spaces    and\ttabs\t\there.
   Leading spaces and trailing spaces   
Café, naïve, résumé, coöperate, Ångström, São Paulo, Zürich, façade.
你好，世界！我们正在测试分词器。中文文本没有空格。今天天气很好。
日本語のテキストも少しあります。カタカナとひらがな。
한국어 문장도 있습니다. 안녕하세요!
Привет, мир! Это тест токенизатора. Ещё немного текста на русском.
Γειά σου κόσμε. Αυτό είναι ένα τεστ.
مرحبا بالعالم. هذا اختبار.
שלום עולם.
Emoji: 😀 😃 👍🏽 👩‍💻 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🎉🎉🎉
Math: ∑ x² + y² = z², α β γ δ, ∞ ≠ ≈ ≤ ≥.
Symbols: @user #hashtag $100 50% a&b <tag> [list] {dict} | pipe \\ backslash ~tilde `code`.
"""

HARD_CASES = [
    "",
    " ",
    "Hello world",
    " Hello world",
    "  leading two spaces",
    "trailing spaces   ",
    "multiple     spaces   between",
    "tabs\tand\t\ttabs",
    "windows\r\nline\r\nendings\r\n",
    "newlines\n\n\nthree",
    " \n \n ",
    "It's I'm you're they've we'll he'd she's",
    "IT'S I'M YOU'RE THEY'VE WE'LL HE'D SHE'S",
    "It'S mIxEd'Ll CaSe'Ve",
    "digits 1 12 123 1234 12345 1234567890123",
    "pi=3.14159, e=2.71828; 1,000,000 and -42",
    "你好，世界！今天天气很好。",
    "日本語のテキスト、カタカナ",
    "Привет, мир!",
    "emoji 😀👍🏽👩‍💻👨‍👩‍👧‍👦🇫🇷❤️",
    "👍🏿 thumbs",
    "combining e\u0301 a\u0308 n\u0303 o\u0302\u0323",
    "precomposed é ä ñ",
    "Georgian: ქართული ენა",
    "Tamil: தமிழ் மொழி",
    "Thai: ภาษาไทย",
    "code: def f(x):\n    return x**2  # square\n",
    "punctuation!!! ... ??? ;;; --- ___",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more text",
    "<|endoftext|>",
    "<|endoftext|><|endoftext|>",
    "a<|im_end|>b <|im_end|> c",
    "Mixed 中文 and English 123 😀",
    "\u00a0nbsp\u2009thin\u3000ideographic",
    "zero\u200bwidth\u200djoiner",
    "ALLCAPS WORDS HERE",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "               ",
    "x" * 300,
    "The quick brown fox jumps over the lazy dog.",
    "'s 's 'S 'll 'LL ''",
    "end with newline\n",
    "\t\tindented\n\t\tblock",
    "#include <stdio.h>\nint main() { return 0; }",
]


def corpus_lines():
    lines = [l for l in CORPUS.split("\n") if l.strip()]
    # Repeat so the trainer sees enough pair counts; add the hard cases (specials removed later).
    return lines * 20 + HARD_CASES * 3


def fresh_dir(name):
    d = os.path.join(ROOT, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def stream(tok, ids, skip):
    """Chunks from DecodeStream; None for the whole list when tokenizers raises (invalid prefix)."""
    ds = DecodeStream(skip_special_tokens=skip)
    try:
        return [ds.step(tok, i) for i in ids]
    except Exception:
        return None


def random_id_lists(n_vocab, seed):
    rng = random.Random(seed)
    out = [[rng.randrange(n_vocab) for _ in range(rng.randrange(1, 12))] for _ in range(25)]
    out.append([])
    return out


def record(tok, d, extra_cases=()):
    """Writes tokenizer.json (as saved by `tokenizers`) and cases.json with reference outputs."""
    cases = []
    for text in list(HARD_CASES) + list(extra_cases):
        ids = tok.encode(text, add_special_tokens=False).ids
        ids_sp = tok.encode(text, add_special_tokens=True).ids
        cases.append({
            "text": text,
            "ids": ids,
            "ids_with_special": ids_sp,
            "decode": tok.decode(ids, skip_special_tokens=False),
            "decode_skip": tok.decode(ids, skip_special_tokens=True),
            "decode_with_special_skip": tok.decode(ids_sp, skip_special_tokens=True),
            "stream": stream(tok, ids_sp, False),
            "stream_skip": stream(tok, ids_sp, True),
        })
    n = tok.get_vocab_size(with_added_tokens=True)
    decodes = []
    for ids in random_id_lists(n, 1234):
        decodes.append({"ids": ids, "decode": tok.decode(ids, skip_special_tokens=False), "decode_skip": tok.decode(ids, skip_special_tokens=True),
                        "stream": stream(tok, ids, False)})
    vocab = tok.get_vocab(with_added_tokens=True)
    probe = sorted(vocab.items(), key=lambda kv: kv[1])[:: max(1, n // 40)]
    meta = {
        "vocab_size": n,
        "tokens": [{"token": t, "id": i} for t, i in probe],
        "cases": cases,
        "decodes": decodes,
    }
    with open(os.path.join(d, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=0)


def train(tok, vocab_size, specials, **kw):
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False, **kw)
    lines = [l.replace("<|im_start|>", "").replace("<|im_end|>", "").replace("<|endoftext|>", "")
             for l in corpus_lines()]
    tok.train_from_iterator(lines, trainer=trainer)


def byte_level(name, pattern, specials, vocab_size=900, ignore_merges=False, add_prefix_space=False,
               normalizer=None, template=None, merges_as_strings=False, extra_added=(), extra_cases=()):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer is not None:
        tok.normalizer = normalizer
    if pattern is None:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space, use_regex=False),
        ])
    tok.decoder = decoders.ByteLevel()
    train(tok, vocab_size, specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    if template is not None:
        bos = template
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                          special_tokens=[(bos, tok.token_to_id(bos))]),
        ])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    if extra_added:
        tok.add_tokens(list(extra_added))
    d = fresh_dir(name)
    path = os.path.join(d, "tokenizer.json")
    tok.save(path)
    if merges_as_strings:
        with open(path, encoding="utf-8") as f:
            js = json.load(f)
        js["model"]["merges"] = [" ".join(m) for m in js["model"]["merges"]]
        with open(path, "w", encoding="utf-8") as f:
            json.dump(js, f, ensure_ascii=False, indent=2)
        tok = Tokenizer.from_file(path)
    record(tok, d, extra_cases)
    return tok, d


def add_byte_tokens(path):
    """SentencePiece-converted vocabularies carry <0x00>..<0xFF>; the trainer does not, so add them."""
    with open(path, encoding="utf-8") as f:
        js = json.load(f)
    vocab = js["model"]["vocab"]
    nxt = max(vocab.values()) + 1
    for added in js["added_tokens"]:
        nxt = max(nxt, added["id"] + 1)
    for b in range(256):
        t = "<0x%02X>" % b
        if t not in vocab:
            vocab[t] = nxt
            nxt += 1
    with open(path, "w", encoding="utf-8") as f:
        json.dump(js, f, ensure_ascii=False, indent=2)


def sentencepiece(name, prepend_scheme, split, byte_fallback=True, llama2_layout=False, vocab_size=700):
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=byte_fallback, fuse_unk=True))
    if llama2_layout:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.pre_tokenizer = None
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                         decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    else:
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=prepend_scheme, split=split)
        parts = [decoders.ByteFallback()] if byte_fallback else []
        tok.decoder = decoders.Sequence(parts + [decoders.Metaspace(replacement="▁", prepend_scheme=prepend_scheme,
                                                                     split=split)])
    specials = ["<unk>", "<s>", "</s>"]
    # A small alphabet leaves rare characters out, so byte fallback / <unk> get exercised.
    train(tok, vocab_size, specials, limit_alphabet=90)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    tok.add_special_tokens(["<|im_start|>", "<|im_end|>", "<|endoftext|>"])
    d = fresh_dir(name)
    path = os.path.join(d, "tokenizer.json")
    tok.save(path)
    if byte_fallback:
        add_byte_tokens(path)
        tok = Tokenizer.from_file(path)
    record(tok, d, ["<s>Hello</s>", "<s> Hello", "Hello <unk> world"])
    return tok, d


def word_suffix():
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(),
                                                 pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.Punctuation()])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    train(tok, 700, ["[UNK]", "<|endoftext|>"], continuing_subword_prefix="##", end_of_word_suffix="</w>",
          limit_alphabet=80)
    d = fresh_dir("bpe_suffix_prefix")
    tok.save(os.path.join(d, "tokenizer.json"))
    record(tok, d)


def misc_pretokenizers():
    """Regex fallback Split with the other behaviours, NFKD + Replace normalizers, Replace decoder."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Replace(Regex(r"\d{4,}"), "<num>"),
                                           normalizers.Strip(left=True, right=False)])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(OTHER_PAT), behavior="merged_with_previous", invert=False),
        pre_tokenizers.Split(",", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"[!?]+"), behavior="contiguous"),
        pre_tokenizers.Split(";", behavior="removed"),
        pre_tokenizers.Split(Regex(r"\s+"), behavior="isolated", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False),
    ])
    tok.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Replace("<num>", "#")])
    train(tok, 800, ["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    d = fresh_dir("bytelevel_split_fallback")
    tok.save(os.path.join(d, "tokenizer.json"))
    record(tok, d)


# --- Qwen-1 (qwen.tiktoken) -------------------------------------------------------------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def qwen1(base_tok):
    import tiktoken  # the reference implementation Qwen-1's tokenization_qwen.py wraps
    byte_decoder = {c: b for b, c in bytes_to_unicode().items()}
    vocab = base_tok.get_vocab(with_added_tokens=False)
    added = {t.content for t in base_tok.get_added_tokens_decoder().values()}
    ranks = {}
    for token, _ in sorted(vocab.items(), key=lambda kv: kv[1]):
        if token in added:
            continue
        ranks[bytes(byte_decoder[c] for c in token)] = len(ranks)
    extras = tuple(f"<|extra_{i}|>" for i in range(205))
    specials = ("<|endoftext|>", "<|im_start|>", "<|im_end|>") + extras
    special_ids = {t: len(ranks) + i for i, t in enumerate(specials)}
    enc = tiktoken.Encoding("Qwen", pat_str=QWEN2_PAT, mergeable_ranks=ranks, special_tokens=special_ids)
    eod = special_ids["<|endoftext|>"]

    def encode(text):
        return enc.encode(unicodedata.normalize("NFC", text), allowed_special="all", disallowed_special=())

    def decode(ids, skip=False):
        if skip:
            ids = [i for i in ids if i < eod]
        return enc.decode(ids, errors="replace")

    def stream_decode(ids, skip):
        # tokenizers' DecodeStream algorithm over Qwen-1's decode.
        out, buf, prefix, prefix_index = [], [], "", 0
        for i in ids:
            buf.append(i)
            s = decode(buf, skip)
            if len(s.encode()) > len(prefix.encode()) and not s.endswith("\ufffd"):
                new = s[len(prefix):]
                new_index = len(buf) - prefix_index
                buf = buf[prefix_index:]
                prefix = decode(buf, skip)
                prefix_index = new_index
                out.append(new)
            else:
                out.append(None)
        return out

    d = fresh_dir("qwen1_tiktoken")
    with open(os.path.join(d, "qwen.tiktoken"), "w") as f:
        for tok, rank in ranks.items():
            f.write(base64.b64encode(tok).decode() + " " + str(rank) + "\n")
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"model_max_length": 8192, "tokenizer_class": "QWenTokenizer",
                   "auto_map": {"AutoTokenizer": ["tokenization_qwen.QWenTokenizer", None]}}, f, indent=2)
    cases = []
    for text in HARD_CASES + ["<|extra_0|>x<|extra_204|>"]:
        ids = encode(text)
        cases.append({"text": text, "ids": ids, "ids_with_special": ids, "decode": decode(ids),
                      "decode_skip": decode(ids, True), "decode_with_special_skip": decode(ids, True),
                      "stream": stream_decode(ids, False), "stream_skip": stream_decode(ids, True)})
    n = len(ranks) + len(specials)
    decodes = [{"ids": ids, "decode": decode(ids), "decode_skip": decode(ids, True),
                "stream": stream_decode(ids, False)} for ids in random_id_lists(len(ranks), 99)]
    probe = [{"token": t, "id": i} for t, i in list(special_ids.items())[:4]]
    with open(os.path.join(d, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"vocab_size": n, "tokens": probe, "cases": cases, "decodes": decodes}, f,
                  ensure_ascii=False, indent=0)


def write_configs():
    """tokenizer_config.json variants: string template, list template, sibling .jinja file."""
    qwen2 = os.path.join(ROOT, "qwen2")
    with open(os.path.join(qwen2, "tokenizer_config.json"), "w") as f:
        json.dump({
            "add_bos_token": False, "add_eos_token": False, "model_max_length": 32768,
            "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
            "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}",
            "added_tokens_decoder": {"0": {"content": "<|endoftext|>", "lstrip": False, "normalized": False,
                                           "rstrip": False, "single_word": False, "special": True}},
        }, f, indent=2)
    llama3 = os.path.join(ROOT, "llama3")
    with open(os.path.join(llama3, "tokenizer_config.json"), "w") as f:
        json.dump({
            "add_bos_token": True, "model_max_length": 131072,
            "bos_token": {"content": "<|begin_of_text|>", "lstrip": False, "normalized": False, "rstrip": False,
                          "single_word": False, "__type": "AddedToken"},
            "eos_token": "<|eot_id|>",
            "chat_template": [{"name": "default", "template": "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"},
                              {"name": "tool_use", "template": "TOOLS"}],
        }, f, indent=2)
    llama2 = os.path.join(ROOT, "llama2_sentencepiece")
    with open(os.path.join(llama2, "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
                   "unk_token": "<unk>", "chat_template": "from config", "model_max_length": 1e30}, f, indent=2)
    with open(os.path.join(llama2, "chat_template.jinja"), "w") as f:
        f.write("{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}")


# --- Split regexes: tokenizers' answers for the general regex engine -----------------------------------

REGEX_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "regex")
O200K_PAT = r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
TEKKEN_PAT = r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
DEEPSEEK_V3_PATS = [
    r"\p{N}{1,3}",
    r"[一-龥\u3040-ゟ゠-ヿ]+",
    r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
]
DEEPSEEK_CODER_PATS = [
    r"[\r\n]",
    r"\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    r"\s?[!-/:-~！-／：-～‘-‟　-。]+",
    r"\s+$",
    r"[一-龥ࠀ-一가-퟿]+",
    r"\p{N}+",
]
BLOOM_PAT = r" ?[^(\s|[.,!?…。，、।۔،])]+"
REGEX_PATTERNS = [
    # The hand-scanned patterns, through the general engine too.
    GPT2_PAT, LLAMA3_PAT, QWEN2_PAT, OTHER_PAT,
    # From real tokenizer.json files.
    O200K_PAT, TEKKEN_PAT, BLOOM_PAT, *DEEPSEEK_V3_PATS, *DEEPSEEK_CODER_PATS,
    # The syntax they could use.
    r"\d{1,3}(?=(?:\d{3})*\b)", r"(?<=\d)(?=(?:\d{3})+(?!\d))", r"\p{Han}+|\p{Hiragana}+|\p{Katakana}+|\p{Hangul}+",
    r"[[:alpha:]]+|[[:punct:]]+|[[:space:]]+|[[:digit:]]+", r"(?i)the|[a-z]+", r"a(?i)b|c", r"(?i:'S|'LL)|[ſK]",
    r"(?x) \d+ # digits", r"\bthe\b|\B.", r"^\s+|\s+$", r"\A.|.\z|.\Z", r".", r"<.+?>|<|>", r"\R", r"\h+",
    r"x*", r"(?=a)", r"\S+(?=\s)", r"(?<!a)b", r"(?<=\s)\S", r"[\w&&[^_]]+", r"[a-c[x-z]]+", r"[^\p{L}\p{N}\s]",
    r"\p{Lu}\p{Ll}*|\P{L}+", r"\w+|\W", r"\s{2,}| {1}", r"a{2,1}", r"\x{1F600}|\u00e9|\x41|\101", r"\Qa.b\E",
    r"(a|ab)(c|bcd)(d*)", r"(a*)*b|.", r"(a+)+$", r"[\]a-]|[]b]",
]
# Oniguruma's backtracking gives up ("retry-limit-in-match over") on `(a+)+$` past about 22 characters; these
# texts get the answer of the equivalent `a+$`, which is what it would have found.
EQUIVALENT = {r"(a+)+$": r"a+$", r"(a*)*b|.": r"a*b|."}
# Long inputs only for the patterns that backtrack exponentially.
LONG_TEXTS = {pattern: ["a" * 5000 + "!", "a" * 5000 + "b", "a" * 5000] for pattern in EQUIVALENT}
REGEX_TEXTS = HARD_CASES + [
    "aaaaaaaaaaaaaaaaaa!", "aaa\naaa", "a" * 30 + "!",
    "The cat sat on the mat; THE END.", "1234567 and 89,012 or 3456789012", "x <b>bold</b> <i>it</i> y <",
    "ab\ncd\r\nef\n", "naïve Ⅻ ½ ١٢٣ ５６ 𝟙", "中文とひらがなとカタカナと한국어", "it's THE'S ſt K", "hello, world!!",
    "€100 + ¥200 = ?", "tab\tand\u000bvt\u0085nel\u2028ls", "deadbeef 0x1F cafe", "a_b c_d __", "",
]


def regex_cases():
    """Split(isolated) and Split(removed) pieces of every text under every pattern, or tokenizers' error."""
    os.makedirs(REGEX_ROOT, exist_ok=True)
    cases = []
    for pattern in REGEX_PATTERNS + [r"(", r"[a", r"a++", r"(?>a)b", r"(a)\1", r"\p{Foo}", r"a|*"]:
        entry = {"pattern": pattern, "texts": []}
        try:
            splits = {b: pre_tokenizers.Split(Regex(pattern), behavior=b) for b in ("isolated", "removed")}
        except Exception as e:  # the pattern does not compile in Oniguruma either
            entry["error"] = str(e)
            cases.append(entry)
            continue
        for text in REGEX_TEXTS + LONG_TEXTS.get(pattern, []):
            row = {"text": text}
            for behavior, split in splits.items():
                try:
                    row[behavior] = [p for p, _ in split.pre_tokenize_str(text)]
                except BaseException:  # Oniguruma's retry limit (a Rust panic)
                    alt = pre_tokenizers.Split(Regex(EQUIVALENT[pattern]), behavior=behavior)
                    row[behavior] = [p for p, _ in alt.pre_tokenize_str(text)]
                    row["equivalent"] = EQUIVALENT[pattern]
            entry["texts"].append(row)
        cases.append(entry)
    with open(os.path.join(REGEX_ROOT, "split_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, ensure_ascii=False, separators=(",", ":"))
    print(f"{len(cases)} regex patterns x {len(REGEX_TEXTS)} texts written to", os.path.normpath(REGEX_ROOT))


HARMONY_SPECIALS = ["<|startoftext|>", "<|endoftext|>", "<|start|>", "<|channel|>", "<|message|>", "<|end|>",
                    "<|return|>", "<|constrain|>", "<|call|>"]


def o200k_harmony():
    """gpt-oss's tokenizer.json layout (`o200k_harmony`): the o200k split regex isolated, then byte-level
    without its own regex, no prefix space, merges ignored, the harmony special tokens."""
    byte_level("o200k_harmony", O200K_PAT, HARMONY_SPECIALS, vocab_size=1200, ignore_merges=True, extra_cases=[
        "<|start|>user<|message|>What is 2+2?<|end|><|start|>assistant<|channel|>analysis<|message|>Simple.<|end|>",
        "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}<|call|>",
        "CamelCaseWord HTTPServer don'T WE'LL naïve", "path/to/file\n\n  x", "１２３４５ 12345 ١٢٣٤"])


def main():
    if "--regex-only" in sys.argv:
        regex_cases()
        return
    if "--o200k-only" in sys.argv:
        o200k_harmony()
        return
    regex_cases()
    os.makedirs(ROOT, exist_ok=True)
    byte_level("gpt2", None, ["<|endoftext|>"], merges_as_strings=True)
    byte_level("gpt2_prefix_space", None, ["<|endoftext|>"], add_prefix_space=True, vocab_size=600)
    byte_level("llama3", LLAMA3_PAT, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"], vocab_size=1200,
               ignore_merges=True, template="<|begin_of_text|>")
    qwen2_tok, _ = byte_level("qwen2", QWEN2_PAT, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                              vocab_size=1500, normalizer=normalizers.NFC())
    variants = [
        AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False),
        AddedToken("<rs>", lstrip=False, rstrip=True, special=True, normalized=False),
        AddedToken("word", single_word=True, special=False, normalized=False),
        AddedToken("Hello World", special=False, normalized=True),
        AddedToken("<think>", special=False, normalized=False),
    ]
    byte_level("qwen2_added_variants", QWEN2_PAT, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], vocab_size=700,
               normalizer=normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()]),
               extra_added=variants,
               extra_cases=["a <mask> b", "a<mask>b", "   <mask>   x", "<rs>   y", "x <rs>\n\n z",
                            "word words sword word_ word.", "aword word", "HELLO WORLD and hello world",
                            "Hello World!", "<think>\nreasoning</think>", "<think><think>"])
    sentencepiece("sp_metaspace_first", "first", True)
    sentencepiece("sp_metaspace_always_nosplit", "always", False, vocab_size=500)
    sentencepiece("sp_metaspace_never", "never", True, byte_fallback=False)
    sentencepiece("llama2_sentencepiece", "first", False, llama2_layout=True)
    word_suffix()
    misc_pretokenizers()
    qwen1(qwen2_tok)
    o200k_harmony()
    write_configs()
    print("fixtures written to", os.path.normpath(ROOT))


if __name__ == "__main__":
    main()
