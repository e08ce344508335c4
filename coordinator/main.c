/* recur - train recurrent language models.  `recur --help` lists the
 * subcommands; each has its own --help. */
#include <cblas.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

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
    {"plot", cmd_plot, "loss curve of a metrics file as CSV/SVG"}, {"monitor", cmd_monitor, "live view of a run (ZeroMQ)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: recur COMMAND [options]   (recur COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].what);
    fprintf(f, "\nexit codes: 0 ok, 1 failure, 2 usage error, 3 invalid input file, 4 output not writable\n");
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
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) {
            int rc = COMMANDS[i].run(argc - 1, argv + 1);
            H5close();
            return rc;
        }
    fprintf(stderr, "recur: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
