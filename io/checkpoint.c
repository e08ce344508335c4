#include "checkpoint.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "h5util.h"

#define CKPT_FORMAT "recur-checkpoint"
#define CKPT_VERSION 1

/* ---- the contract's attributes, for the writer and the reader ------------- */

/* How an attribute of the contract is judged. */
typedef enum {
    RULE_IS_STRING, /* equals .text */
    RULE_IS_INT,    /* equals .value */
    RULE_CELL,      /* one of the cell names */
    RULE_OPTIM,     /* one of the optimizer names */
    RULE_SIZE,      /* an integer in [1, INT_MAX] (model_config_validate judges further) */
    RULE_COUNT,     /* an integer >= 0 */
    RULE_FLOAT,     /* any number */
} attr_rule;

typedef struct {
    const char *name;
    attr_rule rule;
    const char *text;
    int64_t value;
} attr_spec;

typedef struct {
    int64_t i;
    float f;
} attr_value;

/* The root attributes, in checking order; the sizes in model_config order. */
enum { ROOT_CELL = 2, ROOT_SIZES = 3, N_ROOT = 7 };
static const attr_spec ROOT_ATTRS[N_ROOT] = {
    {"format", RULE_IS_STRING, CKPT_FORMAT, 0}, {"version", RULE_IS_INT, NULL, CKPT_VERSION},
    {"cell", RULE_CELL, NULL, 0},               {"vocab_size", RULE_SIZE, NULL, 0},
    {"embed_size", RULE_SIZE, NULL, 0},         {"hidden_size", RULE_SIZE, NULL, 0},
    {"num_layers", RULE_SIZE, NULL, 0},
};

/* /optimizer: kind, step, then the hyper-parameters in the order of the
 * optim_config fields they fill (see optimizer_config). */
enum { OPT_KIND = 0, OPT_STEP = 1, OPT_FLOATS = 2, N_OPT = 8 };
static const attr_spec OPTIMIZER_ATTRS[N_OPT] = {
    {"kind", RULE_OPTIM, NULL, 0},       {"step", RULE_COUNT, NULL, 0},  {"lr", RULE_FLOAT, NULL, 0},
    {"momentum", RULE_FLOAT, NULL, 0},   {"weight_decay", RULE_FLOAT, NULL, 0},
    {"beta1", RULE_FLOAT, NULL, 0},      {"beta2", RULE_FLOAT, NULL, 0}, {"eps", RULE_FLOAT, NULL, 0},
};

enum { N_PROGRESS = 3 };
static const attr_spec PROGRESS_ATTRS[N_PROGRESS] = {
    {"step", RULE_COUNT, NULL, 0}, {"epoch", RULE_COUNT, NULL, 0}, {"tokens_seen", RULE_COUNT, NULL, 0}};

/* The names a RULE_CELL / RULE_OPTIM attribute may hold, by enum value. */
static int choice_names(attr_rule rule, const char *names[CELL_COUNT]) {
    int n = rule == RULE_CELL ? CELL_COUNT : 2;
    for (int i = 0; i < n; i++) names[i] = rule == RULE_CELL ? cell_name((cell_kind)i) : optim_name((optim_kind)i);
    return n;
}

static int *size_field(model_config *c, int i) {
    int *f[4] = {&c->vocab_size, &c->embed_size, &c->hidden_size, &c->num_layers};
    return f[i];
}

static void root_values(model_config c, attr_value v[N_ROOT]) {
    v[ROOT_CELL].i = c.cell;
    for (int i = 0; i < 4; i++) v[ROOT_SIZES + i].i = *size_field(&c, i);
}

static model_config config_from(const attr_value v[N_ROOT]) {
    model_config c = {.cell = (cell_kind)v[ROOT_CELL].i};
    for (int i = 0; i < 4; i++) *size_field(&c, i) = (int)v[ROOT_SIZES + i].i;
    return c;
}

/* The optim_config fields OPTIMIZER_ATTRS[OPT_FLOATS..] stand for. */
static float *optimizer_floats(optim_config *c, int i) {
    float *f[N_OPT - OPT_FLOATS] = {&c->lr, &c->momentum, &c->weight_decay, &c->beta1, &c->beta2, &c->eps};
    return f[i];
}

