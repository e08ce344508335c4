/* import_common.h - what the sequence importers share (`recur data
 * labeled-text | conllu | csv | rows`, io/import_text.c, import_conllu.c,
 * import_csv.c).
 *
 * Every importer works the same way: read the whole input into memory
 * (import_file), walk it line by line (import_lines) or record by record
 * (import_csv), collect every sequence in input order into one seq_split
 * ("all", grown with import_seqs), give each sequence a split
 * (import_split_shuffled / _chronological), fit what must be fitted on the
 * train split only (word vocabularies: import_fit_words; mean and std:
 * import_standardise) and cut "all" into the dataset's splits
 * (import_partition).  The result is a seq_dataset in memory that
 * seqdata_write (io/seqdata.h) writes atomically; nothing here touches the
 * output.
 *
 * Messages name the input file and, for text inputs, "FILE:LINE:" or
 * "FILE:LINE:COL:" (1-based, COL counted in bytes), then the field, what was
 * expected and what was found.  Bad input is RECUR_EXIT_INPUT; a flag that
 * does not fit the file (an unknown column, a window longer than the series)
 * is RECUR_EXIT_USAGE; running out of memory is RECUR_EXIT_FAIL.
 */
#ifndef RECUR_IMPORT_COMMON_H
#define RECUR_IMPORT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "seqdata.h"

/* ---- input --------------------------------------------------------------- */

/* A whole input file, NUL-terminated (data[len] == 0), a leading UTF-8 byte
 * order mark dropped. */
typedef struct {
    const char *path;
    char *data;
    size_t len;
} import_file;

/* An empty file is an error ("expected ..., found an empty file", `what`
 * says what was expected, e.g. "sentence<TAB>label lines"). */
int import_read_file(const char *path, const char *what, import_file *f, recur_err *err);
void import_file_free(import_file *f);

/* One line without its LF and a CR before it; lineno counts from 1. */
typedef struct {
    const char *s;
    size_t len;
    size_t lineno;
} import_line;

typedef struct {
    const char *p, *end;
    size_t lineno;
} import_lines;

/* Lines are split on LF only (U+0085 and other Unicode line ends are text);
 * a final line without LF counts, a final LF does not start an empty one. */
void import_lines_begin(import_lines *it, const import_file *f);
/* 1 and *line filled, 0 at the end. */
int import_lines_next(import_lines *it, import_line *line);

/* The offset of the first byte of s[0..len) that is not part of valid UTF-8
 * (overlong forms, surrogates and code points above U+10FFFF are invalid),
 * or len when all of it is valid. */
size_t import_utf8_check(const char *s, size_t len);

/* Up to 40 bytes of s[0..len) for a message, on one line: LF, CR and tab
 * as \n \r \t, other control bytes as '?', "..." when cut.  Returns buf. */
const char *import_preview(const char *s, size_t len, char *buf, size_t buflen);

/* s[0..len) without leading and trailing ASCII spaces and tabs. */
void import_trim(const char **s, size_t *len);

/* ---- strings --------------------------------------------------------------- */

/* Distinct strings in order of first appearance, each with an id (its index)
 * and a count. */
typedef struct {
    char **str;      /* [n] NUL-terminated copies */
    size_t *count;   /* [n] times interned */
    size_t n, cap;
    size_t *slot;    /* [nslot] open addressing: index + 1, 0 = empty */
    size_t nslot;
} import_strings;

/* The id of s[0..len) (added when new), its count incremented. */
int import_strings_add(import_strings *t, const char *s, size_t len, int32_t *id, recur_err *err);
void import_strings_free(import_strings *t);

/* Labels: ids[0..n) are raw ids of `labels` (import_strings_add); they
 * become ids in sorted order of the names: numerically when every name is an
 * integer (optional sign, digits; ties by bytes), else by bytes.  Sets
 * ds->label_names (copies) and ds->num_classes. */
int import_fit_labels(const import_strings *labels, int32_t *ids, size_t n, seq_dataset *ds, recur_err *err);

#define IMPORT_UNK "<unk>"

/* A word vocabulary fitted on the train split: all->tokens are raw ids of
 * `words`; the vocabulary is IMPORT_UNK (id 0), then every word seen at least
 * min_count times in the sequences split_of[] puts in train, by bytes.  Every
 * token becomes its id there, or 0 (also a word spelled "<unk>"), counted per
 * split in unknown[].  Sets ds->vocab_words (copies) and ds->vocab_size. */
int import_fit_words(const import_strings *words, seq_split *all, const uint8_t *split_of, long min_count,
                     seq_dataset *ds, size_t unknown[SPLIT_COUNT], recur_err *err);

/* Frees names[0..n) and names. */
void import_free_names(char **names, size_t n);

/* ---- sequences ------------------------------------------------------------- */

/* A growable array of `size`-byte elements. */
typedef struct {
    void *data;
    size_t len, cap, size;
} import_vec;

