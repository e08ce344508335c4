/* recur eval - mean cross-entropy of a checkpoint on a token dataset, or a
 * sequence model's loss and metrics on a split of a sequence dataset. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../io/checkpoint.h"
#include "../io/dataset.h"
#include "../io/pairdata.h"
#include "../io/seqdata.h"
#include "../io/treedata.h"
#include "../worker/decode.h"
#include "../worker/evaluate.h"
#include "../worker/paireval.h"
#include "../worker/pairmetrics.h"
#include "../worker/seqeval.h"
#include "../worker/treeeval.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "json.h"
#include "seqtask.h"

#define EVAL_SYNOPSIS "--model CKPT.h5 --data D.h5 [--streams S] [--split train|val|test] [--json]\n\n" \
    "Token dataset: scores predicting tokens[i+1] from tokens[0..i] from a zero state.  With\n" \
    "--streams 1 that is every i = 0..N-2.  With S streams the sequence is cut into S equal pieces\n" \
    "of L = (N-1)/S predictions, each starting from a zero state; the last (N-1) - S*L predictions\n" \
    "are skipped.  --split train (the default) scores the dataset's /tokens, --split val its\n" \
    "/val_tokens (the dataset names tokens and val_tokens are accepted too).\n\n" \
    "Sequence dataset (recur-sequences): the model must have been trained for the dataset's task,\n" \
    "inputs and outputs.  Prints `loss` (as in training: mean cross-entropy per sequence (classify)\n" \
    "or per step (tag), mean squared error per target element in the stored, normalised units\n" \
    "(regress)) and the task's metrics: classify and tag `accuracy` and `macro_f1` (the mean F1 over\n" \
    "the classes that occur in the truth or the predictions); regress `rmse`, `mae` and `mse` in the\n" \
    "dataset's original units.  A model with output-to-hidden recurrence (train --recurrence output)\n" \
    "is scored twice: `loss` teacher-forced (the true previous output fed back, as in training) with\n" \
    "the metrics suffixed _teacher_forced, and free-running (its own previous prediction fed back, as\n" \
    "predict does): the plain metric names and loss_free_running.\n" \
    "--split train|val|test (default train); --batch sets how many\n" \
    "sequences are scored at once (results agree up to float rounding); --streams is for token\n" \
    "datasets only.\n\n" \
    "Pair dataset (recur-pairs, a seq2seq model): `loss` is the mean cross-entropy per target token\n" \
    "(with EOS) under teacher forcing, `accuracy` how often the most likely next token is right.\n" \
    "--decode greedy|beam (--beam K, --length-penalty A, --max-len N as for recur generate) also\n" \
    "decodes every source and reports `exact_match` (outputs equal to the reference),\n" \
    "`token_error_rate` (edit distance / reference length, summed over the split) and, for word\n" \
    "targets, corpus `bleu` (BLEU-4).\n\n" \
    "A conditional language model (trained with --task lm on a sequence dataset) is scored on its\n" \
    "sequence dataset as a seq2seq model is on pairs, and also with every sequence given the wrong\n" \
    "context: `wrong_context_loss` / `wrong_context_perplexity` average the loss over every other\n" \
    "label (condition label), or give each sequence the context of the sequence n/2 places on\n" \
    "(condition features).  The model uses its context when the right one scores better.\n\n" \
    "Tree dataset (recur-trees, a tree model): `loss` is the mean cross-entropy over the labelled\n" \
    "roots and nodes (as in training), `accuracy` the fraction of root labels predicted (of node\n" \
    "labels when the dataset has no root labels or the model no root head), and `root_accuracy` and\n" \
    "`node_accuracy` for each head that has labels to score; --batch counts trees."

/* 1 for the validation split, 0 for the training split, -1 for neither.
 * The split names are what users think in; the dataset names are what the
 * file holds (and what earlier versions accepted). */
static int split_is_val(const char *split) {
    if (!strcmp(split, "val") || !strcmp(split, "val_tokens")) return 1;
    if (!strcmp(split, "train") || !strcmp(split, "tokens")) return 0;
    return -1;
}

