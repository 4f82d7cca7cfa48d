// Hostile and malformed GGUF: every truncation, hand-built v2, bad magic/versions, huge counts and
// lengths, broken tensor tables. Each must give an error status with a sensible code, never a crash
// (run under ASan+UBSan: inputs are exactly-sized heap copies so any overread is caught).
#include <doctest/doctest.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <noggin/formats/gguf.hpp>

#include "formats/gguf_test_util.hpp"

namespace {

namespace gg = noggin::gguf;
using gguf_test::bytes;
using noggin::dtype;
using noggin::status_code;

constexpr std::uint32_t t_f32 = 0;     // ggml type ids
constexpr std::uint32_t t_q4_0 = 2;
constexpr std::uint32_t vt_u8 = 0;     // GGUF value type ids
constexpr std::uint32_t vt_u32 = 4;
constexpr std::uint32_t vt_string = 8;
constexpr std::uint32_t vt_array = 9;

noggin::result<gg::file> parse(const bytes& b, std::vector<std::uint8_t>* keep, const gg::open_options& o = {}) {
    return gguf_test::parse_copy(b.b, keep, o);
}

// A valid v3 file: one u32 key, tensors given by the caller, data section of `data_bytes` zeros.
bytes with_tensors(std::uint64_t n_tensors, const std::function<void(bytes&)>& infos, std::size_t data_bytes,
                   std::uint32_t version = 3) {
    bytes b;
    b.header(version, n_tensors, 1).str("k").u32(vt_u32).u32(1);
    infos(b);
    b.pad_to(32).zeros(data_bytes);
    return b;
}

}  // namespace

TEST_CASE("gguf hostile: truncation at every byte of a small writer file fails cleanly") {
    gg::writer w;
    w.add_string("general.architecture", "llama");
    w.add_u32("llama.block_count", 2);
    w.add_f32("x.eps", 1e-5f);
    w.add_bool("x.flag", true);
    w.add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "hello"});
    w.add_f32_array("tokenizer.ggml.scores", {0.f, 1.f, 2.f, 3.f});
    w.add("x.nested", gg::value::array(gg::value_type::array, {gg::value::array(gg::value_type::int16, {gg::value::i16(3)})}));
    std::vector<float> a(16, 1.0f), b(40, 2.0f);  // 64 and 160 bytes: multiples of 32, no trailing padding
    REQUIRE(w.add_tensor("a", dtype::f32, {16}, a.data(), 64).ok());
    REQUIRE(w.add_tensor("b", dtype::f32, {8, 5}, b.data(), 160).ok());
    auto full = w.write_to_memory();
    REQUIRE(full.ok());
    REQUIRE(full->size() <= 64 * 1024);
    {
        std::vector<std::uint8_t> keep;
        REQUIRE(gguf_test::parse_copy(full.value(), &keep).ok());
    }
    std::size_t failures = 0;
    for (std::size_t n = 0; n < full->size(); ++n) {
        std::vector<std::uint8_t> prefix(full->begin(), full->begin() + static_cast<std::ptrdiff_t>(n));
        std::vector<std::uint8_t> keep;
        auto f = gguf_test::parse_copy(prefix, &keep);
        if (f.ok()) {
            FAIL_CHECK("prefix of " << n << " bytes parsed");
            continue;
        }
        failures += f.status().code() == status_code::format_error;
        // The same prefix through a read callback (the buffer grows as parsing proceeds).
        gguf_test::memory_source src{&prefix};
        auto c = gg::file::from_callback(src.callback());
        REQUIRE_FALSE(c.ok());
        CHECK(c.status().code() == f.status().code());
    }
    CHECK(failures == full->size());  // every truncation is a format error
}

TEST_CASE("gguf hostile: hand-built GGUF v2 parses (same layout as v3, 64-bit counts)") {
    bytes b;
    b.header(2, 1, 3);
    b.str("general.architecture").u32(vt_string).str("llama");
    b.str("v2.u32").u32(vt_u32).u32(77);
    b.str("v2.arr").u32(vt_array).u32(vt_u8).u64(3).u8(1).u8(2).u8(3);
    b.tensor("w", {4, 2}, t_f32, 0);
    b.pad_to(32);
    for (int i = 0; i < 8; ++i) b.u32(0x3f800000u);  // 1.0f
    std::vector<std::uint8_t> keep;
    auto f = parse(b, &keep);
    REQUIRE_MESSAGE(f.ok(), f.status().message());
    CHECK(f->version() == 2);
    CHECK(f->get_string("general.architecture").value() == "llama");
    CHECK(f->get_u32("v2.u32").value() == 77);
    CHECK(f->get_array("v2.arr")->numbers<std::uint8_t>().value()[2] == 3);
    const gg::tensor_info* t = f->find_tensor("w");
    REQUIRE(t != nullptr);
    CHECK(t->ne[0] == 4);
    CHECK(t->ne[1] == 2);
    float x = 0;
    std::memcpy(&x, t->data, 4);
    CHECK(x == 1.0f);
}

