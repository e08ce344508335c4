/* recur generate - a seq2seq model's outputs for sources: the lines of a
 * file (one output line per input line), or a split of a pair dataset
 * (source<TAB>reference<TAB>output rows).  Greedy, beam search or sampling
 * (worker/decode.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/checkpoint.h"
#include "../io/pairdata.h"
#include "../worker/decode.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "seqtask.h"

#define GENERATE_SYNOPSIS "--model CKPT.h5 (--input FILE | --data PAIRS.h5 [--split test]) [--beam K] [options]\n\n" \
    "Decodes with a seq2seq checkpoint (recur train --data PAIRS.h5).  --input FILE (or - for stdin):\n" \
    "one source per line, tokenised as the model's source vocabulary says (characters: bytes;\n" \
    "words: split on whitespace), one output line per input line, in order.  A line that is empty or\n" \
    "holds a symbol outside the vocabulary is an error naming FILE:LINE (nothing is decoded).\n" \
    "--data PAIRS.h5: every pair of --split, as source<TAB>reference<TAB>output rows.  The\n" \
    "vocabularies come from the checkpoint (or from --data when it has none).\n\n" \
    "Decoding: greedy by default; --beam K keeps K hypotheses (scores are log p divided by\n" \
    "((5 + length) / 6)^A with --length-penalty A); --sample draws each token from the model's\n" \
    "distribution sharpened or flattened by --temperature T.  A model trained with --end eos stops\n" \
    "at EOS, --end stop-bit when its stop unit says so, --end length after the length its head\n" \
    "predicted; none emits more than --max-len tokens.\n\n" \
    "A conditional language model (recur train --task lm on a sequence dataset) writes one sequence\n" \
    "per input line for the context that line gives: a label name (condition label; e.g. `--sample\n" \
    "--temperature 0.8` for varied text), or F numbers separated by spaces or commas (condition\n" \
    "features).  With --data its sequence dataset: label (or features)<TAB>reference<TAB>output."

typedef struct {
    FILE *out;
    int F;                     /* a conditional LM on F context features: sources are printed as numbers */
    const pair_split *sp;
    const pair_vocab *src, *tgt;
    char *buf;
    size_t cap;
} row_ctx;

/* Text of ids in a vocabulary, in ctx->buf (grown as needed). */
static const char *text_of(row_ctx *c, const pair_vocab *v, const int32_t *ids, int n) {
    size_t need = pair_vocab_decode(v, ids, (size_t)n, c->buf, c->cap);
    if (need >= c->cap) {
        char *b = realloc(c->buf, need + 1);
        if (!b) return "";
        c->buf = b;
        c->cap = need + 1;
        pair_vocab_decode(v, ids, (size_t)n, c->buf, c->cap);
    }
    return c->buf;
}

static int write_row(void *ctx, long i, const int32_t *ref, int nref, const int32_t *out, int nout) {
    row_ctx *c = ctx;
    const pair_split *sp = c->sp;
    if (c->F)
        for (int k = 0; k < c->F; k++)
            fprintf(c->out, "%g%c", (double)sp->src_features[(size_t)i * (size_t)c->F + (size_t)k], k + 1 < c->F ? ' ' : '\t');
    else
        fprintf(c->out, "%s\t", text_of(c, c->src, sp->src_tokens + sp->src_offsets[i], (int)pair_src_length(sp, (size_t)i)));
    fprintf(c->out, "%s\t", text_of(c, c->tgt, ref, nref));
    fprintf(c->out, "%s\n", text_of(c, c->tgt, out, nout));
    return 0;
}

/* A conditional LM's context from one input line: F numbers (features), or
 * one label (ids already encoded: exactly one). */
static int parse_context(const model_config *c, const char *line, const char *where, size_t k, float **feat,
                         recur_err *err) {
    if (c->condition == COND_LABEL && k != 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected one label (the model is conditioned on a label), found "
                          "%zu words", where, k);
    if (c->condition != COND_FEATURES) return 0;
    const int F = c->input_size;
    *feat = malloc((size_t)F * sizeof(float));
    if (!*feat) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    const char *p = line;
    int got = 0;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        const double x = strtod(p, &end);
        if (end == p || errno == ERANGE || x != x || x > 3.4e38 || x < -3.4e38 || got == F) {
            free(*feat);
            *feat = NULL;
            if (got == F)
                return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected %d numbers (the model's context features), "
                                  "found more", where, F);
            return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected %d finite numbers (the model's context features), "
                              "found '%.20s'", where, F, p);
        }
        (*feat)[got++] = (float)x;
        p = end;
    }
    if (got != F) {
        free(*feat);
        *feat = NULL;
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected %d numbers (the model's context features), found %d",
                          where, F, got);
    }
    return 0;
}