/* The task's metrics of one scoring into j, each name with `suffix`. */
static void metrics_json(json_line *j, task_kind task, const seq_scores *sc, const char *suffix) {
    char name[64];
    const struct { const char *key; double v; } reg[] = {{"rmse", sc->rmse}, {"mae", sc->mae}, {"mse", sc->mse}},
                                                   cls[] = {{"accuracy", sc->accuracy}, {"macro_f1", sc->macro_f1}};
    const int regress = task == TASK_REGRESS, n = regress ? 3 : 2;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s%s", regress ? reg[i].key : cls[i].key, suffix);
        json_num(j, name, regress ? reg[i].v : cls[i].v);
    }
}

/* Output recurrence (model.h) is scored twice: teacher-forced (the truth fed
 * back, as in training: `loss` and the *_teacher_forced metrics) and
 * free-running (the model's own predictions fed back, as predict: the plain
 * metric names and loss_free_running).  The gap between the two is the
 * downside of teacher forcing (reference §4). */
static int eval_sequences(const char *model_path, const char *data_path, const char *split, int batch, int as_json,
                          recur_err *err) {
    checkpoint_in ck = {0};
    seq_dataset ds = {0};
    seq_scores sc = {0}, fr = {0};
    int which, rc = seqtask_load(model_path, data_path, split, &ck, &ds, &which, err);
    const int fed = !rc && ck.m.cfg.recurrence == RECURRENCE_OUTPUT;
    if (!rc) rc = seq_evaluate(&ck.m, &ds, which, batch, 1, 0, 0, &sc, err);
    if (!rc && fed) rc = seq_evaluate(&ck.m, &ds, which, batch, 1, 0, 1, &fr, err);
    if (!rc) {
        seq_scores_finish(&sc);
        if (fed) seq_scores_finish(&fr);
        const seq_scores *x = fed ? &fr : &sc; /* what predict gives */
        const task_kind task = ck.m.cfg.task;
        const size_t nseq = ds.split[which].n, steps = ds.split[which].total;
        if (as_json) {
            json_line j;
            json_begin(&j);
            json_num(&j, "loss", sc.loss);
            metrics_json(&j, task, x, "");
            if (task == TASK_REGRESS) json_int(&j, "elements", (long long)x->elements);
            if (fed) {
                json_str(&j, "recurrence", "output");
                json_num(&j, "loss_free_running", fr.loss);
                metrics_json(&j, task, &sc, "_teacher_forced");
            }
            json_int(&j, "predictions", (long long)sc.count);
            json_int(&j, "sequences", (long long)nseq);
            json_int(&j, "steps", (long long)steps);
            json_str(&j, "task", task_name(task));
            json_str(&j, "split", SEQ_SPLIT_NAMES[which]);
            printf("%s\n", json_end(&j));
        } else if (task == TASK_REGRESS) {
            printf("loss %.6f (mean squared error in stored units%s); rmse %.6g, mae %.6g, mse %.6g in original units "
                   "over %.0f values (%zu sequences, split %s)\n",
                   sc.loss, fed ? ", teacher-forced" : "", x->rmse, x->mae, x->mse, x->elements, nseq,
                   SEQ_SPLIT_NAMES[which]);
            if (fed)
                printf("output recurrence: the above free-running (its own predictions fed back; loss %.6f); "
                       "teacher-forced (the true targets fed back) rmse %.6g, mae %.6g, mse %.6g\n",
                       fr.loss, sc.rmse, sc.mae, sc.mse);
        } else {
            char what[64];
            if (task == TASK_TAG) snprintf(what, sizeof what, "%.0f steps of %zu sequences", sc.count, nseq);
            else snprintf(what, sizeof what, "%zu sequences", nseq);
            printf("loss %.6f nats%s; accuracy %.4f, macro F1 %.4f over %s (split %s)\n", sc.loss,
                   fed ? " (teacher-forced)" : "", x->accuracy, x->macro_f1, what, SEQ_SPLIT_NAMES[which]);
            if (fed)
                printf("output recurrence: the above free-running (its own predictions fed back; loss %.6f nats); "
                       "teacher-forced (the true labels fed back) accuracy %.4f, macro F1 %.4f\n",
                       fr.loss, sc.accuracy, sc.macro_f1);
        }
    }
    seq_scores_free(&sc);
    seq_scores_free(&fr);
    checkpoint_in_free(&ck);
    seqdata_free(&ds);
    return rc;
}

