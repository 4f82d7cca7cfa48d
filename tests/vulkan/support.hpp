// tests/vulkan/support.hpp — one shared Vulkan context for the Vulkan tests, with validation on.
//
// Every test asks `test_context()`; when there is no loader or no device it prints why and the test
// returns (the suite must pass on machines without Vulkan). The context has VK_LAYER_KHRONOS_validation
// enabled when it is installed; `NOGGIN_CHECK_VALIDATION()` at the end of a test fails it if any
// validation error was reported since the previous check. Small helpers: NMSE, random vectors.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "noggin/vulkan/ops.hpp"
#include "support/compare.hpp"

#if defined(__linux__)
#include <dlfcn.h>
#include <link.h>
#endif

namespace noggin_test {

inline void vk_log(void*, noggin::log_level level, const char* msg) {
    if (level >= noggin::log_level::warning) std::fprintf(stderr, "[noggin vulkan] %s\n", msg);
}

inline noggin::vulkan::context_params test_context_params() {
    noggin::vulkan::context_params p;
    p.validation = true;
    p.prefer = noggin::vulkan::device_preference::best;
    p.log.write = vk_log;
    p.log.min_level = noggin::log_level::warning;
    return p;
}

// Keep every shared library loaded so far (the Vulkan loader, the ICD such as lavapipe, the validation
// layer) mapped until exit. The loader unloads the driver and the layer when the last instance is
// destroyed; the objects they keep in their globals then look leaked to LeakSanitizer, whose report
// cannot be suppressed once the library is gone (TOOLCHAIN.md's lavapipe note). Pinning is harmless
// without sanitizers: the process exits right after the tests anyway.
inline void pin_loaded_libraries() {
#if defined(__linux__)
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void*) -> int {
            if (info->dlpi_name != nullptr && info->dlpi_name[0] == '/')
                (void)dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
            return 0;
        },
        nullptr);
#endif
}

struct shared_context {
    std::unique_ptr<noggin::vulkan::context> ctx;
    noggin::status why;  // creation failure
    int errors_seen = 0;
};

inline shared_context& shared() {
    static shared_context s = [] {
        shared_context c;
        auto r = noggin::vulkan::context::create(test_context_params());
        if (r.ok()) c.ctx = std::move(r.value());
        else c.why = r.status();
        pin_loaded_libraries();
        return c;
    }();
    return s;
}

// The shared context, or null (after printing why) when Vulkan is unavailable here.
inline noggin::vulkan::context* test_context() {
    shared_context& s = shared();
    if (s.ctx == nullptr) MESSAGE("skipped: no Vulkan (" << s.why.message() << ")");
    return s.ctx.get();
}

// Validation errors since the previous call.
inline int new_validation_errors() {
    shared_context& s = shared();
    if (s.ctx == nullptr) return 0;
    const int now = s.ctx->validation_errors();
    const int d = now - s.errors_seen;
    s.errors_seen = now;
    return d;
}

inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

}  // namespace noggin_test

#define NOGGIN_CHECK_VALIDATION() CHECK_MESSAGE(noggin_test::new_validation_errors() == 0, "Vulkan validation errors (see stderr)")
