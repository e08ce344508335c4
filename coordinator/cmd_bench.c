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
#include "../core/net.h"
#include "../core/optim.h"
#include "../core/rng.h"
#include "../worker/comm.h"
#include "../worker/trainer.h"
#include "bench.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "json.h"

/* The GEMMs of one training step, in the order core/net_impl.h issues them,
 * for a batch of n sequences with bs[t] of them active at step t (a stream
 * window: bs[t] = B for all t).  Output recurrence has no per-step products
 * and no W_hh gradient (its tag feedback is a column lookup, no GEMM).
 * Returns how many shapes it wrote to g, which holds room for
 * gemm_list_room(). */
static int gemm_list_room(const model_config *c, int T) { return c->num_layers * 2 * (4 * T + 8) + 8; }

static int step_gemms(const model_config *c, const int32_t *bs, int T, int n, gemm_shape *g) {
    const int H = c->hidden_size, G = cell_gates(c->cell), GH = G * H, D = c->bidirectional ? 2 : 1;
    const int tgru = c->cell == CELL_GRU, O = c->output_size ? c->output_size : c->vocab_size;
    const int fed = c->recurrence == RECURRENCE_OUTPUT;
    int R = 0, k = 0;
    for (int t = 0; t < T; t++) R += bs[t];
    int same = 1;
    for (int t = 1; t < T; t++) same = same && bs[t] == bs[0];
    for (int l = 0; l < c->num_layers; l++)
        for (int d = 0; d < D; d++) {
            const int in = model_layer_input(c, l);
            g[k++] = (gemm_shape){0, 1, R, GH, in, 1};
            /* per step: forward products; backward ones except at each direction's first step */
            for (int t = 0; !fed && t < (same ? 1 : T); t++) {
                const int M = bs[t], fw = same ? T : 1, bw = same ? T - 1 : (t == (d ? T - 1 : 0) ? 0 : 1);
                if (tgru) {
                    g[k++] = (gemm_shape){0, 1, M, 2 * H, H, fw};
                    g[k++] = (gemm_shape){0, 1, M, H, H, fw};
                    g[k++] = (gemm_shape){0, 0, M, H, H, fw};
                    if (bw) g[k++] = (gemm_shape){0, 0, M, H, 2 * H, bw};
                } else {
                    g[k++] = (gemm_shape){0, 1, M, GH, H, fw};
                    if (bw) g[k++] = (gemm_shape){0, 0, M, H, GH, bw};
                }
            }
            if (tgru) {
                g[k++] = (gemm_shape){1, 0, 2 * H, H, R, 1};
                g[k++] = (gemm_shape){1, 0, H, H, R, 1};
            } else if (!fed) {
                g[k++] = (gemm_shape){1, 0, GH, H, R, 1};
            }
            g[k++] = (gemm_shape){1, 0, GH, in, R, 1};
            g[k++] = (gemm_shape){0, 0, R, in, GH, 1};
        }
    const int in = model_layer_input(c, c->num_layers), N = net_per_row(c) ? R : n;
    g[k++] = (gemm_shape){0, 1, N, O, in, 1};
    g[k++] = (gemm_shape){1, 0, O, in, N, 1};
    g[k++] = (gemm_shape){0, 0, N, in, O, 1};
    return k;
}

double list_flops(const gemm_shape *g, int n) {
    double f = 0;
    for (int i = 0; i < n; i++) f += 2.0 * g[i].M * g[i].N * g[i].K * g[i].reps;
    return f;
}

double run_gemms(const gemm_shape *g, int n, float *A, float *Bm, float *C) {
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
    seq_dataset ds;   /* sequence tasks: synthetic sequences */
    optimizer opt;
    trainer tr;
} bench_run;

/* Sequence tasks: 16 batches of random sequences, lengths uniform in
 * [min_len, max_len], random tokens and labels (the speed does not depend
 * on what is learnt). */
