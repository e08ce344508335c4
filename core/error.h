/* error.h - how library code reports failure.
 *
 * Library functions (core/, io/, worker/) never exit and never print: they
 * return a status and fill a recur_err with one message naming the file, the
 * field, what was expected and what was found.  Only coordinator/main decides
 * to print and which exit code to use (the exit codes are defined here so the
 * library can say what kind of failure it was).
 */
#ifndef RECUR_ERROR_H
#define RECUR_ERROR_H

#include <stddef.h>

enum {
    RECUR_OK = 0,
    RECUR_EXIT_FAIL = 1,   /* runtime failure: numeric trouble, internal error */
    RECUR_EXIT_USAGE = 2,  /* bad command line or config value */
    RECUR_EXIT_INPUT = 3,  /* an input file is missing, unreadable or violates its contract */
    RECUR_EXIT_OUTPUT = 4, /* an output file could not be written */
};

typedef struct {
    int code;        /* one of the RECUR_EXIT_* values, 0 when no error */
    char msg[1024];
} recur_err;

/* Record an error (printf-style) and return -1, so callers can write
 * `return recur_fail(err, RECUR_EXIT_INPUT, "%s: ...", path);`.
 * A NULL err is allowed and ignored. */
int recur_fail(recur_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
