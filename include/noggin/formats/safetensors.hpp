// noggin/formats/safetensors.hpp — Hugging Face .safetensors: a validating zero-copy reader and a writer.
//
// A .safetensors file is an 8-byte little-endian header length N, N bytes of JSON (UTF-8, maybe padded
// with spaces), then the data region. The JSON maps each tensor name to {"dtype": "F32", "shape": [R, C],
// "data_offsets": [begin, end]} (offsets relative to the data region; shape outermost first, row-major),
// plus an optional "__metadata__" object of string → string. Every entry is checked before use: a
// supported dtype (F32, F16, BF16; any other is `unsupported`, naming the tensor and the dtype), at most 4
// dimensions, element and byte counts that do not overflow, `end - begin` equal to the byte size, offsets
// inside the data region, no two tensors overlapping, unique names. A hostile file yields a status,
// never a crash or a huge allocation. The data is not copied: views point into the mapping (or the
// caller's bytes); through a read callback it is loaded into one owned buffer or read on demand.
//
//     noggin::result<noggin::safetensors::file> f = noggin::safetensors::file::open("model.safetensors");
//     if (!f.ok()) return f.status();   // "safetensors 'model.safetensors': tensor 'x' has dtype I64; ..."
//     if (const noggin::safetensors::tensor_info* t = f->find_tensor("model.norm.weight")) {
//         noggin::tensor_view v = t->view();   // v.ne[0] = the last (innermost) header dimension
//     }
//
//     noggin::safetensors::writer w;
//     w.add_tensor("model.norm.weight", noggin::dtype::f32, {256}, norm.data(), 256 * 4);
//     noggin::status s = w.write_to_file("model.safetensors");
//
// Sections: options · tensor_info · file (reader) · parser · writer
//
// The header is parsed with text/json.hpp (a self-contained parser that depends only on core/). The
// shape in the header is outermost first; tensor_info::ne is GGUF/noggin order (ne[0] innermost), so a
// PyTorch Linear weight of shape [out, in] becomes ne = {in, out}, exactly GGUF's orientation.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../text/json.hpp"
#include "gguf.hpp"
#include "mapped_file.hpp"

namespace noggin {
namespace safetensors {

// --- options -------------------------------------------------------------------------------------------

// The same callback GGUF uses: `read` copies `size` bytes at `offset` into `dst`, false on failure.
using read_callback = gguf::read_callback;
// How from_callback provides tensor data: load it all at open (default), or leave it for read_tensor_bytes.
using callback_data = gguf::callback_data;

inline constexpr std::uint64_t max_header_bytes_default = 100000000;  // the safetensors library's own cap

struct open_options {
    callback_data callback_mode = callback_data::load;          // from_callback only (default: load)
    std::uint64_t max_header_bytes = max_header_bytes_default;  // JSON header length N (default 100 MB)
    std::uint64_t max_tensor_count = 1u << 20;                  // tensors per file (default 1 Mi)
    std::uint64_t max_name_bytes = 1024;                        // one tensor name (default 1024)
    std::uint64_t max_metadata_entries = 1u << 16;              // __metadata__ entries (default 64 Ki)
};

// --- tensor_info -----------------------------------------------------------------------------------------

struct tensor_info {
    std::string name;                            // decoded from the JSON header
    dtype type = dtype::f32;                     // f32, f16 or bf16
    int rank = 0;                                // dimensions in the header, 0..4 (0 = a scalar)
    std::int64_t shape[max_dims] = {1, 1, 1, 1}; // header order (outermost first); entries past rank are 1
    std::int64_t ne[max_dims] = {1, 1, 1, 1};    // noggin order (ne[0] innermost = shape[rank - 1])
    std::uint64_t offset = 0;                    // first byte, relative to the data region
    std::uint64_t bytes = 0;                     // element count · element size (= end - begin)
    std::uint64_t file_offset = 0;               // absolute byte position in the file
    const void* data = nullptr;                  // first byte; null when read on demand (from_callback)

