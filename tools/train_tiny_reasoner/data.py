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
  word problems: first the words that decide the operation, copied from the question ("key: gives"), then a
             line naming the operation ("12 minus 5: 12-5"), then the arithmetic as above.

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
# templates: (text, op, cue). {A},{B}: names, {p}: A's pronoun, {pp}: possessive, {x},{y}: numbers, {it}: item
# op: "-" (x-y), "+" (x+y), "more" (who has more), "diff" (x-y, x>y); a "g"/"m" after it: the unit is gold/miles.
# cue: the words of the text that decide the operation; the thought starts by copying them ("key: gave").
WORD_HELD = [
    ("After {A} gave {y} {it} to {B}, how many were left, if {p} started with {x}?", "-r", "gave"),
    ("{A} owns {x} {it}. Then {p} loses {y} of them. How many {it} remain?", "-", "loses"),
    ("In the shop {A} sells {y} of {pp} {x} {it}. How many {it} does {A} still have?", "-r", "sells"),
    ("{A} found {y} {it}, and {p} already had {x}. How many {it} does {p} have now?", "+r", "found"),
    ("The bag holds {x} {it} and the chest holds {y} {it}. What is the total number of {it}?", "+", "total"),
    ("A shield costs {y} gold. {A} pays with {x} gold. How much gold does {A} get back?", "-gr", "get back"),
    ("From the village to the tower is {x} miles, and from the tower to the lake is {y} miles. How far is it from the village to the lake?", "+m", "from the village to the lake"),
    ("Between {A} with {x} {it} and {B} with {y} {it}, who has more?", "more", "who has more"),
    ("{B} has {y} {it}, {A} has {x} {it}. By how many {it} does {A} beat {B}?", "diffr", "by how many"),
]


SYLLABLES = ("ka lo mi ra te su vo ne di ba ru fe zo li ma to shi an el or ul ish ven dar mor tal ric "
             "bel gan fin lor wyn thar cel dro per sa ly qui nos").split()


def _made_up_name(rng):
    """A name from random syllables (2-4), so the model learns to copy names it has never seen as one piece.
    Never one of the held-out names."""
    for _ in range(100):
        n = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
        if n not in HELD_F + HELD_M:
            return n
    raise RuntimeError("no name")


def _train_names(rng):
    """(A, B, A_is_female): half the time from the fixed lists, half made up."""
    fem = rng.random() < 0.5
    A = _made_up_name(rng) if rng.random() < 0.5 else rng.choice(TRAIN_F if fem else TRAIN_M)
    while True:
        B = _made_up_name(rng) if rng.random() < 0.5 else rng.choice(TRAIN_F + TRAIN_M)
        if B != A:
            return A, B, fem


# Composable training phrasings. Each event is (present, past); {S} is its subject (the owner's name or pronoun),
# {O} the owner as an object. The grammar orders facts, events and questions several ways (fact first, event
# first with "already had", question first with "if"), so numbers appear in either order in the text.
_FACT = [("{A} has {x} {it}", "{A} had {x} {it}"), ("{A} owns {x} {it}", "{A} owned {x} {it}"),
         ("{A} carries {x} {it}", "{A} carried {x} {it}"), ("{A} starts with {x} {it}", "{A} started with {x} {it}"),
         ("{A} keeps {x} {it} in a bag", "{A} kept {x} {it} in a bag")]
_LOSE = [("{S} gives {y} to {B}", "{S} gave {y} to {B}"), ("{S} gives {B} {y}", "{S} gave {B} {y}"),
         ("{S} loses {y}", "{S} lost {y}"), ("{S} sells {y}", "{S} sold {y}"), ("{S} drops {y}", "{S} dropped {y}"),
         ("{S} uses {y}", "{S} used {y}"), ("{S} trades away {y}", "{S} traded away {y}"),
         ("{S} hands {y} to {B}", "{S} handed {y} to {B}"), ("{S} throws away {y}", "{S} threw away {y}"),
         ("{B} takes {y} from {O}", "{B} took {y} from {O}"), ("{B} steals {y} from {O}", "{B} stole {y} from {O}")]
_GAIN = [("{S} finds {y} more", "{S} found {y} more"), ("{S} buys {y} more", "{S} bought {y} more"),
         ("{S} picks up {y}", "{S} picked up {y}"), ("{S} gets {y} from {B}", "{S} got {y} from {B}"),
         ("{B} gives {O} {y}", "{B} gave {O} {y}"), ("{S} wins {y}", "{S} won {y}"),
         ("{S} receives {y}", "{S} received {y}"), ("{S} collects {y}", "{S} collected {y}"),
         ("{S} makes {y} more", "{S} made {y} more")]
