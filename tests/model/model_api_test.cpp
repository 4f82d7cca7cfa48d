// Model loading and the forward-pass API on tiny in-memory GGUF files made with gguf::writer: hostile or
// unsupported files fail with a status that names the problem; the KV cache is unchanged by a failed
// call (too many tokens, bad token, cancellation); truncation, chunked batches and several caches sharing
// one workspace give the same logits as a fresh single run. No shared data needed.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "noggin/core/default_thread_pool.hpp"
#include "noggin/cpu/quants.hpp"
#include "noggin/model/forward.hpp"
#include "support/compare.hpp"

using namespace noggin;

namespace {

// Dimensions of the tiny test model.
struct tiny_spec {
    std::string arch = "llama";
    std::int64_t vocab = 48, embd = 64, layers = 2, heads = 4, heads_kv = 2, ff = 96, ctx = 64;
    dtype matrix_type = dtype::f32;  // F32, F16 or Q8_0 (rows of 64/96 are whole Q8_0 blocks)
    bool biases = false, qk_norm = false, tied = false, rope_freqs = false;
    // Hooks to break the file: skip a tensor, change a tensor's shape, skip a key, change a value.
    std::string skip_tensor, reshape_tensor, skip_key, f16_vector;
    std::uint32_t expert_count = 0;  // written when > 0
};

struct lcg {
    std::uint64_t s = 12345;
    float next() {  // uniform in [-1, 1)
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<float>(static_cast<double>(s >> 40) / static_cast<double>(1ull << 24) * 2.0 - 1.0);
    }
};

std::vector<std::uint8_t> make_tiny(const tiny_spec& s) {
    gguf::writer w;
    lcg rng;
    auto key = [&](const std::string& k) { return s.skip_key != k; };
    const std::string a = s.arch;
    REQUIRE(w.add_string("general.architecture", a).ok());
    const std::int64_t hd = s.embd / s.heads;
    if (key(a + ".embedding_length")) w.add_u32(a + ".embedding_length", static_cast<std::uint32_t>(s.embd));
    if (key(a + ".block_count")) w.add_u32(a + ".block_count", static_cast<std::uint32_t>(s.layers));
    if (key(a + ".attention.head_count")) w.add_u32(a + ".attention.head_count", static_cast<std::uint32_t>(s.heads));
    if (key(a + ".attention.head_count_kv")) w.add_u32(a + ".attention.head_count_kv", static_cast<std::uint32_t>(s.heads_kv));
    if (key(a + ".feed_forward_length")) w.add_u32(a + ".feed_forward_length", static_cast<std::uint32_t>(s.ff));
    if (key(a + ".context_length")) w.add_u32(a + ".context_length", static_cast<std::uint32_t>(s.ctx));
    if (key(a + ".attention.layer_norm_rms_epsilon")) w.add_f32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
    w.add_f32(a + ".rope.freq_base", 10000.0f);
    if (s.expert_count > 0) w.add_u32(a + ".expert_count", s.expert_count);

    auto tensor = [&](const std::string& name, std::int64_t ne0, std::int64_t ne1, float scale, float offset) {
        if (name == s.skip_tensor) return;
        std::int64_t n0 = ne0, n1 = ne1;
        if (name == s.reshape_tensor) n1 = ne1 > 1 ? ne1 + 1 : 1, n0 = ne1 > 1 ? ne0 : ne0 + 1;
        std::vector<float> v(static_cast<std::size_t>(n0 * n1));
        for (float& x : v) x = offset + scale * rng.next();
        const bool vector = ne1 == 1;
        dtype t = vector ? dtype::f32 : s.matrix_type;
        if (name == s.f16_vector) t = dtype::f16;
        std::uint64_t row = 0;
        REQUIRE(row_bytes(t, static_cast<std::uint64_t>(n0), &row));
        std::vector<unsigned char> bytes(static_cast<std::size_t>(row * static_cast<std::uint64_t>(n1)));
        for (std::int64_t r = 0; r < n1; ++r)
            REQUIRE(cpu::quantize_row(t, v.data() + r * n0, bytes.data() + static_cast<std::uint64_t>(r) * row, n0));
        if (vector)
            REQUIRE(w.add_tensor(name, t, {n0}, bytes.data(), bytes.size()).ok());
        else
            REQUIRE(w.add_tensor(name, t, {n0, n1}, bytes.data(), bytes.size()).ok());
    };
    const std::int64_t E = s.embd, Q = s.heads * hd, KV = s.heads_kv * hd;
    tensor("token_embd.weight", E, s.vocab, 1.0f, 0.0f);
    tensor("output_norm.weight", E, 1, 0.1f, 1.0f);
    if (!s.tied) tensor("output.weight", E, s.vocab, 0.2f, 0.0f);
    if (s.rope_freqs) tensor("rope_freqs.weight", hd / 2, 1, 0.5f, 2.0f);
    for (std::int64_t l = 0; l < s.layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        tensor(p + "attn_norm.weight", E, 1, 0.1f, 1.0f);
        tensor(p + "attn_q.weight", E, Q, 0.2f, 0.0f);
        tensor(p + "attn_k.weight", E, KV, 0.2f, 0.0f);
        tensor(p + "attn_v.weight", E, KV, 0.2f, 0.0f);
        tensor(p + "attn_output.weight", Q, E, 0.2f, 0.0f);
        if (s.biases) {
            tensor(p + "attn_q.bias", Q, 1, 0.1f, 0.0f);
            tensor(p + "attn_k.bias", KV, 1, 0.1f, 0.0f);
            tensor(p + "attn_v.bias", KV, 1, 0.1f, 0.0f);
        }
        if (s.qk_norm) {
            tensor(p + "attn_q_norm.weight", hd, 1, 0.1f, 1.0f);
            tensor(p + "attn_k_norm.weight", hd, 1, 0.1f, 1.0f);
        }
        tensor(p + "ffn_norm.weight", E, 1, 0.1f, 1.0f);
        tensor(p + "ffn_gate.weight", E, s.ff, 0.2f, 0.0f);
        tensor(p + "ffn_up.weight", E, s.ff, 0.2f, 0.0f);
        tensor(p + "ffn_down.weight", s.ff, E, 0.2f, 0.0f);
    }
    result<std::vector<std::uint8_t>> bytes = w.write_to_memory();
    REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
    return bytes.value();
}

result<model::model> load(const std::vector<std::uint8_t>& bytes) {
    result<gguf::file> f = gguf::file::from_memory(bytes.data(), bytes.size());
    if (!f.ok()) return f.status();
    return model::model::create(std::move(f.value()));
}

// Expect loading to fail with `code` and a message containing `needle`.
void expect_fail(const tiny_spec& s, status_code code, const std::string& needle) {
    const std::vector<std::uint8_t> bytes = make_tiny(s);
    result<model::model> m = load(bytes);
    REQUIRE_FALSE(m.ok());
    CAPTURE(m.status().message());
    CHECK(m.status().code() == code);
    CHECK(m.status().message().find(needle) != std::string::npos);
}

std::vector<float> run_all(const model::model& m, const std::vector<std::int32_t>& ids, dtype kv_type = dtype::f32,
                           std::int64_t max_batch = 256) {
    model::context_params cp;
    cp.kv.type = kv_type;
    cp.max_batch = max_batch;
    result<model::context> ctx = model::context::create(m, cp);
    REQUIRE(ctx.ok());
    std::vector<float> out(ids.size() * static_cast<std::size_t>(m.hparams().n_vocab));
    REQUIRE(ctx->decode_all(ids.data(), static_cast<std::int64_t>(ids.size()), out.data()).ok());
    return out;
}

double max_abs_diff(const float* a, const float* b, std::size_t n) {
    double d = 0;
    for (std::size_t i = 0; i < n; ++i) d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
    return d;
}

}  // namespace