/* Trees: loss over the labelled roots and nodes, accuracy on the root labels
 * (the node labels when the dataset has none, or the model no root head). */
static int eval_trees(const char *model_path, const char *data_path, const char *split, int batch, int as_json,
                      recur_err *err) {
    checkpoint_in ck = {0};
    tree_dataset ds = {0};
    tree_scores sc;
    int which, rc = seqtask_load_trees(model_path, data_path, split, &ck, &ds, &which, err);
    const tree_forest f = rc ? (tree_forest){0} : seqtask_forest(&ds.split[which]);
    if (!rc) rc = tree_evaluate(&ck.m, &f, batch, 1, 0, &sc, err);
    if (!rc) {
        tree_scores_finish(&sc);
        const char *on = tree_accuracy_on_roots(&ck.m.cfg, &f) ? "roots" : "nodes";
        if (as_json) {
            json_line j;
            json_begin(&j);
            json_num(&j, "loss", sc.loss);
            json_num(&j, "accuracy", sc.accuracy);
            json_str(&j, "accuracy_on", on);
            if (!isnan(sc.root_accuracy)) json_num(&j, "root_accuracy", sc.root_accuracy);
            if (!isnan(sc.node_accuracy)) json_num(&j, "node_accuracy", sc.node_accuracy);
            json_int(&j, "predictions", (long long)sc.sum[TS_SCORED]);
            json_int(&j, "labelled", (long long)sc.sum[TS_COUNT]);
            json_int(&j, "trees", (long long)f.n);
            json_int(&j, "nodes", (long long)f.tree_offsets[f.n]);
            json_str(&j, "task", "tree");
            json_str(&j, "split", SEQ_SPLIT_NAMES[which]);
            printf("%s\n", json_end(&j));
        } else {
            printf("loss %.6f nats over %.0f labelled roots and nodes; accuracy %.4f over %.0f %s (%zu trees, split "
                   "%s)\n", sc.loss, sc.sum[TS_COUNT], sc.accuracy, sc.sum[TS_SCORED], on, f.n,
                   SEQ_SPLIT_NAMES[which]);
            if (!isnan(sc.root_accuracy) && !isnan(sc.node_accuracy))
                printf("root accuracy %.4f over %.0f roots, node accuracy %.4f over %.0f nodes\n", sc.root_accuracy,
                       sc.sum[TS_ROOT_SCORED], sc.node_accuracy, sc.sum[TS_NODE_SCORED]);
        }
    }
    checkpoint_in_free(&ck);
    treedata_free(&ds);
    return rc;
}

static int add_pair(void *ctx, long i, const int32_t *ref, int nref, const int32_t *out, int nout) {
    (void)i;
    pair_metrics_add(ctx, ref, nref, out, nout);
    return 0;
}

/* A conditional LM's loss with every sequence given a wrong context (see
 * EVAL_SYNOPSIS): the mean over the wrong contexts tried. */
static int wrong_context_loss(const model *m, const pair_split *sp, const pair_dataset *ds, int batch, double *loss,
                              recur_err *err) {
    pair_split wrong = *sp;
    const size_t n = sp->n, F = (size_t)sp->src_width;
    const int C = ds->src.size, tries = m->cfg.condition == COND_LABEL ? C - 1 : 1;
    int32_t *labels = malloc(n * sizeof *labels);
    float *features = F ? malloc(n * F * sizeof *features) : NULL;
    double sums[PAIR_SUMS], total = 0, count = 0;
    int rc = -1;
    if (!labels || (F && !features)) {
        recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
        goto done;
    }
    wrong.src_tokens = labels;
    wrong.src_features = features;
    for (int k = 1; k <= tries; k++) {
        for (size_t i = 0; i < n; i++) {
            labels[i] = F ? 0 : (sp->src_tokens[i] + k) % C;
            if (F) memcpy(features + i * F, sp->src_features + ((i + n / 2) % n) * F, F * sizeof(float));
        }
        if (pair_evaluate(m, &wrong, batch, 1, 0, sums, err)) goto done;
        total += sums[PS_TOKEN_LOSS];
        count += sums[PS_TOKENS];
    }
    *loss = count > 0 ? total / count : NAN;
    rc = 0;
done:
    free(labels);
    free(features);
    return rc;
}

