#!/usr/bin/env python3
"""Writes the fixtures of Tests/ModelFormatsTests and Tests/TensorKitTests/DTypeTests.

Run with: STEER_VENV=... scripts/py.sh scripts/make_format_fixtures.py
Everything the Swift tests compare against comes from here (torch, safetensors, gguf, transformers);
no expected number is typed by hand in the tests. Output: Tests/Fixtures/formats/.
Files with several metadata keys may differ between runs in header key order only (the library
writes metadata from a hash map); tests do not depend on that order.
"""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "formats"


def floats(t):
    """Exact float values for JSON (float32 -> Python float is exact; NaN/inf as strings)."""
    out = []
    for v in t.detach().to(torch.float32).reshape(-1).tolist():
        if v != v:
            out.append("nan")
        elif v in (float("inf"), float("-inf")):
            out.append("inf" if v > 0 else "-inf")
        else:
            out.append(v)
    return out


def dtype_fixtures():
    """Conversions by torch: f32 -> bf16/f16 for tricky inputs, and every 16-bit pattern -> f32."""
    g = torch.Generator().manual_seed(1234)
    f32 = torch.float32
    specials = torch.tensor([0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"), float("nan"),
                             3.4028234663852886e38, -3.4028234663852886e38, 1.17549435e-38, 1e-45,
                             65504.0, 65519.0, 65520.0, 6.1035156e-05, 5.9604645e-08, 2.9802322e-08,
                             2.9802326e-08, 1e-10, 1e10], dtype=f32)
    bits = torch.randint(0, 2**32, (8192,), generator=g, dtype=torch.int64)
    random_bits = bits.numpy().astype(np.uint32).view(np.float32)
    ties_bf16 = (torch.arange(0, 512, dtype=torch.int64) * 0x10000 + 0x3F808000).numpy().astype(np.uint32).view(np.float32)
    ties_f16 = (torch.arange(0, 512, dtype=torch.int64) * 0x4000 + 0x3F801000).numpy().astype(np.uint32).view(np.float32)
    subnormal_f16 = torch.linspace(-1e-4, 1e-4, 2001, dtype=f32)
    normal = torch.randn(8192, generator=g, dtype=f32) * 10
    x = torch.cat([specials, torch.from_numpy(random_bits.copy()), torch.from_numpy(ties_bf16.copy()),
                   torch.from_numpy(ties_f16.copy()), subnormal_f16, normal])
    all16 = torch.from_numpy(np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).copy())
    tensors = {
        "input_f32": x,
        "torch_bf16": x.to(torch.bfloat16),
        "torch_f16": x.to(torch.float16),
        # every bf16 / f16 bit pattern in order 0...65535, widened to f32 by torch
        "all_bf16_as_f32": all16.view(torch.bfloat16).to(f32),
        "all_f16_as_f32": all16.view(torch.float16).to(f32),
    }
    save_file(tensors, OUT / "dtypes.safetensors")


def small_files():
    """Small single files by the safetensors library, with expected values in JSON."""
    g = torch.Generator().manual_seed(7)
    expected = {}
    for dt, name in [(torch.float32, "F32"), (torch.float16, "F16"), (torch.bfloat16, "BF16")]:
        tensors = {
            "embed.weight": (torch.randn(5, 3, generator=g) * 3).to(dt),
            "layer.0.bias": torch.randn(7, generator=g).to(dt),
            "scalar": torch.tensor(2.5).to(dt),
            "empty": torch.zeros(0, 4).to(dt),
            "positions": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        }
        meta = {"format": "pt", "note": "fixture é\n\"quoted\""}
        fname = f"small_{name.lower()}.safetensors"
        save_file(tensors, OUT / fname, metadata=meta)
        raw = (OUT / fname).read_bytes()
        header_len = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + header_len])
        expected[fname] = {
            "metadata": meta,
            "header_length": header_len,
            "order": [k for k in header if k != "__metadata__"],
            "tensors": {k: {"dtype": header[k]["dtype"], "shape": list(v.shape),
                            "data_offsets": header[k]["data_offsets"],
                            "values": floats(v) if v.is_floating_point() else v.reshape(-1).tolist()}
                        for k, v in tensors.items()},
        }
    return expected


def writer_reference():
    """A file the Swift writer must reproduce byte for byte (single-key metadata keeps the
    header deterministic: the library writes metadata from a hash map)."""
    g = torch.Generator().manual_seed(99)
    tensors = {
        "b.weight": torch.randn(3, 4, generator=g),
        "a.weight": torch.randn(2, 2, generator=g).to(torch.bfloat16),
        "c.norm": torch.randn(5, generator=g).to(torch.float16),
        "a.ids": torch.tensor([1, -2, 3], dtype=torch.int64),
        "mask": torch.tensor([1, 0, 1], dtype=torch.uint8),
        "z.scale": torch.randn(1, generator=g),
    }
    save_file(tensors, OUT / "writer_reference.safetensors", metadata={"format": "pt"})
    return {k: {"dtype": {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16",
                          torch.int64: "I64", torch.uint8: "U8"}[v.dtype],
                "shape": list(v.shape),
                "bytes": list(v.contiguous().view(torch.uint8).reshape(-1).tolist())}
            for k, v in tensors.items()}


def sharded_model():
    """A tiny Llama saved by transformers with a small max_shard_size, so it is sharded."""
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
    model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    folder = OUT / "sharded"
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder, max_shard_size="4KB")
    (folder / "config.json").unlink(missing_ok=True)
    (folder / "generation_config.json").unlink(missing_ok=True)
    sd = model.state_dict()
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    return {"parameter_count": sum(v.numel() for k, v in sd.items() if k in index["weight_map"]),
            "weight_map": index["weight_map"],
            "values": {k: floats(sd[k]) for k in ["model.norm.weight", "model.layers.1.mlp.down_proj.weight"]},
            "shapes": {k: list(sd[k].shape) for k in index["weight_map"]}}


def control_vectors():
    """Control vectors written with gguf-py: repeng's way (u32 layer_count) and llama.cpp's (i32)."""
    import gguf
    g = torch.Generator().manual_seed(3)
    dirs = {layer: (torch.randn(12, generator=g)).numpy().astype(np.float32) for layer in [1, 2, 3, 5]}
    for name, count_type in [("cvec_repeng.gguf", "u32"), ("cvec_llamacpp.gguf", "i32")]:
        arch = "controlvector"
        w = gguf.GGUFWriter(str(OUT / name), arch)
        w.add_string(f"{arch}.model_hint", "llama")
        if count_type == "u32":
            w.add_uint32(f"{arch}.layer_count", len(dirs))
        else:
            w.add_int32(f"{arch}.layer_count", len(dirs))
        for layer, d in dirs.items():
            w.add_tensor(f"direction.{layer}", d)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    return {"model_hint": "llama", "layer_count": len(dirs),
            "directions": {str(k): [float(x) for x in v] for k, v in dirs.items()}}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    dtype_fixtures()
    expected = {
        "small": small_files(),
        "writer_reference": writer_reference(),
        "sharded": sharded_model(),
        "control_vector": control_vectors(),
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            print(f"{p.relative_to(OUT)}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
