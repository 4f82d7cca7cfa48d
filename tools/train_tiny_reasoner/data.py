#!/usr/bin/env python3
"""Seeded generator of problems with worked reasoning for the tiny reasoner.

Every sample is (question, thinking, answer, meta). Rendering (R1-Distill-Qwen template, one user turn, with
generation prompt) is done by `render`: prompt = BOS + <｜User｜> + question + <｜Assistant｜> + "<think>\\n";
completion = thinking + "</think>" + "\\n\\n" + answer + EOS, where thinking ends with "\\n" (or is "\\n" for an
empty thought, as R1 writes `<think>\\n\\n</think>\\n\\n`).

Reasoning formats (designed for a ~1M-parameter model):
  addition   "4821+0937\\nrev 1284+7390\\n1+7+0=8 c0\\n2+3+0=5 c0\\n8+9+0=7 c1\\n4+0+1=5 c0\\nrev 8575\\nso 5758\\n"
             operands restated right-aligned/zero-padded, then reversed (least-significant first), one
             `a+b+carry=digit cCARRY` line per column, the result digits collected LSB first, then reversed.
  subtraction same with `a-b-borrow=digit bBORROW`; a<b is turned into -(b-a) first.
  comparison "381 vs 318\\n3 digits vs 3 digits\\n3=3\\n8>1\\nso 381 is larger\\n"
  counting   one line per list item, a running count on the matching ones.
  word problems: first line names the operation ("Mira has 12, gives 5: 12-5"), then the arithmetic as above.

Held-out sets: arithmetic pairs with _heldout_hash(...) % 8 == 0 are never generated for training; held-out
word problems use sentence templates and names that never appear in training.
"""
import hashlib
import random

# ---------------------------------------------------------------- names, items
TRAIN_F = ("Mira Anna Lena Sara Nora Ella Ida Maya Lily Rosa Vera Tess Cora Elsa Fay Gwen Hana Iris June Kira "
           "Lara Mina Nell Opal Pia Rita Sofi Tara Una Wren Zoe Alba Bea Cleo Dina Eve Gia Hope Ivy Jade").split()
TRAIN_M = ("Tom Ben Sam Leo Max Finn Hugo Ivan Jon Karl Liam Milo Ned Otto Paul Rex Seth Theo Ugo Vic "
           "Will Zack Abel Bram Cole Dirk Eli Fred Gus Hal Igor Jack Kai Lars Mark Nils Oren Pete Quinn Rolf").split()
HELD_F = "Yara Odette Brienne Sigrid Marisol Thandi Ximena Galadriel Henrike Aoife Lucinda Petra".split()
HELD_M = "Bartholomew Ulrich Dmitri Cassius Gideon Tobias Ragnar Evander Lorcan Mordecai Yusuf Anselm".split()
assert not (set(HELD_F + HELD_M) & set(TRAIN_F + TRAIN_M))
ITEMS = ("apples coins arrows potions gems logs fish eggs scrolls keys rings herbs carrots pears stones "
         "feathers candles bolts nails shells berries bones pelts daggers shields").split()
COUNT_ITEMS = ("apple pear key coin gem sword shield potion rope torch map ring bone egg fish herb stone "
               "scroll lamp boot").split()


def _heldout_hash(*parts):
    h = hashlib.blake2b(("|".join(str(p) for p in parts)).encode(), digest_size=4).digest()
    return int.from_bytes(h, "little")


def is_heldout_pair(op, a, b):
    return _heldout_hash(op, a, b) % 8 == 0


# ---------------------------------------------------------------- reasoning builders
def add_think(a, b):
    A, B = str(a), str(b)
    L = max(len(A), len(B))
    Ap, Bp = A.zfill(L), B.zfill(L)
    lines = [f"{Ap}+{Bp}", f"rev {Ap[::-1]}+{Bp[::-1]}"]
    c, digs = 0, []
    for i in range(L):
        x, y = int(Ap[-1 - i]), int(Bp[-1 - i])
        s = x + y + c
        lines.append(f"{x}+{y}+{c}={s % 10} c{s // 10}")
        c = s // 10
        digs.append(str(s % 10))
    if c:
        digs.append("1")
    r = "".join(digs)
    lines.append(f"rev {r}")
    lines.append(f"so {r[::-1]}")
    assert int(r[::-1]) == a + b
    return lines


