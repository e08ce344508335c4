#include "inspect.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "../core/model.h"
#include "../core/optim.h"
#include "h5util.h"

#define CKPT_FORMAT "recur-checkpoint"
#define CELL_CHOICES "one of rnn_tanh, rnn_relu, lstm, gru, lbr_gru"
#define KIND_CHOICES "\"sgd\" or \"adam\""

static const char *const SIZE_ATTRS[4] = {"vocab_size", "embed_size", "hidden_size", "num_layers"};

/* ---- verify ---------------------------------------------------------------- */

typedef struct {
    const char *path;
    hid_t file;
    inspect_violation_fn cb;
    void *ctx;
    int count;
} verifier;

static void violation(verifier *v, const recur_err *e) {
    v->count++;
    if (v->cb) v->cb(v->ctx, e->msg);
}

/* Reports a failed h5util call (rc != 0) as a violation; returns rc. */
static int check(verifier *v, int rc, const recur_err *e) {
    if (rc) violation(v, e);
    return rc;
}

static void nonfinite_check(verifier *v, const char *name, const float *x, size_t n) {
    size_t nan = 0, inf = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) nan++;
        else if (isinf(x[i])) inf++;
    }
    if (nan + inf == 0) return;
    recur_err e = {0};
    recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected finite values, found %zu NaN and %zu Inf", v->path,
               name, nan, inf);
    violation(v, &e);
}

/* Checks a float32 dataset against `want` and that its values are finite. */
static int check_floats(verifier *v, const char *name, const h5u_shape *want, size_t dims[]) {
    recur_err e = {0};
    float *x = NULL;
    size_t d[3] = {0, 0, 0};
    if (check(v, h5u_read_alloc(v->file, v->path, name, want, d, (void **)&x, &e), &e)) return -1;
    size_t n = 1;
    for (int i = 0; i < want->rank; i++) n *= d[i];
    nonfinite_check(v, name, x, n);
    free(x);
    if (dims) memcpy(dims, d, sizeof d);
    return 0;
}

/* Root attributes; *cfg_ok when cell and all sizes are usable. */
static void verify_root(verifier *v, model_config *c, int *cfg_ok) {
    recur_err e = {0};
    *cfg_ok = 1;
    memset(c, 0, sizeof *c);
    check(v, h5u_expect_str_attr(v->file, v->path, "/", "format", CKPT_FORMAT, &e), &e);
    check(v, h5u_expect_int_attr(v->file, v->path, "/", "version", 1, &e), &e);
    char *cell = NULL;
    if (check(v, h5u_read_str_attr(v->file, v->path, "/", "cell", CELL_CHOICES, &cell, &e), &e)) *cfg_ok = 0;
    else if (cell_from_name(cell, &c->cell)) {
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: attribute 'cell': expected %s, found \"%.100s\"", v->path, CELL_CHOICES,
                   cell);
        violation(v, &e);
        *cfg_ok = 0;
    }
    free(cell);
    int *f[4] = {&c->vocab_size, &c->embed_size, &c->hidden_size, &c->num_layers};
    for (int i = 0; i < 4; i++) {
        int64_t x;
        if (check(v, h5u_read_int_attr(v->file, v->path, "/", SIZE_ATTRS[i], &x, &e), &e)) {
            *cfg_ok = 0;
            continue;
        }
        if (x < 1 || x > INT_MAX) {
            recur_fail(&e, RECUR_EXIT_INPUT, "%s: attribute '%s': expected an integer in [1, %d], found %lld", v->path,
                       SIZE_ATTRS[i], INT_MAX, (long long)x);
            violation(v, &e);
            *cfg_ok = 0;
            continue;
        }
        *f[i] = (int)x;
    }
    if (*cfg_ok && check(v, model_config_validate(c, v->path, &e), &e)) *cfg_ok = 0;
}

