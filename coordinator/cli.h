/* cli.h - one option table per subcommand drives getopt_long parsing, the
 * config file (same keys as the long flags), --help text and the dump of the
 * resolved config stored in checkpoints.  Adding an option is one table row. */
#ifndef RECUR_CLI_H
#define RECUR_CLI_H

#include <stdio.h>

#include "../core/error.h"

typedef enum { OPT_STR, OPT_INT, OPT_LONG, OPT_DOUBLE, OPT_FLAG } opt_type;

typedef struct {
    const char *name;   /* long flag without dashes, and config key */
    opt_type type;
    void *target;       /* char[CLI_STR] / int / long / double / int (flag) */
    const char *arg;    /* metavariable for --help, e.g. "N" */
    const char *help;   /* "(default: ...)" in it replaces the [value] --help shows */
    int positive;       /* numbers: must be > 0 */
    int nonneg;         /* numbers: must be >= 0 */
    int set;            /* filled by parsing: given on the command line or in the config */
} opt_spec;

#define CLI_STR 1024

/* Parses argv[1..] (argv[0] is the subcommand).  Positional arguments are
 * collected into pos[] (up to max_pos, count in *npos).  --help prints usage
 * and returns 1.  Errors: -1 with err (RECUR_EXIT_USAGE); an unknown flag's
 * message suggests the closest one ("did you mean '--hidden'?"). */
int cli_parse(const char *cmd, const char *synopsis, opt_spec *o, int n, int argc, char **argv, char **pos,
              int max_pos, int *npos, recur_err *err);
/* Sets one option from text (config files).  Messages name the key but not
 * the file: the config reader prefixes "file:line: ".  `where` ("file:line")
 * is kept as the option's origin (cli_origin).  An unknown key's message
 * suggests the closest one ("unknown key 'hidden_size'; did you mean 'hidden'?"). */
int cli_set(opt_spec *o, int n, const char *key, const char *value, const char *where, recur_err *err);
/* Where an option's value came from, for messages about it found after
 * parsing (a cell name, a size limit): "run.ini:4: cell" for a config line,
 * "--cell" for the command line, "cell" for the default.  Kept per target by
 * cli_set/cli_parse (the latest source wins, as the value does). */
void cli_origin(const opt_spec *s, char *buf, size_t len);
/* recur_fail(err, RECUR_EXIT_USAGE, "<origin>: <fmt...>") for option `name`. */
int cli_fail_option(const opt_spec *o, int n, const char *name, recur_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Set by `recur man`: cli_usage writes a man-page section instead of --help. */
extern int cli_help_roff;
void cli_usage(FILE *f, const char *cmd, const char *synopsis, const opt_spec *o, int n);
/* Writes "key = value" lines of every option (the resolved config). */
void cli_dump(const opt_spec *o, int n, char *buf, size_t len);
opt_spec *cli_find(opt_spec *o, int n, const char *name);

#endif
