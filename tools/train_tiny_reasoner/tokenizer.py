#!/usr/bin/env python3
"""Byte-level BPE tokenizer with the Qwen2 pre-tokenizer, as llama.cpp's `gpt2` model / `qwen2` pre type runs it.

Pipeline (encode):  NFC normalize -> split out added (special) tokens -> Qwen2 pre-tokenizer regex (implemented
by hand below, Python's `re` has no \\p{L}/\\p{N}) -> each piece's UTF-8 bytes mapped through GPT-2's
byte<->unicode table -> BPE merges applied by rank (lowest rank first) -> ids.

The Qwen2 pre-tokenizer regex:
    (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+
(leftmost alternative that matches wins, as in onig/fancy-regex). Digits split one by one.

Saved format (tokenizer.json of this tool, not HF's): {"tokens": [...], "merges": ["a b", ...],
"added": [{"id", "content", "special"}], ...}; tokens[i] is the byte-level string of id i.

`--check-qwen` runs the hand-written pre-tokenizer + BPE with the real Qwen vocabulary/merges from
/work/shared/tokenizers/deepseek-r1-distill-qwen/tokenizer.json against the reference ids in cases.jsonl.
"""
import json
import os
import sys
import unicodedata
from collections import Counter

SPECIALS = [  # (content, special) in R1-Distill-Qwen's id order; <think>/</think> are special=false there
    ("<｜end▁of▁sentence｜>", True),
    ("<｜User｜>", True),
    ("<｜Assistant｜>", True),
    ("<｜begin▁of▁sentence｜>", True),
    ("<think>", False),
    ("</think>", False),
]
EOS, USER, ASSISTANT, BOS, THINK, END_THINK = (s for s, _ in SPECIALS)


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode char table (the order is the id order of the 256 base tokens)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs])), bs


BYTE2U, BYTE_ORDER = bytes_to_unicode()
U2BYTE = {u: b for b, u in BYTE2U.items()}


# ---------------------------------------------------------------- Qwen2 pre-tokenizer, by hand
def _is_l(c):
    return unicodedata.category(c)[0] == "L"


def _is_n(c):
    return unicodedata.category(c)[0] == "N"


def _is_s(c):
    # \s of the Rust regex / onig (Unicode White_Space); str.isspace also counts \x1c-\x1f, close enough here
    return c.isspace()


def _is_nl(c):
    return c == "\r" or c == "\n"


def pretokenize(text):
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        # 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if c == "'" and i + 1 < n:
            two = text[i + 1:i + 3].lower()
            if two in ("re", "ve", "ll"):
                out.append(text[i:i + 3]); i += 3; continue
            if text[i + 1].lower() in ("s", "t", "m", "d"):
                out.append(text[i:i + 2]); i += 2; continue
        # 2. [^\r\n\p{L}\p{N}]?\p{L}+
        j = i
        if not _is_nl(c) and not _is_l(c) and not _is_n(c) and i + 1 < n and _is_l(text[i + 1]):
            j = i + 1
        if _is_l(text[j]):
            k = j
            while k < n and _is_l(text[k]):
                k += 1
            out.append(text[i:k]); i = k; continue
        # 3. \p{N}
        if _is_n(c):
            out.append(c); i += 1; continue
        # 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        j = i + 1 if (c == " " and i + 1 < n) else i
        def punct(ch):
            return not _is_s(ch) and not _is_l(ch) and not _is_n(ch)
        if punct(text[j]):
            k = j
            while k < n and punct(text[k]):
                k += 1
            while k < n and _is_nl(text[k]):
                k += 1
            out.append(text[i:k]); i = k; continue
        # whitespace run
        k = i
        while k < n and _is_s(text[k]):
            k += 1
        # 5. \s*[\r\n]+ : up to and including the last CR/LF in the run
        last_nl = -1
        for m in range(i, k):
            if _is_nl(text[m]):
                last_nl = m
        if last_nl >= 0:
            out.append(text[i:last_nl + 1]); i = last_nl + 1; continue
        # 6. \s+(?!\S)  7. \s+
        if k == n or k - i == 1:
            out.append(text[i:k]); i = k; continue
        out.append(text[i:k - 1]); i = k - 1; continue
    return out


def to_byte_str(piece):
    return "".join(BYTE2U[b] for b in piece.encode("utf-8"))


