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
 *
 * Trees (import_conllu_trees, `--trees`): a dependency tree per sentence
 * (io/treedata.h): node k is word k+1 (IDs must then count 1, 2, ... in each
 * sentence), its children the words whose HEAD is k+1, in sentence order;
 * the word with HEAD 0 is the root.  A HEAD outside 0..m, a second HEAD 0, no
 * HEAD 0 or a cycle of heads is an error naming the line of the word at
 * fault.  Node labels: the tag column when `column` >= 0; root labels
 * (`root_genre`): the genre of the sentence's "# sent_id = " comment, the id
 * up to its first '-' ("weblog", "email", ...), sorted by bytes; a sentence
 * without one is an error naming the line of its first word.
 */
#ifndef RECUR_IMPORT_CONLLU_H
#define RECUR_IMPORT_CONLLU_H

#include <stdint.h>

#include "../core/error.h"
#include "import_common.h"
#include "treedata.h"

/* The 0-based index of a tag column ("upos" 3, "xpos" 4, "deprel" 7), -1
 * for any other name. */
int conllu_column_index(const char *name);

typedef struct {
    const char *path;                     /* one file split by fractions, or NULL */
    const char *split_path[SPLIT_COUNT];  /* with path NULL: train (required), val, test (NULL = none) */
    int column;                           /* conllu_column_index; trees: -1 = no node labels */
    long min_count;                       /* >= 1 */
    double val_fraction, test_fraction;   /* with path */
    uint64_t seed;
    int trees;                            /* import_conllu_trees: check and keep HEAD */
    int root_genre;                       /* trees: the sent_id's genre as root label */
} conllu_options;

/* Builds the dataset in memory (free with seqdata_free).  Errors name the
 * file and line; on failure *ds is zeroed. */
int import_conllu(const conllu_options *o, seq_dataset *ds, import_stats *st, recur_err *err);

/* The same sentences as dependency trees (free with treedata_free), o->trees
 * set; the vocabulary, splits and tag ids exactly as import_conllu's. */
int import_conllu_trees(const conllu_options *o, tree_dataset *ds, import_stats *st, recur_err *err);

#endif
