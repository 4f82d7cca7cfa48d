// noggin/sample/sampler.hpp — the sampler chain: logits in, one token id out.
//
// One `sampler` holds its parameters, a window of recently accepted tokens (for the penalties) and
// scratch buffers reused across calls (no allocation per token after the first; several samplers may
// share one scratch, see sampler_scratch). The draw uses the caller's `rng`, so a session owns and
// saves its own random state. The same seed, parameters and logits give the same token on every
// platform: probabilities use our own exp/log in double precision (no libm differences), every sum
// runs in a fixed order (sum_fixed: eight interleaved partial sums, the same scalar or vectorized),
// every rank is taken in the total order (logit descending, then id), and the draw walks the
// survivors in id order.
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
// Cost: O(n_vocab) per call with small constants for any parameters and any logits — no sort of the
// vocabulary. The survivors live in compact arrays (id, logit, e = exp(logit - max)) built in one
// pass; a truncation filter finds its cut by a threshold search (select(): a histogram of the
// survivors over 2048 buckets of the sort key holding the count or the probability mass per bucket,
// refining only the bucket where the running total crosses the target, then sorting the few dozen
// entries left) and turns the dropped entries into holes (logit -inf, e 0) in one vectorizable pass;
// only top-k, which keeps few, compacts. Each exp is computed once (branch-free, so the loop
// vectorizes) and reused by every later stage while the maximum and the temperature stay the same,
// with the sums per block of 512 taken on the way. On a 152k vocabulary with R1 defaults and flat
// logits one sample() takes ≈ 0.45 ms where the sorting chain took 10–30 ms; greedy ≈ 0.06 ms
// (noggin-bench-sampler, bench/NOTES.md).
//
// Sections: math helpers (portable exp/log, fixed-order sum) · sampler_params · candidate ·
//           sampler_scratch · sampler (chain, select(), draw)
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

