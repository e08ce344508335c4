/* recur bench - training throughput of one process, measured side by side
 * with OpenBLAS's own SGEMM running exactly the GEMMs a training step makes
 * (same shapes, transposes and leading dimensions).  The ratio says how much
 * of the machine's GEMM rate the whole step (gate math, softmax, copies)
 * keeps. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/model.h"
#include "../core/optim.h"
#include "../core/rng.h"
#include "../worker/comm.h"
#include "../worker/trainer.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "json.h"

typedef struct { int ta, tb, M, N, K, reps; } gemm_shape;

/* The GEMMs of one training step, in the order core/net_impl.h issues them. */
static int step_gemms(const model_config *c, int B, int T, gemm_shape *g) {
    const int H = c->hidden_size, G = cell_gates(c->cell), GH = G * H, TB = T * B, V = c->vocab_size;
    const int tgru = c->cell == CELL_GRU;
    int n = 0;
    for (int l = 0; l < c->num_layers; l++) {
        int in = l ? H : c->embed_size;
        g[n++] = (gemm_shape){0, 1, TB, GH, in, 1};
        if (tgru) {
            g[n++] = (gemm_shape){0, 1, B, 2 * H, H, T};
            g[n++] = (gemm_shape){0, 1, B, H, H, T};
            g[n++] = (gemm_shape){0, 0, B, H, H, T};
            g[n++] = (gemm_shape){0, 0, B, H, 2 * H, T - 1};
            g[n++] = (gemm_shape){1, 0, 2 * H, H, TB, 1};
            g[n++] = (gemm_shape){1, 0, H, H, TB, 1};
        } else {
            g[n++] = (gemm_shape){0, 1, B, GH, H, T};
            g[n++] = (gemm_shape){0, 0, B, H, GH, T - 1};
            g[n++] = (gemm_shape){1, 0, GH, H, TB, 1};
        }
        g[n++] = (gemm_shape){1, 0, GH, in, TB, 1};
        g[n++] = (gemm_shape){0, 0, TB, in, GH, 1};
    }
    g[n++] = (gemm_shape){0, 1, TB, V, H, 1};
    g[n++] = (gemm_shape){1, 0, V, H, TB, 1};
    g[n++] = (gemm_shape){0, 0, TB, H, V, 1};
    return n;
}

/* Runs the list once; returns its floating-point operations. */
static double run_gemms(const gemm_shape *g, int n, float *A, float *Bm, float *C) {
    double flops = 0;
    for (int i = 0; i < n; i++) {
        const gemm_shape *s = &g[i];
        int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
        for (int r = 0; r < s->reps; r++)
            cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, s->M,
                        s->N, s->K, 1.0f, A, lda, Bm, ldb, 0.0f, C, s->N);
        flops += 2.0 * s->M * s->N * s->K * s->reps;
    }
    return flops;
}

/* What one measured training run holds: a fresh model, random tokens for this
 * rank's b streams, SGD, the trainer. */
typedef struct {
    model m;
    int32_t *tokens;
    optimizer opt;
    trainer tr;
} bench_run;

static int bench_setup(bench_run *br, const model_config *cfg, int b, int ranks, int rank, int bptt, recur_err *err) {
    memset(br, 0, sizeof *br);
    if (model_create(&br->m, cfg, err)) return -1;
    model_init_random(&br->m, 1);
    const size_t stream_len = (size_t)bptt * 16, ntok = (size_t)b * stream_len + 1;
    if (!(br->tokens = malloc(ntok * sizeof(int32_t)))) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    rng_state r;
    rng_seed(&r, 2 + (uint64_t)rank);
    for (size_t i = 0; i < ntok; i++) br->tokens[i] = (int32_t)(rng_next(&r) % (uint64_t)cfg->vocab_size);
    optim_config oc;
    optim_config_defaults(&oc, OPTIM_SGD);
    oc.lr = 1e-3f;
    if (optim_create(&br->opt, &oc, br->m.num_params, err)) return -1;
    return trainer_init(&br->tr, &br->m, &br->opt, br->tokens, stream_len, b, ranks, bptt, 1.0, err);
}

static void bench_free(bench_run *br) {
    trainer_free(&br->tr);
    optim_free(&br->opt);
    model_free(&br->m);
    free(br->tokens);
}

