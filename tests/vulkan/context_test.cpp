// Vulkan context: device choice, the "no loader / no device" statuses the host falls back on, buffers
// and staged transfers, the memory budget, pipelines from the generated SPIR-V, the pipeline cache,
// and adopting a device the host created itself.
#include <doctest/doctest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "noggin/vulkan/context.hpp"
#include "support.hpp"

using namespace noggin;

TEST_CASE("vulkan: a missing loader is a device_error status, not a crash") {
    vulkan::context_params p;
    p.loader_library = "libnoggin-no-such-vulkan-loader.so.1";
    auto r = vulkan::context::create(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == status_code::device_error);
    CHECK(r.status().message().find("loader") != std::string::npos);
}

TEST_CASE("vulkan: no matching device is a device_error status") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    vulkan::context_params p;
    p.device_index = 1000;  // beyond any machine's device count
    auto r = vulkan::context::create(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == status_code::device_error);
    CHECK(r.status().message().find("CPU backend") != std::string::npos);
    // Half an adoption is a programmer error reported as invalid_argument.
    vulkan::context_params half;
    half.device = ctx->device();
    auto h = vulkan::context::create(half);
    REQUIRE_FALSE(h.ok());
    CHECK(h.status().code() == status_code::invalid_argument);
}

TEST_CASE("vulkan: context facts, staged upload/download round trip, budget cap") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    const std::string facts = "device: " + ctx->device_name() + ", validation " + (ctx->validation_enabled() ? "on" : "off (layer missing)");
    MESSAGE(facts);
    CHECK(ctx->api_version() >= VK_API_VERSION_1_2);
    CHECK(ctx->max_binding_bytes() > 0);
    // Larger than the staging buffer's 8 MiB would be slow on lavapipe; 3 pieces of a small staging
    // buffer are exercised by a context with staging_bytes = 64 KiB below.
    std::vector<std::uint32_t> data(50000);
    std::iota(data.begin(), data.end(), 7u);
    auto b = ctx->make_buffer(data.size() * 4, vulkan::memory_kind::device);
    REQUIRE(b.ok());
    const std::uint64_t used = ctx->memory_used();
    CHECK(used >= data.size() * 4);
    REQUIRE(ctx->upload(b.value().get(), 0, data.data(), data.size() * 4).ok());
    std::vector<std::uint32_t> back(data.size());
    REQUIRE(ctx->download(b.value().get(), 0, back.data(), back.size() * 4).ok());
    CHECK(back == data);
    CHECK(ctx->upload(b.value().get(), 8, data.data(), data.size() * 4).code() == status_code::out_of_range);
    b.value().reset();
    CHECK(ctx->memory_used() == used - used);  // freed

    vulkan::context_params p = noggin_test::test_context_params();
    p.memory_budget = 1 << 20;
    p.staging_bytes = 64 * 1024;
    auto small = vulkan::context::create(p);
    REQUIRE(small.ok());
    auto big = small.value()->make_buffer(2 << 20, vulkan::memory_kind::device);
    REQUIRE_FALSE(big.ok());
    CHECK(big.status().code() == status_code::out_of_memory);
    auto fits = small.value()->make_buffer(200000, vulkan::memory_kind::device);
    REQUIRE(fits.ok());
    REQUIRE(small.value()->upload(fits.value().get(), 0, data.data(), 200000).ok());
    std::vector<std::uint32_t> back2(50000);
    REQUIRE(small.value()->download(fits.value().get(), 0, back2.data(), 200000).ok());
    CHECK(back2 == data);
    fits.value().reset();
    CHECK(small.value()->validation_errors() == 0);
    NOGGIN_CHECK_VALIDATION();
}

TEST_CASE("vulkan: every generated pipeline is created; the pipeline cache round-trips") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    REQUIRE(ctx->create_all_pipelines().ok());
    const std::vector<std::uint8_t> blob = ctx->pipeline_cache_data();
    CHECK(blob.size() > 16);
    vulkan::context_params p = noggin_test::test_context_params();
    p.pipeline_cache_data = blob.data();
    p.pipeline_cache_size = blob.size();
    auto again = vulkan::context::create(p);
    REQUIRE(again.ok());
    CHECK(again.value()->get_pipeline(vulkan::spirv::shader_id::matvec_q4_k).ok());
    // A corrupt blob is ignored (logged), not fatal.
    std::vector<std::uint8_t> junk(64, 0xAB);
    p.pipeline_cache_data = junk.data();
    p.pipeline_cache_size = junk.size();
    auto junked = vulkan::context::create(p);
    CHECK(junked.ok());
    NOGGIN_CHECK_VALIDATION();
}