/* Reads FILE's lines and encodes every one first (so a bad line stops before anything is printed). */
static int read_sources(const char *path, const pair_vocab *v, const model_config *mc, int32_t ***src, int **len,
                        float ***feat, int *n, recur_err *err) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return recur_fail(err, RECUR_EXIT_INPUT, "%s: cannot open for reading: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int count = 0, room = 0, rc = 0;
    *src = NULL;
    *len = NULL;
    *feat = NULL;
    const int features = mc->condition == COND_FEATURES;
    while ((got = getline(&line, &cap, f)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
        char where[CLI_STR + 32];
        snprintf(where, sizeof where, "%s:%d", path, count + 1);
        int32_t *ids = NULL;
        size_t k = 1;
        float *fv = NULL;
        if (features ? !(ids = calloc(1, sizeof *ids)) && recur_fail(err, RECUR_EXIT_FAIL, "out of memory")
                     : pair_vocab_encode(v, line, (size_t)got, where, &ids, &k, err)) {
            rc = -1;
            break;
        }
        if (parse_context(mc, line, where, k, &fv, err)) {
            free(ids);
            rc = -1;
            break;
        }
        if (count == room) {
            room = room ? 2 * room : 64;
            int32_t **s2 = realloc(*src, (size_t)room * sizeof **src);
            if (s2) *src = s2;
            int *l2 = s2 ? realloc(*len, (size_t)room * sizeof **len) : NULL;
            if (l2) *len = l2;
            float **f2 = l2 ? realloc(*feat, (size_t)room * sizeof **feat) : NULL;
            if (f2) *feat = f2;
            if (!f2) {
                free(ids);
                free(fv);
                rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory reading %s", path);
                break;
            }
        }
        (*src)[count] = ids;
        (*feat)[count] = fv;
        (*len)[count++] = (int)k;
    }
    free(line);
    if (f != stdin) fclose(f);
    *n = count;
    if (!rc && count == 0) rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: expected one source per line, found no line", path);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    char model_path[CLI_STR] = "", data_path[CLI_STR] = "", input[CLI_STR] = "", split[CLI_STR] = "test";
    decode_opts o = {.beam = 1, .temperature = 1, .max_len = 100, .seed = 1};
    long seed = 1;
    int batch = 64;
    opt_spec tab[] = {
        {"model", OPT_STR, model_path, "CKPT.h5", "seq2seq checkpoint", 0, 0, 0},
        {"input", OPT_STR, input, "FILE", "sources, one per line (- = stdin)", 0, 0, 0},
        {"data", OPT_STR, data_path, "PAIRS.h5", "pair dataset: decode a split's sources next to their references", 0, 0, 0},
        {"split", OPT_STR, split, "NAME", "with --data: train, val or test", 0, 0, 0},
        {"beam", OPT_INT, &o.beam, "K", "beam width (1 = greedy)", 1, 0, 0},
        {"length-penalty", OPT_DOUBLE, &o.length_penalty, "A", "beam: divide log p by ((5 + length) / 6)^A", 0, 1, 0},
        {"sample", OPT_FLAG, &o.sample, NULL, "draw each token from the model's distribution", 0, 0, 0},
        {"temperature", OPT_DOUBLE, &o.temperature, "T", "--sample: p^(1/T), renormalised", 1, 0, 0},
        {"max-len", OPT_INT, &o.max_len, "N", "at most N tokens per output", 1, 0, 0},
        {"batch", OPT_INT, &batch, "B", "sources decoded at once (results do not depend on it)", 1, 0, 0},
        {"seed", OPT_LONG, &seed, "S", "--sample: the draws", 0, 1, 0},
    };
    const int n = sizeof tab / sizeof tab[0];
    recur_err err = {0};
    char *pos[1];
    int npos, rc = cli_parse("generate", GENERATE_SYNOPSIS, tab, n, argc, argv, pos, 0, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("generate", &err);
    o.seed = (uint64_t)seed;
    if (!model_path[0] || (!input[0] == !data_path[0] && !(input[0] && data_path[0]))) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--model and one of --input or --data are required");
        return report_error("generate", &err);
    }
    if (o.sample && o.beam > 1) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--sample draws one output per source: drop --beam %d", o.beam);
        return report_error("generate", &err);
    }
    checkpoint_in ck = {0};
    pair_dataset ds = {0};
    decoder d = {0};
    int32_t **src = NULL, **out = NULL;
    float **feat = NULL;
    int *src_len = NULL, *out_len = NULL, count = 0;
    row_ctx rows = {.out = stdout};
    if (checkpoint_load(model_path, &ck, &err)) goto fail;
    if (ck.m.cfg.task != TASK_SEQ2SEQ) {
        recur_fail(&err, RECUR_EXIT_INPUT, "%s: a %s model; generate decodes seq2seq models (recur sample writes "
                   "text from a language model)", model_path, task_name(ck.m.cfg.task));
        goto fail;
    }
    if (data_path[0] && (pairdata_open(data_path, ck.m.cfg.condition, &ds, &err) ||
                         seqtask_check_fit_pairs(&ck.m.cfg, model_path, "--model", &ds, data_path, &err)))
        goto fail;
    const pair_vocab *sv = ck.src_vocab.size ? &ck.src_vocab : &ds.src, *tv = ck.tgt_vocab.size ? &ck.tgt_vocab : &ds.tgt;
    if (!tv->size || (!sv->size && ck.m.cfg.condition != COND_FEATURES)) {
        recur_fail(&err, RECUR_EXIT_USAGE, "%s has no vocabularies (/src_vocab, /tgt_vocab): pass --data PAIRS.h5 for them",
                   model_path);
        goto fail;
    }
    if (ck.m.cfg.end == END_LENGTH && !cli_find(tab, n, "max-len")->set) o.max_len = ck.m.cfg.max_len;
    if (input[0] && !data_path[0]) {
        if (read_sources(input, sv, &ck.m.cfg, &src, &src_len, &feat, &count, &err)) goto fail;
        int longest = 1;
        for (int i = 0; i < count; i++) longest = src_len[i] > longest ? src_len[i] : longest;
        const int B = batch < count ? batch : count;
        if (decoder_init(&d, &ck.m, B, longest, &o, &err)) goto fail;
        out = calloc((size_t)B, sizeof *out);
        out_len = calloc((size_t)B, sizeof *out_len);
        int32_t *buf = malloc((size_t)B * o.max_len * sizeof(int32_t));
        if (!out || !out_len || !buf) {
            free(buf);
            recur_fail(&err, RECUR_EXIT_FAIL, "out of memory");
            goto fail;
        }
        for (int i = 0; i < B; i++) out[i] = buf + (size_t)i * o.max_len;
        for (int first = 0; first < count; first += B) {
            const int k = count - first < B ? count - first : B;
            decoder_run(&d, k, (const int32_t *const *)src + first, src_len + first,
                        (const float *const *)feat + first, &o, out, out_len);
            for (int i = 0; i < k; i++) printf("%s\n", text_of(&rows, tv, out[i], out_len[i]));
        }
        free(buf);
        goto done;
    }
    const int which = seqtask_split_from_name(split);
    if (which < 0 || !ds.split[which].present || ds.split[which].n == 0) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--split: expected train, val or test present in %s, found '%s'", data_path,
                   split);
        goto fail;
    }
    const pair_split *sp = &ds.split[which];
    if (decoder_init(&d, &ck.m, batch, decode_longest_source(sp), &o, &err)) goto fail;
    rows.sp = sp, rows.src = sv, rows.tgt = tv, rows.F = sp->src_width;
    if (decode_split(&d, sp, batch, &o, write_row, &rows)) {
        recur_fail(&err, RECUR_EXIT_FAIL, "out of memory");
        goto fail;
    }
    goto done;
fail:
    rc = report_error("generate", &err);
done:
    if (fflush(stdout) && !rc) rc = report_error("generate", &(recur_err){RECUR_EXIT_OUTPUT, "stdout: write failed"});
    for (int i = 0; i < count; i++) free(src[i]), free(feat[i]);
    free(src);
    free(feat);
    free(src_len);
    free(out);
    free(out_len);
    free(rows.buf);
    decoder_free(&d);
    checkpoint_in_free(&ck);
    pairdata_free(&ds);
    return rc;
}
