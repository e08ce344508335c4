/* curve.c - metrics records -> loss curve -> CSV / SVG / braille text.
 *
 * The records come from the network as well as from files, so the parser is a
 * small bounded hand parser: it walks the whole JSON value (so a truncated or
 * otherwise broken message is rejected, not half-read), never reads past
 * `len`, limits nesting, and only decodes the few fields recur needs.
 * The drawing lives in plot_*.c. */
#include "curve.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON ---------------------------------------------------------------- */

typedef struct {
    const char *p, *end;
    int depth;
} jcur;

enum { JSON_MAX_DEPTH = 64 };

static void jws(jcur *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int jlit(jcur *j, const char *s) {
    size_t n = strlen(s);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n)) return -1;
    j->p += n;
    return 0;
}

/* Decodes one escape; \uXXXX becomes '?' (recur's fields are ASCII). */
static int jescape(jcur *j, char *ch) {
    if (j->p >= j->end) return -1;
    char e = *j->p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = e ? strchr(from, e) : NULL;
    if (k) {
        *ch = to[k - from];
        return 0;
    }
    if (e != 'u' || j->end - j->p < 4) return -1;
    for (int i = 0; i < 4; i++)
        if (!isxdigit((unsigned char)j->p[i])) return -1;
    j->p += 4;
    *ch = '?';
    return 0;
}

/* A string into out (truncated to cap-1 bytes; out may be NULL). */
static int jstring(jcur *j, char *out, size_t cap) {
    if (j->p >= j->end || *j->p != '"') return -1;
    j->p++;
    size_t n = 0;
    while (j->p < j->end) {
        char ch = *j->p++;
        if (ch == '"') {
            if (out && cap) out[n] = 0;
            return 0;
        }
        if ((unsigned char)ch < 0x20) return -1;
        if (ch == '\\' && jescape(j, &ch)) return -1;
        if (out && n + 1 < cap) out[n++] = ch;
    }
    return -1;
}

/* strtod needs a NUL-terminated copy; JSON numbers only use these chars. */
static int jnumber(jcur *j, double *v) {
    char buf[64];
    size_t n = 0;
    while (j->p + n < j->end && n < sizeof buf - 1 && j->p[n] && strchr("+-0123456789.eE", j->p[n])) n++;
    if (!n) return -1;
    memcpy(buf, j->p, n);
    buf[n] = 0;
    char *e;
    *v = strtod(buf, &e);
    if (e != buf + n) return -1;
    j->p += n;
    return 0;
}

static int jvalue(jcur *j);

static int jcontainer(jcur *j) {
    char close = *j->p == '{' ? '}' : ']';
    if (++j->depth > JSON_MAX_DEPTH) return -1;
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            jws(j);
            if (jstring(j, NULL, 0)) return -1;
            jws(j);
            if (j->p >= j->end || *j->p++ != ':') return -1;
        }
        if (jvalue(j)) return -1;
        jws(j);
        if (j->p >= j->end) return -1;
        char c = *j->p++;
        if (c == close) {
            j->depth--;
            return 0;
        }
        if (c != ',') return -1;
    }
}

/* Skips any JSON value. */
static int jvalue(jcur *j) {
    jws(j);
    if (j->p >= j->end) return -1;
    double d;
    switch (*j->p) {
    case '"': return jstring(j, NULL, 0);
    case '{':
    case '[': return jcontainer(j);
    case 't': return jlit(j, "true");
    case 'f': return jlit(j, "false");
    case 'n': return jlit(j, "null");
    default: return jnumber(j, &d);
    }
}

/* ---- records ------------------------------------------------------------- */

static const struct {
    const char *key;
    unsigned bit;
    size_t off;
} NUM_FIELDS[] = {
    {"loss", HAS_LOSS, offsetof(curve_record, loss)},
    {"grad_norm", HAS_GRAD, offsetof(curve_record, grad_norm)},
    {"lr", HAS_LR, offsetof(curve_record, lr)},
    {"tokens_per_s", HAS_TOKS, offsetof(curve_record, tokens_per_s)},
    {"elapsed_s", HAS_ELAPSED, offsetof(curve_record, elapsed_s)},
    {"eta_s", HAS_ETA, offsetof(curve_record, eta_s)},
    {"val_loss", HAS_VAL, offsetof(curve_record, val_loss)},
};

