/* recur data KIND INPUT OUT.h5 - build a dataset: a token dataset from a text
 * file (text), a sequence dataset (io/seqdata.h) from labelled sentences
 * (labeled-text), a CoNLL-U treebank (conllu), a time series (csv) or rows of
 * numbers (rows), a pair dataset (io/pairdata.h) from source<TAB>target
 * lines (pairs), or a tree dataset (io/treedata.h) from a treebank (conllu
 * --trees) or labelled sentences (labeled-text --trees balanced).  The parsing lives in io/import_*.c; here are the option
 * tables, the checks of their values and the summary each kind prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/dataset.h"
#include "../io/import_conllu.h"
#include "../io/import_csv.h"
#include "../io/import_pairs.h"
#include "../io/import_synth.h"
#include "../io/import_text.h"
#include "../io/import_trees.h"
#include "../io/seqdata.h"
#include "../io/treedata.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "suggest.h"

/* ---- shared pieces -------------------------------------------------------------- */

/* 1003854 -> "1,003,854". */
static void with_commas(size_t v, char *buf, size_t len) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
}

/* The positional arguments of `recur data KIND IN OUT`: pos[0] is KIND (the
 * first argument naming a kind, see cmd_data), then the input and the
 * output, each named when missing.  `in` is NULL for a kind that takes only
 * OUT.h5 (conllu --split-files). */
static int check_positionals(const char *kind, const char *in, const char *usage, char **pos, int npos,
                             recur_err *err) {
    int want = in ? 3 : 2;
    if (npos >= 1 && strcmp(pos[0], kind))
        return recur_fail(err, RECUR_EXIT_USAGE, "unexpected argument '%s' before %s: usage recur data %s %s", pos[0],
                          kind, kind, usage);
    if (npos < want)
        return recur_fail(err, RECUR_EXIT_USAGE, "missing %s%s%s: usage recur data %s %s", npos < 2 && in ? in : "",
                          npos < 2 && in ? " and " : "", "OUT.h5", kind, usage);
    if (npos > want)
        return recur_fail(err, RECUR_EXIT_USAGE, "unexpected argument '%s': usage recur data %s %s", pos[want], kind,
                          usage);
    return 0;
}

/* The fractions of a split: each in [0, 1), together below 1. */
static int check_fractions(double val, double test, recur_err *err) {
    if (val >= 1) return recur_fail(err, RECUR_EXIT_USAGE, "--val-fraction: expected a number in [0, 1), found %g", val);
    if (test >= 1) return recur_fail(err, RECUR_EXIT_USAGE, "--test-fraction: expected a number in [0, 1), found %g", test);
    if (val + test >= 1)
        return recur_fail(err, RECUR_EXIT_USAGE,
                          "--val-fraction %g and --test-fraction %g: expected a sum below 1 (the rest is the train split)",
                          val, test);
    return 0;
}

/* "recur data: wrote OUT (TASK): train 2,400 sequences (31,502 steps), val
 * 300 (3,900), test 300 (3,877); " then `what` (inputs, vocabulary, classes). */
static void print_summary(const char *path, const seq_dataset *ds, const char *what) {
    char line[2048];
    size_t used = (size_t)snprintf(line, sizeof line, "recur data: wrote %s (%s):", path, task_name(ds->task));
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const seq_split *sp = &ds->split[s];
        if (!sp->present || used >= sizeof line) continue;
        char n[32], steps[32];
        with_commas(sp->n, n, sizeof n);
        with_commas(sp->total, steps, sizeof steps);
        used += (size_t)snprintf(line + used, sizeof line - used, "%s %s %s %s%s steps)", s ? "," : "",
                                 SEQ_SPLIT_NAMES[s], n, s ? "(" : "sequences (", steps);
    }
    if (!ds->split[SPLIT_VAL].present && !ds->split[SPLIT_TEST].present && used < sizeof line)
        used += (size_t)snprintf(line + used, sizeof line - used, " (no val or test split)");
    fprintf(stderr, "%s; %s\n", line, what);
}

/* "12 train, 3 val, 4 test": st->unknown of the splits present, from `first`. */
static void unknown_counts(const int present[SPLIT_COUNT], const import_stats *st, int first, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    for (int s = first; s < SPLIT_COUNT && used < len; s++) {
        if (!present[s]) continue;
        char n[32];
        with_commas(st->unknown[s], n, sizeof n);
        used += (size_t)snprintf(buf + used, len - used, "%s%s %s", used ? ", " : "", n, SEQ_SPLIT_NAMES[s]);
    }
}

/* "vocabulary 1,891 words (<unk> + the train split's words seen at least 2
 * times; <unk> tokens: 12 train, 3 val)", or "vocabulary 91 bytes (the train
 * split's)" and, with val or test, how many of their bytes became 0x1A. */
static void describe_vocab(int vocab_size, const int present[SPLIT_COUNT], const import_stats *st, const char *word,
                           char *buf, size_t len) {
    char V[32], unk[256];
    with_commas((size_t)vocab_size, V, sizeof V);
    unknown_counts(present, st, st->chars ? SPLIT_VAL : SPLIT_TRAIN, unk, sizeof unk);
    if (st->chars)
        snprintf(buf, len, "vocabulary %s bytes (the train split's)%s%s", V, unk[0] ? "; val/test bytes outside it, now 0x1A: " : "", unk);
    else
        snprintf(buf, len, "vocabulary %s %ss (<unk> + the train split's %ss seen at least %ld time%s; <unk> tokens: %s)",
                 V, word, word, st->min_count, st->min_count == 1 ? "" : "s", unk);
}

static void seq_present(const seq_dataset *ds, int present[SPLIT_COUNT]) {
    for (int s = 0; s < SPLIT_COUNT; s++) present[s] = ds->split[s].present;
}

/* Writes the dataset an importer built (atomically: nothing at `out` on
 * error), prints the summary ending in `what`, frees the dataset. */
static int write_and_report(const char *out, seq_dataset *ds, const char *what, recur_err *err) {
    int rc = seqdata_write(out, ds, err);
    if (!rc) print_summary(out, ds, what);
    seqdata_free(ds);
    return rc;
}

