/* bench_tree.c - `recur bench --task tree`: training steps of a tree model
 * (core/tree.h) on synthetic binary parse trees, the shape of a sentiment
 * treebank: n leaves (uniform in min..max) with random tokens, merged by
 * random adjacent pairs into internal nodes without a token, every node and
 * every root labelled.  A step is what training does: build the batch,
 * forward, backward, clip at 1, SGD.  The engine reports each product it
 * runs (tree_workspace.on_gemm), and the same list is replayed on SGEMM in
 * alternating rounds, as for the sequence rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/optim.h"
#include "../core/rng.h"
#include "../core/tree.h"
#include "bench.h"
#include "commands.h"
#include "common.h"
#include "json.h"

enum { POOL = 8 }; /* batches drawn once and cycled */

typedef struct {
    int64_t *tree_offsets, *child_offsets;
    int32_t *children, *tokens, *node_labels, *root_labels, *roots;
    tree_forest f;
} synthetic_forest;

static void forest_free(synthetic_forest *s) {
    free(s->tree_offsets), free(s->child_offsets), free(s->children), free(s->tokens);
    free(s->node_labels), free(s->root_labels), free(s->roots);
}

/* n trees; a tree of k leaves has 2k-1 nodes: leaves 0..k-1, then each merge. */
static int make_forest(synthetic_forest *s, size_t n, int min_len, int max_len, const model_config *cfg) {
    rng_state r;
    rng_seed(&r, 11);
    int *leaves = malloc(n * sizeof(int));
    size_t nodes = 0;
    for (size_t i = 0; i < n; i++) {
        leaves[i] = min_len + (int)(rng_next(&r) % (uint64_t)(max_len - min_len + 1));
        nodes += 2 * (size_t)leaves[i] - 1;
    }
    s->tree_offsets = malloc((n + 1) * sizeof(int64_t));
    s->child_offsets = malloc((nodes + 1) * sizeof(int64_t));
    s->children = malloc(nodes * sizeof(int32_t));
    s->tokens = malloc(nodes * sizeof(int32_t));
    s->node_labels = malloc(nodes * sizeof(int32_t));
    s->root_labels = malloc(n * sizeof(int32_t));
    s->roots = malloc(n * sizeof(int32_t));
    int32_t *front = malloc((size_t)max_len * sizeof(int32_t));
    if (!s->tree_offsets || !s->child_offsets || !s->children || !s->tokens || !s->node_labels || !s->root_labels ||
        !s->roots || !front) {
        free(leaves), free(front);
        return -1;
    }
    const int Cn = cfg->node_classes ? cfg->node_classes : 1, Cr = cfg->output_size ? cfg->output_size : 1;
    size_t at = 0, edge = 0;
    for (size_t i = 0; i < n; i++) {
        const int k = leaves[i];
        s->tree_offsets[i] = (int64_t)at;
        for (int j = 0; j < k; j++) {
            s->child_offsets[at + j] = (int64_t)edge;
            s->tokens[at + j] = (int32_t)(rng_next(&r) % (uint64_t)cfg->vocab_size);
            front[j] = j;
        }
        int len = k, next = k;
        while (len > 1) {
            const int p = (int)(rng_next(&r) % (uint64_t)(len - 1));
            s->child_offsets[at + next] = (int64_t)edge;
            s->tokens[at + next] = -1;
            s->children[edge++] = front[p];
            s->children[edge++] = front[p + 1];
            front[p] = next++;
            memmove(front + p + 1, front + p + 2, (size_t)(len - p - 2) * sizeof(int32_t));
            len--;
        }
        for (int j = 0; j < next; j++) s->node_labels[at + j] = (int32_t)(rng_next(&r) % (uint64_t)Cn);
        s->roots[i] = front[0];
        s->root_labels[i] = (int32_t)(rng_next(&r) % (uint64_t)Cr);
        at += (size_t)next;
    }
    s->tree_offsets[n] = (int64_t)at;
    s->child_offsets[at] = (int64_t)edge;
    s->f = (tree_forest){.n = n, .tree_offsets = s->tree_offsets, .child_offsets = s->child_offsets,
                         .children = s->children, .tokens = s->tokens, .node_labels = s->node_labels,
                         .root_labels = s->root_labels, .roots = s->roots};
    free(leaves), free(front);
    return 0;
}

/* Collects the engine's products (tree_workspace.on_gemm). */
typedef struct {
    gemm_shape *g;
    int n, cap;
    int counting; /* 0: only flops */
    double flops;
} gemm_log;

static void log_gemm(void *ctx, int ta, int tb, int M, int N, int K) {
    gemm_log *l = ctx;
    l->flops += 2.0 * M * N * K;
    if (!l->counting) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->g = realloc(l->g, (size_t)l->cap * sizeof *l->g);
    }
    l->g[l->n++] = (gemm_shape){ta, tb, M, N, K, 1};
}

typedef struct {
    model m;
    optimizer opt;
    tree_workspace w;
    tree_batch b;
    const synthetic_forest *s;
    int batch, one_node, next;
    long nodes;
} tree_run;

static int tree_step(tree_run *t, recur_err *err) {
    int64_t ids[4096];
    for (int i = 0; i < t->batch; i++) ids[i] = (int64_t)(t->next * t->batch + i);
    t->next = (t->next + 1) % POOL;
    if (tree_batch_build(&t->b, &t->s->f, ids, t->batch, t->one_node, &t->m.cfg, err)) return -1;
    memset(t->m.grads, 0, t->m.num_params * sizeof(float));
    tree_forward(&t->w, &t->m, t->m.params, &t->b);
    tree_backward(&t->w, &t->m, t->m.params, t->m.grads, 1.0f / (float)tree_batch_count(&t->b));
    grad_clip(t->m.grads, t->m.num_params, 1.0);
    optim_step(&t->opt, t->m.params, t->m.grads, 1e-3f);
    t->nodes += t->b.rows;
    return 0;
}

