// src/noggin_c.cpp — the one translation unit holding the C API's implementation (include/noggin.h),
// built as the `noggin_c` library target (CMake) / `noggin_c_dep` (Meson) for C hosts and bindings.
// A host that builds noggin itself can instead put these two lines into one of its own C++17 files.
#define NOGGIN_IMPLEMENTATION
#include "noggin.h"
