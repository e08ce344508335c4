/* train_options.c - `recur train`'s options: the table (flags, INI keys,
 * --help, the resolved config stored in checkpoints) and the layering, later
 * layers winning: defaults, the config stored in the --resume checkpoint, the
 * --config file, the command line.  Rank 0 parses; every rank receives. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../io/config.h"
#include "../io/h5util.h"
#include "commands.h"
#include "common.h"
#include "seqtask.h"
#include "train.h"

#define TRAIN_SYNOPSIS "--data D.h5 [--init CKPT.h5 | --cell C --embed E --hidden H --layers L] --out OUT.h5 [options]\n" \
    "       recur train --resume CKPT.h5|RUNDIR [--steps S] [--data D.h5] [--out OUT.h5]\n\n" \
    "--steps is the run's total: --resume X --steps 20 continues from X's step up to step 20.\n" \
    "With --run-dir DIR, checkpoints go to DIR/ckpt-<step>.h5 (the last --keep kept), metrics to\n" \
    "DIR/metrics.jsonl and --out defaults to DIR/final.h5.\n\n" \
    "A sequence dataset (format recur-sequences: recur data labeled-text|conllu|csv|rows) trains a\n" \
    "classifier, tagger or regressor: task, inputs (V tokens or F features) and outputs (C classes or\n" \
    "K targets) come from the dataset, --batch counts sequences, /val is scored for validation.\n" \
    "An option that does not apply to the dataset is an error, not silently ignored (the run and the\n" \
    "config stored in its checkpoints would say something that did not happen): --bptt and\n" \
    "--val-streams apply to language models (token datasets); --bidirectional, --merge, --pooling and\n" \
    "--no-shuffle to sequence datasets; --pooling to per-sequence heads (classify, regress with one\n" \
    "target per sequence), not tag; --embed to token inputs; --merge with --bidirectional;\n" \
    "--recurrence output to tag and per-step regress datasets, cells rnn_tanh and rnn_relu, one direction;\n" \
    "--skip, --residual and --transition-depth to every model but trees and --recurrence output\n" \
    "(seq2seq: the encoder and the decoder); --residual to two layers or more; --transition-width with\n" \
    "--transition-depth.\n\n" \
    "A tree dataset (format recur-trees: recur data conllu --trees, labeled-text --trees balanced) trains\n" \
    "a recursive net over each tree (--tree-cell tanh|lstm, --embed, --hidden; one layer) with a root\n" \
    "and/or a node head from the dataset's labels; --batch counts trees, /val is scored for validation."

static int build_table(train_opts *o, opt_spec *t) {
    opt_spec rows[] = {
        {"config", OPT_STR, o->config, "FILE", "INI file with any of these keys (flags override it)", 0, 0, 0},
        {"data", OPT_STR, o->data, "D.h5", "token dataset (recur data text; /val_tokens for validation), sequence, pair or tree dataset (/val)", 0, 0, 0},
        {"init", OPT_STR, o->init, "CKPT.h5", "start from this checkpoint's weights instead of a fresh model", 0, 0, 0},
        {"out", OPT_STR, o->out, "OUT.h5", "checkpoint written at the end, and on SIGTERM/SIGINT", 0, 0, 0},
        {"resume", OPT_STR, o->resume, "CKPT|DIR", "continue a run exactly from a checkpoint (or a run dir's latest)", 0, 0, 0},
        {"run-dir", OPT_STR, o->run_dir, "DIR", "periodic checkpoints, metrics.jsonl and final.h5 go here", 0, 0, 0},
        {"keep", OPT_INT, &o->keep, "K", "periodic checkpoints kept in --run-dir", 1, 0, 0},
        {"checkpoint-minutes", OPT_DOUBLE, &o->checkpoint_minutes, "M", "also checkpoint every M minutes (0 = off)", 0, 1, 0},
        {"metrics", OPT_STR, o->metrics, "M.jsonl", "JSON lines, one per step plus events (truncated at start)", 0, 0, 0},
        {"cell", OPT_STR, o->cell, "C", "rnn_tanh | rnn_relu | lstm | gru | lbr_gru (fresh model)", 0, 0, 0},
        {"tree-cell", OPT_STR, o->tree_cell, "tanh|lstm", "tree datasets: the child-sum recursive net h = tanh(W x + U sum h_k) or the child-sum Tree-LSTM (fresh model)", 0, 0, 0},
        {"embed", OPT_INT, &o->embed, "E", "embedding size (fresh model with token inputs)", 1, 0, 0},
        {"hidden", OPT_INT, &o->hidden, "H", "hidden size (fresh model)", 1, 0, 0},
        {"layers", OPT_INT, &o->layers, "L", "stacked layers (fresh model)", 1, 0, 0},
        {"bidirectional", OPT_FLAG, &o->bidirectional, NULL, "sequence tasks: a reverse direction in every layer (fresh model)", 0, 0, 0},
        {"merge", OPT_STR, o->merge, "concat|sum", "--bidirectional: the two directions' outputs concatenated (PyTorch) or summed", 0, 0, 0},
        {"task", OPT_STR, o->task, "T", "what to train; must agree with --data: lm, classify, tag, regress (the dataset's), seq2seq (pair datasets); lm on a sequence dataset: a conditional language model", 0, 0, 0},
        {"bidirectional-encoder", OPT_FLAG, &o->bidirectional_encoder, NULL, "seq2seq: the encoder reads the source both ways (fresh model)", 0, 0, 0},
        {"attention", OPT_STR, o->attention, "A", "seq2seq: none | dot | general | additive (Luong dot/general, Bahdanau additive; with input feeding)", 0, 0, 0},
        {"context", OPT_STR, o->context, "X", "seq2seq: the encoder's final states start the decoder (init), are an input at every step (input), or both", 0, 0, 0},
        {"condition", OPT_STR, o->condition, "label|features", "--task lm on a sequence dataset (a conditional language model): each sequence's label, or its /context vector (default: label when the dataset has labels; with --init, the checkpoint's)", 0, 0, 0},
        {"scheduled-sampling", OPT_STR, o->scheduled_sampling, "S", "seq2seq: none | linear | exp | sigmoid: the chance of feeding the decoder its own sample instead of the true token grows (Bengio et al. 2015; with --ss-k)", 0, 0, 0},
        {"ss-k", OPT_DOUBLE, &o->ss_k, "K", "--scheduled-sampling: truth kept with probability max(0, 1-i/K) (linear), K^i (exp, K < 1), K/(K+exp(i/K)) (sigmoid, K >= 1) at step i", 0, 1, 0},
        {"end", OPT_STR, o->end, "E", "seq2seq: how outputs end: eos (a token) | stop-bit (a sigmoid per step) | length (predicted first)", 0, 0, 0},
        {"max-len", OPT_INT, &o->max_len, "N", "seq2seq --end length: longest length the head predicts (0 = the data's longest target)", 0, 1, 0},
        {"recurrence", OPT_STR, o->recurrence, "hidden|output", "what feeds the next step: the hidden state (W_hh), or the previous step's output, the label (tag) or target vector (per-step regress), with no W_hh: teacher-forced, a whole window at once (rnn_tanh, rnn_relu; one direction)", 0, 0, 0},
        {"skip", OPT_INT, &o->skip, "K", "skip connections in time: every layer also reads its state K >= 2 steps back, W_skip h_{t-K} (zeros before step K of a sequence or window; 0 = off)", 0, 1, 0},
        {"transition-depth", OPT_INT, &o->transition_depth, "D", "deep transition (DT-RNN, DOT-RNN): an MLP of D layers (Linear + tanh, up to 4) on every layer's input, on h_{t-1} before W_hh, and before the head (0 = off)", 0, 1, 0},
        {"transition-width", OPT_INT, &o->transition_width, "W", "--transition-depth: the width of its MLPs (0 = --hidden)", 0, 1, 0},
        {"residual", OPT_FLAG, &o->residual, NULL, "residual connections: every layer above the first adds its input to its output", 0, 0, 0},
        {"pooling", OPT_STR, o->pooling, "last|mean|max", "per-sequence heads: the top layer's last state (both directions), or mean/max over steps", 0, 0, 0},
        {"dropout", OPT_DOUBLE, &o->dropout, "P", "inverted dropout in [0, 1) on the inputs of every layer above the first and of the head, and after every deep-transition layer", 0, 1, 0},
        {"seed", OPT_LONG, &o->seed, "N", "seed of the fresh model's initialisation, the sequences' shuffle and dropout masks", 0, 1, 0},
        {"batch", OPT_INT, &o->batch, "B", "parallel streams (language model), or sequences (pairs, trees) per step", 1, 0, 0},
        {"no-shuffle", OPT_FLAG, &o->no_shuffle, NULL, "sequence tasks: batch k of an epoch is sequences kB..kB+B-1 in file order", 0, 0, 0},
        {"bptt", OPT_INT, &o->bptt, "K", "language model: truncated-BPTT window (steps per update)", 1, 0, 0},
        {"steps", OPT_LONG, &o->steps, "S", "the run's total number of updates", 1, 0, 0},
        {"epochs", OPT_LONG, &o->epochs, "N", "instead of --steps: N passes over the data (0 = use --steps)", 0, 1, 0},
        {"optimizer", OPT_STR, o->optimizer, "NAME", "sgd | adam", 0, 0, 0},
        {"lr", OPT_DOUBLE, &o->lr, "LR", "learning rate", 1, 0, 0},
        {"momentum", OPT_DOUBLE, &o->momentum, "M", "SGD momentum (0 = off)", 0, 1, 0},
        {"weight-decay", OPT_DOUBLE, &o->weight_decay, "W", "L2 weight decay added to the gradient", 0, 1, 0},
        {"clip", OPT_DOUBLE, &o->clip, "C", "clip the global gradient L2 norm to C (0 = off)", 0, 1, 0},
        {"val-every", OPT_LONG, &o->val_every, "N", "validation loss every N steps and at the end (0 = end only)", 0, 1, 0},
        {"target-val-loss", OPT_DOUBLE, &o->target_val_loss, "X", "end the run early, with its final checkpoint, at the first validation (--val-every) whose loss is at or below X (0 = off)", 0, 1, 0},
        {"val-streams", OPT_INT, &o->val_streams, "S", "language model: streams for validation (see recur eval --help)", 1, 0, 0},
        {"log-every", OPT_LONG, &o->log_every, "N", "console progress line every N steps", 1, 0, 0},
        {"checkpoint-every", OPT_LONG, &o->checkpoint_every, "N", "checkpoint every N steps (to --run-dir, else --out; 0 = off)", 0, 1, 0},
        {"lr-schedule", OPT_STR, o->lr_schedule, "NAME", "constant | step | cosine", 0, 0, 0},
        {"warmup", OPT_LONG, &o->warmup, "N", "linear warmup steps", 0, 1, 0},
        {"lr-decay-every", OPT_LONG, &o->lr_decay_every, "N", "step schedule: decay every N steps", 0, 1, 0},
        {"lr-decay", OPT_DOUBLE, &o->lr_decay, "F", "step schedule: multiply the rate by F", 1, 0, 0},
        {"lr-min", OPT_DOUBLE, &o->lr_min, "LR", "cosine schedule: final rate", 0, 1, 0},
        {"stall-timeout", OPT_DOUBLE, &o->stall_timeout, "SECONDS", "under mpirun: a collective waiting this long ends the job naming the missing ranks (0 = never)", 0, 1, 0},
        {"quiet", OPT_FLAG, &o->quiet, NULL, "no console progress", 0, 0, 0},
        {"monitor", OPT_STR, o->monitor, "ENDPOINT", "publish every record on this ZeroMQ PUB endpoint (recur monitor)", 0, 0, 0},
        {"no-monitor", OPT_FLAG, &o->no_monitor, NULL, "do not publish", 0, 0, 0},
        {"debug", OPT_FLAG, &o->debug, NULL, "check every tensor for NaN/Inf after each phase; per-phase times", 0, 0, 0},
        {"gradcheck", OPT_FLAG, &o->gradcheck, NULL, "before training, check gradients against finite differences", 0, 0, 0},
    };
    memcpy(t, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

static void defaults(train_opts *o) {
    memset(o, 0, sizeof *o);
    strcpy(o->cell, "lstm");
    strcpy(o->tree_cell, "lstm");
    strcpy(o->optimizer, "adam");
    strcpy(o->merge, "concat");
    strcpy(o->pooling, "last");
    strcpy(o->recurrence, "hidden");
    strcpy(o->attention, "additive");
    strcpy(o->context, "init");
    strcpy(o->end, "eos");
    strcpy(o->scheduled_sampling, "none");
    o->embed = 64;
    o->hidden = 256;
    o->layers = 2;
    o->batch = 32;
    o->bptt = 64;
    o->steps = 1000;
    o->seed = 1;
    o->lr = 2e-3;
    o->val_streams = 16;
    o->log_every = 10;
    o->keep = 3;
    o->stall_timeout = 300;
    strcpy(o->lr_schedule, "constant");
    strcpy(o->monitor, "tcp://127.0.0.1:5555"); /* loopback unless the user names another interface */
    o->lr_decay = 0.5;
}

