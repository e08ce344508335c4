/* recur inspect FILE          a checkpoint: shape (seq2seq: encoder,
 *                             decoder, attention, context, end and both
 *                             vocabularies), progress, optimizer,
 *                             carried states, config and per-tensor
 *                             statistics; a token dataset: counts, vocabulary,
 *                             id range; a sequence dataset: task, inputs,
 *                             classes or targets, per split sequences, steps,
 *                             lengths, label counts or target mean/std; a
 *                             pair dataset: vocabularies, per split pairs,
 *                             tokens and lengths of each side; a tree
 *                             dataset: vocabulary, label classes, per split
 *                             trees, nodes, edges, leaves, depth, arity and
 *                             label counts; any other
 *                             HDF5 file: what format it has
 * recur inspect --diff A B    per-tensor differences; --atol/--rtol make
 *                             "within tolerance" equal (exit 0 identical or
 *                             within tolerance, 1 different, 2 error)
 * recur inspect --verify CKPT every contract violation (exit 0 valid, 1 invalid, 2 unreadable)
 * --json: one JSON document; --jsonl: one JSON object per line (the summary or
 * one per item, then a summary record). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/checkpoint.h"
#include "../io/config.h"
#include "../io/dataset.h"
#include "../io/inspect.h"
#include "../io/pairdata.h"
#include "../io/seqdata.h"
#include "../io/treedata.h"
#include "cli.h"
#include "commands.h"

#define USAGE "FILE.h5 | --diff A.h5 B.h5 [--atol X] [--rtol Y] | --verify CKPT.h5  [--json | --jsonl]"

/* Exit codes of --diff and --verify (the summary uses core/error.h's). */
enum { SAME = 0, DIFFERENT = 1, UNREADABLE = 2 };

/* ---- numbers as text --------------------------------------------------------- */

/* The shortest %g text that reads back to the same float32 / double. */
static void shortest_f32(char *buf, size_t len, float v) {
    for (int p = 6; p <= 9; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtof(buf, NULL) == v) return;
    }
}

static void shortest_f64(char *buf, size_t len, double v) {
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* 1234567 -> "1,234,567" */
static void grouped(char *buf, size_t len, size_t v) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v), k = 0;
    for (int i = 0; i < n && (size_t)k + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = 0;
}

static void shape_text(char *buf, size_t len, int rank, const size_t *dims) {
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && n < len; i++) n += (size_t)snprintf(buf + n, len - n, "%s%zu", i ? "," : "", dims[i]);
    if (n < len) snprintf(buf + n, len - n, "]");
}

/* ---- JSON out: one document, or one record per line ---------------------------
 *
 * The same calls produce both forms.  As a document, records are members of
 * one object and a list of records is an array member.  As lines (--jsonl,
 * the form before the document existed), the top-level members form one line
 * and each record of a list its own line; booleans are written 0/1 there. */

typedef struct {
    int doc;
    int depth;
    int first[8];   /* the next member at this depth is the first */
    int top_open;   /* the top-level object (document, or current line) is open */
} jw;

static void jw_put_str(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p == '\n') fputs("\\n", stdout);
        else if (*p < 0x20 || *p == 0x7f) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

static void jw_open_at(jw *w, char bracket) {
    putchar(bracket);
    w->first[++w->depth] = 1;
}

/* Separator and key of the next member (key NULL: an array element).  The
 * top-level object opens with its first member, so a command that fails
 * before writing anything leaves stdout empty. */
static void jw_key(jw *w, const char *key) {
    if (w->depth == 0) {
        jw_open_at(w, '{');
        w->top_open = 1;
    }
    if (!w->first[w->depth]) putchar(',');
    w->first[w->depth] = 0;
    if (key) {
        jw_put_str(key);
        putchar(':');
    }
}

static void jw_begin(jw *w, int doc) {
    memset(w, 0, sizeof *w);
    w->doc = doc;
}

static void jw_close(jw *w, char bracket) {
    putchar(bracket);
    if (--w->depth > 0) return;
    putchar('\n');
    w->top_open = 0;
}

static void jw_end(jw *w) {
    if (w->top_open) jw_close(w, '}');
}

static void jw_str(jw *w, const char *key, const char *v) {
    jw_key(w, key);
    jw_put_str(v);
}

static void jw_int(jw *w, const char *key, long long v) {
    jw_key(w, key);
    printf("%lld", v);
}

static void jw_raw(jw *w, const char *key, const char *v) {
    jw_key(w, key);
    fputs(v, stdout);
}

static void jw_bool(jw *w, const char *key, int v) {
    jw_key(w, key);
    fputs(w->doc ? (v ? "true" : "false") : (v ? "1" : "0"), stdout);
}

/* JSON has no NaN or infinity: null stands for them. */
static void jw_f32(jw *w, const char *key, float v) {
    char t[32] = "null";
    if (isfinite(v)) shortest_f32(t, sizeof t, v);
    jw_raw(w, key, t);
}

static void jw_f64(jw *w, const char *key, double v) {
    char t[40] = "null";
    if (isfinite(v)) shortest_f64(t, sizeof t, v);
    jw_raw(w, key, t);
}

static void jw_object(jw *w, const char *key) {
    jw_key(w, key);
    jw_open_at(w, '{');
}

/* As lines, a list ends the current top-level line and is not itself written. */
static void jw_list_begin(jw *w, const char *key) {
    if (w->doc) {
        jw_key(w, key);
        jw_open_at(w, '[');
    } else if (w->top_open) jw_close(w, '}');
}

static void jw_list_end(jw *w) {
    if (w->doc) jw_close(w, ']');
}

static void jw_item_begin(jw *w) {
    if (w->doc) jw_key(w, NULL);
    jw_open_at(w, '{');
}

static void jw_item_end(jw *w) { jw_close(w, '}'); }

/* A list element that is one string: as lines, {"key": s}. */
static void jw_item_str(jw *w, const char *key, const char *s) {
    if (w->doc) {
        jw_str(w, NULL, s);
        return;
    }
    jw_item_begin(w);
    jw_str(w, key, s);
    jw_item_end(w);
}

/* ---- the stored config as an object of typed values ------------------------- */

typedef struct {
    char *key[128], *value[128];
    int n;
} config_pairs;

static int collect_pair(void *ctx, const char *key, const char *value, recur_err *err) {
    config_pairs *c = ctx;
    if (c->n == 128) return recur_fail(err, RECUR_EXIT_INPUT, "more than 128 keys");
    c->key[c->n] = strdup(key);
    c->value[c->n++] = strdup(value);
    return 0;
}

static void config_pairs_free(config_pairs *c) {
    for (int i = 0; i < c->n; i++) {
        free(c->key[i]);
        free(c->value[i]);
    }
    c->n = 0;
}

/* "3" -> 3, "2e-3" -> 0.002, "true" -> true, anything else a string. */
static void config_value(jw *w, const char *key, const char *v) {
    char *end;
    if (*v) {
        long long i = strtoll(v, &end, 10);
        if (!*end) {
            jw_int(w, key, i);
            return;
        }
        double d = strtod(v, &end);
        if (!*end && isfinite(d) && strpbrk(v, "xXpP") == NULL) {
            jw_f64(w, key, d);
            return;
        }
    }
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) jw_raw(w, key, v);
    else jw_str(w, key, v);
}

/* As a document: an object (the INI text when it does not parse).  As
 * lines: the INI text, when short enough for one line. */
static void config_member(jw *w, const char *path, const char *text) {
    if (!w->doc) {
        if (strlen(text) < 4096) jw_str(w, "config", text);
        return;
    }
    config_pairs c = {.n = 0};
    recur_err err = {0};
    if (config_parse_text(text, path, collect_pair, &c, &err)) {
        jw_str(w, "config", text);
    } else {
        jw_object(w, "config");
        for (int i = 0; i < c.n; i++) config_value(w, c.key[i], c.value[i]);
        jw_close(w, '}');
    }
    config_pairs_free(&c);
}

/* ---- checkpoint summary -------------------------------------------------------- */

typedef struct {
    double mean, sd, l2;
    float mn, mx;
    long nonfinite;
} stats;

/* Statistics over the finite values, in double (two passes for the std). */
static stats float_stats(const float *x, size_t n) {
    stats s = {0, 0, 0, INFINITY, -INFINITY, 0};
    double sum = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) { s.nonfinite++; continue; }
        double v = x[i];
        sum += v; ss += v * v;
        s.mn = x[i] < s.mn ? x[i] : s.mn; s.mx = x[i] > s.mx ? x[i] : s.mx;
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

static void optimizer_json(jw *w, const optimizer *o) {
    jw_int(w, "optimizer_step", o->step);
    jw_f32(w, "lr", o->cfg.lr);
    jw_f32(w, "weight_decay", o->cfg.weight_decay);
    if (o->cfg.kind == OPTIM_SGD) jw_f32(w, "momentum", o->cfg.momentum);
    else {
        jw_f32(w, "beta1", o->cfg.beta1);
        jw_f32(w, "beta2", o->cfg.beta2);
        jw_f32(w, "eps", o->cfg.eps);
    }
    jw_int(w, "optimizer_state_len", (long long)o->state_len);
    jw_f64(w, "optimizer_state_norm", norm(o->state, o->state_len));
}

