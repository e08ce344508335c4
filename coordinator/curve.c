/* curve.c - metrics records -> loss curve -> CSV / SVG / braille text.
 *
 * The records come from the network as well as from files, so the parser is a
 * small bounded hand parser: it walks the whole JSON value (so a truncated or
 * otherwise broken message is rejected, not half-read), never reads past
 * `len`, limits nesting, and only decodes the few fields recur needs. */
#include "curve.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
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
    if (jnumber(j, &d)) return -1;
    snprintf(out, cap, "%.15g", d);
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
    c->pts[lo] = (curve_point){step, NAN, NAN};
    return &c->pts[lo];
}

void curve_take(curve *c, const curve_record *r) {
    if (r->kind == REC_MALFORMED) c->malformed++;
    else if (r->kind == REC_FOREIGN) c->foreign++;
    else c->records++;
    curve_point *p = NULL;
    if (r->kind == REC_STEP || r->kind == REC_VALIDATION) p = point_at(c, r->step);
    if (!p) return;
    if (r->kind == REC_STEP) p->loss = r->loss;
    else p->val = r->val_loss;
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

/* ---- CSV ----------------------------------------------------------------- */

static void csv_cell(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
}

void curve_csv(const curve *c, FILE *f) {
    fprintf(f, "step,loss,val_loss\n");
    for (size_t i = 0; i < c->n; i++) {
        fprintf(f, "%ld,", c->pts[i].step);
        csv_cell(f, c->pts[i].loss);
        fputc(',', f);
        csv_cell(f, c->pts[i].val);
        fputc('\n', f);
    }
}

/* Writes through path.tmp + rename so a failed write leaves nothing behind;
 * "-" is stdout. */
static int write_file(const curve *c, const char *path, const char *title, int svg, recur_err *err) {
    if (!strcmp(path, "-")) {
        if (svg) curve_svg(c, stdout, title);
        else curve_csv(c, stdout);
        return fflush(stdout) ? recur_fail(err, RECUR_EXIT_OUTPUT, "stdout: write failed") : 0;
    }
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: cannot write (%s)", path, strerror(errno));
    if (svg) curve_svg(c, f, title);
    else curve_csv(c, f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        int e = errno;
        remove(tmp);
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: write failed (%s)", path, strerror(e));
    }
    return 0;
}

int curve_write_csv(const curve *c, const char *path, recur_err *err) { return write_file(c, path, NULL, 0, err); }

int curve_write_svg(const curve *c, const char *path, const char *title, recur_err *err) {
    return write_file(c, path, title, 1, err);
}

/* ---- scales -------------------------------------------------------------- */

typedef struct {
    double x0, x1, y0, y1, ystep, xstep;
} scale;

/* 1, 2 or 5 times a power of ten, about range/target. */
static double nice_step(double range, int target) {
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* Data range of both curves, never empty; snap: y widened to whole ticks
 * (the SVG labels its ticks; the terminal plot labels rows and wants every
 * row used). */
static scale curve_scale(const curve *c, int yticks, int xticks, int snap) {
    scale s = {0, 1, INFINITY, -INFINITY, 0, 0};
    if (c->n) s.x0 = (double)c->pts[0].step, s.x1 = (double)c->pts[c->n - 1].step;
    if (s.x1 <= s.x0) s.x1 = s.x0 + 1;
    for (size_t i = 0; i < c->n; i++) {
        double v[2] = {c->pts[i].loss, c->pts[i].val};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k])) s.y0 = fmin(s.y0, v[k]), s.y1 = fmax(s.y1, v[k]);
    }
    if (!(s.y0 <= s.y1)) s.y0 = 0, s.y1 = 1;
    if (s.y1 - s.y0 < 1e-9 * fmax(1, fabs(s.y0))) s.y0 -= 0.5, s.y1 += 0.5;
    s.ystep = nice_step(s.y1 - s.y0, yticks);
    if (snap) s.y0 = floor(s.y0 / s.ystep) * s.ystep, s.y1 = ceil(s.y1 / s.ystep) * s.ystep;
    s.xstep = nice_step(s.x1 - s.x0, xticks);
    return s;
}

/* ---- SVG ----------------------------------------------------------------- */

enum { SVG_W = 800, SVG_H = 480, SVG_L = 80, SVG_R = 30, SVG_T = 40, SVG_B = 60 };

