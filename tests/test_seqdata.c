/* test_seqdata.c - sequence datasets (io/seqdata.h, the "recur-sequences"
 * contract) and `recur inspect` on them.
 *
 * Round trips write -> load for each task and input kind must give back every
 * field exactly, and identical input must give identical bytes.  Files h5py
 * writes (str attributes, int64/uint8/int16 labels and tokens, float64
 * features, variable-length string vocabularies) must load.  Every file of
 * the bad corpus (tests/make_seq_inputs.py, built at test time: one thing
 * broken per file) must fail with RECUR_EXIT_INPUT and one message naming the
 * file and the field, in process and through `recur inspect` (exit 3, never a
 * signal); the writer refuses the same faults in memory (RECUR_EXIT_FAIL,
 * nothing written).  After every test no HDF5 id may remain open.
 *
 * Run: make build/release/tests/test_seqdata && RECUR=$PWD/bin/recur build/release/tests/test_seqdata
 */
#include "test_util.h"

#include <dirent.h>
#include <hdf5.h>
#include <math.h>

#include "../io/seqdata.h"

/* The h5py corpus, built once for the whole run. */
static char *g_corpus;

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
    int rc = tu_run(log, sizeof log, "%s tests/make_seq_inputs.py '%s'", TU_PYTHON, g_corpus);
    if (rc) fprintf(stderr, "make_seq_inputs.py failed (%d):\n%s\n", rc, log);
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

/* Storage for one in-memory dataset (everything the seq_dataset points to). */
typedef struct {
    seq_dataset ds;
    int64_t off[SPLIT_COUNT][8];
    int32_t tok[SPLIT_COUNT][64], lab[SPLIT_COUNT][64];
    float feat[SPLIT_COUNT][64 * 3], targ[SPLIT_COUNT][64 * 2], base[SPLIT_COUNT][8 * 2];
    uint8_t vocab[8];
    char *words[5], *names[4];
    float fmean[3], fstd[3], tmean[2], tstd[2];
} built;

static const size_t LENS[SPLIT_COUNT][4] = {{3, 1, 4, 2}, {2, 5, 0, 0}, {1, 0, 0, 0}};
static const size_t NSEQ[SPLIT_COUNT] = {4, 2, 1};

enum { IN_BYTES, IN_WORDS, IN_FEATURES };

/* task, input kind; regress: per_step says targets vs seq_targets. */
static void build(built *b, task_kind task, int input, int per_step) {
    memset(b, 0, sizeof *b);
    seq_dataset *ds = &b->ds;
    ds->task = task;
    static char *WORDS[] = {"the", "cät", "sat", "", "mat"};
    static char *NAMES[] = {"neg", "neutral", "pös", "other"};
    if (input == IN_BYTES) {
        memcpy(b->vocab, "ab\ncd\xff", 6);
        ds->vocab = b->vocab;
        ds->vocab_size = 6;
    } else if (input == IN_WORDS) {
        memcpy(b->words, WORDS, sizeof WORDS);
        ds->vocab_words = b->words;
        ds->vocab_size = 5;
    } else {
        ds->input_size = 3;
        for (int i = 0; i < 3; i++) b->fmean[i] = 0.5f * (float)i, b->fstd[i] = 1.0f + (float)i;
        ds->feature_mean = b->fmean;
        ds->feature_std = b->fstd;
    }
    if (task == TASK_REGRESS) {
        ds->output_size = 2;
        ds->per_step = per_step;
        b->tmean[0] = 100, b->tmean[1] = -1, b->tstd[0] = 10, b->tstd[1] = 0.5f;
        ds->target_mean = b->tmean;
        ds->target_std = b->tstd;
    } else {
        ds->num_classes = 4;
        ds->per_step = task == TASK_TAG;
        memcpy(b->names, NAMES, sizeof NAMES);
        ds->label_names = b->names;
    }
    for (int s = 0; s < SPLIT_COUNT; s++) {
        seq_split *sp = &ds->split[s];
        sp->present = 1;
        sp->n = NSEQ[s];
        sp->offsets = b->off[s];
        for (size_t i = 0; i < sp->n; i++) b->off[s][i + 1] = b->off[s][i] + (int64_t)LENS[s][i];
        sp->total = (size_t)b->off[s][sp->n];
        for (size_t t = 0; t < sp->total; t++) {
            b->tok[s][t] = (int32_t)((t * 7 + (size_t)s) % (size_t)(ds->vocab_size ? ds->vocab_size : 1));
            for (int k = 0; k < 3; k++) b->feat[s][t * 3 + k] = (float)t * 0.25f - (float)k * 1.5f + (float)s;
            for (int k = 0; k < 2; k++) b->targ[s][t * 2 + k] = (float)t / 3.0f + (float)k;
            b->lab[s][t] = (int32_t)((t + (size_t)s) % 4);
        }
        if (input == IN_FEATURES) sp->features = b->feat[s];
        else sp->tokens = b->tok[s];
        if (task == TASK_CLASSIFY) sp->labels = b->lab[s];
        else if (task == TASK_TAG) sp->step_labels = b->lab[s];
        else if (per_step) sp->targets = b->targ[s];
        else sp->seq_targets = b->targ[s];
    }
}

