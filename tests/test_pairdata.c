/* test_pairdata.c - pair datasets (io/pairdata.h, the "recur-pairs" contract),
 * their importer `recur data pairs` (io/import_pairs.c) and `recur inspect`
 * on them.
 *
 *   - round trips write -> load give back every field exactly, and identical
 *     input gives identical bytes; the writer refuses what the reader would
 *     (RECUR_EXIT_FAIL, nothing written);
 *   - files h5py writes (str attributes, int64/uint16/int8 tokens, int32
 *     offsets, variable- and fixed-length string vocabularies) load;
 *   - every file of the bad corpus (tests/make_pair_inputs.py, built at test
 *     time: one thing broken per file) fails with RECUR_EXIT_INPUT and one
 *     message naming the file and the field, in process and through
 *     `recur inspect` (exit 3, never a signal);
 *   - pair_vocab_encode / pair_vocab_decode, an unknown symbol and an empty
 *     text being errors that name them;
 *   - the importer: tokens and vocabularies worked out by hand, per-side
 *     token kinds, --shared-vocab, blank lines, CRLF, a BOM, the seeded split
 *     (identical bytes for the same flags) and --group-sources keeping every
 *     pair of a source in one split; every bad input (no tab, two tabs, empty
 *     source or target, bad UTF-8, a NUL, an empty file) exits 3 with
 *     FILE:LINE and the field and leaves nothing behind; bad flags exit 2;
 *   - `recur inspect` text, --json (checked against h5py) and --jsonl; the
 *     message for a file of another format lists recur-pairs;
 *   - cmudict (../shared/data/seq2seq) imported with --group-sources when it
 *     is there.
 * After every in-process test no HDF5 id may remain open.
 *
 * Run: make build/release/tests/test_pairdata && RECUR=$PWD/bin/recur build/release/tests/test_pairdata
 */
#include "test_util.h"

#include <dirent.h>
#include <hdf5.h>

#include "../io/pairdata.h"

#define SHARED "../shared/data"

/* The h5py corpus and the importer's cases, built once for the whole run. */
static char *g_corpus;
static int g_case;

static ssize_t open_objects(void) { return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); }

typedef struct {
    char *dir;
    ssize_t open_objects;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    if (!f->dir) return -1;
    f->open_objects = open_objects();
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ssize_t now = open_objects();
    int leaked = now != f->open_objects;
    if (leaked) fprintf(stderr, "HDF5 id leak: %zd objects open at setup, %zd now\n", f->open_objects, now);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return leaked ? -1 : 0;
}

static int group_setup(void **state) {
    (void)state;
    g_corpus = tu_tmpdir();
    if (!g_corpus) return -1;
    char log[16384];
    int rc = tu_run(log, sizeof log, "%s tests/make_pair_inputs.py '%s'", TU_PYTHON, g_corpus);
    if (rc) fprintf(stderr, "make_pair_inputs.py failed (%d):\n%s\n", rc, log);
    return rc ? -1 : 0;
}

static int group_teardown(void **state) {
    (void)state;
    if (g_corpus) tu_rmtree(g_corpus);
    free(g_corpus);
    return 0;
}

static void corpus_file(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s.h5", g_corpus, name); }

/* ---- datasets built in memory ----------------------------------------------- */

/* Storage for one in-memory dataset (everything the pair_dataset points to). */
typedef struct {
    pair_dataset ds;
    int64_t soff[SPLIT_COUNT][8], toff[SPLIT_COUNT][8];
    int32_t stok[SPLIT_COUNT][64], ttok[SPLIT_COUNT][64];
    uint8_t chars[8], chars2[8];
    char *words[5], *words2[5];
} built;

static const size_t SRC_LENS[SPLIT_COUNT][4] = {{3, 1, 4, 2}, {2, 5, 0, 0}, {1, 0, 0, 0}};
static const size_t TGT_LENS[SPLIT_COUNT][4] = {{1, 2, 2, 6}, {3, 1, 0, 0}, {2, 0, 0, 0}};
static const size_t NPAIRS[SPLIT_COUNT] = {4, 2, 1};

enum { V_CHARS, V_WORDS };

static void set_vocab(pair_vocab *v, int kind, uint8_t *chars, char **words) {
    static char *WORDS[] = {"the", "cät", "sat", "on", "mat"};
    memset(v, 0, sizeof *v);
    if (kind == V_CHARS) {
        memcpy(chars, "ab\ncd\xff", 6);
        v->chars = chars;
        v->size = 6;
    } else {
        memcpy(words, WORDS, sizeof WORDS);
        v->words = words;
        v->size = 5;
    }
}

/* Source vocabulary of kind src, target of kind tgt (the same one when shared). */
static void build(built *b, int src, int tgt, int shared) {
    memset(b, 0, sizeof *b);
    pair_dataset *ds = &b->ds;
    set_vocab(&ds->src, src, b->chars, b->words);
    set_vocab(&ds->tgt, tgt, b->chars2, b->words2);
    ds->shared = shared;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        pair_split *sp = &ds->split[s];
        sp->present = 1;
        sp->n = NPAIRS[s];
        sp->src_offsets = b->soff[s];
        sp->tgt_offsets = b->toff[s];
        for (size_t i = 0; i < sp->n; i++) {
            b->soff[s][i + 1] = b->soff[s][i] + (int64_t)SRC_LENS[s][i];
            b->toff[s][i + 1] = b->toff[s][i] + (int64_t)TGT_LENS[s][i];
        }
        sp->src_total = (size_t)b->soff[s][sp->n];
        sp->tgt_total = (size_t)b->toff[s][sp->n];
        for (size_t t = 0; t < sp->src_total; t++) b->stok[s][t] = (int32_t)((t * 7 + (size_t)s) % (size_t)ds->src.size);
        for (size_t t = 0; t < sp->tgt_total; t++) b->ttok[s][t] = (int32_t)((t * 3 + 1) % (size_t)ds->tgt.size);
        sp->src_tokens = b->stok[s];
        sp->tgt_tokens = b->ttok[s];
    }
}

static void assert_same_vocab(const pair_vocab *a, const pair_vocab *b) {
    assert_int_equal(a->size, b->size);
    assert_true((a->chars != NULL) == (b->chars != NULL));
    assert_true((a->words != NULL) == (b->words != NULL));
    if (a->chars) assert_memory_equal(a->chars, b->chars, (size_t)a->size);
    for (int i = 0; a->words && i < a->size; i++) assert_string_equal(a->words[i], b->words[i]);
}

