#!/usr/bin/env python3
"""Export a trained checkpoint to the intermediate format that pack_gguf.cpp turns into a GGUF file.

    /usr/bin/python3 export.py --run runs/main --out runs/main/export
    build/noggin-pack-tiny runs/main/export ../../models/noggin-tiny-reasoner.gguf

Intermediate format ("noggin-tiny-export 1"), two files in --out:
  manifest.txt  UTF-8 text, one record per line, fields separated by single spaces; every string (keys
                excepted, they are plain ASCII) is written as lowercase hex of its UTF-8 bytes ("-" for empty):
      noggin-tiny-export 1
      kv <key> u32|i32|u64 <decimal>
      kv <key> f32 <8 hex digits: the IEEE bits, big-endian order of the hex>   e.g. 3f800000 = 1.0
      kv <key> bool 0|1
      kv <key> str <hex>
      kv <key> strarr <count>            followed by <count> lines, each one <hex> string
      kv <key> i32arr <count> <v0> <v1> ...   (all on one line)
      tensor <name> f16|f32 <n_dims> <ne0> <ne1> ... <offset>
                (ne0 = innermost dimension, as in GGUF; <offset> = index of the first float in weights.f32;
                 the tensor's ne0*ne1*... floats follow contiguously, ne0 fastest; f16/f32 = the dtype to store)
      end
  weights.f32   all tensors as little-endian IEEE f32, concatenated.
Tensor names and orientation are llama.cpp's qwen2 GGUF names: a PyTorch Linear weight [out, in] is stored as
is, i.e. ne = {in, out}; token_embd [n_vocab, n_embd] has ne = {n_embd, n_vocab}. Norm weights and biases
are F32, matrices F16.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import config_from_dict  # noqa: E402
from tokenizer import BPE  # noqa: E402

TEMPLATE_PATH = "/work/shared/tokenizers/deepseek-r1-distill-qwen/tokenizer_config.json"


def hexs(s):
    b = s.encode("utf-8")
    return b.hex() if b else "-"


def chat_template(path=None):
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat_template.jinja")
    if os.path.exists(here):
        with open(here, encoding="utf-8") as f:
            return f.read()
    with open(path or TEMPLATE_PATH, encoding="utf-8") as f:
        return json.load(f)["chat_template"]


def tensors_of(sd, cfg):
    """(gguf name, numpy f32 array in PyTorch layout, store dtype) in GGUF order."""
    out = [("token_embd.weight", sd["embed.weight"], "f16")]
    for i in range(cfg.n_layer):
        p, q = f"blocks.{i}.", f"blk.{i}."
        out += [
            (q + "attn_norm.weight", sd[p + "attn_norm.weight"], "f32"),
            (q + "attn_q.weight", sd[p + "q.weight"], "f16"),
            (q + "attn_q.bias", sd[p + "q.bias"], "f32"),
            (q + "attn_k.weight", sd[p + "k.weight"], "f16"),
            (q + "attn_k.bias", sd[p + "k.bias"], "f32"),
            (q + "attn_v.weight", sd[p + "v.weight"], "f16"),
            (q + "attn_v.bias", sd[p + "v.bias"], "f32"),
            (q + "attn_output.weight", sd[p + "o.weight"], "f16"),
            (q + "ffn_norm.weight", sd[p + "ffn_norm.weight"], "f32"),
            (q + "ffn_gate.weight", sd[p + "gate.weight"], "f16"),
            (q + "ffn_up.weight", sd[p + "up.weight"], "f16"),
            (q + "ffn_down.weight", sd[p + "down.weight"], "f16"),
        ]
    out.append(("output_norm.weight", sd["norm.weight"], "f32"))
    if "out.weight" in sd:
        out.append(("output.weight", sd["out.weight"], "f16"))
    return [(n, t.detach().float().numpy(), d) for n, t, d in out]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/main")
    ap.add_argument("--ckpt", default=None, help="default: RUN/final.pt, else RUN/ckpt.pt")
    ap.add_argument("--out", default=None, help="default: RUN/export")
    ap.add_argument("--name", default="noggin-tiny-reasoner")
    a = ap.parse_args()
    ck = a.ckpt or (os.path.join(a.run, "final.pt") if os.path.exists(os.path.join(a.run, "final.pt"))
                    else os.path.join(a.run, "ckpt.pt"))
    out = a.out or os.path.join(a.run, "export")
    os.makedirs(out, exist_ok=True)
    st = torch.load(ck, map_location="cpu")
    cfg = config_from_dict(st["config"])
    tok = BPE.load(os.path.join(a.run, "tokenizer.json"))
    assert tok.n_vocab == cfg.n_vocab

    f32 = lambda v: "%08x" % struct.unpack("<I", struct.pack("<f", v))[0]
    L = ["noggin-tiny-export 1"]
    kv = lambda k, t, v: L.append(f"kv {k} {t} {v}")
    arch = "qwen2"
    kv("general.architecture", "str", hexs(arch))
    kv("general.name", "str", hexs(a.name))
    kv("general.license", "str", hexs("mit"))
    kv("general.description", "str", hexs(
        "Tiny R1-style reasoning model trained by noggin's tools/train_tiny_reasoner on synthetic arithmetic, "
        "comparison, counting and word problems with step-by-step thinking."))
    kv("general.file_type", "u32", 1)   # LLAMA_FTYPE_MOSTLY_F16
    kv(f"{arch}.context_length", "u32", cfg.n_ctx)
    kv(f"{arch}.embedding_length", "u32", cfg.n_embd)
    kv(f"{arch}.block_count", "u32", cfg.n_layer)
    kv(f"{arch}.feed_forward_length", "u32", cfg.n_ff)
    kv(f"{arch}.attention.head_count", "u32", cfg.n_head)
    kv(f"{arch}.attention.head_count_kv", "u32", cfg.n_head_kv)
    kv(f"{arch}.attention.key_length", "u32", cfg.head_dim)
    kv(f"{arch}.attention.value_length", "u32", cfg.head_dim)
    kv(f"{arch}.rope.dimension_count", "u32", cfg.head_dim)
    kv(f"{arch}.rope.freq_base", "f32", f32(cfg.rope_theta))
    kv(f"{arch}.attention.layer_norm_rms_epsilon", "f32", f32(cfg.rms_eps))
    # tokenizer (llama.cpp: gpt2 BPE model with the qwen2 pre-tokenizer)
    kv("tokenizer.ggml.model", "str", hexs("gpt2"))
    kv("tokenizer.ggml.pre", "str", hexs("qwen2"))
    L.append(f"kv tokenizer.ggml.tokens strarr {tok.n_vocab}")
    L.extend(hexs(t) for t in tok.tokens)
    types = [1] * tok.n_vocab                       # NORMAL
    for ad in tok.added:
        types[ad["id"]] = 3 if ad["special"] else 4  # CONTROL / USER_DEFINED (as convert_hf_to_gguf does)
    L.append("kv tokenizer.ggml.token_type i32arr %d %s" % (len(types), " ".join(map(str, types))))
    L.append(f"kv tokenizer.ggml.merges strarr {len(tok.merges)}")
    L.extend(hexs(m) for m in tok.merges)
    kv("tokenizer.ggml.bos_token_id", "u32", tok.id("<｜begin▁of▁sentence｜>"))
    kv("tokenizer.ggml.eos_token_id", "u32", tok.id("<｜end▁of▁sentence｜>"))
    kv("tokenizer.ggml.padding_token_id", "u32", tok.id("<｜end▁of▁sentence｜>"))
    kv("tokenizer.ggml.add_bos_token", "bool", 1)
    kv("tokenizer.ggml.add_eos_token", "bool", 0)
    kv("tokenizer.chat_template", "str", hexs(chat_template()))

    blobs, off = [], 0
    for name, arr, dt in tensors_of(st["model"], cfg):
        arr = np.ascontiguousarray(arr, dtype="<f4")
        ne = list(reversed(arr.shape))               # numpy (out, in) -> ne {in, out}
        L.append(f"tensor {name} {dt} {len(ne)} {' '.join(map(str, ne))} {off}")
        blobs.append(arr.tobytes())
        off += arr.size
    L.append("end")
    with open(os.path.join(out, "manifest.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(str(x) for x in L) + "\n")
    with open(os.path.join(out, "weights.f32"), "wb") as f:
        for b in blobs:
            f.write(b)
    print(f"exported {ck}: {off} floats, {len(L)} manifest lines -> {out}")


if __name__ == "__main__":
    main()
