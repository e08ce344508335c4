#include "checkpoint.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "h5util.h"
#include "seqdata_parts.h"

#define CKPT_FORMAT "recur-checkpoint"
#define CKPT_VERSION 1

/* ---- the contract's attributes, for the writer and the reader ------------- */

/* How an attribute of the contract is judged. */
typedef enum {
    RULE_IS_STRING, /* equals .text */
    RULE_IS_INT,    /* equals .value */
    RULE_CELL,      /* one of the cell names */
    RULE_OPTIM,     /* one of the optimizer names */
    RULE_TASK,      /* one of the task names */
    RULE_POOLING,   /* one of the pooling names */
    RULE_MERGE,     /* one of the merge names */
    RULE_ATTENTION, /* one of the attention names (seq2seq) */
    RULE_CONTEXT,   /* one of the context names: init, input, both (seq2seq) */
    RULE_END,       /* one of the end names (seq2seq) */
    RULE_CONDITION, /* one of the condition names (seq2seq) */
    RULE_RECURRENCE,/* hidden or output */
    RULE_SIZE,      /* an integer in [1, INT_MAX] (model_config_validate judges further) */
    RULE_NATURAL,   /* an integer in [0, INT_MAX] (model_config_validate judges further) */
    RULE_FLAG,      /* 0 or 1 */
    RULE_COUNT,     /* an integer in [0, 2^53]: counters that later grow by one and go through doubles */
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

/* The root attributes, in checking order: each one's place in the contract
 * depends only on attributes before it (see root_presence). */
enum {
    R_FORMAT, R_VERSION, R_CELL, R_TASK, R_CONDITION, R_INPUT, R_VOCAB, R_EMBED, R_HIDDEN, R_LAYERS, R_BIDIR, R_MERGE,
    R_CLASSES, R_OUTPUTS, R_PER_STEP, R_POOLING, R_RECURRENCE, R_SRC_VOCAB, R_ATTENTION, R_CONTEXT, R_END, R_MAX_LEN,
    R_ROOT_CLASSES, R_NODE_CLASSES, R_SKIP, R_RESIDUAL, R_TDEPTH, R_TWIDTH, N_ROOT
};
static const attr_spec ROOT_ATTRS[N_ROOT] = {
    {"format", RULE_IS_STRING, CKPT_FORMAT, 0}, {"version", RULE_IS_INT, NULL, CKPT_VERSION},
    {"cell", RULE_CELL, NULL, 0},               {"task", RULE_TASK, NULL, 0},
    {"condition", RULE_CONDITION, NULL, 0},
    {"input_size", RULE_NATURAL, NULL, 0},      {"vocab_size", RULE_SIZE, NULL, 0},
    {"embed_size", RULE_SIZE, NULL, 0},         {"hidden_size", RULE_SIZE, NULL, 0},
    {"num_layers", RULE_SIZE, NULL, 0},         {"bidirectional", RULE_FLAG, NULL, 0},
    {"merge", RULE_MERGE, NULL, 0},             {"num_classes", RULE_SIZE, NULL, 0},
    {"output_size", RULE_SIZE, NULL, 0},        {"per_step", RULE_FLAG, NULL, 0},
    {"pooling", RULE_POOLING, NULL, 0},         {"recurrence", RULE_RECURRENCE, NULL, 0},
    {"src_vocab_size", RULE_SIZE, NULL, 0},
    {"attention", RULE_ATTENTION, NULL, 0},     {"context", RULE_CONTEXT, NULL, 0},
    {"end", RULE_END, NULL, 0},                 {"max_len", RULE_SIZE, NULL, 0},
    {"num_root_classes", RULE_NATURAL, NULL, 0}, {"num_node_classes", RULE_NATURAL, NULL, 0},
    {"skip", RULE_NATURAL, NULL, 0},            {"residual", RULE_FLAG, NULL, 0},
    {"transition_depth", RULE_NATURAL, NULL, 0}, {"transition_width", RULE_SIZE, NULL, 0},
};

/* What the contract asks of a root attribute, given the ones before it. */
typedef enum {
    NEED,  /* required */
    MAY,   /* optional; absent means the default (0, the first name; per_step: see walk_root_attr) */
    ZERO,  /* does not apply: absent or 0 (root_written says which are written as 0) */
    FIXED, /* does not apply: absent or the one value the task implies */
    NONE,  /* does not apply: absent */
} presence;

#define BIT(a) (1u << (a))
/* The attributes each one's presence depends on: when one of them could not
 * be read (verify goes on), the dependent attribute is not judged. */
static const unsigned ROOT_DEPS[N_ROOT] = {
    [R_CONDITION] = BIT(R_TASK), [R_INPUT] = BIT(R_TASK) | BIT(R_CONDITION),
    [R_VOCAB] = BIT(R_TASK) | BIT(R_INPUT), [R_EMBED] = BIT(R_TASK) | BIT(R_INPUT),
    [R_BIDIR] = BIT(R_TASK),     [R_MERGE] = BIT(R_BIDIR),               [R_CLASSES] = BIT(R_TASK),
    [R_OUTPUTS] = BIT(R_TASK),   [R_PER_STEP] = BIT(R_TASK),             [R_POOLING] = BIT(R_TASK) | BIT(R_PER_STEP),
    [R_RECURRENCE] = BIT(R_TASK) | BIT(R_PER_STEP),
    [R_SRC_VOCAB] = BIT(R_TASK) | BIT(R_CONDITION), [R_ATTENTION] = BIT(R_TASK),            [R_CONTEXT] = BIT(R_TASK),
    [R_END] = BIT(R_TASK),       [R_MAX_LEN] = BIT(R_TASK) | BIT(R_END),
    [R_ROOT_CLASSES] = BIT(R_TASK), [R_NODE_CLASSES] = BIT(R_TASK),
    [R_SKIP] = BIT(R_TASK),      [R_RESIDUAL] = BIT(R_TASK),
    [R_TDEPTH] = BIT(R_TASK),    [R_TWIDTH] = BIT(R_TASK) | BIT(R_TDEPTH),
};

static int per_sequence_head(const model_config *c) {
    return c->task == TASK_CLASSIFY || (c->task == TASK_REGRESS && !c->per_step);
}

/* The heads whose output can be fed back to the next step (recurrence output). */
static int per_step_sequence_head(const model_config *c) {
    return c->task == TASK_TAG || (c->task == TASK_REGRESS && c->per_step);
}

/* The contract for root attribute `a` of a file describing `c` (whose fields
 * for the attributes before `a` are known); `why` (may be empty) says why
 * in messages; *fixed is the value a FIXED attribute may hold. */
static presence root_presence(const model_config *c, int a, char *why, size_t len, int64_t *fixed) {
    const char *task = task_name(c->task);
    const int classes = c->task == TASK_CLASSIFY || c->task == TASK_TAG, s2s = c->task == TASK_SEQ2SEQ;
    const int tree = c->task == TASK_TREE;
    why[0] = 0;
    *fixed = 0;
    if (tree) /* a tree model reads tokens through one layer, its heads sized by the last two */
        switch (a) {
        case R_INPUT:
        case R_BIDIR:
            snprintf(why, len, "task tree: one layer over token embeddings");
            return ZERO;
        case R_CLASSES:
        case R_OUTPUTS:
        case R_PER_STEP:
        case R_POOLING:
            snprintf(why, len, "task tree: its heads are num_root_classes and num_node_classes");
            return NONE;
        case R_ROOT_CLASSES:
        case R_NODE_CLASSES: return MAY; /* 0 or absent: no such head (model_config_validate wants one) */
        default: break;
        }
    switch (a) {
    case R_TASK: return MAY;
    case R_ROOT_CLASSES:
    case R_NODE_CLASSES:
        snprintf(why, len, "task %s: %s is a tree model's", task, ROOT_ATTRS[a].name);
        return NONE;
    case R_CONDITION:
        if (s2s) return MAY;
        snprintf(why, len, "task %s: condition is a seq2seq model's", task);
        return NONE;
    case R_INPUT:
        if (c->task != TASK_LM && !s2s) return MAY;
        if (s2s && c->condition == COND_FEATURES) {
            snprintf(why, len, "condition features: the width of the context vector");
            return NEED;
        }
        snprintf(why, len, !s2s ? "task lm: a language model reads tokens"
                           : c->condition == COND_LABEL ? "condition label: the context is a label's embedding"
                                                        : "task seq2seq: the encoder reads tokens of src_vocab_size");
        return ZERO;
    case R_VOCAB:
    case R_EMBED:
        if (s2s) {
            snprintf(why, len, a == R_VOCAB ? "task seq2seq: the target vocabulary"
                                            : "task seq2seq: the encoder's and the decoder's embeddings");
            return NEED;
        }
        if (!c->input_size) {
            snprintf(why, len, "token inputs; a feature model gives input_size instead");
            return NEED;
        }
        snprintf(why, len, "input_size %d: feature inputs have no embedding", c->input_size);
        return ZERO;
    case R_BIDIR:
        if (c->task != TASK_LM) return MAY;
        snprintf(why, len, "task lm: a language model reads left to right");
        return ZERO;
    case R_MERGE:
        if (c->bidirectional) return MAY;
        snprintf(why, len, "one direction: bidirectional is 0 or absent");
        return NONE;
    case R_CLASSES:
    case R_OUTPUTS:
        if (a == R_CLASSES ? classes : c->task == TASK_REGRESS) {
            snprintf(why, len, "task %s", task);
            return NEED;
        }
        if (c->task == TASK_LM) snprintf(why, len, "task lm: the outputs are the vocabulary");
        else if (s2s) snprintf(why, len, "task seq2seq: the outputs are the target vocabulary");
        else snprintf(why, len, "task %s gives %s", task, classes ? "num_classes" : "output_size");
        return NONE;
    case R_PER_STEP:
        if (c->task == TASK_REGRESS) return MAY;
        if (s2s) {
            snprintf(why, len, "task seq2seq: the decoder predicts a token per step until the end");
            return NONE;
        }
        *fixed = c->task != TASK_CLASSIFY;
        snprintf(why, len, "task %s: %s", task,
                 c->task == TASK_CLASSIFY ? "one label per sequence" : c->task == TASK_TAG ? "a label per step"
                                                                                           : "a token per step");
        return FIXED;
    case R_POOLING:
        if (per_sequence_head(c)) return MAY;
        if (c->task == TASK_REGRESS) snprintf(why, len, "per_step 1: a per-step head pools nothing");
        else snprintf(why, len, "task %s: a prediction per step, nothing is pooled", task);
        return NONE;
    case R_RECURRENCE:
        if (per_step_sequence_head(c)) return MAY;
        if (c->task == TASK_REGRESS) snprintf(why, len, "per_step 0: no per-step output to feed back");
        else snprintf(why, len, "task %s: only tag and per-step regress heads feed their output back", task);
        return NONE;
    case R_SRC_VOCAB:
    case R_ATTENTION:
    case R_CONTEXT:
    case R_END:
        if (!s2s) {
            snprintf(why, len, "task %s: %s is a seq2seq model's", task, ROOT_ATTRS[a].name);
            return NONE;
        }
        if (a != R_SRC_VOCAB) return MAY;
        if (c->condition == COND_FEATURES) {
            snprintf(why, len, "condition features: no source vocabulary");
            return ZERO;
        }
        snprintf(why, len, c->condition == COND_LABEL ? "condition label: the number of labels"
                                                      : "task seq2seq: the source vocabulary");
        return NEED;
    case R_SKIP:
    case R_RESIDUAL: return MAY; /* model_config_validate judges them against the rest (model_shortcut_refusal) */
    case R_TDEPTH: return MAY; /* judged by model_config_validate (model_transition_refusal) */
    case R_TWIDTH:
        if (c->transition_depth) {
            snprintf(why, len, "transition_depth %d: the width of its MLPs", c->transition_depth);
            return NEED;
        }
        snprintf(why, len, "transition_depth 0 or absent: no deep transition");
        return NONE;
    case R_MAX_LEN:
        if (!s2s) snprintf(why, len, "task %s: max_len is a seq2seq model's", task);
        else if (c->end != END_LENGTH) snprintf(why, len, "end %s: only a length head has max_len", end_name(c->end));
        else {
            snprintf(why, len, "end length: the length head's classes are 1..max_len");
            return NEED;
        }
        return NONE;
    default: return NEED;
    }
}

/* The model_config field a root attribute stands for (format and version: none). */
static int64_t root_get(const model_config *c, int a) {
    switch (a) {
    case R_CELL: return c->cell;
    case R_TASK: return c->task;
    case R_CONDITION: return c->condition;
    case R_INPUT: return c->input_size;
    case R_VOCAB: return c->vocab_size;
    case R_EMBED: return c->embed_size;
    case R_HIDDEN: return c->hidden_size;
    case R_LAYERS: return c->num_layers;
    case R_BIDIR: return c->bidirectional;
    case R_MERGE: return c->merge;
    case R_CLASSES:
    case R_OUTPUTS: return c->output_size;
    case R_PER_STEP: return c->per_step;
    case R_POOLING: return c->pooling;
    case R_RECURRENCE: return c->recurrence;
    case R_SRC_VOCAB: return c->src_vocab_size;
    case R_ATTENTION: return c->attention;
    case R_CONTEXT: return c->context - 1; /* the index of its name: CONTEXT_INIT (1) is "init" */
    case R_END: return c->end;
    case R_MAX_LEN: return c->max_len;
    case R_ROOT_CLASSES: return c->output_size;
    case R_NODE_CLASSES: return c->node_classes;
    case R_SKIP: return c->skip;
    case R_RESIDUAL: return c->residual;
    case R_TDEPTH: return c->transition_depth;
    case R_TWIDTH: return c->transition_width;
    default: return 0;
    }
}

static void root_set(model_config *c, int a, int64_t v) {
    switch (a) {
    case R_CELL: c->cell = (cell_kind)v; break;
    case R_TASK: c->task = (task_kind)v; break;
    case R_CONDITION: c->condition = (condition_kind)v; break;
    case R_INPUT: c->input_size = (int)v; break;
    case R_VOCAB: c->vocab_size = (int)v; break;
    case R_EMBED: c->embed_size = (int)v; break;
    case R_HIDDEN: c->hidden_size = (int)v; break;
    case R_LAYERS: c->num_layers = (int)v; break;
    case R_BIDIR: c->bidirectional = (int)v; break;
    case R_MERGE: c->merge = (merge_kind)v; break;
    case R_CLASSES:
    case R_OUTPUTS: c->output_size = (int)v; break;
    case R_PER_STEP: c->per_step = (int)v; break;
    case R_POOLING: c->pooling = (pooling_kind)v; break;
    case R_RECURRENCE: c->recurrence = (recurrence_kind)v; break;
    case R_SRC_VOCAB: c->src_vocab_size = (int)v; break;
    case R_ATTENTION: c->attention = (attention_kind)v; break;
    case R_CONTEXT: c->context = (int)v + 1; break;
    case R_END: c->end = (end_kind)v; break;
    case R_MAX_LEN: c->max_len = (int)v; break;
    case R_ROOT_CLASSES: c->output_size = (int)v; break;
    case R_NODE_CLASSES: c->node_classes = (int)v; break;
    case R_SKIP: c->skip = (int)v; break;
    case R_RESIDUAL: c->residual = (int)v; break;
    case R_TDEPTH: c->transition_depth = (int)v; break;
    case R_TWIDTH: c->transition_width = (int)v; break;
    default: break;
    }
}

/* Whether the writer stores attribute `a` for `c`: what applies, plus 0 for
 * vocab_size, embed_size (feature models) and bidirectional (language
 * models), so readers that expect them find them; input_size only for
 * feature models, recurrence only for output recurrence, skip, residual and
 * the deep transition only when on. */
static int root_written(const model_config *c, int a) {
    char why[160];
    int64_t fixed;
    presence p = root_presence(c, a, why, sizeof why, &fixed);
    if (a == R_INPUT) return c->input_size > 0;
    if (a == R_CONDITION) return c->condition != COND_NONE; /* seq2seq files from before it stay as they were */
    if (a == R_RECURRENCE) return c->recurrence != RECURRENCE_HIDDEN; /* files of hidden models stay as they were */
    if (a == R_SKIP || a == R_RESIDUAL || a == R_TDEPTH) return root_get(c, a) != 0; /* so do files without them */
    return p == NEED || p == MAY || p == ZERO;
}

/* The fields of a checkpoint's config that its task does not use are fixed,
 * so that equal architectures compare equal: per_step is 1 for tag, 0 for
 * classify, lm and seq2seq; pooling is last unless the head pools; merge is
 * concat with one direction; max_len is 0 without a length head; the
 * seq2seq fields are 0 for the other tasks. */
static void canonical_config(model_config *c) {
    if (c->task == TASK_TAG) c->per_step = 1;
    else if (c->task != TASK_REGRESS) c->per_step = 0;
    if (!per_sequence_head(c)) c->pooling = POOL_LAST;
    if (!per_step_sequence_head(c)) c->recurrence = RECURRENCE_HIDDEN;
    if (!c->bidirectional) c->merge = MERGE_CONCAT;
    if (c->task != TASK_SEQ2SEQ) {
        c->src_vocab_size = c->context = 0;
        c->attention = ATTN_NONE;
        c->condition = COND_NONE;
        c->end = END_EOS;
    }
    if (c->task != TASK_SEQ2SEQ || c->end != END_LENGTH) c->max_len = 0;
    if (c->task != TASK_TREE) c->node_classes = 0;
}

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

/* The names a choice attribute (cell, optimizer, task, pooling, merge,
 * attention, context, end) may hold, by enum value (context: by value - 1). */
#define MAX_CHOICES 8
static const char *const MERGE_NAMES[] = {"concat", "sum"};

static int choice_names(attr_rule rule, const char *names[MAX_CHOICES]) {
    int n = 0;
    switch (rule) {
    case RULE_CELL:
        for (; n < CELL_COUNT; n++) names[n] = cell_name((cell_kind)n);
        break;
    case RULE_OPTIM:
        for (; n < 2; n++) names[n] = optim_name((optim_kind)n);
        break;
    case RULE_TASK:
        for (; n < TASK_COUNT; n++) names[n] = task_name((task_kind)n);
        break;
    case RULE_POOLING:
        for (; n < POOL_COUNT; n++) names[n] = pooling_name((pooling_kind)n);
        break;
    case RULE_MERGE:
        for (; n < 2; n++) names[n] = MERGE_NAMES[n];
        break;
    case RULE_ATTENTION:
        for (; n < ATTN_COUNT; n++) names[n] = attention_name((attention_kind)n);
        break;
    case RULE_CONTEXT:
        for (; n < CONTEXT_BOTH; n++) names[n] = context_name(n + 1);
        break;
    case RULE_END:
        for (; n < END_COUNT; n++) names[n] = end_name((end_kind)n);
        break;
    case RULE_CONDITION:
        for (; n < COND_COUNT; n++) names[n] = condition_name((condition_kind)n);
        break;
    case RULE_RECURRENCE:
        for (; n < RECURRENCE_COUNT; n++) names[n] = recurrence_name((recurrence_kind)n);
        break;
    default: break;
    }
    return n;
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
    const char *names[MAX_CHOICES];
    switch (a->rule) {
    case RULE_IS_STRING: return h5u_write_str_attr(file, path, obj, a->name, a->text, err);
    case RULE_IS_INT: return h5u_write_int_attr(file, path, obj, a->name, a->value, err);
    case RULE_CELL:
    case RULE_OPTIM:
    case RULE_TASK:
    case RULE_POOLING:
    case RULE_MERGE:
    case RULE_ATTENTION:
    case RULE_CONTEXT:
    case RULE_END:
    case RULE_CONDITION:
    case RULE_RECURRENCE:
        if (v.i < 0 || v.i >= choice_names(a->rule, names)) break;
        return h5u_write_str_attr(file, path, obj, a->name, names[v.i], err);
    case RULE_SIZE:
    case RULE_NATURAL:
    case RULE_FLAG:
    case RULE_COUNT: return h5u_write_int_attr(file, path, obj, a->name, v.i, err);
    case RULE_FLOAT: return h5u_write_float_attr(file, path, obj, a->name, v.f, err);
    }
    return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: attribute '%s' = %lld", path, a->name,
                      (long long)v.i);
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
    for (int a = 0; a < N_ROOT; a++)
        if (root_written(&m->cfg, a) &&
            write_attr(file, path, "/", &ROOT_ATTRS[a], (attr_value){.i = root_get(&m->cfg, a)}, err))
            return -1;
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
    if (ck->src_vocab && pair_vocab_write(file, path, "/src_vocab", ck->src_vocab, err)) return -1;
    if (ck->tgt_vocab && pair_vocab_write(file, path, "/tgt_vocab", ck->tgt_vocab, err)) return -1;
    if (ck->opt && write_optimizer(file, path, ck->opt, err)) return -1;
    if (write_progress(file, path, ck, err)) return -1;
    if (ck->state_h && write_state(file, path, ck, err)) return -1;
    if (ck->config_text && h5u_write_str_dataset(file, path, "/config", ck->config_text, err)) return -1;
    return 0;
}