/* /model when the sizes are known: every tensor of the model. */
static void verify_model(verifier *v, const model *m) {
    for (int i = 0; i < m->num_tensors; i++) {
        const tensor_info *t = &m->tensors[i];
        h5u_shape want = {H5U_FLOAT32, t->ndim, {t->shape[0], t->ndim == 2 ? t->shape[1] : 0}, {NULL}};
        char name[80];
        snprintf(name, sizeof name, "/model/%s", t->name);
        check_floats(v, name, &want, NULL);
    }
}

static int read_any(hid_t file, const char *path, const char *name, inspect_tensor *t, recur_err *err);

/* /model when the sizes are unknown: every dataset there must at least be
 * float32 and finite. */
static herr_t visit_collect(hid_t g, const char *name, const H5L_info_t *info, void *op);

typedef struct {
    char (*names)[160];
    int n, cap;
} name_list;

static int list_model(hid_t file, name_list *nl) {
    nl->names = NULL;
    nl->n = nl->cap = 0;
    if (!h5u_exists(file, "/model")) return 0;
    hid_t g = H5Gopen2(file, "/model", H5P_DEFAULT);
    if (g < 0) return -1;
    herr_t r = H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, visit_collect, nl);
    h5u_close(g);
    return r < 0 ? -1 : 0;
}

static herr_t visit_collect(hid_t g, const char *name, const H5L_info_t *info, void *op) {
    name_list *nl = op;
    if (info->type != H5L_TYPE_HARD) return 0;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) return -1;
    int is_dset = H5Iget_type(o) == H5I_DATASET;
    h5u_close(o);
    if (!is_dset) return 0;
    if (nl->n == nl->cap) {
        int cap = nl->cap ? 2 * nl->cap : 16;
        void *p = realloc(nl->names, (size_t)cap * sizeof *nl->names);
        if (!p) return -1;
        nl->names = p;
        nl->cap = cap;
    }
    snprintf(nl->names[nl->n++], 160, "/model/%s", name);
    return 0;
}

static void verify_model_unknown(verifier *v) {
    name_list nl;
    recur_err e = {0};
    if (!h5u_exists(v->file, "/model")) {
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: group '/model': expected the model tensors, found nothing (missing)",
                   v->path);
        violation(v, &e);
        return;
    }
    if (list_model(v->file, &nl)) {
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: group '/model': expected readable datasets, found an unreadable group",
                   v->path);
        violation(v, &e);
    }
    for (int i = 0; i < nl.n; i++) {
        inspect_tensor t = {0};
        if (check(v, read_any(v->file, v->path, nl.names[i], &t, &e), &e)) continue;
        if (strcmp(t.dtype, "float32") != 0) {
            recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected float32, found %s", v->path, nl.names[i],
                       t.dtype);
            violation(v, &e);
        }
        size_t nan = 0, inf = 0;
        for (size_t k = 0; k < t.count; k++) {
            if (isnan(t.data[k])) nan++;
            else if (isinf(t.data[k])) inf++;
        }
        if (nan + inf) {
            recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected finite values, found %zu NaN and %zu Inf",
                       v->path, nl.names[i], nan, inf);
            violation(v, &e);
        }
        free(t.data);
    }
    free(nl.names);
}

static void verify_optimizer(verifier *v, const model *m) {
    const char *g = "/optimizer", *p = v->path;
    recur_err e = {0};
    char *kind = NULL;
    optim_kind k = OPTIM_SGD;
    int kind_ok = 0;
    if (!check(v, h5u_read_str_attr(v->file, p, g, "kind", KIND_CHOICES, &kind, &e), &e)) {
        if (optim_from_name(kind, &k)) {
            recur_fail(&e, RECUR_EXIT_INPUT, "%s: attribute 'kind' of '%s': expected %s, found \"%.100s\"", p, g,
                       KIND_CHOICES, kind);
            violation(v, &e);
        } else kind_ok = 1;
    }
    free(kind);
    optim_config c;
    optim_config_defaults(&c, k);
    int64_t step;
    if (!check(v, h5u_read_int_attr(v->file, p, g, "step", &step, &e), &e) && step < 0) {
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: attribute 'step' of '%s': expected an integer >= 0, found %lld", p, g,
                   (long long)step);
        violation(v, &e);
    }
    const char *fl[6] = {"lr", "momentum", "weight_decay", "beta1", "beta2", "eps"};
    float *fv[6] = {&c.lr, &c.momentum, &c.weight_decay, &c.beta1, &c.beta2, &c.eps};
    int floats_ok = 1;
    for (int i = 0; i < 6; i++)
        if (check(v, h5u_read_float_attr(v->file, p, g, fl[i], fv[i], &e), &e)) floats_ok = 0;
    /* The state length follows from the kind, momentum and parameter count. */
    if (!m || !kind_ok || !floats_ok) return;
    optimizer o;
    if (optim_create(&o, &c, m->num_params, &e)) {
        violation(v, &e);
        return;
    }
    size_t len = o.state_len;
    optim_free(&o);
    if (len == 0) return;
    h5u_shape want = {H5U_FLOAT32, 1, {len}, {NULL}};
    check_floats(v, "/optimizer/state", &want, NULL);
}

