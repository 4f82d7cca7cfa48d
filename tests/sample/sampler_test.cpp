// tests/sample/sampler_test.cpp — rng (goldens, save/load, bounded ints) and every sampler stage
// against a direct reference computation on small hand-made logit vectors; determinism.
#include <doctest/doctest.h>

#include <noggin/sample/rng.hpp>
#include <noggin/sample/sampler.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <vector>

using namespace noggin::sample;

namespace {

// Reference softmax over (id, logit) pairs, double precision, std::exp.
std::map<token_id, double> ref_softmax(const std::vector<std::pair<token_id, double>>& v) {
    double mx = -1e300;
    for (auto& p : v) mx = std::max(mx, p.second);
    double sum = 0;
    for (auto& p : v) sum += std::exp(p.second - mx);
    std::map<token_id, double> out;
    for (auto& p : v) out[p.first] = std::exp(p.second - mx) / sum;
    return out;
}

std::vector<std::pair<token_id, double>> pairs(const std::vector<float>& l) {
    std::vector<std::pair<token_id, double>> v;
    for (size_t i = 0; i < l.size(); ++i)
        if (l[i] != -std::numeric_limits<float>::infinity()) v.push_back({token_id(i), double(l[i])});
    return v;
}

// Sorted by probability (then id), as the reference filters see them.
std::vector<std::pair<token_id, double>> by_prob(const std::map<token_id, double>& p) {
    std::vector<std::pair<token_id, double>> v(p.begin(), p.end());
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
    return v;
}

// Check the sampler's survivors equal `expect` (id → probability) within 1e-9.
void check_survivors(const sampler& s, const std::map<token_id, double>& expect) {
    const auto& c = s.candidates();
    REQUIRE(c.size() == expect.size());
    double total = 0;
    for (const candidate& k : c) {
        auto it = expect.find(k.id);
        REQUIRE_MESSAGE(it != expect.end(), "unexpected survivor ", k.id);
        CHECK(k.p == doctest::Approx(it->second).epsilon(1e-9));
        total += k.p;
    }
    CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
}

sampler_params neutral() {
    sampler_params p;
    p.temperature = 1.0f;
    p.top_p = 1.0f;
    return p;
}

}  // namespace

TEST_CASE("rng: golden sequence, float ranges, bounded ints") {
    rng r(0);
    const uint64_t first = r.next_u64();
    rng r2(0);
    CHECK(r2.next_u64() == first);
    rng a(12345), b(12346);
    CHECK(a.next_u64() != b.next_u64());
    // Goldens: xoshiro256** seeded by splitmix64(seed); these must never change across platforms.
    rng g(42);
    const uint64_t expect[4] = {g.next_u64(), g.next_u64(), g.next_u64(), g.next_u64()};
    rng g2(42);
    for (uint64_t e : expect) CHECK(g2.next_u64() == e);
    CHECK(expect[0] == 0x15780b2e0c2ec716ull);  // from an independent Python implementation
    CHECK(expect[1] == 0x6104d9866d113a7eull);
    rng f(7);
    for (int i = 0; i < 10000; ++i) {
        const double d = f.next_double();
        const float x = f.next_float();
        REQUIRE(d >= 0.0);
        REQUIRE(d < 1.0);
        REQUIRE(x >= 0.0f);
        REQUIRE(x < 1.0f);
    }
    int counts[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 60000; ++i) {
        const uint32_t k = f.below(6);
        REQUIRE(k < 6);
        ++counts[k];
    }
    for (int c : counts) CHECK(std::abs(c - 10000) < 500);
    CHECK(f.below(0) == 0);
    CHECK(f.below(1) == 0);
}

TEST_CASE("rng: state save/restore continues the same sequence; bad states refused") {
    rng r(99);
    for (int i = 0; i < 17; ++i) r.next_u64();
    uint8_t saved[rng::state_bytes];
    r.save(saved);
    std::vector<uint64_t> a;
    for (int i = 0; i < 50; ++i) a.push_back(r.next_u64());
    rng q(1);
    REQUIRE(q.load(saved, sizeof saved).ok());
    for (int i = 0; i < 50; ++i) CHECK(q.next_u64() == a[size_t(i)]);
    uint8_t zero[rng::state_bytes] = {};
    rng z(5), z0(5);
    CHECK(z.load(zero, sizeof zero).code() == noggin::status_code::invalid_argument);
    CHECK(z.load(saved, 31).code() == noggin::status_code::invalid_argument);
    CHECK(z == z0);  // unchanged after failed loads
}

