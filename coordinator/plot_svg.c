/* plot_svg.c - curves as a standalone SVG: the loss panel (train, smoothed
 * train over the faint raw curve, validation) and, below it, the learning
 * rate and gradient norm panels, all drawn by one panel routine; a legend on
 * the right with one entry per run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

enum {
    SVG_W = 900, SVG_L = 80, SVG_R = 210, /* the legend lives in the right margin, off the data */
    SVG_T = 40, SVG_B = 55,
    LOSS_H = 340, PANEL_H = 110, PANEL_GAP = 50,
    FONT_PX = 12, /* tick labels */
};

typedef struct {
    double x0, y0, x1, y1; /* plot area in SVG units, y0 on top */
} box;

/* Run colours (matplotlib's); a lone run's validation is orange, as before. */
static const char *const PALETTE[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b",
                                      "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define NCOLORS ((int)(sizeof PALETTE / sizeof PALETTE[0]))

static const char *run_color(int r) { return PALETTE[r % NCOLORS]; }
static const char *val_color(int r, int nruns) { return nruns == 1 ? "#ff7f0e" : run_color(r); }

static double px(const box *b, const axis *xa, double step) { return b->x0 + axis_frac(xa, step) * (b->x1 - b->x0); }
static double py(const box *b, const axis *ya, double v) { return b->y1 - axis_frac(ya, v) * (b->y1 - b->y0); }

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

/* Grid, ticks and their labels, axis titles, then the axis lines on top. */
static void svg_axes(FILE *f, const box *b, const axis *xa, const axis *ya, const char *ytitle, int xtitle) {
    char lab[32];
    fprintf(f, "<g font-family=\"sans-serif\" font-size=\"%d\" fill=\"#333\">\n", FONT_PX);
    /* A label too close to the previous one is left out (its grid line or
     * tick mark stays): 1..9 ticks per decade crowd at the top of a decade. */
    double last = -INFINITY;
    for (int i = 0; i < ya->nticks; i++) {
        double y = py(b, ya, ya->ticks[i]);
        axis_label(ya, ya->ticks[i], lab, sizeof lab);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", b->x0, y, b->x1, y);
        if (fabs(y - last) < FONT_PX + 2) continue;
        fprintf(f, "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", b->x0 - 6, y + 4, lab);
        last = y;
    }
    last = -INFINITY; /* here: the right end of the previous label */
    for (int i = 0; i < xa->nticks; i++) {
        double x = px(b, xa, xa->ticks[i]);
        axis_label(xa, xa->ticks[i], lab, sizeof lab);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", x, b->y1, x, b->y1 + 5);
        double half = 0.6 * FONT_PX * (double)strlen(lab) / 2; /* a digit is about 0.6 em wide */
        if (x - half < last + FONT_PX / 2) continue;
        fprintf(f, "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, b->y1 + 18, lab);
        last = x + half;
    }
    if (xtitle)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">step</text>\n",
                (b->x0 + b->x1) / 2, b->y1 + 38);
    fprintf(f, "<text transform=\"translate(20 %.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n",
            (b->y0 + b->y1) / 2, ytitle);
    fprintf(f, "</g>\n<g stroke=\"#888\" stroke-width=\"1\">\n");
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", b->x0, b->y1, b->x1, b->y1);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n</g>\n", b->x0, b->y1, b->x0, b->y0);
}

/* One polyline per stretch of present values; join_gaps carries the line
 * across absent ones (validation comes every N steps).  attrs: class, stroke. */
static void svg_polyline(FILE *f, const box *b, const axis *xa, const axis *ya, const curve *c, const double *v,
                         int join_gaps, const char *attrs) {
    int open = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!isfinite(v[i])) {
            if (open && !join_gaps) fputs("\"/>\n", f), open = 0;
            continue;
        }
        if (!open) fprintf(f, "<polyline fill=\"none\" %s points=\"", attrs), open = 1;
        fprintf(f, "%.2f,%.2f ", px(b, xa, (double)c->pts[i].step), py(b, ya, v[i]));
    }
    if (open) fputs("\"/>\n", f);
}

static void svg_markers(FILE *f, const box *b, const axis *xa, const axis *ya, const curve *c, const double *v,
                        const char *color) {
    for (size_t i = 0; i < c->n; i++)
        if (isfinite(v[i]))
            fprintf(f, "<circle class=\"val\" cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n",
                    px(b, xa, (double)c->pts[i].step), py(b, ya, v[i]), color);
}