/* A number, or null (recur writes NaN/Inf as null): NAN. */
static int jnum_or_null(jcur *j, double *v) {
    jws(j);
    if (j->p < j->end && *j->p == 'n') {
        *v = NAN;
        return jlit(j, "null");
    }
    return jnumber(j, v);
}

/* step/epoch: non-negative integers. */
static int jcount(jcur *j, long *v) {
    double d;
    if (jnum_or_null(j, &d) || !(d >= 0 && d < 1e15 && d == floor(d))) return -1;
    *v = (long)d;
    return 0;
}

/* run_id may be a string or a number; either way it is shown as text. */
static int jtext(jcur *j, char *out, size_t cap) {
    jws(j);
    double d;
    if (j->p < j->end && *j->p == '"') return jstring(j, out, cap);
    const char *start = j->p;
    if (jnumber(j, &d)) return -1;
    /* As written: an id of 1e400 is not "inf", and 12345678901234567890 keeps its digits. */
    snprintf(out, cap, "%.*s", (int)(j->p - start), start);
    return 0;
}

static int jfield(jcur *j, const char *key, curve_record *r) {
    for (size_t i = 0; i < sizeof NUM_FIELDS / sizeof NUM_FIELDS[0]; i++)
        if (!strcmp(key, NUM_FIELDS[i].key)) {
            r->has |= NUM_FIELDS[i].bit;
            return jnum_or_null(j, (double *)((char *)r + NUM_FIELDS[i].off));
        }
    if (!strcmp(key, "step")) return r->has |= HAS_STEP, jcount(j, &r->step);
    if (!strcmp(key, "epoch")) return r->has |= HAS_EPOCH, jcount(j, &r->epoch);
    if (!strcmp(key, "event")) return jws(j), jstring(j, r->event, sizeof r->event);
    if (!strcmp(key, "run_id")) return jtext(j, r->run_id, sizeof r->run_id);
    return jvalue(j);
}

static int jrecord(jcur *j, curve_record *r) {
    jws(j);
    if (j->p >= j->end || *j->p++ != '{') return -1;
    jws(j);
    if (j->p < j->end && *j->p == '}') return j->p++, 0;
    for (;;) {
        char key[32];
        jws(j);
        if (jstring(j, key, sizeof key)) return -1;
        jws(j);
        if (j->p >= j->end || *j->p++ != ':') return -1;
        j->depth = 1;
        if (jfield(j, key, r)) return -1;
        jws(j);
        if (j->p >= j->end) return -1;
        char c = *j->p++;
        if (c == '}') return 0;
        if (c != ',') return -1;
    }
}

static rec_kind classify(const curve_record *r) {
    if (r->event[0]) {
        if (!strcmp(r->event, "validation"))
            return (r->has & (HAS_STEP | HAS_VAL)) == (HAS_STEP | HAS_VAL) ? REC_VALIDATION : REC_MALFORMED;
        if (!strcmp(r->event, "start")) return REC_START;
        if (!strcmp(r->event, "end") || !strcmp(r->event, "interrupted")) return REC_END;
        return REC_EVENT;
    }
    if ((r->has & (HAS_STEP | HAS_LOSS)) == (HAS_STEP | HAS_LOSS)) return REC_STEP;
    return REC_FOREIGN;
}

rec_kind curve_parse(const char *text, size_t len, curve_record *r) {
    memset(r, 0, sizeof *r);
    r->loss = r->grad_norm = r->lr = r->tokens_per_s = r->elapsed_s = r->eta_s = r->val_loss = NAN;
    jcur j = {text, text + len, 0};
    if (!text || jrecord(&j, r)) return r->kind = REC_MALFORMED;
    jws(&j);
    if (j.p != j.end) return r->kind = REC_MALFORMED; /* trailing bytes: two records glued, or garbage */
    return r->kind = classify(r);
}

/* ---- the curve ----------------------------------------------------------- */

void curve_init(curve *c) { memset(c, 0, sizeof *c); }

void curve_free(curve *c) {
    free(c->pts);
    curve_init(c);
}

