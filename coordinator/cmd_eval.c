/* recur eval - mean cross-entropy of a checkpoint on a token dataset. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../io/checkpoint.h"
#include "../io/dataset.h"
#include "../worker/evaluate.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "json.h"

#define EVAL_SYNOPSIS "--model CKPT.h5 --data D.h5 [--streams S] [--split train|val] [--json]\n\n" \
    "Scores predicting tokens[i+1] from tokens[0..i] from a zero state.  With --streams 1 that is\n" \
    "every i = 0..N-2.  With S streams the sequence is cut into S equal pieces of L = (N-1)/S\n" \
    "predictions, each starting from a zero state; the last (N-1) - S*L predictions are skipped.\n" \
    "--split train (the default) scores the dataset's /tokens, --split val its /val_tokens\n" \
    "(the dataset names tokens and val_tokens are accepted too)."

/* 1 for the validation split, 0 for the training split, -1 for neither.
 * The split names are what users think in; the dataset names are what the
 * file holds (and what earlier versions accepted). */
static int split_is_val(const char *split) {
    if (!strcmp(split, "val") || !strcmp(split, "val_tokens")) return 1;
    if (!strcmp(split, "train") || !strcmp(split, "tokens")) return 0;
    return -1;
}

int cmd_eval(int argc, char **argv) {
    char model_path[CLI_STR] = "", data_path[CLI_STR] = "", split[CLI_STR] = "train";
    int streams = 1, as_json = 0;
    opt_spec tab[] = {
        {"model", OPT_STR, model_path, "CKPT.h5", "checkpoint to evaluate", 0, 0, 0},
        {"data", OPT_STR, data_path, "D.h5", "token dataset", 0, 0, 0},
        {"streams", OPT_INT, &streams, "S", "parallel streams (1 = exact whole-sequence loss)", 1, 0, 0},
        {"split", OPT_STR, split, "NAME", "train (/tokens) or val (/val_tokens)", 0, 0, 0},
        {"json", OPT_FLAG, &as_json, NULL, "print one JSON object", 0, 0, 0},
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
