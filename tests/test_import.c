/* test_import.c - the sequence importers: `recur data labeled-text | conllu |
 * csv | rows` (io/import_*.c, coordinator/cmd_data.c).
 *
 * Each importer runs through the CLI on a small file written here, and the
 * file it wrote is read back with seqdata_load (io/seqdata.h) and compared
 * with arrays worked out by hand: tokens and vocabularies, labels and their
 * sorted names, offsets, split sizes, standardised features and targets and
 * their /norm, seq_base (read with h5py).  The split is reproducible from
 * --seed (identical bytes) and keeps input order within a split.  Every bad
 * input named in issue 9 fails with its exit code, one line naming the file
 * (line and column for text inputs), the field and what was expected, and
 * leaves nothing behind.  Then each importer once on the real data in
 * ../shared/data (skipped when it is absent).
 *
 * Run: make build/release/tests/test_import && RECUR=$PWD/bin/recur build/release/tests/test_import
 */
#include "test_util.h"

#include <dirent.h>
#include <math.h>

#include "../io/seqdata.h"

#define SHARED "../shared/data"

static char *g_dir;
static int g_case;

/* A fresh directory for one case: DIR/cN. */
static void case_dir(char *out, size_t len) {
    snprintf(out, len, "%s/c%d", g_dir, ++g_case);
    assert_int_equal(mkdir(out, 0755), 0);
}

static void write_text(const char *dir, const char *name, const char *text) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int lines_of(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Runs `recur data ARGS` in dir (cd'ed into), expects success, loads
 * dir/out.h5 into ds; the summary line into log. */
static void import_ok(const char *dir, seq_dataset *ds, char *log, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void import_ok(const char *dir, seq_dataset *ds, char *log, size_t len, const char *fmt, ...) {
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = tu_run(log, len, "cd '%s' && '%s' data %s", dir, tu_recur(), args);
    if (rc) fail_msg("recur data %s: exit %d: %s", args, rc, log);
    if (lines_of(log) != 1) fail_msg("recur data %s: expected one summary line, found: %s", args, log);
    char path[4400];
    snprintf(path, sizeof path, "%s/out.h5", dir);
    recur_err err = {0};
    if (seqdata_load(path, ds, &err)) fail_msg("seqdata_load(%s): %s", path, err.msg);
}

/* Runs `recur data ARGS` in a fresh dir holding only `name` with `text`;
 * expects exit `code`, one line holding every needle, and the dir to hold
 * nothing but the input afterwards. */
static void import_bad(int code, const char *name, const char *text, const char *const needles[], const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void import_bad(int code, const char *name, const char *text, const char *const needles[], const char *fmt, ...) {
    char dir[4096], args[4096], log[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, name, text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' data %s", dir, tu_recur(), args);
    if (rc != code) fail_msg("recur data %s: exit %d, expected %d: %s", args, rc, code, log);
    if (lines_of(log) != 1) fail_msg("recur data %s: expected one line, found: %s", args, log);
    for (int i = 0; needles[i]; i++)
        if (!strstr(log, needles[i])) fail_msg("recur data %s: expected '%s' in: %s", args, needles[i], log);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, name))
            fail_msg("recur data %s: left '%s' behind", args, e->d_name);
    closedir(d);
}

static void assert_ints(const int32_t *got, const int32_t *want, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) fail_msg("%s[%zu]: expected %d, found %d", what, i, want[i], got[i]);
}

static void assert_offsets(const seq_split *s, const int64_t *want, size_t n, const char *what) {
    if (!s->present || s->n != n) fail_msg("%s: expected %zu sequences, found %zu", what, n, s->present ? s->n : 0);
    for (size_t i = 0; i <= n; i++)
        if (s->offsets[i] != want[i])
            fail_msg("%s offsets[%zu]: expected %lld, found %lld", what, i, (long long)want[i], (long long)s->offsets[i]);
}

static void assert_names(char **got, int n, const char *const *want, int nwant, const char *what) {
    if (n != nwant) fail_msg("%s: expected %d names, found %d", what, nwant, n);
    for (int i = 0; i < n; i++)
        if (strcmp(got[i], want[i])) fail_msg("%s[%d]: expected '%s', found '%s'", what, i, want[i], got[i]);
}

static void assert_close(double got, double want, const char *what, size_t i) {
    if (fabs(got - want) > 1e-5 * (1 + fabs(want))) fail_msg("%s[%zu]: expected %.7g, found %.7g", what, i, want, got);
}

/* mean and population std of v[0..n). */
static void mean_std(const double *v, size_t n, double *mean, double *sd) {
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++) m += v[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = sqrt(s / (double)n);
}

/* ---- labeled-text ------------------------------------------------------------- */

/* Bytes: CRLF, a blank line, spaces around sentence and label; the vocabulary
 * is the train split's bytes in increasing order; the summary line. */
static void labeled_text_chars(void **state) {
    (void)state;
    char dir[4096], log[8192], want[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "t.tsv", "Good one\t1\r\n\r\nbad  \t0\r\nok\t 1 \r\n");
    seq_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "labeled-text t.tsv out.h5");
    snprintf(want, sizeof want,
             "recur data: wrote out.h5 (classify): train 3 sequences (13 steps) (no val or test split); vocabulary 9 "
             "bytes (the train split's); 2 classes\n");
    assert_string_equal(log, want);
    assert_int_equal(ds.task, TASK_CLASSIFY);
    assert_int_equal(ds.vocab_size, 9);
    assert_non_null(ds.vocab);
    assert_memory_equal(ds.vocab, " Gabdekno", 9);
    const int64_t off[] = {0, 8, 11, 13};
    assert_offsets(&ds.split[SPLIT_TRAIN], off, 3, "train");
    /* G o o d ' ' o n e | b a d | o k with ' '=0 G=1 a=2 b=3 d=4 e=5 k=6 n=7 o=8 */
    const int32_t tok[] = {1, 8, 8, 4, 0, 8, 7, 5, 3, 2, 4, 8, 6}, lab[] = {1, 0, 1};
    assert_ints(ds.split[SPLIT_TRAIN].tokens, tok, 13, "train tokens");
    assert_ints(ds.split[SPLIT_TRAIN].labels, lab, 3, "train labels");
    const char *names[] = {"0", "1"};
    assert_names(ds.label_names, ds.num_classes, names, 2, "label_names");
    assert_false(ds.split[SPLIT_VAL].present || ds.split[SPLIT_TEST].present);
    seqdata_free(&ds);
}

/* A byte seen only in val becomes 0x1A, which joins the vocabulary. */
static void labeled_text_chars_unknown(void **state) {
    (void)state;
    char dir[4096], log[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "t.tsv", "aaa\t0\nzzz\t1\n");
    seq_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "labeled-text t.tsv out.h5 --val-fraction 0.5");
    assert_non_null(strstr(log, "val/test bytes outside it, now 0x1A: 3 val"));
    assert_int_equal(ds.vocab_size, 2);
    assert_int_equal(ds.vocab[0], 0x1A);
    const seq_split *tr = &ds.split[SPLIT_TRAIN], *va = &ds.split[SPLIT_VAL];
    assert_true(tr->n == 1 && va->n == 1 && va->total == 3);
    for (int t = 0; t < 3; t++) {
        assert_int_equal(va->tokens[t], 0);
        assert_int_equal(tr->tokens[t], 1);
    }
    assert_true(ds.vocab[1] == (tr->labels[0] ? 'z' : 'a'));
    seqdata_free(&ds);
}

