#version 450
// matmul.comp — y = W · x for one weight type (TYPE_<dtype>) over NCOLS columns per workgroup.
// NCOLS = 1 is the matrix-vector shader of a decode step; NCOLS = 8 the matrix-matrix shader of a
// prompt batch (each dequantized weight quad is reused for 8 columns).
//
// W: rows of K elements in GGUF layout (ne = {K, rows}), bound at byte 0 = row `first` - the host may
// bind a large tensor in several row ranges (split bindings) and issue one dispatch per range.
// x: column c at x[x_off + c*x_stride + k]; y: y[y_off + c*y_stride + y_row0 + r].
// Workgroup: 64 invocations = ROWS rows x LANES lanes; the lanes of a row stride over its quads and
// are summed in shared memory (no subgroup size assumed). Grid: (ceil(rows / ROWS), ceil(ncols / NCOLS)).
#include "common.glsl"
#define W_BINDING 0
#include "dequant.glsl"

#ifndef NCOLS
#define NCOLS 1
#endif
#define LANES 16u
#define ROWS 4u

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

shared float red[64 * NCOLS];

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint lane = tid % LANES;
    const uint r = gl_WorkGroupID.x * ROWS + tid / LANES;
    const uint c0 = gl_WorkGroupID.y * NCOLS;
    const bool live = r < pc.rows;
    float acc[NCOLS];
    for (uint c = 0u; c < NCOLS; ++c) acc[c] = 0.0;
    if (live) {
        const uint wrow = pc.first + r;
#ifdef W_FLOAT
        const uint base = wrow * pc.K;
        for (uint i = lane; i < pc.K; i += LANES) {
            const float w = w_elem(base + i);
            for (uint c = 0u; c < NCOLS; ++c)
                if (c0 + c < pc.ncols) acc[c] += w * x[pc.x_off + (c0 + c) * pc.x_stride + i];
        }
#else
        const uint base = wrow * ((pc.K / BE) * BB);
        const uint nq = pc.K / 4u;
        for (uint q = lane; q < nq; q += LANES) {
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
    }
    for (uint c = 0u; c < NCOLS; ++c) red[c * 64u + tid] = acc[c];
    barrier();
    for (uint s = LANES / 2u; s > 0u; s >>= 1) {
        if (lane < s)
            for (uint c = 0u; c < NCOLS; ++c) red[c * 64u + tid] += red[c * 64u + tid + s];
        barrier();
    }
    if (live && lane == 0u)
        for (uint c = 0u; c < NCOLS; ++c)
            if (c0 + c < pc.ncols) y[pc.y_off + (c0 + c) * pc.y_stride + pc.y_row0 + r] = red[c * 64u + tid];
}
