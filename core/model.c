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

static const char *const TASK_NAMES[TASK_COUNT] = {"lm", "classify", "tag", "regress", "seq2seq", "tree"};
static const char *const ATTENTION_NAMES[ATTN_COUNT] = {"none", "dot", "general", "additive"};
static const char *const CONTEXT_NAMES[4] = {"?", "init", "input", "both"};
static const char *const END_NAMES[END_COUNT] = {"eos", "stop-bit", "length"};
static const char *const CONDITION_NAMES[COND_COUNT] = {"none", "label", "features"};
static const char *const POOLING_NAMES[POOL_COUNT] = {"last", "mean", "max"};
static const char *const RECURRENCE_NAMES[RECURRENCE_COUNT] = {"hidden", "output"};

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

const char *recurrence_name(recurrence_kind r) {
    return (unsigned)r < RECURRENCE_COUNT ? RECURRENCE_NAMES[r] : "?";
}
int recurrence_from_name(const char *name, recurrence_kind *out) {
    int i = index_of(name, RECURRENCE_NAMES, RECURRENCE_COUNT);
    if (i >= 0) *out = (recurrence_kind)i;
    return i >= 0 ? 0 : -1;
}

const char *attention_name(attention_kind a) { return (unsigned)a < ATTN_COUNT ? ATTENTION_NAMES[a] : "?"; }
const char *context_name(int c) { return c >= 1 && c <= 3 ? CONTEXT_NAMES[c] : "?"; }
const char *end_name(end_kind e) { return (unsigned)e < END_COUNT ? END_NAMES[e] : "?"; }
int attention_from_name(const char *name, attention_kind *out) {
    int i = index_of(name, ATTENTION_NAMES, ATTN_COUNT);
    if (i >= 0) *out = (attention_kind)i;
    return i >= 0 ? 0 : -1;
}
int context_from_name(const char *name, int *out) {
    int i = index_of(name, CONTEXT_NAMES + 1, 3);
    if (i >= 0) *out = i + 1;
    return i >= 0 ? 0 : -1;
}
const char *condition_name(condition_kind c) { return (unsigned)c < COND_COUNT ? CONDITION_NAMES[c] : "?"; }
int condition_from_name(const char *name, condition_kind *out) {
    int i = index_of(name, CONDITION_NAMES, COND_COUNT);
    if (i >= 0) *out = (condition_kind)i;
    return i >= 0 ? 0 : -1;
}
int end_from_name(const char *name, end_kind *out) {
    int i = index_of(name, END_NAMES, END_COUNT);
    if (i >= 0) *out = (end_kind)i;
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

static int s2s_validate(const model_config *c, const char *src, recur_err *err) {
    if ((unsigned)c->condition >= COND_COUNT)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'condition': expected none, label or features", src);
    const int features = c->condition == COND_FEATURES;
    if (features ? c->src_vocab_size != 0 : c->input_size || c->src_vocab_size < 1 || c->src_vocab_size > 1 << 24)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'src_vocab_size': expected %s, found %d", src,
                          features ? "0 (the context is a feature vector)" : "an integer in [1, 16777216]",
                          c->src_vocab_size);
    if (features && c->input_size < 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'input_size': expected the width of the context features "
                          "(>= 1), found %d", src, c->input_size);
    if (c->condition != COND_NONE && (c->attention != ATTN_NONE || c->bidirectional))
        return recur_fail(err, RECUR_EXIT_USAGE, "%s: a conditional language model has no source sequence to %s: "
                          "found %s", src, c->attention ? "attend to" : "read in both directions",
                          c->attention ? "attention" : "a bidirectional encoder");
    if ((unsigned)c->attention >= ATTN_COUNT)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'attention': expected none, dot, general or additive", src);
    if (c->context < 1 || c->context > 3)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'context': expected init, input or both", src);
    if ((unsigned)c->end >= END_COUNT)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'end': expected eos, stop-bit or length", src);
    if (c->end == END_LENGTH ? c->max_len < 1 || c->max_len > 1 << 16 : c->max_len < 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'max_len': expected an integer in [1, %d], found %d", src,
                          1 << 16, c->max_len);
    if (c->attention == ATTN_DOT && c->bidirectional && c->merge == MERGE_CONCAT)
        return recur_fail(err, RECUR_EXIT_USAGE,
                          "%s: dot attention compares the decoder's state (%d wide) with the encoder's (2 x %d, "
                          "bidirectional concat): use --merge sum or --attention general", src, c->hidden_size,
                          c->hidden_size);
    return 0;
}