/* seq2seq's vocabularies: both or neither, each checked as pairdata_check
 * checks it, of the sizes the config gives; no /vocab. */
static int check_out_s2s(const char *path, const checkpoint_out *ck, recur_err *err) {
    const model_config *c = &ck->m->cfg;
    const int s2s = c->task == TASK_SEQ2SEQ;
    if (ck->vocab && s2s)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: /vocab for a seq2seq model (it takes src_vocab "
                          "and tgt_vocab)", path);
    if (!ck->src_vocab && !ck->tgt_vocab) return 0;
    if (!s2s)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: source and target vocabularies for task %s", path,
                          task_name(c->task));
    const int want_src = c->condition != COND_FEATURES; /* a feature context has no vocabulary */
    if (!ck->tgt_vocab || (ck->src_vocab != NULL) != want_src)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: %s (condition %s)", path,
                          !ck->tgt_vocab ? "a source vocabulary without a target one"
                          : want_src    ? "a target vocabulary without a source one"
                                        : "a source vocabulary for a feature context",
                          condition_name(c->condition));
    if ((ck->src_vocab && pair_vocab_check(ck->src_vocab, path, "/src_vocab", RECUR_EXIT_FAIL, err)) ||
        pair_vocab_check(ck->tgt_vocab, path, "/tgt_vocab", RECUR_EXIT_FAIL, err))
        return -1;
    if ((ck->src_vocab && ck->src_vocab->size != c->src_vocab_size) || ck->tgt_vocab->size != c->vocab_size)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: vocabularies of %d and %d entries for "
                          "src_vocab_size %d and vocab_size %d", path, ck->src_vocab ? ck->src_vocab->size : 0,
                          ck->tgt_vocab->size, c->src_vocab_size, c->vocab_size);
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
    if (ck->vocab && m->cfg.input_size)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: a vocabulary for a feature model", path);
    if (check_out_s2s(path, ck, err)) return -1;
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
    const char *names[MAX_CHOICES];
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
    case RULE_OPTIM:
    case RULE_TASK:
    case RULE_POOLING:
    case RULE_MERGE:
    case RULE_ATTENTION:
    case RULE_CONTEXT:
    case RULE_END:
    case RULE_CONDITION:
    case RULE_RECURRENCE: rc = read_choice(w, obj, a->name, a->rule, &v->i, &e); break;
    case RULE_SIZE: rc = h5u_read_bounded_attr(w->file, w->path, obj, a->name, 1, INT_MAX, &v->i, &e); break;
    case RULE_NATURAL: rc = h5u_read_bounded_attr(w->file, w->path, obj, a->name, 0, INT_MAX, &v->i, &e); break;
    case RULE_FLAG: rc = h5u_read_bounded_attr(w->file, w->path, obj, a->name, 0, 1, &v->i, &e); break;
    case RULE_COUNT: rc = h5u_read_bounded_attr(w->file, w->path, obj, a->name, 0, (int64_t)1 << 53, &v->i, &e); break;
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

