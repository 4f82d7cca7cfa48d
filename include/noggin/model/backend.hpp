// noggin/model/backend.hpp — choose where a model runs (CPU or Vulkan) when it is loaded, behind the
// same calls as model::context.
//
//     noggin::model::runner_params rp;
//     rp.which = noggin::model::backend::vulkan;   // fallback_to_cpu = true by default
//     rp.cpu.kv.n_ctx = 2048;                      // KV size/type and CPU threads, used by both backends
//     auto r = noggin::model::runner::create(m.value(), rp);
//     if (r->active() == noggin::model::backend::cpu) log(r->fallback_reason());  // e.g. no Vulkan device
//     r->decode(prompt.data(), prompt.size());
//     int next = argmax(r->logits(), n_vocab);
//
// Sections: backend · runner_params · runner
//
// The Vulkan backend exists only when noggin is built with NOGGIN_VULKAN (CMake option / Meson option
// `vulkan`); otherwise, or when the loader or a suitable device is missing, asking for it gives a
// device_error status — or, with fallback_to_cpu, a CPU runner whose fallback_reason() says why.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "../core/status.hpp"
#include "forward.hpp"
#include "model.hpp"
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
#include "../vulkan/forward.hpp"
#endif

namespace noggin {
namespace model {

// --- backend ---------------------------------------------------------------------------------------------

enum class backend : int {
    cpu = 0,     // model/forward.hpp on the thread-pool hook (always available)
    vulkan = 1,  // vulkan/forward.hpp on a Vulkan device (NOGGIN_VULKAN builds)
};

inline const char* backend_name(backend b) { return b == backend::vulkan ? "vulkan" : "cpu"; }

// True when this build contains the Vulkan backend (a device may still be missing at run time).
inline constexpr bool vulkan_compiled() {
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
    return true;
#else
    return false;
#endif
}

// --- runner_params ---------------------------------------------------------------------------------------

struct runner_params {
    backend which = backend::cpu;   // requested backend (default cpu)
    bool fallback_to_cpu = true;    // Vulkan unavailable: run on the CPU instead of failing (default on)
    context_params cpu{};           // KV cache size/type (both backends), batch and thread pool (CPU)
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
    vulkan::context_params device{};         // our own device, or the host's to adopt
    vulkan::context* device_context = nullptr;  // an existing noggin context to share (not owned); overrides `device`
    std::int64_t vulkan_max_batch = 64;      // tokens per command buffer in prompt batches (default 64)
#endif
};

// --- runner ----------------------------------------------------------------------------------------------

// One sequence of `m` on the chosen backend. The model (and a shared device context) must outlive it.
class runner {
public:
    runner() = default;

    static result<runner> create(const model& m, const runner_params& p = {}) {
        runner r;
        if (p.which == backend::vulkan) {
            status why = r.create_vulkan(m, p);
            if (why.ok()) return r;
            const bool unavailable = why.code() == status_code::device_error || why.code() == status_code::unsupported;
            if (!p.fallback_to_cpu || !unavailable) return why;
            r.fallback_reason_ = why.message();
        }
        result<context> c = context::create(m, p.cpu);
        if (!c.ok()) return c.status();
        r.cpu_ = std::make_unique<context>(std::move(c.value()));
        r.active_ = backend::cpu;
        return r;
    }

    backend active() const { return active_; }
    // Why a Vulkan request runs on the CPU (empty when it did not fall back).
    const std::string& fallback_reason() const { return fallback_reason_; }

    status decode(const std::int32_t* tokens, std::int64_t n) {
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
        if (gpu_ != nullptr) return gpu_->decode(tokens, n);
#endif
        return cpu_ != nullptr ? cpu_->decode(tokens, n) : not_created();
    }
    status decode_all(const std::int32_t* tokens, std::int64_t n, float* out) {
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
        if (gpu_ != nullptr) return gpu_->decode_all(tokens, n, out);
#endif
        return cpu_ != nullptr ? cpu_->decode_all(tokens, n, out) : not_created();
    }
    const float* logits() const {
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
        if (gpu_ != nullptr) return gpu_->logits();
#endif
        return cpu_ != nullptr ? cpu_->logits() : nullptr;
    }
    std::int64_t n_past() const {
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
        if (gpu_ != nullptr) return gpu_->n_past();
#endif
        return cpu_ != nullptr ? cpu_->n_past() : 0;
    }
    std::int64_t n_ctx() const {
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
        if (gpu_ != nullptr) return gpu_->n_ctx();
#endif
        return cpu_ != nullptr ? cpu_->n_ctx() : 0;
    }
    // Keep positions [0, n).
    status truncate(std::int64_t n) {
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
        if (gpu_ != nullptr) return gpu_->truncate(n);
#endif
        return cpu_ != nullptr ? cpu_->kv().truncate(n) : not_created();
    }

private:
    static status not_created() { return status(status_code::invalid_argument, "runner: not created"); }

    status create_vulkan(const model& m, const runner_params& p) {
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
        vulkan::context* dev = p.device_context;
        if (dev == nullptr) {
            result<std::unique_ptr<vulkan::context>> c = vulkan::context::create(p.device);
            if (!c.ok()) return c.status();
            own_device_ = std::move(c.value());
            dev = own_device_.get();
        }
        vulkan::model_context_params mp;
        mp.n_ctx = p.cpu.kv.n_ctx;
        mp.kv_type = p.cpu.kv.type;
        mp.max_batch = p.vulkan_max_batch;
        result<vulkan::model_context> g = vulkan::model_context::create(*dev, m, mp);
        if (!g.ok()) {
            own_device_.reset();
            return g.status();
        }
        gpu_ = std::make_unique<vulkan::model_context>(std::move(g.value()));
        active_ = backend::vulkan;
        return status();
#else
        (void)m;
        (void)p;
        return status(status_code::device_error, "runner: this build has no Vulkan backend (NOGGIN_VULKAN off)");
#endif
    }

    backend active_ = backend::cpu;
    std::string fallback_reason_;
    std::unique_ptr<context> cpu_;
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
    std::unique_ptr<vulkan::context> own_device_;    // null when sharing the host's noggin context
    std::unique_ptr<vulkan::model_context> gpu_;     // destroyed before own_device_ (declared after)
#endif
};

}  // namespace model
}  // namespace noggin
