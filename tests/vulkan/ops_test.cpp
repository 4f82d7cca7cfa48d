// Every Vulkan op against the CPU scalar reference (cpu/*_ref, or exact dequantized math in double) on
// small random shapes with odd sizes. NMSE bounds per op/dtype are stated next to each check and
// printed as a table. Matmul runs for every weight type with a shader, as matrix-vector (1 column)
// and matrix-matrix (11 columns: one full tile of 8 and a partial one), once with whole bindings and
// once on a context whose binding limit is lowered so each weight is split into several chunks.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <string>
#include <vector>

#include "noggin/cpu/ops.hpp"
#include "noggin/cpu/quants.hpp"
#include "noggin/vulkan/ops.hpp"
#include "support.hpp"

using namespace noggin;
using noggin_test::nmse;
using noggin_test::random_floats;

namespace {

// A device buffer holding `v` (floats or ints).
template <class T>
vulkan::device_buffer device_vec(vulkan::context& ctx, const std::vector<T>& v) {
    auto b = ctx.make_buffer(v.size() * sizeof(T), vulkan::memory_kind::device);
    REQUIRE(b.ok());
    REQUIRE(ctx.upload(b.value().get(), 0, v.data(), v.size() * sizeof(T)).ok());
    return std::move(b.value());
}
vulkan::device_buffer device_zeros(vulkan::context& ctx, std::size_t floats) {
    auto b = ctx.make_buffer(floats * 4, vulkan::memory_kind::device);
    REQUIRE(b.ok());
    REQUIRE(ctx.fill_zero(b.value().get()).ok());
    return std::move(b.value());
}
std::vector<float> read_back(vulkan::context& ctx, const vulkan::device_buffer& b, std::size_t floats) {
    std::vector<float> v(floats);
    REQUIRE(ctx.download(b.get(), 0, v.data(), floats * 4).ok());
    return v;
}

// A context whose weights are split into bindings of ≤ 1 KiB (several chunks for every test matrix).
vulkan::context* split_context() {
    static std::unique_ptr<vulkan::context> c = [] {
        vulkan::context_params p = noggin_test::test_context_params();
        p.max_binding_bytes = 1024;
        auto r = vulkan::context::create(p);
        return r.ok() ? std::move(r.value()) : nullptr;
    }();
    return c.get();
}

// y = W·x on the device for `cols` columns; returns NMSE against the double reference on the
// dequantized weights and the number of chunks the weight had.
double matmul_nmse(vulkan::context& ctx, dtype t, std::int64_t K, std::int64_t rows, std::int64_t cols, std::uint32_t seed,
                   std::size_t* chunks) {
    std::uint64_t rb = 0;
    REQUIRE(row_bytes(t, static_cast<std::uint64_t>(K), &rb));
    const std::vector<float> wf = random_floats(static_cast<std::size_t>(K * rows), seed);
    std::vector<unsigned char> wq(rb * static_cast<std::uint64_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) REQUIRE(cpu::quantize_row(t, wf.data() + r * K, wq.data() + r * rb, K));
    std::vector<float> deq(wf.size());
    for (std::int64_t r = 0; r < rows; ++r) REQUIRE(cpu::dequantize_row(t, wq.data() + r * rb, deq.data() + r * K, K));
    const std::vector<float> x = random_floats(static_cast<std::size_t>(K * cols), seed + 1);
    std::vector<float> ref(static_cast<std::size_t>(rows * cols));
    for (std::int64_t c = 0; c < cols; ++c)
        for (std::int64_t r = 0; r < rows; ++r) {
            double s = 0;
            for (std::int64_t k = 0; k < K; ++k) s += static_cast<double>(deq[r * K + k]) * x[c * K + k];
            ref[c * rows + r] = static_cast<float>(s);
        }

    const tensor_view view = tensor_view::contiguous(t, wq.data(), {K, rows});
    auto w = vulkan::upload_tensor(ctx, view, "w");
    REQUIRE_MESSAGE(w.ok(), w.status().message());
    *chunks = w.value().chunks.size();
    vulkan::device_buffer xb = device_vec(ctx, x);
    // Output at an offset with a padded stride, so offsets and strides are exercised too.
    const std::uint32_t y_off = 3, y_stride = static_cast<std::uint32_t>(rows + 2);
    vulkan::device_buffer yb = device_zeros(ctx, y_off + static_cast<std::size_t>(y_stride * cols));
    vulkan::recorder rec(ctx);
    REQUIRE(rec.begin().ok());
    REQUIRE(vulkan::matmul(rec, w.value(), {xb.whole(), 0, static_cast<std::uint32_t>(K)}, {yb.whole(), y_off, y_stride}, cols).ok());
    REQUIRE(rec.submit().ok());
    const std::vector<float> all = read_back(ctx, yb, y_off + static_cast<std::size_t>(y_stride * cols));
    std::vector<float> got(ref.size());
    for (std::int64_t c = 0; c < cols; ++c)
        for (std::int64_t r = 0; r < rows; ++r) got[c * rows + r] = all[y_off + c * y_stride + r];
    return nmse(got.data(), ref.data(), ref.size());
}

const dtype weight_types[] = {dtype::f32,  dtype::f16,  dtype::bf16, dtype::q4_0, dtype::q4_1, dtype::q5_0, dtype::q5_1,
                              dtype::q8_0, dtype::q2_k, dtype::q3_k, dtype::q4_k, dtype::q5_k, dtype::q6_k};

}  // namespace

