#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

static const char *const CELL_NAMES[CELL_COUNT] = {"rnn_tanh", "rnn_relu", "lstm", "gru", "lbr_gru"};
static const int CELL_GATES[CELL_COUNT] = {1, 1, 4, 3, 3};

const char *cell_name(cell_kind cell) { return (unsigned)cell < CELL_COUNT ? CELL_NAMES[cell] : "?"; }
int cell_gates(cell_kind cell) { return CELL_GATES[cell]; }

static const char *const TASK_NAMES[TASK_COUNT] = {"lm", "classify", "tag", "regress"};
static const char *const POOLING_NAMES[POOL_COUNT] = {"last", "mean", "max"};

const char *task_name(task_kind task) { return (unsigned)task < TASK_COUNT ? TASK_NAMES[task] : "?"; }
const char *pooling_name(pooling_kind p) { return (unsigned)p < POOL_COUNT ? POOLING_NAMES[p] : "?"; }

static int index_of(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (name && strcmp(name, names[i]) == 0) return i;
    return -1;
}
int task_from_name(const char *name, task_kind *out) {
    int i = index_of(name, TASK_NAMES, TASK_COUNT);
    if (i >= 0) *out = (task_kind)i;
    return i >= 0 ? 0 : -1;
}
int pooling_from_name(const char *name, pooling_kind *out) {
    int i = index_of(name, POOLING_NAMES, POOL_COUNT);
    if (i >= 0) *out = (pooling_kind)i;
    return i >= 0 ? 0 : -1;
}

int cell_from_name(const char *name, cell_kind *out) {
    for (int i = 0; i < CELL_COUNT; i++)
        if (name && strcmp(name, CELL_NAMES[i]) == 0) {
            *out = (cell_kind)i;
            return 0;
        }
    return -1;
}

int model_config_validate(const model_config *c, const char *src, recur_err *err) {
    /* Upper bounds keep every product well inside size_t and int. */
    struct { const char *name; int v, max; } f[] = {
        {"vocab_size", c->vocab_size, 1 << 24},
        {"embed_size", c->embed_size, 1 << 16},
        {"hidden_size", c->hidden_size, 1 << 16},
        {"num_layers", c->num_layers, RECUR_MAX_LAYERS},
    };
    if ((unsigned)c->cell >= CELL_COUNT)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'cell': expected one of rnn_tanh, rnn_relu, lstm, gru, lbr_gru", src);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v <= 0 || f[i].v > f[i].max)
            return recur_fail(err, RECUR_EXIT_INPUT, "%s: field '%s': expected an integer in [1, %d], found %d",
                              src, f[i].name, f[i].max, f[i].v);
    return 0;
}

static void add_tensor(model *m, size_t *off, const char *name, size_t rows, size_t cols) {
    tensor_info *t = &m->tensors[m->num_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols ? cols : 1;
    t->count = rows * t->shape[1];
    t->offset = *off;
    *off += t->count;
}

/* Points every view of `v` into `arena` following m->tensors (built once). */
static void build_views(const model *m, float *arena, param_views *v) {
    int k = 0;
    v->embedding = arena + m->tensors[k++].offset;
    for (int l = 0; l < m->cfg.num_layers; l++) {
        v->layer[l].weight_ih = arena + m->tensors[k++].offset;
        v->layer[l].weight_hh = arena + m->tensors[k++].offset;
        v->layer[l].bias_ih = arena + m->tensors[k++].offset;
        v->layer[l].bias_hh = arena + m->tensors[k++].offset;
    }
    v->head_weight = arena + m->tensors[k++].offset;
    v->head_bias = arena + m->tensors[k++].offset;
}

int model_create(model *m, const model_config *cfg, recur_err *err) {
    memset(m, 0, sizeof *m);
    if (model_config_validate(cfg, "model", err)) return -1;
    m->cfg = *cfg;
    size_t V = cfg->vocab_size, E = cfg->embed_size, H = cfg->hidden_size;
    size_t G = cell_gates(cfg->cell), off = 0;
    char name[48];
    add_tensor(m, &off, "embedding/weight", V, E);
    for (int l = 0; l < cfg->num_layers; l++) {
        size_t in = l == 0 ? E : H;
        snprintf(name, sizeof name, "rnn/weight_ih_l%d", l);
        add_tensor(m, &off, name, G * H, in);
        snprintf(name, sizeof name, "rnn/weight_hh_l%d", l);
        add_tensor(m, &off, name, G * H, H);
        snprintf(name, sizeof name, "rnn/bias_ih_l%d", l);
        add_tensor(m, &off, name, G * H, 0);
        snprintf(name, sizeof name, "rnn/bias_hh_l%d", l);
        add_tensor(m, &off, name, G * H, 0);
    }
    add_tensor(m, &off, "head/weight", V, H);
    add_tensor(m, &off, "head/bias", V, 0);
    m->num_params = off;
    m->params = calloc(off, sizeof(float));
    m->grads = calloc(off, sizeof(float));
    if (!m->params || !m->grads) {
        model_free(m);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory allocating %zu parameters", off);
    }
    build_views(m, m->params, &m->p);
    build_views(m, m->grads, &m->g);
    return 0;
}

void model_free(model *m) {
    free(m->params);
    free(m->grads);
    m->params = m->grads = NULL;
}

int model_find_tensor(const model *m, const char *name) {
    for (int i = 0; i < m->num_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return i;
    return -1;
}

void model_init_random(model *m, uint64_t seed) {
    rng_state r;
    rng_seed(&r, seed);
    const float k = 1.0f / sqrtf((float)m->cfg.hidden_size);
    for (int i = 0; i < m->num_tensors; i++) {
        const tensor_info *t = &m->tensors[i];
        float *x = m->params + t->offset;
        int is_embedding = i == 0;
        for (size_t j = 0; j < t->count; j++)
            x[j] = is_embedding ? rng_normal(&r) : (2.0f * rng_uniform(&r) - 1.0f) * k;
    }
}