// e^x for x <= 709; 0 below -700 and for NaN. Cody–Waite reduction x = k·ln2 + r, |r| <= ln2/2 (k the
// nearest integer to x/ln2, found by adding 1.5·2^52), then a degree-13 Taylor polynomial (error < 1 ulp
// on that interval) scaled by 2^k built from the exponent bits. Branch-free, so loops over arrays of it
// vectorize (the same operations per element either way: identical results).
inline double exp_portable(double x) {
    const bool under = !(x > -700.0);  // also NaN
    const double xc = under ? 0.0 : (x > 709.0 ? 709.0 : x);
    const double inv_ln2 = 1.4426950408889634074;
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0;  // 1.5·2^52: t's last mantissa bit is worth 1
    const double t = xc * inv_ln2 + shifter;    // = shifter + k, k = round(x / ln2) in [-1010, 1023]
    const double k = t - shifter;
    const double r = (xc - k * ln2_hi) - k * ln2_lo;
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
    uint64_t tb;
    std::memcpy(&tb, &t, sizeof tb);
    const uint64_t bits = (tb + 1023u) << 52;  // t's low bits hold k: the exponent field becomes k + 1023
    double scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return under ? 0.0 : p * scale;
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

// Σ x[0..n) in a fixed order: lane l (0..7) sums x[l], x[l+8], … in turn, then
// ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)). Every lane is a sequential sum, so a vectorized loop gives
// the same bits as a scalar one.
inline double sum_fixed(const double* x, size_t n) {
    double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t l = 0; l < 8; ++l) a[l] += x[i + l];
    for (size_t l = 0; i + l < n; ++l) a[l] += x[i + l];
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// Smallest and largest of x[0..n), n >= 1 (no NaN). Sixteen independent lanes, so the compiler may
// use vector min/max without reordering a reduction it must keep in order.
template <class T>
inline void min_max(const T* x, size_t n, T& lo, T& hi) {
    T a[16], b[16];
    for (size_t l = 0; l < 16; ++l) a[l] = b[l] = x[0];
    const size_t full = n - n % 16;
    for (size_t i = 0; i < full; i += 16)
        for (size_t l = 0; l < 16; ++l) {
            a[l] = x[i + l] < a[l] ? x[i + l] : a[l];
            b[l] = x[i + l] > b[l] ? x[i + l] : b[l];
        }
    for (size_t i = full; i < n; ++i) {
        a[0] = x[i] < a[0] ? x[i] : a[0];
        b[0] = x[i] > b[0] ? x[i] : b[0];
    }
    lo = a[0];
    hi = b[0];
    for (size_t l = 1; l < 16; ++l) {
        lo = a[l] < lo ? a[l] : lo;
        hi = b[l] > hi ? b[l] : hi;
    }
}

// Smallest finite-or-+inf and largest of x[0..n), n >= 1, skipping -inf (holes): lo = +inf when all are.
inline void min_max_live(const float* x, size_t n, float& lo, float& hi) {
    const float inf = std::numeric_limits<float>::infinity();
    float a[16], b[16];
    for (size_t l = 0; l < 16; ++l) {
        a[l] = inf;
        b[l] = -inf;
    }
    const size_t full = n - n % 16;
    for (size_t i = 0; i < full; i += 16)
        for (size_t l = 0; l < 16; ++l) {
            const float v = x[i + l], w = v == -inf ? inf : v;  // a hole never is the smallest
            a[l] = w < a[l] ? w : a[l];
            b[l] = v > b[l] ? v : b[l];
        }
    for (size_t i = full; i < n; ++i) {
        const float v = x[i], w = v == -inf ? inf : v;
        a[0] = w < a[0] ? w : a[0];
        b[0] = v > b[0] ? v : b[0];
    }
    lo = a[0];
    hi = b[0];
    for (size_t l = 1; l < 16; ++l) {
        lo = a[l] < lo ? a[l] : lo;
        hi = b[l] > hi ? b[l] : hi;
    }
}

// The first i with x[i] == v (v is among x[0..n)): sixteen at a time.
inline size_t first_equal(const float* x, size_t n, float v) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        int any = 0;
        for (size_t l = 0; l < 16; ++l) any |= x[i + l] == v ? 1 : 0;
        if (any != 0) break;
    }
    while (i + 1 < n && x[i] != v) ++i;
    return i;
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
// one thread) can share one through sampler::use_scratch, so a 152k-token vocabulary's ≈ 2.2 MiB
// (logits and exps of the survivors, bucket numbers; ids only where some are masked; + 0.6 MiB with
// biases or penalties, + 1.2 MiB with typical-p) is paid once per group instead of once per member. Sizes are in entries; m = the number of survivors so far (≤ n_vocab).
struct sampler_scratch {
    std::vector<candidate> cand;      // candidates(): the survivors in id order, built on request
    std::vector<float> work;          // logits after bias + penalties (n_vocab; used only when any apply)
    std::vector<token_id> id;         // the entries' ids, increasing (the first `size` live or holes; capacity n_vocab;
                                      // not written while entry j is token j)
    std::vector<float> lg;            // their logits as the chain has changed them so far; -inf = a hole (cut)
    std::vector<double> e;            // their exp(logit - max logit), once computed (0 below e^-64 and for holes)
    std::vector<double> key;          // typical-p: their scores |-log p - H|; also a temporary
    std::vector<uint16_t> bucket;     // select(): each entry's histogram bucket (2048 = a hole)
    std::vector<uint32_t> pick;       // select(): positions in the bucket being refined
    std::vector<uint32_t> pick2;      // select(): the same, next level
    std::vector<double> hist;         // select(): count or mass per bucket
    std::vector<double> block;        // the draw: mass per 512 survivors
    std::vector<token_id> counts;     // the penalty window, sorted