_Q_LEFT = ["How many {it} does {A} have left?", "How many does {p} have left?", "How many {it} are left?",
           "How many {it} remain?", "How many {it} does {p} have now?", "How many does {A} still have?",
           "How many {it} does {A} have in the end?", "How many are left?"]
_Q_NOW = ["How many {it} does {A} have now?", "How many does {p} have now?", "How many {it} does {p} have in total?",
          "How many {it} does {A} have altogether?", "How many {it} does {A} have in the end?"]
_QIF_LEFT = ["how many {it} does {A} have left", "how many are left", "how many {it} remain for {A}"]
_QIF_NOW = ["how many {it} does {A} have now", "how many does {A} have in total"]
_OBJ = ["{y}", "{y} {it}", "{y} of them", "{y} of {pp} {it}"]
_PLACES = "chest bag barrel cart crate box basket sack shed cellar".split()
_SPOTS = "mill well farm gate bridge inn forge camp market harbor".split()


def _event(rng, events, tense, subject):
    """(phrase, cue): the cue is the event's verb (the words between the actor and the next placeholder)."""
    ev = rng.choice(events)[tense]
    cue = ev.split("} ", 1)[1].split(" {", 1)[0]
    obj = rng.choice(_OBJ)
    if "{B} " in ev[:4]:                      # someone else acts on the owner: "{O}" is the owner
        obj = obj.replace(" of {pp} {it}", " {it}")
    return ev.replace("{y}", obj).replace("{S}", subject), cue


def _owner_story(rng, gain):
    events, q_end, q_if = (_GAIN, _Q_NOW, _QIF_NOW) if gain else (_LOSE, _Q_LEFT, _QIF_LEFT)
    tense = rng.randrange(2)
    form = rng.randrange(5)
    if form == 0:     # fact. event. question
        ev, cue = _event(rng, events, tense, "{P}")
        return f"{rng.choice(_FACT)[tense]}. " + ev.replace("{O}", "{o}") + f". {rng.choice(q_end)}", cue
    if form == 1:     # fact and event. question
        ev, cue = _event(rng, events, tense, "{p}")
        return f"{rng.choice(_FACT)[tense]} and " + ev.replace("{O}", "{o}") + f". {rng.choice(q_end)}", cue
    ev, cue = _event(rng, events, 1, "{A}" if form != 3 else "{p}")
    ev = ev.replace("{O}", "{o}")
    if form == 2:     # event first, then the start: "A lost y, and she already had x."
        tail = rng.choice([", and {p} already had {x}", ", and {p} had {x} before", ". Before that {p} had {x} {it}",
                           "; {p} started with {x}"])
        return f"{ev}{tail}. {rng.choice(q_end)}", cue
    if form == 3:     # question first: "How many ... if A had x and lost y?"
        q = rng.choice(q_if)
        return f"{q[0].upper()}{q[1:]} if {{A}} had {{x}} {{it}} and {ev}?", cue
    return f"After {ev}, {rng.choice(q_if)}, if {{p}} had {{x}} at first?", cue     # "After A lost y, how many ..."


