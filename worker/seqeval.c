#include "seqeval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/net.h"
#include "seqbatch.h"

/* Batches of `which` in file order, a dropout-free workspace sized for them. */
typedef struct {
    seqbatch sb;
    net_workspace ws;
} scorer;

static int scorer_init(scorer *sc, const model *m, const seq_dataset *ds, int which, int batch, int ranks, int rank,
                       recur_err *err) {
    memset(sc, 0, sizeof *sc);
    if (seqbatch_init(&sc->sb, ds, which, batch, ranks, rank, 0, 0, err)) return -1;
    if (net_workspace_create(&sc->ws, &m->cfg, sc->sb.max_n, sc->sb.max_T, sc->sb.max_rows, 0, err)) {
        seqbatch_free(&sc->sb);
        return -1;
    }
    return 0;
}

static void scorer_free(scorer *sc) {
    net_workspace_free(&sc->ws);
    seqbatch_free(&sc->sb);
}

static int argmax(const float *p, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) best = p[i] > p[best] ? i : best;
    return best;
}

/* A regression output or target element in original units: x*std + mean
 * (+ the sequence's base), exp of that when the importer took logs. */
static double original(const seq_dataset *ds, const seq_split *sp, int32_t seq, int k, double x) {
    if (ds->target_std) x = x * ds->target_std[k] + ds->target_mean[k];
    if (sp->seq_base) x += sp->seq_base[(size_t)seq * ds->output_size + k];
    return ds->target_log ? exp(x) : x;
}

int seq_evaluate(const model *m, const seq_dataset *ds, int which, int batch, int ranks, int rank, int free_running,
                 seq_scores *s, recur_err *err) {
    memset(s, 0, sizeof *s);
    const int O = net_head_out(&m->cfg);
    const int classes = m->cfg.task == TASK_CLASSIFY || m->cfg.task == TASK_TAG;
    if (classes) {
        if (O > SEQ_MAX_CLASSES) return recur_fail(err, RECUR_EXIT_INPUT, "%d classes: at most %d are scored", O, SEQ_MAX_CLASSES);
        s->C = O;
        s->tp = calloc((size_t)O * 3, sizeof(double));
        if (!s->tp) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
        s->fp = s->tp + O;
        s->fn = s->fp + O;
    }
    scorer sc;
    if (scorer_init(&sc, m, ds, which, batch, ranks, rank, err)) {
        seq_scores_free(s);
        return -1;
    }
    const seq_split *sp = sc.sb.split;
    const int per_row = net_per_row(&m->cfg);
    for (long k = 0; k < sc.sb.batches_per_epoch; k++) {
        seqbatch_fill(&sc.sb, k);
        if (!sc.sb.n) continue;
        net_batch b = seqbatch_batch(&sc.sb);
        b.free_running = free_running;
        s->loss_sum += net_forward(&sc.ws, m, m->params, &b);
        const int N = sc.ws.out_rows;
        s->count += (double)N * (m->cfg.task == TASK_REGRESS ? O : 1);
        for (int r = 0; r < N; r++) {
            const float *out = sc.ws.out + (size_t)r * O;
            if (classes) {
                const int guess = argmax(out, O), truth = b.labels[r];
                s->correct += guess == truth;
                if (guess == truth) s->tp[truth]++;
                else s->fp[guess]++, s->fn[truth]++;
                continue;
            }
            /* regress: the row's sequence (per-step rows: the slot is r minus its step's first row) */
            int slot = r;
            if (per_row) {
                int t = 0, row0 = 0;
                while (row0 + sc.sb.bs[t] <= r) row0 += sc.sb.bs[t++];
                slot = r - row0;
            }
            const int32_t seq = sc.sb.seq[slot];
            for (int j = 0; j < O; j++) {
                const double e = original(ds, sp, seq, j, out[j]) - original(ds, sp, seq, j, b.targets[(size_t)r * O + j]);
                s->sq_err += e * e;
                s->abs_err += fabs(e);
                s->elements++;
            }
        }
    }
    scorer_free(&sc);
    return 0;
}