/* Whether root attribute `name` is there (an unanswerable question counts
 * as yes: the read that follows says what is wrong). */
static int root_has(const walk *w, const char *name) {
    return H5Aexists_by_name(w->file, "/", name, H5P_DEFAULT) != 0;
}

/* What an attribute that should not be there holds, for messages. */
static void describe_root_attr(walk *w, const char *name, char *buf, size_t len) {
    recur_err e = {0};
    int64_t i;
    float f;
    char *s = NULL;
    if (h5u_read_int_attr(w->file, w->path, "/", name, &i, &e) == 0) snprintf(buf, len, "%lld", (long long)i);
    else if (h5u_read_float_attr(w->file, w->path, "/", name, &f, &e) == 0) snprintf(buf, len, "%g", (double)f);
    else if (h5u_read_str_attr(w->file, w->path, "/", name, NULL, &s, &e) == 0) snprintf(buf, len, "\"%.100s\"", s);
    else snprintf(buf, len, "an attribute");
    free(s);
}

static int root_fault(walk *w, const char *name, const char *expected, const char *why, const char *found) {
    recur_err e = {0};
    recur_fail(&e, RECUR_EXIT_INPUT, "%s: attribute '%s': expected %s (%s), found %s", w->path, name, expected, why,
               found);
    return fault(w, &e);
}

