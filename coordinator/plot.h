/* plot.h - drawing curves: a standalone SVG (plot_svg.c) and a braille
 * terminal view (plot_text.c), both built from the same panels (loss with
 * validation, learning rate, gradient norm), axes and ticks (plot_axis.c). */
#ifndef RECUR_PLOT_H
#define RECUR_PLOT_H

#include <stdio.h>

#include "curve.h"

/* ---- axes ------------------------------------------------------------------ */

enum { AXIS_MAX_TICKS = 32 };

typedef struct {
    double lo, hi; /* the ends, in data units (both > 0 on a log axis) */
    int log;
    int nticks;
    double ticks[AXIS_MAX_TICKS]; /* "nice" values inside [lo, hi], ascending */
    double tick_step;             /* linear ticks: their spacing, which sets the label precision; 0: %g */
} axis;

/* Fits an axis to data in [lo, hi] with at most max_ticks ticks (at least 3
 * when max_ticks allows): 1, 2 or 5 x 10^k apart, or on a log axis decades,
 * then 1-2-5 and 1..9 within decades as the range narrows.  snap widens the
 * ends to whole ticks (linear) or pads them (log). */
void axis_fit(axis *a, double lo, double hi, int log, int max_ticks, int snap);
/* Where v lies between the ends: 0 at lo, 1 at hi. */
double axis_frac(const axis *a, double v);
/* A tick label, as short as the tick spacing allows ("0.5", "1500", "1e-05"). */
void axis_label(const axis *a, double v, char *buf, size_t len);

/* ---- what is drawn ---------------------------------------------------------- */

typedef struct {
    const char *id;    /* the SVG group's class and the panel's name */
    const char *title; /* the y axis title */
    metric m;          /* the main series */
    int smoothed;      /* EMA applies (noisy per-step values; not a schedule) */
    int with_val;      /* the validation loss shares this panel */
    int from_zero;     /* a linear axis starts at 0 (a schedule reads best against it) */
} panel_spec;

enum { PANEL_LOSS, PANEL_LR, PANEL_GRAD, PANEL_COUNT };
extern const panel_spec PLOT_PANELS[PANEL_COUNT];

/* The values of m drawn for one curve (n of them, malloc'd; NULL when out of
 * memory): EMA-smoothed when smooth > 0, NAN where absent or, on a log axis,
 * not positive. */
double *plot_values(const curve *c, metric m, double smooth, int log);
/* The y range of a panel over every run (raw values; an EMA stays inside
 * them); 0 when there is nothing to show. */
int plot_range(const curve_run *runs, int nruns, const panel_spec *p, int log, double *lo, double *hi);
/* The step axis of every run: from a tick (step 1 starts at 0) to the last
 * step, which is the newest one in a live view and need not be a tick. */
void plot_step_axis(axis *a, const curve_run *runs, int nruns, int max_ticks);

/* ---- renderings -------------------------------------------------------------- */

/* The loss panel, and the lr and grad-norm panels below it when any run has
 * those values; a legend with one entry per run (and validation). */
void plot_svg(const curve_run *runs, int nruns, const curve_style *st, const char *title, FILE *f);

/* Exactly `rows` lines of at most `cols` columns: a legend line, the loss
 * panel (plus lr and grad-norm panels with st->panels) and the step axis. */
void plot_text(const curve_run *runs, int nruns, const curve_style *st, FILE *f, int cols, int rows);

#endif
