#version 450
// silu_mul.comp — out = silu(gate) · up = gate / (1 + exp(-gate)) · up (SwiGLU), n floats; out may
// alias gate. Grid-stride loop.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer U { float u[]; };
layout(std430, binding = 2) buffer O { float o[]; };
layout(push_constant) uniform Params {
    uint n;      // elements
    uint g_off;  // float offsets
    uint u_off;
    uint o_off;
} pc;

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * EW_SIZE) {
        const float v = g[pc.g_off + i];
        o[pc.o_off + i] = v / (1.0 + exp(-v)) * u[pc.u_off + i];
    }
}
