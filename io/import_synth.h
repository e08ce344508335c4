/* import_synth.h - the long-term-dependency benchmarks of reference §11 as
 * sequence datasets (`recur data synth adding|copy`), unnormalised.
 *
 * adding (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015 and
 *   Arjovsky et al. 2016): T steps of F = 2 features, a value drawn from
 *   U[0, 1) and a marker; exactly two steps are marked (1), one in the first
 *   half (steps 0 .. ceil(T/2)-1) and one in the second; the target, one per
 *   sequence (/seq_targets [n, 1], task regress), is the sum of the two
 *   marked values.  Predicting 1 always has MSE 1/6 (the sum's variance).
 * copy (Arjovsky et al. 2016): T + 20 token steps over 10 symbols: 10 data
 *   symbols drawn from 1..8 ("a".."h"), T - 1 blanks (0, "_"), the delimiter
 *   (9, ":"), then 10 blanks; the label of every step (task tag) is blank
 *   except the last 10, which repeat the data symbols.  Always guessing
 *   blanks then uniform symbols costs 10 ln 8 / (T + 20) nats per step.
 * The split is shuffled from the same seed as the draws. */
#ifndef RECUR_IMPORT_SYNTH_H
#define RECUR_IMPORT_SYNTH_H

#include <stdint.h>

#include "../core/error.h"
#include "seqdata.h"

typedef enum { SYNTH_ADDING = 0, SYNTH_COPY } synth_kind;

typedef struct {
    synth_kind kind;
    long length;                 /* T */
    long count;                  /* sequences */
    double val_fraction, test_fraction;
    uint64_t seed;
} synth_options;

/* "adding" / "copy" -> 0 and *out, else -1. */
int synth_from_name(const char *name, synth_kind *out);
/* Fills ds (seqdata_free it); a length or count out of range is exit 2 naming the flag. */
int import_synth(const synth_options *o, seq_dataset *ds, recur_err *err);

#endif