def sub_think(a, b):
    """a >= b"""
    A, B = str(a), str(b)
    L = max(len(A), len(B))
    Ap, Bp = A.zfill(L), B.zfill(L)
    lines = [f"{Ap}-{Bp}", f"rev {Ap[::-1]}-{Bp[::-1]}"]
    br, digs = 0, []
    for i in range(L):
        x, y = int(Ap[-1 - i]), int(Bp[-1 - i])
        s = x - y - br
        nb = 1 if s < 0 else 0
        lines.append(f"{x}-{y}-{br}={s + 10 * nb} b{nb}")
        br = nb
        digs.append(str(s + 10 * nb))
    r = "".join(digs)
    lines.append(f"rev {r}")
    lines.append(f"so {r[::-1]}")
    assert int(r[::-1]) == a - b
    return lines


def cmp_think(a, b):
    """returns (lines, sign) with sign = 1 if a>b, -1 if a<b, 0 if equal"""
    A, B = str(a), str(b)
    lines = [f"{A} vs {B}", f"{len(A)} digits vs {len(B)} digits"]
    if len(A) != len(B):
        return lines, (1 if len(A) > len(B) else -1)
    for x, y in zip(A, B):
        if x == y:
            lines.append(f"{x}={y}")
        else:
            lines.append(f"{x}>{y}" if x > y else f"{x}<{y}")
            return lines, (1 if x > y else -1)
    return lines, 0


def sub_signed_think(a, b):
    if a >= b:
        return sub_think(a, b)
    lines = [f"{a}<{b}, so -({b}-{a})"] + sub_think(b, a)
    lines[-1] = lines[-1].replace("so ", "so -")
    return lines


# ---------------------------------------------------------------- problem kinds
def _digits(rng, nd):
    return rng.randint(10 ** (nd - 1) if nd > 1 else 0, 10 ** nd - 1)


def _pair(rng, op, nda, ndb, heldout):
    for _ in range(1000):
        a, b = _digits(rng, nda), _digits(rng, ndb)
        if is_heldout_pair(op, a, b) == heldout:
            return a, b
    raise RuntimeError("no pair")


ADD_Q = ["What is {a}+{b}?", "What is {a} + {b}?", "What is {a} plus {b}?", "Compute {a}+{b}.", "{a}+{b}=?",
         "Calculate {a} + {b}.", "What's {a}+{b}?", "Add {a} and {b}.", "what is {a}+{b}", "{a}+{b}"]
SUB_Q = ["What is {a}-{b}?", "What is {a} - {b}?", "What is {a} minus {b}?", "Compute {a}-{b}.", "{a}-{b}=?",
         "Calculate {a} - {b}.", "What's {a}-{b}?", "Subtract {b} from {a}.", "what is {a}-{b}", "{a}-{b}"]


def gen_add(rng, nda, ndb, heldout=False, canonical=False):
    a, b = _pair(rng, "+", nda, ndb, heldout)
    q = (ADD_Q[0] if canonical else rng.choice(ADD_Q)).format(a=a, b=b)
    return q, add_think(a, b), f"{a}+{b}={a + b}", dict(kind="add", value=a + b)


def gen_sub(rng, nda, ndb, heldout=False, canonical=False, allow_neg=True):
    a, b = _pair(rng, "-", nda, ndb, heldout)
    if a < b and not (allow_neg and rng.random() < 0.15):
        a, b = b, a
        if is_heldout_pair("-", a, b) != heldout:
            return gen_sub(rng, nda, ndb, heldout, canonical, allow_neg)
    q = (SUB_Q[0] if canonical else rng.choice(SUB_Q)).format(a=a, b=b)
    return q, sub_signed_think(a, b), f"{a}-{b}={a - b}", dict(kind="sub", value=a - b)


CMP_Q = [("Which is larger, {a} or {b}?", "larger"), ("Which is bigger, {a} or {b}?", "larger"),
         ("Which number is greater: {a} or {b}?", "larger"), ("Which is smaller, {a} or {b}?", "smaller"),
         ("Which is less, {a} or {b}?", "smaller"), ("Which is larger: {a} or {b}?", "larger"),
         ("Which is more, {a} or {b}?", "larger")]


def gen_cmp(rng, heldout=False, canonical=False):
    nd = rng.randint(1, 6)
    r = rng.random()
    if r < 0.55:     # same length, often sharing a prefix or being a digit permutation
        a, b = _pair(rng, "<>", nd, nd, heldout)
        if rng.random() < 0.5 and nd > 1:
            A = list(str(a))
            k = rng.randint(1, nd - 1)
            B = A[:k] + [str(rng.randint(0, 9)) for _ in range(nd - k)]
            b = int("".join(B))
            if rng.random() < 0.5:
                p = A[:]
                rng.shuffle(p)
                if p[0] != "0":
                    b = int("".join(p))
    elif r < 0.95:
        a, b = _pair(rng, "<>", nd, rng.randint(1, 6), heldout)
    else:
        a = b = _digits(rng, nd)
    if is_heldout_pair("<>", a, b) != heldout:
        return gen_cmp(rng, heldout, canonical)
    tmpl, word = CMP_Q[0] if canonical else rng.choice(CMP_Q)
    lines, s = cmp_think(a, b)
    if s == 0:
        lines.append("so they are equal")
        return tmpl.format(a=a, b=b), lines, f"They are equal: both are {a}.", dict(kind="cmp", value=a)
    big, small = (a, b) if s > 0 else (b, a)
    pick = big if word == "larger" else small
    lines.append(f"so {pick} is {word}")
    return tmpl.format(a=a, b=b), lines, f"{pick} is {word}.", dict(kind="cmp", value=pick)