TEST_CASE("gguf hostile: bad magic, v1, big-endian, unknown versions") {
    std::vector<std::uint8_t> keep;
    GGUF_CHECK_FAILS(parse(bytes().raw("GGML").u32(3).u64(0).u64(0), &keep), status_code::format_error, "not a GGUF file");
    GGUF_CHECK_FAILS(parse(bytes().raw("\x7f" "ELF").u32(3).u64(0).u64(0), &keep), status_code::format_error, "\\x7fELF");
    GGUF_CHECK_FAILS(parse(bytes().raw("GGUF").u32(1).u32(0).u32(0), &keep), status_code::unsupported, "v1");
    GGUF_CHECK_FAILS(parse(bytes().raw("GGUF").u32(0x03000000u).u64(0).u64(0), &keep), status_code::unsupported, "big-endian");
    GGUF_CHECK_FAILS(parse(bytes().raw("GGUF").u32(0x02000000u).u64(0).u64(0), &keep), status_code::unsupported, "big-endian");
    GGUF_CHECK_FAILS(parse(bytes().raw("GGUF").u32(4).u64(0).u64(0), &keep), status_code::unsupported, "version 4");
    GGUF_CHECK_FAILS(parse(bytes().raw("GGUF").u32(0).u64(0).u64(0), &keep), status_code::unsupported, "version 0");
    GGUF_CHECK_FAILS(parse(bytes().raw("GGUF").u32(0xffffffffu).u64(0).u64(0), &keep), status_code::unsupported, "version");
    GGUF_CHECK_FAILS(parse(bytes(), &keep), status_code::format_error, "truncated");
    GGUF_CHECK_FAILS(gg::file::from_memory(nullptr, 5), status_code::invalid_argument, "null");
    // A minimal valid file: header only.
    auto ok = parse(bytes().header(3, 0, 0), &keep);
    REQUIRE(ok.ok());
    CHECK(ok->kv_count() == 0);
}

TEST_CASE("gguf hostile: huge counts and lengths fail fast, without allocating") {
    std::vector<std::uint8_t> keep;
    const std::uint64_t huge = 1ull << 63;
    GGUF_CHECK_FAILS(parse(bytes().header(3, huge, 0), &keep), status_code::limit_exceeded, "tensors");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, huge), &keep), status_code::limit_exceeded, "metadata keys");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, ~0ull), &keep), status_code::limit_exceeded, "metadata keys");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1000), &keep), status_code::format_error, "1000 metadata keys");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 1000, 0), &keep), status_code::format_error, "1000 tensors");
    // Key length 2^63, then one just past the end of the file.
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).u64(huge).raw("k"), &keep), status_code::format_error, "metadata key");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).u64(50).raw("abcdefgh"), &keep), status_code::format_error, "truncated");
    // String value longer than the cap, and longer than the file.
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("k").u32(vt_string).u64(huge), &keep), status_code::limit_exceeded,
                     "over the limit");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("k").u32(vt_string).u64(100).raw("short"), &keep),
                     status_code::format_error, "truncated");
    // Array element counts: over the cap; more than the remaining bytes could hold.
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("k").u32(vt_array).u32(vt_u8).u64(huge), &keep),
                     status_code::limit_exceeded, "claims");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("k").u32(vt_array).u32(vt_string).u64(1000000).str("x"), &keep),
                     status_code::format_error, "1000000 string elements");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("k").u32(vt_array).u32(vt_array).u64(1u << 20), &keep),
                     status_code::format_error, "array elements");
    // Caps are configurable.
    gg::open_options tight;
    tight.max_array_elements = 2;
    tight.max_string_bytes = 3;
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("k").u32(vt_array).u32(vt_u8).u64(3).u8(1).u8(2).u8(3), &keep, tight),
                     status_code::limit_exceeded, "over the limit of 2");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("k").u32(vt_string).str("abcd"), &keep, tight),
                     status_code::limit_exceeded, "over the limit of 3");
    // Tensor name longer than the cap.
    GGUF_CHECK_FAILS(parse(bytes().header(3, 1, 0).u64(huge).zeros(64), &keep), status_code::limit_exceeded, "tensor name");
    // Arrays nested deeper than max_array_depth.
    bytes deep;
    deep.header(3, 0, 1).str("k").u32(vt_array);
    for (int i = 0; i < 100; ++i) deep.u32(vt_array).u64(1);
    deep.u32(vt_u8).u64(0);
    GGUF_CHECK_FAILS(parse(deep, &keep), status_code::limit_exceeded, "nested deeper");
    // Unknown value types.
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("k").u32(13).u32(0), &keep), status_code::format_error,
                     "unknown value type 13");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("k").u32(vt_array).u32(0xffffffffu).u64(0), &keep),
                     status_code::format_error, "unknown element type");
}

