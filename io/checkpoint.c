#include "checkpoint.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "h5util.h"

#define CKPT_FORMAT "recur-checkpoint"
#define CKPT_VERSION 1
#define CELL_CHOICES "one of rnn_tanh, rnn_relu, lstm, gru, lbr_gru"
#define KIND_CHOICES "\"sgd\" or \"adam\""

/* The integer root attributes, in model_config order. */
static const char *const SIZE_ATTRS[4] = {"vocab_size", "embed_size", "hidden_size", "num_layers"};

static int *size_field(model_config *c, int i) {
    int *f[4] = {&c->vocab_size, &c->embed_size, &c->hidden_size, &c->num_layers};
    return f[i];
}

/* ---- save ---------------------------------------------------------------- */

static int write_model(hid_t file, const char *path, const model *m, recur_err *err) {
    model_config c = m->cfg;
    if (h5u_write_str_attr(file, path, "/", "format", CKPT_FORMAT, err) ||
        h5u_write_int_attr(file, path, "/", "version", CKPT_VERSION, err) ||
        h5u_write_str_attr(file, path, "/", "cell", cell_name(c.cell), err))
        return -1;
    for (int i = 0; i < 4; i++)
        if (h5u_write_int_attr(file, path, "/", SIZE_ATTRS[i], *size_field(&c, i), err)) return -1;
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
    const char *g = "/optimizer";
    const optim_config *c = &o->cfg;
    if (h5u_write_group(file, path, g, err) || h5u_write_str_attr(file, path, g, "kind", optim_name(c->kind), err) ||
        h5u_write_int_attr(file, path, g, "step", o->step, err) ||
        h5u_write_float_attr(file, path, g, "lr", c->lr, err) ||
        h5u_write_float_attr(file, path, g, "momentum", c->momentum, err) ||
        h5u_write_float_attr(file, path, g, "weight_decay", c->weight_decay, err) ||
        h5u_write_float_attr(file, path, g, "beta1", c->beta1, err) ||
        h5u_write_float_attr(file, path, g, "beta2", c->beta2, err) ||
        h5u_write_float_attr(file, path, g, "eps", c->eps, err))
        return -1;
    /* Plain SGD has no state; a zero-length dataset would only confuse readers. */
    if (o->state_len == 0) return 0;
    return h5u_write_dataset(file, path, "/optimizer/state", H5U_FLOAT32, 1, &o->state_len, o->state, err);
}

static int write_progress(hid_t file, const char *path, const checkpoint_out *ck, recur_err *err) {
    const char *g = "/progress";
    return h5u_write_group(file, path, g, err) || h5u_write_int_attr(file, path, g, "step", ck->step, err) ||
                   h5u_write_int_attr(file, path, g, "epoch", ck->epoch, err) ||
                   h5u_write_int_attr(file, path, g, "tokens_seen", ck->tokens_seen, err)
               ? -1
               : 0;
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

/* ---- load ---------------------------------------------------------------- */

/* The integer root attributes must fit an int before model_config_validate
 * can judge them (an int64 from h5py could silently wrap). */
static int read_size_attr(hid_t file, const char *path, const char *name, int *out, recur_err *err) {
    int64_t v;
    if (h5u_read_int_attr(file, path, "/", name, &v, err)) return -1;
    if (v < INT_MIN || v > INT_MAX)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: attribute '%s': expected an integer in [1, %d], found %lld", path,
                          name, INT_MAX, (long long)v);
    *out = (int)v;
    return 0;
}

static int read_model_config(hid_t file, const char *path, model_config *c, recur_err *err) {
    memset(c, 0, sizeof *c);
    if (h5u_expect_str_attr(file, path, "/", "format", CKPT_FORMAT, err) ||
        h5u_expect_int_attr(file, path, "/", "version", CKPT_VERSION, err))
        return -1;
    char *cell = NULL;
    if (h5u_read_str_attr(file, path, "/", "cell", CELL_CHOICES, &cell, err)) return -1;
    int bad = cell_from_name(cell, &c->cell);
    if (bad) recur_fail(err, RECUR_EXIT_INPUT, "%s: attribute 'cell': expected %s, found \"%.100s\"", path, CELL_CHOICES, cell);
    free(cell);
    if (bad) return -1;
    for (int i = 0; i < 4; i++)
        if (read_size_attr(file, path, SIZE_ATTRS[i], size_field(c, i), err)) return -1;
    return model_config_validate(c, path, err);
}

static int read_tensors(hid_t file, const char *path, model *m, recur_err *err) {
    for (int i = 0; i < m->num_tensors; i++) {
        const tensor_info *t = &m->tensors[i];
        h5u_shape want = {H5U_FLOAT32, t->ndim, {t->shape[0], t->ndim == 2 ? t->shape[1] : 0}, {NULL}};
        char name[80];
        snprintf(name, sizeof name, "/model/%s", t->name);
        if (h5u_read_into(file, path, name, &want, m->params + t->offset, err)) return -1;
    }
    return 0;
}

