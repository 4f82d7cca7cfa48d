// tests/fuzz/fuzz_gguf.cpp — libFuzzer target for the GGUF reader.
//
// Parses the input from memory and through a read callback (both tensor-data modes), then touches
// every metadata value (every getter, array iteration, nested arrays) and every tensor (view, data
// bytes, read_tensor_bytes). The two parse paths must agree.
//
//     clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_gguf.cpp -o fz
//     ./make_gguf_seeds seeds && ./fz -max_total_time=45 seeds
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include <noggin/formats/gguf.hpp>

namespace {

namespace gg = noggin::gguf;

// Keeps the optimizer from dropping reads.
volatile std::uint64_t g_sink = 0;

void sink(std::uint64_t v) { g_sink = g_sink + v; }

template <class T>
std::uint64_t as_bits(T v) {
    if constexpr (std::is_floating_point<T>::value) {
        return v == v ? 1u : 0u;  // converting NaN or huge floats to integers would be UB
    } else {
        return static_cast<std::uint64_t>(v);
    }
}

template <class T>
void touch_numbers(const gg::array_view& a) {
    auto s = a.numbers<T>();
    if (!s.ok()) return;
    for (T v : s.value()) sink(as_bits(v));
    if (!s->empty()) sink(as_bits(s.value()[s->size() - 1]));
}

void touch_value(const gg::value_view& v, int depth);

void touch_array(const gg::array_view& a, int depth) {
    sink(a.size() + static_cast<std::uint32_t>(a.element_type()) + a.key().size());
    switch (a.element_type()) {  // the matching typed span, plus one mismatch
        case gg::value_type::uint8: touch_numbers<std::uint8_t>(a); break;
        case gg::value_type::int8: touch_numbers<std::int8_t>(a); break;
        case gg::value_type::uint16: touch_numbers<std::uint16_t>(a); break;
        case gg::value_type::int16: touch_numbers<std::int16_t>(a); break;
        case gg::value_type::uint32: touch_numbers<std::uint32_t>(a); break;
        case gg::value_type::int32: touch_numbers<std::int32_t>(a); break;
        case gg::value_type::float32: touch_numbers<float>(a); break;
        case gg::value_type::boolean: touch_numbers<bool>(a); break;
        case gg::value_type::uint64: touch_numbers<std::uint64_t>(a); break;
        case gg::value_type::int64: touch_numbers<std::int64_t>(a); break;
        case gg::value_type::float64: touch_numbers<double>(a); break;
        default: break;
    }
    if (a.element_type() != gg::value_type::float32 && a.numbers<float>().ok()) __builtin_trap();
    if (auto ints = a.integers(); ints.ok()) {
        for (std::uint64_t i = 0; i < ints->size(); ++i) sink(static_cast<std::uint64_t>(ints.value()[i]));
    }
    if (auto strs = a.strings(); strs.ok()) {
        for (std::string_view s : strs.value()) sink(s.size() + (s.empty() ? 0u : static_cast<unsigned char>(s[0])));
        if (!strs->empty()) sink(strs.value()[strs->size() - 1].size());
    }
    // Generic element access; bound the work on huge arrays of scalars.
    const std::uint64_t n = a.size() < 64 ? a.size() : 64;
    for (std::uint64_t i = 0; i < n; ++i) touch_value(a.at(i), depth + 1);
    if (a.size() > n) touch_value(a.at(a.size() - 1), depth + 1);
}

void touch_value(const gg::value_view& v, int depth) {
    sink(static_cast<std::uint32_t>(v.type()));
    // Getters that match the stored type; the mismatch paths (which build messages) once per value.
    if (gg::value_type_is_integer(v.type())) {
        if (auto r = v.get_u8(); r.ok()) sink(r.value());
        if (auto r = v.get_i8(); r.ok()) sink(static_cast<std::uint64_t>(r.value()));
        if (auto r = v.get_u16(); r.ok()) sink(r.value());
        if (auto r = v.get_i16(); r.ok()) sink(static_cast<std::uint64_t>(r.value()));
        if (auto r = v.get_u32(); r.ok()) sink(r.value());
        if (auto r = v.get_i32(); r.ok()) sink(static_cast<std::uint64_t>(r.value()));
        if (auto r = v.get_u64(); r.ok()) sink(r.value());
        if (auto r = v.get_i64(); r.ok()) sink(static_cast<std::uint64_t>(r.value()));
        if (v.get_string().ok()) __builtin_trap();
        return;
    }
    switch (v.type()) {
        case gg::value_type::float32:
        case gg::value_type::float64: {
            auto a = v.get_f32();
            auto b = v.get_f64();
            if (!a.ok() || !b.ok()) __builtin_trap();
            sink((a.value() == a.value()) + (b.value() == b.value()));
            if (v.get_u32().ok()) __builtin_trap();
            break;
        }
        case gg::value_type::boolean:
            sink(v.get_bool().value());
            if (v.get_f32().ok()) __builtin_trap();
            break;
        case gg::value_type::string: {
            auto r = v.get_string();
            sink(r->size());
            if (!r->empty()) sink(static_cast<unsigned char>((*r)[r->size() - 1]));
            if (v.get_bool().ok() || v.get_array().ok()) __builtin_trap();
            break;
        }
        case gg::value_type::array: {
            auto r = v.get_array();
            if (!r.ok()) __builtin_trap();
            if (depth < 16) touch_array(r.value(), depth);
            break;
        }
        default: __builtin_trap();  // the reader rejects unknown types
    }
}

// A summary both parse paths must agree on.
struct summary {
    std::uint64_t kvs = 0, tensors = 0, data_offset = 0;
    std::uint32_t alignment = 0;
};

summary touch_file(const gg::file& f) {
    summary s{f.kv_count(), f.tensor_count(), f.data_offset(), f.alignment()};
    for (std::uint64_t i = 0; i < f.kv_count(); ++i) {
        const std::string_view k = f.key(i);
        sink(k.size());
        if (!f.has(k)) __builtin_trap();  // every key must be findable
        touch_value(f.value(i), 0);
        if (auto v = f.get(k); v.ok()) sink(static_cast<std::uint32_t>(v->type()));
    }
    sink(f.get_u32("general.alignment").ok());
    unsigned char buf[64];
    for (std::uint64_t i = 0; i < f.tensor_count(); ++i) {
        const gg::tensor_info& t = f.tensor(i);
        if (f.find_tensor(t.name) != &t) __builtin_trap();  // names are unique and findable
        if (t.file_offset + t.bytes > f.size() || t.offset % f.alignment() != 0) __builtin_trap();
        sink(static_cast<std::uint64_t>(t.element_count()) + t.bytes);
        const noggin::tensor_view v = t.view();
        if (v.byte_size() != t.bytes) __builtin_trap();
        if (t.data != nullptr) {
            const unsigned char* p = static_cast<const unsigned char*>(t.data);
            sink(p[0] + p[t.bytes - 1]);  // first and last byte must be readable
            if (!f.view(t.name).ok()) __builtin_trap();
        }
        const std::uint64_t n = t.bytes < sizeof buf ? t.bytes : sizeof buf;
        if (!f.read_tensor_bytes(t, t.bytes - n, buf, n).ok()) __builtin_trap();
        sink(buf[0]);
        if (f.read_tensor_bytes(t, t.bytes, buf, 1).ok()) __builtin_trap();
    }
    return s;
}

struct source {
    const std::uint8_t* data;
    std::size_t size;
    static bool read(void* user, std::uint64_t offset, void* dst, std::uint64_t n) {
        const source* s = static_cast<const source*>(user);
        if (offset > s->size || n > s->size - offset) __builtin_trap();  // the reader must stay in bounds
        if (n) std::memcpy(dst, s->data + offset, static_cast<std::size_t>(n));
        return true;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    gg::open_options o;
    o.max_metadata_bytes = 1u << 24;  // keep the fuzzer's memory use modest
    auto f = gg::file::from_memory(data, size, o);
    summary a{};
    if (f.ok()) a = touch_file(f.value());

    source src{data, size};
    gg::read_callback cb;
    cb.read = &source::read;
    cb.size = size;
    cb.user = &src;
    for (gg::callback_data mode : {gg::callback_data::load, gg::callback_data::on_demand}) {
        o.callback_mode = mode;
        auto c = gg::file::from_callback(cb, o);
        if (c.ok() != f.ok()) __builtin_trap();  // both paths must agree on validity
        if (!c.ok()) {
            if (c.status().code() != f.status().code()) __builtin_trap();
            continue;
        }
        const summary b = touch_file(c.value());
        if (a.kvs != b.kvs || a.tensors != b.tensors || a.data_offset != b.data_offset || a.alignment != b.alignment) {
            __builtin_trap();
        }
    }
    return 0;
}