    std::int64_t element_count() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    // True when `data` is aligned to the element size (safetensors does not promise alignment).
    bool aligned() const {
        return data != nullptr && reinterpret_cast<std::uintptr_t>(data) % dtype_info(type).block_bytes == 0;
    }
    // Dense view (data may be null, see above). Read-only memory: never write through it.
    tensor_view view() const {
        tensor_view v = tensor_view::contiguous(type, data, {ne[0], ne[1], ne[2], ne[3]});
        v.n_dims = rank > 0 ? rank : 1;
        return v;
    }
    // "[256, 1024]" in header order, for messages.
    std::string shape_text() const {
        std::string s = "[";
        for (int d = 0; d < rank; ++d) s += str(d ? ", " : "", shape[d]);
        return s + "]";
    }
};

// The dtype spelled as safetensors spells it: "F32", "F16", "BF16".
inline const char* dtype_string(dtype t) {
    switch (t) {
        case dtype::f32: return "F32";
        case dtype::f16: return "F16";
        case dtype::bf16: return "BF16";
        default: return nullptr;
    }
}

// --- file (reader) ---------------------------------------------------------------------------------------

namespace detail {

struct state {
    mapped_file mapping;                          // open(): the whole file
    std::unique_ptr<unsigned char, gguf::detail::free_deleter> data_block;  // from_callback(load)
    const unsigned char* data = nullptr;          // start of the data region, or null
    std::uint64_t file_size = 0;                  // bytes in the file
    std::uint64_t header_bytes = 0;               // N
    std::uint64_t data_offset = 0;                // 8 + N
    bool resident = true;                         // tensor data reachable through tensor_info::data
    read_callback callback;                       // from_callback(): for read_tensor_bytes
    const unsigned char* memory = nullptr;        // open()/from_memory(): the whole file's bytes
    std::vector<tensor_info> tensors;             // in header order
    std::vector<std::uint32_t> sorted;            // indices into tensors, by name
    std::vector<std::pair<std::string, std::string>> metadata;  // __metadata__, in header order
};

}  // namespace detail

// A parsed .safetensors file. Movable, not copyable; tensor pointers stay valid across moves.
class file {
public:
    file() = default;
    file(file&&) noexcept = default;
    file& operator=(file&&) noexcept = default;
    file(const file&) = delete;
    file& operator=(const file&) = delete;

    // Memory-map `path` (UTF-8) and parse it; tensor data stays in the mapping. Errors name the path.
    static result<file> open(const std::string& path, const open_options& options = {});
    // Parse caller-owned bytes in place (nothing is copied); they must outlive the file object.
    static result<file> from_memory(const void* data, std::uint64_t size, const open_options& options = {});
    // Read the header through `callback`; tensor data is loaded into one owned buffer or left for
    // read_tensor_bytes, per options.callback_mode.
    static result<file> from_callback(const read_callback& callback, const open_options& options = {});

    std::uint64_t size() const { return st().file_size; }
    std::uint64_t header_bytes() const { return st().header_bytes; }  // N
    std::uint64_t data_offset() const { return st().data_offset; }    // 8 + N
    bool tensor_data_resident() const { return st().resident; }

