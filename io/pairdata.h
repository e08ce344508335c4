/* pairdata.h - sequence-pair datasets in HDF5 (the "recur-pairs" contract):
 * a source sequence and a target sequence per example, for sequence-to-sequence
 * models (encoder-decoder, G2P, translation).
 *
 * Root attributes: format="recur-pairs" (string), version=1 (integer),
 * shared_vocab (integer 0 or 1; optional, 0 when absent): 1 when one
 * vocabulary serves both sides (both /src_vocab and /tgt_vocab are still
 * stored, and must then be identical).
 * One group per split: /train (required), /val, /test (optional), each with
 *   src_offsets  int64 [n+1]        source i is src_tokens[src_offsets[i] ..
 *                                   src_offsets[i+1]-1]; src_offsets[0] = 0,
 *                                   strictly increasing (every source at least
 *                                   one token), src_offsets[n] = src_total
 *   src_tokens   int32 [src_total]  ids into /src_vocab
 *   tgt_offsets  int64 [n+1]        the same for the targets: the same n
 *   tgt_tokens   int32 [tgt_total]  ids into /tgt_vocab
 * Root:
 *   /src_vocab, /tgt_vocab   uint8 [V] a character vocabulary (the byte of each
 *                            id), or variable-length UTF-8 strings [V] a word
 *                            vocabulary (V <= SEQ_MAX_VOCAB, each word at most
 *                            SEQ_MAX_STRING bytes)
 * Tokens are in [0, V) of their side's vocabulary.
 *
 * The reader is as hostile as seqdata_load (io/seqdata_parts.h): any integer
 * width (signed or not) where the contract says int32/int64/uint8, fixed- or
 * variable-length strings, every attribute, rank, dtype and extent checked
 * against the SEQ_MAX_* caps and the stored bytes before anything is read, and
 * one-line errors "<file>: <field>: expected X, found Y".
 */
#ifndef RECUR_PAIRDATA_H
#define RECUR_PAIRDATA_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "../core/error.h"
#include "seqdata.h"

#define PAIR_FORMAT "recur-pairs"
#define PAIR_VERSION 1

typedef struct {
    int size;          /* V */
    uint8_t *chars;    /* [V] character vocabulary (byte of each id), or NULL */
    char **words;      /* [V] NUL-terminated UTF-8 words, or NULL */
    /* Filled by pairdata_load (pair_vocab_index), NULL otherwise: a hash
     * table of the words for pair_vocab_encode (without it, a linear search). */
    int32_t *slot;     /* [nslot] id + 1 of a word, 0 = empty */
    size_t nslot;
} pair_vocab;

typedef struct {
    int present;
    size_t n;                       /* pairs */
    size_t src_total, tgt_total;    /* tokens */
    int64_t *src_offsets, *tgt_offsets; /* [n+1] */
    int32_t *src_tokens, *tgt_tokens;
    float *src_features;            /* [n, src_width] a conditional LM's context features, else NULL */
    int src_width;                  /* F: the sources are feature vectors (src_features), else 0 */
} pair_split;

typedef struct {
    pair_vocab src, tgt;
    int shared;                     /* one vocabulary for both sides */
    int condition;                  /* COND_NONE for a pair file; a conditional LM's data: pairdata_from_sequences */
    pair_split split[SPLIT_COUNT];  /* SPLIT_TRAIN/VAL/TEST from seqdata.h */
} pair_dataset;

/* Reads and validates the whole file against the contract above, BEFORE
 * reading data into memory sized from the file.  On failure fills err
 * (RECUR_EXIT_INPUT) with one line "<path>: <field>: expected X, found Y"
 * (e.g. "/train/tgt_offsets: expected 6 entries (n+1, as /train/src_offsets),
 * found 5") and leaves *ds zeroed.  Word vocabularies get their lookup table
 * (pair_vocab_index). */
int pairdata_load(const char *path, pair_dataset *ds, recur_err *err);
/* Frees and zeroes; safe on a zeroed or failed-load dataset. */
void pairdata_free(pair_dataset *ds);

/* The checks pairdata_load applies, on a dataset in memory: every size and
 * value the contract constrains.  `path` names the file in messages; `code`
 * is the exit code to report (RECUR_EXIT_FAIL for data recur built itself). */
int pairdata_check(const pair_dataset *ds, const char *path, int code, recur_err *err);