/* Words: lower-cased, split on spaces, ASCII and Unicode punctuation;
 * --min-count on train; <unk> is id 0; labels sorted by bytes unless all are
 * integers, then by value. */
static void labeled_text_words(void **state) {
    (void)state;
    char dir[4096], log[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "t.tsv", "Don't stop!\tpos\nthe THE the\tneg\nStop\xE2\x80\x94now\t10\nx\xE2\x80\xA6y\xC2\xA0z\t2\n");
    seq_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "labeled-text t.tsv out.h5 --tokens words --min-count 2");
    assert_non_null(strstr(log, "vocabulary 3 words (<unk> + the train split's words seen at least 2 times; <unk> tokens: 6 train)"));
    const char *vocab[] = {"<unk>", "stop", "the"};
    assert_names(ds.vocab_words, ds.vocab_size, vocab, 3, "vocab_words");
    const int64_t off[] = {0, 3, 6, 8, 11};
    assert_offsets(&ds.split[SPLIT_TRAIN], off, 4, "train");
    /* don t stop | the the the | stop now | x y z */
    const int32_t tok[] = {0, 0, 1, 2, 2, 2, 1, 0, 0, 0, 0}, lab[] = {3, 2, 0, 1};
    assert_ints(ds.split[SPLIT_TRAIN].tokens, tok, 11, "train tokens");
    const char *names[] = {"10", "2", "neg", "pos"};
    assert_names(ds.label_names, ds.num_classes, names, 4, "label_names");
    assert_ints(ds.split[SPLIT_TRAIN].labels, lab, 4, "train labels");
    seqdata_free(&ds);

    write_text(dir, "n.tsv", "a b\t10\nb c\t2\nc a\t1\n");
    import_ok(dir, &ds, log, sizeof log, "labeled-text n.tsv out.h5 --tokens words");
    const char *numeric[] = {"1", "2", "10"};
    assert_names(ds.label_names, ds.num_classes, numeric, 3, "numeric label_names");
    const int32_t nlab[] = {2, 1, 0};
    assert_ints(ds.split[SPLIT_TRAIN].labels, nlab, 3, "numeric labels");
    const char *words[] = {"<unk>", "a", "b", "c"};
    assert_names(ds.vocab_words, ds.vocab_size, words, 4, "vocab_words without --min-count");
    seqdata_free(&ds);
}

