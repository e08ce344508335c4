/* pairmetrics.h - how close generated outputs are to references: exact
 * match, token error rate (Levenshtein distance over the reference's
 * length, summed over the corpus: sum of edits / sum of reference tokens)
 * and corpus BLEU-4 (Papineni et al. 2002: clipped n-gram precisions for
 * n = 1..4, their geometric mean, the brevity penalty; no smoothing). */
#ifndef RECUR_PAIRMETRICS_H
#define RECUR_PAIRMETRICS_H

#include <stdint.h>

typedef struct {
    double pairs, exact, edits, ref_tokens, out_tokens;
    double match[4], total[4]; /* BLEU: clipped n-gram matches and candidate n-grams */
} pair_metrics;

/* Levenshtein distance between a[0..na) and b[0..nb). */
int edit_distance(const int32_t *a, int na, const int32_t *b, int nb);
/* Adds one (reference, output) pair. */
void pair_metrics_add(pair_metrics *pm, const int32_t *ref, int nref, const int32_t *out, int nout);
double pair_metrics_exact(const pair_metrics *pm);
double pair_metrics_ter(const pair_metrics *pm);
double pair_metrics_bleu(const pair_metrics *pm);

#endif
