/* batcher.h - the stream layout of truncated BPTT.
 *
 * B streams over N tokens: L = floor((N-1)/B); stream j has inputs
 * tokens[j*L + i] and targets tokens[j*L + i + 1], i in [0, L).  Step s of an
 * epoch covers i in [s*k, (s+1)*k) of every stream; an epoch is floor(L/k)
 * steps and leftover positions are skipped.  Batches are time-major:
 * inputs[t*B + j].
 */
#ifndef RECUR_BATCHER_H
#define RECUR_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"

typedef struct {
    const int32_t *tokens;
    size_t n;
    int B, k;
    size_t stream_len;       /* L */
    long steps_per_epoch;    /* floor(L/k) */
    int32_t *inputs;         /* [k*B] */
    int32_t *targets;        /* [k*B] */
} batcher;

/* Fails (RECUR_EXIT_INPUT, naming `source`) when N < B*k + 1. */
int batcher_init(batcher *bt, const int32_t *tokens, size_t n, int B, int k, const char *source, recur_err *err);
void batcher_free(batcher *bt);
/* Fills inputs/targets for step `pos` (0-based) within an epoch. */
void batcher_fill(batcher *bt, long pos);

#endif