typedef struct {
    opt_spec *tab;
    int n;
    const char *path;
} config_ctx;

static int config_set(void *ctx, const char *where, const char *key, const char *value, recur_err *err) {
    config_ctx *c = ctx;
    return cli_set(c->tab, c->n, key, value, where, err);
}

/* Where option `name`'s value came from ("run.ini:4: data", "--data" or
 * "data"), and whether that is a line of `file` (NULL: of any config file). */
static int origin_in_file(const opt_spec *tab, int n, const char *name, const char *file, char *buf, size_t len) {
    const opt_spec *s = cli_find((opt_spec *)tab, n, name);
    buf[0] = 0;
    if (!s) return 0;
    cli_origin(s, buf, len);
    if (buf[0] == '-' || !strcmp(buf, name)) return 0; /* the command line, or the default */
    return !file || (!strncmp(buf, file, strlen(file)) && buf[strlen(file)] == ':');
}

/* An error about option `name`'s value, found after parsing: when the value
 * came from a config file, the message is put behind that file's line and
 * key, and no longer says "--name" (which the user never typed).  Returns -1. */
static int blame_option(const opt_spec *tab, int n, const char *name, recur_err *err) {
    char origin[CLI_STR + 64], flag[64], msg[sizeof err->msg];
    if (!origin_in_file(tab, n, name, NULL, origin, sizeof origin)) return -1;
    snprintf(flag, sizeof flag, "--%s: ", name);
    snprintf(msg, sizeof msg, "%s", err->msg);
    char *at = strstr(msg, flag);
    if (at) memmove(at, at + strlen(flag), strlen(at + strlen(flag)) + 1);
    return recur_fail(err, err->code, "%s: %s", origin, msg);
}

