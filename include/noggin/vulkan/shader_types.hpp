// noggin/vulkan/shader_types.hpp — which weight dtypes the Vulkan shaders read as stored (others are converted to
// F32 at upload). Needs no Vulkan headers, so model/memory.hpp can size a Vulkan plan in any build.
#pragma once

#include "../core/dtype.hpp"

namespace noggin {
namespace vulkan {

// True when the shaders read `t` directly; other dtypes are converted to F32 at upload.
inline bool has_shader(dtype t) {
    switch (t) {
        case dtype::f32: case dtype::f16: case dtype::bf16: case dtype::q4_0: case dtype::q4_1: case dtype::q5_0:
        case dtype::q5_1: case dtype::q8_0: case dtype::q2_k: case dtype::q3_k: case dtype::q4_k: case dtype::q5_k:
        case dtype::q6_k:
            return true;
        default:
            return false;
    }
}

}  // namespace vulkan
}  // namespace noggin