static void assert_floats_equal(const float *a, const float *b, size_t n) {
    if (!a || !b) {
        assert_true(a == b);
        return;
    }
    assert_memory_equal(a, b, n * sizeof *a);
}

static void assert_ints_equal(const int32_t *a, const int32_t *b, size_t n) {
    if (!a || !b) {
        assert_true(a == b);
        return;
    }
    assert_memory_equal(a, b, n * sizeof *a);
}

static void assert_strings_equal(char *const *a, char *const *b, int n) {
    if (!a || !b) {
        assert_true(a == b);
        return;
    }
    for (int i = 0; i < n; i++) assert_string_equal(a[i], b[i]);
}

static void assert_same_dataset(const seq_dataset *a, const seq_dataset *b) {
    assert_int_equal(a->task, b->task);
    assert_int_equal(a->input_size, b->input_size);
    assert_int_equal(a->vocab_size, b->vocab_size);
    assert_int_equal(a->num_classes, b->num_classes);
    assert_int_equal(a->output_size, b->output_size);
    assert_int_equal(a->per_step, b->per_step);
    if (a->vocab || b->vocab) {
        assert_non_null(a->vocab);
        assert_non_null(b->vocab);
        assert_memory_equal(a->vocab, b->vocab, (size_t)a->vocab_size);
    }
    assert_strings_equal(a->vocab_words, b->vocab_words, a->vocab_size);
    assert_strings_equal(a->label_names, b->label_names, a->num_classes);
    assert_floats_equal(a->feature_mean, b->feature_mean, (size_t)a->input_size);
    assert_floats_equal(a->feature_std, b->feature_std, (size_t)a->input_size);
    assert_floats_equal(a->target_mean, b->target_mean, (size_t)a->output_size);
    assert_floats_equal(a->target_std, b->target_std, (size_t)a->output_size);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const seq_split *x = &a->split[s], *y = &b->split[s];
        assert_int_equal(x->present, y->present);
        if (!x->present) continue;
        assert_int_equal(x->n, y->n);
        assert_int_equal(x->total, y->total);
        assert_memory_equal(x->offsets, y->offsets, (x->n + 1) * sizeof *x->offsets);
        assert_ints_equal(x->tokens, y->tokens, x->total);
        assert_floats_equal(x->features, y->features, x->total * (size_t)a->input_size);
        assert_ints_equal(x->labels, y->labels, x->n);
        assert_ints_equal(x->step_labels, y->step_labels, x->total);
        assert_floats_equal(x->targets, y->targets, x->total * (size_t)a->output_size);
        assert_floats_equal(x->seq_targets, y->seq_targets, x->n * (size_t)a->output_size);
        assert_floats_equal(x->seq_base, y->seq_base, x->n * (size_t)a->output_size);
    }
}

/* Regress: targets as changes from a base per sequence (seq_base). */
static void add_base(built *b) {
    for (int s = 0; s < SPLIT_COUNT; s++) {
        for (size_t i = 0; i < NSEQ[s] * 2; i++) b->base[s][i] = 1000.0f + (float)i * 0.5f - (float)s;
        b->ds.split[s].seq_base = b->base[s];
    }
}

/* write -> load gives back every field; writing the same data again (also
 * from what was loaded) gives the same bytes. */
