#!/usr/bin/env python3
"""Held-out evaluation of the tiny reasoner: accuracy with thinking, with `</think>` forced at once, and with
thinking budgets (budget forcing: after N thinking tokens `</think>` is forced and the model answers).

    OMP_WAIT_POLICY=PASSIVE nice -n 19 /usr/bin/python3 eval.py --run runs/main --out results

Sets (seeded, disjoint from training: arithmetic pairs from the held-out hash class, word problems from
held-out sentence templates and names), all asked as plain questions through the chat template:
  add_3_4   "What is A+B?"   A, B with 3-4 digits
  sub_3_4   "What is A-B?"   A, B with 3-4 digits, A >= B
  sum_5_6   "What is A+B?"   A, B with 5-6 digits
  compare   "Which is larger, A or B?" (1-6 digits)
  word      held-out word problems (inventory, prices, distances, who has more); 5·n of them, because at
            ~25% accuracy 200 problems leave ±3 points of sampling noise on a lift target of 20 points
  count     item counting (not a target; reported for completeness)
A reply is correct when the last integer of its answer (the text after </think>) equals the expected value
(for "who has more" questions: the right name is in the answer and the other is not).
Writes OUT/results.json, OUT/results.md and OUT/accuracy_vs_budget.png.
"""
import argparse
import json
import os
import random
import re
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import gen_add, gen_sub, gen_cmp, gen_word, gen_count  # noqa: E402
from generate import solve  # noqa: E402
from model import Qwen2, config_from_dict  # noqa: E402
from tokenizer import BPE  # noqa: E402

BUDGETS = [0, 8, 16, 32, 64, None]
EXAMPLES = ["What is 4821+937?", "What is 5000-1234?", "Which is larger, 381 or 318?",
            "Mira has 12 apples and gives 5 to Tom. How many does she have left?",
            "What is 482913+735288?", "Tom has 45 coins and finds 38 more. How many coins does he have now?"]


def make_sets(n, seed):
    rng = random.Random(seed)
    sets = {}
    sets["add_3_4"] = [gen_add(rng, rng.randint(3, 4), rng.randint(3, 4), heldout=True, canonical=True)
                       for _ in range(n)]
    sets["sub_3_4"] = [gen_sub(rng, rng.randint(3, 4), rng.randint(3, 4), heldout=True, canonical=True,
                               allow_neg=False) for _ in range(n)]
    sets["sum_5_6"] = [gen_add(rng, rng.randint(5, 6), rng.randint(5, 6), heldout=True, canonical=True)
                       for _ in range(n)]
    sets["compare"] = [gen_cmp(rng, heldout=True, canonical=True) for _ in range(n)]
    sets["word"] = [gen_word(rng, heldout=True) for _ in range(5 * n)]  # the noisiest target: 5x the problems
    sets["count"] = [gen_count(rng, heldout=True) for _ in range(n // 2)]
    return sets


def correct(answer, meta):
    v = meta["value"]
    if isinstance(v, str):
        return v in answer and meta["other"] not in answer
    nums = re.findall(r"-?\d+", answer)
    return bool(nums) and int(nums[-1]) == v


def load(run, ckpt=None):
    ck = ckpt or (os.path.join(run, "final.pt") if os.path.exists(os.path.join(run, "final.pt"))
                  else os.path.join(run, "ckpt.pt"))
    st = torch.load(ck, map_location="cpu")
    model = Qwen2(config_from_dict(st["config"]))
    model.load_state_dict(st["model"])
    model.eval()
    return model, BPE.load(os.path.join(run, "tokenizer.json")), ck


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/main")
    ap.add_argument("--ckpt", default=None)
    ap.add_argument("--out", default="results")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, tok, ck = load(a.run, a.ckpt)
    os.makedirs(a.out, exist_ok=True)
    sets = make_sets(a.n, a.seed)
    results = {"checkpoint": os.path.basename(ck), "n_params": model.n_params(), "budgets": [
        "unlimited" if b is None else b for b in BUDGETS], "sets": {}, "mean_think_tokens": {}, "examples": []}
    t0 = time.time()
    for name, items in sets.items():
        qs = [it[0] for it in items]
        accs, lens = [], []
        for b in BUDGETS:
            outs = solve(model, tok, qs, budget=b, max_think=320, max_answer=40)
            acc = sum(correct(o["answer"], it[3]) for o, it in zip(outs, items)) / len(items)
            accs.append(round(100.0 * acc, 1))
            lens.append(round(sum(len(o["think_ids"]) for o in outs) / len(outs), 1))
            print(f"{name:8s} budget {str(b):>9s}: {100 * acc:5.1f}%  (mean thinking {lens[-1]} tokens)  "
                  f"[{time.time() - t0:.0f}s]", flush=True)
        results["sets"][name] = accs
        results["mean_think_tokens"][name] = lens
    for q in EXAMPLES:
        o_t = solve(model, tok, [q], budget=None)[0]
        o_n = solve(model, tok, [q], budget=0)[0]
        results["examples"].append(dict(question=q, thinking=o_t["think"], answer=o_t["answer"],
                                        answer_no_thinking=o_n["answer"]))
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
    hdr = ["set", "forced no-think (0)"] + [f"budget {b}" for b in BUDGETS[1:-1]] + ["thinking (unlimited)",
                                                                                   "lift (pts)"]
    md = [f"Held-out accuracy (%), {a.n} problems per set ({5 * a.n} for word, {a.n // 2} for count), greedy decoding, "
          f"checkpoint `{os.path.basename(ck)}`, {model.n_params()} parameters.", "",
          "| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for name, accs in results["sets"].items():
        md.append("| " + " | ".join([name] + [f"{x:.1f}" for x in accs] + [f"{accs[-1] - accs[0]:+.1f}"]) + " |")
    md += ["", "Mean thinking tokens per reply:", "", "| set | " + " | ".join(str(b) for b in results["budgets"]) + " |",
           "|" + "---|" * (len(BUDGETS) + 1)]
    for name, lens in results["mean_think_tokens"].items():
        md.append("| " + " | ".join([name] + [str(x) for x in lens]) + " |")
    md += ["", "Examples (greedy):", ""]
    for e in results["examples"]:
        one = lambda t: t.replace("\n", "⏎")
        md.append(f"- `{e['question']}` → with thinking: `{one(e['answer'])}` (thought: `{one(e['thinking'])}`); "
                  f"forced no-think: `{one(e['answer_no_thinking'])}`")
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        xs = list(range(len(BUDGETS)))
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for name, accs in results["sets"].items():
            ax.plot(xs, accs, marker="o", label=name)
        ax.set_xticks(xs)
        ax.set_xticklabels(["0\n(forced)"] + [str(b) for b in BUDGETS[1:-1]] + ["unlimited"])
        ax.set_xlabel("thinking budget (tokens)")
        ax.set_ylabel("held-out accuracy (%)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
        ax.set_title(f"noggin-tiny-reasoner ({model.n_params() / 1e6:.2f}M params): accuracy vs thinking budget")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, "accuracy_vs_budget.png"), dpi=110)
    except Exception as e:  # plotting is optional
        print("plot failed:", e)


if __name__ == "__main__":
    main()