/* Root attribute `a` judged against the ones before it (in *c) and stored
 * into *c.  0; -1 after reporting a violation that leaves the config
 * unknown; -2 after reporting one that does not (an attribute that does not
 * apply: its value is not used). */
static int walk_root_attr(walk *w, model_config *c, int a) {
    const attr_spec *s = &ROOT_ATTRS[a];
    char why[160], found[160], want[64];
    int64_t fixed, x;
    presence p = root_presence(c, a, why, sizeof why, &fixed);
    recur_err e = {0};
    if (!root_has(w, s->name) && p != NEED) {
        /* Defaults: 0 / the first name (context: init), except that a
         * regression head without per_step is per step unless it names a
         * pooling. */
        if (p == MAY) root_set(c, a, a == R_PER_STEP ? !root_has(w, ROOT_ATTRS[R_POOLING].name) : 0);
        return 0;
    }
    switch (p) {
    case NEED:
    case MAY:
        if (p == NEED && why[0]) {
            /* A size the other attributes require: the message says which. */
            snprintf(want, sizeof want, "an integer in [1, %d]", INT_MAX);
            if (!root_has(w, s->name)) return root_fault(w, s->name, want, why, "nothing (missing)");
            if (h5u_read_int_attr(w->file, w->path, "/", s->name, &x, &e)) return fault(w, &e);
            if (x < 1 || x > INT_MAX) {
                snprintf(found, sizeof found, "%lld", (long long)x);
                return root_fault(w, s->name, want, why, found);
            }
            root_set(c, a, x);
            return 0;
        }
        attr_value v = {0};
        if (read_attr(w, "/", s, &v)) return -1;
        root_set(c, a, v.i);
        return 0;
    case ZERO:
    case FIXED:
        if (h5u_read_int_attr(w->file, w->path, "/", s->name, &x, &e)) return fault(w, &e), -2;
        if (x == fixed) return 0;
        snprintf(found, sizeof found, "%lld", (long long)x);
        snprintf(want, sizeof want, "%lld or nothing", (long long)fixed);
        return root_fault(w, s->name, want, why, found), -2;
    case NONE: break;
    }
    describe_root_attr(w, s->name, found, sizeof found);
    return root_fault(w, s->name, "nothing", why, found), -2;
}