int bench_tree(const model_config *cfg, int batch, int min_len, int max_len, int one_node, double seconds,
               int as_json) {
    recur_err err = {0};
    if (batch > 4096) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--batch %d: at most 4096 trees", batch);
        return report_error("bench", &err);
    }
    synthetic_forest s = {0};
    if (make_forest(&s, (size_t)POOL * batch, min_len, max_len, cfg)) {
        forest_free(&s);
        recur_fail(&err, RECUR_EXIT_FAIL, "out of memory for the synthetic trees");
        return report_error("bench", &err);
    }
    tree_run t = {.s = &s, .batch = batch, .one_node = one_node};
    gemm_log log = {.counting = 1};
    float *A = NULL, *Bm = NULL, *C = NULL;
    const int max_rows = batch * (2 * max_len - 1), max_edges = batch * 2 * (max_len - 1);
    optim_config oc;
    optim_config_defaults(&oc, OPTIM_SGD);
    oc.lr = 1e-3f;
    int rc = 0;
    if (model_create(&t.m, cfg, &err) || optim_create(&t.opt, &oc, t.m.num_params, &err) ||
        tree_workspace_create(&t.w, cfg, batch, max_rows, max_edges, &err)) {
        rc = report_error("bench", &err);
        goto done;
    }
    model_init_random(&t.m, 1);
    /* The SGEMM side: the products of the first POOL steps (every batch). */
    t.w.on_gemm = log_gemm;
    t.w.on_gemm_ctx = &log;
    for (int i = 0; i < POOL; i++)
        if (tree_step(&t, &err)) {
            rc = report_error("bench", &err);
            goto done;
        }
    log.counting = 0;
    size_t big = 0;
    for (int i = 0; i < log.n; i++) {
        const gemm_shape *g = &log.g[i];
        const size_t a = (size_t)g->M * g->K, b = (size_t)g->K * g->N, c = (size_t)g->M * g->N;
        big = a > big ? a : big, big = b > big ? b : big, big = c > big ? c : big;
    }
    A = calloc(big, sizeof(float)), Bm = calloc(big, sizeof(float)), C = calloc(big, sizeof(float));
    if (!A || !Bm || !C) {
        recur_fail(&err, RECUR_EXIT_FAIL, "out of memory for the SGEMM operands");
        rc = report_error("bench", &err);
        goto done;
    }
    for (size_t i = 0; i < big; i++) A[i] = Bm[i] = 0.01f * (float)(i % 97);
    const int rounds = 3;
    double step_time = 0, gemm_time = 0, gemm_flops = 0;
    long steps = 0;
    log.flops = 0;
    t.nodes = 0;
    run_gemms(log.g, log.n, A, Bm, C);
    for (int round = 0; round < rounds; round++) {
        double t0 = now_seconds(), t1 = t0;
        while ((t1 = now_seconds()) - t0 < seconds / (2 * rounds)) {
            if (tree_step(&t, &err)) {
                rc = report_error("bench", &err);
                goto done;
            }
            steps++;
        }
        step_time += t1 - t0;
        t0 = now_seconds();
        while ((t1 = now_seconds()) - t0 < seconds / (2 * rounds)) gemm_flops += run_gemms(log.g, log.n, A, Bm, C);
        gemm_time += t1 - t0;
    }
    const double nodes_per_s = (double)t.nodes / step_time, gflops = log.flops / step_time / 1e9;
    const double sgemm = gemm_flops / gemm_time / 1e9;
    const char *path = one_node ? "one-node" : "levels";
    if (as_json) {
        json_line j;
        json_begin(&j);
        json_str(&j, "impl", "recur");
        json_str(&j, "task", "tree");
        json_str(&j, "cell", cell_name(cfg->cell));
        json_str(&j, "path", path);
        json_int(&j, "hidden", cfg->hidden_size);
        json_int(&j, "embed", cfg->embed_size);
        json_int(&j, "vocab", cfg->vocab_size);
        json_int(&j, "batch", batch);
        json_int(&j, "min_len", min_len);
        json_int(&j, "max_len", max_len);
        json_num(&j, "nodes_per_s", nodes_per_s);
        json_num(&j, "tokens_per_s", nodes_per_s);
        json_num(&j, "gflops", gflops);
        json_num(&j, "sgemm_gflops", sgemm);
        json_num(&j, "sgemm_fraction", gflops / sgemm);
        json_int(&j, "steps", steps);
        printf("%s\n", json_end(&j));
    } else {
        printf("tree %s %s H=%d E=%d V=%d B=%d trees of %d-%d leaves: %.0f nodes/s, %.2f GFLOP/s; SGEMM at the same "
               "shapes %.1f GFLOP/s; fraction %.1f%% (%ld steps)\n", cell_name(cfg->cell), path, cfg->hidden_size,
               cfg->embed_size, cfg->vocab_size, batch, min_len, max_len, nodes_per_s, gflops, sgemm,
               100 * gflops / sgemm, steps);
    }
done:
    free(A), free(Bm), free(C);
    free(log.g);
    tree_batch_free(&t.b);
    tree_workspace_free(&t.w);
    optim_free(&t.opt);
    model_free(&t.m);
    forest_free(&s);
    return rc;
}