/* Line i holds i+1 'a's, so a sequence's length names its line. */
static void split_lengths(const seq_dataset *ds, int seen[21], int *count) {
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const seq_split *sp = &ds->split[s];
        count[s] = sp->present ? (int)sp->n : 0;
        for (size_t i = 0; sp->present && i < sp->n; i++) {
            size_t len = seq_length(sp, i);
            assert_true(len >= 1 && len <= 20);
            if (i) assert_true(len > seq_length(sp, i - 1)); /* input order within a split */
            assert_int_equal(sp->labels[i], (int)((len - 1) % 2));
            seen[len]++;
        }
    }
}

/* --seed: the same flags give the same bytes; another seed another split;
 * floor(F*n) sequences each for val and test; every line exactly once. */
static void labeled_text_split_reproducible(void **state) {
    (void)state;
    char dir[4096], log[8192], text[1024] = "";
    case_dir(dir, sizeof dir);
    for (int i = 0; i < 20; i++) {
        size_t at = strlen(text);
        memset(text + at, 'a', (size_t)i + 1);
        snprintf(text + at + i + 1, sizeof text - at - (size_t)i - 1, "\t%d\n", i % 2);
    }
    write_text(dir, "t.tsv", text);
    seq_dataset a, b;
    import_ok(dir, &a, log, sizeof log, "labeled-text t.tsv out.h5 --val-fraction 0.2 --test-fraction 0.1 --seed 7");
    assert_non_null(strstr(log, "train 14 sequences"));
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && cp out.h5 first.h5", dir), 0);
    import_ok(dir, &b, log, sizeof log, "labeled-text t.tsv out.h5 --val-fraction 0.2 --test-fraction 0.1 --seed 7");
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && cmp first.h5 out.h5", dir), 0);
    int seen[21] = {0}, count[SPLIT_COUNT];
    split_lengths(&a, seen, count);
    assert_true(count[SPLIT_TRAIN] == 14 && count[SPLIT_VAL] == 4 && count[SPLIT_TEST] == 2);
    for (int len = 1; len <= 20; len++) assert_int_equal(seen[len], 1);
    seqdata_free(&b);
    import_ok(dir, &b, log, sizeof log, "labeled-text t.tsv out.h5 --val-fraction 0.2 --test-fraction 0.1 --seed 8");
    int differs = b.split[SPLIT_VAL].n != a.split[SPLIT_VAL].n;
    for (size_t i = 0; !differs && i < a.split[SPLIT_VAL].n; i++)
        differs = seq_length(&a.split[SPLIT_VAL], i) != seq_length(&b.split[SPLIT_VAL], i);
    assert_true(differs);
    seqdata_free(&a);
    seqdata_free(&b);
}

/* ---- conllu -------------------------------------------------------------------- */

static const char CONLLU[] =
    "# sent_id = 1\n"
    "# text = I like it.\n"
    "1\tI\tI\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n"
    "2-3\tlike's\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tlike\tlike\tVERB\tVBP\t_\t0\troot\t_\t_\r\n"
    "3\tit\tit\tPRON\tPRP\t_\t2\tobj\t_\t_\n"
    "3.1\tx\tx\tX\tX\t_\t_\t_\t_\t_\n"
    "4\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_\n"
    "\n\n"
    "# sent_id = 2\n"
    "1\tIt\tit\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n"
    "2\tworks\twork\tVERB\tVBZ\t_\t0\troot\t_\t_\n";

/* Comments, multiword tokens and empty nodes skipped; FORM as written; tags
 * sorted; a sentence ends at a blank line or the end of the file. */
static void conllu_tags(void **state) {
    (void)state;
    char dir[4096], log[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "t.conllu", CONLLU);
    seq_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "conllu t.conllu out.h5 --column upos");
    assert_non_null(strstr(log, "(tag): train 2 sequences (6 steps)"));
    assert_non_null(strstr(log, "3 upos tags"));
    assert_int_equal(ds.task, TASK_TAG);
    const char *forms[] = {"<unk>", ".", "I", "It", "it", "like", "works"};
    assert_names(ds.vocab_words, ds.vocab_size, forms, 7, "vocab_words");
    const char *tags[] = {"PRON", "PUNCT", "VERB"};
    assert_names(ds.label_names, ds.num_classes, tags, 3, "label_names");
    const int64_t off[] = {0, 4, 6};
    assert_offsets(&ds.split[SPLIT_TRAIN], off, 2, "train");
    const int32_t tok[] = {2, 5, 4, 1, 3, 6}, tag[] = {0, 2, 0, 1, 0, 2};
    assert_ints(ds.split[SPLIT_TRAIN].tokens, tok, 6, "tokens");
    assert_ints(ds.split[SPLIT_TRAIN].step_labels, tag, 6, "step_labels");
    seqdata_free(&ds);

    import_ok(dir, &ds, log, sizeof log, "conllu t.conllu out.h5 --column deprel");
    const char *rels[] = {"nsubj", "obj", "punct", "root"};
    assert_names(ds.label_names, ds.num_classes, rels, 4, "deprel label_names");
    const int32_t rel[] = {0, 3, 1, 2, 0, 3};
    assert_ints(ds.split[SPLIT_TRAIN].step_labels, rel, 6, "deprel step_labels");
    seqdata_free(&ds);
}

/* --split-files with an empty VAL: the vocabulary comes from train only, a
 * test form outside it (or rarer than --min-count) is <unk>. */
