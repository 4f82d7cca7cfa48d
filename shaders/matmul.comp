#version 450
// matmul.comp — y = W · x for one weight type (TYPE_<dtype>) over NCOLS columns per workgroup.
// NCOLS = 1 is the matrix-vector shader of a decode step; NCOLS = 8 the matrix-matrix shader of a
// prompt batch (each dequantized weight quad is reused for 8 columns).
//
// W: rows of K elements in GGUF layout (ne = {K, rows}), bound at byte 0 = row `first` - the host may
// bind a large tensor in several row ranges (split bindings) and issue one dispatch per range.
// x: column c at x[x_off + c*x_stride + k]; y: y[y_off + c*y_stride + y_row0 + r].
// Workgroup: 64 invocations own ROWS consecutive rows. Each subgroup takes rows gl_SubgroupID,
// + gl_NumSubgroups, ...; its lanes stride over the row's quads and subgroupAdd() sums them. Any
// subgroup size works (4 on lavapipe's 128-bit hosts, 8, 32, 64: then one subgroup does all ROWS),
// and there is no shared memory and no barrier (barriers are costly on CPU implementations).
// Grid: (ceil(rows / ROWS), ceil(ncols / NCOLS)).
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"
#define W_BINDING 0
#include "dequant.glsl"

#ifndef NCOLS
#define NCOLS 1
#endif
#define ROWS 8u

layout(local_size_x = 64) in;
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
    uint K;         // elements per row (a whole number of blocks)
    uint rows;      // rows in this dispatch
    uint first;     // first row of this dispatch, counted from the start of the W binding
    uint ncols;     // columns of x and y
    uint x_stride;  // floats between columns of x
    uint y_stride;  // floats between columns of y
    uint x_off;     // float offset of column 0 in x
    uint y_off;     // float offset of column 0 in y
    uint y_row0;    // output row of this dispatch's row 0
} pc;

void main() {
    const uint lane = gl_SubgroupInvocationID, lanes = gl_SubgroupSize;
    const uint c0 = gl_WorkGroupID.y * NCOLS;
    for (uint rr = gl_SubgroupID; rr < ROWS; rr += gl_NumSubgroups) {
        const uint r = gl_WorkGroupID.x * ROWS + rr;
        if (r >= pc.rows) break;  // uniform across the subgroup
        const uint wrow = pc.first + r;
        float acc[NCOLS];
        for (uint c = 0u; c < NCOLS; ++c) acc[c] = 0.0;
#ifdef W_FLOAT
        const uint base = wrow * pc.K;
        for (uint i = lane; i < pc.K; i += lanes) {
            const float w = w_elem(base + i);
            for (uint c = 0u; c < NCOLS; ++c)
                if (c0 + c < pc.ncols) acc[c] += w * x[pc.x_off + (c0 + c) * pc.x_stride + i];
        }
#else
        const uint base = wrow * ((pc.K / BE) * BB);
        const uint nq = pc.K / 4u;
        for (uint q = lane; q < nq; q += lanes) {
            const uint e = q * 4u;
            const vec4 w = dq4(base + (e / BE) * BB, e % BE);
            for (uint c = 0u; c < NCOLS; ++c) {
                if (c0 + c < pc.ncols) {
                    const uint xi = pc.x_off + (c0 + c) * pc.x_stride + e;
                    acc[c] += dot(w, vec4(x[xi], x[xi + 1u], x[xi + 2u], x[xi + 3u]));
                }
            }
        }
#endif
        for (uint c = 0u; c < NCOLS; ++c) {
            const float total = subgroupAdd(acc[c]);
            if (subgroupElect() && c0 + c < pc.ncols) y[pc.y_off + (c0 + c) * pc.y_stride + pc.y_row0 + r] = total;
        }
    }
}
