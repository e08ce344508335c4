/* recur predict - a sequence model's predictions on a split of a sequence
 * dataset, as CSV: one row per sequence (classify, regress per sequence) or
 * per step (tag, regress per step), in file order; a tree model's per tree
 * (root head) and per node (node head).  Written atomically: a
 * temp file next to the output, fsync, rename, fsync of the directory. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../io/checkpoint.h"
#include "../io/seqdata.h"
#include "../io/treedata.h"
#include "../worker/seqeval.h"
#include "../worker/treeeval.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "seqtask.h"

#define PREDICT_SYNOPSIS "--model CKPT.h5 --data D.h5 [--split train|val|test] --out P.csv\n\n" \
    "Writes the predictions of a sequence model (trained by recur train on a sequence dataset) for\n" \
    "every sequence of a split, in file order, as CSV with a header row.  `index` is the sequence's\n" \
    "position in the split (from 0), `step` the step within it (from 0).\n" \
    "  classify:            index,label,label_name,prob,true\n" \
    "  tag:                 index,step,token,label,label_name,prob,true\n" \
    "  regress per sequence: index,y0,...,y<K-1>,true_y0,...,true_y<K-1>\n" \
    "  regress per step:    index,step,y0,...,y<K-1>,true_y0,...,true_y<K-1>\n" \
    "label is the predicted class id (argmax), label_name its /label_names entry (the id again when\n" \
    "the dataset has none), prob its softmax probability, true the dataset's label id; token is the\n" \
    "input token (word, or character; bytes outside printable ASCII as \\xNN; empty for feature\n" \
    "inputs).  Regression values are in the dataset's original units (normalisation, --difference\n" \
    "and --log undone).  The model must have been trained for the dataset's task, inputs and\n" \
    "outputs.  The file appears complete or not at all.\n\n" \
    "Tree dataset (recur-trees, a tree model): one row per tree for the root head (node = the root's\n" \
    "index in its tree), then one per node for the node head, in file order:\n" \
    "  tree,node,head,token,label,label_name,prob,true\n" \
    "head is root or node, token the node's token (empty without one), true the dataset's label\n" \
    "(-1: none)."

typedef struct {
    FILE *f;
    const seq_dataset *ds;
    const seq_split *sp;
    task_kind task;
    int K;
    long rows;
    int failed;
} writer;

/* A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void label_field(const writer *w, int label) {
    if (w->ds->label_names) csv_field(w->f, w->ds->label_names[label]);
    else fprintf(w->f, "%d", label);
}

/* The input token of a step: its word, its character, or nothing (features). */
static void token_field(const writer *w, size_t at) {
    if (!w->sp->tokens) return;
    const int32_t id = w->sp->tokens[at];
    if (w->ds->vocab_words) {
        csv_field(w->f, w->ds->vocab_words[id]);
    } else if (w->ds->vocab) {
        const unsigned char c = w->ds->vocab[id];
        char buf[8];
        if (c >= 0x20 && c < 0x7f) snprintf(buf, sizeof buf, "%c", c);
        else snprintf(buf, sizeof buf, "\\x%02x", c);
        csv_field(w->f, buf);
    } else {
        fprintf(w->f, "%d", id);
    }
}

/* A stored target in original units (as seqeval reports predictions):
 * x * std + mean (+ the sequence's base), exp of that when the importer took logs. */
static double original_target(const writer *w, long seq, int k, float stored) {
    double x = stored;
    if (w->ds->target_std) x = x * w->ds->target_std[k] + w->ds->target_mean[k];
    if (w->sp->seq_base) x += w->sp->seq_base[(size_t)seq * (size_t)w->K + (size_t)k];
    return w->ds->target_log ? exp(x) : x;
}

static void header(writer *w) {
    const int per_step = w->ds->per_step;
    if (w->task == TASK_CLASSIFY) {
        fputs("index,label,label_name,prob,true\n", w->f);
    } else if (w->task == TASK_TAG) {
        fputs("index,step,token,label,label_name,prob,true\n", w->f);
    } else {
        fputs(per_step ? "index,step" : "index", w->f);
        for (int k = 0; k < w->K; k++) fprintf(w->f, ",y%d", k);
        for (int k = 0; k < w->K; k++) fprintf(w->f, ",true_y%d", k);
        fputc('\n', w->f);
    }
}