/* The path options a config file set, checked now so that a wrong path is
 * reported with the config line that holds it (train_setup checks them again
 * later, naming the flag, for paths given on the command line).  Inputs must
 * be readable, outputs writable, the run directory creatable. */
static int check_config_paths(const train_opts *o, const opt_spec *tab, int n, const char *config, recur_err *err) {
    char origin[CLI_STR + 64];
    struct stat st;
    const struct { const char *name, *path; } inputs[] = {{"data", o->data}, {"init", o->init}};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        if (!inputs[i].path[0] || !origin_in_file(tab, n, inputs[i].name, config, origin, sizeof origin)) continue;
        int fd = open(inputs[i].path, O_RDONLY), bad = 1;
        if (fd < 0)
            cli_fail_option(tab, n, inputs[i].name, err, "%s: cannot open for reading: %s", inputs[i].path,
                            strerror(errno));
        else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
            cli_fail_option(tab, n, inputs[i].name, err, "%s: expected a file, found a directory", inputs[i].path);
        else
            bad = 0;
        if (fd >= 0) close(fd);
        if (!bad) continue;
        err->code = RECUR_EXIT_INPUT;
        return -1;
    }
    if (o->run_dir[0] && origin_in_file(tab, n, "run-dir", config, origin, sizeof origin)) {
        if (stat(o->run_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
            cli_fail_option(tab, n, "run-dir", err, "%s: expected a directory, found a file", o->run_dir);
            err->code = RECUR_EXIT_OUTPUT;
            return -1;
        }
        /* Missing: its parent must take a new entry (mkdir comes later). */
        if (stat(o->run_dir, &st) != 0 && check_output_path(o->run_dir, "--run-dir", err))
            return blame_option(tab, n, "run-dir", err);
    }
    const size_t rd = strlen(o->run_dir);
    const struct { const char *name, *path; } outputs[] = {{"out", o->out}, {"metrics", o->metrics}};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        const char *path = outputs[i].path;
        if (!path[0] || !origin_in_file(tab, n, outputs[i].name, config, origin, sizeof origin)) continue;
        if (rd && !strncmp(path, o->run_dir, rd) && path[rd] == '/') continue; /* in the run dir, made later */
        char flag[32];
        snprintf(flag, sizeof flag, "--%s", outputs[i].name);
        if (check_output_path(path, flag, err)) return blame_option(tab, n, outputs[i].name, err);
    }
    return 0;
}

/* The config file's `resume = X` (when the command line gives no --resume):
 * the checkpoint is loaded before the layers are applied, so it is read
 * first, on its own. */
typedef struct {
    char value[CLI_STR];
} peeked;

static int peek_resume(void *ctx, const char *where, const char *key, const char *value, recur_err *err) {
    (void)where;
    (void)err;
    if (!strcmp(key, "resume")) snprintf(((peeked *)ctx)->value, sizeof ((peeked *)ctx)->value, "%s", value);
    return 0;
}

/* What --data holds, read from its root attributes before anything else
 * (the options are judged against it). */
typedef struct {
    int sequences;          /* format recur-sequences */
    int pairs;              /* format recur-pairs */
    int trees;              /* format recur-trees */
    int task_known;         /* its task attribute names a sequence task */
    task_kind task;
    int per_step, features; /* /train/targets or a tag dataset; /train/features */
    int context;            /* /train/context */
} data_kind;

static int read_kind(hid_t file, const char *path, void *ctx, recur_err *err) {
    data_kind *k = ctx;
    char *fmt = NULL, *task = NULL, found[200];
    recur_err ignored = {0};
    (void)err;
    if (h5u_read_format(file, &fmt, found, sizeof found)) return 0; /* the dataset's own reader says what is wrong */
    k->sequences = fmt && !strcmp(fmt, "recur-sequences");
    k->pairs = fmt && !strcmp(fmt, "recur-pairs");
    k->trees = fmt && !strcmp(fmt, TREE_FORMAT);
    free(fmt);
    if (!k->sequences || h5u_read_str_attr(file, path, "/", "task", NULL, &task, &ignored)) return 0;
    k->task_known = !task_from_name(task, &k->task) && k->task != TASK_LM;
    free(task);
    k->per_step = k->task == TASK_TAG || (k->task == TASK_REGRESS && h5u_exists(file, "/train/targets"));
    k->features = h5u_exists(file, "/train/features");
    k->context = h5u_exists(file, "/train/context");
    return 0;
}