/* "recur data: wrote OUT (trees): train 1,602 trees (25,148 nodes, depth mean
 * 5.1 / max 17), val ...; " then `what`.  Checks the trees and finds their
 * roots (treedata_roots), writes atomically, frees the dataset. */
static int write_trees_and_report(const char *out, tree_dataset *ds, const char *what, recur_err *err) {
    int rc = treedata_roots(ds, out, RECUR_EXIT_FAIL, err) || treedata_write(out, ds, err) ? -1 : 0;
    char line[2048];
    size_t used = (size_t)snprintf(line, sizeof line, "recur data: wrote %s (trees):", out);
    for (int s = 0; !rc && s < SPLIT_COUNT; s++) {
        const tree_split *t = &ds->split[s];
        if (!t->present || used >= sizeof line) continue;
        size_t biggest = 0, sum = 0, max = 0;
        for (size_t i = 0; i < t->n; i++)
            if (tree_size(t, i) > biggest) biggest = tree_size(t, i);
        int32_t *order = malloc(biggest * sizeof *order);
        if (!order) {
            rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
            break;
        }
        for (size_t i = 0; i < t->n; i++) {
            size_t d = tree_bfs(t, i, order, NULL);
            sum += d;
            if (d > max) max = d;
        }
        free(order);
        char n[32], nodes[32];
        with_commas(t->n, n, sizeof n);
        with_commas(t->nodes, nodes, sizeof nodes);
        used += (size_t)snprintf(line + used, sizeof line - used, "%s %s %s %s%s nodes, depth mean %.1f / max %zu)",
                                 s ? "," : "", SEQ_SPLIT_NAMES[s], n, s ? "(" : "trees (", nodes,
                                 (double)sum / (double)t->n, max);
    }
    if (!rc && !ds->split[SPLIT_VAL].present && !ds->split[SPLIT_TEST].present && used < sizeof line)
        used += (size_t)snprintf(line + used, sizeof line - used, " (no val or test split)");
    if (!rc) fprintf(stderr, "%s; %s\n", line, what);
    treedata_free(ds);
    return rc;
}

/* ---- text ----------------------------------------------------------------------- */

#define TEXT_USAGE "TEXT OUT.h5 [--vocab distinct|bytes] [--val-fraction F]"
#define TEXT_SYNOPSIS TEXT_USAGE "\n\n" \
    "Byte-level tokens.  The vocabulary is the distinct bytes of the file in increasing order\n" \
    "(--vocab bytes: all 256).  --val-fraction F puts the last F of the text in /val_tokens.\n" \
    "On success prints what it wrote: token counts of the split and the vocabulary size."

/* "wrote corpus.h5: 1,003,854 train + 111,539 val tokens, vocabulary 65 (distinct bytes)" */
static int print_text_summary(const char *path, int all_bytes, recur_err *err) {
    token_dataset_info info = {0};
    if (dataset_probe(path, &info, err)) return -1;
    char train[32], val[32];
    with_commas(info.n, train, sizeof train);
    with_commas(info.n_val, val, sizeof val);
    if (info.n_val)
        fprintf(stderr, "recur data: wrote %s: %s train + %s val tokens, vocabulary %d (%s)\n", path, train, val,
                info.vocab_size, all_bytes ? "all bytes" : "distinct bytes");
    else
        fprintf(stderr, "recur data: wrote %s: %s train tokens (no validation split), vocabulary %d (%s)\n", path, train,
                info.vocab_size, all_bytes ? "all bytes" : "distinct bytes");
    dataset_info_free(&info);
    return 0;
}

static int data_text(int argc, char **argv) {
    char vocab[CLI_STR] = "distinct";
    double val_fraction = 0;
    opt_spec tab[] = {
        {"vocab", OPT_STR, vocab, "KIND", "distinct (bytes present) or bytes (all 256)", 0, 0, 0},
        {"val-fraction", OPT_DOUBLE, &val_fraction, "F", "fraction of the text, from the end, held out for validation", 0, 1, 0},
    };
    recur_err err = {0};
    char *pos[3];
    int npos, rc = cli_parse("data text", TEXT_SYNOPSIS, tab, 2, argc, argv, pos, 3, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("data", &err);
    if (npos == 0) {
        /* `recur data` alone: the classic kind's usage, and where the others are. */
        recur_fail(&err, RECUR_EXIT_USAGE,
                   "missing TEXT and OUT.h5: usage recur data text " TEXT_USAGE
                   " (other kinds: labeled-text, conllu, csv, rows, pairs; recur data --help)");
        return report_error("data", &err);
    }
    if (check_positionals("text", "TEXT", TEXT_USAGE, pos, npos, &err)) return report_error("data", &err);
    if (strcmp(vocab, "distinct") && strcmp(vocab, "bytes")) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--vocab: expected distinct or bytes, found '%s'", vocab);
        return report_error("data", &err);
    }
    if (val_fraction >= 1) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--val-fraction: expected a number in [0, 1), found %g", val_fraction);
        return report_error("data", &err);
    }
    int all_bytes = !strcmp(vocab, "bytes");
    if (check_output_path(pos[2], "output", &err) ||
        dataset_build_from_text(pos[1], pos[2], all_bytes, val_fraction, &err) ||
        print_text_summary(pos[2], all_bytes, &err))
        return report_error("data", &err);
    return 0;
}

/* ---- labeled-text ----------------------------------------------------------------- */

#define SPLIT_HELP                                                                                            \
    "The split is shuffled from --seed: floor(F*n) sequences each for val and test, the rest train, input\n" \
    "order kept within each split (same input and flags: the same file, byte for byte)."

#define LT_USAGE "FILE.tsv OUT.h5 [--tokens chars|words] [--min-count N] [--val-fraction F] [--test-fraction F] [--seed N] " \
    "[--trees balanced]"