/* Under mpirun: the data-parallel step on R ranks (global batch split), the
 * global tokens/s and the share of step time spent waiting for the gradient
 * allreduce.  No SGEMM side: that is the single-process measurement. */
static int bench_distributed(const model_config *cfg, int batch, int bptt, double seconds, int as_json) {
    comm_ctx c;
    recur_err err = {0};
    if (comm_init(&c, NULL, NULL, &err)) return report_error("bench", &err);
    int rc = 0;
    if (batch % c.size) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--batch %d: expected a multiple of the number of ranks (%d)", batch, c.size);
        rc = c.rank == 0 ? report_error("bench", &err) : RECUR_EXIT_USAGE;
        comm_finalize(&c);
        return rc;
    }
    bench_run br;
    if (bench_setup(&br, cfg, batch / c.size, c.size, c.rank, bptt, &err)) return report_error("bench", &err);
    trainer *tr = &br.tr;
    step_result res;
    for (int w = 0; w < 2; w++) trainer_step(tr, 1e-3f, 0, &res);
    /* Rank 0's first timed step sets how many steps fill `seconds`, for everyone. */
    double t0 = now_seconds();
    trainer_step(tr, 1e-3f, 0, &res);
    long steps = (long)(seconds / (now_seconds() - t0));
    if (steps < 3) steps = 3;
    comm_bcast(&steps, sizeof steps, 0);
    memset(tr->phase_seconds, 0, sizeof tr->phase_seconds);
    t0 = now_seconds();
    for (long i = 0; i < steps; i++) trainer_step(tr, 1e-3f, 0, &res);
    const double elapsed = now_seconds() - t0;
    double sums[2] = {tr->phase_seconds[PHASE_ALLREDUCE] / elapsed, elapsed};
    comm_sum_doubles(sums, 2);
    const double tokens_per_s = (double)steps * batch * bptt / (sums[1] / c.size);
    if (c.rank == 0) {
        json_line j;
        json_begin(&j);
        json_str(&j, "impl", "recur");
        json_str(&j, "cell", cell_name(cfg->cell));
        json_int(&j, "ranks", c.size);
        json_int(&j, "layers", cfg->num_layers);
        json_int(&j, "hidden", cfg->hidden_size);
        json_int(&j, "batch", batch);
        json_int(&j, "bptt", bptt);
        json_num(&j, "tokens_per_s", tokens_per_s);
        json_num(&j, "allreduce_wait_fraction", sums[0] / c.size);
        json_int(&j, "steps", steps);
        if (as_json) printf("%s\n", json_end(&j));
        else
            printf("%s %dx%d B=%d k=%d on %d ranks: %.0f tokens/s, %.1f%% of step time waiting for the allreduce\n",
                   cell_name(cfg->cell), cfg->num_layers, cfg->hidden_size, batch, bptt, c.size, tokens_per_s,
                   100 * sums[0] / c.size);
    }
    bench_free(&br);
    comm_finalize(&c);
    return 0;
}