/* The root attributes into *c; -1 when they do not make a valid config
 * (when loading: when any of them is wrong). */
static int walk_root(walk *w, model_config *c) {
    memset(c, 0, sizeof *c);
    unsigned known = 0;
    int bad = 0;
    for (int a = 0; a < N_ROOT; a++) {
        /* Verifying goes on past a bad attribute, but does not judge the
         * ones whose place in the contract depends on it. */
        if ((ROOT_DEPS[a] & known) != ROOT_DEPS[a]) {
            bad = 1;
            continue;
        }
        int rc = walk_root_attr(w, c, a);
        if (rc == 0) {
            known |= BIT(a);
            continue;
        }
        if (stop(w, -1)) return -1;
        /* format and version, or an attribute that does not apply, do not
         * stop a verification from checking the tensors against the sizes:
         * only the attributes that make the config do. */
        if (rc == -2) known |= BIT(a);
        else if (a != R_FORMAT && a != R_VERSION) bad = 1;
    }
    if (bad) return -1;
    canonical_config(c);
    /* Attributes that are each valid but contradict each other. */
    if (c->task == TASK_SEQ2SEQ && c->attention == ATTN_DOT && c->bidirectional && c->merge == MERGE_CONCAT) {
        char why[160];
        snprintf(why, sizeof why, "bidirectional 1, merge concat: dot attention compares the decoder's state (%d wide) "
                 "with the encoder's (%d wide)", c->hidden_size, 2 * c->hidden_size);
        return root_fault(w, ROOT_ATTRS[R_ATTENTION].name, "none, general or additive", why, "\"dot\"");
    }
    if (c->recurrence == RECURRENCE_OUTPUT && model_output_recurrence_refusal(c))
        return root_fault(w, ROOT_ATTRS[R_RECURRENCE].name, "hidden or nothing", model_output_recurrence_refusal(c),
                          "\"output\"");
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

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Why a seq2seq model whose attributes are `c` has no tensor `name`
 * (relative to /model). */
static void s2s_extra_why(const model_config *c, const char *name, char *why, size_t len) {
    const int reverse = strstr(name, "_reverse") != NULL, stop_head = starts(name, "stop/");
    if (starts(name, "encoder/rnn/") && reverse) snprintf(why, len, "one direction: bidirectional is 0 or absent");
    else if (starts(name, "decoder/rnn/") && reverse) snprintf(why, len, "the decoder reads left to right");
    else if (starts(name, "attention/")) snprintf(why, len, "attention %s", attention_name(c->attention));
    else if (starts(name, "encoder/") && c->condition)
        snprintf(why, len, "condition %s: a conditional LM has no encoder", condition_name(c->condition));
    else if (starts(name, "context/"))
        snprintf(why, len, "condition %s: only condition label has a label embedding", condition_name(c->condition));
    else if (stop_head || starts(name, "length/"))
        snprintf(why, len, "end %s: only end %s has a %s head", end_name(c->end), stop_head ? "stop-bit" : "length",
                 stop_head ? "stop" : "length");
    else if (starts(name, "bridge/") && !(c->context & CONTEXT_INIT))
        snprintf(why, len, "context input: the decoder starts from zero states");
    else if (starts(name, "bridge/") && !c->bidirectional && !c->condition)
        snprintf(why, len, "one direction: the encoder's final states start the decoder as they are");
    else if (starts(name, "encoder/") || starts(name, "decoder/") || starts(name, "bridge/"))
        snprintf(why, len, "cell %s, num_layers %d", cell_name(c->cell), c->num_layers);
    else
        snprintf(why, len, "task seq2seq: the tensors are under encoder/, decoder/, bridge/, attention/, stop/, "
                 "length/");
}

/* seq2seq: every dataset under /model must be one of the model's tensors, so
 * that tensors of another configuration (attention, context, end, layers,
 * directions: attributes that say less than the tensors do) are refused by
 * name rather than ignored. */
static int refuse_extra_s2s(walk *w, const model *m) {
    h5u_name *names;
    int n, rc = 0;
    recur_err e = {0};
    if (h5u_list_datasets(w->file, "/model", &names, &n)) {
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: group '/model': expected readable datasets, found an unreadable group",
                   w->path);
        return fault(w, &e);
    }
    for (int i = 0; i < n && !stop(w, rc); i++) {
        const char *rel = names[i] + strlen("/model/");
        if (model_find_tensor(m, rel) >= 0) continue;
        char why[200];
        s2s_extra_why(&m->cfg, rel, why, sizeof why);
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected nothing (%s), found one", w->path, names[i], why);
        rc = fault(w, &e);
    }
    free(names);
    return rc;
}

