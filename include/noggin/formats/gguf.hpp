// noggin/formats/gguf.hpp — GGUF (llama.cpp's model file format): a validating zero-copy reader and a writer.
//
// The reader parses GGUF v2 and v3 (little-endian) from memory, from a memory-mapped file, or through a
// caller-supplied read callback (archives, encrypted packs). Every count, length, offset and product in
// the file is checked before it is used; a hostile file yields a status, never a crash or a huge
// allocation. Metadata values and tensor data are not copied: views point into the file's bytes.
//
//     noggin::result<noggin::gguf::file> f = noggin::gguf::file::open("model.gguf");
//     if (!f.ok()) return f.status();
//     noggin::result<std::uint32_t> n_layer = f->get_u32("llama.block_count");
//     noggin::result<noggin::gguf::array_view> tokens = f->get_array("tokenizer.ggml.tokens");
//     if (tokens.ok()) {
//         noggin::result<noggin::gguf::string_span> s = tokens->strings();  // O(1) s[i], no allocation
//         for (std::string_view token : s.value()) { ... }  // keep the result in a variable: a range-for
//     }                                                     // over a temporary's value() would dangle
//     if (const noggin::gguf::tensor_info* t = f->find_tensor("token_embd.weight")) {
//         noggin::tensor_view w = t->view();  // w.ne[0] = n_embd (innermost), w.ne[1] = n_vocab
//     }
//
//     noggin::gguf::writer w;                       // produces GGUF v3 that llama.cpp reads
//     w.add_string("general.architecture", "llama");
//     w.add_u32("llama.block_count", 2);
//     w.add_tensor("output_norm.weight", noggin::dtype::f32, {256}, norm.data(), 256 * 4);
//     noggin::status s = w.write_to_file("tiny.gguf");
//
// Sections: constants and value types · options and read callback · views of metadata (number_span,
//           integer_span, string_span, array_view, value_view) · tensor_info · file (reader) ·
//           reader implementation (parser, getters) · writer (array_ref, value, writer)
//
// File layout (all little-endian): "GGUF", u32 version, u64 tensor count, u64 key/value count; each
// key/value as (string key, u32 type, value); each tensor info as (string name, u32 n_dims, u64 ne[n_dims],
// u32 ggml type, u64 offset); zero padding to `general.alignment` (default 32); the tensor data, each
// tensor at its offset from the start of that data section. Strings are (u64 length, bytes without NUL);
// arrays are (u32 element type, u64 count, elements). v1 used 32-bit counts and lengths (unsupported);
// v2 moved to 64-bit; v3 is v2 plus the possibility of big-endian files (unsupported here).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/dtype.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "mapped_file.hpp"

namespace noggin {
namespace gguf {

// --- constants and value types ---------------------------------------------------------------------

inline constexpr std::uint32_t magic = 0x46554747u;           // "GGUF" read as a little-endian u32
inline constexpr std::uint32_t current_version = 3;           // the version the writer produces
inline constexpr std::uint32_t default_alignment = 32;        // when general.alignment is absent
inline constexpr std::uint64_t max_key_bytes = 65535;         // spec: keys are at most 2^16 - 1 bytes
inline constexpr std::size_t max_writer_name_bytes = 63;      // llama.cpp's GGML_MAX_NAME - 1
inline constexpr std::uint32_t max_writer_array_depth = 8;    // nesting the writer accepts (reader default)
inline constexpr std::string_view alignment_key = "general.alignment";

// Type of a metadata value; the numeric values are GGUF's.
enum class value_type : std::uint32_t {
    uint8 = 0,
    int8 = 1,
    uint16 = 2,
    int16 = 3,
    uint32 = 4,
    int32 = 5,
    float32 = 6,
    boolean = 7,  // one byte; the reader treats any nonzero byte as true
    string = 8,
    array = 9,
    uint64 = 10,
    int64 = 11,
    float64 = 12,
};
inline constexpr std::uint32_t value_type_count = 13;

// GGUF-style spelling, e.g. "uint32", "string"; "unknown" outside the enum.
inline const char* value_type_name(value_type t) {
    switch (t) {
        case value_type::uint8: return "uint8";
        case value_type::int8: return "int8";
        case value_type::uint16: return "uint16";
        case value_type::int16: return "int16";
        case value_type::uint32: return "uint32";
        case value_type::int32: return "int32";
        case value_type::float32: return "float32";
        case value_type::boolean: return "bool";
        case value_type::string: return "string";
        case value_type::array: return "array";
        case value_type::uint64: return "uint64";
        case value_type::int64: return "int64";
        case value_type::float64: return "float64";
    }
    return "unknown";
}

// Bytes of one value of a fixed-size type; 0 for string and array.
inline std::uint32_t value_type_size(value_type t) {
    switch (t) {
        case value_type::uint8:
        case value_type::int8:
        case value_type::boolean: return 1;
        case value_type::uint16:
        case value_type::int16: return 2;
        case value_type::uint32:
        case value_type::int32:
        case value_type::float32: return 4;
        case value_type::uint64:
        case value_type::int64:
        case value_type::float64: return 8;
        case value_type::string:
        case value_type::array: return 0;
    }
    return 0;
}

inline bool value_type_is_integer(value_type t) {
    switch (t) {
        case value_type::uint8:
        case value_type::int8:
        case value_type::uint16:
        case value_type::int16:
        case value_type::uint32:
        case value_type::int32:
        case value_type::uint64:
        case value_type::int64: return true;
        default: return false;
    }
}

// The value_type that stores a C++ number type: value_type_of<float>::value == value_type::float32.
template <class T>
struct value_type_of;
template <> struct value_type_of<std::uint8_t> { static constexpr value_type value = value_type::uint8; };
template <> struct value_type_of<std::int8_t> { static constexpr value_type value = value_type::int8; };
template <> struct value_type_of<std::uint16_t> { static constexpr value_type value = value_type::uint16; };
template <> struct value_type_of<std::int16_t> { static constexpr value_type value = value_type::int16; };
template <> struct value_type_of<std::uint32_t> { static constexpr value_type value = value_type::uint32; };
template <> struct value_type_of<std::int32_t> { static constexpr value_type value = value_type::int32; };
template <> struct value_type_of<float> { static constexpr value_type value = value_type::float32; };
template <> struct value_type_of<bool> { static constexpr value_type value = value_type::boolean; };
template <> struct value_type_of<std::uint64_t> { static constexpr value_type value = value_type::uint64; };
template <> struct value_type_of<std::int64_t> { static constexpr value_type value = value_type::int64; };
template <> struct value_type_of<double> { static constexpr value_type value = value_type::float64; };

// --- options and read callback -----------------------------------------------------------------------

// Bytes supplied by the host instead of a path: a pack file, an archive entry, a decrypting stream.
// `read` copies exactly `size` bytes starting at `offset` into `dst` and returns false on failure; the
// reader never asks for bytes at or past `size`. The struct is copied; `user` must stay valid for as
// long as the file object when tensor data is read on demand.
struct read_callback {
    bool (*read)(void* user, std::uint64_t offset, void* dst, std::uint64_t size) = nullptr;
    std::uint64_t size = 0;  // total bytes of the GGUF file
    void* user = nullptr;    // passed back to `read` unchanged
};

// How file::from_callback provides tensor data.
enum class callback_data {
    load,       // read all tensor data into one owned, aligned buffer at open; tensor_info::data is set
    on_demand,  // read nothing at open; tensor_info::data is null, use file::read_tensor_bytes
};

// Parsing limits and choices. Every field has a safe default; the caps stop hostile files early.
struct open_options {
    callback_data callback_mode = callback_data::load;      // from_callback only (default: load)
    std::uint64_t max_tensor_count = 1u << 20;              // tensors per file (default 1 Mi)
    std::uint64_t max_kv_count = 1u << 20;                  // metadata keys per file (default 1 Mi)
    std::uint64_t max_string_bytes = 256ull << 20;          // one metadata string (default 256 MiB)
    std::uint64_t max_array_elements = 1ull << 28;          // one metadata array (default 256 Mi elements)
    std::uint32_t max_array_depth = max_writer_array_depth; // nesting of arrays of arrays (default 8)
    std::uint64_t max_tensor_name_bytes = 1024;             // one tensor name (default 1024; llama.cpp: 63)
    std::uint64_t max_metadata_bytes = 1ull << 30;          // from_callback: header + metadata + tensor
                                                            // infos held in memory (default 1 GiB)
};

namespace detail {

// --- little-endian loads (the format is little-endian whatever the host) ---

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
inline constexpr bool host_is_little_endian = false;
#else
inline constexpr bool host_is_little_endian = true;
#endif

template <class T>
inline T load_le(const unsigned char* p) {
    unsigned char tmp[sizeof(T)];
    if (host_is_little_endian) {
        std::memcpy(tmp, p, sizeof(T));
    } else {
        for (std::size_t i = 0; i < sizeof(T); ++i) tmp[i] = p[sizeof(T) - 1 - i];
    }
    T v;
    std::memcpy(&v, tmp, sizeof(T));
    return v;
}
template <>
inline bool load_le<bool>(const unsigned char* p) {
    return p[0] != 0;
}

// Where one parsed metadata value lives in the metadata bytes.
struct value_ref {
    value_type type = value_type::uint8;  // the value's own type
    value_type elem = value_type::uint8;  // arrays: element type
    std::uint64_t offset = 0;             // scalars: the value; string: first char; array: first element
    std::uint64_t count = 0;              // string: bytes; array: elements
    std::uint64_t index = 0;              // string arrays: first entry in state::string_offsets;
                                          // arrays of arrays: first entry in state::nodes
};

struct state;

// Quote untrusted text for an error message: at most 96 bytes, control and non-ASCII bytes escaped.
inline std::string printable(std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    std::string out = "'";
    const std::size_t n = s.size() < 96 ? s.size() : 96;
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            out.push_back(static_cast<char>(c));
        } else {
            out += "\\x";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    if (n < s.size()) out += "...";
    out.push_back('\'');
    return out;
}

}  // namespace detail

// --- views of metadata -----------------------------------------------------------------------------
// All views point into the file object's memory: valid while that gguf::file lives (moving the file
// keeps them valid; destroying it does not).

// Numbers of one exact type in an array, read in place (unaligned-safe). s[i] is O(1).
template <class T>
class number_span {
public:
    using value_type = T;

    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = T;
        iterator() = default;
        T operator*() const { return detail::load_le<T>(p_); }
        iterator& operator++() {
            p_ += sizeof(T);
            return *this;
        }
        iterator operator++(int) {
            iterator old = *this;
            p_ += sizeof(T);
            return old;
        }
        bool operator==(const iterator& o) const { return p_ == o.p_; }
        bool operator!=(const iterator& o) const { return p_ != o.p_; }

