#include "treeeval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "treebatch.h"

int tree_accuracy_on_roots(const model_config *cfg, const tree_forest *f) {
    return cfg->output_size > 0 && f->root_labels != NULL;
}

/* The argmax of a softmax row (the first of equals). */
static int argmax(const float *p, int O) {
    int y = 0;
    for (int v = 1; v < O; v++) y = p[v] > p[y] ? v : y;
    return y;
}

/* Batches of f in file order through the engine; for each, calls back. */
typedef int (*batch_fn)(void *ctx, const tree_workspace *w, const tree_batch *b, double loss);

static int each_batch(const model *m, const tree_forest *f, int batch, int ranks, int rank, batch_fn fn, void *ctx,
                      recur_err *err) {
    treebatch tb;
    if (treebatch_init(&tb, f, &m->cfg, batch, ranks, rank, 0, 0, err)) return -1;
    tree_workspace w;
    if (tree_workspace_create(&w, &m->cfg, tb.max_n, tb.max_rows, tb.max_edges, err)) {
        treebatch_free(&tb);
        return -1;
    }
    int rc = 0;
    for (long k = 0; k < tb.batches_per_epoch && !rc; k++) {
        treebatch_fill(&tb, k);
        if (tb.b.n == 0) continue;
        const double loss = tree_forward(&w, m, m->params, &tb.b);
        rc = fn(ctx, &w, &tb.b, loss);
    }
    tree_workspace_free(&w);
    treebatch_free(&tb);
    return rc;
}

/* Adds argmax == label over one head's labelled rows to sums[correct], sums[correct + 1]. */
static void score_head(double *sums, int correct, const float *out, int O, const int32_t *labels, int n) {
    if (!out || !labels || O <= 0) return;
    for (int r = 0; r < n; r++) {
        if (labels[r] < 0) continue;
        sums[correct + 1]++;
        sums[correct] += argmax(out + (size_t)r * O, O) == labels[r];
    }
}

static int score_batch(void *ctx, const tree_workspace *w, const tree_batch *b, double loss) {
    double *sum = ((tree_scores *)ctx)->sum;
    sum[TS_LOSS] += loss;
    sum[TS_COUNT] += (double)tree_batch_count(b);
    score_head(sum, TS_ROOT_CORRECT, w->root_out, w->cfg.output_size, b->root_labels, b->n);
    score_head(sum, TS_NODE_CORRECT, w->node_out, w->cfg.node_classes, b->node_labels, b->rows);
    return 0;
}

int tree_evaluate(const model *m, const tree_forest *f, int batch, int ranks, int rank, tree_scores *s,
                  recur_err *err) {
    memset(s, 0, sizeof *s);
    return each_batch(m, f, batch, ranks, rank, score_batch, s, err);
}

void tree_scores_finish(tree_scores *s) {
    double *sum = s->sum;
    /* `accuracy` is the roots' when the model has a root head and the forest root labels, else the nodes'. */
    const int roots = sum[TS_ROOT_SCORED] > 0;
    sum[TS_CORRECT] = sum[roots ? TS_ROOT_CORRECT : TS_NODE_CORRECT];
    sum[TS_SCORED] = sum[roots ? TS_ROOT_SCORED : TS_NODE_SCORED];
    s->loss = sum[TS_COUNT] > 0 ? sum[TS_LOSS] / sum[TS_COUNT] : 0;
    s->accuracy = sum[TS_SCORED] > 0 ? sum[TS_CORRECT] / sum[TS_SCORED] : 0;
    s->root_accuracy = sum[TS_ROOT_SCORED] > 0 ? sum[TS_ROOT_CORRECT] / sum[TS_ROOT_SCORED] : NAN;
    s->node_accuracy = sum[TS_NODE_SCORED] > 0 ? sum[TS_NODE_CORRECT] / sum[TS_NODE_SCORED] : NAN;
}

typedef struct {
    const tree_forest *f;
    tree_prediction_fn fn;
    void *ctx;
    int32_t *row_of;  /* [most nodes of a batch]: the row of each of the batch's nodes */
    int32_t *slot;    /* [batch]: the slot of each of the batch's trees */
} predict_ctx;

static tree_prediction predict_one(const tree_workspace *w, char head, int r, int truth) {
    const int O = head == 'r' ? w->cfg.output_size : w->cfg.node_classes;
    const float *p = (head == 'r' ? w->root_out : w->node_out) + (size_t)r * O;
    const int y = argmax(p, O);
    return (tree_prediction){.head = head, .label = y, .prob = p[y], .truth = truth};
}

/* The forest's tree holding node g (binary search in tree_offsets). */
static size_t tree_of(const tree_forest *f, int64_t g) {
    size_t lo = 0, hi = f->n;
    while (hi - lo > 1) {
        const size_t mid = (lo + hi) / 2;
        if (f->tree_offsets[mid] <= g) lo = mid;
        else hi = mid;
    }
    return lo;
}

static int predict_batch(void *ctx, const tree_workspace *w, const tree_batch *b, double loss) {
    (void)loss;
    predict_ctx *c = ctx;
    const tree_forest *f = c->f;
    /* The batch holds consecutive trees (file order), largest first: each
     * tree's slot, and each node's row, by their offsets from the first. */
    size_t first = f->n;
    for (int i = 0; i < b->n; i++) {
        const size_t t = tree_of(f, b->source[b->roots[i]]);
        first = t < first ? t : first;
    }
    for (int i = 0; i < b->n; i++) c->slot[tree_of(f, b->source[b->roots[i]]) - first] = i;
    const int64_t lo = f->tree_offsets[first];
    for (int r = 0; r < b->rows; r++) c->row_of[b->source[r] - lo] = r;
    for (int k = 0; k < b->n; k++) {
        const size_t t = first + (size_t)k;
        const int i = c->slot[k];
        const int64_t base = f->tree_offsets[t], size = f->tree_offsets[t + 1] - base;
        tree_prediction p;
        int rc;
        if (w->root_out) {
            p = predict_one(w, 'r', i, b->root_labels[i]);
            p.tree = (long)t, p.node = f->roots[t];
            if ((rc = c->fn(c->ctx, &p))) return rc;
        }
        for (int64_t j = 0; w->node_out && j < size; j++) {
            const int r = c->row_of[base + j - lo];
            p = predict_one(w, 'n', r, b->node_labels[r]);
            p.tree = (long)t, p.node = (long)j;
            if ((rc = c->fn(c->ctx, &p))) return rc;
        }
    }
    return 0;
}

int tree_predict(const model *m, const tree_forest *f, int batch, tree_prediction_fn fn, void *ctx, recur_err *err) {
    int64_t most = 0; /* the most nodes `batch` consecutive trees hold */
    for (size_t i = 0; i < f->n; i += (size_t)batch) {
        const size_t end = i + (size_t)batch < f->n ? i + (size_t)batch : f->n;
        const int64_t nodes = f->tree_offsets[end] - f->tree_offsets[i];
        most = nodes > most ? nodes : most;
    }
    predict_ctx c = {f, fn, ctx, malloc((size_t)most * sizeof(int32_t)), malloc((size_t)batch * sizeof(int32_t))};
    const int rc = !c.row_of || !c.slot ? recur_fail(err, RECUR_EXIT_FAIL, "out of memory")
                                        : each_batch(m, f, batch, 1, 0, predict_batch, &c, err);
    free(c.row_of);
    free(c.slot);
    return rc;
}