TEST_CASE("sampler: portable exp/log match libm closely") {
    for (double x = -80; x <= 5; x += 0.0137) CHECK(detail::exp_portable(x) == doctest::Approx(std::exp(x)).epsilon(1e-14));
    for (double x = 1e-12; x < 1e6; x *= 1.37) CHECK(detail::log_portable(x) == doctest::Approx(std::log(x)).epsilon(1e-14));
    CHECK(detail::exp_portable(-1000) == 0.0);
    CHECK(detail::exp_portable(0) == 1.0);
    // Branch-free version: the ends of its range, NaN, and exact powers of two at multiples of ln 2.
    CHECK(detail::exp_portable(std::numeric_limits<double>::quiet_NaN()) == 0.0);
    CHECK(detail::exp_portable(-std::numeric_limits<double>::infinity()) == 0.0);
    CHECK(detail::exp_portable(800.0) == detail::exp_portable(709.0));
    CHECK(detail::exp_portable(709.0) == doctest::Approx(std::exp(709.0)).epsilon(1e-14));
    CHECK(detail::exp_portable(-699.5) == doctest::Approx(std::exp(-699.5)).epsilon(1e-13));
    for (int k = -60; k <= 60; ++k)
        CHECK(detail::exp_portable(k * 0.69314718055994530942) == doctest::Approx(std::ldexp(1.0, k)).epsilon(1e-14));
    // sum_fixed: the same value for a vector as the same eight lanes summed by hand.
    std::vector<double> x(1003);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 1.0 / double(i + 1);
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < x.size(); ++i) lane[i % 8] += x[i];
    CHECK(detail::sum_fixed(x.data(), x.size()) == ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7])));
}

TEST_CASE("sampler: temperature only = softmax(l / T)") {
    const std::vector<float> l = {1.0f, 2.0f, 0.5f, -1.0f, 3.0f};
    for (float t : {0.6f, 1.0f, 1.7f}) {
        sampler_params p = neutral();
        p.temperature = t;
        sampler s(p);
        REQUIRE(s.filter(l.data(), l.size()).ok());
        std::vector<std::pair<token_id, double>> v;
        for (size_t i = 0; i < l.size(); ++i) v.push_back({token_id(i), double(l[i] / t)});
        check_survivors(s, ref_softmax(v));
    }
}

TEST_CASE("sampler: greedy picks the argmax (lowest id on ties) and ignores the rng") {
    const std::vector<float> l = {1.0f, 4.0f, 2.0f, 4.0f};
    sampler_params p;
    p.temperature = 0.0f;
    sampler s(p);
    rng r(3), r0(3);
    CHECK(*s.sample(l.data(), l.size(), r) == 1);
    CHECK(r == r0);
}

TEST_CASE("sampler: top-k keeps the k largest") {
    const std::vector<float> l = {1.0f, 3.0f, 2.0f, 5.0f, 4.0f, 4.0f};
    for (int k : {1, 2, 3, 5, 6, 10}) {
        sampler_params p = neutral();
        p.top_k = k;
        sampler s(p);
        REQUIRE(s.filter(l.data(), l.size()).ok());
        auto v = pairs(l);
        std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
        v.resize(std::min<size_t>(size_t(k), v.size()));
        check_survivors(s, ref_softmax(v));
    }
}

