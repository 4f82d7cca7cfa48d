#version 450
// kv_store.comp — append rows of keys or values to the cache: dst[dst_off + i] = src[src_off + i] for
// n floats, converted to the cache type (KV_F16: f16 bits, else f32). Grid-stride loop.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer S { float src[]; };
#if defined(KV_F16)
layout(std430, binding = 1) writeonly buffer D { uint16_t dst[]; };
#else
layout(std430, binding = 1) writeonly buffer D { float dst[]; };
#endif
layout(push_constant) uniform Params {
    uint n;        // elements
    uint src_off;  // float offset in src
    uint dst_off;  // element offset in the cache
} pc;

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * EW_SIZE) {
#if defined(KV_F16)
        dst[pc.dst_off + i] = uint16_t(float_to_half_bits(src[pc.src_off + i]));
#else
        dst[pc.dst_off + i] = src[pc.src_off + i];
#endif
    }
}