static void round_trip_of(const char *dir, task_kind task, int input, int per_step, int with_base) {
    built b;
    build(&b, task, input, per_step);
    if (with_base) add_base(&b);
    char p1[4200], p2[4200], p3[4200];
    snprintf(p1, sizeof p1, "%s/a.h5", dir);
    snprintf(p2, sizeof p2, "%s/b.h5", dir);
    snprintf(p3, sizeof p3, "%s/c.h5", dir);
    recur_err err = {0};
    if (seqdata_write(p1, &b.ds, &err)) fail_msg("%s", err.msg);
    seq_dataset got;
    if (seqdata_load(p1, &got, &err)) fail_msg("%s", err.msg);
    assert_same_dataset(&b.ds, &got);
    assert_int_equal(seqdata_is_sequence_file(p1, &err), 1);
    if (seqdata_write(p2, &b.ds, &err)) fail_msg("%s", err.msg);
    if (seqdata_write(p3, &got, &err)) fail_msg("%s", err.msg);
    seqdata_free(&got);
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

static void round_trip(const char *dir, task_kind task, int input, int per_step) {
    round_trip_of(dir, task, input, per_step, 0);
}

static void test_round_trip_regress_base(void **state) {
    round_trip_of(((fixture *)*state)->dir, TASK_REGRESS, IN_FEATURES, 1, 1);
    round_trip_of(((fixture *)*state)->dir, TASK_REGRESS, IN_BYTES, 0, 1);
}

static void test_round_trip_classify_bytes(void **state) { round_trip(((fixture *)*state)->dir, TASK_CLASSIFY, IN_BYTES, 0); }
static void test_round_trip_classify_features(void **state) { round_trip(((fixture *)*state)->dir, TASK_CLASSIFY, IN_FEATURES, 0); }
static void test_round_trip_tag_words(void **state) { round_trip(((fixture *)*state)->dir, TASK_TAG, IN_WORDS, 1); }
static void test_round_trip_tag_features(void **state) { round_trip(((fixture *)*state)->dir, TASK_TAG, IN_FEATURES, 1); }
static void test_round_trip_regress_steps(void **state) { round_trip(((fixture *)*state)->dir, TASK_REGRESS, IN_FEATURES, 1); }
static void test_round_trip_regress_seq_words(void **state) { round_trip(((fixture *)*state)->dir, TASK_REGRESS, IN_WORDS, 0); }

/* Only /train, no label names or normalisation: the optional parts stay absent. */
static void test_round_trip_minimal(void **state) {
    fixture *f = *state;
    built b;
    build(&b, TASK_CLASSIFY, IN_BYTES, 0);
    b.ds.split[SPLIT_VAL].present = b.ds.split[SPLIT_TEST].present = 0;
    b.ds.label_names = NULL;
    char p[4200];
    snprintf(p, sizeof p, "%s/m.h5", f->dir);
    recur_err err = {0};
    if (seqdata_write(p, &b.ds, &err)) fail_msg("%s", err.msg);
    seq_dataset got;
    if (seqdata_load(p, &got, &err)) fail_msg("%s", err.msg);
    memset(&b.ds.split[SPLIT_VAL], 0, sizeof b.ds.split[SPLIT_VAL]);
    memset(&b.ds.split[SPLIT_TEST], 0, sizeof b.ds.split[SPLIT_TEST]);
    assert_same_dataset(&b.ds, &got);
    assert_int_equal(got.num_classes, 4); /* kept by the num_classes attribute, though no label reaches 3 in train */
    seqdata_free(&got);
    seqdata_free(&got); /* safe twice */
}

/* ---- the writer refuses what the reader would ------------------------------- */

typedef struct {
    const char *what;
    void (*breaks)(built *b);
    const char *message;
} write_case;

static void w_offsets_decrease(built *b) { b->off[0][2] = 0; }
static void w_offsets_start(built *b) { b->off[0][0] = 1; }
static void w_empty_sequence(built *b) { b->off[0][2] = b->off[0][1]; }
static void w_label_ge_C(built *b) { b->lab[0][1] = 4; }
static void w_label_negative(built *b) { b->lab[1][0] = -1; }
static void w_token_ge_V(built *b) { b->tok[2][0] = 6; }
static void w_nan_feature(built *b) { b->feat[0][4] = NAN; }
static void w_inf_target(built *b) { b->targ[1][3] = -INFINITY; }
static void w_no_train(built *b) { b->ds.split[SPLIT_TRAIN].present = 0; }
static void w_no_vocab(built *b) { b->ds.vocab = NULL; }
static void w_zero_std(built *b) { b->fstd[2] = 0; }
static void w_mixed_inputs(built *b) {
    b->ds.split[SPLIT_VAL].features = b->feat[1];
    b->ds.split[SPLIT_VAL].tokens = NULL;
}
static void w_bad_utf8(built *b) { b->names[1] = "bad\xc3"; }
static void w_zero_classes(built *b) { b->ds.num_classes = 0; }
static void w_base_val_only(built *b) { b->ds.split[SPLIT_VAL].seq_base = b->base[SPLIT_VAL]; }
static void w_base_nan(built *b) {
    add_base(b);
    b->base[SPLIT_TEST][1] = NAN;
}
static void w_base_classify(built *b) { b->ds.split[SPLIT_TRAIN].seq_base = b->base[SPLIT_TRAIN]; }

static void test_write_refuses(void **state) {
    fixture *f = *state;
    static const struct {
        task_kind task;
        int input, per_step;
        write_case c;
    } cases[] = {
        {TASK_CLASSIFY, IN_BYTES, 0, {"offsets decrease", w_offsets_decrease, "/train/offsets[2]: expected >= 4 (offsets[1] = 3"}},
        {TASK_CLASSIFY, IN_BYTES, 0, {"offsets start", w_offsets_start, "/train/offsets[0]: expected 0, found 1"}},
        {TASK_CLASSIFY, IN_BYTES, 0, {"empty sequence", w_empty_sequence, "/train/offsets[2]: expected >= 4"}},
        {TASK_CLASSIFY, IN_BYTES, 0, {"label >= C", w_label_ge_C, "/train/labels[1]: expected a label in [0, 4), found 4"}},
        {TASK_TAG, IN_WORDS, 1, {"negative label", w_label_negative, "/val/step_labels[0]: expected a label in [0, 4), found -1"}},
        {TASK_CLASSIFY, IN_BYTES, 0, {"token >= V", w_token_ge_V, "/test/tokens[0]: expected a token in [0, 6), found 6"}},
        {TASK_CLASSIFY, IN_FEATURES, 0, {"NaN feature", w_nan_feature, "/train/features[1, 1]: expected a finite number, found nan"}},
        {TASK_REGRESS, IN_FEATURES, 1, {"Inf target", w_inf_target, "/val/targets[1, 1]: expected a finite number, found -inf"}},
        {TASK_CLASSIFY, IN_BYTES, 0, {"no train", w_no_train, "/train: expected a group"}},
        {TASK_CLASSIFY, IN_BYTES, 0, {"no vocabulary", w_no_vocab, "/vocab: expected exactly one of /vocab and /vocab_words"}},
        {TASK_CLASSIFY, IN_FEATURES, 0, {"zero std", w_zero_std, "/norm/feature_std[2]: expected a positive number, found 0"}},
        {TASK_CLASSIFY, IN_BYTES, 0, {"mixed inputs", w_mixed_inputs, "/val: expected token inputs (as /train), found features"}},
        {TASK_CLASSIFY, IN_BYTES, 0, {"bad UTF-8", w_bad_utf8, "/label_names[1]: expected UTF-8 text"}},
        {TASK_TAG, IN_BYTES, 1, {"no classes", w_zero_classes, "attribute 'num_classes': expected between 1 and"}},
        {TASK_REGRESS, IN_FEATURES, 1, {"seq_base in val only", w_base_val_only, "/val/seq_base: expected nothing (as /train), found one"}},
        {TASK_REGRESS, IN_FEATURES, 0, {"NaN seq_base", w_base_nan, "/test/seq_base[0, 1]: expected a finite number, found nan"}},
        {TASK_CLASSIFY, IN_BYTES, 0, {"seq_base for classify", w_base_classify, "/train/seq_base: expected nothing (regress only)"}},
    };
    char p[4200];
    snprintf(p, sizeof p, "%s/out.h5", f->dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        built b;
        build(&b, cases[i].task, cases[i].input, cases[i].per_step);
        cases[i].c.breaks(&b);
        recur_err err = {0};
        assert_int_equal(seqdata_write(p, &b.ds, &err), -1);
        if (err.code != RECUR_EXIT_FAIL || !strstr(err.msg, cases[i].c.message) || strncmp(err.msg, p, strlen(p)))
            fail_msg("%s: code %d, message \"%s\", expected \"%s\"", cases[i].c.what, err.code, err.msg,
                     cases[i].c.message);
        assert_false(tu_exists(p));
    }
    DIR *d = opendir(f->dir);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))) entries++;
    closedir(d);
    assert_int_equal(entries, 0); /* not even a temp file */
}