/* Set on the command line, or by a line of the --config file (not by the
 * config stored in a --resume checkpoint, nor by default). */
static int given_here(const opt_spec *tab, int n, const int *cli_given, const char *name, const char *config) {
    const opt_spec *s = cli_find((opt_spec *)tab, n, name);
    char origin[CLI_STR + 64];
    return cli_given[s - tab] || (config[0] && origin_in_file(tab, n, name, config, origin, sizeof origin));
}

/* The options that apply to one kind of dataset only: one given for the
 * other kind is an error naming where it was set (see TRAIN_SYNOPSIS). */
static int check_kind_options(train_opts *o, const opt_spec *tab, int n, const int *cli_given, const char *config,
                              int model_given, recur_err *err) {
    pooling_kind pk;
    merge_kind mk;
    if (pooling_from_name(o->pooling, &pk))
        return cli_fail_option(tab, n, "pooling", err, "expected last, mean or max, found '%s'", o->pooling);
    if (seqtask_merge_from_name(o->merge, &mk))
        return cli_fail_option(tab, n, "merge", err, "expected concat or sum, found '%s'", o->merge);
    recurrence_kind rk;
    if (recurrence_from_name(o->recurrence, &rk))
        return cli_fail_option(tab, n, "recurrence", err, "expected hidden or output, found '%s'", o->recurrence);
    if (o->dropout >= 1)
        return cli_fail_option(tab, n, "dropout", err, "expected a probability in [0, 1), found %g", o->dropout);
    data_kind k = {0};
    recur_err ignored = {0};
    if (h5u_with_file(o->data, read_kind, &k, &ignored)) return 0; /* unreadable: train_setup_dataset says so */
    o->sequences = k.pairs ? 2 : k.trees ? 3 : k.sequences;
    static const char *const LM_ONLY[] = {"bptt", "val-streams"};
    cell_kind tk;
    if (seqtask_tree_cell_from_name(o->tree_cell, &tk))
        return cli_fail_option(tab, n, "tree-cell", err, "expected tanh or lstm, found '%s'", o->tree_cell);
    if (!k.trees && given_here(tab, n, cli_given, "tree-cell", config))
        return cli_fail_option(tab, n, "tree-cell", err, "applies to tree datasets (recur-trees); %s is not one: drop "
                               "it", o->data);
    if (k.trees) { /* one layer over token embeddings; every sequence-model option is refused by name */
        static const char *const NOT_TREES[] = {"bptt", "val-streams", "bidirectional", "merge", "pooling", "cell",
                                                "layers", "recurrence", "condition", "dropout", "skip", "residual",
                                                "transition-depth", "transition-width"};
        for (size_t i = 0; i < sizeof NOT_TREES / sizeof NOT_TREES[0]; i++)
            if (given_here(tab, n, cli_given, NOT_TREES[i], config))
                return cli_fail_option(tab, n, NOT_TREES[i], err, "does not apply to a tree model (%s is a tree "
                                       "dataset: --tree-cell tanh|lstm, --embed, --hidden; one layer, no dropout): "
                                       "drop it", o->data);
        o->layers = 1; /* what the model has (and the stored config says) */
    }
    static const char *const SEQ_ONLY[] = {"bidirectional", "merge", "pooling", "no-shuffle"};
    static const char *const S2S_ONLY[] = {"bidirectional-encoder", "attention", "context", "end", "max-len",
                                           "scheduled-sampling", "ss-k"};
    /* --task lm on a sequence dataset: a conditional language model, on the seq2seq decoder (§6). */
    const int clm = k.sequences && !strcmp(o->task, "lm");
    o->conditional = COND_NONE;
    if (!clm && given_here(tab, n, cli_given, "condition", config))
        return cli_fail_option(tab, n, "condition", err, "applies to --task lm on a sequence dataset (a conditional "
                               "language model): drop it");
    if (clm) {
        condition_kind ck = k.task_known && k.task == TASK_CLASSIFY ? COND_LABEL : COND_FEATURES;
        /* With --init the checkpoint says what conditions it (--condition is refused there as a shape
         * option): a features model on a classify dataset that also has /context reads the context. */
        model_config init_cfg = {0};
        if (o->init[0] && !o->condition[0] && !checkpoint_read_config(o->init, &init_cfg, &ignored) &&
            init_cfg.task == TASK_SEQ2SEQ && init_cfg.condition != COND_NONE)
            ck = init_cfg.condition;
        if (k.features)
            return cli_fail_option(tab, n, "task", err, "a conditional language model generates tokens; %s has feature "
                                   "inputs (/train/features)", o->data);
        if (o->condition[0] && (condition_from_name(o->condition, &ck) || ck == COND_NONE))
            return cli_fail_option(tab, n, "condition", err, "expected label or features, found '%s'", o->condition);
        if (!o->condition[0] && ck == COND_FEATURES && !k.context)
            return cli_fail_option(tab, n, "task", err, "lm on a sequence dataset is a conditional language model: "
                                   "%s has neither a label per sequence (classify) nor /train/context", o->data);
        if (given_here(tab, n, cli_given, "attention", config) && strcmp(o->attention, "none"))
            return cli_fail_option(tab, n, "attention", err, "a conditional language model has no source sequence to "
                                   "attend to: drop it");
        if (given_here(tab, n, cli_given, "bidirectional-encoder", config) ||
            given_here(tab, n, cli_given, "bidirectional", config))
            return cli_fail_option(tab, n, given_here(tab, n, cli_given, "bidirectional", config) ? "bidirectional"
                                   : "bidirectional-encoder", err, "a language model reads left to right: drop it");
        strcpy(o->attention, "none");
        snprintf(o->condition, sizeof o->condition, "%s", condition_name(ck));
        o->conditional = ck;
        o->sequences = 2;
    }
    const char *kind = clm ? "lm" : k.pairs ? "seq2seq" : k.trees ? "tree"
                       : k.sequences ? (k.task_known ? task_name(k.task) : "") : "lm";
    if (o->task[0] && kind[0] && strcmp(o->task, kind) != 0)
        return cli_fail_option(tab, n, "task", err, "%s is a %s dataset (%s): it trains task %s, not '%s'", o->data,
                               k.pairs ? "pair" : k.trees ? "tree" : k.sequences ? "sequence" : "token",
                               k.pairs ? "recur-pairs" : k.trees ? TREE_FORMAT : k.sequences ? "recur-sequences"
                                                                                              : "recur-tokens",
                               kind, o->task);
    if (!k.pairs && !clm)
        for (size_t i = 0; i < sizeof S2S_ONLY / sizeof S2S_ONLY[0]; i++)
            if (given_here(tab, n, cli_given, S2S_ONLY[i], config))
                return cli_fail_option(tab, n, S2S_ONLY[i], err,
                                       "applies to seq2seq models (pair datasets: recur data pairs) and conditional "
                                       "language models (--task lm on a sequence dataset); %s is not one: drop it",
                                       o->data);
    if (k.pairs || clm) {
        attention_kind ak;
        int ck;
        end_kind ek;
        if (attention_from_name(o->attention, &ak))
            return cli_fail_option(tab, n, "attention", err, "expected none, dot, general or additive, found '%s'", o->attention);
        if (context_from_name(o->context, &ck))
            return cli_fail_option(tab, n, "context", err, "expected init, input or both, found '%s'", o->context);
        if (end_from_name(o->end, &ek))
            return cli_fail_option(tab, n, "end", err, "expected eos, stop-bit or length, found '%s'", o->end);
        if (given_here(tab, n, cli_given, "max-len", config) && ek != END_LENGTH)
            return cli_fail_option(tab, n, "max-len", err, "applies to --end length: drop it");
        sampling_kind sk;
        if (sampling_from_name(o->scheduled_sampling, &sk))
            return cli_fail_option(tab, n, "scheduled-sampling", err, "expected none, linear, exp or sigmoid, found '%s'",
                                   o->scheduled_sampling);
        if (sk != SAMPLING_NONE && !given_here(tab, n, cli_given, "ss-k", config))
            return cli_fail_option(tab, n, "scheduled-sampling", err, "needs --ss-k K (linear: the step from which "
                                   "every input is sampled; exp: K in (0, 1); sigmoid: K >= 1)");
        if (sk == SAMPLING_NONE && given_here(tab, n, cli_given, "ss-k", config))
            return cli_fail_option(tab, n, "ss-k", err, "applies to --scheduled-sampling linear|exp|sigmoid: drop it");
        if (!sampling_k_valid(sk, o->ss_k))
            return cli_fail_option(tab, n, "ss-k", err, "expected %s for --scheduled-sampling %s, found %g",
                                   sk == SAMPLING_EXP ? "a number in (0, 1)" : sk == SAMPLING_SIGMOID ? "a number >= 1"
                                                                                                     : "a number > 0",
                                   o->scheduled_sampling, o->ss_k);
        for (size_t i = 0; i < sizeof LM_ONLY / sizeof LM_ONLY[0]; i++)
            if (given_here(tab, n, cli_given, LM_ONLY[i], config))
                return cli_fail_option(tab, n, LM_ONLY[i], err, "applies to language models on token streams; %s is "
                                       "a %s dataset: drop it", o->data, clm ? "sequence" : "pair");
        if (given_here(tab, n, cli_given, "pooling", config))
            return cli_fail_option(tab, n, "pooling", err, "applies to per-sequence heads; a seq2seq decoder reads every step: drop it");
        if (o->bidirectional_encoder) o->bidirectional = 1;
    } else if (k.trees) {
        /* checked above */
    } else if (k.sequences) {
        for (size_t i = 0; i < sizeof LM_ONLY / sizeof LM_ONLY[0]; i++)
            if (given_here(tab, n, cli_given, LM_ONLY[i], config))
                return cli_fail_option(tab, n, LM_ONLY[i], err,
                                       "applies to language models; %s is a sequence dataset (%s): drop it", o->data,
                                       k.task_known ? task_name(k.task) : "recur-sequences");
        if (k.task_known && k.per_step && given_here(tab, n, cli_given, "pooling", config))
            return cli_fail_option(tab, n, "pooling", err,
                                   "%s is a %s dataset: its head reads every step, pooling applies to per-sequence "
                                   "heads (classify, regress with one target per sequence): drop it",
                                   o->data, k.task == TASK_TAG ? "tag" : "per-step regress");
        if (k.features && given_here(tab, n, cli_given, "embed", config))
            return cli_fail_option(tab, n, "embed", err,
                                   "%s has feature inputs (/train/features): there is no embedding: drop it", o->data);
    } else {
        for (size_t i = 0; i < sizeof SEQ_ONLY / sizeof SEQ_ONLY[0]; i++)
            if (given_here(tab, n, cli_given, SEQ_ONLY[i], config))
                return cli_fail_option(tab, n, SEQ_ONLY[i], err,
                                       "applies to sequence datasets; %s is a token dataset for a language model: drop it",
                                       o->data);
    }
    if (!model_given && !o->bidirectional && given_here(tab, n, cli_given, "merge", config))
        return cli_fail_option(tab, n, "merge", err, "applies to --bidirectional models: drop it or add --bidirectional");
    if (!model_given && rk == RECURRENCE_OUTPUT) { /* with --init the checkpoint decides (refused below) */
        model_config want = {.task = k.pairs ? TASK_SEQ2SEQ : k.sequences ? k.task : TASK_LM, .per_step = k.per_step,
                             .bidirectional = o->bidirectional};
        if (cell_from_name(o->cell, &want.cell)) return 0; /* the caller names a bad --cell */
        const char *why = model_output_recurrence_refusal(&want);
        if (why) return cli_fail_option(tab, n, "recurrence", err, "output: %s", why);
    }
    if (!model_given && !o->transition_depth && given_here(tab, n, cli_given, "transition-width", config))
        return cli_fail_option(tab, n, "transition-width", err, "applies to --transition-depth D >= 1: drop it or add "
                               "--transition-depth");
    if (!model_given && o->transition_depth > RECUR_MAX_TRANSITION)
        return cli_fail_option(tab, n, "transition-depth", err, "expected an integer in [0, %d], found %d",
                               RECUR_MAX_TRANSITION, o->transition_depth);
    if (!model_given && o->transition_width > 1 << 16)
        return cli_fail_option(tab, n, "transition-width", err, "expected an integer in [0, %d], found %d", 1 << 16,
                               o->transition_width);
    if (!model_given && o->transition_depth) {
        if (!o->transition_width) o->transition_width = o->hidden; /* resolved: the stored config says what ran */
        const model_config want = {.task = k.pairs || clm ? TASK_SEQ2SEQ : k.sequences ? k.task : TASK_LM,
                                   .recurrence = rk, .transition_depth = o->transition_depth,
                                   .transition_width = o->transition_width};
        const char *field, *why = model_transition_refusal(&want, &field);
        if (why) return cli_fail_option(tab, n, "transition-depth", err, "%s", why);
    }
    if (!model_given && (o->skip || o->residual)) {
        const model_config want = {.task = k.pairs || clm ? TASK_SEQ2SEQ : k.sequences ? k.task : TASK_LM,
                                   .recurrence = rk, .num_layers = o->layers, .skip = o->skip,
                                   .residual = o->residual};
        const char *field, *why = model_shortcut_refusal(&want, &field);
        if (why) return cli_fail_option(tab, n, field, err, "%s", why);
    }
    return 0;
}

