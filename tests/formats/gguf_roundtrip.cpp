// Writer → reader round trips: every metadata type (nested arrays too), several tensor dtypes, custom
// alignment, file/memory/callback paths; typed getter conversions and their error messages; writer
// argument checks.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <noggin/formats/gguf.hpp>

#include "formats/gguf_test_util.hpp"
#include "support/shared_data.hpp"

namespace {

namespace gg = noggin::gguf;
using noggin::dtype;
using noggin::status_code;

std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> out(n);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
}

struct tensor_spec {
    const char* name;
    dtype type;
    std::vector<std::int64_t> ne;
    std::vector<std::uint8_t> data;
};

std::vector<tensor_spec> sample_tensors() {
    std::vector<tensor_spec> t = {
        {"f32.vec", dtype::f32, {7}, {}},
        {"f16.mat", dtype::f16, {16, 3}, {}},
        {"bf16.3d", dtype::bf16, {4, 3, 2}, {}},
        {"q8_0.mat", dtype::q8_0, {64, 2}, {}},
        {"q4_k.4d", dtype::q4_k, {256, 1, 2, 3}, {}},
        {"q6_k.row", dtype::q6_k, {512}, {}},
        {"q4_0.mat", dtype::q4_0, {32, 5}, {}},
    };
    unsigned seed = 1;
    for (tensor_spec& s : t) {
        std::uint64_t row = 0;
        REQUIRE(noggin::row_bytes(s.type, static_cast<std::uint64_t>(s.ne[0]), &row));
        std::uint64_t rows = 1;
        for (std::size_t d = 1; d < s.ne.size(); ++d) rows *= static_cast<std::uint64_t>(s.ne[d]);
        s.data = random_bytes(static_cast<std::size_t>(row * rows), seed++);
    }
    return t;
}

// A writer holding every metadata type and the sample tensors.
gg::writer full_writer(std::uint32_t alignment) {
    gg::writer w;
    if (alignment != 0) CHECK(w.add_u32("general.alignment", alignment).ok());
    CHECK(w.add_string("general.architecture", "llama").ok());
    CHECK(w.add_u8("t.u8", 200).ok());
    CHECK(w.add_i8("t.i8", -100).ok());
    CHECK(w.add_u16("t.u16", 60000).ok());
    CHECK(w.add_i16("t.i16", -30000).ok());
    CHECK(w.add_u32("t.u32", 4000000000u).ok());
    CHECK(w.add_i32("t.i32", -2000000000).ok());
    CHECK(w.add_u64("t.u64", 0xfedcba9876543210ull).ok());
    CHECK(w.add_i64("t.i64", std::numeric_limits<std::int64_t>::min()).ok());
    CHECK(w.add_f32("t.f32", 1.5e-5f).ok());
    CHECK(w.add_f64("t.f64", -2.25e300).ok());
    CHECK(w.add_bool("t.bool", true).ok());
    CHECK(w.add_string("t.str", std::string("nul\0inside", 10)).ok());
    CHECK(w.add_string("t.empty", "").ok());
    CHECK(w.add_string_array("t.strs", {"a", "", "ccc", "\xe4\xb8\x80"}).ok());
    std::vector<std::string> vocab;
    for (int i = 0; i < 1000; ++i) vocab.push_back("tok" + std::to_string(i));
    CHECK(w.add_string_array("tokenizer.ggml.tokens", vocab).ok());
    CHECK(w.add_i32_array("tokenizer.ggml.token_type", {1, 2, 3, -4}).ok());
    CHECK(w.add_f32_array("tokenizer.ggml.scores", {0.5f, -1.0f, 3.25f}).ok());
    CHECK(w.add_u32_array("t.u32s", {1u, 2u}).ok());
    CHECK(w.add_i64_array("t.i64s", {-1, 5}).ok());
    const double f64s[] = {1.0, -0.5};
    CHECK(w.add_array("t.f64s", f64s, 2).ok());
    CHECK(w.add_array("t.bools", std::vector<bool>{true, false, true}).ok());
    CHECK(w.add_array("t.u8s", std::vector<std::uint8_t>{}).ok());
    CHECK(w.add_array("t.i16s", std::vector<std::int16_t>{-7, 7}).ok());
    using gg::value;
    using gg::value_type;
    // [[1, 2], [], [[\"deep\"]]] is not homogeneous at the second level; use arrays of arrays properly:
    CHECK(w.add("t.nested", value::array(value_type::array,
                                         {value::array(value_type::int32, {value::i32(1), value::i32(2)}),
                                          value::array(value_type::string, {value::string("x"), value::string("yz")}),
                                          value::array(value_type::array,
                                                       {value::array(value_type::float64, {value::f64(0.25)})}),
                                          value::array(value_type::uint8, {})}))
              .ok());
    CHECK(w.add("t.generic_u16", value::u16(513)).ok());
    CHECK(w.add("t.generic_bool", value::boolean(false)).ok());
    for (const tensor_spec& s : sample_tensors()) {
        REQUIRE(w.add_tensor(s.name, s.type, s.ne.data(), static_cast<int>(s.ne.size()), s.data.data(), s.data.size()).ok());
    }
    return w;
}