static void test_write_unwritable(void **state) {
    fixture *f = *state;
    built b;
    build(&b, TASK_TAG, IN_WORDS, 1);
    char p[4200];
    snprintf(p, sizeof p, "%s/no/such/dir/out.h5", f->dir);
    recur_err err = {0};
    assert_int_equal(seqdata_write(p, &b.ds, &err), -1);
    assert_int_equal(err.code, RECUR_EXIT_OUTPUT);
    assert_non_null(strstr(err.msg, p));
}

/* ---- files written by h5py -------------------------------------------------- */

static void load_good(const char *name, seq_dataset *ds) {
    char p[4200];
    corpus_file(p, sizeof p, name);
    recur_err err = {0};
    if (seqdata_load(p, ds, &err)) fail_msg("%s", err.msg);
}

static void test_h5py_files(void **state) {
    (void)state;
    seq_dataset ds;
    load_good("good_classify_tokens", &ds); /* int64 tokens, str vocab_words and label_names */
    assert_int_equal(ds.task, TASK_CLASSIFY);
    assert_int_equal(ds.vocab_size, 6);
    assert_string_equal(ds.vocab_words[5], "zzqqword");
    assert_int_equal(ds.num_classes, 3);
    assert_string_equal(ds.label_names[2], "pos");
    assert_int_equal(ds.split[SPLIT_TRAIN].n, 5);
    assert_int_equal(ds.split[SPLIT_TRAIN].total, 15);
    assert_int_equal(ds.split[SPLIT_TRAIN].tokens[14], 14 % 6);
    assert_int_equal(ds.split[SPLIT_VAL].n, 2);
    assert_false(ds.split[SPLIT_TEST].present);
    assert_int_equal(seq_length(&ds.split[SPLIT_TRAIN], 4), 5);
    seqdata_free(&ds);

    load_good("good_classify_features", &ds); /* float64 features, uint8 labels, num_classes attribute */
    assert_int_equal(ds.input_size, 3);
    assert_int_equal(ds.vocab_size, 0);
    assert_int_equal(ds.num_classes, 2);
    assert_null(ds.label_names);
    assert_true(ds.split[SPLIT_TEST].present);
    assert_non_null(ds.feature_std);
    assert_true(ds.feature_std[2] == 0.5f);
    seqdata_free(&ds);

    load_good("good_tag_chars", &ds); /* uint8 vocab, int16 step labels, C = 1 + the largest label */
    assert_int_equal(ds.task, TASK_TAG);
    assert_int_equal(ds.per_step, 1);
    assert_int_equal(ds.vocab_size, 8);
    assert_memory_equal(ds.vocab, "abcdefgh", 8);
    assert_int_equal(ds.num_classes, 4);
    assert_int_equal(ds.split[SPLIT_TRAIN].step_labels[11], 3);
    seqdata_free(&ds);

    load_good("good_tag_context", &ds); /* a float64 context per sequence */
    assert_int_equal(ds.context_size, 2);
    assert_true(ds.split[SPLIT_TRAIN].context[5] == 2.0f);
    assert_true(ds.split[SPLIT_VAL].context[1] == 4.0f);
    assert_null(ds.split[SPLIT_TEST].context);
    seqdata_free(&ds);

    load_good("good_regress_steps", &ds);
    assert_int_equal(ds.task, TASK_REGRESS);
    assert_int_equal(ds.per_step, 1);
    assert_int_equal(ds.output_size, 2);
    assert_int_equal(ds.num_classes, 0);
    assert_non_null(ds.split[SPLIT_VAL].targets);
    assert_true(ds.target_std[1] == 0.25f);
    seqdata_free(&ds);

    load_good("good_regress_base", &ds); /* seq_base in every split */
    assert_non_null(ds.split[SPLIT_TRAIN].seq_base);
    assert_non_null(ds.split[SPLIT_VAL].seq_base);
    assert_true(ds.split[SPLIT_VAL].seq_base[0] == 50.0f);
    seqdata_free(&ds);

    load_good("good_regress_seq", &ds); /* float64 seq_targets */
    assert_int_equal(ds.per_step, 0);
    assert_int_equal(ds.output_size, 1);
    assert_true(ds.split[SPLIT_TRAIN].seq_targets[3] == 3.0f);
    assert_true(ds.split[SPLIT_TEST].present);
    assert_false(ds.split[SPLIT_VAL].present);
    seqdata_free(&ds);
}

