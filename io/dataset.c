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

/* The contract's token arrays and how messages name their extents. */
static const h5u_shape TOKENS_SHAPE = {H5U_INT32, 1, {0}, {"N"}};
static const h5u_shape VAL_SHAPE = {H5U_INT32, 1, {0}, {"M"}};

static const h5u_shape *token_shape(const char *field) {
    if (field && strcmp(field, "/tokens") == 0) return &TOKENS_SHAPE;
    if (field && strcmp(field, "/val_tokens") == 0) return &VAL_SHAPE;
    return NULL;
}

/* Every token must index the vocabulary: the model's embedding and softmax
 * have exactly vocab_size rows, so one stray id would read out of bounds.
 * t[i] is token base + i of the dataset: messages give that absolute index. */
static int check_tokens_at(const char *path, const char *name, const int32_t *t, size_t n, size_t base, int V,
                           const char *what, recur_err *err) {
    for (size_t i = 0; i < n; i++)
        if (t[i] < 0 || t[i] >= V)
            return recur_fail(err, RECUR_EXIT_INPUT,
                              "%s: dataset '%s': expected every token in [0, %d) (%s), found %d at index %zu",
                              path, name, V, what, (int)t[i], base + i);
    return 0;
}

int dataset_check_tokens(const char *path, const char *name, const int32_t *t, size_t n, int V, const char *what,
                         recur_err *err) {
    return check_tokens_at(path, name, t, n, 0, V, what, err);
}

/* Opens token array `name` and finds its extent without reading a token.
 * h5util checks a dataset's shape only on the way to reading all of it, so
 * the test for the accepted case is written here, as h5util's rule for
 * "int32 [N]" (integer class, 4 bytes, two's complement, either byte order;
 * a simple 1-D space with N >= 1).  Every rejection is handed to
 * h5u_read_alloc, which fails at that same shape check, before reading
 * anything, with the contract's one message: so the messages are h5util's
 * and cannot drift from dataset_load's (which comes through here too).
 * dset may be NULL (extent only). */
static int open_tokens(hid_t file, const char *path, const char *name, const h5u_shape *shape, hid_t *dset,
                       size_t *n, recur_err *err) {
    hid_t d = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t dim = 0;
    int ok = 0;
    if (dset) *dset = H5I_INVALID_HID;
    *n = 0;
    if (h5u_exists(file, name) && (d = H5Dopen2(file, name, H5P_DEFAULT)) >= 0) {
        type = H5Dget_type(d);
        space = H5Dget_space(d);
        ok = type >= 0 && space >= 0 && H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 4 &&
             H5Tget_sign(type) == H5T_SGN_2 && H5Sget_simple_extent_type(space) == H5S_SIMPLE &&
             H5Sget_simple_extent_ndims(space) == 1 && H5Sget_simple_extent_dims(space, &dim, NULL) == 1 &&
             dim >= 1;
    }
    h5u_close(space);
    h5u_close(type);
    /* A forged extent is caught here, before any caller allocates for it. */
    if (ok && h5u_check_storage(d, path, name, err)) {
        h5u_close(d);
        return -1;
    }
    if (ok) {
        *n = (size_t)dim;
        if (dset) *dset = d;
        else h5u_close(d);
        return 0;
    }
    h5u_close(d);
    size_t dims[1];
    void *all = NULL;
    int rc = h5u_read_alloc(file, path, name, shape, dims, &all, err);
    free(all);
    if (rc) return -1;
    /* Unreachable while the rule above is h5util's: fail loudly rather than
     * silently read whole arrays. */
    return recur_fail(err, RECUR_EXIT_FAIL, "%s: dataset '%s': internal error: io/dataset.c and io/h5util.c "
                      "disagree about %s", path, name, shape->any[0]);
}

/* The structure of an open token file; info->vocab is set (caller frees)
 * even on a later failure. */
static int probe_open(hid_t file, const char *path, void *ctx, recur_err *err) {
    token_dataset_info *info = ctx;
    if (h5u_expect_str_attr(file, path, "/", "format", TOKENS_FORMAT, err)) return -1;
    if (h5u_expect_int_attr(file, path, "/", "version", TOKENS_VERSION, err)) return -1;

    size_t dims[1];
    const h5u_shape vocab_shape = {H5U_UINT8, 1, {0}, {"V"}};
    if (h5u_read_alloc(file, path, "/vocab", &vocab_shape, dims, (void **)&info->vocab, err)) return -1;
    if (dims[0] > 256)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '/vocab': expected uint8 [V] with V <= 256, found uint8 [%zu]",
                          path, dims[0]);
    info->vocab_size = (int)dims[0];

    if (open_tokens(file, path, "/tokens", &TOKENS_SHAPE, NULL, &info->n, err)) return -1;
    if (!h5u_exists(file, "/val_tokens")) return 0;
    return open_tokens(file, path, "/val_tokens", &VAL_SHAPE, NULL, &info->n_val, err);
}

/* Tokens [first, first + count) of `name` into out: a hyperslab of the file
 * space read into a memory space of exactly count elements. */