/* Trees: one layer of rnn_tanh or lstm over token embeddings, one or both heads. */
static int tree_validate(const model_config *c, const char *src, recur_err *err) {
    if (c->cell != CELL_RNN_TANH && c->cell != CELL_LSTM)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: a tree model's cell is rnn_tanh or lstm, found %s", src,
                          cell_name(c->cell));
    if (c->input_size || c->num_layers != 1 || c->bidirectional || c->recurrence != RECURRENCE_HIDDEN)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: a tree model reads tokens through one layer "
                          "(found input_size %d, num_layers %d, bidirectional %d, recurrence %s)", src,
                          c->input_size, c->num_layers, c->bidirectional, recurrence_name(c->recurrence));
    if (c->node_classes < 0 || c->node_classes > 1 << 24)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'node_classes': expected an integer in [0, %d], found %d",
                          src, 1 << 24, c->node_classes);
    if (c->output_size < 1 && c->node_classes < 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: a tree model needs root classes (output_size) or node classes "
                          "(node_classes), found neither", src);
    return 0;
}

const char *model_output_recurrence_refusal(const model_config *c) {
#define NO_STEPS ": there is no per-step output to feed back (tag or per-step regress)"
    if (c->task == TASK_LM) return "task lm" NO_STEPS;
    if (c->task == TASK_CLASSIFY) return "task classify" NO_STEPS;
    if (c->task == TASK_SEQ2SEQ) return "task seq2seq" NO_STEPS;
    if (c->task == TASK_REGRESS && !c->per_step) return "regress per sequence" NO_STEPS;
#undef NO_STEPS
#define SIMPLE_RNN ": output-to-hidden recurrence is the simple RNN's (reference §2 pattern 2): cell rnn_tanh or rnn_relu"
    if (c->cell == CELL_LSTM) return "cell lstm" SIMPLE_RNN;
    if (c->cell == CELL_GRU) return "cell gru" SIMPLE_RNN;
    if (c->cell == CELL_LBR_GRU) return "cell lbr_gru" SIMPLE_RNN;
#undef SIMPLE_RNN
    if (c->bidirectional) return "bidirectional: the fed-back output is the previous step's, one direction only";
    return NULL;
}

/* Skip connections in time and residual connections between layers
 * (reference §9) are on the hidden-to-hidden recurrence: every sequence
 * model's and both seq2seq stacks'; output recurrence and trees have neither. */
const char *model_shortcut_refusal(const model_config *c, const char **field) {
    *field = c->skip ? "skip" : "residual";
    if (!c->skip && !c->residual) return NULL;
    if (c->task == TASK_TREE) return "task tree: skip and residual connections are the sequence models' (not the "
                                     "recursive net's)";
    if (c->recurrence == RECURRENCE_OUTPUT)
        return "recurrence output: skip and residual connections need the hidden-to-hidden recurrence";
    if (c->skip == 1) return "skip 1 is the hidden-to-hidden connection itself: expected 0 (none) or K >= 2";
    *field = "residual";
    if (c->residual && c->num_layers < 2)
        return "1 layer: a residual connection adds a layer's input to its output between stacked layers "
               "(layers >= 2)";
    return NULL;
}