/* ---- the bad corpus --------------------------------------------------------- */

static const struct {
    const char *file, *message;
} BAD[] = {
    {"offsets_decrease", "/train/offsets[3]: expected >= 5 (offsets[2] = 4, every sequence at least one step), found 2"},
    {"offsets_start", "/train/offsets[0]: expected 0, found 1"},
    {"offsets_end_short", "/train/offsets[5]: expected 15 (the steps in /train/tokens), found 14"},
    {"offsets_end_long", "/train/offsets[5]: expected <= 15 (the steps in /train/tokens), found 16"},
    {"offsets_empty_seq", "/train/offsets[2]: expected >= 4 (offsets[1] = 3, every sequence at least one step), found 3"},
    {"offsets_float", "/train/offsets: expected an integer array [n+1], found float64 [6]"},
    {"offsets_rank2", "/train/offsets: expected an integer array [n+1], found int64 [2, 3]"},
    {"offsets_missing", "/val/offsets: expected an integer array [n+1], found nothing (missing)"},
    {"label_ge_C", "/train/labels[1]: expected a label in [0, 3), found 3"},
    {"label_negative", "/train/labels[0]: expected a label in [0, 3), found -1"},
    {"label_ge_num_classes", "/val/labels[0]: expected a label in [0, 2), found 2"},
    {"step_label_negative", "/train/step_labels[5]: expected a label in [0, "},
    {"labels_missing", "/train/labels: expected an integer array [n] (a label per sequence), found nothing (missing)"},
    {"labels_wrong_length", "/train/labels: expected 5 elements (one per sequence of /train), found 4"},
    {"labels_strings", "/train/labels: expected an integer array [n] (a label per sequence), found string [5]"},
    {"label_names_vs_num_classes", "attribute 'num_classes': expected 3 (the length of /label_names), found 4"},
    {"step_labels_short", "/val/step_labels: expected 3 elements (one per step of /val/tokens), found 2"},
    {"token_ge_V", "/train/tokens[4]: expected a token in [0, 6), found 6"},
    {"token_huge_uint64", "/train/tokens[0]: expected a token in [0, 6), found 9223372036854775807"},
    {"tokens_float", "/train/tokens: expected an integer array [total], found float32 [15]"},
    {"tokens_rank2", "/train/tokens: expected an integer array [total], found int32 [15, 1]"},
    {"vocab_missing", "/vocab: expected uint8 [V] (or /vocab_words, strings [V]: token inputs need a vocabulary), found nothing (missing)"},
    {"vocab_both", "/vocab: expected /vocab or /vocab_words, found both"},
    {"vocab_words_ints", "/vocab_words: expected variable-length strings [N], found int64 [6]"},
    {"vocab_words_not_utf8", "/vocab_words[1]: expected UTF-8 text, found byte 0xff at byte 1"},
    {"vocab_byte_300", "/vocab[0]: expected a byte in [0, 256), found 293"},
    {"vocab_too_long", "/vocab: expected at most 256 entries (one byte each), found 300"},
    {"features_nan", "/train/features[2, 1]: expected a finite number, found nan"},
    {"features_inf", "/val/features[0, 2]: expected a finite number, found inf"},
    {"features_overflow", "/train/features[0, 0]: expected a finite float32 number"},
    {"features_int", "/train/features: expected a float array [total, F], found int32 [6, 3]"},
    {"features_rank1", "/train/features: expected a float array [total, F], found float64 [6]"},
    {"features_F_mismatch", "/val/features: expected F = 3 features per step (as /train/features), found 4"},
    {"features_short", "/test/offsets: expected between 2 and 2 entries"},
    {"targets_nan", "/train/targets[7, 1]: expected a finite number, found nan"},
    {"targets_inf", "/val/targets[4, 0]: expected a finite number, found -inf"},
    {"seq_targets_nan", "/train/seq_targets[3, 0]: expected a finite number, found nan"},
    {"seq_targets_inf", "/test/seq_targets[0, 0]: expected a finite number, found inf"},
    {"targets_K_mismatch", "/val/targets: expected 2 columns (K of /train/targets), found 3"},
    {"targets_and_seq_targets", "/train: expected targets or seq_targets, found both"},
    {"targets_kind_mismatch", "/val: expected targets (as /train), found seq_targets"},
    {"targets_missing", "/train/targets: expected a float array [total, K] (or /train/seq_targets, [n, K]), found nothing"},
    {"seq_base_nan", "/val/seq_base[0, 0]: expected a finite number, found nan"},
    {"seq_base_rows", "/train/seq_base: expected 4 rows (one per sequence of /train), found 3"},
    {"seq_base_missing", "/test/seq_base: expected a float array [n, K] (as /train), found nothing (missing)"},
    {"seq_base_K", "/train/seq_base: expected 1 columns (K of /train/seq_targets), found 2"},
    {"context_nan", "/val/context[0, 1]: expected a finite number, found nan"},
    {"context_rows", "/train/context: expected 3 rows (one per sequence of /train), found 2"},
    {"context_missing", "/val/context: expected a float array [n, F] (as /train), found nothing (missing)"},
    {"context_width", "/val/context: expected 2 columns (F of /train/context), found 3"},
    {"context_rank", "/train/context: expected a float array [n, F] (a context per sequence), found"},
    {"norm_std_zero", "/norm/feature_std[1]: expected a positive number, found 0"},
    {"norm_std_missing", "/norm/target_std: expected a float array [2] (with /norm/target_mean), found nothing (missing)"},
    {"norm_mean_nan", "/norm/target_mean[0]: expected a finite number, found nan"},
    {"norm_wrong_length", "/norm/feature_mean: expected 3 rows (F), found 2"},
    {"train_missing", "/train: expected a group (the train split), required, found nothing (missing)"},
    {"train_dataset", "/train: expected a group (the train split), required, found int64 [2]"},
    {"inputs_missing", "/val/tokens: expected an integer array [total] (as /train), found nothing (missing)"},
    {"inputs_kind_mismatch", "/val: expected token inputs (as /train), found features"},
    {"inputs_both", "/train: expected tokens or features, found both"},
    {"link_external", "/train/tokens: expected an integer array [total], found a soft or external link"},
    {"link_soft_group", "/val: expected a group (the val split), found a soft or external link"},
    {"format_wrong", "attribute 'format': expected the string \"recur-sequences\", found \"recur-tokens\""},
    {"version_wrong", "attribute 'version': expected the integer 1, found 2"},
    {"task_wrong", "attribute 'task': expected one of classify, tag, regress, found \"lm\""},
    {"task_int", "attribute 'task': expected one of classify, tag, regress, found int64 scalar"},
    {"num_classes_zero", "attribute 'num_classes': expected an integer in [1, 1048576], found 0"},
    {"huge_tokens", "/train/tokens: expected at most 4294967296 elements, found int32 [1099511627776]"},
    {"huge_tokens_unstored", "dataset '/train/tokens': 3000000000 elements declared"},
    {"huge_offsets", "dataset '/train/offsets': 2147483648 elements declared"},
    {"huge_features", "/train/features: expected at most F = 65536 features, found 1048576"},
    {"huge_vocab_words", "/vocab_words: expected at most 16777216 strings, found 1073741824"},
    {"transform_unknown", "attribute 'target_transform'"},
    {"transform_not_regress", "attribute 'target_transform': expected it only with task regress, found task classify"},
    {"huge_labels", "/train/labels: expected at most 4294967296 elements, found int8 [68719476736]"},
    {"heap_vocab_words", "/vocab_words: damaged HDF5 file"},
};

