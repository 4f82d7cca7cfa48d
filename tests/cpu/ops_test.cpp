// Tests for noggin/cpu/ops.hpp: each op against its scalar reference on random data with odd sizes,
// RoPE layouts checked by hand, and attention over F16 and F32 caches with GQA, on 1 and 2 threads.
#include "noggin/cpu/ops.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "cpu/test_util.hpp"
#include "noggin/core/default_thread_pool.hpp"

using namespace noggin;

TEST_CASE("rmsnorm, softmax, silu_mul, add, mul, scale match their references for every tail") {
    for (std::int64_t n : {1, 7, 8, 9, 31, 67, 1536}) {
        CAPTURE(n);
        const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(n), 3, 2.0f);
        const std::vector<float> w = noggin_test::random_floats(static_cast<std::size_t>(n), 4);
        std::vector<float> a(x.size()), b(x.size());
        cpu::rmsnorm(x.data(), w.data(), a.data(), n, 1e-5f);
        cpu::rmsnorm_ref(x.data(), w.data(), b.data(), n, 1e-5f);
        CHECK(noggin_test::rel_rms(a.data(), b.data(), a.size()) <= 1e-6);
        cpu::rmsnorm(x.data(), nullptr, a.data(), n, 1e-5f);
        cpu::rmsnorm_ref(x.data(), nullptr, b.data(), n, 1e-5f);
        CHECK(noggin_test::rel_rms(a.data(), b.data(), a.size()) <= 1e-6);

        a = x, b = x;
        a[0] = -std::numeric_limits<float>::infinity(), b[0] = a[0];  // a masked entry
        cpu::softmax(a.data(), n);
        cpu::softmax_ref(b.data(), n);
        if (n > 1) CHECK(noggin_test::rel_rms(a.data(), b.data(), a.size()) <= 1e-6);
        if (n > 1) CHECK(a[0] == 0.0f);

        cpu::silu_mul(x.data(), w.data(), a.data(), n);
        cpu::silu_mul_ref(x.data(), w.data(), b.data(), n);
        CHECK(noggin_test::rel_rms(a.data(), b.data(), a.size()) <= 1e-6);

        cpu::add(x.data(), w.data(), a.data(), n);
        cpu::mul(x.data(), w.data(), b.data(), n);
        for (std::int64_t i = 0; i < n; ++i) {
            CHECK(a[i] == x[i] + w[i]);
            CHECK(b[i] == x[i] * w[i]);
        }
        cpu::scale(x.data(), 0.5f, a.data(), n);
        for (std::int64_t i = 0; i < n; ++i) CHECK(a[i] == x[i] * 0.5f);
    }
}