static int synthetic_sequences(seq_dataset *ds, const model_config *cfg, int batch, int min_len, int max_len,
                               recur_err *err) {
    memset(ds, 0, sizeof *ds);
    ds->task = cfg->task;
    ds->vocab_size = cfg->vocab_size;
    ds->num_classes = cfg->output_size;
    ds->per_step = cfg->task == TASK_TAG;
    seq_split *s = &ds->split[SPLIT_TRAIN];
    s->present = 1;
    s->n = 16 * (size_t)batch;
    s->offsets = malloc((s->n + 1) * sizeof(int64_t));
    if (!s->offsets) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    rng_state r;
    rng_seed(&r, 3);
    s->offsets[0] = 0;
    for (size_t i = 0; i < s->n; i++)
        s->offsets[i + 1] = s->offsets[i] + min_len + (int64_t)(rng_next(&r) % (uint64_t)(max_len - min_len + 1));
    s->total = (size_t)s->offsets[s->n];
    s->tokens = malloc(s->total * sizeof(int32_t));
    s->labels = malloc(s->n * sizeof(int32_t));
    s->step_labels = malloc(s->total * sizeof(int32_t));
    if (!s->tokens || !s->labels || !s->step_labels) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    for (size_t i = 0; i < s->total; i++) {
        s->tokens[i] = (int32_t)(rng_next(&r) % (uint64_t)cfg->vocab_size);
        s->step_labels[i] = (int32_t)(rng_next(&r) % (uint64_t)cfg->output_size);
    }
    for (size_t i = 0; i < s->n; i++) s->labels[i] = (int32_t)(rng_next(&r) % (uint64_t)cfg->output_size);
    return 0;
}

static int bench_setup(bench_run *br, const model_config *cfg, int b, int ranks, int rank, int bptt, int min_len,
                       int max_len, recur_err *err) {
    memset(br, 0, sizeof *br);
    if (model_create(&br->m, cfg, err)) return -1;
    model_init_random(&br->m, 1);
    optim_config oc;
    optim_config_defaults(&oc, OPTIM_SGD);
    oc.lr = 1e-3f;
    if (cfg->task != TASK_LM) {
        if (synthetic_sequences(&br->ds, cfg, b * ranks, min_len, max_len, err)) return -1;
        if (optim_create(&br->opt, &oc, br->m.num_params, err)) return -1;
        return trainer_init_sequences(&br->tr, &br->m, &br->opt, &br->ds, b * ranks, ranks, rank, 1, 1, 0, 1.0, err);
    }
    const size_t stream_len = (size_t)bptt * 16, ntok = (size_t)b * stream_len + 1;
    if (!(br->tokens = malloc(ntok * sizeof(int32_t)))) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    rng_state r;
    rng_seed(&r, 2 + (uint64_t)rank);
    for (size_t i = 0; i < ntok; i++) br->tokens[i] = (int32_t)(rng_next(&r) % (uint64_t)cfg->vocab_size);
    if (optim_create(&br->opt, &oc, br->m.num_params, err)) return -1;
    return trainer_init(&br->tr, &br->m, &br->opt, br->tokens, stream_len, b, ranks, rank, bptt, 1.0, err);
}