/* A fresh model's sizes, each judged by model_config_validate on its own so
 * its verdict ("expected an integer in [1, 65536], found 100000") is given
 * with where that option was set (the config file's line or the flag). */
static int check_fresh_shape(const train_opts *o, const opt_spec *tab, int n, recur_err *err) {
    const struct { const char *key; int value; size_t off; } sizes[] = {
        {"embed", o->embed, offsetof(model_config, embed_size)},
        {"hidden", o->hidden, offsetof(model_config, hidden_size)},
        {"layers", o->layers, offsetof(model_config, num_layers)},
        {"skip", o->skip, offsetof(model_config, skip)},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        model_config one = {.cell = CELL_LSTM, .vocab_size = 1, .embed_size = 1, .hidden_size = 1, .num_layers = 1};
        *(int *)((char *)&one + sizes[i].off) = sizes[i].value;
        recur_err e = {0};
        if (!model_config_validate(&one, "", &e)) continue;
        const char *verdict = strstr(e.msg, "': ");
        return cli_fail_option(tab, n, sizes[i].key, err, "%s", verdict ? verdict + 3 : e.msg);
    }
    return 0;
}

/* `--resume DIR` continues the run in DIR, wherever its run directory was
 * when the checkpoint was written (relative to another working directory,
 * or moved since): the outputs that were the old run directory's own follow. */
