// tests/capi/capi_impl.cpp — the test binary's one translation unit with the C API implementation, as a
// host would write it.
#define NOGGIN_IMPLEMENTATION
#include "noggin.h"