static const char *merge_text(merge_kind m) { return m == MERGE_SUM ? "sum" : "concat"; }

/* Whether the head reads one pooled vector per sequence. */
static int pools(const model_config *c) {
    return c->task == TASK_CLASSIFY || (c->task == TASK_REGRESS && !c->per_step);
}

/* Where the encoder's context enters the decoder. */
static const char *context_text(const model_config *c) {
    if (c->condition) {
        static const char *const CLM[4] = {"", "init: the context starts the decoder (through the bridge)",
                                           "input: the context feeds every step",
                                           "both: the context starts the decoder (through the bridge) and feeds every step"};
        return CLM[c->context & 3];
    }
    if (c->context == CONTEXT_INPUT) return "input: the encoder's final states feed every decoder step";
    if (c->context == CONTEXT_BOTH)
        return c->bidirectional ? "both: the encoder's final states start the decoder (through the bridge) and feed "
                                  "every step"
                                : "both: the encoder's final states start the decoder and feed every step";
    return c->bidirectional ? "init: the encoder's final states start the decoder (through the bridge)"
                            : "init: the encoder's final states start the decoder";
}

/* The deep RNN forms that are on, one line each (seq2seq: on both stacks). */
static void deep_text(const model_config *c) {
    const int s2s = c->task == TASK_SEQ2SEQ;
    const char *where = !s2s ? "" : c->condition ? " of the decoder" : " of the encoder and the decoder";
    const char *rnn = s2s ? (c->condition ? "decoder/rnn/" : "{encoder,decoder}/rnn/") : "rnn/";
    if (c->skip)
        printf("skip: %d (every layer direction%s adds W_skip h_{t-%d}: %sweight_skip_l{k})\n", c->skip, where,
               c->skip, rnn);
    if (c->residual) printf("residual: every layer above the first%s adds its input to its output\n", where);
    if (c->transition_depth)
        printf("deep transition: depth %d, width %d (MLPs on every layer's input, on h_{t-1} before W_hh, and "
               "before the %s: %stransition_*, %stransition_*)\n", c->transition_depth, c->transition_width,
               s2s ? "output layer" : "head", rnn, s2s ? "decoder/out/" : "head/");
}

/* seq2seq in three lines (and the deep forms): task and end, encoder, decoder. */
static void s2s_text(const model_config *c) {
    if (c->condition == COND_LABEL)
        printf("task: conditional language model (seq2seq decoder), tokens given one of %d labels; end %s",
               c->src_vocab_size, end_name(c->end));
    else if (c->condition == COND_FEATURES)
        printf("task: conditional language model (seq2seq decoder), tokens given %d context features; end %s",
               c->input_size, end_name(c->end));
    else
        printf("task: seq2seq, target tokens given a source sequence; end %s", end_name(c->end));
    if (c->end == END_EOS) printf(" (%d outputs: %d tokens + EOS)\n", model_s2s_outputs(c), c->vocab_size);
    else if (c->end == END_STOP_BIT) printf(" (%d outputs and a stop head)\n", c->vocab_size);
    else printf(" (%d outputs and a length head, lengths 1..%d)\n", c->vocab_size, c->max_len);
    if (c->condition == COND_LABEL)
        printf("context: a learned embedding per label (context/embedding, %d x %d); no encoder\n", c->src_vocab_size,
               c->hidden_size);
    else if (c->condition == COND_FEATURES)
        printf("context: the sequence's %d features (/<split>/context); no encoder\n", c->input_size);
    else printf("encoder: source tokens, vocab %d, embed %d; ", c->src_vocab_size, c->embed_size);
    if (c->condition) { /* nothing more about an encoder */ }
    else if (!c->bidirectional) printf("directions: 1 (forward)\n");
    else if (c->merge == MERGE_SUM) printf("directions: 2 (bidirectional, outputs summed: %d)\n", c->hidden_size);
    else printf("directions: 2 (bidirectional, outputs concatenated: %d)\n", 2 * c->hidden_size);
    printf("decoder: target tokens, vocab %d (+ BOS), embed %d; attention %s; context %s\n", c->vocab_size,
           c->embed_size, attention_name(c->attention), context_text(c));
    deep_text(c);
}

/* The model in three lines: task and head, inputs, directions. */
static void model_text(const model_config *c) {
    if (c->task == TASK_SEQ2SEQ) {
        s2s_text(c);
        return;
    }
    if (c->task == TASK_TREE) { /* core/tree.h */
        printf("task: tree, %s over the children's summed states; root head %d classes, node head %d classes "
               "(0: none)\n", c->cell == CELL_LSTM ? "child-sum Tree-LSTM" : "h = tanh(W_ih x + U sum h_k)",
               c->output_size, c->node_classes);
        printf("inputs: tokens, vocab %d, embed %d (0 for a node without a token)\n", c->vocab_size, c->embed_size);
        return;
    }
    const char *per = c->task == TASK_TAG || (c->task == TASK_REGRESS && c->per_step) ? "per step" : "per sequence";
    if (c->task == TASK_LM) printf("task: lm, the next token at every step (%d outputs)\n", c->vocab_size);
    else if (c->task == TASK_REGRESS) printf("task: regress, %d output(s) %s", c->output_size, per);
    else printf("task: %s, %d classes %s", task_name(c->task), c->output_size, per);
    if (pools(c)) printf(" (pooling %s)", pooling_name(c->pooling));
    if (c->task != TASK_LM) printf("\n");
    if (c->input_size) printf("inputs: features, %d per step\n", c->input_size);
    else printf("inputs: tokens, vocab %d, embed %d\n", c->vocab_size, c->embed_size);
    if (!c->bidirectional) printf("directions: 1 (forward)\n");
    else if (c->merge == MERGE_SUM) printf("directions: 2 (bidirectional, outputs summed: %d)\n", c->hidden_size);
    else printf("directions: 2 (bidirectional, outputs concatenated: %d)\n", 2 * c->hidden_size);
    if (c->recurrence == RECURRENCE_OUTPUT)
        printf("recurrence: output (the previous step's %s feeds layer 0 through rnn/weight_oh; no W_hh)\n",
               c->task == TASK_TAG ? "label" : "target vector");
    else if (c->task == TASK_TAG || (c->task == TASK_REGRESS && c->per_step))
        printf("recurrence: hidden (W_hh)\n");
    deep_text(c);
}

/* In the pair dataset part below: a vocabulary's kind, size and first symbols. */
static void pair_vocab_json(jw *w, const char *side, const pair_vocab *v);
static void pair_vocab_text(const char *side, const pair_vocab *v);

/* seq2seq's own fields, and its vocabularies as one object (the pair
 * dataset's keys: src_vocab_kind, src_vocab_size, src_vocab_head, tgt_...). */
static void s2s_json(jw *w, const checkpoint_in *ck) {
    const model_config *c = &ck->m.cfg;
    jw_int(w, "src_vocab_size", c->src_vocab_size);
    jw_str(w, "condition", condition_name(c->condition));
    jw_str(w, "attention", attention_name(c->attention));
    jw_str(w, "context", context_name(c->context));
    jw_str(w, "end", end_name(c->end));
    if (c->end == END_LENGTH) jw_int(w, "max_len", c->max_len);
    jw_int(w, "outputs", model_s2s_outputs(c));
    jw_bool(w, "has_vocabularies", ck->tgt_vocab.size > 0);
    if (!ck->tgt_vocab.size) return;
    jw_object(w, "vocabularies");
    if (ck->src_vocab.size) pair_vocab_json(w, "src", &ck->src_vocab);
    pair_vocab_json(w, "tgt", &ck->tgt_vocab);
    jw_close(w, '}');
}