def gen_count(rng, heldout=False):
    target = rng.choice(COUNT_ITEMS)
    others = rng.sample([w for w in COUNT_ITEMS if w != target], rng.randint(1, 3))
    n = rng.randint(3, 12)
    seq = [target if rng.random() < 0.45 else rng.choice(others) for _ in range(n)]
    form = rng.randrange(3)
    if form == 0:
        q = f"How many times does {target} appear in: {', '.join(seq)}?"
    elif form == 1:
        q = f"Count the {target}s: {', '.join(seq)}. How many {target}s are there?"
    else:
        q = f"{' '.join(seq)}. How many {target}s?"
    lines, c = [], 0
    for w in seq:
        if w == target:
            c += 1
            lines.append(f"{w} {c}")
        else:
            lines.append(w)
    lines.append(f"so {c}")
    return q, lines, f"{c}.", dict(kind="count", value=c)


# ---------------------------------------------------------------- word problems
# templates: (text, op, unit). {A},{B}: names, {p}: A's pronoun, {pp}: possessive, {x},{y}: numbers, {it}: item
# op: "-" (x-y), "+" (x+y), "more" (who has more), "diff" (x-y, x>y)
WORD_TRAIN = [
    ("{A} has {x} {it} and gives {y} to {B}. How many does {p} have left?", "-"),
    ("{A} has {x} {it}. {A} gives {y} to {B}. How many {it} does {A} have now?", "-"),
    ("{A} had {x} {it} but lost {y}. How many {it} are left?", "-"),
    ("{A} has {x} {it} and sells {y} of them. How many {it} does {p} have left?", "-"),
    ("There are {x} {it} in the chest. {A} takes {y}. How many {it} are left in the chest?", "-"),
    ("{A} has {x} {it}. {B} takes {y} of them. How many {it} does {A} have left?", "-"),
    ("{A} has {x} {it} and finds {y} more. How many {it} does {p} have now?", "+"),
    ("{A} has {x} {it}. {B} gives {A} {y} more. How many {it} does {A} have now?", "+"),
    ("{A} buys {x} {it} and then buys {y} more. How many {it} did {p} buy in total?", "+"),
    ("There are {x} {it} in the chest and {y} {it} in the bag. How many {it} are there in total?", "+"),
    ("{A} has {x} {it} and {B} has {y} {it}. How many {it} do they have together?", "+"),
    ("A sword costs {x} gold and a shield costs {y} gold. How much gold do both cost?", "+g"),
    ("{A} has {x} gold and buys a sword for {y} gold. How much gold does {p} have left?", "-g"),
    ("{A} walks {x} miles to the mill and then {y} miles to the well. How far did {p} walk in total?", "+m"),
    ("The castle is {x} miles away. {A} has walked {y} miles. How many miles are left?", "-m"),
    ("{A} has {x} {it} and {B} has {y} {it}. Who has more {it}?", "more"),
    ("{A} has {x} {it}. {B} has {y} {it}. Who has more?", "more"),
    ("{A} has {x} {it} and {B} has {y}. How many more {it} does {A} have than {B}?", "diff"),
]
WORD_HELD = [
    ("After {A} gave {y} {it} to {B}, how many were left, if {p} started with {x}?", "-r"),
    ("{A} owns {x} {it}. Then {p} loses {y} of them. How many {it} remain?", "-"),
    ("In the shop {A} sells {y} of {pp} {x} {it}. How many {it} does {A} still have?", "-r"),
    ("{A} found {y} {it}, and {p} already had {x}. How many {it} does {p} have now?", "+r"),
    ("The bag holds {x} {it} and the chest holds {y} {it}. What is the total number of {it}?", "+"),
    ("A shield costs {y} gold. {A} pays with {x} gold. How much gold does {A} get back?", "-gr"),
    ("From the village to the tower is {x} miles, and from the tower to the lake is {y} miles. How far is it from the village to the lake?", "+m"),
    ("Between {A} with {x} {it} and {B} with {y} {it}, who has more?", "more"),
    ("{B} has {y} {it}, {A} has {x} {it}. By how many {it} does {A} beat {B}?", "diffr"),
]