    // Bytes held (capacities).
    size_t byte_size() const {
        return cand.capacity() * sizeof(candidate) + (work.capacity() + lg.capacity()) * sizeof(float) +
               (id.capacity() + counts.capacity()) * sizeof(token_id) +
               (e.capacity() + key.capacity() + hist.capacity() + block.capacity()) * sizeof(double) +
               bucket.capacity() * sizeof(uint16_t) + (pick.capacity() + pick2.capacity()) * sizeof(uint32_t);
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

    // Run the whole chain over `logits[0..n_vocab)` (not modified) and draw one token with `r`:
    // u = r.next_double(), and the token is the first survivor in id order at which the running sum of
    // the survivors' exp(logit - max) exceeds u · their total (sums in blocks of 512 survivors, each
    // block by detail::sum_fixed, then entry by entry inside the block that crosses). Every sampled
    // token takes exactly one draw, also when one survivor is left; greedy (temperature <= 0) does not
    // touch `r`. Errors: invalid_argument for null logits, n_vocab 0 or above max_vocab, or when every
    // logit is -inf/NaN after bias and penalties.
    result<token_id> sample(const float* logits, size_t n_vocab, rng& r) {
        NOGGIN_TRY(filter(logits, n_vocab));
        if (live_ == 1) {
            if (params_.temperature > 0.0f) (void)r.next_u64();  // one draw per sampled token, always
            return id_at(first_live());
        }
        return draw(r.next_double());
    }

    // Stages 1–10 only: afterwards candidates() gives the survivors with probabilities that sum to
    // 1 (greedy: the single argmax with p = 1). Same errors as sample().
    status filter(const float* logits, size_t n_vocab) {
        if (logits == nullptr || n_vocab == 0 || n_vocab > max_vocab)
            return status(status_code::invalid_argument, str("sampler: bad logits (n_vocab ", n_vocab, ")"));
        sampler_scratch& s = sc();  // once: the loops below run over n_vocab entries
        cand_ready_ = false;
        e_ok_ = blocks_ok_ = holes_ = cut_ = false;
        size_ = live_ = 0;
        const float* src = logits;
        const bool penalties = params_.penalty_last_n > 0 && !history_.empty() &&
                               (params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f || params_.presence_penalty != 0.0f);
        if (!params_.biases.empty() || penalties) {
            s.work.assign(logits, logits + n_vocab);
            for (const logit_bias& b : params_.biases)
                if (b.token >= 0 && size_t(b.token) < n_vocab) s.work[size_t(b.token)] += b.bias;
            if (penalties) apply_penalties(s.work.data(), n_vocab);
            src = s.work.data();
        }
        if (s.lg.size() < n_vocab) s.lg.resize(n_vocab);  // s.id grows only where ids are written
        // 3. survivors: finite logits (+inf is treated as a forced token: it wins outright); 5. the
        // temperature when it comes first (greedy: the logits as they are).
        const bool greedy = !(params_.temperature > 0.0f);
        const float t = !greedy && params_.temperature_first ? params_.temperature : 1.0f;
        const size_t m = load(src, n_vocab, t);
        if (m == 0) return status(status_code::invalid_argument, "sampler: every token is masked (-inf/NaN logits)");
        size_ = live_ = m;
        const float* lg = s.lg.data();
        // 4. greedy
        if (greedy) {
            const size_t best = detail::first_equal(lg, m, mx_);  // first (lowest id) wins ties
            set_single(id_at(best), lg[best]);
            return status();
        }
        if (mx_ == std::numeric_limits<float>::infinity()) {  // forced: keep only the first +inf
            set_single(id_at(detail::first_equal(lg, m, mx_)), 0.0f);
            return status();
        }
        const size_t keep = params_.min_keep < 1 ? 1 : params_.min_keep;
        if (params_.top_k > 0 && size_t(params_.top_k) < live_) top_k(std::max(size_t(params_.top_k), keep));
        if (params_.typical_p < 1.0f) typical(keep);
        if (params_.top_p < 1.0f) top_p(keep);
        if (params_.min_p > 0.0f) min_p(keep);
        if (!params_.temperature_first) apply_temperature();
        masses();
        return status();
    }

    // Survivors of the last filter()/sample() call, in id order, with p summing to 1 (built on the
    // first call after a filter; with a shared scratch valid until any sharing sampler filters again;
    // not safe to call from two threads at once).
    const std::vector<candidate>& candidates() const {
        sampler_scratch& s = msc();
        if (!cand_ready_) {
            s.cand.clear();
            if (live_ != 0) {
                const double inv = 1.0 / block_total(s);
                for (size_t j = 0; j < size_; ++j)
                    if (s.lg[j] != -std::numeric_limits<float>::infinity()) s.cand.push_back(candidate{id_at(j), s.lg[j], s.e[j] * inv});
            }
            cand_ready_ = true;
        }
        return s.cand;
    }

    // Work in `shared` from now on (its owner keeps it alive and never lets two sharing samplers run
    // at once); this sampler's own buffers are freed. Null: back to buffers of its own. Tokens are
    // the same either way: nothing in the scratch carries over between calls.
    void use_scratch(sampler_scratch* shared) {
        shared_ = shared;
        own_ = sampler_scratch();
        size_ = live_ = 0;
        cand_ready_ = false;
    }
    // Bytes of the buffers this sampler owns (0 while it uses a shared scratch).
    size_t owned_scratch_bytes() const { return own_.byte_size(); }

    // Size the scratch in use (its own or the shared one) for filter() calls over `n_vocab` entries with
    // the current parameters, writing every page now. The buffers otherwise grow inside the first calls
    // that need them, and touching fresh pages there costs milliseconds (a 152k vocabulary's first
    // sample(): 7.3–7.7 ms, later ones 1.4–1.6 ms, in a VM where page faults are dear): a reasoner
    // reserves when it is created or changes scratch, so its first token inside a frame-sliced step() is
    // no slower than the rest. n_vocab above max_vocab: nothing is reserved (sample() refuses it).
    void reserve(size_t n_vocab) {
        if (n_vocab > max_vocab) return;
        sampler_scratch& s = sc();
        auto at_least = [n_vocab](auto& v) {
            if (v.size() < n_vocab) v.resize(n_vocab);
        };
        at_least(s.lg), at_least(s.e), at_least(s.bucket), at_least(s.id);
        const bool penalties = params_.penalty_last_n > 0 &&
                               (params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f || params_.presence_penalty != 0.0f);
        if (!params_.biases.empty() || penalties) at_least(s.work);
        if (params_.typical_p < 1.0f) at_least(s.key);
        if (s.block.size() < n_vocab / block_len + 1) s.block.resize(n_vocab / block_len + 1);
        if (s.hist.size() < n_buckets + 2) s.hist.resize(n_buckets + 2);
    }

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
    static constexpr size_t npos = size_t(-1);
    static constexpr size_t n_buckets = 2048;   // select(): histogram resolution per level
    static constexpr size_t small_select = 48;  // select(): at most this many entries are simply sorted
    static constexpr size_t block_len = 512;    // survivors per block sum (masses, cuts, the draw)
    static constexpr double logit_window = 64.0;  // select() buckets logits within this of the maximum (e > 0 there)
    static constexpr float ninf = -std::numeric_limits<float>::infinity();

    // The rank order of the logit filters: logit descending, then id ascending (positions in the
    // compact arrays increase with the id); holes (-inf) come last. value() is non-decreasing along
    // that order (the histogram key; +inf for holes).
    struct logit_order {
        const float* lg;
        double top;       // the largest logit
        float low;        // the smallest live logit when known (from load()), else NaN
        double value(size_t j) const { return top - double(lg[j]); }
        bool before(size_t a, size_t b) const { return lg[a] > lg[b] || (lg[a] == lg[b] && a < b); }
        float at(size_t j) const { return lg[j]; }
        bool at_or_before(size_t j, float v, size_t p) const { return (lg[j] > v) | ((lg[j] == v) & (j <= p)); }
        // value() over the live entries of [0, m): lo = top - the largest, hi = top - the smallest.
        void range(size_t m, double& lo, double& hi) const {
            float a = low, b = float(top);
            if (!(a == a)) detail::min_max_live(lg, m, a, b);
            lo = top - double(b);
            hi = top - double(a);
        }
    };
    // Typical-p's order: score ascending, then id (used only while there are no holes).
    struct score_order {
        const double* key;
        double value(size_t j) const { return key[j]; }
        bool before(size_t a, size_t b) const { return key[a] < key[b] || (key[a] == key[b] && a < b); }
        double at(size_t j) const { return key[j]; }
        bool at_or_before(size_t j, double v, size_t p) const { return (key[j] < v) | ((key[j] == v) & (j <= p)); }
        void range(size_t m, double& lo, double& hi) const { detail::min_max(key, m, lo, hi); }
    };

    // Stage 3 (and 5): lg = src ÷ t, id = i, for the finite entries; sets mx_. Returns their number.
    size_t load(const float* src, size_t n, float t) {
        sampler_scratch& s = sc();
        float* lg = s.lg.data();
        float lo[16], hi[16];
        int32_t bad[16];
        for (size_t l = 0; l < 16; ++l) {
            lo[l] = std::numeric_limits<float>::infinity();
            hi[l] = ninf;
            bad[l] = 0;
        }
        const size_t full = n - n % 16;
        for (size_t i = 0; i < full; i += 16)  // one pass, sixteen lanes (vectorizes)
            for (size_t l = 0; l < 16; ++l) {
                const float x = src[i + l];
                const float y = t == 1.0f ? x : x / t;
                lg[i + l] = y;
                lo[l] = y < lo[l] ? y : lo[l];
                hi[l] = y > hi[l] ? y : hi[l];
                bad[l] += (x == x && x != ninf) ? 0 : 1;
            }
        for (size_t i = full; i < n; ++i) {
            const float x = src[i];
            const float y = t == 1.0f ? x : x / t;
            lg[i] = y;
            lo[0] = y < lo[0] ? y : lo[0];
            hi[0] = y > hi[0] ? y : hi[0];
            bad[0] += (x == x && x != ninf) ? 0 : 1;
        }
        float mx = hi[0], mn = lo[0];
        int64_t nbad = 0;
        for (size_t l = 0; l < 16; ++l) {
            mx = hi[l] > mx ? hi[l] : mx;
            mn = lo[l] < mn ? lo[l] : mn;
            nbad += bad[l];
        }
        size_t m = n;
        dense_ = nbad == 0;  // every entry survives: ids are positions, s.id is not written
        if (nbad != 0) {  // masked entries: compact the finite ones (branch-free)
            if (s.id.size() < n) s.id.resize(n);
            token_id* id = s.id.data();
            m = 0;
            mx = ninf;
            mn = std::numeric_limits<float>::infinity();
            for (size_t k = 0; k < n; ++k) {
                const float x = src[k];
                const float y = t == 1.0f ? x : x / t;
                id[m] = token_id(k);
                lg[m] = y;
                const bool ok = x == x && x != ninf;
                mx = ok && y > mx ? y : mx;
                mn = ok && y < mn ? y : mn;
                m += ok ? 1 : 0;
            }
        }
        mx_ = mx;
        min_ = mn;  // with +inf among them min_ is not used (the forced path)
        return m;
    }

    void set_single(token_id t, float logit) {
        sampler_scratch& s = sc();
        if (s.id.empty()) s.id.resize(1);
        s.id[0] = t;
        s.lg[0] = logit;
        dense_ = false;
        if (s.e.size() < 1) s.e.resize(1);
        s.e[0] = 1.0;
        size_ = live_ = 1;
        e_ok_ = true;
        blocks_ok_ = false;
    }

    size_t first_live() const {
        const sampler_scratch& s = msc();
        size_t j = 0;
        while (j + 1 < size_ && s.lg[j] == ninf) ++j;
        return j;
    }

    void apply_penalties(float* w, size_t n) {
        const size_t cap = size_t(params_.penalty_last_n);
        const size_t m = std::min(cap, history_.size());
        std::vector<token_id>& counts = sc().counts;
        counts.assign(history_.end() - std::ptrdiff_t(m), history_.end());
        std::sort(counts.begin(), counts.end());
        for (size_t i = 0; i < counts.size();) {
            size_t j = i;
            while (j < counts.size() && counts[j] == counts[i]) ++j;
            const token_id t = counts[i];
            if (t >= 0 && size_t(t) < n) {
                float& l = w[size_t(t)];
                if (params_.repeat_penalty != 1.0f && params_.repeat_penalty > 0.0f)
                    l = l > 0.0f ? l / params_.repeat_penalty : l * params_.repeat_penalty;
                l -= float(j - i) * params_.frequency_penalty + params_.presence_penalty;
            }
            i = j;
        }
    }

    // 10. Divide the survivors' logits by the temperature (order-preserving; holes stay -inf).
    void apply_temperature() {
        const float t = params_.temperature;
        if (t == 1.0f) return;
        float* lg = sc().lg.data();
        for (size_t j = 0; j < size_; ++j) lg[j] /= t;
        mx_ /= t;  // the same division: still the maximum
        e_ok_ = blocks_ok_ = false;
        cut_ = true;
    }

    // e_j = exp(l_j - max) for the entries (0 below e^-64 — · 2^24 tokens < 1e-20, irrelevant — and for
    // holes), with the block sums (each block's e still in the cache).
    void masses() {
        if (e_ok_) return;
        sampler_scratch& s = sc();
        if (s.e.size() < size_) s.e.resize(s.lg.size());
        const size_t nb = (size_ + block_len - 1) / block_len;
        if (s.block.size() < nb) s.block.resize(nb);
        const float* lg = s.lg.data();
        double* e = s.e.data();
        const double mx = double(mx_);
        total_ = 0.0;
        for (size_t b = 0; b < nb; ++b) {
            const size_t first = b * block_len, end = std::min(size_, first + block_len);
            for (size_t j = first; j < end; ++j) {
                const double d = double(lg[j]) - mx;
                const double v = detail::exp_portable(d);
                e[j] = d < -64.0 ? 0.0 : v;
            }
            s.block[b] = detail::sum_fixed(e + first, end - first);
            total_ += s.block[b];
        }
        e_ok_ = blocks_ok_ = true;
    }

    // The survivors' total mass: each block of 512 by sum_fixed, then the blocks in order.
    double block_total(sampler_scratch& s) const {
        if (blocks_ok_) return total_;
        const size_t nb = (size_ + block_len - 1) / block_len;
        if (s.block.size() < nb) s.block.resize(nb);
        double total = 0.0;
        for (size_t b = 0; b < nb; ++b) {
            const size_t first = b * block_len;
            s.block[b] = detail::sum_fixed(s.e.data() + first, std::min(block_len, size_ - first));
            total += s.block[b];
        }
        total_ = total;
        blocks_ok_ = true;
        return total;
    }

    // 11. The first survivor (id order) where the running mass exceeds u · total.
    token_id draw(double u) {
        sampler_scratch& s = sc();
        const double target = u * block_total(s);
        const size_t nb = (size_ + block_len - 1) / block_len;
        double cum = 0.0;
        size_t last = 0;  // the last block with mass, for a u within rounding of 1
        for (size_t b = 0; b < nb; ++b) {
            if (s.block[b] > 0.0) last = b;
            if (cum + s.block[b] > target) {
                const size_t first = b * block_len, end = std::min(size_, first + block_len);
                for (size_t j = first; j < end; ++j) {
                    cum += s.e[j];
                    if (cum > target) return id_at(j);
                }
                last = b;  // rounding: the entries' running sum stops short of the block's sum
                break;
            }
            cum += s.block[b];
        }
        const size_t first = last * block_len;
        size_t j = std::min(size_, first + block_len) - 1;
        while (j > first && !(s.e[j] > 0.0)) --j;
        return id_at(j);
    }

    // --- select(): the threshold search behind top-k, top-p and typical-p.
    // The position (in the compact arrays) of the first live entry, in `ord`'s order, at which the
    // running total — 1 per entry (mass = false) or its e (mass = true) — reaches `target`; npos when
    // the total of all entries stays below it. The totals run bucket by bucket (each bucket's sum in
    // position order), then entry by entry inside the bucket that crosses.
    template <class Order>
    size_t select(const Order& ord, bool mass, double target, double window) {
        sampler_scratch& s = sc();
        const size_t m = size_;
        double lo, hi;
        ord.range(m, lo, hi);
        if (m <= small_select || !(hi > lo)) {  // few entries, or all live ones equal: sort (or keep) them
            if (s.pick.size() < m) s.pick.resize(m);
            size_t cnt = 0;
            for (size_t j = 0; j < m; ++j)
                if (!holes_ || s.lg[j] != ninf) s.pick[cnt++] = uint32_t(j);
            return walk(ord, mass, s.pick.data(), cnt, 0.0, target, false);
        }
        if (s.bucket.size() < m) s.bucket.resize(s.lg.size());
        uint16_t* bk = s.bucket.data();
        // The buckets span [lo, min(hi, window)]: far-off entries (a -1e9 bias, say) would otherwise
        // squeeze everything else into one bucket. Beyond the window: one overflow bucket, scanned last
        // (refined over its own range if the crossing lands there); holes: a bucket never scanned.
        const double hw = hi < window ? hi : window;
        const double scale = hw > lo ? double(n_buckets) / (hw - lo) : 0.0;
        const int32_t top = int32_t(n_buckets - 1), over = int32_t(n_buckets), hole = int32_t(n_buckets + 1);
        for (size_t j = 0; j < m; ++j) {  // vectorizes: value, scale, convert, clamp
            const double v = ord.value(j);
            const bool in = v <= hw;
            const int32_t b = int32_t(((in ? v : hw) - lo) * scale);
            bk[j] = uint16_t(in ? (b < top ? b : top) : (v <= hi ? over : hole));  // holes: +inf
        }
        s.hist.assign(n_buckets + 2, 0.0);
        double* h = s.hist.data();
        if (mass)
            for (size_t j = 0; j < m; ++j) h[bk[j]] += s.e[j];
        else
            for (size_t j = 0; j < m; ++j) h[bk[j]] += 1.0;
        double cum = 0.0;
        size_t b = 0;
        while (b <= n_buckets && !(cum + h[b] >= target)) cum += h[b++];
        if (b > n_buckets) return npos;
        size_t cnt = 0;
        const uint16_t want = uint16_t(b);
        size_t j = 0;
        for (; j + 16 <= m; j += 16) {  // one bucket of 2048 is rare: test 16 at once (vectorizes)
            int any = 0;
            for (size_t l = 0; l < 16; ++l) any |= bk[j + l] == want ? 1 : 0;
            if (any != 0)
                for (size_t l = 0; l < 16; ++l)
                    if (bk[j + l] == want) {
                        if (cnt == s.pick.size()) s.pick.resize(2 * cnt + 64);  // sized by the bucket, not the vocabulary
                        s.pick[cnt++] = uint32_t(j + l);
                    }
        }
        for (; j < m; ++j)
            if (bk[j] == want) {
                if (cnt == s.pick.size()) s.pick.resize(2 * cnt + 64);
                s.pick[cnt++] = uint32_t(j);
            }
        return refine(ord, mass, s.pick, s.pick2, cnt, cum, target, 1);
    }

    // select() inside one bucket's entries `in[0..cnt)` (position order, no holes): re-bucket them over
    // their own range, or sort them when few are left. `cum` is the total before them; the crossing
    // is known to lie among them up to rounding (then the last entry with weight is returned).
    template <class Order>
    size_t refine(const Order& ord, bool mass, std::vector<uint32_t>& in, std::vector<uint32_t>& out, size_t cnt,
                  double cum, double target, int depth) {
        if (cnt <= small_select || depth >= 4) return walk(ord, mass, in.data(), cnt, cum, target, true);
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (size_t i = 0; i < cnt; ++i) {
            const double v = ord.value(in[i]);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        if (!(hi > lo)) return walk(ord, mass, in.data(), cnt, cum, target, true);
        const double scale = double(n_buckets) / (hi - lo);
        const size_t top = n_buckets - 1;
        auto bucket_of = [&](uint32_t j) { return std::min(size_t((ord.value(j) - lo) * scale), top); };
        sampler_scratch& s = sc();
        s.hist.assign(n_buckets, 0.0);
        for (size_t i = 0; i < cnt; ++i) s.hist[bucket_of(in[i])] += mass ? s.e[in[i]] : 1.0;
        size_t b = 0;
        double c = cum;
        while (b < n_buckets && !(c + s.hist[b] >= target)) c += s.hist[b++];
        if (b == n_buckets) return walk(ord, mass, in.data(), cnt, cum, target, true);  // rounding
        if (out.size() < cnt) out.resize(cnt);
        size_t k = 0;
        for (size_t i = 0; i < cnt; ++i)
            if (bucket_of(in[i]) == b) out[k++] = in[i];
        return refine(ord, mass, out, in, k, c, target, depth + 1);
    }

    // Sort `list` by `ord` and add weights from `cum` on; the first position where the total reaches
    // `target`. Not reached: npos, or with `must` (the crossing was seen at bucket level) the last
    // entry with weight.
    template <class Order>
    size_t walk(const Order& ord, bool mass, uint32_t* list, size_t cnt, double cum, double target, bool must) {
        auto cmp = [&](uint32_t a, uint32_t b) { return ord.before(a, b); };
        if (!std::is_sorted(list, list + cnt, cmp)) std::sort(list, list + cnt, cmp);
        size_t last = npos;
        for (size_t i = 0; i < cnt; ++i) {
            const double w = mass ? sc().e[list[i]] : 1.0;
            cum += w;
            if (w > 0.0) last = list[i];
            if (cum >= target) return list[i];
        }
        return must && cnt != 0 ? (last != npos ? last : list[cnt - 1]) : npos;
    }

    // Keep the entries at or before position `p` in `ord`'s order: the others become holes (logit
    // -inf, e 0; one vectorized pass, the block sums redone on the way).
    template <class Order>
    void cut(const Order& ord, size_t p) {
        const auto pivot = ord.at(p);
        cut_where([&](size_t j) { return ord.at_or_before(j, pivot, p); });
    }

    template <class Keep>
    void cut_where(const Keep& keep) {
        sampler_scratch& s = sc();
        float* lg = s.lg.data();
        double* e = s.e.data();
        size_t live = 0;
        if (e_ok_) {
            const size_t nb = (size_ + block_len - 1) / block_len;
            total_ = 0.0;
            for (size_t b = 0; b < nb; ++b) {
                const size_t first = b * block_len, end = std::min(size_, first + block_len);
                for (size_t j = first; j < end; ++j) {
                    const bool in = keep(j);
                    lg[j] = in ? lg[j] : ninf;
                    e[j] = in ? e[j] : 0.0;
                    live += in ? 1 : 0;
                }
                s.block[b] = detail::sum_fixed(e + first, end - first);
                total_ += s.block[b];
            }
            blocks_ok_ = true;
        } else {
            for (size_t j = 0; j < size_; ++j) {
                const bool in = keep(j);
                lg[j] = in ? lg[j] : ninf;
                live += in ? 1 : 0;
            }
        }
        live_ = live;
        holes_ = cut_ = true;
        cand_ready_ = false;
    }

    // The later of two cut positions in `ord`'s order (npos = no cut).
    template <class Order>
    static size_t later(const Order& ord, size_t a, size_t b) {
        if (a == npos || b == npos) return npos;
        return ord.before(a, b) ? b : a;
    }

    // 6. Keep the k best (k < live_). The survivors are few: they are compacted (holes dropped).
    void top_k(size_t k) {
        if (k >= live_) return;
        sampler_scratch& s = sc();
        const logit_order ord{s.lg.data(), double(mx_), known_min()};
        const size_t p = select(ord, false, double(k), logit_window);
        const float pivot = ord.at(p);
        if (s.id.size() < k) s.id.resize(k);  // k entries are kept
        token_id* id = s.id.data();
        float* lg = s.lg.data();
        double* e = s.e.data();
        size_t n = 0;
        for (size_t j = 0; j < size_; ++j)  // position j is read before anything writes it (n <= j)
            if (ord.at_or_before(j, pivot, p)) {
                id[n] = id_at(j);
                lg[n] = lg[j];
                if (e_ok_) e[n] = e[j];
                ++n;
            }
        size_ = live_ = n;
        holes_ = blocks_ok_ = dense_ = false;
        cut_ = true;
    }

    // 8. The smallest most-probable set whose mass reaches top_p (at least `keep`).
    void top_p(size_t keep) {
        masses();
        sampler_scratch& s = sc();
        const logit_order ord{s.lg.data(), double(mx_), known_min()};
        size_t p = select(ord, true, double(params_.top_p) * block_total(s), logit_window);
        if (p == npos) return;
        if (keep > 1) {
            if (keep >= live_) return;
            p = later(ord, p, select(ord, false, double(keep), logit_window));
        }
        cut(ord, p);
    }

    // 9. Drop p < min_p · p_max, i.e. l - max < log(min_p); when fewer than `keep` pass, top-k(keep).
    void min_p(size_t keep) {
        const float* lg = sc().lg.data();
        const double cut_at = detail::log_portable(double(params_.min_p));
        const double mx = double(mx_);
        size_t count = 0;
        for (size_t j = 0; j < size_; ++j) count += double(lg[j]) - mx >= cut_at ? 1 : 0;  // holes fail
        if (count < keep) {
            top_k(keep);
            return;
        }
        if (count == live_) return;
        cut_where([&](size_t j) { return double(lg[j]) - mx >= cut_at; });
    }

    // 7. Locally typical sampling: keep the tokens whose -log p is closest to the entropy H, in
    // (|-log p - H|, id) order, until their mass reaches typical_p (at least `keep`). Runs before any
    // cut but top-k's, so there are no holes.
    void typical(size_t keep) {
        masses();
        sampler_scratch& s = sc();
        const size_t m = size_;
        const double total = block_total(s), inv = 1.0 / total;  // total >= 1: the max contributes e^0
        const double log_sum = detail::log_portable(total), mx = double(mx_);
        if (s.key.size() < m) s.key.resize(s.lg.size());
        const float* lg = s.lg.data();
        double* key = s.key.data();
        // -log p_i = log_sum - (l_i - max);  H = Σ p_i · (-log p_i)
        for (size_t j = 0; j < m; ++j) key[j] = (s.e[j] * inv) * (log_sum - (double(lg[j]) - mx));
        const double h = detail::sum_fixed(key, m);
        for (size_t j = 0; j < m; ++j) key[j] = std::fabs(log_sum - (double(lg[j]) - mx) - h);
        const score_order ord{key};
        // An entry with e > 0 has l_i - max >= -64, so its score is at most |log_sum - H| + 64.
        const double window = std::fabs(log_sum - h) + 65.0;
        size_t p = select(ord, true, double(params_.typical_p) * total, window);
        if (p == npos) return;
        if (keep > 1) {
            if (keep >= m) return;
            p = later(ord, p, select(ord, false, double(keep), window));
        }
        cut(ord, p);
        // The maximum may have been cut (typical sets often leave out the most probable tokens).
        float lo, mxn;
        detail::min_max(s.lg.data(), size_, lo, mxn);
        if (mxn != mx_) {
            mx_ = mxn;
            e_ok_ = blocks_ok_ = false;
        }
    }

    // The id of entry j.
    token_id id_at(size_t j) const { return dense_ ? token_id(j) : msc().id[j]; }

    float known_min() const { return cut_ ? std::numeric_limits<float>::quiet_NaN() : min_; }

    sampler_scratch& sc() { return shared_ != nullptr ? *shared_ : own_; }
    sampler_scratch& msc() const { return shared_ != nullptr ? *shared_ : own_; }

    sampler_params params_;
    std::vector<token_id> history_;    // accepted tokens, newest last (trimmed lazily to penalty_last_n)
    size_t size_ = 0;                  // entries in the scratch's compact arrays (survivors and holes)
    size_t live_ = 0;                  // survivors among them
    float mx_ = 0.0f;                  // the survivors' largest logit (kept current by every stage)
    float min_ = 0.0f;                 // their smallest, as load() left them (valid while !cut_)
    bool cut_ = false;                 // a cut or the final temperature changed the survivors since load()
    bool dense_ = false;               // entry j is token j (nothing compacted): scratch.id unused
    bool e_ok_ = false;                // scratch.e holds exp(lg - mx_) for every entry
    mutable bool blocks_ok_ = false;   // scratch.block and total_ hold the sums of scratch.e
    mutable double total_ = 0.0;       // Σ e over the blocks
    bool holes_ = false;               // some entries are holes (cut, logit -inf)
    mutable bool cand_ready_ = false;  // scratch.cand was built from the current survivors
    mutable sampler_scratch own_;      // this sampler's buffers (empty while it uses a shared one)
    sampler_scratch* shared_ = nullptr;  // a scratch shared with other samplers, or null
};

}  // namespace noggin::sample
