/* common.h - helpers shared by the subcommands. */
#ifndef RECUR_COMMON_H
#define RECUR_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"

double now_seconds(void);
/* Fails early (RECUR_EXIT_OUTPUT) when the directory of `path` is not writable. */
int check_output_path(const char *path, const char *flag, recur_err *err);
void format_duration(double seconds, char *buf, size_t len);
/* `path` as an absolute path (its directory resolved by realpath when it
 * exists, else the working directory put in front), so it means the same file
 * from any working directory.  -1 when it does not fit. */
int absolute_path(const char *path, char *out, size_t len);

#endif