#define LT_SYNOPSIS LT_USAGE "\n\n" \
    "A classify dataset from lines 'sentence<TAB>label' (LF or CRLF line ends, blank lines skipped).  The\n" \
    "label is what follows the last tab; spaces and tabs around sentence and label are dropped; an empty\n" \
    "sentence or label, or a line without a tab, is an error naming the line.  Labels get ids in sorted\n" \
    "order (numerically when all are integers), stored in /label_names.\n" \
    "--tokens chars: a token per byte.  The vocabulary (/vocab) is the train split's distinct bytes; a byte\n" \
    "found only in val or test becomes 0x1A (ASCII SUB), which then joins the vocabulary.\n" \
    "--tokens words: a word is a maximal run of characters that are not separators, ASCII A-Z lower-cased\n" \
    "(other letters kept as written).  Separators: ASCII whitespace and control characters, ASCII\n" \
    "punctuation !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~, U+0080-U+00BF (NEL, no-break space, Latin-1\n" \
    "punctuation such as << >> and inverted ! ?) and U+2000-U+206F (general punctuation: dashes, curly\n" \
    "quotes, ellipsis, special spaces).  So \"Don't stop!\" is don, t, stop.  The text must be UTF-8.  The\n" \
    "vocabulary (/vocab_words) is <unk> (id 0), then the words seen at least --min-count times in the\n" \
    "train split, sorted by bytes; every other word is <unk>.  A sentence without a word is an error.\n" \
    "--trees balanced: a tree dataset (format recur-trees) instead: a balanced binary tree over each\n" \
    "sentence's tokens (the leaves, in order; internal nodes without a token, each over the left ceil(L/2)\n" \
    "and the right floor(L/2) leaves of its span: depth ceil(log2 tokens)), the label as root label.\n" \
    SPLIT_HELP "\nPrints what it wrote: sequences (trees) and steps (nodes) per split, vocabulary, classes."

static int data_labeled_text(int argc, char **argv) {
    char tokens[CLI_STR] = "chars", trees[CLI_STR] = "";
    long min_count = 1, seed = 1;
    double val = 0, test = 0;
    opt_spec tab[] = {
        {"tokens", OPT_STR, tokens, "KIND", "chars (a token per byte) or words (see above)", 0, 0, 0},
        {"min-count", OPT_LONG, &min_count, "N", "words: fewer occurrences in the train split map to <unk>", 1, 0, 0},
        {"val-fraction", OPT_DOUBLE, &val, "F", "fraction of the sentences held out for validation", 0, 1, 0},
        {"test-fraction", OPT_DOUBLE, &test, "F", "fraction of the sentences held out for testing", 0, 1, 0},
        {"seed", OPT_LONG, &seed, "N", "seed of the shuffled split", 0, 1, 0},
        {"trees", OPT_STR, trees, "KIND", "balanced: a tree dataset of balanced binary trees (see above)", 0, 0, 0},
    };
    const int ntab = (int)(sizeof tab / sizeof tab[0]);
    recur_err err = {0};
    char *pos[3];
    int npos, rc = cli_parse("data labeled-text", LT_SYNOPSIS, tab, ntab, argc, argv, pos, 3, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("data", &err);
    if (check_positionals("labeled-text", "FILE.tsv", LT_USAGE, pos, npos, &err) || check_fractions(val, test, &err))
        return report_error("data", &err);
    int words = !strcmp(tokens, "words");
    if (!words && strcmp(tokens, "chars"))
        recur_fail(&err, RECUR_EXIT_USAGE, "--tokens: expected chars or words, found '%s'", tokens);
    else if (!words && cli_find(tab, ntab, "min-count")->set)
        recur_fail(&err, RECUR_EXIT_USAGE, "--min-count: applies to --tokens words only (chars keep every train byte)");
    else if (cli_find(tab, ntab, "trees")->set && strcmp(trees, "balanced"))
        recur_fail(&err, RECUR_EXIT_USAGE, "--trees: expected balanced, found '%s'", trees);
    if (err.code || check_output_path(pos[2], "output", &err)) return report_error("data", &err);

    labeled_text_options o = {pos[1], words, min_count, val, test, (uint64_t)seed};
    seq_dataset ds;
    import_stats st;
    if (import_labeled_text(&o, &ds, &st, &err)) return report_error("data", &err);
    char vocab[512], what[700];
    int present[SPLIT_COUNT];
    seq_present(&ds, present);
    describe_vocab(ds.vocab_size, present, &st, "word", vocab, sizeof vocab);
    snprintf(what, sizeof what, "%s; %d classes", vocab, ds.num_classes);
    if (!trees[0]) return write_and_report(pos[2], &ds, what, &err) ? report_error("data", &err) : 0;
    tree_dataset td;
    rc = import_trees_balanced(&ds, &td, &err);
    seqdata_free(&ds);
    if (!rc) {
        strncat(what, " (root labels); balanced binary trees", sizeof what - strlen(what) - 1);
        rc = write_trees_and_report(pos[2], &td, what, &err);
    }
    return rc ? report_error("data", &err) : 0;
}

/* ---- conllu --------------------------------------------------------------------- */

#define CONLLU_USAGE \
    "(FILE.conllu OUT.h5 | OUT.h5 --split-files TRAIN.conllu,VAL.conllu,TEST.conllu) [--column upos|xpos|deprel] " \
    "[--min-count N] [--val-fraction F] [--test-fraction F] [--seed N] " \
    "[--trees [--node-label upos|xpos|deprel] [--root-label genre]]"
#define CONLLU_SYNOPSIS CONLLU_USAGE "\n\n" \
    "A tag dataset from CoNLL-U: a sequence per sentence (sentences end at blank lines), a step per word\n" \
    "line; the token is the word's FORM (as written), its label the --column (as written: nmod:poss is one\n" \
    "tag).  Word lines have 10 tab-separated columns; '#' comment lines, multiword tokens (ID 3-4) and\n" \
    "empty nodes (ID 8.1) are skipped.  Tags get ids in sorted order (/label_names).  The vocabulary\n" \
    "(/vocab_words) is <unk> (id 0), then the forms seen at least --min-count times in the train split,\n" \
    "sorted by bytes; every other form is <unk>.\n" \
    "--split-files TRAIN,VAL,TEST takes each split from its own file (VAL or TEST may be empty or left\n" \
    "out: a.conllu,,b.conllu); otherwise the sentences of FILE.conllu are split:\n" \
    SPLIT_HELP "\n" \
    "--trees: a tree dataset (format recur-trees) instead, a dependency tree per sentence: a node per\n" \
    "word (its FORM the token; IDs must count 1, 2, ...), its children the words whose HEAD it is, the\n" \
    "word with HEAD 0 the root.  A HEAD outside the sentence, two roots, none or a cycle is an error\n" \
    "naming the line.  --node-label upos|xpos|deprel labels every node with that column; --root-label\n" \
    "genre labels each tree with the genre of its '# sent_id = ' comment (the id up to its first '-':\n" \
    "weblog, email, ...; required before every sentence).  At least one of the two.\n" \
    "Prints what it wrote: sequences (trees) and steps (nodes) per split, vocabulary, tags."

/* "a.conllu,,b.conllu" into paths[TRAIN..TEST] (NULL when empty); copy holds the text. */
static int parse_split_files(char *copy, const char *paths[SPLIT_COUNT], recur_err *err) {
    char *p = copy;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        char *comma = p ? strchr(p, ',') : NULL;
        if (comma) *comma = 0;
        paths[s] = p && *p ? p : NULL;
        p = comma ? comma + 1 : NULL;
    }
    if (p)
        return recur_fail(err, RECUR_EXIT_USAGE, "--split-files: expected at most 3 files TRAIN,VAL,TEST, found more");
    if (!paths[SPLIT_TRAIN])
        return recur_fail(err, RECUR_EXIT_USAGE, "--split-files: expected the train file first (TRAIN,VAL,TEST), found none");
    return 0;
}

