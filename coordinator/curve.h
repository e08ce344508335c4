/* curve.h - the loss curve of a training run, built from metrics records
 * (the lines of a --metrics file or the messages the coordinator publishes),
 * and its CSV form.  plot.h draws curves (SVG and the braille terminal view).
 * `recur plot` and `recur monitor` share both so the offline and the live view
 * always agree. */
#ifndef RECUR_CURVE_H
#define RECUR_CURVE_H

#include <stddef.h>
#include <stdio.h>

#include "../core/error.h"

typedef enum {
    REC_MALFORMED, /* not a JSON object, or a recur field of the wrong type */
    REC_FOREIGN,   /* a JSON object, but neither a step record nor an event */
    REC_STEP,      /* has "step" and "loss" */
    REC_VALIDATION,
    REC_START,
    REC_END,       /* "end" or "interrupted": the run is over */
    REC_EVENT,     /* any other event (checkpoint, error, ...) */
} rec_kind;

/* Bits of curve_record.has: which optional numbers were present. */
enum {
    HAS_STEP = 1, HAS_EPOCH = 2, HAS_LOSS = 4, HAS_GRAD = 8, HAS_LR = 16,
    HAS_TOKS = 32, HAS_ELAPSED = 64, HAS_ETA = 128, HAS_VAL = 256,
};

typedef struct {
    rec_kind kind;
    unsigned has;
    long step, epoch;
    double loss, grad_norm, lr, tokens_per_s, elapsed_s, eta_s, val_loss;
    char event[32];
    char run_id[64];
} curve_record;

/* Parses one record of `len` bytes (need not be NUL-terminated).  Never
 * fails hard: anything unusable comes back as REC_MALFORMED/REC_FOREIGN. */
rec_kind curve_parse(const char *text, size_t len, curve_record *r);

/* The numbers a curve keeps per step; NAN when absent. */
typedef enum { M_LOSS, M_VAL, M_LR, M_GRAD, M_COUNT } metric;

typedef struct {
    long step;
    double v[M_COUNT]; /* indexed by metric */
} curve_point;

/* The largest magnitude a curve keeps.  Larger numbers (1e308, or 1e400,
 * which parses to inf) are skipped: the axis arithmetic (ranges, padding, tick
 * multiples) and the smoothing need headroom to stay finite, and recur's own
 * values are single precision (below 3.4e38), so no real value is lost. */
#define CURVE_MAX_ABS 1e300

enum { CURVE_SKIPS_SHOWN = 5 }; /* steps a skip note names per metric */

/* The values of one metric that were skipped as non-finite or too large. */
typedef struct {
    long count;
    long steps[CURVE_SKIPS_SHOWN]; /* the first ones */
} curve_skips;

typedef struct {
    curve_point *pts; /* sorted by step, one point per step */
    size_t n, cap;
    long records;     /* records taken (step, validation, events) */
    long malformed;   /* not JSON / wrong types */
    long foreign;     /* JSON but not a recur record */
    char run_id[64];  /* the newest record's, "" when none had one */
    curve_skips skipped[M_COUNT]; /* indexed by metric; null stays absent, not skipped */
} curve;

void curve_init(curve *c);
void curve_free(curve *c);
/* Parses and takes one record (counting the bad ones); r may be NULL. */
rec_kind curve_feed(curve *c, const char *text, size_t len, curve_record *r);
/* Takes an already parsed record.  A step seen again overwrites the older
 * value (a resumed run republishes steps after its checkpoint).  A value that
 * is not finite or beyond CURVE_MAX_ABS is left absent and counted in
 * c->skipped, so nothing downstream (smoothing, axes, CSV) ever sees it. */
void curve_take(curve *c, const curve_record *r);
/* Feeds every line of a metrics file.  Missing/unreadable: RECUR_EXIT_INPUT;
 * so is a file without a single record. */
int curve_load(curve *c, const char *path, recur_err *err);
/* The same, calling each(ctx, record) for every line (a monitor's state). */
int curve_load_each(curve *c, const char *path, void (*each)(void *, const curve_record *), void *ctx,
                    recur_err *err);

/* Total of c->skipped over every metric. */
long curve_skipped(const curve *c);
/* "skipped 2 non-finite values (loss at steps 5, 9; lr at step 3)" into buf;
 * 0 (and "") when nothing was skipped. */
int curve_skip_note(const curve *c, char *buf, size_t len);
/* The metric's name as the metrics records spell it ("loss", "val_loss", ...). */
const char *curve_metric_key(metric m);

/* Debiased exponential moving average of metric m, TensorBoard's smoothing:
 * last = w*last + (1-w)*v over the finite values, shown as last/(1-w^k) after
 * k of them.  out[i] is NAN where the value is absent; w = 0 copies. */
void curve_ema(const curve *c, metric m, double w, double *out);
/* The same over n values (out may be in). */
void curve_ema_series(const double *in, size_t n, double w, double *out);
/* How many present values of m are <= 0 (what a log axis cannot show). */
long curve_nonpositive(const curve *c, metric m);

/* One curve as plotted: its data and the name its legend entry shows. */
typedef struct {
    const curve *c;
    const char *name;
} curve_run;

typedef struct {
    double smooth; /* EMA weight in [0,1): the smoothed curve is the main one, the raw one faint; 0 off */
    int log_y;     /* log10 y axes; values <= 0 are left out */
    int panels;    /* terminal: lr and grad-norm panels below the loss (the SVG has them when there is data) */
    int color;     /* terminal: ANSI colours */
} curve_style;

/* Writes through path.tmp + rename so a failed write leaves nothing at path
 * (RECUR_EXIT_OUTPUT); "-" is stdout. */
int curve_write(const char *path, void (*render)(void *ctx, FILE *f), void *ctx, recur_err *err);

/* step,loss,val_loss,loss_smooth,lr,grad_norm (empty cells for absent
 * values; loss_smooth equals loss when smoothing is off); with more than one
 * run a leading run column names each row's run. */
void curve_csv(const curve_run *runs, int nruns, const curve_style *st, FILE *f);

#endif
