#!/usr/bin/python3
# Writes tests/cpu/data/dequant_golden.bin: random blocks of every GGUF quant type that gguf-py can
# dequantize, with gguf-py's own dequantized floats, so the C++ tests check our bit layouts against
# llama.cpp's reference without needing Python at test time.
#
#   /usr/bin/python3 tests/cpu/make_dequant_golden.py /work/shared/reference/gguf-py tests/cpu/data/dequant_golden.bin
#
# Format (little-endian), repeated until EOF:
#   u32 ggml type id, u32 element count n, u32 byte count b, b raw bytes, n float32 values.
import struct
import sys

import numpy as np

sys.path.insert(0, sys.argv[1])
from gguf import quants  # noqa: E402
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T  # noqa: E402

rng = np.random.default_rng(20240531)

# (type, byte offsets of f16 scale fields inside a block)
TYPES = [
    (T.Q4_0, [0]), (T.Q4_1, [0, 2]), (T.Q5_0, [0]), (T.Q5_1, [0, 2]), (T.Q8_0, [0]),
    (T.Q2_K, [80, 82]), (T.Q3_K, [108]), (T.Q4_K, [0, 2]), (T.Q5_K, [0, 2]), (T.Q6_K, [208]),
]

out = open(sys.argv[2], "wb")
for t, f16_offsets in TYPES:
    block_elems, block_bytes = GGML_QUANT_SIZES[t]
    n_blocks = 4 if block_elems == 256 else 16
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for off in f16_offsets:
        vals = rng.uniform(-2.0, 2.0, size=n_blocks).astype(np.float16)
        raw[:, off:off + 2] = vals.view(np.uint8).reshape(n_blocks, 2)
    floats = quants.dequantize(raw.reshape(-1), t).astype(np.float32).reshape(-1)
    n = n_blocks * block_elems
    assert floats.size == n
    out.write(struct.pack("<III", int(t), n, raw.size))
    out.write(raw.tobytes())
    out.write(floats.tobytes())

for t, np_type in [(T.F16, np.float16)]:
    vals = rng.standard_normal(67).astype(np_type)
    out.write(struct.pack("<III", int(t), vals.size, vals.nbytes))
    out.write(vals.tobytes())
    out.write(vals.astype(np.float32).tobytes())

# BF16: random bit patterns of finite values, dequantized by gguf-py.
bits = rng.integers(0, 65536, size=67, dtype=np.uint16)
bits = bits[((bits >> 7) & 0xff) != 0xff][:61]
floats = quants.dequantize(bits.view(np.uint8), T.BF16).astype(np.float32).reshape(-1)
out.write(struct.pack("<III", int(T.BF16), bits.size, bits.nbytes))
out.write(bits.tobytes())
out.write(floats.tobytes())
out.close()
