// dequant.glsl — reading one weight type from a raw byte buffer, in the exact GGUF block layouts of
// include/noggin/core/dtype.hpp (the formulas mirror cpu/quants.hpp's scalar dequantizers).
//
// Before including, define W_BINDING (binding of the weight buffer) and exactly one TYPE_<dtype>.
// Provides:
//   BE, BB             elements and bytes per block (BE == 1 for the float types)
//   W_FLOAT            defined for the float types (F32, F16, BF16)
//   float w_elem(e)    float types: element e of the bound buffer (e counts elements)
//   vec4 dq4(blk, j)   block types: elements j..j+3 (j % 4 == 0) of the block starting at byte blk;
//                      the 4 share one scale because every scale group is ≥ 16 aligned elements.
// Quantized blocks are not 4-byte aligned (Q8_0 is 34 bytes, Q6_K 210), so they are read byte by byte
// (8-bit storage); F32 and 16-bit floats use typed views of the same binding.

#if defined(TYPE_F32)
layout(std430, binding = W_BINDING) readonly buffer WeightF32 { float wf[]; };
#define W_FLOAT 1
#define BE 1u
#define BB 4u
float w_elem(uint e) { return wf[e]; }
#elif defined(TYPE_F16) || defined(TYPE_BF16)
layout(std430, binding = W_BINDING) readonly buffer WeightU16 { uint16_t wh[]; };
#define W_FLOAT 1
#define BE 1u
#define BB 2u
#if defined(TYPE_F16)
float w_elem(uint e) { return half_bits_to_float(uint(wh[e])); }
#else
float w_elem(uint e) { return uintBitsToFloat(uint(wh[e]) << 16); }  // bf16: the top half of an f32
#endif
#else
layout(std430, binding = W_BINDING) readonly buffer WeightBytes { uint8_t wb[]; };
uint u8(uint o) { return uint(wb[o]); }
int i8(uint o) { return (int(uint(wb[o])) << 24) >> 24; }
float f16at(uint o) { return half_bits_to_float(u8(o) | (u8(o + 1u) << 8)); }
uint u32at(uint o) { return u8(o) | (u8(o + 1u) << 8) | (u8(o + 2u) << 16) | (u8(o + 3u) << 24); }