static void conllu_split_files(void **state) {
    (void)state;
    char dir[4096], log[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "train.conllu", CONLLU);
    write_text(dir, "test.conllu",
               "1\tIt\tit\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n2\tfails\tfail\tVERB\tVBZ\t_\t0\troot\t_\t_\n"
               "3\t!\t!\tPUNCT\t.\t_\t2\tpunct\t_\t_\n");
    seq_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "conllu out.h5 --split-files train.conllu,,test.conllu");
    assert_non_null(strstr(log, "train 2 sequences (6 steps), test 1 (3 steps)"));
    assert_non_null(strstr(log, "<unk> tokens: 0 train, 2 test"));
    assert_false(ds.split[SPLIT_VAL].present);
    const int32_t tok[] = {3, 0, 0};
    assert_ints(ds.split[SPLIT_TEST].tokens, tok, 3, "test tokens");
    seqdata_free(&ds);

    /* Two files are TRAIN,VAL.  --min-count 2: "go" (twice in train) stays,
     * "now" (once) is <unk>. */
    write_text(dir, "train2.conllu",
               "1\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_\n\n1\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_\n"
               "2\tnow\tnow\tADV\tRB\t_\t1\tadvmod\t_\t_\n");
    import_ok(dir, &ds, log, sizeof log, "conllu out.h5 --split-files train2.conllu,test.conllu --min-count 2");
    const char *forms[] = {"<unk>", "go"};
    assert_names(ds.vocab_words, ds.vocab_size, forms, 2, "vocab_words --min-count 2");
    const int32_t tr[] = {1, 1, 0};
    assert_ints(ds.split[SPLIT_TRAIN].tokens, tr, 3, "train tokens --min-count 2");
    assert_true(ds.split[SPLIT_VAL].present && !ds.split[SPLIT_TEST].present);
    /* Tags of every split: ADV PRON PUNCT VERB. */
    assert_int_equal(ds.num_classes, 4);
    seqdata_free(&ds);
}

/* ---- csv --------------------------------------------------------------------------- */

static const char SERIES[] = "\"t\",\"a\",b\r\n1,10,100\r\n2,11,90\r\n\r\n3,13,80\r\n4,16,70\r\n5,20,60\r\n6,25,50\r\n";
static const double A[] = {10, 11, 13, 16, 20, 25}, B[] = {100, 90, 80, 70, 60, 50};

/* Windows of W=2 over a and b, target a one row after each window's last
 * row; the last window is test; standardised with train's mean and std. */
static void csv_windows(void **state) {
    (void)state;
    char dir[4096], log[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "s.csv", SERIES);
    seq_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "csv s.csv out.h5 --columns a,b --target a --window 2 --horizon 1 --test-fraction 0.25");
    assert_non_null(strstr(log, "(regress): train 3 sequences (6 steps), test 1 (2 steps)"));
    assert_int_equal(ds.task, TASK_REGRESS);
    assert_true(ds.input_size == 2 && ds.output_size == 1 && !ds.per_step);
    const seq_split *tr = &ds.split[SPLIT_TRAIN], *te = &ds.split[SPLIT_TEST];
    const int64_t off[] = {0, 2, 4, 6};
    assert_offsets(tr, off, 3, "train");
    /* Train features: rows 0,1 | 1,2 | 2,3. */
    double fa[6], fb[6], y[3] = {A[2], A[3], A[4]}, ma, sa, mb, sb, my, sy;
    for (int i = 0; i < 3; i++)
        for (int t = 0; t < 2; t++) fa[2 * i + t] = A[i + t], fb[2 * i + t] = B[i + t];
    mean_std(fa, 6, &ma, &sa);
    mean_std(fb, 6, &mb, &sb);
    mean_std(y, 3, &my, &sy);
    assert_non_null(ds.feature_mean);
    assert_close(ds.feature_mean[0], ma, "feature_mean", 0);
    assert_close(ds.feature_std[1], sb, "feature_std", 1);
    assert_close(ds.target_mean[0], my, "target_mean", 0);
    assert_close(ds.target_std[0], sy, "target_std", 0);
    for (size_t r = 0; r < 6; r++) {
        assert_close(tr->features[2 * r], (fa[r] - ma) / sa, "train features a", r);
        assert_close(tr->features[2 * r + 1], (fb[r] - mb) / sb, "train features b", r);
    }
    for (size_t i = 0; i < 3; i++) assert_close(tr->seq_targets[i], (y[i] - my) / sy, "train seq_targets", i);
    assert_close(te->features[0], (A[3] - ma) / sa, "test features", 0);
    assert_close(te->seq_targets[0], (A[5] - my) / sy, "test seq_targets", 0);
    seqdata_free(&ds);

    /* A target per step (H rows after each step), K = 2 targets, by number. */
    import_ok(dir, &ds, log, sizeof log, "csv s.csv out.h5 --columns 2 --target a,3 --window 3 --horizon 2 --target-per-step");
    assert_true(ds.per_step && ds.output_size == 2 && ds.input_size == 1);
    tr = &ds.split[SPLIT_TRAIN];
    assert_int_equal(tr->n, 2); /* 6 rows - 3 - 2 + 1 */
    double ta[6], tb[6];
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < 3; t++) ta[3 * i + t] = A[i + t + 2], tb[3 * i + t] = B[i + t + 2];
    mean_std(ta, 6, &ma, &sa);
    mean_std(tb, 6, &mb, &sb);
    for (size_t r = 0; r < 6; r++) {
        assert_close(tr->targets[2 * r], (ta[r] - ma) / sa, "per-step targets a", r);
        assert_close(tr->targets[2 * r + 1], (tb[r] - mb) / sb, "per-step targets b", r);
    }
    seqdata_free(&ds);
}