static void summary_json(jw *w, const char *path, const checkpoint_in *ck, const char *state_shape) {
    const model *m = &ck->m;
    const model_config *c = &m->cfg;
    jw_str(w, "file", path);
    jw_str(w, "format", "recur-checkpoint");
    jw_int(w, "version", 1);
    jw_str(w, "cell", cell_name(c->cell));
    jw_str(w, "task", task_name(c->task));
    jw_str(w, "inputs", c->input_size ? "features" : "tokens");
    jw_int(w, "vocab_size", c->vocab_size);
    jw_int(w, "embed_size", c->embed_size);
    jw_int(w, "input_size", c->input_size);
    jw_int(w, "hidden_size", c->hidden_size);
    jw_int(w, "num_layers", c->num_layers);
    jw_bool(w, "bidirectional", c->bidirectional);
    jw_int(w, "directions", c->bidirectional ? 2 : 1);
    if (c->bidirectional) jw_str(w, "merge", merge_text(c->merge));
    if (c->task == TASK_CLASSIFY || c->task == TASK_TAG) jw_int(w, "num_classes", c->output_size);
    if (c->task == TASK_REGRESS) jw_int(w, "output_size", c->output_size);
    if (c->task != TASK_LM && c->task != TASK_SEQ2SEQ && c->task != TASK_TREE) jw_bool(w, "per_step", c->task == TASK_TAG || c->per_step);
    if (pools(c)) jw_str(w, "pooling", pooling_name(c->pooling));
    if (c->task == TASK_TAG || (c->task == TASK_REGRESS && c->per_step))
        jw_str(w, "recurrence", recurrence_name(c->recurrence));
    if (c->skip) jw_int(w, "skip", c->skip); /* the shortcuts of a deep RNN, when on */
    if (c->residual) jw_bool(w, "residual", 1);
    if (c->transition_depth) {
        jw_int(w, "transition_depth", c->transition_depth);
        jw_int(w, "transition_width", c->transition_width);
    }
    if (c->task == TASK_SEQ2SEQ) s2s_json(w, ck);
    if (c->task == TASK_TREE) {
        jw_int(w, "num_root_classes", c->output_size);
        jw_int(w, "num_node_classes", c->node_classes);
    }
    jw_int(w, "parameters", (long long)m->num_params);
    if (ck->has_progress) {
        jw_int(w, "step", ck->step);
        jw_int(w, "epoch", ck->epoch);
        jw_int(w, "tokens_seen", ck->tokens_seen);
    }
    jw_str(w, "optimizer", ck->has_optimizer ? optim_name(ck->opt.cfg.kind) : "none");
    if (ck->has_optimizer) optimizer_json(w, &ck->opt);
    jw_bool(w, "has_vocab", ck->vocab != NULL);
    jw_bool(w, "has_state", ck->state_h != NULL);
    if (ck->state_h) {
        jw_raw(w, "state_shape", state_shape);
        jw_bool(w, "has_state_c", ck->state_c != NULL);
    }
    jw_bool(w, "has_config", ck->config_text != NULL);
    if (ck->config_text) config_member(w, path, ck->config_text);
}

static void summary_text(const char *path, const checkpoint_in *ck, const char *state_shape) {
    const model_config *c = &ck->m.cfg;
    const optimizer *o = &ck->opt;
    if (c->task == TASK_SEQ2SEQ && c->condition)
        printf("%s: recur-checkpoint v1, conditional language model %s, %d layer(s) x %d hidden, embed %d, %s %d, "
               "vocab %d, %zu parameters\n", path, cell_name(c->cell), c->num_layers, c->hidden_size, c->embed_size,
               c->condition == COND_LABEL ? "labels" : "context features",
               c->condition == COND_LABEL ? c->src_vocab_size : c->input_size, c->vocab_size, ck->m.num_params);
    else if (c->task == TASK_SEQ2SEQ)
        printf("%s: recur-checkpoint v1, seq2seq %s, %d layer(s) x %d hidden%s, embed %d, source vocab %d, target "
               "vocab %d, %zu parameters\n", path, cell_name(c->cell), c->num_layers, c->hidden_size,
               c->bidirectional ? " (encoder x 2 directions)" : "", c->embed_size, c->src_vocab_size, c->vocab_size,
               ck->m.num_params);
    else if (c->input_size)
        printf("%s: recur-checkpoint v1, %s, %d layer(s) x %d hidden%s, features %d, %zu parameters\n", path,
               cell_name(c->cell), c->num_layers, c->hidden_size, c->bidirectional ? " x 2 directions" : "",
               c->input_size, ck->m.num_params);
    else
        printf("%s: recur-checkpoint v1, %s, %d layer(s) x %d hidden%s, embed %d, vocab %d, %zu parameters\n", path,
               cell_name(c->cell), c->num_layers, c->hidden_size, c->bidirectional ? " x 2 directions" : "",
               c->embed_size, c->vocab_size, ck->m.num_params);
    model_text(c);
    if (ck->has_progress) printf("progress: step %ld, epoch %ld, %ld tokens seen\n", ck->step, ck->epoch, ck->tokens_seen);
    else printf("progress: absent\n");
    double state_norm = ck->has_optimizer ? norm(o->state, o->state_len) : 0;
    if (!ck->has_optimizer) printf("optimizer: none\n");
    else if (o->cfg.kind == OPTIM_SGD)
        printf("optimizer: sgd, step %ld, lr %g, momentum %g, weight_decay %g; state %zu floats, norm %.6g\n", o->step,
               o->cfg.lr, o->cfg.momentum, o->cfg.weight_decay, o->state_len, state_norm);
    else
        printf("optimizer: adam, step %ld, lr %g, betas (%g, %g), eps %g, weight_decay %g; state %zu floats, "
               "norm %.6g\n", o->step, o->cfg.lr, o->cfg.beta1, o->cfg.beta2, o->cfg.eps, o->cfg.weight_decay,
               o->state_len, state_norm);
    if (c->task != TASK_SEQ2SEQ) printf("vocab: %s\n", ck->vocab ? "stored" : "absent");
    else if (!ck->tgt_vocab.size) printf("vocabularies: absent (generation needs the pair dataset, --data)\n");
    else {
        if (ck->src_vocab.size) pair_vocab_text(c->condition ? "labels" : "source vocabulary", &ck->src_vocab);
        pair_vocab_text(c->condition ? "vocabulary" : "target vocabulary", &ck->tgt_vocab);
    }
    if (ck->state_h) printf("carried states: h%s %s\n", ck->state_c ? ", c" : "", state_shape);
    else printf("carried states: absent\n");
    const char *cfg = ck->config_text;
    if (cfg) printf("config:\n%s%s", cfg, cfg[0] && cfg[strlen(cfg) - 1] == '\n' ? "" : "\n");
    else printf("config: absent\n");
    printf("%-32s %-12s %-8s %12s %12s %12s %12s %12s %8s\n", "tensor", "shape", "dtype", "mean", "std", "min", "max",
           "l2", "nan/inf");
}

static void tensor_row(jw *w, const model *m, const tensor_info *ti) {
    stats s = float_stats(m->params + ti->offset, ti->count);
    char shape[32], name[64];
    shape_text(shape, sizeof shape, ti->ndim, ti->shape);
    snprintf(name, sizeof name, "/model/%s", ti->name);
    if (!w) {
        printf("%-32s %-12s %-8s %12.5g %12.5g %12.5g %12.5g %12.5g %8ld\n", name, shape, "float32", s.mean, s.sd,
               s.mn, s.mx, s.l2, s.nonfinite);
        return;
    }
    jw_item_begin(w);
    jw_str(w, "tensor", name);
    jw_raw(w, "shape", shape);
    jw_str(w, "dtype", "float32");
    jw_f64(w, "mean", s.mean);
    jw_f64(w, "std", s.sd);
    jw_f32(w, "min", s.mn);
    jw_f32(w, "max", s.mx);
    jw_f64(w, "l2", s.l2);
    jw_int(w, "nonfinite", s.nonfinite);
    jw_item_end(w);
}

/* w NULL: the text form. */
static int checkpoint_summary(const char *path, jw *w) {
    recur_err err = {0};
    checkpoint_in ck;
    if (checkpoint_load_for_inspection(path, &ck, &err)) return report_error("inspect", &err);
    const model_config *c = &ck.m.cfg;
    size_t sdims[3] = {(size_t)c->num_layers, (size_t)ck.streams, (size_t)c->hidden_size};
    char sshape[64];
    shape_text(sshape, sizeof sshape, 3, sdims);
    if (w) {
        summary_json(w, path, &ck, sshape);
        jw_list_begin(w, "tensors");
    } else summary_text(path, &ck, sshape);
    for (int t = 0; t < ck.m.num_tensors; t++) tensor_row(w, &ck.m, &ck.m.tensors[t]);
    if (w) jw_list_end(w);
    checkpoint_in_free(&ck);
    return 0;
}

/* ---- token dataset summary ----------------------------------------------------- */

/* The vocabulary as printable text: bytes 0x20..0x7e as themselves (a
 * backslash doubled), \n \t, anything else \xNN. */
static void vocab_preview(char *buf, size_t len, const uint8_t *v, int n) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < n && k + 5 < len; i++) {
        uint8_t b = v[i];
        if (b == '\\') k += (size_t)snprintf(buf + k, len - k, "\\\\");
        else if (b == '\n') k += (size_t)snprintf(buf + k, len - k, "\\n");
        else if (b == '\t') k += (size_t)snprintf(buf + k, len - k, "\\t");
        else if (b >= 0x20 && b < 0x7f) k += (size_t)snprintf(buf + k, len - k, "%c", b);
        else k += (size_t)snprintf(buf + k, len - k, "\\x%02x", b);
    }
}