    const std::vector<tensor_info>& tensors() const { return st().tensors; }
    std::size_t tensor_count() const { return st().tensors.size(); }
    const tensor_info* find_tensor(std::string_view name) const {
        const detail::state& s = st();
        auto it = std::lower_bound(s.sorted.begin(), s.sorted.end(), name,
                                   [&s](std::uint32_t i, std::string_view x) { return s.tensors[i].name < x; });
        if (it == s.sorted.end() || s.tensors[*it].name != name) return nullptr;
        return &s.tensors[*it];
    }
    // __metadata__ entries in header order; find_metadata returns null when the key is absent.
    const std::vector<std::pair<std::string, std::string>>& metadata() const { return st().metadata; }
    const std::string* find_metadata(std::string_view key) const {
        for (const auto& kv : st().metadata)
            if (kv.first == key) return &kv.second;
        return nullptr;
    }
    // Copy `size` bytes starting `offset` bytes into tensor `t` (one of this file's) to `dst`; works in
    // every mode (the only way to reach data in on_demand mode).
    status read_tensor_bytes(const tensor_info& t, std::uint64_t offset, void* dst, std::uint64_t size) const {
        if (offset > t.bytes || size > t.bytes - offset)
            return status(status_code::out_of_range, str("safetensors: ", size, " bytes at offset ", offset, " of tensor ",
                                                         gguf::detail::printable(t.name), " (", t.bytes, " bytes)"));
        if (size == 0) return status();
        const detail::state& s = st();
        if (s.memory != nullptr) {
            std::memcpy(dst, s.memory + t.file_offset + offset, static_cast<std::size_t>(size));
            return status();
        }
        if (t.data != nullptr) {
            std::memcpy(dst, static_cast<const unsigned char*>(t.data) + offset, static_cast<std::size_t>(size));
            return status();
        }
        if (s.callback.read == nullptr || !s.callback.read(s.callback.user, t.file_offset + offset, dst, size))
            return status(status_code::io_error, str("safetensors: read callback failed for ", size, " bytes of tensor ",
                                                     gguf::detail::printable(t.name)));
        return status();
    }

private:
    const detail::state& st() const {
        static const detail::state empty;
        return state_ ? *state_ : empty;
    }
    std::unique_ptr<detail::state> state_;  // heap-held so tensor pointers survive moves
};

// --- parser ----------------------------------------------------------------------------------------------

namespace detail {

inline status bad(std::string message) { return status(status_code::format_error, std::move(message)); }

// Element size of a safetensors dtype name; 0 when the name is not a safetensors dtype at all.
// Sub-byte and exotic types report 1 (only used to say "unsupported", never for layout).
inline unsigned known_dtype_size(std::string_view d) {
    static const struct { const char* name; unsigned size; } table[] = {
        {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1}, {"F4", 1},
        {"F6_E2M3", 1}, {"F6_E3M2", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2}, {"BF16", 2}, {"I32", 4},
        {"U32", 4}, {"F32", 4}, {"F64", 8}, {"I64", 8}, {"U64", 8}, {"C64", 8},
    };
    for (const auto& row : table)
        if (d == row.name) return row.size;
    return 0;
}

inline bool supported_dtype(std::string_view d, dtype* out) {
    if (d == "F32") *out = dtype::f32;
    else if (d == "F16") *out = dtype::f16;
    else if (d == "BF16") *out = dtype::bf16;
    else return false;
    return true;
}

// Validate one tensor entry `v` named `name` against a data region of `data_size` bytes.
inline status parse_entry(const std::string& name, const text::json_value& v, std::uint64_t data_size,
                          const open_options& o, tensor_info* out) {
    using gguf::detail::printable;
    const std::string shown = printable(name);
    if (name.empty()) return bad("a tensor has an empty name");
    if (name.size() > o.max_name_bytes)
        return status(status_code::limit_exceeded,
                      str("tensor name ", shown, " has ", name.size(), " bytes, over the limit of ", o.max_name_bytes));
    if (!v.is_object()) return bad(str("tensor ", shown, ": the entry is not an object"));
    const text::json_value* dt = v.find("dtype");
    const text::json_value* shape = v.find("shape");
    const text::json_value* offs = v.find("data_offsets");
    if (dt == nullptr) return bad(str("tensor ", shown, ": field 'dtype' is missing"));
    if (shape == nullptr) return bad(str("tensor ", shown, ": field 'shape' is missing"));
    if (offs == nullptr) return bad(str("tensor ", shown, ": field 'data_offsets' is missing"));
    if (!dt->is_string()) return bad(str("tensor ", shown, ": field 'dtype' is not a string"));
    if (!supported_dtype(dt->as_string(), &out->type)) {
        const std::string d = printable(dt->as_string());
        if (known_dtype_size(dt->as_string()) == 0)
            return bad(str("tensor ", shown, ": field 'dtype' is ", d, ", not a safetensors dtype"));
        return status(status_code::unsupported,
                      str("tensor ", shown, " has dtype ", d, "; noggin reads F32, F16 and BF16 tensors"));
    }
    if (!shape->is_array()) return bad(str("tensor ", shown, ": field 'shape' is not an array"));
    if (shape->size() > static_cast<std::size_t>(max_dims))
        return status(status_code::unsupported,
                      str("tensor ", shown, " has ", shape->size(), " dimensions (noggin supports at most ", max_dims, ")"));
    const std::uint64_t elem = dtype_info(out->type).block_bytes;
    out->rank = static_cast<int>(shape->size());
    std::uint64_t count = 1;
    for (int d = 0; d < out->rank; ++d) {
        const text::json_value& n = (*shape)[static_cast<std::size_t>(d)];
        if (!n.is_int() || n.as_int() < 0)
            return bad(str("tensor ", shown, ": field 'shape' entry ", d, " is not a non-negative integer"));
        const std::uint64_t u = static_cast<std::uint64_t>(n.as_int());
        // Keep count · elem below 2^62: far beyond any file, and every later sum stays exact.
        if (u != 0 && count > (std::uint64_t(1) << 62) / elem / u)
            return bad(str("tensor ", shown, ": shape ", "overflows (entry ", d, " = ", u, ")"));
        count *= u;
        out->shape[d] = static_cast<std::int64_t>(u);
    }
    for (int d = 0; d < out->rank; ++d) out->ne[d] = out->shape[out->rank - 1 - d];
    out->bytes = count * elem;
    if (!offs->is_array() || offs->size() != 2 || !(*offs)[0].is_int() || !(*offs)[1].is_int() ||
        (*offs)[0].as_int() < 0 || (*offs)[1].as_int() < 0)
        return bad(str("tensor ", shown, ": field 'data_offsets' is not two non-negative integers"));
    const std::uint64_t begin = static_cast<std::uint64_t>((*offs)[0].as_int());
    const std::uint64_t end = static_cast<std::uint64_t>((*offs)[1].as_int());
    if (begin > end) return bad(str("tensor ", shown, ": field 'data_offsets' [", begin, ", ", end, "] ends before it begins"));
    if (end > data_size)
        return bad(str("tensor ", shown, ": field 'data_offsets' [", begin, ", ", end, "] extends past the data region (",
                       data_size, " bytes)"));
    if (end - begin != out->bytes)
        return bad(str("tensor ", shown, ": field 'data_offsets' [", begin, ", ", end, "] spans ", end - begin,
                       " bytes but dtype ", dt->as_string(), " and shape ", out->shape_text(), " need ", out->bytes));
    out->offset = begin;
    out->name = name;
    return status();
}

// Parse the header of a file of `file_size` bytes whose first min(file_size, 8 + N) bytes are
// reachable through `head` (the whole file for memory sources).
inline status parse(state& s, const unsigned char* head, std::uint64_t head_size, const open_options& o) {
    const std::uint64_t data_size = s.file_size - s.data_offset;
    const char* json = reinterpret_cast<const char*>(head + 8);
    const std::size_t json_size = static_cast<std::size_t>(s.header_bytes);
    (void)head_size;
    if (json_size == 0 || json[0] != '{') return bad("the JSON header does not start with '{'");
    text::json_limits limits;
    limits.max_depth = 8;  // object → tensor → shape: 3 levels; a deeper header is not a safetensors header
    limits.max_bytes = json_size;
    limits.max_elements = static_cast<std::size_t>(std::min<std::uint64_t>(o.max_tensor_count * 16 + 1024, std::uint64_t(1) << 30));
    result<text::json_value> doc = text::json_parse(json, json_size, limits);
    if (!doc.ok()) return status(doc.status()).with_context("JSON header");
    const text::json_value& root = doc.value();
    if (!root.is_object()) return bad("the JSON header is not an object");
    bool seen_meta = false;
    std::size_t n_tensors = root.size();
    if (n_tensors > o.max_tensor_count + 1)
        return status(status_code::limit_exceeded,
                      str("the header lists ", n_tensors, " entries, over the limit of ", o.max_tensor_count, " tensors"));
    s.tensors.reserve(n_tensors);
    for (std::size_t i = 0; i < root.size(); ++i) {
        const std::string& key = root.key(i);
        const text::json_value& v = root[i];
        if (key == "__metadata__") {
            if (seen_meta) return bad("__metadata__ appears twice");
            seen_meta = true;
            if (!v.is_object()) return bad("__metadata__ is not an object");
            if (v.size() > o.max_metadata_entries)
                return status(status_code::limit_exceeded, str("__metadata__ has ", v.size(), " entries, over the limit of ",
                                                               o.max_metadata_entries));
            for (std::size_t k = 0; k < v.size(); ++k) {
                if (!v[k].is_string())
                    return bad(str("__metadata__ entry ", gguf::detail::printable(v.key(k)), " is not a string"));
                s.metadata.emplace_back(v.key(k), v[k].as_string());
            }
            continue;
        }
        tensor_info t;
        NOGGIN_TRY(parse_entry(key, v, data_size, o, &t));
        t.file_offset = s.data_offset + t.offset;
        s.tensors.push_back(std::move(t));
    }
    if (s.tensors.size() > o.max_tensor_count)
        return status(status_code::limit_exceeded,
                      str("the header lists ", s.tensors.size(), " tensors, over the limit of ", o.max_tensor_count));
    // Unique names, sorted for find_tensor.
    const std::size_t n = s.tensors.size();
    s.sorted.resize(n);
    for (std::size_t i = 0; i < n; ++i) s.sorted[i] = static_cast<std::uint32_t>(i);
    std::sort(s.sorted.begin(), s.sorted.end(),
              [&s](std::uint32_t a, std::uint32_t b) { return s.tensors[a].name < s.tensors[b].name; });
    for (std::size_t i = 1; i < n; ++i)
        if (s.tensors[s.sorted[i - 1]].name == s.tensors[s.sorted[i]].name)
            return bad(str("tensor ", gguf::detail::printable(s.tensors[s.sorted[i]].name), " appears twice"));
    // No overlaps (empty tensors occupy nothing).
    std::vector<std::uint32_t> by_offset;
    by_offset.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        if (s.tensors[i].bytes != 0) by_offset.push_back(static_cast<std::uint32_t>(i));
    std::sort(by_offset.begin(), by_offset.end(),
              [&s](std::uint32_t a, std::uint32_t b) { return s.tensors[a].offset < s.tensors[b].offset; });
    for (std::size_t i = 1; i < by_offset.size(); ++i) {
        const tensor_info& a = s.tensors[by_offset[i - 1]];
        const tensor_info& b = s.tensors[by_offset[i]];
        if (a.offset + a.bytes > b.offset)  // no overflow: both lie inside the data region
            return bad(str("tensors ", gguf::detail::printable(a.name), " and ", gguf::detail::printable(b.name),
                           " overlap (field 'data_offsets')"));
    }
    return status();
}

// Header length and data region of a file of `size` bytes whose first 8 bytes are `first8`.
inline status read_length(state& s, const unsigned char* first8, std::uint64_t size, const open_options& o) {
    s.file_size = size;
    if (size < 8 || first8 == nullptr)
        return bad(str("truncated: the file has ", size, " bytes, fewer than the 8-byte header length"));
    const std::uint64_t n = gguf::detail::load_le<std::uint64_t>(first8);
    if (n > o.max_header_bytes)
        return status(status_code::limit_exceeded,
                      str("the header length is ", n, " bytes, over the limit of ", o.max_header_bytes));
    if (n > size - 8)
        return bad(str("the header length ", n, " goes beyond the end of the file (", size, " bytes)"));
    s.header_bytes = n;
    s.data_offset = 8 + n;
    return status();
}

inline void attach(state& s, const unsigned char* data) {
    s.data = data;
    for (tensor_info& t : s.tensors) t.data = data != nullptr ? data + t.offset : nullptr;
}

}  // namespace detail

inline result<file> file::from_memory(const void* data, std::uint64_t size, const open_options& options) {
    if (data == nullptr && size != 0)
        return status(status_code::invalid_argument, "safetensors: from_memory got a null pointer with a nonzero size");
    std::unique_ptr<detail::state> s(new detail::state());
    const unsigned char* base = static_cast<const unsigned char*>(data);
    status st = detail::read_length(*s, base, size, options);
    if (st.ok()) st = detail::parse(*s, base, size, options);
    if (!st.ok()) return st.with_context("safetensors");
    s->memory = base;
    detail::attach(*s, base + s->data_offset);
    file f;
    f.state_ = std::move(s);
    return f;
}

inline result<file> file::open(const std::string& path, const open_options& options) {
    const std::string where = str("safetensors ", gguf::detail::printable(path));
    result<mapped_file> m = mapped_file::open(path);
    if (!m.ok()) return status(m.status()).with_context("safetensors");
    std::unique_ptr<detail::state> s(new detail::state());
    s->mapping = std::move(m.value());
    const unsigned char* base = s->mapping.data();
    const std::uint64_t size = s->mapping.size();
    status st = detail::read_length(*s, base, size, options);
    if (st.ok()) st = detail::parse(*s, base, size, options);
    if (!st.ok()) return st.with_context(where);
    s->memory = base;
    detail::attach(*s, base + s->data_offset);
    file f;
    f.state_ = std::move(s);
    return f;
}

inline result<file> file::from_callback(const read_callback& callback, const open_options& options) {
    if (callback.read == nullptr)
        return status(status_code::invalid_argument, "safetensors: from_callback got a read_callback without a read function");
    std::unique_ptr<detail::state> s(new detail::state());
    s->callback = callback;
    unsigned char first8[8] = {};
    const bool have8 = callback.size >= 8 && callback.read(callback.user, 0, first8, 8);
    if (callback.size >= 8 && !have8) return status(status_code::io_error, "safetensors: read callback failed for the header length");
    status st = detail::read_length(*s, have8 ? first8 : nullptr, callback.size, options);
    if (!st.ok()) return st.with_context("safetensors");
    std::vector<unsigned char> head;
    head.resize(static_cast<std::size_t>(s->data_offset));
    std::memcpy(head.data(), first8, 8);
    if (s->header_bytes != 0 && !callback.read(callback.user, 8, head.data() + 8, s->header_bytes))
        return status(status_code::io_error, str("safetensors: read callback failed for the ", s->header_bytes, "-byte header"));
    st = detail::parse(*s, head.data(), head.size(), options);
    if (!st.ok()) return st.with_context("safetensors");
    if (options.callback_mode == callback_data::on_demand) {
        s->resident = false;
        detail::attach(*s, nullptr);
    } else {
        std::uint64_t extent = 0;
        for (const tensor_info& t : s->tensors) extent = std::max(extent, t.offset + t.bytes);
        if (extent != 0) {
            constexpr std::uint64_t align = 64;
            if (extent > static_cast<std::uint64_t>(std::numeric_limits<std::size_t>::max()) - align)
                return status(status_code::out_of_memory, str("safetensors: ", extent, " bytes of tensor data do not fit in memory"));
            unsigned char* raw = static_cast<unsigned char*>(std::malloc(static_cast<std::size_t>(extent + align)));
            if (raw == nullptr)
                return status(status_code::out_of_memory, str("safetensors: cannot allocate ", extent, " bytes for tensor data"));
            s->data_block.reset(raw);
            const std::uintptr_t addr = reinterpret_cast<std::uintptr_t>(raw);
            unsigned char* aligned = raw + static_cast<std::size_t>((align - addr % align) % align);
            constexpr std::uint64_t chunk = 64ull << 20;
            for (std::uint64_t done = 0; done < extent;) {
                const std::uint64_t n = std::min(chunk, extent - done);
                if (!callback.read(callback.user, s->data_offset + done, aligned + done, n))
                    return status(status_code::io_error, str("safetensors: read callback failed for ", n,
                                                             " bytes of tensor data at offset ", s->data_offset + done));
                done += n;
            }
            detail::attach(*s, aligned);
        }
    }
    file f;
    f.state_ = std::move(s);
    return f;
}

// --- writer -------------------------------------------------------------------------------------------------

// Collects tensors (copied at add_tensor) and metadata, then writes one .safetensors file: the header
// padded with spaces so the data region starts on a multiple of 64 bytes, tensors in the order added,
// each at a multiple of 64 bytes. Each add_* returns a status and also remembers the first failure,
// which write_* then return.
class writer {
public:
    // `shape` in header order (outermost first), at most 4 entries; bytes must equal the product · size.
    status add_tensor(std::string_view name, dtype type, std::initializer_list<std::int64_t> shape, const void* data,
                      std::uint64_t bytes) {
        return add_tensor(name, type, shape.begin(), static_cast<int>(shape.size()), data, bytes);
    }
    status add_tensor(std::string_view name, dtype type, const std::int64_t* shape, int rank, const void* data,
                      std::uint64_t bytes) {
        auto fail = [&](std::string m) { return remember(status(status_code::invalid_argument,
                                                                 str("safetensors writer: tensor '", name, "': ", m))); };
        if (dtype_string(type) == nullptr) return fail(str("dtype ", noggin::dtype_name(type), " is not F32, F16 or BF16"));
        if (name.empty() || name == "__metadata__") return fail("reserved or empty name");
        if (rank < 0 || rank > max_dims) return fail(str(rank, " dimensions"));
        std::uint64_t count = 1;
        for (int d = 0; d < rank; ++d) {
            if (shape[d] < 0) return fail("negative dimension");
            count *= static_cast<std::uint64_t>(shape[d]);
        }
        if (count * dtype_info(type).block_bytes != bytes) return fail(str(bytes, " bytes for ", count, " elements"));
        for (const entry& e : entries_)
            if (e.name == name) return fail("added twice");
        entry e;
        e.name = std::string(name);
        e.type = type;
        e.shape.assign(shape, shape + rank);
        e.bytes.assign(static_cast<const unsigned char*>(data), static_cast<const unsigned char*>(data) + bytes);
        entries_.push_back(std::move(e));
        return status();
    }
    status add_metadata(std::string_view key, std::string_view value) {
        metadata_.emplace_back(std::string(key), std::string(value));
        return status();
    }
    std::uint64_t data_bytes() const {
        std::uint64_t n = 0;
        for (const entry& e : entries_) n = (n + 63) / 64 * 64 + e.bytes.size();
        return n;
    }