static void assert_same_dataset(const pair_dataset *a, const pair_dataset *b) {
    assert_same_vocab(&a->src, &b->src);
    assert_same_vocab(&a->tgt, &b->tgt);
    assert_int_equal(a->shared, b->shared);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const pair_split *x = &a->split[s], *y = &b->split[s];
        assert_int_equal(x->present, y->present);
        if (!x->present) continue;
        assert_int_equal(x->n, y->n);
        assert_int_equal(x->src_total, y->src_total);
        assert_int_equal(x->tgt_total, y->tgt_total);
        assert_memory_equal(x->src_offsets, y->src_offsets, (x->n + 1) * sizeof *x->src_offsets);
        assert_memory_equal(x->tgt_offsets, y->tgt_offsets, (x->n + 1) * sizeof *x->tgt_offsets);
        assert_memory_equal(x->src_tokens, y->src_tokens, x->src_total * sizeof *x->src_tokens);
        assert_memory_equal(x->tgt_tokens, y->tgt_tokens, x->tgt_total * sizeof *x->tgt_tokens);
    }
}

/* write -> load gives back every field; writing the same data again (also
 * from what was loaded) gives the same bytes. */
static void round_trip(const char *dir, int src, int tgt, int shared) {
    built b;
    build(&b, src, tgt, shared);
    char p1[4200], p2[4200], p3[4200];
    snprintf(p1, sizeof p1, "%s/a.h5", dir);
    snprintf(p2, sizeof p2, "%s/b.h5", dir);
    snprintf(p3, sizeof p3, "%s/c.h5", dir);
    recur_err err = {0};
    if (pairdata_write(p1, &b.ds, &err)) fail_msg("%s", err.msg);
    pair_dataset got;
    if (pairdata_load(p1, &got, &err)) fail_msg("%s", err.msg);
    assert_same_dataset(&b.ds, &got);
    if (got.src.words) assert_non_null(got.src.slot); /* the lookup table, built by the loader */
    assert_int_equal(pairdata_is_pair_file(p1, &err), 1);
    if (pairdata_write(p2, &b.ds, &err)) fail_msg("%s", err.msg);
    if (pairdata_write(p3, &got, &err)) fail_msg("%s", err.msg);
    pairdata_free(&got);
    size_t n1, n2, n3;
    char *f1 = tu_slurp(p1, &n1), *f2 = tu_slurp(p2, &n2), *f3 = tu_slurp(p3, &n3);
    assert_non_null(f1);
    assert_int_equal(n1, n2);
    assert_int_equal(n1, n3);
    assert_memory_equal(f1, f2, n1);
    assert_memory_equal(f1, f3, n1);
    free(f1);
    free(f2);
    free(f3);
}

static void test_round_trip_chars_words(void **state) { round_trip(((fixture *)*state)->dir, V_CHARS, V_WORDS, 0); }
static void test_round_trip_words_chars(void **state) { round_trip(((fixture *)*state)->dir, V_WORDS, V_CHARS, 0); }
static void test_round_trip_shared_chars(void **state) { round_trip(((fixture *)*state)->dir, V_CHARS, V_CHARS, 1); }
static void test_round_trip_shared_words(void **state) { round_trip(((fixture *)*state)->dir, V_WORDS, V_WORDS, 1); }

/* Only /train: val and test stay absent; a file without shared_vocab reads as 0. */
static void test_round_trip_train_only(void **state) {
    fixture *f = *state;
    built b;
    build(&b, V_CHARS, V_CHARS, 0);
    b.ds.split[SPLIT_VAL].present = b.ds.split[SPLIT_TEST].present = 0;
    char p[4200];
    snprintf(p, sizeof p, "%s/m.h5", f->dir);
    recur_err err = {0};
    if (pairdata_write(p, &b.ds, &err)) fail_msg("%s", err.msg);
    pair_dataset got;
    if (pairdata_load(p, &got, &err)) fail_msg("%s", err.msg);
    memset(&b.ds.split[SPLIT_VAL], 0, sizeof b.ds.split[SPLIT_VAL]);
    memset(&b.ds.split[SPLIT_TEST], 0, sizeof b.ds.split[SPLIT_TEST]);
    assert_same_dataset(&b.ds, &got);
    pairdata_free(&got);
    pairdata_free(&got); /* safe twice */
}

/* ---- the writer refuses what the reader would ------------------------------- */

static void w_src_offsets_start(built *b) { b->soff[0][0] = 1; }
static void w_tgt_offsets_decrease(built *b) { b->toff[0][2] = 0; }
static void w_empty_target(built *b) { b->toff[1][1] = 0; }
static void w_src_token_ge_V(built *b) { b->stok[2][0] = 6; }
static void w_tgt_token_negative(built *b) { b->ttok[1][3] = -1; }
static void w_no_train(built *b) { b->ds.split[SPLIT_TRAIN].present = 0; }
static void w_no_vocab(built *b) { b->ds.tgt.words = NULL; }
static void w_shared_differs(built *b) { b->ds.shared = 1; }
static void w_bad_utf8(built *b) { b->words2[1] = "bad\xc3"; }
static void w_no_tokens(built *b) { b->ds.split[SPLIT_VAL].tgt_tokens = NULL; }
static void w_vocab_257(built *b) { b->ds.src.size = 257; }

static void test_write_refuses(void **state) {
    fixture *f = *state;
    static const struct {
        const char *what;
        void (*breaks)(built *b);
        const char *message;
    } cases[] = {
        {"src offsets start", w_src_offsets_start, "/train/src_offsets[0]: expected 0, found 1"},
        {"tgt offsets decrease", w_tgt_offsets_decrease, "/train/tgt_offsets[2]: expected >= 2 (offsets[1] = 1"},
        {"empty target", w_empty_target, "/val/tgt_offsets[1]: expected >= 1"},
        {"src token >= V", w_src_token_ge_V, "/test/src_tokens[0]: expected a token in [0, 6), found 6"},
        {"negative tgt token", w_tgt_token_negative, "/val/tgt_tokens[3]: expected a token in [0, 5), found -1"},
        {"no train", w_no_train, "/train: expected a group (the train split), found none"},
        {"no vocabulary", w_no_vocab, "/tgt_vocab: expected characters or words, found neither"},
        {"shared but different", w_shared_differs, "/tgt_vocab: expected the same vocabulary as /src_vocab "
                                                    "(shared_vocab = 1), found words where /src_vocab has characters"},
        {"bad UTF-8", w_bad_utf8, "/tgt_vocab[1]: expected UTF-8 text"},
        {"no tokens", w_no_tokens, "/val/tgt_tokens: expected an array, found none (NULL)"},
        {"257 characters", w_vocab_257, "/src_vocab: expected between 1 and 256 characters, found V = 257"},
    };
    char p[4200];
    snprintf(p, sizeof p, "%s/out.h5", f->dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        built b;
        build(&b, V_CHARS, V_WORDS, 0);
        cases[i].breaks(&b);
        recur_err err = {0};
        assert_int_equal(pairdata_write(p, &b.ds, &err), -1);
        if (err.code != RECUR_EXIT_FAIL || !strstr(err.msg, cases[i].message) || strncmp(err.msg, p, strlen(p)))
            fail_msg("%s: code %d, message \"%s\", expected \"%s\"", cases[i].what, err.code, err.msg, cases[i].message);
        assert_false(tu_exists(p));
    }
    DIR *d = opendir(f->dir);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) entries++;
    closedir(d);
    assert_int_equal(entries, 0); /* not even a temp file */
}