TEST_CASE("sampler: top-p keeps the smallest most-probable set reaching p") {
    const std::vector<float> l = {2.0f, 1.0f, 0.0f, 3.0f, -1.0f, 2.5f, 0.2f};
    for (float tp : {0.1f, 0.5f, 0.8f, 0.95f, 0.999f}) {
        sampler_params p = neutral();
        p.top_p = tp;
        sampler s(p);
        REQUIRE(s.filter(l.data(), l.size()).ok());
        auto sorted = by_prob(ref_softmax(pairs(l)));
        std::vector<std::pair<token_id, double>> keep;
        double cum = 0;
        for (auto& e : sorted) {
            keep.push_back({e.first, double(l[size_t(e.first)])});
            cum += e.second;
            if (cum >= tp) break;
        }
        check_survivors(s, ref_softmax(keep));
    }
}

TEST_CASE("sampler: min-p keeps p >= min_p * p_max") {
    const std::vector<float> l = {2.0f, 1.0f, 0.0f, 3.0f, -1.0f, 2.5f};
    for (float mp : {0.05f, 0.2f, 0.5f, 0.9f}) {
        sampler_params p = neutral();
        p.min_p = mp;
        sampler s(p);
        REQUIRE(s.filter(l.data(), l.size()).ok());
        auto probs = ref_softmax(pairs(l));
        double pmax = 0;
        for (auto& e : probs) pmax = std::max(pmax, e.second);
        std::vector<std::pair<token_id, double>> keep;
        for (auto& e : probs)
            if (e.second >= mp * pmax) keep.push_back({e.first, double(l[size_t(e.first)])});
        check_survivors(s, ref_softmax(keep));
    }
}

TEST_CASE("sampler: typical-p keeps the tokens closest to the entropy") {
    const std::vector<float> l = {2.0f, 1.0f, 0.0f, 3.0f, -1.0f, 2.5f, 0.7f};
    for (float tp : {0.2f, 0.5f, 0.9f}) {
        sampler_params p = neutral();
        p.typical_p = tp;
        sampler s(p);
        REQUIRE(s.filter(l.data(), l.size()).ok());
        auto probs = ref_softmax(pairs(l));
        double h = 0;
        for (auto& e : probs) h -= e.second * std::log(e.second);
        std::vector<std::pair<double, token_id>> score;
        for (auto& e : probs) score.push_back({std::fabs(-std::log(e.second) - h), e.first});
        std::sort(score.begin(), score.end());
        std::vector<std::pair<token_id, double>> keep;
        double cum = 0;
        for (auto& e : score) {
            keep.push_back({e.second, double(l[size_t(e.second)])});
            cum += probs[e.second];
            if (cum >= tp) break;
        }
        check_survivors(s, ref_softmax(keep));
    }
}

TEST_CASE("sampler: repetition, frequency and presence penalties over the window") {
    const std::vector<float> l = {2.0f, -1.0f, 0.5f, 3.0f, 1.0f};
    sampler_params p = neutral();
    p.repeat_penalty = 1.5f;
    p.frequency_penalty = 0.25f;
    p.presence_penalty = 0.5f;
    p.penalty_last_n = 4;
    sampler s(p);
    for (token_id t : {3, 3, 0, 1, 1, 3, 1}) s.accept(t);  // window (last 4): 1, 1, 3, 1
    CHECK(s.history() == std::vector<token_id>{1, 1, 3, 1});
    REQUIRE(s.filter(l.data(), l.size()).ok());
    std::vector<double> ref = {2.0, -1.0, 0.5, 3.0, 1.0};
    ref[1] = -1.0 * 1.5 - 3 * 0.25 - 0.5;  // negative: multiplied
    ref[3] = 3.0 / 1.5 - 1 * 0.25 - 0.5;   // positive: divided
    std::vector<std::pair<token_id, double>> v;
    for (size_t i = 0; i < ref.size(); ++i) v.push_back({token_id(i), ref[i]});
    check_survivors(s, ref_softmax(v));
    s.reset();
    REQUIRE(s.filter(l.data(), l.size()).ok());
    check_survivors(s, ref_softmax(pairs(l)));
}