static void verify_progress(verifier *v) {
    const char *names[3] = {"step", "epoch", "tokens_seen"};
    for (int i = 0; i < 3; i++) {
        recur_err e = {0};
        int64_t x;
        if (check(v, h5u_read_int_attr(v->file, v->path, "/progress", names[i], &x, &e), &e)) continue;
        if (x < 0) {
            recur_fail(&e, RECUR_EXIT_INPUT, "%s: attribute '%s' of '/progress': expected an integer >= 0, found %lld",
                       v->path, names[i], (long long)x);
            violation(v, &e);
        }
    }
}

static void verify_state(verifier *v, const model_config *c, int cfg_ok) {
    size_t L = cfg_ok ? (size_t)c->num_layers : 0, H = cfg_ok ? (size_t)c->hidden_size : 0, dims[3];
    h5u_shape want = {H5U_FLOAT32, 3, {L, 0, H}, {"L", "B", "H"}};
    if (check_floats(v, "/state/h", &want, dims)) return;
    if (!cfg_ok || c->cell != CELL_LSTM) return;
    want.dims[1] = dims[1];
    check_floats(v, "/state/c", &want, NULL);
}

static int verify_open(hid_t file, const char *path, void *ctx, recur_err *err) {
    verifier v = *(verifier *)ctx;
    v.file = file;
    model_config c;
    int cfg_ok;
    verify_root(&v, &c, &cfg_ok);
    model m;
    int have_model = 0;
    recur_err e = {0};
    if (cfg_ok) {
        if (model_create(&m, &c, &e)) violation(&v, &e);
        else have_model = 1;
    }
    if (have_model) verify_model(&v, &m);
    else verify_model_unknown(&v);
    if (h5u_exists(v.file, "/vocab")) {
        h5u_shape want = {H5U_UINT8, 1, {cfg_ok ? (size_t)c.vocab_size : 0}, {"V"}};
        size_t d[1];
        void *buf = NULL;
        check(&v, h5u_read_alloc(v.file, path, "/vocab", &want, d, &buf, &e), &e);
        free(buf);
    }
    if (h5u_exists(v.file, "/optimizer")) verify_optimizer(&v, have_model ? &m : NULL);
    if (h5u_exists(v.file, "/progress")) verify_progress(&v);
    if (h5u_exists(v.file, "/state")) verify_state(&v, &c, cfg_ok);
    if (h5u_exists(v.file, "/config")) {
        char *text = NULL;
        check(&v, h5u_read_str_dataset(v.file, path, "/config", &text, &e), &e);
        free(text);
    }
    if (have_model) model_free(&m);
    ((verifier *)ctx)->count = v.count;
    return 0;
}

int inspect_verify(const char *path, inspect_violation_fn cb, void *ctx, int *violations, recur_err *err) {
    verifier v = {path, H5I_INVALID_HID, cb, ctx, 0};
    int rc = h5u_with_file(path, verify_open, &v, err);
    *violations = v.count;
    return rc;
}

/* ---- raw tensors ----------------------------------------------------------- */