TEST_CASE("vulkan: adopting a host-created instance and device") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    // The "host": its own loader, dispatcher, instance and device, made with plain Vulkan calls.
    vulkan::dynamic_loader dl;
    REQUIRE(dl.success());
    auto gipa = dl.getProcAddress<PFN_vkGetInstanceProcAddr>("vkGetInstanceProcAddr");
    vulkan::dispatcher d(gipa);
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo ici{};
    ici.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    ici.pApplicationInfo = &app;
    VkInstance inst = VK_NULL_HANDLE;
    REQUIRE(d.vkCreateInstance(&ici, nullptr, &inst) == VK_SUCCESS);
    d.init(vk::Instance(inst));
    std::uint32_t n = 1;
    VkPhysicalDevice phys = VK_NULL_HANDLE;
    VkResult er = d.vkEnumeratePhysicalDevices(inst, &n, &phys);
    REQUIRE((er == VK_SUCCESS || er == VK_INCOMPLETE));
    VkPhysicalDeviceVulkan12Features f12{};
    f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    f12.storageBuffer8BitAccess = VK_TRUE;
    VkPhysicalDeviceVulkan11Features f11{};
    f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
    f11.storageBuffer16BitAccess = VK_TRUE;
    f11.pNext = &f12;
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qi{};
    qi.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    qi.queueFamilyIndex = 0;  // lavapipe and most GPUs: family 0 supports compute
    qi.queueCount = 1;
    qi.pQueuePriorities = &prio;
    VkDeviceCreateInfo dci{};
    dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    dci.pNext = &f11;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qi;
    VkDevice dev = VK_NULL_HANDLE;
    REQUIRE(d.vkCreateDevice(phys, &dci, nullptr, &dev) == VK_SUCCESS);
    VkQueue queue = VK_NULL_HANDLE;
    d.vkGetDeviceQueue(dev, 0, 0, &queue);
    {
        vulkan::context_params p;
        p.instance = inst;
        p.physical_device = phys;
        p.device = dev;
        p.queue_family = 0;
        p.queue = queue;
        p.get_instance_proc_addr = gipa;
        auto adopted = vulkan::context::create(p);
        REQUIRE_MESSAGE(adopted.ok(), adopted.status().message());
        CHECK(adopted.value()->adopted());
        std::vector<float> v(1000, 2.5f), back(1000);
        auto b = adopted.value()->make_buffer(4000, vulkan::memory_kind::device);
        REQUIRE(b.ok());
        REQUIRE(adopted.value()->upload(b.value().get(), 0, v.data(), 4000).ok());
        REQUIRE(adopted.value()->download(b.value().get(), 0, back.data(), 4000).ok());
        CHECK(back == v);
    }  // noggin's objects are gone; the host's device and instance are still valid
    d.vkDestroyDevice(dev, nullptr);
    d.vkDestroyInstance(inst, nullptr);
}

TEST_CASE("vulkan: the validation harness catches a missing barrier (synchronization validation)") {
    vulkan::context* shared = noggin_test::test_context();
    if (shared == nullptr) return;
    auto ctx = vulkan::context::create(noggin_test::test_context_params());
    REQUIRE(ctx.ok());
    if (!ctx.value()->validation_enabled()) {
        MESSAGE("skipped: VK_LAYER_KHRONOS_validation not installed");
        return;
    }
    vulkan::context& c = *ctx.value();
    auto x = c.make_buffer(1024, vulkan::memory_kind::device);
    auto y = c.make_buffer(1024, vulkan::memory_kind::device);
    REQUIRE((x.ok() && y.ok()));
    REQUIRE(c.fill_zero(x.value().get()).ok());
    vulkan::recorder rec(c);
    REQUIRE(rec.begin().ok());
    // y = x + x, then x = y + y, each dispatch claiming to write nothing: the recorder cannot see the
    // hazard, so no barrier is recorded and the layer must report it.
    const std::uint32_t pc[5] = {64, 64, 0, 0, 0};
    const vulkan::binding b1[3] = {x.value().whole(), x.value().whole(), y.value().whole()};
    const vulkan::binding b2[3] = {y.value().whole(), y.value().whole(), x.value().whole()};
    REQUIRE(rec.dispatch(vulkan::spirv::shader_id::add, b1, 3, 0, pc, sizeof pc, 1).ok());
    REQUIRE(rec.dispatch(vulkan::spirv::shader_id::add, b2, 3, 0, pc, sizeof pc, 1).ok());
    CHECK(rec.barriers() == 0);
    REQUIRE(rec.submit().ok());
    CHECK(c.validation_errors() > 0);
}

// LeakSanitizer: the validation layer of Debian's vulkan-validationlayers 1.3.239 keeps a few objects per
// instance that it never frees (all allocated inside libVkLayer_khronos_validation.so; see the ASan run
// of this suite). They are the layer's, not noggin's; support.hpp pins the layer so they can be named.
extern "C" const char* __lsan_default_suppressions() { return "leak:libVkLayer_khronos_validation.so\n"; }