TEST_CASE("sampler: logit bias adds and bans; all-banned is an error") {
    const std::vector<float> l = {1.0f, 2.0f, 3.0f};
    sampler_params p = neutral();
    p.biases = {{2, -std::numeric_limits<float>::infinity()}, {0, 1.5f}, {77, 5.0f}};
    sampler s(p);
    REQUIRE(s.filter(l.data(), l.size()).ok());
    check_survivors(s, ref_softmax({{0, 2.5}, {1, 2.0}}));
    const float ninf = -std::numeric_limits<float>::infinity();
    const std::vector<float> dead = {ninf, ninf, std::numeric_limits<float>::quiet_NaN()};
    rng r(1);
    CHECK(s.sample(dead.data(), dead.size(), r).status().code() == noggin::status_code::invalid_argument);
    CHECK(s.sample(nullptr, 3, r).status().code() == noggin::status_code::invalid_argument);
}

TEST_CASE("sampler: temperature after the filters (llama.cpp order)") {
    const std::vector<float> l = {2.0f, 1.0f, 0.0f, 3.0f};
    sampler_params p = neutral();
    p.top_p = 0.9f;
    p.temperature = 0.5f;
    p.temperature_first = false;
    sampler s(p);
    REQUIRE(s.filter(l.data(), l.size()).ok());
    // top-p on the T=1 distribution: p(3)=.644, p(0)=.237 → .881 < .9, + p(1)=.087 → keep {3, 0, 1}
    check_survivors(s, ref_softmax({{3, 6.0}, {0, 4.0}, {1, 2.0}}));
}

TEST_CASE("sampler: R1 defaults and a chained configuration on a 152k vocabulary match the reference") {
    const size_t n = 151936;
    std::vector<float> l(n);
    rng g(2024);
    for (float& x : l) x = float(g.next_double() * 20.0 - 10.0);
    sampler_params p;  // temperature 0.6, top-p 0.95
    CHECK(p.temperature == 0.6f);
    CHECK(p.top_p == 0.95f);
    sampler s(p);
    REQUIRE(s.filter(l.data(), n).ok());
    std::vector<std::pair<token_id, double>> v;
    for (size_t i = 0; i < n; ++i) v.push_back({token_id(i), double(l[i] / 0.6f)});
    auto sorted = by_prob(ref_softmax(v));
    std::vector<std::pair<token_id, double>> keep;
    double cum = 0;
    for (auto& e : sorted) {
        keep.push_back({e.first, double(l[size_t(e.first)] / 0.6f)});
        cum += e.second;
        if (cum >= 0.95) break;
    }
    check_survivors(s, ref_softmax(keep));
    // top-k 40 then min-p
    p.top_k = 40;
    p.min_p = 0.3f;
    p.top_p = 1.0f;
    s.set_params(p);
    REQUIRE(s.filter(l.data(), n).ok());
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
    v.resize(40);
    const double mx = v[0].second;
    std::vector<std::pair<token_id, double>> k2;
    for (auto& e : v)
        if (std::exp(e.second - mx) >= 0.3) k2.push_back(e);
    check_survivors(s, ref_softmax(k2));
}

TEST_CASE("sampler: draws follow the probabilities; same seed, same tokens") {
    const std::vector<float> l = {0.0f, 1.0f, 2.0f, -0.5f};
    sampler_params p = neutral();
    sampler s(p);
    rng r(11);
    std::vector<int> counts(4, 0);
    const int n = 40000;
    for (int i = 0; i < n; ++i) ++counts[size_t(*s.sample(l.data(), l.size(), r))];
    auto probs = ref_softmax(pairs(l));
    for (int i = 0; i < 4; ++i) CHECK(std::fabs(counts[size_t(i)] / double(n) - probs[i]) < 0.01);

    // Determinism with penalties and the R1 chain over a larger vocabulary.
    auto run = [](uint64_t seed) {
        sampler_params q;
        q.repeat_penalty = 1.1f;
        q.top_k = 50;
        sampler s2(q);
        rng r2(seed), lg(5);
        std::vector<float> logits(5000);
        std::vector<token_id> out;
        for (int step = 0; step < 200; ++step) {
            for (float& x : logits) x = float(lg.next_double() * 8.0);
            token_id t = *s2.sample(logits.data(), logits.size(), r2);
            s2.accept(t);
            out.push_back(t);
        }
        return out;
    };
    CHECK(run(77) == run(77));
    CHECK(run(77) != run(78));
}

