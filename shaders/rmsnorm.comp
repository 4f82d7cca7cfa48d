#version 450
// rmsnorm.comp — y = x / sqrt(mean(x²) + eps) · w over `nrows` rows of n floats; one workgroup per row
// (rows beyond 65535 per dispatch are split by the host with row_off). y may alias x (in place, e.g.
// Qwen3's per-head q/k norm). Sum of squares reduced in shared memory.
#include "common.glsl"

layout(local_size_x = 128) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Params {
    uint n;        // elements per row
    uint x_off;    // float offset of row 0 in x
    uint x_stride; // floats between rows of x
    uint y_off;    // float offset of row 0 in y
    uint y_stride; // floats between rows of y
    uint w_off;    // float offset of the weight in w
    uint has_w;    // 0: no weight (scale 1)
    float eps;     // added to the mean square
    uint row_off;  // row of this dispatch's workgroup 0
} pc;

shared float red[128];

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint row = pc.row_off + gl_WorkGroupID.x;
    const uint xo = pc.x_off + row * pc.x_stride, yo = pc.y_off + row * pc.y_stride;
    float s = 0.0;
    for (uint i = tid; i < pc.n; i += 128u) s += x[xo + i] * x[xo + i];
    red[tid] = s;
    barrier();
    for (uint k = 64u; k > 0u; k >>= 1) {
        if (tid < k) red[tid] += red[tid + k];
        barrier();
    }
    const float scale = 1.0 / sqrt(red[0] / float(pc.n) + pc.eps);
    for (uint i = tid; i < pc.n; i += 128u) y[yo + i] = x[xo + i] * scale * (pc.has_w != 0u ? w[pc.w_off + i] : 1.0);
}