size_t seq_scores_len(const seq_scores *s) { return 6 + 3 * (size_t)s->C; }

void seq_scores_pack(const seq_scores *s, double *v) {
    const double head[6] = {s->loss_sum, s->count, s->correct, s->sq_err, s->abs_err, s->elements};
    memcpy(v, head, sizeof head);
    if (s->C) memcpy(v + 6, s->tp, 3 * (size_t)s->C * sizeof(double));
}

void seq_scores_unpack(seq_scores *s, const double *v) {
    s->loss_sum = v[0], s->count = v[1], s->correct = v[2], s->sq_err = v[3], s->abs_err = v[4], s->elements = v[5];
    if (s->C) memcpy(s->tp, v + 6, 3 * (size_t)s->C * sizeof(double));
}

void seq_scores_finish(seq_scores *s) {
    s->loss = s->count > 0 ? s->loss_sum / s->count : NAN;
    s->accuracy = s->C && s->count > 0 ? s->correct / s->count : NAN;
    /* Macro F1 over the classes that occur in the truth or the predictions (scikit-learn's average='macro'). */
    double f1 = 0;
    int seen = 0;
    for (int c = 0; c < s->C; c++) {
        const double d = 2 * s->tp[c] + s->fp[c] + s->fn[c];
        if (d > 0) f1 += 2 * s->tp[c] / d, seen++;
    }
    s->macro_f1 = seen ? f1 / seen : NAN;
    s->mse = s->elements > 0 ? s->sq_err / s->elements : NAN;
    s->rmse = sqrt(s->mse);
    s->mae = s->elements > 0 ? s->abs_err / s->elements : NAN;
}

void seq_scores_free(seq_scores *s) {
    free(s->tp);
    s->tp = s->fp = s->fn = NULL;
}

int seq_predict(const model *m, const seq_dataset *ds, int which, int batch, seq_prediction_fn fn, void *ctx,
                recur_err *err) {
    scorer sc;
    if (scorer_init(&sc, m, ds, which, batch, 1, 0, err)) return -1;
    const int O = net_head_out(&m->cfg), regress = m->cfg.task == TASK_REGRESS, per_row = net_per_row(&m->cfg);
    const seq_split *sp = sc.sb.split;
    int32_t *slot_of = malloc((size_t)batch * sizeof(int32_t));
    double *values = malloc((size_t)O * sizeof(double));
    int rc = 0;
    if (!slot_of || !values) rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    for (long k = 0; !rc && k < sc.sb.batches_per_epoch; k++) {
        seqbatch_fill(&sc.sb, k);
        net_batch b = seqbatch_batch(&sc.sb);
        b.free_running = 1; /* output recurrence: the truth is not there to feed back */
        net_forward(&sc.ws, m, m->params, &b);
        const long first = k * (long)batch;
        for (int s = 0; s < sc.sb.n; s++) slot_of[sc.sb.seq[s] - first] = s;
        for (int i = 0; !rc && i < sc.sb.n; i++) { /* file order */
            const int s = slot_of[i];
            const int32_t seq = sc.sb.seq[s];
            const int steps = per_row ? (int)seq_length(sp, (size_t)seq) : 1;
            for (int t = 0, row0 = 0; !rc && t < steps; row0 += sc.sb.bs[t], t++) {
                const int r = per_row ? row0 + s : s;
                const float *out = sc.ws.out + (size_t)r * O;
                seq_prediction p = {.seq = seq, .step = per_row ? t : -1, .probs = out, .width = O};
                if (regress) {
                    for (int j = 0; j < O; j++) values[j] = original(ds, sp, seq, j, out[j]);
                    p.values = values;
                } else {
                    p.label = argmax(out, O);
                    p.prob = out[p.label];
                }
                rc = fn(ctx, &p);
            }
        }
    }
    free(slot_of);
    free(values);
    scorer_free(&sc);
    return rc;
}