/* Appends count elements (copied from elems, or zeroed when elems is NULL). */
int import_vec_push(import_vec *v, const void *elems, size_t count, recur_err *err);

/* Every sequence in input order: offsets, and the arrays the importer fills
 * (element sizes set by import_seqs_init: int32 tokens, labels, step_labels;
 * float features [.., F], targets [.., K], seq_targets and seq_base [n, K]).
 * Push a sequence's steps first, then import_seqs_end_sequence. */
typedef struct {
    import_vec offsets, tokens, features, labels, step_labels, targets, seq_targets, seq_base;
    int F, K;
} import_seqs;

void import_seqs_init(import_seqs *s, int F, int K);
/* Closes the sequence whose steps were pushed since the last call: its end
 * is the current number of steps (tokens, or features rows). */
int import_seqs_end_sequence(import_seqs *s, recur_err *err);
size_t import_seqs_count(const import_seqs *s);
/* A seq_split view of s (no copies; NULL for arrays never pushed to). */
seq_split import_seqs_view(const import_seqs *s);
void import_seqs_free(import_seqs *s);

/* ---- splits ------------------------------------------------------------------- */

/* Split sizes for n sequences: floor(val_fraction * n) to val,
 * floor(test_fraction * n) to test, the rest to train (an error naming path
 * when none is left for train).
 * Shuffled: split_of[i] from a Fisher-Yates shuffle of 0..n-1 drawn from
 * `seed` (core/rng.h): its first count[VAL] go to val, the next count[TEST]
 * to test, the rest to train.  Same n, fractions and seed: same split. */
int import_split_shuffled(const char *path, size_t n, double val_fraction, double test_fraction, uint64_t seed,
                          uint8_t *split_of, recur_err *err);
/* Chronological: the first sequences train, then val, the last test. */
int import_split_chronological(const char *path, size_t n, double val_fraction, double test_fraction,
                               uint8_t *split_of, recur_err *err);

/* Cuts `all` (all->n sequences in input order; F feature columns, K target
 * columns) into ds->split[s] by split_of[i], keeping input order within each
 * split; every non-NULL array of `all` is copied.  A split that gets no
 * sequence is left out (present = 0). */
int import_partition(const seq_split *all, int F, int K, const uint8_t *split_of, seq_dataset *ds, recur_err *err);

/* Standardises ds's features (per column, F) and targets or seq_targets (per
 * column, K) with the mean and population std of the train split's values as
 * stored (a row in several windows counts once per window); a column
 * constant on train gets std 1.  Sets ds->feature_mean/std and
 * target_mean/std.  seq_base is left in original units. */
int import_standardise(seq_dataset *ds, recur_err *err);

/* What the summary line reports besides the dataset itself. */
typedef struct {
    size_t unknown[SPLIT_COUNT]; /* tokens mapped to <unk> (words) or to 0x1A (chars) */
    long min_count;              /* words: the --min-count used */
    int chars;                   /* token inputs are bytes (labeled-text --tokens chars) */
} import_stats;

/* ---- CSV ---------------------------------------------------------------------- */

/* RFC 4180 records: fields separated by ',', a field in double quotes may
 * hold ',', LF and "" (one quote); CRLF line ends; blank lines are skipped;
 * spaces around an unquoted field are dropped. */
/* Where a field of the current record is. */
typedef struct {
    size_t off;                /* of its text in buf */
    size_t line, col;          /* where it starts: 1-based line, byte column */
} import_csv_field;

typedef struct {
    const char *path;
    const char *p, *end, *bol; /* next byte, end of input, start of the current line */
    size_t line;               /* the current line, from 1 */
    char **field;              /* [nfield] NUL-terminated, valid until the next call */
    import_csv_field *at;      /* [nfield] */
    size_t nfield, capfield;
    size_t lineno;             /* line where the record starts */
    import_vec buf;            /* the fields' text */
} import_csv;

void import_csv_begin(import_csv *c, const import_file *f);
/* 1 with a record, 0 at the end, -1 with err for a malformed record. */
int import_csv_next(import_csv *c, recur_err *err);
void import_csv_free(import_csv *c);

/* Field i of the current record as a finite float: "FILE:LINE:COL: column
 * 'NAME': missing value" or "...: expected a number, found 'x'". */
int import_csv_number(const import_csv *c, size_t i, const char *name, float *out, recur_err *err);
/* 1 when s is a number import_csv_number accepts. */
int import_csv_is_number(const char *s);

/* 1 when spec is a column number (digits only): it is never read as a name. */
int import_csv_is_column_number(const char *spec);
/* The index of the column `spec` names: a column number counted from 1, or
 * a header name (exact).  header may be NULL (numbers only).  Errors
 * (RECUR_EXIT_USAGE) name `flag` and list the header. */
int import_csv_column(const char *path, char *const *header, size_t ncol, const char *spec, const char *flag,
                      size_t *index, recur_err *err);

#endif
