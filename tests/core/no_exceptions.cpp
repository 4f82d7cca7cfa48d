// Built with -fno-exceptions -fno-rtti: proves the library headers (the whole umbrella, core first)
// need neither — game engines build so.
// A plain program, not doctest (doctest itself wants exceptions); exits non-zero on a wrong answer.
#include "noggin/core/config.hpp"
#include "noggin/core/default_thread_pool.hpp"
#include "noggin/core/dtype.hpp"
#include "noggin/core/half.hpp"
#include "noggin/core/hooks.hpp"
#include "noggin/core/status.hpp"
#include "noggin/core/tensor.hpp"
#include "noggin/noggin.hpp"

#if NOGGIN_HAS_EXCEPTIONS
#error "this translation unit must be compiled with -fno-exceptions"
#endif

int main() {
    noggin::result<int> r = noggin::status(noggin::status_code::unsupported, noggin::str("type ", 99));
    if (r.ok() || r.status().message() != "type 99") return 1;
    if (noggin::f16_to_f32(noggin::f32_to_f16(0.5f)) != 0.5f) return 2;
    std::uint64_t bytes = 0;
    if (!noggin::row_bytes(noggin::dtype::q6_k, 512, &bytes) || bytes != 420) return 3;
    noggin::default_thread_pool pool(2);
    int total[2] = {0, 0};
    pool.hook().run(
        10, [](void* ctx, std::size_t b, std::size_t e, std::size_t w) { static_cast<int*>(ctx)[w] += static_cast<int>(e - b); },
        total);
    return total[0] + total[1] == 10 ? 0 : 4;
}
