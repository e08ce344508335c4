/* import_csv.h - numeric CSV files into sequence datasets (io/seqdata.h):
 * `recur data csv` (time series -> regress) and `recur data rows` (each row
 * one sequence -> classify).  CSV syntax: import_common.h's import_csv.
 * Columns are named by their header name, or by their number counted from 1.
 * A value that is missing or not a finite number is an error naming
 * FILE:LINE:COL and the column; so is a row with another number of fields
 * than the first.  Features (and csv's targets) are stored standardised with
 * the train split's mean and std (import_standardise; /norm/...).
 *
 * csv: the first row is the header.  Row r of the file is time step r.
 * Window i (i = 0 .. n-1, n = T - W - H + 1 for T rows) is rows i .. i+W-1 of
 * the feature columns (F of them); its target, for each of the K target
 * columns y:
 *   per sequence (seq_targets [n, K]): y[i+W-1+H]
 *   per step (--target-per-step, targets [n*W, K]): step t of the window
 *     (row i+t) has y[i+t+H]
 * With difference, every target of window i is the change from base_i =
 * y[i+W-1] (the target column at the window's last step): y[...] - base_i,
 * and base_i is stored in seq_base [n, K] in original units, so a prediction
 * p in stored units is p * target_std + target_mean + seq_base[i] in
 * original units.  With log (--log), every feature and target column is
 * replaced by its natural logarithm first (a value <= 0 is an error naming
 * FILE:LINE:COL): a series that grows by a factor (AirPassengers) becomes one
 * that grows by a step, with seasonal swings of one size; the file says so
 * (target_transform="log") and recur reports exp(...) in original units.
 * With relative (--relative-inputs), each feature of every step of window i
 * is stored as its change from that column's value at the window's last
 * step: the model sees the window's shape, not its level, which matters
 * when later windows leave the range of levels seen in training.
 * Splits are chronological: the first windows train, then
 * val, the last test (windows near a boundary share rows).
 *
 * rows: each row is one sequence of R steps of F features: the row's numbers
 * in column order, the label column left out, R*F of them (step r = numbers
 * r*F .. r*F+F-1: an 8x8 image row-major is 8 steps of its 8 rows).  The
 * first row is a header when --label-column names one of its fields, or when
 * one of its other fields is not a number.  Labels (any text) are sorted as
 * import_fit_labels does.  Splits: import_split_shuffled.
 */
#ifndef RECUR_IMPORT_CSV_H
#define RECUR_IMPORT_CSV_H

#include <stdint.h>

#include "../core/error.h"
#include "import_common.h"

typedef struct {
    const char *path;
    const char *columns;   /* feature columns, comma-separated */
    const char *target;    /* target columns, comma-separated */
    long window;           /* W >= 1 */
    long horizon;          /* H >= 0 */
    int per_step;          /* --target-per-step */
    int difference;        /* --difference */
    int relative;          /* --relative-inputs: features as changes from the window's last step */
    int log;               /* --log: natural logs of every chosen column (values > 0); target_transform="log" */
    double val_fraction, test_fraction;
} csv_options;

/* Each builds its dataset in memory (free with seqdata_free).  Errors name
 * the file, line and column; on failure *ds is zeroed. */
int import_csv_series(const csv_options *o, seq_dataset *ds, import_stats *st, recur_err *err);

typedef struct {
    const char *path;
    long rows;                /* R >= 1 */
    const char *label_column; /* name or number from 1 */
    double val_fraction, test_fraction;
    uint64_t seed;
} rows_options;

int import_csv_rows(const rows_options *o, seq_dataset *ds, import_stats *st, recur_err *err);

#endif
