#include "rgemm.h"

#include <string.h>

#include "isa.h"

/* GCC vector extension: AVX-512 registers in the x86-64-v4 clone of rg_gemm,
 * pairs of AVX2 registers in the v3 clone, four SSE registers in the baseline
 * (isa.h); aligned(4) allows unaligned loads through memcpy. */
typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* A macro, not a function: returning a 64-byte vector by value changes the
 * ABI on machines without AVX-512 (and GCC warns about it). */
#define LOAD16(v, p) memcpy(&(v), (p), sizeof(v16))

size_t rg_packed_floats(int N, int K) { return (size_t)((N + RG_NR - 1) / RG_NR) * (size_t)K * RG_NR; }

/* Output columns held by panel q (RG_NR except in the last one). */
static int panel_cols(int N, int q) { return N - q * RG_NR < RG_NR ? N - q * RG_NR : RG_NR; }

/* Panel q, row k holds output columns q*RG_NR .. +RG_NR-1 for inner index k,
 * zero past N.  The weight is W[n][k] (n_major) or W[k][n]. */
static void pack(rg_packed *p, float *buf, const float *W, int ldw, int N, int K, int n_major) {
    p->N = N;
    p->K = K;
    p->data = buf;
    for (int q = 0; q < (N + RG_NR - 1) / RG_NR; q++) {
        float *dst = buf + (size_t)q * K * RG_NR;
        const int n0 = q * RG_NR, nn = panel_cols(N, q);
        if (nn < RG_NR) memset(dst, 0, (size_t)K * RG_NR * sizeof(float));
        if (!n_major) { /* rows of W are already panel rows */
            for (int k = 0; k < K; k++) memcpy(dst + (size_t)k * RG_NR, W + (size_t)k * ldw + n0, (size_t)nn * sizeof(float));
            continue;
        }
        for (int k0 = 0; k0 < K; k0 += 32) { /* transpose in 32 x 32 tiles: both sides stay in cache */
            const int kk = K - k0 < 32 ? K - k0 : 32;
            for (int j = 0; j < nn; j++) {
                const float *src = W + (size_t)(n0 + j) * ldw + k0;
                for (int k = 0; k < kk; k++) dst[(size_t)(k0 + k) * RG_NR + j] = src[k];
            }
        }
    }
}

void rg_pack_nt(rg_packed *p, float *buf, const float *W, int ldw, int N, int K) { pack(p, buf, W, ldw, N, K, 1); }

void rg_pack_nn(rg_packed *p, float *buf, const float *W, int ldw, int K, int N) { pack(p, buf, W, ldw, N, K, 0); }

/* MR rows of A against one panel: 2*MR vector accumulators. */
#define RG_KERNEL(MR)                                                                                        \
    RECUR_INLINE void kernel_##MR(const float *A, int lda, const float *panel, int K, float *out /* MR x RG_NR */) { \
        v16 acc0[MR], acc1[MR];                                                                              \
        for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = (v16){0};                                           \
        for (int k = 0; k < K; k++) {                                                                        \
            v16 b0, b1;                                                                                      \
            LOAD16(b0, panel + (size_t)k * RG_NR);                                                           \
            LOAD16(b1, panel + (size_t)k * RG_NR + 16);                                                      \
            for (int i = 0; i < MR; i++) {                                                                   \
                const float a = A[(size_t)i * lda + k];                                                      \
                acc0[i] += a * b0;                                                                           \
                acc1[i] += a * b1;                                                                           \
            }                                                                                                \
        }                                                                                                    \
        for (int i = 0; i < MR; i++) {                                                                       \
            memcpy(out + i * RG_NR, &acc0[i], sizeof(v16));                                                 \
            memcpy(out + i * RG_NR + 16, &acc1[i], sizeof(v16));                                            \
        }                                                                                                    \
    }
RG_KERNEL(8)
RG_KERNEL(4)
RG_KERNEL(2)
RG_KERNEL(1)

RECUR_HOT void rg_gemm(int M, const float *A, int lda, const rg_packed *p, int accumulate, float *C, int ldc) {
    const int N = p->N, K = p->K, panels = (N + RG_NR - 1) / RG_NR;
    float tile[RG_MR * RG_NR];
    for (int q = 0; q < panels; q++) {
        const float *panel = p->data + (size_t)q * K * RG_NR;
        const int n0 = q * RG_NR, nn = panel_cols(N, q);
        for (int m = 0; m < M;) {
            const int left = M - m, mr = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
            const float *a = A + (size_t)m * lda;
            switch (mr) {
            case 8: kernel_8(a, lda, panel, K, tile); break;
            case 4: kernel_4(a, lda, panel, K, tile); break;
            case 2: kernel_2(a, lda, panel, K, tile); break;
            default: kernel_1(a, lda, panel, K, tile); break;
            }
            for (int i = 0; i < mr; i++) {
                float *c = C + (size_t)(m + i) * ldc + n0;
                const float *t = tile + i * RG_NR;
                if (accumulate)
                    for (int j = 0; j < nn; j++) c[j] += t[j];
                else
                    memcpy(c, t, (size_t)nn * sizeof(float));
            }
            m += mr;
        }
    }
}