int cmd_bench(int argc, char **argv) {
    char cell[CLI_STR] = "lstm";
    int layers = 2, hidden = 512, embed = 64, vocab = 65, batch = 64, bptt = 64, as_json = 0;
    double seconds = 5;
    opt_spec tab[] = {
        {"cell", OPT_STR, cell, "C", "rnn_tanh | rnn_relu | lstm | gru | lbr_gru", 0, 0, 0},
        {"layers", OPT_INT, &layers, "L", "layers", 1, 0, 0},
        {"hidden", OPT_INT, &hidden, "H", "hidden size", 1, 0, 0},
        {"embed", OPT_INT, &embed, "E", "embedding size", 1, 0, 0},
        {"vocab", OPT_INT, &vocab, "V", "vocabulary size", 1, 0, 0},
        {"batch", OPT_INT, &batch, "B", "streams", 1, 0, 0},
        {"bptt", OPT_INT, &bptt, "K", "window", 1, 0, 0},
        {"seconds", OPT_DOUBLE, &seconds, "S", "measuring time (split between recur and SGEMM)", 1, 0, 0},
        {"json", OPT_FLAG, &as_json, NULL, "one JSON line", 0, 0, 0},
    };
    const int n = sizeof tab / sizeof tab[0];
    recur_err err = {0};
    char *pos[1];
    int npos, rc = cli_parse("bench", "[options]", tab, n, argc, argv, pos, 0, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("bench", &err);
    model_config cfg = {.cell = CELL_LSTM, .vocab_size = vocab, .embed_size = embed, .hidden_size = hidden, .num_layers = layers};
    if (cell_from_name(cell, &cfg.cell)) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--cell: unknown cell '%s'", cell);
        return report_error("bench", &err);
    }
    /* Started by mpirun: the distributed measurement. */
    if (getenv("OMPI_COMM_WORLD_SIZE")) return bench_distributed(&cfg, batch, bptt, seconds, as_json);
    bench_run br;
    if (bench_setup(&br, &cfg, batch, 1, 0, bptt, &err)) return report_error("bench", &err);
    trainer *tr = &br.tr;

    gemm_shape g[8 * RECUR_MAX_LAYERS + 8];
    int ng = step_gemms(&cfg, batch, bptt, g);
    size_t big = 0;
    for (int i = 0; i < ng; i++) {
        size_t a = (size_t)g[i].M * g[i].K, b = (size_t)g[i].K * g[i].N, c = (size_t)g[i].M * g[i].N;
        big = a > big ? a : big; big = b > big ? b : big; big = c > big ? c : big;
    }
    float *A = calloc(big, sizeof(float)), *Bm = calloc(big, sizeof(float)), *C = calloc(big, sizeof(float));
    for (size_t i = 0; i < big; i++) A[i] = Bm[i] = 0.01f * (float)(i % 97);

    /* Alternate the two measurements in rounds so both see the same machine. */
    const int rounds = 3;
    double step_time = 0, gemm_time = 0, gemm_flops = 0;
    long steps = 0, gemm_runs = 0;
    step_result res;
    for (int w = 0; w < 2; w++) trainer_step(tr, 1e-3f, 0, &res);
    run_gemms(g, ng, A, Bm, C);
    for (int round = 0; round < rounds; round++) {
        double t0 = now_seconds(), t1 = t0;
        while ((t1 = now_seconds()) - t0 < seconds / (2 * rounds)) {
            trainer_step(tr, 1e-3f, 0, &res);
            steps++;
        }
        step_time += t1 - t0;
        t0 = now_seconds();
        while ((t1 = now_seconds()) - t0 < seconds / (2 * rounds)) {
            gemm_flops += run_gemms(g, ng, A, Bm, C);
            gemm_runs++;
        }
        gemm_time += t1 - t0;
    }
    const int G = cell_gates(cfg.cell);
    double fwd = 2.0 * hidden * vocab;
    for (int l = 0; l < layers; l++) fwd += 2.0 * ((l ? hidden : embed) + hidden) * G * hidden;
    const double tokens_per_s = (double)steps * batch * bptt / step_time;
    const double gflops = tokens_per_s * 3 * fwd / 1e9;
    const double sgemm = gemm_flops / gemm_time / 1e9;
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    if (as_json) {
        json_line j;
        json_begin(&j);
        json_str(&j, "impl", "recur");
        json_str(&j, "cell", cell);
        json_int(&j, "layers", layers);
        json_int(&j, "hidden", hidden);
        json_int(&j, "embed", embed);
        json_int(&j, "vocab", vocab);
        json_int(&j, "batch", batch);
        json_int(&j, "bptt", bptt);
        json_num(&j, "tokens_per_s", tokens_per_s);
        json_num(&j, "gflops", gflops);
        json_num(&j, "sgemm_gflops", sgemm);
        json_num(&j, "sgemm_fraction", gflops / sgemm);
        json_int(&j, "steps", steps);
        json_str(&j, "openblas_threads", threads ? threads : "1");
        printf("%s\n", json_end(&j));
    } else {
        printf("%s %dx%d E=%d V=%d B=%d k=%d: %.0f tokens/s, %.1f GFLOP/s; SGEMM at the same shapes %.1f GFLOP/s; "
               "fraction %.1f%% (%ld steps)\n", cell, layers, hidden, embed, vocab, batch, bptt, tokens_per_s, gflops,
               sgemm, 100 * gflops / sgemm, steps);
    }
    free(A);
    free(Bm);
    free(C);
    bench_free(&br);
    return 0;
}
