"""A small, faithful PyTorch re-implementation of the original Qwen-1 (`model_type: "qwen"`) forward pass.

Qwen-1 (Qwen-1.8B/7B/14B/72B and their -Chat variants) ships its model as `trust_remote_code` Python
(`modeling_qwen.py`, class `QWenLMHeadModel`); transformers has no built-in class for it. This file re-states
the parts of that code that decide the numbers, for float32 CPU inference, so fixtures can be made without
running remote code. Read against the published `modeling_qwen.py` (the later revision with
`intermediate_size`, `registered_causal_mask` and `rotary_pos_emb_list`, as in the Qwen-72B/1.8B repos):

* `QWenModel`: `wte` embedding (no scaling), blocks `h.N`, final `ln_f` RMSNorm; `lm_head` is a separate,
  untied `nn.Linear(hidden, vocab, bias=False)`.
* `QWenBlock`: pre-norm: `x = x + attn(ln_1(x))`, `x = x + mlp(ln_2(x))`.
* `RMSNorm`: `(x.float() * rsqrt(mean(x.float()^2) + eps)).type_as(x) * weight`, eps = `layer_norm_epsilon`.
* `QWenAttention`: `c_attn = nn.Linear(hidden, 3 * kv_channels * heads)` WITH bias; the output is split into
  q, k, v by `hidden_size` (`split_size = hidden_size`) and each is viewed as `[heads, hidden // heads]`
  (so `kv_channels` must equal `hidden_size // num_attention_heads`). `c_proj = nn.Linear(hidden, proj,
  bias=not no_bias)`: no bias in the published configs (`no_bias: true`). Scores are
  `q @ k^T / sqrt(head_dim)` (`value.size(-1) ** 0.5`), causal positions filled with `finfo.min`, the padding
  mask `(1 - attention_mask) * finfo.min` added, softmax, `@ v`, merge heads, `c_proj`.
* Rotary: `RotaryEmbedding(dim = kv_channels * rotary_pct` (or `kv_channels` when `rotary_pct == 1`),
  `base = rotary_emb_base)`: `inv_freq = 1 / base ** (arange(0, dim, 2) / dim)`, `emb = cat(freqs, freqs)`,
  applied NeoX-style (`rotate_half` on the two halves) to the first `dim` channels of each head, the rest
  passed through. Positions are the *indices into the (padded) sequence*, `arange(kv_seq_len)` sliced to the
  last `cur_len`: `position_ids` computed by `prepare_inputs_for_generation` are never used for rotary. With
  left padding, every row is therefore shifted by its pad count; RoPE scores depend only on relative
  positions, so this equals per-row positions up to float rounding.
* `QWenMLP`: `w1`, `w2`: `nn.Linear(hidden, intermediate_size // 2, bias=not no_bias)`,
  `c_proj`: `nn.Linear(intermediate_size // 2, hidden, bias=not no_bias)`;
  `out = c_proj(w1(x) * silu(w2(x)))`: the SiLU is on **w2**, w1 is the linear ("up") branch.
* `use_dynamic_ntk`: at prefill `ntk_alpha = max(2 ** ceil(log2(len / seq_length) + 1) - 1, 1)`, which is 1
  for any `len <= seq_length`; `base * ntk_alpha ** (dim / (dim - 2))` is then `base`.
  `use_logn_attn`: queries at (0-based) position p are scaled by `log(p + 1, seq_length)` when
  `p + 1 > seq_length`, else by 1. Neither changes anything while sequences stay within `seq_length`;
  this reference implements both anyway (dynamic NTK from the prefill length, as the original caches it),
  and the fixtures keep every sequence far below `seq_length`.
* Hidden states (`output_hidden_states`): the input of every block (the embedding first), then the output of
  `ln_f`: `num_hidden_layers + 1` tensors, the last one post-norm.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        out = (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x)
        return out * self.weight


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.hidden_size = cfg["hidden_size"]
        self.num_heads = cfg["num_attention_heads"]
        self.head_dim = self.hidden_size // self.num_heads
        projection = cfg["kv_channels"] * self.num_heads
        assert projection == self.hidden_size, "Qwen-1 splits c_attn by hidden_size; kv_channels*heads must equal it"
        self.c_attn = nn.Linear(self.hidden_size, 3 * projection)  # always with bias
        self.c_proj = nn.Linear(self.hidden_size, projection, bias=not cfg["no_bias"])

    def forward(self, x, cos, sin, seq_start, logn, attn_bias):
        b, t, _ = x.shape
        q, k, v = self.c_attn(x).split(self.hidden_size, dim=2)
        q = q.view(b, t, self.num_heads, self.head_dim)
        k = k.view(b, t, self.num_heads, self.head_dim)
        v = v.view(b, t, self.num_heads, self.head_dim)
        rot = cos.shape[-1]
        c = cos[None, :, None, :]
        s = sin[None, :, None, :]

        def rope(u):
            u_rot, u_pass = u[..., :rot].float(), u[..., rot:].float()
            return torch.cat((u_rot * c + _rotate_half(u_rot) * s, u_pass), dim=-1).type_as(u)

        q, k = rope(q), rope(k)
        if logn is not None:
            q = q * logn[None, seq_start : seq_start + t, None, None].type_as(q)
        q, k, v = (u.permute(0, 2, 1, 3) for u in (q, k, v))
        w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=q.dtype)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        w = torch.where(causal, w, torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype))
        if attn_bias is not None:
            w = w + attn_bias
        w = F.softmax(w, dim=-1).type(q.dtype)
        out = torch.matmul(w, v).transpose(1, 2).contiguous().view(b, t, self.hidden_size)
        return self.c_proj(out)


class MLP(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        ff = cfg["intermediate_size"] // 2
        bias = not cfg["no_bias"]
        self.w1 = nn.Linear(cfg["hidden_size"], ff, bias=bias)
        self.w2 = nn.Linear(cfg["hidden_size"], ff, bias=bias)
        self.c_proj = nn.Linear(ff, cfg["hidden_size"], bias=bias)

    def forward(self, x):
        return self.c_proj(self.w1(x) * F.silu(self.w2(x)))


class Block(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.ln_1 = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])
        self.attn = Attention(cfg)
        self.ln_2 = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])
        self.mlp = MLP(cfg)

    def forward(self, x, *attn_args):
        x = x + self.attn(self.ln_1(x), *attn_args)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.wte = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.ln_f = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])


class Qwen1ForCausalLM(nn.Module):
    """State-dict names match the published checkpoints: `transformer.wte.weight`, `transformer.h.N.ln_1.weight`,
    `transformer.h.N.attn.c_attn.{weight,bias}`, `transformer.h.N.attn.c_proj.weight`, `transformer.h.N.ln_2.weight`,
    `transformer.h.N.mlp.{w1,w2,c_proj}.weight`, `transformer.ln_f.weight`, `lm_head.weight`."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.transformer = Transformer(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        kv = cfg["kv_channels"]
        pct = cfg["rotary_pct"]
        self.rotary_dim = kv if pct == 1.0 else int(kv * pct)
        self.base = cfg["rotary_emb_base"]
        self.seq_length = cfg["seq_length"]

    def _rotary(self, length: int, ntk_alpha: float):
        dim = self.rotary_dim
        base = self.base * ntk_alpha ** (dim / (dim - 2))
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        cached = max(2 * length, 16)  # the original builds a table of max(2 * seqlen, 16) rows and slices it
        freqs = torch.outer(torch.arange(cached).type_as(inv_freq), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[:length], emb.sin()[:length]

    def _ntk_alpha(self, length: int) -> float:
        if not self.cfg.get("use_dynamic_ntk", False):
            return 1.0
        context_value = math.log(length / self.seq_length, 2) + 1
        return max(2 ** math.ceil(context_value) - 1, 1)

    @torch.no_grad()
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, output_hidden_states=False):
        """Full (cache-free) forward over `input_ids` [B, T]. `attention_mask` [B, T] of 0/1 marks padding.
        Positions are sequence indices 0..T-1, as in the original (see module docstring)."""
        b, t = input_ids.shape
        x = self.transformer.wte(input_ids)
        dtype = x.dtype
        attn_bias = None
        if attention_mask is not None:
            m = attention_mask.view(b, -1)[:, None, None, :].to(dtype)
            attn_bias = (1.0 - m) * torch.finfo(dtype).min
        # Dynamic NTK: the original derives alpha from the (whole) prefill length and keeps it while decoding;
        # a cache-free recompute over the full sequence only matches while length <= seq_length (alpha == 1).
        assert t <= self.seq_length, "fixture sequences must stay within seq_length (NTK/logn inactive)"
        cos, sin = self._rotary(t, self._ntk_alpha(t))
        logn = None
        if self.cfg.get("use_logn_attn", False):
            logn = torch.tensor(
                [math.log(i, self.seq_length) if i > self.seq_length else 1 for i in range(1, t + 1)]
            )
        hidden = []
        for block in self.transformer.h:
            if output_hidden_states:
                hidden.append(x)
            x = block(x, cos, sin, 0, logn, attn_bias)
        x = self.transformer.ln_f(x)
        if output_hidden_states:
            hidden.append(x)
        logits = self.lm_head(x)
        return logits, (tuple(hidden) if output_hidden_states else None)

    @torch.no_grad()
    def greedy(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, new_tokens: int):
        """Greedy decoding without EOS stopping: returns (tokens [B, new_tokens], raw logits [new_tokens, B, V]).
        Recomputes the full sequence each step (no KV cache); the original's cached decode computes the same
        function (same index positions, same masks), so results agree up to float rounding."""
        ids, mask = input_ids, attention_mask
        toks, steps = [], []
        for _ in range(new_tokens):
            logits, _ = self.forward(ids, mask)
            last = logits[:, -1, :]
            nxt = last.argmax(-1)
            steps.append(last)
            toks.append(nxt)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        return torch.stack(toks, dim=1), torch.stack(steps, dim=0)
