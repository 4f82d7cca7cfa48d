#version 450
// add.comp — out[i] = a[i] + b[i % nb] over n floats: a residual add (nb = n) or a bias broadcast over
// rows (nb = row length). out may alias a. Grid-stride loop.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer O { float o[]; };
layout(push_constant) uniform Params {
    uint n;      // elements
    uint nb;     // elements of b, repeated
    uint a_off;  // float offsets
    uint b_off;
    uint o_off;
} pc;

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * EW_SIZE)
        o[pc.o_off + i] = a[pc.a_off + i] + b[pc.b_off + i % pc.nb];
}