TEST_CASE("sampler: samplers sharing one scratch draw exactly what samplers with their own draw") {
    // Three configurations (R1 chain with penalties, typical-p + min-p, greedy), interleaved token by
    // token as a reasoner_group samples its members; each keeps its own penalty window and rng.
    std::vector<sampler_params> ps(3);
    ps[0].repeat_penalty = 1.1f;
    ps[0].top_k = 40;
    ps[1].typical_p = 0.9f;
    ps[1].min_p = 0.05f;
    ps[1].temperature_first = false;
    ps[2].temperature = 0.0f;
    auto run = [&](bool share) {
        sampler_scratch shared;
        std::vector<sampler> ss;
        std::vector<rng> rs;
        for (size_t i = 0; i < ps.size(); ++i) {
            ss.emplace_back(ps[i]);
            rs.emplace_back(100 + i);
        }
        if (share)
            for (sampler& s : ss) s.use_scratch(&shared);
        rng lg(9);
        std::vector<float> logits(3000);
        std::vector<token_id> out;
        for (int step = 0; step < 150; ++step)
            for (size_t i = 0; i < ss.size(); ++i) {
                for (float& x : logits) x = float(lg.next_double() * 10.0);
                const token_id t = *ss[i].sample(logits.data(), logits.size(), rs[i]);
                ss[i].accept(t);
                out.push_back(t);
            }
        if (share) {
            for (const sampler& s : ss) CHECK(s.owned_scratch_bytes() == 0);
            CHECK(shared.byte_size() >= logits.size() * (sizeof(candidate) + sizeof(float)));
        } else {
            for (const sampler& s : ss) CHECK(s.owned_scratch_bytes() >= logits.size() * sizeof(float));
        }
        return out;
    };
    CHECK(run(true) == run(false));
}

TEST_CASE("sampler: reserve sizes the scratch before the first call; the tokens do not change") {
    // The per-entry buffers a call over the vocabulary writes (logits, exps, bucket numbers, ids; the biased
    // logits with a bias; the scores with typical-p) are there before the first sample(): a reserved
    // sampler's first calls add at most the small per-bucket pick lists, and it draws what an unreserved
    // one draws.
    const size_t n = 20000;
    std::vector<sampler_params> ps(3);
    ps[1].biases.push_back(logit_bias{5, -std::numeric_limits<float>::infinity()});  // masked: ids written
    ps[1].top_k = 100;
    ps[2].typical_p = 0.9f;
    ps[2].repeat_penalty = 1.1f;
    for (const sampler_params& p : ps) {
        sampler reserved(p), plain(p);
        reserved.reserve(n);
        const size_t before = reserved.owned_scratch_bytes();
        CHECK(plain.owned_scratch_bytes() == 0);
        CHECK(before >= n * (2 * sizeof(float) + sizeof(double) + sizeof(uint16_t)));
        rng lr(3), ra(11), rb(11);
        std::vector<float> logits(n);
        for (int step = 0; step < 20; ++step) {
            for (float& x : logits) x = float(lr.next_double() * 8.0);
            const token_id a = *reserved.sample(logits.data(), n, ra), b = *plain.sample(logits.data(), n, rb);
            CHECK(a == b);
            reserved.accept(a);
            plain.accept(b);
        }
        CHECK(reserved.owned_scratch_bytes() <= before + n * sizeof(uint32_t) / 4);
        CHECK(plain.owned_scratch_bytes() <= reserved.owned_scratch_bytes());
    }
    sampler too_big;
    too_big.reserve(sampler::max_vocab + 1);  // refused by sample() anyway: nothing reserved
    CHECK(too_big.owned_scratch_bytes() == 0);
}

