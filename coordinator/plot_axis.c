/* plot_axis.c - axes with "nice" ticks, and the series both renderings draw. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

const panel_spec PLOT_PANELS[PANEL_COUNT] = {
    [PANEL_LOSS] = {"loss", "loss (nats)", M_LOSS, 1, 1, 0},
    [PANEL_LR] = {"lr", "learning rate", M_LR, 0, 0, 1},
    [PANEL_GRAD] = {"grad_norm", "grad norm", M_GRAD, 1, 0, 0},
};

/* A log axis shows positive values down to LOG_AXIS_MIN: below it (subnormal
 * 1e-320, say) the padded end would underflow to 0, whose log is -inf. */
#define LOG_AXIS_MIN 1e-300

static int on_log_axis(double v) { return v >= LOG_AXIS_MIN; }

/* ---- ticks ----------------------------------------------------------------- */

/* Multiples of step inside [lo, hi] (a hair of tolerance at the ends). */
static int linear_ticks(double lo, double hi, double step, double *out, int cap) {
    double eps = step * 1e-9;
    long first = (long)ceil((lo - eps) / step), last = (long)floor((hi + eps) / step);
    int n = 0;
    for (long k = first; k <= last; k++, n++)
        if (n < cap) out[n] = fabs((double)k * step) < eps ? 0 : (double)k * step;
    return n;
}

/* The finest 1-2-5 spacing whose ticks fit max_ticks: the next finer one
 * did not, so there are about max_ticks/2.5 of them or more. */
static double linear_step(double lo, double hi, int max_ticks) {
    static const double mult[] = {1, 2, 5};
    double scratch[1];
    double base = pow(10, floor(log10(hi - lo)) - 3);
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 3; j++) {
            double step = mult[j] * base * pow(10, k);
            if (linear_ticks(lo, hi, step, scratch, 0) <= max_ticks) return step;
        }
    return hi - lo;
}

/* Ticks m x 10^d for m in mults, inside [lo, hi], every `every`-th decade. */
static int log_ticks(double lo, double hi, const double *mults, int nmults, int every, double *out, int cap) {
    int n = 0, d0 = (int)floor(log10(lo)), d1 = (int)ceil(log10(hi));
    for (int d = d0; d <= d1; d++) {
        if ((d - d0) % every) continue;
        for (int j = 0; j < nmults; j++) {
            double v = mults[j] * pow(10, d);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) {
                if (n < cap) out[n] = v;
                n++;
            }
        }
    }
    return n;
}

/* Decades (thinned when there are too many), else 1-2-5, else 1..9 per
 * decade, whichever first gives 3 ticks; a range narrower than that gets
 * linear ticks placed on the log scale. */
