/* seqdata.h - sequence datasets in HDF5 (the "recur-sequences" contract).
 *
 * Root attributes: format="recur-sequences" (string), version=1 (integer),
 * task = "classify" | "tag" | "regress" (string).
 * One group per split: /train (required), /val, /test (optional), each with
 *   offsets      int64 [n+1]   sequence i is steps offsets[i] .. offsets[i+1]-1;
 *                              offsets[0] = 0, strictly increasing (every
 *                              sequence >= 1 step), offsets[n] = total (the
 *                              extent of the split's inputs); n >= 1
 *   inputs       tokens int32 [total] (ids into the vocabulary)
 *             or features float32 [total, F]
 *   targets      labels int32 [n]              (classify)
 *                step_labels int32 [total]     (tag)
 *                targets float32 [total, K]    (regress, a target per step)
 *             or seq_targets float32 [n, K]    (regress, one per sequence)
 *   context      float32 [n, F]  optional, any task (in every split or none,
 *                as /train, the same F): a feature vector per sequence, the
 *                context of a conditional language model (`recur train
 *                --task lm --condition features`)
 *   seq_base     float32 [n, K]  optional (in every split or none, as
 *                /train), regress only (ignored otherwise): the targets are
 *                changes from a base per sequence (`recur data csv
 *                --difference`: the target columns' values at the window's
 *                last step, in original units, never normalised).  A
 *                prediction p of sequence i (per step or per sequence, in
 *                stored units) is p * target_std + target_mean + seq_base[i]
 *                in original units (without /norm: p + seq_base[i]).
 * Root, as applicable:
 *   /vocab        uint8 [V]              character vocabularies (byte of each id)
 *   /vocab_words  variable-length UTF-8 strings [V]   word vocabularies
 *   /label_names  variable-length strings [C]
 *   /norm/feature_mean, /norm/feature_std  float32 [F]  when the importer normalised
 *   /norm/target_mean,  /norm/target_std   float32 [K]  (values stored normalised;
 *                                          recur reports in original units)
 * V = length of /vocab or /vocab_words (required with tokens).  C = length of
 * /label_names when present, else the root attribute num_classes (integer)
 * when present, else 1 + the largest label of any split.
 * Every split must agree with /train on the input kind, F and K (and, for
 * regress, on targets vs seq_targets).  Features and targets must be finite
 * (and fit a float32); tokens in [0, V); labels in [0, C); /vocab bytes in
 * [0, 256); vocabulary words and label names UTF-8 of at most SEQ_MAX_STRING
 * bytes; every /norm std > 0; mean and std come in pairs.
 *
 * The reader accepts any integer width (signed or not) where the contract
 * says int32/int64/uint8, float32 or float64 where it says float32, and
 * fixed- or variable-length strings, converting; values are range-checked
 * before they are narrowed.  Sizes come from users, so they are capped (an
 * extent beyond a cap is an error naming the field, never an allocation
 * failure): see SEQ_MAX_* below.
 */
#ifndef RECUR_SEQDATA_H
#define RECUR_SEQDATA_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "../core/model.h"

#define SEQ_MAX_STEPS   2147483647u        /* steps of one split (so also its sequences) */
#define SEQ_MAX_ELEMS   ((size_t)1 << 32)  /* elements of any one array */
#define SEQ_MAX_WIDTH   65536              /* F and K */
#define SEQ_MAX_VOCAB   (1 << 24)          /* V (/vocab: 256) */
#define SEQ_MAX_CLASSES (1 << 20)          /* C */
#define SEQ_MAX_STRING  4096               /* bytes of one word or label name */

enum { SPLIT_TRAIN = 0, SPLIT_VAL, SPLIT_TEST, SPLIT_COUNT };
extern const char *const SEQ_SPLIT_NAMES[SPLIT_COUNT]; /* "train", "val", "test" */

typedef struct {
    int present;          /* the group exists in the file */
    size_t n;             /* sequences */
    size_t total;         /* steps = offsets[n] */
    int64_t *offsets;     /* [n+1] */
    int32_t *tokens;      /* [total]      token inputs, else NULL */
    float *features;      /* [total, F]   feature inputs, else NULL */
    int32_t *labels;      /* [n]          classify, else NULL */
    int32_t *step_labels; /* [total]      tag, else NULL */
    float *targets;       /* [total, K]   regress per step, else NULL */
    float *seq_targets;   /* [n, K]       regress per sequence, else NULL */
    float *seq_base;      /* [n, K]       optional (regress): targets are changes from it, else NULL */
    float *context;       /* [n, Fc]      optional: a context vector per sequence, else NULL */
} seq_split;

typedef struct {
    task_kind task;       /* TASK_CLASSIFY, TASK_TAG or TASK_REGRESS */
    int input_size;       /* F (feature inputs), 0 with tokens */
    int vocab_size;       /* V (token inputs), 0 with features */
    int num_classes;      /* C (classify, tag), 0 for regress */
    int output_size;      /* K (regress), 0 otherwise */
    int context_size;     /* Fc: the width of /<split>/context, 0 without it */
    int per_step;         /* tag, or regress with /targets: 1; classify or /seq_targets: 0 */
    uint8_t *vocab;       /* [V] character vocabulary, or NULL */
    char **vocab_words;   /* [V] NUL-terminated UTF-8 words, or NULL */
    char **label_names;   /* [C] or NULL */
    float *feature_mean, *feature_std;  /* [F] or NULL */
    float *target_mean, *target_std;    /* [K] or NULL */
    int target_log;       /* root attribute target_transform="log": stored targets (and seq_base) are natural
                           * logs of the original values, original = exp(stored * std + mean + base) */
    seq_split split[SPLIT_COUNT];
} seq_dataset;

/* Reads and validates the whole file against the contract above: every
 * attribute, rank, dtype, extent and value range is checked BEFORE data is
 * read into memory sized from the file (sizes come from users: a huge
 * declared extent is an error naming the field, never an allocation failure).
 * On failure fills err (RECUR_EXIT_INPUT) with one line
 * "<path>: <field>: expected X, found Y" (e.g. "/train/offsets[3]: expected
 * >= offsets[2] = 17, found 12") and leaves *ds zeroed. */
int seqdata_load(const char *path, seq_dataset *ds, recur_err *err);
/* Frees and zeroes; safe on a zeroed or failed-load dataset. */
void seqdata_free(seq_dataset *ds);

/* Writes `ds` in the layout above, atomically (io/atomic.h), without
 * timestamps (identical input -> identical bytes).  Splits with present=0 are
 * left out.  The same checks as seqdata_load are applied first (a bad
 * dataset is RECUR_EXIT_FAIL naming the field; nothing is written).  I/O
 * failures: RECUR_EXIT_OUTPUT naming path. */
int seqdata_write(const char *path, const seq_dataset *ds, recur_err *err);

/* The checks seqdata_write applies, on a dataset in memory (importers may
 * call it on what they built): every value and size the contract constrains.
 * `path` names the file in messages; `code` is the exit code to report
 * (RECUR_EXIT_FAIL for data recur built itself). */
int seqdata_check(const seq_dataset *ds, const char *path, int code, recur_err *err);

/* 1 when the file's root attribute format is "recur-sequences", 0 when it is
 * another (or no) format, -1 with err when the file cannot be read at all. */
int seqdata_is_sequence_file(const char *path, recur_err *err);

/* Length of sequence i of a split. */
static inline size_t seq_length(const seq_split *s, size_t i) { return (size_t)(s->offsets[i + 1] - s->offsets[i]); }

#endif
