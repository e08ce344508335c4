/* The packed recurrent GEMM (core/rgemm.c) against cblas_sgemm: both
 * packings, shapes with and without remainders in every dimension, strided
 * operands, accumulate; columns of C past N must stay untouched. */
#include "test_util.h"

#include <cblas.h>
#include <math.h>

#include "../core/rgemm.h"
#include "../core/rng.h"

static void check(int M, int N, int K, int nn_layout, int accumulate) {
    rng_state r;
    rng_seed(&r, (uint64_t)(M * 1000003 + N * 1009 + K * 7 + nn_layout * 2 + accumulate));
    const int lda = K + 3, ldc = N + 5, ldw = (nn_layout ? N : K) + 2;
    const size_t wrows = nn_layout ? (size_t)K : (size_t)N;
    float *A = malloc(sizeof(float) * M * lda), *W = malloc(sizeof(float) * wrows * ldw);
    float *C = malloc(sizeof(float) * M * ldc), *R = malloc(sizeof(float) * M * ldc);
    for (int i = 0; i < M * lda; i++) A[i] = 2 * rng_uniform(&r) - 1;
    for (size_t i = 0; i < wrows * ldw; i++) W[i] = 2 * rng_uniform(&r) - 1;
    for (int i = 0; i < M * ldc; i++) C[i] = R[i] = 2 * rng_uniform(&r) - 1;
    float *buf = malloc(sizeof(float) * rg_packed_floats(N, K));
    rg_packed p;
    if (nn_layout) rg_pack_nn(&p, buf, W, ldw, K, N);
    else rg_pack_nt(&p, buf, W, ldw, N, K);
    rg_gemm(M, A, lda, &p, accumulate, C, ldc);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, nn_layout ? CblasNoTrans : CblasTrans, M, N, K, 1.0f, A, lda, W, ldw,
                accumulate ? 1.0f : 0.0f, R, ldc);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            float a = C[(size_t)i * ldc + j], b = R[(size_t)i * ldc + j];
            if (fabsf(a - b) > 1e-6f * (float)K + 1e-6f)
                fail_msg("M=%d N=%d K=%d %s acc=%d: C[%d][%d] = %.9g, cblas %.9g", M, N, K, nn_layout ? "nn" : "nt",
                         accumulate, i, j, a, b);
        }
    free(A);
    free(W);
    free(C);
    free(R);
    free(buf);
}

static void test_shapes(void **s) {
    (void)s;
    const int Ms[] = {1, 2, 3, 5, 8, 13, 64};
    const int Ns[] = {1, 16, 31, 32, 33, 96, 130};
    const int Ks[] = {1, 7, 32, 100};
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                for (int layout = 0; layout < 2; layout++)
                    for (int acc = 0; acc < 2; acc++) check(Ms[a], Ns[b], Ks[c], layout, acc);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_shapes)};
    return cmocka_run_group_tests_name("rgemm", tests, NULL, NULL);
}
