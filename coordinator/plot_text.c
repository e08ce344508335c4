/* plot_text.c - curves in a terminal: braille dots (2x4 per cell), one layer
 * per (kind, run) so each cell shows the most important series in it in that
 * series' colour; validation points get a marker glyph so they stay apparent
 * without colour.  One panel routine draws loss, lr and grad norm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

enum { GUTTER = 9 }; /* 8 columns of y labels and the axis line */

/* Layer kinds, in drawing priority: a later kind wins a shared cell. */
enum { K_RAW, K_SMOOTH, K_VAL, K_COUNT };

#define VAL_MARK "\u25c6" /* the validation point glyph */

typedef struct {
    int w, h, nruns;
    unsigned char *bits; /* K_COUNT * nruns layers of w*h cells of braille bits */
    signed char *mark;   /* per cell: the run whose validation point is there, -1 none */
} canvas;

/* ---- colours --------------------------------------------------------------- */

static const char *const RUN_SGR[] = {"36", "35", "32", "34", "31", "37"};
#define NSGR ((int)(sizeof RUN_SGR / sizeof RUN_SGR[0]))

/* The SGR parameters of a layer: the run's colour; raw dimmed; a lone run's
 * validation yellow, several runs' validation bold in the run's colour. */
static void layer_sgr(int kind, int run, int nruns, char *buf, size_t len) {
    const char *c = RUN_SGR[run % NSGR];
    if (kind == K_RAW) snprintf(buf, len, "\x1b[2;%sm", c);
    else if (kind == K_VAL) snprintf(buf, len, nruns == 1 ? "\x1b[33m" : "\x1b[1;%sm", c);
    else snprintf(buf, len, "\x1b[%sm", c);
}

/* ---- the canvas ---------------------------------------------------------------- */

static int canvas_init(canvas *cv, int w, int h, int nruns) {
    cv->w = w, cv->h = h, cv->nruns = nruns;
    cv->bits = calloc((size_t)K_COUNT * nruns * w * h, 1);
    cv->mark = malloc((size_t)w * h);
    if (cv->mark) memset(cv->mark, -1, (size_t)w * h);
    return cv->bits && cv->mark ? 0 : -1;
}

static void canvas_free(canvas *cv) {
    free(cv->bits);
    free(cv->mark);
}

static unsigned char *layer_of(canvas *cv, int kind, int run) {
    return cv->bits + (size_t)(kind * cv->nruns + run) * cv->w * cv->h;
}

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

/* Dot coordinates of a value: x in 0..2w-1, y in 0..4h-1 from the top. */
static int dot_x(const canvas *cv, const axis *xa, double step) { return (int)lround(axis_frac(xa, step) * (2 * cv->w - 1)); }
static int dot_y(const canvas *cv, const axis *ya, double v) { return (int)lround((1 - axis_frac(ya, v)) * (4 * cv->h - 1)); }

typedef struct {
    int connect;   /* lines between consecutive points (else points only) */
    int join_gaps; /* the line carries across absent values (sparse validation) */
    int mark;      /* a marker glyph on each point's cell */
} stroke;

/* A line only ever joins two real points: absent values (NAN) before the
 * first one draw nothing, and break the line unless join_gaps. */
static void canvas_series(canvas *cv, int kind, int run, const curve *c, const double *v, const axis *xa,
                          const axis *ya, stroke s) {
    unsigned char *layer = layer_of(cv, kind, run);
    int have = 0, px = 0, py = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!isfinite(v[i])) {
            if (!s.join_gaps) have = 0;
            continue;
        }
        int x = dot_x(cv, xa, (double)c->pts[i].step), y = dot_y(cv, ya, v[i]);
        if (have && s.connect) canvas_line(cv, layer, px, py, x, y);
        else canvas_dot(cv, layer, x, y);
        if (s.mark && x >= 0 && x < 2 * cv->w && y >= 0 && y < 4 * cv->h) cv->mark[(y / 4) * cv->w + x / 2] = (signed char)run;
        px = x, py = y, have = 1;
    }
}

static void put_braille(FILE *f, unsigned bits) {
    fputc(0xE2, f);
    fputc(0xA0 | (bits >> 6), f);
    fputc(0x80 | (bits & 0x3F), f);
}

