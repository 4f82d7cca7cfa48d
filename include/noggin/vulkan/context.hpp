// noggin/vulkan/context.hpp — the Vulkan device noggin computes on: the host's, or one we create.
//
// Vulkan-Hpp is used with VK_NO_PROTOTYPES: the loader library is opened at run time (or the host
// hands us its vkGetInstanceProcAddr) and every call goes through this context's own dispatcher
// object, never Vulkan-Hpp's global default one, so noggin never links libvulkan and never touches a
// host's Vulkan-Hpp configuration. Calls use the dispatcher's C entry points and return VkResult,
// so nothing here depends on whether the host built Vulkan-Hpp with exceptions. No global state.
//
//     noggin::vulkan::context_params p;            // defaults: own instance, best device, no cap
//     p.log = my_log_sink;
//     auto ctx = noggin::vulkan::context::create(p);
//     if (!ctx.ok()) { /* status device_error: no loader / no device -> run on the CPU */ }
//     // adopt the game's device instead: p.instance, p.physical_device, p.device, p.queue_family,
//     // p.queue, p.get_instance_proc_addr (see context_params; enable required_features() on it)
//     std::vector<std::uint8_t> blob = (*ctx)->pipeline_cache_data();   // save; pass back next run
//
// Sections: Vulkan-Hpp aliases · params · buffers · context (creation, device choice, memory,
//           transfers, pipelines, descriptor sets, submission) · implementation
//
// Threading: one context is used by one thread at a time (the host serialises calls); the queue of an
// adopted device must not be used by the host while noggin submits to it.
#pragma once

#if !defined(VK_NO_PROTOTYPES)
#define VK_NO_PROTOTYPES 1
#endif
#if !defined(VULKAN_HPP_NO_EXCEPTIONS)
#define VULKAN_HPP_NO_EXCEPTIONS 1
#endif
#include <vulkan/vulkan.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/hooks.hpp"
#include "../core/status.hpp"
#include "spirv/shaders.hpp"

namespace noggin {
namespace vulkan {

// --- Vulkan-Hpp aliases -------------------------------------------------------------------------------

#if VK_HEADER_VERSION >= 301
using dispatcher = vk::detail::DispatchLoaderDynamic;  // our own function-pointer table
using dynamic_loader = vk::detail::DynamicLoader;      // opens the loader library at run time
#else
using dispatcher = vk::DispatchLoaderDynamic;
using dynamic_loader = vk::DynamicLoader;
#endif

// --- params ---------------------------------------------------------------------------------------------

enum class device_preference : int {
    best = 0,    // discrete > integrated > virtual > CPU (default)
    discrete,    // only a discrete GPU
    integrated,  // only an integrated GPU
    cpu,         // only a CPU implementation (lavapipe, SwiftShader)
};

struct context_params {
    // Adopt the host's device: set instance, physical_device, device, queue_family and queue (all or
    // none), plus get_instance_proc_addr unless noggin should open the loader itself. The device must
    // have the features of required_features() enabled; noggin never destroys adopted objects.
    VkInstance instance = VK_NULL_HANDLE;                // host's instance (default: create our own)
    VkPhysicalDevice physical_device = VK_NULL_HANDLE;   // host's physical device
    VkDevice device = VK_NULL_HANDLE;                    // host's device
    std::uint32_t queue_family = 0;                      // family of `queue` (must support compute)
    VkQueue queue = VK_NULL_HANDLE;                      // queue noggin submits to
    PFN_vkGetInstanceProcAddr get_instance_proc_addr = nullptr;  // host's loader entry (default: open ours)
    const VkAllocationCallbacks* allocation_callbacks = nullptr;  // host CPU allocator for Vulkan objects

    // Our own instance and device.
    const char* loader_library = nullptr;  // loader to open (default libvulkan.so.1 / vulkan-1.dll)
    device_preference prefer = device_preference::best;  // which kind of device to pick (default best)
    int device_index = -1;                 // index in vkEnumeratePhysicalDevices; -1 = by preference
    bool validation = false;               // enable VK_LAYER_KHRONOS_validation when installed (default off)
    bool sync_validation = true;           // with validation: also its synchronization checks (default on)

    // Memory.
    std::uint64_t memory_budget = 0;       // bytes of device memory noggin may allocate; 0 = the largest
                                           // device-local heap (default)
    std::uint64_t max_binding_bytes = 0;   // largest range bound to one descriptor; 0 = the device's
                                           // maxStorageBufferRange (lower it to test split bindings)
    std::uint64_t staging_bytes = 8u << 20;  // host-visible staging buffer for uploads (default 8 MiB)

    // Pipeline cache from an earlier run's pipeline_cache_data() (ignored by the driver when stale).
    const void* pipeline_cache_data = nullptr;
    std::size_t pipeline_cache_size = 0;

