// Debian's libopenblas-dev puts cblas.h under the multiarch include directory.
#if __has_include(<x86_64-linux-gnu/cblas.h>)
#include <x86_64-linux-gnu/cblas.h>
#elif __has_include(<aarch64-linux-gnu/cblas.h>)
#include <aarch64-linux-gnu/cblas.h>
#else
#include <cblas.h>
#endif
#include <stddef.h>

// LAPACK's symmetric eigendecomposition (Float64), which Debian's OpenBLAS exports without a LAPACKE
// header. Fortran convention: every argument by pointer, then the hidden lengths of the two character
// arguments (gfortran passes them as size_t after the others).
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);