static double svg_x(const scale *s, double step) {
    return SVG_L + (step - s->x0) / (s->x1 - s->x0) * (SVG_W - SVG_L - SVG_R);
}

static double svg_y(const scale *s, double v) {
    return SVG_T + (s->y1 - v) / (s->y1 - s->y0) * (SVG_H - SVG_T - SVG_B);
}

static void xml_text(FILE *f, const char *t) {
    for (; t && *t; t++) {
        unsigned char ch = (unsigned char)*t;
        if (ch == '<') fputs("&lt;", f);
        else if (ch == '>') fputs("&gt;", f);
        else if (ch == '&') fputs("&amp;", f);
        else if (ch >= 0x20 && ch < 0x7f) fputc(ch, f);
        else fputc('?', f); /* keeps the document valid XML whatever the name */
    }
}

static void svg_axes(FILE *f, const scale *s) {
    double xb = svg_x(s, s->x0), xe = svg_x(s, s->x1), yb = svg_y(s, s->y0), ye = svg_y(s, s->y1);
    fprintf(f, "<g font-family=\"sans-serif\" font-size=\"12\" fill=\"#333\">\n");
    for (double v = s->y0; v <= s->y1 + s->ystep * 1e-6; v += s->ystep) {
        double y = svg_y(s, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", xb, y, xe, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", xb - 6, y + 4, fabs(v) < 1e-12 ? 0 : v);
    }
    for (double v = ceil(s->x0 / s->xstep) * s->xstep; v <= s->x1 + s->xstep * 1e-6; v += s->xstep) {
        double x = svg_x(s, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", x, yb, x, yb + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", x, yb + 18, v);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\">step</text>\n", (xb + xe) / 2,
            SVG_H - 15);
    fprintf(f, "<text transform=\"translate(20 %.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">loss (nats)</text>\n",
            (yb + ye) / 2);
    fprintf(f, "</g>\n");
    /* The axes last, so the light grid lines never cover them. */
    fprintf(f, "<g stroke=\"#888\" stroke-width=\"1\">\n");
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", xb, yb, xe, yb);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n</g>\n", xb, yb, xb, ye);
}

/* One polyline per run of finite values (a NaN loss breaks the line). */
static void svg_series(FILE *f, const curve *c, const scale *s, int val, const char *color) {
    int open = 0;
    for (size_t i = 0; i < c->n; i++) {
        double v = val ? c->pts[i].val : c->pts[i].loss;
        if (!isfinite(v)) {
            if (open && !val) fputs("\"/>\n", f), open = 0;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"",
                    val ? "val" : "train", color, val ? "1.5" : "1.2"), open = 1;
        fprintf(f, "%.2f,%.2f ", svg_x(s, (double)c->pts[i].step), svg_y(s, v));
    }
    if (open) fputs("\"/>\n", f);
    if (!val) return;
    for (size_t i = 0; i < c->n; i++)
        if (isfinite(c->pts[i].val))
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", svg_x(s, (double)c->pts[i].step),
                    svg_y(s, c->pts[i].val), color);
}

static void svg_legend(FILE *f) {
    int x = SVG_W - SVG_R - 130, y = SVG_T + 10;
    fprintf(f, "<g font-family=\"sans-serif\" font-size=\"12\" fill=\"#333\">\n");
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"120\" height=\"44\" fill=\"white\" stroke=\"#ccc\"/>\n", x, y);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n", x + 8, y + 14,
            x + 32, y + 14);
    fprintf(f, "<text x=\"%d\" y=\"%d\">train</text>\n", x + 40, y + 18);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ff7f0e\" stroke-width=\"2\"/>\n", x + 8, y + 32,
            x + 32, y + 32);
    fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"#ff7f0e\"/>\n", x + 20, y + 32);
    fprintf(f, "<text x=\"%d\" y=\"%d\">validation</text>\n</g>\n", x + 40, y + 36);
}

void curve_svg(const curve *c, FILE *f, const char *title) {
    scale s = curve_scale(c, 6, 8, 1);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">\n", SVG_W,
            SVG_H, SVG_W, SVG_H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"24\" font-family=\"sans-serif\" font-size=\"15\" fill=\"#222\">", SVG_L);
    xml_text(f, title ? title : "loss");
    fprintf(f, "</text>\n");
    svg_axes(f, &s);
    svg_series(f, c, &s, 0, "#1f77b4");
    svg_series(f, c, &s, 1, "#ff7f0e");
    svg_legend(f);
    fprintf(f, "</svg>\n");
}

