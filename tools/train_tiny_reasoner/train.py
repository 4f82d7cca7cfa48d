#!/usr/bin/env python3
"""Train the tiny reasoner (one run, time-budgeted, resumable).

    nice -n 19 env OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 train.py --run runs/main --minutes 70

Re-running the same command resumes from runs/main/ckpt.pt (written every --ckpt-every seconds and at the end).
Progress (learning-rate schedule and curriculum) is measured in training wall-clock seconds, stored in the
checkpoint, so an interrupted run continues where it stopped and the total stays within --minutes.
The data stream is a deterministic function of (seed, pool index), so a resumed run sees fresh, reproducible data.
"""
import argparse
import json
import math
import os
import random
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import sample, render, gen_add, gen_word  # noqa: E402
from model import Config, Qwen2, config_to_dict, config_from_dict  # noqa: E402
from tokenizer import BPE, END_THINK, train_bpe  # noqa: E402

EMPTY_SHARE = 0.12


def build_tokenizer(path, vocab_size, seed):
    rng = random.Random(seed ^ 0x5EED)
    texts = []
    for i in range(12000):
        q, lines, a, _ = sample(rng, rng.random())
        p, c = render(q, lines, a)
        texts.append(p + c)
    tok = train_bpe(texts, vocab_size)
    tok.save(path)
    return tok


def make_pool(tok, seed, pool_idx, progress, n=512):
    """n tokenized samples: (ids, n_unsupervised) lists; deterministic in (seed, pool_idx). The prompt is never a
    target; an empty thought is not one either: those samples teach the answer after a `</think>` that the runtime
    forces, and learning to emit the empty thought itself taught the model to skip thinking on unfamiliar
    questions (17% of held-out word problems in the stop-12 model)."""
    rng = random.Random(seed * 1_000_003 + pool_idx)
    out = []
    for _ in range(n):
        q, lines, a, _ = sample(rng, progress)
        empty = rng.random() < EMPTY_SHARE
        p, c = render(q, lines, a, empty=empty, empty_style=rng.randrange(2))
        pi, ci = tok.encode(p), tok.encode(c)
        unsupervised = len(pi) + (ci.index(tok.id(END_THINK)) + 1 if empty else 0)
        out.append((pi + ci, unsupervised))
    return out


def batches_from_pool(pool, max_tokens, rng):
    pool = sorted(pool, key=lambda s: len(s[0]))
    batches, cur = [], []
    for s in pool:
        L = len(s[0])
        if cur and (len(cur) + 1) * max(L, len(cur[-1][0])) > max_tokens:
            batches.append(cur)
            cur = []
        cur.append(s)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def to_tensors(batch, pad_id):
    T = max(len(s[0]) for s in batch)
    x = torch.full((len(batch), T), pad_id, dtype=torch.long)
    y = torch.full((len(batch), T), -100, dtype=torch.long)
    for i, (ids, npr) in enumerate(batch):
        t = torch.tensor(ids, dtype=torch.long)
        x[i, :len(ids)] = t
        # target at position j is ids[j+1]; the unsupervised head (prompt, empty thought) is masked
        y[i, npr - 1:len(ids) - 1] = t[npr:]
    return x, y