static void test_write_unwritable(void **state) {
    fixture *f = *state;
    built b;
    build(&b, V_WORDS, V_WORDS, 1);
    char p[4200];
    snprintf(p, sizeof p, "%s/no/such/dir/out.h5", f->dir);
    recur_err err = {0};
    assert_int_equal(pairdata_write(p, &b.ds, &err), -1);
    assert_int_equal(err.code, RECUR_EXIT_OUTPUT);
    assert_non_null(strstr(err.msg, p));
}

/* ---- files written by h5py -------------------------------------------------- */

static void load_good(const char *name, pair_dataset *ds) {
    char p[4200];
    corpus_file(p, sizeof p, name);
    recur_err err = {0};
    if (pairdata_load(p, ds, &err)) fail_msg("%s", err.msg);
}

static void test_h5py_files(void **state) {
    (void)state;
    pair_dataset ds;
    load_good("good_chars_words", &ds); /* uint8 /src_vocab, str /tgt_vocab, int64 and uint16 tokens */
    assert_int_equal(ds.shared, 0);
    assert_int_equal(ds.src.size, 7);
    assert_memory_equal(ds.src.chars, "abcdefg", 7);
    assert_null(ds.src.words);
    assert_int_equal(ds.tgt.size, 6);
    assert_string_equal(ds.tgt.words[5], "zzqqphone");
    const pair_split *tr = &ds.split[SPLIT_TRAIN];
    assert_int_equal(tr->n, 5);
    assert_int_equal(tr->src_total, 15);
    assert_int_equal(tr->tgt_total, 10);
    assert_int_equal(tr->src_tokens[14], 14 % 7);
    assert_int_equal(tr->tgt_tokens[9], 9 % 6);
    assert_int_equal(pair_src_length(tr, 4), 5);
    assert_int_equal(pair_tgt_length(tr, 2), 3);
    assert_int_equal(ds.split[SPLIT_VAL].n, 2);
    assert_false(ds.split[SPLIT_TEST].present);
    pairdata_free(&ds);

    load_good("good_shared_words", &ds); /* fixed-length byte strings, int32 offsets, int8 tokens, shared */
    assert_int_equal(ds.shared, 1);
    assert_int_equal(ds.src.size, 5);
    assert_string_equal(ds.src.words[3], "chat");
    assert_string_equal(ds.tgt.words[3], "chat");
    assert_false(ds.split[SPLIT_VAL].present);
    assert_int_equal(ds.split[SPLIT_TEST].n, 1);
    assert_int_equal(ds.split[SPLIT_TEST].tgt_total, 4);
    assert_int_equal(ds.split[SPLIT_TEST].tgt_tokens[0], 4);
    pairdata_free(&ds);
}

/* ---- the bad corpus --------------------------------------------------------- */

static const struct {
    const char *file, *message;
} BAD[] = {
    {"format_wrong", "attribute 'format': expected the string \"recur-pairs\", found \"recur-sequences\""},
    {"format_missing", "attribute 'format'"},
    {"version_wrong", "attribute 'version': expected the integer 1, found 2"},
    {"version_string", "attribute 'version': expected the integer 1, found string scalar"},
    {"shared_vocab_2", "attribute 'shared_vocab': expected an integer in [0, 1], found 2"},
    {"shared_vocab_differs", "/tgt_vocab: expected the same vocabulary as /src_vocab (shared_vocab = 1), found "
                             "'chien' at id 3 where /src_vocab has 'chat'"},
    {"shared_vocab_kinds", "/tgt_vocab: expected the same vocabulary as /src_vocab (shared_vocab = 1), found words "
                           "where /src_vocab has characters"},
    {"src_offsets_start", "/train/src_offsets[0]: expected 0, found 1"},
    {"src_offsets_decrease", "/train/src_offsets[3]: expected >= 5 (offsets[2] = 4, every sequence at least one step), "
                             "found 2"},
    {"src_offsets_end_short", "/train/src_offsets[5]: expected 15 (the steps in /train/src_tokens), found 14"},
    {"src_offsets_end_long", "/train/src_offsets[5]: expected <= 15 (the steps in /train/src_tokens), found 16"},
    {"tgt_offsets_empty_target", "/train/tgt_offsets[2]: expected >= 3 (offsets[1] = 2, every sequence at least one "
                                 "step), found 2"},
    {"tgt_offsets_end_short", "/val/tgt_offsets[2]: expected 3 (the steps in /val/tgt_tokens), found 2"},
    {"n_mismatch", "/train/tgt_offsets: expected 6 entries (n+1, as /train/src_offsets: a target per source), found 5"},
    {"src_offsets_float", "/train/src_offsets: expected an integer array [n+1], found float64 [6]"},
    {"tgt_offsets_rank2", "/val/tgt_offsets: expected an integer array [n+1], found int64 [1, 3]"},
    {"tgt_offsets_missing", "/val/tgt_offsets: expected an integer array [n+1], found nothing (missing)"},
    {"src_offsets_one", "/val/src_offsets: expected between 2 and 6 entries (n+1"},
    {"src_token_ge_V", "/train/src_tokens[4]: expected a token in [0, 7), found 7"},
    {"tgt_token_ge_V", "/val/tgt_tokens[2]: expected a token in [0, 6), found 6"},
    {"tgt_token_negative", "/test/tgt_tokens[3]: expected a token in [0, 5), found -1"},
    {"src_token_huge_uint64", "/train/src_tokens[0]: expected a token in [0, 7), found 9223372036854775807"},
    {"src_tokens_float", "/train/src_tokens: expected an integer array [total], found float32 [15]"},
    {"tgt_tokens_rank2", "/train/tgt_tokens: expected an integer array [total], found int32 [10, 1]"},
    {"tgt_tokens_strings", "/train/tgt_tokens: expected an integer array [total], found string [10]"},
    {"tgt_tokens_missing", "/train/tgt_tokens: expected an integer array [total], found nothing (missing)"},
    {"src_vocab_missing", "/src_vocab: expected uint8 [V] (a character per id) or variable-length strings [V] (a word "
                          "per id), found nothing (missing)"},
    {"tgt_vocab_float", "/tgt_vocab: expected uint8 [V] (a character per id) or variable-length strings [V] (a word "
                        "per id), found float64 [6]"},
    {"src_vocab_byte_300", "/src_vocab[0]: expected a byte in [0, 256), found 294"},
    {"src_vocab_too_long", "/src_vocab: expected at most 256 entries (a byte each), found 300"},
    {"tgt_vocab_not_utf8", "/tgt_vocab[1]: expected UTF-8 text, found byte 0xff at byte 1"},
    {"tgt_vocab_rank2", "/tgt_vocab: expected variable-length strings [N], found string [1, 6]"},
    {"train_missing", "/train: expected a group (the train split), required, found nothing (missing)"},
    {"val_dataset", "/val: expected a group (the val split), found int64 [2]"},
    {"link_soft_group", "/val: expected a group (the val split), found a soft or external link"},
    {"link_external", "/train/src_tokens: expected an integer array [total], found a soft or external link"},
    {"huge_src_tokens", "/train/src_tokens: expected at most 4294967296 elements, found int32 [1099511627776]"},
    {"huge_tgt_tokens_unstored", "dataset '/val/tgt_tokens': 3000000000 elements declared"},
    {"huge_src_offsets", "dataset '/train/src_offsets': 2147483648 elements declared"},
    {"huge_tgt_vocab", "/tgt_vocab: expected at most 16777216 strings, found 1073741824"},
    {"heap_tgt_vocab", "/tgt_vocab: damaged HDF5 file"},
};

