/* curve.h - the loss curve of a training run, built from metrics records
 * (the lines of a --metrics file or the messages the coordinator publishes),
 * and its renderings: CSV, a standalone SVG plot and a Unicode (braille)
 * terminal plot.  `recur plot` and `recur monitor` share it so the offline and
 * the live view always agree. */
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

typedef struct {
    long step;
    double loss, val; /* NAN when absent */
} curve_point;

typedef struct {
    curve_point *pts; /* sorted by step, one point per step */
    size_t n, cap;
    long records;     /* records taken (step, validation, events) */
    long malformed;   /* not JSON / wrong types */
    long foreign;     /* JSON but not a recur record */
} curve;

void curve_init(curve *c);
void curve_free(curve *c);
/* Parses and takes one record (counting the bad ones); r may be NULL. */
rec_kind curve_feed(curve *c, const char *text, size_t len, curve_record *r);
/* Takes an already parsed record.  A step seen again overwrites the older
 * value (a resumed run republishes steps after its checkpoint). */
void curve_take(curve *c, const curve_record *r);
/* Feeds every line of a metrics file.  Missing/unreadable: RECUR_EXIT_INPUT;
 * so is a file without a single record. */
int curve_load(curve *c, const char *path, recur_err *err);
/* The same, calling each(ctx, record) for every line (a monitor's state). */
int curve_load_each(curve *c, const char *path, void (*each)(void *, const curve_record *), void *ctx,
                    recur_err *err);

/* Write to path.tmp, then rename: nothing at path on failure (RECUR_EXIT_OUTPUT). */
int curve_write_csv(const curve *c, const char *path, recur_err *err);
int curve_write_svg(const curve *c, const char *path, const char *title, recur_err *err);
void curve_csv(const curve *c, FILE *f);
void curve_svg(const curve *c, FILE *f, const char *title);

/* Draws the curve in a cols x rows character box with braille dots (2x4 per
 * cell), y tick labels on the left, the step range below.  color: ANSI
 * colours for train (default colour) and validation (yellow). */
void curve_draw_text(const curve *c, FILE *f, int cols, int rows, int color);

#endif