/* In process: -1, RECUR_EXIT_INPUT, "<path>: <field>: ..." and a zeroed dataset. */
static void test_bad_files_load(void **state) {
    (void)state;
    static const seq_dataset zero;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char p[4200], name[128];
        snprintf(name, sizeof name, "bad_%s", BAD[i].file);
        corpus_file(p, sizeof p, name);
        seq_dataset ds;
        memset(&ds, 0x5a, sizeof ds);
        recur_err err = {0};
        int rc = seqdata_load(p, &ds, &err);
        char want[5400];
        snprintf(want, sizeof want, "%s: %s", p, BAD[i].message);
        if (rc != -1 || err.code != RECUR_EXIT_INPUT || !strstr(err.msg, want))
            fail_msg("%s: rc %d code %d\n  message: %s\n  expected: %s", name, rc, err.code, err.msg, want);
        assert_memory_equal(&ds, &zero, sizeof ds);
    }
}

/* Through the CLI: exit 3, the message on stderr, never a signal.  A file
 * whose format is not recur-sequences is a different kind of file to
 * inspect: exit 3 is all that is asked of it here. */
static void test_bad_files_inspect(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char p[4200], name[128], out[4096];
        snprintf(name, sizeof name, "bad_%s", BAD[i].file);
        corpus_file(p, sizeof p, name);
        int rc = tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p);
        if (rc != 3 || (strcmp(BAD[i].file, "format_wrong") && !strstr(out, BAD[i].message)))
            fail_msg("recur inspect %s: exit %d\n%s\nexpected: %s", name, rc, out, BAD[i].message);
        if (i % 8) continue; /* --json on a sample: after the error stdout holds no JSON */
        rc = tu_run(out, sizeof out, "'%s' inspect --json '%s' 2>/dev/null", tu_recur(), p);
        if (rc != 3 || strchr(out, '{')) fail_msg("recur inspect --json %s: exit %d, stdout %s", name, rc, out);
    }
}

