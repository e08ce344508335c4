/* test_cli_errors.c - the CLI on bad input: every malformed file, bad flag and
 * unwritable output gets ONE clear message and the right exit status, and
 * nothing is left at the output path.
 *
 * Contract checked for every case:
 *   - non-zero exit, and the specific code where the contract gives one
 *     (2 usage / bad flag value, 3 invalid input file, 4 output not writable);
 *   - stderr is exactly one non-empty line (no HDF5 error stack, no usage
 *     dump) naming the file and the field (attribute, dataset path or flag),
 *     plus the expected / found values where the test can know their spelling;
 *   - the --out file (or `data text` OUT) does not exist afterwards and no temp
 *     file is left in its directory (each run gets a fresh, empty directory).
 * Each failed check is printed as "VIOLATION: ..." with the command and what
 * recur printed, and all of a case's checks run before it fails.
 *
 * Fixtures: a 20 kB snippet of data/tinyshakespeare.txt -> good.h5 with
 * `recur data text`, good_ckpt.h5 with `recur train --steps 1` (LSTM E=16 H=32
 * L=2), then tests/make_bad_inputs.py copies them with one thing broken each
 * (it falls back to h5py-made good files when recur could not make them; the
 * control tests then fail and say so).
 *
 * Run: make build/release/tests/test_cli_errors && RECUR=bin/recur \
 *      build/release/tests/test_cli_errors      (from the repo root)
 */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>

#define TIMEOUT "timeout 120"
#define TRAIN_TAIL "--steps 1 --optimizer sgd --lr 0.1 --clip 1"

static char T[512];          /* scratch directory with the fixtures */
static char SRCDIR[4096];     /* repo root (for data/ and tests/) */
static int ndirs;             /* counter for fresh output directories */
static int violations;        /* in the current test */
static int good_data_by_recur, good_ckpt_by_recur;
static char setup_log[8192];

/* ---------------------------------------------------------------- helpers */

static const char *fx(const char *name) {
    /* Path of a fixture; rotating buffers so several can be used at once. */
    static char bufs[8][1024];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 1024, "%s/%s", T, name);
    return b;
}

static void fresh_dir(char *out, size_t n) {
    snprintf(out, n, "%s/out%03d", T, ++ndirs);
    if (mkdir(out, 0755) != 0) fail_msg("mkdir %s: %s", out, strerror(errno));
}

/* Names in dir (space separated) or "" when empty. */
static void list_dir(const char *dir, char *out, size_t n) {
    out[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", l ? " " : "", e->d_name);
    }
    closedir(d);
}

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    VIOLATION: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    violations++;
}

/* needle: case-insensitive; "a|b|c" means any of them. */
static int contains_any(const char *hay, const char *needle) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", needle);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
        if (strcasestr(hay, tok)) return 1;
    return 0;
}

static int nonempty_lines(const char *s) {
    int n = 0, any = 0;
    for (; *s; s++) {
        if (*s == '\n') {
            n += any;
            any = 0;
        } else if (*s != ' ' && *s != '\t' && *s != '\r') {
            any = 1;
        }
    }
    return n + any;
}

typedef struct {
    int code;                 /* expected exit status; 0 = any non-zero */
    int alt_code;             /* another acceptable status, or 0 */
    const char *outdir;       /* must be empty afterwards (NULL: not checked) */
    const char *outpath;      /* must not exist afterwards (NULL: none) */
    const char *metrics;      /* warn when left non-empty (NULL: none) */
    const char *needles[8];   /* must each appear in stderr */
} expect;

/* Runs one recur command line (arguments after the binary) and checks it
 * against e.  Violations are counted, not fatal, so all of them are shown. */
