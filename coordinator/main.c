/* recur - train recurrent language models.  `recur --help` lists the
 * subcommands; each has its own --help. */
#include <cblas.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "suggest.h"

/* The build may pass -DRECUR_VERSION="x.y.z"; otherwise this development tag. */
#ifndef RECUR_VERSION
#define RECUR_VERSION "0.4.0-dev"
#endif

static int cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("recur %s\n", RECUR_VERSION);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *what;
} COMMANDS[] = {
    {"data", cmd_data, "build a token dataset (HDF5) from a text file"},
    {"train", cmd_train, "train a model (fresh, from --init) with truncated BPTT"},
    {"eval", cmd_eval, "cross-entropy of a checkpoint on a dataset"},
    {"sample", cmd_sample, "generate text from a checkpoint"},
    {"inspect", cmd_inspect, "summarise a checkpoint and its tensors"},
    {"bench", cmd_bench, "training throughput against OpenBLAS's own SGEMM rate"},
    {"plot", cmd_plot, "loss curve of a metrics file as CSV/SVG"},
    {"monitor", cmd_monitor, "live view of a run (ZeroMQ)"},
    {"version", cmd_version, "print recur's version (also recur --version)"},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f) {
    fprintf(f, "usage: recur COMMAND [options]   (recur COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].what);
    fprintf(f, "\nexit codes: 0 ok, 1 failure, 2 usage error, 3 invalid input file, 4 output not writable\n");
}

/* One line naming the closest command when there is one; the whole list otherwise. */
static int unknown_command(const char *typed) {
    suggestion sg;
    suggest_begin(&sg, typed + strspn(typed, "-"));
    for (size_t i = 0; i < NCOMMANDS; i++) suggest_consider(&sg, COMMANDS[i].name);
    const char *best = suggest_best(&sg);
    if (best) {
        fprintf(stderr, "recur: unknown command '%s'; did you mean '%s'?\n", typed, best);
    } else {
        fprintf(stderr, "recur: unknown command '%s'\n", typed);
        usage(stderr);
    }
    return 2;
}

int main(int argc, char **argv) {
    /* One BLAS thread per process unless the user decides otherwise: ranks,
     * not BLAS threads, are recur's unit of parallelism. */
    if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
    /* recur reports HDF5 failures itself, naming file and field. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) {
            int rc = COMMANDS[i].run(argc - 1, argv + 1);
            H5close();
            return rc;
        }
    return unknown_command(argv[1]);
}
