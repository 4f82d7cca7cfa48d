#version 450
// get_rows.comp — embedding lookup: out[t] = dequantize(W row ids[t]) for ntok tokens, one weight type.
// W is bound from row `row0` on (split bindings: one dispatch per row range); tokens whose id is outside
// [row0, row0 + nrows) are left for the dispatch that binds their row. Grid: (ceil(K/4 / 64), ntok).
#include "common.glsl"
#define W_BINDING 0
#include "dequant.glsl"

layout(local_size_x = 64) in;
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
    uint K;          // elements per row
    uint row0;       // vocabulary row at byte 0 of the W binding
    uint nrows;      // rows in the W binding
    uint ids_off;    // index of token 0 in ids
    uint out_off;    // float offset of row 0 in out
    uint out_stride; // floats between output rows
} pc;

void main() {
    const uint t = gl_WorkGroupID.y;
    const int id = ids[pc.ids_off + t];
    if (id < int(pc.row0) || id >= int(pc.row0 + pc.nrows)) return;
    const uint row = uint(id) - pc.row0;
    const uint o = pc.out_off + t * pc.out_stride;
#ifdef W_FLOAT
    for (uint i = gl_GlobalInvocationID.x; i < pc.K; i += gl_NumWorkGroups.x * 64u) outv[o + i] = w_elem(row * pc.K + i);
#else
    const uint base = row * ((pc.K / BE) * BB);
    for (uint q = gl_GlobalInvocationID.x; q < pc.K / 4u; q += gl_NumWorkGroups.x * 64u) {
        const uint e = q * 4u;
        const vec4 w = dq4(base + (e / BE) * BB, e % BE);
        for (uint i = 0u; i < 4u; ++i) outv[o + e + i] = w[i];
    }
#endif
}