/* `recur data conllu --trees`: import, describe, write. */
static int conllu_trees(const conllu_options *o, const char *node_label, const char *out) {
    recur_err err = {0};
    tree_dataset ds;
    import_stats st;
    if (import_conllu_trees(o, &ds, &st, &err)) return report_error("data", &err);
    int present[SPLIT_COUNT];
    for (int s = 0; s < SPLIT_COUNT; s++) present[s] = ds.split[s].present;
    char vocab[512], labels[256] = "", what[900];
    describe_vocab(ds.vocab_size, present, &st, "form", vocab, sizeof vocab);
    if (o->column >= 0) snprintf(labels, sizeof labels, "; %d %.8s node labels", ds.num_node_classes, node_label);
    if (o->root_genre) {
        size_t used = strlen(labels);
        used += (size_t)snprintf(labels + used, sizeof labels - used, "; %d genres as root labels:", ds.num_root_classes);
        for (int c = 0; c < ds.num_root_classes && used < sizeof labels; c++)
            used += (size_t)snprintf(labels + used, sizeof labels - used, "%s %.20s", c ? "," : "",
                                     ds.root_label_names[c]);
    }
    snprintf(what, sizeof what, "%s%s", vocab, labels);
    return write_trees_and_report(out, &ds, what, &err) ? report_error("data", &err) : 0;
}

static int data_conllu(int argc, char **argv) {
    char column[CLI_STR] = "upos", split_files[CLI_STR] = "", node_label[CLI_STR] = "", root_label[CLI_STR] = "";
    int trees = 0;
    long min_count = 1, seed = 1;
    double val = 0, test = 0;
    opt_spec tab[] = {
        {"column", OPT_STR, column, "NAME", "the tag: upos, xpos or deprel", 0, 0, 0},
        {"split-files", OPT_STR, split_files, "T,V,TE", "train, val and test from these files (val, test may be empty)", 0, 0, 0},
        {"min-count", OPT_LONG, &min_count, "N", "forms seen fewer times in the train split map to <unk>", 1, 0, 0},
        {"val-fraction", OPT_DOUBLE, &val, "F", "without --split-files: fraction of the sentences for validation", 0, 1, 0},
        {"test-fraction", OPT_DOUBLE, &test, "F", "without --split-files: fraction of the sentences for testing", 0, 1, 0},
        {"seed", OPT_LONG, &seed, "N", "without --split-files: seed of the shuffled split", 0, 1, 0},
        {"trees", OPT_FLAG, &trees, NULL, "a tree dataset of dependency trees (see above)", 0, 0, 0},
        {"node-label", OPT_STR, node_label, "NAME", "--trees: every node's label, upos, xpos or deprel", 0, 0, 0},
        {"root-label", OPT_STR, root_label, "genre", "--trees: each tree's label, the genre of its sent_id", 0, 0, 0},
    };
    const int ntab = (int)(sizeof tab / sizeof tab[0]);
    recur_err err = {0};
    char *pos[3];
    int npos, rc = cli_parse("data conllu", CONLLU_SYNOPSIS, tab, ntab, argc, argv, pos, 3, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("data", &err);
    int from_files = cli_find(tab, ntab, "split-files")->set;
    conllu_options o = {0};
    o.column = conllu_column_index(column);
    o.min_count = min_count;
    if (check_positionals("conllu", from_files ? NULL : "FILE.conllu", CONLLU_USAGE, pos, npos, &err))
        return report_error("data", &err);
    if (o.column < 0) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--column: expected upos, xpos or deprel, found '%s'", column);
        return report_error("data", &err);
    }
    o.trees = trees;
    if (!trees && (node_label[0] || root_label[0]))
        recur_fail(&err, RECUR_EXIT_USAGE, "--%s: applies to --trees only", node_label[0] ? "node-label" : "root-label");
    else if (trees && cli_find(tab, ntab, "column")->set)
        recur_fail(&err, RECUR_EXIT_USAGE, "--column: the tag of a tag dataset; with --trees, --node-label names it");
    else if (trees && !node_label[0] && !root_label[0])
        recur_fail(&err, RECUR_EXIT_USAGE, "--trees: expected --node-label upos|xpos|deprel, --root-label genre or both");
    else if (node_label[0] && conllu_column_index(node_label) < 0)
        recur_fail(&err, RECUR_EXIT_USAGE, "--node-label: expected upos, xpos or deprel, found '%s'", node_label);
    else if (root_label[0] && strcmp(root_label, "genre"))
        recur_fail(&err, RECUR_EXIT_USAGE, "--root-label: expected genre, found '%s'", root_label);
    if (err.code) return report_error("data", &err);
    if (trees) {
        o.column = node_label[0] ? conllu_column_index(node_label) : -1;
        o.root_genre = root_label[0] != 0;
    }
    if (from_files) {
        static const char *const split_flags[] = {"val-fraction", "test-fraction", "seed"};
        for (int i = 0; i < 3 && !err.code; i++)
            if (cli_find(tab, ntab, split_flags[i])->set)
                recur_fail(&err, RECUR_EXIT_USAGE, "--%s: the splits come from --split-files; leave it out",
                           split_flags[i]);
        if (err.code || parse_split_files(split_files, o.split_path, &err)) return report_error("data", &err);
    } else {
        o.path = pos[1];
        o.val_fraction = val;
        o.test_fraction = test;
        o.seed = (uint64_t)seed;
        if (check_fractions(val, test, &err)) return report_error("data", &err);
    }
    const char *out = pos[npos - 1];
    if (check_output_path(out, "output", &err)) return report_error("data", &err);
    seq_dataset ds;
    import_stats st;
    if (trees) return conllu_trees(&o, node_label, out);
    if (import_conllu(&o, &ds, &st, &err)) return report_error("data", &err);
    char vocab[512], what[700];
    int present[SPLIT_COUNT];
    seq_present(&ds, present);
    describe_vocab(ds.vocab_size, present, &st, "form", vocab, sizeof vocab);
    snprintf(what, sizeof what, "%s; %d %.8s tags", vocab, ds.num_classes, column); /* column: upos, xpos or deprel */
    return write_and_report(out, &ds, what, &err) ? report_error("data", &err) : 0;
}