    log_sink log{};  // where notes and validation messages go (default: silent)
};

// Device features noggin's shaders use; a host adopting its own device enables these (Vulkan 1.2).
// Also needed, but properties rather than features: subgroup basic + arithmetic operations in the
// compute stage (checked at create; any subgroup size).
struct required_features {
    bool storage_buffer_8bit = true;   // VkPhysicalDeviceVulkan12Features::storageBuffer8BitAccess
    bool storage_buffer_16bit = true;  // VkPhysicalDeviceVulkan11Features::storageBuffer16BitAccess
};

// --- buffers -------------------------------------------------------------------------------------------

enum class memory_kind : int {
    device = 0,  // device-local storage buffer (weights, activations, KV cache)
    upload,      // host-visible, coherent: host writes, device reads (staging, small inputs)
    readback,    // host-visible, preferably cached: device writes, host reads
};

// One VkBuffer with its own memory. Plain data; owned by whoever created it (see device_buffer).
struct buffer {
    VkBuffer handle = VK_NULL_HANDLE;     // the buffer
    VkDeviceMemory memory = VK_NULL_HANDLE;  // its dedicated allocation
    std::uint64_t size = 0;               // bytes requested
    std::uint64_t allocated = 0;          // bytes of memory charged to the budget
    void* mapped = nullptr;               // persistent mapping (upload/readback kinds), else null
    memory_kind kind = memory_kind::device;
};

// A range of a buffer bound to one storage-buffer binding.
struct binding {
    VkBuffer buffer = VK_NULL_HANDLE;
    std::uint64_t offset = 0;        // bytes; a multiple of minStorageBufferOffsetAlignment
    std::uint64_t range = VK_WHOLE_SIZE;  // bytes, ≤ max_binding_bytes()
};

class context;

// A buffer destroyed with its owner (RAII over context::destroy_buffer). Movable, not copyable.
class device_buffer {
public:
    device_buffer() = default;
    device_buffer(context* ctx, buffer b) : ctx_(ctx), b_(b) {}
    device_buffer(device_buffer&& o) noexcept : ctx_(o.ctx_), b_(o.b_) { o.ctx_ = nullptr, o.b_ = buffer{}; }
    device_buffer& operator=(device_buffer&& o) noexcept {
        if (this != &o) {
            reset();
            ctx_ = o.ctx_, b_ = o.b_;
            o.ctx_ = nullptr, o.b_ = buffer{};
        }
        return *this;
    }
    device_buffer(const device_buffer&) = delete;
    device_buffer& operator=(const device_buffer&) = delete;
    ~device_buffer() { reset(); }
    inline void reset();

    const buffer& get() const { return b_; }
    VkBuffer handle() const { return b_.handle; }
    std::uint64_t size() const { return b_.size; }
    void* mapped() const { return b_.mapped; }
    binding whole() const { return binding{b_.handle, 0, b_.size == 0 ? VK_WHOLE_SIZE : b_.size}; }
    explicit operator bool() const { return b_.handle != VK_NULL_HANDLE; }

private:
    context* ctx_ = nullptr;
    buffer b_{};
};

// --- context --------------------------------------------------------------------------------------------

class context {
public:
    // Open the loader (or use the host's entry point), adopt or create instance and device. Fails with
    // device_error (no loader, no instance, no suitable device) or unsupported (missing features).
    static inline result<std::unique_ptr<context>> create(const context_params& params = {});
    inline ~context();
    context(const context&) = delete;
    context& operator=(const context&) = delete;

    // Device facts.
    const std::string& device_name() const { return device_name_; }
    VkPhysicalDeviceType device_type() const { return device_type_; }
    std::uint32_t api_version() const { return api_version_; }           // effective (≤ 1.3)
    std::uint64_t max_binding_bytes() const { return max_binding_; }     // weights are split into ranges ≤ this
    std::uint64_t device_binding_bytes() const { return device_binding_; }  // maxStorageBufferRange
    std::uint64_t min_binding_alignment() const { return min_align_; }   // minStorageBufferOffsetAlignment
    bool adopted() const { return !own_device_; }
    const log_sink& log() const { return log_; }
    VkDevice device() const { return device_; }
    const dispatcher& dispatch() const { return d_; }

    // Validation messages of severity error seen since creation (only with params.validation).
    int validation_errors() const { return validation_errors_.load(); }
    bool validation_enabled() const { return messenger_ != VK_NULL_HANDLE; }

    // Memory: everything noggin allocates on the device is charged to the budget.
    std::uint64_t memory_budget() const { return budget_; }
    std::uint64_t memory_used() const { return used_; }

    // Buffers. Device buffers are storage + transfer src/dst; host kinds are mapped persistently.
    inline result<buffer> create_buffer(std::uint64_t size, memory_kind kind);
    inline void destroy_buffer(buffer& b);
    result<device_buffer> make_buffer(std::uint64_t size, memory_kind kind) {
        result<buffer> b = create_buffer(size, kind);
        if (!b.ok()) return b.status();
        return device_buffer(this, b.value());
    }

    // Blocking transfers through the staging buffer (each piece: copy, submit, wait).
    inline status upload(const buffer& dst, std::uint64_t offset, const void* src, std::uint64_t size);
    inline status download(const buffer& src, std::uint64_t offset, void* dst, std::uint64_t size);
    inline status fill_zero(const buffer& dst);

    // Pipelines from the generated SPIR-V (created on first use, through the pipeline cache).
    struct pipeline {
        VkPipeline handle = VK_NULL_HANDLE;
        VkPipelineLayout layout = VK_NULL_HANDLE;
        VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
        std::uint32_t bindings = 0;
    };
    inline result<pipeline> get_pipeline(spirv::shader_id id);
    // Create every pipeline now (e.g. at load time, so the first token does not pay for it).
    inline status create_all_pipelines();
    // The pipeline cache's bytes, for the host to save and pass back in context_params.
    inline std::vector<std::uint8_t> pipeline_cache_data() const;
    static constexpr std::uint32_t push_constant_bytes = 64;  // every layout's push range

    // A descriptor set with `n` storage-buffer bindings; cached, so the same bindings return the same
    // set (the sets of a decode step are made once). Sets naming a buffer are freed with the buffer.
    inline result<VkDescriptorSet> descriptor_set(const pipeline& p, const binding* b, std::uint32_t n);