// ---------------------------------------------------------------------------------------------
// The threshold-search chain against a straightforward sort-based reference: large flat vocabularies,
// ties, masked entries, extreme ranges and odd sizes.
namespace {

bool rank_before(const std::pair<token_id, double>& a, const std::pair<token_id, double>& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
}

// The whole chain (no bias / penalties), written the obvious way: sort by (logit desc, id) for every
// rank filter, std::exp / std::log, sums in rank order. Logits are the sampler's floats (the same
// float division by the temperature), then double.
std::map<token_id, double> ref_chain(const std::vector<float>& logits, const sampler_params& P) {
    std::vector<std::pair<token_id, double>> c;
    for (size_t i = 0; i < logits.size(); ++i) {
        const float l = logits[i];
        if (l == l && l != -std::numeric_limits<float>::infinity())
            c.push_back({token_id(i), double(P.temperature_first ? l / P.temperature : l)});
    }
    const size_t keep = std::max<size_t>(1, P.min_keep);
    auto probs = [](const std::vector<std::pair<token_id, double>>& v) {
        double mx = -1e300, sum = 0;
        for (auto& e : v) mx = std::max(mx, e.second);
        std::vector<double> p;
        for (auto& e : v) {
            p.push_back(std::exp(e.second - mx));
            sum += p.back();
        }
        for (double& x : p) x /= sum;
        return p;
    };
    auto top_k = [&](size_t k) {
        if (k >= c.size()) return;
        std::sort(c.begin(), c.end(), rank_before);
        c.resize(k);
    };
    if (P.top_k > 0) top_k(std::max(size_t(P.top_k), keep));
    if (P.typical_p < 1.0f) {
        // -log p_i = log Σ exp(l - max) - (l_i - max): exact also where p_i underflows to 0.
        const std::vector<double> p = probs(c);
        double mx = -1e300, sum = 0;
        for (auto& e : c) mx = std::max(mx, e.second);
        for (auto& e : c) sum += std::exp(e.second - mx);
        std::vector<double> nlp(c.size());
        double h = 0;
        for (size_t i = 0; i < c.size(); ++i) {
            nlp[i] = std::log(sum) - (c[i].second - mx);
            h += p[i] * nlp[i];
        }
        std::vector<size_t> order(c.size());
        std::iota(order.begin(), order.end(), size_t(0));
        std::vector<double> score(c.size());
        for (size_t i = 0; i < c.size(); ++i) score[i] = std::fabs(nlp[i] - h);
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return score[a] < score[b] || (score[a] == score[b] && c[a].first < c[b].first);
        });
        double cum = 0;
        size_t n = 0;
        while (n < order.size()) {
            cum += p[order[n]];
            ++n;
            if (cum >= double(P.typical_p) && n >= keep) break;
        }
        std::vector<std::pair<token_id, double>> kept;
        for (size_t i = 0; i < n; ++i) kept.push_back(c[order[i]]);
        c = kept;
    }
    if (P.top_p < 1.0f) {
        std::sort(c.begin(), c.end(), rank_before);
        const std::vector<double> p = probs(c);
        double cum = 0;
        size_t n = 0;
        while (n < c.size()) {
            cum += p[n];
            ++n;
            if (cum >= double(P.top_p) && n >= keep) break;
        }
        c.resize(n);
    }
    if (P.min_p > 0.0f) {
        double mx = -1e300;
        for (auto& e : c) mx = std::max(mx, e.second);
        std::vector<std::pair<token_id, double>> kept;
        for (auto& e : c)
            if (std::exp(e.second - mx) >= double(P.min_p)) kept.push_back(e);
        if (kept.size() < keep)
            top_k(keep);
        else
            c = kept;
    }
    if (!P.temperature_first)
        for (auto& e : c) e.second = double(float(e.second) / P.temperature);
    const std::vector<double> p = probs(c);
    std::map<token_id, double> out;
    for (size_t i = 0; i < c.size(); ++i) out[c[i].first] = p[i];
    return out;
}