/* libhdf5 crashes on the forged global-heap length behind one vocabulary
 * word.  With the probe the child takes the crash; without it (RECUR_PROBE=0)
 * the crash guard still ends the process with exit 3 naming the file. */
static void test_damaged_heap_without_probe(void **state) {
    (void)state;
#ifdef __SANITIZE_ADDRESS__
    /* AddressSanitizer reports libhdf5's overlapping memcpy in H5HG_read (its
     * own report, exit 1) before anything can crash: nothing here for the
     * guard.  With the probe (test_bad_files_*) the child's report is still
     * exit 3 naming the file. */
    skip();
#endif
    char p[4200], out[4096];
    corpus_file(p, sizeof p, "bad_heap_vocab_words");
    int rc = tu_run(out, sizeof out, "RECUR_PROBE=0 '%s' inspect '%s'", tu_recur(), p);
    if (rc != 3 || !strstr(out, p)) fail_msg("exit %d: %s", rc, out);
}

/* Every bad file is also refused when only the format is asked for: the
 * format check reads nothing else. */
static void test_is_sequence_file(void **state) {
    fixture *f = *state;
    char p[4200];
    recur_err err = {0};
    corpus_file(p, sizeof p, "good_tag_chars");
    assert_int_equal(seqdata_is_sequence_file(p, &err), 1);
    corpus_file(p, sizeof p, "bad_format_wrong");
    assert_int_equal(seqdata_is_sequence_file(p, &err), 0);
    snprintf(p, sizeof p, "%s/text.h5", f->dir);
    FILE *t = fopen(p, "w");
    fputs("not hdf5\n", t);
    fclose(t);
    assert_int_equal(seqdata_is_sequence_file(p, &err), -1);
    assert_int_equal(err.code, RECUR_EXIT_INPUT);
    assert_non_null(strstr(err.msg, "no HDF5 signature"));
}

/* ---- recur inspect ---------------------------------------------------------- */