TEST_CASE("tiny models of every architecture load and run") {
    for (const char* arch : {"llama", "qwen2", "qwen3"}) {
        for (dtype t : {dtype::f32, dtype::f16, dtype::q8_0}) {
            CAPTURE(std::string(arch));
            CAPTURE(std::string(dtype_name(t)));
            tiny_spec s;
            s.arch = arch;
            s.matrix_type = t;
            s.biases = std::string(arch) == "qwen2";
            s.qk_norm = std::string(arch) == "qwen3";
            s.tied = std::string(arch) == "qwen2";
            s.rope_freqs = std::string(arch) == "llama";
            const std::vector<std::uint8_t> bytes = make_tiny(s);
            result<model::model> m = load(bytes);
            REQUIRE_MESSAGE(m.ok(), m.status().message());
            const model::hparams& hp = m->hparams();
            CHECK(hp.n_vocab == 48);
            CHECK(hp.head_dim == 16);
            CHECK(hp.n_rot == 16);
            CHECK(hp.rope_mode == (std::string(arch) == "llama" ? cpu::rope_mode::normal : cpu::rope_mode::neox));
            CHECK(m->weights().tied_output == s.tied);
            CHECK((m->weights().rope_freqs != nullptr) == s.rope_freqs);
            CHECK((m->weights().layers[0].bq.data != nullptr) == s.biases);
            CHECK((m->weights().layers[0].q_norm.data != nullptr) == s.qk_norm);
            const std::vector<float> out = run_all(m.value(), {1, 5, 7, 2, 40});
            for (float x : out) REQUIRE(std::isfinite(x));
            // F16 cache close to F32 cache (quantized weights re-round their 8-bit activations: noisier,
            // as llama.cpp's own kv16 noise on the shared Q8_0 files, 3e-4).
            const std::vector<float> out16 = run_all(m.value(), {1, 5, 7, 2, 40}, dtype::f16);
            CHECK(noggin_test::nmse(out16.data(), out.data(), out.size()) < (t == dtype::q8_0 ? 1e-3 : 1e-5));
        }
    }
}