/* The point of `step`, inserted in order when new (NULL when out of memory).
 * Steps mostly arrive in order, so appending is checked first. */
static curve_point *point_at(curve *c, long step) {
    size_t lo = 0, hi = c->n;
    if (c->n && c->pts[c->n - 1].step < step) lo = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->pts[mid].step < step) lo = mid + 1;
        else hi = mid;
    }
    if (lo < c->n && c->pts[lo].step == step) return &c->pts[lo];
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        curve_point *p = realloc(c->pts, cap * sizeof *p);
        if (!p) return NULL;
        c->pts = p;
        c->cap = cap;
    }
    memmove(c->pts + lo + 1, c->pts + lo, (c->n - lo) * sizeof *c->pts);
    c->n++;
    c->pts[lo].step = step;
    for (int m = 0; m < M_COUNT; m++) c->pts[lo].v[m] = NAN;
    return &c->pts[lo];
}

const char *curve_metric_key(metric m) {
    static const char *const keys[M_COUNT] = {[M_LOSS] = "loss", [M_VAL] = "val_loss", [M_LR] = "lr",
                                              [M_GRAD] = "grad_norm"};
    return (unsigned)m < M_COUNT ? keys[m] : "?";
}

/* v as the curve keeps it: NAN (absent) when it is not a number the plots can
 * take, counted against the metric with its step.  NaN itself is how absence
 * (a missing field or null) arrives, so only the overflows are counted. */
static double kept_value(curve *c, metric m, long step, double v) {
    if (isnan(v) || fabs(v) <= CURVE_MAX_ABS) return v;
    curve_skips *s = &c->skipped[m];
    if (s->count < CURVE_SKIPS_SHOWN) s->steps[s->count] = step;
    s->count++;
    return NAN;
}

long curve_skipped(const curve *c) {
    long n = 0;
    for (int m = 0; m < M_COUNT; m++) n += c->skipped[m].count;
    return n;
}

/* Appends printf output to buf at *used, never past len. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...) {
    if (*used >= len) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0) *used = *used + (size_t)n < len ? *used + (size_t)n : len;
}

int curve_skip_note(const curve *c, char *buf, size_t len) {
    long total = curve_skipped(c);
    size_t used = 0;
    if (len) buf[0] = 0;
    if (!total) return 0;
    append(buf, len, &used, "skipped %ld non-finite or overflowing value%s (", total, total == 1 ? "" : "s");
    const char *sep = "";
    for (int m = 0; m < M_COUNT; m++) {
        const curve_skips *s = &c->skipped[m];
        if (!s->count) continue;
        append(buf, len, &used, "%s%s at step%s ", sep, curve_metric_key((metric)m), s->count == 1 ? "" : "s");
        for (long i = 0; i < s->count && i < CURVE_SKIPS_SHOWN; i++)
            append(buf, len, &used, "%s%ld", i ? ", " : "", s->steps[i]);
        if (s->count > CURVE_SKIPS_SHOWN) append(buf, len, &used, ", ...");
        sep = "; ";
    }
    append(buf, len, &used, ")");
    return 1;
}

void curve_take(curve *c, const curve_record *r) {
    if (r->kind == REC_MALFORMED) c->malformed++;
    else if (r->kind == REC_FOREIGN) c->foreign++;
    else c->records++;
    curve_point *p = NULL;
    if (r->kind == REC_STEP || r->kind == REC_VALIDATION) p = point_at(c, r->step);
    if (r->run_id[0]) snprintf(c->run_id, sizeof c->run_id, "%s", r->run_id);
    if (!p) return;
    if (r->kind == REC_VALIDATION) {
        p->v[M_VAL] = kept_value(c, M_VAL, r->step, r->val_loss);
        return;
    }
    p->v[M_LOSS] = kept_value(c, M_LOSS, r->step, r->loss);
    p->v[M_LR] = kept_value(c, M_LR, r->step, r->lr);
    p->v[M_GRAD] = kept_value(c, M_GRAD, r->step, r->grad_norm);
}

rec_kind curve_feed(curve *c, const char *text, size_t len, curve_record *r) {
    curve_record tmp;
    if (!r) r = &tmp;
    curve_parse(text, len, r);
    curve_take(c, r);
    return r->kind;
}

int curve_load(curve *c, const char *path, recur_err *err) { return curve_load_each(c, path, NULL, NULL, err); }

int curve_load_each(curve *c, const char *path, void (*each)(void *, const curve_record *), void *ctx,
                    recur_err *err) {
    FILE *f = fopen(path, "r");
    if (!f) return recur_fail(err, RECUR_EXIT_INPUT, "%s: cannot open metrics file (%s)", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long before = c->records;
    while ((n = getline(&line, &cap, f)) > 0) {
        jcur blank = {line, line + n, 0};
        jws(&blank);
        curve_record r;
        if (blank.p == blank.end) continue;
        curve_feed(c, line, (size_t)n, &r);
        if (each) each(ctx, &r);
    }
    free(line);
    int bad = ferror(f);
    fclose(f);
    if (bad) return recur_fail(err, RECUR_EXIT_INPUT, "%s: read error", path);
    if (c->records == before && (c->malformed || c->foreign))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected JSON metrics records (one per line), found none", path);
    return 0;
}

/* ---- smoothing ----------------------------------------------------------- */