#if defined(TYPE_Q4_0)
// d(f16) qs[16]: element j = low nibble of qs[j] (j < 16) or high nibble of qs[j-16]; value d*(q-8).
#define BE 32u
#define BB 18u
vec4 dq4(uint blk, uint j) {
    const float d = f16at(blk);
    const uint sh = j < 16u ? 0u : 4u;
    vec4 v;
    for (uint i = 0u; i < 4u; ++i) v[i] = d * (float((u8(blk + 2u + ((j + i) & 15u)) >> sh) & 15u) - 8.0);
    return v;
}
#elif defined(TYPE_Q4_1)
// d m qs[16]: value d*q + m.
#define BE 32u
#define BB 20u
vec4 dq4(uint blk, uint j) {
    const float d = f16at(blk), m = f16at(blk + 2u);
    const uint sh = j < 16u ? 0u : 4u;
    vec4 v;
    for (uint i = 0u; i < 4u; ++i) v[i] = d * float((u8(blk + 4u + ((j + i) & 15u)) >> sh) & 15u) + m;
    return v;
}
#elif defined(TYPE_Q5_0)
// d qh[4] qs[16]: 5th bit of element j = bit j of qh; value d*(q-16).
#define BE 32u
#define BB 22u
vec4 dq4(uint blk, uint j) {
    const float d = f16at(blk);
    const uint qh = u32at(blk + 2u);
    const uint sh = j < 16u ? 0u : 4u;
    vec4 v;
    for (uint i = 0u; i < 4u; ++i) {
        const uint q = ((u8(blk + 6u + ((j + i) & 15u)) >> sh) & 15u) | (((qh >> (j + i)) & 1u) << 4);
        v[i] = d * (float(q) - 16.0);
    }
    return v;
}
#elif defined(TYPE_Q5_1)
// d m qh[4] qs[16]: value d*q + m.
#define BE 32u
#define BB 24u
vec4 dq4(uint blk, uint j) {
    const float d = f16at(blk), m = f16at(blk + 2u);
    const uint qh = u32at(blk + 4u);
    const uint sh = j < 16u ? 0u : 4u;
    vec4 v;
    for (uint i = 0u; i < 4u; ++i) {
        const uint q = ((u8(blk + 8u + ((j + i) & 15u)) >> sh) & 15u) | (((qh >> (j + i)) & 1u) << 4);
        v[i] = d * float(q) + m;
    }
    return v;
}
#elif defined(TYPE_Q8_0)
// d qs[32] (int8): value d*q.
#define BE 32u
#define BB 34u
vec4 dq4(uint blk, uint j) {
    const float d = f16at(blk);
    return d * vec4(i8(blk + 2u + j), i8(blk + 3u + j), i8(blk + 4u + j), i8(blk + 5u + j));
}
#elif defined(TYPE_Q2_K)
// scales[16] qs[64] d dmin: 2-bit q at bits 2*(r/32) of qs[32g+l]; scale byte j/16 (low: scale, high: min).
#define BE 256u
#define BB 84u
vec4 dq4(uint blk, uint j) {
    const float d = f16at(blk + 80u), dmin = f16at(blk + 82u);
    const uint sc = u8(blk + j / 16u);
    const float ds = d * float(sc & 15u), ms = dmin * float(sc >> 4);
    const uint g = j / 128u, r = j % 128u, l = j % 32u, sh = 2u * (r / 32u);
    vec4 v;
    for (uint i = 0u; i < 4u; ++i) v[i] = ds * float((u8(blk + 16u + 32u * g + l + i) >> sh) & 3u) - ms;
    return v;
}
#elif defined(TYPE_Q3_K)
// hmask[32] qs[64] scales[12] d: low 2 bits as Q2_K; hmask bit j/32 clear means -4; 16 six-bit scales - 32.
#define BE 256u
#define BB 110u
vec4 dq4(uint blk, uint j) {
    const float d = f16at(blk + 108u);
    const uint k = j / 16u;
    const uint lo = (k < 8u ? u8(blk + 96u + k) : (u8(blk + 96u + k - 8u) >> 4)) & 15u;
    const uint hi = (u8(blk + 104u + k % 4u) >> (2u * (k / 4u))) & 3u;
    const float dl = d * float(int(lo | (hi << 4)) - 32);
    const uint g = j / 128u, r = j % 128u, l = j % 32u, sh = 2u * (r / 32u), hb = j / 32u;
    vec4 v;
    for (uint i = 0u; i < 4u; ++i) {
        const int q = int((u8(blk + 32u + 32u * g + l + i) >> sh) & 3u);
        const int h = int((u8(blk + l + i) >> hb) & 1u);
        v[i] = dl * float(q - (h != 0 ? 0 : 4));
    }
    return v;
}
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
// d dmin scales[12] [qh[32]] qs[128]: sub-block s = j/32 has a 6-bit scale and min (packed as in
// cpu::unpack_scale_min_k4); nibble s%2 of qs[32*(s/2) + l]; Q5_K adds bit s of qh[l] as the 5th bit.
#define BE 256u
#if defined(TYPE_Q4_K)
#define BB 144u
#define QS_AT 16u
#else
#define BB 176u
#define QS_AT 48u
#endif
vec4 dq4(uint blk, uint j) {
    const float d = f16at(blk), dmin = f16at(blk + 2u);
    const uint s = j / 32u, l = j % 32u, sb = blk + 4u;
    uint sc, mn;
    if (s < 4u) {
        sc = u8(sb + s) & 63u;
        mn = u8(sb + s + 4u) & 63u;
    } else {
        sc = (u8(sb + s + 4u) & 15u) | ((u8(sb + s - 4u) >> 6) << 4);
        mn = (u8(sb + s + 4u) >> 4) | ((u8(sb + s) >> 6) << 4);
    }
    const float ds = d * float(sc), ms = dmin * float(mn);
    const uint sh = 4u * (s % 2u), q0 = blk + QS_AT + 32u * (s / 2u) + l;
    vec4 v;
    for (uint i = 0u; i < 4u; ++i) {
        uint q = (u8(q0 + i) >> sh) & 15u;
#if defined(TYPE_Q5_K)
        q |= ((u8(blk + 16u + l + i) >> s) & 1u) << 4;
#endif
        v[i] = ds * float(q) - ms;
    }
    return v;
}
#elif defined(TYPE_Q6_K)
// ql[128] qh[64] scales[16] (int8) d: low nibble r/64 of ql[64g + r%64], high 2 bits at 2*(r/32) of
// qh[32g + l]; value d * scale[j/16] * (q - 32).
#define BE 256u
#define BB 210u
vec4 dq4(uint blk, uint j) {
    const float ds = f16at(blk + 208u) * float(i8(blk + 192u + j / 16u));
    const uint g = j / 128u, r = j % 128u, l = j % 32u;
    const uint lsh = 4u * (r / 64u), hsh = 2u * (r / 32u);
    vec4 v;
    for (uint i = 0u; i < 4u; ++i) {
        const uint lo = (u8(blk + 64u * g + r % 64u + i) >> lsh) & 15u;
        const uint hi = (u8(blk + 128u + 32u * g + l + i) >> hsh) & 3u;
        v[i] = ds * (float(lo | (hi << 4)) - 32.0);
    }
    return v;
}
#else
#error "dequant.glsl: define one TYPE_<dtype>"
#endif
#endif