/* One cell: a validation marker, else the dots of the highest layer there. */
static void put_cell(FILE *f, canvas *cv, int cell, int color, char *cur, size_t curlen) {
    char sgr[32] = "\x1b[0m";
    int kind = -1, run = 0;
    if (cv->mark[cell] >= 0) kind = K_VAL, run = cv->mark[cell];
    for (int k = K_COUNT * cv->nruns - 1; kind < 0 && k >= 0; k--)
        if (cv->bits[(size_t)k * cv->w * cv->h + cell]) kind = k / cv->nruns, run = k % cv->nruns;
    if (kind >= 0) layer_sgr(kind, run, cv->nruns, sgr, sizeof sgr);
    if (color && kind >= 0 && strcmp(sgr, cur)) fputs(sgr, f), snprintf(cur, curlen, "%s", sgr);
    if (cv->mark[cell] >= 0) fputs(VAL_MARK, f);
    else if (kind >= 0) put_braille(f, layer_of(cv, kind, run)[cell]);
    else fputc(' ', f);
}

/* ---- a panel --------------------------------------------------------------------- */

/* Every run's series of panel p.  Without colour the raw curve under an EMA
 * is points only, and validation markers only, so the shapes tell them apart. */
static void draw_runs(canvas *cv, const curve_run *runs, int nruns, const curve_style *st, const panel_spec *p,
                      const axis *xa, const axis *ya) {
    int smooth = p->smoothed && st->smooth > 0;
    for (int r = 0; r < nruns; r++) {
        const curve *c = runs[r].c;
        double *raw = plot_values(c, p->m, 0, st->log_y);
        double *ema = smooth ? plot_values(c, p->m, st->smooth, st->log_y) : NULL;
        double *val = p->with_val ? plot_values(c, M_VAL, 0, st->log_y) : NULL;
        if (raw) canvas_series(cv, K_RAW, r, c, raw, xa, ya, (stroke){!smooth || st->color, 0, 0});
        if (ema) canvas_series(cv, K_SMOOTH, r, c, ema, xa, ya, (stroke){1, 0, 0});
        if (val) canvas_series(cv, K_VAL, r, c, val, xa, ya, (stroke){st->color, 1, 1});
        free(raw);
        free(ema);
        free(val);
    }
}

/* The row a y tick's label goes on: where its value's dots are drawn. */
static int tick_row(const canvas *cv, const axis *ya, double v) { return dot_y(cv, ya, v) / 4; }

static void print_rows(FILE *f, canvas *cv, const axis *ya, int color) {
    char lab[32], cur[32] = "";
    for (int row = 0; row < cv->h; row++) {
        lab[0] = 0;
        for (int t = 0; t < ya->nticks; t++)
            if (tick_row(cv, ya, ya->ticks[t]) == row) axis_label(ya, ya->ticks[t], lab, sizeof lab);
        fprintf(f, "%8.8s%s", lab, lab[0] ? "\u2524" : "\u2502");
        cur[0] = 0;
        for (int k = 0; k < cv->w; k++) put_cell(f, cv, row * cv->w + k, color, cur, sizeof cur);
        fputs(color ? "\x1b[0m\x1b[K\n" : "\n", f);
    }
}

static void text_panel(FILE *f, const curve_run *runs, int nruns, const curve_style *st, const panel_spec *p,
                       const axis *xa, int w, int h) {
    double lo, hi;
    axis ya;
    canvas cv;
    if (!plot_range(runs, nruns, p, st->log_y, &lo, &hi)) lo = st->log_y ? 1 : 0, hi = st->log_y ? 10 : 1;
    int max_ticks = h / 3 < 3 ? 3 : h / 3 > 8 ? 8 : h / 3;
    axis_fit(&ya, lo, hi, st->log_y, max_ticks, 0);
    if (!canvas_init(&cv, w, h, nruns)) {
        draw_runs(&cv, runs, nruns, st, p, xa, &ya);
        print_rows(f, &cv, &ya, st->color);
    }
    canvas_free(&cv);
}

/* ---- the step axis and the legend ---------------------------------------------- */

/* Copies a label into line at start unless it would touch one already there. */
static int place_label(char *line, int w, int start, const char *lab) {
    int len = (int)strlen(lab);
    if (start < 0) start = 0;
    if (start + len > w) start = w - len;
    if (start < 0) return -1;
    for (int i = start - 1; i <= start + len; i++)
        if (i >= 0 && i < w && line[i] != ' ') return -1;
    memcpy(line + start, lab, (size_t)len);
    return 0;
}

/* The axis line with a mark under each tick, then the labels: the last step
 * first, right-aligned so it is never cut, then the ticks that fit beside it. */