def _word_template(rng):
    """A training template (text with {A} {B} {p} {P} {o} {pp} {x} {y} {it} {P1} {P2}), its op, and its cue: the
    words of the text that decide the operation, which the thought copies first."""
    kind = rng.choices(["lose", "gain", "together", "places", "more", "diff", "gold", "walk"],
                       [0.22, 0.16, 0.1, 0.08, 0.12, 0.12, 0.1, 0.1])[0]
    if kind in ("lose", "gain"):
        text, cue = _owner_story(rng, gain=kind == "gain")
        return text, "+" if kind == "gain" else "-", cue
    if kind == "together":
        q, cue = rng.choice([("How many {it} do they have together?", "together"),
                             ("How many {it} do they have in total?", "in total"),
                             ("How many {it} is that altogether?", "altogether"), ("What is their total?", "total")])
        return rng.choice(["{A} has {x} {it} and {B} has {y} {it}. ", "{A} has {x} {it}. {B} has {y}. ",
                           "{B} has {y} {it} and {A} has {x}. "]) + q, "+", cue
    if kind == "places":
        q, cue = rng.choice([("How many {it} are there in total?", "in total"),
                             ("How many {it} are there altogether?", "altogether"), ("How many {it} in all?", "in all")])
        return rng.choice(["There are {x} {it} in the {P1} and {y} {it} in the {P2}. ",
                           "The {P1} has {x} {it}. The {P2} has {y} {it}. ",
                           "{y} {it} are in the {P2} and {x} are in the {P1}. "]) + q, "+", cue
    if kind == "more":
        q, cue = rng.choice([("Who has more {it}?", "who has more"), ("Who has more?", "who has more"),
                             ("Which of them has more {it}?", "which of them has more"),
                             ("Who has the most?", "who has the most")])
        return rng.choice(["{A} has {x} {it} and {B} has {y} {it}. ", "{A} has {x} {it}. {B} has {y} {it}. ",
                           "{A} carries {x} {it}, {B} carries {y}. ", "{B} owns {y} {it} and {A} owns {x}. "]) + q, \
            "more", cue
    if kind == "diff":
        facts = rng.choice(["{A} has {x} {it} and {B} has {y}. ", "{A} has {x} {it}. {B} has {y} {it}. ",
                            "{B} has {y} {it} and {A} has {x} {it}. ", "{B} owns {y} {it}, {A} owns {x}. "])
        q, cue = rng.choice([("How many more {it} does {A} have than {B}?", "how many more"),
                             ("How many more does {A} have?", "how many more"),
                             ("How many fewer {it} does {B} have than {A}?", "how many fewer"),
                             ("What is the difference?", "difference")])
        return facts + q, "diff", cue
    if kind == "gold":
        t = rng.randrange(4)
        if t == 0:
            return "A sword costs {x} gold and a shield costs {y} gold. How much gold do both cost?", "+g", "both"
        if t == 1:
            return rng.choice(["{A} has {x} gold and buys a sword for {y} gold. How much gold does {p} have left?",
                               "{A} buys a sword for {y} gold. {P} had {x} gold. How much gold is left?"]), "-g", "left"
        if t == 2:
            return rng.choice(["{A} pays {x} gold for a helmet that costs {y} gold. How much change does {p} get?",
                               "A helmet costs {y} gold and {A} gives the smith {x} gold. What change does {p} get?"]), \
                "-g", "change"
        return "{A} earns {x} gold on Monday and {y} gold on Tuesday. How much gold did {p} earn?", "+g", "and"
    t = rng.randrange(3)
    if t == 0:
        text, cue = rng.choice([
            ("{A} walks {x} miles to the {P1} and then {y} miles to the {P2}. How far did {p} walk in total?", "in total"),
            ("The road to the {P1} is {x} miles and the road on to the {P2} is {y} miles. How long is the trip?", "on to")])
        return text, "+m", cue
    if t == 1:
        return rng.choice(["The {P1} is {x} miles away. {A} has walked {y} miles. How many miles are left?",
                           "{A} has walked {y} miles of the {x} miles to the {P1}. How far is there still to go?"]), "-m", \
            "walked"
    return "{A} rides {y} miles, then {x} more miles. How many miles did {p} ride?", "+m", "more miles"


_HELD_TEXTS = {t for t, _, _ in WORD_HELD}


def gen_word(rng, heldout=False, template=None):
    if template is not None or heldout:
        text, op, cue = template if template is not None else rng.choice(WORD_HELD)
    else:
        while True:
            text, op, cue = _word_template(rng)
            if text not in _HELD_TEXTS:
                break
    if heldout:
        gA = rng.random() < 0.5
        A = rng.choice(HELD_F if gA else HELD_M)
        B = rng.choice([n for n in HELD_F + HELD_M if n != A])
    else:
        A, B, gA = _train_names(rng)
    p, pp, o = ("she", "her", "her") if gA else ("he", "his", "him")
    it = rng.choice(ITEMS)
    P1, P2 = rng.sample(_PLACES if "{P1} and" in text or "The {P1} has" in text or "in the {P2}" in text
                        else _SPOTS, 2)
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
    q = text.format(A=A, B=B, p=p, P=p.capitalize(), o=o, pp=pp, x=x, y=y, it=it, P1=P1, P2=P2)
    unit = "gold" if "g" in op[1:] and base in "+-" else ("miles" if "m" in op[1:] and base in "+-" else it)
    at = q.lower().find(cue.lower())
    assert at >= 0, (q, cue)
    key = f"key: {q[at:at + len(cue)]}"
    if base == "more":
        lines = [key, f"{A} {x}, {B} {y}"]
        cl, s = cmp_think(x, y)
        lines += cl
        who = A if s > 0 else B
        lines.append(f"so {who} has more")
        return q, lines, f"{who} has more.", dict(kind="word", value=who, other=B if who == A else A)
    if base == "+":
        head = f"{x} and {y}: {x}+{y}"
        lines = [key, head] + add_think(x, y)
        v = x + y
        return q, lines, f"{v} {unit}.", dict(kind="word", value=v)
    # minus / diff
    head = f"{x} minus {y}: {x}-{y}" if base == "-" else f"{x} vs {y}, difference: {x}-{y}"
    lines = [key, head] + sub_think(x, y)
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
        mix = [("add", 0.22), ("sub", 0.18), ("cmp", 0.10), ("count", 0.05), ("word", 0.45)]
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