    // The context's command buffer: begin() resets and begins it; submit() ends, submits and waits.
    inline result<VkCommandBuffer> begin();
    inline status submit();

private:
    context() = default;
    inline status init(const context_params& p);
    inline status pick_device(const context_params& p);
    inline status create_device();
    inline result<std::uint32_t> memory_type(std::uint32_t bits, memory_kind kind) const;
    inline status ensure_staging();
    inline status check(VkResult r, const char* what) const;
    static inline VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                            VkDebugUtilsMessageTypeFlagsEXT types,
                                                            const VkDebugUtilsMessengerCallbackDataEXT* data, void* user);

    std::unique_ptr<dynamic_loader> loader_;  // null when the host gave get_instance_proc_addr
    dispatcher d_;                            // this context's function pointers
    log_sink log_{};
    const VkAllocationCallbacks* cb_ = nullptr;
    VkInstance instance_ = VK_NULL_HANDLE;
    bool own_instance_ = false;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    std::atomic<int> validation_errors_{0};
    VkPhysicalDevice phys_ = VK_NULL_HANDLE;
    VkDevice device_ = VK_NULL_HANDLE;
    bool own_device_ = false;
    std::uint32_t queue_family_ = 0;
    VkQueue queue_ = VK_NULL_HANDLE;
    std::string device_name_;
    VkPhysicalDeviceType device_type_ = VK_PHYSICAL_DEVICE_TYPE_OTHER;
    std::uint32_t api_version_ = 0;
    std::uint64_t max_binding_ = 0;     // split policy for weights (≤ device_binding_)
    std::uint64_t device_binding_ = 0;  // the device's maxStorageBufferRange
    std::uint64_t min_align_ = 16, max_alloc_ = 0;
    VkPhysicalDeviceMemoryProperties mem_props_{};
    std::uint64_t budget_ = 0, used_ = 0;
    VkPipelineCache pcache_ = VK_NULL_HANDLE;
    VkCommandPool cmd_pool_ = VK_NULL_HANDLE;
    VkCommandBuffer cmd_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    bool recording_ = false;
    std::uint64_t staging_bytes_ = 0;
    buffer staging_{};
    VkDescriptorSetLayout set_layouts_[5] = {};   // by binding count 1..4
    VkPipelineLayout pipe_layouts_[5] = {};
    pipeline pipelines_[static_cast<int>(spirv::shader_id::count)] = {};
    struct cached_set {
        std::vector<std::uint64_t> key;  // set layout + (buffer, offset, range) per binding
        VkDescriptorSet set;
        VkDescriptorPool pool;
    };
    std::map<std::vector<std::uint64_t>, cached_set> sets_;
    std::vector<VkDescriptorPool> pools_;
    std::uint32_t pool_free_ = 0;  // sets left in pools_.back()
};

// --- implementation ---------------------------------------------------------------------------------------

inline void device_buffer::reset() {
    if (ctx_ != nullptr && b_.handle != VK_NULL_HANDLE) ctx_->destroy_buffer(b_);
    ctx_ = nullptr;
    b_ = buffer{};
}

namespace detail {
inline const char* vk_result_name(VkResult r) {
    switch (r) {
        case VK_SUCCESS: return "VK_SUCCESS";
        case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
        case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
        case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
        case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
        case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
        case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
        case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
        case VK_TIMEOUT: return "VK_TIMEOUT";
        default: return "VkResult";
    }
}
inline int device_rank(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
        default: return 0;
    }
}
// Subgroup basic + arithmetic operations in compute shaders (Vulkan 1.1 subgroup properties). The
// matmul shaders reduce with subgroupAdd over whatever subgroup size the device runs.
inline bool has_subgroup_arithmetic(const dispatcher& d, VkPhysicalDevice phys) {
    VkPhysicalDeviceSubgroupProperties sg{};
    sg.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    VkPhysicalDeviceProperties2 p2{};
    p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    p2.pNext = &sg;
    d.vkGetPhysicalDeviceProperties2(phys, &p2);
    const VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    return (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0 && (sg.supportedOperations & need) == need;
}
template <class T>
const typename T::NativeType* c_ptr(const T& s) {
    return &static_cast<const typename T::NativeType&>(s);
}
}  // namespace detail

inline status context::check(VkResult r, const char* what) const {
    if (r == VK_SUCCESS) return status();
    const status_code code = (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
                                 ? status_code::out_of_memory
                                 : status_code::device_error;
    return status(code, str("vulkan: ", what, " failed: ", detail::vk_result_name(r), " (", static_cast<int>(r), ")"));
}

inline result<std::unique_ptr<context>> context::create(const context_params& params) {
    std::unique_ptr<context> c(new (std::nothrow) context());
    if (c == nullptr) return status(status_code::out_of_memory, "vulkan: context allocation failed");
    status s = c->init(params);
    if (!s.ok()) return s;  // c's destructor releases whatever was created
    return result<std::unique_ptr<context>>(std::move(c));
}

inline VKAPI_ATTR VkBool32 VKAPI_CALL context::on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                          VkDebugUtilsMessageTypeFlagsEXT,
                                                          const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
    context* self = static_cast<context*>(user);
    const bool error = (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) != 0;
    if (error) self->validation_errors_.fetch_add(1);
    const log_level lvl = error ? log_level::error : log_level::warning;
    if (self->log_.enabled(lvl)) self->log_(lvl, str("vulkan validation: ", data != nullptr && data->pMessage ? data->pMessage : "(no message)"));
    return VK_FALSE;
}

inline status context::init(const context_params& p) {
    log_ = p.log;
    cb_ = p.allocation_callbacks;
    const bool adopt = p.device != VK_NULL_HANDLE || p.instance != VK_NULL_HANDLE;
    if (adopt && (p.instance == VK_NULL_HANDLE || p.physical_device == VK_NULL_HANDLE || p.device == VK_NULL_HANDLE ||
                  p.queue == VK_NULL_HANDLE))
        return status(status_code::invalid_argument,
                      "vulkan: adopting a device needs instance, physical_device, device and queue together");

    // 1. The loader entry point.
    PFN_vkGetInstanceProcAddr gipa = p.get_instance_proc_addr;
    if (gipa == nullptr) {
        std::string name = p.loader_library != nullptr ? p.loader_library : "";
        loader_.reset(new (std::nothrow) dynamic_loader(name));
        if (loader_ == nullptr || !loader_->success())
            return status(status_code::device_error,
                          str("vulkan: the Vulkan loader (", name.empty() ? "libvulkan.so.1" : name.c_str(),
                              ") could not be opened; use the CPU backend"));
        gipa = loader_->getProcAddress<PFN_vkGetInstanceProcAddr>("vkGetInstanceProcAddr");
        if (gipa == nullptr) return status(status_code::device_error, "vulkan: the loader has no vkGetInstanceProcAddr");
    }
    d_.init(gipa);

    // 2. Instance.
    std::uint32_t loader_version = VK_API_VERSION_1_0;
    if (d_.vkEnumerateInstanceVersion != nullptr) d_.vkEnumerateInstanceVersion(&loader_version);
    if (adopt) {
        instance_ = p.instance;
    } else {
        if (loader_version < VK_API_VERSION_1_2)
            return status(status_code::unsupported, "vulkan: the loader supports only Vulkan < 1.2 (noggin needs 1.2)");
        std::vector<const char*> layers, exts;
        if (p.validation) {
            std::uint32_t n = 0;
            d_.vkEnumerateInstanceLayerProperties(&n, nullptr);
            std::vector<VkLayerProperties> props(n);
            d_.vkEnumerateInstanceLayerProperties(&n, props.data());
            bool found = false;
            for (const VkLayerProperties& l : props) found = found || std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
            if (found) {
                layers.push_back("VK_LAYER_KHRONOS_validation");
                exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
                std::uint32_t ne = 0;
                d_.vkEnumerateInstanceExtensionProperties("VK_LAYER_KHRONOS_validation", &ne, nullptr);
                std::vector<VkExtensionProperties> le(ne);
                d_.vkEnumerateInstanceExtensionProperties("VK_LAYER_KHRONOS_validation", &ne, le.data());
                for (const VkExtensionProperties& e : le)
                    if (p.sync_validation && std::strcmp(e.extensionName, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME) == 0)
                        exts.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
            } else {
                log_(log_level::warning, "vulkan: VK_LAYER_KHRONOS_validation is not installed; validation off");
            }
        }
        vk::ApplicationInfo app("noggin", 1, "noggin", 1, std::min(loader_version, static_cast<std::uint32_t>(VK_API_VERSION_1_3)));
        vk::InstanceCreateInfo ci({}, &app, static_cast<std::uint32_t>(layers.size()), layers.data(),
                                  static_cast<std::uint32_t>(exts.size()), exts.data());
        const VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
        VkValidationFeaturesEXT vf{};
        vf.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT;
        vf.enabledValidationFeatureCount = 1;
        vf.pEnabledValidationFeatures = &sync;
        if (!exts.empty() && std::strcmp(exts.back(), VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME) == 0) ci.pNext = &vf;
        NOGGIN_TRY(check(d_.vkCreateInstance(detail::c_ptr(ci), cb_, &instance_), "vkCreateInstance"));
        own_instance_ = true;
    }
    d_.init(vk::Instance(instance_));
    if (own_instance_ && p.validation && d_.vkCreateDebugUtilsMessengerEXT != nullptr) {
        VkDebugUtilsMessengerCreateInfoEXT mi{};
        mi.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
        mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
        mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
        mi.pfnUserCallback = &context::on_message;
        mi.pUserData = this;
        NOGGIN_TRY(check(d_.vkCreateDebugUtilsMessengerEXT(instance_, &mi, cb_, &messenger_), "vkCreateDebugUtilsMessengerEXT"));
    }

    // 3. Physical device and device.
    if (adopt) {
        phys_ = p.physical_device;
        device_ = p.device;
        queue_family_ = p.queue_family;
        queue_ = p.queue;
    } else {
        NOGGIN_TRY(pick_device(p));
    }
    VkPhysicalDeviceProperties props{};
    d_.vkGetPhysicalDeviceProperties(phys_, &props);
    device_name_ = props.deviceName;
    device_type_ = props.deviceType;
    api_version_ = std::min(props.apiVersion, std::min(loader_version, static_cast<std::uint32_t>(VK_API_VERSION_1_3)));
    if (api_version_ < VK_API_VERSION_1_2)
        return status(status_code::unsupported, str("vulkan: device '", device_name_, "' supports Vulkan < 1.2 (noggin needs 1.2)"));
    if (adopt && !detail::has_subgroup_arithmetic(d_, phys_))
        return status(status_code::unsupported, str("vulkan: device '", device_name_, "' has no subgroup arithmetic in compute shaders"));
    if (!adopt) NOGGIN_TRY(create_device());
    d_.init(vk::Device(device_));

    device_binding_ = props.limits.maxStorageBufferRange;
    max_binding_ = device_binding_;
    if (p.max_binding_bytes != 0) max_binding_ = std::min<std::uint64_t>(max_binding_, p.max_binding_bytes);
    min_align_ = std::max<std::uint64_t>(4, props.limits.minStorageBufferOffsetAlignment);
    VkPhysicalDeviceMaintenance3Properties m3{};
    m3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
    VkPhysicalDeviceProperties2 p2{};
    p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    p2.pNext = &m3;
    d_.vkGetPhysicalDeviceProperties2(phys_, &p2);
    max_alloc_ = m3.maxMemoryAllocationSize;
    d_.vkGetPhysicalDeviceMemoryProperties(phys_, &mem_props_);
    std::uint64_t largest = 0;
    for (std::uint32_t i = 0; i < mem_props_.memoryHeapCount; ++i)
        if (mem_props_.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) largest = std::max<std::uint64_t>(largest, mem_props_.memoryHeaps[i].size);
    budget_ = p.memory_budget != 0 ? p.memory_budget : largest;
    staging_bytes_ = std::max<std::uint64_t>(p.staging_bytes, 64 * 1024);

    // 4. Pipeline cache, command pool, fence, descriptor set layouts.
    VkPipelineCacheCreateInfo pci{};
    pci.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO;
    pci.initialDataSize = p.pipeline_cache_data != nullptr ? p.pipeline_cache_size : 0;
    pci.pInitialData = p.pipeline_cache_data;
    if (d_.vkCreatePipelineCache(device_, &pci, cb_, &pcache_) != VK_SUCCESS) {
        // A corrupt blob is not fatal: start empty.
        log_(log_level::warning, "vulkan: the saved pipeline cache was rejected; starting an empty one");
        pci.initialDataSize = 0;
        pci.pInitialData = nullptr;
        NOGGIN_TRY(check(d_.vkCreatePipelineCache(device_, &pci, cb_, &pcache_), "vkCreatePipelineCache"));
    }
    VkCommandPoolCreateInfo cpi{};
    cpi.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    cpi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    cpi.queueFamilyIndex = queue_family_;
    NOGGIN_TRY(check(d_.vkCreateCommandPool(device_, &cpi, cb_, &cmd_pool_), "vkCreateCommandPool"));
    VkCommandBufferAllocateInfo cai{};
    cai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    cai.commandPool = cmd_pool_;
    cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cai.commandBufferCount = 1;
    NOGGIN_TRY(check(d_.vkAllocateCommandBuffers(device_, &cai, &cmd_), "vkAllocateCommandBuffers"));
    VkFenceCreateInfo fi{};
    fi.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    NOGGIN_TRY(check(d_.vkCreateFence(device_, &fi, cb_, &fence_), "vkCreateFence"));
    for (std::uint32_t n = 1; n <= 4; ++n) {
        VkDescriptorSetLayoutBinding b[4] = {};
        for (std::uint32_t i = 0; i < n; ++i) {
            b[i].binding = i;
            b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            b[i].descriptorCount = 1;
            b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        }
        VkDescriptorSetLayoutCreateInfo li{};
        li.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
        li.bindingCount = n;
        li.pBindings = b;
        NOGGIN_TRY(check(d_.vkCreateDescriptorSetLayout(device_, &li, cb_, &set_layouts_[n]), "vkCreateDescriptorSetLayout"));
        VkPushConstantRange pr{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_constant_bytes};
        VkPipelineLayoutCreateInfo pli{};
        pli.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
        pli.setLayoutCount = 1;
        pli.pSetLayouts = &set_layouts_[n];
        pli.pushConstantRangeCount = 1;
        pli.pPushConstantRanges = &pr;
        NOGGIN_TRY(check(d_.vkCreatePipelineLayout(device_, &pli, cb_, &pipe_layouts_[n]), "vkCreatePipelineLayout"));
    }
    log_(log_level::info, str("vulkan: using '", device_name_, "' (", adopt ? "adopted" : "own device", ", Vulkan ",
                              VK_API_VERSION_MAJOR(api_version_), ".", VK_API_VERSION_MINOR(api_version_), ", max binding ",
                              max_binding_, " bytes, budget ", budget_, " bytes)"));
    return status();
}

inline status context::pick_device(const context_params& p) {
    std::uint32_t n = 0;
    VkResult r = d_.vkEnumeratePhysicalDevices(instance_, &n, nullptr);
    if (r != VK_SUCCESS || n == 0)
        return status(status_code::device_error, "vulkan: no Vulkan device found; use the CPU backend");
    std::vector<VkPhysicalDevice> devs(n);
    NOGGIN_TRY(check(d_.vkEnumeratePhysicalDevices(instance_, &n, devs.data()), "vkEnumeratePhysicalDevices"));
    devs.resize(n);
    int best = -1, best_rank = -1;
    std::uint32_t best_family = 0;
    std::string rejected;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (p.device_index >= 0 && static_cast<std::uint32_t>(p.device_index) != i) continue;
        VkPhysicalDeviceProperties props{};
        d_.vkGetPhysicalDeviceProperties(devs[i], &props);
        const VkPhysicalDeviceType t = props.deviceType;
        if ((p.prefer == device_preference::discrete && t != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU) ||
            (p.prefer == device_preference::integrated && t != VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU) ||
            (p.prefer == device_preference::cpu && t != VK_PHYSICAL_DEVICE_TYPE_CPU))
            continue;
        if (props.apiVersion < VK_API_VERSION_1_2) {
            rejected += str(" '", props.deviceName, "': Vulkan < 1.2;");
            continue;
        }
        VkPhysicalDeviceVulkan12Features f12{};
        f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
        VkPhysicalDeviceVulkan11Features f11{};
        f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
        f11.pNext = &f12;
        VkPhysicalDeviceFeatures2 f2{};
        f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
        f2.pNext = &f11;
        d_.vkGetPhysicalDeviceFeatures2(devs[i], &f2);
        if (!f11.storageBuffer16BitAccess || !f12.storageBuffer8BitAccess) {
            rejected += str(" '", props.deviceName, "': no 8/16-bit storage buffers;");
            continue;
        }
        if (!detail::has_subgroup_arithmetic(d_, devs[i])) {
            rejected += str(" '", props.deviceName, "': no subgroup arithmetic in compute shaders;");
            continue;
        }
        std::uint32_t nf = 0;
        d_.vkGetPhysicalDeviceQueueFamilyProperties(devs[i], &nf, nullptr);
        std::vector<VkQueueFamilyProperties> fams(nf);
        d_.vkGetPhysicalDeviceQueueFamilyProperties(devs[i], &nf, fams.data());
        int family = -1;
        for (std::uint32_t q = 0; q < nf && family < 0; ++q)
            if (fams[q].queueFlags & VK_QUEUE_COMPUTE_BIT) family = static_cast<int>(q);
        if (family < 0) {
            rejected += str(" '", props.deviceName, "': no compute queue;");
            continue;
        }
        const int rank = detail::device_rank(t);
        if (rank > best_rank) best = static_cast<int>(i), best_rank = rank, best_family = static_cast<std::uint32_t>(family);
    }
    if (best < 0)
        return status(status_code::device_error, str("vulkan: no suitable device (", n, " found;", rejected,
                                                     " filtered by device_index/prefer); use the CPU backend"));
    phys_ = devs[static_cast<std::size_t>(best)];
    queue_family_ = best_family;
    return status();
}

