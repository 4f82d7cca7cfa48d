#!/usr/bin/env python3
"""Golden reference for noggin's forward pass on the shipped tiny reasoner: PyTorch greedy decoding in float64.

    /usr/bin/python3 golden.py --gguf ../../models/noggin-tiny-reasoner.gguf \
        --out ../../tests/data/tiny-reasoner-reference.json

The weights are read from the GGUF itself (gguf-py from ../../../shared/reference/gguf-py, or any `gguf` on the
path): F16 matrices widen exactly to float64, so the reference is the exact math of the file noggin loads,
computed by an independent implementation (model.py, PyTorch, float64). The tokenizer is rebuilt from the GGUF's
vocabulary and merges with tokenizer.py. For each prompt the file holds:
  question, prompt (the rendered chat text), prompt_ids,
  ids: the greedy continuation (thinking, `</think>`, answer, up to `<｜end▁of▁sentence｜>` or --max-new),
  top: per generated step the --top-k best [id, logit] pairs (logits rounded to 1e-5),
  min_margin: the smallest gap between the best and second-best logit over the steps (how far every greedy
  choice is from a tie; a consumer's tolerance on logits must stay well below it).
The file also records the GGUF's byte size and its FNV-1a 64 hash, so a test can tell "the model changed,
regenerate this file" apart from a real mismatch.
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import render  # noqa: E402
from model import Config, Qwen2  # noqa: E402
from tokenizer import BPE, EOS  # noqa: E402

# Plain questions as people type them: every task kind, held-out-style operands, a few edge cases.
QUESTIONS = [
    "What is 4821+937?", "What is 5000-1234?", "Which is larger, 381 or 318?",
    "Mira has 12 apples and gives 5 to Tom. How many does she have left?",
    "What is 482913+735288?", "Tom has 45 coins and finds 38 more. How many coins does he have now?",
    "What is 7+5?", "What is 999+1?", "What is 1000-1?", "What is 305-708?", "What is 62-62?",
    "Which is smaller, 90210 or 90201?", "Which is larger, 7 or 12?", "What is 123456+654321?",
    "What is 8080+2020?", "What is 4096-512?",
    "How many times does apple appear in: apple, pear, apple, plum?",
    "A sword costs 120 gold and a shield costs 85 gold. How much gold do both cost?",
    "The castle is 40 miles away. Ana has walked 17 miles. How many miles are left?",
    "Ivo has 9 arrows and Lena has 14 arrows. Who has more arrows?",
    "There are 250 coins in the chest. Bram takes 75. How many coins are left in the chest?",
    "What is 31+69?", "What is 77777+22223?", "What is 6000-5999?",
]


def fnv1a64(path):
    h = 0xCBF29CE484222325
    with open(path, "rb") as f:
        for b in f.read():
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def gguf_module():
    try:
        import gguf  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "reference", "gguf-py"))
    import gguf
    return gguf


def load_gguf(path):
    """(Qwen2 model in float64 with the file's weights, BPE tokenizer from the file's vocabulary)."""
    gguf = gguf_module()
    r = gguf.GGUFReader(path)
    field = lambda k: r.fields[k].contents()
    arch = field("general.architecture")
    if arch != "qwen2":
        raise SystemExit(f"{path}: architecture {arch!r}, expected qwen2")
    W = {}
    for t in r.tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        W[t.name] = torch.tensor(a, dtype=torch.float64).reshape(tuple(int(n) for n in reversed(t.shape.tolist())))
    n_embd = int(field(f"{arch}.embedding_length"))
    cfg = Config(n_vocab=W["token_embd.weight"].shape[0], n_embd=n_embd, n_layer=int(field(f"{arch}.block_count")),
                 n_head=int(field(f"{arch}.attention.head_count")),
                 n_head_kv=int(field(f"{arch}.attention.head_count_kv")),
                 n_ff=int(field(f"{arch}.feed_forward_length")), rope_theta=float(field(f"{arch}.rope.freq_base")),
                 rms_eps=float(field(f"{arch}.attention.layer_norm_rms_epsilon")),
                 n_ctx=int(field(f"{arch}.context_length")), tie_output="output.weight" not in W)
    model = Qwen2(cfg).double()
    sd = {"embed.weight": W["token_embd.weight"], "norm.weight": W["output_norm.weight"]}
    if not cfg.tie_output:
        sd["out.weight"] = W["output.weight"]
    names = {"attn_norm.weight": "attn_norm.weight", "q.weight": "attn_q.weight", "q.bias": "attn_q.bias",
             "k.weight": "attn_k.weight", "k.bias": "attn_k.bias", "v.weight": "attn_v.weight",
             "v.bias": "attn_v.bias", "o.weight": "attn_output.weight", "ffn_norm.weight": "ffn_norm.weight",
             "gate.weight": "ffn_gate.weight", "up.weight": "ffn_up.weight", "down.weight": "ffn_down.weight"}
    for i in range(cfg.n_layer):
        for ours, theirs in names.items():
            sd[f"blocks.{i}.{ours}"] = W[f"blk.{i}.{theirs}"]
    model.load_state_dict(sd)
    # model.py keeps float32 RoPE tables; recompute them in float64 for the exact reference.
    half = cfg.head_dim // 2
    inv = cfg.rope_theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / cfg.head_dim)
    ang = torch.arange(cfg.n_ctx, dtype=torch.float64)[:, None] * inv[None, :]
    model.cos, model.sin = torch.cos(ang), torch.sin(ang)
    model.eval()

    tokens = list(field("tokenizer.ggml.tokens"))
    merges = list(field("tokenizer.ggml.merges"))
    types = list(field("tokenizer.ggml.token_type"))
    added = [dict(id=i, content=tokens[i], special=types[i] == 3) for i in range(len(tokens)) if types[i] in (3, 4)]
    return model, BPE(tokens, merges, added)


@torch.no_grad()
def greedy(model, tok, prompt_ids, max_new, top_k):
    eos = tok.id(EOS)
    caches = [dict() for _ in model.blocks]
    logits = model(torch.tensor([prompt_ids]), 0, caches)[0, -1]
    pos, ids, top, margin = len(prompt_ids), [], [], float("inf")
    while len(ids) < max_new:
        v, i = torch.topk(logits, top_k)
        top.append([[int(a), round(float(b), 5)] for a, b in zip(i, v)])
        margin = min(margin, float(v[0] - v[1]))
        t = int(i[0])
        ids.append(t)
        if t == eos or pos + 1 >= model.cfg.n_ctx:
            break
        logits = model(torch.tensor([[t]]), pos, caches)[0, -1]
        pos += 1
    return ids, top, margin


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=os.path.join(HERE, "..", "..", "models", "noggin-tiny-reasoner.gguf"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "data", "tiny-reasoner-reference.json"))
    ap.add_argument("--max-new", type=int, default=200)
    ap.add_argument("--top-k", type=int, default=4)
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, tok = load_gguf(a.gguf)
    cases = []
    for q in QUESTIONS:
        prompt, _ = render(q, [], "")
        pids = tok.encode(prompt)
        ids, top, margin = greedy(model, tok, pids, a.max_new, a.top_k)
        cases.append(dict(question=q, prompt=prompt, prompt_ids=pids, ids=ids, text=tok.decode(ids),
                          min_margin=round(margin, 5), top=top))
        print(f"{len(ids):4d} tokens, min margin {margin:8.5f}: {q} -> {tok.decode(ids)[-40:]!r}", flush=True)
    out = dict(format="noggin-golden-1", model=os.path.basename(a.gguf), model_bytes=os.path.getsize(a.gguf),
               model_fnv1a64="%016x" % fnv1a64(a.gguf), reference="PyTorch float64, weights from the GGUF, greedy",
               top_k=a.top_k, max_new=a.max_new, cases=cases)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(cases)} cases, {sum(len(c['ids']) for c in cases)} steps, smallest margin "
          f"{min(c['min_margin'] for c in cases):.5f} -> {a.out}")


if __name__ == "__main__":
    main()