static void optimizer_values(const optimizer *o, attr_value v[N_OPT]) {
    optim_config c = o->cfg;
    v[OPT_KIND].i = c.kind;
    v[OPT_STEP].i = o->step;
    for (int i = 0; i < N_OPT - OPT_FLOATS; i++) v[OPT_FLOATS + i].f = *optimizer_floats(&c, i);
}

static optim_config optimizer_config(const attr_value v[N_OPT]) {
    optim_config c;
    optim_config_defaults(&c, (optim_kind)v[OPT_KIND].i);
    for (int i = 0; i < N_OPT - OPT_FLOATS; i++) *optimizer_floats(&c, i) = v[OPT_FLOATS + i].f;
    return c;
}

/* ---- save ---------------------------------------------------------------- */

static int write_attr(hid_t file, const char *path, const char *obj, const attr_spec *a, attr_value v,
                      recur_err *err) {
    const char *names[CELL_COUNT];
    switch (a->rule) {
    case RULE_IS_STRING: return h5u_write_str_attr(file, path, obj, a->name, a->text, err);
    case RULE_IS_INT: return h5u_write_int_attr(file, path, obj, a->name, a->value, err);
    case RULE_CELL:
    case RULE_OPTIM: choice_names(a->rule, names); return h5u_write_str_attr(file, path, obj, a->name, names[v.i], err);
    case RULE_SIZE:
    case RULE_COUNT: return h5u_write_int_attr(file, path, obj, a->name, v.i, err);
    case RULE_FLOAT: return h5u_write_float_attr(file, path, obj, a->name, v.f, err);
    }
    return -1;
}

/* Every attribute of `specs` on `obj` (a group created first unless "/"). */
static int write_attrs(hid_t file, const char *path, const char *obj, const attr_spec *specs, int n,
                       const attr_value *v, recur_err *err) {
    if (strcmp(obj, "/") != 0 && h5u_write_group(file, path, obj, err)) return -1;
    for (int i = 0; i < n; i++)
        if (write_attr(file, path, obj, &specs[i], v[i], err)) return -1;
    return 0;
}

static int write_model(hid_t file, const char *path, const model *m, recur_err *err) {
    attr_value v[N_ROOT] = {{0}};
    root_values(m->cfg, v);
    if (write_attrs(file, path, "/", ROOT_ATTRS, N_ROOT, v, err)) return -1;
    /* One dataset per tensor, straight out of the arena: the arena already
     * holds each tensor row-major in PyTorch's layout. */
    for (int i = 0; i < m->num_tensors; i++) {
        const tensor_info *t = &m->tensors[i];
        char name[80];
        snprintf(name, sizeof name, "/model/%s", t->name);
        if (h5u_write_dataset(file, path, name, H5U_FLOAT32, t->ndim, t->shape, m->params + t->offset, err))
            return -1;
    }
    return 0;
}

static int write_optimizer(hid_t file, const char *path, const optimizer *o, recur_err *err) {
    attr_value v[N_OPT] = {{0}};
    optimizer_values(o, v);
    if (write_attrs(file, path, "/optimizer", OPTIMIZER_ATTRS, N_OPT, v, err)) return -1;
    /* Plain SGD has no state; a zero-length dataset would only confuse readers. */
    if (o->state_len == 0) return 0;
    return h5u_write_dataset(file, path, "/optimizer/state", H5U_FLOAT32, 1, &o->state_len, o->state, err);
}

static int write_progress(hid_t file, const char *path, const checkpoint_out *ck, recur_err *err) {
    attr_value v[N_PROGRESS] = {{.i = ck->step}, {.i = ck->epoch}, {.i = ck->tokens_seen}};
    return write_attrs(file, path, "/progress", PROGRESS_ATTRS, N_PROGRESS, v, err);
}

static int write_state(hid_t file, const char *path, const checkpoint_out *ck, recur_err *err) {
    const model_config *c = &ck->m->cfg;
    size_t dims[3] = {(size_t)c->num_layers, (size_t)ck->streams, (size_t)c->hidden_size};
    if (h5u_write_dataset(file, path, "/state/h", H5U_FLOAT32, 3, dims, ck->state_h, err)) return -1;
    if (c->cell == CELL_LSTM && h5u_write_dataset(file, path, "/state/c", H5U_FLOAT32, 3, dims, ck->state_c, err))
        return -1;
    return 0;
}

