/* recur inspect CKPT          what a checkpoint holds: shape, progress,
 *                             optimizer, carried states, config, and
 *                             per-tensor statistics
 * recur inspect --diff A B    per-tensor differences (exit 0 identical, 1 different, 2 error)
 * recur inspect --verify CKPT every contract violation (exit 0 valid, 1 invalid, 2 unreadable)
 * --json: one JSON object per line for each of them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/checkpoint.h"
#include "../io/inspect.h"
#include "cli.h"
#include "commands.h"
#include "json.h"

#define USAGE "CKPT.h5 | --diff A.h5 B.h5 | --verify CKPT.h5 [--json]"

typedef struct {
    double mean, sd, mn, mx, l2;
    long nonfinite;
} stats;

/* Statistics over the finite values, in double (two passes for the std). */
static stats float_stats(const float *x, size_t n) {
    stats s = {0, 0, INFINITY, -INFINITY, 0, 0};
    double sum = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) { s.nonfinite++; continue; }
        double v = x[i];
        sum += v; ss += v * v;
        s.mn = v < s.mn ? v : s.mn; s.mx = v > s.mx ? v : s.mx;
    }
    double cnt = (double)(n - (size_t)s.nonfinite);
    s.mean = cnt > 0 ? sum / cnt : NAN;
    double dev = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) dev += ((double)x[i] - s.mean) * ((double)x[i] - s.mean);
    s.sd = cnt > 0 ? sqrt(dev / cnt) : NAN;
    s.l2 = sqrt(ss);
    if (cnt == 0) s.mn = s.mx = NAN;
    return s;
}

static double norm(const float *x, size_t n) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    return sqrt(ss);
}

static void shape_text(char *buf, size_t len, int rank, const size_t *dims) {
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && n < len; i++) n += (size_t)snprintf(buf + n, len - n, "%s%zu", i ? "," : "", dims[i]);
    if (n < len) snprintf(buf + n, len - n, "]");
}

/* ---- summary --------------------------------------------------------------- */

static int summary(const char *path, int as_json) {
    recur_err err = {0};
    checkpoint_in ck;
    if (checkpoint_load(path, &ck, &err)) return report_error("inspect", &err);
    const model *m = &ck.m;
    const model_config *c = &m->cfg;
    const optimizer *o = &ck.opt;
    size_t sdims[3] = {(size_t)c->num_layers, (size_t)ck.streams, (size_t)c->hidden_size};
    char sshape[64];
    shape_text(sshape, sizeof sshape, 3, sdims);
    double state_norm = ck.has_optimizer ? norm(o->state, o->state_len) : 0;
    json_line j;
    if (as_json) {
        json_begin(&j);
        json_str(&j, "file", path);
        json_str(&j, "format", "recur-checkpoint");
        json_int(&j, "version", 1);
        json_str(&j, "cell", cell_name(c->cell));
        json_int(&j, "vocab_size", c->vocab_size);
        json_int(&j, "embed_size", c->embed_size);
        json_int(&j, "hidden_size", c->hidden_size);
        json_int(&j, "num_layers", c->num_layers);
        json_int(&j, "parameters", (long long)m->num_params);
        if (ck.has_progress) {
            json_int(&j, "step", ck.step);
            json_int(&j, "epoch", ck.epoch);
            json_int(&j, "tokens_seen", ck.tokens_seen);
        }
        json_str(&j, "optimizer", ck.has_optimizer ? optim_name(o->cfg.kind) : "none");
        if (ck.has_optimizer) {
            json_int(&j, "optimizer_step", o->step);
            json_num(&j, "lr", o->cfg.lr);
            json_num(&j, "weight_decay", o->cfg.weight_decay);
            if (o->cfg.kind == OPTIM_SGD) json_num(&j, "momentum", o->cfg.momentum);
            else {
                json_num(&j, "beta1", o->cfg.beta1);
                json_num(&j, "beta2", o->cfg.beta2);
                json_num(&j, "eps", o->cfg.eps);
            }
            json_int(&j, "optimizer_state_len", (long long)o->state_len);
            json_num(&j, "optimizer_state_norm", state_norm);
        }
        json_int(&j, "has_vocab", ck.vocab != NULL);
        json_int(&j, "has_state", ck.state_h != NULL);
        if (ck.state_h) {
            json_raw(&j, "state_shape", sshape);
            json_int(&j, "has_state_c", ck.state_c != NULL);
        }
        json_int(&j, "has_config", ck.config_text != NULL);
        /* A long config would not fit the line; the text view shows it whole. */
        if (ck.config_text && strlen(ck.config_text) < 4096) json_str(&j, "config", ck.config_text);
        printf("%s\n", json_end(&j));
    } else {
        printf("%s: recur-checkpoint v1, %s, %d layer(s) x %d hidden, embed %d, vocab %d, %zu parameters\n", path,
               cell_name(c->cell), c->num_layers, c->hidden_size, c->embed_size, c->vocab_size, m->num_params);
        if (ck.has_progress) printf("progress: step %ld, epoch %ld, %ld tokens seen\n", ck.step, ck.epoch, ck.tokens_seen);
        else printf("progress: absent\n");
        if (!ck.has_optimizer) printf("optimizer: none\n");
        else if (o->cfg.kind == OPTIM_SGD)
            printf("optimizer: sgd, step %ld, lr %g, momentum %g, weight_decay %g; state %zu floats, norm %.6g\n",
                   o->step, o->cfg.lr, o->cfg.momentum, o->cfg.weight_decay, o->state_len, state_norm);
        else
            printf("optimizer: adam, step %ld, lr %g, betas (%g, %g), eps %g, weight_decay %g; state %zu floats, "
                   "norm %.6g\n", o->step, o->cfg.lr, o->cfg.beta1, o->cfg.beta2, o->cfg.eps, o->cfg.weight_decay,
                   o->state_len, state_norm);
        printf("vocab: %s\n", ck.vocab ? "stored" : "absent");
        if (ck.state_h) printf("carried states: h%s %s\n", ck.state_c ? ", c" : "", sshape);
        else printf("carried states: absent\n");
        if (ck.config_text) printf("config:\n%s%s", ck.config_text,
                                   ck.config_text[0] && ck.config_text[strlen(ck.config_text) - 1] == '\n' ? "" : "\n");
        else printf("config: absent\n");
        printf("%-28s %-12s %-8s %12s %12s %12s %12s %12s %8s\n", "tensor", "shape", "dtype", "mean", "std", "min",
               "max", "l2", "nan/inf");
    }
    for (int t = 0; t < m->num_tensors; t++) {
        const tensor_info *ti = &m->tensors[t];
        stats s = float_stats(m->params + ti->offset, ti->count);
        char shape[32], name[64];
        shape_text(shape, sizeof shape, ti->ndim, ti->shape);
        snprintf(name, sizeof name, "/model/%s", ti->name);
        if (as_json) {
            json_begin(&j);
            json_str(&j, "tensor", name);
            json_raw(&j, "shape", shape);
            json_str(&j, "dtype", "float32");
            json_num(&j, "mean", s.mean); json_num(&j, "std", s.sd);
            json_num(&j, "min", s.mn); json_num(&j, "max", s.mx);
            json_num(&j, "l2", s.l2); json_int(&j, "nonfinite", s.nonfinite);
            printf("%s\n", json_end(&j));
        } else {
            printf("%-28s %-12s %-8s %12.5g %12.5g %12.5g %12.5g %12.5g %8ld\n", name, shape, "float32", s.mean, s.sd,
                   s.mn, s.mx, s.l2, s.nonfinite);
        }
    }
    checkpoint_in_free(&ck);
    return 0;
}