inline status context::create_device() {
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qi{};
    qi.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    qi.queueFamilyIndex = queue_family_;
    qi.queueCount = 1;
    qi.pQueuePriorities = &prio;
    VkPhysicalDeviceVulkan12Features f12{};
    f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    f12.storageBuffer8BitAccess = VK_TRUE;
    VkPhysicalDeviceVulkan11Features f11{};
    f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
    f11.storageBuffer16BitAccess = VK_TRUE;
    f11.pNext = &f12;
    VkDeviceCreateInfo di{};
    di.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    di.pNext = &f11;
    di.queueCreateInfoCount = 1;
    di.pQueueCreateInfos = &qi;
    NOGGIN_TRY(check(d_.vkCreateDevice(phys_, &di, cb_, &device_), "vkCreateDevice"));
    own_device_ = true;
    d_.vkGetDeviceQueue(device_, queue_family_, 0, &queue_);
    return status();
}

inline context::~context() {
    if (device_ != VK_NULL_HANDLE) {
        if (d_.vkDeviceWaitIdle != nullptr && own_device_) d_.vkDeviceWaitIdle(device_);
        else if (queue_ != VK_NULL_HANDLE && d_.vkQueueWaitIdle != nullptr) d_.vkQueueWaitIdle(queue_);
        if (d_.vkDestroyBuffer != nullptr) {
            destroy_buffer(staging_);
            for (pipeline& p : pipelines_)
                if (p.handle != VK_NULL_HANDLE) d_.vkDestroyPipeline(device_, p.handle, cb_);
            for (int n = 1; n <= 4; ++n) {
                if (pipe_layouts_[n] != VK_NULL_HANDLE) d_.vkDestroyPipelineLayout(device_, pipe_layouts_[n], cb_);
                if (set_layouts_[n] != VK_NULL_HANDLE) d_.vkDestroyDescriptorSetLayout(device_, set_layouts_[n], cb_);
            }
            for (VkDescriptorPool pool : pools_) d_.vkDestroyDescriptorPool(device_, pool, cb_);
            if (pcache_ != VK_NULL_HANDLE) d_.vkDestroyPipelineCache(device_, pcache_, cb_);
            if (fence_ != VK_NULL_HANDLE) d_.vkDestroyFence(device_, fence_, cb_);
            if (cmd_pool_ != VK_NULL_HANDLE) d_.vkDestroyCommandPool(device_, cmd_pool_, cb_);
        }
        if (own_device_) d_.vkDestroyDevice(device_, cb_);
    }
    if (messenger_ != VK_NULL_HANDLE) d_.vkDestroyDebugUtilsMessengerEXT(instance_, messenger_, cb_);
    if (own_instance_ && instance_ != VK_NULL_HANDLE) d_.vkDestroyInstance(instance_, cb_);
}