static void bench_free(bench_run *br) {
    trainer_free(&br->tr);
    optim_free(&br->opt);
    model_free(&br->m);
    free(br->tokens);
    for (int i = 0; i < SPLIT_COUNT; i++) { /* synthetic: freed by hand, it was not loaded */
        seq_split *s = &br->ds.split[i];
        free(s->offsets), free(s->tokens), free(s->labels), free(s->step_labels);
    }
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
    if (bench_setup(&br, cfg, batch / c.size, c.size, c.rank, bptt, 20, 200, &err)) return report_error("bench", &err);
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

/* The GEMM list of the trainer's current batch (stream window or packed sequences). */
static int current_gemms(const trainer *tr, const model_config *cfg, gemm_shape *g) {
    if (tr->sequences) return step_gemms(cfg, tr->seqs.bs, tr->seqs.T, tr->seqs.n, g);
    int32_t bs[4096];
    const int T = tr->data.k < 4096 ? tr->data.k : 4096;
    for (int t = 0; t < T; t++) bs[t] = tr->data.nstreams;
    return step_gemms(cfg, bs, T, tr->data.nstreams, g);
}

int cmd_bench(int argc, char **argv) {
    char cell[CLI_STR] = "lstm", task[CLI_STR] = "lm", recurrence[CLI_STR] = "hidden";
    int layers = 2, hidden = 512, embed = 64, vocab = 65, batch = 64, bptt = 64, as_json = 0;
    int bidirectional = 0, classes = 0, min_len = 20, max_len = 200, one_node = 0;
    double seconds = 5;
    opt_spec tab[] = {
        {"cell", OPT_STR, cell, "C", "rnn_tanh | rnn_relu | lstm | gru | lbr_gru", 0, 0, 0},
        {"task", OPT_STR, task, "T", "lm (stream windows) | classify | tag (packed sequences) | tree (parse trees)", 0, 0, 0},
        {"layers", OPT_INT, &layers, "L", "layers", 1, 0, 0},
        {"hidden", OPT_INT, &hidden, "H", "hidden size (per direction)", 1, 0, 0},
        {"bidirectional", OPT_FLAG, &bidirectional, NULL, "both directions (classify, tag)", 0, 0, 0},
        {"recurrence", OPT_STR, recurrence, "hidden|output", "tag, rnn_tanh/rnn_relu: output-to-hidden recurrence, teacher-forced (see recur train)", 0, 0, 0},
        {"embed", OPT_INT, &embed, "E", "embedding size", 1, 0, 0},
        {"vocab", OPT_INT, &vocab, "V", "vocabulary size", 1, 0, 0},
        {"classes", OPT_INT, &classes, "C", "classes (classify: 2, tag: 17, tree: 5 for roots and nodes when 0)", 0, 0, 0},
        {"batch", OPT_INT, &batch, "B", "streams (lm) or sequences", 1, 0, 0},
        {"bptt", OPT_INT, &bptt, "K", "window (lm)", 1, 0, 0},
        {"min-len", OPT_INT, &min_len, "N", "shortest sequence (classify, tag); fewest leaves (tree)", 1, 0, 0},
        {"max-len", OPT_INT, &max_len, "N", "longest sequence (classify, tag); most leaves (tree)", 1, 0, 0},
        {"one-node", OPT_FLAG, &one_node, NULL, "tree: one node at a time instead of level-wise batches", 0, 0, 0},
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
    if (strcmp(task, "tree") == 0) {
        if (min_len > max_len) {
            recur_fail(&err, RECUR_EXIT_USAGE, "--min-len %d is above --max-len %d", min_len, max_len);
            return report_error("bench", &err);
        }
        cfg.task = TASK_TREE;
        cfg.num_layers = 1;
        cfg.output_size = cfg.node_classes = classes ? classes : 5;
        if (model_config_validate(&cfg, "bench", &err)) return report_error("bench", &err);
        return bench_tree(&cfg, batch, min_len, max_len, one_node, seconds, as_json);
    }
    if (task_from_name(task, &cfg.task) || cfg.task == TASK_REGRESS || cfg.task >= TASK_SEQ2SEQ) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--task: expected lm, classify or tag, found '%s'", task);
        return report_error("bench", &err);
    }
    if (cfg.task != TASK_LM) {
        cfg.bidirectional = bidirectional;
        cfg.output_size = classes ? classes : cfg.task == TASK_TAG ? 17 : 2;
        cfg.per_step = cfg.task == TASK_TAG;
        if (min_len > max_len) {
            recur_fail(&err, RECUR_EXIT_USAGE, "--min-len %d is above --max-len %d", min_len, max_len);
            return report_error("bench", &err);
        }
    } else if (bidirectional) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--bidirectional: a language model reads in one direction (use --task classify or tag)");
        return report_error("bench", &err);
    }
    if (recurrence_from_name(recurrence, &cfg.recurrence)) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--recurrence: expected hidden or output, found '%s'", recurrence);
        return report_error("bench", &err);
    }
    if (cfg.recurrence == RECURRENCE_OUTPUT && model_output_recurrence_refusal(&cfg)) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--recurrence: output: %s", model_output_recurrence_refusal(&cfg));
        return report_error("bench", &err);
    }
    if (model_config_validate(&cfg, "bench", &err)) return report_error("bench", &err);
    /* Started by mpirun: the distributed measurement. */
    if (getenv("OMPI_COMM_WORLD_SIZE")) return bench_distributed(&cfg, batch, bptt, seconds, as_json);
    bench_run br;
    if (bench_setup(&br, &cfg, batch, 1, 0, bptt, min_len, max_len, &err)) return report_error("bench", &err);
    trainer *tr = &br.tr;

    /* The SGEMM side runs the GEMMs of the first few batches (sequences: each
     * batch has its own lengths), the recur side counts each step's own. */
    const int T_room = tr->sequences ? tr->seqs.max_T : bptt;
    const int room = gemm_list_room(&cfg, T_room), lists = tr->sequences ? 4 : 1;
    gemm_shape *g = malloc((size_t)room * lists * sizeof *g), *one = malloc((size_t)room * sizeof *one);
    int ng = 0;
    step_result res;
    for (int i = 0; i < lists; i++) {
        trainer_step(tr, 1e-3f, 0, &res);
        ng += current_gemms(tr, &cfg, g + ng);
    }
    size_t big = 0;
    for (int i = 0; i < ng; i++) {
        size_t a = (size_t)g[i].M * g[i].K, b = (size_t)g[i].K * g[i].N, c = (size_t)g[i].M * g[i].N;
        big = a > big ? a : big; big = b > big ? b : big; big = c > big ? c : big;
    }
    float *A = calloc(big, sizeof(float)), *Bm = calloc(big, sizeof(float)), *C = calloc(big, sizeof(float));
    for (size_t i = 0; i < big; i++) A[i] = Bm[i] = 0.01f * (float)(i % 97);

    /* Alternate the two measurements in rounds so both see the same machine. */
    const int rounds = 3;
    double step_time = 0, gemm_time = 0, gemm_flops = 0, step_flops = 0, input_steps = 0;
    long steps = 0, gemm_runs = 0;
    run_gemms(g, ng, A, Bm, C);
    for (int round = 0; round < rounds; round++) {
        double t0 = now_seconds(), t1 = t0;
        while ((t1 = now_seconds()) - t0 < seconds / (2 * rounds)) {
            const long before = tr->tokens_seen;
            trainer_step(tr, 1e-3f, 0, &res);
            input_steps += (double)(tr->tokens_seen - before);
            step_flops += list_flops(one, current_gemms(tr, &cfg, one)); /* outside the timed step's own work */
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
    const double tokens_per_s = input_steps / step_time;
    const double gflops = step_flops / step_time / 1e9;
    const double sgemm = gemm_flops / gemm_time / 1e9;
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    if (as_json) {
        json_line j;
        json_begin(&j);
        json_str(&j, "impl", "recur");
        json_str(&j, "cell", cell);
        json_str(&j, "task", task);
        json_int(&j, "bidirectional", cfg.bidirectional);
        json_str(&j, "recurrence", recurrence_name(cfg.recurrence));
        json_int(&j, "layers", layers);
        json_int(&j, "hidden", hidden);
        json_int(&j, "embed", embed);
        json_int(&j, "vocab", vocab);
        json_int(&j, "batch", batch);
        if (cfg.task == TASK_LM) json_int(&j, "bptt", bptt);
        else json_int(&j, "min_len", min_len), json_int(&j, "max_len", max_len);
        json_num(&j, "tokens_per_s", tokens_per_s);
        json_num(&j, "gflops", gflops);
        json_num(&j, "sgemm_gflops", sgemm);
        json_num(&j, "sgemm_fraction", gflops / sgemm);
        json_int(&j, "steps", steps);
        json_str(&j, "openblas_threads", threads ? threads : "1");
        printf("%s\n", json_end(&j));
    } else {
        char shape[64];
        if (cfg.task == TASK_LM) snprintf(shape, sizeof shape, "k=%d", bptt);
        else snprintf(shape, sizeof shape, "lengths %d-%d", min_len, max_len);
        printf("%s %s%s%s %dx%d E=%d V=%d B=%d %s: %.0f tokens/s, %.1f GFLOP/s; SGEMM at the same shapes %.1f GFLOP/s; "
               "fraction %.1f%% (%ld steps)\n", task, cfg.bidirectional ? "bidirectional " : "", cell,
               cfg.recurrence == RECURRENCE_OUTPUT ? " output-recurrence" : "", layers, hidden, embed, vocab, batch,
               shape, tokens_per_s, gflops, sgemm, 100 * gflops / sgemm, steps);
    }
    free(g);
    free(one);
    free(A);
    free(Bm);
    free(C);
    bench_free(&br);
    return 0;
}
