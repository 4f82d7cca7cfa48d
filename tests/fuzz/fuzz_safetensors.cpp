// tests/fuzz/fuzz_safetensors.cpp — libFuzzer target for the safetensors reader.
//
// Parses the input from memory and through a read callback (load or on-demand, alternating), checks that
// the paths agree, then touches every tensor (view, first and last data byte, read_tensor_bytes) and the metadata.
//
//     clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_safetensors.cpp -o fz
//     ./make_safetensors_seeds seeds && ./fz -max_total_time=60 seeds
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <noggin/formats/safetensors.hpp>

namespace {

namespace st = noggin::safetensors;

volatile std::uint64_t g_sink = 0;  // keeps the optimizer from dropping reads

struct source {
    const std::uint8_t* data;
    std::size_t size;
};

bool read(void* user, std::uint64_t offset, void* dst, std::uint64_t size) {
    const source* s = static_cast<const source*>(user);
    if (offset > s->size || size > s->size - offset) __builtin_trap();  // the reader must never ask past the end
    std::memcpy(dst, s->data + offset, static_cast<std::size_t>(size));
    return true;
}

void touch(const st::file& f) {
    for (const st::tensor_info& t : f.tensors()) {
        g_sink = g_sink + static_cast<std::uint64_t>(t.element_count()) + t.shape_text().size();
        const noggin::tensor_view v = t.view();
        g_sink = g_sink + v.byte_size();
        if (t.bytes > 0) {
            unsigned char b[2] = {0, 0};
            if (!f.read_tensor_bytes(t, 0, b, 1).ok() || !f.read_tensor_bytes(t, t.bytes - 1, b + 1, 1).ok()) __builtin_trap();
            g_sink = g_sink + b[0] + b[1];
            if (t.data != nullptr) g_sink = g_sink + static_cast<const unsigned char*>(t.data)[t.bytes - 1];
        }
        if (f.find_tensor(t.name) != &t) __builtin_trap();
    }
    for (const auto& kv : f.metadata()) g_sink = g_sink + kv.first.size() + kv.second.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> copy(data, data + size);  // exactly sized: overreads are caught
    noggin::result<st::file> m = st::file::from_memory(copy.data(), copy.size());
    // One callback parse per input (the mode alternates with the size), checked against the memory parse.
    source src{copy.data(), copy.size()};
    st::read_callback cb;
    cb.read = read;
    cb.size = copy.size();
    cb.user = &src;
    st::open_options o;
    o.callback_mode = size % 2 ? st::callback_data::on_demand : st::callback_data::load;
    noggin::result<st::file> c = st::file::from_callback(cb, o);
    if (m.ok() != c.ok()) __builtin_trap();
    if (!m.ok()) return 0;
    if (m->tensor_count() != c->tensor_count()) __builtin_trap();
    touch(m.value());
    touch(c.value());
    return 0;
}
