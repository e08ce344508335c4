/* suggest.c - closest-name suggestions; see suggest.h. */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

#define NAME_MAX_LEN 63

/* Lower case, '_' read as '-', at most NAME_MAX_LEN bytes; returns the length. */
static int normalise(const char *in, char out[NAME_MAX_LEN + 1]) {
    int n = 0;
    for (; in[n] && n < NAME_MAX_LEN; n++) out[n] = in[n] == '_' ? '-' : (char)tolower((unsigned char)in[n]);
    out[n] = 0;
    return n;
}

static int min3(int a, int b, int c) {
    int m = a < b ? a : b;
    return m < c ? m : c;
}

int suggest_distance(const char *a_raw, const char *b_raw) {
    char a[NAME_MAX_LEN + 1], b[NAME_MAX_LEN + 1];
    int na = normalise(a_raw, a), nb = normalise(b_raw, b);
    /* d[i][j]: distance between the first i bytes of a and the first j of b. */
    int d[NAME_MAX_LEN + 1][NAME_MAX_LEN + 1];
    for (int i = 0; i <= na; i++) d[i][0] = i;
    for (int j = 0; j <= nb; j++) d[0][j] = j;
    for (int i = 1; i <= na; i++)
        for (int j = 1; j <= nb; j++) {
            int cost = a[i - 1] != b[j - 1];
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    return d[na][nb];
}

/* How many edits still read as a typo of a name this long: one in a short
 * name, more in longer ones, never enough to turn one word into another. */
static int edits_allowed(int len) {
    return len <= 3 ? 1 : len <= 6 ? 2 : 3;
}

/* `candidate` followed by '-' starts `typed` (both normalised). */
static int is_word_prefix(const char *typed, const char *candidate) {
    char t[NAME_MAX_LEN + 1], c[NAME_MAX_LEN + 1];
    normalise(typed, t);
    int nc = normalise(candidate, c);
    return nc > 0 && strncmp(t, c, (size_t)nc) == 0 && t[nc] == '-';
}

void suggest_begin(suggestion *s, const char *typed) {
    s->typed = typed;
    s->best = NULL;
    s->best_score = 0;
}

/* Scores: 2 per edit, so that a word-prefix match (1) ranks between an exact
 * match after normalisation (0, e.g. `lr_min` for `lr-min`) and one edit. */
void suggest_consider(suggestion *s, const char *candidate) {
    int score = -1;
    int d = suggest_distance(s->typed, candidate);
    int len = (int)strnlen(candidate, NAME_MAX_LEN);
    if (d <= edits_allowed(len) && d < len) /* d < len: something of the name must remain */
        score = 2 * d;
    else if (is_word_prefix(s->typed, candidate))
        score = 1;
    if (score >= 0 && (!s->best || score < s->best_score)) {
        s->best = candidate;
        s->best_score = score;
    }
}

const char *suggest_best(const suggestion *s) {
    return s->best;
}