static int read_optimizer(hid_t file, const char *path, checkpoint_in *ck, recur_err *err) {
    const char *g = "/optimizer";
    optim_config c;
    char *kind = NULL;
    if (h5u_read_str_attr(file, path, g, "kind", KIND_CHOICES, &kind, err)) return -1;
    optim_kind k;
    int bad = optim_from_name(kind, &k);
    if (bad) recur_fail(err, RECUR_EXIT_INPUT, "%s: attribute 'kind' of '%s': expected %s, found \"%.100s\"", path, g, KIND_CHOICES, kind);
    free(kind);
    if (bad) return -1;
    optim_config_defaults(&c, k);
    int64_t step;
    if (h5u_read_int_attr(file, path, g, "step", &step, err) ||
        h5u_read_float_attr(file, path, g, "lr", &c.lr, err) ||
        h5u_read_float_attr(file, path, g, "momentum", &c.momentum, err) ||
        h5u_read_float_attr(file, path, g, "weight_decay", &c.weight_decay, err) ||
        h5u_read_float_attr(file, path, g, "beta1", &c.beta1, err) ||
        h5u_read_float_attr(file, path, g, "beta2", &c.beta2, err) ||
        h5u_read_float_attr(file, path, g, "eps", &c.eps, err))
        return -1;
    if (step < 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: attribute 'step' of '%s': expected an integer >= 0, found %lld",
                          path, g, (long long)step);
    if (optim_create(&ck->opt, &c, ck->m.num_params, err)) return -1;
    ck->has_optimizer = 1;
    ck->opt.step = (long)step;
    if (ck->opt.state_len == 0) return 0;
    h5u_shape want = {H5U_FLOAT32, 1, {ck->opt.state_len}, {NULL}};
    return h5u_read_into(file, path, "/optimizer/state", &want, ck->opt.state, err);
}

static int read_progress(hid_t file, const char *path, checkpoint_in *ck, recur_err *err) {
    const char *g = "/progress";
    int64_t v[3];
    if (h5u_read_int_attr(file, path, g, "step", &v[0], err) ||
        h5u_read_int_attr(file, path, g, "epoch", &v[1], err) ||
        h5u_read_int_attr(file, path, g, "tokens_seen", &v[2], err))
        return -1;
    ck->step = (long)v[0];
    ck->epoch = (long)v[1];
    ck->tokens_seen = (long)v[2];
    ck->has_progress = 1;
    return 0;
}

static int read_state(hid_t file, const char *path, checkpoint_in *ck, recur_err *err) {
    const model_config *c = &ck->m.cfg;
    size_t L = (size_t)c->num_layers, H = (size_t)c->hidden_size, dims[3];
    h5u_shape want = {H5U_FLOAT32, 3, {L, 0, H}, {NULL, "B", NULL}};
    if (h5u_read_alloc(file, path, "/state/h", &want, dims, (void **)&ck->state_h, err)) return -1;
    if (dims[1] > INT_MAX)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '/state/h': expected B <= %d streams, found %zu", path,
                          INT_MAX, dims[1]);
    ck->streams = (int)dims[1];
    if (c->cell != CELL_LSTM) return 0;
    want.dims[1] = dims[1]; /* c must match h exactly */
    return h5u_read_alloc(file, path, "/state/c", &want, dims, (void **)&ck->state_c, err);
}

static int load_open(hid_t file, const char *path, void *ctx, recur_err *err) {
    checkpoint_in *ck = ctx;
    model_config cfg;
    if (read_model_config(file, path, &cfg, err) || model_create(&ck->m, &cfg, err) ||
        read_tensors(file, path, &ck->m, err))
        return -1;
    size_t dims[1];
    h5u_shape vocab = {H5U_UINT8, 1, {(size_t)cfg.vocab_size}, {NULL}};
    /* Everything below /model is optional: a PyTorch export has none of it. */
    if (h5u_exists(file, "/vocab") && h5u_read_alloc(file, path, "/vocab", &vocab, dims, (void **)&ck->vocab, err))
        return -1;
    if (h5u_exists(file, "/optimizer") && read_optimizer(file, path, ck, err)) return -1;
    if (h5u_exists(file, "/progress") && read_progress(file, path, ck, err)) return -1;
    if (h5u_exists(file, "/state") && read_state(file, path, ck, err)) return -1;
    if (h5u_exists(file, "/config") && h5u_read_str_dataset(file, path, "/config", &ck->config_text, err)) return -1;
    return 0;
}

int checkpoint_load(const char *path, checkpoint_in *ck, recur_err *err) {
    memset(ck, 0, sizeof *ck);
    int rc = h5u_with_file(path, load_open, ck, err);
    if (rc) checkpoint_in_free(ck);
    return rc;
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