/* A tensor the declared model does not have, in a place where it means the
 * attributes say less than the tensors do: an embedding beside input_size
 * (feature inputs), reverse-direction weights without bidirectional (a
 * PyTorch export that forgot the attribute).  Other extra datasets are
 * ignored, except in seq2seq models (refuse_extra_s2s). */
static int refuse_extra(walk *w, const model *m) {
    const model_config *c = &m->cfg;
    if (c->task == TASK_SEQ2SEQ) return refuse_extra_s2s(w, m);
    char features[96], deeper[64], deeper_why[96];
    snprintf(features, sizeof features, "input_size %d: feature inputs have no embedding", c->input_size);
    snprintf(deeper, sizeof deeper, "/model/rnn/transition_hh_l0_d%d/weight", c->transition_depth);
    snprintf(deeper_why, sizeof deeper_why, "transition_depth %d: its MLPs have %d layer(s)", c->transition_depth,
             c->transition_depth);
    struct {
        int bad;
        const char *name, *why;
    } extra[] = {
        {c->input_size > 0, "/model/embedding/weight", features},
        {!c->bidirectional, "/model/rnn/weight_ih_l0_reverse", "one direction: bidirectional is 0 or absent"},
        {c->recurrence == RECURRENCE_OUTPUT, "/model/rnn/weight_hh_l0",
         "recurrence output: no hidden-to-hidden connection"},
        {c->recurrence == RECURRENCE_HIDDEN, "/model/rnn/weight_oh", "recurrence hidden or absent: no output feedback"},
        {!c->skip, "/model/rnn/weight_skip_l0", "skip 0 or absent: no skip connections"},
        {!c->transition_depth, "/model/rnn/transition_ih_l0_d0/weight", "transition_depth 0 or absent: no deep transition"},
        {!c->transition_depth, "/model/head/transition_d0/weight", "transition_depth 0 or absent: no deep transition"},
        {c->transition_depth > 0, deeper, deeper_why},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof extra / sizeof extra[0] && !stop(w, rc); i++) {
        if (!extra[i].bad || !h5u_exists(w->file, extra[i].name)) continue;
        recur_err e = {0};
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected nothing (%s), found one", w->path, extra[i].name,
                   extra[i].why);
        rc = fault(w, &e);
    }
    return rc;
}