static int dataset_summary(const char *path, jw *w) {
    recur_err err = {0};
    token_dataset_summary s;
    if (dataset_summarize(path, &s, &err)) return report_error("inspect", &err);
    const token_dataset_info *in = &s.info;
    char preview[1200], n[32], nv[32];
    vocab_preview(preview, sizeof preview, in->vocab, in->vocab_size);
    int has_val = in->n_val > 0;
    int32_t mn = s.min_id[0], mx = s.max_id[0];
    if (has_val) {
        mn = s.min_id[1] < mn ? s.min_id[1] : mn;
        mx = s.max_id[1] > mx ? s.max_id[1] : mx;
    }
    if (w) {
        jw_str(w, "file", path);
        jw_str(w, "format", "recur-tokens");
        jw_int(w, "version", 1);
        jw_int(w, "tokens", (long long)in->n);
        jw_int(w, "val_tokens", (long long)in->n_val);
        jw_int(w, "vocab_size", in->vocab_size);
        jw_str(w, "vocab", preview);
        jw_int(w, "min_id", mn);
        jw_int(w, "max_id", mx);
    } else {
        grouped(n, sizeof n, in->n);
        grouped(nv, sizeof nv, in->n_val);
        printf("%s: recur-tokens v1, token dataset\n", path);
        printf("tokens: %s in /tokens, %s in /val_tokens%s\n", n, nv, has_val ? "" : " (absent)");
        printf("vocabulary: %d entries: %s\n", in->vocab_size, preview);
        printf("token ids: %d..%d\n", (int)mn, (int)mx);
    }
    dataset_summary_free(&s);
    return 0;
}

/* ---- sequence dataset summary -------------------------------------------------- */

/* What inspect shows of one split. */
typedef struct {
    size_t min_len, max_len;
    double mean_len;
    size_t *counts;          /* [C] labels (classify) or step labels (tag) */
    double *tmean, *tstd;    /* [K] targets, in original units when normalised */
} seq_split_stats;

static int split_stats(const seq_dataset *ds, const seq_split *sp, seq_split_stats *st) {
    memset(st, 0, sizeof *st);
    st->min_len = SIZE_MAX;
    for (size_t i = 0; i < sp->n; i++) {
        size_t len = seq_length(sp, i);
        if (len < st->min_len) st->min_len = len;
        if (len > st->max_len) st->max_len = len;
    }
    st->mean_len = (double)sp->total / (double)sp->n;
    if (ds->task != TASK_REGRESS) {
        st->counts = calloc((size_t)ds->num_classes, sizeof *st->counts);
        if (!st->counts) return -1;
        const int32_t *lab = ds->task == TASK_CLASSIFY ? sp->labels : sp->step_labels;
        size_t m = ds->task == TASK_CLASSIFY ? sp->n : sp->total;
        for (size_t i = 0; i < m; i++) st->counts[lab[i]]++;
        return 0;
    }
    size_t K = (size_t)ds->output_size, rows = ds->per_step ? sp->total : sp->n;
    const float *t = ds->per_step ? sp->targets : sp->seq_targets;
    st->tmean = calloc(K, sizeof *st->tmean);
    st->tstd = calloc(K, sizeof *st->tstd);
    if (!st->tmean || !st->tstd) return -1;
    /* Original units: v * target_std + target_mean (when normalised), plus
     * the row's sequence base (when the targets are changes from one). */
    size_t seq = 0;
    for (size_t k = 0; k < K; k++) {
        double a = ds->target_mean ? ds->target_std[k] : 1, b = ds->target_mean ? ds->target_mean[k] : 0;
        double sum = 0, ss = 0;
        /* Two passes: exact enough for any count, no cancellation. */
        for (int pass = 0; pass < 2; pass++) {
            seq = 0;
            for (size_t r = 0; r < rows; r++) {
                if (ds->per_step)
                    while ((size_t)sp->offsets[seq + 1] <= r) seq++;
                else seq = r;
                double v = t[r * K + k] * a + b + (sp->seq_base ? sp->seq_base[seq * K + k] : 0);
                if (ds->target_log) v = exp(v);
                if (pass == 0) sum += v;
                else ss += (v - st->tmean[k]) * (v - st->tmean[k]);
            }
            if (pass == 0) st->tmean[k] = sum / (double)rows;
        }
        st->tstd[k] = sqrt(ss / (double)rows);
    }
    return 0;
}

static void split_stats_free(seq_split_stats *st) {
    free(st->counts);
    free(st->tmean);
    free(st->tstd);
    memset(st, 0, sizeof *st);
}

/* A JSON array of n numbers: "[1,2,3]" (malloc'd). */
static char *json_numbers(const size_t *counts, const double *vals, size_t n) {
    size_t cap = 2 + n * 26, k = 0;
    char *b = malloc(cap);
    if (!b) return NULL;
    b[k++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i) b[k++] = ',';
        if (counts) k += (size_t)snprintf(b + k, cap - k, "%zu", counts[i]);
        else if (!isfinite(vals[i])) k += (size_t)snprintf(b + k, cap - k, "null");
        else shortest_f64(b + k, cap - k, vals[i]), k += strlen(b + k);
    }
    snprintf(b + k, cap - k, "]");
    return b;
}

/* The name of class c for text output: its label name, else its id. */
static void class_text(char *buf, size_t len, const seq_dataset *ds, int c) {
    if (ds->label_names) snprintf(buf, len, "%.60s", ds->label_names[c]);
    else snprintf(buf, len, "%d", c);
}

static void split_text(const seq_dataset *ds, const char *name, const seq_split *sp, const seq_split_stats *st) {
    char n[32], steps[32];
    grouped(n, sizeof n, sp->n);
    grouped(steps, sizeof steps, sp->total);
    printf("%s: %s sequences, %s steps, length min %zu / mean %.1f / max %zu\n", name, n, steps, st->min_len,
           st->mean_len, st->max_len);
    if (st->counts) {
        enum { SHOWN = 20 };
        printf("  %s:", ds->task == TASK_CLASSIFY ? "labels" : "step labels");
        for (int c = 0; c < ds->num_classes && c < SHOWN; c++) {
            char cn[64], cnt[32];
            class_text(cn, sizeof cn, ds, c);
            grouped(cnt, sizeof cnt, st->counts[c]);
            printf("%s %s %s", c ? "," : "", cn, cnt);
        }
        if (ds->num_classes > SHOWN) printf(", ... (%d more classes)", ds->num_classes - SHOWN);
        printf("\n");
    }
    if (st->tmean) {
        enum { SHOWN = 8 };
        printf("  targets%s:", ds->target_mean || sp->seq_base || ds->target_log ? " (original units)" : "");
        for (int k = 0; k < ds->output_size && k < SHOWN; k++)
            printf("%s [%d] mean %.6g std %.6g", k ? "," : "", k, st->tmean[k], st->tstd[k]);
        if (ds->output_size > SHOWN) printf(", ... (%d more)", ds->output_size - SHOWN);
        printf("\n");
    }
}

static void split_json(jw *w, const seq_dataset *ds, const char *name, const seq_split *sp, const seq_split_stats *st) {
    jw_item_begin(w);
    jw_str(w, "split", name);
    jw_int(w, "sequences", (long long)sp->n);
    jw_int(w, "steps", (long long)sp->total);
    jw_int(w, "min_length", (long long)st->min_len);
    jw_f64(w, "mean_length", st->mean_len);
    jw_int(w, "max_length", (long long)st->max_len);
    char *a = NULL, *b = NULL;
    if (st->counts && (a = json_numbers(st->counts, NULL, (size_t)ds->num_classes)))
        jw_raw(w, ds->task == TASK_CLASSIFY ? "label_counts" : "step_label_counts", a);
    if (st->tmean && (a = json_numbers(NULL, st->tmean, (size_t)ds->output_size)) &&
        (b = json_numbers(NULL, st->tstd, (size_t)ds->output_size))) {
        jw_raw(w, "target_mean", a);
        jw_raw(w, "target_std", b);
    }
    free(a);
    free(b);
    jw_item_end(w);
}