/* ---- csv ------------------------------------------------------------------------ */

#define NORM_HELP \
    "Features and targets are stored standardised with the mean and std of the train split's values as\n" \
    "stored (/norm/*; a column constant on train gets std 1): a value x is (x - mean) / std."

#define CSV_USAGE "FILE.csv OUT.h5 --columns A,B --target C --window W [--horizon H] [--target-per-step] [--difference] [--relative-inputs] [--log] [--val-fraction F] [--test-fraction F]"
#define CSV_SYNOPSIS CSV_USAGE "\n\n" \
    "A regress dataset from a time series: one row per time step, a header row with the column names\n" \
    "(RFC 4180: quoted fields, CRLF; blank lines skipped).  Columns are named by header name or by number\n" \
    "from 1; the chosen ones must hold finite numbers (a missing value or text is an error naming\n" \
    "line:column).  Window i holds rows i..i+W-1 of the --columns as W steps; its target is each --target\n" \
    "column H rows after the window's last row (seq_targets [n, K]), or with --target-per-step H rows after\n" \
    "each step (targets).  n = rows - W - H + 1 windows.  --difference: targets are the change from the\n" \
    "target column's value at the window's last row, stored per window as seq_base (original units): a\n" \
    "prediction p becomes p * target_std + target_mean + seq_base in original units.  --relative-inputs:\n" \
    "each feature is stored as its change from its value at the window's last row (the model sees the\n" \
    "window's shape, not its level: for series that leave the train split's range).  --log: every chosen\n" \
    "column is replaced by its natural log first (values must be above 0; target_transform=\"log\"): a\n" \
    "series growing by a factor becomes one growing by a step; recur reports exp(...) in original units.\n" \
    "Splits are chronological: the last floor(F*n) windows are test, the floor(F*n) before them val.\n" \
    NORM_HELP "\nPrints what it wrote: sequences and steps per split, F, K."