/* ---- braille text plot --------------------------------------------------- */

typedef struct {
    int w, h;              /* in cells */
    unsigned char *train, *val; /* braille bits per cell */
} canvas;

/* Braille dot bit of (column 0..1, row 0..3) inside a cell (U+2800 block). */
static unsigned char dot_bit(int dx, int dy) {
    static const unsigned char bits[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    return bits[dy][dx];
}

static void canvas_dot(canvas *cv, unsigned char *layer, int x, int y) {
    if (x < 0 || y < 0 || x >= 2 * cv->w || y >= 4 * cv->h) return;
    layer[(y / 4) * cv->w + x / 2] |= dot_bit(x % 2, y % 4);
}

/* A straight line of dots, one per unit of the longer axis. */
static void canvas_line(canvas *cv, unsigned char *layer, int x0, int y0, int x1, int y1) {
    int n = abs(x1 - x0) > abs(y1 - y0) ? abs(x1 - x0) : abs(y1 - y0);
    for (int i = 0; i <= n; i++) {
        double t = n ? (double)i / n : 0;
        canvas_dot(cv, layer, (int)lround(x0 + t * (x1 - x0)), (int)lround(y0 + t * (y1 - y0)));
    }
}

static void canvas_series(canvas *cv, const curve *c, const scale *s, int val) {
    unsigned char *layer = val ? cv->val : cv->train;
    int have = 0, px = 0, py = 0;
    for (size_t i = 0; i < c->n; i++) {
        double v = val ? c->pts[i].val : c->pts[i].loss;
        if (!isfinite(v)) {
            have = val; /* validation points are sparse: join them across gaps */
            continue;
        }
        int x = (int)lround(((double)c->pts[i].step - s->x0) / (s->x1 - s->x0) * (2 * cv->w - 1));
        int y = (int)lround((s->y1 - v) / (s->y1 - s->y0) * (4 * cv->h - 1));
        if (have) canvas_line(cv, layer, px, py, x, y);
        else canvas_dot(cv, layer, x, y);
        px = x, py = y, have = 1;
    }
}

static void put_braille(FILE *f, unsigned bits) {
    fputc(0xE2, f);
    fputc(0xA0 | (bits >> 6), f);
    fputc(0x80 | (bits & 0x3F), f);
}

static void canvas_print(const canvas *cv, const scale *s, FILE *f, int color) {
    for (int r = 0; r < cv->h; r++) {
        double v = s->y1 - (s->y1 - s->y0) * (r + 0.5) / cv->h;
        if (r == 0 || r == cv->h - 1 || r == cv->h / 2) fprintf(f, "%8.4f\u2524", v);
        else fprintf(f, "%8s\u2502", "");
        int cur = 0; /* colour in effect: 0 none, 1 train, 2 val */
        for (int k = 0; k < cv->w; k++) {
            unsigned t = cv->train[r * cv->w + k], u = cv->val[r * cv->w + k];
            int want = u ? 2 : t ? 1 : cur;
            if (color && want != cur) fputs(want == 2 ? "\x1b[33m" : "\x1b[36m", f), cur = want;
            if (t | u) put_braille(f, t | u);
            else fputc(' ', f);
        }
        fputs(color ? "\x1b[0m\x1b[K\n" : "\n", f);
    }
}

void curve_draw_text(const curve *c, FILE *f, int cols, int rows, int color) {
    canvas cv = {cols - 9, rows - 1, NULL, NULL};
    if (cv.w < 10 || cv.h < 3) return;
    cv.train = calloc((size_t)cv.w * cv.h, 1);
    cv.val = calloc((size_t)cv.w * cv.h, 1);
    if (cv.train && cv.val) {
        scale s = curve_scale(c, 2, 5, 0);
        canvas_series(&cv, c, &s, 0);
        canvas_series(&cv, c, &s, 1);
        canvas_print(&cv, &s, f, color);
        fprintf(f, "%8s\u2514 step %-*.0f%*.0f%s\n", "", cv.w / 2 - 5, s.x0, cv.w - cv.w / 2 - 1, s.x1,
                color ? "\x1b[K" : "");
    }
    free(cv.train);
    free(cv.val);
}