static void continue_in(train_opts *o, const char *dir) {
    char metrics[CLI_STR + 32];
    if (rundir_is_final(o->run_dir, o->out)) o->out[0] = 0;
    if (!rundir_path(metrics, sizeof metrics, o->run_dir, "metrics.jsonl", 0) && !strcmp(metrics, o->metrics))
        o->metrics[0] = 0;
    snprintf(o->run_dir, sizeof o->run_dir, "%s", dir);
}

/* A path option made absolute in place ("" stays ""): the resolved config
 * stored in checkpoints then names the same files from any directory. */
static int make_absolute(char *path, const opt_spec *tab, int n, const char *name, recur_err *err) {
    char abs[CLI_STR];
    if (!path[0]) return 0;
    if (absolute_path(path, abs, sizeof abs)) return cli_fail_option(tab, n, name, err, "path too long");
    memcpy(path, abs, sizeof abs);
    return 0;
}

/* Options in layers, later ones winning: defaults, the config stored in the
 * --resume checkpoint, the --config file, the command line.  Rank 0 only.
 * With --resume, *ck receives the loaded checkpoint.  Returns 0, 1 (--help
 * shown) or -1 with err. */
static int parse_options(train_opts *o, opt_spec *tab, int *ntab, int argc, char **argv, checkpoint_in *ck,
                         recur_err *err) {
    defaults(o);
    int n = *ntab = build_table(o, tab);
    char *pos[1];
    int npos, rc;
    if ((rc = cli_parse("train", TRAIN_SYNOPSIS, tab, n, argc, argv, pos, 0, &npos, err))) return rc;
    const train_opts cli = *o; /* what the command line alone says */
    int cli_given[64] = {0};
    for (int i = 0; i < n; i++) cli_given[i] = tab[i].set;
    char config[CLI_STR], resume[CLI_STR] = "", stored_data[CLI_STR] = "";
    int resume_is_dir = 0;
    snprintf(config, sizeof config, "%s", o->config);
    /* What to resume: --resume, or else the config file's `resume` line. */
    peeked resume_arg = {""};
    snprintf(resume_arg.value, sizeof resume_arg.value, "%s", cli.resume);
    if (!resume_arg.value[0] && config[0] && config_parse_file_at(config, peek_resume, &resume_arg, err)) return -1;
    if (resume_arg.value[0]) {
        if (!cli.resume[0]) { /* its origin, for messages about it */
            config_ctx ctx = {tab, n, config};
            if (config_parse_file_at(config, config_set, &ctx, err)) return -1;
        }
        if (rundir_resolve_resume(resume_arg.value, resume, sizeof resume, &resume_is_dir, err) ||
            checkpoint_load(resume, ck, err))
            return blame_option(tab, n, "resume", err);
        if (!ck->config_text || !ck->has_optimizer || !ck->has_progress) {
            recur_fail(err, RECUR_EXIT_INPUT,
                       "%s: --resume: expected a checkpoint written by recur train (/config, /optimizer, /progress), found %s missing",
                       resume, !ck->config_text ? "/config" : !ck->has_optimizer ? "/optimizer" : "/progress");
            return blame_option(tab, n, "resume", err);
        }
    }
    if (resume[0] || config[0]) {
        defaults(o);
        for (int i = 0; i < n; i++) tab[i].set = 0;
        if (resume[0]) {
            config_ctx ctx = {tab, n, resume};
            if (config_parse_text_at(ck->config_text, resume, config_set, &ctx, err)) return -1;
            o->init[0] = o->resume[0] = o->config[0] = 0;
            snprintf(stored_data, sizeof stored_data, "%s", o->data);
            if (resume_is_dir && o->run_dir[0]) continue_in(o, resume_arg.value);
        }
        if (config[0]) {
            config_ctx ctx = {tab, n, config};
            if (config_parse_file_at(config, config_set, &ctx, err)) return -1;
        }
        if ((rc = cli_parse("train", TRAIN_SYNOPSIS, tab, n, argc, argv, pos, 0, &npos, err))) return rc;
        snprintf(o->config, sizeof o->config, "%s", config);
        snprintf(o->resume, sizeof o->resume, "%s", resume);
    }
    o->data_from_checkpoint = resume[0] && !strcmp(o->data, stored_data);
    if ((!o->data_from_checkpoint && make_absolute(o->data, tab, n, "data", err)) ||
        make_absolute(o->run_dir, tab, n, "run-dir", err) || make_absolute(o->out, tab, n, "out", err) ||
        make_absolute(o->metrics, tab, n, "metrics", err))
        return -1;
    if (o->run_dir[0] && ((!o->out[0] && rundir_path(o->out, sizeof o->out, o->run_dir, "final.h5", 0)) ||
                          (!o->metrics[0] && rundir_path(o->metrics, sizeof o->metrics, o->run_dir, "metrics.jsonl", 0))))
        return cli_fail_option(tab, n, "run-dir", err, "path too long");
    if (config[0] && check_config_paths(o, tab, n, config, err)) return -1;
    if (!o->data[0]) return recur_fail(err, RECUR_EXIT_USAGE, "--data is required (a token or sequence dataset; see recur data --help)");
    if (!o->out[0]) return recur_fail(err, RECUR_EXIT_USAGE, "--out (or --run-dir) is required: where the trained checkpoint goes");
    cell_kind cell;
    if (cell_from_name(o->cell, &cell))
        return cli_fail_option(tab, n, "cell", err, "expected one of rnn_tanh, rnn_relu, lstm, gru, lbr_gru, found '%s'", o->cell);
    optim_kind ok;
    if (optim_from_name(o->optimizer, &ok))
        return cli_fail_option(tab, n, "optimizer", err, "expected sgd or adam, found '%s'", o->optimizer);
    schedule_kind sk;
    if (schedule_from_name(o->lr_schedule, &sk))
        return cli_fail_option(tab, n, "lr-schedule", err, "expected constant, step or cosine, found '%s'", o->lr_schedule);
    if (check_kind_options(o, tab, n, cli_given, config, resume[0] || o->init[0], err)) return -1;
    if (!resume[0] && !o->init[0] && check_fresh_shape(o, tab, n, err)) return -1;
    /* With --init, --seed still orders the sequences and draws dropout masks. */
    const int seed_used = o->sequences || o->dropout > 0;
    const char *shape[] = {"cell", "tree-cell", "embed", "hidden", "layers", "bidirectional", "merge", "pooling", "recurrence",
                           "skip", "residual", "transition-depth", "transition-width",
                           "bidirectional-encoder", "attention", "context", "condition", "end", "max-len",
                           seed_used ? NULL : "seed"};
    if (resume[0]) {
        /* Flags may not contradict the checkpoint being resumed. */
        const model_config *mc = &ck->m.cfg;
        char given[128] = "";
        cell_kind tree_cell = CELL_LSTM;
        seqtask_tree_cell_from_name(cli.tree_cell, &tree_cell);
        if (mc->task == TASK_TREE && cli_given[cli_find(tab, n, "tree-cell") - tab] && tree_cell != mc->cell)
            snprintf(given, sizeof given, "--tree-cell %.20s (it is %s)", cli.tree_cell,
                     seqtask_tree_cell_name(mc->cell));
        else if (cli_given[cli_find(tab, n, "cell") - tab] && strcmp(cli.cell, cell_name(mc->cell)))
            snprintf(given, sizeof given, "--cell %.20s (it is %s)", cli.cell, cell_name(mc->cell));
        else if (cli_given[cli_find(tab, n, "embed") - tab] && cli.embed != mc->embed_size)
            snprintf(given, sizeof given, "--embed %d (it is %d)", cli.embed, mc->embed_size);
        else if (cli_given[cli_find(tab, n, "hidden") - tab] && cli.hidden != mc->hidden_size)
            snprintf(given, sizeof given, "--hidden %d (it is %d)", cli.hidden, mc->hidden_size);
        else if (cli_given[cli_find(tab, n, "layers") - tab] && cli.layers != mc->num_layers)
            snprintf(given, sizeof given, "--layers %d (it is %d)", cli.layers, mc->num_layers);
        else if (cli_given[cli_find(tab, n, "bidirectional") - tab] && cli.bidirectional != mc->bidirectional)
            snprintf(given, sizeof given, "--bidirectional (it is %s)", mc->bidirectional ? "bidirectional" : "one direction");
        else if (cli_given[cli_find(tab, n, "merge") - tab] && mc->bidirectional && strcmp(cli.merge, seqtask_merge_name(mc->merge)))
            snprintf(given, sizeof given, "--merge %.20s (it is %s)", cli.merge, seqtask_merge_name(mc->merge));
        else if (cli_given[cli_find(tab, n, "pooling") - tab] && strcmp(cli.pooling, pooling_name(mc->pooling)))
            snprintf(given, sizeof given, "--pooling %.20s (it is %s)", cli.pooling, pooling_name(mc->pooling));
        else if (cli_given[cli_find(tab, n, "recurrence") - tab] && strcmp(cli.recurrence, recurrence_name(mc->recurrence)))
            snprintf(given, sizeof given, "--recurrence %.20s (it is %s)", cli.recurrence, recurrence_name(mc->recurrence));
        else if (cli_given[cli_find(tab, n, "skip") - tab] && cli.skip != mc->skip)
            snprintf(given, sizeof given, "--skip %d (it is %d)", cli.skip, mc->skip);
        else if (cli_given[cli_find(tab, n, "residual") - tab] && cli.residual != mc->residual)
            snprintf(given, sizeof given, "--residual (it has none)");
        else if (cli_given[cli_find(tab, n, "transition-depth") - tab] && cli.transition_depth != mc->transition_depth)
            snprintf(given, sizeof given, "--transition-depth %d (it is %d)", cli.transition_depth, mc->transition_depth);
        else if (cli_given[cli_find(tab, n, "transition-width") - tab] && cli.transition_width != mc->transition_width)
            snprintf(given, sizeof given, "--transition-width %d (it is %d)", cli.transition_width, mc->transition_width);
        else if (cli_given[cli_find(tab, n, "optimizer") - tab] && ok != ck->opt.cfg.kind)
            snprintf(given, sizeof given, "--optimizer %.20s (it is %s)", cli.optimizer, optim_name(ck->opt.cfg.kind));
        else if (cli_given[cli_find(tab, n, "init") - tab])
            snprintf(given, sizeof given, "--init");
        if (given[0])
            return recur_fail(err, RECUR_EXIT_USAGE, "%s: --resume: the model and optimizer come from the checkpoint; drop %s",
                              resume, given);
        /* The same for a config file's lines (the one the run started with
         * says what the checkpoint says, and passes). */
        char origin[CLI_STR + 64];
        const struct { const char *key; int differs; const char *is; long num; } stored[] = {
            {"cell", strcmp(o->cell, cell_name(mc->cell)) != 0, cell_name(mc->cell), 0},
            {"embed", o->embed != mc->embed_size, NULL, mc->embed_size},
            {"hidden", o->hidden != mc->hidden_size, NULL, mc->hidden_size},
            {"layers", o->layers != mc->num_layers, NULL, mc->num_layers},
            {"bidirectional", o->bidirectional != mc->bidirectional, mc->bidirectional ? "true" : "false", 0},
            {"merge", mc->bidirectional && strcmp(o->merge, seqtask_merge_name(mc->merge)) != 0, seqtask_merge_name(mc->merge), 0},
            {"pooling", mc->task != TASK_LM && !net_per_row(mc) && strcmp(o->pooling, pooling_name(mc->pooling)) != 0,
             pooling_name(mc->pooling), 0},
            {"recurrence", strcmp(o->recurrence, recurrence_name(mc->recurrence)) != 0, recurrence_name(mc->recurrence), 0},
            {"skip", o->skip != mc->skip, NULL, mc->skip},
            {"residual", o->residual != mc->residual, mc->residual ? "true" : "false", 0},
            {"transition-depth", o->transition_depth != mc->transition_depth, NULL, mc->transition_depth},
            {"transition-width", o->transition_width != mc->transition_width, NULL, mc->transition_width},
            {"optimizer", ok != ck->opt.cfg.kind, optim_name(ck->opt.cfg.kind), 0},
            {"init", o->init[0] != 0, NULL, 0},
        };
        for (size_t i = 0; config[0] && i < sizeof stored / sizeof stored[0]; i++) {
            if (!stored[i].differs || !origin_in_file(tab, n, stored[i].key, config, origin, sizeof origin)) continue;
            if (stored[i].is)
                return cli_fail_option(tab, n, stored[i].key, err, "the model and optimizer come from --resume %s (%s %s); "
                                       "drop this line", resume, stored[i].key, stored[i].is);
            if (!strcmp(stored[i].key, "init"))
                return cli_fail_option(tab, n, "init", err, "the weights come from --resume %s; drop this line", resume);
            return cli_fail_option(tab, n, stored[i].key, err, "the model and optimizer come from --resume %s (%s %ld); "
                                   "drop this line", resume, stored[i].key, stored[i].num);
        }
        if (ck->state_h && ck->streams != o->batch) {
            if (origin_in_file(tab, n, "batch", config, origin, sizeof origin))
                return cli_fail_option(tab, n, "batch", err, "expected %d (the streams of --resume %s), found %d",
                                       ck->streams, resume, o->batch);
            return recur_fail(err, RECUR_EXIT_USAGE, "%s: --resume: expected --batch %d (the checkpoint's streams), found %d",
                              resume, ck->streams, o->batch);
        }
    } else if (o->init[0]) {
        for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++)
            if (shape[i] && cli_find(tab, n, shape[i])->set)
                return cli_fail_option(tab, n, shape[i], err, "the model's shape comes from --init %s; drop it",
                                       o->init);
    }
    return 0;
}