    result<std::vector<unsigned char>> write_to_memory() const {
        if (!first_error_.ok()) return first_error_;
        text::json_value root = text::json_value::make_object();
        if (!metadata_.empty()) {
            text::json_value m = text::json_value::make_object();
            for (const auto& kv : metadata_) m.append_member(kv.first, text::json_value::make_string(kv.second));
            root.append_member("__metadata__", std::move(m));
        }
        std::uint64_t at = 0;
        std::vector<std::uint64_t> offsets;
        for (const entry& e : entries_) {
            at = (at + 63) / 64 * 64;
            offsets.push_back(at);
            text::json_value t = text::json_value::make_object();
            t.append_member("dtype", text::json_value::make_string(dtype_string(e.type)));
            text::json_value sh = text::json_value::make_array();
            for (std::int64_t n : e.shape) sh.push_back(text::json_value::make_int(n));
            t.append_member("shape", std::move(sh));
            text::json_value off = text::json_value::make_array();
            off.push_back(text::json_value::make_int(static_cast<std::int64_t>(at)));
            off.push_back(text::json_value::make_int(static_cast<std::int64_t>(at + e.bytes.size())));
            t.append_member("data_offsets", std::move(off));
            root.append_member(e.name, std::move(t));
            at += e.bytes.size();
        }
        std::string header = text::json_write(root);
        while ((8 + header.size()) % 64 != 0) header.push_back(' ');
        std::vector<unsigned char> out(8 + header.size() + at, 0);
        const std::uint64_t n = header.size();
        for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<unsigned char>(n >> (8 * i));
        std::memcpy(out.data() + 8, header.data(), header.size());
        for (std::size_t i = 0; i < entries_.size(); ++i)
            if (!entries_[i].bytes.empty())
                std::memcpy(out.data() + 8 + header.size() + offsets[i], entries_[i].bytes.data(), entries_[i].bytes.size());
        return out;
    }

    status write_to_file(const std::string& path) const {
        result<std::vector<unsigned char>> bytes = write_to_memory();
        if (!bytes.ok()) return bytes.status();
        std::FILE* f = noggin::detail::fopen_utf8(path, "wb");
        if (f == nullptr) return status(status_code::io_error, str("safetensors writer: cannot create ", gguf::detail::printable(path)));
        const bool ok = std::fwrite(bytes->data(), 1, bytes->size(), f) == bytes->size();
        const bool closed = std::fclose(f) == 0;
        if (!ok || !closed) return status(status_code::io_error, str("safetensors writer: writing ", gguf::detail::printable(path), " failed"));
        return status();
    }

private:
    struct entry {
        std::string name;
        dtype type = dtype::f32;
        std::vector<std::int64_t> shape;      // header order
        std::vector<unsigned char> bytes;     // copied data
    };
    status remember(status s) {
        if (first_error_.ok()) first_error_ = s;
        return s;
    }
    std::vector<entry> entries_;
    std::vector<std::pair<std::string, std::string>> metadata_;
    status first_error_;
};

}  // namespace safetensors
}  // namespace noggin