/* --difference: targets are changes from the target column at the window's
 * last row, which is stored as seq_base in original units. */
static void csv_difference(void **state) {
    (void)state;
    char dir[4096], log[8192], out[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "s.csv", SERIES);
    seq_dataset ds;
    import_ok(dir, &ds, log, sizeof log,
              "csv s.csv out.h5 --columns a --target a --window 2 --difference --test-fraction 0.25");
    assert_non_null(strstr(log, "as changes from the window's last value (seq_base)"));
    /* Windows end at rows 1, 2, 3 (train) and 4 (test): changes 2, 3, 4 | 5. */
    double d[3] = {2, 3, 4}, m, sd;
    mean_std(d, 3, &m, &sd);
    for (size_t i = 0; i < 3; i++) assert_close(ds.split[SPLIT_TRAIN].seq_targets[i], (d[i] - m) / sd, "train changes", i);
    assert_close(ds.split[SPLIT_TEST].seq_targets[0], (5 - m) / sd, "test change", 0);
    seqdata_free(&ds);
    int rc = tu_run(out, sizeof out,
                    "%s -c \"import h5py; f = h5py.File('%s/out.h5', 'r'); "
                    "print([v for s in ('train', 'test') for v in f[s]['seq_base'][:, 0].tolist()], f['train/seq_base'].shape)\"",
                    TU_PYTHON, dir);
    if (rc || !strstr(out, "[11.0, 13.0, 16.0, 20.0] (3, 1)"))
        fail_msg("/train/seq_base and /test/seq_base: expected [11, 13, 16 | 20] of shape (3, 1), found (h5py exit %d): %s",
                 rc, out);
}

/* --relative-inputs: every step's feature minus the window's last one;
 * --log: logs of the chosen columns first (target_transform="log"), and a
 * value <= 0 refused with its line and column. */
static void csv_relative_log(void **state) {
    (void)state;
    char dir[4096], msg[8192], out[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "s.csv", SERIES);
    seq_dataset ds;
    import_ok(dir, &ds, msg, sizeof msg,
              "csv s.csv out.h5 --columns a --target a --window 2 --difference --relative-inputs --log --test-fraction 0.25");
    assert_non_null(strstr(msg, "features relative to the window's last row"));
    assert_non_null(strstr(msg, "logs of the values (target_transform=log)"));
    assert_true(ds.target_log);
    /* Train windows (rows 0-1, 1-2, 2-3 of a = 10, 11, 13, 16): relative log features
     * log a_t - log a_last, so step 1 of each is 0 and step 0 is log(a_t/a_{t+1}). */
    const double a[] = {10, 11, 13, 16, 20, 25};
    double f[6], m, sd;
    for (int i = 0; i < 3; i++) f[2 * i] = log(a[i] / a[i + 1]), f[2 * i + 1] = 0;
    mean_std(f, 6, &m, &sd);
    for (size_t r = 0; r < 6; r++) assert_close(ds.split[SPLIT_TRAIN].features[r], (f[r] - m) / sd, "relative log features", r);
    double d[3];
    for (int i = 0; i < 3; i++) d[i] = log(a[i + 2] / a[i + 1]);
    mean_std(d, 3, &m, &sd);
    for (size_t i = 0; i < 3; i++) assert_close(ds.split[SPLIT_TRAIN].seq_targets[i], (d[i] - m) / sd, "log changes", i);
    seqdata_free(&ds);
    int rc = tu_run(out, sizeof out,
                    "%s -c \"import h5py; f = h5py.File('%s/out.h5', 'r'); print(f.attrs['target_transform'])\"",
                    TU_PYTHON, dir);
    if (rc || !strstr(out, "log")) fail_msg("attribute target_transform: expected log, found (exit %d): %s", rc, out);
    static const char *const zero[] = {"s.csv:3:2", "column 'a'", "--log needs values above 0", NULL};
    import_bad(RECUR_EXIT_INPUT, "s.csv", "t,a\n1,5\n2,0\n3,7\n", zero, "csv s.csv out.h5 --columns a --target a --window 1 --log");
}

/* ---- rows ------------------------------------------------------------------------- */

/* R=2 steps of F=2 per row, a header (the label column by name), labels
 * sorted; without a header the label column by number. */
