// Parse every shared test model and compare with models/manifest.json (written by gguf-py's reader).
// Manifest shapes are in GGUF ne order (ne[0] innermost): token_embd.weight is [n_embd, n_vocab].
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include <noggin/formats/gguf.hpp>

#include "support/mini_json.hpp"
#include "support/shared_data.hpp"
#include "formats/gguf_test_util.hpp"

namespace {

namespace gg = noggin::gguf;
using noggin_test::json::value;

bool load_manifest(value* doc) {
    auto path = noggin_test::shared_path("models/manifest.json");
    if (!path) return false;
    const std::vector<unsigned char> bytes = noggin_test::read_file_bytes(*path);
    std::string error;
    const bool ok = noggin_test::json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), doc, &error);
    REQUIRE_MESSAGE(ok, "manifest.json: " << error);
    REQUIRE(doc->is_array());
    return true;
}

// Tensors, counts and a few hyper-parameters of one file against its manifest entry.
void check_against_manifest(const gg::file& f, const value& entry) {
    const std::string arch = entry["arch"].s;
    CHECK(f.size() == static_cast<std::uint64_t>(entry["bytes"].n));
    CHECK(f.tensor_count() == static_cast<std::uint64_t>(entry["n_tensors"].n));
    CHECK(f.get_string("general.architecture").value() == arch);
    CHECK(f.get_u32(arch + ".block_count").value() == entry["n_layer"].as_int());
    CHECK(f.get_u32(arch + ".embedding_length").value() == entry["n_embd"].as_int());
    CHECK(f.get_u32(arch + ".attention.head_count").value() == entry["n_head"].as_int());
    CHECK(f.get_string("tokenizer.ggml.model").value() == entry["tokenizer"].s);
    auto tokens = f.get_array("tokenizer.ggml.tokens");
    REQUIRE(tokens.ok());
    CHECK(tokens->element_type() == gg::value_type::string);
    CHECK(tokens->size() == static_cast<std::uint64_t>(entry["n_vocab"].n));
    if (entry["file_type"].type == value::kind::number) {
        CHECK(f.get_u32("general.file_type").value() == entry["file_type"].as_int());
    }
    const value& tensors = entry["tensors"];
    REQUIRE(tensors.is_object());
    CHECK(tensors.members.size() == f.tensor_count());
    for (const auto& m : tensors.members) {
        INFO("tensor " << m.first);
        const gg::tensor_info* t = f.find_tensor(m.first);
        REQUIRE(t != nullptr);
        CHECK(std::string(noggin::dtype_name(t->type)) == m.second["type"].s);
        const value& shape = m.second["shape"];
        REQUIRE(t->n_dims == static_cast<int>(shape.items.size()));
        for (int d = 0; d < t->n_dims; ++d) CHECK(t->ne[d] == shape.items[static_cast<std::size_t>(d)].as_int());
        CHECK(t->file_offset % f.alignment() == 0);
        CHECK(t->file_offset + t->bytes <= f.size());
        noggin::tensor_view v = t->view();
        CHECK(v.byte_size() == t->bytes);
        CHECK(v.is_contiguous());
    }
    // The manifest's shape order is ne order: the embedding is [n_embd, n_vocab].
    const gg::tensor_info* emb = f.find_tensor("token_embd.weight");
    REQUIRE(emb != nullptr);
    CHECK(emb->ne[0] == entry["n_embd"].as_int());
    CHECK(emb->ne[1] == entry["n_vocab"].as_int());
}

}  // namespace

TEST_CASE("gguf: every shared model matches models/manifest.json") {
    value manifest;
    if (!noggin_test::shared_dir()) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    REQUIRE(load_manifest(&manifest));
    CHECK(manifest.items.size() >= 30);
    for (const value& entry : manifest.items) {
        const std::string name = entry["file"].s;
        INFO("file " << name);
        auto f = gg::file::open(*noggin_test::shared_path("models/" + name));
        REQUIRE_MESSAGE(f.ok(), f.status().message());
        CHECK(f->version() == 3);
        CHECK(f->tensor_data_resident());
        check_against_manifest(f.value(), entry);
    }
}

