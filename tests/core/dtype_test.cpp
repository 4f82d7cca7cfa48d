// The dtype table: GGUF ids, names, block geometry, and overflow-checked byte counts.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <set>

#include "noggin/core/dtype.hpp"
#include "noggin/core/tensor.hpp"

TEST_CASE("dtype table lists every supported type once with its GGUF id and block geometry") {
    CHECK(noggin::dtype_count == 15);
    std::set<std::uint32_t> ids;
    for (const auto& row : noggin::dtype_table) {
        CHECK(ids.insert(static_cast<std::uint32_t>(row.type)).second);
        CHECK(row.block_bytes > 0);
        CHECK((row.block_elements == 1 || row.block_elements == 32 || row.block_elements == 256));
        CHECK(row.quantized == (row.block_elements > 1));
        noggin::dtype back;
        REQUIRE(noggin::dtype_from_gguf(static_cast<std::uint32_t>(row.type), &back));
        CHECK(back == row.type);
        CHECK(std::strcmp(noggin::dtype_name(row.type), row.name) == 0);
    }
    struct expected { noggin::dtype t; std::uint32_t id; const char* name; std::uint32_t elements, bytes; };
    const expected table[] = {
        {noggin::dtype::f32, 0, "F32", 1, 4},       {noggin::dtype::f16, 1, "F16", 1, 2},
        {noggin::dtype::q4_0, 2, "Q4_0", 32, 18},   {noggin::dtype::q4_1, 3, "Q4_1", 32, 20},
        {noggin::dtype::q5_0, 6, "Q5_0", 32, 22},   {noggin::dtype::q5_1, 7, "Q5_1", 32, 24},
        {noggin::dtype::q8_0, 8, "Q8_0", 32, 34},   {noggin::dtype::q8_1, 9, "Q8_1", 32, 36},
        {noggin::dtype::q2_k, 10, "Q2_K", 256, 84}, {noggin::dtype::q3_k, 11, "Q3_K", 256, 110},
        {noggin::dtype::q4_k, 12, "Q4_K", 256, 144}, {noggin::dtype::q5_k, 13, "Q5_K", 256, 176},
        {noggin::dtype::q6_k, 14, "Q6_K", 256, 210}, {noggin::dtype::q8_k, 15, "Q8_K", 256, 292},
        {noggin::dtype::bf16, 30, "BF16", 1, 2},
    };
    for (const auto& e : table) {
        const auto& info = noggin::dtype_info(e.t);
        CHECK(static_cast<std::uint32_t>(e.t) == e.id);
        CHECK(std::strcmp(info.name, e.name) == 0);
        CHECK(info.block_elements == e.elements);
        CHECK(info.block_bytes == e.bytes);
    }
}

TEST_CASE("unknown GGUF type ids are rejected") {
    noggin::dtype t = noggin::dtype::f32;
    for (std::uint32_t id : {4u, 5u, 16u, 20u, 29u, 31u, 39u, 0xffffffffu}) CHECK_FALSE(noggin::dtype_from_gguf(id, &t));
}

TEST_CASE("row_bytes requires whole blocks and detects overflow") {
    std::uint64_t bytes = 0;
    CHECK(noggin::row_bytes(noggin::dtype::q4_k, 4096, &bytes));
    CHECK(bytes == 16 * 144);
    CHECK(noggin::row_bytes(noggin::dtype::f16, 3, &bytes));
    CHECK(bytes == 6);
    CHECK_FALSE(noggin::row_bytes(noggin::dtype::q8_0, 33, &bytes));
    CHECK_FALSE(noggin::row_bytes(noggin::dtype::f32, std::numeric_limits<std::uint64_t>::max() / 2, &bytes));
    CHECK(noggin::row_bytes(noggin::dtype::q4_0, 0, &bytes));
    CHECK(bytes == 0);
}

TEST_CASE("tensor_view describes a contiguous block-quantized matrix") {
    alignas(16) static unsigned char storage[3 * 2 * 144];
    const auto v = noggin::tensor_view::contiguous(noggin::dtype::q4_k, storage, {512, 3});
    CHECK(v.n_dims == 2);
    CHECK(v.ne[0] == 512);
    CHECK(v.ne[1] == 3);
    CHECK(v.row_count() == 3);
    CHECK(v.element_count() == 1536);
    CHECK(v.row_bytes() == 288);
    CHECK(v.byte_size() == sizeof(storage));
    CHECK(v.is_contiguous());
    CHECK(v.row(2) == storage + 576);
}