/* w NULL: the text form.  The file is loaded (and so checked) whole. */
static int sequence_summary(const char *path, jw *w) {
    recur_err err = {0};
    seq_dataset ds;
    if (seqdata_load(path, &ds, &err)) return report_error("inspect", &err);
    seq_split_stats st[SPLIT_COUNT];
    int ok = 1;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        memset(&st[s], 0, sizeof st[s]);
        if (ds.split[s].present && split_stats(&ds, &ds.split[s], &st[s])) ok = 0;
    }
    if (!ok) {
        for (int s = 0; s < SPLIT_COUNT; s++) split_stats_free(&st[s]);
        seqdata_free(&ds);
        recur_fail(&err, RECUR_EXIT_FAIL, "%s: out of memory", path);
        return report_error("inspect", &err);
    }
    const char *task = task_name(ds.task), *vocab_kind = ds.vocab_words ? "words" : "bytes";
    int tokens = ds.vocab_size > 0, classes = ds.task != TASK_REGRESS;
    if (w) {
        jw_str(w, "file", path);
        jw_str(w, "format", "recur-sequences");
        jw_int(w, "version", 1);
        jw_str(w, "task", task);
        jw_str(w, "inputs", tokens ? "tokens" : "features");
        if (tokens) {
            jw_int(w, "vocab_size", ds.vocab_size);
            jw_str(w, "vocab_kind", vocab_kind);
        } else {
            jw_int(w, "input_size", ds.input_size);
            jw_bool(w, "features_normalised", ds.feature_mean != NULL);
        }
        if (classes) {
            jw_int(w, "num_classes", ds.num_classes);
            if (ds.label_names) { /* an array of strings, on the summary's line also with --jsonl */
                jw_key(w, "label_names");
                putchar('[');
                for (int c = 0; c < ds.num_classes; c++) {
                    if (c) putchar(',');
                    jw_put_str(ds.label_names[c]);
                }
                putchar(']');
            }
        } else {
            jw_int(w, "output_size", ds.output_size);
            jw_bool(w, "per_step", ds.per_step);
            jw_bool(w, "targets_normalised", ds.target_mean != NULL);
            jw_bool(w, "seq_base", ds.split[SPLIT_TRAIN].seq_base != NULL);
        }
        jw_int(w, "context_size", ds.context_size);
        jw_list_begin(w, "splits");
        for (int s = 0; s < SPLIT_COUNT; s++)
            if (ds.split[s].present) split_json(w, &ds, SEQ_SPLIT_NAMES[s], &ds.split[s], &st[s]);
        jw_list_end(w);
    } else {
        printf("%s: recur-sequences v1, sequence dataset, task %s\n", path, task);
        if (tokens && ds.vocab) {
            char preview[1200];
            vocab_preview(preview, sizeof preview, ds.vocab, ds.vocab_size);
            printf("inputs: tokens, V = %d bytes: %s\n", ds.vocab_size, preview);
        } else if (tokens) {
            printf("inputs: tokens, V = %d words:", ds.vocab_size);
            for (int i = 0; i < ds.vocab_size && i < 10; i++) printf("%s %.40s", i ? "," : "", ds.vocab_words[i]);
            printf("%s\n", ds.vocab_size > 10 ? ", ..." : "");
        } else
            printf("inputs: features, F = %d%s\n", ds.input_size, ds.feature_mean ? " (normalised)" : "");
        if (classes) printf("classes: C = %d%s\n", ds.num_classes, ds.label_names ? " (named)" : "");
        else
            printf("targets: K = %d %s%s%s%s\n", ds.output_size, ds.per_step ? "per step" : "per sequence",
                   ds.split[SPLIT_TRAIN].seq_base ? ", changes from a base per sequence (seq_base)" : "",
                   ds.target_mean ? " (normalised)" : "",
                   ds.target_mean || ds.split[SPLIT_TRAIN].seq_base ? "; statistics below in original units" : "");
        if (ds.context_size)
            printf("context: %d features per sequence (/<split>/context; recur train --task lm --condition features)\n",
                   ds.context_size);
        for (int s = 0; s < SPLIT_COUNT; s++)
            if (ds.split[s].present) split_text(&ds, SEQ_SPLIT_NAMES[s], &ds.split[s], &st[s]);
    }
    for (int s = 0; s < SPLIT_COUNT; s++) split_stats_free(&st[s]);
    seqdata_free(&ds);
    return 0;
}

/* ---- pair dataset summary ------------------------------------------------------ */

typedef struct {
    size_t min, max;
    double mean;
} pair_lengths;

/* Lengths of the n sequences that offsets o[0..n] delimit. */
static pair_lengths lengths_of(const int64_t *o, size_t n) {
    pair_lengths l = {SIZE_MAX, 0, (double)o[n] / (double)n};
    for (size_t i = 0; i < n; i++) {
        size_t len = (size_t)(o[i + 1] - o[i]);
        if (len < l.min) l.min = len;
        if (len > l.max) l.max = len;
    }
    return l;
}

enum { PAIR_SHOWN = 20 }; /* vocabulary entries shown */

/* Symbol i of a vocabulary as text: a word, or a byte as vocab_preview shows it. */
static void pair_symbol(char *buf, size_t len, const pair_vocab *v, int i) {
    if (v->words) snprintf(buf, len, "%.60s", v->words[i]);
    else vocab_preview(buf, len, &v->chars[i], 1);
}

static void pair_vocab_json(jw *w, const char *side, const pair_vocab *v) {
    char key[32], sym[128];
    snprintf(key, sizeof key, "%s_vocab_kind", side);
    jw_str(w, key, v->words ? "words" : "chars");
    snprintf(key, sizeof key, "%s_vocab_size", side);
    jw_int(w, key, v->size);
    snprintf(key, sizeof key, "%s_vocab_head", side); /* the first PAIR_SHOWN symbols */
    jw_key(w, key);
    putchar('[');
    for (int i = 0; i < v->size && i < PAIR_SHOWN; i++) {
        if (i) putchar(',');
        pair_symbol(sym, sizeof sym, v, i);
        jw_put_str(sym);
    }
    putchar(']');
}

static void pair_vocab_text(const char *side, const pair_vocab *v) {
    char preview[1200];
    if (v->chars) {
        vocab_preview(preview, sizeof preview, v->chars, v->size);
        printf("%s: chars, V = %d: %s\n", side, v->size, preview);
        return;
    }
    printf("%s: words, V = %d:", side, v->size);
    for (int i = 0; i < v->size && i < PAIR_SHOWN; i++) printf("%s %.40s", i ? "," : "", v->words[i]);
    printf("%s\n", v->size > PAIR_SHOWN ? ", ..." : "");
}

static void pair_split_text(const char *name, const pair_split *sp) {
    char n[32], a[32], b[32];
    grouped(n, sizeof n, sp->n);
    grouped(a, sizeof a, sp->src_total);
    grouped(b, sizeof b, sp->tgt_total);
    pair_lengths ls = lengths_of(sp->src_offsets, sp->n), lt = lengths_of(sp->tgt_offsets, sp->n);
    printf("%s: %s pairs; source %s tokens, length min %zu / mean %.1f / max %zu; target %s tokens, length min %zu / "
           "mean %.1f / max %zu\n", name, n, a, ls.min, ls.mean, ls.max, b, lt.min, lt.mean, lt.max);
}

static void pair_split_json(jw *w, const char *name, const pair_split *sp) {
    pair_lengths l[2] = {lengths_of(sp->src_offsets, sp->n), lengths_of(sp->tgt_offsets, sp->n)};
    jw_item_begin(w);
    jw_str(w, "split", name);
    jw_int(w, "pairs", (long long)sp->n);
    jw_int(w, "src_tokens", (long long)sp->src_total);
    jw_int(w, "tgt_tokens", (long long)sp->tgt_total);
    for (int k = 0; k < 2; k++) {
        char key[32];
        const char *side = k ? "tgt" : "src";
        snprintf(key, sizeof key, "%s_min_length", side);
        jw_int(w, key, (long long)l[k].min);
        snprintf(key, sizeof key, "%s_mean_length", side);
        jw_f64(w, key, l[k].mean);
        snprintf(key, sizeof key, "%s_max_length", side);
        jw_int(w, key, (long long)l[k].max);
    }
    jw_item_end(w);
}

/* w NULL: the text form.  The file is loaded (and so checked) whole. */
static int pair_summary(const char *path, jw *w) {
    recur_err err = {0};
    pair_dataset ds;
    if (pairdata_load(path, &ds, &err)) return report_error("inspect", &err);
    if (w) {
        jw_str(w, "file", path);
        jw_str(w, "format", "recur-pairs");
        jw_int(w, "version", 1);
        jw_bool(w, "shared_vocab", ds.shared);
        pair_vocab_json(w, "src", &ds.src);
        pair_vocab_json(w, "tgt", &ds.tgt);
        jw_list_begin(w, "splits");
        for (int s = 0; s < SPLIT_COUNT; s++)
            if (ds.split[s].present) pair_split_json(w, SEQ_SPLIT_NAMES[s], &ds.split[s]);
        jw_list_end(w);
    } else {
        printf("%s: recur-pairs v1, pair dataset%s\n", path,
               ds.shared ? " (one vocabulary shared by source and target)" : "");
        pair_vocab_text("source", &ds.src);
        pair_vocab_text("target", &ds.tgt);
        for (int s = 0; s < SPLIT_COUNT; s++)
            if (ds.split[s].present) pair_split_text(SEQ_SPLIT_NAMES[s], &ds.split[s]);
    }
    pairdata_free(&ds);
    return 0;
}

/* ---- tree dataset summary ------------------------------------------------------ */

typedef struct {
    size_t leaves, max_arity, max_depth, unlabelled;
    double mean_depth;          /* over trees */
    size_t *node_counts;        /* [C] or NULL */
    size_t *root_counts;        /* [Cr] or NULL */
} tree_split_stats;