/* Writes `ds` in the layout above, atomically (io/atomic.h), without
 * timestamps (identical input -> identical bytes).  Splits with present=0 are
 * left out; shared_vocab is written as 0 or 1.  pairdata_check runs first (a
 * bad dataset is RECUR_EXIT_FAIL naming the field; nothing is written).  I/O
 * failures: RECUR_EXIT_OUTPUT naming path. */
int pairdata_write(const char *path, const pair_dataset *ds, recur_err *err);

/* 1 when the file's root attribute format is "recur-pairs", 0 when it is
 * another (or no) format, -1 with err when the file cannot be read at all. */
int pairdata_is_pair_file(const char *path, recur_err *err);

/* Text -> ids for generation time: chars = bytes, words = split on ASCII
 * whitespace (space, \t, \n, \v, \f, \r; words kept as written, as `recur data
 * pairs` splits them).  A symbol not in the vocabulary is an error naming it
 * and `what` (e.g. "input.txt:3"): "input.txt:3: word 2: expected a word of the
 * vocabulary (V = 84), found 'QX'" — returns -1 with err (RECUR_EXIT_INPUT);
 * an empty text (no byte, or no word) is an error too.  *ids malloc'd (free). */
int pair_vocab_encode(const pair_vocab *v, const char *s, size_t len, const char *what, int32_t **ids, size_t *n,
                      recur_err *err);
/* ids -> text appended to buf (chars concatenated; words joined by single
 * spaces; an id outside [0, V) as "<id N>"); buf is NUL-terminated when cap >
 * 0 and cut to fit.  Returns the bytes the whole text needs without the NUL
 * (snprintf-like: the text was cut when the result is >= cap). */
size_t pair_vocab_decode(const pair_vocab *v, const int32_t *ids, size_t n, char *buf, size_t cap);

/* Builds v's word lookup table (pairdata_load does; call it on a word
 * vocabulary built in memory to make pair_vocab_encode fast).  A word that
 * appears twice keeps its first id.  Nothing to do for characters. */
int pair_vocab_index(pair_vocab *v, recur_err *err);
/* Frees the vocabulary's arrays (chars, words, lookup table) and zeroes it. */
void pair_vocab_free(pair_vocab *v);

/* One vocabulary as dataset `name` of an open file, for other contracts that
 * carry one (io/checkpoint.c): the checks pairdata_check applies to it (`code`
 * as there), the writer pairdata_write uses, and the reader pairdata_load
 * uses (word vocabularies get their lookup table; on failure v may hold a
 * part: pair_vocab_free it).  Call seqdata_guard_strings (io/seqdata_parts.h)
 * on `name` before pair_vocab_read. */
int pair_vocab_check(const pair_vocab *v, const char *path, const char *name, int code, recur_err *err);
int pair_vocab_write(hid_t file, const char *path, const char *name, const pair_vocab *v, recur_err *err);
int pair_vocab_read(hid_t file, const char *path, const char *name, pair_vocab *v, recur_err *err);

/* A conditional language model's data (reference §6) seen as pairs: the
 * sequence dataset at `path` (io/seqdata.h) with token inputs, each
 * sequence's target its tokens and its source one step: its label
 * (COND_LABEL: a classify dataset; the source vocabulary is /label_names, or
 * the label numbers as words) or its /<split>/context vector (COND_FEATURES:
 * src_features, each split's src_width = F; a source vocabulary of 0 entries and source
 * tokens 0).  The target vocabulary is the dataset's.  Errors name the file
 * and what it lacks (exit 3, or 2 when the file is fine but the condition
 * does not fit it). */
int pairdata_from_sequences(const char *path, int condition, pair_dataset *ds, recur_err *err);
/* What a model conditioned on `condition` reads from `path`: pairdata_load
 * for COND_NONE, else pairdata_from_sequences. */
int pairdata_open(const char *path, int condition, pair_dataset *ds, recur_err *err);

/* Length of source / target i of a split. */
static inline size_t pair_src_length(const pair_split *s, size_t i) {
    return (size_t)(s->src_offsets[i + 1] - s->src_offsets[i]);
}
static inline size_t pair_tgt_length(const pair_split *s, size_t i) {
    return (size_t)(s->tgt_offsets[i + 1] - s->tgt_offsets[i]);
}

#endif