    private:
        friend class number_span;
        explicit iterator(const unsigned char* p) : p_(p) {}
        const unsigned char* p_ = nullptr;
    };

    number_span() = default;
    number_span(const unsigned char* data, std::uint64_t count) : data_(data), size_(count) {}

    std::uint64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // Little-endian bytes of the elements; possibly unaligned.
    const void* data() const { return data_; }
    T operator[](std::uint64_t i) const {
        NOGGIN_ASSERT(i < size_, "number_span index out of range");
        return detail::load_le<T>(data_ + i * sizeof(T));
    }
    iterator begin() const { return iterator(data_); }
    iterator end() const { return iterator(size_ ? data_ + size_ * sizeof(T) : data_); }
    // Copy all elements to `out` (size() of them).
    void copy_to(T* out) const {
        for (std::uint64_t i = 0; i < size_; ++i) out[i] = detail::load_le<T>(data_ + i * sizeof(T));
    }

private:
    const unsigned char* data_ = nullptr;  // first element in the file's bytes
    std::uint64_t size_ = 0;               // elements
};

// Integers of any stored integer type read as int64_t (llama.cpp writers vary between int32 and
// uint32 for the same key). Made by array_view::integers(), which checked that every value fits.
class integer_span {
public:
    integer_span() = default;
    integer_span(const unsigned char* data, value_type type, std::uint64_t count)
        : data_(data), type_(type), size_(count) {}

    std::uint64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    value_type stored_type() const { return type_; }
    std::int64_t operator[](std::uint64_t i) const {
        NOGGIN_ASSERT(i < size_, "integer_span index out of range");
        const unsigned char* p = data_ + i * value_type_size(type_);
        switch (type_) {
            case value_type::uint8: return detail::load_le<std::uint8_t>(p);
            case value_type::int8: return detail::load_le<std::int8_t>(p);
            case value_type::uint16: return detail::load_le<std::uint16_t>(p);
            case value_type::int16: return detail::load_le<std::int16_t>(p);
            case value_type::uint32: return detail::load_le<std::uint32_t>(p);
            case value_type::int32: return detail::load_le<std::int32_t>(p);
            case value_type::uint64: return static_cast<std::int64_t>(detail::load_le<std::uint64_t>(p));
            case value_type::int64: return detail::load_le<std::int64_t>(p);
            default: return 0;
        }
    }

private:
    const unsigned char* data_ = nullptr;     // first element in the file's bytes
    value_type type_ = value_type::int32;     // stored element type (an integer type)
    std::uint64_t size_ = 0;                  // elements
};

// Strings of a string array as string_views into the file. s[i] is O(1) (an offset table built
// while parsing, one entry per string); iteration allocates nothing.
class string_span {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = std::string_view;
        iterator() = default;
        std::string_view operator*() const { return at(meta_, offsets_[i_]); }
        iterator& operator++() {
            ++i_;
            return *this;
        }
        iterator operator++(int) {
            iterator old = *this;
            ++i_;
            return old;
        }
        bool operator==(const iterator& o) const { return i_ == o.i_; }
        bool operator!=(const iterator& o) const { return i_ != o.i_; }

    private:
        friend class string_span;
        // Self-contained (no pointer to the span): valid as long as the file lives.
        iterator(const unsigned char* meta, const std::uint64_t* offsets, std::uint64_t i)
            : meta_(meta), offsets_(offsets), i_(i) {}
        const unsigned char* meta_ = nullptr;
        const std::uint64_t* offsets_ = nullptr;
        std::uint64_t i_ = 0;
    };

    string_span() = default;
    string_span(const unsigned char* meta, const std::uint64_t* offsets, std::uint64_t count)
        : meta_(meta), offsets_(offsets), size_(count) {}

    std::uint64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::string_view operator[](std::uint64_t i) const {
        NOGGIN_ASSERT(i < size_, "string_span index out of range");
        return at(meta_, offsets_[i]);
    }
    iterator begin() const { return iterator(meta_, offsets_, 0); }
    iterator end() const { return iterator(meta_, offsets_, size_); }

private:
    // The string whose u64 length sits at meta + offset.
    static std::string_view at(const unsigned char* meta, std::uint64_t offset) {
        const unsigned char* p = meta + offset;
        const std::uint64_t n = detail::load_le<std::uint64_t>(p);
        return std::string_view(reinterpret_cast<const char*>(p + 8), static_cast<std::size_t>(n));
    }

    const unsigned char* meta_ = nullptr;        // the metadata bytes
    const std::uint64_t* offsets_ = nullptr;     // per string: offset of its u64 length in meta_
    std::uint64_t size_ = 0;                     // strings
};

class value_view;

// One metadata array (possibly an element of an array of arrays).
class array_view {
public:
    array_view() = default;

    value_type element_type() const { return ref_.elem; }
    std::uint64_t size() const { return ref_.count; }
    bool empty() const { return ref_.count == 0; }
    std::string_view key() const { return key_; }  // the top-level key this array belongs to

    // Element i as a generic value (any element type; O(1)). Precondition: i < size().
    value_view at(std::uint64_t i) const;

    // Typed access; each fails with "key X is an array of T, expected U" on another element type.
    // T is one of uint8_t int8_t uint16_t int16_t uint32_t int32_t float bool uint64_t int64_t double.
    template <class T>
    result<number_span<T>> numbers() const;
    // Any integer element type; fails if an element does not fit int64_t (checked once, O(n)).
    result<integer_span> integers() const;
    result<string_span> strings() const;

private:
    friend class value_view;
    friend class file;
    array_view(const detail::state* s, const detail::value_ref& r, std::string_view key)
        : state_(s), ref_(r), key_(key) {}
    status wrong_element_type(const char* expected) const;

    const detail::state* state_ = nullptr;  // owning file's parsed state
    detail::value_ref ref_;                 // where the array lives
    std::string_view key_;                  // key it belongs to (for messages)
};

// One metadata value of any type: a top-level key's value or an array element.
//
// Integer getters accept any stored integer type whose value fits the requested type (uint32 vs
// int32 vary between writers); otherwise they fail with a status naming the key, the stored type
// and, for a range failure, the value. get_f32/get_f64 accept float32 and float64. get_bool wants bool.
class value_view {
public:
    value_view() = default;

    value_type type() const { return ref_.type; }
    std::string_view key() const { return key_; }  // top-level key (for array elements: the array's key)

    template <class T>
    result<T> get_integer() const;  // T: any of the 8 fixed-width integer types
    result<std::uint8_t> get_u8() const { return get_integer<std::uint8_t>(); }
    result<std::int8_t> get_i8() const { return get_integer<std::int8_t>(); }
    result<std::uint16_t> get_u16() const { return get_integer<std::uint16_t>(); }
    result<std::int16_t> get_i16() const { return get_integer<std::int16_t>(); }
    result<std::uint32_t> get_u32() const { return get_integer<std::uint32_t>(); }
    result<std::int32_t> get_i32() const { return get_integer<std::int32_t>(); }
    result<std::uint64_t> get_u64() const { return get_integer<std::uint64_t>(); }
    result<std::int64_t> get_i64() const { return get_integer<std::int64_t>(); }
    result<float> get_f32() const;
    result<double> get_f64() const;
    result<bool> get_bool() const;
    // A view into the file's bytes (not NUL-terminated, not checked to be UTF-8).
    result<std::string_view> get_string() const;
    result<array_view> get_array() const;

private:
    friend class array_view;
    friend class file;
    value_view(const detail::state* s, const detail::value_ref& r, std::string_view key, bool element)
        : state_(s), ref_(r), key_(key), element_(element) {}
    const unsigned char* bytes() const;
    status wrong_type(const char* expected) const;

    const detail::state* state_ = nullptr;  // owning file's parsed state
    detail::value_ref ref_;                 // where the value lives
    std::string_view key_;                  // for messages
    bool element_ = false;                  // true for an element of an array
};

// --- tensor_info ------------------------------------------------------------------------------------

// One tensor as described by the file, validated: known dtype, 1..4 dims all > 0, no overflow, data
// inside the file, offset aligned, no overlap with another tensor, unique name.
struct tensor_info {
    std::string_view name;                       // as stored; points into the file's metadata bytes
    dtype type = dtype::f32;                     // element type
    int n_dims = 1;                              // 1..4 dimensions stored in the file
    std::int64_t ne[max_dims] = {1, 1, 1, 1};    // elements per dimension, ne[0] innermost; unused = 1
    std::uint64_t offset = 0;                    // bytes from the start of the data section (aligned)
    std::uint64_t file_offset = 0;               // absolute byte position in the file
    std::uint64_t bytes = 0;                     // data size: row_bytes(type, ne[0]) * ne[1] * ne[2] * ne[3]
    const void* data = nullptr;                  // first byte; null when read on demand (from_callback)

    std::int64_t element_count() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    // Dense view of the data (data may be null, see above). The memory is read-only: never write to it.
    tensor_view view() const {
        tensor_view v = tensor_view::contiguous(type, data, {ne[0], ne[1], ne[2], ne[3]});
        v.n_dims = n_dims;
        return v;
    }
};

// --- file (reader) -----------------------------------------------------------------------------------

// A parsed GGUF file. Movable, not copyable; views and tensor pointers stay valid across moves and
// die with the object. A default-constructed or moved-from file is empty (no keys, no tensors).
class file {
public:
    file();
    file(file&&) noexcept;
    file& operator=(file&&) noexcept;
    file(const file&) = delete;
    file& operator=(const file&) = delete;
    ~file();

