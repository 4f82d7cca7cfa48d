#version 450
// rope.comp — rotary position embedding in place over n_tok tokens × n_heads heads × head_dim floats.
// Pair i of a head: (2i, 2i+1) in the normal (llama) layout, (i, i + n_dims/2) in the NeoX layout.
// theta = freq_scale · pos · inv_freq[i] (/ freq_factors[i] when present): the host computes
// inv_freq[i] = freq_base^(-2i/n_dims) as the CPU does, so only sin/cos run on the device.
// One invocation per (token, head, pair); grid-stride loop.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Pos { int pos[]; };
layout(std430, binding = 2) readonly buffer Freq { float freq[]; };  // inv_freq[half], then factors[half]
layout(push_constant) uniform Params {
    uint n_tok;       // tokens
    uint n_heads;     // heads per token
    uint head_dim;    // floats per head
    uint n_dims;      // rotated dims per head (even)
    uint neox;        // 1: NeoX pairs, 0: adjacent pairs
    uint has_factors; // 1: divide theta by freq[half + i]
    float freq_scale; // linear position scale
    float attn_factor;// multiplies sin and cos
    uint x_off;       // float offset of token 0
    uint pos_off;     // index of token 0's position
    uint freq_off;    // float offset of inv_freq[0]
} pc;

void main() {
    const uint half_dims = pc.n_dims / 2u;
    const uint total = pc.n_tok * pc.n_heads * half_dims;
    for (uint g = gl_GlobalInvocationID.x; g < total; g += gl_NumWorkGroups.x * 256u) {
        const uint i = g % half_dims, head = g / half_dims, t = head / pc.n_heads;
        float theta = pc.freq_scale * float(pos[pc.pos_off + t]) * freq[pc.freq_off + i];
        if (pc.has_factors != 0u) theta /= freq[pc.freq_off + half_dims + i];
        const float c = cos(theta) * pc.attn_factor, s = sin(theta) * pc.attn_factor;
        const uint base = pc.x_off + head * pc.head_dim;
        const uint a = base + (pc.neox != 0u ? i : 2u * i), b = base + (pc.neox != 0u ? i + half_dims : 2u * i + 1u);
        const float x0 = x[a], x1 = x[b];
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    }
}
