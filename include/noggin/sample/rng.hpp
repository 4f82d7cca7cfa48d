// noggin/sample/rng.hpp — the seeded random generator every sampler draw comes from.
//
// xoshiro256** (Blackman & Vigna), seeded through splitmix64. Small (32 bytes of state), fast, and
// defined only with 64-bit integer arithmetic, so the same seed yields the same numbers on every
// compiler and platform. Floats are made from the top bits by exact scaling (no
// std::uniform_real_distribution, whose algorithm is implementation-defined). The caller owns the
// generator: one per NPC/session, saved and restored with its state as bytes.
//
//     noggin::sample::rng r(1234);                 // or r.seed(1234)
//     double u = r.next_double();                  // [0, 1), 53 random bits
//     uint8_t saved[noggin::sample::rng::state_bytes];
//     r.save(saved);                               // ... later, or in another process:
//     if (!r.load(saved, sizeof saved).ok()) ...   // continues the same sequence
//
// Sections: rng (seed, draws, bounded integers) · state save/load
#pragma once

#include <cstddef>
#include <cstdint>

#include "../core/status.hpp"

namespace noggin::sample {

class rng {
public:
    static constexpr size_t state_bytes = 32;  // size of save()'s output: four little-endian uint64 words

    rng() { seed(0); }
    explicit rng(uint64_t seed_value) { seed(seed_value); }

    // Reset to the sequence of `seed_value` (any value, 0 included).
    void seed(uint64_t seed_value) {
        uint64_t x = seed_value;
        for (uint64_t& w : s_) w = splitmix64(x);
        // splitmix64 never yields four zero words in a row, but keep the invariant explicit.
        if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
    }

    // 64 uniformly random bits.
    uint64_t next_u64() {
        const uint64_t result = rotl(s_[1] * 5u, 7) * 9u;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    uint32_t next_u32() { return uint32_t(next_u64() >> 32); }

    // Uniform in [0, 1): the top 53 (double) or 24 (float) bits times 2^-53 / 2^-24 — exact on
    // every IEEE-754 platform.
    double next_double() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
    float next_float() { return float(next_u64() >> 40) * (1.0f / 16777216.0f); }

    // Uniform integer in [0, n) without modulo bias (Lemire's multiply-and-reject); 0 when n == 0.
    uint32_t below(uint32_t n) {
        if (n == 0) return 0;
        uint64_t m = uint64_t(next_u32()) * n;
        uint32_t low = uint32_t(m);
        if (low < n) {
            const uint32_t threshold = uint32_t(0u - n) % n;
            while (low < threshold) {
                m = uint64_t(next_u32()) * n;
                low = uint32_t(m);
            }
        }
        return uint32_t(m >> 32);
    }

    // --- state save/load ----------------------------------------------------------------------
    // Write the state as 32 bytes (little-endian words), independent of the host's byte order.
    void save(uint8_t out[state_bytes]) const {
        for (size_t w = 0; w < 4; ++w)
            for (size_t b = 0; b < 8; ++b) out[w * 8 + b] = uint8_t(s_[w] >> (8 * b));
    }
    // Restore a state written by save(). Errors: invalid_argument for a wrong size or the all-zero
    // state (which xoshiro can never leave); the generator is unchanged then.
    status load(const uint8_t* bytes, size_t size) {
        if (bytes == nullptr || size != state_bytes)
            return status(status_code::invalid_argument, str("rng::load: expected ", state_bytes, " bytes, got ", size));
        uint64_t s[4] = {0, 0, 0, 0};
        for (size_t w = 0; w < 4; ++w)
            for (size_t b = 0; b < 8; ++b) s[w] |= uint64_t(bytes[w * 8 + b]) << (8 * b);
        if ((s[0] | s[1] | s[2] | s[3]) == 0)
            return status(status_code::invalid_argument, "rng::load: the all-zero state is not a valid xoshiro256** state");
        for (size_t w = 0; w < 4; ++w) s_[w] = s[w];
        return status();
    }

    bool operator==(const rng& o) const { return s_[0] == o.s_[0] && s_[1] == o.s_[1] && s_[2] == o.s_[2] && s_[3] == o.s_[3]; }
    bool operator!=(const rng& o) const { return !(*this == o); }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static uint64_t splitmix64(uint64_t& x) {
        uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    uint64_t s_[4];  // xoshiro256** state; never all zero
};

}  // namespace noggin::sample
