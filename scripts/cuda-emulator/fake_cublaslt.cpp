// A fake libcublasLt.so for the emulator: cublasLtMatmul as documented (column-major, D = alpha·op(A)·op(B)
// + beta·C, A/B of type 32F, 16BF or 16F, C/D 32F), in double, checking that the layouts fit together.
#include <cstdint>
#include <cstring>
#include <vector>

typedef int cublasStatus_t;
struct Desc { int compute, scale, transa = 0, transb = 0; };
struct Layout { int type; uint64_t rows, cols; int64_t ld; };
struct Result { uint64_t algo[8]; size_t workspace; int state; float waves; int reserved[4]; };
static int dummy;

static double load(const void *p, int type, uint64_t i) {
    if (type == 0) return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    if (type == 14) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
    _Float16 x; memcpy(&x, &h, 2); return (double)x;
}

extern "C" {
cublasStatus_t cublasLtCreate(void **h) { *h = &dummy; return 0; }
cublasStatus_t cublasLtMatmulDescCreate(Desc **d, int compute, int scale) { *d = new Desc{compute, scale}; return 0; }
cublasStatus_t cublasLtMatmulDescSetAttribute(Desc *d, int a, const void *v, size_t n) {
    if (n != 4) return 7;  // CUBLAS_STATUS_INVALID_VALUE
    if (a == 3) memcpy(&d->transa, v, 4); else if (a == 4) memcpy(&d->transb, v, 4); else return 7;
    return 0;
}
cublasStatus_t cublasLtMatmulDescDestroy(Desc *d) { delete d; return 0; }
cublasStatus_t cublasLtMatrixLayoutCreate(Layout **l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    if (ld < (int64_t)rows || (type != 0 && type != 2 && type != 14)) return 7;
    *l = new Layout{type, rows, cols, ld};
    return 0;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(Layout *l) { delete l; return 0; }
cublasStatus_t cublasLtMatmulPreferenceCreate(void **p) { *p = &dummy; return 0; }
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(void *, int, const void *, size_t) { return 0; }
cublasStatus_t cublasLtMatmulPreferenceDestroy(void *) { return 0; }
cublasStatus_t cublasLtMatmulAlgoGetHeuristic(void *, Desc *, Layout *, Layout *, Layout *, Layout *, void *, int n,
                                              Result *r, int *found) {
    if (n < 1) return 7;
    memset(r, 0, sizeof *r);
    *found = 1;
    return 0;
}
cublasStatus_t cublasLtMatmul(void *, Desc *d, const float *alpha, const void *a, Layout *al, const void *b, Layout *bl,
                              const float *beta, const void *c, Layout *cl, void *dd, Layout *dl, const void *, void *,
                              size_t, void *) {
    uint64_t m = dl->rows, n = dl->cols;
    uint64_t k = d->transa ? al->rows : al->cols;
    uint64_t am = d->transa ? al->cols : al->rows;
    uint64_t bk = d->transb ? bl->cols : bl->rows, bn = d->transb ? bl->rows : bl->cols;
    if (am != m || bk != k || bn != n || cl->rows != m || cl->cols != n || dl->type != 0 || cl->type != 0 || al->type != bl->type)
        return 7;
    std::vector<float> out(m * n);
    for (uint64_t j = 0; j < n; j++)
        for (uint64_t i = 0; i < m; i++) {
            double s = 0;
            for (uint64_t l = 0; l < k; l++) {
                double x = d->transa ? load(a, al->type, l + i * al->ld) : load(a, al->type, i + l * al->ld);
                double y = d->transb ? load(b, bl->type, j + l * bl->ld) : load(b, bl->type, l + j * bl->ld);
                s += x * y;
            }
            double prior = *beta != 0 ? *beta * ((const float *)c)[i + j * cl->ld] : 0;
            out[i + j * m] = (float)(*alpha * s + prior);
        }
    for (uint64_t j = 0; j < n; j++)
        for (uint64_t i = 0; i < m; i++) ((float *)dd)[i + j * dl->ld] = out[i + j * m];
    return 0;
}
}