static int tree_stats(const tree_dataset *ds, const tree_split *sp, tree_split_stats *st) {
    memset(st, 0, sizeof *st);
    size_t biggest = 0, depth_sum = 0;
    for (size_t i = 0; i < sp->n; i++)
        if (tree_size(sp, i) > biggest) biggest = tree_size(sp, i);
    int32_t *order = malloc(biggest * sizeof *order);
    if (ds->num_node_classes && sp->node_labels) st->node_counts = calloc((size_t)ds->num_node_classes, sizeof(size_t));
    if (ds->num_root_classes && sp->root_labels) st->root_counts = calloc((size_t)ds->num_root_classes, sizeof(size_t));
    if (!order || (ds->num_node_classes && sp->node_labels && !st->node_counts) ||
        (ds->num_root_classes && sp->root_labels && !st->root_counts)) {
        free(order);
        return -1;
    }
    for (size_t i = 0; i < sp->n; i++) {
        size_t d = tree_bfs(sp, i, order, NULL);
        depth_sum += d;
        if (d > st->max_depth) st->max_depth = d;
        if (sp->root_labels) st->root_counts[sp->root_labels[i]]++;
    }
    for (size_t j = 0; j < sp->nodes; j++) {
        size_t arity = (size_t)(sp->child_offsets[j + 1] - sp->child_offsets[j]);
        if (!arity) st->leaves++;
        if (arity > st->max_arity) st->max_arity = arity;
        if (!sp->node_labels) continue;
        if (sp->node_labels[j] < 0) st->unlabelled++;
        else st->node_counts[sp->node_labels[j]]++;
    }
    st->mean_depth = (double)depth_sum / (double)sp->n;
    free(order);
    return 0;
}

static void tree_stats_free(tree_split_stats *st) {
    free(st->node_counts);
    free(st->root_counts);
    memset(st, 0, sizeof *st);
}

/* "  node labels: DET 12, NOUN 30, ..." (names, else ids). */
static void tree_counts_text(const char *what, const size_t *counts, int C, char *const *names) {
    enum { SHOWN = 20 };
    printf("  %s:", what);
    for (int c = 0; c < C && c < SHOWN; c++) {
        char cnt[32];
        grouped(cnt, sizeof cnt, counts[c]);
        if (names) printf("%s %.60s %s", c ? "," : "", names[c], cnt);
        else printf("%s %d %s", c ? "," : "", c, cnt);
    }
    if (C > SHOWN) printf(", ... (%d more classes)", C - SHOWN);
    printf("\n");
}

static void tree_split_text(const tree_dataset *ds, const char *name, const tree_split *sp, const tree_split_stats *st) {
    char n[32], nodes[32], edges[32], leaves[32];
    grouped(n, sizeof n, sp->n);
    grouped(nodes, sizeof nodes, sp->nodes);
    grouped(edges, sizeof edges, sp->edges);
    grouped(leaves, sizeof leaves, st->leaves);
    printf("%s: %s trees, %s nodes (%s leaves), %s edges, depth mean %.2f / max %zu, max arity %zu\n", name, n, nodes,
           leaves, edges, st->mean_depth, st->max_depth, st->max_arity);
    if (st->node_counts) {
        char un[32];
        grouped(un, sizeof un, st->unlabelled);
        tree_counts_text("node labels", st->node_counts, ds->num_node_classes, ds->node_label_names);
        printf("  unlabelled nodes (-1): %s\n", un);
    }
    if (st->root_counts) tree_counts_text("root labels", st->root_counts, ds->num_root_classes, ds->root_label_names);
}

static void tree_split_json(jw *w, const tree_dataset *ds, const char *name, const tree_split *sp,
                            const tree_split_stats *st) {
    jw_item_begin(w);
    jw_str(w, "split", name);
    jw_int(w, "trees", (long long)sp->n);
    jw_int(w, "nodes", (long long)sp->nodes);
    jw_int(w, "edges", (long long)sp->edges);
    jw_int(w, "leaves", (long long)st->leaves);
    jw_f64(w, "mean_depth", st->mean_depth);
    jw_int(w, "max_depth", (long long)st->max_depth);
    jw_int(w, "max_arity", (long long)st->max_arity);
    char *a;
    if (st->node_counts && (a = json_numbers(st->node_counts, NULL, (size_t)ds->num_node_classes))) {
        jw_raw(w, "node_label_counts", a);
        jw_int(w, "unlabelled_nodes", (long long)st->unlabelled);
        free(a);
    }
    if (st->root_counts && (a = json_numbers(st->root_counts, NULL, (size_t)ds->num_root_classes))) {
        jw_raw(w, "root_label_counts", a);
        free(a);
    }
    jw_item_end(w);
}

/* An array of strings, on the summary's line also with --jsonl. */
static void jw_names(jw *w, const char *key, char *const *names, int n) {
    jw_key(w, key);
    putchar('[');
    for (int c = 0; c < n; c++) {
        if (c) putchar(',');
        jw_put_str(names[c]);
    }
    putchar(']');
}

/* w NULL: the text form.  The file is loaded (and so checked) whole. */
static int tree_summary(const char *path, jw *w) {
    recur_err err = {0};
    tree_dataset ds;
    if (treedata_load(path, &ds, &err)) return report_error("inspect", &err);
    tree_split_stats st[SPLIT_COUNT] = {0};
    int ok = 1;
    for (int s = 0; s < SPLIT_COUNT; s++)
        if (ds.split[s].present && tree_stats(&ds, &ds.split[s], &st[s])) ok = 0;
    if (!ok) {
        for (int s = 0; s < SPLIT_COUNT; s++) tree_stats_free(&st[s]);
        treedata_free(&ds);
        recur_fail(&err, RECUR_EXIT_FAIL, "%s: out of memory", path);
        return report_error("inspect", &err);
    }
    const tree_split *tr = &ds.split[SPLIT_TRAIN];
    if (w) {
        jw_str(w, "file", path);
        jw_str(w, "format", TREE_FORMAT);
        jw_int(w, "version", TREE_VERSION);
        jw_int(w, "vocab_size", ds.vocab_size);
        jw_str(w, "vocab_kind", ds.vocab_words ? "words" : "bytes");
        jw_bool(w, "node_labels", tr->node_labels != NULL);
        jw_int(w, "num_node_classes", ds.num_node_classes);
        if (ds.node_label_names) jw_names(w, "node_label_names", ds.node_label_names, ds.num_node_classes);
        jw_bool(w, "root_labels", tr->root_labels != NULL);
        jw_int(w, "num_root_classes", ds.num_root_classes);
        if (ds.root_label_names) jw_names(w, "root_label_names", ds.root_label_names, ds.num_root_classes);
        jw_list_begin(w, "splits");
        for (int s = 0; s < SPLIT_COUNT; s++)
            if (ds.split[s].present) tree_split_json(w, &ds, SEQ_SPLIT_NAMES[s], &ds.split[s], &st[s]);
        jw_list_end(w);
    } else {
        printf("%s: recur-trees v1, tree dataset\n", path);
        if (ds.vocab) {
            char preview[1200];
            vocab_preview(preview, sizeof preview, ds.vocab, ds.vocab_size);
            printf("tokens: V = %d bytes: %s\n", ds.vocab_size, preview);
        } else {
            printf("tokens: V = %d words:", ds.vocab_size);
            for (int i = 0; i < ds.vocab_size && i < 10; i++) printf("%s %.40s", i ? "," : "", ds.vocab_words[i]);
            printf("%s\n", ds.vocab_size > 10 ? ", ..." : "");
        }
        if (tr->node_labels) printf("node labels: C = %d%s\n", ds.num_node_classes, ds.node_label_names ? " (named)" : "");
        if (tr->root_labels) printf("root labels: Cr = %d%s\n", ds.num_root_classes, ds.root_label_names ? " (named)" : "");
        for (int s = 0; s < SPLIT_COUNT; s++)
            if (ds.split[s].present) tree_split_text(&ds, SEQ_SPLIT_NAMES[s], &ds.split[s], &st[s]);
    }
    for (int s = 0; s < SPLIT_COUNT; s++) tree_stats_free(&st[s]);
    treedata_free(&ds);
    return 0;
}

/* Checkpoint, token, sequence or pair dataset, or a message saying what else it is. */
static int summary(const char *path, jw *w) {
    recur_err err = {0};
    inspect_kind kind;
    char what[256];
    if (inspect_kind_of(path, &kind, what, sizeof what, &err)) return report_error("inspect", &err);
    if (kind == INSPECT_CHECKPOINT) return checkpoint_summary(path, w);
    if (kind == INSPECT_TOKENS) return dataset_summary(path, w);
    if (kind == INSPECT_SEQUENCES) return sequence_summary(path, w);
    if (kind == INSPECT_PAIRS) return pair_summary(path, w);
    if (kind == INSPECT_TREES) return tree_summary(path, w);
    recur_fail(&err, RECUR_EXIT_INPUT, "%s: expected a recur checkpoint (format \"recur-checkpoint\"), token dataset "
               "(format \"recur-tokens\"), sequence dataset (format \"recur-sequences\"), pair dataset (format "
               "\"recur-pairs\") or tree dataset (format \"recur-trees\"), found an HDF5 file with %s", path, what);
    return report_error("inspect", &err);
}

/* ---- diff -------------------------------------------------------------------- */

typedef struct {
    double atol, rtol;
    int on;  /* --atol or --rtol given */
} tolerance;

typedef struct {
    double max_abs, max_rel;
    size_t differing;  /* elements not bitwise equal */
    size_t beyond;     /* of those, outside the tolerance */
} value_diff;

