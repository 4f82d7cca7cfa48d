// model::estimate_memory against the real objects: for the bundled model and every shared test model
// (llama, qwen2, qwen3; F32 … Q2_K), several contexts, both KV types and several batch sizes, the
// estimate equals byte_size() of the kv_cache, workspace and context model::context::create makes, byte
// for byte, and its weight bytes equal the loaded model's weight views (and the file's tensor data).
// With NOGGIN_VULKAN: equal to vulkan::estimate_memory (which needs a loaded model; no device needed).
// Bad files and options give a status.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "noggin/model/forward.hpp"
#include "noggin/model/memory.hpp"
#include "support/shared_data.hpp"
#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
#include "noggin/vulkan/forward.hpp"
#endif

using namespace noggin;

namespace {

std::string repo_file(const std::string& relative) {
    std::string f = __FILE__;
    const std::size_t at = f.rfind("tests/model/");
    return (at == std::string::npos ? std::string() : f.substr(0, at)) + relative;
}

// Sum of the weight views the forward pass reads (the tied output counted once).
std::uint64_t view_bytes(const model::model& m) {
    const model::model_weights& w = m.weights();
    std::uint64_t n = w.token_embd.byte_size() + w.output_norm.byte_size() + (w.tied_output ? 0 : w.output.byte_size());
    if (w.rope_freqs != nullptr) n += static_cast<std::uint64_t>(m.hparams().n_rot / 2) * 4;
    for (const model::layer_weights& l : w.layers)
        for (const tensor_view* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm, &l.ffn_norm,
                                     &l.ffn_gate, &l.ffn_up, &l.ffn_down})
            if (t->data != nullptr) n += t->byte_size();
    return n;
}

// Every check for one file; returns the number of (context, KV type, batch) combinations compared.
int check_file(const std::string& path) {
    CAPTURE(path);
    result<model::model> m = model::model::open(path);
    REQUIRE_MESSAGE(m.ok(), m.status().message());
    const model::hparams& hp = m->hparams();
    std::uint64_t tensor_data = 0;
    for (const gguf::tensor_info& t : m->file().tensors()) tensor_data += t.bytes;

    int compared = 0;
    const std::int64_t contexts[] = {1, 37, std::min<std::int64_t>(hp.n_ctx_train, 512), 0};
    const std::int64_t batches[] = {1, 7, 256};
    for (std::int64_t n_ctx : contexts) {
        for (dtype kv_type : {dtype::f16, dtype::f32}) {
            for (std::int64_t batch : batches) {
                CAPTURE(n_ctx);
                const std::string kv_name = dtype_name(kv_type);
                CAPTURE(kv_name);
                CAPTURE(batch);
                model::memory_options o;
                o.n_ctx = n_ctx;
                o.kv_type = kv_type;
                o.max_batch = batch;
                result<model::memory_estimate> e = model::estimate_memory(path, o);
                REQUIRE_MESSAGE(e.ok(), e.status().message());

                model::context_params cp;
                cp.kv.n_ctx = n_ctx;
                cp.kv.type = kv_type;
                cp.max_batch = batch;
                result<model::context> ctx = model::context::create(m.value(), cp);
                REQUIRE_MESSAGE(ctx.ok(), ctx.status().message());
                CHECK(e->n_ctx == ctx->n_ctx());
                CHECK(e->cpu.kv_cache == ctx->kv().byte_size());
                CHECK(e->cpu.workspace == ctx->scratch().byte_size());
                CHECK(e->cpu.logits == static_cast<std::uint64_t>(hp.n_vocab) * sizeof(float));

                model::kv_cache_params kp;
                kp.n_ctx = n_ctx;
                kp.type = kv_type;
                result<model::kv_cache> kv = model::kv_cache::create(m.value(), kp);
                REQUIRE(kv.ok());
                CHECK(e->cpu.kv_cache == kv->byte_size());
                model::workspace_params wp;
                wp.max_batch = batch;
                result<model::workspace> ws = model::workspace::create(m.value(), wp);
                REQUIRE(ws.ok());
                CHECK(e->cpu.workspace == ws->byte_size());
                // With gathered logits rows (forward_batch, run::reasoner_group).
                wp.logits_rows = o.logits_rows = 8;
                result<model::workspace> wsl = model::workspace::create(m.value(), wp);
                result<model::memory_estimate> el = model::estimate_memory(path, o);
                REQUIRE(wsl.ok());
                REQUIRE(el.ok());
                CHECK(el->cpu.workspace == wsl->byte_size());

                CHECK(e->cpu.weights == tensor_data);
                CHECK(e->cpu.weights == view_bytes(m.value()));  // every tensor in these files is read
                CHECK(e->cpu.total() == e->cpu.weights + e->cpu.kv_cache + e->cpu.workspace + e->cpu.logits);
                CHECK(e->file_bytes == m->file().size());
                CHECK(e->hp.n_vocab == hp.n_vocab);
                CHECK(e->hp.n_layer == hp.n_layer);

#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
                vulkan::model_context_params vp;
                vp.n_ctx = n_ctx;
                vp.kv_type = kv_type;
                vp.max_batch = 64;
                result<vulkan::memory_estimate> v = vulkan::estimate_memory(m.value(), vp, o.vulkan_binding_limit);
                REQUIRE_MESSAGE(v.ok(), v.status().message());
                REQUIRE(e->vulkan.supported);
                CHECK(e->vulkan.weights == v->weights);
                CHECK(e->vulkan.kv_cache == v->kv_cache);
                // vulkan::estimate_memory counts n_rot floats for the RoPE table; create() allocates n_rot/2
                // without rope_freqs.weight (n_rot with it), which is what this estimate counts.
                const std::uint64_t table = static_cast<std::uint64_t>(m->weights().rope_freqs != nullptr ? hp.n_rot : hp.n_rot / 2);
                CHECK(e->vulkan.activations == v->activations - static_cast<std::uint64_t>(hp.n_rot) * 4 + table * 4);
#endif
                ++compared;
            }
        }
    }
    return compared;
}