static int fill_checkpoint(hid_t file, const char *path, void *ctx, recur_err *err) {
    const checkpoint_out *ck = ctx;
    const model *m = ck->m;
    size_t V = (size_t)m->cfg.vocab_size;
    if (write_model(file, path, m, err)) return -1;
    if (ck->vocab && h5u_write_dataset(file, path, "/vocab", H5U_UINT8, 1, &V, ck->vocab, err)) return -1;
    if (ck->opt && write_optimizer(file, path, ck->opt, err)) return -1;
    if (write_progress(file, path, ck, err)) return -1;
    if (ck->state_h && write_state(file, path, ck, err)) return -1;
    if (ck->config_text && h5u_write_str_dataset(file, path, "/config", ck->config_text, err)) return -1;
    return 0;
}

/* Caller mistakes are caught before anything touches the disk. */
static int check_out(const char *path, const checkpoint_out *ck, recur_err *err) {
    const model *m = ck->m;
    if (!m || !m->params)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: checkpoint without a model", path);
    if (ck->opt && ck->opt->n != m->num_params)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: optimizer has %zu parameters, model %zu", path,
                          ck->opt->n, m->num_params);
    if (ck->opt && ck->opt->state_len && !ck->opt->state)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: optimizer state missing", path);
    if (ck->state_h && (ck->streams <= 0 || (m->cfg.cell == CELL_LSTM && !ck->state_c)))
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: state needs streams > 0 (and c for lstm)", path);
    return 0;
}

int checkpoint_save(const char *path, const checkpoint_out *ck, recur_err *err) {
    if (check_out(path, ck, err)) return -1;
    return atomic_h5_write(path, fill_checkpoint, (void *)ck, err);
}

/* ---- the contract, read (load) or checked (verify) ------------------------ */

/* One pass over a file against the contract.  Loading stops at the first
 * violation, whose message becomes the load error; verifying reports every
 * violation, goes on, and also requires finite float values.  Both fill the
 * same checkpoint_in, so what is read is what is checked. */
typedef struct {
    hid_t file;
    const char *path;
    int every;                       /* verify: report all, go on, check finiteness */
    int keep_nonfinite;              /* load for inspection: NaN/Inf weights are shown, not refused */
    checkpoint_violation_fn cb;
    void *ctx;
    int count;                       /* violations so far */
    recur_err *first;                /* load: the first violation */
    checkpoint_in *ck;               /* what is read */
    const model *m;                  /* ck's model once the sizes are known */
} walk;

static int fault(walk *w, const recur_err *e) {
    if (w->count++ == 0 && w->first) *w->first = *e;
    if (w->cb) w->cb(w->ctx, e->msg);
    return -1;
}

/* Whether a failed step ends the walk: loading stops at the first. */
static int stop(const walk *w, int rc) { return rc && !w->every; }

static int read_choice(walk *w, const char *obj, const char *name, attr_rule rule, int64_t *out, recur_err *e) {
    const char *names[CELL_COUNT];
    int n = choice_names(rule, names), index;
    if (h5u_read_choice_attr(w->file, w->path, obj, name, names, n, &index, e)) return -1;
    *out = index;
    return 0;
}

static int read_attr(walk *w, const char *obj, const attr_spec *a, attr_value *v) {
    recur_err e = {0};
    int rc = -1;
    switch (a->rule) {
    case RULE_IS_STRING: rc = h5u_expect_str_attr(w->file, w->path, obj, a->name, a->text, &e); break;
    case RULE_IS_INT: rc = h5u_expect_int_attr(w->file, w->path, obj, a->name, a->value, &e); break;
    case RULE_CELL:
    case RULE_OPTIM: rc = read_choice(w, obj, a->name, a->rule, &v->i, &e); break;
    case RULE_SIZE: rc = h5u_read_bounded_attr(w->file, w->path, obj, a->name, 1, INT_MAX, &v->i, &e); break;
    case RULE_COUNT: rc = h5u_read_bounded_attr(w->file, w->path, obj, a->name, 0, INT64_MAX, &v->i, &e); break;
    case RULE_FLOAT: rc = h5u_read_float_attr(w->file, w->path, obj, a->name, &v->f, &e); break;
    }
    return rc ? fault(w, &e) : 0;
}