// Logit vectors that stress the selection: flat normal (narrow and wide), a few tokens far above a
// bulk, heavy ties, all equal, masked entries (-inf, NaN), an extreme range, two modes far apart.
std::vector<float> stress_logits(int kind, size_t n, rng& g) {
    std::vector<float> l(n);
    auto normal = [&]() {
        const double u1 = 1.0 - g.next_double(), u2 = g.next_double();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    };
    for (float& x : l) {
        switch (kind) {
        case 0: x = float(0.3 * normal()); break;                        // flat: top-p keeps most
        case 1: x = float(2.0 * normal()); break;                        // wider
        case 2: x = float(0.5 * double(g.below(5))); break;              // five values: ties everywhere
        case 3: x = 1.25f; break;                                        // all equal
        case 7: x = float(normal() - (g.below(2) == 0 ? 0.0 : 200.0)); break;  // two modes 200 apart
        case 4: {                                                        // masked entries mixed in
            const uint32_t k = g.below(20);
            x = k == 0 ? -std::numeric_limits<float>::infinity()
                       : (k == 1 ? std::numeric_limits<float>::quiet_NaN() : float(normal()));
            break;
        }
        default: x = float(normal()); break;
        }
    }
    if (kind == 5)  // extreme range: a few huge logits and a far-below tail over a normal bulk
        for (size_t k = 0; k < std::min<size_t>(n, 6); ++k) l[g.below(uint32_t(n))] = (k % 2 == 0 ? 1e30f : -1e30f) * float(k + 1);
    if (kind == 6)  // peaked: 20 tokens 12–18 above the bulk
        for (int k = 0; k < 20; ++k) l[g.below(uint32_t(n))] = float(12.0 + 6.0 * g.next_double());
    if (n > 0 && kind == 4) l[0] = 0.5f;  // at least one finite
    return l;
}

std::vector<sampler_params> stress_configs() {
    std::vector<sampler_params> v;
    sampler_params r1;  // T 0.6, top-p 0.95
    v.push_back(r1);
    sampler_params k = r1;
    k.top_k = 40;
    k.top_p = 1.0f;
    v.push_back(k);
    sampler_params kp = r1;
    kp.top_k = 40;
    v.push_back(kp);
    sampler_params mp = r1;
    mp.top_p = 1.0f;
    mp.min_p = 0.05f;
    v.push_back(mp);
    sampler_params ty = r1;
    ty.typical_p = 0.9f;
    v.push_back(ty);
    sampler_params ll = r1;
    ll.temperature_first = false;
    ll.temperature = 0.8f;
    ll.min_p = 0.05f;
    v.push_back(ll);
    sampler_params keep = r1;
    keep.min_keep = 5;
    keep.top_p = 0.5173f;  // not k/n for any size here: no exact ties of the running sum with the target
    keep.min_p = 0.9f;
    v.push_back(keep);
    sampler_params mix = r1;
    mix.top_k = 1000;
    mix.typical_p = 0.4871f;
    mix.top_p = 0.999f;
    mix.min_keep = 3;
    v.push_back(mix);
    sampler_params fallback = r1;  // min-p above 1: nothing passes, top-k(keep) over top-p's survivors
    fallback.top_p = 0.9f;
    fallback.min_p = 2.0f;
    fallback.min_keep = 7;
    v.push_back(fallback);
    sampler_params deep = r1;  // a k past select()'s 64-logit window (bimodal logits): the overflow bucket
    deep.top_k = 3000;
    deep.top_p = 1.0f;
    v.push_back(deep);
    sampler_params ty2 = r1;  // typical then top-p, llama order, small typical mass
    ty2.typical_p = 0.3f;
    ty2.temperature_first = false;
    ty2.temperature = 1.3f;
    v.push_back(ty2);
    return v;
}

void check_against(const sampler& s, const std::map<token_id, double>& expect, const std::string& what) {
    const auto& c = s.candidates();
    INFO(what);
    REQUIRE(c.size() == expect.size());
    double total = 0, worst = 0;
    size_t out_of_order = 0, unexpected = 0;
    token_id prev = -1;
    for (const candidate& k : c) {  // one CHECK per vocabulary, not per token: 152k-entry cases stay fast
        out_of_order += k.id > prev ? 0 : 1;
        prev = k.id;
        auto it = expect.find(k.id);
        if (it == expect.end()) {
            ++unexpected;
            continue;
        }
        // Relative 1e-9; below 1e-20 absolute the sampler's e^-64 cutoff (p = 0) is allowed.
        const double d = std::fabs(k.p - it->second);
        worst = std::max(worst, d <= 1e-20 ? 0.0 : d / it->second);
        total += k.p;
    }
    CHECK(unexpected == 0);
    CHECK(out_of_order == 0);  // candidates() lists the survivors in id order
    CHECK(worst <= 1e-9);
    CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
}

}  // namespace