TEST_CASE("rope: both layouts match the reference; pairs are the documented ones") {
    const std::int64_t heads = 3, dim = 64, tokens = 5;
    const std::int32_t pos[tokens] = {0, 1, 17, 300, 4095};
    std::vector<float> factors(dim / 2);
    for (std::size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + static_cast<float>(i % 5);
    for (cpu::rope_mode mode : {cpu::rope_mode::normal, cpu::rope_mode::neox}) {
        for (int variant = 0; variant < 3; ++variant) {
            cpu::rope_params p;
            p.mode = mode;
            p.freq_base = 500000.0f;
            if (variant == 1) p.freq_factors = factors.data();
            if (variant == 2) p.n_dims = 32, p.freq_scale = 0.25f, p.attn_factor = 1.1f;
            std::vector<float> a = noggin_test::random_floats(static_cast<std::size_t>(tokens * heads * dim), 8);
            std::vector<float> b = a, orig = a;
            cpu::rope(a.data(), tokens, heads, dim, pos, p);
            cpu::rope_ref(b.data(), tokens, heads, dim, pos, p);
            CHECK(noggin_test::rel_rms(a.data(), b.data(), a.size()) <= 2e-5);
            // Position 0 is the identity (up to attn_factor); un-rotated dims stay.
            for (std::int64_t i = 0; i < heads * dim; ++i)
                CHECK(a[i] == doctest::Approx(orig[i] * (variant == 2 && (i % dim) < 32 ? 1.1f : 1.0f)));
            if (variant == 2)
                for (std::int64_t i = 32; i < dim; ++i) CHECK(a[3 * heads * dim + i] == orig[3 * heads * dim + i]);
        }
    }
    // Pair layout by hand: head of 4 dims at position 1, base 1 → theta_0 = 1, theta_1 = 1^(-1/2)·1 = 1.
    cpu::rope_params p;
    p.freq_base = 1.0f;
    const std::int32_t one = 1;
    float v[4] = {1, 0, 0, 0};
    cpu::rope(v, 1, 1, 4, &one, p);  // normal: (v0, v1) rotate
    CHECK(v[0] == doctest::Approx(std::cos(1.0f)));
    CHECK(v[1] == doctest::Approx(std::sin(1.0f)));
    CHECK(v[2] == 0.0f);
    float u[4] = {1, 0, 0, 0};
    p.mode = cpu::rope_mode::neox;
    cpu::rope(u, 1, 1, 4, &one, p);  // neox: (v0, v2) rotate
    CHECK(u[0] == doctest::Approx(std::cos(1.0f)));
    CHECK(u[1] == 0.0f);
    CHECK(u[2] == doctest::Approx(std::sin(1.0f)));
}

TEST_CASE("attention over F16 and F32 caches matches the two-pass reference (GQA, causal, prefill + decode)") {
    default_thread_pool two(2);
    const thread_pool pools[] = {serial_thread_pool(), two.hook()};
    for (dtype kv_type : {dtype::f16, dtype::f32}) {
        for (std::int64_t head_dim : {64, 13, 128}) {
            cpu::attention_params p;
            p.n_head = 6;
            p.n_head_kv = 2;
            p.head_dim = head_dim;
            const std::int64_t n_ctx = 150, pos0 = 70, n_q = 80;  // prefill of 80 rows after 70 cached
            const std::int64_t row = p.n_head_kv * head_dim;
            const std::vector<float> kf = noggin_test::random_floats(static_cast<std::size_t>(n_ctx * row), 21, 1.5f);
            const std::vector<float> vf = noggin_test::random_floats(static_cast<std::size_t>(n_ctx * row), 22);
            const std::size_t es = kv_type == dtype::f16 ? 2 : 4;
            std::vector<unsigned char> kc(static_cast<std::size_t>(n_ctx * row) * es), vc(kc.size());
            REQUIRE(cpu::quantize_row(kv_type, kf.data(), kc.data(), n_ctx * row));
            REQUIRE(cpu::quantize_row(kv_type, vf.data(), vc.data(), n_ctx * row));
            cpu::kv_cache_view kv{kc.data(), vc.data(), kv_type, row * es, row * es};
            const std::vector<float> q = noggin_test::random_floats(static_cast<std::size_t>(n_q * p.n_head * head_dim), 23);
            std::vector<float> ref(q.size());
            std::vector<double> scores(static_cast<std::size_t>(n_ctx));
            REQUIRE(cpu::attention_ref(q.data(), n_q, pos0, kv, pos0 + n_q, ref.data(), p, scores.data()).ok());
            for (const thread_pool& pool : pools) {
                std::vector<float> out(q.size(), -7.0f);
                REQUIRE(cpu::attention(q.data(), n_q, pos0, kv, pos0 + n_q, out.data(), p, pool).ok());
                CHECK(noggin_test::rel_rms(out.data(), ref.data(), out.size()) <= 1e-5);
            }
            // Decode: one row at the last position sees every key; the first row of a fresh cache sees one.
            std::vector<float> o1(static_cast<std::size_t>(p.n_head * head_dim)), r1(o1.size());
            REQUIRE(cpu::attention(q.data(), 1, n_ctx - 1, kv, n_ctx, o1.data(), p, two.hook()).ok());
            REQUIRE(cpu::attention_ref(q.data(), 1, n_ctx - 1, kv, n_ctx, r1.data(), p, scores.data()).ok());
            CHECK(noggin_test::rel_rms(o1.data(), r1.data(), o1.size()) <= 1e-5);
            REQUIRE(cpu::attention(q.data(), 1, 0, kv, 1, o1.data(), p, serial_thread_pool()).ok());
            for (std::int64_t h = 0; h < p.n_head; ++h)
                for (std::int64_t i = 0; i < head_dim; ++i)
                    CHECK(o1[h * head_dim + i] == doctest::Approx(vf[(h / 3) * head_dim + i]).epsilon(1e-3));
        }
    }
    cpu::attention_params bad;
    bad.n_head = 5;
    bad.n_head_kv = 2;
    float dummy[8] = {};
    cpu::kv_cache_view kv{dummy, dummy, dtype::f16, 4, 4};
    CHECK(cpu::attention(dummy, 1, 0, kv, 1, dummy, bad, serial_thread_pool()).code() == status_code::invalid_argument);
    kv.type = dtype::q8_0;
    bad.n_head = 4;
    CHECK(cpu::attention(dummy, 1, 0, kv, 1, dummy, bad, serial_thread_pool()).code() == status_code::unsupported);
}