TEST_CASE("vulkan ops: matmul (matrix-vector and matrix-matrix) for every weight type, whole and split bindings") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    vulkan::context* split = split_context();
    REQUIRE(split != nullptr);
    std::string table = "dtype  K    rows  NMSE mv       NMSE mm(11)   NMSE split mv/mm (chunks)\n";
    for (dtype t : weight_types) {
        const std::string type_name = dtype_name(t);
        CAPTURE(type_name);
        const std::int64_t block = dtype_info(t).block_elements;
        const std::int64_t K = block == 1 ? 67 : (block == 32 ? 96 : 512);  // odd K for the float types
        const std::int64_t rows = 37;
        std::size_t chunks = 0, split_chunks = 0;
        const double mv = matmul_nmse(*ctx, t, K, rows, 1, 11, &chunks);
        const double mm = matmul_nmse(*ctx, t, K, rows, 11, 12, &chunks);
        CHECK(chunks == 1);
        const double smv = matmul_nmse(*split, t, K, rows, 1, 13, &split_chunks);
        const double smm = matmul_nmse(*split, t, K, rows, 11, 14, &split_chunks);
        CHECK(split_chunks > 2);
        // Both sides compute exact float math on the same dequantized weights: only summation order
        // differs (float vs double), so every type is bounded by 1e-10.
        CHECK(mv < 1e-10);
        CHECK(mm < 1e-10);
        CHECK(smv < 1e-10);
        CHECK(smm < 1e-10);
        char line[160];
        std::snprintf(line, sizeof line, "%-5s  %-4lld %-4lld  %.2e      %.2e      %.2e / %.2e (%zu)\n", dtype_name(t),
                      static_cast<long long>(K), static_cast<long long>(rows), mv, mm, smv, smm, split_chunks);
        table += line;
    }
    MESSAGE(table);
    NOGGIN_CHECK_VALIDATION();
    CHECK(split->validation_errors() == 0);
}

TEST_CASE("vulkan ops: get_rows (embedding) for every weight type, whole and split") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    for (vulkan::context* c : {ctx, split_context()}) {
        for (dtype t : weight_types) {
            const std::string type_name = dtype_name(t);
            CAPTURE(type_name);
            const std::int64_t block = dtype_info(t).block_elements;
            const std::int64_t K = block == 1 ? 67 : (block == 32 ? 96 : 256), rows = 29;
            std::uint64_t rb = 0;
            REQUIRE(row_bytes(t, static_cast<std::uint64_t>(K), &rb));
            const std::vector<float> wf = random_floats(static_cast<std::size_t>(K * rows), 5);
            std::vector<unsigned char> wq(rb * static_cast<std::uint64_t>(rows));
            for (std::int64_t r = 0; r < rows; ++r) REQUIRE(cpu::quantize_row(t, wf.data() + r * K, wq.data() + r * rb, K));
            const std::vector<std::int32_t> ids = {0, 28, 7, 7, 13};
            std::vector<float> ref(ids.size() * static_cast<std::size_t>(K));
            for (std::size_t i = 0; i < ids.size(); ++i)
                REQUIRE(cpu::dequantize_row(t, wq.data() + static_cast<std::uint64_t>(ids[i]) * rb, ref.data() + i * K, K));
            auto w = vulkan::upload_tensor(*c, tensor_view::contiguous(t, wq.data(), {K, rows}), "embd");
            REQUIRE(w.ok());
            vulkan::device_buffer idb = device_vec(*c, ids);
            vulkan::device_buffer out = device_zeros(*c, ref.size());
            vulkan::recorder rec(*c);
            REQUIRE(rec.begin().ok());
            REQUIRE(vulkan::get_rows(rec, w.value(), idb.whole(), 0, static_cast<std::int64_t>(ids.size()),
                                     {out.whole(), 0, static_cast<std::uint32_t>(K)}).ok());
            REQUIRE(rec.submit().ok());
            const std::vector<float> got = read_back(*c, out, ref.size());
            CHECK(nmse(got.data(), ref.data(), ref.size()) == 0.0);  // exact: same float formula
        }
        CHECK(c->validation_errors() == 0);
    }
    NOGGIN_CHECK_VALIDATION();
}

