#!/usr/bin/env python3
"""Batched greedy decoding with a KV cache and budget forcing (used by train.py's probes and eval.py).

Budget forcing: once a sequence has produced `budget` thinking tokens without closing its thought, `</think>` is
forced (preceded by a newline token if the thought so far does not end with one, as the training data always has
"\\n</think>"). budget=0 forces `</think>` right after the prompt's `<think>\\n`; budget=None is unlimited.
"""
import torch

from data import render
from tokenizer import END_THINK, EOS


@torch.no_grad()
def generate_batch(model, tok, prompts_ids, budget=None, max_think=400, max_answer=48):
    """prompts_ids: list of equal-length id lists. Returns list of dicts {think_ids, answer_ids, text, answer}."""
    B = len(prompts_ids)
    assert len({len(p) for p in prompts_ids}) == 1
    eot, eos = tok.id(END_THINK), tok.id(EOS)
    nl = tok.tok2id["Ċ"]
    ends_nl = [tok.decode([i]).endswith("\n") if i < tok.n_vocab else False for i in range(tok.n_vocab)]
    model.eval()
    caches = [dict() for _ in model.blocks]
    x = torch.tensor(prompts_ids, dtype=torch.long)
    pos = x.shape[1]
    logits = model(x, 0, caches)[:, -1]
    think = [[] for _ in range(B)]
    ans = [[] for _ in range(B)]
    phase = [0] * B          # 0 thinking, 1 answering, 2 done
    forced = [[] for _ in range(B)]
    last = [prompts_ids[b][-1] for b in range(B)]
    for _ in range(max_think + max_answer + 4):
        if all(p == 2 for p in phase):
            break
        nxt = logits.argmax(-1).tolist()
        step = []
        for b in range(B):
            if phase[b] == 2:
                step.append(eos)
                continue
            if phase[b] == 0 and not forced[b]:
                n = len(think[b])
                if (budget is not None and n >= budget) or n >= max_think:
                    forced[b] = [eot] if ends_nl[last[b]] else [nl, eot]
            t = forced[b].pop(0) if forced[b] else nxt[b]
            if phase[b] == 0:
                if t == eot:
                    phase[b] = 1
                else:
                    think[b].append(t)
            elif phase[b] == 1:
                if t == eos or len(ans[b]) >= max_answer:
                    phase[b] = 2
                else:
                    ans[b].append(t)
            last[b] = t
            step.append(t)
        logits = model(torch.tensor(step, dtype=torch.long)[:, None], pos, caches)[:, -1]
        pos += 1
        if pos >= model.cfg.n_ctx - 1:
            break
    out = []
    for b in range(B):
        out.append(dict(think_ids=think[b], answer_ids=ans[b], think=tok.decode(think[b]),
                        answer=tok.decode(ans[b]).strip()))
    return out


def solve(model, tok, questions, budget=None, batch=256, **kw):
    """Greedy answers for plain questions (rendered with the chat template). Groups equal prompt lengths."""
    prompts = []
    for q in questions:
        p, _ = render(q, [], "")
        prompts.append(tok.encode(p))
    order = {}
    for i, p in enumerate(prompts):
        order.setdefault(len(p), []).append(i)
    res = [None] * len(questions)
    for L, idx in order.items():
        for s in range(0, len(idx), batch):
            chunk = idx[s:s + batch]
            outs = generate_batch(model, tok, [prompts[i] for i in chunk], budget=budget, **kw)
            for i, o in zip(chunk, outs):
                res[i] = o
    return res