const char *model_transition_refusal(const model_config *c, const char **field) {
    *field = "transition_depth";
    if (!c->transition_depth) {
        *field = "transition_width";
        return c->transition_width ? "a width without transition_depth: the deep transition is off" : NULL;
    }
    if (c->task == TASK_TREE) return "task tree: a deep transition is the sequence models' (not the recursive net's)";
    if (c->recurrence == RECURRENCE_OUTPUT)
        return "recurrence output: a deep transition is on the hidden-to-hidden recurrence's paths";
    return NULL;
}

int model_config_validate(const model_config *c, const char *src, recur_err *err) {
    const int tokens = c->input_size == 0 || c->task == TASK_SEQ2SEQ; /* seq2seq: input_size is the context's */
    /* Upper bounds keep every product well inside size_t and int. */
    struct { const char *name; int v, min, max; } f[] = {
        {"vocab_size", c->vocab_size, tokens, tokens ? 1 << 24 : 0},
        {"embed_size", c->embed_size, tokens, tokens ? 1 << 16 : 0},
        {"input_size", c->input_size, 0, 1 << 16},
        {"hidden_size", c->hidden_size, 1, 1 << 16},
        {"num_layers", c->num_layers, 1, RECUR_MAX_LAYERS},
        {"bidirectional", c->bidirectional, 0, 1},
        {"output_size", c->output_size, 0, 1 << 24},
        {"skip", c->skip, 0, 1 << 16},
        {"residual", c->residual, 0, 1},
        {"transition_depth", c->transition_depth, 0, RECUR_MAX_TRANSITION},
        {"transition_width", c->transition_width, c->transition_depth ? 1 : 0, 1 << 16},
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
    if ((unsigned)c->recurrence >= RECURRENCE_COUNT)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'recurrence': expected hidden or output", src);
    if (c->recurrence == RECURRENCE_OUTPUT && model_output_recurrence_refusal(c))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'recurrence': output is refused: %s", src,
                          model_output_recurrence_refusal(c));
    const char *field, *why = model_shortcut_refusal(c, &field);
    if (why) return recur_fail(err, RECUR_EXIT_INPUT, "%s: field '%s': %s", src, field, why);
    if ((why = model_transition_refusal(c, &field)))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field '%s': %s", src, field, why);
    if (c->task == TASK_SEQ2SEQ) return s2s_validate(c, src, err);
    if (c->task == TASK_TREE) return tree_validate(c, src, err);
    if (c->node_classes)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field 'node_classes': a tree model's, found %d for task %s", src,
                          c->node_classes, task_name(c->task));
    if (c->task != TASK_LM && c->task != TASK_TREE && c->output_size < 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: field '%s': expected an integer >= 1 for task %s, found %d", src,
                          c->task == TASK_REGRESS ? "output_size" : "num_classes", task_name(c->task), c->output_size);
    return 0;
}