void check_full(const gg::file& f, std::uint32_t alignment) {
    CHECK(f.version() == 3);
    CHECK(f.alignment() == (alignment ? alignment : 32));
    CHECK(f.data_offset() % f.alignment() == 0);
    CHECK(f.get_string("general.architecture").value() == "llama");
    CHECK(f.get_u8("t.u8").value() == 200);
    CHECK(f.get_i8("t.i8").value() == -100);
    CHECK(f.get_u16("t.u16").value() == 60000);
    CHECK(f.get_i16("t.i16").value() == -30000);
    CHECK(f.get_u32("t.u32").value() == 4000000000u);
    CHECK(f.get_i32("t.i32").value() == -2000000000);
    CHECK(f.get_u64("t.u64").value() == 0xfedcba9876543210ull);
    CHECK(f.get_i64("t.i64").value() == std::numeric_limits<std::int64_t>::min());
    CHECK(f.get_f32("t.f32").value() == 1.5e-5f);
    CHECK(f.get_f64("t.f64").value() == -2.25e300);
    CHECK(f.get_bool("t.bool").value() == true);
    CHECK(f.get_string("t.str").value() == std::string_view("nul\0inside", 10));
    CHECK(f.get_string("t.empty").value().empty());
    CHECK(f.get("t.u8")->type() == gg::value_type::uint8);
    CHECK(f.get("t.bool")->type() == gg::value_type::boolean);

    auto strs = f.get_array("t.strs")->strings();
    REQUIRE(strs.ok());
    REQUIRE(strs->size() == 4);
    CHECK(strs.value()[0] == "a");
    CHECK(strs.value()[1] == "");
    CHECK(strs.value()[2] == "ccc");
    CHECK(strs.value()[3] == "\xe4\xb8\x80");
    auto toks = f.get_array("tokenizer.ggml.tokens")->strings();
    REQUIRE(toks.ok());
    REQUIRE(toks->size() == 1000);
    std::size_t i = 0;
    for (std::string_view t : toks.value()) CHECK(t == "tok" + std::to_string(i++));
    auto types = f.get_array("tokenizer.ggml.token_type")->numbers<std::int32_t>();
    REQUIRE(types.ok());
    std::vector<std::int32_t> tv(static_cast<std::size_t>(types->size()));
    types->copy_to(tv.data());
    CHECK(tv == std::vector<std::int32_t>{1, 2, 3, -4});
    auto scores = f.get_array("tokenizer.ggml.scores")->numbers<float>();
    REQUIRE(scores.ok());
    CHECK(std::vector<float>(scores->begin(), scores->end()) == std::vector<float>{0.5f, -1.0f, 3.25f});
    CHECK(f.get_array("t.u32s")->numbers<std::uint32_t>().value()[1] == 2u);
    CHECK(f.get_array("t.i64s")->numbers<std::int64_t>().value()[0] == -1);
    CHECK(f.get_array("t.f64s")->numbers<double>().value()[1] == -0.5);
    auto bools = f.get_array("t.bools")->numbers<bool>();
    REQUIRE(bools.ok());
    CHECK(std::vector<bool>(bools->begin(), bools->end()) == std::vector<bool>{true, false, true});
    CHECK(f.get_array("t.u8s")->empty());
    CHECK(f.get_array("t.u8s")->element_type() == gg::value_type::uint8);
    CHECK(f.get_array("t.i16s")->integers().value()[0] == -7);
    CHECK(f.get_u16("t.generic_u16").value() == 513);
    CHECK(f.get_bool("t.generic_bool").value() == false);

    auto nested = f.get_array("t.nested");
    REQUIRE(nested.ok());
    REQUIRE(nested->size() == 4);
    CHECK(nested->element_type() == gg::value_type::array);
    auto a0 = nested->at(0).get_array();
    REQUIRE(a0.ok());
    CHECK(a0->element_type() == gg::value_type::int32);
    CHECK(a0->at(1).get_i32().value() == 2);
    auto a1 = nested->at(1).get_array()->strings();
    REQUIRE(a1.ok());
    CHECK(a1.value()[1] == "yz");
    auto a2 = nested->at(2).get_array();
    REQUIRE(a2.ok());
    CHECK(a2->at(0).get_array()->at(0).get_f64().value() == 0.25);
    CHECK(nested->at(3).get_array()->empty());

    const std::vector<tensor_spec> specs = sample_tensors();
    REQUIRE(f.tensor_count() == specs.size());
    for (std::size_t k = 0; k < specs.size(); ++k) {
        const gg::tensor_info& t = f.tensor(k);
        INFO("tensor " << specs[k].name);
        CHECK(t.name == specs[k].name);
        CHECK(t.type == specs[k].type);
        CHECK(t.n_dims == static_cast<int>(specs[k].ne.size()));
        for (int d = 0; d < noggin::max_dims; ++d) {
            CHECK(t.ne[d] == (d < t.n_dims ? specs[k].ne[static_cast<std::size_t>(d)] : 1));
        }
        CHECK(t.bytes == specs[k].data.size());
        CHECK(t.offset % f.alignment() == 0);
        CHECK(f.find_tensor(specs[k].name) == &t);
        std::vector<std::uint8_t> got(specs[k].data.size());
        REQUIRE(f.read_tensor_bytes(t, 0, got.data(), got.size()).ok());
        CHECK(got == specs[k].data);
        if (t.data != nullptr) {
            CHECK(std::memcmp(t.data, specs[k].data.data(), got.size()) == 0);
            auto v = f.view(specs[k].name);
            REQUIRE(v.ok());
            CHECK(v->data == t.data);
            CHECK(v->n_dims == t.n_dims);
            CHECK(v->byte_size() == t.bytes);
        }
    }
    CHECK(f.find_tensor("missing") == nullptr);
    CHECK(f.find_tensor("") == nullptr);
}

}  // namespace

