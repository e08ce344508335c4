/* rgemm.h - the recurrent GEMM with a pre-packed weight.
 *
 * Every step of a window multiplies a small matrix (B rows: h_prev, or the
 * gate grads) by the same weight.  cblas_sgemm repacks that weight on every
 * call.  Here the weight is packed once per window into panels of RG_NR
 * output columns (zero-padded), and a register-blocked kernel streams each
 * panel against RG_MR rows at a time.  Float only; the double engine keeps
 * cblas.
 */
#ifndef RECUR_RGEMM_H
#define RECUR_RGEMM_H

#include <stddef.h>

#define RG_NR 32 /* output columns per panel: two 16-float vectors */
#define RG_MR 8  /* rows per register block */

typedef struct {
    int N, K;      /* C has N columns; the sum runs over K */
    float *data;   /* ceil(N/RG_NR) panels of K x RG_NR floats */
} rg_packed;

/* Floats needed to pack a weight with N output columns and K inner size. */
size_t rg_packed_floats(int N, int K);
/* For C = A W^T with W [N x K] (row stride ldw). */
void rg_pack_nt(rg_packed *p, float *buf, const float *W, int ldw, int N, int K);
/* For C = A W with W [K x N] (row stride ldw). */
void rg_pack_nn(rg_packed *p, float *buf, const float *W, int ldw, int K, int N);
/* C [M x N] (row stride ldc) = A [M x K] (row stride lda) times the packed
 * weight, plus C when accumulate is 1. */
void rg_gemm(int M, const float *A, int lda, const rg_packed *p, int accumulate, float *C, int ldc);

#endif