static void print_step_axis(FILE *f, const axis *xa, int w, int color) {
    char *line = malloc((size_t)w + 1), lab[32];
    if (!line) return;
    memset(line, ' ', (size_t)w);
    line[w] = 0;
    fprintf(f, "%8s\u2514", "");
    for (int k = 0, t = 0; k < w; k++) {
        while (t < xa->nticks && (int)lround(axis_frac(xa, xa->ticks[t]) * (2 * w - 1)) / 2 < k) t++;
        int tick = t < xa->nticks && (int)lround(axis_frac(xa, xa->ticks[t]) * (2 * w - 1)) / 2 == k;
        fputs(tick ? "\u252c" : "\u2500", f);
    }
    fputs(color ? "\x1b[K\n" : "\n", f);
    snprintf(lab, sizeof lab, "%.0f", xa->hi);
    place_label(line, w, w - (int)strlen(lab), lab);
    for (int t = 0; t < xa->nticks; t++) {
        axis_label(xa, xa->ticks[t], lab, sizeof lab);
        int col = (int)lround(axis_frac(xa, xa->ticks[t]) * (2 * w - 1)) / 2;
        place_label(line, w, col - (int)strlen(lab) / 2, lab);
    }
    fprintf(f, "%8s %s%s\n", "step", line, color ? "\x1b[K" : "");
    free(line);
}

/* One legend entry, a sample glyph in the layer's colour and its text, when
 * it fits in *room columns (then taken from it). */
static void legend_entry(FILE *f, int *room, int kind, int run, int nruns, int color, const char *glyph, const char *text) {
    char sgr[32];
    int width = 2 + (int)strlen(text) + 2;
    if (width > *room) return;
    *room -= width;
    layer_sgr(kind, run, nruns, sgr, sizeof sgr);
    fprintf(f, "%s%s %s%s  ", color ? sgr : "", glyph, text, color ? "\x1b[0m" : "");
}

static void print_legend(FILE *f, const curve_run *runs, int nruns, const curve_style *st, int w) {
    char text[160];
    int room = w;
    fprintf(f, "%8s ", "");
    for (int r = 0; r < nruns; r++) {
        snprintf(text, sizeof text, "%s%s", nruns == 1 ? "train" : runs[r].name, st->smooth > 0 ? " (EMA)" : "");
        legend_entry(f, &room, K_SMOOTH, r, nruns, st->color, "\u28ff", text);
    }
    if (st->smooth > 0) {
        snprintf(text, sizeof text, "raw%s", st->color ? "" : " (dots)");
        legend_entry(f, &room, K_RAW, 0, nruns, st->color, st->color ? "\u28ff" : "\u2802", text);
    }
    legend_entry(f, &room, K_VAL, 0, nruns, st->color, VAL_MARK, "validation");
    snprintf(text, sizeof text, "EMA weight %g", st->smooth);
    if (st->smooth > 0 && (int)strlen(text) <= room) fputs(text, f);
    fputs(st->color ? "\x1b[K\n" : "\n", f);
}

/* A separator naming the panel below it. */
static void print_panel_title(FILE *f, const panel_spec *p, int w, int color) {
    int len = (int)strlen(p->title) + 3;
    if (len > w) len = 0; /* too narrow for the title: just the line */
    fprintf(f, "%8s\u251c", "");
    if (len) fprintf(f, "\u2500 %s ", p->title);
    for (int k = len; k < w; k++) fputs("\u2500", f);
    fputs(color ? "\x1b[K\n" : "\n", f);
}

/* ---- the whole view ---------------------------------------------------------------- */

void plot_text(const curve_run *runs, int nruns, const curve_style *st, FILE *f, int cols, int rows) {
    int w = cols - GUTTER, avail = rows - 3; /* legend, axis line, axis labels */
    int extra[PANEL_COUNT] = {0}, nextra = 0, panel_h = 0;
    double lo, hi;
    if (w < 10 || avail < 3 || nruns < 1) return;
    for (int p = PANEL_LR; st->panels && p < PANEL_COUNT; p++)
        nextra += extra[p] = plot_range(runs, nruns, &PLOT_PANELS[p], st->log_y, &lo, &hi);
    if (nextra) {
        panel_h = (avail - nextra) / 5 > 3 ? (avail - nextra) / 5 : 3;
        if (avail - nextra * (panel_h + 1) < 3) nextra = 0, extra[PANEL_LR] = extra[PANEL_GRAD] = 0;
    }
    axis xa;
    plot_step_axis(&xa, runs, nruns, w / 7); /* room for a label of 4-5 digits and a gap */
    print_legend(f, runs, nruns, st, w);
    text_panel(f, runs, nruns, st, &PLOT_PANELS[PANEL_LOSS], &xa, w, avail - nextra * (panel_h + 1));
    for (int p = PANEL_LR; p < PANEL_COUNT; p++) {
        if (!extra[p]) continue;
        print_panel_title(f, &PLOT_PANELS[p], w, st->color);
        text_panel(f, runs, nruns, st, &PLOT_PANELS[p], &xa, w, panel_h);
    }
    print_step_axis(f, &xa, w, st->color);
}