TEST_CASE("gguf writer → reader: all metadata types, nested arrays, tensors of several dtypes") {
    for (std::uint32_t alignment : {0u, 64u, 4096u}) {
        INFO("alignment " << alignment);
        gg::writer w = full_writer(alignment);
        CHECK(w.first_error().ok());
        CHECK(w.alignment() == (alignment ? alignment : 32));
        auto bytes = w.write_to_memory();
        REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
        auto f = gg::file::from_memory(bytes->data(), bytes->size());
        REQUIRE_MESSAGE(f.ok(), f.status().message());
        check_full(f.value(), alignment);

        // Moving the file keeps every view valid.
        auto tokens = f->get_array("tokenizer.ggml.tokens")->strings().value();
        gg::file moved = std::move(f.value());
        CHECK(tokens[999] == "tok999");
        CHECK(moved.tensor_count() == 7);
        CHECK(f->tensor_count() == 0);  // moved-from: empty but usable
        CHECK_FALSE(f->has("general.architecture"));

        // Through a read callback, both modes.
        gguf_test::memory_source src{&bytes.value()};
        for (gg::callback_data mode : {gg::callback_data::load, gg::callback_data::on_demand}) {
            gg::open_options o;
            o.callback_mode = mode;
            auto c = gg::file::from_callback(src.callback(), o);
            REQUIRE_MESSAGE(c.ok(), c.status().message());
            check_full(c.value(), alignment);
        }
    }
}

