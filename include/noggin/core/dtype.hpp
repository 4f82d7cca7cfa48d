// noggin/core/dtype.hpp — the closed set of tensor element types and their exact GGUF block layouts.
//
//     const noggin::dtype_traits& t = noggin::dtype_info(noggin::dtype::q4_k);
//     // t.name == "Q4_K", t.block_elements == 256, t.block_bytes == 144
//     std::uint64_t bytes;
//     if (noggin::row_bytes(noggin::dtype::q4_k, 4096, &bytes)) { ... }
//
// Sections: dtype enum (values = GGUF type ids) · block structs · NOGGIN_DTYPE_LIST · traits table ·
//           row_bytes / dtype_from_gguf
//
// The block structs mirror the on-disk layouts bit for bit (little-endian), so a weight tensor in a
// mapped GGUF file is read in place as an array of blocks. Sizes are checked by static_assert.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "half.hpp"

namespace noggin {

// X-macro over every supported dtype: X(enum name, GGUF type id, printable name, elements per block,
// bytes per block). The one list every switch in noggin is generated from.
#define NOGGIN_DTYPE_LIST(X)                          \
    X(f32, 0, "F32", 1, 4)                            \
    X(f16, 1, "F16", 1, 2)                            \
    X(q4_0, 2, "Q4_0", 32, sizeof(block_q4_0))        \
    X(q4_1, 3, "Q4_1", 32, sizeof(block_q4_1))        \
    X(q5_0, 6, "Q5_0", 32, sizeof(block_q5_0))        \
    X(q5_1, 7, "Q5_1", 32, sizeof(block_q5_1))        \
    X(q8_0, 8, "Q8_0", 32, sizeof(block_q8_0))        \
    X(q8_1, 9, "Q8_1", 32, sizeof(block_q8_1))        \
    X(q2_k, 10, "Q2_K", 256, sizeof(block_q2_k))      \
    X(q3_k, 11, "Q3_K", 256, sizeof(block_q3_k))      \
    X(q4_k, 12, "Q4_K", 256, sizeof(block_q4_k))      \
    X(q5_k, 13, "Q5_K", 256, sizeof(block_q5_k))      \
    X(q6_k, 14, "Q6_K", 256, sizeof(block_q6_k))      \
    X(q8_k, 15, "Q8_K", 256, sizeof(block_q8_k))      \
    X(bf16, 30, "BF16", 1, 2)

// Element type of a tensor. The numeric values are the GGUF/ggml type ids.
enum class dtype : std::uint32_t {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q4_1 = 3,
    q5_0 = 6,
    q5_1 = 7,
    q8_0 = 8,
    q8_1 = 9,
    q2_k = 10,
    q3_k = 11,
    q4_k = 12,
    q5_k = 13,
    q6_k = 14,
    q8_k = 15,
    bf16 = 30,
};

// Elements in one block of the 32-element formats and of the 256-element "K" super-blocks.
constexpr int block_size_32 = 32;
constexpr int block_size_k = 256;
// Bytes of packed 6-bit scales/mins in Q3_K, Q4_K and Q5_K blocks.
constexpr int k_scale_bytes = 12;

// --- block layouts ---------------------------------------------------------------------------------
// Value = d * q (or d * q + m). Nibble order: element j of a 32-block sits in the low nibble of
// qs[j] for j < 16 and in the high nibble of qs[j - 16] otherwise.

struct block_q4_0 {
    f16 d;                             // scale
    std::uint8_t qs[block_size_32 / 2];  // 4-bit quants, value = d * (q - 8)
};
struct block_q4_1 {
    f16 d;                             // scale
    f16 m;                             // minimum: value = d * q + m
    std::uint8_t qs[block_size_32 / 2];  // 4-bit quants
};
struct block_q5_0 {
    f16 d;                             // scale
    std::uint8_t qh[4];                // 5th bit of each of the 32 quants (bit j = element j)
    std::uint8_t qs[block_size_32 / 2];  // low 4 bits; value = d * (q - 16)
};
struct block_q5_1 {
    f16 d;                             // scale
    f16 m;                             // minimum: value = d * q + m
    std::uint8_t qh[4];                // 5th bits
    std::uint8_t qs[block_size_32 / 2];  // low 4 bits
};
struct block_q8_0 {
    f16 d;                          // scale
    std::int8_t qs[block_size_32];  // value = d * q
};
struct block_q8_1 {
    f16 d;                          // scale
    f16 s;                          // d * sum(qs), precomputed for dot products with *_1 formats
    std::int8_t qs[block_size_32];  // value = d * q
};
// K-quants: a 256-element super-block split into sub-blocks with their own quantized scales.
struct block_q2_k {
    std::uint8_t scales[block_size_k / 16];  // per 16 elements: low nibble scale, high nibble min
    std::uint8_t qs[block_size_k / 4];       // 2-bit quants
    f16 d;                                   // super-block scale for the scales
    f16 dmin;                                // super-block scale for the mins
};
struct block_q3_k {
    std::uint8_t hmask[block_size_k / 8];  // high (3rd) bit of each quant
    std::uint8_t qs[block_size_k / 4];     // low 2 bits
    std::uint8_t scales[k_scale_bytes];    // 16 6-bit scales, packed
    f16 d;                                 // super-block scale
};
struct block_q4_k {
    f16 d;                               // super-block scale for the 8 sub-block scales
    f16 dmin;                            // super-block scale for the 8 sub-block mins
    std::uint8_t scales[k_scale_bytes];  // 8 scales + 8 mins, 6 bits each, packed
    std::uint8_t qs[block_size_k / 2];   // 4-bit quants
};
struct block_q5_k {
    f16 d;                               // super-block scale for the scales
    f16 dmin;                            // super-block scale for the mins
    std::uint8_t scales[k_scale_bytes];  // 8 scales + 8 mins, 6 bits each, packed
    std::uint8_t qh[block_size_k / 8];   // 5th bits
    std::uint8_t qs[block_size_k / 2];   // low 4 bits
};
struct block_q6_k {
    std::uint8_t ql[block_size_k / 2];      // low 4 bits
    std::uint8_t qh[block_size_k / 4];      // high 2 bits
    std::int8_t scales[block_size_k / 16];  // 8-bit scale per 16 elements
    f16 d;                                  // super-block scale
};
struct block_q8_k {
    float d;                                 // scale (f32, unlike the other formats)
    std::int8_t qs[block_size_k];            // quants
    std::int16_t bsums[block_size_k / 16];   // sum of each group of 16 quants
};

static_assert(sizeof(block_q4_0) == 18, "Q4_0 block is 18 bytes");
static_assert(sizeof(block_q4_1) == 20, "Q4_1 block is 20 bytes");
static_assert(sizeof(block_q5_0) == 22, "Q5_0 block is 22 bytes");
static_assert(sizeof(block_q5_1) == 24, "Q5_1 block is 24 bytes");
static_assert(sizeof(block_q8_0) == 34, "Q8_0 block is 34 bytes");
static_assert(sizeof(block_q8_1) == 36, "Q8_1 block is 36 bytes");
static_assert(sizeof(block_q2_k) == 84, "Q2_K block is 84 bytes");
static_assert(sizeof(block_q3_k) == 110, "Q3_K block is 110 bytes");
static_assert(sizeof(block_q4_k) == 144, "Q4_K block is 144 bytes");
static_assert(sizeof(block_q5_k) == 176, "Q5_K block is 176 bytes");
static_assert(sizeof(block_q6_k) == 210, "Q6_K block is 210 bytes");
static_assert(sizeof(block_q8_k) == 292, "Q8_K block is 292 bytes");

// --- traits ---------------------------------------------------------------------------------------

struct dtype_traits {
    dtype type;                 // the dtype itself
    const char* name;           // GGUF/llama.cpp spelling, e.g. "Q4_K"
    std::uint32_t block_elements;  // elements per block (1 for float types)
    std::uint32_t block_bytes;     // bytes per block
    bool quantized;             // true for the block formats
};

// Every supported dtype, in GGUF id order.
inline constexpr dtype_traits dtype_table[] = {
#define NOGGIN_DTYPE_TRAITS_ROW(e, id, nm, be, bb) {dtype::e, nm, be, static_cast<std::uint32_t>(bb), (be) > 1},
    NOGGIN_DTYPE_LIST(NOGGIN_DTYPE_TRAITS_ROW)
#undef NOGGIN_DTYPE_TRAITS_ROW
};
inline constexpr std::size_t dtype_count = sizeof(dtype_table) / sizeof(dtype_table[0]);

// Traits of a valid dtype (one accepted by dtype_from_gguf or a enumerator).
inline const dtype_traits& dtype_info(dtype t) {
    for (const dtype_traits& row : dtype_table)
        if (row.type == t) return row;
    return dtype_table[0];  // unreachable for enumerators; untrusted ids go through dtype_from_gguf
}

inline const char* dtype_name(dtype t) { return dtype_info(t).name; }

// Map a GGUF type id from a file to a dtype; false when noggin does not support it.
inline bool dtype_from_gguf(std::uint32_t id, dtype* out) {
    for (const dtype_traits& row : dtype_table) {
        if (static_cast<std::uint32_t>(row.type) == id) {
            *out = row.type;
            return true;
        }
    }
    return false;
}

// Bytes of `n` elements of type `t`; false if n is not a whole number of blocks or the size overflows.
inline bool row_bytes(dtype t, std::uint64_t n, std::uint64_t* out) {
    const dtype_traits& info = dtype_info(t);
    if (n % info.block_elements != 0) return false;
    const std::uint64_t blocks = n / info.block_elements;
    if (blocks > std::numeric_limits<std::uint64_t>::max() / info.block_bytes) return false;
    *out = blocks * info.block_bytes;
    return true;
}

}  // namespace noggin