TEST_CASE("gguf: a shared model through a read callback matches the mapped file") {
    auto path = noggin_test::shared_path("models/qwen2-small-q4_k_m.gguf");
    if (!path) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    auto mapped = gg::file::open(*path);
    REQUIRE(mapped.ok());
    const std::vector<std::uint8_t> bytes = noggin_test::read_file_bytes(*path);
    gguf_test::memory_source src{&bytes};
    for (gg::callback_data mode : {gg::callback_data::load, gg::callback_data::on_demand}) {
        gg::open_options o;
        o.callback_mode = mode;
        auto f = gg::file::from_callback(src.callback(), o);
        REQUIRE_MESSAGE(f.ok(), f.status().message());
        CHECK(f->tensor_data_resident() == (mode == gg::callback_data::load));
        REQUIRE(f->kv_count() == mapped->kv_count());
        for (std::uint64_t i = 0; i < f->kv_count(); ++i) CHECK(f->key(i) == mapped->key(i));
        REQUIRE(f->tensor_count() == mapped->tensor_count());
        for (std::uint64_t i = 0; i < f->tensor_count(); ++i) {
            const gg::tensor_info& a = f->tensor(i);
            const gg::tensor_info& b = mapped->tensor(i);
            CHECK(a.name == b.name);
            CHECK(a.bytes == b.bytes);
            std::vector<std::uint8_t> got(static_cast<std::size_t>(a.bytes));
            REQUIRE(f->read_tensor_bytes(a, 0, got.data(), a.bytes).ok());
            CHECK(std::memcmp(got.data(), b.data, got.size()) == 0);
            if (mode == gg::callback_data::load) {
                CHECK(reinterpret_cast<std::uintptr_t>(a.data) % 32 == 0);
                CHECK(std::memcmp(a.data, b.data, got.size()) == 0);
            } else {
                CHECK(a.data == nullptr);
                CHECK_FALSE(f->view(a.name).ok());
            }
        }
    }
}

TEST_CASE("gguf: the R1-distill tokenizer metadata (151936 tokens) reads fast and without copies") {
    auto path = noggin_test::shared_path("models/r1q-tiny-q8_0.gguf");
    if (!path) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto f = gg::file::open(*path);
    REQUIRE_MESSAGE(f.ok(), f.status().message());
    auto tokens = f->get_array("tokenizer.ggml.tokens");
    REQUIRE(tokens.ok());
    auto s = tokens->strings();
    REQUIRE(s.ok());
    CHECK(s->size() == 151936);
    std::uint64_t total = 0, n = 0;
    for (std::string_view tok : s.value()) {
        total += tok.size();
        ++n;
    }
    CHECK(n == 151936);
    CHECK(total > 151936);
    // Random access and the first/last entries; views point into the mapping.
    CHECK(s.value()[151935] == s.value()[s->size() - 1]);
    CHECK(s.value()[151646].find("begin") != std::string_view::npos);  // <｜begin▁of▁sentence｜>
    CHECK(f->get_u32("tokenizer.ggml.bos_token_id").value() == 151646);
    CHECK(f->get_u32("tokenizer.ggml.eos_token_id").value() == 151643);
    CHECK(f->get_string("tokenizer.ggml.pre").value() == "deepseek-r1-qwen");
    auto types = f->get_array("tokenizer.ggml.token_type");
    REQUIRE(types.ok());
    auto ti = types->integers();
    REQUIRE(ti.ok());
    CHECK(ti->size() == 151936);
    CHECK(types->numbers<std::int32_t>().ok());
    CHECK(types->numbers<float>().status().message().find("expected an array of float32") != std::string::npos);
    auto merges = f->get_array("tokenizer.ggml.merges");
    REQUIRE(merges.ok());
    auto ms = merges->strings();
    REQUIRE(ms.ok());
    CHECK(ms->size() > 100000);
    std::uint64_t without_space = 0;
    for (std::string_view m : ms.value()) without_space += m.find(' ') == std::string_view::npos;
    CHECK(without_space == 0);  // every merge is "left right"
    const double ms_taken =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("open + iterate tokens and merges: " << ms_taken << " ms");
    CHECK(ms_taken < 5000.0);  // generous: sanitizer builds on a shared 2-core machine
}