TEST_CASE("vulkan ops: rmsnorm (weighted, unweighted, in place), silu_mul, add (residual and bias)") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    const std::int64_t n = 257, rows = 3;
    const std::vector<float> x = random_floats(static_cast<std::size_t>(n * rows), 21, 2.0f);
    const std::vector<float> w = random_floats(static_cast<std::size_t>(n), 22);
    std::vector<float> ref(x.size()), ref_nw(x.size());
    for (std::int64_t r = 0; r < rows; ++r) {
        cpu::rmsnorm_ref(x.data() + r * n, w.data(), ref.data() + r * n, n, 1e-5f);
        cpu::rmsnorm_ref(x.data() + r * n, nullptr, ref_nw.data() + r * n, n, 1e-6f);
    }
    vulkan::device_buffer xb = device_vec(*ctx, x), wb = device_vec(*ctx, w), yb = device_zeros(*ctx, x.size());
    vulkan::device_buffer inplace = device_vec(*ctx, x);
    vulkan::recorder rec(*ctx);
    REQUIRE(rec.begin().ok());
    const auto un = static_cast<std::uint32_t>(n);
    REQUIRE(vulkan::rmsnorm(rec, {xb.whole(), 0, un}, wb.whole(), 0, {yb.whole(), 0, un}, n, rows, 1e-5f).ok());
    REQUIRE(vulkan::rmsnorm(rec, {inplace.whole(), 0, un}, vulkan::binding{}, 0, {inplace.whole(), 0, un}, n, rows, 1e-6f).ok());
    REQUIRE(rec.submit().ok());
    const std::vector<float> y = read_back(*ctx, yb, x.size()), yi = read_back(*ctx, inplace, x.size());
    const double e_norm = nmse(y.data(), ref.data(), ref.size()), e_inplace = nmse(yi.data(), ref_nw.data(), ref.size());
    CHECK(e_norm < 1e-12);
    CHECK(e_inplace < 1e-12);

    const std::int64_t m = 1001;
    const std::vector<float> g = random_floats(static_cast<std::size_t>(m), 23, 3.0f), u = random_floats(static_cast<std::size_t>(m), 24);
    std::vector<float> ref_silu(static_cast<std::size_t>(m)), ref_add(static_cast<std::size_t>(m)), ref_bias(static_cast<std::size_t>(m));
    cpu::silu_mul_ref(g.data(), u.data(), ref_silu.data(), m);
    for (std::int64_t i = 0; i < m; ++i) ref_add[i] = g[i] + u[i], ref_bias[i] = g[i] + u[i % 7];
    vulkan::device_buffer gb = device_vec(*ctx, g), ub = device_vec(*ctx, u);
    vulkan::device_buffer sb = device_zeros(*ctx, static_cast<std::size_t>(m)), ab = device_zeros(*ctx, static_cast<std::size_t>(m)),
                          bb = device_zeros(*ctx, static_cast<std::size_t>(m));
    REQUIRE(rec.begin().ok());
    REQUIRE(vulkan::silu_mul(rec, {gb.whole()}, {ub.whole()}, {sb.whole()}, m).ok());
    REQUIRE(vulkan::add(rec, {gb.whole()}, {ub.whole()}, m, {ab.whole()}, m).ok());
    REQUIRE(vulkan::add(rec, {gb.whole()}, {ub.whole()}, 7, {bb.whole()}, m).ok());
    CHECK(rec.barriers() == 0);  // three independent dispatches: no barrier between them
    REQUIRE(rec.submit().ok());
    const std::vector<float> s = read_back(*ctx, sb, ref_silu.size()), a = read_back(*ctx, ab, ref_add.size()),
                             b = read_back(*ctx, bb, ref_bias.size());
    const double e_silu = nmse(s.data(), ref_silu.data(), ref_silu.size());
    CHECK(e_silu < 1e-12);
    CHECK(nmse(a.data(), ref_add.data(), ref_add.size()) == 0.0);
    CHECK(nmse(b.data(), ref_bias.data(), ref_bias.size()) == 0.0);
    MESSAGE("NMSE rmsnorm " << e_norm << ", in place " << e_inplace << ", silu_mul " << e_silu << ", add 0");
    NOGGIN_CHECK_VALIDATION();
}

