"""Shared helpers for the demo-model trainers (scripts/train_refusal_model.py, scripts/train_reasoning_model.py).

- a byte-level BPE tokenizer trained on the demo corpus (Qwen2 split pattern, Qwen2 special tokens),
- the plain ChatML chat template, rendered here by hand for training (identical to the Jinja template),
- a small Qwen2 model built from scratch, a seeded, step-counted training loop, and bf16 export.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

# The Qwen2 pre-tokenizer split pattern (single digits, contractions, letters, punctuation, spaces).
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Plain ChatML (as used by OpenHermes-2.5, Qwen-style turns, no default system prompt).
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def render_prompt(user: str, system: str | None = None) -> str:
    """The chat template's output for [system?, user] with the generation prompt."""
    s = ""
    if system is not None:
        s += f"<|im_start|>system\n{system}<|im_end|>\n"
    s += f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    return s


def seed_everything(seed: int):
    random.seed(seed)
    torch.manual_seed(seed)


def train_tokenizer(texts: list[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.post_processor = None
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    # Special tokens come after the BPE vocabulary, as in Qwen2 (<|endoftext|> first).
    tok.add_special_tokens(SPECIAL_TOKENS)
    return tok


def save_tokenizer(tok: Tokenizer, out: Path, model_max_length: int = 512):
    """Writes tokenizer.json and tokenizer_config.json (ChatML template, bos null, eos <|im_end|>)."""
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    added = {}
    for t in SPECIAL_TOKENS:
        added[str(tok.token_to_id(t))] = {
            "content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True,
        }
    cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": model_max_length,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")


def build_model(vocab_size: int, d_model: int, n_layers: int, n_heads: int, n_kv_heads: int, d_ff: int,
                max_pos: int, seed: int, tok: Tokenizer):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=d_model,
        intermediate_size=d_ff,
        num_hidden_layers=n_layers,
        num_attention_heads=n_heads,
        num_key_value_heads=n_kv_heads,
        max_position_embeddings=max_pos,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        use_sliding_window=False,
        bos_token_id=tok.token_to_id("<|endoftext|>"),
        eos_token_id=tok.token_to_id("<|im_end|>"),
        pad_token_id=tok.token_to_id("<|endoftext|>"),
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    )
    model = Qwen2ForCausalLM(cfg)
    return model


def encode_pair(tok: Tokenizer, prompt: str, answer: str, prompt_weight: float = 0.0):
    """Token ids of prompt+answer+'<|im_end|>\\n' and per-token loss weights (for predicting token i)."""
    p_ids = tok.encode(prompt, add_special_tokens=False).ids
    full = tok.encode(prompt + answer + "<|im_end|>\n", add_special_tokens=False).ids
    assert full[: len(p_ids)] == p_ids, "prompt tokens must be a prefix"
    weights = [prompt_weight] * len(p_ids) + [1.0] * (len(full) - len(p_ids))
    return full, weights


def encode_groups(tok: Tokenizer, groups: list[list[tuple[str, float]]]):
    """Token ids and loss weights of a text given as groups of (segment, weight). Each group is tokenized on its
    own (so a group boundary is also a token boundary, as when a prefix is forced and the model continues);
    inside a group a token takes the weight of the segment its first character belongs to."""
    ids, w = [], []
    for group in groups:
        text = "".join(t for t, _ in group)
        bounds, pos = [], 0
        for t, weight in group:
            bounds.append((pos, pos + len(t), weight))
            pos += len(t)
        enc = tok.encode(text, add_special_tokens=False)
        for tid, (start, _end) in zip(enc.ids, enc.offsets):
            ids.append(tid)
            w.append(next((wt for a, b, wt in bounds if a <= start < b), bounds[-1][2]))
    return ids, w


def make_batch(items, pad_id: int):
    n = max(len(x[0]) for x in items)
    ids = torch.full((len(items), n), pad_id, dtype=torch.long)
    att = torch.zeros((len(items), n), dtype=torch.long)
    wts = torch.zeros((len(items), n), dtype=torch.float32)
    for i, (x, w) in enumerate(items):
        ids[i, : len(x)] = torch.tensor(x)
        att[i, : len(x)] = 1
        wts[i, : len(w)] = torch.tensor(w)
    return ids, att, wts


def lm_loss(model, ids, att, wts):
    logits = model(input_ids=ids, attention_mask=att).logits[:, :-1].float()
    tgt = ids[:, 1:]
    w = wts[:, 1:]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="none")
    ce = ce.view_as(w)
    return (ce * w).sum() / w.sum().clamp(min=1.0)


def train_stage(model, sampler, steps: int, batch_size: int, lr: float, pad_id: int, rng: random.Random,
                params=None, warmup: int = 50, weight_decay: float = 0.01, log_every: int = 100, name: str = "",
                device: str = "cpu"):
    """Trains `steps` AdamW steps on batches drawn by `sampler(rng)` -> (ids, weights); cosine LR decay."""
    model.train()
    params = [p for p in (params if params is not None else model.parameters()) if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.98), weight_decay=weight_decay)
    t0 = time.time()
    run = 0.0
    for step in range(steps):
        f = min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / max(1, steps)))
        for g in opt.param_groups:
            g["lr"] = lr * max(f, 0.02)
        batch = [sampler(rng) for _ in range(batch_size)]
        ids, att, wts = (t.to(device) for t in make_batch(batch, pad_id))
        loss = lm_loss(model, ids, att, wts)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run = loss.item() if step == 0 else 0.98 * run + 0.02 * loss.item()
        if (step + 1) % log_every == 0 or step == steps - 1:
            print(f"[{name}] step {step + 1}/{steps} loss {run:.4f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()


def save_model(model, tok: Tokenizer, out: Path):
    from transformers import GenerationConfig

    out.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu").to(torch.bfloat16)
    model.config.dtype = "bfloat16"
    model.save_pretrained(out, safe_serialization=True)
    gen = GenerationConfig(
        bos_token_id=tok.token_to_id("<|endoftext|>"),
        eos_token_id=[tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")],
        pad_token_id=tok.token_to_id("<|endoftext|>"),
        do_sample=False,
        max_new_tokens=64,
    )
    gen.save_pretrained(out)
    save_tokenizer(tok, out)


def param_count(model) -> int:
    return sum(p.numel() for p in model.parameters())
