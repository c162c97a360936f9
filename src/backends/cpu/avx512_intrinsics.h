#pragma once
// The AVX-512 intrinsics, for *_avx512.cpp files on x86-64. GCC 12's intrinsics start many
// operations from _mm512_undefined_*() values that its own -Wuninitialized then flags inside the
// header; the values are never read, so those warnings are off for the rest of the file.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