static void test_inspect_text(void **state) {
    (void)state;
    char p[4200], out[8192];
    corpus_file(p, sizeof p, "good_classify_tokens");
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p), 0);
    assert_non_null(strstr(out, "recur-sequences v1, sequence dataset, task classify"));
    assert_non_null(strstr(out, "inputs: tokens, V = 6 words: the, cat, sat, on, mat, zzqqword"));
    assert_non_null(strstr(out, "classes: C = 3 (named)"));
    assert_non_null(strstr(out, "train: 5 sequences, 15 steps, length min 1 / mean 3.0 / max 5"));
    assert_non_null(strstr(out, "  labels: neg 2, neu 2, pos 1"));
    assert_non_null(strstr(out, "val: 2 sequences, 5 steps, length min 2 / mean 2.5 / max 3"));
    assert_null(strstr(out, "test:"));

    corpus_file(p, sizeof p, "good_regress_steps");
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p), 0);
    assert_non_null(strstr(out, "inputs: features, F = 2"));
    assert_non_null(strstr(out, "targets: K = 2 per step (normalised); statistics below in original units"));
    assert_non_null(strstr(out, "  targets (original units): [0] mean "));

    corpus_file(p, sizeof p, "good_regress_base");
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p), 0);
    assert_non_null(strstr(out, "targets: K = 2 per step, changes from a base per sequence (seq_base) (normalised); "
                                "statistics below in original units"));
}

/* --json: one document whose numbers are those h5py computes (checked in
 * Python); --jsonl: the summary line, then one line per split. */
static void test_inspect_json(void **state) {
    (void)state;
    char out[16384];
    static const char *const FILES[] = {"good_classify_tokens", "good_classify_features", "good_tag_chars",
                                        "good_regress_steps", "good_regress_seq", "good_regress_base"};
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        char p[4200];
        corpus_file(p, sizeof p, FILES[i]);
        int rc = tu_run(out, sizeof out,
                        "'%s' inspect --json '%s' > '%s.json' && %s -c \"\n"
                        "import json, h5py, numpy as np\n"
                        "d = json.load(open('%s.json'))\n"
                        "f = h5py.File('%s', 'r')\n"
                        "assert d['format'] == 'recur-sequences' and d['task'] == f.attrs['task'], d\n"
                        "names = [s for s in ('train', 'val', 'test') if s in f]\n"
                        "assert [s['split'] for s in d['splits']] == names, d\n"
                        "C = d.get('num_classes')\n"
                        "for s in d['splits']:\n"
                        "    g = f[s['split']]; o = g['offsets'][...]; L = np.diff(o)\n"
                        "    assert s['sequences'] == len(L) and s['steps'] == o[-1], s\n"
                        "    assert s['min_length'] == L.min() and s['max_length'] == L.max(), s\n"
                        "    assert abs(s['mean_length'] - L.mean()) < 1e-12, s\n"
                        "    if 'labels' in g: assert s['label_counts'] == np.bincount(g['labels'][...], minlength=C).tolist(), s\n"
                        "    if 'step_labels' in g: assert s['step_label_counts'] == np.bincount(g['step_labels'][...], minlength=C).tolist(), s\n"
                        "    t = g['targets'][...] if 'targets' in g else g['seq_targets'][...] if 'seq_targets' in g else None\n"
                        "    if t is not None:\n"
                        "        t = t.astype(np.float32).astype(np.float64)\n"
                        "        if 'norm' in f and 'target_std' in f['norm']:\n"
                        "            t = t * f['norm/target_std'][...].astype(np.float64) + f['norm/target_mean'][...].astype(np.float64)\n"
                        "        if 'seq_base' in g:\n"
                        "            b = g['seq_base'][...].astype(np.float32).astype(np.float64)\n"
                        "            t = t + (np.repeat(b, L, axis=0) if 'targets' in g else b)\n"
                        "        assert np.allclose(s['target_mean'], t.mean(0), rtol=1e-9, atol=1e-12), (s, t.mean(0))\n"
                        "        assert np.allclose(s['target_std'], t.std(0), rtol=1e-9, atol=1e-12), (s, t.std(0))\n"
                        "if 'vocab_words' in f: assert d['vocab_size'] == len(f['vocab_words']) and d['vocab_kind'] == 'words'\n"
                        "if 'label_names' in f: assert d['label_names'] == [x.decode() for x in f['label_names'][...]]\n"
                        "\"",
                        tu_recur(), p, p, TU_PYTHON, p, p);
        if (rc) fail_msg("%s: %s", FILES[i], out);
    }
    char p[4200];
    corpus_file(p, sizeof p, "good_classify_features");
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect --jsonl '%s'", tu_recur(), p), 0);
    int lines = 0;
    for (char *c = out; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, 4); /* summary + train, val, test */
    assert_non_null(strstr(out, "\"split\":\"test\",\"sequences\":2,\"steps\":2"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_classify_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_classify_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_tag_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_tag_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_regress_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_regress_seq_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_regress_base, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_minimal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_h5py_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_inspect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_heap_without_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_sequence_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspect_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspect_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