static void dtype_name(hid_t type, char *buf, size_t len) {
    size_t bits = H5Tget_size(type) * 8;
    H5T_class_t cls = H5Tget_class(type);
    if (cls == H5T_INTEGER) snprintf(buf, len, "%s%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", bits);
    else if (cls == H5T_FLOAT) snprintf(buf, len, "float%zu", bits);
    else snprintf(buf, len, "non-numeric");
}

/* Reads any numeric dataset whole as double. */
static int read_any(hid_t file, const char *path, const char *name, inspect_tensor *t, recur_err *err) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int rc = -1;
    if (d < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a readable dataset, found an unreadable object "
                   "(damaged file?)", path, name);
        goto done;
    }
    type = H5Dget_type(d);
    space = H5Dget_space(d);
    if (type < 0 || space < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a readable dataset, found a damaged one", path, name);
        goto done;
    }
    dtype_name(type, t->dtype, sizeof t->dtype);
    H5T_class_t cls = H5Tget_class(type);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a numeric dataset, found a %s one", path, name,
                   t->dtype);
        goto done;
    }
    int r = H5Sget_simple_extent_ndims(space);
    if (r < 0 || r > INSPECT_MAX_RANK) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected at most %d dimensions, found %d", path, name,
                   INSPECT_MAX_RANK, r);
        goto done;
    }
    hsize_t hd[H5S_MAX_RANK];
    H5Sget_simple_extent_dims(space, hd, NULL);
    t->rank = r;
    t->count = 1;
    for (int i = 0; i < r; i++) {
        t->dims[i] = (size_t)hd[i];
        if (t->dims[i] && t->count > SIZE_MAX / sizeof(double) / t->dims[i]) {
            recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': too large for memory", path, name);
            goto done;
        }
        t->count *= t->dims[i];
    }
    t->data = malloc((t->count ? t->count : 1) * sizeof(double));
    if (!t->data) {
        recur_fail(err, RECUR_EXIT_FAIL, "%s: dataset '%s': out of memory for %zu elements", path, name, t->count);
        goto done;
    }
    if (t->count && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': read failed (damaged or truncated file?)", path, name);
        goto done;
    }
    rc = 0;
done:
    if (rc) {
        free(t->data);
        t->data = NULL;
    }
    h5u_close(space);
    h5u_close(type);
    h5u_close(d);
    return rc;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const inspect_tensor *)a)->name, ((const inspect_tensor *)b)->name);
}

static int read_all(hid_t file, const char *path, void *ctx, recur_err *err) {
    inspect_tensors *out = ctx;
    if (h5u_expect_str_attr(file, path, "/", "format", CKPT_FORMAT, err)) return -1;
    name_list nl;
    if (list_model(file, &nl)) {
        free(nl.names);
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: group '/model': expected readable datasets, found an unreadable "
                          "group (damaged file?)", path);
    }
    const char *extra[3] = {"/optimizer/state", "/state/h", "/state/c"};
    out->t = calloc((size_t)nl.n + 3, sizeof *out->t);
    if (!out->t) {
        free(nl.names);
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: out of memory", path);
    }
    int rc = 0;
    for (int i = 0; i < nl.n + 3 && !rc; i++) {
        const char *name = i < nl.n ? nl.names[i] : extra[i - nl.n];
        if (i >= nl.n && !h5u_exists(file, name)) continue;
        if (read_any(file, path, name, &out->t[out->n], err)) rc = -1;
        else out->n++;
    }
    free(nl.names);
    if (!rc) qsort(out->t, (size_t)out->n, sizeof *out->t, by_name);
    return rc;
}

int inspect_read_tensors(const char *path, inspect_tensors *out, recur_err *err) {
    out->t = NULL;
    out->n = 0;
    int rc = h5u_with_file(path, read_all, out, err);
    if (rc) inspect_tensors_free(out);
    return rc;
}

void inspect_tensors_free(inspect_tensors *ts) {
    for (int i = 0; i < ts->n; i++) free(ts->t[i].data);
    free(ts->t);
    ts->t = NULL;
    ts->n = 0;
}