static int data_csv(int argc, char **argv) {
    char columns[CLI_STR] = "", target[CLI_STR] = "";
    long window = 0, horizon = 1;
    int per_step = 0, difference = 0, take_log = 0, relative = 0;
    double val = 0, test = 0;
    opt_spec tab[] = {
        {"columns", OPT_STR, columns, "A,B", "the feature columns of each step (required)", 0, 0, 0},
        {"target", OPT_STR, target, "C", "the target columns, one or more (required)", 0, 0, 0},
        {"window", OPT_LONG, &window, "W", "steps per sequence (default: none, required)", 1, 0, 0},
        {"horizon", OPT_LONG, &horizon, "H", "rows between a step and its target", 0, 1, 0},
        {"target-per-step", OPT_FLAG, &per_step, NULL, "a target per step instead of one per window", 0, 0, 0},
        {"difference", OPT_FLAG, &difference, NULL, "targets are changes from the window's last value (seq_base)", 0, 0, 0},
        {"relative-inputs", OPT_FLAG, &relative, NULL, "features as changes from the window's last row", 0, 0, 0},
        {"log", OPT_FLAG, &take_log, NULL, "natural log of every chosen column first (values > 0)", 0, 0, 0},
        {"val-fraction", OPT_DOUBLE, &val, "F", "fraction of the windows, before the test ones, for validation", 0, 1, 0},
        {"test-fraction", OPT_DOUBLE, &test, "F", "fraction of the windows, the last ones, for testing", 0, 1, 0},
    };
    const int ntab = (int)(sizeof tab / sizeof tab[0]);
    recur_err err = {0};
    char *pos[3];
    int npos, rc = cli_parse("data csv", CSV_SYNOPSIS, tab, ntab, argc, argv, pos, 3, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("data", &err);
    if (check_positionals("csv", "FILE.csv", CSV_USAGE, pos, npos, &err) || check_fractions(val, test, &err))
        return report_error("data", &err);
    static const char *const required[] = {"columns", "target", "window"};
    for (int i = 0; i < 3 && !err.code; i++)
        if (!cli_find(tab, ntab, required[i])->set)
            recur_fail(&err, RECUR_EXIT_USAGE, "--%s: required (usage recur data csv " CSV_USAGE ")", required[i]);
    if (err.code || check_output_path(pos[2], "output", &err)) return report_error("data", &err);

    csv_options o = {.path = pos[1], .columns = columns, .target = target, .window = window, .horizon = horizon,
                     .per_step = per_step, .difference = difference, .relative = relative, .log = take_log, .val_fraction = val,
                     .test_fraction = test};
    seq_dataset ds;
    import_stats st;
    if (import_csv_series(&o, &ds, &st, &err)) return report_error("data", &err);
    char what[512];
    snprintf(what, sizeof what,
             "F = %d feature%s per step, window %ld, horizon %ld; K = %d target%s per %s%s; standardised with the "
             "train split's mean and std (/norm)",
             ds.input_size, ds.input_size == 1 ? "" : "s", window, horizon, ds.output_size,
             ds.output_size == 1 ? "" : "s", per_step ? "step" : "sequence",
             difference ? " as changes from the window's last value (seq_base)" : "");
    if (relative) strncat(what, "; features relative to the window's last row", sizeof what - strlen(what) - 1);
    if (take_log) strncat(what, "; logs of the values (target_transform=log)", sizeof what - strlen(what) - 1);
    return write_and_report(pos[2], &ds, what, &err) ? report_error("data", &err) : 0;
}

/* ---- rows ----------------------------------------------------------------------- */

#define ROWS_USAGE "FILE.csv OUT.h5 --rows R --label-column C [--val-fraction F] [--test-fraction F] [--seed N]"
#define ROWS_SYNOPSIS ROWS_USAGE "\n\n" \
    "A classify dataset from a CSV file of one sequence per row: the row's numbers in column order, the\n" \
    "label column left out, read as R steps of F features (R*F numbers; an 8x8 image stored row-major is 8\n" \
    "steps of its 8 pixel rows).  --label-column is a column number from 1 or a header name; the first\n" \
    "row is a header when it holds that name or a field (other than the label) that is not a number.\n" \
    "Labels are any text, ids in sorted order (numerically when all are integers), in /label_names.\n" \
    SPLIT_HELP "\n" NORM_HELP "\nPrints what it wrote: sequences and steps per split, F, classes."

static int data_rows(int argc, char **argv) {
    char label[CLI_STR] = "";
    long rows = 0, seed = 1;
    double val = 0, test = 0;
    opt_spec tab[] = {
        {"rows", OPT_LONG, &rows, "R", "steps per sequence: each row holds R*F numbers (default: none, required)", 1, 0, 0},
        {"label-column", OPT_STR, label, "C", "the label's column: a number from 1 or a header name (required)", 0, 0, 0},
        {"val-fraction", OPT_DOUBLE, &val, "F", "fraction of the rows held out for validation", 0, 1, 0},
        {"test-fraction", OPT_DOUBLE, &test, "F", "fraction of the rows held out for testing", 0, 1, 0},
        {"seed", OPT_LONG, &seed, "N", "seed of the shuffled split", 0, 1, 0},
    };
    const int ntab = (int)(sizeof tab / sizeof tab[0]);
    recur_err err = {0};
    char *pos[3];
    int npos, rc = cli_parse("data rows", ROWS_SYNOPSIS, tab, ntab, argc, argv, pos, 3, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("data", &err);
    if (check_positionals("rows", "FILE.csv", ROWS_USAGE, pos, npos, &err) || check_fractions(val, test, &err))
        return report_error("data", &err);
    static const char *const required[] = {"rows", "label-column"};
    for (int i = 0; i < 2 && !err.code; i++)
        if (!cli_find(tab, ntab, required[i])->set)
            recur_fail(&err, RECUR_EXIT_USAGE, "--%s: required (usage recur data rows " ROWS_USAGE ")", required[i]);
    if (err.code || check_output_path(pos[2], "output", &err)) return report_error("data", &err);

    rows_options o = {pos[1], rows, label, val, test, (uint64_t)seed};
    seq_dataset ds;
    import_stats st;
    if (import_csv_rows(&o, &ds, &st, &err)) return report_error("data", &err);
    char what[512];
    snprintf(what, sizeof what, "%ld steps of F = %d features; %d classes; features standardised with the train split's "
             "mean and std (/norm)", rows, ds.input_size, ds.num_classes);
    return write_and_report(pos[2], &ds, what, &err) ? report_error("data", &err) : 0;
}

/* ---- synth ---------------------------------------------------------------------- */

#define SYNTH_USAGE "adding|copy OUT.h5 --length T --count N [--val-fraction F] [--test-fraction F] [--seed N]"
#define SYNTH_SYNOPSIS SYNTH_USAGE "\n\n" \
    "The long-term-dependency benchmarks of reference §11 as sequence datasets, unnormalised.\n" \
    "adding (regress): T steps of 2 features, a value from U[0,1) and a marker; one step of each half\n" \
    "is marked; the target (one per sequence) is the sum of the two marked values.  Always predicting\n" \
    "1 scores MSE 1/6.\n" \
    "copy (tag): T + 20 steps over '_abcdefgh:': 10 symbols from a-h, T - 1 blanks, ':', 10 blanks;\n" \
    "every step's label is '_' except the last 10, which repeat the 10 symbols.  Guessing blanks, then\n" \
    "uniformly, costs 10 ln 8 / (T + 20) nats per step.\n" \
    "The draws and the shuffled split come from --seed (default 1): the same flags, the same file."

static int data_synth(int argc, char **argv) {
    long length = 0, count = 0, seed = 1;
    double val = 0, test = 0;
    opt_spec tab[] = {
        {"length", OPT_LONG, &length, "T", "steps between what matters (adding: the sequence; copy: T + 20 steps)", 1, 0, 0},
        {"count", OPT_LONG, &count, "N", "sequences (required)", 1, 0, 0},
        {"val-fraction", OPT_DOUBLE, &val, "F", "fraction of the sequences held out for validation", 0, 1, 0},
        {"test-fraction", OPT_DOUBLE, &test, "F", "fraction of the sequences held out for testing", 0, 1, 0},
        {"seed", OPT_LONG, &seed, "N", "seed of the draws and of the split", 0, 1, 0},
    };
    const int ntab = (int)(sizeof tab / sizeof tab[0]);
    recur_err err = {0};
    char *pos[3];
    int npos, rc = cli_parse("data synth", SYNTH_SYNOPSIS, tab, ntab, argc, argv, pos, 3, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("data", &err);
    if (check_positionals("synth", "adding|copy", SYNTH_USAGE, pos, npos, &err) || check_fractions(val, test, &err))
        return report_error("data", &err);
    synth_options o = {.length = length, .count = count, .val_fraction = val, .test_fraction = test,
                       .seed = (uint64_t)seed};
    if (synth_from_name(pos[1], &o.kind))
        recur_fail(&err, RECUR_EXIT_USAGE, "expected adding or copy, found '%s': usage recur data synth " SYNTH_USAGE,
                   pos[1]);
    static const char *const required[] = {"length", "count"};
    for (int i = 0; i < 2 && !err.code; i++)
        if (!cli_find(tab, ntab, required[i])->set)
            recur_fail(&err, RECUR_EXIT_USAGE, "--%s: required (usage recur data synth " SYNTH_USAGE ")", required[i]);
    if (err.code || check_output_path(pos[2], "output", &err)) return report_error("data", &err);
    seq_dataset ds;
    if (import_synth(&o, &ds, &err)) return report_error("data", &err);
    char what[256];
    if (o.kind == SYNTH_ADDING)
        snprintf(what, sizeof what, "the adding problem, T = %ld: 2 features per step, the sum of the two marked "
                 "values per sequence (unnormalised)", length);
    else
        snprintf(what, sizeof what, "the copy task, T = %ld: %ld steps per sequence, 10 symbols", length, length + 20);
    return write_and_report(pos[2], &ds, what, &err) ? report_error("data", &err) : 0;
}

/* ---- pairs ---------------------------------------------------------------------- */

#define PAIRS_USAGE "FILE.tsv OUT.h5 [--tokens chars|words] [--src-tokens chars|words] [--tgt-tokens chars|words] " \
    "[--shared-vocab] [--val-fraction F] [--test-fraction F] [--seed N] [--group-sources]"
#define PAIRS_SYNOPSIS PAIRS_USAGE "\n\n" \
    "A pair dataset (format recur-pairs) for sequence-to-sequence models from lines 'source<TAB>target' (LF or\n" \
    "CRLF line ends).  Blank lines (only spaces) are skipped; every other line holds exactly one tab; spaces\n" \
    "around source and target are dropped.  A line without a tab or with two, an empty source or target,\n" \
    "bytes that are not UTF-8 or a NUL byte are an error naming the line.\n" \
    "--tokens sets both sides (default chars), --src-tokens and --tgt-tokens one side: chars is a token per\n" \
    "byte; words splits on ASCII whitespace and keeps each word as written (no case folding; punctuation is\n" \
    "part of a word), as generation splits its input.  The vocabularies (/src_vocab, /tgt_vocab: uint8 for\n" \
    "chars, strings for words) are built from ALL splits, so a generator can encode every test source:\n" \
    "characters in byte order, words in order of first appearance.  --shared-vocab: one vocabulary of both\n" \
    "sides' symbols (the same token kind on both sides), stored as both, with shared_vocab=1.\n" \
    SPLIT_HELP "\n" \
    "--group-sources: the split is drawn over the distinct source texts instead (the fractions count\n" \
    "sources) and every pair goes with its source: one word's several pronunciations never straddle train\n" \
    "and test.\nPrints what it wrote: pairs and tokens per split, the vocabularies."

/* "--src-tokens" etc.: chars -> 0, words -> 1, else -1 with err. */
static int token_kind(const char *flag, const char *value, recur_err *err) {
    if (!strcmp(value, "chars")) return 0;
    if (!strcmp(value, "words")) return 1;
    return recur_fail(err, RECUR_EXIT_USAGE, "--%s: expected chars or words, found '%s'", flag, value);
}

/* "source vocabulary 28 characters" / "vocabulary 98 characters shared by source and target". */
static void describe_pair_vocabs(const pair_dataset *ds, char *buf, size_t len) {
    char vs[32], vt[32];
    with_commas((size_t)ds->src.size, vs, sizeof vs);
    with_commas((size_t)ds->tgt.size, vt, sizeof vt);
    if (ds->shared)
        snprintf(buf, len, "vocabulary %s %s shared by source and target (built from all splits)", vs,
                 ds->src.words ? "words" : "characters");
    else
        snprintf(buf, len, "source vocabulary %s %s, target vocabulary %s %s (built from all splits)", vs,
                 ds->src.words ? "words" : "characters", vt, ds->tgt.words ? "words" : "characters");
}

/* "recur data: wrote OUT (pairs): train 900 pairs (5,400 source + 4,300
 * target tokens), val 50 (300 + 250); " then the vocabularies and the grouping. */
static void print_pairs_summary(const char *path, const pair_dataset *ds, const pairs_stats *st) {
    char line[2048];
    size_t used = (size_t)snprintf(line, sizeof line, "recur data: wrote %s (pairs):", path);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const pair_split *sp = &ds->split[s];
        if (!sp->present || used >= sizeof line) continue;
        char n[32], a[32], b[32];
        with_commas(sp->n, n, sizeof n);
        with_commas(sp->src_total, a, sizeof a);
        with_commas(sp->tgt_total, b, sizeof b);
        used += (size_t)snprintf(line + used, sizeof line - used, "%s %s %s %s%s + %s%s)", s ? "," : "",
                                 SEQ_SPLIT_NAMES[s], n, s ? "(" : "pairs (", a, b, s ? "" : " source + target tokens");
    }
    if (!ds->split[SPLIT_VAL].present && !ds->split[SPLIT_TEST].present && used < sizeof line)
        used += (size_t)snprintf(line + used, sizeof line - used, " (no val or test split)");
    char vocab[512], group[160] = "";
    describe_pair_vocabs(ds, vocab, sizeof vocab);
    if (st->sources) {
        char n[32], r[32];
        with_commas(st->sources, n, sizeof n);
        with_commas(st->repeated, r, sizeof r);
        snprintf(group, sizeof group, "; split by source: %s distinct sources, %s with more than one target", n, r);
    }
    fprintf(stderr, "%s; %s%s\n", line, vocab, group);
}

static int data_pairs(int argc, char **argv) {
    char tokens[CLI_STR] = "chars", src_tokens[CLI_STR] = "", tgt_tokens[CLI_STR] = "";
    int shared = 0, group_sources = 0;
    long seed = 1;
    double val = 0, test = 0;
    opt_spec tab[] = {
        {"tokens", OPT_STR, tokens, "KIND", "chars (a token per byte) or words (split on whitespace), both sides", 0, 0, 0},
        {"src-tokens", OPT_STR, src_tokens, "KIND", "chars or words for the sources (default: --tokens)", 0, 0, 0},
        {"tgt-tokens", OPT_STR, tgt_tokens, "KIND", "chars or words for the targets (default: --tokens)", 0, 0, 0},
        {"shared-vocab", OPT_FLAG, &shared, NULL, "one vocabulary for sources and targets", 0, 0, 0},
        {"val-fraction", OPT_DOUBLE, &val, "F", "fraction of the pairs (with --group-sources: sources) for validation", 0, 1, 0},
        {"test-fraction", OPT_DOUBLE, &test, "F", "fraction of the pairs (with --group-sources: sources) for testing", 0, 1, 0},
        {"seed", OPT_LONG, &seed, "N", "seed of the shuffled split", 0, 1, 0},
        {"group-sources", OPT_FLAG, &group_sources, NULL, "all pairs of one source text in the same split", 0, 0, 0},
    };
    const int ntab = (int)(sizeof tab / sizeof tab[0]);
    recur_err err = {0};
    char *pos[3];
    int npos, rc = cli_parse("data pairs", PAIRS_SYNOPSIS, tab, ntab, argc, argv, pos, 3, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("data", &err);
    if (check_positionals("pairs", "FILE.tsv", PAIRS_USAGE, pos, npos, &err) || check_fractions(val, test, &err))
        return report_error("data", &err);
    int both = token_kind("tokens", tokens, &err);
    int src = both < 0 ? -1 : src_tokens[0] ? token_kind("src-tokens", src_tokens, &err) : both;
    int tgt = src < 0 ? -1 : tgt_tokens[0] ? token_kind("tgt-tokens", tgt_tokens, &err) : both;
    if (tgt < 0 || check_output_path(pos[2], "output", &err)) return report_error("data", &err);

    pairs_options o = {pos[1], src, tgt, shared, group_sources, val, test, (uint64_t)seed};
    pair_dataset ds;
    pairs_stats st;
    if (import_pairs(&o, &ds, &st, &err)) return report_error("data", &err);
    rc = pairdata_write(pos[2], &ds, &err);
    if (!rc) print_pairs_summary(pos[2], &ds, &st);
    pairdata_free(&ds);
    return rc ? report_error("data", &err) : 0;
}

/* ---- dispatch ------------------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} KINDS[] = {
    {"text", data_text, "language model: a token dataset from a text file, a token per byte"},
    {"labeled-text", data_labeled_text, "classify: 'sentence<TAB>label' lines, a token per byte or per word (--trees balanced: binary trees)"},
    {"conllu", data_conllu, "tag: CoNLL-U treebanks, a word per step tagged with its UPOS, XPOS or DEPREL (--trees: dependency trees)"},
    {"csv", data_csv, "regress: sliding windows over the columns of a time series"},
    {"rows", data_rows, "classify: each CSV row read as R steps of F features"},
    {"pairs", data_pairs, "seq2seq: 'source<TAB>target' lines, a token per byte or per word on each side"},
    {"synth", data_synth, "regress / tag: the adding problem or the copy task (long-term dependencies)"},
};
#define NKINDS (sizeof KINDS / sizeof KINDS[0])

/* `recur data --help`: the kinds; `recur man`: also every kind's section. */
static int overview(void) {
    char synopsis[2048];
    size_t used = (size_t)snprintf(synopsis, sizeof synopsis,
                                   "KIND INPUT OUT.h5 [options]   (recur data KIND --help: its options)\n\nkinds:\n");
    for (size_t i = 0; i < NKINDS && used < sizeof synopsis; i++)
        used += (size_t)snprintf(synopsis + used, sizeof synopsis - used, "  %-13s %s\n", KINDS[i].name, KINDS[i].what);
    if (used < sizeof synopsis)
        snprintf(synopsis + used, sizeof synopsis - used,
                 "\nEach prints what it wrote; on an error nothing is written (OUT.h5 is written atomically).");
    cli_usage(stdout, "data", synopsis, NULL, 0);
    for (size_t i = 0; cli_help_roff && i < NKINDS; i++) {
        char name[32], help[] = "--help";
        snprintf(name, sizeof name, "%s", KINDS[i].name);
        char *args[] = {name, help, NULL};
        fflush(stdout);
        KINDS[i].run(2, args);
    }
    return 0;
}

/* KIND is the first argument that names a kind, wherever the flags are.  When
 * none does, the first argument that is not a flag is a mistyped kind; with
 * no such argument, `text` answers (the classic usage: what is missing). */
int cmd_data(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        for (size_t k = 0; k < NKINDS; k++)
            if (!strcmp(argv[i], KINDS[k].name)) return KINDS[k].run(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        suggestion sg;
        suggest_begin(&sg, argv[i]);
        for (size_t k = 0; k < NKINDS; k++) suggest_consider(&sg, KINDS[k].name);
        recur_err err = {0};
        if (suggest_best(&sg))
            recur_fail(&err, RECUR_EXIT_USAGE, "unknown input kind '%s'; did you mean '%s'?", argv[i], suggest_best(&sg));
        else
            recur_fail(&err, RECUR_EXIT_USAGE,
                       "unknown input kind '%s': expected text, labeled-text, conllu, csv, rows, pairs or synth (recur data --help)",
                       argv[i]);
        return report_error("data", &err);
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return overview();
    return data_text(argc, argv);
}