/* In process: -1, RECUR_EXIT_INPUT, "<path>: <field>: ..." and a zeroed dataset. */
static void test_bad_files_load(void **state) {
    (void)state;
    static const pair_dataset zero;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char p[4200], name[128];
        snprintf(name, sizeof name, "bad_%s", BAD[i].file);
        corpus_file(p, sizeof p, name);
        pair_dataset ds;
        memset(&ds, 0x5a, sizeof ds);
        recur_err err = {0};
        int rc = pairdata_load(p, &ds, &err);
        char want[5400];
        snprintf(want, sizeof want, "%s: %s", p, BAD[i].message);
        if (rc != -1 || err.code != RECUR_EXIT_INPUT || !strstr(err.msg, want))
            fail_msg("%s: rc %d code %d\n  message: %s\n  expected: %s", name, rc, err.code, err.msg, want);
        assert_memory_equal(&ds, &zero, sizeof ds);
    }
}

/* Through the CLI: exit 3, the message on stderr, never a signal.  A file
 * whose format is not recur-pairs is another kind of file to inspect: exit 3
 * is all that is asked of it here. */
static void test_bad_files_inspect(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char p[4200], name[128], out[4096];
        snprintf(name, sizeof name, "bad_%s", BAD[i].file);
        corpus_file(p, sizeof p, name);
        int rc = tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p);
        int other_format = !strncmp(BAD[i].file, "format_", 7);
        if (rc != 3 || (!other_format && !strstr(out, BAD[i].message)))
            fail_msg("recur inspect %s: exit %d\n%s\nexpected: %s", name, rc, out, BAD[i].message);
        if (i % 6) continue; /* --json on a sample: after the error stdout holds no JSON */
        rc = tu_run(out, sizeof out, "'%s' inspect --json '%s' 2>/dev/null", tu_recur(), p);
        if (rc != 3 || strchr(out, '{')) fail_msg("recur inspect --json %s: exit %d, stdout %s", name, rc, out);
    }
}

static void test_is_pair_file(void **state) {
    fixture *f = *state;
    char p[4200];
    recur_err err = {0};
    corpus_file(p, sizeof p, "good_shared_words");
    assert_int_equal(pairdata_is_pair_file(p, &err), 1);
    corpus_file(p, sizeof p, "bad_format_wrong");
    assert_int_equal(pairdata_is_pair_file(p, &err), 0);
    corpus_file(p, sizeof p, "bad_format_missing");
    assert_int_equal(pairdata_is_pair_file(p, &err), 0);
    snprintf(p, sizeof p, "%s/text.h5", f->dir);
    FILE *t = fopen(p, "w");
    fputs("not hdf5\n", t);
    fclose(t);
    assert_int_equal(pairdata_is_pair_file(p, &err), -1);
    assert_int_equal(err.code, RECUR_EXIT_INPUT);
    assert_non_null(strstr(err.msg, "no HDF5 signature"));
}

/* ---- text <-> ids ------------------------------------------------------------- */

static void expect_encode_error(const pair_vocab *v, const char *text, const char *message) {
    int32_t *ids = (int32_t *)1;
    size_t n = 99;
    recur_err err = {0};
    assert_int_equal(pair_vocab_encode(v, text, strlen(text), "input.txt:3", &ids, &n, &err), -1);
    assert_int_equal(err.code, RECUR_EXIT_INPUT);
    if (strcmp(err.msg, message)) fail_msg("encode '%s': \"%s\", expected \"%s\"", text, err.msg, message);
    assert_null(ids);
    assert_int_equal(n, 0);
}

static void test_encode_decode_chars(void **state) {
    (void)state;
    uint8_t chars[] = {'a', 'b', ' ', 0xC3, 0xA9, 'a'}; /* a repeated byte keeps its first id */
    pair_vocab v = {.size = 6, .chars = chars};
    int32_t *ids;
    size_t n;
    recur_err err = {0};
    const char *text = "ab \xC3\xA9" "a";
    if (pair_vocab_encode(&v, text, strlen(text), "x", &ids, &n, &err)) fail_msg("%s", err.msg);
    const int32_t want[] = {0, 1, 2, 3, 4, 0};
    assert_int_equal(n, 6);
    assert_memory_equal(ids, want, sizeof want);
    char buf[64];
    assert_int_equal(pair_vocab_decode(&v, ids, n, buf, sizeof buf), 6);
    assert_string_equal(buf, "ab \xC3\xA9" "a");
    assert_int_equal(pair_vocab_decode(&v, ids, n, buf, 4), 6); /* cut, snprintf-like */
    assert_string_equal(buf, "ab ");
    assert_int_equal(pair_vocab_decode(&v, ids, n, NULL, 0), 6);
    free(ids);
    const int32_t bad[] = {1, 6, -2};
    assert_int_equal(pair_vocab_decode(&v, bad, 3, buf, sizeof buf), strlen("b<id 6><id -2>"));
    assert_string_equal(buf, "b<id 6><id -2>");
    expect_encode_error(&v, "abc", "input.txt:3: byte 3: expected a character of the vocabulary (V = 6), found 'c'");
    expect_encode_error(&v, "a\tb", "input.txt:3: byte 2: expected a character of the vocabulary (V = 6), found the "
                                    "byte 0x09");
    expect_encode_error(&v, "", "input.txt:3: expected text, found an empty one");
}

