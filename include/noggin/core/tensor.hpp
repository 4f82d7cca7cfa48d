// noggin/core/tensor.hpp — a non-owning view of a tensor: dtype, up to 4-D shape, byte strides, data.
//
//     noggin::tensor_view w = noggin::tensor_view::contiguous(noggin::dtype::q4_k, ptr, {4096, 11008});
//     // w.ne[0] = 4096 elements per row (innermost), w.ne[1] = 11008 rows
//
// Dimension 0 is the innermost (contiguous) one, as in GGUF: a matrix of R rows of C columns has
// ne = {C, R}. Strides are in bytes; for block-quantized dtypes nb[0] is the block size in bytes and
// rows must hold whole blocks. The view never owns memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "config.hpp"
#include "dtype.hpp"

namespace noggin {

constexpr int max_dims = 4;

struct tensor_view {
    dtype type = dtype::f32;                   // element type
    int n_dims = 1;                            // 1..4 meaningful dimensions (the rest are 1)
    std::int64_t ne[max_dims] = {1, 1, 1, 1};  // elements per dimension, ne[0] innermost
    std::uint64_t nb[max_dims] = {0, 0, 0, 0}; // byte stride per dimension (nb[0]: bytes per block)
    void* data = nullptr;                      // first element; not owned

    // A densely packed view. `shape` lists ne[0], ne[1], ... (at most 4). Rows of block-quantized
    // dtypes must be whole blocks (checked in debug builds; validate untrusted shapes with row_bytes).
    static tensor_view contiguous(dtype t, const void* data, std::initializer_list<std::int64_t> shape) {
        tensor_view v;
        v.type = t;
        v.data = const_cast<void*>(data);
        v.n_dims = 0;
        for (std::int64_t n : shape) {
            if (v.n_dims == max_dims) break;
            v.ne[v.n_dims++] = n;
        }
        if (v.n_dims == 0) v.n_dims = 1;
        const dtype_traits& info = dtype_info(t);
        NOGGIN_ASSERT(v.ne[0] % info.block_elements == 0, "row is not a whole number of blocks");
        v.nb[0] = info.block_bytes;
        v.nb[1] = static_cast<std::uint64_t>(v.ne[0] / info.block_elements) * info.block_bytes;
        for (int d = 2; d < max_dims; ++d) v.nb[d] = v.nb[d - 1] * static_cast<std::uint64_t>(v.ne[d - 1]);
        return v;
    }

    std::int64_t element_count() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    std::int64_t row_count() const { return ne[1] * ne[2] * ne[3]; }
    // Bytes of one row along dimension 0.
    std::uint64_t row_bytes() const {
        const dtype_traits& info = dtype_info(type);
        return static_cast<std::uint64_t>(ne[0] / info.block_elements) * info.block_bytes;
    }
    std::uint64_t byte_size() const { return row_bytes() * static_cast<std::uint64_t>(row_count()); }
    bool is_contiguous() const {
        return nb[1] == row_bytes() && nb[2] == nb[1] * static_cast<std::uint64_t>(ne[1]) &&
               nb[3] == nb[2] * static_cast<std::uint64_t>(ne[2]);
    }
    // Start of row (i1, i2, i3).
    void* row(std::int64_t i1, std::int64_t i2 = 0, std::int64_t i3 = 0) const {
        return static_cast<unsigned char*>(data) + static_cast<std::uint64_t>(i1) * nb[1] +
               static_cast<std::uint64_t>(i2) * nb[2] + static_cast<std::uint64_t>(i3) * nb[3];
    }
};

}  // namespace noggin