/* Rank 0: options and config; then everyone gets them.  Returns an exit code, or -1 to go on. */
int train_setup_options(run *r, int argc, char **argv, recur_err *err) {
    opt_spec tab[64];
    int n = 0, rc = 0;
    if (r->comm.rank == 0) {
        rc = parse_options(&r->o, tab, &n, argc, argv, &r->resume, err);
        if (rc == 0) cli_dump(tab, n, r->cfg_text, sizeof r->cfg_text);
    }
    /* 1 = --help shown: everyone leaves with 0. */
    int help = r->comm.size > 1 ? comm_any(rc == 1) : rc == 1;
    if (help) return 0;
    int code = train_agree(r, rc < 0, err);
    if (code) return code;
    if (r->comm.size > 1) {
        comm_bcast(&r->o, sizeof r->o, 0);
        comm_bcast(r->cfg_text, sizeof r->cfg_text, 0);
    }
        r->resuming = r->o.resume[0] != 0;
    schedule_from_name(r->o.lr_schedule, &r->sched.kind);
    r->sched.lr = r->o.lr;
    r->sched.lr_min = r->o.lr_min;
    r->sched.warmup = r->o.warmup;
    r->sched.decay_every = r->o.lr_decay_every;
    r->sched.decay = r->o.lr_decay;
    r->sched.total = r->o.steps;
    sampling_from_name(r->o.scheduled_sampling, &r->sampling);
    if (!r->o.sequences && r->o.batch % r->comm.size != 0) { /* sequences are shared out by their steps */
        /* Rank 0 has the table (and says it): the config line, or --batch. */
        cli_fail_option(tab, n, "batch", err, "expected a multiple of the number of ranks (%d), found %d", r->comm.size,
                        r->o.batch);
        return r->comm.rank == 0 ? report_error("train", err) : RECUR_EXIT_USAGE;
    }
    return -1;
}