static void rows_sequences(void **state) {
    (void)state;
    char dir[4096], log[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "r.csv", "p1,p2,label,p3,p4\n1,2,cat,3,4\n5,6,dog,7,8\n9,10,cat,11,12\n");
    seq_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "rows r.csv out.h5 --rows 2 --label-column label");
    assert_non_null(strstr(log, "train 3 sequences (6 steps)"));
    assert_non_null(strstr(log, "2 steps of F = 2 features; 2 classes"));
    assert_true(ds.task == TASK_CLASSIFY && ds.input_size == 2);
    const char *names[] = {"cat", "dog"};
    assert_names(ds.label_names, ds.num_classes, names, 2, "label_names");
    const int32_t lab[] = {0, 1, 0};
    assert_ints(ds.split[SPLIT_TRAIN].labels, lab, 3, "labels");
    /* Feature 0 of the steps: 1,3,5,7,9,11; feature 1: 2,4,...,12. */
    double f0[6] = {1, 3, 5, 7, 9, 11}, m, sd;
    mean_std(f0, 6, &m, &sd);
    for (size_t r = 0; r < 6; r++) {
        assert_close(ds.split[SPLIT_TRAIN].features[2 * r], (f0[r] - m) / sd, "features[:, 0]", r);
        assert_close(ds.split[SPLIT_TRAIN].features[2 * r + 1], (f0[r] + 1 - m - 1) / sd, "features[:, 1]", r);
    }
    seqdata_free(&ds);

    write_text(dir, "n.csv", "0,0,0,0,0,0,1\n1,1,1,1,1,1,0\n2,2,2,2,2,2,1\n3,3,3,3,3,3,0\n");
    import_ok(dir, &ds, log, sizeof log, "rows n.csv out.h5 --rows 3 --label-column 7 --val-fraction 0.25 --seed 3");
    assert_non_null(strstr(log, "train 3 sequences (9 steps), val 1 (3 steps)"));
    assert_true(ds.input_size == 2 && ds.num_classes == 2);
    seqdata_free(&ds);
}

/* ---- bad input ---------------------------------------------------------------------- */

static void bad_inputs(void **state) {
    (void)state;
    import_bad(3, "bad.tsv", "fine\t1\nno tab here\n",
               (const char *const[]){"bad.tsv:2:", "expected sentence<TAB>label", "no tab", NULL},
               "labeled-text bad.tsv out.h5");
    import_bad(3, "bad.tsv", "fine\t1\n  \t0\n",
               (const char *const[]){"bad.tsv:2:", "sentence", "empty sentence", NULL}, "labeled-text bad.tsv out.h5");
    import_bad(3, "bad.tsv", "fine\t1\n?!\t0\n",
               (const char *const[]){"bad.tsv:2:", "expected at least one word", NULL},
               "labeled-text bad.tsv out.h5 --tokens words");
    import_bad(3, "bad.csv", "a,b\n1,2\n3,\n4,5\n",
               (const char *const[]){"bad.csv:3:3:", "column 'b'", "missing value", NULL},
               "csv bad.csv out.h5 --columns a,b --target b --window 1");
    import_bad(3, "bad.csv", "a,b\n1,2\nx1,4\n5,6\n",
               (const char *const[]){"bad.csv:3:1:", "column 'a'", "expected a finite number, found 'x1'", NULL},
               "csv bad.csv out.h5 --columns a --target b --window 1");
    import_bad(2, "s.csv", "a\n1\n2\n3\n4\n5\n",
               (const char *const[]){"--window 5", "s.csv", "5 rows", NULL},
               "csv s.csv out.h5 --columns a --target a --window 5 --horizon 1");
    import_bad(3, "bad.conllu", "1\tI\tI\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n2\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\n",
               (const char *const[]){"bad.conllu:2:", "expected 10 tab-separated columns", "found 9", NULL},
               "conllu bad.conllu out.h5");
    import_bad(2, "t.conllu", CONLLU,
               (const char *const[]){"--column", "expected upos, xpos or deprel", "found 'lemma'", NULL},
               "conllu t.conllu out.h5 --column lemma");
    import_bad(2, "r.csv", "1,2,3,4,0\n5,6,7,8,1\n",
               (const char *const[]){"--rows 3", "r.csv", "multiple of 3", NULL},
               "rows r.csv out.h5 --rows 3 --label-column 5");
    import_bad(2, "t.tsv", "a\t1\n", (const char *const[]){"unknown input kind 'labled-text'", "did you mean 'labeled-text'", NULL},
               "labled-text t.tsv out.h5");
    import_bad(2, "t.tsv", "a\t1\n", (const char *const[]){"--tokens", "found 'bytes'", NULL},
               "labeled-text t.tsv out.h5 --tokens bytes");
    import_bad(2, "t.tsv", "a\t1\n", (const char *const[]){"--min-count", "--tokens words", NULL},
               "labeled-text t.tsv out.h5 --min-count 2");
    import_bad(2, "t.tsv", "a\t1\nb\t0\n", (const char *const[]){"--val-fraction 0.5 and --test-fraction 0.5", NULL},
               "labeled-text t.tsv out.h5 --val-fraction 0.5 --test-fraction 0.5");
    import_bad(2, "s.csv", "a\n1\n", (const char *const[]){"--target: required", NULL},
               "csv s.csv out.h5 --columns a --window 1");
    import_bad(2, "s.csv", "a,b\n1,2\n", (const char *const[]){"--columns", "s.csv (a, b)", "found 'c'", NULL},
               "csv s.csv out.h5 --columns c --target a --window 1");
    import_bad(3, "q.csv", "a,b\n1,\"2\n", (const char *const[]){"q.csv:2:3:", "closing '\"'", NULL},
               "csv q.csv out.h5 --columns a --target b --window 1");
    import_bad(3, "bad.tsv", "caf\xE9 ok\t1\n", (const char *const[]){"bad.tsv:1:4:", "UTF-8", NULL},
               "labeled-text bad.tsv out.h5 --tokens words");
}

