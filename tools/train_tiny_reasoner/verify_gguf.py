#!/usr/bin/env python3
"""Check a packed GGUF against the PyTorch checkpoint it came from, with the shared float64 reference forward
pass (shared/reference/reference_forward.py, llama.cpp's qwen2 semantics) and gguf-py's reader.

    /usr/bin/python3 verify_gguf.py --run runs/main --gguf ../../models/noggin-tiny-reasoner.gguf

Prints NMSE between the reference logits (F16 weights from the GGUF) and PyTorch's (F32 weights) on a rendered
problem, whether the greedy next tokens agree, and that the GGUF's tokenizer metadata equals ours.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, "/work/shared/reference")
from data import render, gen_add  # noqa: E402
from eval import load  # noqa: E402
import random  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/main")
    ap.add_argument("--ckpt", default=None)
    ap.add_argument("--gguf", required=True)
    a = ap.parse_args()
    import reference_forward as rf
    model, tok, ck = load(a.run, a.ckpt)
    q, lines, ans, _ = gen_add(random.Random(5), 4, 3, heldout=True, canonical=True)
    p, c = render(q, lines, ans)
    ids = tok.encode(p) + tok.encode(c)
    with torch.no_grad():
        ours = model(torch.tensor([ids]))[0].double().numpy()
    m = rf.load_model(a.gguf)
    ref = rf.forward(m, ids)
    nmse = float(((ours - ref) ** 2).sum() / (ref ** 2).sum())
    agree = float((ours.argmax(-1) == ref.argmax(-1)).mean())
    print(f"{len(ids)} tokens: NMSE(pytorch f32, reference on gguf f16) = {nmse:.3e}; argmax agreement {agree:.3f}")
    r = rf.gguf.GGUFReader(a.gguf)
    toks = rf._field(r, "tokenizer.ggml.tokens")
    merges = rf._field(r, "tokenizer.ggml.merges")
    ok_tok = list(toks) == tok.tokens and list(merges) == tok.merges
    print("tokenizer metadata matches:", ok_tok, f"({len(toks)} tokens, {len(merges)} merges)")
    print("file size:", os.path.getsize(a.gguf), "bytes")
    sys.exit(0 if (nmse < 1e-4 and agree > 0.99 and ok_tok) else 1)


if __name__ == "__main__":
    main()