def lr_at(progress, base_lr, warm_frac=0.02, min_frac=0.05):
    if progress < warm_frac:
        return base_lr * progress / warm_frac
    p = (progress - warm_frac) / (1 - warm_frac)
    return base_lr * (min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def quick_probe(model, tok, seed):
    from generate import solve
    rng = random.Random(seed + 777)
    qs, vals = [], []
    for _ in range(24):
        q, _, _, m = gen_add(rng, rng.randint(3, 4), rng.randint(3, 4), heldout=True, canonical=True)
        qs.append(q); vals.append(m["value"])
    res = {}
    for name, budget in (("think", None), ("nothink", 0)):
        outs = solve(model, tok, qs, budget=budget, max_think=200, max_answer=24)
        ok = sum(o["answer"].rstrip(".").split("=")[-1].strip() == str(v) for o, v in zip(outs, vals))
        res[name] = ok / len(qs)
    model.train()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/main")
    ap.add_argument("--minutes", type=float, default=70.0, help="total training wall time (over all resumes)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-head-kv", type=int, default=2)
    ap.add_argument("--n-ff", type=int, default=384)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch-tokens", type=int, default=6144)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-every", type=float, default=180.0, help="seconds")
    ap.add_argument("--probe-every", type=float, default=600.0, help="seconds (0: never)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.run, exist_ok=True)
    tok_path = os.path.join(a.run, "tokenizer.json")
    ckpt_path = os.path.join(a.run, "ckpt.pt")
    log_path = os.path.join(a.run, "log.jsonl")

    if os.path.exists(tok_path):
        tok = BPE.load(tok_path)
    else:
        t0 = time.time()
        tok = build_tokenizer(tok_path, a.vocab, a.seed)
        print(f"tokenizer: {tok.n_vocab} tokens, {len(tok.merges)} merges, {time.time() - t0:.1f}s", flush=True)

    state = None
    if os.path.exists(ckpt_path):
        state = torch.load(ckpt_path)
        cfg = config_from_dict(state["config"])
        print(f"resuming from {ckpt_path}: pool {state['pool_idx']}, {state['train_seconds']:.0f}s, "
              f"{state['tokens']} tokens", flush=True)
    else:
        cfg = Config(n_vocab=tok.n_vocab, n_embd=a.n_embd, n_layer=a.n_layer, n_head=a.n_head,
                     n_head_kv=a.n_head_kv, n_ff=a.n_ff)
    model = Qwen2(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-8)
    pool_idx, train_seconds, tokens, steps = 0, 0.0, 0, 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        pool_idx, train_seconds, tokens, steps = state["pool_idx"], state["train_seconds"], state["tokens"], state["steps"]
        torch.set_rng_state(state["torch_rng"])
    print(f"model: {model.n_params()} params, config {config_to_dict(cfg)}", flush=True)
    budget = a.minutes * 60.0
    pad = tok.id("<｜end▁of▁sentence｜>")

    def save():
        tmp = ckpt_path + ".tmp"
        torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), config=config_to_dict(cfg),
                        pool_idx=pool_idx, train_seconds=train_seconds, tokens=tokens, steps=steps,
                        torch_rng=torch.get_rng_state(), args=vars(a)), tmp)
        os.replace(tmp, ckpt_path)

    model.train()
    last_ckpt = last_probe = last_log = time.time()
    ema, tok_window, t_window = None, 0, time.time()
    logf = open(log_path, "a")
    while train_seconds < budget:
        progress = train_seconds / budget
        t_pool = time.time()
        pool = make_pool(tok, a.seed, pool_idx, progress)
        brng = random.Random(a.seed * 7 + pool_idx)
        for batch in batches_from_pool(pool, a.batch_tokens, brng):
            x, y = to_tensors(batch, pad)
            lr = lr_at(min(1.0, (train_seconds + time.time() - t_pool) / budget), a.lr)
            for g in opt.param_groups:
                g["lr"] = lr
            logits = model(x)
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            n_tok = sum(len(s[0]) for s in batch)
            tokens += n_tok
            tok_window += n_tok
            steps += 1
            ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        pool_idx += 1
        now = time.time()
        train_seconds += now - t_pool   # data generation counts too: it is part of the run's wall time
        if now - last_log >= 30:
            tps = tok_window / (now - t_window)
            rec = dict(t=round(train_seconds), progress=round(train_seconds / budget, 4), steps=steps,
                       tokens=tokens, loss=round(ema, 4), lr=round(lr, 6), tok_per_s=round(tps))
            print(json.dumps(rec), flush=True)
            logf.write(json.dumps(rec) + "\n"); logf.flush()
            last_log, tok_window, t_window = now, 0, now
        if a.probe_every and now - last_probe >= a.probe_every:
            tp = time.time()
            pr = quick_probe(model, tok, a.seed)
            rec = dict(t=round(train_seconds), probe=pr, probe_seconds=round(time.time() - tp, 1))
            print(json.dumps(rec), flush=True)
            logf.write(json.dumps(rec) + "\n"); logf.flush()
            last_probe = time.time()
        if now - last_ckpt >= a.ckpt_every:
            save()
            last_ckpt = now
    save()
    torch.save(dict(model=model.state_dict(), config=config_to_dict(cfg)), os.path.join(a.run, "final.pt"))
    rec = dict(done=True, t=round(train_seconds), tokens=tokens, steps=steps, loss=round(ema or 0, 4))
    print(json.dumps(rec), flush=True)
    logf.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