static void test_encode_decode_words(void **state) {
    (void)state;
    char *words[] = {"HH", "AH0", "L", "OW1", "héllo", "L"};
    pair_vocab v = {.size = 6, .words = words};
    for (int indexed = 0; indexed < 2; indexed++) { /* linear search, then the lookup table */
        recur_err err = {0};
        if (indexed && pair_vocab_index(&v, &err)) fail_msg("%s", err.msg);
        int32_t *ids;
        size_t n;
        const char *text = "  HH AH0\tL\r\nOW1 héllo L  ";
        if (pair_vocab_encode(&v, text, strlen(text), "x", &ids, &n, &err)) fail_msg("%s", err.msg);
        const int32_t want[] = {0, 1, 2, 3, 4, 2};
        assert_int_equal(n, 6);
        assert_memory_equal(ids, want, sizeof want);
        char buf[64];
        size_t need = pair_vocab_decode(&v, ids, n, buf, sizeof buf);
        assert_string_equal(buf, "HH AH0 L OW1 héllo L");
        assert_int_equal(need, strlen(buf));
        free(ids);
        expect_encode_error(&v, "HH XY L", "input.txt:3: word 2: expected a word of the vocabulary (V = 6), found 'XY'");
        expect_encode_error(&v, "hh", "input.txt:3: word 1: expected a word of the vocabulary (V = 6), found 'hh'");
        expect_encode_error(&v, " \t ", "input.txt:3: expected at least one word, found only whitespace");
        expect_encode_error(&v, "", "input.txt:3: expected text, found an empty one");
    }
    free(v.slot);
}

/* ---- the importer ------------------------------------------------------------- */

static void case_dir(const char *base, char *out, size_t len) {
    snprintf(out, len, "%s/c%d", base, ++g_case);
    assert_int_equal(mkdir(out, 0755), 0);
}

static void write_text(const char *dir, const char *name, const char *text, size_t len) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static int lines_of(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Runs `recur data pairs ARGS` in dir, expects success and one summary line
 * (into log), loads dir/out.h5 into ds. */
static void import_ok(const char *dir, pair_dataset *ds, char *log, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void import_ok(const char *dir, pair_dataset *ds, char *log, size_t len, const char *fmt, ...) {
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = tu_run(log, len, "cd '%s' && '%s' data pairs %s", dir, tu_recur(), args);
    if (rc) fail_msg("recur data pairs %s: exit %d: %s", args, rc, log);
    if (lines_of(log) != 1) fail_msg("recur data pairs %s: expected one summary line, found: %s", args, log);
    char path[4400];
    snprintf(path, sizeof path, "%s/out.h5", dir);
    recur_err err = {0};
    if (pairdata_load(path, ds, &err)) fail_msg("pairdata_load(%s): %s", path, err.msg);
}

/* Runs `recur data pairs ARGS` in a fresh dir holding only `name` (len bytes
 * of text); expects exit `code`, one line holding every needle, and nothing
 * left but the input. */
static void import_bad(const char *base, int code, const char *name, const char *text, size_t len,
                       const char *const needles[], const char *args) {
    char dir[4096], log[8192];
    case_dir(base, dir, sizeof dir);
    write_text(dir, name, text, len);
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' data pairs %s", dir, tu_recur(), args);
    if (rc != code) fail_msg("recur data pairs %s: exit %d, expected %d: %s", args, rc, code, log);
    if (lines_of(log) != 1) fail_msg("recur data pairs %s: expected one line, found: %s", args, log);
    for (int i = 0; needles[i]; i++)
        if (!strstr(log, needles[i])) fail_msg("recur data pairs %s: expected '%s' in: %s", args, needles[i], log);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, name))
            fail_msg("recur data pairs %s: left '%s' behind", args, e->d_name);
    closedir(d);
}

static void assert_ints(const int32_t *got, const int32_t *want, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) fail_msg("%s[%zu]: expected %d, found %d", what, i, want[i], got[i]);
}

static void assert_offsets(const int64_t *got, const int64_t *want, size_t n, const char *what) {
    for (size_t i = 0; i <= n; i++)
        if (got[i] != want[i]) fail_msg("%s[%zu]: expected %lld, found %lld", what, i, (long long)want[i], (long long)got[i]);
}

static void assert_words(const pair_vocab *v, const char *const *want, int n, const char *what) {
    assert_non_null(v->words);
    if (v->size != n) fail_msg("%s: expected %d words, found %d", what, n, v->size);
    for (int i = 0; i < n; i++)
        if (strcmp(v->words[i], want[i])) fail_msg("%s[%d]: expected '%s', found '%s'", what, i, want[i], v->words[i]);
}

/* Chars on both sides (the default): a BOM, CRLF, a blank line, spaces
 * around both sides and a space inside; bytes in increasing order per side;
 * the summary line. */
static void test_import_chars(void **state) {
    fixture *f = *state;
    char dir[4096], log[8192];
    case_dir(f->dir, dir, sizeof dir);
    const char *text = "\xEF\xBB\xBF" "ab\tba\r\n   \r\n b a \tc\n";
    write_text(dir, "p.tsv", text, strlen(text));
    pair_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "p.tsv out.h5");
    assert_string_equal(log, "recur data: wrote out.h5 (pairs): train 2 pairs (5 + 3 source + target tokens) (no val "
                             "or test split); source vocabulary 3 characters, target vocabulary 3 characters (built "
                             "from all splits)\n");
    assert_int_equal(ds.shared, 0);
    assert_int_equal(ds.src.size, 3);
    assert_memory_equal(ds.src.chars, " ab", 3);
    assert_int_equal(ds.tgt.size, 3);
    assert_memory_equal(ds.tgt.chars, "abc", 3);
    const pair_split *tr = &ds.split[SPLIT_TRAIN];
    assert_int_equal(tr->n, 2);
    const int64_t so[] = {0, 2, 5}, to[] = {0, 2, 3};
    assert_offsets(tr->src_offsets, so, 2, "src_offsets");
    assert_offsets(tr->tgt_offsets, to, 2, "tgt_offsets");
    const int32_t st[] = {1, 2, 2, 0, 1}, tt[] = {1, 0, 2}; /* a b | b ' ' a ; b a | c */
    assert_ints(tr->src_tokens, st, 5, "src_tokens");
    assert_ints(tr->tgt_tokens, tt, 3, "tgt_tokens");
    assert_false(ds.split[SPLIT_VAL].present || ds.split[SPLIT_TEST].present);
    pairdata_free(&ds);
}

