// noggin/sample/sampler.hpp — the sampler chain: logits in, one token id out.
//
// One `sampler` holds its parameters, a window of recently accepted tokens (for the penalties) and
// scratch buffers reused across calls (no allocation per token after the first; several samplers may
// share one scratch, see sampler_scratch). The draw uses the
// caller's `rng`, so a session owns and saves its own random state. The same seed, parameters and
// logits give the same token on every platform: probabilities use our own exp/log in double
// precision (no libm differences), every sort has a total order (logit, then id), and the draw walks
// the candidates in an order that does not depend on the standard library's nth_element.
//
//     noggin::sample::sampler_params p;            // R1 defaults: temperature 0.6, top-p 0.95
//     p.repeat_penalty = 1.1f;
//     noggin::sample::sampler s(p);
//     noggin::sample::rng r(42);
//     grammar_state.apply_mask(logits, n_vocab);   // optional: a grammar sets banned logits to -inf
//     noggin::result<int32_t> tok = s.sample(logits, n_vocab, r);
//     if (tok.ok()) s.accept(*tok);                // feeds the penalty window
//
// The chain, in order (each stage is off at its neutral value):
//   1. logit bias (per-token additive; -inf bans)      2. repetition / frequency / presence penalties
//   3. drop -inf / NaN logits (e.g. from a grammar mask) 4. greedy when temperature <= 0 (argmax)
//   5. temperature (here when temperature_first)        6. top-k   7. typical-p   8. top-p   9. min-p
//  10. temperature (here when !temperature_first)      11. seeded draw from the softmax
// temperature_first = true is the order of Hugging Face / vLLM (where DeepSeek's advice comes from);
// false is llama.cpp's order (filters see the temperature-1 distribution).
//
// Sections: math helpers (portable exp/log) · sampler_params · candidate · sampler_scratch · sampler
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "../core/status.hpp"
#include "rng.hpp"