/* `recur data text` still works and keeps its summary; `recur data --help`
 * lists the kinds; each kind's --help its flags. */
static void text_and_help(void **state) {
    (void)state;
    char dir[4096], log[8192];
    case_dir(dir, sizeof dir);
    write_text(dir, "c.txt", "abcabcabca");
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' data text c.txt c.h5 --val-fraction 0.2", dir, tu_recur()), 0);
    assert_string_equal(log, "recur data: wrote c.h5: 8 train + 2 val tokens, vocabulary 3 (distinct bytes)\n");
    assert_int_equal(tu_run(log, sizeof log, "'%s' data --help", tu_recur()), 0);
    const char *kinds[] = {"text", "labeled-text", "conllu", "csv", "rows"};
    for (int i = 0; i < 5; i++) {
        char needle[64], help[16384];
        snprintf(needle, sizeof needle, "\n  %s ", kinds[i]);
        if (!strstr(log, needle)) fail_msg("recur data --help: no line for %s: %s", kinds[i], log);
        assert_int_equal(tu_run(help, sizeof help, "'%s' data %s --help", tu_recur(), kinds[i]), 0);
        snprintf(needle, sizeof needle, "usage: recur data %s ", kinds[i]);
        if (strncmp(help, needle, strlen(needle))) fail_msg("recur data %s --help: %s", kinds[i], help);
    }
}

/* ---- the real data ---------------------------------------------------------------------- */

static int shared_missing(void) {
    return !tu_exists(SHARED "/seqclass/digits/digits.csv") || !tu_exists(SHARED "/trees/en_ewt-ud-dev.conllu") ||
           !tu_exists(SHARED "/timeseries/r_AirPassengers.csv") ||
           !tu_exists(SHARED "/seqclass/sentiment_labelled_sentences/yelp_labelled.txt");
}

static size_t split_n(const seq_dataset *ds, int s) { return ds->split[s].present ? ds->split[s].n : 0; }

static void real_data(void **state) {
    (void)state;
    if (shared_missing()) skip();
    char dir[4096], log[8192], repo[4096];
    case_dir(dir, sizeof dir);
    assert_non_null(getcwd(repo, sizeof repo));
    seq_dataset ds;
    assert_int_equal(tu_run(log, sizeof log, "cat %s/" SHARED "/seqclass/sentiment_labelled_sentences/*_labelled.txt > '%s/s.tsv'",
                            repo, dir), 0);
    import_ok(dir, &ds, log, sizeof log, "labeled-text s.tsv out.h5 --tokens words --min-count 2 --val-fraction 0.1 --test-fraction 0.1 --seed 1");
    fprintf(stderr, "    %s", log);
    assert_int_equal(split_n(&ds, SPLIT_TRAIN) + split_n(&ds, SPLIT_VAL) + split_n(&ds, SPLIT_TEST), 3000);
    assert_int_equal(ds.num_classes, 2);
    seqdata_free(&ds);

    import_ok(dir, &ds, log, sizeof log, "conllu %s/" SHARED "/trees/en_ewt-ud-dev.conllu out.h5 --column upos --val-fraction 0.1 --test-fraction 0.1", repo);
    fprintf(stderr, "    %s", log);
    assert_int_equal(split_n(&ds, SPLIT_TRAIN) + split_n(&ds, SPLIT_VAL) + split_n(&ds, SPLIT_TEST), 2001);
    assert_int_equal(ds.num_classes, 17);
    seqdata_free(&ds);

    import_ok(dir, &ds, log, sizeof log, "csv %s/" SHARED "/timeseries/r_AirPassengers.csv out.h5 --columns value --target value --window 12 --horizon 1 --difference --val-fraction 0.1 --test-fraction 0.1", repo);
    fprintf(stderr, "    %s", log);
    assert_int_equal(split_n(&ds, SPLIT_TRAIN) + split_n(&ds, SPLIT_VAL) + split_n(&ds, SPLIT_TEST), 144 - 12 - 1 + 1);
    seqdata_free(&ds);

    import_ok(dir, &ds, log, sizeof log, "rows %s/" SHARED "/seqclass/digits/digits.csv out.h5 --rows 8 --label-column 65 --test-fraction 0.2", repo);
    fprintf(stderr, "    %s", log);
    assert_int_equal(split_n(&ds, SPLIT_TRAIN) + split_n(&ds, SPLIT_TEST), 1797);
    assert_true(ds.input_size == 8 && ds.num_classes == 10 && ds.split[SPLIT_TRAIN].total == 8 * split_n(&ds, SPLIT_TRAIN));
    seqdata_free(&ds);
}