    // Memory-map `path` (UTF-8) and parse it; tensor data stays in the mapping.
    static result<file> open(const std::string& path, const open_options& options = {});
    // Parse caller-owned bytes in place (nothing is copied); they must outlive the file object.
    static result<file> from_memory(const void* data, std::uint64_t size, const open_options& options = {});
    // Parse through a read callback: header, metadata and tensor infos are read into an owned buffer
    // (grown as parsing proceeds, capped by max_metadata_bytes); tensor data is loaded into one owned
    // aligned buffer or left for read_tensor_bytes, per options.callback_mode.
    static result<file> from_callback(const read_callback& callback, const open_options& options = {});

    std::uint32_t version() const;       // 2 or 3
    std::uint32_t alignment() const;     // general.alignment or 32
    std::uint64_t size() const;          // bytes in the file
    std::uint64_t data_offset() const;   // where the tensor data section starts
    bool tensor_data_resident() const;   // false for callback_data::on_demand

    // --- metadata ---
    std::uint64_t kv_count() const;
    std::string_view key(std::uint64_t i) const;  // in file order; precondition i < kv_count()
    value_view value(std::uint64_t i) const;
    bool has(std::string_view key) const;
    result<value_view> get(std::string_view key) const;  // "key 'x' not found" when absent

    template <class T>
    result<T> get_integer(std::string_view key) const;  // any stored integer type that fits T
    result<std::uint8_t> get_u8(std::string_view key) const { return get_integer<std::uint8_t>(key); }
    result<std::int8_t> get_i8(std::string_view key) const { return get_integer<std::int8_t>(key); }
    result<std::uint16_t> get_u16(std::string_view key) const { return get_integer<std::uint16_t>(key); }
    result<std::int16_t> get_i16(std::string_view key) const { return get_integer<std::int16_t>(key); }
    result<std::uint32_t> get_u32(std::string_view key) const { return get_integer<std::uint32_t>(key); }
    result<std::int32_t> get_i32(std::string_view key) const { return get_integer<std::int32_t>(key); }
    result<std::uint64_t> get_u64(std::string_view key) const { return get_integer<std::uint64_t>(key); }
    result<std::int64_t> get_i64(std::string_view key) const { return get_integer<std::int64_t>(key); }
    result<float> get_f32(std::string_view key) const;
    result<double> get_f64(std::string_view key) const;
    result<bool> get_bool(std::string_view key) const;
    result<std::string_view> get_string(std::string_view key) const;  // a view into the file
    result<array_view> get_array(std::string_view key) const;

    // --- tensors ---
    std::uint64_t tensor_count() const;
    const tensor_info& tensor(std::uint64_t i) const;  // in file order; precondition i < tensor_count()
    const std::vector<tensor_info>& tensors() const;
    const tensor_info* find_tensor(std::string_view name) const;  // nullptr when absent; O(log n)
    // View of a named tensor; fails when absent or when its data is not resident (on_demand).
    result<tensor_view> view(std::string_view name) const;
    // Copy `size` bytes starting `offset` bytes into tensor `t` (one of this file's tensors) to `dst`.
    // Works in every mode; in on_demand mode this is the way to reach the data.
    status read_tensor_bytes(const tensor_info& t, std::uint64_t offset, void* dst, std::uint64_t size) const;

private:
    const detail::state& st() const;
    std::unique_ptr<detail::state> state_;  // heap-held so views survive moves of the file object
};

// --- reader implementation -------------------------------------------------------------------------------

namespace detail {

struct kv_entry {
    std::uint64_t key_offset = 0;  // first key byte in the metadata bytes
    std::uint64_t key_size = 0;    // key bytes
    value_ref value;               // the value
};

struct free_deleter {
    void operator()(unsigned char* p) const { std::free(p); }
};

// Everything a parsed file owns. Heap-allocated once per file, never moved.
struct state {
    mapped_file mapping;                         // open(): the whole file
    std::vector<unsigned char> meta_owned;       // from_callback(): file bytes [0, meta_size)
    std::unique_ptr<unsigned char, free_deleter> data_block;  // from_callback(load): raw allocation
    const unsigned char* meta = nullptr;         // bytes the value_refs and names point into
    std::uint64_t meta_size = 0;                 // bytes available at `meta`
    const unsigned char* data = nullptr;         // start of the tensor data section, or null
    std::uint64_t file_size = 0;                 // total bytes of the file
    std::uint64_t data_offset = 0;               // start of the data section in the file
    std::uint32_t alignment = default_alignment; // general.alignment
    std::uint32_t version = current_version;     // 2 or 3
    bool resident = true;                        // tensor data reachable through tensor_info::data
    read_callback callback;                      // from_callback(): kept for read_tensor_bytes

    std::vector<kv_entry> kvs;                   // in file order
    std::vector<std::uint32_t> kv_sorted;        // indices into kvs, sorted by key
    std::vector<value_ref> nodes;                // elements of arrays of arrays (each block contiguous)
    std::vector<std::uint64_t> string_offsets;   // per string-array element: offset of its length
    std::vector<tensor_info> tensors;            // in file order
    std::vector<std::uint32_t> tensor_sorted;    // indices into tensors, sorted by name

    std::string_view key(const kv_entry& e) const {
        return std::string_view(reinterpret_cast<const char*>(meta + e.key_offset), static_cast<std::size_t>(e.key_size));
    }
    const kv_entry* find(std::string_view k) const {
        auto it = std::lower_bound(kv_sorted.begin(), kv_sorted.end(), k,
                                   [this](std::uint32_t i, std::string_view x) { return key(kvs[i]) < x; });
        if (it == kv_sorted.end() || key(kvs[*it]) != k) return nullptr;
        return &kvs[*it];
    }
};

inline const state& empty_state() {
    static const state s;
    return s;
}

inline status format_error(std::string message) { return status(status_code::format_error, std::move(message)); }

inline std::uint64_t min_value_bytes(value_type t) {
    const std::uint32_t fixed = value_type_size(t);
    if (fixed) return fixed;
    return t == value_type::string ? 8 : 12;  // string: its length; array: element type + count
}

// Integer stored as any integer type → T, if it fits.
template <class T>
inline bool convert_integer(value_type t, const unsigned char* p, T* out, std::string* shown) {
    static_assert(std::is_integral<T>::value && !std::is_same<T, bool>::value, "T must be an integer type");
    bool negative = false;
    std::uint64_t u = 0;
    std::int64_t s = 0;
    switch (t) {
        case value_type::uint8: u = load_le<std::uint8_t>(p); break;
        case value_type::uint16: u = load_le<std::uint16_t>(p); break;
        case value_type::uint32: u = load_le<std::uint32_t>(p); break;
        case value_type::uint64: u = load_le<std::uint64_t>(p); break;
        case value_type::int8: s = load_le<std::int8_t>(p); negative = s < 0; break;
        case value_type::int16: s = load_le<std::int16_t>(p); negative = s < 0; break;
        case value_type::int32: s = load_le<std::int32_t>(p); negative = s < 0; break;
        case value_type::int64: s = load_le<std::int64_t>(p); negative = s < 0; break;
        default: return false;
    }
    const bool is_signed_type = t == value_type::int8 || t == value_type::int16 || t == value_type::int32 || t == value_type::int64;
    if (is_signed_type && !negative) u = static_cast<std::uint64_t>(s);
    if (negative) {
        if (!std::is_signed<T>::value || s < static_cast<std::int64_t>(std::numeric_limits<T>::min())) {
            *shown = std::to_string(s);  // for the caller's message; only built on failure
            return false;
        }
        *out = static_cast<T>(s);
        return true;
    }
    if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
        *shown = std::to_string(u);
        return false;
    }
    *out = static_cast<T>(u);
    return true;
}

template <class T>
struct integer_name;
template <> struct integer_name<std::uint8_t> { static constexpr const char* value = "uint8"; };
template <> struct integer_name<std::int8_t> { static constexpr const char* value = "int8"; };
template <> struct integer_name<std::uint16_t> { static constexpr const char* value = "uint16"; };
template <> struct integer_name<std::int16_t> { static constexpr const char* value = "int16"; };
template <> struct integer_name<std::uint32_t> { static constexpr const char* value = "uint32"; };
template <> struct integer_name<std::int32_t> { static constexpr const char* value = "int32"; };
template <> struct integer_name<std::uint64_t> { static constexpr const char* value = "uint64"; };
template <> struct integer_name<std::int64_t> { static constexpr const char* value = "int64"; };

// Parses header, metadata and tensor infos from a byte source (memory, or a callback read into a
// growing buffer), then validates the layout. Works with offsets only: the buffer may move as it grows.
class parser {
public:
    parser(state& s, const open_options& o) : s_(s), o_(o) {}

    void use_memory(const unsigned char* base, std::uint64_t size) {
        base_ = base;
        size_ = size;
        avail_ = size;
    }
    void use_callback(const read_callback& cb) {
        cb_ = cb;
        size_ = cb.size;
        avail_ = 0;
        callback_ = true;
    }

    status run() {
        NOGGIN_TRY(parse_header());
        s_.kvs.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n_kv_, 1024)));
        for (std::uint64_t i = 0; i < n_kv_; ++i) NOGGIN_TRY(parse_kv(i));
        const std::uint64_t tensors_start = pos_;
        if (n_tensors_ > remaining(pos_) / 33) {  // name length + 1 name byte + n_dims + ne + type + offset
            return format_error(str("the header claims ", n_tensors_, " tensors but only ", remaining(pos_),
                                    " bytes remain at offset ", tensors_start));
        }
        s_.tensors.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n_tensors_, 4096)));
        names_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n_tensors_, 4096)));
        for (std::uint64_t i = 0; i < n_tensors_; ++i) NOGGIN_TRY(parse_tensor_info(i));
        finish_meta();
        NOGGIN_TRY(index_keys());
        NOGGIN_TRY(read_alignment());
        NOGGIN_TRY(check_tensors());
        return status();
    }

