/* config.h - INI config files (parsed by inih).
 *
 * Keys are the long flag names of `recur train` (e.g. `hidden = 512`,
 * `optimizer = adam`); an optional [train] section header is accepted, other
 * sections are an error.  The caller supplies a setter so the option table
 * stays in one place (the subcommand's opt_spec table, coordinator/cli.h).
 * The reader puts "<path>:<line>: " in front of a setter's message, so a
 * setter names the key but not the file (the file would appear twice).
 */
#ifndef RECUR_CONFIG_H
#define RECUR_CONFIG_H

#include "../core/error.h"

/* Return 0 when the key was accepted, -1 (with err filled) otherwise. */
typedef int (*config_setter)(void *ctx, const char *key, const char *value, recur_err *err);

/* Calls `set` for every `key = value` line, in file order (whitespace around
 * keys and values stripped; `#`/`;` comment lines and ` ;` inline comments
 * ignored; indentation is not a continuation line).  Errors, one message each:
 *   "<path>: cannot open config file: <strerror>"            RECUR_EXIT_INPUT
 *   "<path>:<line>: syntax error: expected ..., found '<text>'" RECUR_EXIT_USAGE
 *   "<path>:<line>: section '[x]': expected [train] or no section"  (USAGE)
 *   "<path>:<line>: line too long"                              (USAGE)
 *   "<path>:<line>: <the setter's message>"              the setter's code
 * The first problem in the file wins. */
int config_parse_file(const char *path, config_setter set, void *ctx, recur_err *err);
/* The same for config text held in memory (e.g. the one stored in a
 * checkpoint); `name` stands for the file in messages. */
int config_parse_text(const char *text, const char *name, config_setter set, void *ctx, recur_err *err);

/* The same, the setter also told where the line is ("<path>:<line>"), so
 * an option can carry its origin into messages given after parsing. */
typedef int (*config_setter_at)(void *ctx, const char *where, const char *key, const char *value, recur_err *err);
int config_parse_file_at(const char *path, config_setter_at set, void *ctx, recur_err *err);
int config_parse_text_at(const char *text, const char *name, config_setter_at set, void *ctx, recur_err *err);

#endif