TEST_CASE("gguf hostile: duplicate keys and bad general.alignment") {
    std::vector<std::uint8_t> keep;
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 2).str("k").u32(vt_u32).u32(1).str("k").u32(vt_u8).u8(1), &keep),
                     status_code::format_error, "duplicate metadata key 'k'");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("general.alignment").u32(vt_u32).u32(48), &keep),
                     status_code::format_error, "power of two");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("general.alignment").u32(vt_u32).u32(0), &keep),
                     status_code::format_error, "power of two");
    GGUF_CHECK_FAILS(parse(bytes().header(3, 0, 1).str("general.alignment").u32(vt_string).str("32"), &keep),
                     status_code::format_error, "expected uint32");
    auto ok = parse(bytes().header(3, 0, 1).str("general.alignment").u32(vt_u32).u32(64), &keep);
    REQUIRE(ok.ok());
    CHECK(ok->alignment() == 64);
}

TEST_CASE("gguf hostile: broken tensor tables") {
    std::vector<std::uint8_t> keep;
    auto one = [](std::string_view name, std::initializer_list<std::uint64_t> ne, std::uint32_t type, std::uint64_t off) {
        return [=](bytes& b) { b.tensor(name, ne, type, off); };
    };
    // A correct one first.
    REQUIRE(parse(with_tensors(1, one("w", {4, 2}, t_f32, 0), 32), &keep).ok());
    // Data past the end of the file (offset, size, and offset + size overflowing).
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {4, 2}, t_f32, 0), 31), &keep), status_code::format_error,
                     "past the end");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {4}, t_f32, 1ull << 40), 32), &keep), status_code::format_error,
                     "past the end");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {4}, t_f32, ~0ull - 31), 32), &keep), status_code::format_error,
                     "past the end");
    // Misaligned offset.
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {4}, t_f32, 16), 64), &keep), status_code::format_error,
                     "not a multiple of the alignment 32");
    // Overlapping tensors.
    auto two = [](std::uint64_t off_b) {
        return [=](bytes& b) {
            b.tensor("a", {16}, t_f32, 0);  // 64 bytes
            b.tensor("b", {8}, t_f32, off_b);
        };
    };
    GGUF_CHECK_FAILS(parse(with_tensors(2, two(32), 128), &keep), status_code::format_error, "overlap");
    GGUF_CHECK_FAILS(parse(with_tensors(2, two(0), 128), &keep), status_code::format_error, "overlap");
    REQUIRE(parse(with_tensors(2, two(64), 128), &keep).ok());
    // Duplicate names.
    auto dup = [](bytes& b) {
        b.tensor("same", {8}, t_f32, 0);
        b.tensor("same", {8}, t_f32, 32);
    };
    GGUF_CHECK_FAILS(parse(with_tensors(2, dup, 64), &keep), status_code::format_error, "duplicate tensor name 'same'");
    // Unknown dtype: the status names the tensor and the id.
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("iq", {256}, 16, 0), 1024), &keep), status_code::unsupported,
                     "tensor 'iq' has ggml type id 16");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {4}, 0xffffffffu, 0), 32), &keep), status_code::unsupported,
                     "4294967295");
    // Dimensions: zero, too many, none, negative as int64, element-count overflow, partial blocks.
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {4, 0}, t_f32, 0), 32), &keep), status_code::format_error, "ne[1] = 0");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {1, 1, 1, 1, 1}, t_f32, 0), 32), &keep), status_code::format_error,
                     "5 dimensions");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {}, t_f32, 0), 32), &keep), status_code::format_error, "0 dimensions");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {1ull << 63}, t_f32, 0), 32), &keep), status_code::format_error,
                     "overflows");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {1ull << 32, 1ull << 32}, t_f32, 0), 32), &keep),
                     status_code::format_error, "element count overflows");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {1ull << 62}, t_f32, 0), 32), &keep), status_code::format_error,
                     "overflows");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("w", {1ull << 61, 4}, t_f32, 0), 32), &keep), status_code::format_error,
                     "overflows");
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("q", {31}, t_q4_0, 0), 32), &keep), status_code::format_error,
                     "whole number of Q4_0 blocks");
    // Empty name.
    GGUF_CHECK_FAILS(parse(with_tensors(1, one("", {4}, t_f32, 0), 32), &keep), status_code::format_error, "empty name");
    // A tensor table that needs a data section past the end of the file.
    GGUF_CHECK_FAILS(parse(bytes().header(3, 1, 0).tensor("w", {1}, t_f32, 0), &keep), status_code::format_error,
                     "past the end of the file");
}

