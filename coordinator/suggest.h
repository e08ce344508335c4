/* suggest.h - "did you mean" for mistyped subcommands, flags and config keys.
 *
 * One scorer for all three so they agree: names are compared after folding
 * case and reading '_' as '-' (config keys and flags are spelled with dashes),
 * by Damerau-Levenshtein distance (adjacent transpositions count once, so
 * `trian` is one edit from `train`).  A candidate that is a whole-word prefix
 * of the typed name (`hidden` for `hidden_size`, `lr` for `lr-rate`) also
 * matches: people add words to a key more often than they misspell it.
 *
 * Usage: suggestion s; suggest_begin(&s, typed); suggest_consider(&s, name)
 * for every candidate; suggest_best(&s) is the closest one or NULL. */
#ifndef RECUR_SUGGEST_H
#define RECUR_SUGGEST_H

typedef struct {
    const char *typed;
    const char *best; /* closest candidate so far, NULL when none is close */
    int best_score;   /* lower is closer */
} suggestion;

void suggest_begin(suggestion *s, const char *typed);
void suggest_consider(suggestion *s, const char *candidate);
const char *suggest_best(const suggestion *s);

/* Edit distance (optimal string alignment) between a and b after the
 * normalisation above; exposed for tests.  Names longer than 63 bytes are
 * compared by their first 63. */
int suggest_distance(const char *a, const char *b);

#endif