private:
    // --- byte access ---
    std::uint64_t remaining(std::uint64_t pos) const { return pos < size_ ? size_ - pos : 0; }

    // Make [pos, pos + n) readable; a truncation error names `what`.
    status need(std::uint64_t pos, std::uint64_t n, const char* what) {
        if (pos > size_ || n > size_ - pos) {
            return format_error(str("truncated: ", what, " needs ", n, " bytes at offset ", pos, " but the file has ",
                                    size_, " bytes"));
        }
        const std::uint64_t end = pos + n;
        if (end <= avail_) return status();
        // Only the callback source gets here: read more into the owned buffer (at least doubling).
        if (end > o_.max_metadata_bytes) {
            return status(status_code::limit_exceeded,
                          str("header, metadata and tensor infos exceed max_metadata_bytes (", o_.max_metadata_bytes,
                              ") at offset ", pos));
        }
        std::uint64_t target = std::max<std::uint64_t>(end, std::max<std::uint64_t>(avail_ * 2, 64 * 1024));
        target = std::min(target, std::max(end, std::min(size_, o_.max_metadata_bytes)));
        if (target > static_cast<std::uint64_t>(std::numeric_limits<std::size_t>::max())) {
            return status(status_code::out_of_memory, str("metadata of ", target, " bytes does not fit in memory"));
        }
        std::vector<unsigned char>& buf = s_.meta_owned;
        buf.resize(static_cast<std::size_t>(target));
        if (cb_.read == nullptr || !cb_.read(cb_.user, avail_, buf.data() + avail_, target - avail_)) {
            return status(status_code::io_error,
                          str("read callback failed for ", target - avail_, " bytes at offset ", avail_));
        }
        avail_ = target;
        base_ = buf.data();
        return status();
    }
    const unsigned char* at(std::uint64_t pos) const { return base_ + pos; }
    std::uint32_t u32(std::uint64_t pos) const { return load_le<std::uint32_t>(at(pos)); }
    std::uint64_t u64(std::uint64_t pos) const { return load_le<std::uint64_t>(at(pos)); }

    std::string text(std::uint64_t offset, std::uint64_t size) const {
        return printable(std::string_view(reinterpret_cast<const char*>(at(offset)), static_cast<std::size_t>(size)));
    }
    std::string current_key() const { return text(key_offset_, key_size_); }

    // Read a string header and make its bytes readable; pos_ moves past it.
    status read_string(std::uint64_t cap, status_code over_cap, const char* what, std::uint64_t* offset,
                       std::uint64_t* size) {
        NOGGIN_TRY(need(pos_, 8, what));
        const std::uint64_t n = u64(pos_);
        if (n > cap) {
            return status(over_cap, str(what, " at offset ", pos_, " has length ", n, ", over the limit of ", cap));
        }
        if (n > remaining(pos_ + 8)) {
            return format_error(str("truncated: ", what, " at offset ", pos_, " has length ", n, " but only ",
                                    remaining(pos_ + 8), " bytes remain"));
        }
        NOGGIN_TRY(need(pos_ + 8, n, what));
        *offset = pos_ + 8;
        *size = n;
        pos_ += 8 + n;
        return status();
    }

    // --- header ---
    status parse_header() {
        NOGGIN_TRY(need(0, 4, "the magic"));
        if (std::memcmp(at(0), "GGUF", 4) != 0) {
            return format_error(str("not a GGUF file: the first bytes are ", text(0, 4), ", expected 'GGUF'"));
        }
        NOGGIN_TRY(need(4, 4, "the version"));
        const std::uint32_t v = u32(4);
        const std::uint32_t swapped = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
        if (v != 2 && v != 3) {
            if ((v & 0xffffu) == 0 && swapped >= 1 && swapped <= 3) {
                return status(status_code::unsupported,
                              str("big-endian GGUF (version ", swapped, ") is not supported; convert it to little-endian"));
            }
            if (v == 1) {
                return status(status_code::unsupported,
                              "GGUF v1 (32-bit counts) is not supported; re-convert the model with a current llama.cpp");
            }
            return status(status_code::unsupported, str("GGUF version ", v, " is not supported (noggin reads 2 and 3)"));
        }
        s_.version = v;
        NOGGIN_TRY(need(8, 16, "the tensor and key counts"));
        n_tensors_ = u64(8);
        n_kv_ = u64(16);
        pos_ = 24;
        if (n_tensors_ > o_.max_tensor_count) {
            return status(status_code::limit_exceeded,
                          str("the header claims ", n_tensors_, " tensors, over the limit of ", o_.max_tensor_count));
        }
        if (n_kv_ > o_.max_kv_count) {
            return status(status_code::limit_exceeded,
                          str("the header claims ", n_kv_, " metadata keys, over the limit of ", o_.max_kv_count));
        }
        if (n_kv_ > remaining(pos_) / 13) {  // key length + type + the smallest value
            return format_error(str("the header claims ", n_kv_, " metadata keys but the file has only ", size_, " bytes"));
        }
        return status();
    }

    // --- metadata ---
    status parse_kv(std::uint64_t index) {
        kv_entry e;
        status st = read_string(max_key_bytes, status_code::format_error, "a metadata key", &e.key_offset, &e.key_size);
        if (!st.ok()) return st.with_context(str("metadata key #", index));
        key_offset_ = e.key_offset;
        key_size_ = e.key_size;
        NOGGIN_TRY(need(pos_, 4, "a value type"));
        const std::uint32_t t = u32(pos_);
        if (t >= value_type_count) {
            return format_error(str("key ", current_key(), " has unknown value type ", t));
        }
        pos_ += 4;
        st = parse_value(static_cast<value_type>(t), 0, &e.value);
        if (!st.ok()) return st.with_context(str("key ", current_key()));
        s_.kvs.push_back(e);
        return status();
    }

    status parse_value(value_type t, std::uint32_t depth, value_ref* out) {
        out->type = t;
        const std::uint32_t fixed = value_type_size(t);
        if (fixed != 0) {
            NOGGIN_TRY(need(pos_, fixed, "a value"));
            out->offset = pos_;
            pos_ += fixed;
            return status();
        }
        if (t == value_type::string) {
            return read_string(o_.max_string_bytes, status_code::limit_exceeded, "a string", &out->offset, &out->count);
        }
        // array: element type, count, elements
        if (depth >= o_.max_array_depth) {
            return status(status_code::limit_exceeded,
                          str("arrays nested deeper than max_array_depth (", o_.max_array_depth, ") at offset ", pos_));
        }
        NOGGIN_TRY(need(pos_, 12, "an array header"));
        const std::uint32_t et = u32(pos_);
        const std::uint64_t count = u64(pos_ + 4);
        if (et >= value_type_count) {
            return format_error(str("array at offset ", pos_, " has unknown element type ", et));
        }
        const value_type elem = static_cast<value_type>(et);
        if (count > o_.max_array_elements) {
            return status(status_code::limit_exceeded, str("array at offset ", pos_, " claims ", count,
                                                           " elements, over the limit of ", o_.max_array_elements));
        }
        pos_ += 12;
        if (count > remaining(pos_) / min_value_bytes(elem)) {
            return format_error(str("truncated: array at offset ", pos_ - 12, " claims ", count, " ",
                                    value_type_name(elem), " elements but only ", remaining(pos_), " bytes remain"));
        }
        out->elem = elem;
        out->count = count;
        out->offset = pos_;
        const std::uint32_t elem_size = value_type_size(elem);
        if (elem_size != 0) {
            NOGGIN_TRY(need(pos_, count * elem_size, "array elements"));
            pos_ += count * elem_size;
            return status();
        }
        if (elem == value_type::string) {
            out->index = s_.string_offsets.size();
            for (std::uint64_t i = 0; i < count; ++i) {
                const std::uint64_t at_len = pos_;
                std::uint64_t off = 0, n = 0;
                NOGGIN_TRY(read_string(o_.max_string_bytes, status_code::limit_exceeded, "a string", &off, &n));
                s_.string_offsets.push_back(at_len);
            }
            return status();
        }
        // Array of arrays: parse each child (its own descendants are appended to nodes as we go),
        // then store the children as one contiguous block so element i is nodes[index + i].
        std::vector<value_ref> children;
        children.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(count, 256)));
        for (std::uint64_t i = 0; i < count; ++i) {
            value_ref child;
            NOGGIN_TRY(parse_value(value_type::array, depth + 1, &child));
            children.push_back(child);
        }
        out->index = s_.nodes.size();
        s_.nodes.insert(s_.nodes.end(), children.begin(), children.end());
        return status();
    }

    // --- tensor infos ---
    status parse_tensor_info(std::uint64_t index) {
        std::uint64_t name_off = 0, name_size = 0;
        status st = read_string(o_.max_tensor_name_bytes, status_code::limit_exceeded, "a tensor name", &name_off, &name_size);
        if (!st.ok()) return st.with_context(str("tensor #", index));
        const std::string name = text(name_off, name_size);
        if (name_size == 0) return format_error(str("tensor #", index, " has an empty name"));
        NOGGIN_TRY(need(pos_, 4, "n_dims"));
        const std::uint32_t n_dims = u32(pos_);
        pos_ += 4;
        if (n_dims < 1 || n_dims > static_cast<std::uint32_t>(max_dims)) {
            return format_error(str("tensor ", name, " has ", n_dims, " dimensions (must be 1 to ", max_dims, ")"));
        }
        NOGGIN_TRY(need(pos_, 8ull * n_dims + 12, "a tensor shape, type and offset"));
        tensor_info t;
        t.n_dims = static_cast<int>(n_dims);
        std::int64_t elements = 1;
        for (std::uint32_t d = 0; d < n_dims; ++d) {
            const std::uint64_t n = u64(pos_ + 8ull * d);
            if (n == 0) return format_error(str("tensor ", name, " has ne[", d, "] = 0"));
            if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
                static_cast<std::int64_t>(n) > std::numeric_limits<std::int64_t>::max() / elements) {
                return format_error(str("tensor ", name, ": element count overflows (ne[", d, "] = ", n, ")"));
            }
            t.ne[d] = static_cast<std::int64_t>(n);
            elements *= t.ne[d];
        }
        pos_ += 8ull * n_dims;
        const std::uint32_t type_id = u32(pos_);
        if (!dtype_from_gguf(type_id, &t.type)) {
            return status(status_code::unsupported,
                          str("tensor ", name, " has ggml type id ", type_id, ", which noggin does not support"));
        }
        t.offset = u64(pos_ + 4);
        pos_ += 12;
        std::uint64_t row = 0;
        const dtype_traits& info = dtype_info(t.type);
        if (!row_bytes(t.type, static_cast<std::uint64_t>(t.ne[0]), &row)) {
            return format_error(str("tensor ", name, ": ne[0] = ", t.ne[0], " is not a whole number of ", info.name,
                                    " blocks (", info.block_elements, " elements) or its size overflows"));
        }
        const std::uint64_t rows = static_cast<std::uint64_t>(elements / t.ne[0]);
        if (row != 0 && rows > std::numeric_limits<std::uint64_t>::max() / row) {
            return format_error(str("tensor ", name, ": byte size overflows"));
        }
        t.bytes = row * rows;
        s_.tensors.push_back(t);
        names_.push_back({name_off, name_size});
        return status();
    }

    // --- layout checks ---
    void finish_meta() {
        if (callback_) {
            s_.meta = s_.meta_owned.empty() ? nullptr : s_.meta_owned.data();
            s_.meta_size = avail_;
        } else {
            s_.meta = base_;
            s_.meta_size = size_;
        }
        for (std::size_t i = 0; i < s_.tensors.size(); ++i) {
            s_.tensors[i].name = std::string_view(reinterpret_cast<const char*>(s_.meta + names_[i].first),
                                                  static_cast<std::size_t>(names_[i].second));
        }
    }

    status index_keys() {
        s_.kv_sorted.resize(s_.kvs.size());
        for (std::size_t i = 0; i < s_.kvs.size(); ++i) s_.kv_sorted[i] = static_cast<std::uint32_t>(i);
        std::sort(s_.kv_sorted.begin(), s_.kv_sorted.end(),
                  [this](std::uint32_t a, std::uint32_t b) { return s_.key(s_.kvs[a]) < s_.key(s_.kvs[b]); });
        for (std::size_t i = 1; i < s_.kv_sorted.size(); ++i) {
            const std::string_view k = s_.key(s_.kvs[s_.kv_sorted[i]]);
            if (k == s_.key(s_.kvs[s_.kv_sorted[i - 1]])) return format_error(str("duplicate metadata key ", printable(k)));
        }
        return status();
    }

    status read_alignment() {
        const kv_entry* e = s_.find(alignment_key);
        if (e == nullptr) return status();
        std::uint32_t v = 0;
        std::string shown;
        if (!value_type_is_integer(e->value.type)) {
            return format_error(str("general.alignment has type ", value_type_name(e->value.type), ", expected uint32"));
        }
        if (!convert_integer<std::uint32_t>(e->value.type, s_.meta + e->value.offset, &v, &shown)) {
            return format_error(str("general.alignment is ", shown, ", which does not fit uint32"));
        }
        if (v == 0 || (v & (v - 1)) != 0) {
            return format_error(str("general.alignment is ", v, "; it must be a nonzero power of two"));
        }
        s_.alignment = v;
        return status();
    }

    status check_tensors() {
        const std::uint64_t align = s_.alignment;
        if (pos_ > std::numeric_limits<std::uint64_t>::max() - (align - 1)) return format_error("data offset overflows");
        s_.data_offset = (pos_ + align - 1) / align * align;
        const std::uint64_t data_size = size_ > s_.data_offset ? size_ - s_.data_offset : 0;
        if (!s_.tensors.empty() && s_.data_offset > size_) {
            return format_error(str("the tensor data section starts at offset ", s_.data_offset,
                                    ", past the end of the file (", size_, " bytes)"));
        }
        for (tensor_info& t : s_.tensors) {
            if (t.offset % align != 0) {
                return format_error(str("tensor ", printable(t.name), " has data offset ", t.offset,
                                        ", not a multiple of the alignment ", align));
            }
            if (t.offset > data_size || t.bytes > data_size - t.offset) {
                return format_error(str("tensor ", printable(t.name), " (", t.bytes, " bytes at data offset ", t.offset,
                                        ") extends past the end of the file (data section: ", data_size, " bytes)"));
            }
            t.file_offset = s_.data_offset + t.offset;
        }
        // Unique names, sorted for find_tensor.
        const std::size_t n = s_.tensors.size();
        s_.tensor_sorted.resize(n);
        for (std::size_t i = 0; i < n; ++i) s_.tensor_sorted[i] = static_cast<std::uint32_t>(i);
        std::sort(s_.tensor_sorted.begin(), s_.tensor_sorted.end(),
                  [this](std::uint32_t a, std::uint32_t b) { return s_.tensors[a].name < s_.tensors[b].name; });
        for (std::size_t i = 1; i < n; ++i) {
            const tensor_info& a = s_.tensors[s_.tensor_sorted[i - 1]];
            const tensor_info& b = s_.tensors[s_.tensor_sorted[i]];
            if (a.name == b.name) return format_error(str("duplicate tensor name ", printable(a.name)));
        }
        // No overlaps: sort by offset, compare neighbours.
        std::vector<std::uint32_t> by_offset(n);
        for (std::size_t i = 0; i < n; ++i) by_offset[i] = static_cast<std::uint32_t>(i);
        std::sort(by_offset.begin(), by_offset.end(),
                  [this](std::uint32_t a, std::uint32_t b) { return s_.tensors[a].offset < s_.tensors[b].offset; });
        for (std::size_t i = 1; i < n; ++i) {
            const tensor_info& a = s_.tensors[by_offset[i - 1]];
            const tensor_info& b = s_.tensors[by_offset[i]];
            if (a.offset + a.bytes > b.offset) {  // no overflow: both lie inside the file
                return format_error(str("tensors ", printable(a.name), " and ", printable(b.name), " overlap"));
            }
        }
        return status();
    }

    state& s_;
    const open_options& o_;
    const unsigned char* base_ = nullptr;  // current bytes (memory, or the growing buffer)
    std::uint64_t size_ = 0;               // file size
    std::uint64_t avail_ = 0;              // bytes readable at base_
    bool callback_ = false;
    read_callback cb_;
    std::uint64_t pos_ = 0;                // parse position
    std::uint64_t n_tensors_ = 0, n_kv_ = 0;
    std::uint64_t key_offset_ = 0, key_size_ = 0;  // key being parsed (for messages)
    std::vector<std::pair<std::uint64_t, std::uint64_t>> names_;  // tensor names (offset, size)
};

}  // namespace detail

