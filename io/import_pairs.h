/* import_pairs.h - `recur data pairs`: sequence pairs, one `source<TAB>target`
 * per line, into a pair dataset (io/pairdata.h, "recur-pairs").
 *
 * Lines: split on LF (a CR before it dropped; a leading UTF-8 BOM dropped).
 * A blank line (nothing but spaces) is skipped.  Every other line holds
 * exactly one tab: the source is what precedes it, the target what follows,
 * each without leading and trailing spaces.  A line without a tab, with more
 * than one, with an empty source or target, with bytes that are not UTF-8 or
 * with a NUL byte is an error naming FILE:LINE (and the column, counted in
 * bytes from 1, where there is one); so is a file without a pair.
 *
 * Tokens, per side (--tokens sets both, --src-tokens / --tgt-tokens one):
 *  - chars: the text's bytes (a character outside ASCII is several tokens);
 *  - words: the text split on ASCII whitespace, each word kept as written (no
 *    case folding; punctuation is part of a word), at most SEQ_MAX_STRING
 *    bytes; a side without a word is an error.  pair_vocab_encode splits text
 *    the same way at generation time.
 * Vocabularies are built from ALL splits, so that every source of the test
 * split can be encoded by a generator and every target scored: characters in
 * increasing byte order, words in order of first appearance in the file
 * (sources before targets within a line).  With shared, one vocabulary of
 * both sides' symbols serves both (both sides must have the same token kind);
 * it is stored as /src_vocab and /tgt_vocab alike.
 *
 * Splits: import_split_shuffled (seeded; input order kept within a split) over
 * the pairs, or with group_sources over the distinct source texts: every pair
 * of one source lands in the same split (the fractions then count sources), so
 * a word's several pronunciations never straddle train and test.
 */
#ifndef RECUR_IMPORT_PAIRS_H
#define RECUR_IMPORT_PAIRS_H

#include <stdint.h>

#include "../core/error.h"
#include "pairdata.h"

typedef struct {
    const char *path;
    int src_words, tgt_words;  /* per side: 0 chars, 1 words */
    int shared;                /* one vocabulary for both sides (same token kind required) */
    int group_sources;         /* split by distinct source text */
    double val_fraction, test_fraction;
    uint64_t seed;
} pairs_options;

/* What the summary line reports besides the dataset itself. */
typedef struct {
    size_t blank;              /* blank lines skipped */
    size_t sources;            /* group_sources: distinct source texts */
    size_t repeated;           /* group_sources: sources with more than one pair */
} pairs_stats;

/* Builds the dataset in memory (free with pairdata_free).  Errors name the
 * file and line (RECUR_EXIT_INPUT; fractions that leave no train pair:
 * RECUR_EXIT_USAGE; shared with different token kinds: RECUR_EXIT_USAGE); on
 * failure *ds is zeroed. */
int import_pairs(const pairs_options *o, pair_dataset *ds, pairs_stats *st, recur_err *err);

#endif
