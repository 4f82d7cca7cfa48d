// tests/formats/gguf_test_util.hpp — helpers shared by the GGUF tests: a hand-written byte builder for
// files our writer would never produce, and read-callback adapters over a byte vector.
//
// Sections: bytes (little-endian builder) · memory callback · status matchers
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <noggin/formats/gguf.hpp>

namespace gguf_test {

// --- bytes: build GGUF by hand ---

struct bytes {
    std::vector<std::uint8_t> b;

    bytes& raw(std::string_view s) {
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    bytes& le(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    bytes& u8(std::uint8_t v) { return le(v, 1); }
    bytes& u32(std::uint32_t v) { return le(v, 4); }
    bytes& u64(std::uint64_t v) { return le(v, 8); }
    bytes& str(std::string_view s) { return u64(s.size()).raw(s); }
    // "GGUF", version, tensor count, kv count (v2 and v3 share this layout).
    bytes& header(std::uint32_t version, std::uint64_t n_tensors, std::uint64_t n_kv) {
        return raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
    }
    // One tensor info: name, dims, type id, offset.
    bytes& tensor(std::string_view name, std::initializer_list<std::uint64_t> ne, std::uint32_t type, std::uint64_t offset) {
        str(name).u32(static_cast<std::uint32_t>(ne.size()));
        for (std::uint64_t n : ne) u64(n);
        return u32(type).u64(offset);
    }
    bytes& pad_to(std::size_t alignment) {
        while (b.size() % alignment != 0) b.push_back(0);
        return *this;
    }
    bytes& zeros(std::size_t n) {
        b.insert(b.end(), n, 0);
        return *this;
    }
};

// --- read callback over a byte vector (bounds-checked, counts calls) ---

struct memory_source {
    const std::vector<std::uint8_t>* data = nullptr;
    int calls = 0;
    int fail_after = -1;  // >= 0: calls beyond this many fail

    static bool read(void* user, std::uint64_t offset, void* dst, std::uint64_t size) {
        memory_source* self = static_cast<memory_source*>(user);
        ++self->calls;
        if (self->fail_after >= 0 && self->calls > self->fail_after) return false;
        REQUIRE(offset <= self->data->size());
        REQUIRE(size <= self->data->size() - offset);  // the reader never asks past the end
        if (size) std::memcpy(dst, self->data->data() + offset, static_cast<std::size_t>(size));
        return true;
    }
    noggin::gguf::read_callback callback() {
        noggin::gguf::read_callback cb;
        cb.read = &memory_source::read;
        cb.size = data->size();
        cb.user = this;
        return cb;
    }
};

// --- parse helpers ---

// Parse from an exactly-sized heap copy so AddressSanitizer sees any overread.
inline noggin::result<noggin::gguf::file> parse_copy(const std::vector<std::uint8_t>& bytes_in,
                                                    std::vector<std::uint8_t>* keep,
                                                    const noggin::gguf::open_options& o = {}) {
    *keep = bytes_in;
    keep->shrink_to_fit();
    return noggin::gguf::file::from_memory(keep->empty() ? nullptr : keep->data(), keep->size(), o);
}

}  // namespace gguf_test

// Check a failed result's code and that its message mentions `needle`.
#define GGUF_CHECK_FAILS(res, code_, needle)                                           \
    do {                                                                               \
        const auto& gguf_res_ = (res);                                                 \
        REQUIRE_FALSE(gguf_res_.ok());                                                 \
        CHECK_MESSAGE(gguf_res_.status().code() == (code_), gguf_res_.status().message()); \
        CHECK_MESSAGE(gguf_res_.status().message().find(needle) != std::string::npos,  \
                      gguf_res_.status().message());                                   \
    } while (0)