// --- value_view ---

inline const unsigned char* value_view::bytes() const { return state_->meta + ref_.offset; }

inline status value_view::wrong_type(const char* expected) const {
    return status(status_code::invalid_argument,
                  str(element_ ? "an element of key " : "key ", detail::printable(key_), " has type ",
                      value_type_name(ref_.type), ", expected ", expected));
}

template <class T>
inline result<T> value_view::get_integer() const {
    if (state_ == nullptr || !value_type_is_integer(ref_.type)) {
        return wrong_type(str("an integer (", detail::integer_name<T>::value, ")").c_str());
    }
    T v{};
    std::string shown;
    if (!detail::convert_integer<T>(ref_.type, bytes(), &v, &shown)) {
        return status(status_code::out_of_range,
                      str(element_ ? "an element of key " : "key ", detail::printable(key_), " has value ", shown, " (",
                          value_type_name(ref_.type), "), which does not fit ", detail::integer_name<T>::value));
    }
    return v;
}

inline result<float> value_view::get_f32() const {
    if (state_ != nullptr && ref_.type == value_type::float32) return detail::load_le<float>(bytes());
    if (state_ != nullptr && ref_.type == value_type::float64) return static_cast<float>(detail::load_le<double>(bytes()));
    return wrong_type("float32");
}

inline result<double> value_view::get_f64() const {
    if (state_ != nullptr && ref_.type == value_type::float64) return detail::load_le<double>(bytes());
    if (state_ != nullptr && ref_.type == value_type::float32) return static_cast<double>(detail::load_le<float>(bytes()));
    return wrong_type("float64");
}

inline result<bool> value_view::get_bool() const {
    if (state_ != nullptr && ref_.type == value_type::boolean) return detail::load_le<bool>(bytes());
    return wrong_type("bool");
}

inline result<std::string_view> value_view::get_string() const {
    if (state_ == nullptr || ref_.type != value_type::string) return wrong_type("string");
    return std::string_view(reinterpret_cast<const char*>(bytes()), static_cast<std::size_t>(ref_.count));
}

inline result<array_view> value_view::get_array() const {
    if (state_ == nullptr || ref_.type != value_type::array) return wrong_type("array");
    return array_view(state_, ref_, key_);
}

// --- array_view ---

inline value_view array_view::at(std::uint64_t i) const {
    NOGGIN_ASSERT(state_ != nullptr && i < ref_.count, "array_view::at index out of range");
    detail::value_ref r;
    r.type = ref_.elem;
    const std::uint32_t size = value_type_size(ref_.elem);
    if (size != 0) {
        r.offset = ref_.offset + i * size;
    } else if (ref_.elem == value_type::string) {
        const std::uint64_t off = state_->string_offsets[static_cast<std::size_t>(ref_.index + i)];
        r.offset = off + 8;
        r.count = detail::load_le<std::uint64_t>(state_->meta + off);
    } else {
        r = state_->nodes[static_cast<std::size_t>(ref_.index + i)];
    }
    return value_view(state_, r, key_, true);
}

inline status array_view::wrong_element_type(const char* expected) const {
    return status(status_code::invalid_argument, str("key ", detail::printable(key_), " is an array of ",
                                                     value_type_name(ref_.elem), ", expected an array of ", expected));
}

template <class T>
inline result<number_span<T>> array_view::numbers() const {
    constexpr value_type want = value_type_of<T>::value;
    if (state_ == nullptr || ref_.elem != want) return wrong_element_type(value_type_name(want));
    return number_span<T>(state_->meta + ref_.offset, ref_.count);
}

inline result<integer_span> array_view::integers() const {
    if (state_ == nullptr || !value_type_is_integer(ref_.elem)) return wrong_element_type("integers");
    const unsigned char* p = state_->meta + ref_.offset;
    if (ref_.elem == value_type::uint64) {
        for (std::uint64_t i = 0; i < ref_.count; ++i) {
            const std::uint64_t v = detail::load_le<std::uint64_t>(p + i * 8);
            if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                return status(status_code::out_of_range, str("key ", detail::printable(key_), " element ", i, " = ", v,
                                                             " does not fit int64"));
            }
        }
    }
    return integer_span(p, ref_.elem, ref_.count);
}