/* recur data synth: the adding problem (two marked steps, one per half, the
 * target their sum) and the copy task (the last 10 labels repeat the first
 * 10 tokens after T - 1 blanks and the delimiter); the same seed, the same
 * bytes; out-of-range flags are exit 2. */
static void synth_tasks(void **state) {
    (void)state;
    char dir[4096], log[8192];
    case_dir(dir, sizeof dir);
    seq_dataset ds;
    import_ok(dir, &ds, log, sizeof log, "synth adding out.h5 --length 7 --count 40 --val-fraction 0.25 --seed 4");
    assert_non_null(strstr(log, "train 30 sequences (210 steps), val 10 (70 steps)"));
    assert_true(ds.task == TASK_REGRESS && ds.input_size == 2 && ds.output_size == 1 && !ds.per_step);
    assert_null(ds.feature_mean);
    for (int s = 0; s < 2; s++) {
        const seq_split *sp = &ds.split[s];
        for (size_t i = 0; i < sp->n; i++) {
            int marks[2] = {0, 0};
            double sum = 0;
            for (int t = 0; t < 7; t++) {
                const float *x = sp->features + (sp->offsets[i] + t) * 2;
                assert_true(x[0] >= 0 && x[0] < 1 && (x[1] == 0 || x[1] == 1));
                if (x[1] == 1) marks[t >= 4]++, sum += x[0];
            }
            assert_true(marks[0] == 1 && marks[1] == 1);
            assert_true(fabs(sp->seq_targets[i] - sum) < 1e-6);
        }
    }
    seqdata_free(&ds);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' data synth adding a2.h5 --length 7 --count 40 "
                            "--val-fraction 0.25 --seed 4 && cmp out.h5 a2.h5", dir, tu_recur()), 0);
    assert_int_not_equal(tu_run(log, sizeof log, "cd '%s' && '%s' data synth adding a3.h5 --length 7 --count 40 "
                                "--val-fraction 0.25 --seed 5 && cmp out.h5 a3.h5", dir, tu_recur()), 0);
    import_ok(dir, &ds, log, sizeof log, "synth copy out.h5 --length 5 --count 12 --test-fraction 0.25");
    assert_true(ds.task == TASK_TAG && ds.vocab_size == 10 && ds.num_classes == 10 && ds.per_step);
    assert_memory_equal(ds.vocab, "_abcdefgh:", 10);
    const seq_split *sp = &ds.split[SPLIT_TRAIN];
    assert_int_equal(sp->total, 9 * 25);
    for (size_t i = 0; i < sp->n; i++) {
        const int32_t *x = sp->tokens + sp->offsets[i], *y = sp->step_labels + sp->offsets[i];
        for (int t = 0; t < 25; t++) {
            if (t < 10) assert_true(x[t] >= 1 && x[t] <= 8);
            else assert_int_equal(x[t], t == 14 ? 9 : 0);
            assert_int_equal(y[t], t < 15 ? 0 : x[t - 15]);
        }
    }
    seqdata_free(&ds);
    static const struct { const char *args, *phrase; } bad[] = {
        {"adding x.h5 --length 1 --count 3", "--length: expected an integer in [2, 1000000], found 1"},
        {"copy x.h5 --length 0 --count 3", "--length"},
        {"adding x.h5 --length 5 --count 0", "--count"},
        {"adding x.h5 --length 5", "--count: required"},
        {"add x.h5 --length 5 --count 3", "expected adding or copy, found 'add'"},
        {"copy x.h5 --length 5 --count 3 --val-fraction 0.7 --test-fraction 0.5", "fraction"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const int rc = tu_run(log, sizeof log, "cd '%s' && '%s' data synth %s", dir, tu_recur(), bad[i].args);
        if (rc != 2 || !strstr(log, bad[i].phrase)) fail_msg("synth %s: exit %d: %s", bad[i].args, rc, log);
        char x[4200];
        snprintf(x, sizeof x, "%s/x.h5", dir);
        assert_false(tu_exists(x)); /* nothing written */
    }
}

static int group_setup(void **state) {
    (void)state;
    g_dir = tu_tmpdir();
    return g_dir ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    tu_scratch_remove(&g_dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(labeled_text_chars),
        cmocka_unit_test(labeled_text_chars_unknown),
        cmocka_unit_test(labeled_text_words),
        cmocka_unit_test(labeled_text_split_reproducible),
        cmocka_unit_test(conllu_tags),
        cmocka_unit_test(conllu_split_files),
        cmocka_unit_test(csv_windows),
        cmocka_unit_test(csv_difference),
        cmocka_unit_test(csv_relative_log),
        cmocka_unit_test(rows_sequences),
        cmocka_unit_test(synth_tasks),
        cmocka_unit_test(bad_inputs),
        cmocka_unit_test(text_and_help),
        cmocka_unit_test(real_data),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