TEST_CASE("hostile and unsupported model files fail with a status naming the problem") {
    tiny_spec ok;
    {
        const std::vector<std::uint8_t> bytes = make_tiny(ok);
        REQUIRE(load(bytes).ok());
    }
    SUBCASE("unknown architecture") {
        tiny_spec s = ok;
        s.arch = "gpt2";
        expect_fail(s, status_code::unsupported, "unsupported architecture 'gpt2'");
    }
    SUBCASE("mixture of experts") {
        tiny_spec s = ok;
        s.expert_count = 8;
        expect_fail(s, status_code::unsupported, "mixture-of-experts");
    }
    SUBCASE("missing key") {
        tiny_spec s = ok;
        s.skip_key = "llama.block_count";
        expect_fail(s, status_code::format_error, "llama.block_count");
    }
    SUBCASE("missing epsilon") {
        tiny_spec s = ok;
        s.skip_key = "llama.attention.layer_norm_rms_epsilon";
        expect_fail(s, status_code::format_error, "layer_norm_rms_epsilon");
    }
    SUBCASE("head count not a multiple of the KV head count") {
        tiny_spec s = ok;
        s.heads_kv = 3;
        expect_fail(s, status_code::format_error, "head_count_kv");
    }
    SUBCASE("missing tensor") {
        tiny_spec s = ok;
        s.skip_tensor = "blk.1.ffn_up.weight";
        expect_fail(s, status_code::format_error, "tensor 'blk.1.ffn_up.weight' not found");
    }
    SUBCASE("missing embeddings") {
        tiny_spec s = ok;
        s.skip_tensor = "token_embd.weight";
        expect_fail(s, status_code::format_error, "token_embd.weight");
    }
    SUBCASE("wrong matrix shape") {
        tiny_spec s = ok;
        s.reshape_tensor = "blk.0.attn_k.weight";
        expect_fail(s, status_code::format_error, "tensor 'blk.0.attn_k.weight' has shape [64, 33], expected [64, 32]");
    }
    SUBCASE("wrong vector shape") {
        tiny_spec s = ok;
        s.reshape_tensor = "blk.1.attn_norm.weight";
        expect_fail(s, status_code::format_error, "blk.1.attn_norm.weight");
    }
    SUBCASE("wrong output shape") {
        tiny_spec s = ok;
        s.reshape_tensor = "output.weight";
        expect_fail(s, status_code::format_error, "output.weight");
    }
    SUBCASE("norm weight in F16") {
        tiny_spec s = ok;
        s.f16_vector = "output_norm.weight";
        expect_fail(s, status_code::unsupported, "output_norm.weight");
    }
    SUBCASE("qwen2 without biases") {
        tiny_spec s = ok;
        s.arch = "qwen2";
        expect_fail(s, status_code::format_error, "blk.0.attn_q.bias");
    }
    SUBCASE("qwen3 without q/k norms") {
        tiny_spec s = ok;
        s.arch = "qwen3";
        expect_fail(s, status_code::format_error, "blk.0.attn_q_norm.weight");
    }
    SUBCASE("file that is not GGUF") {
        const std::vector<std::uint8_t> junk(100, 0x41);
        CHECK_FALSE(load(junk).ok());
    }
}