static void fit_log_ticks(axis *a, int max_ticks) {
    static const double one[] = {1}, ote[] = {1, 2, 5}, all[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const struct {
        const double *mults;
        int n;
    } within[] = {{ote, 3}, {all, 9}};
    double scratch[1];
    int decades = log_ticks(a->lo, a->hi, one, 1, 1, scratch, 0);
    if (decades >= 3) {
        int every = (decades + max_ticks - 1) / (max_ticks > 0 ? max_ticks : 1);
        a->nticks = log_ticks(a->lo, a->hi, one, 1, every > 1 ? every : 1, a->ticks, AXIS_MAX_TICKS);
        return;
    }
    for (int k = 0; k < 2; k++) {
        int n = log_ticks(a->lo, a->hi, within[k].mults, within[k].n, 1, scratch, 0);
        if (n >= 3 && n <= max_ticks) {
            a->nticks = log_ticks(a->lo, a->hi, within[k].mults, within[k].n, 1, a->ticks, AXIS_MAX_TICKS);
            return;
        }
    }
    a->tick_step = linear_step(a->lo, a->hi, max_ticks);
    a->nticks = linear_ticks(a->lo, a->hi, a->tick_step, a->ticks, AXIS_MAX_TICKS);
}

void axis_fit(axis *a, double lo, double hi, int log, int max_ticks, int snap) {
    memset(a, 0, sizeof *a);
    if (max_ticks > AXIS_MAX_TICKS) max_ticks = AXIS_MAX_TICKS;
    a->log = log;
    if (log) {
        if (!(lo > 0)) lo = hi > 0 ? hi / 10 : 1;
        if (!(hi > lo * (1 + 1e-9))) lo /= 2, hi = lo * 4;
        /* The padding from the logs: hi / lo itself overflows for a range
         * as wide as 1e-300..1e300. */
        double pad = snap ? pow(10, 0.04 * (log10(hi) - log10(lo))) : 1;
        lo = fmax(lo / pad, LOG_AXIS_MIN / 10), hi = fmin(hi * pad, DBL_MAX / 10);
        a->lo = lo, a->hi = hi;
        fit_log_ticks(a, max_ticks);
        return;
    }
    /* A flat series gets a range around it that its magnitude can show:
     * +-0.5 vanishes in rounding next to 1e20. */
    if (!(hi - lo > 1e-9 * fmax(1, fabs(lo)))) {
        double half = fmax(0.5, 0.05 * fmax(fabs(lo), fabs(hi)));
        lo -= half, hi += half;
    }
    a->tick_step = linear_step(lo, hi, max_ticks);
    /* Widening to whole ticks may call for a coarser step, whose ticks the
     * ends must then be widened to in turn; a few rounds settle it. */
    for (int round = 0; snap && round < 4; round++) {
        lo = floor(lo / a->tick_step + 1e-9) * a->tick_step, hi = ceil(hi / a->tick_step - 1e-9) * a->tick_step;
        double step = linear_step(lo, hi, max_ticks);
        if (step == a->tick_step) break;
        a->tick_step = step;
    }
    a->lo = lo, a->hi = hi;
    a->nticks = linear_ticks(lo, hi, a->tick_step, a->ticks, AXIS_MAX_TICKS);
    if (a->nticks > AXIS_MAX_TICKS) a->nticks = AXIS_MAX_TICKS;
}

double axis_frac(const axis *a, double v) {
    if (a->log) return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return (v - a->lo) / (a->hi - a->lo);
}

void axis_label(const axis *a, double v, char *buf, size_t len) {
    int decimals = a->tick_step > 0 ? (int)fmax(0, -floor(log10(a->tick_step) + 1e-9)) : -1;
    if (decimals >= 0 && decimals <= 4 && fabs(v) < 1e7) snprintf(buf, len, "%.*f", decimals, v);
    else snprintf(buf, len, "%.3g", v);
}

/* ---- series ------------------------------------------------------------------ */

double *plot_values(const curve *c, metric m, double smooth, int log) {
    double *v = malloc((c->n ? c->n : 1) * sizeof *v);
    if (!v) return NULL;
    /* What a log axis cannot show goes before smoothing: an EMA through a
     * negative value can turn negative itself, and has no log. */
    for (size_t i = 0; i < c->n; i++) v[i] = !log || on_log_axis(c->pts[i].v[m]) ? c->pts[i].v[m] : NAN;
    curve_ema_series(v, c->n, smooth, v);
    return v;
}

int plot_range(const curve_run *runs, int nruns, const panel_spec *p, int log, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int r = 0; r < nruns; r++)
        for (size_t i = 0; i < runs[r].c->n; i++)
            for (int k = 0; k < 1 + p->with_val; k++) {
                double v = runs[r].c->pts[i].v[k ? M_VAL : p->m];
                if (isfinite(v) && (!log || on_log_axis(v))) *lo = fmin(*lo, v), *hi = fmax(*hi, v);
            }
    if (p->from_zero && !log && *lo <= *hi) *lo = fmin(*lo, 0);
    return *lo <= *hi;
}

void plot_step_axis(axis *a, const curve_run *runs, int nruns, int max_ticks) {
    double lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < nruns; r++) {
        const curve *c = runs[r].c;
        if (c->n) lo = fmin(lo, (double)c->pts[0].step), hi = fmax(hi, (double)c->pts[c->n - 1].step);
    }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < max_ticks) hi = lo + max_ticks; /* a young run: whole steps as ticks, room to grow */
    axis_fit(a, lo, hi, 0, max_ticks, 0);
    axis_fit(a, floor(lo / a->tick_step) * a->tick_step, a->hi, 0, max_ticks, 0);
}