inline result<string_span> array_view::strings() const {
    if (state_ == nullptr || ref_.elem != value_type::string) return wrong_element_type("string");
    const std::uint64_t* offsets =
        ref_.count == 0 ? nullptr : state_->string_offsets.data() + static_cast<std::size_t>(ref_.index);
    return string_span(state_->meta, offsets, ref_.count);
}

// --- file ---

inline file::file() = default;
inline file::file(file&&) noexcept = default;
inline file& file::operator=(file&&) noexcept = default;
inline file::~file() = default;

inline const detail::state& file::st() const { return state_ ? *state_ : detail::empty_state(); }

namespace detail {

// Point every tensor at its bytes in `data` (the start of the data section), or at nothing.
inline void attach_tensor_data(state& s, const unsigned char* data) {
    s.data = data;
    for (tensor_info& t : s.tensors) t.data = data != nullptr ? data + t.offset : nullptr;
}

}  // namespace detail

inline result<file> file::from_memory(const void* data, std::uint64_t size, const open_options& options) {
    if (data == nullptr && size != 0) {
        return status(status_code::invalid_argument, "gguf: from_memory got a null pointer with a nonzero size");
    }
    std::unique_ptr<detail::state> s(new detail::state());
    const unsigned char* base = static_cast<const unsigned char*>(data);
    s->file_size = size;
    detail::parser p(*s, options);
    p.use_memory(base, size);
    status st = p.run();
    if (!st.ok()) return st.with_context("gguf");
    detail::attach_tensor_data(*s, base != nullptr && s->data_offset <= size ? base + s->data_offset : nullptr);
    file f;
    f.state_ = std::move(s);
    return f;
}

inline result<file> file::open(const std::string& path, const open_options& options) {
    result<mapped_file> m = mapped_file::open(path);
    if (!m.ok()) return status(m.status()).with_context("gguf");
    const unsigned char* base = m->data();
    const std::uint64_t size = m->size();
    std::unique_ptr<detail::state> s(new detail::state());
    s->mapping = std::move(m.value());
    s->file_size = size;
    detail::parser p(*s, options);
    p.use_memory(base, size);
    status st = p.run();
    if (!st.ok()) return st.with_context(str("gguf ", detail::printable(path)));
    detail::attach_tensor_data(*s, base != nullptr && s->data_offset <= size ? base + s->data_offset : nullptr);
    file f;
    f.state_ = std::move(s);
    return f;
}

inline result<file> file::from_callback(const read_callback& callback, const open_options& options) {
    if (callback.read == nullptr) {
        return status(status_code::invalid_argument, "gguf: from_callback got a read_callback without a read function");
    }
    std::unique_ptr<detail::state> s(new detail::state());
    s->file_size = callback.size;
    s->callback = callback;
    detail::parser p(*s, options);
    p.use_callback(callback);
    status st = p.run();
    if (!st.ok()) return st.with_context("gguf");
    if (options.callback_mode == callback_data::on_demand) {
        s->resident = false;
        detail::attach_tensor_data(*s, nullptr);
    } else {
        // One allocation for the used extent of the data section, aligned like the file (64..4096).
        std::uint64_t extent = 0;
        for (const tensor_info& t : s->tensors) extent = std::max(extent, t.offset + t.bytes);
        if (extent != 0) {
            const std::uint64_t align = std::min<std::uint64_t>(std::max<std::uint64_t>(s->alignment, 64), 4096);
            if (extent > static_cast<std::uint64_t>(std::numeric_limits<std::size_t>::max()) - align) {
                return status(status_code::out_of_memory, str("gguf: ", extent, " bytes of tensor data do not fit in memory"));
            }
            unsigned char* raw = static_cast<unsigned char*>(std::malloc(static_cast<std::size_t>(extent + align)));
            if (raw == nullptr) {
                return status(status_code::out_of_memory, str("gguf: cannot allocate ", extent, " bytes for tensor data"));
            }
            s->data_block.reset(raw);
            const std::uintptr_t addr = reinterpret_cast<std::uintptr_t>(raw);
            unsigned char* aligned = raw + static_cast<std::size_t>((align - addr % align) % align);
            constexpr std::uint64_t chunk = 64ull << 20;  // keep single reads modest
            for (std::uint64_t done = 0; done < extent;) {
                const std::uint64_t n = std::min(chunk, extent - done);
                if (!callback.read(callback.user, s->data_offset + done, aligned + done, n)) {
                    return status(status_code::io_error, str("gguf: read callback failed for ", n,
                                                             " bytes of tensor data at offset ", s->data_offset + done));
                }
                done += n;
            }
            detail::attach_tensor_data(*s, aligned);
        }
    }
    file f;
    f.state_ = std::move(s);
    return f;
}

inline std::uint32_t file::version() const { return st().version; }
inline std::uint32_t file::alignment() const { return st().alignment; }
inline std::uint64_t file::size() const { return st().file_size; }
inline std::uint64_t file::data_offset() const { return st().data_offset; }
inline bool file::tensor_data_resident() const { return st().resident; }

inline std::uint64_t file::kv_count() const { return st().kvs.size(); }

inline std::string_view file::key(std::uint64_t i) const {
    NOGGIN_ASSERT(i < kv_count(), "gguf::file::key index out of range");
    return st().key(st().kvs[static_cast<std::size_t>(i)]);
}

inline value_view file::value(std::uint64_t i) const {
    NOGGIN_ASSERT(i < kv_count(), "gguf::file::value index out of range");
    const detail::kv_entry& e = st().kvs[static_cast<std::size_t>(i)];
    return value_view(&st(), e.value, st().key(e), false);
}

inline bool file::has(std::string_view k) const { return st().find(k) != nullptr; }

inline result<value_view> file::get(std::string_view k) const {
    const detail::kv_entry* e = st().find(k);
    if (e == nullptr) return status(status_code::invalid_argument, str("key ", detail::printable(k), " not found"));
    return value_view(&st(), e->value, st().key(*e), false);
}

template <class T>
inline result<T> file::get_integer(std::string_view k) const {
    result<value_view> v = get(k);
    if (!v.ok()) return v.status();
    return v->get_integer<T>();
}

inline result<float> file::get_f32(std::string_view k) const {
    result<value_view> v = get(k);
    if (!v.ok()) return v.status();
    return v->get_f32();
}

inline result<double> file::get_f64(std::string_view k) const {
    result<value_view> v = get(k);
    if (!v.ok()) return v.status();
    return v->get_f64();
}

inline result<bool> file::get_bool(std::string_view k) const {
    result<value_view> v = get(k);
    if (!v.ok()) return v.status();
    return v->get_bool();
}

inline result<std::string_view> file::get_string(std::string_view k) const {
    result<value_view> v = get(k);
    if (!v.ok()) return v.status();
    return v->get_string();
}

inline result<array_view> file::get_array(std::string_view k) const {
    result<value_view> v = get(k);
    if (!v.ok()) return v.status();
    return v->get_array();
}

inline std::uint64_t file::tensor_count() const { return st().tensors.size(); }

inline const tensor_info& file::tensor(std::uint64_t i) const {
    NOGGIN_ASSERT(i < tensor_count(), "gguf::file::tensor index out of range");
    return st().tensors[static_cast<std::size_t>(i)];
}

inline const std::vector<tensor_info>& file::tensors() const { return st().tensors; }

inline const tensor_info* file::find_tensor(std::string_view name) const {
    const detail::state& s = st();
    auto it = std::lower_bound(s.tensor_sorted.begin(), s.tensor_sorted.end(), name,
                               [&s](std::uint32_t i, std::string_view x) { return s.tensors[i].name < x; });
    if (it == s.tensor_sorted.end() || s.tensors[*it].name != name) return nullptr;
    return &s.tensors[*it];
}

inline result<tensor_view> file::view(std::string_view name) const {
    const tensor_info* t = find_tensor(name);
    if (t == nullptr) return status(status_code::invalid_argument, str("tensor ", detail::printable(name), " not found"));
    if (t->data == nullptr) {
        return status(status_code::invalid_argument,
                      str("tensor ", detail::printable(name), " is not in memory (on_demand mode): use read_tensor_bytes"));
    }
    return t->view();
}

inline status file::read_tensor_bytes(const tensor_info& t, std::uint64_t offset, void* dst, std::uint64_t size) const {
    const detail::state& s = st();
    const std::less<const tensor_info*> before;
    const tensor_info* first = s.tensors.data();
    if (s.tensors.empty() || before(&t, first) || !before(&t, first + s.tensors.size())) {
        return status(status_code::invalid_argument, "read_tensor_bytes: the tensor_info does not belong to this file");
    }
    if (offset > t.bytes || size > t.bytes - offset) {
        return status(status_code::out_of_range, str("read_tensor_bytes: ", size, " bytes at ", offset, " exceed tensor ",
                                                     detail::printable(t.name), " (", t.bytes, " bytes)"));
    }
    if (size == 0) return status();
    if (dst == nullptr) return status(status_code::invalid_argument, "read_tensor_bytes: dst is null");
    if (t.data != nullptr) {
        std::memcpy(dst, static_cast<const unsigned char*>(t.data) + offset, static_cast<std::size_t>(size));
        return status();
    }
    if (s.callback.read == nullptr || !s.callback.read(s.callback.user, t.file_offset + offset, dst, size)) {
        return status(status_code::io_error, str("read callback failed for ", size, " bytes of tensor ",
                                                 detail::printable(t.name), " at file offset ", t.file_offset + offset));
    }
    return status();
}

// --- writer ---------------------------------------------------------------------------------------------

// A read-only (pointer, count) pair: converts from std::vector, std::array, C arrays, braced lists.
template <class T>
class array_ref {
public:
    array_ref() = default;
    array_ref(const T* data, std::size_t count) : data_(data), size_(count) {}
    array_ref(const std::vector<T>& v) : data_(v.data()), size_(v.size()) {}          // NOLINT: implicit
    // Only as a parameter: the list's storage lives until the end of the full expression.
    array_ref(std::initializer_list<T> list) {  // NOLINT: implicit
        data_ = list.begin();
        size_ = list.size();
    }
    template <std::size_t N>
    array_ref(const T (&a)[N]) : data_(a), size_(N) {}  // NOLINT: implicit