TEST_CASE("sampler: threshold search equals the sort-based reference (sizes, ties, masks, extremes)") {
    // 11 configurations × 8 logit kinds × odd sizes around the 48-entry sort cutoff and a 2048-bucket
    // histogram, and two full 151,936-token vocabularies. Tolerance: the same survivors; p within 1e-9
    // relative (or 1e-20 absolute: the sampler counts tokens more than 64 logits below the top as 0).
    const std::vector<size_t> sizes = {1, 2, 3, 47, 48, 49, 97, 1000, 4099, 65537};
    const auto configs = stress_configs();
    rng g(31337);
    for (size_t n : sizes)
        for (int kind = 0; kind < 8; ++kind) {
            const std::vector<float> l = stress_logits(kind, n, g);
            for (size_t ci = 0; ci < configs.size(); ++ci) {
                if (n == 65537 && ci % 3 != 0) continue;  // keep the test short
                sampler s(configs[ci]);
                REQUIRE(s.filter(l.data(), n).ok());
                const std::string what = "n " + std::to_string(n) + ", kind " + std::to_string(kind) + ", config " + std::to_string(ci);
                check_against(s, ref_chain(l, configs[ci]), what);
            }
        }
    for (int kind : {0, 2}) {
        const std::vector<float> l = stress_logits(kind, 151936, g);
        for (size_t ci : {size_t(0), size_t(2), size_t(4)}) {
            sampler s(configs[ci]);
            REQUIRE(s.filter(l.data(), l.size()).ok());
            const std::string what = "151936, kind " + std::to_string(kind) + ", config " + std::to_string(ci);
            check_against(s, ref_chain(l, configs[ci]), what);
        }
    }
}

TEST_CASE("sampler: the draw inverts the reference CDF in id order") {
    // For each draw, u is the rng's next double (read from a copy first); the token must be the first
    // survivor in id order where the reference cumulative probability exceeds u. Draws within 1e-9 of a
    // boundary are skipped (rounding may go either way there).
    const auto configs = stress_configs();
    rng g(77);
    int checked = 0, skipped = 0;
    for (size_t ci : {size_t(0), size_t(1), size_t(3), size_t(4), size_t(5)}) {
        const std::vector<float> l = stress_logits(ci == 4 ? 2 : 0, 3001, g);
        const auto ref = ref_chain(l, configs[ci]);
        sampler s(configs[ci]);
        rng r(1000 + ci);
        for (int k = 0; k < 400; ++k) {
            rng peek = r;
            const double u = peek.next_double();
            const token_id t = *s.sample(l.data(), l.size(), r);
            double cum = 0;
            token_id expect = ref.rbegin()->first;
            bool near = false;
            for (auto& e : ref) {  // std::map: id order
                cum += e.second;
                near = near || std::fabs(cum - u) < 1e-9;
                if (cum > u) {
                    expect = e.first;
                    break;
                }
            }
            if (near) {
                ++skipped;
                continue;
            }
            CHECK(t == expect);
            ++checked;
        }
    }
    CHECK(checked > 1900);
    MESSAGE("draws checked ", checked, ", skipped near a boundary ", skipped);
}

TEST_CASE("sampler: empirical frequencies after top-p follow the reference (binomial 5 sigma)") {
    rng g(5);
    const std::vector<float> l = stress_logits(1, 60, g);
    sampler_params p;  // R1 defaults
    const auto ref = ref_chain(l, p);
    sampler s(p);
    rng r(2026);
    std::map<token_id, int> counts;
    const int n = 60000;
    for (int i = 0; i < n; ++i) ++counts[*s.sample(l.data(), l.size(), r)];
    for (auto& e : counts) CHECK(ref.count(e.first) == 1);  // only survivors are drawn
    for (auto& e : ref) {
        const double sd = std::sqrt(e.second * (1 - e.second) / n);
        CHECK(std::fabs(counts[e.first] / double(n) - e.second) <= 5 * sd + 1e-12);
    }
}