static int eval_pairs(const char *model_path, const char *data_path, int condition, const char *split, int batch,
                      const char *decode, decode_opts *o, int max_len_given, int as_json, recur_err *err) {
    checkpoint_in ck = {0};
    pair_dataset ds = {0};
    decoder d = {0};
    double sums[PAIR_SUMS];
    pair_metrics pm = {0};
    int rc = -1;
    const int which = seqtask_split_from_name(split);
    if (checkpoint_load(model_path, &ck, err) || pairdata_open(data_path, condition, &ds, err) ||
        seqtask_check_fit_pairs(&ck.m.cfg, model_path, "--model", &ds, data_path, err))
        goto done;
    if (which < 0 || !ds.split[which].present || ds.split[which].n == 0) {
        recur_fail(err, RECUR_EXIT_USAGE, "--split: expected train, val or test present in %s, found '%s'", data_path,
                   split);
        goto done;
    }
    const pair_split *sp = &ds.split[which];
    if (pair_evaluate(&ck.m, sp, batch, 1, 0, sums, err)) goto done;
    if (decode[0]) {
        if (!strcmp(decode, "greedy")) o->beam = 1;
        else if (strcmp(decode, "beam")) {
            recur_fail(err, RECUR_EXIT_USAGE, "--decode: expected greedy or beam, found '%s'", decode);
            goto done;
        }
        if (ck.m.cfg.end == END_LENGTH && !max_len_given) o->max_len = ck.m.cfg.max_len;
        if (decoder_init(&d, &ck.m, batch, decode_longest_source(sp), o, err) ||
            decode_split(&d, sp, batch, o, add_pair, &pm)) {
            if (!err->msg[0]) recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
            goto done;
        }
    }
    const double loss = sums[PS_TOKEN_LOSS] / sums[PS_TOKENS], acc = sums[PS_CORRECT] / sums[PS_TOKENS];
    const int words = ds.tgt.words != NULL;
    double wrong = NAN;
    if (condition && (condition == COND_FEATURES ? sp->n > 1 : ds.src.size > 1) &&
        wrong_context_loss(&ck.m, sp, &ds, batch, &wrong, err))
        goto done;
    if (as_json) {
        json_line j;
        json_begin(&j);
        json_num(&j, "loss", loss);
        json_num(&j, "perplexity", exp(loss));
        json_num(&j, "accuracy", acc);
        if (ck.m.cfg.end == END_STOP_BIT) json_num(&j, "stop_loss", sums[PS_STOP_LOSS] / sums[PS_TOKENS]);
        if (ck.m.cfg.end == END_LENGTH) json_num(&j, "length_loss", sums[PS_LENGTH_LOSS] / sums[PS_PAIRS]);
        if (!isnan(wrong)) {
            json_num(&j, "wrong_context_loss", wrong);
            json_num(&j, "wrong_context_perplexity", exp(wrong));
        }
        if (decode[0]) {
            json_str(&j, "decode", decode);
            json_int(&j, "beam", o->beam);
            json_num(&j, "exact_match", pair_metrics_exact(&pm));
            json_num(&j, "token_error_rate", pair_metrics_ter(&pm));
            if (words) json_num(&j, "bleu", pair_metrics_bleu(&pm));
        }
        json_int(&j, condition ? "sequences" : "pairs", (long long)sp->n);
        json_int(&j, "target_tokens", (long long)sums[PS_TOKENS]);
        json_str(&j, "task", condition ? "lm" : "seq2seq");
        if (condition) json_str(&j, "condition", condition_name((condition_kind)condition));
        json_str(&j, "split", SEQ_SPLIT_NAMES[which]);
        printf("%s\n", json_end(&j));
    } else {
        printf("loss %.6f nats per target token (teacher-forced, perplexity %.3f), next-token accuracy %.4f over %zu "
               "%s (split %s)\n", loss, exp(loss), acc, sp->n, condition ? "sequences" : "pairs", SEQ_SPLIT_NAMES[which]);
        if (!isnan(wrong))
            printf("with the wrong context: loss %.6f (perplexity %.3f)\n", wrong, exp(wrong));
        if (decode[0])
            printf("%s decoding%s: exact match %.4f, token error rate %.4f%s\n", decode,
                   o->beam > 1 ? " (beam)" : "", pair_metrics_exact(&pm), pair_metrics_ter(&pm), "");
        if (decode[0] && words) printf("BLEU-4 %.4f\n", pair_metrics_bleu(&pm));
    }
    rc = 0;
done:
    decoder_free(&d);
    checkpoint_in_free(&ck);
    pairdata_free(&ds);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    char model_path[CLI_STR] = "", data_path[CLI_STR] = "", split[CLI_STR] = "train";
    int streams = 1, as_json = 0, batch = 64;
    char decode[CLI_STR] = "";
    decode_opts dopt = {.beam = 4, .temperature = 1, .max_len = 100};
    opt_spec tab[] = {
        {"model", OPT_STR, model_path, "CKPT.h5", "checkpoint to evaluate", 0, 0, 0},
        {"data", OPT_STR, data_path, "D.h5", "token dataset, or sequence dataset", 0, 0, 0},
        {"streams", OPT_INT, &streams, "S", "token dataset: parallel streams (1 = exact whole-sequence loss)", 1, 0, 0},
        {"batch", OPT_INT, &batch, "B", "sequence dataset: sequences scored at once", 1, 0, 0},
        {"split", OPT_STR, split, "NAME", "train (/tokens) or val (/val_tokens); sequence datasets: train, val or test", 0, 0, 0},
        {"json", OPT_FLAG, &as_json, NULL, "print one JSON object", 0, 0, 0},
        {"decode", OPT_STR, decode, "greedy|beam", "pair dataset: also decode and score the outputs", 0, 0, 0},
        {"beam", OPT_INT, &dopt.beam, "K", "--decode beam: hypotheses kept (default: 4)", 1, 0, 0},
        {"length-penalty", OPT_DOUBLE, &dopt.length_penalty, "A", "--decode beam: GNMT length penalty", 0, 1, 0},
        {"max-len", OPT_INT, &dopt.max_len, "N", "--decode: at most N tokens per output", 1, 0, 0},
    };
    const int n = sizeof tab / sizeof tab[0];
    recur_err err = {0};
    char *pos[1];
    int npos, rc = cli_parse("eval", EVAL_SYNOPSIS, tab, n, argc, argv, pos, 0, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("eval", &err);
    if (!model_path[0] || !data_path[0]) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--model and --data are required");
        return report_error("eval", &err);
    }
    const int pairs = pairdata_is_pair_file(data_path, &err);
    if (pairs < 0) return report_error("eval", &err);
    if (pairs && cli_find(tab, n, "streams")->set) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--streams: applies to token datasets; %s is a pair dataset: drop it", data_path);
        return report_error("eval", &err);
    }
    model_config mc = {0};
    recur_err ignored = {0};
    const int sequences_clm = !pairs && seqdata_is_sequence_file(data_path, &ignored) == 1 &&
                              !checkpoint_read_config(model_path, &mc, &ignored) && mc.task == TASK_SEQ2SEQ && mc.condition;
    if (sequences_clm && cli_find(tab, n, "streams")->set) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--streams: applies to token datasets; %s is a sequence dataset: drop it",
                   data_path);
        return report_error("eval", &err);
    }
    if (pairs || sequences_clm)
        return eval_pairs(model_path, data_path, sequences_clm ? (int)mc.condition : COND_NONE, split, batch, decode,
                          &dopt, cli_find(tab, n, "max-len")->set, as_json, &err)
                   ? report_error("eval", &err)
                   : 0;
    if (decode[0]) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--decode: applies to pair datasets (seq2seq); %s is not one: drop it", data_path);
        return report_error("eval", &err);
    }
    const int trees = treedata_is_tree_file(data_path, &err);
    if (trees < 0) return report_error("eval", &err);
    if (trees) {
        if (cli_find(tab, n, "streams")->set) {
            recur_fail(&err, RECUR_EXIT_USAGE, "--streams: applies to token datasets; %s is a tree dataset: drop it",
                       data_path);
            return report_error("eval", &err);
        }
        return eval_trees(model_path, data_path, split, batch, as_json, &err) ? report_error("eval", &err) : 0;
    }
    const int sequences = seqdata_is_sequence_file(data_path, &err);
    if (sequences < 0) return report_error("eval", &err);
    if (sequences) {
        if (cli_find(tab, n, "streams")->set) {
            recur_fail(&err, RECUR_EXIT_USAGE, "--streams: applies to token datasets; %s is a sequence dataset: drop it",
                       data_path);
            return report_error("eval", &err);
        }
        return eval_sequences(model_path, data_path, split, batch, as_json, &err) ? report_error("eval", &err) : 0;
    }
    if (cli_find(tab, n, "batch")->set) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--batch: applies to sequence datasets; %s is a token dataset: drop it",
                   data_path);
        return report_error("eval", &err);
    }
    int val = split_is_val(split);
    if (val < 0) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--split: expected train or val (or tokens, val_tokens), found '%s'", split);
        return report_error("eval", &err);
    }
    const char *field = val ? "/val_tokens" : "/tokens";
    checkpoint_in ck = {0};
    token_dataset ds = {0};
    eval_result ev;
    rc = 0;
    if (checkpoint_load(model_path, &ck, &err) || dataset_load(data_path, &ds, &err)) goto fail;
    if (ck.m.cfg.task != TASK_LM &&
        seqtask_check_fit_tokens(&ck.m.cfg, model_path, "--model", ds.vocab_size, data_path, &err))
        goto fail;
    const int32_t *tokens = val ? ds.val_tokens : ds.tokens;
    size_t count = val ? ds.n_val : ds.n;
    if (!tokens) {
        recur_fail(&err, RECUR_EXIT_INPUT, "%s: dataset '/val_tokens': expected for --split val, found none", data_path);
        goto fail;
    }
    if (dataset_check_tokens(data_path, field, tokens, count, ck.m.cfg.vocab_size,
                             "the model's vocab_size", &err)) goto fail;
    if (count < (size_t)streams + 1) {
        recur_fail(&err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected at least --streams + 1 = %d tokens, found %zu",
                   data_path, field, streams + 1, count);
        goto fail;
    }
    if (evaluate(&ck.m, tokens, count, streams, &ev, &err)) goto fail;
    if (as_json) {
        json_line j;
        json_begin(&j);
        json_num(&j, "loss", ev.loss);
        json_num(&j, "perplexity", exp(ev.loss));
        json_num(&j, "bits_per_token", ev.loss / log(2.0));
        json_num(&j, "accuracy", (double)ev.correct / (double)ev.count);
        json_int(&j, "predictions", (long long)ev.count);
        json_int(&j, "streams", streams);
        json_str(&j, "split", val ? "val_tokens" : "tokens");
        printf("%s\n", json_end(&j));
    } else {
        printf("loss %.6f nats (%.4f bits/token, perplexity %.3f), accuracy %.4f over %zu predictions\n", ev.loss,
               ev.loss / log(2.0), exp(ev.loss), (double)ev.correct / (double)ev.count, ev.count);
    }
    goto done;
fail:
    rc = report_error("eval", &err);
done:
    checkpoint_in_free(&ck);
    dataset_free(&ds);
    return rc;
}
