// bench/timing.hpp — the clocks every benchmark reads: wall seconds since a start, and the process's CPU
// seconds (user + system, all threads), whose ratio to wall time says how busy a shared machine was.
#pragma once

#include <chrono>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#endif

namespace noggin_bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// CPU time of this process so far (0 where getrusage does not exist).
inline double cpu_seconds() {
#if defined(__unix__) || defined(__APPLE__)
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
#else
    return 0.0;
#endif
}

}  // namespace noggin_bench