static int row(void *ctx, const seq_prediction *p) {
    writer *w = ctx;
    const seq_split *sp = w->sp;
    const size_t at = (size_t)sp->offsets[p->seq] + (size_t)(p->step < 0 ? 0 : p->step);
    if (w->task == TASK_CLASSIFY) {
        fprintf(w->f, "%ld,%d,", p->seq, p->label);
        label_field(w, p->label);
        fprintf(w->f, ",%.6g,%d\n", p->prob, sp->labels[p->seq]);
    } else if (w->task == TASK_TAG) {
        fprintf(w->f, "%ld,%ld,", p->seq, p->step);
        token_field(w, at);
        fprintf(w->f, ",%d,", p->label);
        label_field(w, p->label);
        fprintf(w->f, ",%.6g,%d\n", p->prob, sp->step_labels[at]);
    } else {
        fprintf(w->f, "%ld", p->seq);
        if (p->step >= 0) fprintf(w->f, ",%ld", p->step);
        for (int k = 0; k < w->K; k++) fprintf(w->f, ",%.7g", p->values[k]); /* float32 precision */
        const float *truth = p->step >= 0 ? sp->targets + at * (size_t)w->K : sp->seq_targets + (size_t)p->seq * (size_t)w->K;
        for (int k = 0; k < w->K; k++) fprintf(w->f, ",%.7g", original_target(w, p->seq, k, truth[k]));
        fputc('\n', w->f);
    }
    w->rows++;
    if (ferror(w->f)) {
        w->failed = errno ? errno : EIO;
        return 1;
    }
    return 0;
}

/* fsync of the directory holding `path` (the rename's own durability). */
static void sync_dir(const char *path) {
    char copy[CLI_STR + 64];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    fsync(fd); /* some filesystems cannot: not a failure of the write */
    close(fd);
}

/* What fills the CSV file: its header and rows into f; non-zero on failure
 * (> 0: a write to f failed, errno-style in *failed). */
typedef int (*csv_fill)(void *ctx, FILE *f, int *failed, recur_err *err);

/* `out` written atomically: a temp file next to it, filled, fsync, rename,
 * fsync of the directory. */