/* ---- diff ------------------------------------------------------------------ */

static const inspect_tensor *find(const inspect_tensors *ts, const char *name) {
    for (int i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].name, name) == 0) return &ts->t[i];
    return NULL;
}

static int same_bits(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

static void only_in(const inspect_tensor *t, const char *which, const char *file, int as_json) {
    char shape[96];
    shape_text(shape, sizeof shape, t->rank, t->dims);
    if (as_json) {
        json_line j;
        json_begin(&j);
        json_str(&j, "tensor", t->name);
        json_str(&j, "status", which);
        json_raw(&j, "shape", shape);
        printf("%s\n", json_end(&j));
    } else printf("%-28s only in %s (%s %s)\n", t->name, file, t->dtype, shape);
}

static int diff(const char *pa, const char *pb, int as_json) {
    recur_err err = {0};
    inspect_tensors a, b;
    if (inspect_read_tensors(pa, &a, &err)) {
        report_error("inspect", &err);
        return 2;
    }
    if (inspect_read_tensors(pb, &b, &err)) {
        inspect_tensors_free(&a);
        report_error("inspect", &err);
        return 2;
    }
    int differ = 0, compared = 0, ndiff = 0, nonly = 0, nshape = 0;
    if (!as_json)
        printf("%-28s %-14s %14s %14s %10s\n", "tensor", "shape", "max_abs_diff", "max_rel_diff", "differing");
    for (int i = 0; i < a.n; i++) {
        const inspect_tensor *x = &a.t[i], *y = find(&b, x->name);
        if (!y) { only_in(x, "only_in_a", pa, as_json); differ = 1; nonly++; continue; }
        char sx[96], sy[96];
        shape_text(sx, sizeof sx, x->rank, x->dims);
        shape_text(sy, sizeof sy, y->rank, y->dims);
        int same_shape = x->rank == y->rank && memcmp(x->dims, y->dims, (size_t)x->rank * sizeof x->dims[0]) == 0;
        int same_type = strcmp(x->dtype, y->dtype) == 0;
        json_line j;
        if (!same_shape) {
            differ = 1; nshape++;
            if (as_json) {
                json_begin(&j);
                json_str(&j, "tensor", x->name);
                json_str(&j, "status", "shape_differs");
                json_raw(&j, "shape_a", sx);
                json_raw(&j, "shape_b", sy);
                printf("%s\n", json_end(&j));
            } else printf("%-28s shape differs: %s %s vs %s %s\n", x->name, x->dtype, sx, y->dtype, sy);
            continue;
        }
        compared++;
        double max_abs = 0, max_rel = 0;
        size_t ndif = 0;
        for (size_t k = 0; k < x->count; k++) {
            double u = x->data[k], v = y->data[k];
            if (same_bits(u, v)) continue;
            ndif++;
            double d = fabs(u - v);
            if (isnan(d)) d = INFINITY;
            double den = fmax(fabs(u), fabs(v));
            double r = den > 0 ? d / den : (d > 0 ? INFINITY : 0);
            if (isnan(r)) r = INFINITY;
            max_abs = d > max_abs ? d : max_abs;
            max_rel = r > max_rel ? r : max_rel;
        }
        int identical = ndif == 0 && same_type;
        if (!identical) { differ = 1; ndiff++; }
        if (as_json) {
            json_begin(&j);
            json_str(&j, "tensor", x->name);
            json_str(&j, "status", identical ? "identical" : "different");
            json_raw(&j, "shape", sx);
            if (!same_type) { json_str(&j, "dtype_a", x->dtype); json_str(&j, "dtype_b", y->dtype); }
            else json_str(&j, "dtype", x->dtype);
            /* JSON has no infinity: null stands for a NaN/Inf mismatch. */
            json_num(&j, "max_abs_diff", max_abs);
            json_num(&j, "max_rel_diff", max_rel);
            json_int(&j, "differing", (long long)ndif);
            printf("%s\n", json_end(&j));
        } else {
            printf("%-28s %-14s %14.6g %14.6g %10zu%s%s%s%s\n", x->name, sx, max_abs, max_rel, ndif,
                   same_type ? "" : "  dtype ", same_type ? "" : x->dtype, same_type ? "" : " vs ",
                   same_type ? "" : y->dtype);
        }
    }
    for (int i = 0; i < b.n; i++)
        if (!find(&a, b.t[i].name)) { only_in(&b.t[i], "only_in_b", pb, as_json); differ = 1; nonly++; }
    if (as_json) {
        json_line j;
        json_begin(&j);
        json_str(&j, "a", pa);
        json_str(&j, "b", pb);
        json_int(&j, "identical", !differ);
        json_int(&j, "compared", compared);
        json_int(&j, "different", ndiff);
        json_int(&j, "shape_differs", nshape);
        json_int(&j, "only_in_one", nonly);
        printf("%s\n", json_end(&j));
    } else
        printf("%s: %d tensors compared, %d different, %d with different shapes, %d only in one file\n",
               differ ? "different" : "identical", compared, ndiff, nshape, nonly);
    inspect_tensors_free(&a);
    inspect_tensors_free(&b);
    return differ;
}

/* ---- verify ---------------------------------------------------------------- */

static void print_violation(void *ctx, const char *msg) {
    if (*(int *)ctx) {
        json_line j;
        json_begin(&j);
        json_str(&j, "violation", msg);
        printf("%s\n", json_end(&j));
    } else printf("violation: %s\n", msg);
}

static int verify(const char *path, int as_json) {
    recur_err err = {0};
    int n;
    if (checkpoint_verify(path, print_violation, &as_json, &n, &err)) {
        report_error("inspect", &err);
        return 2;
    }
    if (as_json) {
        json_line j;
        json_begin(&j);
        json_str(&j, "file", path);
        json_int(&j, "valid", n == 0);
        json_int(&j, "violations", n);
        printf("%s\n", json_end(&j));
    } else if (n == 0) printf("%s: valid recur-checkpoint\n", path);
    else printf("%s: %d violation(s) of the recur-checkpoint contract\n", path, n);
    return n ? 1 : 0;
}

int cmd_inspect(int argc, char **argv) {
    int as_json = 0, do_diff = 0, do_verify = 0;
    opt_spec tab[] = {
        {"json", OPT_FLAG, &as_json, NULL, "JSON lines (summary, then one per tensor; diff/verify: one per item + a summary)", 0, 0, 0},
        {"diff", OPT_FLAG, &do_diff, NULL, "compare two checkpoints tensor by tensor (exit 0 identical, 1 different, 2 error)", 0, 0, 0},
        {"verify", OPT_FLAG, &do_verify, NULL, "report every violation of the checkpoint contract (exit 0 valid, 1 invalid, 2 unreadable)", 0, 0, 0},
    };
    recur_err err = {0};
    char *pos[2];
    int npos, rc = cli_parse("inspect", USAGE, tab, 3, argc, argv, pos, 2, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("inspect", &err);
    int want = do_diff ? 2 : 1;
    if ((do_diff && do_verify) || npos != want) {
        recur_fail(&err, RECUR_EXIT_USAGE, "usage: recur inspect " USAGE);
        return report_error("inspect", &err);
    }
    if (do_diff) return diff(pos[0], pos[1], as_json);
    if (do_verify) return verify(pos[0], as_json);
    return summary(pos[0], as_json);
}