/* Every attribute of `specs` (all of them when verifying); -1 when any failed. */
static int read_attrs(walk *w, const char *obj, const attr_spec *specs, int n, attr_value *vals) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (!read_attr(w, obj, &specs[i], &vals[i])) continue;
        bad = 1;
        if (stop(w, -1)) break;
    }
    return bad ? -1 : 0;
}

static void count_nonfinite(const float *x, size_t n, size_t *nan, size_t *inf) {
    *nan = *inf = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) ++*nan;
        else if (isinf(x[i])) ++*inf;
    }
}

static void finite_check(walk *w, const char *name, const float *x, size_t n) {
    size_t nan, inf;
    count_nonfinite(x, n, &nan, &inf);
    if (nan + inf == 0) return;
    recur_err e = {0};
    recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected finite values, found %zu NaN and %zu Inf", w->path,
               name, nan, inf);
    fault(w, &e);
}

/* A float32 dataset checked against `want` and read into `buf` (fixed
 * extents) or, when buf is NULL, into a new *out with the extents in dims.
 * Non-finite values are a violation when verifying, but not a failed read. */
static int read_floats(walk *w, const char *name, const h5u_shape *want, float *buf, float **out, size_t dims[3]) {
    recur_err e = {0};
    size_t d[3] = {want->dims[0], want->dims[1], want->dims[2]};
    int rc = buf ? h5u_read_into(w->file, w->path, name, want, buf, &e)
                 : h5u_read_alloc(w->file, w->path, name, want, d, (void **)out, &e);
    if (rc) return fault(w, &e);
    size_t n = 1;
    for (int i = 0; i < want->rank; i++) n *= d[i];
    if (w->every) finite_check(w, name, buf ? buf : *out, n);
    if (dims) memcpy(dims, d, sizeof d);
    return 0;
}

/* The root attributes into *c; -1 when they do not make a valid config
 * (when loading: when any of them is wrong). */
static int walk_root(walk *w, model_config *c) {
    attr_value v[N_ROOT] = {{0}};
    memset(c, 0, sizeof *c);
    /* format and version do not stop a verification from checking the
     * tensors against the sizes: only the cell and the sizes do. */
    if (stop(w, read_attrs(w, "/", ROOT_ATTRS, ROOT_CELL, v)) ||
        read_attrs(w, "/", ROOT_ATTRS + ROOT_CELL, N_ROOT - ROOT_CELL, v + ROOT_CELL))
        return -1;
    *c = config_from(v);
    recur_err e = {0};
    return model_config_validate(c, w->path, &e) ? fault(w, &e) : 0;
}

/* A model with a NaN or Inf weight cannot evaluate, sample or train to
 * anything meaningful: loading refuses it, naming the tensor (verifying
 * reports it through finite_check; inspection shows it). */
static int refuse_nonfinite(walk *w, const char *name, const float *x, size_t n) {
    if (w->every || w->keep_nonfinite) return 0;
    size_t nan, inf;
    count_nonfinite(x, n, &nan, &inf);
    if (nan + inf == 0) return 0;
    recur_err e = {0};
    recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': %zu non-finite values (NaN/Inf); refusing to load", w->path,
               name, nan + inf);
    return fault(w, &e);
}

/* /model with the sizes known: every tensor of the model, into its params. */
static int walk_model(walk *w, model *m) {
    int rc = 0;
    for (int i = 0; i < m->num_tensors && !stop(w, rc); i++) {
        const tensor_info *t = &m->tensors[i];
        h5u_shape want = {H5U_FLOAT32, t->ndim, {t->shape[0], t->ndim == 2 ? t->shape[1] : 0}, {NULL}};
        char name[80];
        snprintf(name, sizeof name, "/model/%s", t->name);
        int r = read_floats(w, name, &want, m->params + t->offset, NULL, NULL);
        rc |= r ? r : refuse_nonfinite(w, name, m->params + t->offset, t->count);
    }
    return rc;
}