TEST_CASE("vulkan ops: rope, both layouts, partial rotation, frequency factors, positions up to 4000") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    const std::int64_t n_tok = 3, heads = 5, head_dim = 24;
    const std::vector<std::int32_t> pos = {0, 17, 3999};
    std::string table;
    for (int mode = 0; mode < 2; ++mode)
        for (int partial = 0; partial < 2; ++partial)
            for (int factors = 0; factors < 2; ++factors) {
                cpu::rope_params rp;
                rp.mode = mode ? cpu::rope_mode::neox : cpu::rope_mode::normal;
                rp.n_dims = partial ? 16 : 0;
                rp.freq_base = 500000.0f;
                rp.freq_scale = 0.5f;
                rp.attn_factor = 1.1f;
                const std::int64_t n_dims = partial ? 16 : head_dim;
                std::vector<float> ff(static_cast<std::size_t>(n_dims / 2));
                for (std::size_t i = 0; i < ff.size(); ++i) ff[i] = 1.0f + 0.5f * static_cast<float>(i);
                rp.freq_factors = factors ? ff.data() : nullptr;
                const std::vector<float> x = random_floats(static_cast<std::size_t>(n_tok * heads * head_dim), 31);
                std::vector<float> ref = x;
                cpu::rope_ref(ref.data(), n_tok, heads, head_dim, pos.data(), rp);
                const std::vector<float> table_f = vulkan::rope_freq_table(rp.freq_base, n_dims, rp.freq_factors);
                vulkan::device_buffer xb = device_vec(*ctx, x), pb = device_vec(*ctx, pos), fb = device_vec(*ctx, table_f);
                vulkan::rope_args a;
                a.n_tok = n_tok;
                a.n_heads = heads;
                a.head_dim = head_dim;
                a.n_dims = n_dims;
                a.neox = mode == 1;
                a.freq_scale = rp.freq_scale;
                a.attn_factor = rp.attn_factor;
                a.has_factors = factors == 1;
                vulkan::recorder rec(*ctx);
                REQUIRE(rec.begin().ok());
                REQUIRE(vulkan::rope(rec, {xb.whole()}, pb.whole(), 0, fb.whole(), 0, a).ok());
                REQUIRE(rec.submit().ok());
                const std::vector<float> got = read_back(*ctx, xb, x.size());
                const double e = nmse(got.data(), ref.data(), ref.size());
                // sin/cos of float angles up to ~2000 rad on the device vs double angles: ≤ 1e-9.
                CHECK(e < 1e-9);
                char line[96];
                std::snprintf(line, sizeof line, "%s %s%s: %.2e\n", mode ? "neox" : "norm", partial ? "partial" : "full",
                              factors ? " +factors" : "", e);
                table += line;
            }
    MESSAGE("rope NMSE:\n" << table);
    NOGGIN_CHECK_VALIDATION();
}

