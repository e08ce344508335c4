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
 * RECUR_EXIT_INPUT) naming the path, the field, expected and found.
 * Equivalent to dataset_probe + dataset_read_range of each whole array. */
int dataset_load(const char *path, token_dataset *ds, recur_err *err);
/* Frees and zeroes; safe on a zeroed or failed-load dataset. */
void dataset_free(token_dataset *ds);

/* What a token file holds, without its tokens (for sharded reading). */
typedef struct {
    size_t n;            /* extent of /tokens */
    size_t n_val;        /* extent of /val_tokens, 0 when the file has none */
    uint8_t *vocab;      /* [vocab_size] */
    int vocab_size;
} token_dataset_info;

/* Validates the file's structure exactly as dataset_load does (attributes,
 * /tokens int32 [N], /vocab uint8 [V] with 1 <= V <= 256, optional
 * /val_tokens int32 [M]), with the same messages, but reads only the extents
 * of the token arrays (and the small vocab): token values are not read, so
 * they are not checked (dataset_read_range checks the ones it reads). */
int dataset_probe(const char *path, token_dataset_info *info, recur_err *err);
/* Frees and zeroes; safe on a zeroed or failed-probe info. */
void dataset_info_free(token_dataset_info *info);

/* What `recur inspect` shows of a token file: its structure (as probed)
 * and the smallest and largest token id of each array, read in bounded
 * chunks (every token is checked against the vocabulary on the way). */
typedef struct {
    token_dataset_info info;
    int32_t min_id[2], max_id[2];  /* [0] /tokens, [1] /val_tokens (when n_val > 0) */
} token_dataset_summary;

int dataset_summarize(const char *path, token_dataset_summary *s, recur_err *err);
/* Frees and zeroes; safe on a zeroed or failed summary. */
void dataset_summary_free(token_dataset_summary *s);

/* Reads tokens [first, first + count) of `field` ("/tokens" or
 * "/val_tokens") into out[0..count) with a hyperslab selection: nothing
 * outside the range is read.  The dataset's type and rank are checked as in
 * dataset_load, every token read must be in [0, vocab_size) (an error names
 * its absolute index in the dataset), and a range past the extent fails.
 * Errors are RECUR_EXIT_INPUT naming path and field (an unknown field:
 * RECUR_EXIT_USAGE).  count 0 reads nothing (the range must still start
 * within [0, extent]).  The file's attributes and vocab are not looked at:
 * probe the file first. */
int dataset_read_range(const char *path, const char *field, size_t first, size_t count, int vocab_size,
                       int32_t *out, recur_err *err);

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
