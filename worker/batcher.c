#include "batcher.h"

#include <stdlib.h>

int stream_layout(size_t n, int B, int k, const char *source, size_t *stream_len, recur_err *err) {
    if (B <= 0 || k <= 0)
        return recur_fail(err, RECUR_EXIT_USAGE, "--batch and --bptt must be positive (got %d and %d)", B, k);
    if (n < (size_t)B * k + 1)
        return recur_fail(err, RECUR_EXIT_INPUT,
                          "%s: dataset '/tokens': expected at least B*k+1 = %zu tokens for --batch %d --bptt %d, found %zu",
                          source, (size_t)B * k + 1, B, k, n);
    *stream_len = (n - 1) / (size_t)B;
    return 0;
}

int batcher_init(batcher *bt, const int32_t *tokens, size_t stream_len, int nstreams, int k, recur_err *err) {
    bt->tokens = tokens;
    bt->stream_len = stream_len;
    bt->nstreams = nstreams;
    bt->k = k;
    bt->steps_per_epoch = (long)(stream_len / (size_t)k);
    bt->inputs = malloc((size_t)nstreams * k * sizeof(int32_t));
    bt->targets = malloc((size_t)nstreams * k * sizeof(int32_t));
    if (!bt->inputs || !bt->targets) {
        batcher_free(bt);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for batches");
    }
    return 0;
}

void batcher_free(batcher *bt) {
    free(bt->inputs);
    free(bt->targets);
    bt->inputs = bt->targets = NULL;
}

void batcher_fill(batcher *bt, long pos) {
    const int b = bt->nstreams;
    for (int j = 0; j < b; j++) {
        const int32_t *s = bt->tokens + (size_t)j * bt->stream_len + (size_t)pos * bt->k;
        for (int t = 0; t < bt->k; t++) {
            bt->inputs[(size_t)t * b + j] = s[t];
            bt->targets[(size_t)t * b + j] = s[t + 1];
        }
    }
}
