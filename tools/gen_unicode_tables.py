#!/usr/bin/python3
"""Generate include/noggin/text/unicode_tables.hpp from Python's unicodedata.

Run from the repository root:
    /usr/bin/python3 tools/gen_unicode_tables.py > include/noggin/text/unicode_tables.hpp

Tables (all sorted, ranges rather than per-codepoint arrays):
  * category_starts: (start << 4 | class) for the major general category of every codepoint
    (L, M, N, P, S, Z, C); a range runs to the next entry's start.
  * whitespace: the \\s class as Oniguruma (HF tokenizers' regex engine) defines it for Unicode:
    U+0009..U+000D, U+0085, and the Zs, Zl, Zp categories.
  * canonical decompositions (one step; applied recursively at run time), combining classes as
    ranges, canonical composition pairs (primary composites only, i.e. minus exclusions and
    singletons), and the codepoints for which NFC may change a string (quick-check "maybe/no",
    nonzero combining class, or second element of a composition). Hangul is algorithmic.
"""
import sys
import unicodedata

MAXCP = 0x110000
CLASS_CODES = {"L": 0, "M": 1, "N": 2, "P": 3, "S": 4, "Z": 5, "C": 6}


def major(cp):
    return unicodedata.category(chr(cp))[0]


def is_hangul_syllable(cp):
    return 0xAC00 <= cp <= 0xD7A3


def main():
    out = []
    w = out.append
    w("// noggin/text/unicode_tables.hpp — Unicode data for the pre-tokenizers and NFC normalization.")
    w("//")
    w("// GENERATED — DO NOT EDIT. Regenerate with:")
    w("//     /usr/bin/python3 tools/gen_unicode_tables.py > include/noggin/text/unicode_tables.hpp")
    w("// Unicode version %s (Python %s unicodedata)." % (unicodedata.unidata_version, sys.version.split()[0]))
    w("//")
    w("// Used through noggin/text/unicode.hpp (category lookup, whitespace, nfc()); not a public API.")
    w("//")
    w("// Sections: version · general categories · whitespace · combining classes · decompositions ·")
    w("//           compositions · NFC-unstable codepoints")
    w("#pragma once")
    w("")
    w("#include <cstdint>")
    w("")
    w("namespace noggin::text::unicode_data {")
    w("")
    w('inline constexpr const char unicode_version[] = "%s";' % unicodedata.unidata_version)
    w("")

    # --- general category (major class) ranges
    starts = []
    prev = None
    for cp in range(MAXCP):
        c = CLASS_CODES[major(cp)]
        if c != prev:
            starts.append((cp << 4) | c)
            prev = c
    w("// Major general category per range: value = start << 4 | class; class codes:")
    w("// 0 L (letter), 1 M (mark), 2 N (number), 3 P (punctuation), 4 S (symbol), 5 Z (separator),")
    w("// 6 C (other, including unassigned). A range runs to the next entry's start.")
    w("inline constexpr uint32_t category_starts[] = {")
    emit_u32(w, starts)
    w("};")
    w("")

    # --- whitespace ranges
    ws = [cp for cp in range(MAXCP)
          if (0x9 <= cp <= 0xD) or cp == 0x85 or unicodedata.category(chr(cp)) in ("Zs", "Zl", "Zp")]
    w("// \\s as Oniguruma defines it for Unicode: [start, end] inclusive pairs.")
    w("inline constexpr uint32_t whitespace_ranges[] = {")
    emit_u32(w, flat_ranges(ws))
    w("};")
    w("")

    # --- combining classes
    ccc_ranges = []
    prev = 0
    cur_start = None
    for cp in range(MAXCP):
        c = unicodedata.combining(chr(cp))
        if c != prev:
            if prev != 0:
                ccc_ranges.append((cur_start, cp - 1, prev))
            cur_start = cp
            prev = c
    if prev != 0:
        ccc_ranges.append((cur_start, MAXCP - 1, prev))
    w("// Canonical combining class: (start, end inclusive, class) triples; absent = 0.")
    w("inline constexpr uint32_t ccc_ranges[] = {")
    emit_u32(w, [x for t in ccc_ranges for x in t])
    w("};")
    w("")

    # --- canonical decompositions (one step)
    decomp = []
    for cp in range(MAXCP):
        if is_hangul_syllable(cp):
            continue
        d = unicodedata.decomposition(chr(cp))
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        assert 1 <= len(parts) <= 2, (hex(cp), d)
        decomp.append((cp, parts[0], parts[1] if len(parts) == 2 else 0))
    w("// Canonical decomposition, one step: (codepoint, first, second or 0) triples sorted by codepoint;")
    w("// apply recursively. Hangul syllables are decomposed algorithmically.")
    w("inline constexpr uint32_t decompositions[] = {")
    emit_u32(w, [x for t in decomp for x in t])
    w("};")
    w("")

    # --- primary composites
    comps = []
    for cp, a, b in decomp:
        if b == 0:
            continue  # singleton: never recomposed
        if unicodedata.normalize("NFC", chr(a) + chr(b)) == chr(cp) and unicodedata.combining(chr(a)) == 0:
            comps.append((a, b, cp))
        elif unicodedata.normalize("NFC", unicodedata.normalize("NFD", chr(cp))) == chr(cp):
            # Composite that NFC keeps although the direct pair test failed (non-starter first):
            # still a primary composite.
            comps.append((a, b, cp))
    comps.sort()
    w("// Canonical composition: (first, second, composite) triples sorted by (first, second);")
    w("// composition exclusions and singletons are absent. Hangul LV/LVT are algorithmic.")
    w("inline constexpr uint32_t compositions[] = {")
    emit_u32(w, [x for t in comps for x in t])
    w("};")
    w("")

    # --- NFC-unstable codepoints
    seconds = {b for _, b, _ in comps}
    unstable = []
    for cp in range(MAXCP):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if (not unicodedata.is_normalized("NFC", ch) or unicodedata.combining(ch) != 0 or cp in seconds
                or 0x1161 <= cp <= 0x1175 or 0x11A8 <= cp <= 0x11C2):
            unstable.append(cp)
    w("// Codepoints whose presence means NFC might change the text: [start, end] inclusive pairs.")
    w("// A string with none of these is already in NFC.")
    w("inline constexpr uint32_t nfc_unstable_ranges[] = {")
    emit_u32(w, flat_ranges(unstable))
    w("};")
    w("")
    w("}  // namespace noggin::text::unicode_data")
    sys.stdout.write("\n".join(out) + "\n")


def flat_ranges(cps):
    res = []
    start = prev = None
    for cp in cps:
        if start is None:
            start = prev = cp
        elif cp == prev + 1:
            prev = cp
        else:
            res += [start, prev]
            start = prev = cp
    if start is not None:
        res += [start, prev]
    return res


def emit_u32(w, values, per_line=10):
    for i in range(0, len(values), per_line):
        w("    " + ", ".join("0x%x" % v for v in values[i:i + per_line]) + ",")


if __name__ == "__main__":
    main()