void curve_ema(const curve *c, metric m, double w, double *out) {
    for (size_t i = 0; i < c->n; i++) out[i] = c->pts[i].v[m];
    curve_ema_series(out, c->n, w, out);
}

void curve_ema_series(const double *in, size_t n, double w, double *out) {
    double last = 0, weight_k = 1; /* weight_k = w^k after k finite values */
    for (size_t i = 0; i < n; i++) {
        double v = in[i];
        if (!isfinite(v) || w <= 0) {
            out[i] = v;
            continue;
        }
        last = w * last + (1 - w) * v;
        weight_k *= w;
        out[i] = last / (1 - weight_k); /* debiased: the zero start would drag the first values down */
    }
}

long curve_nonpositive(const curve *c, metric m) {
    long n = 0;
    for (size_t i = 0; i < c->n; i++) n += c->pts[i].v[m] <= 0;
    return n;
}

/* ---- CSV ----------------------------------------------------------------- */

static void csv_cell(FILE *f, double v) {
    fputc(',', f);
    if (isfinite(v)) fprintf(f, "%.9g", v);
}

/* A run name as one CSV field (quoted when it holds a comma or a quote). */
static void csv_name(FILE *f, const char *name) {
    if (!strpbrk(name, ",\"\n")) {
        fprintf(f, "%s,", name);
        return;
    }
    fputc('"', f);
    for (; *name; name++) {
        if (*name == '"') fputc('"', f); /* a quote is written twice */
        fputc(*name, f);
    }
    fputs("\",", f);
}

void curve_csv(const curve_run *runs, int nruns, const curve_style *st, FILE *f) {
    fprintf(f, "%sstep,loss,val_loss,loss_smooth,lr,grad_norm\n", nruns > 1 ? "run," : "");
    for (int r = 0; r < nruns; r++) {
        const curve *c = runs[r].c;
        double *smooth = malloc((c->n ? c->n : 1) * sizeof *smooth);
        if (!smooth) continue;
        curve_ema(c, M_LOSS, st->smooth, smooth);
        for (size_t i = 0; i < c->n; i++) {
            const double *v = c->pts[i].v;
            if (nruns > 1) csv_name(f, runs[r].name);
            fprintf(f, "%ld", c->pts[i].step);
            csv_cell(f, v[M_LOSS]);
            csv_cell(f, v[M_VAL]);
            csv_cell(f, smooth[i]);
            csv_cell(f, v[M_LR]);
            csv_cell(f, v[M_GRAD]);
            fputc('\n', f);
        }
        free(smooth);
    }
}

/* ---- output files -------------------------------------------------------- */

int curve_write(const char *path, void (*render)(void *ctx, FILE *f), void *ctx, recur_err *err) {
    if (!strcmp(path, "-")) {
        render(ctx, stdout);
        return fflush(stdout) ? recur_fail(err, RECUR_EXIT_OUTPUT, "stdout: write failed") : 0;
    }
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: cannot write (%s)", path, strerror(errno));
    render(ctx, f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        int e = errno;
        remove(tmp);
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: write failed (%s)", path, strerror(e));
    }
    return 0;
}