/* --src-tokens chars --tgt-tokens words (G2P): words split on any ASCII
 * whitespace, kept as written, in order of first appearance; --tokens words
 * sets both sides; a per-side flag overrides --tokens. */
static void test_import_words(void **state) {
    fixture *f = *state;
    char dir[4096], log[8192];
    case_dir(f->dir, dir, sizeof dir);
    const char *text = "hello\tHH AH0  L OW1\nlow\tL OW1\nhi, there!\tHi, there!\n";
    write_text(dir, "p.tsv", text, strlen(text));
    pair_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "p.tsv out.h5 --tgt-tokens words");
    assert_non_null(strstr(log, "source vocabulary 11 characters, target vocabulary 6 words (built from all splits)"));
    const char *tw[] = {"HH", "AH0", "L", "OW1", "Hi,", "there!"};
    assert_words(&ds.tgt, tw, 6, "tgt vocabulary");
    assert_non_null(ds.src.chars);
    const pair_split *tr = &ds.split[SPLIT_TRAIN];
    const int64_t to[] = {0, 4, 6, 8};
    assert_offsets(tr->tgt_offsets, to, 3, "tgt_offsets");
    const int32_t tt[] = {0, 1, 2, 3, 2, 3, 4, 5};
    assert_ints(tr->tgt_tokens, tt, 8, "tgt_tokens");
    pairdata_free(&ds);

    import_ok(dir, &ds, log, sizeof log, "p.tsv out.h5 --tokens words --tgt-tokens chars");
    const char *sw[] = {"hello", "low", "hi,", "there!"};
    assert_words(&ds.src, sw, 4, "src vocabulary");
    assert_non_null(ds.tgt.chars);
    assert_int_equal(ds.split[SPLIT_TRAIN].src_total, 4);
    pairdata_free(&ds);
}

/* --shared-vocab: one vocabulary of both sides' symbols, stored twice, shared_vocab = 1. */
static void test_import_shared(void **state) {
    fixture *f = *state;
    char dir[4096], log[8192];
    case_dir(f->dir, dir, sizeof dir);
    const char *text = "the cat\tle chat\nthe dog\tle chien\n";
    write_text(dir, "p.tsv", text, strlen(text));
    pair_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "p.tsv out.h5 --tokens words --shared-vocab");
    assert_non_null(strstr(log, "vocabulary 6 words shared by source and target (built from all splits)"));
    assert_int_equal(ds.shared, 1);
    const char *w[] = {"the", "cat", "le", "chat", "dog", "chien"};
    assert_words(&ds.src, w, 6, "src vocabulary");
    assert_words(&ds.tgt, w, 6, "tgt vocabulary");
    const int32_t tt[] = {2, 3, 2, 5};
    assert_ints(ds.split[SPLIT_TRAIN].tgt_tokens, tt, 4, "tgt_tokens");
    pairdata_free(&ds);

    import_ok(dir, &ds, log, sizeof log, "p.tsv out.h5 --shared-vocab");
    assert_int_equal(ds.shared, 1);
    assert_int_equal(ds.src.size, 12); /* ' ' a c d e g h i l n o t */
    assert_memory_equal(ds.src.chars, " acdeghilnot", 12);
    assert_memory_equal(ds.tgt.chars, " acdeghilnot", 12);
    const int32_t st[] = {11, 6, 4, 0, 2, 1, 11}; /* "the cat" */
    assert_ints(ds.split[SPLIT_TRAIN].src_tokens, st, 7, "src_tokens");
    pairdata_free(&ds);
}

/* Line i of the file: source "s<i>" (with --group-sources, every source
 * three times with targets t<i>a, t<i>b, t<i>c). */
static void write_numbered(const char *dir, int n, int repeats) {
    char *text = malloc((size_t)n * (size_t)repeats * 32 + 1);
    size_t at = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < repeats; r++) at += (size_t)sprintf(text + at, "s%d\tt%d%c\n", i, i, 'a' + r);
    write_text(dir, "p.tsv", text, at);
    free(text);
}

/* The number i of source "s<i>" (words: the word; chars: decoded). */
static int source_number(const pair_dataset *ds, const pair_split *sp, size_t k) {
    char buf[64];
    pair_vocab_decode(&ds->src, sp->src_tokens + sp->src_offsets[k], pair_src_length(sp, k), buf, sizeof buf);
    assert_true(buf[0] == 's');
    return atoi(buf + 1);
}

/* --seed: the same flags give the same bytes, another seed another split;
 * floor(F*n) pairs each for val and test; every line once, input order kept
 * within a split. */
static void test_import_split(void **state) {
    fixture *f = *state;
    char dir[4096], log[8192];
    case_dir(f->dir, dir, sizeof dir);
    write_numbered(dir, 20, 1);
    pair_dataset a, b;
    import_ok(dir, &a, log, sizeof log, "p.tsv out.h5 --val-fraction 0.2 --test-fraction 0.1 --seed 7");
    assert_non_null(strstr(log, "train 14 pairs"));
    assert_non_null(strstr(log, ", val 4 ("));
    assert_non_null(strstr(log, ", test 2 ("));
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && cp out.h5 first.h5", dir), 0);
    import_ok(dir, &b, log, sizeof log, "p.tsv out.h5 --val-fraction 0.2 --test-fraction 0.1 --seed 7");
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && cmp first.h5 out.h5", dir), 0);
    int seen[20] = {0};
    for (int s = 0; s < SPLIT_COUNT; s++)
        for (size_t k = 0; k < a.split[s].n; k++) {
            int i = source_number(&a, &a.split[s], k);
            assert_true(i >= 0 && i < 20);
            if (k) assert_true(i > source_number(&a, &a.split[s], k - 1));
            seen[i]++;
        }
    for (int i = 0; i < 20; i++) assert_int_equal(seen[i], 1);
    pairdata_free(&b);
    import_ok(dir, &b, log, sizeof log, "p.tsv out.h5 --val-fraction 0.2 --test-fraction 0.1 --seed 8");
    int differs = 0;
    for (size_t k = 0; k < 4; k++)
        differs |= source_number(&a, &a.split[SPLIT_VAL], k) != source_number(&b, &b.split[SPLIT_VAL], k);
    assert_true(differs);
    pairdata_free(&a);
    pairdata_free(&b);
}

