/* import_text.h - `recur data labeled-text`: labelled sentences, one
 * `sentence<TAB>label` per line, into a classify dataset (io/seqdata.h).
 *
 * Lines: split on LF (a CR before it dropped; U+0085 is text); blank lines
 * are skipped; the label is what follows the LAST tab, the sentence what
 * precedes it, each without leading and trailing spaces and tabs.  A line
 * without a tab, an empty sentence or an empty label is an error naming
 * FILE:LINE.
 *
 * Labels: every distinct label of the file, ids in sorted order
 * (numerically when all are integers, else by bytes): /label_names.
 *
 * Tokens:
 *  - chars: the sentence's bytes.  The vocabulary (/vocab uint8) is the
 *    distinct bytes of the train split in increasing order; a byte found only
 *    in val or test becomes 0x1A (ASCII SUB, "substitute"), which then joins
 *    the vocabulary.
 *  - words: a word is a maximal run of bytes that are not separators, ASCII
 *    A-Z lower-cased (other letters kept as written).  Separators: ASCII
 *    whitespace and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~), and the
 *    characters U+0080-U+00BF (NEL, no-break space, Latin-1 punctuation such
 *    as « » ¡ ¿) and U+2000-U+206F (Unicode's General Punctuation: special
 *    spaces, dashes, curly quotes, ellipsis).  So "Don't!" is "don", "t".
 *    The sentence must be valid UTF-8.  The vocabulary (/vocab_words) is
 *    <unk> (id 0), then the words seen at least min_count times in the train
 *    split, by bytes; other words are <unk>.  A sentence without a word is an
 *    error.
 * Splits: import_split_shuffled (seeded; input order kept within a split).
 */
#ifndef RECUR_IMPORT_TEXT_H
#define RECUR_IMPORT_TEXT_H

#include <stdint.h>

#include "../core/error.h"
#include "import_common.h"

typedef struct {
    const char *path;
    int words;              /* 0: bytes, 1: words */
    long min_count;         /* words: fewer occurrences in train -> <unk> (>= 1) */
    double val_fraction, test_fraction;
    uint64_t seed;
} labeled_text_options;

/* Builds the dataset in memory (free with seqdata_free).  Errors name
 * the file and line; on failure *ds is zeroed. */
int import_labeled_text(const labeled_text_options *o, seq_dataset *ds, import_stats *st, recur_err *err);

#endif