/* /model with the sizes known: every tensor of the model, into its params. */
static int walk_model(walk *w, model *m) {
    int rc = refuse_extra(w, m);
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

typedef unsigned long long u64;

/* A deep transition's MLP from `in` columns: depth layers of W outputs. */
static u64 mlp_floats(u64 in, u64 W, u64 depth) { return depth ? in * W + W + (depth - 1) * (W * W + W) : 0; }

/* The floats of a stack's embedding and recurrent layers. */
static u64 stack_floats(const model_config *c) {
    const u64 H = (unsigned)c->hidden_size, G = (unsigned)cell_gates(c->cell), D = c->bidirectional ? 2 : 1;
    u64 floats = c->input_size ? 0 : (u64)(unsigned)c->vocab_size * (unsigned)c->embed_size;
    const u64 hh = c->recurrence == RECURRENCE_OUTPUT ? 0 : H + 1; /* W_hh and b_hh per gate row */
    const u64 skip = c->skip ? H : 0; /* W_skip per gate row */
    const u64 Dt = (unsigned)c->transition_depth, W = Dt ? (unsigned)c->transition_width : 0;
    for (int l = 0; l < c->num_layers; l++) {
        const u64 in = (unsigned)model_layer_input(c, l);
        if (!Dt) {
            floats += D * G * H * (in + 1 + hh + skip);
            continue;
        }
        /* W_ih and W_hh read W columns; the two MLPs */
        floats += D * (G * H * (W + 1 + (hh ? W + 1 : 0) + skip) + mlp_floats(in, W, Dt) + mlp_floats(H, W, Dt));
    }
    return floats;
}

/* At least the floats of the model `c` declares (seq2seq: its two stacks,
 * the output layer and the length head; the smaller tensors are left out). */
static u64 model_floats(const model_config *c) {
    if (c->task != TASK_SEQ2SEQ) {
        const u64 O = c->output_size ? (unsigned)c->output_size : (unsigned)c->vocab_size;
        const u64 in = (unsigned)model_layer_input(c, c->num_layers), Dt = (unsigned)c->transition_depth;
        const u64 W = Dt ? (unsigned)c->transition_width : in;
        return stack_floats(c) + mlp_floats(in, W, Dt) + O * (W + 1);
    }
    model_config enc, dec;
    model_s2s_stacks(c, &enc, &dec);
    const u64 H = (unsigned)c->hidden_size, D = c->bidirectional ? 2 : 1;
    return stack_floats(&enc) + stack_floats(&dec) + (u64)(unsigned)dec.output_size * (H + 1) +
           (u64)(unsigned)c->max_len * (D * H + 1);
}

/* The sizes come from attributes anyone can forge: before the model's
 * arenas are allocated, the weights they imply must fit in the file (every
 * tensor of the model is required); stored data may be compressed, but not
 * 1024:1.  So a vocab_size of 16 million names the attributes rather than
 * allocating gigabytes. */
static int check_sizes_in_file(walk *w, const model_config *c) {
    const u64 need = 4 * model_floats(c);
    struct stat st;
    u64 have = stat(w->path, &st) == 0 ? (u64)st.st_size : 0;
    if (need <= have * 1024 + (64ull << 20)) return 0;
    char sizes[320];
    int n = 0;
    if (c->task == TASK_SEQ2SEQ) n = snprintf(sizes, sizeof sizes, "'src_vocab_size' (%d), ", c->src_vocab_size);
    if (c->input_size) n += snprintf(sizes + n, sizeof sizes - (size_t)n, "'input_size' (%d)", c->input_size);
    else n += snprintf(sizes + n, sizeof sizes - (size_t)n, "'vocab_size' (%d), 'embed_size' (%d)", c->vocab_size,
                       c->embed_size);
    n += snprintf(sizes + n, sizeof sizes - (size_t)n, ", 'hidden_size' (%d), 'num_layers' (%d)", c->hidden_size,
                  c->num_layers);
    if (c->bidirectional) n += snprintf(sizes + n, sizeof sizes - (size_t)n, ", 'bidirectional' (1)");
    if (c->max_len) n += snprintf(sizes + n, sizeof sizes - (size_t)n, ", 'max_len' (%d)", c->max_len);
    if (c->output_size)
        snprintf(sizes + n, sizeof sizes - (size_t)n, ", '%s' (%d)",
                 ROOT_ATTRS[c->task == TASK_REGRESS ? R_OUTPUTS : R_CLASSES].name, c->output_size);
    recur_err e = {0};
    recur_fail(&e, RECUR_EXIT_INPUT, "%s: attributes %s: the model they declare needs at least %llu bytes of weights, "
               "but the file holds only %llu bytes", w->path, sizes, need, have);
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
    recur_err e = {0};
    if (w->m && w->m->cfg.input_size) {
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '/vocab': expected nothing (feature inputs have no vocabulary), "
                   "found one", w->path);
        return fault(w, &e);
    }
    if (w->m && w->m->cfg.task == TASK_SEQ2SEQ) {
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '/vocab': expected nothing (task seq2seq: its vocabularies are "
                   "/src_vocab and /tgt_vocab), found one", w->path);
        return fault(w, &e);
    }
    h5u_shape want = {H5U_UINT8, 1, {w->m ? (size_t)w->m->cfg.vocab_size : 0}, {"V"}};
    size_t dims[1];
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

/* /src_vocab and /tgt_vocab (seq2seq only): both or neither, each as a pair
 * dataset stores it (io/pairdata.h: uint8 [V] or strings [V], read by the
 * same code), of src_vocab_size and vocab_size entries. */
static int walk_pair_vocabs(walk *w, checkpoint_in *ck) {
    static const char *const NAMES[2] = {"/src_vocab", "/tgt_vocab"};
    static const int SIZE_ATTR[2] = {R_SRC_VOCAB, R_VOCAB};
    const model_config *c = w->m ? &w->m->cfg : NULL;
    pair_vocab *v[2] = {&ck->src_vocab, &ck->tgt_vocab};
    recur_err e = {0};
    int rc = 0;
    for (int i = 0; i < 2 && !stop(w, rc); i++) {
        const int there = h5u_exists(w->file, NAMES[i]);
        if (c && c->task == TASK_SEQ2SEQ && c->condition == COND_FEATURES && i == 0 && there)
            recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected nothing (condition features: the context is "
                       "a feature vector), found one", w->path, NAMES[i]);
        else if (c && c->task != TASK_SEQ2SEQ && there)
            recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected nothing (task %s: %s), found one", w->path,
                       NAMES[i], task_name(c->task), c->input_size ? "feature inputs have no vocabulary"
                                                                   : "one vocabulary, /vocab");
        else if (c && c->task == TASK_SEQ2SEQ && !there && !(c->condition == COND_FEATURES && i == 0))
            recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected uint8 [V] or strings [V] (stored with %s), "
                       "found nothing (missing)", w->path, NAMES[i], NAMES[!i]);
        else continue;
        rc = fault(w, &e);
    }
    if (rc) return rc;
    if (seqdata_guard_strings(w->file, w->path, NAMES, 2, &e)) return fault(w, &e);
    for (int i = 0; i < 2 && !stop(w, rc); i++) {
        if (!h5u_exists(w->file, NAMES[i])) continue;
        if (pair_vocab_read(w->file, w->path, NAMES[i], v[i], &e)) {
            pair_vocab_free(v[i]);
            rc = fault(w, &e);
            continue;
        }
        const int want = c ? (int)root_get(c, SIZE_ATTR[i]) : v[i]->size;
        if (v[i]->size == want) continue;
        recur_fail(&e, RECUR_EXIT_INPUT, "%s: dataset '%s': expected %d entries (attribute '%s'), found %d", w->path,
                   NAMES[i], want, ROOT_ATTRS[SIZE_ATTR[i]].name, v[i]->size);
        pair_vocab_free(v[i]);
        rc = fault(w, &e);
    }
    return rc;
}

static int walk_config(walk *w, checkpoint_in *ck) {
    recur_err e = {0};
    if (h5u_read_str_dataset(w->file, w->path, "/config", &ck->config_text, &e)) return fault(w, &e);
    return 0;
}

/* Everything beside the root attributes and /model, each optional (a
 * PyTorch export has none of them), checked when present. */
static const struct {
    const char *name, *or_name; /* walked when either is there */
    int (*walk)(walk *w, checkpoint_in *ck);
} PARTS[] = {
    {"/vocab", NULL, walk_vocab},     {"/src_vocab", "/tgt_vocab", walk_pair_vocabs},
    {"/optimizer", NULL, walk_optimizer}, {"/progress", NULL, walk_progress},
    {"/state", NULL, walk_state},     {"/config", NULL, walk_config},
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
        if (h5u_exists(file, PARTS[i].name) || (PARTS[i].or_name && h5u_exists(file, PARTS[i].or_name)))
            rc = PARTS[i].walk(w, ck);
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
    pair_vocab_free(&ck->src_vocab);
    pair_vocab_free(&ck->tgt_vocab);
    free(ck->state_h);
    free(ck->state_c);
    free(ck->config_text);
    memset(ck, 0, sizeof *ck);
}