    const T* data() const { return data_; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const T* begin() const { return data_; }
    const T* end() const { return data_ + size_; }
    const T& operator[](std::size_t i) const { return data_[i]; }

private:
    const T* data_ = nullptr;  // first element; not owned
    std::size_t size_ = 0;     // elements
};

// An owned metadata value of any type, for writer::add — the generic way to write what the typed
// add_* functions do not cover (arrays of arrays, arrays of uint16, ...).
//
//     w.add("x.pairs", value::array(value_type::array, {value::array(value_type::int32, {value::i32(1)})}));
class value {
public:
    value() = default;  // uint8 0

    static value u8(std::uint8_t v) { return scalar(value_type::uint8, v); }
    static value i8(std::int8_t v) { return scalar(value_type::int8, static_cast<std::uint8_t>(v)); }
    static value u16(std::uint16_t v) { return scalar(value_type::uint16, v); }
    static value i16(std::int16_t v) { return scalar(value_type::int16, static_cast<std::uint16_t>(v)); }
    static value u32(std::uint32_t v) { return scalar(value_type::uint32, v); }
    static value i32(std::int32_t v) { return scalar(value_type::int32, static_cast<std::uint32_t>(v)); }
    static value u64(std::uint64_t v) { return scalar(value_type::uint64, v); }
    static value i64(std::int64_t v) { return scalar(value_type::int64, static_cast<std::uint64_t>(v)); }
    static value f32(float v) {
        std::uint32_t bits;
        std::memcpy(&bits, &v, 4);
        return scalar(value_type::float32, bits);
    }
    static value f64(double v) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, 8);
        return scalar(value_type::float64, bits);
    }
    static value boolean(bool v) { return scalar(value_type::boolean, v ? 1u : 0u); }
    static value string(std::string_view s) {
        value out;
        out.type_ = value_type::string;
        out.text_.assign(s.data(), s.size());
        return out;
    }
    // Every item must have type `element_type` (checked by writer::add); arrays may hold arrays.
    static value array(value_type element_type, std::vector<value> items) {
        value out;
        out.type_ = value_type::array;
        out.elem_ = element_type;
        out.items_ = std::move(items);
        return out;
    }

    value_type type() const { return type_; }
    value_type element_type() const { return elem_; }     // arrays only
    const std::vector<value>& items() const { return items_; }  // arrays only
    std::string_view text() const { return text_; }       // strings only

private:
    friend class writer;
    static value scalar(value_type t, std::uint64_t bits) {
        value out;
        out.type_ = t;
        out.bits_ = bits;
        return out;
    }

    value_type type_ = value_type::uint8;  // the value's type
    value_type elem_ = value_type::uint8;  // arrays: element type
    std::uint64_t bits_ = 0;               // scalars: bit pattern in the low value_type_size bytes
    std::string text_;                     // strings: the bytes
    std::vector<value> items_;             // arrays: the elements
};

namespace detail {

inline void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
    put_le(out, s.size(), 8);
    out.insert(out.end(), s.begin(), s.end());
}
template <class T>
inline std::uint64_t bits_of(T v) {
    if constexpr (std::is_same<T, bool>::value) {
        return v ? 1u : 0u;
    } else if constexpr (std::is_same<T, float>::value) {
        std::uint32_t b;
        std::memcpy(&b, &v, 4);
        return b;
    } else if constexpr (std::is_same<T, double>::value) {
        std::uint64_t b;
        std::memcpy(&b, &v, 8);
        return b;
    } else {
        return static_cast<std::uint64_t>(v);  // two's complement; the low bytes are written
    }
}

}  // namespace detail

// Builds a GGUF v3 file in memory order: metadata in the order added, tensors in the order added,
// each tensor's data at the next multiple of the alignment (general.alignment if added as a uint32
// power of two, else 32), padded after every tensor as llama.cpp expects. Tensor data is copied at
// add_tensor, so the caller's buffers may be freed right after.
//
// Each add_* returns a status and also remembers the first failure: write_to_memory/write_to_file then
// fail with it, so a sequence of adds may be checked once at the end.
class writer {
public:
    writer() = default;
    writer(writer&&) = default;
    writer& operator=(writer&&) = default;

    // --- metadata (duplicate keys are refused) ---
    status add_u8(std::string_view key, std::uint8_t v) { return add_scalar(key, value_type::uint8, v); }
    status add_i8(std::string_view key, std::int8_t v) { return add_scalar(key, value_type::int8, detail::bits_of(v)); }
    status add_u16(std::string_view key, std::uint16_t v) { return add_scalar(key, value_type::uint16, v); }
    status add_i16(std::string_view key, std::int16_t v) { return add_scalar(key, value_type::int16, detail::bits_of(v)); }
    status add_u32(std::string_view key, std::uint32_t v) {
        if (key == alignment_key) {
            if (v == 0 || (v & (v - 1)) != 0) {
                return fail(status(status_code::invalid_argument,
                                   str("general.alignment must be a nonzero power of two, got ", v)));
            }
            status s = add_scalar(key, value_type::uint32, v);
            if (s.ok()) alignment_ = v;
            return s;
        }
        return add_scalar(key, value_type::uint32, v);
    }
    status add_i32(std::string_view key, std::int32_t v) { return add_scalar(key, value_type::int32, detail::bits_of(v)); }
    status add_u64(std::string_view key, std::uint64_t v) { return add_scalar(key, value_type::uint64, v); }
    status add_i64(std::string_view key, std::int64_t v) { return add_scalar(key, value_type::int64, detail::bits_of(v)); }
    status add_f32(std::string_view key, float v) { return add_scalar(key, value_type::float32, detail::bits_of(v)); }
    status add_f64(std::string_view key, double v) { return add_scalar(key, value_type::float64, detail::bits_of(v)); }
    status add_bool(std::string_view key, bool v) { return add_scalar(key, value_type::boolean, v ? 1u : 0u); }
    status add_string(std::string_view key, std::string_view v) {
        NOGGIN_TRY(check_key(key, value_type::string));
        kv_rec r{std::string(key), value_type::string, {}};
        detail::put_string(r.payload, v);
        kvs_.push_back(std::move(r));
        return status();
    }

    // Arrays of strings: a braced list, or any range of things convertible to std::string_view
    // (std::vector<std::string>, std::vector<std::string_view>, ...).
    status add_string_array(std::string_view key, std::initializer_list<std::string_view> items) {
        return add_string_range(key, items);
    }
    template <class Range>
    status add_string_array(std::string_view key, const Range& items) {
        return add_string_range(key, items);
    }
    status add_i32_array(std::string_view key, array_ref<std::int32_t> v) { return add_array(key, v.data(), v.size()); }
    status add_u32_array(std::string_view key, array_ref<std::uint32_t> v) { return add_array(key, v.data(), v.size()); }
    status add_i64_array(std::string_view key, array_ref<std::int64_t> v) { return add_array(key, v.data(), v.size()); }
    status add_f32_array(std::string_view key, array_ref<float> v) { return add_array(key, v.data(), v.size()); }
    // Any number type or bool: T is one of uint8_t int8_t uint16_t int16_t uint32_t int32_t float bool
    // uint64_t int64_t double.
    template <class T>
    status add_array(std::string_view key, const T* data, std::size_t count) {
        constexpr value_type t = value_type_of<T>::value;
        if (data == nullptr && count != 0) {
            return fail(status(status_code::invalid_argument, str("array ", detail::printable(key), ": null data")));
        }
        NOGGIN_TRY(check_key(key, value_type::array));
        kv_rec r{std::string(key), value_type::array, {}};
        const unsigned size = value_type_size(t);
        r.payload.reserve(12 + count * size);
        detail::put_le(r.payload, static_cast<std::uint32_t>(t), 4);
        detail::put_le(r.payload, count, 8);
        for (std::size_t i = 0; i < count; ++i) detail::put_le(r.payload, detail::bits_of(data[i]), size);
        kvs_.push_back(std::move(r));
        return status();
    }
    template <class T>
    status add_array(std::string_view key, const std::vector<T>& v) {
        if constexpr (std::is_same<T, bool>::value) {
            std::unique_ptr<bool[]> tmp(new bool[v.size() ? v.size() : 1]);
            for (std::size_t i = 0; i < v.size(); ++i) tmp[i] = v[i];
            return add_array(key, tmp.get(), v.size());
        } else {
            return add_array(key, v.data(), v.size());
        }
    }
    // Any value, including arrays of arrays (nesting up to max_writer_array_depth).
    status add(std::string_view key, const value& v) {
        std::vector<std::uint8_t> payload;
        status s = serialize(v, payload, 0);
        if (!s.ok()) return fail(s.with_context(str("key ", detail::printable(key))));
        if (key == alignment_key && v.type() == value_type::uint32) return add_u32(key, static_cast<std::uint32_t>(v.bits_));
        NOGGIN_TRY(check_key(key, v.type()));
        kvs_.push_back(kv_rec{std::string(key), v.type(), std::move(payload)});
        return status();
    }