// A small GGUF file with the tiny reasoner's metadata but one thing changed.
std::vector<std::uint8_t> altered_copy(const std::string& path, const std::string& drop_tensor, const std::string& arch) {
    result<gguf::file> f = gguf::file::open(path);
    REQUIRE(f.ok());
    gguf::writer w;
    for (std::uint64_t i = 0; i < f->kv_count(); ++i) {
        const std::string key(f->key(i));
        if (key == "general.architecture") continue;
        if (key.rfind("general.", 0) == 0 || key.rfind("tokenizer.", 0) == 0) continue;
        std::string k = key;
        std::string_view old_arch = f->get_string("general.architecture").value();
        if (k.rfind(std::string(old_arch) + ".", 0) == 0) k = arch + k.substr(old_arch.size());
        result<std::uint64_t> u = f->get_u64(key);
        if (u.ok()) {
            w.add_u32(k, static_cast<std::uint32_t>(u.value()));
            continue;
        }
        result<double> d = f->get_f64(key);
        if (d.ok()) w.add_f32(k, static_cast<float>(d.value()));
    }
    REQUIRE(w.add_string("general.architecture", arch).ok());
    for (const gguf::tensor_info& t : f->tensors()) {
        if (std::string(t.name) == drop_tensor) continue;
        REQUIRE(w.add_tensor(t.name, t.type, t.ne, t.n_dims, t.data, t.bytes).ok());
    }
    result<std::vector<std::uint8_t>> bytes = w.write_to_memory();
    REQUIRE(bytes.ok());
    return bytes.value();
}

}  // namespace

TEST_CASE("memory estimate equals the real kv_cache, workspace and context sizes (bundled model)") {
    const std::string path = repo_file("models/noggin-tiny-reasoner.gguf");
    CHECK(check_file(path) == 24);
}

TEST_CASE("memory estimate equals the real sizes on every shared model (llama, qwen2, qwen3; F32 to Q2_K)") {
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    int files = 0, compared = 0;
    for (const char* name : {"llama-small-f32.gguf", "llama-small-bf16.gguf", "llama-small-q4_0.gguf", "llama-small-q4_k_m.gguf",
                             "llama-small-q2_k.gguf", "qwen2-small-f16.gguf", "qwen2-small-q5_1.gguf", "qwen2-small-q3_k_m.gguf",
                             "qwen2-small-q6_k.gguf", "qwen3-small-q8_0.gguf", "qwen3-small-q4_k_m.gguf", "r1q-tiny-q8_0.gguf"}) {
        compared += check_file(*dir + "/models/" + name);
        ++files;
    }
    MESSAGE(files, " files, ", compared, " (context, KV type, batch) combinations equal byte for byte");
    CHECK(compared == files * 24);
}

