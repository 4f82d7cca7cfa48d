// noggin/core/config.hpp — version, compile-time configuration and the assertion macro.
//
// Sections: version · exceptions/RTTI detection · SIMD selection · NOGGIN_ASSERT
//
// SIMD is chosen from the host's compiler flags (-mavx2 -mfma -mf16c, -march=native, NEON on ARM).
// Define NOGGIN_SCALAR_ONLY before including any noggin header to force the portable scalar kernels.
#pragma once

#define NOGGIN_VERSION_MAJOR 0
#define NOGGIN_VERSION_MINOR 1
#define NOGGIN_VERSION_PATCH 0
#define NOGGIN_VERSION_STRING "0.1.0"

// --- exceptions / RTTI ----------------------------------------------------------------------
// noggin never throws; this only tells code that calls user callbacks whether try/catch exists.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define NOGGIN_HAS_EXCEPTIONS 1
#else
#define NOGGIN_HAS_EXCEPTIONS 0
#endif

// --- SIMD selection (compile time) --------------------------------------------------------------
// NOGGIN_SIMD_AVX2: AVX2 + FMA + F16C all enabled by the host's flags (x86-64).
// NOGGIN_SIMD_NEON: AArch64 NEON.
// Neither: scalar kernels only (always correct, always built).
#if !defined(NOGGIN_SCALAR_ONLY)
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define NOGGIN_SIMD_AVX2 1
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define NOGGIN_SIMD_NEON 1
#endif
#endif
#ifndef NOGGIN_SIMD_AVX2
#define NOGGIN_SIMD_AVX2 0
#endif
#ifndef NOGGIN_SIMD_NEON
#define NOGGIN_SIMD_NEON 0
#endif

// --- assertions for programmer mistakes -----------------------------------------------------------
// Runtime failures (bad files, out of memory) are reported with noggin::status, never asserted.
// NOGGIN_ASSERT checks API misuse in debug builds; a host may define it before including noggin to
// route it into its own assertion handler. Define NOGGIN_ENABLE_ASSERTS=1 to keep it in release.
#ifndef NOGGIN_ASSERT
#if !defined(NDEBUG) || (defined(NOGGIN_ENABLE_ASSERTS) && NOGGIN_ENABLE_ASSERTS)
#include <cassert>
#define NOGGIN_ASSERT(cond, msg) assert((cond) && (msg))
#else
#define NOGGIN_ASSERT(cond, msg) ((void)0)
#endif
#endif

namespace noggin {

// The library version at compile time, e.g. "0.1.0".
inline const char* version_string() { return NOGGIN_VERSION_STRING; }

}  // namespace noggin