/* The sizes come from attributes anyone can forge: before the model's
 * arenas are allocated, the weights they imply must fit in the file.  The
 * three tensors that span every size (V, E, H and the gates) are a lower
 * bound; stored data may be compressed, but not 1024:1.  So a vocab_size of
 * 16 million names the attribute rather than allocating gigabytes. */
static int check_sizes_in_file(walk *w, const model_config *c) {
    unsigned long long V = (unsigned)c->vocab_size, E = (unsigned)c->embed_size, H = (unsigned)c->hidden_size;
    unsigned long long G = (unsigned)cell_gates(c->cell);
    unsigned long long need = 4 * (V * E + G * H * H + V * H);
    struct stat st;
    unsigned long long have = stat(w->path, &st) == 0 ? (unsigned long long)st.st_size : 0;
    if (need <= have * 1024 + (64ull << 20)) return 0;
    recur_err e = {0};
    recur_fail(&e, RECUR_EXIT_INPUT, "%s: attributes 'vocab_size' (%llu), 'embed_size' (%llu), 'hidden_size' (%llu): "
               "the model they declare needs at least %llu bytes of weights, but the file holds only %llu bytes",
               w->path, V, E, H, need, have);
    return fault(w, &e);
}

/* /model with the sizes unknown (verifying only): every dataset there must
 * at least be float32 and finite. */
static void walk_model_unknown(walk *w) {
    recur_err e = {0};
    h5u_name *names;
    int n;
    if (!h5u_exists(w->file, "/model")) {
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: group '/model': expected the model tensors, found nothing (missing)",
                   w->path);
        fault(w, &e);
        return;
    }
    if (h5u_list_datasets(w->file, "/model", &names, &n)) {
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: group '/model': expected readable datasets, found an unreadable group",
                   w->path);
        fault(w, &e);
        return;
    }
    for (int i = 0; i < n; i++) {
        h5u_array a;
        if (h5u_read_numeric(w->file, w->path, names[i], &a, &e)) {
            fault(w, &e);
            continue;
        }
        if (strcmp(a.dtype, "float32") != 0) {
            recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected float32, found %s", w->path, names[i], a.dtype);
            fault(w, &e);
        }
        float *x = malloc((a.count ? a.count : 1) * sizeof *x);
        for (size_t k = 0; x && k < a.count; k++) x[k] = (float)a.data[k];
        if (x) finite_check(w, names[i], x, a.count);
        free(x);
        free(a.data);
    }
    free(names);
}

/* ---- the optional parts ---- */

static int walk_vocab(walk *w, checkpoint_in *ck) {
    h5u_shape want = {H5U_UINT8, 1, {w->m ? (size_t)w->m->cfg.vocab_size : 0}, {"V"}};
    size_t dims[1];
    recur_err e = {0};
    if (h5u_read_alloc(w->file, w->path, "/vocab", &want, dims, (void **)&ck->vocab, &e)) return fault(w, &e);
    return 0;
}

/* The attributes, then (sizes known) the state whose length the kind,
 * momentum and parameter count imply. */
static int walk_optimizer(walk *w, checkpoint_in *ck) {
    attr_value v[N_OPT] = {{0}};
    if (read_attrs(w, "/optimizer", OPTIMIZER_ATTRS, N_OPT, v) || !w->m) return -1;
    optim_config c = optimizer_config(v);
    recur_err e = {0};
    if (optim_create(&ck->opt, &c, w->m->num_params, &e)) return fault(w, &e);
    ck->has_optimizer = 1;
    ck->opt.step = (long)v[OPT_STEP].i;
    if (ck->opt.state_len == 0) return 0;
    h5u_shape want = {H5U_FLOAT32, 1, {ck->opt.state_len}, {NULL}};
    return read_floats(w, "/optimizer/state", &want, ck->opt.state, NULL, NULL);
}

static int walk_progress(walk *w, checkpoint_in *ck) {
    attr_value v[N_PROGRESS] = {{0}};
    if (read_attrs(w, "/progress", PROGRESS_ATTRS, N_PROGRESS, v)) return -1;
    ck->step = (long)v[0].i;
    ck->epoch = (long)v[1].i;
    ck->tokens_seen = (long)v[2].i;
    ck->has_progress = 1;
    return 0;
}

