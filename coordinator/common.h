/* common.h - helpers shared by the subcommands. */
#ifndef RECUR_COMMON_H
#define RECUR_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"

double now_seconds(void);
/* Every token must be a valid id of a model with vocab_size entries. */
int check_tokens_fit(const int32_t *tokens, size_t n, int vocab_size, const char *path, const char *field,
                     recur_err *err);
/* Fails early (RECUR_EXIT_OUTPUT) when the directory of `path` is not writable. */
int check_output_path(const char *path, const char *flag, recur_err *err);
void format_duration(double seconds, char *buf, size_t len);

#endif