static int read_range_open(hid_t file, const char *path, const char *name, size_t first, size_t count, int V,
                           int32_t *out, recur_err *err) {
    hid_t d, fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    size_t n;
    if (open_tokens(file, path, name, token_shape(name), &d, &n, err)) return -1;
    int rc = -1;
    if (first > n || count > n - first) {
        if (count <= SIZE_MAX - first)
            recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a token range within [0, %zu), found [%zu, %zu)",
                       path, name, n, first, first + count);
        else
            recur_fail(err, RECUR_EXIT_INPUT,
                       "%s: dataset '%s': expected a token range within [0, %zu), found [%zu, %zu + %zu)", path, name,
                       n, first, first, count);
        goto done;
    }
    if (count == 0) {
        rc = 0;
        goto done;
    }
    hsize_t start = first, cnt = count;
    fspace = H5Dget_space(d);
    mspace = H5Screate_simple(1, &cnt, NULL);
    if (fspace < 0 || mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &cnt, NULL) < 0 ||
        H5Dread(d, H5T_NATIVE_INT32, mspace, fspace, H5P_DEFAULT, out) < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': read failed (damaged or truncated file?)", path, name);
        goto done;
    }
    rc = check_tokens_at(path, name, out, count, first, V, "the vocab size", err);
done:
    h5u_close(mspace);
    h5u_close(fspace);
    h5u_close(d);
    return rc;
}

/* A whole token array: allocated, read and checked. */
static int read_all_open(hid_t file, const char *path, const char *name, size_t n, int V, int32_t **out,
                         recur_err *err) {
    if (n > SIZE_MAX / sizeof **out)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': too large for memory", path, name);
    *out = malloc(n * sizeof **out);
    if (!*out)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: dataset '%s': out of memory for %zu elements", path, name, n);
    return read_range_open(file, path, name, 0, n, V, *out, err);
}

void dataset_info_free(token_dataset_info *info) {
    free(info->vocab);
    memset(info, 0, sizeof *info);
}

int dataset_probe(const char *path, token_dataset_info *info, recur_err *err) {
    memset(info, 0, sizeof *info);
    int rc = h5u_with_file(path, probe_open, info, err);
    if (rc) dataset_info_free(info);
    return rc;
}

typedef struct {
    const char *field;
    size_t first, count;
    int vocab_size;
    int32_t *out;
} range_request;

static int read_range_fn(hid_t file, const char *path, void *ctx, recur_err *err) {
    const range_request *r = ctx;
    return read_range_open(file, path, r->field, r->first, r->count, r->vocab_size, r->out, err);
}

int dataset_read_range(const char *path, const char *field, size_t first, size_t count, int vocab_size,
                       int32_t *out, recur_err *err) {
    if (!token_shape(field))
        return recur_fail(err, RECUR_EXIT_USAGE, "%s: field: expected \"/tokens\" or \"/val_tokens\", found \"%s\"",
                          path, field ? field : "(null)");
    range_request r = {field, first, count, vocab_size, out};
    return h5u_with_file(path, read_range_fn, &r, err);
}

/* The probe, then each array read whole through the range reader: one path
 * for the structure checks and one for the token checks. */
static int load_open(hid_t file, const char *path, void *ctx, recur_err *err) {
    token_dataset *ds = ctx;
    token_dataset_info info = {0};
    int rc = probe_open(file, path, &info, err);
    ds->vocab = info.vocab; /* ds owns it now, also on failure */
    ds->vocab_size = info.vocab_size;
    ds->n = info.n;
    ds->n_val = info.n_val;
    if (rc) return -1;
    if (read_all_open(file, path, "/tokens", ds->n, ds->vocab_size, &ds->tokens, err)) return -1;
    if (ds->n_val == 0) return 0;
    return read_all_open(file, path, "/val_tokens", ds->n_val, ds->vocab_size, &ds->val_tokens, err);
}

int dataset_load(const char *path, token_dataset *ds, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    int rc = h5u_with_file(path, load_open, ds, err);
    if (rc) dataset_free(ds);
    return rc;
}

/* The id range of one whole token array, a chunk at a time so a file of any
 * size fits in a bounded buffer. */
static int id_range(hid_t file, const char *path, const char *name, size_t n, int V, int32_t *mn, int32_t *mx,
                    recur_err *err) {
    enum { CHUNK = 1 << 20 };
    int32_t *buf = malloc(CHUNK * sizeof *buf);
    if (!buf) return recur_fail(err, RECUR_EXIT_FAIL, "%s: out of memory", path);
    int rc = 0;
    *mn = INT32_MAX;
    *mx = INT32_MIN;
    for (size_t first = 0; first < n && !rc; first += CHUNK) {
        size_t count = n - first < CHUNK ? n - first : CHUNK;
        rc = read_range_open(file, path, name, first, count, V, buf, err);
        for (size_t i = 0; i < count && !rc; i++) {
            if (buf[i] < *mn) *mn = buf[i];
            if (buf[i] > *mx) *mx = buf[i];
        }
    }
    free(buf);
    return rc;
}

static int summarize_open(hid_t file, const char *path, void *ctx, recur_err *err) {
    token_dataset_summary *s = ctx;
    token_dataset_info *info = &s->info;
    if (probe_open(file, path, info, err)) return -1;
    if (id_range(file, path, "/tokens", info->n, info->vocab_size, &s->min_id[0], &s->max_id[0], err)) return -1;
    if (info->n_val == 0) return 0;
    return id_range(file, path, "/val_tokens", info->n_val, info->vocab_size, &s->min_id[1], &s->max_id[1], err);
}

int dataset_summarize(const char *path, token_dataset_summary *s, recur_err *err) {
    memset(s, 0, sizeof *s);
    int rc = h5u_with_file(path, summarize_open, s, err);
    if (rc) dataset_summary_free(s);
    return rc;
}

void dataset_summary_free(token_dataset_summary *s) {
    dataset_info_free(&s->info);
    memset(s, 0, sizeof *s);
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
