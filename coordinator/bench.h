/* bench.h - what `recur bench`'s measurements share: a step's list of GEMM
 * shapes, replayed on OpenBLAS SGEMM to give the machine's rate at exactly
 * those shapes (cmd_bench.c: sequences; bench_tree.c: trees). */
#ifndef RECUR_BENCH_H
#define RECUR_BENCH_H

#include "../core/model.h"

/* C [M x N] = op(A) op(B), K inner, `reps` times. */
typedef struct { int ta, tb, M, N, K, reps; } gemm_shape;

double list_flops(const gemm_shape *g, int n);
/* Runs the list once on SGEMM over scratch A, Bm, C (each large enough for
 * every shape); returns its floating-point operations. */
double run_gemms(const gemm_shape *g, int n, float *A, float *Bm, float *C);

/* recur bench --task tree: training throughput of a Tree-LSTM or child-sum
 * rnn_tanh net on synthetic parse trees (batch trees of min_len..max_len
 * leaves), level-wise or one node at a time, against SGEMM.  Returns the exit
 * code. */
int bench_tree(const model_config *cfg, int batch, int min_len, int max_len, int one_node, double seconds,
               int as_json);

#endif