static void run_bad(const expect *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void run_bad(const expect *e, const char *fmt, ...) {
    char args[6000], cmd[8000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s", tu_recur(), args);
    char so[1024], se[1024];
    snprintf(so, sizeof so, "%s/last.stdout", T);
    snprintf(se, sizeof se, "%s/last.stderr", T);
    int rc = tu_run(NULL, 0, "{ " TIMEOUT " %s >'%s' 2>'%s'; }", cmd, so, se);
    char *out = tu_slurp(so, NULL), *err = tu_slurp(se, NULL);
    if (!out) out = strdup("");
    if (!err) err = strdup("");
    fprintf(stderr, "  $ recur %s\n    -> exit %d, stderr: %s%s", args, rc, *err ? err : "(empty)\n",
            *err && err[strlen(err) - 1] != '\n' ? "\n" : "");
    if (*out)
        fprintf(stderr, "       stdout: %.500s%s", out, out[strlen(out) - 1] != '\n' ? "\n" : "");

    if (rc == 0)
        violation("exit status 0 for bad input (expected %d)", e->code);
    else if (rc == 124 || rc >= 128)
        violation("recur timed out or died from a signal (status %d)", rc);
    else if (e->code && rc != e->code && rc != e->alt_code) {
        if (e->alt_code)
            violation("exit status %d, expected %d or %d", rc, e->code, e->alt_code);
        else
            violation("exit status %d, expected %d", rc, e->code);
    }
    int lines = nonempty_lines(err);
    if (lines != 1)
        violation("expected exactly one message line on stderr, found %d", lines);
    if (strstr(err, "HDF5-DIAG"))
        violation("the HDF5 library's error stack reached stderr");
    for (int i = 0; i < 8 && e->needles[i]; i++)
        if (!contains_any(err, e->needles[i]))
            violation("message does not mention \"%s\"", e->needles[i]);
    if (e->outpath && tu_exists(e->outpath))
        violation("output %s exists after the failure", e->outpath);
    if (e->outdir) {
        char names[2048];
        list_dir(e->outdir, names, sizeof names);
        if (names[0])
            violation("output directory %s is not empty afterwards: %s", e->outdir, names);
    }
    if (e->metrics && tu_exists(e->metrics)) {
        size_t n = 0;
        char *m = tu_slurp(e->metrics, &n);
        free(m);
        if (n) fprintf(stderr, "  note: metrics file %s was written (%zu bytes) by a failed run\n", e->metrics, n);
    }
    free(out);
    free(err);
}

#define FINISH() \
    do { \
        if (violations) fail_msg("%d contract violation(s), listed above", violations); \
    } while (0)

/* `recur train` with the small LSTM (or --init), B=4 k=16, one SGD step.
 * NULL fields get the defaults. */
typedef struct {
    const char *data, *init, *cell, *embed, *hidden, *layers, *batch, *bptt;
} train_args;

static void train_bad(const train_args *a, expect e) {
    char dir[1024], out[1536], metrics[1024], model[2048];
    fresh_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/model.h5", dir);
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", T);
    unlink(metrics);
    if (a->init)
        snprintf(model, sizeof model, "--init '%s'", a->init);
    else
        snprintf(model, sizeof model, "--cell %s --embed %s --hidden %s --layers %s --seed 1",
                 a->cell ? a->cell : "lstm", a->embed ? a->embed : "16",
                 a->hidden ? a->hidden : "32", a->layers ? a->layers : "2");
    e.outdir = dir;
    e.outpath = out;
    e.metrics = metrics;
    run_bad(&e, "train --data '%s' %s --batch %s --bptt %s " TRAIN_TAIL " --out '%s' --metrics '%s'",
            a->data ? a->data : fx("good.h5"), model, a->batch ? a->batch : "4",
            a->bptt ? a->bptt : "16", out, metrics);
}

static void eval_bad(const char *model, const char *data, expect e) {
    run_bad(&e, "eval --model '%s' --data '%s' --streams 1 --json", model, data);
}

static void sample_bad(const char *model, expect e) {
    run_bad(&e, "sample --model '%s' --len 20 --temperature 1 --seed 1", model);
}

/* A bad checkpoint through all three commands that read one. */
static void ckpt_bad_everywhere(const char *ckpt, expect e) {
    train_args a = {.init = ckpt};
    train_bad(&a, e);
    eval_bad(ckpt, fx("good.h5"), e);
    sample_bad(ckpt, e);
}

/* ------------------------------------------------------------------ setup */

static int find_srcdir(void) {
    const char *cands[3];
    char tmp1[4096], tmp2[4096], fromfile[4200], fromrecur[4200];
    snprintf(tmp1, sizeof tmp1, "%s", __FILE__);
    snprintf(fromfile, sizeof fromfile, "%s/..", dirname(tmp1));
    snprintf(tmp2, sizeof tmp2, "%s", tu_recur());
    snprintf(fromrecur, sizeof fromrecur, "%s/..", dirname(tmp2));
    const char *env = getenv("RECUR_SRCDIR");
    cands[0] = env && *env ? env : ".";
    cands[1] = fromfile;
    cands[2] = fromrecur;
    for (int i = 0; i < 3; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%s/tests/make_bad_inputs.py", cands[i]);
        if (tu_exists(p)) {
            if (!realpath(cands[i], SRCDIR)) snprintf(SRCDIR, sizeof SRCDIR, "%s", cands[i]);
            return 0;
        }
    }
    return -1;
}

static int group_setup(void **state) {
    (void)state;
    if (find_srcdir() != 0) {
        fprintf(stderr, "setup: cannot find tests/make_bad_inputs.py (run from the repo root or set RECUR_SRCDIR)\n");
        return -1;
    }
    char *t = tu_tmpdir();
    if (!t) return -1;
    snprintf(T, sizeof T, "%s", t);
    free(t);

    /* 20 kB of Tiny Shakespeare (synthetic text if the file is missing). */
    char p[4300];
    snprintf(p, sizeof p, "%s/data/tinyshakespeare.txt", SRCDIR);
    FILE *in = fopen(p, "rb"), *o = fopen(fx("snippet.txt"), "wb");
    if (!o) return -1;
    if (in) {
        char buf[20000];
        size_t n = fread(buf, 1, sizeof buf, in);
        fwrite(buf, 1, n, o);
        fclose(in);
    } else {
        for (int i = 0; i < 400; i++) fprintf(o, "The quick brown fox jumps over the lazy dog %d.\n", i);
    }
    fclose(o);

    char log[4096];
    int rc = tu_run(log, sizeof log, TIMEOUT " '%s' data text '%s' '%s'", tu_recur(), fx("snippet.txt"),
                    fx("good.h5"));
    good_data_by_recur = rc == 0 && tu_exists(fx("good.h5"));
    snprintf(setup_log, sizeof setup_log, "recur data text -> exit %d: %s\n", rc, log);
    if (good_data_by_recur) {
        rc = tu_run(log, sizeof log,
                    TIMEOUT " '%s' train --data '%s' --cell lstm --embed 16 --hidden 32 --layers 2 --seed 1"
                    " --batch 4 --bptt 16 " TRAIN_TAIL " --out '%s' --metrics '%s'",
                    tu_recur(), fx("good.h5"), fx("good_ckpt.h5"), fx("good_metrics.jsonl"));
        good_ckpt_by_recur = rc == 0 && tu_exists(fx("good_ckpt.h5"));
        size_t l = strlen(setup_log);
        snprintf(setup_log + l, sizeof setup_log - l, "recur train --steps 1 -> exit %d: %s\n", rc, log);
    }
    if (!good_data_by_recur) unlink(fx("good.h5"));
    if (!good_ckpt_by_recur) unlink(fx("good_ckpt.h5"));

    rc = tu_run(log, sizeof log, "%s '%s/tests/make_bad_inputs.py' '%s' '%s'", TU_PYTHON, SRCDIR, T,
                fx("snippet.txt"));
    if (rc != 0) {
        fprintf(stderr, "setup: make_bad_inputs.py failed (%d):\n%s\n", rc, log);
        return -1;
    }
    if (mkdir(fx("a_directory.h5"), 0755) != 0) return -1;
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    if (T[0] && !getenv("KEEP_TMP")) tu_rmtree(T);
    return 0;
}

/* ---------------------------------------------------------------- controls */

/* The fixtures are only meaningful when recur accepts the good files. */
static void test_control_good_inputs_accepted(void **state) {
    (void)state;
    if (!good_data_by_recur || !good_ckpt_by_recur) {
        fprintf(stderr, "  recur could not build the good fixtures (h5py fallbacks are used):\n%s", setup_log);
        violations++;
    }
    char out[16384];
    int rc = tu_run(out, sizeof out, TIMEOUT " '%s' eval --model '%s' --data '%s' --streams 1 --json",
                    tu_recur(), fx("good_ckpt.h5"), fx("good.h5"));
    if (rc != 0) {
        fprintf(stderr, "  control: eval of the good checkpoint on good.h5 exited %d:\n%s\n", rc, out);
        violations++;
    }
    char dir[1024], o[1536], names[2048];
    fresh_dir(dir, sizeof dir);
    snprintf(o, sizeof o, "%s/model.h5", dir);
    rc = tu_run(out, sizeof out,
                TIMEOUT " '%s' train --data '%s' --init '%s' --batch 4 --bptt 16 " TRAIN_TAIL
                        " --out '%s' --metrics '%s/m.jsonl'",
                tu_recur(), fx("good.h5"), fx("good_ckpt.h5"), o, T);
    list_dir(dir, names, sizeof names);
    if (rc != 0 || !tu_exists(o) || strcmp(names, "model.h5") != 0) {
        fprintf(stderr, "  control: train --init good_ckpt.h5 exited %d, out dir holds [%s]:\n%s\n", rc, names,
                out);
        violations++;
    }
    FINISH();
}

/* ------------------------------------------------------------- datasets */

static void test_data_not_hdf5(void **state) {
    (void)state;
    const char *f = fx("not_hdf5.h5");
    expect e = {.code = 3, .needles = {f, "HDF5"}};
    train_args a = {.data = f};
    train_bad(&a, e);
    eval_bad(fx("good_ckpt.h5"), f, e);
    /* A checkpoint that is not HDF5 either. */
    ckpt_bad_everywhere(f, e);
    FINISH();
}

static void test_data_missing_tokens(void **state) {
    (void)state;
    const char *f = fx("no_tokens.h5");
    expect e = {.code = 3, .needles = {f, "tokens"}};
    train_args a = {.data = f};
    train_bad(&a, e);
    eval_bad(fx("good_ckpt.h5"), f, e);
    FINISH();
}

static void test_missing_format_attribute(void **state) {
    (void)state;
    const char *f = fx("no_format.h5");
    expect e = {.code = 3, .needles = {f, "format", "recur-tokens"}};
    train_args a = {.data = f};
    train_bad(&a, e);
    eval_bad(fx("good_ckpt.h5"), f, e);
    const char *c = fx("ckpt_no_format.h5");
    expect ec = {.code = 3, .needles = {c, "format", "recur-checkpoint"}};
    ckpt_bad_everywhere(c, ec);
    FINISH();
}

static void test_tokens_wrong_dtype(void **state) {
    (void)state;
    const char *f32 = fx("tokens_f32.h5"), *i64 = fx("tokens_i64.h5");
    expect e = {.code = 3, .needles = {f32, "tokens", "int32", "float"}};
    train_args a = {.data = f32};
    train_bad(&a, e);
    eval_bad(fx("good_ckpt.h5"), f32, e);
    expect e64 = {.code = 3, .needles = {i64, "tokens", "int32", "64"}};
    a.data = i64;
    train_bad(&a, e64);
    eval_bad(fx("good_ckpt.h5"), i64, e64);
    FINISH();
}

static void test_tokens_wrong_rank(void **state) {
    (void)state;
    const char *f = fx("tokens_2d.h5");
    expect e = {.code = 3, .needles = {f, "tokens", "rank|dim|1-D|shape|2-D"}};
    train_args a = {.data = f};
    train_bad(&a, e);
    eval_bad(fx("good_ckpt.h5"), f, e);
    FINISH();
}

static void test_token_out_of_range(void **state) {
    (void)state;
    /* A token id (200) outside the file's own /vocab. */
    const char *f = fx("token_oob.h5");
    expect e = {.code = 3, .needles = {f, "token", "200"}};
    train_args a = {.data = f};
    train_bad(&a, e);
    eval_bad(fx("good_ckpt.h5"), f, e);
    /* A consistent dataset (256-byte vocab, ids = byte values) with ids beyond
     * the checkpoint's vocab_size. */
    const char *v = fx("vocab256.h5");
    expect ev = {.code = 3, .needles = {v, "vocab|token"}};
    a.data = v;
    a.init = fx("good_ckpt.h5");
    train_bad(&a, ev);
    eval_bad(fx("good_ckpt.h5"), v, ev);
    FINISH();
}

static void test_dataset_too_short(void **state) {
    (void)state;
    /* 100 tokens cannot feed --batch 4 --bptt 32 (needs at least 4*32+1).
     * The file itself is valid, so 2 (flag/config) and 3 (input) are both
     * acceptable; the message must name the file, /tokens and the count. */
    const char *f = fx("short.h5");
    expect e = {.code = 3, .alt_code = 2, .needles = {f, "token", "100"}};
    train_args a = {.data = f, .bptt = "32"};
    train_bad(&a, e);
    FINISH();
}

/* ----------------------------------------------------------- model config */

static void test_unknown_cell(void **state) {
    (void)state;
    expect e = {.code = 2, .needles = {"cell", "foo", "lstm"}};
    train_args a = {.cell = "foo"};
    train_bad(&a, e);
    const char *c = fx("ckpt_cell_foo.h5");
    expect ec = {.code = 3, .needles = {c, "cell", "foo"}};
    ckpt_bad_everywhere(c, ec);
    FINISH();
}

static void test_zero_and_negative_sizes(void **state) {
    (void)state;
    expect eh = {.code = 2, .needles = {"hidden", "0"}};
    train_args a = {.hidden = "0"};
    train_bad(&a, eh);
    expect el = {.code = 2, .needles = {"layers", "-1"}};
    train_args b = {.layers = "-1"};
    train_bad(&b, el);
    expect eb = {.code = 2, .needles = {"batch", "0"}};
    train_args c = {.batch = "0"};
    train_bad(&c, eb);
    expect ee = {.code = 2, .needles = {"embed", "0"}};
    train_args d = {.embed = "0"};
    train_bad(&d, ee);
    expect ek = {.code = 2, .needles = {"bptt", "-3"}};
    train_args k = {.bptt = "-3"};
    train_bad(&k, ek);
    const char *f = fx("ckpt_hidden0.h5");
    expect ec = {.code = 3, .needles = {f, "hidden_size", "0"}};
    ckpt_bad_everywhere(f, ec);
    FINISH();
}

/* ------------------------------------------------------------ checkpoints */

static void test_checkpoint_missing_tensor(void **state) {
    (void)state;
    const char *f = fx("ckpt_missing_tensor.h5");
    expect e = {.code = 3, .needles = {f, "weight_hh_l1"}};
    ckpt_bad_everywhere(f, e);
    FINISH();
}

static void test_checkpoint_wrong_shape(void **state) {
    (void)state;
    /* /model/rnn/weight_ih_l0 is [128, 17] instead of [128, 16]. */
    const char *f = fx("ckpt_bad_shape.h5");
    expect e = {.code = 3, .needles = {f, "weight_ih_l0", "17", "16"}};
    ckpt_bad_everywhere(f, e);
    FINISH();
}

/* ------------------------------------------------------------ file system */

static void test_unreadable_path(void **state) {
    (void)state;
    const char *missing = fx("does_not_exist.h5");
    expect e = {.code = 3, .needles = {missing}};
    train_args a = {.data = missing};
    train_bad(&a, e);
    eval_bad(fx("good_ckpt.h5"), missing, e);
    ckpt_bad_everywhere(missing, e);
    {
        char dir[1024], out[1536];
        fresh_dir(dir, sizeof dir);
        snprintf(out, sizeof out, "%s/tokens.h5", dir);
        expect et = {.code = 3, .outdir = dir, .outpath = out, .needles = {fx("no_such_text.txt")}};
        run_bad(&et, "data text '%s' '%s'", fx("no_such_text.txt"), out);
    }
    /* chmod 000 does not stop root from reading, so as root the unreadable
     * input is a directory given where a file is expected; otherwise a real
     * chmod 000 copy of the good files. */
    if (geteuid() == 0) {
        const char *d = fx("a_directory.h5");
        expect ed = {.code = 3, .needles = {d}};
        train_args b = {.data = d};
        train_bad(&b, ed);
        eval_bad(fx("good_ckpt.h5"), d, ed);
        ckpt_bad_everywhere(d, ed);
    } else {
        char cmd[9000];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s' '%s' && chmod 000 '%s' '%s'", fx("good.h5"),
                 fx("noperm.h5"), fx("good_ckpt.h5"), fx("noperm_ckpt.h5"), fx("noperm.h5"),
                 fx("noperm_ckpt.h5"));
        assert_int_equal(system(cmd), 0);
        const char *np = fx("noperm.h5"), *npc = fx("noperm_ckpt.h5");
        expect ep = {.code = 3, .needles = {np}};
        train_args b = {.data = np};
        train_bad(&b, ep);
        expect epc = {.code = 3, .needles = {npc}};
        ckpt_bad_everywhere(npc, epc);
    }
    FINISH();
}

static void test_unwritable_output(void **state) {
    (void)state;
    char nodir[1024], out[1536], metrics[1024], procout[256];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir", T);
    snprintf(out, sizeof out, "%s/model.h5", nodir);
    snprintf(metrics, sizeof metrics, "%s/metrics_unwritable.jsonl", T);
    snprintf(procout, sizeof procout, "/proc/recur-test-%d.h5", (int)getpid());
    const char *good = fx("good.h5");

    expect e = {.code = 4, .outpath = out, .needles = {out}};
    run_bad(&e, "train --data '%s' --cell lstm --embed 16 --hidden 32 --layers 2 --seed 1 --batch 4 --bptt 16 "
                TRAIN_TAIL " --out '%s' --metrics '%s'",
            good, out, metrics);
    expect ep = {.code = 4, .outpath = procout, .needles = {procout}};
    run_bad(&ep, "train --data '%s' --cell lstm --embed 16 --hidden 32 --layers 2 --seed 1 --batch 4 --bptt 16 "
                 TRAIN_TAIL " --out '%s' --metrics '%s'",
            good, procout, metrics);

    /* Metrics in a directory that does not exist: also an unwritable output,
     * and the model must not be written either. */
    {
        char dir[1024], o[1536], m[1536];
        fresh_dir(dir, sizeof dir);
        snprintf(o, sizeof o, "%s/model.h5", dir);
        snprintf(m, sizeof m, "%s/metrics.jsonl", nodir);
        expect em = {.code = 4, .outdir = dir, .outpath = o, .needles = {m}};
        run_bad(&em, "train --data '%s' --cell lstm --embed 16 --hidden 32 --layers 2 --seed 1 --batch 4 "
                     "--bptt 16 " TRAIN_TAIL " --out '%s' --metrics '%s'",
                good, o, m);
    }

    /* `recur data text` to an unwritable path. */
    char tout[1536];
    snprintf(tout, sizeof tout, "%s/tokens.h5", nodir);
    expect ed = {.code = 4, .outpath = tout, .needles = {tout}};
    run_bad(&ed, "data text '%s' '%s'", fx("snippet.txt"), tout);
    expect edp = {.code = 4, .outpath = procout, .needles = {procout}};
    run_bad(&edp, "data text '%s' '%s'", fx("snippet.txt"), procout);
    /* A read-only output directory (only meaningful when not root: root
     * writes through mode 0555). */
    if (geteuid() != 0) {
        char dir[1024], o[1536];
        fresh_dir(dir, sizeof dir);
        snprintf(o, sizeof o, "%s/model.h5", dir);
        if (chmod(dir, 0555) != 0) fail_msg("chmod %s", dir);
        expect er = {.code = 4, .outdir = dir, .outpath = o, .needles = {o}};
        run_bad(&er, "train --data '%s' --cell lstm --embed 16 --hidden 32 --layers 2 --seed 1 --batch 4 --bptt 16 "
                     TRAIN_TAIL " --out '%s' --metrics '%s'",
                good, o, metrics);
        char tro[1536];
        snprintf(tro, sizeof tro, "%s/tokens.h5", dir);
        expect edr = {.code = 4, .outdir = dir, .outpath = tro, .needles = {tro}};
        run_bad(&edr, "data text '%s' '%s'", fx("snippet.txt"), tro);
        if (chmod(dir, 0755) != 0) fail_msg("chmod %s", dir);
    }
    /* The output path is an existing directory. */
    {
        char dir[1024], sub[1536];
        fresh_dir(dir, sizeof dir);
        snprintf(sub, sizeof sub, "%s/is_a_dir.h5", dir);
        if (mkdir(sub, 0755) != 0) fail_msg("mkdir %s", sub);
        expect es = {.code = 4, .needles = {sub}};
        run_bad(&es, "data text '%s' '%s'", fx("snippet.txt"), sub);
        char names[2048];
        list_dir(dir, names, sizeof names);
        if (strcmp(names, "is_a_dir.h5") != 0) {
            fprintf(stderr, "  VIOLATION: %s holds [%s] after writing to a directory path failed\n", dir, names);
            violations++;
        }
    }
    FINISH();
}

/* ------------------------------------------- beyond the required list */

static void test_truncated_hdf5(void **state) {
    (void)state;
    /* Valid HDF5 signature, second half of the file missing. */
    const char *f = fx("data_truncated.h5");
    expect e = {.code = 3, .needles = {f}};
    train_args a = {.data = f};
    train_bad(&a, e);
    eval_bad(fx("good_ckpt.h5"), f, e);
    const char *c = fx("ckpt_truncated.h5");
    expect ec = {.code = 3, .needles = {c}};
    ckpt_bad_everywhere(c, ec);
    FINISH();
}

static void test_checkpoint_wrong_dtype(void **state) {
    (void)state;
    /* /model/head/bias stored as float64. */
    const char *f = fx("ckpt_f64_tensor.h5");
    expect e = {.code = 3, .needles = {f, "head/bias", "float32", "float64|double"}};
    ckpt_bad_everywhere(f, e);
    FINISH();
}

static void test_unsupported_version(void **state) {
    (void)state;
    const char *f = fx("data_version2.h5");
    expect e = {.code = 3, .needles = {f, "version", "2"}};
    train_args a = {.data = f};
    train_bad(&a, e);
    eval_bad(fx("good_ckpt.h5"), f, e);
    const char *c = fx("ckpt_version2.h5");
    expect ec = {.code = 3, .needles = {c, "version", "2"}};
    ckpt_bad_everywhere(c, ec);
    FINISH();
}

/* An output file that already exists is left byte-for-byte alone when the
 * command fails, and nothing else appears next to it. */
static const char precious[] = "precious: must survive a failed run\n";

static void make_existing(char *dir, size_t dn, char *out, size_t on) {
    fresh_dir(dir, dn);
    snprintf(out, on, "%s/existing.h5", dir);
    FILE *f = fopen(out, "wb");
    assert_non_null(f);
    fputs(precious, f);
    fclose(f);
}

static void check_existing(const char *dir, const char *out) {
    char *now = tu_slurp(out, NULL);
    if (!now || strcmp(now, precious) != 0)
        violation("existing output %s was %s by the failed run", out, now ? "modified" : "removed");
    free(now);
    char names[2048];
    list_dir(dir, names, sizeof names);
    if (strcmp(names, "existing.h5") != 0) violation("output directory holds [%s], expected only existing.h5", names);
}

static void test_existing_output_untouched(void **state) {
    (void)state;
    char dir[1024], out[1536], metrics[1024];
    snprintf(metrics, sizeof metrics, "%s/metrics_existing.jsonl", T);

    make_existing(dir, sizeof dir, out, sizeof out);
    expect e1 = {.code = 3, .needles = {fx("no_tokens.h5"), "tokens"}};
    run_bad(&e1, "train --data '%s' --cell lstm --embed 16 --hidden 32 --layers 2 --seed 1 --batch 4 --bptt 16 "
                 TRAIN_TAIL " --out '%s' --metrics '%s'",
            fx("no_tokens.h5"), out, metrics);
    check_existing(dir, out);

    make_existing(dir, sizeof dir, out, sizeof out);
    expect e2 = {.code = 3, .needles = {fx("ckpt_bad_shape.h5"), "weight_ih_l0"}};
    run_bad(&e2, "train --data '%s' --init '%s' --batch 4 --bptt 16 " TRAIN_TAIL " --out '%s' --metrics '%s'",
            fx("good.h5"), fx("ckpt_bad_shape.h5"), out, metrics);
    check_existing(dir, out);

    make_existing(dir, sizeof dir, out, sizeof out);
    expect e3 = {.code = 3, .needles = {fx("no_such_text.txt")}};
    run_bad(&e3, "data text '%s' '%s'", fx("no_such_text.txt"), out);
    check_existing(dir, out);
    FINISH();
}

static void test_bad_flag_values(void **state) {
    (void)state;
    expect eo = {.code = 2, .needles = {"optimizer", "foo"}};
    char dir[1024], out[1536], m[1536];
    fresh_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/model.h5", dir);
    snprintf(m, sizeof m, "%s/metrics_flags.jsonl", T);
    eo.outdir = dir;
    const char *base = "--cell lstm --embed 16 --hidden 32 --layers 2 --seed 1 --batch 4 --bptt 16 --steps 1";
    run_bad(&eo, "train --data '%s' %s --optimizer foo --lr 0.1 --clip 1 --out '%s' --metrics '%s'", fx("good.h5"),
            base, out, m);
    expect el = {.code = 2, .outdir = dir, .needles = {"lr", "abc"}};
    run_bad(&el, "train --data '%s' %s --optimizer sgd --lr abc --clip 1 --out '%s' --metrics '%s'", fx("good.h5"),
            base, out, m);
    expect eu = {.code = 2, .outdir = dir, .needles = {"--bogus-flag"}};
    run_bad(&eu, "train --data '%s' %s --optimizer sgd --lr 0.1 --clip 1 --bogus-flag 3 --out '%s' --metrics '%s'",
            fx("good.h5"), base, out, m);
    expect ed = {.code = 2, .outdir = dir, .needles = {"--data|data"}};
    run_bad(&ed, "train %s --optimizer sgd --lr 0.1 --clip 1 --out '%s' --metrics '%s'", base, out, m);
    char tout[1536];
    snprintf(tout, sizeof tout, "%s/tokens.h5", dir);
    expect ev = {.code = 2, .outdir = dir, .needles = {"val-fraction", "1.5"}};
    run_bad(&ev, "data text '%s' '%s' --val-fraction 1.5", fx("snippet.txt"), tout);
    expect eb = {.code = 2, .outdir = dir, .needles = {"vocab", "foo"}};
    run_bad(&eb, "data text '%s' '%s' --vocab foo", fx("snippet.txt"), tout);
    expect es = {.code = 2, .needles = {"streams", "0"}};
    run_bad(&es, "eval --model '%s' --data '%s' --streams 0 --json", fx("good_ckpt.h5"), fx("good.h5"));
    expect en = {.code = 2, .needles = {"len", "-5"}};
    run_bad(&en, "sample --model '%s' --len -5 --temperature 1 --seed 1", fx("good_ckpt.h5"));
    FINISH();
}

/* Mistyped names get a suggestion, a missing argument is named, and each is
 * still one message line with exit 2 that writes nothing. */
static void test_typos_and_missing_arguments(void **state) {
    (void)state;
    char dir[1024], out[1536], ini[1536];
    fresh_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/model.h5", dir);
    expect ec = {.code = 2, .needles = {"'trian'", "did you mean 'train'"}};
    run_bad(&ec, "trian --data '%s' --out '%s'", fx("good.h5"), out);
    expect ef = {.code = 2, .outdir = dir, .needles = {"'--hiden'", "did you mean '--hidden'"}};
    run_bad(&ef, "train --data '%s' --hiden 32 " TRAIN_TAIL " --out '%s'", fx("good.h5"), out);
    snprintf(ini, sizeof ini, "%s/typo.ini", T);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fputs("[train]\ncell = lstm\nhidden_size = 32\n", f);
    fclose(f);
    expect ek = {.code = 2, .outdir = dir, .needles = {"typo.ini:3: unknown key 'hidden_size'; did you mean 'hidden'?"}};
    run_bad(&ek, "train --config '%s' --data '%s' " TRAIN_TAIL " --out '%s'", ini, fx("good.h5"), out);
    expect ed = {.code = 2, .outdir = dir, .needles = {"missing OUT.h5", "recur data text TEXT OUT.h5"}};
    run_bad(&ed, "data text '%s'", fx("snippet.txt"));
    FINISH();
}

/* T/paths.ini holding "[train]" and then `lines`; its path. */
static const char *write_ini(const char *lines) {
    static char ini[1536];
    snprintf(ini, sizeof ini, "%s/paths.ini", T);
    FILE *f = fopen(ini, "w");
    if (!f) fail_msg("cannot write %s", ini);
    fprintf(f, "[train]\n%s\n", lines);
    fclose(f);
    return ini;
}

/* A path option set in a config file (data, init, resume, out, metrics,
 * run-dir) that cannot be used, a config line contradicting the checkpoint
 * it resumes, and --batch that does not divide among the ranks: the message
 * starts with the config file's line and key, not a flag the user never typed. */
static void test_config_paths_name_file_and_line(void **state) {
    (void)state;
    char dir[1024], out[1536], line[4096], want[256];
    fresh_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/model.h5", dir);
    const char *model = "--cell lstm --embed 16 --hidden 32 --layers 2";
    static const struct {
        const char *key, *value; /* value: "%s" is the scratch directory */
        int code;
        const char *needle;
    } cases[] = {
        {"data", "%s/nope.h5", 3, "nope.h5: cannot open for reading"},
        {"data", "%s", 3, "expected a file, found a directory"},
        {"init", "%s/nope.h5", 3, "nope.h5: cannot open for reading"},
        {"resume", "%s/nope.h5", 3, "nope.h5: cannot open"},
        {"resume", "%s/good.h5", 3, "recur-checkpoint"},
        {"out", "/nonexistent/dir/model.h5", 4, "cannot write into directory '/nonexistent/dir'"},
        {"out", "%s", 4, "expected a file path, found a directory"},
        {"metrics", "/nonexistent/m.jsonl", 4, "cannot write into directory '/nonexistent'"},
        {"run-dir", "%s/good.h5", 4, "expected a directory, found a file"},
        {"run-dir", "/nonexistent/a/b", 4, "cannot write into directory '/nonexistent/a'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char value[1200], lines[1400];
        snprintf(value, sizeof value, cases[i].value, T);
        snprintf(lines, sizeof lines, "%s = %s", cases[i].key, value);
        const char *ini = write_ini(lines);
        snprintf(want, sizeof want, "paths.ini:2: %s: ", cases[i].key);
        expect e = {.code = cases[i].code, .outdir = dir, .needles = {want, cases[i].needle}};
        const int fresh = strcmp(cases[i].key, "init") && strcmp(cases[i].key, "resume");
        /* Each flag the case's key does not stand for, on the command line. */
        snprintf(line, sizeof line, "train --config '%s'%s%s%s%s%s%s%s " TRAIN_TAIL, ini,
                 strcmp(cases[i].key, "data") ? " --data " : "", strcmp(cases[i].key, "data") ? fx("good.h5") : "",
                 fresh ? " " : "", fresh ? model : "", strcmp(cases[i].key, "out") && strcmp(cases[i].key, "run-dir")
                 ? " --out " : "", strcmp(cases[i].key, "out") && strcmp(cases[i].key, "run-dir") ? out : "", "");
        run_bad(&e, "%s", line);
        if (strstr(line, "--resume") || strstr(line, "--run-dir") || strstr(line, "--metrics"))
            violation("the case's own flag is on the command line: %s", line);
    }
    /* Lines contradicting the checkpoint a config file's `resume` names. */
    static const struct { const char *line, *needle; } against[] = {
        {"hidden = 64", "paths.ini:3: hidden: the model and optimizer come from --resume"},
        {"cell = gru", "paths.ini:3: cell: the model and optimizer come from --resume"},
        {"optimizer = adam", "paths.ini:3: optimizer: the model and optimizer come from --resume"},
        {"batch = 8", "paths.ini:3: batch: expected 4 (the streams of --resume"},
    };
    for (size_t i = 0; i < sizeof against / sizeof against[0]; i++) {
        char lines[2400];
        snprintf(lines, sizeof lines, "resume = %s\n%s", fx("good_ckpt.h5"), against[i].line);
        const char *ini = write_ini(lines);
        expect e = {.code = 2, .outdir = dir, .needles = {against[i].needle, "drop this line|found 8"}};
        run_bad(&e, "train --config '%s' --data '%s' --steps 5 --out '%s'", ini, fx("good.h5"), out);
    }
    FINISH();
}

/* A config file's `resume = CKPT` resumes (the command line's --resume wins
 * over it); --batch not divisible among mpirun's ranks names the config line. */
static void test_config_resume_and_batch(void **state) {
    (void)state;
    char dir[1024], out[1536], log[16384], lines[2400];
    fresh_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/model.h5", dir);
    snprintf(lines, sizeof lines, "resume = %s\nsteps = 3", fx("good_ckpt.h5"));
    const char *ini = write_ini(lines);
    int rc = tu_run(log, sizeof log, TIMEOUT " '%s' train --config '%s' --data '%s' --no-monitor --out '%s'", tu_recur(),
                    ini, fx("good.h5"), out);
    if (rc || !strstr(log, "resuming from") || !strstr(log, "good_ckpt.h5 at step 1 of 3"))
        fail_msg("a config file's resume line: exit %d:\n%s", rc, log);
    snprintf(lines, sizeof lines, "cell = lstm\nbatch = 3\nsteps = 1");
    ini = write_ini(lines);
    snprintf(out, sizeof out, "%s/batch.h5", dir);
    rc = tu_run(log, sizeof log, "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " TIMEOUT
                " mpirun --oversubscribe -np 2 '%s' train --config '%s' --data '%s' --embed 8 --hidden 8 --layers 1 "
                "--quiet --no-monitor --out '%s'", tu_recur(), ini, fx("good.h5"), out);
    if (rc != 2 || !strstr(log, "recur train: error: ") ||
        !strstr(log, "paths.ini:3: batch: expected a multiple of the number of ranks (2), found 3"))
        fail_msg("batch = 3 under mpirun -np 2: expected exit 2 naming paths.ini:3, got %d:\n%s", rc, log);
    if (tu_exists(out)) fail_msg("%s was written", out);
}

/* cmocka runs each test in order; reset the per-test violation count. */
static int reset(void **state) {
    (void)state;
    violations = 0;
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_control_good_inputs_accepted, reset),
        cmocka_unit_test_setup(test_data_not_hdf5, reset),
        cmocka_unit_test_setup(test_data_missing_tokens, reset),
        cmocka_unit_test_setup(test_missing_format_attribute, reset),
        cmocka_unit_test_setup(test_tokens_wrong_dtype, reset),
        cmocka_unit_test_setup(test_tokens_wrong_rank, reset),
        cmocka_unit_test_setup(test_token_out_of_range, reset),
        cmocka_unit_test_setup(test_dataset_too_short, reset),
        cmocka_unit_test_setup(test_unknown_cell, reset),
        cmocka_unit_test_setup(test_zero_and_negative_sizes, reset),
        cmocka_unit_test_setup(test_checkpoint_missing_tensor, reset),
        cmocka_unit_test_setup(test_checkpoint_wrong_shape, reset),
        cmocka_unit_test_setup(test_unreadable_path, reset),
        cmocka_unit_test_setup(test_unwritable_output, reset),
        cmocka_unit_test_setup(test_truncated_hdf5, reset),
        cmocka_unit_test_setup(test_checkpoint_wrong_dtype, reset),
        cmocka_unit_test_setup(test_unsupported_version, reset),
        cmocka_unit_test_setup(test_existing_output_untouched, reset),
        cmocka_unit_test_setup(test_bad_flag_values, reset),
        cmocka_unit_test_setup(test_typos_and_missing_arguments, reset),
        cmocka_unit_test_setup(test_config_paths_name_file_and_line, reset),
        cmocka_unit_test_setup(test_config_resume_and_batch, reset),
    };
    /* TEST_FILTER=test_config* runs only the matching tests. */
    if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
