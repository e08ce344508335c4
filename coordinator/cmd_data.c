/* recur data text IN.txt OUT.h5 - build a token dataset from a text file. */
#include <stdio.h>
#include <string.h>

#include "../io/dataset.h"
#include "cli.h"
#include "commands.h"
#include "common.h"

#define DATA_SYNOPSIS "text IN.txt OUT.h5 [--vocab distinct|bytes] [--val-fraction F]\n\n" \
    "Byte-level tokens.  The vocabulary is the distinct bytes of the file in increasing order\n" \
    "(--vocab bytes: all 256).  --val-fraction F puts the last F of the text in /val_tokens."

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
    if (npos != 3 || strcmp(pos[0], "text")) {
        recur_fail(&err, RECUR_EXIT_USAGE, "usage: recur data " DATA_SYNOPSIS);
        return report_error("data", &err);
    }
    if (strcmp(vocab, "distinct") && strcmp(vocab, "bytes")) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--vocab: expected distinct or bytes, found '%s'", vocab);
        return report_error("data", &err);
    }
    if (val_fraction >= 1) {
        recur_fail(&err, RECUR_EXIT_USAGE, "--val-fraction: expected a number in [0, 1), found %g", val_fraction);
        return report_error("data", &err);
    }
    if (check_output_path(pos[2], "output", &err) ||
        dataset_build_from_text(pos[1], pos[2], !strcmp(vocab, "bytes"), val_fraction, &err))
        return report_error("data", &err);
    fprintf(stderr, "recur data: wrote %s\n", pos[2]);
    return 0;
}
