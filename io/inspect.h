/* inspect.h - looking inside checkpoints without loading them as models:
 * the contract check behind `recur inspect --verify` (every violation, not
 * just the first) and the raw tensor reader behind `recur inspect --diff`.
 * Every HDF5 call lives here (and in h5util.c / checkpoint.c). */
#ifndef RECUR_INSPECT_H
#define RECUR_INSPECT_H

#include <stddef.h>

#include "../core/error.h"

/* Called once per contract violation with one message of the h5util form
 * "<file>: <field>: expected X, found Y". */
typedef void (*inspect_violation_fn)(void *ctx, const char *msg);

/* Walks `path` against the recur-checkpoint contract (io/checkpoint.h):
 * root attributes, every /model tensor (present, float32, right shape,
 * finite), /vocab, /optimizer, /progress, /state, /config when present.
 * Returns 0 when the file could be opened (the number of violations in
 * *violations, each also passed to cb), -1 with err when it cannot be read
 * at all (missing, not HDF5, damaged). */
int inspect_verify(const char *path, inspect_violation_fn cb, void *ctx, int *violations, recur_err *err);

#define INSPECT_MAX_RANK 8

/* One dataset read whole, converted to double. */
typedef struct {
    char name[160];              /* "/model/rnn/weight_ih_l0" */
    char dtype[16];              /* "float32", "float64", "int32", ... */
    int rank;
    size_t dims[INSPECT_MAX_RANK];
    size_t count;
    double *data;
} inspect_tensor;

typedef struct {
    inspect_tensor *t;           /* sorted by name */
    int n;
} inspect_tensors;

/* Reads every numeric dataset under /model plus /optimizer/state, /state/h and
 * /state/c when present.  The file must be HDF5 with format="recur-checkpoint";
 * otherwise (and on any read failure) -1 with one message in err
 * (RECUR_EXIT_INPUT). */
int inspect_read_tensors(const char *path, inspect_tensors *out, recur_err *err);
void inspect_tensors_free(inspect_tensors *ts);

#endif