TEST_CASE("memory estimate reads only the header: same numbers from an on-demand read callback") {
    const std::string path = repo_file("models/noggin-tiny-reasoner.gguf");
    std::FILE* fp = std::fopen(path.c_str(), "rb");
    REQUIRE(fp != nullptr);
    std::fseek(fp, 0, SEEK_END);
    struct reader {
        std::FILE* fp;
        std::uint64_t furthest = 0;  // one past the last byte asked for
    } r{fp};
    gguf::read_callback cb;
    cb.size = static_cast<std::uint64_t>(std::ftell(fp));
    cb.user = &r;
    cb.read = [](void* user, std::uint64_t offset, void* dst, std::uint64_t size) {
        reader* rd = static_cast<reader*>(user);
        rd->furthest = std::max(rd->furthest, offset + size);
        return std::fseek(rd->fp, static_cast<long>(offset), SEEK_SET) == 0 && std::fread(dst, 1, size, rd->fp) == size;
    };
    gguf::open_options oo;
    oo.callback_mode = gguf::callback_data::on_demand;
    result<gguf::file> f = gguf::file::from_callback(cb, oo);
    REQUIRE(f.ok());
    model::memory_options o;
    o.n_ctx = 100;
    result<model::memory_estimate> a = model::estimate_memory(f.value(), o);
    result<model::memory_estimate> b = model::estimate_memory(path, o);
    std::fclose(fp);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->cpu.total() == b->cpu.total());
    CHECK(a->vulkan.total() == b->vulkan.total());
    std::uint64_t data_start = cb.size;
    for (const gguf::tensor_info& t : f->tensors()) data_start = std::min(data_start, t.file_offset);
    // The reader fetches the header in blocks of up to 64 KiB; nothing beyond the block holding its end.
    CAPTURE(data_start);
    CHECK(r.furthest <= data_start + 65536);
    CHECK(r.furthest < cb.size / 8);
}


TEST_CASE("memory estimate: bad files and options give a status") {
    const std::string path = repo_file("models/noggin-tiny-reasoner.gguf");
    SUBCASE("missing file") {
        result<model::memory_estimate> e = model::estimate_memory(repo_file("models/no-such-file.gguf"));
        REQUIRE_FALSE(e.ok());
        CHECK(e.status().message().find("no-such-file.gguf") != std::string::npos);
    }
    SUBCASE("not a GGUF file") {
        result<model::memory_estimate> e = model::estimate_memory(repo_file("README.md"));
        REQUIRE_FALSE(e.ok());
        CHECK(e.status().code() == status_code::format_error);
    }
    SUBCASE("unsupported architecture") {
        const std::vector<std::uint8_t> bytes = altered_copy(path, "", "gpt2");
        result<gguf::file> f = gguf::file::from_memory(bytes.data(), bytes.size());
        REQUIRE(f.ok());
        result<model::memory_estimate> e = model::estimate_memory(f.value());
        REQUIRE_FALSE(e.ok());
        CHECK(e.status().code() == status_code::unsupported);
        CHECK(e.status().message().find("gpt2") != std::string::npos);
    }
    SUBCASE("missing tensor") {
        result<gguf::file> orig = gguf::file::open(path);
        REQUIRE(orig.ok());
        const std::string arch(orig->get_string("general.architecture").value());
        const std::vector<std::uint8_t> bytes = altered_copy(path, "blk.0.ffn_up.weight", arch);
        result<gguf::file> f = gguf::file::from_memory(bytes.data(), bytes.size());
        REQUIRE(f.ok());
        result<model::memory_estimate> e = model::estimate_memory(f.value());
        REQUIRE_FALSE(e.ok());
        CHECK(e.status().message().find("blk.0.ffn_up.weight") != std::string::npos);
        const std::vector<std::uint8_t> whole = altered_copy(path, "", arch);  // the same copy loads when complete
        result<gguf::file> g = gguf::file::from_memory(whole.data(), whole.size());
        REQUIRE(g.ok());
        CHECK(model::estimate_memory(g.value()).ok());
    }
    SUBCASE("options out of range") {
        model::memory_options o;
        o.n_ctx = 1 << 30;
        CHECK(model::estimate_memory(path, o).status().code() == status_code::invalid_argument);
        o = {};
        o.kv_type = dtype::q8_0;
        CHECK(model::estimate_memory(path, o).status().code() == status_code::unsupported);
        o = {};
        o.max_batch = 0;
        CHECK(model::estimate_memory(path, o).status().code() == status_code::invalid_argument);
        o = {};
        o.logits_rows = -1;
        CHECK(model::estimate_memory(path, o).status().code() == status_code::invalid_argument);
        o = {};
        o.vulkan_binding_limit = 1024;  // too small for any activation row: the CPU numbers still come back
        result<model::memory_estimate> e = model::estimate_memory(path, o);
        REQUIRE(e.ok());
        CHECK_FALSE(e->vulkan.supported);
        CHECK(e->vulkan.total() == 0);
        CHECK(e->cpu.total() > 0);
    }
}