def gen_word(rng, heldout=False, template=None):
    tmpls = WORD_HELD if heldout else WORD_TRAIN
    text, op = template if template is not None else rng.choice(tmpls)
    fem, mal = (HELD_F, HELD_M) if heldout else (TRAIN_F, TRAIN_M)
    gA = rng.random() < 0.5
    A = rng.choice(fem if gA else mal)
    B = rng.choice([n for n in fem + mal if n != A])
    p, pp = ("she", "her") if gA else ("he", "his")
    it = rng.choice(ITEMS)
    nx = rng.choice([1, 2, 2, 2, 3, 3, 3])
    ny = rng.choice([1, 2, 2, 3]) if nx >= 2 else 1
    ny = min(nx, ny)
    x, y = _digits(rng, nx), _digits(rng, ny)
    base = "more" if op == "more" else ("diff" if op.startswith("diff") else op[0])
    if base in ("-", "diff") and y > x:
        x, y = y, x
    if base == "diff" and x == y:
        x += 1
    if base == "more" and x == y:
        y += 1
    if base == "+" and rng.random() < 0.3:
        x, y = y, x
    q = text.format(A=A, B=B, p=p, pp=pp, x=x, y=y, it=it)
    unit = "gold" if "g" in op[1:] and base in "+-" else ("miles" if "m" in op[1:] and base in "+-" else it)
    if base == "more":
        lines = [f"{A} {x}, {B} {y}"]
        cl, s = cmp_think(x, y)
        lines += cl
        who = A if s > 0 else B
        lines.append(f"so {who} has more")
        return q, lines, f"{who} has more.", dict(kind="word", value=who, other=B if who == A else A)
    if base == "+":
        head = f"{x} and {y}: {x}+{y}"
        lines = [head] + add_think(x, y)
        v = x + y
        return q, lines, f"{v} {unit}.", dict(kind="word", value=v)
    # minus / diff
    head = f"{x} minus {y}: {x}-{y}" if base == "-" else f"{x} vs {y}, difference: {x}-{y}"
    lines = [head] + sub_think(x, y)
    v = x - y
    return q, lines, f"{v} {unit}.", dict(kind="word", value=v)


# ---------------------------------------------------------------- mixture with curriculum
def sample(rng, progress, heldout=False):
    """One training sample at training progress in [0,1] (curriculum: addition first)."""
    r = rng.random()
    if progress < 0.10:
        mix = [("add", 0.85), ("cmp", 0.15)]
        max_nd = 4
    elif progress < 0.25:
        mix = [("add", 0.45), ("sub", 0.35), ("cmp", 0.1), ("count", 0.05), ("word", 0.05)]
        max_nd = 6
    else:
        mix = [("add", 0.30), ("sub", 0.25), ("cmp", 0.12), ("count", 0.08), ("word", 0.25)]
        max_nd = 6
    acc = 0
    for kind, w in mix:
        acc += w
        if r < acc:
            break
    if kind == "add":
        nda = rng.choice([1, 2] + list(range(2, max_nd + 1)) * 2)
        ndb = rng.randint(1, nda) if rng.random() < 0.5 else nda
        if rng.random() < 0.5:
            nda, ndb = ndb, nda
        return gen_add(rng, nda, ndb, heldout)
    if kind == "sub":
        nda = rng.choice([1, 2] + list(range(2, max_nd + 1)) * 2)
        ndb = rng.randint(1, nda) if rng.random() < 0.6 else nda
        return gen_sub(rng, nda, ndb, heldout)
    if kind == "cmp":
        return gen_cmp(rng, heldout)
    if kind == "count":
        return gen_count(rng, heldout)
    return gen_word(rng, heldout)


def render(q, lines, answer, empty=False, empty_style=0):
    """Returns (prompt_text, completion_text). empty_style 0: R1's `<think>\\n\\n</think>`; 1: `<think>\\n</think>`."""
    from tokenizer import BOS, USER, ASSISTANT, THINK, END_THINK, EOS
    prompt = f"{BOS}{USER}{q}{ASSISTANT}{THINK}\n"
    if empty:
        think = "\n" if empty_style == 0 else ""
    else:
        think = "".join(l + "\n" for l in lines)
    return prompt, f"{think}{END_THINK}\n\n{answer}{EOS}"


if __name__ == "__main__":
    rng = random.Random(1)
    for prog in (0.0, 0.5, 0.9):
        for _ in range(4):
            q, l, a, m = sample(rng, prog)
            p, c = render(q, l, a)
            print(p + c)
            print("-----")
    for t in WORD_HELD:
        q, l, a, m = gen_word(rng, True, t)
        print(q, "|", l[0], "|", a)
    print(render(*gen_add(rng, 4, 3, canonical=True)[:3]))