/* --group-sources: the fractions count distinct sources, and the three pairs
 * of a source share a split (without it, for this seed, they do not). */
static void test_import_group_sources(void **state) {
    fixture *f = *state;
    char dir[4096], log[8192];
    case_dir(f->dir, dir, sizeof dir);
    write_numbered(dir, 30, 3);
    for (int grouped = 1; grouped >= 0; grouped--) {
        pair_dataset ds;
        import_ok(dir, &ds, log, sizeof log, "p.tsv out.h5 --tokens words --val-fraction 0.2 --test-fraction 0.1 "
                  "--seed 3%s", grouped ? " --group-sources" : "");
        int split_of[30], straddles = 0;
        for (int i = 0; i < 30; i++) split_of[i] = -1;
        size_t total = 0;
        for (int s = 0; s < SPLIT_COUNT; s++)
            for (size_t k = 0; k < (ds.split[s].present ? ds.split[s].n : 0); k++, total++) {
                int i = source_number(&ds, &ds.split[s], k);
                if (split_of[i] >= 0 && split_of[i] != s) straddles = 1;
                split_of[i] = s;
            }
        assert_int_equal(total, 90);
        if (grouped) {
            assert_false(straddles);
            assert_int_equal(ds.split[SPLIT_VAL].n, 3 * 6);
            assert_int_equal(ds.split[SPLIT_TEST].n, 3 * 3);
            assert_non_null(strstr(log, "; split by source: 30 distinct sources, 30 with more than one target\n"));
        } else {
            assert_true(straddles);
            assert_int_equal(ds.split[SPLIT_VAL].n, 18);
            assert_int_equal(ds.split[SPLIT_TEST].n, 9);
            assert_null(strstr(log, "split by source"));
        }
        pairdata_free(&ds);
    }
}

/* Every bad input: its exit code, FILE:LINE(:COL), the field, nothing written. */
static void test_import_bad(void **state) {
    fixture *f = *state;
    const char *d = f->dir;
#define BAD_TEXT(code, text, args, ...) \
    import_bad(d, code, "bad.tsv", text, sizeof text - 1, (const char *const[]){__VA_ARGS__, NULL}, "bad.tsv out.h5" args)
    BAD_TEXT(3, "a\tb\nno tab here\n", "", "bad.tsv:2:", "expected source<TAB>target, found no tab in 'no tab here'");
    BAD_TEXT(3, "a\tb\nx\ty\tz\n", "", "bad.tsv:2:4:", "expected one tab (source<TAB>target), found a second tab");
    BAD_TEXT(3, "a\tb\nx\ty\t\n", "", "bad.tsv:2:4:", "found a second tab");
    BAD_TEXT(3, "a\tb\n  \ty\n", "", "bad.tsv:2:", "source: expected text before the tab, found an empty source");
    BAD_TEXT(3, "a\tb\nx\t  \r\n", "", "bad.tsv:2:3:", "target: expected text after the tab, found nothing");
    BAD_TEXT(3, "a\tb\n\t\n", "", "bad.tsv:2:", "empty source");
    BAD_TEXT(3, "a\tb\ncaf\xE9\tx\n", "", "bad.tsv:2:4:", "source: expected UTF-8 text, found the byte 0xE9");
    BAD_TEXT(3, "a\tb\nx\t\xC0\xAF\n", " --tgt-tokens words", "bad.tsv:2:3:", "target: expected UTF-8 text, found the byte 0xC0");
    BAD_TEXT(3, "a\tb\nx\ty\0z\n", "", "bad.tsv:2:4:", "target: expected text, found a NUL byte");
    BAD_TEXT(3, "a\tb\n\v\ty\n", " --tokens words", "bad.tsv:2:1:", "source: expected at least one word, found only whitespace");
    BAD_TEXT(3, "", "", "bad.tsv: expected source<TAB>target lines, found an empty file");
    BAD_TEXT(3, "\n  \n\r\n", "", "bad.tsv: expected source<TAB>target lines, found only blank lines");
    BAD_TEXT(2, "a\tb\n", " --tokens bytes", "--tokens: expected chars or words, found 'bytes'");
    BAD_TEXT(2, "a\tb\n", " --src-tokens word", "--src-tokens: expected chars or words, found 'word'");
    BAD_TEXT(2, "a\tb\n", " --tokens words --tgt-tokens chars --shared-vocab",
             "--shared-vocab: expected the same token kind on both sides, found source words and target chars");
    BAD_TEXT(2, "a\tb\nc\td\n", " --val-fraction 0.5 --test-fraction 0.5", "--val-fraction 0.5 and --test-fraction 0.5");
    BAD_TEXT(2, "a\tb\n", " --tokns words", "unknown option '--tokns'; did you mean '--tokens'?");
#undef BAD_TEXT
    import_bad(d, 3, "p.tsv", "a\tb\n", 4, (const char *const[]){"missing.tsv: cannot open for reading", NULL},
               "missing.tsv out.h5");
    import_bad(d, 2, "p.tsv", "a\tb\n", 4, (const char *const[]){"missing OUT.h5: usage recur data pairs", NULL}, "p.tsv");
}

/* `recur data --help` lists pairs; `recur data pairs --help` its flags; a typo is suggested. */
static void test_import_help(void **state) {
    (void)state;
    char out[16384];
    assert_int_equal(tu_run(out, sizeof out, "'%s' data --help", tu_recur()), 0);
    assert_non_null(strstr(out, "\n  pairs "));
    assert_int_equal(tu_run(out, sizeof out, "'%s' data pairs --help", tu_recur()), 0);
    assert_int_equal(strncmp(out, "usage: recur data pairs FILE.tsv OUT.h5", 39), 0);
    static const char *const FLAGS[] = {"--tokens", "--src-tokens", "--tgt-tokens", "--shared-vocab", "--val-fraction",
                                        "--test-fraction", "--seed", "--group-sources"};
    for (size_t i = 0; i < sizeof FLAGS / sizeof FLAGS[0]; i++)
        if (!strstr(out, FLAGS[i])) fail_msg("recur data pairs --help: no %s in:\n%s", FLAGS[i], out);
    assert_int_equal(tu_run(out, sizeof out, "'%s' data pair a b", tu_recur()), 2);
    assert_non_null(strstr(out, "did you mean 'pairs'?"));
}

