/* import_conllu.h - `recur data conllu`: CoNLL-U treebanks into a tag
 * dataset (io/seqdata.h): a sequence per sentence, a token per word (its
 * FORM, as written), a label per word (its UPOS, XPOS or DEPREL, as written:
 * "nmod:poss" is one tag).
 *
 * Lines: split on LF (a CR before it dropped).  '#' lines are comments; a
 * blank line (or spaces only) ends a sentence; every other line is a word line
 * of 10 tab-separated columns ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS
 * MISC.  Lines whose ID holds '-' (multiword tokens, "3-4") or '.' (empty
 * nodes, "8.1") are skipped; any other ID must be a positive integer.  FORM
 * and the tag must be non-empty UTF-8.  A sentence without word lines (only
 * comments) is no sequence.
 *
 * Vocabulary (/vocab_words): <unk> (id 0), then the forms seen at least
 * min_count times in the train split, by bytes; other forms are <unk>.
 * Tags (/label_names): every distinct tag of every split, sorted by bytes
 * (numerically when every tag is an integer, as import_fit_labels does).
 * Splits: from separate files (split_path[]), or from one file by
 * import_split_shuffled over its sentences.
 */
#ifndef RECUR_IMPORT_CONLLU_H
#define RECUR_IMPORT_CONLLU_H

#include <stdint.h>

#include "../core/error.h"
#include "import_common.h"

/* The 0-based index of a tag column ("upos" 3, "xpos" 4, "deprel" 7), -1
 * for any other name. */
int conllu_column_index(const char *name);

typedef struct {
    const char *path;                     /* one file split by fractions, or NULL */
    const char *split_path[SPLIT_COUNT];  /* with path NULL: train (required), val, test (NULL = none) */
    int column;                           /* conllu_column_index */
    long min_count;                       /* >= 1 */
    double val_fraction, test_fraction;   /* with path */
    uint64_t seed;
} conllu_options;

/* Builds the dataset in memory (free with seqdata_free).  Errors name the
 * file and line; on failure *ds is zeroed. */
int import_conllu(const conllu_options *o, seq_dataset *ds, import_stats *st, recur_err *err);

#endif
