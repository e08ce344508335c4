/* batcher.h - the stream layout of truncated BPTT.
 *
 * B streams over N tokens: L = floor((N-1)/B); stream j has inputs
 * tokens[j*L + i] and targets tokens[j*L + i + 1], i in [0, L).  Step s of an
 * epoch covers i in [s*k, (s+1)*k) of every stream; an epoch is floor(L/k)
 * steps and leftover positions are skipped.  Under MPI a rank owns a
 * contiguous block of streams, so it needs only tokens [first*L, (first+b)*L]
 * of the file.  Batches are time-major: inputs[t*b + j].
 */
#ifndef RECUR_BATCHER_H
#define RECUR_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"

typedef struct {
    const int32_t *tokens;   /* this rank's streams: nstreams * stream_len + 1 tokens */
    size_t stream_len;       /* L */
    int nstreams, k;
    long steps_per_epoch;    /* floor(L/k) */
    int32_t *inputs;         /* [k * nstreams] */
    int32_t *targets;
} batcher;

/* L = floor((N-1)/B) after checking N >= B*k + 1 (RECUR_EXIT_INPUT naming `source`). */
int stream_layout(size_t n, int B, int k, const char *source, size_t *stream_len, recur_err *err);
int batcher_init(batcher *bt, const int32_t *tokens, size_t stream_len, int nstreams, int k, recur_err *err);
void batcher_free(batcher *bt);
/* Fills inputs/targets for step `pos` (0-based) within an epoch. */
void batcher_fill(batcher *bt, long pos);

#endif
