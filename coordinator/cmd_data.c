/* recur data text TEXT OUT.h5 - build a token dataset from a text file. */
#include <stdio.h>
#include <string.h>

#include "../io/dataset.h"
#include "cli.h"
#include "commands.h"
#include "common.h"

#define DATA_USAGE "text TEXT OUT.h5 [--vocab distinct|bytes] [--val-fraction F]"
#define DATA_SYNOPSIS DATA_USAGE "\n\n" \
    "Byte-level tokens.  The vocabulary is the distinct bytes of the file in increasing order\n" \
    "(--vocab bytes: all 256).  --val-fraction F puts the last F of the text in /val_tokens.\n" \
    "On success prints what it wrote: token counts of the split and the vocabulary size."

/* The positional arguments: "text", the input and the output, each named
 * when missing so the user knows what to add. */
static int check_positionals(char **pos, int npos, recur_err *err) {
    if (npos >= 1 && strcmp(pos[0], "text"))
        return recur_fail(err, RECUR_EXIT_USAGE, "unknown input kind '%s': expected 'text'; usage recur data " DATA_USAGE,
                          pos[0]);
    if (npos < 3)
        return recur_fail(err, RECUR_EXIT_USAGE, "missing %s: usage recur data " DATA_USAGE,
                          npos < 2 ? "TEXT and OUT.h5" : "OUT.h5");
    return 0;
}

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

/* "wrote corpus.h5: 1,003,854 train + 111,539 val tokens, vocabulary 65 (distinct bytes)" */
static int print_summary(const char *path, int all_bytes, recur_err *err) {
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

int cmd_data(int argc, char **argv) {
    char vocab[CLI_STR] = "distinct";
    double val_fraction = 0;
    opt_spec tab[] = {
        {"vocab", OPT_STR, vocab, "KIND", "distinct (bytes present) or bytes (all 256)", 0, 0, 0},
        {"val-fraction", OPT_DOUBLE, &val_fraction, "F", "fraction of the text, from the end, held out for validation", 0, 1, 0},
    };
    recur_err err = {0};
    char *pos[3];
    int npos, rc = cli_parse("data", DATA_SYNOPSIS, tab, 2, argc, argv, pos, 3, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("data", &err);
    if (check_positionals(pos, npos, &err)) return report_error("data", &err);
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
        print_summary(pos[2], all_bytes, &err))
        return report_error("data", &err);
    return 0;
}