TEST_CASE("KV cache: too long a batch, a bad token or cancellation leave it unchanged; truncate rewinds") {
    tiny_spec s;
    s.rope_freqs = true;
    const std::vector<std::uint8_t> bytes = make_tiny(s);
    result<model::model> m = load(bytes);
    REQUIRE(m.ok());
    const std::int64_t V = m->hparams().n_vocab;
    const std::vector<std::int32_t> ids = {1, 9, 4, 33, 17, 8, 21};
    const std::vector<float> want = run_all(m.value(), ids);

    model::context_params cp;
    cp.kv.n_ctx = 8;
    cp.kv.type = dtype::f32;
    result<model::context> ctx = model::context::create(m.value(), cp);
    REQUIRE(ctx.ok());
    CHECK(ctx->n_ctx() == 8);
    REQUIRE(ctx->decode(ids.data(), 5).ok());
    CHECK(ctx->n_past() == 5);

    SUBCASE("prompt longer than the remaining context") {
        const std::vector<std::int32_t> more = {1, 2, 3, 4};
        status st = ctx->decode(more.data(), 4);
        CHECK(st.code() == status_code::limit_exceeded);
        CHECK(st.message().find("exceed the context") != std::string::npos);
        CHECK(ctx->n_past() == 5);
    }
    SUBCASE("token outside the vocabulary") {
        const std::vector<std::int32_t> bad = {3, 48};
        status st = ctx->decode(bad.data(), 2);
        CHECK(st.code() == status_code::invalid_argument);
        CHECK(st.message().find("token 48") != std::string::npos);
        CHECK(ctx->n_past() == 5);
    }
    SUBCASE("cancelled by the host") {
        model::forward_params fp;
        fp.logits = model::logits_mode::none;
        int calls = 0;
        fp.user = &calls;
        fp.should_continue = [](void* user) { return ++*static_cast<int*>(user) < 2; };
        status st = ctx->run(ids.data() + 5, 2, fp);
        CHECK(st.code() == status_code::cancelled);
        CHECK(calls == 2);
        CHECK(ctx->n_past() == 5);
    }
    SUBCASE("truncate then continue") {
        REQUIRE(ctx->kv().truncate(3).ok());
        CHECK(ctx->kv().truncate(4).code() == status_code::out_of_range);
        REQUIRE(ctx->decode(ids.data() + 3, 2).ok());
        CHECK(ctx->n_past() == 5);
    }
    // After any of the above, positions 5 and 6 continue exactly as a fresh run would.
    std::vector<float> tail(2 * static_cast<std::size_t>(V));
    REQUIRE(ctx->decode_all(ids.data() + 5, 2, tail.data()).ok());
    CHECK(max_abs_diff(tail.data(), want.data() + 5 * V, tail.size()) < 1e-5);
    CHECK(ctx->n_past() == 7);
    const std::int32_t two[2] = {1, 2};
    CHECK(ctx->decode(two, 2).code() == status_code::limit_exceeded);
    CHECK(ctx->decode(two, 1).ok());
    CHECK(ctx->n_past() == 8);
}