/* The run's total steps, once the data's size is known (--epochs counts
 * passes over it).  Resuming, the total must lie beyond the checkpoint: say
 * what to pass instead of silently doing nothing. */
int train_resolve_budget(run *r, recur_err *err) {
    const size_t n_seq = r->o.sequences == 3   ? r->trees.split[SPLIT_TRAIN].n
                         : r->o.sequences == 2 ? r->pairs.split[SPLIT_TRAIN].n
                                               : r->seq.split[SPLIT_TRAIN].n;
    const size_t B = (size_t)r->o.batch;
    const long per_epoch = r->o.sequences ? (long)((n_seq + B - 1) / B) : (long)(r->stream_len / (size_t)r->o.bptt);
    if (r->o.epochs > 0) r->sched.total = r->o.steps = r->o.epochs * per_epoch;
    int rc = 0;
    const long at = r->resume.step;
    if (r->comm.rank == 0 && r->resuming && r->o.steps <= at) {
        const long epochs_done = per_epoch > 0 ? at / per_epoch : 0;
        if (r->o.epochs > 0)
            rc = recur_fail(err, RECUR_EXIT_USAGE,
                            "%s is at step %ld; --epochs %ld is %ld steps, the run's total: pass --epochs above %ld, "
                            "e.g. --epochs %ld",
                            r->o.resume, at, r->o.epochs, r->o.steps, epochs_done, epochs_done > 0 ? 2 * epochs_done : 1);
        else
            rc = recur_fail(err, RECUR_EXIT_USAGE,
                            "%s is at step %ld; --steps is the run's total, pass --steps above %ld, e.g. --steps %ld",
                            r->o.resume, at, at, 2 * at);
    }
    return train_agree(r, rc, err);
}
