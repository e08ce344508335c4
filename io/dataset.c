#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "h5util.h"

#define TOKENS_FORMAT "recur-tokens"
#define TOKENS_VERSION 1

void dataset_free(token_dataset *ds) {
    free(ds->tokens);
    free(ds->val_tokens);
    free(ds->vocab);
    memset(ds, 0, sizeof *ds);
}

/* Every token must index the vocabulary: the model's embedding and softmax
 * have exactly vocab_size rows, so one stray id would read out of bounds. */
int dataset_check_tokens(const char *path, const char *name, const int32_t *t, size_t n, int V, const char *what,
                         recur_err *err) {
    for (size_t i = 0; i < n; i++)
        if (t[i] < 0 || t[i] >= V)
            return recur_fail(err, RECUR_EXIT_INPUT,
                              "%s: dataset '%s': expected every token in [0, %d) (%s), found %d at index %zu",
                              path, name, V, what, (int)t[i], i);
    return 0;
}

static int load_open(hid_t file, const char *path, token_dataset *ds, recur_err *err) {
    if (h5u_expect_str_attr(file, path, "/", "format", TOKENS_FORMAT, err)) return -1;
    if (h5u_expect_int_attr(file, path, "/", "version", TOKENS_VERSION, err)) return -1;

    size_t dims[1];
    const h5u_shape vocab_shape = {H5U_UINT8, 1, {0}, {"V"}};
    if (h5u_read_alloc(file, path, "/vocab", &vocab_shape, dims, (void **)&ds->vocab, err)) return -1;
    if (dims[0] > 256)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '/vocab': expected uint8 [V] with V <= 256, found uint8 [%zu]",
                          path, dims[0]);
    ds->vocab_size = (int)dims[0];

    const h5u_shape tok_shape = {H5U_INT32, 1, {0}, {"N"}};
    if (h5u_read_alloc(file, path, "/tokens", &tok_shape, dims, (void **)&ds->tokens, err)) return -1;
    ds->n = dims[0];
    if (dataset_check_tokens(path, "/tokens", ds->tokens, ds->n, ds->vocab_size, "the vocab size", err)) return -1;

    if (!h5u_exists(file, "/val_tokens")) return 0;
    const h5u_shape val_shape = {H5U_INT32, 1, {0}, {"M"}};
    if (h5u_read_alloc(file, path, "/val_tokens", &val_shape, dims, (void **)&ds->val_tokens, err)) return -1;
    ds->n_val = dims[0];
    return dataset_check_tokens(path, "/val_tokens", ds->val_tokens, ds->n_val, ds->vocab_size, "the vocab size", err);
}

int dataset_load(const char *path, token_dataset *ds, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    h5u_quiet q;
    h5u_quiet_begin(&q);
    hid_t file;
    int rc = h5u_open_read(path, &file, err);
    if (rc == 0) rc = load_open(file, path, ds, err);
    h5u_close(file);
    h5u_quiet_end(&q);
    if (rc) dataset_free(ds);
    return rc;
}

/* ---- building from text -------------------------------------------------- */

/* Reads the whole file; RECUR_EXIT_INPUT naming the path on failure. */
static int slurp(const char *path, uint8_t **out, size_t *len, recur_err *err) {
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return recur_fail(err, RECUR_EXIT_INPUT, "%s: cannot open for reading: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    int rc = -1;
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        uint8_t *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (!buf) recur_fail(err, RECUR_EXIT_FAIL, "%s: out of memory reading the file", path);
    else if (ferror(f)) recur_fail(err, RECUR_EXIT_INPUT, "%s: read error: %s", path, strerror(errno));
    else if (n == 0) recur_fail(err, RECUR_EXIT_INPUT, "%s: expected text, found an empty file", path);
    else if (n > INT32_MAX) recur_fail(err, RECUR_EXIT_INPUT, "%s: expected at most %d bytes, found more", path, INT32_MAX);
    else rc = 0;
    fclose(f);
    if (rc) free(buf);
    else {
        *out = buf;
        *len = n;
    }
    return rc;
}

typedef struct {
    const int32_t *tokens;
    size_t n, n_val;
    const uint8_t *vocab;
    int vocab_size;
} tokens_out;

static int fill_tokens(hid_t file, const char *path, void *ctx, recur_err *err) {
    const tokens_out *o = ctx;
    size_t v = (size_t)o->vocab_size;
    if (h5u_write_str_attr(file, path, "/", "format", TOKENS_FORMAT, err) ||
        h5u_write_int_attr(file, path, "/", "version", TOKENS_VERSION, err) ||
        h5u_write_dataset(file, path, "/vocab", H5U_UINT8, 1, &v, o->vocab, err) ||
        h5u_write_dataset(file, path, "/tokens", H5U_INT32, 1, &o->n, o->tokens, err))
        return -1;
    /* An empty split is left out rather than written as a zero-length set. */
    if (o->n_val && h5u_write_dataset(file, path, "/val_tokens", H5U_INT32, 1, &o->n_val, o->tokens + o->n, err))
        return -1;
    return 0;
}

int dataset_build_from_text(const char *text_path, const char *out_path, int all_bytes, double val_fraction,
                            recur_err *err) {
    if (!(val_fraction >= 0.0 && val_fraction < 1.0))
        return recur_fail(err, RECUR_EXIT_USAGE, "val fraction: expected a number in [0, 1), found %g", val_fraction);
    uint8_t *text;
    size_t len;
    if (slurp(text_path, &text, &len, err)) return -1;

    /* vocab: the distinct bytes in increasing order (or all 256), so ids are
     * stable for a given byte set and the vocab covers train and val. */
    int seen[256] = {0}, id_of[256];
    uint8_t vocab[256];
    int V = 0;
    for (size_t i = 0; i < len; i++) seen[text[i]] = 1;
    for (int b = 0; b < 256; b++)
        if (all_bytes || seen[b]) {
            id_of[b] = V;
            vocab[V++] = (uint8_t)b;
        }
    int32_t *tokens = malloc(len * sizeof *tokens);
    if (!tokens) {
        free(text);
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: out of memory for %zu tokens", text_path, len);
    }
    for (size_t i = 0; i < len; i++) tokens[i] = id_of[text[i]];
    free(text);

    size_t n_val = (size_t)floor(val_fraction * (double)len);
    if (n_val >= len) n_val = len - 1; /* rounding with F just below 1: keep one training token */
    tokens_out o = {tokens, len - n_val, n_val, vocab, V};
    int rc = atomic_h5_write(out_path, fill_tokens, &o, err);
    free(tokens);
    return rc;
}
