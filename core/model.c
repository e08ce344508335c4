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
    const int tokens = c->input_size == 0;
    /* Upper bounds keep every product well inside size_t and int. */
    struct { const char *name; int v, min, max; } f[] = {
        {"vocab_size", c->vocab_size, tokens, tokens ? 1 << 24 : 0},
        {"embed_size", c->embed_size, tokens, tokens ? 1 << 16 : 0},
        {"input_size", c->input_size, 0, 1 << 16},
        {"hidden_size", c->hidden_size, 1, 1 << 16},
        {"num_layers", c->num_layers, 1, RECUR_MAX_LAYERS},
        {"bidirectional", c->bidirectional, 0, 1},
        {"output_size", c->output_size, 0, 1 << 24},
    };
    if ((unsigned)c->cell >= CELL_COUNT)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'cell': expected one of rnn_tanh, rnn_relu, lstm, gru, lbr_gru", src);
    if ((unsigned)c->task >= TASK_COUNT)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'task': expected one of lm, classify, tag, regress", src);
    if ((unsigned)c->pooling >= POOL_COUNT)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'pooling': expected one of last, mean, max", src);
    if (c->merge != MERGE_CONCAT && c->merge != MERGE_SUM)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'merge': expected concat or sum", src);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < f[i].min || f[i].v > f[i].max)
            return recur_fail(err, RECUR_EXIT_INPUT, "%s: field '%s': expected an integer in [%d, %d], found %d",
                              src, f[i].name, f[i].min, f[i].max, f[i].v);
    if (c->task == TASK_LM && (!tokens || c->bidirectional))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: a language model reads tokens in one direction (found %s%s)", src,
                          tokens ? "" : "feature inputs", c->bidirectional ? "bidirectional layers" : "");
    if (c->task != TASK_LM && c->output_size < 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field '%s': expected an integer >= 1 for task %s, found %d", src,
                          c->task == TASK_REGRESS ? "output_size" : "num_classes", task_name(c->task), c->output_size);
    return 0;
}

int model_layer_input(const model_config *c, int l) {
    if (l == 0) return c->input_size ? c->input_size : c->embed_size;
    return c->bidirectional && c->merge == MERGE_CONCAT ? 2 * c->hidden_size : c->hidden_size;
}

static int add_tensor(model *m, size_t *off, const char *name, size_t rows, size_t cols) {
    tensor_info *t = &m->tensors[m->num_tensors];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols ? cols : 1;
    t->count = rows * t->shape[1];
    t->offset = *off;
    *off += t->count;
    return m->num_tensors++;
}

/* PyTorch's names: embedding/weight, rnn/<weight|bias>_<ih|hh>_l<k>[_reverse]
 * (nn.LSTM's state_dict, in its order), head/weight and head/bias. */
int model_create(model *m, const model_config *cfg, recur_err *err) {
    memset(m, 0, sizeof *m);
    if (model_config_validate(cfg, "model", err)) return -1;
    m->cfg = *cfg;
    const size_t H = cfg->hidden_size, G = cell_gates(cfg->cell);
    size_t off = 0;
    char name[48];
    m->ix.embedding = cfg->input_size ? -1 : add_tensor(m, &off, "embedding/weight", cfg->vocab_size, cfg->embed_size);
    static const char *const KIND[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    for (int l = 0; l < cfg->num_layers; l++)
        for (int d = 0; d <= cfg->bidirectional; d++) {
            const size_t cols[4] = {(size_t)model_layer_input(cfg, l), H, 0, 0};
            int at[4];
            for (int k = 0; k < 4; k++) {
                snprintf(name, sizeof name, "rnn/%s_l%d%s", KIND[k], l, d ? "_reverse" : "");
                at[k] = add_tensor(m, &off, name, G * H, cols[k]);
            }
            m->ix.layer[l][d] = (layer_index){at[0], at[1], at[2], at[3]};
        }
    for (int l = cfg->num_layers; l < RECUR_MAX_LAYERS; l++)
        m->ix.layer[l][0] = m->ix.layer[l][1] = (layer_index){-1, -1, -1, -1};
    if (!cfg->bidirectional)
        for (int l = 0; l < cfg->num_layers; l++) m->ix.layer[l][1] = (layer_index){-1, -1, -1, -1};
    const size_t O = cfg->output_size ? (size_t)cfg->output_size : (size_t)cfg->vocab_size;
    const size_t in = (size_t)model_layer_input(cfg, cfg->num_layers);
    m->ix.head_weight = add_tensor(m, &off, "head/weight", O, in);
    m->ix.head_bias = add_tensor(m, &off, "head/bias", O, 0);
    m->num_params = off;
    m->params = calloc(off, sizeof(float));
    m->grads = calloc(off, sizeof(float));
    if (!m->params || !m->grads) {
        model_free(m);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory allocating %zu parameters", off);
    }
    return 0;
}

void model_layer_tensors(const model *m, int l, int *first, int *last) {
    const layer_index *f = &m->ix.layer[l][0], *r = &m->ix.layer[l][1];
    *first = f->w_ih;
    *last = m->cfg.bidirectional ? r->b_hh : f->b_hh;
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
    /* Like torch: nn.Embedding N(0,1); nn.RNN/LSTM/GRU U(-1/sqrt(H), 1/sqrt(H));
     * nn.Linear U(-1/sqrt(in), 1/sqrt(in)) (the language model's head: in = H). */
    const float k_rnn = 1.0f / sqrtf((float)m->cfg.hidden_size);
    const float k_head = 1.0f / sqrtf((float)model_layer_input(&m->cfg, m->cfg.num_layers));
    for (int i = 0; i < m->num_tensors; i++) {
        const tensor_info *t = &m->tensors[i];
        float *x = m->params + t->offset;
        const int is_embedding = i == m->ix.embedding, is_head = i == m->ix.head_weight || i == m->ix.head_bias;
        const float k = is_head ? k_head : k_rnn;
        for (size_t j = 0; j < t->count; j++)
            x[j] = is_embedding ? rng_normal(&r) : (2.0f * rng_uniform(&r) - 1.0f) * k;
    }
}