/* ---- recur inspect ---------------------------------------------------------- */

static void test_inspect_text(void **state) {
    (void)state;
    char p[4200], out[8192];
    corpus_file(p, sizeof p, "good_chars_words");
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p), 0);
    assert_non_null(strstr(out, ": recur-pairs v1, pair dataset\n"));
    assert_non_null(strstr(out, "\nsource: chars, V = 7: abcdefg\n"));
    assert_non_null(strstr(out, "\ntarget: words, V = 6: AA, B, K, D, EH1, zzqqphone\n"));
    assert_non_null(strstr(out, "\ntrain: 5 pairs; source 15 tokens, length min 1 / mean 3.0 / max 5; target 10 tokens, "
                                "length min 1 / mean 2.0 / max 3\n"));
    assert_non_null(strstr(out, "\nval: 2 pairs; source 5 tokens, length min 2 / mean 2.5 / max 3; target 3 tokens, "
                                "length min 1 / mean 1.5 / max 2\n"));
    assert_null(strstr(out, "test:"));
    corpus_file(p, sizeof p, "good_shared_words");
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p), 0);
    assert_non_null(strstr(out, "recur-pairs v1, pair dataset (one vocabulary shared by source and target)"));
}

/* --json: one document whose numbers are those h5py computes (checked in
 * Python); --jsonl: the summary line, then one line per split. */
static void test_inspect_json(void **state) {
    (void)state;
    char out[16384];
    static const char *const FILES[] = {"good_chars_words", "good_shared_words"};
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        char p[4200];
        corpus_file(p, sizeof p, FILES[i]);
        int rc = tu_run(out, sizeof out,
                        "'%s' inspect --json '%s' > '%s.json' && %s -c \"\n"
                        "import json, h5py, numpy as np\n"
                        "d = json.load(open('%s.json'))\n"
                        "f = h5py.File('%s', 'r')\n"
                        "assert d['format'] == 'recur-pairs' and d['version'] == 1, d\n"
                        "assert d['shared_vocab'] == bool(f.attrs.get('shared_vocab', 0)), d\n"
                        "for side in ('src', 'tgt'):\n"
                        "    v = f[side + '_vocab']\n"
                        "    assert d[side + '_vocab_size'] == len(v), d\n"
                        "    assert d[side + '_vocab_kind'] == ('chars' if v.dtype.kind in 'iu' else 'words'), d\n"
                        "    if v.dtype.kind not in 'iu':\n"
                        "        assert d[side + '_vocab_head'] == [x.decode() for x in v[...]][:20], d\n"
                        "names = [s for s in ('train', 'val', 'test') if s in f]\n"
                        "assert [s['split'] for s in d['splits']] == names, d\n"
                        "for s in d['splits']:\n"
                        "    g = f[s['split']]\n"
                        "    for side in ('src', 'tgt'):\n"
                        "        o = g[side + '_offsets'][...]; L = np.diff(o)\n"
                        "        assert s['pairs'] == len(L) and s[side + '_tokens'] == o[-1] == len(g[side + '_tokens']), s\n"
                        "        assert s[side + '_min_length'] == L.min() and s[side + '_max_length'] == L.max(), s\n"
                        "        assert abs(s[side + '_mean_length'] - L.mean()) < 1e-12, s\n"
                        "\"",
                        tu_recur(), p, p, TU_PYTHON, p, p);
        if (rc) fail_msg("%s: %s", FILES[i], out);
    }
    char p[4200];
    corpus_file(p, sizeof p, "good_chars_words");
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect --jsonl '%s'", tu_recur(), p), 0);
    assert_int_equal(lines_of(out), 3); /* summary + train, val */
    assert_non_null(strstr(out, "\"shared_vocab\":0,\"src_vocab_kind\":\"chars\",\"src_vocab_size\":7,"));
    assert_non_null(strstr(out, "{\"split\":\"val\",\"pairs\":2,\"src_tokens\":5,\"tgt_tokens\":3,"));
}

/* A file of another format: the message names the five it could have been. */
static void test_inspect_other_format(void **state) {
    fixture *f = *state;
    char out[8192];
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && %s -c \"import h5py\n"
                            "with h5py.File('other.h5', 'w') as f: f.attrs['format'] = 'recur-pair'; f['x'] = [1]\"",
                            f->dir, TU_PYTHON), 0);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' inspect other.h5", f->dir, tu_recur()), 3);
    assert_non_null(strstr(out, "other.h5: expected a recur checkpoint (format \"recur-checkpoint\"), token dataset "
                                "(format \"recur-tokens\"), sequence dataset (format \"recur-sequences\"), pair "
                                "dataset (format \"recur-pairs\") or tree dataset (format \"recur-trees\"), found an "
                                "HDF5 file with format \"recur-pair\""));
}

/* ---- the real data ------------------------------------------------------------ */

/* cmudict as G2P pairs: "WORD(2)  PH ON ES" -> "WORD<TAB>PH ON ES", words on
 * the target side, split by source so a word's pronunciations stay together. */
static void test_cmudict(void **state) {
    fixture *f = *state;
    if (!tu_exists(SHARED "/seq2seq/cmudict.txt")) skip();
    char dir[4096], log[8192], repo[4096];
    case_dir(f->dir, dir, sizeof dir);
    assert_non_null(getcwd(repo, sizeof repo));
    assert_int_equal(tu_run(log, sizeof log, "sed -E 's/\\([0-9]+\\)//; s/  /\\t/' '%s/" SHARED "/seq2seq/cmudict.txt' "
                            "> '%s/g2p.tsv'", repo, dir), 0);
    pair_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "g2p.tsv out.h5 --tgt-tokens words --val-fraction 0.05 --test-fraction 0.05 "
              "--seed 1 --group-sources");
    fprintf(stderr, "    %s", log);
    size_t total = 0;
    for (int s = 0; s < SPLIT_COUNT; s++) total += ds.split[s].present ? ds.split[s].n : 0;
    assert_int_equal(total, 133784);
    assert_int_equal(ds.tgt.size, 69); /* 24 consonants, 15 vowels with stress 0/1/2 (cmudict_phones.txt) */
    assert_non_null(ds.src.chars);
    pairdata_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_chars_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_words_chars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_shared_chars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_shared_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_train_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_h5py_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_inspect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_pair_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_decode_chars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_decode_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_chars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_group_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspect_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspect_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspect_other_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmudict, setup, teardown),
    };
    /* TEST_FILTER=test_import* runs only the matching tests. */
    if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