namespace noggin::sample {

using token_id = int32_t;  // same type as noggin::text::token_id

// ---------------------------------------------------------------------------------------------
// Math helpers: exp and log from + - * / only, so results do not depend on the platform's libm.
// (A compiler that contracts a*b+c into FMA may change the last bit; a token changes only when a
// draw lands within ~1e-15 of a boundary.)
namespace detail {

// e^x for x <= 709; 0 below -700. Cody–Waite reduction x = k·ln2 + r, |r| <= ln2/2, then a degree-13
// Taylor polynomial (error < 1 ulp on that interval) scaled by 2^k built from the exponent bits.
inline double exp_portable(double x) {
    if (!(x > -700.0)) return 0.0;  // also NaN → 0
    if (x > 709.0) x = 709.0;
    const double inv_ln2 = 1.4426950408889634074;
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double k = std::floor(x * inv_ln2 + 0.5);
    const double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;  // 1/13!
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    const int64_t e = int64_t(k) + 1023;  // k in [-1010, 1023]: a normal power of two
    const uint64_t bits = uint64_t(e) << 52;
    double scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// Natural log for x > 0 (normal doubles); -inf for x <= 0. x = m·2^e with m in [√½, √2), then
// log m = 2·atanh(s), s = (m-1)/(m+1), |s| < 0.172, series to s^21.
inline double log_portable(double x) {
    if (!(x > 0.0)) return -std::numeric_limits<double>::infinity();
    if (x == std::numeric_limits<double>::infinity()) return x;
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    int64_t e = int64_t((bits >> 52) & 0x7FF) - 1023;
    if (e == -1023) return log_portable(x * 4503599627370496.0) - 52.0 * 0.69314718055994530942;  // subnormal
    bits = (bits & 0x000FFFFFFFFFFFFFull) | (uint64_t(1023) << 52);
    double m;
    std::memcpy(&m, &bits, sizeof m);
    if (m > 1.41421356237309504880) {
        m *= 0.5;
        ++e;
    }
    const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double t = 1.0 / 21.0;
    for (int d = 19; d >= 1; d -= 2) t = t * s2 + 1.0 / double(d);
    return 2.0 * s * t + double(e) * 0.69314718055994530942;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// sampler_params — every field is off at its neutral value except the R1 defaults.

// Added to one token's logit before anything else; -inf bans the token.
struct logit_bias {
    token_id token = 0;  // vocabulary id
    float bias = 0.0f;   // added to the logit (logit units); default 0
};

struct sampler_params {
    float temperature = 0.6f;         // logits are divided by this; <= 0 → greedy (argmax). default 0.6 (R1)
    float top_p = 0.95f;              // keep the most probable tokens until their mass reaches this; >= 1 off. default 0.95 (R1)
    int32_t top_k = 0;                // keep the k most probable tokens; <= 0 off. default 0 (off)
    float min_p = 0.0f;               // drop tokens with p < min_p · p_max; <= 0 off. default 0 (off)
    float typical_p = 1.0f;           // locally typical sampling mass (Meister et al. 2022); >= 1 off. default 1 (off)
    float repeat_penalty = 1.0f;      // tokens in the window: positive logits ÷ this, negative × this; 1 off. default 1
    float frequency_penalty = 0.0f;   // subtracted from a logit once per occurrence in the window (logit units). default 0
    float presence_penalty = 0.0f;    // subtracted from a logit once if it occurs in the window (logit units). default 0
    int32_t penalty_last_n = 64;      // window of recent accepted tokens the penalties look at (tokens); 0 off. default 64
    size_t min_keep = 1;              // the truncation filters (top-k/p, min-p, typical) keep at least this many. default 1
    bool temperature_first = true;    // temperature before the filters (HF/vLLM) or after them (llama.cpp). default true
    std::vector<logit_bias> biases;   // per-token additive biases, applied first; ids outside the vocab are ignored. default none
};

// One surviving token after the filters: id, its (biased, penalised, tempered) logit, and its
// probability under the final softmax over the survivors (they sum to 1 after filter()).
struct candidate {
    token_id id = 0;
    float logit = 0.0f;
    double p = 0.0;
};

// ---------------------------------------------------------------------------------------------
// sampler_scratch — the buffers one filter() call works in. Every sampler has its own; samplers that
// never filter at the same time (the members of one reasoner_group, sampled one after another on
// one thread) can share one through sampler::use_scratch, so a 152k-token vocabulary's ≈ 3 MiB
// (16-byte candidates plus the biased logits) is paid once per group instead of once per member.
struct sampler_scratch {
    std::vector<candidate> cand;    // survivors of the last filter(); [0, sorted) sorted by (logit desc, id)
    std::vector<float> work;        // logits after bias + penalties (n_vocab)
    std::vector<token_id> counts;   // the penalty window, sorted
    std::vector<double> scores;     // typical-p scores
    std::vector<uint32_t> order;    // typical-p order
    std::vector<candidate> tmp;     // typical-p survivors

    // Bytes held (capacities).
    size_t byte_size() const {
        return (cand.capacity() + tmp.capacity()) * sizeof(candidate) + work.capacity() * sizeof(float) +
               counts.capacity() * sizeof(token_id) + scores.capacity() * sizeof(double) + order.capacity() * sizeof(uint32_t);
    }
};

// ---------------------------------------------------------------------------------------------
// sampler
class sampler {
public:
    static constexpr size_t max_vocab = size_t(1) << 24;  // a larger n_vocab is refused (invalid_argument)

    explicit sampler(sampler_params params = {}) : params_(std::move(params)) {}

    const sampler_params& params() const { return params_; }
    void set_params(sampler_params params) { params_ = std::move(params); }

    // Run the whole chain over `logits[0..n_vocab)` (not modified) and draw one token with `r`.
    // Greedy (temperature <= 0) does not touch `r`. Errors: invalid_argument for null logits, n_vocab
    // 0 or above max_vocab, or when every logit is -inf/NaN after bias and penalties.
    result<token_id> sample(const float* logits, size_t n_vocab, rng& r) {
        NOGGIN_TRY(filter(logits, n_vocab));
        if (sc().cand.size() == 1) {
            if (params_.temperature > 0.0f) (void)r.next_u64();  // one draw per sampled token, always
            return sc().cand[0].id;
        }
        // Canonical order for the draw: a tail left by nth_element is put in id order.
        if (!tail_canonical_) {
            std::sort(sc().cand.begin() + std::ptrdiff_t(sorted_), sc().cand.end(),
                      [](const candidate& a, const candidate& b) { return a.id < b.id; });
            tail_canonical_ = true;
        }
        const double u = r.next_double();
        double cum = 0.0;
        for (const candidate& c : sc().cand) {
            cum += c.p;
            if (u < cum) return c.id;
        }
        return sc().cand.back().id;  // u within rounding of 1
    }

    // Stages 1–10 only: afterwards candidates() holds the survivors with probabilities that sum to
    // 1 (greedy: the single argmax with p = 1). Same errors as sample().
    status filter(const float* logits, size_t n_vocab) {
        if (logits == nullptr || n_vocab == 0 || n_vocab > max_vocab)
            return status(status_code::invalid_argument, str("sampler: bad logits (n_vocab ", n_vocab, ")"));
        sampler_scratch& s = sc();  // once: the loops below run over n_vocab entries
        s.cand.clear();
        sorted_ = 0;
        tail_canonical_ = true;
        s.work.assign(logits, logits + n_vocab);
        for (const logit_bias& b : params_.biases)
            if (b.token >= 0 && size_t(b.token) < n_vocab) s.work[size_t(b.token)] += b.bias;
        apply_penalties(s.work.data(), n_vocab);
        // 3. survivors: finite logits (+inf is treated as a forced token: it wins outright).
        s.cand.reserve(n_vocab);
        for (size_t i = 0; i < n_vocab; ++i) {
            const float l = s.work[i];
            if (l == l && l != -std::numeric_limits<float>::infinity()) s.cand.push_back(candidate{token_id(i), l, 0.0});
        }
        if (s.cand.empty()) return status(status_code::invalid_argument, "sampler: every token is masked (-inf/NaN logits)");
        // 4. greedy
        if (!(params_.temperature > 0.0f)) {
            size_t best = 0;
            for (size_t i = 1; i < s.cand.size(); ++i)
                if (s.cand[i].logit > s.cand[best].logit) best = i;  // first (lowest id) wins ties
            candidate c = s.cand[best];
            c.p = 1.0;
            s.cand.assign(1, c);
            sorted_ = 1;
            return status();
        }
        for (const candidate& c : s.cand) {
            if (c.logit == std::numeric_limits<float>::infinity()) {  // forced: keep only the first +inf
                candidate f = c;
                f.logit = 0.0f;
                f.p = 1.0;
                s.cand.assign(1, f);
                sorted_ = 1;
                return status();
            }
        }
        const size_t keep = params_.min_keep < 1 ? 1 : params_.min_keep;
        if (params_.temperature_first) apply_temperature();
        if (params_.top_k > 0 && size_t(params_.top_k) < s.cand.size()) top_k(std::max(size_t(params_.top_k), keep));
        if (params_.typical_p < 1.0f) typical(keep);
        if (params_.top_p < 1.0f) top_p(keep);
        if (params_.min_p > 0.0f) min_p(keep);
        if (!params_.temperature_first) apply_temperature();
        softmax();
        return status();
    }

    // Survivors of the last filter()/sample() call (with a shared scratch: until any sharing sampler
    // filters again).
    const std::vector<candidate>& candidates() const { return sc().cand; }

    // Work in `shared` from now on (its owner keeps it alive and never lets two sharing samplers run
    // at once); this sampler's own buffers are freed. Null: back to buffers of its own. Tokens are
    // the same either way: nothing in the scratch carries over between calls.
    void use_scratch(sampler_scratch* shared) {
        shared_ = shared;
        own_ = sampler_scratch();
    }
    // Bytes of the buffers this sampler owns (0 while it uses a shared scratch).
    size_t owned_scratch_bytes() const { return own_.byte_size(); }

    // --- penalty window
    // Record a token the session accepted (sampled or forced); the penalties look at the last
    // penalty_last_n of them.
    void accept(token_id t) {
        const size_t cap = params_.penalty_last_n > 0 ? size_t(params_.penalty_last_n) : 0;
        if (cap == 0) {
            history_.clear();
            return;
        }
        history_.push_back(t);
        if (history_.size() > 2 * cap + 64) history_.erase(history_.begin(), history_.end() - std::ptrdiff_t(cap));
    }
    // Forget the window (a new conversation).
    void reset() { history_.clear(); }
    // The window, oldest first (at most penalty_last_n tokens); a session saves and restores it.
    std::vector<token_id> history() const {
        const size_t cap = params_.penalty_last_n > 0 ? size_t(params_.penalty_last_n) : 0;
        const size_t n = std::min(cap, history_.size());
        return std::vector<token_id>(history_.end() - std::ptrdiff_t(n), history_.end());
    }
    void set_history(const token_id* tokens, size_t n) {
        history_.clear();
        for (size_t i = 0; i < n; ++i) accept(tokens[i]);
    }

private:
    static bool by_logit(const candidate& a, const candidate& b) {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    }

    void apply_penalties(float* w, size_t n) {
        const bool on = params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f || params_.presence_penalty != 0.0f;
        if (!on || params_.penalty_last_n <= 0 || history_.empty()) return;
        const size_t cap = size_t(params_.penalty_last_n);
        const size_t m = std::min(cap, history_.size());
        sc().counts.assign(history_.end() - std::ptrdiff_t(m), history_.end());
        std::sort(sc().counts.begin(), sc().counts.end());
        for (size_t i = 0; i < sc().counts.size();) {
            size_t j = i;
            while (j < sc().counts.size() && sc().counts[j] == sc().counts[i]) ++j;
            const token_id t = sc().counts[i];
            if (t >= 0 && size_t(t) < n) {
                float& l = w[size_t(t)];
                if (params_.repeat_penalty != 1.0f && params_.repeat_penalty > 0.0f)
                    l = l > 0.0f ? l / params_.repeat_penalty : l * params_.repeat_penalty;
                l -= float(j - i) * params_.frequency_penalty + params_.presence_penalty;
            }
            i = j;
        }
    }

    void apply_temperature() {
        const float t = params_.temperature;
        if (t == 1.0f) return;
        for (candidate& c : sc().cand) c.logit /= t;  // order-preserving: sorted_ stays valid
    }

    // Make sc().cand[0..m) the m best by (logit, id), sorted; sc().cand beyond stays unordered.
    void ensure_sorted(size_t m) {
        m = std::min(m, sc().cand.size());
        if (m <= sorted_) return;
        auto first = sc().cand.begin() + std::ptrdiff_t(sorted_), nth = sc().cand.begin() + std::ptrdiff_t(m);
        if (m < sc().cand.size()) {
            std::nth_element(first, nth, sc().cand.end(), by_logit);
            tail_canonical_ = false;
        }
        std::sort(first, nth, by_logit);
        sorted_ = m;
    }

    // p_i = exp(l_i - max) / Σ over sc().cand; returns log Σ exp(l - max) and fills c.p.
    double softmax() {
        float mx = -std::numeric_limits<float>::infinity();
        for (const candidate& c : sc().cand) mx = std::max(mx, c.logit);
        double sum = 0.0;
        for (candidate& c : sc().cand) {
            const double d = double(c.logit) - double(mx);
            c.p = d < -64.0 ? 0.0 : detail::exp_portable(d);  // e^-64 · 2^24 tokens < 1e-20: irrelevant
            sum += c.p;
        }
        const double inv = 1.0 / sum;  // sum >= 1 (the max contributes e^0)
        for (candidate& c : sc().cand) c.p *= inv;
        return detail::log_portable(sum);
    }

    void top_k(size_t k) {
        if (k >= sc().cand.size()) return;
        ensure_sorted(k);
        sc().cand.resize(k);
        tail_canonical_ = true;
    }

    void top_p(size_t keep) {
        softmax();
        const double target = double(params_.top_p);
        double cum = 0.0;
        size_t i = 0;
        while (i < sc().cand.size()) {
            if (i == sorted_) ensure_sorted(std::max<size_t>(64, 2 * sorted_));
            cum += sc().cand[i].p;
            ++i;
            if (cum >= target && i >= keep) break;
        }
        if (i < sc().cand.size()) {
            sc().cand.resize(i);
            tail_canonical_ = true;
        }
    }

    void min_p(size_t keep) {
        float mx = -std::numeric_limits<float>::infinity();
        for (const candidate& c : sc().cand) mx = std::max(mx, c.logit);
        // p_i >= min_p · p_max  ⇔  l_i - max >= log(min_p)
        const double cut = detail::log_portable(double(params_.min_p));
        size_t count = 0;
        for (const candidate& c : sc().cand) count += double(c.logit) - double(mx) >= cut ? 1 : 0;
        if (count < keep) {  // too few pass: keep the `keep` best instead
            top_k(keep);
            return;
        }
        size_t kept = 0, kept_sorted = 0;
        for (size_t i = 0; i < sc().cand.size(); ++i)
            if (double(sc().cand[i].logit) - double(mx) >= cut) {
                if (i < sorted_) ++kept_sorted;
                sc().cand[kept++] = sc().cand[i];
            }
        sc().cand.resize(kept);
        sorted_ = kept_sorted;  // the kept part of a sorted prefix is a sorted prefix
    }

    void typical(size_t keep) {
        const double log_sum = softmax();
        float mx = -std::numeric_limits<float>::infinity();
        for (const candidate& c : sc().cand) mx = std::max(mx, c.logit);
        // -log p_i = log_sum - (l_i - max);  H = Σ p_i · (-log p_i)
        double h = 0.0;
        for (const candidate& c : sc().cand) h += c.p * (log_sum - (double(c.logit) - double(mx)));
        sc().scores.resize(sc().cand.size());
        sc().order.resize(sc().cand.size());
        for (size_t i = 0; i < sc().cand.size(); ++i) {
            sc().scores[i] = std::fabs(log_sum - (double(sc().cand[i].logit) - double(mx)) - h);
            sc().order[i] = uint32_t(i);
        }
        std::sort(sc().order.begin(), sc().order.end(), [this](uint32_t a, uint32_t b) {
            return sc().scores[a] < sc().scores[b] || (sc().scores[a] == sc().scores[b] && sc().cand[a].id < sc().cand[b].id);
        });
        double cum = 0.0;
        size_t n = 0;
        while (n < sc().order.size()) {
            cum += sc().cand[sc().order[n]].p;
            ++n;
            if (cum >= double(params_.typical_p) && n >= keep) break;
        }
        sc().tmp.clear();
        for (size_t i = 0; i < n; ++i) sc().tmp.push_back(sc().cand[sc().order[i]]);
        std::sort(sc().tmp.begin(), sc().tmp.end(), by_logit);
        sc().cand.swap(sc().tmp);
        sorted_ = sc().cand.size();
        tail_canonical_ = true;
    }

    sampler_scratch& sc() { return shared_ != nullptr ? *shared_ : own_; }
    const sampler_scratch& sc() const { return shared_ != nullptr ? *shared_ : own_; }

    sampler_params params_;
    std::vector<token_id> history_;   // accepted tokens, newest last (trimmed lazily to penalty_last_n)
    size_t sorted_ = 0;               // length of the sorted prefix of the candidates
    bool tail_canonical_ = true;      // candidates [sorted_..) are in id order (no nth_element since the last cut)
    sampler_scratch own_;             // this sampler's buffers (empty while it uses a shared one)
    sampler_scratch* shared_ = nullptr;  // a scratch shared with other samplers, or null
};

}  // namespace noggin::sample