int model_layer_input(const model_config *c, int l) {
    if (l == 0) return (c->input_size ? c->input_size : c->embed_size) + c->extra_input;
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

/* A layer direction the model does not have (every tensor absent). */
static const layer_index NO_LAYER = {-1, -1, -1, -1, -1, -1, -1};

/* A deep transition's MLP: weight and bias of each of its layers, named
 * <stem>_d<k>[<suffix>]/weight, .../bias; the first one's index. */
static int add_mlp(model *m, size_t *off, const model_config *cfg, const char *stem, const char *suffix, size_t in) {
    char name[48];
    const size_t W = (size_t)cfg->transition_width;
    const int first = m->num_tensors;
    for (int k = 0; k < cfg->transition_depth; k++) {
        /* Stems and suffixes are ours and short: a name never reaches 48 bytes. */
        if (snprintf(name, sizeof name, "%s_d%d%s/weight", stem, k, suffix) >= (int)sizeof name) abort();
        add_tensor(m, off, name, W, k ? W : in);
        if (snprintf(name, sizeof name, "%s_d%d%s/bias", stem, k, suffix) >= (int)sizeof name) abort();
        add_tensor(m, off, name, W, 0);
    }
    return first;
}

/* A stack's tensors under `prefix`: PyTorch's names embedding/weight,
 * rnn/<weight|bias>_<ih|hh>_l<k>[_reverse] (nn.LSTM's state_dict, in its
 * order).  Output recurrence: no _hh tensors, and rnn/weight_oh (H, O) after
 * layer 0's (its gradient is final with theirs).  Skip connections:
 * rnn/weight_skip_l<k>[_reverse] (G*H, H) after each direction's four.  Deep
 * transition: then rnn/transition_ih_l<k>_d<j>[_reverse]/weight, bias and
 * rnn/transition_hh_l<k>_d<j>[_reverse]/..., j = 0..depth-1.  The head is
 * added by the caller. */
static void add_stack(model *m, size_t *off, const char *prefix, const model_config *cfg, tensor_index *ix) {
    const size_t H = cfg->hidden_size, G = cell_gates(cfg->cell);
    char name[48];
    snprintf(name, sizeof name, "%sembedding/weight", prefix);
    ix->embedding = cfg->input_size ? -1 : add_tensor(m, off, name, cfg->vocab_size, cfg->embed_size);
    static const char *const KIND[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    const int fed = cfg->recurrence == RECURRENCE_OUTPUT;
    for (int l = 0; l < RECUR_MAX_LAYERS; l++)
        ix->layer[l][0] = ix->layer[l][1] = NO_LAYER;
    ix->w_oh = -1;
    const size_t W = (size_t)cfg->transition_width, dt = cfg->transition_depth > 0;
    for (int l = 0; l < cfg->num_layers; l++) {
        for (int d = 0; d <= cfg->bidirectional; d++) {
            const size_t cols[4] = {dt ? W : (size_t)model_layer_input(cfg, l), dt ? W : H, 0, 0};
            int at[4];
            for (int k = 0; k < 4; k++) {
                at[k] = -1;
                if (fed && (k & 1)) continue; /* weight_hh, bias_hh */
                snprintf(name, sizeof name, "%srnn/%s_l%d%s", prefix, KIND[k], l, d ? "_reverse" : "");
                at[k] = add_tensor(m, off, name, G * H, cols[k]);
            }
            int skip = -1;
            if (cfg->skip) {
                snprintf(name, sizeof name, "%srnn/weight_skip_l%d%s", prefix, l, d ? "_reverse" : "");
                skip = add_tensor(m, off, name, G * H, H);
            }
            int mlp_ih = -1, mlp_hh = -1;
            if (dt) {
                char stem[48];
                snprintf(stem, sizeof stem, "%srnn/transition_ih_l%d", prefix, l);
                mlp_ih = add_mlp(m, off, cfg, stem, d ? "_reverse" : "", (size_t)model_layer_input(cfg, l));
                snprintf(stem, sizeof stem, "%srnn/transition_hh_l%d", prefix, l);
                mlp_hh = add_mlp(m, off, cfg, stem, d ? "_reverse" : "", H);
            }
            ix->layer[l][d] = (layer_index){at[0], at[1], at[2], at[3], skip, mlp_ih, mlp_hh};
        }
        if (fed && l == 0) {
            snprintf(name, sizeof name, "%srnn/weight_oh", prefix);
            ix->w_oh = add_tensor(m, off, name, H, (size_t)cfg->output_size);
        }
    }
    ix->head_weight = ix->head_bias = ix->head_mlp = -1;
}

void model_s2s_stacks(const model_config *cfg, model_config *enc, model_config *dec) {
    const int H = cfg->hidden_size;
    *enc = (model_config){.cell = cfg->cell, .vocab_size = cfg->src_vocab_size, .embed_size = cfg->embed_size,
                          .hidden_size = H, .num_layers = cfg->num_layers, .task = TASK_TAG, .output_size = 1,
                          .bidirectional = cfg->bidirectional, .merge = cfg->merge, .headless = 1,
                          .skip = cfg->skip, .residual = cfg->residual, .transition_depth = cfg->transition_depth,
                          .transition_width = cfg->transition_width};
    /* Both stacks get the deep forms (the decoder's run in seq2seq_impl.h's step loop). */
    *dec = (model_config){.cell = cfg->cell, .vocab_size = cfg->vocab_size + 1, .embed_size = cfg->embed_size,
                          .hidden_size = H, .num_layers = cfg->num_layers, .task = TASK_TAG,
                          .output_size = model_s2s_outputs(cfg), .headless = 1, .skip = cfg->skip,
                          .residual = cfg->residual, .transition_depth = cfg->transition_depth,
                          .transition_width = cfg->transition_width,
                          .extra_input = (cfg->context & CONTEXT_INPUT ? model_s2s_context_width(cfg) : 0) +
                                         (cfg->attention ? H : 0)};
}

int model_s2s_outputs(const model_config *cfg) { return cfg->vocab_size + (cfg->end == END_EOS); }

int model_s2s_context_width(const model_config *cfg) {
    switch (cfg->condition) {
    case COND_LABEL: return cfg->hidden_size;
    case COND_FEATURES: return cfg->input_size;
    default: return (cfg->bidirectional ? 2 : 1) * cfg->hidden_size;
    }
}

int model_s2s_bridged(const model_config *cfg) {
    return (cfg->context & CONTEXT_INIT) && (cfg->bidirectional || cfg->condition != COND_NONE);
}

static void create_s2s(model *m, size_t *off) {
    const model_config *cfg = &m->cfg;
    model_config enc, dec;
    model_s2s_stacks(cfg, &enc, &dec);
    s2s_index *x = &m->s2s;
    const size_t H = cfg->hidden_size, Cw = model_s2s_context_width(cfg), De = model_layer_input(&enc, enc.num_layers);
    char name[48];
    /* A conditional LM has no encoder: its context is a label's embedding or given features. */
    x->ctx_embedding = -1;
    if (cfg->condition == COND_NONE) add_stack(m, off, "encoder/", &enc, &x->enc);
    else {
        tensor_index none = {.embedding = -1, .head_weight = -1, .head_bias = -1, .head_mlp = -1};
        for (int l = 0; l < RECUR_MAX_LAYERS; l++) none.layer[l][0] = none.layer[l][1] = NO_LAYER;
        x->enc = none;
    }
    if (cfg->condition == COND_LABEL) x->ctx_embedding = add_tensor(m, off, "context/embedding", cfg->src_vocab_size, H);
    add_stack(m, off, "decoder/", &dec, &x->dec);
    for (int l = 0; l < RECUR_MAX_LAYERS; l++)
        for (int k = 0; k < 2; k++) x->bridge_h[l][k] = x->bridge_c[l][k] = -1;
    if (model_s2s_bridged(cfg))
        for (int l = 0; l < cfg->num_layers; l++)
            for (int c = 0; c < 1 + (cfg->cell == CELL_LSTM); c++) {
                int *at = c ? x->bridge_c[l] : x->bridge_h[l];
                snprintf(name, sizeof name, "bridge/weight_%c_l%d", c ? 'c' : 'h', l);
                at[0] = add_tensor(m, off, name, H, Cw);
                snprintf(name, sizeof name, "bridge/bias_%c_l%d", c ? 'c' : 'h', l);
                at[1] = add_tensor(m, off, name, H, 0);
            }
    x->att_w = x->att_q = x->att_qb = x->att_v = x->att_combine = -1;
    if (cfg->attention == ATTN_GENERAL || cfg->attention == ATTN_ADDITIVE)
        x->att_w = add_tensor(m, off, cfg->attention == ATTN_GENERAL ? "attention/weight" : "attention/key_weight", H, De);
    if (cfg->attention == ATTN_ADDITIVE) {
        x->att_q = add_tensor(m, off, "attention/query_weight", H, H);
        x->att_qb = add_tensor(m, off, "attention/query_bias", H, 0);
        x->att_v = add_tensor(m, off, "attention/v", H, 0);
    }
    if (cfg->attention) x->att_combine = add_tensor(m, off, "attention/combine_weight", H, De + H);
    /* Deep output: decoder/out/transition_d<k>/weight, bias, then the output layer on W. */
    x->dec.head_mlp = cfg->transition_depth ? add_mlp(m, off, cfg, "decoder/out/transition", "", H) : -1;
    x->dec.head_weight = add_tensor(m, off, "decoder/out/weight", dec.output_size,
                                    cfg->transition_depth ? (size_t)cfg->transition_width : H);
    x->dec.head_bias = add_tensor(m, off, "decoder/out/bias", dec.output_size, 0);
    x->stop_w = x->stop_b = x->len_w = x->len_b = -1;
    if (cfg->end == END_STOP_BIT) {
        x->stop_w = add_tensor(m, off, "stop/weight", 1, H);
        x->stop_b = add_tensor(m, off, "stop/bias", 1, 0);
    } else if (cfg->end == END_LENGTH) {
        x->len_w = add_tensor(m, off, "length/weight", cfg->max_len, Cw);
        x->len_b = add_tensor(m, off, "length/bias", cfg->max_len, 0);
    }
    m->ix = x->dec; /* the model's own index: what generic code (e.g. inspect) reads */
}

/* A tree model (tree.h): embedding/weight, the cell under tree/ (rnn_tanh:
 * nn.RNNCell's weight_ih, weight_hh, bias_ih, bias_hh; lstm: the Linear
 * layers ioux, iouh, fx, fh of the child-sum Tree-LSTM of Tai et al. 2015, as
 * in treelstm.pytorch), then root/ and node/ heads (Linear H -> classes). */
static void create_tree(model *m, size_t *off) {
    const model_config *c = &m->cfg;
    const size_t H = c->hidden_size, E = c->embed_size, G = c->cell == CELL_LSTM ? 3 : 1;
    tree_index *x = &m->tree;
    *x = (tree_index){.fx_w = -1, .fx_b = -1, .fh_w = -1, .fh_b = -1, .root_w = -1, .root_b = -1, .node_w = -1,
                      .node_b = -1};
    x->embedding = add_tensor(m, off, "embedding/weight", c->vocab_size, E);
    if (c->cell == CELL_LSTM) {
        x->wx = add_tensor(m, off, "tree/ioux/weight", G * H, E);
        x->bx = add_tensor(m, off, "tree/ioux/bias", G * H, 0);
        x->wh = add_tensor(m, off, "tree/iouh/weight", G * H, H);
        x->bh = add_tensor(m, off, "tree/iouh/bias", G * H, 0);
        x->fx_w = add_tensor(m, off, "tree/fx/weight", H, E);
        x->fx_b = add_tensor(m, off, "tree/fx/bias", H, 0);
        x->fh_w = add_tensor(m, off, "tree/fh/weight", H, H);
        x->fh_b = add_tensor(m, off, "tree/fh/bias", H, 0);
    } else {
        x->wx = add_tensor(m, off, "tree/weight_ih", H, E);
        x->wh = add_tensor(m, off, "tree/weight_hh", H, H);
        x->bx = add_tensor(m, off, "tree/bias_ih", H, 0);
        x->bh = add_tensor(m, off, "tree/bias_hh", H, 0);
    }
    if (c->output_size) {
        x->root_w = add_tensor(m, off, "root/weight", c->output_size, H);
        x->root_b = add_tensor(m, off, "root/bias", c->output_size, 0);
    }
    if (c->node_classes) {
        x->node_w = add_tensor(m, off, "node/weight", c->node_classes, H);
        x->node_b = add_tensor(m, off, "node/bias", c->node_classes, 0);
    }
    /* What generic code (inspect, the table policy) reads. */
    m->ix.embedding = x->embedding;
    m->ix.head_weight = m->ix.head_bias = m->ix.w_oh = -1;
    for (int l = 0; l < RECUR_MAX_LAYERS; l++) m->ix.layer[l][0] = m->ix.layer[l][1] = NO_LAYER;
}

/* The head: head/weight and head/bias.  seq2seq: create_s2s. */
int model_create(model *m, const model_config *cfg, recur_err *err) {
    memset(m, 0, sizeof *m);
    if (model_config_validate(cfg, "model", err)) return -1;
    m->cfg = *cfg;
    size_t off = 0;
    if (cfg->task == TASK_SEQ2SEQ) {
        create_s2s(m, &off);
    } else if (cfg->task == TASK_TREE) {
        create_tree(m, &off);
    } else {
        add_stack(m, &off, "", cfg, &m->ix);
        const size_t O = cfg->output_size ? (size_t)cfg->output_size : (size_t)cfg->vocab_size;
        size_t in = (size_t)model_layer_input(cfg, cfg->num_layers);
        if (cfg->transition_depth) { /* deep output: head/transition_d<k>/weight, bias, then the head on W */
            m->ix.head_mlp = add_mlp(m, &off, cfg, "head/transition", "", in);
            in = (size_t)cfg->transition_width;
        }
        m->ix.head_weight = add_tensor(m, &off, "head/weight", O, in);
        m->ix.head_bias = add_tensor(m, &off, "head/bias", O, 0);
    }
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
    *first = m->ix.layer[l][0].w_ih;
    *last = l == 0 && m->ix.w_oh >= 0 ? m->ix.w_oh : *first;
    for (int d = 0; d <= m->cfg.bidirectional; d++) {
        const layer_index *x = &m->ix.layer[l][d];
        const int mlp_last = x->mlp_hh >= 0 ? x->mlp_hh + 2 * m->cfg.transition_depth - 1 : -1;
        const int at[6] = {x->w_ih, x->w_hh, x->b_ih, x->b_hh, x->w_skip, mlp_last};
        for (int k = 0; k < 6; k++) *last = at[k] > *last ? at[k] : *last;
    }
}

void model_head_tensors(const model *m, int *first, int *last) {
    *first = m->ix.head_mlp >= 0 ? m->ix.head_mlp : m->ix.head_weight;
    *last = m->ix.head_bias;
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
    /* seq2seq and trees: embeddings N(0,1), rnn/ as torch's RNNs, every
     * other tensor as a Linear of its fan-in (a bias or vector: the width of
     * the weight it sits beside).  A tree's rnn_tanh cell is thereby
     * nn.RNNCell's init only for E = H; the reference tests load the weights. */
    const int s2s = m->cfg.task == TASK_SEQ2SEQ || m->cfg.task == TASK_TREE;
    for (int i = 0; i < m->num_tensors; i++) {
        const tensor_info *t = &m->tensors[i];
        float *x = m->params + t->offset;
        int is_embedding = i == m->ix.embedding, is_head = i == m->ix.head_weight || i == m->ix.head_bias;
        float k = is_head ? k_head : k_rnn;
        if (m->cfg.transition_depth && (is_head || strstr(t->name, "transition_")))
            k = 1.0f / sqrtf((float)(t->ndim == 2 ? t->shape[1] : t[-1].shape[1])); /* a Linear of its fan-in */
        if (s2s) { /* embeddings N(0,1), rnn/ as torch's RNNs, every other tensor as a Linear of its fan-in
                    * (a bias or vector: the width of the weight it sits beside) */
            is_embedding = strstr(t->name, "embedding/") != NULL;
            const size_t fan_in = t->ndim == 2 ? t->shape[1] : t[-1].ndim == 2 ? t[-1].shape[1] : t[-1].shape[0];
            if (!strstr(t->name, "/rnn/")) k = 1.0f / sqrtf((float)fan_in);
        }
        for (size_t j = 0; j < t->count; j++)
            x[j] = is_embedding ? rng_normal(&r) : (2.0f * rng_uniform(&r) - 1.0f) * k;
    }
}