    // --- tensors ---
    // `ne` lists ne[0] (innermost) first, 1 to 4 dims, each > 0; `bytes` must equal
    // row_bytes(type, ne[0]) * ne[1] * ... exactly. The data is copied.
    status add_tensor(std::string_view name, dtype type, std::initializer_list<std::int64_t> ne, const void* data,
                      std::uint64_t bytes) {
        return add_tensor(name, type, ne.begin(), static_cast<int>(ne.size()), data, bytes);
    }
    status add_tensor(std::string_view name, dtype type, const std::int64_t* ne, int n_dims, const void* data,
                      std::uint64_t bytes) {
        const std::string q = detail::printable(name);
        auto bad = [this, &q](std::string why) {
            return fail(status(status_code::invalid_argument, str("tensor ", q, ": ", why)));
        };
        if (name.empty()) return bad("empty name");
        if (name.size() > max_writer_name_bytes) {
            return bad(str("name has ", name.size(), " bytes; llama.cpp accepts at most ", max_writer_name_bytes));
        }
        for (const tensor_rec& t : tensors_)
            if (t.name == name) return bad("duplicate tensor name");
        dtype checked;
        if (!dtype_from_gguf(static_cast<std::uint32_t>(type), &checked)) {
            return bad(str("unknown dtype id ", static_cast<std::uint32_t>(type)));
        }
        if (ne == nullptr || n_dims < 1 || n_dims > max_dims) return bad(str(n_dims, " dims (must be 1 to ", max_dims, ")"));
        tensor_rec r;
        r.name.assign(name.data(), name.size());
        r.type = type;
        r.n_dims = n_dims;
        std::int64_t elements = 1;
        for (int d = 0; d < n_dims; ++d) {
            if (ne[d] <= 0) return bad(str("ne[", d, "] = ", ne[d], " (must be > 0)"));
            if (ne[d] > std::numeric_limits<std::int64_t>::max() / elements) return bad("element count overflows");
            r.ne[d] = ne[d];
            elements *= ne[d];
        }
        std::uint64_t row = 0;
        if (!row_bytes(type, static_cast<std::uint64_t>(r.ne[0]), &row)) {
            return bad(str("ne[0] = ", r.ne[0], " is not a whole number of ", dtype_name(type), " blocks"));
        }
        const std::uint64_t rows = static_cast<std::uint64_t>(elements / r.ne[0]);
        if (rows > std::numeric_limits<std::uint64_t>::max() / row) return bad("byte size overflows");
        const std::uint64_t expected = row * rows;
        if (bytes != expected) return bad(str(bytes, " bytes given, the shape needs ", expected));
        if (data == nullptr) return bad("data is null");
        if (expected > static_cast<std::uint64_t>(std::numeric_limits<std::size_t>::max())) return bad("too large");
        unsigned char* copy = static_cast<unsigned char*>(std::malloc(static_cast<std::size_t>(expected)));
        if (copy == nullptr) {
            return fail(status(status_code::out_of_memory, str("tensor ", q, ": cannot allocate ", expected, " bytes")));
        }
        std::memcpy(copy, data, static_cast<std::size_t>(expected));
        r.data.reset(copy);
        r.bytes = expected;
        tensors_.push_back(std::move(r));
        return status();
    }

    // --- state ---
    std::uint32_t alignment() const { return alignment_; }
    std::uint64_t kv_count() const { return kvs_.size(); }
    std::uint64_t tensor_count() const { return tensors_.size(); }
    const status& first_error() const { return error_; }  // ok while every add succeeded

    // --- output ---
    result<std::vector<std::uint8_t>> write_to_memory() const {
        std::vector<std::uint8_t> out;
        std::uint64_t total = 0;
        NOGGIN_TRY(layout(&out, &total));
        if (total > static_cast<std::uint64_t>(std::numeric_limits<std::size_t>::max())) {
            return status(status_code::out_of_memory, str("gguf writer: ", total, " bytes do not fit in memory"));
        }
        out.reserve(static_cast<std::size_t>(total));
        for (const tensor_rec& t : tensors_) {
            out.insert(out.end(), t.data.get(), t.data.get() + t.bytes);
            out.resize(out.size() + static_cast<std::size_t>(padding(t.bytes)), 0);
        }
        return out;
    }

    status write_to_file(const std::string& path) const {
        std::vector<std::uint8_t> head;
        std::uint64_t total = 0;
        NOGGIN_TRY(layout(&head, &total));
        std::FILE* f = ::noggin::detail::fopen_utf8(path, "wb");
        if (f == nullptr) return status(status_code::io_error, str("gguf writer: cannot create ", detail::printable(path)));
        static const unsigned char zeros[4096] = {};
        bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
        for (std::size_t i = 0; ok && i < tensors_.size(); ++i) {
            const tensor_rec& t = tensors_[i];
            ok = std::fwrite(t.data.get(), 1, static_cast<std::size_t>(t.bytes), f) == t.bytes;
            for (std::uint64_t pad = padding(t.bytes); ok && pad != 0;) {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(pad, sizeof(zeros)));
                ok = std::fwrite(zeros, 1, n, f) == n;
                pad -= n;
            }
        }
        ok = (std::fclose(f) == 0) && ok;
        if (!ok) {
            ::noggin::detail::remove_utf8(path);
            return status(status_code::io_error, str("gguf writer: writing ", detail::printable(path), " failed"));
        }
        return status();
    }

private:
    struct kv_rec {
        std::string key;                    // metadata key
        value_type type;                    // value type
        std::vector<std::uint8_t> payload;  // the serialized value (after the type field)
    };
    struct tensor_rec {
        std::string name;                          // tensor name
        dtype type = dtype::f32;                   // element type
        int n_dims = 1;                            // 1..4
        std::int64_t ne[max_dims] = {1, 1, 1, 1};  // ne[0] innermost
        std::uint64_t bytes = 0;                   // data bytes
        std::unique_ptr<unsigned char, detail::free_deleter> data;  // owned copy
    };

    status fail(status s) {
        if (error_.ok()) error_ = s;
        return s;
    }
    status check_key(std::string_view key, value_type t) {
        if (key.empty()) return fail(status(status_code::invalid_argument, "metadata key is empty"));
        if (key.size() > max_key_bytes) {
            return fail(status(status_code::invalid_argument, str("metadata key of ", key.size(), " bytes (max ", max_key_bytes, ")")));
        }
        if (key == alignment_key && t != value_type::uint32) {
            return fail(status(status_code::invalid_argument, "general.alignment must be a uint32"));
        }
        for (const kv_rec& r : kvs_) {
            if (r.key == key) return fail(status(status_code::invalid_argument, str("duplicate metadata key ", detail::printable(key))));
        }
        return status();
    }
    status add_scalar(std::string_view key, value_type t, std::uint64_t bits) {
        NOGGIN_TRY(check_key(key, t));
        kv_rec r{std::string(key), t, {}};
        detail::put_le(r.payload, bits, value_type_size(t));
        kvs_.push_back(std::move(r));
        return status();
    }
    template <class Range>
    status add_string_range(std::string_view key, const Range& items) {
        NOGGIN_TRY(check_key(key, value_type::array));
        kv_rec r{std::string(key), value_type::array, {}};
        detail::put_le(r.payload, static_cast<std::uint32_t>(value_type::string), 4);
        detail::put_le(r.payload, 0, 8);  // count, patched below
        std::uint64_t count = 0;
        for (const auto& item : items) {
            detail::put_string(r.payload, std::string_view(item));
            ++count;
        }
        for (unsigned i = 0; i < 8; ++i) r.payload[4 + i] = static_cast<std::uint8_t>(count >> (8 * i));
        kvs_.push_back(std::move(r));
        return status();
    }
    static status serialize(const value& v, std::vector<std::uint8_t>& out, std::uint32_t depth) {
        const std::uint32_t size = value_type_size(v.type_);
        if (size != 0) {
            detail::put_le(out, v.bits_, size);
            return status();
        }
        if (v.type_ == value_type::string) {
            detail::put_string(out, v.text_);
            return status();
        }
        if (v.type_ != value_type::array) {
            return status(status_code::invalid_argument, str("unknown value type ", static_cast<std::uint32_t>(v.type_)));
        }
        if (depth >= max_writer_array_depth) {
            return status(status_code::invalid_argument, str("arrays nested deeper than ", max_writer_array_depth));
        }
        if (static_cast<std::uint32_t>(v.elem_) >= value_type_count) {
            return status(status_code::invalid_argument, str("unknown element type ", static_cast<std::uint32_t>(v.elem_)));
        }
        detail::put_le(out, static_cast<std::uint32_t>(v.elem_), 4);
        detail::put_le(out, v.items_.size(), 8);
        for (std::size_t i = 0; i < v.items_.size(); ++i) {
            const value& item = v.items_[i];
            if (item.type_ != v.elem_) {
                return status(status_code::invalid_argument, str("array element ", i, " has type ", value_type_name(item.type_),
                                                                 ", expected ", value_type_name(v.elem_)));
            }
            NOGGIN_TRY(serialize(item, out, depth + 1));
        }
        return status();
    }
    std::uint64_t padding(std::uint64_t n) const { return (alignment_ - n % alignment_) % alignment_; }

    // Header, metadata, tensor infos and the padding before the data section into `head`; the total
    // file size into `total`.
    status layout(std::vector<std::uint8_t>* head, std::uint64_t* total) const {
        if (!error_.ok()) return status(error_.code(), str("gguf writer: an earlier add failed: ", error_.message()));
        std::vector<std::uint8_t>& out = *head;
        out.clear();
        detail::put_le(out, magic, 4);  // "GGUF"
        detail::put_le(out, current_version, 4);
        detail::put_le(out, tensors_.size(), 8);
        detail::put_le(out, kvs_.size(), 8);
        for (const kv_rec& r : kvs_) {
            detail::put_string(out, r.key);
            detail::put_le(out, static_cast<std::uint32_t>(r.type), 4);
            out.insert(out.end(), r.payload.begin(), r.payload.end());
        }
        std::uint64_t offset = 0;
        for (const tensor_rec& t : tensors_) {
            detail::put_string(out, t.name);
            detail::put_le(out, static_cast<std::uint32_t>(t.n_dims), 4);
            for (int d = 0; d < t.n_dims; ++d) detail::put_le(out, static_cast<std::uint64_t>(t.ne[d]), 8);
            detail::put_le(out, static_cast<std::uint32_t>(t.type), 4);
            detail::put_le(out, offset, 8);
            const std::uint64_t padded = t.bytes + padding(t.bytes);
            if (padded < t.bytes || offset > std::numeric_limits<std::uint64_t>::max() - padded) {
                return status(status_code::out_of_range, "gguf writer: total tensor data size overflows");
            }
            offset += padded;
        }
        out.resize(out.size() + static_cast<std::size_t>(padding(out.size())), 0);
        if (offset > std::numeric_limits<std::uint64_t>::max() - out.size()) {
            return status(status_code::out_of_range, "gguf writer: file size overflows");
        }
        *total = out.size() + offset;
        return status();
    }

    std::vector<kv_rec> kvs_;                  // metadata in the order added
    std::vector<tensor_rec> tensors_;          // tensors in the order added
    std::uint32_t alignment_ = default_alignment;  // from general.alignment
    status error_;                             // first failed add, sticky
};

}  // namespace gguf
}  // namespace noggin
