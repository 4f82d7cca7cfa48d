#version 450
// attention.comp — causal GQA attention of n_tok query rows over the KV cache, one workgroup per
// (token, head). Keys are visited in chunks of 64: each invocation scores one key of the chunk, the
// chunk's max and sum go through shared memory, and the running output (online softmax, as the CPU's
// cpu::attention) is rescaled; each invocation owns the output dims d = tid + 64·k (k < 4, so
// head_dim ≤ 256). Cache: KV_F16 (f16 bits) or f32, position p of KV head h at p·kv_stride + h·head_dim.
#include "common.glsl"

#define CHUNK 64u
#define MAX_SLOTS 4u
#define MAX_HEAD_DIM (CHUNK * MAX_SLOTS)

layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer Q { float q[]; };
#if defined(KV_F16)
layout(std430, binding = 1) readonly buffer K { uint16_t kc[]; };
layout(std430, binding = 2) readonly buffer V { uint16_t vc[]; };
float kat(uint i) { return half_bits_to_float(uint(kc[i])); }
float vat(uint i) { return half_bits_to_float(uint(vc[i])); }
#else
layout(std430, binding = 1) readonly buffer K { float kc[]; };
layout(std430, binding = 2) readonly buffer V { float vc[]; };
float kat(uint i) { return kc[i]; }
float vat(uint i) { return vc[i]; }
#endif
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform Params {
    uint n_head;     // query heads
    uint n_head_kv;  // key/value heads (n_head is a multiple)
    uint head_dim;   // floats per head (≤ 256)
    uint pos0;       // position of query row 0
    uint n_kv;       // keys present in the cache (≥ pos0 + 1)
    uint kv_stride;  // elements between positions in the cache
    float scale;     // score scale (1/sqrt(head_dim))
    uint q_off;      // float offset of row 0 in q (rows: n_head · head_dim floats)
    uint o_off;      // float offset of row 0 in o
} pc;

shared float qs[MAX_HEAD_DIM];
shared float ps[CHUNK];
shared float red[CHUNK];

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y;
    const uint D = pc.head_dim;
    const uint hkv = h / (pc.n_head / pc.n_head_kv);
    const uint qo = pc.q_off + (t * pc.n_head + h) * D;
    for (uint i = tid; i < D; i += CHUNK) qs[i] = q[qo + i];
    barrier();
    const uint n_keys = min(pc.pos0 + t + 1u, pc.n_kv);  // causal
    const uint kv_head = hkv * D;
    float acc[MAX_SLOTS];
    for (uint k = 0u; k < MAX_SLOTS; ++k) acc[k] = 0.0;
    float m = uintBitsToFloat(0xff800000u), l = 0.0;  // -inf
    for (uint j0 = 0u; j0 < n_keys; j0 += CHUNK) {
        const uint j = j0 + tid;
        float s = uintBitsToFloat(0xff800000u);
        if (j < n_keys) {
            const uint kb = j * pc.kv_stride + kv_head;
            float d = 0.0;
            for (uint i = 0u; i < D; ++i) d += qs[i] * kat(kb + i);
            s = d * pc.scale;
        }
        red[tid] = s;
        barrier();
        for (uint k = CHUNK / 2u; k > 0u; k >>= 1) {
            if (tid < k) red[tid] = max(red[tid], red[tid + k]);
            barrier();
        }
        const float m_new = max(m, red[0]);
        barrier();  // everyone has read red[0] before it is reused
        const float p = j < n_keys ? exp(s - m_new) : 0.0;
        ps[tid] = p;
        red[tid] = p;
        barrier();
        for (uint k = CHUNK / 2u; k > 0u; k >>= 1) {
            if (tid < k) red[tid] += red[tid + k];
            barrier();
        }
        const float f = exp(m - m_new);  // 0 on the first chunk
        l = l * f + red[0];
        m = m_new;
        const uint cnt = min(CHUNK, n_keys - j0);
        for (uint k = 0u; k < MAX_SLOTS; ++k) {
            const uint d = tid + k * CHUNK;
            if (d < D) {
                float a = acc[k] * f;
                for (uint c = 0u; c < cnt; ++c) a += ps[c] * vat((j0 + c) * pc.kv_stride + kv_head + d);
                acc[k] = a;
            }
        }
        barrier();  // ps and red are rewritten by the next chunk
    }
    const float inv = l > 0.0 ? 1.0 / l : 0.0;
    const uint oo = pc.o_off + (t * pc.n_head + h) * D;
    for (uint k = 0u; k < MAX_SLOTS; ++k) {
        const uint d = tid + k * CHUNK;
        if (d < D) o[oo + d] = acc[k] * inv;
    }
}