TEST_CASE("vulkan ops: kv_store + attention over F16 and F32 caches (GQA, causal, several chunks of keys)") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    const std::int64_t n_head = 6, n_head_kv = 2, D = 40, kvd = n_head_kv * D;
    const std::int64_t n_past = 131, n_tok = 3, n_kv = n_past + n_tok;  // 3 chunks of 64 keys
    for (dtype ct : {dtype::f16, dtype::f32}) {
        const std::string cache_name = dtype_name(ct);
        CAPTURE(cache_name);
        const std::vector<float> keys = random_floats(static_cast<std::size_t>(n_kv * kvd), 41);
        const std::vector<float> vals = random_floats(static_cast<std::size_t>(n_kv * kvd), 42);
        const std::vector<float> q = random_floats(static_cast<std::size_t>(n_tok * n_head * D), 43, 0.5f);
        // CPU cache in the same element type.
        const std::size_t es = ct == dtype::f16 ? 2 : 4;
        std::vector<unsigned char> kc(keys.size() * es), vc(vals.size() * es);
        if (ct == dtype::f16) {
            cpu::f32_to_f16_row(keys.data(), reinterpret_cast<f16*>(kc.data()), static_cast<std::int64_t>(keys.size()));
            cpu::f32_to_f16_row(vals.data(), reinterpret_cast<f16*>(vc.data()), static_cast<std::int64_t>(vals.size()));
        } else {
            std::memcpy(kc.data(), keys.data(), kc.size());
            std::memcpy(vc.data(), vals.data(), vc.size());
        }
        cpu::attention_params ap;
        ap.n_head = n_head;
        ap.n_head_kv = n_head_kv;
        ap.head_dim = D;
        const cpu::kv_cache_view view{kc.data(), vc.data(), ct, static_cast<std::uint64_t>(kvd) * es, static_cast<std::uint64_t>(kvd) * es};
        std::vector<float> ref(q.size());
        std::vector<double> scores(static_cast<std::size_t>(n_kv));
        REQUIRE(cpu::attention_ref(q.data(), n_tok, n_past, view, n_kv, ref.data(), ap, scores.data()).ok());

        // Device: store all keys/values through kv_store (the new tokens' rows at their positions).
        auto kb = ctx->make_buffer(kc.size() + 64, vulkan::memory_kind::device);
        auto vb = ctx->make_buffer(vc.size() + 64, vulkan::memory_kind::device);
        REQUIRE((kb.ok() && vb.ok()));
        vulkan::device_buffer ksrc = device_vec(*ctx, keys), vsrc = device_vec(*ctx, vals), qb = device_vec(*ctx, q);
        vulkan::device_buffer ob = device_zeros(*ctx, q.size());
        vulkan::recorder rec(*ctx);
        REQUIRE(rec.begin().ok());
        REQUIRE(vulkan::kv_store(rec, {ksrc.whole()}, kb.value().whole(), ct, 0, n_past * kvd).ok());
        REQUIRE(vulkan::kv_store(rec, {vsrc.whole()}, vb.value().whole(), ct, 0, n_past * kvd).ok());
        const auto off = static_cast<std::uint32_t>(n_past * kvd);
        REQUIRE(vulkan::kv_store(rec, {ksrc.whole(), off}, kb.value().whole(), ct, off, n_tok * kvd).ok());
        REQUIRE(vulkan::kv_store(rec, {vsrc.whole(), off}, vb.value().whole(), ct, off, n_tok * kvd).ok());
        vulkan::attention_args a;
        a.n_tok = n_tok;
        a.n_head = n_head;
        a.n_head_kv = n_head_kv;
        a.head_dim = D;
        a.pos0 = n_past;
        a.n_kv = n_kv;
        a.kv_stride = kvd;
        REQUIRE(vulkan::attention(rec, {qb.whole()}, kb.value().whole(), vb.value().whole(), ct, {ob.whole()}, a).ok());
        REQUIRE(rec.submit().ok());
        const std::vector<float> got = read_back(*ctx, ob, q.size());
        const double e = nmse(got.data(), ref.data(), ref.size());
        char what[80];
        std::snprintf(what, sizeof what, "attention NMSE (%s cache): %.2e", dtype_name(ct), e);
        MESSAGE(std::string(what));
        CHECK(e < 1e-10);  // same cache contents; float vs double softmax
        // The device cache holds what the CPU conversion produced (F16 rounding identical).
        std::vector<unsigned char> kback(kc.size());
        REQUIRE(ctx->download(kb.value().get(), 0, kback.data(), kback.size()).ok());
        CHECK(kback == kc);
    }
    NOGGIN_CHECK_VALIDATION();
}