TEST_CASE("gguf writer: write_to_file and open (mmap) give the same bytes as write_to_memory") {
    gg::writer w = full_writer(0);
    const std::string path = "/tmp/noggin_gguf_roundtrip_" + std::to_string(reinterpret_cast<std::uintptr_t>(&w)) + ".gguf";
    REQUIRE(w.write_to_file(path).ok());
    const std::vector<unsigned char> on_disk = noggin_test::read_file_bytes(path);
    auto mem = w.write_to_memory();
    REQUIRE(mem.ok());
    CHECK(on_disk == mem.value());
    auto f = gg::file::open(path);
    REQUIRE_MESSAGE(f.ok(), f.status().message());
    check_full(f.value(), 0);
    f = gg::file();  // unmap before removing
    std::remove(path.c_str());
    CHECK(w.write_to_file("/nonexistent-dir/x.gguf").code() == status_code::io_error);
}

TEST_CASE("gguf writer: layout matches what llama.cpp expects (contiguous padded offsets, final padding)") {
    gg::writer w;
    const float a[3] = {1, 2, 3};
    const float b[8] = {};
    REQUIRE(w.add_tensor("a", dtype::f32, {3}, a, sizeof a).ok());
    REQUIRE(w.add_tensor("b", dtype::f32, {8}, b, sizeof b).ok());
    auto bytes = w.write_to_memory();
    REQUIRE(bytes.ok());
    auto f = gg::file::from_memory(bytes->data(), bytes->size());
    REQUIRE(f.ok());
    CHECK(f->tensor(0).offset == 0);
    CHECK(f->tensor(1).offset == 32);  // 12 bytes padded to 32
    CHECK(bytes->size() == f->data_offset() + 64);
    CHECK(std::memcmp(bytes->data(), "GGUF\x03\0\0\0", 8) == 0);

    gg::writer empty;
    auto e = empty.write_to_memory();
    REQUIRE(e.ok());
    CHECK(e->size() == 32);  // 24-byte header padded to the alignment
    auto ef = gg::file::from_memory(e->data(), e->size());
    REQUIRE(ef.ok());
    CHECK(ef->kv_count() == 0);
    CHECK(ef->tensor_count() == 0);
}

TEST_CASE("gguf getters: integer conversions that fit, and clear errors") {
    gg::writer w;
    w.add_i32("neg", -1);
    w.add_i32("pos", 7);
    w.add_u64("big", 1ull << 40);
    w.add_u32("u", 5);
    w.add_f64("d", 0.5);
    w.add_string("s", "text");
    w.add_f32_array("arr", {1.0f});
    w.add_array("u64s", std::vector<std::uint64_t>{1, 1ull << 63});
    REQUIRE(w.first_error().ok());
    auto bytes = w.write_to_memory();
    REQUIRE(bytes.ok());
    auto f = gg::file::from_memory(bytes->data(), bytes->size());
    REQUIRE(f.ok());

    CHECK(f->get_u32("pos").value() == 7);   // int32 → uint32 when it fits
    CHECK(f->get_i32("u").value() == 5);     // uint32 → int32
    CHECK(f->get_u8("u").value() == 5);
    CHECK(f->get_i64("neg").value() == -1);
    CHECK(f->get_u64("big").value() == (1ull << 40));
    CHECK(f->get_f32("d").value() == 0.5f);  // float64 → float32 accepted
    GGUF_CHECK_FAILS(f->get_u32("neg"), status_code::out_of_range, "key 'neg' has value -1 (int32), which does not fit uint32");
    GGUF_CHECK_FAILS(f->get_i32("big"), status_code::out_of_range, "does not fit int32");
    GGUF_CHECK_FAILS(f->get_u32("s"), status_code::invalid_argument, "key 's' has type string, expected an integer (uint32)");
    GGUF_CHECK_FAILS(f->get_u32("missing"), status_code::invalid_argument, "key 'missing' not found");
    GGUF_CHECK_FAILS(f->get_string("u"), status_code::invalid_argument, "key 'u' has type uint32, expected string");
    GGUF_CHECK_FAILS(f->get_bool("u"), status_code::invalid_argument, "expected bool");
    GGUF_CHECK_FAILS(f->get_f32("s"), status_code::invalid_argument, "expected float32");
    GGUF_CHECK_FAILS(f->get_array("s"), status_code::invalid_argument, "expected array");
    GGUF_CHECK_FAILS(f->get_array("arr")->strings(), status_code::invalid_argument,
                     "key 'arr' is an array of float32, expected an array of string");
    GGUF_CHECK_FAILS(f->get_array("arr")->integers(), status_code::invalid_argument, "expected an array of integers");
    GGUF_CHECK_FAILS(f->get_array("u64s")->integers(), status_code::out_of_range, "does not fit int64");
    GGUF_CHECK_FAILS(f->get_array("arr")->at(0).get_string(), status_code::invalid_argument, "an element of key 'arr'");
}