/* /state/h [L, B, H] and, for LSTM, /state/c with the same B. */
static int walk_state(walk *w, checkpoint_in *ck) {
    const model_config *c = w->m ? &w->m->cfg : NULL;
    size_t dims[3];
    h5u_shape want = {H5U_FLOAT32, 3, {c ? (size_t)c->num_layers : 0, 0, c ? (size_t)c->hidden_size : 0},
                      {"L", "B", "H"}};
    if (read_floats(w, "/state/h", &want, NULL, &ck->state_h, dims)) return -1;
    if (dims[1] > INT_MAX) {
        recur_err e = {0};
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '/state/h': expected B <= %d streams, found %zu", w->path,
                   INT_MAX, dims[1]);
        return fault(w, &e);
    }
    ck->streams = (int)dims[1];
    if (!c || c->cell != CELL_LSTM) return 0;
    want.dims[1] = dims[1]; /* c must match h exactly */
    return read_floats(w, "/state/c", &want, NULL, &ck->state_c, NULL);
}

static int walk_config(walk *w, checkpoint_in *ck) {
    recur_err e = {0};
    if (h5u_read_str_dataset(w->file, w->path, "/config", &ck->config_text, &e)) return fault(w, &e);
    return 0;
}

/* Everything beside the root attributes and /model, each optional (a
 * PyTorch export has none of them), checked when present. */
static const struct {
    const char *name;
    int (*walk)(walk *w, checkpoint_in *ck);
} PARTS[] = {
    {"/vocab", walk_vocab},     {"/optimizer", walk_optimizer}, {"/progress", walk_progress},
    {"/state", walk_state},     {"/config", walk_config},
};

static int walk_file(hid_t file, const char *path, void *ctx, recur_err *err) {
    walk *w = ctx;
    checkpoint_in *ck = w->ck;
    w->file = file;
    w->path = path;
    model_config c;
    int rc = walk_root(w, &c);
    if (rc == 0) rc = check_sizes_in_file(w, &c);
    if (rc == 0) {
        recur_err e = {0};
        if (model_create(&ck->m, &c, &e)) rc = fault(w, &e);
        else w->m = &ck->m;
    }
    if (stop(w, rc)) return -1;
    if (w->m) rc = walk_model(w, &ck->m);
    else walk_model_unknown(w);
    for (size_t i = 0; i < sizeof PARTS / sizeof PARTS[0] && !stop(w, rc); i++)
        if (h5u_exists(file, PARTS[i].name)) rc = PARTS[i].walk(w, ck);
    return stop(w, rc) ? -1 : 0;
}

static int load(const char *path, checkpoint_in *ck, int keep_nonfinite, recur_err *err) {
    memset(ck, 0, sizeof *ck);
    walk w = {.first = err, .ck = ck, .keep_nonfinite = keep_nonfinite};
    int rc = h5u_with_file(path, walk_file, &w, err);
    if (rc) checkpoint_in_free(ck);
    return rc;
}

int checkpoint_load(const char *path, checkpoint_in *ck, recur_err *err) { return load(path, ck, 0, err); }

int checkpoint_load_for_inspection(const char *path, checkpoint_in *ck, recur_err *err) {
    return load(path, ck, 1, err);
}

int checkpoint_verify(const char *path, checkpoint_violation_fn cb, void *ctx, int *violations, recur_err *err) {
    checkpoint_in ck;
    memset(&ck, 0, sizeof ck);
    walk w = {.every = 1, .cb = cb, .ctx = ctx, .ck = &ck};
    int rc = h5u_with_file(path, walk_file, &w, err);
    checkpoint_in_free(&ck);
    *violations = w.count;
    return rc;
}

static int root_only(hid_t file, const char *path, void *cfg, recur_err *err) {
    walk w = {.file = file, .path = path, .first = err};
    return walk_root(&w, cfg);
}

int checkpoint_read_config(const char *path, model_config *cfg, recur_err *err) {
    return h5u_with_file(path, root_only, cfg, err);
}

void checkpoint_in_free(checkpoint_in *ck) {
    model_free(&ck->m);
    if (ck->has_optimizer) optim_free(&ck->opt);
    free(ck->vocab);
    free(ck->state_h);
    free(ck->state_c);
    free(ck->config_text);
    memset(ck, 0, sizeof *ck);
}
