/* recur train - the training run, on one process or R MPI ranks: options
 * (rank 0 parses, everyone receives them), model (rank 0 creates or loads it,
 * everyone receives the weights), each rank's shard of the streams, the step
 * loop with progress, validation and checkpoints written by rank 0, and a
 * clean stop when any rank gets SIGINT/SIGTERM (all finish the step, rank 0
 * writes the checkpoint, everyone exits 0).  The parts are in train_*.c
 * (see train.h).
 *
 * Failure protocol: after every fallible phase the ranks agree
 * (train_agree) on the worst status, so an error on one rank ends all of them
 * with the same exit code instead of leaving the others waiting in a
 * collective. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "train.h"
#include "train_signals.h"

/* The set-up phases in order; each returns the agreed exit code (0: go on). */
static int set_up(run *r, recur_err *err) {
    int rc;
    if ((rc = train_setup_outputs(r, err)) || (rc = train_setup_dataset(r, err)) || (rc = train_setup_model(r, err)) ||
        (rc = train_setup_data(r, err)) || (rc = train_resolve_budget(r, err)) || (rc = train_setup_trainer(r, err)))
        return rc;
    if (r->resuming && (rc = train_restore(r, err))) return rc;
    r->first_step = r->tr.step;
    r->first_tokens = r->tr.tokens_seen;
    if (r->o.gradcheck && (rc = train_gradcheck(r, err))) return rc;
    return record_open_sinks(r, err);
}

/* Started by mpirun/orted or a batch system's launcher (srun) as one of
 * several ranks, rather than by hand. */
static int launched_as_rank(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") || getenv("SLURM_PROCID");
}

int cmd_train(int argc, char **argv) {
    static run r; /* large (config text); one per process */
    memset(&r, 0, sizeof r);
    recur_err err = {0};
    /* Run by hand, recur is the only rank: the options are checked before MPI
     * starts (Open MPI's singleton start-up takes most of a second), so --help
     * and a typo answer at once.  Launched as ranks, rank 0 parses after
     * MPI_Init and broadcasts. */
    const int by_hand = !launched_as_rank();
    int rc = -1;
    if (by_hand) {
        r.comm.size = 1;
        train_signals_install(1);
        if ((rc = train_setup_options(&r, argc, argv, &err)) >= 0) {
            train_free(&r);
            return rc;
        }
    }
    if (comm_init(&r.comm, &argc, &argv, &err)) return report_error("train", &err);
    comm_set_label("recur train");
    if (!by_hand) {
        train_signals_install(r.comm.rank == 0);
        rc = train_setup_options(&r, argc, argv, &err); /* -1: go on */
    }
    comm_set_stall_timeout(r.o.stall_timeout);
    if (rc < 0 && !(rc = set_up(&r, &err))) rc = train_loop(&r, &err);
    train_free(&r);
    comm_finalize(&r.comm);
    return rc;
}