inline result<std::uint32_t> context::memory_type(std::uint32_t bits, memory_kind kind) const {
    VkMemoryPropertyFlags need = 0, want = 0;
    switch (kind) {
        case memory_kind::device: want = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT; break;
        case memory_kind::upload: need = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT; break;
        case memory_kind::readback:
            need = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
            want = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
            break;
    }
    int fallback = -1;
    for (std::uint32_t i = 0; i < mem_props_.memoryTypeCount; ++i) {
        if (!(bits & (1u << i))) continue;
        const VkMemoryPropertyFlags f = mem_props_.memoryTypes[i].propertyFlags;
        if ((f & need) != need) continue;
        if ((f & want) == want) return i;
        if (fallback < 0) fallback = static_cast<int>(i);
    }
    if (fallback < 0) return status(status_code::unsupported, "vulkan: no suitable memory type");
    return static_cast<std::uint32_t>(fallback);
}

inline result<buffer> context::create_buffer(std::uint64_t size, memory_kind kind) {
    if (size == 0) size = 4;
    if (max_alloc_ != 0 && size > max_alloc_)
        return status(status_code::out_of_memory, str("vulkan: buffer of ", size, " bytes exceeds maxMemoryAllocationSize ", max_alloc_));
    buffer b;
    b.size = size;
    b.kind = kind;
    VkBufferCreateInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bi.size = size;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    NOGGIN_TRY(check(d_.vkCreateBuffer(device_, &bi, cb_, &b.handle), "vkCreateBuffer"));
    VkMemoryRequirements req{};
    d_.vkGetBufferMemoryRequirements(device_, b.handle, &req);
    const bool on_device = kind == memory_kind::device;
    if (on_device && used_ + req.size > budget_) {
        d_.vkDestroyBuffer(device_, b.handle, cb_);
        return status(status_code::out_of_memory, str("vulkan: allocating ", req.size, " bytes would exceed the device memory budget (",
                                                      used_, " of ", budget_, " bytes used)"));
    }
    result<std::uint32_t> type = memory_type(req.memoryTypeBits, kind);
    if (!type.ok()) {
        d_.vkDestroyBuffer(device_, b.handle, cb_);
        return type.status();
    }
    VkMemoryAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = type.value();
    VkResult r = d_.vkAllocateMemory(device_, &ai, cb_, &b.memory);
    if (r == VK_SUCCESS) r = d_.vkBindBufferMemory(device_, b.handle, b.memory, 0);
    if (r == VK_SUCCESS && !on_device) r = d_.vkMapMemory(device_, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped);
    if (r != VK_SUCCESS) {
        if (b.memory != VK_NULL_HANDLE) d_.vkFreeMemory(device_, b.memory, cb_);
        d_.vkDestroyBuffer(device_, b.handle, cb_);
        return check(r, "allocating buffer memory");
    }
    b.allocated = on_device ? req.size : 0;
    used_ += b.allocated;
    return b;
}