static int write_csv(const char *out, csv_fill fill, void *ctx, recur_err *err) {
    char tmp[CLI_STR + 64], copy[CLI_STR], dir_copy[CLI_STR];
    snprintf(copy, sizeof copy, "%s", out);
    snprintf(dir_copy, sizeof dir_copy, "%s", out);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dirname(dir_copy), basename(copy), (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: --out: cannot create a file next to it: %s", out, strerror(errno));
    int failed = 0, rc = fill(ctx, f, &failed, err);
    if (rc > 0 || (!rc && (fflush(f) || ferror(f) || fsync(fileno(f))))) {
        const int why = failed ? failed : errno;
        rc = recur_fail(err, RECUR_EXIT_OUTPUT, "%s: --out: write failed: %s", out, strerror(why));
    }
    if (fclose(f) && !rc) rc = recur_fail(err, RECUR_EXIT_OUTPUT, "%s: --out: write failed: %s", out, strerror(errno));
    if (!rc && rename(tmp, out)) rc = recur_fail(err, RECUR_EXIT_OUTPUT, "%s: --out: cannot replace: %s", out, strerror(errno));
    if (rc) {
        unlink(tmp);
        return -1;
    }
    sync_dir(out);
    return 0;
}

typedef struct {
    writer w;
    const checkpoint_in *ck;
    int which, batch;
} seq_fill_ctx;

static int fill_sequences(void *ctx, FILE *f, int *failed, recur_err *err) {
    seq_fill_ctx *c = ctx;
    c->w.f = f;
    header(&c->w);
    const int rc = seq_predict(&c->ck->m, c->w.ds, c->which, c->batch, row, &c->w, err);
    *failed = c->w.failed;
    return rc;
}

static int write_predictions(const checkpoint_in *ck, const seq_dataset *ds, int which, int batch, const char *out,
                             long *rows, recur_err *err) {
    seq_fill_ctx c = {.w = {.ds = ds, .sp = &ds->split[which], .task = ck->m.cfg.task, .K = ck->m.cfg.output_size},
                      .ck = ck, .which = which, .batch = batch};
    if (write_csv(out, fill_sequences, &c, err)) return -1;
    *rows = c.w.rows;
    return 0;
}

/* ---- trees: tree,node,head,token,label,label_name,prob,true ---- */

typedef struct {
    FILE *f;
    const tree_dataset *ds;
    const tree_split *sp;
    const checkpoint_in *ck;
    int batch, failed;
    long rows;
} tree_writer;

static int tree_row(void *ctx, const tree_prediction *p) {
    tree_writer *w = ctx;
    const int32_t tok = w->sp->tokens[w->sp->tree_offsets[p->tree] + p->node];
    char **names = p->head == 'r' ? w->ds->root_label_names : w->ds->node_label_names;
    fprintf(w->f, "%ld,%ld,%s,", p->tree, p->node, p->head == 'r' ? "root" : "node");
    if (tok >= 0 && w->ds->vocab_words) {
        csv_field(w->f, w->ds->vocab_words[tok]);
    } else if (tok >= 0 && w->ds->vocab) {
        const unsigned char ch = w->ds->vocab[tok];
        char buf[8];
        if (ch >= 0x20 && ch < 0x7f) snprintf(buf, sizeof buf, "%c", ch);
        else snprintf(buf, sizeof buf, "\\x%02x", ch);
        csv_field(w->f, buf);
    }
    fprintf(w->f, ",%d,", p->label);
    if (names) csv_field(w->f, names[p->label]);
    else fprintf(w->f, "%d", p->label);
    fprintf(w->f, ",%.6g,%d\n", p->prob, p->truth);
    w->rows++;
    if (ferror(w->f)) {
        w->failed = errno ? errno : EIO;
        return 1;
    }
    return 0;
}

static int fill_trees(void *ctx, FILE *f, int *failed, recur_err *err) {
    tree_writer *w = ctx;
    w->f = f;
    fputs("tree,node,head,token,label,label_name,prob,true\n", f);
    const tree_forest forest = seqtask_forest(w->sp);
    const int rc = tree_predict(&w->ck->m, &forest, w->batch, tree_row, w, err);
    *failed = w->failed;
    return rc;
}

/* A tree model's predictions: a row for each tree's root head, then one per node. */
static int predict_trees(const char *model_path, const char *data_path, const char *split, int batch, const char *out,
                         int quiet, recur_err *err) {
    checkpoint_in ck = {0};
    tree_dataset ds = {0};
    int which, rc = seqtask_load_trees(model_path, data_path, split, &ck, &ds, &which, err);
    tree_writer w = {.ds = &ds, .sp = &ds.split[which], .ck = &ck, .batch = batch};
    if (!rc) rc = write_csv(out, fill_trees, &w, err);
    if (!rc && !quiet)
        fprintf(stderr, "recur predict: %ld rows for %zu trees of split %s written to %s\n", w.rows, ds.split[which].n,
                SEQ_SPLIT_NAMES[which], out);
    checkpoint_in_free(&ck);
    treedata_free(&ds);
    return rc;
}

int cmd_predict(int argc, char **argv) {
    char model_path[CLI_STR] = "", data_path[CLI_STR] = "", split[CLI_STR] = "test", out[CLI_STR] = "";
    int batch = 64, quiet = 0;
    opt_spec tab[] = {
        {"model", OPT_STR, model_path, "CKPT.h5", "checkpoint of a sequence model", 0, 0, 0},
        {"data", OPT_STR, data_path, "D.h5", "sequence dataset (recur-sequences)", 0, 0, 0},
        {"split", OPT_STR, split, "NAME", "train, val or test", 0, 0, 0},
        {"out", OPT_STR, out, "P.csv", "the predictions, one CSV row per sequence or per step (see above)", 0, 0, 0},
        {"batch", OPT_INT, &batch, "B", "sequences run at once (the predictions do not depend on it)", 1, 0, 0},
        {"quiet", OPT_FLAG, &quiet, NULL, "no summary line on stderr", 0, 0, 0},
    };
    const int n = sizeof tab / sizeof tab[0];
    recur_err err = {0};
    char *pos[1];
    int npos, rc = cli_parse("predict", PREDICT_SYNOPSIS, tab, n, argc, argv, pos, 0, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("predict", &err);
    if (!model_path[0] || !data_path[0] || !out[0]) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--model, --data and --out are required");
        return report_error("predict", &err);
    }
    if (seqtask_split_from_name(split) < 0) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--split: expected train, val or test, found '%s'", split);
        return report_error("predict", &err);
    }
    if (check_output_path(out, "--out", &err)) return report_error("predict", &err);
    const int trees = treedata_is_tree_file(data_path, &err);
    if (trees < 0) return report_error("predict", &err);
    if (trees) return predict_trees(model_path, data_path, split, batch, out, quiet, &err) ? report_error("predict", &err) : 0;
    const int sequences = seqdata_is_sequence_file(data_path, &err);
    if (sequences < 0) return report_error("predict", &err);
    if (!sequences) {
        recur_fail(&err, RECUR_EXIT_INPUT,
                   "%s: attribute 'format': expected \"recur-sequences\" (recur predict is for sequence tasks; "
                   "a language model samples: recur sample)", data_path);
        return report_error("predict", &err);
    }
    checkpoint_in ck = {0};
    seq_dataset ds = {0};
    int which;
    long rows = 0;
    rc = seqtask_load(model_path, data_path, split, &ck, &ds, &which, &err);
    if (!rc) rc = write_predictions(&ck, &ds, which, batch, out, &rows, &err);
    if (!rc && !quiet)
        fprintf(stderr, "recur predict: %ld rows for %zu sequences of split %s written to %s\n", rows,
                ds.split[which].n, SEQ_SPLIT_NAMES[which], out);
    checkpoint_in_free(&ck);
    seqdata_free(&ds);
    return rc ? report_error("predict", &err) : 0;
}