/* The main series of one run: with smoothing, the EMA over the faint raw curve. */
static void svg_main_series(FILE *f, const box *b, const axis *xa, const axis *ya, const curve *c, const panel_spec *p,
                            const curve_style *st, const char *color) {
    int smooth = p->smoothed && st->smooth > 0;
    char attrs[160];
    double *raw = plot_values(c, p->m, 0, st->log_y), *ema = smooth ? plot_values(c, p->m, st->smooth, st->log_y) : NULL;
    if (raw) {
        snprintf(attrs, sizeof attrs, "class=\"%s raw\" stroke=\"%s\" stroke-width=\"1.2\"%s", p->id, color,
                 smooth ? " stroke-opacity=\"0.25\"" : "");
        svg_polyline(f, b, xa, ya, c, raw, 0, attrs);
    }
    if (ema) {
        snprintf(attrs, sizeof attrs, "class=\"%s smooth\" stroke=\"%s\" stroke-width=\"1.6\"", p->id, color);
        svg_polyline(f, b, xa, ya, c, ema, 0, attrs);
    }
    free(raw);
    free(ema);
}

static void svg_val_series(FILE *f, const box *b, const axis *xa, const axis *ya, const curve *c, const curve_style *st,
                           const char *color) {
    char attrs[160];
    double *v = plot_values(c, M_VAL, 0, st->log_y);
    if (!v) return;
    snprintf(attrs, sizeof attrs, "class=\"val\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"", color);
    svg_polyline(f, b, xa, ya, c, v, 1, attrs);
    svg_markers(f, b, xa, ya, c, v, color);
    free(v);
}

/* One panel: its axes and every run's series of that panel. */
static void svg_panel(FILE *f, const curve_run *runs, int nruns, const curve_style *st, const panel_spec *p,
                      const box *b, const axis *xa, int xtitle) {
    double lo, hi;
    axis ya;
    if (!plot_range(runs, nruns, p, st->log_y, &lo, &hi)) lo = st->log_y ? 1 : 0, hi = st->log_y ? 10 : 1;
    axis_fit(&ya, lo, hi, st->log_y, b->y1 - b->y0 > 200 ? 8 : 5, 1);
    fprintf(f, "<g class=\"panel %s\">\n", p->id);
    svg_axes(f, b, xa, &ya, p->title, xtitle);
    for (int r = 0; r < nruns; r++) {
        svg_main_series(f, b, xa, &ya, runs[r].c, p, st, run_color(r));
        if (p->with_val) svg_val_series(f, b, xa, &ya, runs[r].c, st, val_color(r, nruns));
    }
    fprintf(f, "</g>\n");
}

/* Right of the loss panel: per run a line in its colour and its name, then
 * validation's look, then what the faint curve is. */
static void svg_legend(FILE *f, const curve_run *runs, int nruns, const curve_style *st) {
    double x = SVG_W - SVG_R + 20, y = SVG_T + 6;
    fprintf(f, "<g class=\"legend\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#333\">\n");
    for (int r = 0; r < nruns; r++, y += 36) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", x, y,
                x + 24, y, run_color(r));
        fprintf(f, "<text class=\"entry\" x=\"%.1f\" y=\"%.1f\">", x + 30, y + 4);
        xml_text(f, nruns == 1 ? "train" : runs[r].name);
        fprintf(f, "</text>\n");
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
                   "stroke-dasharray=\"5 3\"/>\n", x, y + 16, x + 24, y + 16, val_color(r, nruns));
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x + 12, y + 16, val_color(r, nruns));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">validation</text>\n", x + 30, y + 20);
    }
    if (st->smooth > 0)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#666\">EMA %g; faint: raw</text>\n", x, y + 4, st->smooth);
    fprintf(f, "</g>\n");
}

/* The lr and grad-norm panels are drawn when some run has their values. */
static int panel_wanted(const curve_run *runs, int nruns, int panel, int log) {
    double lo, hi;
    return panel == PANEL_LOSS || plot_range(runs, nruns, &PLOT_PANELS[panel], log, &lo, &hi);
}

void plot_svg(const curve_run *runs, int nruns, const curve_style *st, const char *title, FILE *f) {
    int wanted[PANEL_COUNT], height = SVG_T + LOSS_H + SVG_B;
    for (int p = 0; p < PANEL_COUNT; p++) {
        wanted[p] = panel_wanted(runs, nruns, p, st->log_y);
        if (p != PANEL_LOSS && wanted[p]) height += PANEL_GAP + PANEL_H;
    }
    axis xa;
    plot_step_axis(&xa, runs, nruns, 10);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">\n", SVG_W,
            height, SVG_W, height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"24\" font-family=\"sans-serif\" font-size=\"15\" fill=\"#222\">", SVG_L);
    xml_text(f, title ? title : "loss");
    fprintf(f, "</text>\n");
    box b = {SVG_L, SVG_T, SVG_W - SVG_R, SVG_T + LOSS_H};
    for (int p = 0; p < PANEL_COUNT; p++) {
        if (!wanted[p]) continue;
        if (p != PANEL_LOSS) b.y0 = b.y1 + PANEL_GAP, b.y1 = b.y0 + PANEL_H;
        svg_panel(f, runs, nruns, st, &PLOT_PANELS[p], &b, &xa, b.y1 + SVG_B >= height);
    }
    svg_legend(f, runs, nruns, st);
    fprintf(f, "</svg>\n");
}