inline void context::destroy_buffer(buffer& b) {
    if (b.handle == VK_NULL_HANDLE) return;
    // Free the cached descriptor sets that name this buffer.
    for (auto it = sets_.begin(); it != sets_.end();) {
        bool uses = false;
        for (std::size_t i = 1; i < it->first.size(); i += 3) uses = uses || it->first[i] == reinterpret_cast<std::uint64_t>(b.handle);
        if (uses) {
            d_.vkFreeDescriptorSets(device_, it->second.pool, 1, &it->second.set);
            it = sets_.erase(it);
        } else {
            ++it;
        }
    }
    if (b.mapped != nullptr) d_.vkUnmapMemory(device_, b.memory);
    d_.vkDestroyBuffer(device_, b.handle, cb_);
    d_.vkFreeMemory(device_, b.memory, cb_);
    used_ -= std::min(used_, b.allocated);
    b = buffer{};
}

inline status context::ensure_staging() {
    if (staging_.handle != VK_NULL_HANDLE) return status();
    result<buffer> s = create_buffer(staging_bytes_, memory_kind::upload);
    if (!s.ok()) return s.status();
    staging_ = s.value();
    return status();
}

inline result<VkCommandBuffer> context::begin() {
    if (recording_) return status(status_code::internal, "vulkan: begin() while recording");
    NOGGIN_TRY(check(d_.vkResetCommandBuffer(cmd_, 0), "vkResetCommandBuffer"));
    VkCommandBufferBeginInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    NOGGIN_TRY(check(d_.vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer"));
    recording_ = true;
    return cmd_;
}

inline status context::submit() {
    if (!recording_) return status(status_code::internal, "vulkan: submit() without begin()");
    recording_ = false;
    NOGGIN_TRY(check(d_.vkEndCommandBuffer(cmd_), "vkEndCommandBuffer"));
    VkSubmitInfo si{};
    si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd_;
    NOGGIN_TRY(check(d_.vkQueueSubmit(queue_, 1, &si, fence_), "vkQueueSubmit"));
    const VkResult r = d_.vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX);
    d_.vkResetFences(device_, 1, &fence_);
    return check(r, "vkWaitForFences");
}

inline status context::upload(const buffer& dst, std::uint64_t offset, const void* src, std::uint64_t size) {
    if (offset > dst.size || size > dst.size - offset) return status(status_code::out_of_range, "vulkan: upload beyond the buffer");
    if (dst.mapped != nullptr) {
        std::memcpy(static_cast<unsigned char*>(dst.mapped) + offset, src, static_cast<std::size_t>(size));
        return status();
    }
    NOGGIN_TRY(ensure_staging());
    const unsigned char* s = static_cast<const unsigned char*>(src);
    for (std::uint64_t done = 0; done < size;) {
        const std::uint64_t n = std::min(size - done, staging_.size);
        std::memcpy(staging_.mapped, s + done, static_cast<std::size_t>(n));
        result<VkCommandBuffer> cmd = begin();
        if (!cmd.ok()) return cmd.status();
        VkBufferCopy region{0, offset + done, n};
        d_.vkCmdCopyBuffer(cmd.value(), staging_.handle, dst.handle, 1, &region);
        NOGGIN_TRY(submit());
        done += n;
    }
    return status();
}

inline status context::download(const buffer& src, std::uint64_t offset, void* dst, std::uint64_t size) {
    if (offset > src.size || size > src.size - offset) return status(status_code::out_of_range, "vulkan: download beyond the buffer");
    if (src.mapped != nullptr) {
        std::memcpy(dst, static_cast<const unsigned char*>(src.mapped) + offset, static_cast<std::size_t>(size));
        return status();
    }
    NOGGIN_TRY(ensure_staging());
    unsigned char* o = static_cast<unsigned char*>(dst);
    for (std::uint64_t done = 0; done < size;) {
        const std::uint64_t n = std::min(size - done, staging_.size);
        result<VkCommandBuffer> cmd = begin();
        if (!cmd.ok()) return cmd.status();
        VkBufferCopy region{offset + done, 0, n};
        d_.vkCmdCopyBuffer(cmd.value(), src.handle, staging_.handle, 1, &region);
        NOGGIN_TRY(submit());
        std::memcpy(o + done, staging_.mapped, static_cast<std::size_t>(n));
        done += n;
    }
    return status();
}

inline status context::fill_zero(const buffer& dst) {
    if (dst.mapped != nullptr) {
        std::memset(dst.mapped, 0, static_cast<std::size_t>(dst.size));
        return status();
    }
    result<VkCommandBuffer> cmd = begin();
    if (!cmd.ok()) return cmd.status();
    d_.vkCmdFillBuffer(cmd.value(), dst.handle, 0, VK_WHOLE_SIZE, 0);
    return submit();
}

inline result<context::pipeline> context::get_pipeline(spirv::shader_id id) {
    const int i = static_cast<int>(id);
    if (i < 0 || i >= static_cast<int>(spirv::shader_id::count)) return status(status_code::invalid_argument, "vulkan: bad shader id");
    pipeline& p = pipelines_[i];
    if (p.handle != VK_NULL_HANDLE) return p;
    const spirv::shader_info& info = spirv::info(id);
    VkShaderModuleCreateInfo mi{};
    mi.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    mi.codeSize = info.code_bytes;
    mi.pCode = info.code;
    VkShaderModule mod = VK_NULL_HANDLE;
    NOGGIN_TRY(check(d_.vkCreateShaderModule(device_, &mi, cb_, &mod), "vkCreateShaderModule"));
    VkComputePipelineCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = mod;
    ci.stage.pName = "main";
    ci.layout = pipe_layouts_[info.bindings];
    const VkResult r = d_.vkCreateComputePipelines(device_, pcache_, 1, &ci, cb_, &p.handle);
    d_.vkDestroyShaderModule(device_, mod, cb_);
    if (r != VK_SUCCESS) {
        p.handle = VK_NULL_HANDLE;
        return check(r, str("vkCreateComputePipelines(", info.name, ")").c_str());
    }
    p.layout = pipe_layouts_[info.bindings];
    p.set_layout = set_layouts_[info.bindings];
    p.bindings = info.bindings;
    return p;
}

inline status context::create_all_pipelines() {
    for (int i = 0; i < static_cast<int>(spirv::shader_id::count); ++i) {
        result<pipeline> p = get_pipeline(static_cast<spirv::shader_id>(i));
        if (!p.ok()) return p.status();
    }
    return status();
}

inline std::vector<std::uint8_t> context::pipeline_cache_data() const {
    std::vector<std::uint8_t> out;
    std::size_t n = 0;
    if (pcache_ == VK_NULL_HANDLE || d_.vkGetPipelineCacheData(device_, pcache_, &n, nullptr) != VK_SUCCESS) return out;
    out.resize(n);
    if (d_.vkGetPipelineCacheData(device_, pcache_, &n, out.data()) != VK_SUCCESS) out.clear();
    out.resize(std::min(n, out.size()));
    return out;
}

inline result<VkDescriptorSet> context::descriptor_set(const pipeline& p, const binding* b, std::uint32_t n) {
    if (n != p.bindings) return status(status_code::internal, str("vulkan: ", n, " bindings for a pipeline with ", p.bindings));
    std::vector<std::uint64_t> key;
    key.reserve(1 + 3 * n);
    key.push_back(reinterpret_cast<std::uint64_t>(p.set_layout));
    for (std::uint32_t i = 0; i < n; ++i) {
        if (b[i].range != VK_WHOLE_SIZE && b[i].range > device_binding_)
            return status(status_code::internal, str("vulkan: binding of ", b[i].range, " bytes exceeds maxStorageBufferRange ", device_binding_));
        key.push_back(reinterpret_cast<std::uint64_t>(b[i].buffer));
        key.push_back(b[i].offset);
        key.push_back(b[i].range);
    }
    auto it = sets_.find(key);
    if (it != sets_.end()) return it->second.set;
    if (pools_.empty() || pool_free_ == 0) {
        constexpr std::uint32_t sets_per_pool = 256;
        VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, sets_per_pool * 4};
        VkDescriptorPoolCreateInfo pi{};
        pi.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
        pi.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
        pi.maxSets = sets_per_pool;
        pi.poolSizeCount = 1;
        pi.pPoolSizes = &size;
        VkDescriptorPool pool = VK_NULL_HANDLE;
        NOGGIN_TRY(check(d_.vkCreateDescriptorPool(device_, &pi, cb_, &pool), "vkCreateDescriptorPool"));
        pools_.push_back(pool);
        pool_free_ = sets_per_pool;
    }
    VkDescriptorSetAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
    ai.descriptorPool = pools_.back();
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &p.set_layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    NOGGIN_TRY(check(d_.vkAllocateDescriptorSets(device_, &ai, &set), "vkAllocateDescriptorSets"));
    --pool_free_;  // freed sets are not counted back: a pool is retired when its count runs out
    VkDescriptorBufferInfo infos[4];
    VkWriteDescriptorSet writes[4];
    for (std::uint32_t i = 0; i < n; ++i) {
        infos[i] = VkDescriptorBufferInfo{b[i].buffer, b[i].offset, b[i].range};
        writes[i] = VkWriteDescriptorSet{};
        writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
        writes[i].dstSet = set;
        writes[i].dstBinding = i;
        writes[i].descriptorCount = 1;
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &infos[i];
    }
    d_.vkUpdateDescriptorSets(device_, n, writes, 0, nullptr);
    sets_.emplace(key, cached_set{key, set, pools_.back()});
    return set;
}

}  // namespace vulkan
}  // namespace noggin
