/* recur - train recurrent language models.  `recur --help` lists the
 * subcommands; each has its own --help. */
#include <cblas.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/crash_guard.h"
#include "cli.h"
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

static int cmd_man(int argc, char **argv);

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *what;
} COMMANDS[] = {
    {"data", cmd_data, "build a token dataset (HDF5) from a text file"},
    {"train", cmd_train, "train a language model (truncated BPTT) or a sequence classifier, tagger or regressor"},
    {"eval", cmd_eval, "loss (and a sequence task's metrics) of a checkpoint on a dataset"},
    {"predict", cmd_predict, "a sequence model's predictions on a dataset split, as CSV"},
    {"sample", cmd_sample, "generate text from a checkpoint"},
    {"generate", cmd_generate, "a seq2seq model's outputs: greedy, beam search or sampled"},
    {"inspect", cmd_inspect, "summarise a checkpoint and its tensors"},
    {"bench", cmd_bench, "training throughput against OpenBLAS's own SGEMM rate"},
    {"plot", cmd_plot, "loss curve of a metrics file as CSV/SVG"},
    {"monitor", cmd_monitor, "live view of a run (ZeroMQ)"},
    {"version", cmd_version, "print recur's version (also recur --version)"},
    {"man", cmd_man, "print the manual page recur(1) (roff; make install puts it in place)"},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

/* recur(1), rendered from the same option tables as every --help: each
 * subcommand's --help runs with cli_help_roff set. */
static int cmd_man(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf(".TH RECUR 1 \"\" \"recur %s\" \"User Commands\"\n"
           ".SH NAME\nrecur \\- train recurrent neural networks (RNN, LSTM, GRU) on one machine or under mpirun\n"
           ".SH SYNOPSIS\n.B recur\n.I COMMAND\n[options]\n.br\n"
           ".B mpirun\n\\-np\n.I R\n.B recur train\n[options]\n"
           ".SH DESCRIPTION\nrecur trains recurrent networks in C, exact against PyTorch, with HDF5 datasets and "
           "checkpoints (PyTorch parameter names) and a ZeroMQ metrics stream.  Under mpirun the ranks train "
           "data-parallel and every rank applies the same update.\n.PP\nCommands:\n",
           RECUR_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) printf(".TP\n.B %s\n%s\n", COMMANDS[i].name, COMMANDS[i].what);
    printf(".SH OPTIONS\nEvery option is a long flag; \\fBrecur train \\-\\-config\\fR reads the same keys from an INI file.\n");
    fflush(stdout);
    cli_help_roff = 1;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (COMMANDS[i].run == cmd_man || COMMANDS[i].run == cmd_version) continue;
        char name[32], help[] = "--help";
        snprintf(name, sizeof name, "%s", COMMANDS[i].name);
        char *args[] = {name, help, NULL};
        COMMANDS[i].run(2, args);
        fflush(stdout);
    }
    cli_help_roff = 0;
    printf(".SH EXIT STATUS\n.TP\n0\nsuccess (also after a clean stop by Ctrl-C or a signal, checkpoint written)\n"
           ".TP\n1\nfailure (e.g. training diverged)\n.TP\n2\nbad command line or config value\n"
           ".TP\n3\ninvalid input file (the message names the file, the field, what was expected)\n"
           ".TP\n4\noutput not writable\n"
           ".SH ENVIRONMENT\n.TP\nOPENBLAS_NUM_THREADS\nBLAS threads per process (recur uses 1 unless it is set)\n"
           ".SH SIGNALS\nSIGINT (Ctrl\\-C), SIGTERM, SIGUSR1 or SIGUSR2 stop \\fBrecur train\\fR after the current "
           "step with a checkpoint and a resume command.  Under mpirun in a terminal, Ctrl\\-C reaches the rank "
           "that shares the terminal directly.\n"
           ".SH SEE ALSO\n.BR mpirun (1),\n.BR h5dump (1)\n");
    return 0;
}

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
    /* A crash names the file being read and exits 3, never hangs (io/crash_guard.h). */
    crash_guard_install();
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