# ---------------------------------------------------------------- BPE
class BPE:
    def __init__(self, tokens, merges, added):
        self.tokens = list(tokens)
        self.tok2id = {t: i for i, t in enumerate(self.tokens)}
        self.merges = list(merges)
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(self.merges)}
        self.added = list(added)  # [{"id", "content", "special"}]
        self.added_by_content = {a["content"]: a["id"] for a in self.added}
        self.added_sorted = sorted(self.added_by_content, key=len, reverse=True)
        self.cache = {}

    # ids of specials
    def id(self, content):
        return self.added_by_content[content] if content in self.added_by_content else self.tok2id[content]

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best, bi = None, -1
            for k in range(len(parts) - 1):
                r = self.ranks.get((parts[k], parts[k + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, k
            if best is None:
                break
            a, b = parts[bi], parts[bi + 1]
            merged, k = [], 0
            while k < len(parts):  # merge every occurrence of this pair, left to right
                if k < len(parts) - 1 and parts[k] == a and parts[k + 1] == b:
                    merged.append(a + b); k += 2
                else:
                    merged.append(parts[k]); k += 1
            parts = merged
        ids = [self.tok2id[p] for p in parts]
        if len(self.cache) < 200000:
            self.cache[word] = ids
        return ids

    def encode(self, text, specials=True):
        text = unicodedata.normalize("NFC", text)
        ids = []
        i = 0
        while i < len(text):
            if specials:
                nxt, which = len(text), None
                for a in self.added_sorted:
                    p = text.find(a, i)
                    if p != -1 and (p < nxt or (p == nxt and which is not None and len(a) > len(which))):
                        nxt, which = p, a
            else:
                nxt, which = len(text), None
            seg = text[i:nxt]
            for piece in pretokenize(seg):
                ids.extend(self.bpe(to_byte_str(piece)))
            if which is None:
                break
            ids.append(self.added_by_content[which])
            i = nxt + len(which)
        return ids

    def decode(self, ids):
        out = bytearray()
        for t in ids:
            s = self.tokens[t]
            if t in self._added_ids():
                out += s.encode("utf-8")
            else:
                out += bytes(U2BYTE[ch] for ch in s)
        return out.decode("utf-8", errors="replace")

    def _added_ids(self):
        if not hasattr(self, "_aid"):
            self._aid = {a["id"] for a in self.added}
        return self._aid

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"format": "noggin-tiny-bpe-1", "pre": "qwen2", "tokens": self.tokens, "merges": self.merges,
                       "added": self.added}, f, ensure_ascii=False, indent=0)

    @staticmethod
    def load(path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return BPE(d["tokens"], d["merges"], d["added"])

    @property
    def n_vocab(self):
        return len(self.tokens)


def train_bpe(texts, vocab_size):
    """Train merges on the pre-tokenized texts (specials removed) until len(vocab) == vocab_size."""
    n_merges = vocab_size - 256 - len(SPECIALS)
    freq = Counter()
    for t in texts:
        for s, _ in SPECIALS:
            t = t.replace(s, "\x00")
        for seg in t.split("\x00"):
            for piece in pretokenize(seg):
                freq[to_byte_str(piece)] += 1
    words = [(list(w), c) for w, c in freq.items()]
    tokens = [BYTE2U[b] for b in BYTE_ORDER]
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for parts, c in words:
            for k in range(len(parts) - 1):
                pairs[(parts[k], parts[k + 1])] += c
        if not pairs:
            break
        # most frequent pair; ties broken by the pair itself for determinism
        (a, b), cnt = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if cnt < 2:
            break
        merges.append(a + " " + b)
        tokens.append(a + b)
        for parts, c in words:
            k = 0
            while k < len(parts) - 1:
                if parts[k] == a and parts[k + 1] == b:
                    parts[k:k + 2] = [a + b]
                else:
                    k += 1
    added = []
    for s, special in SPECIALS:
        added.append({"id": len(tokens), "content": s, "special": special})
        tokens.append(s)
    return BPE(tokens, merges, added)


# ---------------------------------------------------------------- check against the real Qwen tokenizer
def check_qwen(ref_dir="/work/shared/tokenizers/deepseek-r1-distill-qwen"):
    with open(os.path.join(ref_dir, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    vocab = tj["model"]["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    n = max(vocab.values()) + 1
    tokens = [None] * n
    for t, i in vocab.items():
        tokens[i] = t
    added = [{"id": a["id"], "content": a["content"], "special": a["special"]} for a in tj["added_tokens"]]
    for a in added:
        if a["id"] >= len(tokens):
            tokens.extend([None] * (a["id"] + 1 - len(tokens)))
        tokens[a["id"]] = a["content"]
    tok = BPE(tokens, merges, added)
    ok = bad = 0
    with open(os.path.join(ref_dir, "cases.jsonl"), encoding="utf-8") as f:
        for line in f:
            c = json.loads(line)
            ascii_only = all(ord(ch) < 128 for ch in c["text"])
            got = tok.encode(c["text"])
            if got == c["ids"]:
                ok += 1
            else:
                bad += 1
                print(("ASCII " if ascii_only else "non-ASCII ") + "MISMATCH", c["id"], repr(c["text"][:60]))
    print(f"qwen check: {ok} match, {bad} mismatch")
    # the chat rendering too
    with open(os.path.join(ref_dir, "chat.json"), encoding="utf-8") as f:
        ch = json.load(f)
    for conv in ch["conversations"]:
        got = tok.encode(conv["rendered"])
        print("chat", conv["name"], "OK" if got == conv["ids"] else "MISMATCH")
    return bad


if __name__ == "__main__":
    if "--check-qwen" in sys.argv:
        sys.exit(1 if check_qwen() else 0)
    for s in ["What is 4821+937?", "Hello  world\n\n  x", "it's 12 o'clock!!\n", "a\t\tb  \n c", "x   "]:
        print(repr(s), pretokenize(s))
