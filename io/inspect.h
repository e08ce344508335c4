/* inspect.h - looking inside recur's HDF5 files without loading them as
 * models: what kind of file it is, and the raw tensor reader behind
 * `recur inspect --diff`.  (The contract check behind --verify is
 * checkpoint_verify, walked by the same code as checkpoint_load.) */
#ifndef RECUR_INSPECT_H
#define RECUR_INSPECT_H

#include <stddef.h>

#include "../core/error.h"
#include "h5util.h"

/* What the root attribute `format` says a file is. */
typedef enum { INSPECT_CHECKPOINT, INSPECT_TOKENS, INSPECT_SEQUENCES, INSPECT_PAIRS, INSPECT_TREES,
              INSPECT_OTHER } inspect_kind;

/* Opens `path` (any HDF5 file) and classifies it.  For INSPECT_OTHER, `what`
 * describes the format found: "format \"x\"", "no 'format' attribute" or "a
 * 'format' attribute that is int64 scalar, not a string".  -1 with err (RECUR_EXIT_INPUT) when the
 * file cannot be read as HDF5. */
int inspect_kind_of(const char *path, inspect_kind *kind, char *what, size_t len, recur_err *err);

/* One dataset read whole, converted to double. */
typedef h5u_array inspect_tensor;

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