TEST_CASE("gguf writer: argument checks, sticky first error") {
    const float d[4] = {};
    {
        gg::writer w;
        CHECK(w.add_u32("k", 1).ok());
        CHECK(w.add_string("k", "again").code() == status_code::invalid_argument);  // duplicate
        CHECK(w.first_error().message().find("duplicate metadata key 'k'") != std::string::npos);
        CHECK(w.add_u32("other", 2).ok());
        auto out = w.write_to_memory();
        GGUF_CHECK_FAILS(out, status_code::invalid_argument, "an earlier add failed");
    }
    gg::writer w;
    CHECK(w.add_u32("", 1).code() == status_code::invalid_argument);
    CHECK(w.add_u32("general.alignment", 48).code() == status_code::invalid_argument);
    CHECK(w.add_u32("general.alignment", 0).code() == status_code::invalid_argument);
    CHECK(w.add_i32("general.alignment", 64).code() == status_code::invalid_argument);
    CHECK(w.add_tensor("t", dtype::f32, {4}, d, 15).code() == status_code::invalid_argument);  // 16 needed
    CHECK(w.add_tensor("t", dtype::f32, {0}, d, 0).code() == status_code::invalid_argument);
    CHECK(w.add_tensor("t", dtype::f32, {}, d, 0).code() == status_code::invalid_argument);
    CHECK(w.add_tensor("t", dtype::f32, {1, 1, 1, 1, 1}, d, 4).code() == status_code::invalid_argument);
    CHECK(w.add_tensor("t", dtype::q4_0, {16}, d, 9).code() == status_code::invalid_argument);  // half a block
    CHECK(w.add_tensor("t", dtype::f32, {1ll << 40, 1ll << 40}, d, 0).code() == status_code::invalid_argument);
    CHECK(w.add_tensor("", dtype::f32, {4}, d, 16).code() == status_code::invalid_argument);
    CHECK(w.add_tensor(std::string(64, 'n'), dtype::f32, {4}, d, 16).code() == status_code::invalid_argument);
    CHECK(w.add_tensor("t", static_cast<dtype>(99), {4}, d, 16).code() == status_code::invalid_argument);
    CHECK(w.add_tensor("t", dtype::f32, {4}, nullptr, 16).code() == status_code::invalid_argument);
    CHECK(w.add_tensor("t", dtype::f32, {4}, d, 16).ok());
    CHECK(w.add_tensor("t", dtype::f32, {4}, d, 16).code() == status_code::invalid_argument);  // duplicate
    using gg::value;
    using gg::value_type;
    CHECK(w.add("mixed", value::array(value_type::int32, {value::i32(1), value::u32(2)})).code() ==
          status_code::invalid_argument);
    value deep = value::array(value_type::int32, {});
    for (int i = 0; i < 8; ++i) deep = value::array(value_type::array, {deep});
    CHECK(w.add("deep", deep).code() == status_code::invalid_argument);
    CHECK(w.tensor_count() == 1);
    CHECK(w.kv_count() == 0);
}
