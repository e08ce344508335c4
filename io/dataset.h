/* dataset.h - token datasets in HDF5 (the "recur-tokens" contract).
 *
 * File layout: root attributes format="recur-tokens" (string), version=1
 * (integer); /tokens int32 [N]; /vocab uint8 [V] (the byte value of each id);
 * optional /val_tokens int32 [M].
 */
#ifndef RECUR_DATASET_H
#define RECUR_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"

typedef struct {
    int32_t *tokens;      /* [n] */
    size_t n;
    int32_t *val_tokens;  /* [n_val], NULL when the file has none */
    size_t n_val;
    uint8_t *vocab;       /* [vocab_size] */
    int vocab_size;
} token_dataset;

/* Reads and validates the whole file: format/version attributes, dtypes and
 * ranks, every token in [0, vocab_size).  On failure fills err (code
 * RECUR_EXIT_INPUT) naming the path, the field, expected and found. */
int dataset_load(const char *path, token_dataset *ds, recur_err *err);
/* Frees and zeroes; safe on a zeroed or failed-load dataset. */
void dataset_free(token_dataset *ds);

/* Every token t[i] must be an id in [0, V): `what` says whose V it is in the
 * message ("the vocab size", "the model's vocab_size"). */
int dataset_check_tokens(const char *path, const char *name, const int32_t *t, size_t n, int V, const char *what,
                         recur_err *err);

/* `recur data text`: builds a token file from a text file.  all_bytes=0: the
 * vocabulary is the distinct bytes of the file in increasing order; 1: all 256
 * bytes.  val_fraction in [0,1): the last floor(F*len) bytes go to
 * /val_tokens (left out when that is 0 bytes).  The output is written
 * atomically (temp file + rename).  Errors: a bad fraction RECUR_EXIT_USAGE;
 * a missing, unreadable or empty text RECUR_EXIT_INPUT; an unwritable output
 * RECUR_EXIT_OUTPUT naming out_path. */
int dataset_build_from_text(const char *text_path, const char *out_path,
                            int all_bytes, double val_fraction, recur_err *err);

#endif