static int same_bits(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

/* numpy.allclose's rule: |a - b| <= atol + rtol * |b|. */
static int within(const tolerance *t, double a, double b) {
    return t->on && fabs(a - b) <= t->atol + t->rtol * fabs(b);
}

static value_diff compare_values(const inspect_tensor *x, const inspect_tensor *y, const tolerance *tol) {
    value_diff d = {0, 0, 0, 0};
    for (size_t k = 0; k < x->count; k++) {
        double u = x->data[k], v = y->data[k];
        if (same_bits(u, v)) continue;
        d.differing++;
        if (!within(tol, u, v)) d.beyond++;
        double a = fabs(u - v), den = fmax(fabs(u), fabs(v));
        if (isnan(a)) a = INFINITY;
        double r = den > 0 ? a / den : (a > 0 ? INFINITY : 0);
        if (isnan(r)) r = INFINITY;
        d.max_abs = fmax(d.max_abs, a);
        d.max_rel = fmax(d.max_rel, r);
    }
    return d;
}

typedef struct {
    const char *a, *b;
    tolerance tol;
    jw *w;                        /* NULL: text, rows to `rows` */
    FILE *rows;
    int compared, identical, within, different, shape_differs, only_in_one;
    size_t values;
    const char *worst;            /* the tensor with the largest max_abs_diff */
    value_diff worst_diff;
} diff_report;

static const inspect_tensor *find(const inspect_tensors *ts, const char *name) {
    for (int i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].name, name) == 0) return &ts->t[i];
    return NULL;
}

static void only_in(diff_report *r, const inspect_tensor *t, const char *status, const char *file) {
    char shape[96];
    shape_text(shape, sizeof shape, t->rank, t->dims);
    r->only_in_one++;
    if (!r->w) {
        fprintf(r->rows, "%-28s only in %s (%s %s)\n", t->name, file, t->dtype, shape);
        return;
    }
    jw_item_begin(r->w);
    jw_str(r->w, "tensor", t->name);
    jw_str(r->w, "status", status);
    jw_raw(r->w, "shape", shape);
    jw_item_end(r->w);
}

static void shape_differs(diff_report *r, const inspect_tensor *x, const inspect_tensor *y, const char *sx,
                          const char *sy) {
    r->shape_differs++;
    if (!r->w) {
        fprintf(r->rows, "%-28s shape differs: %s %s vs %s %s\n", x->name, x->dtype, sx, y->dtype, sy);
        return;
    }
    jw_item_begin(r->w);
    jw_str(r->w, "tensor", x->name);
    jw_str(r->w, "status", "shape_differs");
    jw_raw(r->w, "shape_a", sx);
    jw_raw(r->w, "shape_b", sy);
    jw_item_end(r->w);
}

static void same_shape(diff_report *r, const inspect_tensor *x, const inspect_tensor *y, const char *shape) {
    value_diff d = compare_values(x, y, &r->tol);
    int same_type = strcmp(x->dtype, y->dtype) == 0;
    const char *status = !same_type || d.beyond ? "different" : d.differing ? "within_tolerance" : "identical";
    r->compared++;
    r->values += x->count;
    if (status[0] == 'd') r->different++;
    else if (status[0] == 'w') r->within++;
    else r->identical++;
    if (d.differing && (!r->worst || d.max_abs > r->worst_diff.max_abs)) {
        r->worst = x->name;
        r->worst_diff = d;
    }
    if (!r->w) {
        if (status[0] != 'i')
            fprintf(r->rows, "%-28s %-14s %14.6g %14.6g %10zu%s%s%s%s%s\n", x->name, shape, d.max_abs, d.max_rel, d.differing,
                   status[0] == 'w' ? "  within tolerance" : "", same_type ? "" : "  dtype ", same_type ? "" : x->dtype,
                   same_type ? "" : " vs ", same_type ? "" : y->dtype);
        return;
    }
    jw_item_begin(r->w);
    jw_str(r->w, "tensor", x->name);
    jw_str(r->w, "status", status);
    jw_raw(r->w, "shape", shape);
    if (same_type) jw_str(r->w, "dtype", x->dtype);
    else {
        jw_str(r->w, "dtype_a", x->dtype);
        jw_str(r->w, "dtype_b", y->dtype);
    }
    jw_f64(r->w, "max_abs_diff", d.max_abs);
    jw_f64(r->w, "max_rel_diff", d.max_rel);
    jw_int(r->w, "differing", (long long)d.differing);
    jw_item_end(r->w);
}

static void compare_tensors(diff_report *r, const inspect_tensors *a, const inspect_tensors *b) {
    if (!r->w) fprintf(r->rows, "%-28s %-14s %14s %14s %10s\n", "tensor", "shape", "max_abs_diff", "max_rel_diff", "differing");
    for (int i = 0; i < a->n; i++) {
        const inspect_tensor *x = &a->t[i], *y = find(b, x->name);
        if (!y) {
            only_in(r, x, "only_in_a", r->a);
            continue;
        }
        char sx[96], sy[96];
        shape_text(sx, sizeof sx, x->rank, x->dims);
        shape_text(sy, sizeof sy, y->rank, y->dims);
        if (strcmp(sx, sy) != 0) shape_differs(r, x, y, sx, sy);
        else same_shape(r, x, y, sx);
    }
    for (int i = 0; i < b->n; i++)
        if (!find(a, b->t[i].name)) only_in(r, &b->t[i], "only_in_b", r->b);
}

static int any_difference(const diff_report *r) { return r->different + r->shape_differs + r->only_in_one > 0; }

static void diff_summary_json(const diff_report *r) {
    jw *w = r->w;
    jw_str(w, "a", r->a);
    jw_str(w, "b", r->b);
    jw_bool(w, "identical", !any_difference(r) && r->within == 0);
    jw_bool(w, "equal", !any_difference(r));
    jw_int(w, "compared", r->compared);
    jw_int(w, "values", (long long)r->values);
    jw_int(w, "different", r->different);
    jw_int(w, "within_tolerance", r->within);
    jw_int(w, "shape_differs", r->shape_differs);
    jw_int(w, "only_in_one", r->only_in_one);
    if (r->tol.on) {
        jw_f64(w, "atol", r->tol.atol);
        jw_f64(w, "rtol", r->tol.rtol);
    }
    if (r->worst) {
        jw_str(w, "worst", r->worst);
        jw_f64(w, "worst_max_abs_diff", r->worst_diff.max_abs);
    }
}

static void diff_summary_text(const diff_report *r) {
    char values[32];
    grouped(values, sizeof values, r->values);
    if (any_difference(r)) {
        printf("different: %d tensors compared, %d different, %d with different shapes, %d only in one file\n",
               r->compared, r->different, r->shape_differs, r->only_in_one);
    } else if (r->within == 0) {
        printf("identical: %s and %s (%d tensors, %s values)\n", r->a, r->b, r->compared, values);
    } else {
        printf("within tolerance (atol %g, rtol %g): %s and %s (%d tensors, %s values; %d differ within tolerance, "
               "worst %s: max abs diff %.6g, max rel diff %.6g)\n", r->tol.atol, r->tol.rtol, r->a, r->b, r->compared,
               values, r->within, r->worst, r->worst_diff.max_abs, r->worst_diff.max_rel);
    }
}

/* Appends "; piece" (or the first piece) to buf. */
static void arch_add(char *buf, size_t len, const char *piece) {
    size_t n = strlen(buf);
    if (n + 1 < len) snprintf(buf + n, len - n, "%s%s", n ? "; " : "", piece);
}

/* seq2seq's own fields, appended to buf as architecture_differences does. */
static void s2s_differences(const model_config *a, const model_config *b, char *buf, size_t len) {
    const struct {
        const char *name, *x, *y;
    } f[] = {
        {"condition", condition_name(a->condition), condition_name(b->condition)},
        {"attention", attention_name(a->attention), attention_name(b->attention)},
        {"context", context_name(a->context), context_name(b->context)},
        {"end", end_name(a->end), end_name(b->end)},
    };
    char p[160];
    if (a->src_vocab_size != b->src_vocab_size) {
        snprintf(p, sizeof p, "src_vocab_size %d vs %d", a->src_vocab_size, b->src_vocab_size);
        arch_add(buf, len, p);
    }
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (strcmp(f[i].x, f[i].y) != 0) {
            snprintf(p, sizeof p, "%s %s vs %s", f[i].name, f[i].x, f[i].y);
            arch_add(buf, len, p);
        }
    if (a->end == END_LENGTH && b->end == END_LENGTH && a->max_len != b->max_len) {
        snprintf(p, sizeof p, "max_len %d vs %d", a->max_len, b->max_len);
        arch_add(buf, len, p);
    }
}

/* "cell lstm vs gru; hidden_size 256 vs 128", empty when the same: every
 * field of the (canonical) configs that shapes the model, each compared
 * only where both models have it. */