TEST_CASE("chunked batches, threads and caches sharing one workspace agree with a single batch") {
    tiny_spec s;
    s.arch = "qwen2";
    s.biases = true;
    s.matrix_type = dtype::q8_0;
    const std::vector<std::uint8_t> bytes = make_tiny(s);
    result<model::model> m = load(bytes);
    REQUIRE(m.ok());
    const std::size_t V = static_cast<std::size_t>(m->hparams().n_vocab);
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 23; ++i) ids.push_back((i * 7 + 3) % 48);
    const std::vector<float> want = run_all(m.value(), ids);

    // Chunks of 5 tokens.
    const std::vector<float> chunked = run_all(m.value(), ids, dtype::f32, 5);
    CHECK(max_abs_diff(chunked.data(), want.data(), want.size()) < 1e-5);

    // Two threads through the default pool; only the last logits.
    default_thread_pool pool(2);
    model::context_params cp;
    cp.kv.type = dtype::f32;
    cp.pool = pool.hook();
    result<model::context> ctx = model::context::create(m.value(), cp);
    REQUIRE(ctx.ok());
    REQUIRE(ctx->decode(ids.data(), static_cast<std::int64_t>(ids.size())).ok());
    CHECK(max_abs_diff(ctx->logits(), want.data() + (ids.size() - 1) * V, V) < 1e-5);

    // Two caches (sessions) interleaved over one workspace, model shared.
    model::kv_cache_params kp;
    kp.type = dtype::f32;
    kp.n_ctx = 32;
    result<model::kv_cache> a = model::kv_cache::create(m.value(), kp);
    result<model::kv_cache> b = model::kv_cache::create(m.value(), kp);
    model::workspace_params wp;
    wp.max_batch = 4;
    result<model::workspace> ws = model::workspace::create(m.value(), wp);
    REQUIRE((a.ok() && b.ok() && ws.ok()));
    std::vector<float> la(V), lb(V);
    model::forward_params fa, fb;
    fa.logits_out = la.data();
    fb.logits_out = lb.data();
    REQUIRE(model::forward(m.value(), a.value(), ws.value(), ids.data(), 10, fa).ok());
    REQUIRE(model::forward(m.value(), b.value(), ws.value(), ids.data(), 3, fb).ok());
    CHECK(max_abs_diff(la.data(), want.data() + 9 * V, V) < 1e-5);
    CHECK(max_abs_diff(lb.data(), want.data() + 2 * V, V) < 1e-5);
    for (std::size_t t = 3; t < ids.size(); ++t) {
        REQUIRE(model::forward(m.value(), b.value(), ws.value(), &ids[t], 1, fb).ok());
        CHECK(max_abs_diff(lb.data(), want.data() + t * V, V) < 1e-5);
    }
    CHECK(b->n_past() == static_cast<std::int64_t>(ids.size()));
    CHECK(a->n_past() == 10);

    // A workspace or cache made for another model is refused.
    tiny_spec other;
    const std::vector<std::uint8_t> other_bytes = make_tiny(other);
    result<model::model> m2 = load(other_bytes);
    REQUIRE(m2.ok());
    CHECK(model::forward(m2.value(), a.value(), ws.value(), ids.data(), 1, fa).code() == status_code::invalid_argument);
    CHECK(a->n_past() == 10);
    // A moved-from cache is refused, not dereferenced.
    model::kv_cache moved = std::move(a.value());
    CHECK(model::forward(m.value(), a.value(), ws.value(), ids.data(), 1, fa).code() == status_code::invalid_argument);
    CHECK(moved.n_past() == 10);
    // Logits requested without a buffer.
    model::forward_params none;
    CHECK(model::forward(m.value(), a.value(), ws.value(), ids.data(), 1, none).code() == status_code::invalid_argument);
    // Bad cache parameters.
    model::kv_cache_params big;
    big.n_ctx = 65;
    CHECK(model::kv_cache::create(m.value(), big).status().code() == status_code::invalid_argument);
    model::kv_cache_params q;
    q.type = dtype::q8_0;
    CHECK(model::kv_cache::create(m.value(), q).status().code() == status_code::unsupported);
}

TEST_CASE("allocations go through the allocator hook and are returned") {
    struct counter {
        std::size_t live = 0, calls = 0;
    } c;
    allocator a;
    a.user = &c;
    a.alloc = [](void* u, std::size_t size, std::size_t align) -> void* {
        auto* cc = static_cast<counter*>(u);
        cc->live += size;
        ++cc->calls;
        return ::operator new(size, std::align_val_t(align), std::nothrow);
    };
    a.free = [](void* u, void* p, std::size_t size, std::size_t align) {
        static_cast<counter*>(u)->live -= size;
        ::operator delete(p, std::align_val_t(align));
    };
    const std::vector<std::uint8_t> bytes = make_tiny(tiny_spec{});
    result<model::model> m = load(bytes);
    REQUIRE(m.ok());
    {
        model::context_params cp;
        cp.kv.alloc = a;
        cp.kv.n_ctx = 16;
        result<model::context> ctx = model::context::create(m.value(), cp);
        REQUIRE(ctx.ok());
        CHECK(c.calls == 3);  // KV cache, workspace, logits
        CHECK(c.live >= ctx->kv().byte_size());
        CHECK(ctx->kv().byte_size() == 2u * 2u * 16u * 32u * 2u);  // layers × (K,V) × n_ctx × kv_dim × f16
        const std::int32_t t = 3;
        CHECK(ctx->decode(&t, 1).ok());
        CHECK(c.calls == 3);  // nothing allocated per call
    }
    CHECK(c.live == 0);
    // An allocator that fails → out_of_memory, nothing leaked.
    allocator fail = a;
    fail.alloc = [](void*, std::size_t, std::size_t) -> void* { return nullptr; };
    model::kv_cache_params kp;
    kp.alloc = fail;
    CHECK(model::kv_cache::create(m.value(), kp).status().code() == status_code::out_of_memory);
}
