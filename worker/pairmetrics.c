#include "pairmetrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int edit_distance(const int32_t *a, int na, const int32_t *b, int nb) {
    int small[64], *row = nb + 1 <= 64 ? small : malloc((size_t)(nb + 1) * sizeof(int));
    if (!row) return na > nb ? na : nb; /* out of memory: an upper bound */
    for (int j = 0; j <= nb; j++) row[j] = j;
    for (int i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= nb; j++) {
            const int up = row[j], sub = diag + (a[i - 1] != b[j - 1]);
            int best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    const int d = row[nb];
    if (row != small) free(row);
    return d;
}

/* Occurrences of the n-gram at x[i..i+n) in y[0..ny). */
static int count_in(const int32_t *g, int n, const int32_t *y, int ny) {
    int c = 0;
    for (int j = 0; j + n <= ny; j++) c += !memcmp(g, y + j, (size_t)n * sizeof(int32_t));
    return c;
}

void pair_metrics_add(pair_metrics *pm, const int32_t *ref, int nref, const int32_t *out, int nout) {
    pm->pairs += 1;
    pm->exact += nref == nout && !memcmp(ref, out, (size_t)nref * sizeof(int32_t));
    pm->edits += edit_distance(ref, nref, out, nout);
    pm->ref_tokens += nref;
    pm->out_tokens += nout;
    for (int n = 1; n <= 4; n++)
        for (int i = 0; i + n <= nout; i++) {
            /* Clipped: an n-gram counts at most as often as the reference has it; count each distinct one once. */
            int first = 1;
            for (int k = 0; k < i && first; k++) first = memcmp(out + k, out + i, (size_t)n * sizeof(int32_t)) != 0;
            pm->total[n - 1] += 1;
            if (!first) continue;
            const int in_out = count_in(out + i, n, out, nout), in_ref = count_in(out + i, n, ref, nref);
            pm->match[n - 1] += in_out < in_ref ? in_out : in_ref;
        }
}

double pair_metrics_exact(const pair_metrics *pm) { return pm->pairs > 0 ? pm->exact / pm->pairs : NAN; }
double pair_metrics_ter(const pair_metrics *pm) { return pm->ref_tokens > 0 ? pm->edits / pm->ref_tokens : NAN; }

double pair_metrics_bleu(const pair_metrics *pm) {
    double logp = 0;
    for (int n = 0; n < 4; n++) {
        if (pm->match[n] <= 0 || pm->total[n] <= 0) return 0;
        logp += 0.25 * log(pm->match[n] / pm->total[n]);
    }
    const double bp = pm->out_tokens >= pm->ref_tokens ? 1 : exp(1 - pm->ref_tokens / pm->out_tokens);
    return bp * exp(logp);
}