static void architecture_differences(const model_config *a, const model_config *b, char *buf, size_t len) {
    char p[160];
    buf[0] = 0;
    if (a->cell != b->cell) {
        snprintf(p, sizeof p, "cell %s vs %s", cell_name(a->cell), cell_name(b->cell));
        arch_add(buf, len, p);
    }
    if (a->task != b->task) {
        snprintf(p, sizeof p, "task %s vs %s", task_name(a->task), task_name(b->task));
        arch_add(buf, len, p);
    }
    const int ta = a->input_size == 0, tb = b->input_size == 0;
    const char *oa = a->task == TASK_REGRESS ? "output_size" : "num_classes";
    const char *ob = b->task == TASK_REGRESS ? "output_size" : "num_classes";
    const struct {
        const char *name;
        int x, y, both; /* both: the two models have the field */
    } f[] = {
        {"vocab_size", a->vocab_size, b->vocab_size, ta && tb},
        {"embed_size", a->embed_size, b->embed_size, ta && tb},
        {"input_size", a->input_size, b->input_size, !ta && !tb},
        {"hidden_size", a->hidden_size, b->hidden_size, 1},
        {"num_layers", a->num_layers, b->num_layers, 1},
        {"bidirectional", a->bidirectional, b->bidirectional, 1},
        {"skip", a->skip, b->skip, 1},
        {"residual", a->residual, b->residual, 1},
        {"transition_depth", a->transition_depth, b->transition_depth, 1},
        {"transition_width", a->transition_width, b->transition_width, 1},
    };
    if (ta != tb) {
        snprintf(p, sizeof p, "inputs %s vs %s", ta ? "tokens" : "features", tb ? "tokens" : "features");
        arch_add(buf, len, p);
    }
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].both && f[i].x != f[i].y) {
            snprintf(p, sizeof p, "%s %d vs %d", f[i].name, f[i].x, f[i].y);
            arch_add(buf, len, p);
        }
    if (a->bidirectional && b->bidirectional && a->merge != b->merge) {
        snprintf(p, sizeof p, "merge %s vs %s", merge_text(a->merge), merge_text(b->merge));
        arch_add(buf, len, p);
    }
    if (a->task != TASK_LM && b->task != TASK_LM && (a->output_size != b->output_size || strcmp(oa, ob) != 0)) {
        if (strcmp(oa, ob) == 0) snprintf(p, sizeof p, "%s %d vs %d", oa, a->output_size, b->output_size);
        else snprintf(p, sizeof p, "%s %d vs %s %d", oa, a->output_size, ob, b->output_size);
        arch_add(buf, len, p);
    }
    if (a->task == TASK_REGRESS && b->task == TASK_REGRESS && a->per_step != b->per_step) {
        snprintf(p, sizeof p, "per_step %d vs %d", a->per_step, b->per_step);
        arch_add(buf, len, p);
    }
    if (pools(a) && pools(b) && a->pooling != b->pooling) {
        snprintf(p, sizeof p, "pooling %s vs %s", pooling_name(a->pooling), pooling_name(b->pooling));
        arch_add(buf, len, p);
    }
    if (a->recurrence != b->recurrence) {
        snprintf(p, sizeof p, "recurrence %s vs %s", recurrence_name(a->recurrence), recurrence_name(b->recurrence));
        arch_add(buf, len, p);
    }
    if (a->task == TASK_SEQ2SEQ && b->task == TASK_SEQ2SEQ) s2s_differences(a, b, buf, len);
}

/* Both files' root attributes: -1 (message printed) when one is unreadable. */
static int read_architectures(const char *pa, const char *pb, char *differs, size_t len) {
    recur_err err = {0};
    model_config a, b;
    if (checkpoint_read_config(pa, &a, &err) || checkpoint_read_config(pb, &b, &err)) {
        report_error("inspect", &err);
        return -1;
    }
    architecture_differences(&a, &b, differs, len);
    return 0;
}

static int diff(const char *pa, const char *pb, tolerance tol, jw *w) {
    char arch[512];
    if (read_architectures(pa, pb, arch, sizeof arch)) return UNREADABLE;
    if (arch[0]) {
        if (!w) printf("different architectures: %s\n", arch);
        else {
            jw_str(w, "a", pa);
            jw_str(w, "b", pb);
            jw_bool(w, "identical", 0);
            jw_bool(w, "equal", 0);
            jw_str(w, "different_architectures", arch);
        }
        return DIFFERENT;
    }
    recur_err err = {0};
    inspect_tensors a, b = {NULL, 0};
    if (inspect_read_tensors(pa, &a, &err) || inspect_read_tensors(pb, &b, &err)) {
        inspect_tensors_free(&a);
        report_error("inspect", &err);
        return UNREADABLE;
    }
    diff_report r = {.a = pa, .b = pb, .tol = tol, .w = w};
    /* Text: the rows are held back, so identical files print one line. */
    char *rows = NULL;
    size_t rows_len = 0;
    if (w) jw_list_begin(w, "tensors");
    else if (!(r.rows = open_memstream(&rows, &rows_len))) r.rows = stdout;
    compare_tensors(&r, &a, &b);
    if (w) {
        jw_list_end(w);
        diff_summary_json(&r);
    } else {
        if (r.rows != stdout) fclose(r.rows);
        if (rows && (any_difference(&r) || r.within)) fputs(rows, stdout);
        free(rows);
        diff_summary_text(&r);
    }
    inspect_tensors_free(&a);
    inspect_tensors_free(&b);
    return any_difference(&r) ? DIFFERENT : SAME;
}

/* ---- verify ---------------------------------------------------------------- */

static void print_violation(void *ctx, const char *msg) {
    jw *w = ctx;
    if (w) jw_item_str(w, "violation", msg);
    else printf("violation: %s\n", msg);
}

static int verify(const char *path, jw *w) {
    recur_err err = {0};
    int n;
    if (w) jw_list_begin(w, "violations");
    int rc = checkpoint_verify(path, print_violation, w, &n, &err);
    if (w) jw_list_end(w);
    if (rc) {
        report_error("inspect", &err);
        return UNREADABLE;
    }
    if (w) {
        jw_str(w, "file", path);
        jw_bool(w, "valid", n == 0);
        /* As a document, the violations are the array above. */
        if (!w->doc) jw_int(w, "violations", n);
    } else if (n == 0) printf("%s: valid recur-checkpoint\n", path);
    else printf("%s: %d violation(s) of the recur-checkpoint contract\n", path, n);
    return n ? DIFFERENT : SAME;
}

/* ---- command line -------------------------------------------------------------- */

static int usage_error(const char *why) {
    recur_err err = {0};
    recur_fail(&err, RECUR_EXIT_USAGE, "%s; usage: recur inspect " USAGE, why);
    return report_error("inspect", &err);
}

int cmd_inspect(int argc, char **argv) {
    int as_json = 0, as_jsonl = 0, do_diff = 0, do_verify = 0;
    tolerance tol = {0, 0, 0};
    enum { OPT_ATOL = 3, OPT_RTOL = 4 }; /* their rows below */
    opt_spec tab[] = {
        {"json", OPT_FLAG, &as_json, NULL, "one JSON document (the summary, with 'tensors' / the diff / the violations)", 0, 0, 0},
        {"jsonl", OPT_FLAG, &as_jsonl, NULL, "JSON lines: the summary (or one per item), then one per tensor / a summary record", 0, 0, 0},
        {"diff", OPT_FLAG, &do_diff, NULL, "compare two checkpoints tensor by tensor (exit 0 identical or within tolerance, 1 different or different architectures, 2 error)", 0, 0, 0},
        {"atol", OPT_DOUBLE, &tol.atol, "X", "--diff: values with |a-b| <= atol + rtol*|b| count as equal", 0, 1, 0},
        {"rtol", OPT_DOUBLE, &tol.rtol, "Y", "--diff: relative tolerance (see --atol)", 0, 1, 0},
        {"verify", OPT_FLAG, &do_verify, NULL, "report every violation of the checkpoint contract (exit 0 valid, 1 invalid, 2 unreadable)", 0, 0, 0},
    };
    const int ntab = sizeof tab / sizeof tab[0];
    recur_err err = {0};
    char *pos[2];
    int npos, rc = cli_parse("inspect", USAGE, tab, ntab, argc, argv, pos, 2, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("inspect", &err);
    tol.on = tab[OPT_ATOL].set || tab[OPT_RTOL].set;
    if (do_diff && do_verify) return usage_error("--diff and --verify exclude each other");
    if (as_json && as_jsonl) return usage_error("--json and --jsonl exclude each other");
    if (tol.on && !do_diff) return usage_error("--atol and --rtol go with --diff");
    if (npos != (do_diff ? 2 : 1)) return usage_error(do_diff ? "--diff takes two files" : "expected one file");
    jw w;
    jw *out = NULL;
    if (as_json || as_jsonl) {
        jw_begin(&w, as_json);
        out = &w;
    }
    if (do_diff) rc = diff(pos[0], pos[1], tol, out);
    else if (do_verify) rc = verify(pos[0], out);
    else rc = summary(pos[0], out);
    /* After a failure stdout holds what was known (nothing, or still one
     * valid JSON value); the message is on stderr. */
    if (out) jw_end(out);
    return rc;
}
