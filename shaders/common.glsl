// common.glsl — what every noggin compute shader shares: extensions and the workgroup size of the
// element-wise ops. Included by the .comp files; compiled by tools/gen_spirv.py (glslc).
//
// No shader assumes a subgroup size: reductions go through shared memory with barrier(), so the same
// SPIR-V is correct for subgroups of 4 (lavapipe on 128-bit hosts), 8, 32 or 64 lanes.
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_shader_16bit_storage : require

// Element-wise ops: 256 invocations per workgroup, a grid-stride loop covers any length.
#define EW_SIZE 256u

// Little-endian f16 bits -> float.
float half_bits_to_float(uint bits) { return unpackHalf2x16(bits).x; }
// float -> f16 bits (round to nearest even, as the CPU's f32_to_f16).
uint float_to_half_bits(float v) { return packHalf2x16(vec2(v, 0.0)) & 0xffffu; }