TEST_CASE("gguf hostile: read callback failures, metadata cap, bad paths, foreign tensor_info") {
    gg::writer w;
    w.add_string_array("tokens", {"a", "b", "c"});
    std::vector<float> d(8, 0.f);
    REQUIRE(w.add_tensor("t", dtype::f32, {8}, d.data(), 32).ok());
    auto bytes_ok = w.write_to_memory();
    REQUIRE(bytes_ok.ok());

    gguf_test::memory_source src{&bytes_ok.value()};
    src.fail_after = 0;
    GGUF_CHECK_FAILS(gg::file::from_callback(src.callback()), status_code::io_error, "read callback failed");
    gguf_test::memory_source src2{&bytes_ok.value()};
    src2.fail_after = 1;  // metadata reads succeed, the tensor data read fails
    GGUF_CHECK_FAILS(gg::file::from_callback(src2.callback()), status_code::io_error, "tensor data");
    gguf_test::memory_source src3{&bytes_ok.value()};
    gg::open_options cap;
    cap.max_metadata_bytes = 40;
    GGUF_CHECK_FAILS(gg::file::from_callback(src3.callback(), cap), status_code::limit_exceeded, "max_metadata_bytes");
    GGUF_CHECK_FAILS(gg::file::from_callback(gg::read_callback{}), status_code::invalid_argument, "read function");

    // On demand: read failures surface at read time.
    gguf_test::memory_source src4{&bytes_ok.value()};
    gg::open_options od;
    od.callback_mode = gg::callback_data::on_demand;
    auto f = gg::file::from_callback(src4.callback(), od);
    REQUIRE(f.ok());
    float out[8];
    CHECK(f->read_tensor_bytes(f->tensor(0), 0, out, 32).ok());
    CHECK(f->read_tensor_bytes(f->tensor(0), 4, out, 29).code() == status_code::out_of_range);
    CHECK(f->read_tensor_bytes(f->tensor(0), 33, out, 0).code() == status_code::out_of_range);
    CHECK(f->read_tensor_bytes(f->tensor(0), 32, out, 0).ok());
    src4.fail_after = src4.calls;
    CHECK(f->read_tensor_bytes(f->tensor(0), 0, out, 4).code() == status_code::io_error);
    gg::tensor_info foreign = f->tensor(0);
    CHECK(f->read_tensor_bytes(foreign, 0, out, 4).code() == status_code::invalid_argument);

    GGUF_CHECK_FAILS(gg::file::open("/nonexistent/model.gguf"), status_code::io_error, "no such file");
    GGUF_CHECK_FAILS(gg::file::open("/tmp"), status_code::io_error, "not a regular file");
    const std::string empty = "/tmp/noggin_gguf_empty_" + std::to_string(reinterpret_cast<std::uintptr_t>(&w));
    std::FILE* fp = std::fopen(empty.c_str(), "wb");
    REQUIRE(fp != nullptr);
    std::fclose(fp);
    GGUF_CHECK_FAILS(gg::file::open(empty), status_code::format_error, "truncated");
    std::remove(empty.c_str());
}
