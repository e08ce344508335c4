/* test_io.c - the io/ layer on its own: token datasets, checkpoints, config
 * files.
 *
 * Round trips must be bitwise (parameters, optimizer state, progress, carried
 * state, config text).  Files written by h5py (variable-length strings, int64
 * attributes, fixed-length strings) must load.  Every broken input gets ONE
 * message naming the file and the field, with err.code RECUR_EXIT_INPUT; every
 * unwritable output gets RECUR_EXIT_OUTPUT, leaves the destination untouched
 * and no temp file behind.  After every test no HDF5 id may remain open.
 *
 * Bad files are copies of good ones with one thing broken, made by a small
 * h5py script (EDIT_PY below) run with Debian's /usr/bin/python3.
 *
 * Checkpoints of every model_config (task, feature inputs, bidirectional
 * layers, heads) round-trip bitwise with the documented root attributes;
 * files without the new attributes are language models as before; each bad
 * or contradictory attribute is refused with one message.  seq2seq
 * checkpoints (every attention, context and end, both directions, character
 * and word vocabularies) round-trip the same way and are rewritten byte for
 * byte; damaged ones (h5py edits) fail naming the attribute, tensor or
 * vocabulary, also through `recur inspect` and `--verify`.
 *
 * Run: make build/release/tests/test_io && build/release/tests/test_io
 */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>

#include "../core/model.h"
#include "../core/optim.h"
#include "../io/atomic.h"
#include "../io/checkpoint.h"
#include "../io/config.h"
#include "../io/crash_guard.h"
#include "../io/dataset.h"
#include "../io/pairdata.h"

/* Each test gets a fresh scratch directory (fixture state). */
typedef struct {
    char *dir;
    ssize_t open_objects; /* HDF5 files/groups/datasets/types/attrs open at setup */
} fixture;

/* HDF5 refuses to count dataspace and property-list ids from outside the
 * library, so the leak check covers every object that belongs to a file. */
static ssize_t open_objects(void) { return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); }

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

/* Path of `name` in the fixture directory; rotating buffers. */
static const char *at(void **state, const char *name) {
    static char bufs[8][4200];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", ((fixture *)*state)->dir, name);
    return b;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Names in `dir` other than the expected ones count as litter (temp files). */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* The failure contract: -1, the code, the file path and the field named. */
#define assert_fails(rc, err, want_code, path, field)                                           \
    do {                                                                                        \
        assert_int_equal((rc), -1);                                                             \
        if ((err).code != (want_code) || !strstr((err).msg, (path)) || !strstr((err).msg, (field))) \
            fail_msg("code %d (want %d), message: %s\n  (want path %s and field %s)", (err).code, \
                     (want_code), (err).msg, (path), (field));                                  \
    } while (0)

/* ---- python edits --------------------------------------------------------- */

/* Reads lines "OUT|SRC|OP|ARG1|ARG2" on stdin; copies SRC to OUT and breaks
 * one thing.  ARGs are Python expressions for values (np available). */
static const char EDIT_PY[] =
    "import sys, shutil, h5py, numpy as np\n"
    "for line in sys.stdin:\n"
    "    line = line.rstrip('\\n')\n"
    "    if not line: continue\n"
    "    out, src, op, *a = line.split('|')\n"
    "    if src != '-': shutil.copy(src, out)\n"
    "    with h5py.File(out, 'a' if src != '-' else 'w') as f:\n"
    "        if op == 'delattr': del f[a[0]].attrs[a[1]]\n"
    "        elif op == 'setattr': f[a[0]].attrs[a[1]] = eval(a[2])\n"
    "        elif op == 'del': del f[a[0]]\n"
    "        elif op == 'replace':\n"
    "            del f[a[0]]\n"
    "            f[a[0]] = eval(a[1])\n"
    "        elif op == 'exec': exec(a[0])\n"
    "        else: raise SystemExit('bad op ' + op)\n";

static void run_edits(void **state, const char *spec) {
    const char *script = at(state, "edit.py"), *specf = at(state, "edits.txt");
    write_file(script, EDIT_PY, strlen(EDIT_PY));
    write_file(specf, spec, strlen(spec));
    char out[4096];
    int rc = tu_run(out, sizeof out, "%s '%s' < '%s'", TU_PYTHON, script, specf);
    if (rc != 0) fail_msg("h5py edit script failed (%d): %s", rc, out);
}

/* ---- datasets ------------------------------------------------------------- */

static void build(void **state, const char *text, const char *out, int all_bytes, double frac) {
    const char *txt = at(state, "in.txt");
    write_file(txt, text, strlen(text));
    recur_err err = {0};
    int rc = dataset_build_from_text(txt, out, all_bytes, frac, &err);
    if (rc) fail_msg("build failed: %s", err.msg);
}

static void test_dataset_roundtrip(void **state) {
    const char *text = "hello world\n", *out = at(state, "d.h5");
    build(state, text, out, 0, 0.0);
    token_dataset ds;
    recur_err err = {0};
    assert_int_equal(dataset_load(out, &ds, &err), 0);
    /* distinct bytes in increasing order: \n, ' ', d, e, h, l, o, r, w */
    assert_int_equal(ds.vocab_size, 9);
    assert_memory_equal(ds.vocab, "\n dehlorw", 9);
    assert_int_equal(ds.n, strlen(text));
    assert_int_equal(ds.n_val, 0);
    assert_null(ds.val_tokens);
    for (size_t i = 0; i < ds.n; i++) assert_int_equal(ds.vocab[ds.tokens[i]], (uint8_t)text[i]);
    dataset_free(&ds);
    /* Only the output is left: no temp file. */
    assert_int_equal(count_entries(((fixture *)*state)->dir), 2); /* in.txt, d.h5 */
}

static void test_dataset_val_split(void **state) {
    /* 1000 bytes; 'Z' appears only in the validation tail, so the vocab must
     * still cover it. */
    char text[1001];
    for (int i = 0; i < 1000; i++) text[i] = (char)('a' + i % 7);
    text[998] = 'Z';
    text[1000] = 0;
    const struct { double f; size_t n_val; } cases[] = {{0.1, 100}, {0.25, 250}, {0.0015, 1}, {0.0009, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *out = at(state, "split.h5");
        build(state, text, out, 0, cases[c].f);
        token_dataset ds;
        recur_err err = {0};
        assert_int_equal(dataset_load(out, &ds, &err), 0);
        assert_int_equal(ds.n_val, cases[c].n_val);
        assert_int_equal(ds.n, 1000 - cases[c].n_val);
        assert_int_equal(ds.vocab_size, 8);
        assert_int_equal(ds.vocab[0], 'Z'); /* 'Z' < 'a' */
        for (size_t i = 0; i < 1000; i++) {
            int32_t t = i < ds.n ? ds.tokens[i] : ds.val_tokens[i - ds.n];
            assert_int_equal(ds.vocab[t], (uint8_t)text[i]);
        }
        dataset_free(&ds);
    }
}

static void test_dataset_all_bytes(void **state) {
    const char *out = at(state, "b.h5");
    build(state, "abcab", out, 1, 0.2);
    token_dataset ds;
    recur_err err = {0};
    assert_int_equal(dataset_load(out, &ds, &err), 0);
    assert_int_equal(ds.vocab_size, 256);
    for (int i = 0; i < 256; i++) assert_int_equal(ds.vocab[i], i);
    assert_int_equal(ds.n, 4);
    assert_int_equal(ds.n_val, 1);
    assert_int_equal(ds.tokens[0], 'a');
    assert_int_equal(ds.tokens[3], 'a');
    assert_int_equal(ds.val_tokens[0], 'b');
    dataset_free(&ds);
}

static void test_dataset_build_errors(void **state) {
    const char *txt = at(state, "in.txt"), *out = at(state, "o.h5");
    write_file(txt, "abc", 3);
    recur_err err = {0};
    int rc = dataset_build_from_text(txt, out, 0, 1.0, &err);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, RECUR_EXIT_USAGE);
    assert_non_null(strstr(err.msg, "val"));
    memset(&err, 0, sizeof err);
    rc = dataset_build_from_text(txt, out, 0, -0.5, &err);
    assert_int_equal(err.code, RECUR_EXIT_USAGE);

    const char *missing = at(state, "no_such.txt");
    memset(&err, 0, sizeof err);
    rc = dataset_build_from_text(missing, out, 0, 0.0, &err);
    assert_fails(rc, err, RECUR_EXIT_INPUT, missing, "no_such.txt");

    const char *empty = at(state, "empty.txt");
    write_file(empty, "", 0);
    memset(&err, 0, sizeof err);
    rc = dataset_build_from_text(empty, out, 0, 0.0, &err);
    assert_fails(rc, err, RECUR_EXIT_INPUT, empty, "empty");
    assert_false(tu_exists(out));
}

/* Files written by h5py in the styles other tools use: fixed-length byte
 * strings (like H5LT) and small integer widths; variable-length str and int64
 * (h5py's defaults). */
static void test_dataset_h5py_styles(void **state) {
    char spec[4096];
    snprintf(spec, sizeof spec,
             "%s|-|exec|f.attrs['format'] = np.bytes_(b'recur-tokens'); f.attrs['version'] = np.int16(1); "
             "f['tokens'] = np.array([0, 1, 2, 1], 'i4'); f['vocab'] = np.frombuffer(b'xyz', 'u1'); "
             "f['val_tokens'] = np.array([2], '>i4')\n"
             "%s|-|exec|f.attrs['format'] = 'recur-tokens'; f.attrs['version'] = np.uint8(1); "
             "f['tokens'] = np.array([1, 0], 'i4'); f['vocab'] = np.frombuffer(b'ab', 'u1')\n",
             at(state, "fixed.h5"), at(state, "vlen.h5"));
    run_edits(state, spec);
    token_dataset ds;
    recur_err err = {0};
    int rc = dataset_load(at(state, "fixed.h5"), &ds, &err);
    if (rc) fail_msg("%s", err.msg);
    assert_int_equal(ds.n, 4);
    assert_int_equal(ds.n_val, 1);
    assert_int_equal(ds.val_tokens[0], 2);
    assert_memory_equal(ds.vocab, "xyz", 3);
    dataset_free(&ds);
    rc = dataset_load(at(state, "vlen.h5"), &ds, &err);
    if (rc) fail_msg("%s", err.msg);
    assert_int_equal(ds.tokens[0], 1);
    dataset_free(&ds);
}

/* The C high-level API's style: H5LT fixed-length NUL-terminated string and a
 * 32-bit integer attribute. */
static void test_dataset_h5lt_style(void **state) {
    const char *p = at(state, "lt.h5");
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    int version = 1;
    int tokens[5] = {0, 1, 1, 0, 2};
    unsigned char vocab[3] = {'a', 'b', 'c'};
    hsize_t nt = 5, nv = 3;
    assert_true(H5LTset_attribute_string(f, "/", "format", "recur-tokens") >= 0);
    assert_true(H5LTset_attribute_int(f, "/", "version", &version, 1) >= 0);
    assert_true(H5LTmake_dataset(f, "/tokens", 1, &nt, H5T_NATIVE_INT, tokens) >= 0);
    assert_true(H5LTmake_dataset(f, "/vocab", 1, &nv, H5T_NATIVE_UCHAR, vocab) >= 0);
    H5Fclose(f);
    token_dataset ds;
    recur_err err = {0};
    if (dataset_load(p, &ds, &err)) fail_msg("%s", err.msg);
    assert_int_equal(ds.n, 5);
    assert_memory_equal(ds.tokens, tokens, sizeof tokens);
    assert_memory_equal(ds.vocab, "abc", 3);
    dataset_free(&ds);
}

typedef struct {
    const char *file, *op, *args; /* edit applied to good.h5 */
    const char *needles[4];       /* besides the path */
} bad_case;

/* Makes every case's file from `good` in one python run. */
static void make_bad(void **state, const char *good_path, const bad_case *c, size_t n) {
    char spec[16384], good[4200];
    snprintf(good, sizeof good, "%s", good_path); /* at() buffers rotate */
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].op)
            len += (size_t)snprintf(spec + len, sizeof spec - len, "%s|%s|%s|%s\n", at(state, c[i].file), good,
                                    c[i].op, c[i].args);
    assert_true(len < sizeof spec);
    run_edits(state, spec);
}

static void check_bad(const char *path, int rc, const recur_err *err, const char *const *needles) {
    if (getenv("TEST_IO_VERBOSE")) fprintf(stderr, "  %s\n", err->msg); /* to review the wording */
    if (rc != -1 || err->code != RECUR_EXIT_INPUT || !strstr(err->msg, path))
        fail_msg("%s: rc %d code %d message: %s", path, rc, err->code, err->msg);
    for (int k = 0; k < 4 && needles[k]; k++)
        if (!strstr(err->msg, needles[k])) fail_msg("%s: message lacks '%s': %s", path, needles[k], err->msg);
    if (strchr(err->msg, '\n')) fail_msg("multi-line message: %s", err->msg);
}

/* Garbage bytes and a truncated copy: never a crash, always one message. */
static void make_damaged(void **state, const char *good, const char *garbage, const char *truncated) {
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 7919 % 251);
    write_file(at(state, garbage), junk, sizeof junk);
    size_t len = 0;
    char *b = tu_slurp(good, &len);
    assert_non_null(b);
    write_file(at(state, truncated), b, len / 2);
    free(b);
}

/* dataset_load failed on `p` with `load`: dataset_probe must say the same,
 * except when the problem is a token value, which the probe does not read:
 * then reading each array whole with dataset_read_range must say it.  A
 * problem with one token array's structure: dataset_read_range of that array
 * says it too. */
static void probe_agrees(const char *p, const recur_err *load) {
    token_dataset_info info;
    recur_err err = {0};
    int rc = dataset_probe(p, &info, &err);
    if (!strstr(load->msg, "expected every token in")) {
        if (rc != -1 || err.code != load->code || strcmp(err.msg, load->msg) != 0)
            fail_msg("probe of %s: rc %d code %d message:\n  %s\nload said (code %d):\n  %s", p, rc, err.code,
                     err.msg, load->code, load->msg);
        assert_null(info.vocab);
        for (int f = 0; f < 2; f++) {
            const char *field = f ? "/val_tokens" : "/tokens";
            char named[64];
            snprintf(named, sizeof named, "dataset '%s'", field);
            if (!strstr(load->msg, named)) continue;
            int32_t t[4];
            memset(&err, 0, sizeof err);
            rc = dataset_read_range(p, field, 0, 1, 256, t, &err);
            if (rc != -1 || err.code != load->code || strcmp(err.msg, load->msg) != 0)
                fail_msg("read_range of %s %s: rc %d message:\n  %s\nload said:\n  %s", p, field, rc, err.msg,
                         load->msg);
        }
        return;
    }
    if (rc) fail_msg("probe of %s (bad token value only) failed: %s", p, err.msg);
    assert_true(info.n > 0 && info.vocab && info.vocab_size > 0);
    int32_t *buf = malloc((info.n + info.n_val) * sizeof *buf);
    rc = dataset_read_range(p, "/tokens", 0, info.n, info.vocab_size, buf, &err);
    if (rc == 0 && info.n_val) rc = dataset_read_range(p, "/val_tokens", 0, info.n_val, info.vocab_size, buf, &err);
    if (rc != -1 || err.code != load->code || strcmp(err.msg, load->msg) != 0)
        fail_msg("read_range of %s: rc %d message:\n  %s\nload said:\n  %s", p, rc, err.msg, load->msg);
    free(buf);
    dataset_info_free(&info);
    assert_null(info.vocab);
}

static void test_dataset_bad_files(void **state) {
    char good[4200];
    snprintf(good, sizeof good, "%s", at(state, "good.h5")); /* at() buffers rotate */
    build(state, "the quick brown fox jumps over the lazy dog\n", good, 0, 0.1);
    static const bad_case cases[] = {
        {"no_tokens.h5", "del", "tokens", {"dataset '/tokens'", "int32 [N]", "missing"}},
        {"no_vocab.h5", "del", "vocab", {"dataset '/vocab'", "uint8", "missing"}},
        {"no_format.h5", "delattr", "/|format", {"attribute 'format'", "recur-tokens", "missing"}},
        {"no_version.h5", "delattr", "/|version", {"attribute 'version'", "missing"}},
        {"bad_format.h5", "setattr", "/|format|'recur-checkpoint'", {"attribute 'format'", "recur-tokens", "recur-checkpoint"}},
        {"version2.h5", "setattr", "/|version|2", {"attribute 'version'", "1", "2"}},
        {"version_str.h5", "setattr", "/|version|'1'", {"attribute 'version'", "integer", "string"}},
        {"format_int.h5", "setattr", "/|format|7", {"attribute 'format'", "int64"}},
        {"tokens_f64.h5", "replace", "tokens|np.zeros(100, 'f8')", {"dataset '/tokens': expected int32 [N], found float64 [100]"}},
        {"tokens_i64.h5", "replace", "tokens|np.zeros(100, 'i8')", {"dataset '/tokens'", "int32 [N]", "int64 [100]"}},
        {"tokens_u32.h5", "replace", "tokens|np.zeros(10, 'u4')", {"dataset '/tokens'", "int32 [N]", "uint32 [10]"}},
        {"tokens_2d.h5", "replace", "tokens|np.zeros((5, 2), 'i4')", {"dataset '/tokens'", "int32 [N]", "[5, 2]", "2-D"}},
        {"tokens_scalar.h5", "replace", "tokens|np.int32(3)", {"dataset '/tokens'", "scalar"}},
        {"tokens_empty.h5", "replace", "tokens|np.zeros(0, 'i4')", {"dataset '/tokens'", "int32 [0]"}},
        {"tokens_group.h5", "exec", "del f['tokens']; f.create_group('tokens')", {"dataset '/tokens'", "group"}},
        {"token_oob.h5", "exec", "t = f['tokens'][:]; t[7] = 200; f['tokens'][:] = t", {"dataset '/tokens'", "200", "index 7"}},
        {"token_neg.h5", "exec", "t = f['tokens'][:]; t[3] = -1; f['tokens'][:] = t", {"dataset '/tokens'", "-1", "index 3"}},
        {"val_oob.h5", "exec", "t = f['val_tokens'][:]; t[0] = 99; f['val_tokens'][:] = t", {"dataset '/val_tokens'", "99"}},
        {"val_f32.h5", "replace", "val_tokens|np.zeros(4, 'f4')", {"dataset '/val_tokens'", "float32 [4]"}},
        {"vocab_i32.h5", "replace", "vocab|np.arange(28, dtype='i4')", {"dataset '/vocab'", "uint8 [V]", "int32 [28]"}},
        {"vocab_big.h5", "replace", "vocab|np.zeros(300, 'u1')", {"dataset '/vocab'", "256", "300"}},
        {"not_hdf5.h5", NULL, NULL, {"HDF5"}},
        {"truncated.h5", NULL, NULL, {"HDF5"}},
    };
    const size_t n = sizeof cases / sizeof cases[0];
    make_bad(state, good, cases, n);
    make_damaged(state, good, "not_hdf5.h5", "truncated.h5");
    int value_cases = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = at(state, cases[i].file);
        token_dataset ds;
        recur_err err = {0};
        int rc = dataset_load(p, &ds, &err);
        check_bad(p, rc, &err, cases[i].needles);
        assert_null(ds.tokens);
        assert_null(ds.vocab);
        probe_agrees(p, &err);
        value_cases += strstr(err.msg, "expected every token in") != NULL;
    }
    assert_int_equal(value_cases, 3); /* token_oob, token_neg, val_oob */
}

static void test_dataset_unreadable(void **state) {
    token_dataset ds;
    recur_err err = {0};
    const char *missing = at(state, "missing.h5");
    int rc = dataset_load(missing, &ds, &err);
    assert_fails(rc, err, RECUR_EXIT_INPUT, missing, "No such file");
    const char *dir = at(state, "adir.h5");
    assert_int_equal(mkdir(dir, 0755), 0);
    memset(&err, 0, sizeof err);
    rc = dataset_load(dir, &ds, &err);
    assert_fails(rc, err, RECUR_EXIT_INPUT, dir, "directory");
    probe_agrees(dir, &err);
    memset(&err, 0, sizeof err);
    rc = dataset_load(missing, &ds, &err);
    probe_agrees(missing, &err);
    /* The range reader opens the file the same way. */
    int32_t t[1];
    recur_err err2 = {0};
    rc = dataset_read_range(missing, "/tokens", 0, 1, 10, t, &err2);
    assert_int_equal(rc, -1);
    assert_string_equal(err2.msg, err.msg);
}

/* Unwritable destinations: OUTPUT, nothing written, no temp file left, and an
 * existing destination untouched. */
static void test_dataset_unwritable(void **state) {
    const char *txt = at(state, "t.txt");
    write_file(txt, "abc", 3);
    recur_err err = {0};
    const char *nodir = at(state, "no/such/dir/o.h5");
    int rc = dataset_build_from_text(txt, nodir, 0, 0.0, &err);
    assert_fails(rc, err, RECUR_EXIT_OUTPUT, nodir, "No such file");
    const char *notdir = at(state, "t.txt/o.h5");
    memset(&err, 0, sizeof err);
    rc = dataset_build_from_text(txt, notdir, 0, 0.0, &err);
    assert_fails(rc, err, RECUR_EXIT_OUTPUT, notdir, "Not a directory");
    /* Destination is a directory: the temp file is made, rename fails, the
     * temp file must go. */
    const char *isdir = at(state, "isdir.h5");
    assert_int_equal(mkdir(isdir, 0755), 0);
    memset(&err, 0, sizeof err);
    rc = dataset_build_from_text(txt, isdir, 0, 0.0, &err);
    assert_fails(rc, err, RECUR_EXIT_OUTPUT, isdir, "directory");
    assert_int_equal(count_entries(((fixture *)*state)->dir), 2); /* t.txt, isdir.h5 */
    assert_int_equal(count_entries(isdir), 0);
    char procout[128];
    snprintf(procout, sizeof procout, "/proc/recur-test-%d.h5", (int)getpid());
    memset(&err, 0, sizeof err);
    rc = dataset_build_from_text(txt, procout, 0, 0.0, &err);
    assert_fails(rc, err, RECUR_EXIT_OUTPUT, procout, procout);
}

/* ---- sharded reading: probe + ranges --------------------------------------- */

/* The first `bytes` of data/tinyshakespeare.txt (found from the repo root, via
 * RECUR_SRCDIR, or next to this source file) built into `out`. */
static void build_shakespeare(void **state, const char *out, size_t bytes, double frac) {
    char here[4096], cand[3][4300];
    snprintf(here, sizeof here, "%s", __FILE__);
    char *slash = strrchr(here, '/');
    if (slash) *slash = 0;
    else snprintf(here, sizeof here, "tests");
    const char *env = getenv("RECUR_SRCDIR");
    snprintf(cand[0], sizeof cand[0], "%s/data/tinyshakespeare.txt", env && *env ? env : ".");
    snprintf(cand[1], sizeof cand[1], "data/tinyshakespeare.txt");
    snprintf(cand[2], sizeof cand[2], "%s/../data/tinyshakespeare.txt", here);
    FILE *in = NULL;
    for (int i = 0; i < 3 && !in; i++) in = fopen(cand[i], "rb");
    if (!in) fail_msg("data/tinyshakespeare.txt not found (run from the repo root or set RECUR_SRCDIR)");
    char *text = malloc(bytes + 1);
    size_t got = fread(text, 1, bytes, in);
    fclose(in);
    assert_int_equal(got, bytes);
    text[got] = 0;
    char o[4200];
    snprintf(o, sizeof o, "%s", out); /* at() buffers rotate */
    build(state, text, o, 0, frac);
    free(text);
}

static void test_dataset_probe_matches_load(void **state) {
    const double fracs[] = {0.1, 0.0};
    for (int k = 0; k < 2; k++) {
        const char *p = at(state, "shakespeare.h5");
        build_shakespeare(state, p, 20000, fracs[k]);
        token_dataset ds;
        token_dataset_info info;
        recur_err err = {0};
        if (dataset_load(p, &ds, &err)) fail_msg("%s", err.msg);
        if (dataset_probe(p, &info, &err)) fail_msg("%s", err.msg);
        assert_int_equal(info.n, ds.n);
        assert_int_equal(info.n_val, ds.n_val);
        assert_int_equal(info.n + info.n_val, 20000);
        assert_int_equal(info.n_val, k == 0 ? 2000 : 0);
        assert_int_equal(info.vocab_size, ds.vocab_size);
        assert_true(info.vocab_size > 30 && info.vocab_size <= 256);
        assert_memory_equal(info.vocab, ds.vocab, (size_t)ds.vocab_size);
        dataset_info_free(&info);
        assert_null(info.vocab);
        assert_int_equal(info.n, 0);
        dataset_info_free(&info); /* again: safe on a zeroed info */
        dataset_free(&ds);
    }
}

/* read_range of [first, first + count) equals that slice of `all`, and not
 * one element of `out` past count is written. */
static void range_equals(const char *p, const char *field, size_t first, size_t count, int V, const int32_t *all) {
    int32_t *buf = malloc((count + 8) * sizeof *buf);
    for (size_t i = 0; i < count + 8; i++) buf[i] = -12345;
    recur_err err = {0};
    if (dataset_read_range(p, field, first, count, V, buf, &err))
        fail_msg("%s [%zu, +%zu): %s", field, first, count, err.msg);
    if (count && memcmp(buf, all + first, count * sizeof *buf) != 0)
        fail_msg("%s [%zu, +%zu): differs from dataset_load's slice", field, first, count);
    for (size_t i = count; i < count + 8; i++) assert_int_equal(buf[i], -12345);
    free(buf);
}

/* dataset_summarize: the probe's structure and each array's id range, read
 * in chunks, equal to what dataset_load's whole arrays give. */
static void id_range_of(const int32_t *t, size_t n, int32_t *mn, int32_t *mx) {
    *mn = INT32_MAX;
    *mx = INT32_MIN;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < *mn) *mn = t[i];
        if (t[i] > *mx) *mx = t[i];
    }
}

static void test_dataset_summarize(void **state) {
    const char *p = at(state, "shakespeare.h5");
    build_shakespeare(state, p, 20000, 0.1);
    token_dataset ds;
    token_dataset_summary s;
    recur_err err = {0};
    if (dataset_load(p, &ds, &err)) fail_msg("load: %s", err.msg);
    if (dataset_summarize(p, &s, &err)) fail_msg("summarize: %s", err.msg);
    assert_int_equal(s.info.n, ds.n);
    assert_int_equal(s.info.n_val, ds.n_val);
    assert_int_equal(s.info.vocab_size, ds.vocab_size);
    assert_memory_equal(s.info.vocab, ds.vocab, (size_t)ds.vocab_size);
    int32_t mn, mx;
    id_range_of(ds.tokens, ds.n, &mn, &mx);
    assert_int_equal(s.min_id[0], mn);
    assert_int_equal(s.max_id[0], mx);
    id_range_of(ds.val_tokens, ds.n_val, &mn, &mx);
    assert_int_equal(s.min_id[1], mn);
    assert_int_equal(s.max_id[1], mx);
    dataset_summary_free(&s);
    dataset_free(&ds);
    /* a missing file: the one message of every reader */
    memset(&err, 0, sizeof err);
    assert_int_equal(dataset_summarize(at(state, "missing.h5"), &s, &err), -1);
    assert_non_null(strstr(err.msg, "cannot open"));
    assert_null(s.info.vocab);
}

static void test_dataset_read_range(void **state) {
    const char *p = at(state, "shakespeare.h5");
    build_shakespeare(state, p, 20000, 0.1);
    token_dataset ds;
    recur_err err = {0};
    if (dataset_load(p, &ds, &err)) fail_msg("%s", err.msg);
    const size_t n = ds.n, m = ds.n_val;
    const struct { size_t first, count; } tr[] = {
        {0, 1}, {0, 100}, {n / 2 - 37, 501}, {n / 3, 1}, {n - 1, 1}, {n - 250, 250}, {0, n}, {n, 0}, {0, 0},
    };
    for (size_t i = 0; i < sizeof tr / sizeof tr[0]; i++)
        range_equals(p, "/tokens", tr[i].first, tr[i].count, ds.vocab_size, ds.tokens);
    const struct { size_t first, count; } vr[] = {{0, 1}, {0, 10}, {m / 2, 333}, {m - 1, 1}, {0, m}};
    for (size_t i = 0; i < sizeof vr / sizeof vr[0]; i++)
        range_equals(p, "/val_tokens", vr[i].first, vr[i].count, ds.vocab_size, ds.val_tokens);
    /* Shards as data-parallel ranks would read them cover the array exactly. */
    int32_t *joined = malloc(n * sizeof *joined);
    const size_t ranks = 3;
    for (size_t r = 0; r < ranks; r++) {
        size_t lo = n * r / ranks, hi = n * (r + 1) / ranks;
        if (dataset_read_range(p, "/tokens", lo, hi - lo, ds.vocab_size, joined + lo, &err)) fail_msg("%s", err.msg);
    }
    assert_memory_equal(joined, ds.tokens, n * sizeof *joined);
    free(joined);
    dataset_free(&ds);
}

static void test_dataset_read_range_errors(void **state) {
    char p[4200], nov[4200];
    snprintf(p, sizeof p, "%s", at(state, "shakespeare.h5"));
    snprintf(nov, sizeof nov, "%s", at(state, "noval.h5"));
    build_shakespeare(state, p, 5000, 0.2);
    build_shakespeare(state, nov, 3000, 0.0);
    token_dataset_info info;
    recur_err err = {0};
    if (dataset_probe(p, &info, &err)) fail_msg("%s", err.msg);
    assert_int_equal(info.n, 4000);
    assert_int_equal(info.n_val, 1000);
    const struct {
        const char *field;
        size_t first, count;
        const char *found;
    } cases[] = {
        {"/tokens", 3995, 6, "expected a token range within [0, 4000), found [3995, 4001)"},
        {"/tokens", 4000, 1, "expected a token range within [0, 4000), found [4000, 4001)"},
        {"/tokens", 4001, 0, "expected a token range within [0, 4000), found [4001, 4001)"},
        {"/tokens", 0, 4001, "found [0, 4001)"},
        {"/tokens", 2, SIZE_MAX, "found [2, 2 + 18446744073709551615)"},
        {"/val_tokens", 500, 501, "expected a token range within [0, 1000), found [500, 1001)"},
        {"/val_tokens", 1001, 0, "expected a token range within [0, 1000), found [1001, 1001)"},
    };
    int32_t buf[16];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int k = 0; k < 16; k++) buf[k] = -7;
        memset(&err, 0, sizeof err);
        int rc = dataset_read_range(p, cases[i].field, cases[i].first, cases[i].count, info.vocab_size, buf, &err);
        char field[64];
        snprintf(field, sizeof field, "dataset '%s'", cases[i].field);
        assert_fails(rc, err, RECUR_EXIT_INPUT, p, field);
        if (!strstr(err.msg, cases[i].found)) fail_msg("message lacks '%s': %s", cases[i].found, err.msg);
        if (strchr(err.msg, '\n')) fail_msg("multi-line message: %s", err.msg);
        for (int k = 0; k < 16; k++) assert_int_equal(buf[k], -7); /* nothing written */
    }
    /* No /val_tokens: the same message dataset_load gives for a missing array. */
    memset(&err, 0, sizeof err);
    int rc = dataset_read_range(nov, "/val_tokens", 0, 1, info.vocab_size, buf, &err);
    assert_fails(rc, err, RECUR_EXIT_INPUT, nov, "dataset '/val_tokens': expected int32 [M], found nothing (missing)");
    /* Only the two token arrays can be read. */
    const char *bad_fields[] = {"/vocab", "tokens", "/other", NULL};
    for (int i = 0; i < 4; i++) {
        memset(&err, 0, sizeof err);
        rc = dataset_read_range(p, bad_fields[i], 0, 1, info.vocab_size, buf, &err);
        assert_fails(rc, err, RECUR_EXIT_USAGE, p, "\"/tokens\" or \"/val_tokens\"");
    }
    dataset_info_free(&info);
}

/* A bad token inside the range is reported at its index in the dataset; one
 * outside the range is never read, so it cannot fail the read. */
static void test_dataset_read_range_token_check(void **state) {
    char good[4200], bad[4200], spec[9000];
    snprintf(good, sizeof good, "%s", at(state, "good.h5"));
    snprintf(bad, sizeof bad, "%s", at(state, "bad.h5"));
    build_shakespeare(state, good, 5000, 0.2);
    snprintf(spec, sizeof spec,
             "%s|%s|exec|t = f['tokens'][:]; t[1234] = 200; f['tokens'][:] = t; "
             "v = f['val_tokens'][:]; v[600] = -3; f['val_tokens'][:] = v\n",
             bad, good);
    run_edits(state, spec);
    token_dataset_info info;
    recur_err err = {0};
    if (dataset_probe(bad, &info, &err)) fail_msg("probe reads no token values, yet: %s", err.msg);
    const int V = info.vocab_size;
    assert_true(V < 200);
    const struct {
        const char *field;
        size_t first, count;
        const char *found; /* NULL: the read succeeds */
    } cases[] = {
        {"/tokens", 1000, 500, "found 200 at index 1234"},
        {"/tokens", 1234, 1, "found 200 at index 1234"},
        {"/tokens", 0, 4000, "found 200 at index 1234"},
        {"/tokens", 0, 1234, NULL},
        {"/tokens", 1235, 2765, NULL},
        {"/val_tokens", 599, 2, "found -3 at index 600"},
        {"/val_tokens", 0, 600, NULL},
        {"/val_tokens", 601, 399, NULL},
    };
    int32_t *buf = malloc(4000 * sizeof *buf);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&err, 0, sizeof err);
        int rc = dataset_read_range(bad, cases[i].field, cases[i].first, cases[i].count, V, buf, &err);
        if (!cases[i].found) {
            if (rc) fail_msg("%s [%zu, +%zu): %s", cases[i].field, cases[i].first, cases[i].count, err.msg);
            continue;
        }
        char field[64];
        snprintf(field, sizeof field, "dataset '%s'", cases[i].field);
        assert_fails(rc, err, RECUR_EXIT_INPUT, bad, field);
        char want[64];
        snprintf(want, sizeof want, "expected every token in [0, %d)", V);
        if (!strstr(err.msg, cases[i].found) || !strstr(err.msg, want))
            fail_msg("message lacks '%s' or '%s': %s", cases[i].found, want, err.msg);
    }
    free(buf);
    /* dataset_load reports the first one, at the same index. */
    token_dataset ds;
    memset(&err, 0, sizeof err);
    assert_int_equal(dataset_load(bad, &ds, &err), -1);
    assert_non_null(strstr(err.msg, "dataset '/tokens'"));
    assert_non_null(strstr(err.msg, "found 200 at index 1234"));
    dataset_info_free(&info);
}

/* ---- checkpoints ---------------------------------------------------------- */

/* A model with distinct, reproducible parameters, and every optional part. */
typedef struct {
    model m;
    optimizer opt;
    uint8_t vocab[256];
    float *h, *c;
    checkpoint_out out;
} saved;

static void make_saved(saved *s, cell_kind cell, optim_kind ok, float momentum, int streams) {
    model_config cfg = {.cell = cell, .vocab_size = 11, .embed_size = 5, .hidden_size = 7, .num_layers = 2};
    recur_err err = {0};
    assert_int_equal(model_create(&s->m, &cfg, &err), 0);
    model_init_random(&s->m, 42 + (uint64_t)cell);
    optim_config oc;
    optim_config_defaults(&oc, ok);
    oc.momentum = momentum;
    oc.lr = 0.0123f;
    oc.weight_decay = 1e-4f;
    assert_int_equal(optim_create(&s->opt, &oc, s->m.num_params, &err), 0);
    s->opt.step = 17;
    for (size_t i = 0; i < s->opt.state_len; i++) s->opt.state[i] = (float)i * 0.37f - 3.0f;
    for (int i = 0; i < 11; i++) s->vocab[i] = (uint8_t)('a' + i);
    size_t ns = (size_t)2 * (size_t)streams * 7;
    s->h = calloc(ns ? ns : 1, sizeof(float));
    s->c = calloc(ns ? ns : 1, sizeof(float));
    for (size_t i = 0; i < ns; i++) {
        s->h[i] = sinf((float)i);
        s->c[i] = cosf((float)i);
    }
    s->out = (checkpoint_out){.m = &s->m, .vocab = s->vocab, .opt = &s->opt, .step = 1234, .epoch = 3,
                              .tokens_seen = 5000000000L, .state_h = streams ? s->h : NULL,
                              .state_c = streams ? s->c : NULL, .streams = streams,
                              .config_text = "cell = lstm\nhidden = 7\n"};
}

static void free_saved(saved *s) {
    model_free(&s->m);
    optim_free(&s->opt);
    free(s->h);
    free(s->c);
}

static void save_ok(const char *path, const checkpoint_out *o) {
    recur_err err = {0};
    if (checkpoint_save(path, o, &err)) fail_msg("save failed: %s", err.msg);
}

static void assert_same(const saved *s, const checkpoint_in *in) {
    const model *a = &s->m, *b = &in->m;
    assert_int_equal(a->cfg.cell, b->cfg.cell);
    assert_int_equal(a->cfg.vocab_size, b->cfg.vocab_size);
    assert_int_equal(a->cfg.embed_size, b->cfg.embed_size);
    assert_int_equal(a->cfg.hidden_size, b->cfg.hidden_size);
    assert_int_equal(a->cfg.num_layers, b->cfg.num_layers);
    assert_int_equal(a->num_params, b->num_params);
    assert_memory_equal(a->params, b->params, a->num_params * sizeof(float));
    assert_non_null(in->vocab);
    assert_memory_equal(in->vocab, s->vocab, 11);
    assert_true(in->has_optimizer);
    assert_int_equal(in->opt.cfg.kind, s->opt.cfg.kind);
    assert_memory_equal(&in->opt.cfg, &s->opt.cfg, sizeof s->opt.cfg);
    assert_int_equal(in->opt.step, 17);
    assert_int_equal(in->opt.state_len, s->opt.state_len);
    if (s->opt.state_len) assert_memory_equal(in->opt.state, s->opt.state, s->opt.state_len * sizeof(float));
    assert_true(in->has_progress);
    assert_int_equal(in->step, 1234);
    assert_int_equal(in->epoch, 3);
    assert_int_equal(in->tokens_seen, 5000000000L);
    assert_string_equal(in->config_text, s->out.config_text);
}

static void test_checkpoint_roundtrip(void **state) {
    for (int cell = 0; cell < CELL_COUNT; cell++) {
        saved s;
        make_saved(&s, (cell_kind)cell, OPTIM_ADAM, 0.0f, 3);
        const char *p = at(state, "ck.h5");
        save_ok(p, &s.out);
        checkpoint_in in;
        recur_err err = {0};
        if (checkpoint_load(p, &in, &err)) fail_msg("load: %s", err.msg);
        assert_same(&s, &in);
        assert_int_equal(in.streams, 3);
        assert_memory_equal(in.state_h, s.h, 2 * 3 * 7 * sizeof(float));
        if (cell == CELL_LSTM) assert_memory_equal(in.state_c, s.c, 2 * 3 * 7 * sizeof(float));
        else assert_null(in.state_c);
        checkpoint_in_free(&in);
        free_saved(&s);
    }
    assert_int_equal(count_entries(((fixture *)*state)->dir), 1);
}

/* SGD with and without momentum, no carried state, no config: the optional
 * parts come back absent, and a second save replaces the first. */
static void test_checkpoint_sgd_and_overwrite(void **state) {
    const char *p = at(state, "ck.h5");
    for (int mom = 0; mom < 2; mom++) {
        saved s;
        make_saved(&s, CELL_GRU, OPTIM_SGD, mom ? 0.9f : 0.0f, 0);
        s.out.config_text = NULL;
        s.out.step = 1234;
        save_ok(p, &s.out);
        checkpoint_in in;
        recur_err err = {0};
        if (checkpoint_load(p, &in, &err)) fail_msg("load: %s", err.msg);
        assert_true(in.has_optimizer);
        assert_int_equal(in.opt.cfg.kind, OPTIM_SGD);
        assert_int_equal(in.opt.state_len, mom ? in.m.num_params : 0);
        if (mom) assert_memory_equal(in.opt.state, s.opt.state, s.opt.state_len * sizeof(float));
        else assert_null(in.opt.state);
        assert_null(in.state_h);
        assert_int_equal(in.streams, 0);
        assert_null(in.config_text);
        assert_memory_equal(in.m.params, s.m.params, s.m.num_params * sizeof(float));
        checkpoint_in_free(&in);
        free_saved(&s);
    }
    assert_int_equal(count_entries(((fixture *)*state)->dir), 1);
}

/* A checkpoint as a PyTorch exporter writes it with h5py: only the root
 * attributes (variable-length str, int64) and /model. */
static const char H5PY_CKPT[] =
    "exec|import itertools\n"
    "V, E, H, L, G = 6, 3, 4, 2, 4\n"
    "f.attrs['format'] = 'recur-checkpoint'; f.attrs['version'] = 1; f.attrs['cell'] = 'lstm'\n"
    "f.attrs['vocab_size'] = V; f.attrs['embed_size'] = E; f.attrs['hidden_size'] = H; f.attrs['num_layers'] = L\n"
    "k = itertools.count()\n"
    "def t(*shape):\n"
    "    n = int(np.prod(shape)); s = next(k) * 1000\n"
    "    return (np.arange(s, s + n, dtype='f4') / 7).reshape(shape)\n"
    "f['model/embedding/weight'] = t(V, E)\n"
    "for l in range(L):\n"
    "    f[f'model/rnn/weight_ih_l{l}'] = t(G * H, E if l == 0 else H)\n"
    "    f[f'model/rnn/weight_hh_l{l}'] = t(G * H, H)\n"
    "    f[f'model/rnn/bias_ih_l{l}'] = t(G * H)\n"
    "    f[f'model/rnn/bias_hh_l{l}'] = t(G * H)\n"
    "f['model/head/weight'] = t(V, H)\n"
    "f['model/head/bias'] = t(V)\n";

/* The edit script takes one line per file, so the multi-line exec is
 * written as a file and exec'ed from there. */
static void make_h5py_ckpt(void **state, const char *path) {
    const char *body = strchr(H5PY_CKPT, '|') + 1;
    const char *py = at(state, "ckpt_body.py");
    write_file(py, body, strlen(body));
    char spec[4400];
    snprintf(spec, sizeof spec, "%s|-|exec|exec(open('%s').read())\n", path, py);
    run_edits(state, spec);
}

static void test_checkpoint_h5py(void **state) {
    const char *p = at(state, "torch.h5");
    make_h5py_ckpt(state, p);
    checkpoint_in in;
    recur_err err = {0};
    if (checkpoint_load(p, &in, &err)) fail_msg("load: %s", err.msg);
    assert_int_equal(in.m.cfg.cell, CELL_LSTM);
    assert_int_equal(in.m.cfg.vocab_size, 6);
    assert_int_equal(in.m.cfg.num_layers, 2);
    /* tensor k holds (k*1000 + j) / 7 in float32 */
    for (int k = 0; k < in.m.num_tensors; k++) {
        const tensor_info *t = &in.m.tensors[k];
        for (size_t j = 0; j < t->count; j++)
            assert_true(in.m.params[t->offset + j] == (float)(k * 1000 + (int)j) / 7.0f);
    }
    assert_false(in.has_optimizer);
    assert_false(in.has_progress);
    assert_null(in.vocab);
    assert_null(in.state_h);
    assert_null(in.config_text);
    checkpoint_in_free(&in);
}

static void keep_first(void *ctx, const char *msg) {
    char *first = ctx;
    if (!first[0]) snprintf(first, sizeof(((recur_err *)0)->msg), "%s", msg);
}

/* Load and verify walk one description of the contract: verify's first
 * violation is load's error (or both cannot read the file at all). */
static void same_first_violation(const char *p, const recur_err *load_err) {
    char first[sizeof load_err->msg] = "";
    int n = 0;
    recur_err err = {0};
    if (checkpoint_verify(p, keep_first, first, &n, &err)) {
        assert_string_equal(err.msg, load_err->msg);
        return;
    }
    assert_true(n >= 1);
    assert_string_equal(first, load_err->msg);
}

static void test_checkpoint_bad_files(void **state) {
    char good[4200];
    snprintf(good, sizeof good, "%s", at(state, "good.h5")); /* at() buffers rotate */
    saved s;
    make_saved(&s, CELL_LSTM, OPTIM_ADAM, 0.0f, 2); /* V 11, E 5, H 7, L 2: G*H = 28 */
    save_ok(good, &s.out);
    free_saved(&s);
    static const bad_case cases[] = {
        {"no_format.h5", "delattr", "/|format", {"attribute 'format'", "recur-checkpoint", "missing"}},
        {"tokens_file.h5", "setattr", "/|format|'recur-tokens'", {"attribute 'format'", "recur-checkpoint", "recur-tokens"}},
        {"version9.h5", "setattr", "/|version|9", {"attribute 'version'", "9"}},
        {"no_cell.h5", "delattr", "/|cell", {"attribute 'cell'", "missing"}},
        {"cell_foo.h5", "setattr", "/|cell|'foo'", {"attribute 'cell'", "foo", "lstm"}},
        {"cell_int.h5", "setattr", "/|cell|3", {"attribute 'cell'", "lstm", "int64"}},
        {"no_hidden.h5", "delattr", "/|hidden_size", {"attribute 'hidden_size'", "missing"}},
        {"hidden0.h5", "setattr", "/|hidden_size|0", {"hidden_size", "0"}},
        {"layers_neg.h5", "setattr", "/|num_layers|-1", {"num_layers", "-1"}},
        {"vocab_huge.h5", "setattr", "/|vocab_size|2**40", {"vocab_size", "1099511627776"}},
        {"embed_float.h5", "setattr", "/|embed_size|5.0", {"attribute 'embed_size'", "integer", "float64"}},
        {"no_tensor.h5", "del", "model/rnn/weight_hh_l1", {"dataset '/model/rnn/weight_hh_l1'", "float32 [28, 7]", "missing"}},
        {"no_model.h5", "del", "model", {"dataset '/model/embedding/weight'", "missing"}},
        {"tensor_f64.h5", "replace", "model/head/bias|np.zeros(11, 'f8')", {"dataset '/model/head/bias'", "expected float32 [11], found float64 [11]"}},
        {"tensor_f16.h5", "replace", "model/head/bias|np.zeros(11, 'f2')", {"dataset '/model/head/bias'", "float16"}},
        {"tensor_shape.h5", "replace", "model/rnn/weight_ih_l0|np.zeros((28, 6), 'f4')", {"dataset '/model/rnn/weight_ih_l0'", "expected float32 [28, 5], found float32 [28, 6]"}},
        {"tensor_rank.h5", "replace", "model/rnn/bias_ih_l1|np.zeros((28, 1), 'f4')", {"dataset '/model/rnn/bias_ih_l1'", "[28]", "[28, 1]"}},
        {"vocab_short.h5", "replace", "vocab|np.zeros(10, 'u1')", {"dataset '/vocab'", "uint8 [11]", "uint8 [10]"}},
        {"opt_kind.h5", "setattr", "optimizer|kind|'rmsprop'", {"attribute 'kind' of '/optimizer'", "rmsprop"}},
        {"opt_no_lr.h5", "delattr", "optimizer|lr", {"attribute 'lr' of '/optimizer'", "missing"}},
        {"opt_lr_str.h5", "setattr", "optimizer|lr|'fast'", {"attribute 'lr' of '/optimizer'", "number", "string"}},
        {"opt_state.h5", "replace", "optimizer/state|np.zeros(5, 'f4')", {"dataset '/optimizer/state'", "[5]"}},
        {"opt_no_state.h5", "del", "optimizer/state", {"dataset '/optimizer/state'", "missing"}},
        {"progress.h5", "delattr", "progress|epoch", {"attribute 'epoch' of '/progress'", "missing"}},
        {"state_h.h5", "replace", "state/h|np.zeros((2, 2, 6), 'f4')", {"dataset '/state/h'", "float32 [2, B, 7]", "[2, 2, 6]"}},
        {"state_c.h5", "replace", "state/c|np.zeros((2, 3, 7), 'f4')", {"dataset '/state/c'", "float32 [2, 2, 7]", "[2, 3, 7]"}},
        {"state_no_c.h5", "del", "state/c", {"dataset '/state/c'", "missing"}},
        {"config_int.h5", "replace", "config|np.int32(3)", {"dataset '/config'", "string", "int32"}},
        {"not_hdf5.h5", NULL, NULL, {"HDF5"}},
        {"truncated.h5", NULL, NULL, {"HDF5"}},
    };
    const size_t n = sizeof cases / sizeof cases[0];
    make_bad(state, good, cases, n);
    make_damaged(state, good, "not_hdf5.h5", "truncated.h5");
    for (size_t i = 0; i < n; i++) {
        const char *p = at(state, cases[i].file);
        checkpoint_in in;
        recur_err err = {0};
        int rc = checkpoint_load(p, &in, &err);
        check_bad(p, rc, &err, cases[i].needles);
        assert_null(in.m.params);
        assert_null(in.state_h);
        same_first_violation(p, &err);
    }
}

/* ---- checkpoints of every model_config (issue 9) -------------------------- */

/* The sequence models of the round trips: a bidirectional LSTM classifier on
 * features (mean pooling), a bidirectional GRU tagger on tokens (summed
 * directions), a sequence regressor on features (max pooling), a per-step
 * regressor on features. */
static const model_config SEQ_CONFIGS[] = {
    {.cell = CELL_LSTM, .input_size = 6, .hidden_size = 7, .num_layers = 2, .bidirectional = 1,
     .merge = MERGE_CONCAT, .task = TASK_CLASSIFY, .output_size = 4, .pooling = POOL_MEAN},
    {.cell = CELL_GRU, .vocab_size = 11, .embed_size = 5, .hidden_size = 6, .num_layers = 2, .bidirectional = 1,
     .merge = MERGE_SUM, .task = TASK_TAG, .output_size = 5, .per_step = 1},
    {.cell = CELL_RNN_TANH, .input_size = 3, .hidden_size = 5, .num_layers = 2, .task = TASK_REGRESS,
     .output_size = 2, .pooling = POOL_MAX},
    {.cell = CELL_LBR_GRU, .input_size = 2, .hidden_size = 4, .num_layers = 1, .task = TASK_REGRESS,
     .output_size = 3, .per_step = 1},
};

static void assert_same_config(const model_config *a, const model_config *b) {
    assert_int_equal(a->cell, b->cell);
    assert_int_equal(a->vocab_size, b->vocab_size);
    assert_int_equal(a->embed_size, b->embed_size);
    assert_int_equal(a->hidden_size, b->hidden_size);
    assert_int_equal(a->num_layers, b->num_layers);
    assert_int_equal(a->task, b->task);
    assert_int_equal(a->input_size, b->input_size);
    assert_int_equal(a->bidirectional, b->bidirectional);
    assert_int_equal(a->merge, b->merge);
    assert_int_equal(a->output_size, b->output_size);
    assert_int_equal(a->per_step, b->per_step);
    assert_int_equal(a->pooling, b->pooling);
    assert_int_equal(a->src_vocab_size, b->src_vocab_size);
    assert_int_equal(a->attention, b->attention);
    assert_int_equal(a->context, b->context);
    assert_int_equal(a->end, b->end);
    assert_int_equal(a->max_len, b->max_len);
}

/* Same config, same tensors (names, shapes, offsets), same bits. */
static void assert_same_model(const model *a, const model *b) {
    assert_same_config(&a->cfg, &b->cfg);
    assert_int_equal(a->num_params, b->num_params);
    assert_int_equal(a->num_tensors, b->num_tensors);
    for (int i = 0; i < a->num_tensors; i++) {
        assert_string_equal(a->tensors[i].name, b->tensors[i].name);
        assert_int_equal(a->tensors[i].ndim, b->tensors[i].ndim);
        assert_int_equal(a->tensors[i].shape[0], b->tensors[i].shape[0]);
        assert_int_equal(a->tensors[i].shape[1], b->tensors[i].shape[1]);
        assert_int_equal(a->tensors[i].offset, b->tensors[i].offset);
    }
    assert_memory_equal(a->params, b->params, a->num_params * sizeof(float));
}

/* The root attributes recur writes for `cfg` (h5py's view), as a Python
 * dict literal of what must be there; nothing else may be. */
static void expected_attrs(const model_config *c, char *buf, size_t len) {
    static const char *const cells[] = {"rnn_tanh", "rnn_relu", "lstm", "gru", "lbr_gru"};
    int n = snprintf(buf, len, "{'format': 'recur-checkpoint', 'version': 1, 'cell': '%s', 'task': '%s', "
                     "'vocab_size': %d, 'embed_size': %d, 'hidden_size': %d, 'num_layers': %d, 'bidirectional': %d",
                     cells[c->cell], task_name(c->task), c->vocab_size, c->embed_size, c->hidden_size, c->num_layers,
                     c->bidirectional);
    if (c->input_size) n += snprintf(buf + n, len - (size_t)n, ", 'input_size': %d", c->input_size);
    if (c->bidirectional)
        n += snprintf(buf + n, len - (size_t)n, ", 'merge': '%s'", c->merge == MERGE_SUM ? "sum" : "concat");
    if (c->task == TASK_CLASSIFY || c->task == TASK_TAG)
        n += snprintf(buf + n, len - (size_t)n, ", 'num_classes': %d", c->output_size);
    if (c->task == TASK_REGRESS)
        n += snprintf(buf + n, len - (size_t)n, ", 'output_size': %d, 'per_step': %d", c->output_size, c->per_step);
    if (c->task == TASK_CLASSIFY || (c->task == TASK_REGRESS && !c->per_step))
        n += snprintf(buf + n, len - (size_t)n, ", 'pooling': '%s'", pooling_name(c->pooling));
    if (c->task == TASK_SEQ2SEQ)
        n += snprintf(buf + n, len - (size_t)n, ", 'src_vocab_size': %d, 'attention': '%s', 'context': '%s', "
                      "'end': '%s'", c->src_vocab_size, attention_name(c->attention), context_name(c->context),
                      end_name(c->end));
    if (c->task == TASK_SEQ2SEQ && c->end == END_LENGTH)
        n += snprintf(buf + n, len - (size_t)n, ", 'max_len': %d", c->max_len);
    snprintf(buf + n, len - (size_t)n, "}");
}

static void attrs_are(const char *path, const model_config *c) {
    char want[1024], out[4096];
    expected_attrs(c, want, sizeof want);
    int rc = tu_run(out, sizeof out,
                    "%s -c \"import sys, h5py\n"
                    "f = h5py.File(sys.argv[1], 'r')\n"
                    "got = {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, 'item') else v)"
                    " for k, v in f.attrs.items()}\n"
                    "want = %s\n"
                    "if got != want: sys.exit('attributes %%r, expected %%r' %% (got, want))\" '%s'",
                    TU_PYTHON, want, path);
    if (rc) fail_msg("%s", out);
}

/* model_create + model_init_random + checkpoint_save + checkpoint_load: the
 * same config (every field) and tensors, the "_reverse" tensors among them;
 * checkpoint_read_config says the same; verify finds nothing; the root
 * attributes are the documented ones. */
static void test_checkpoint_seq_roundtrip(void **state) {
    for (size_t k = 0; k < sizeof SEQ_CONFIGS / sizeof SEQ_CONFIGS[0]; k++) {
        const model_config *cfg = &SEQ_CONFIGS[k];
        model m;
        recur_err err = {0};
        if (model_create(&m, cfg, &err)) fail_msg("config %zu: %s", k, err.msg);
        model_init_random(&m, 7 + k);
        optimizer opt;
        optim_config oc;
        optim_config_defaults(&oc, OPTIM_ADAM);
        assert_int_equal(optim_create(&opt, &oc, m.num_params, &err), 0);
        for (size_t i = 0; i < opt.state_len; i++) opt.state[i] = (float)i * 0.25f;
        uint8_t vocab[16] = "abcdefghijk";
        checkpoint_out out = {.m = &m, .opt = &opt, .vocab = cfg->input_size ? NULL : vocab, .step = 9, .epoch = 2,
                              .tokens_seen = 1000, .config_text = "task = x\n"};
        const char *p = at(state, "seq.h5");
        save_ok(p, &out);
        checkpoint_in in;
        if (checkpoint_load(p, &in, &err)) fail_msg("config %zu: load: %s", k, err.msg);
        assert_same_model(&m, &in.m);
        assert_int_equal(in.m.ix.embedding, cfg->input_size ? -1 : 0);
        assert_true(model_find_tensor(&in.m, "embedding/weight") == (cfg->input_size ? -1 : 0));
        for (int l = 0; l < cfg->num_layers; l++) {
            char name[48];
            snprintf(name, sizeof name, "rnn/weight_hh_l%d_reverse", l);
            assert_true((model_find_tensor(&in.m, name) >= 0) == cfg->bidirectional);
            if (cfg->bidirectional) assert_int_equal(in.m.ix.layer[l][1].w_hh, model_find_tensor(&in.m, name));
        }
        assert_true(in.has_optimizer);
        assert_memory_equal(in.opt.state, opt.state, opt.state_len * sizeof(float));
        if (cfg->input_size) assert_null(in.vocab);
        else assert_memory_equal(in.vocab, vocab, 11);
        model_config rc;
        if (checkpoint_read_config(p, &rc, &err)) fail_msg("read_config: %s", err.msg);
        assert_same_config(cfg, &rc);
        int n = -1;
        assert_int_equal(checkpoint_verify(p, NULL, NULL, &n, &err), 0);
        assert_int_equal(n, 0);
        attrs_are(p, cfg);
        checkpoint_in_free(&in);
        optim_free(&opt);
        model_free(&m);
    }
}

/* A language model written today carries task "lm" and bidirectional 0;
 * without them (a checkpoint from before issue 9) it loads the same. */
static void test_checkpoint_old_lm(void **state) {
    char good[4200], old[4200];
    snprintf(good, sizeof good, "%s", at(state, "lm.h5"));
    snprintf(old, sizeof old, "%s", at(state, "old.h5"));
    saved s;
    make_saved(&s, CELL_LSTM, OPTIM_ADAM, 0.0f, 2);
    save_ok(good, &s.out);
    model_config lm = {.cell = CELL_LSTM, .vocab_size = 11, .embed_size = 5, .hidden_size = 7, .num_layers = 2};
    attrs_are(good, &lm);
    char spec[9000];
    snprintf(spec, sizeof spec, "%s|%s|exec|del f.attrs['task']; del f.attrs['bidirectional']\n", old, good);
    run_edits(state, spec);
    for (int i = 0; i < 2; i++) {
        const char *p = i ? old : good;
        checkpoint_in in;
        recur_err err = {0};
        if (checkpoint_load(p, &in, &err)) fail_msg("%s: %s", p, err.msg);
        assert_same(&s, &in);
        assert_same_model(&s.m, &in.m);
        assert_same_config(&lm, &in.m.cfg);
        checkpoint_in_free(&in);
    }
    free_saved(&s);
}

/* A sequence checkpoint as tests/torch_seq_reference.py writes it with h5py:
 * vocab_size = embed_size = 0 for feature inputs, no merge, no per_step
 * (a regression head without pooling is per step). */
static const char H5PY_SEQ_CKPT[] =
    "import itertools\n"
    "def write(path, task, F, H, L, D, G, O, pooling):\n"
    "  with h5py.File(path, 'w') as f:\n"
    "    a = f.attrs\n"
    "    a['format'] = 'recur-checkpoint'; a['version'] = 1; a['cell'] = 'gru'\n"
    "    a['vocab_size'] = 0; a['embed_size'] = 0; a['hidden_size'] = H; a['num_layers'] = L\n"
    "    a['task'] = task; a['bidirectional'] = D - 1; a['input_size'] = F\n"
    "    a['output_size' if task == 'regress' else 'num_classes'] = O\n"
    "    if pooling: a['pooling'] = pooling\n"
    "    k = itertools.count()\n"
    "    def t(*shape):\n"
    "      n = int(np.prod(shape)); s = next(k) * 1000\n"
    "      return (np.arange(s, s + n, dtype='f4') / 7).reshape(shape)\n"
    "    for l in range(L):\n"
    "      for d in range(D):\n"
    "        r = '_reverse' if d else ''\n"
    "        f[f'model/rnn/weight_ih_l{l}{r}'] = t(G * H, F if l == 0 else D * H)\n"
    "        f[f'model/rnn/weight_hh_l{l}{r}'] = t(G * H, H)\n"
    "        f[f'model/rnn/bias_ih_l{l}{r}'] = t(G * H)\n"
    "        f[f'model/rnn/bias_hh_l{l}{r}'] = t(G * H)\n"
    "    f['model/head/weight'] = t(O, D * H)\n"
    "    f['model/head/bias'] = t(O)\n"
    "d = os.path.dirname(out)\n"
    "write(d + '/cls.h5', 'classify', 3, 4, 2, 2, 3, 5, 'last')\n"
    "write(d + '/reg.h5', 'regress', 2, 5, 1, 2, 3, 3, None)\n";

static void test_checkpoint_h5py_seq(void **state) {
    const char *py = at(state, "seq_body.py");
    write_file(py, H5PY_SEQ_CKPT, strlen(H5PY_SEQ_CKPT));
    char spec[9000];
    snprintf(spec, sizeof spec, "%s|-|exec|import os; exec(open('%s').read())\n", at(state, "unused.h5"), py);
    run_edits(state, spec);
    const model_config want[2] = {
        {.cell = CELL_GRU, .input_size = 3, .hidden_size = 4, .num_layers = 2, .bidirectional = 1,
         .task = TASK_CLASSIFY, .output_size = 5, .pooling = POOL_LAST},
        {.cell = CELL_GRU, .input_size = 2, .hidden_size = 5, .num_layers = 1, .bidirectional = 1,
         .task = TASK_REGRESS, .output_size = 3, .per_step = 1},
    };
    for (int i = 0; i < 2; i++) {
        const char *p = at(state, i ? "reg.h5" : "cls.h5");
        checkpoint_in in;
        recur_err err = {0};
        if (checkpoint_load(p, &in, &err)) fail_msg("load: %s", err.msg);
        assert_same_config(&want[i], &in.m.cfg);
        /* tensor k (in the file's order, which is PyTorch's and recur's) holds (k*1000 + j) / 7 */
        for (int k = 0; k < in.m.num_tensors; k++) {
            const tensor_info *t = &in.m.tensors[k];
            for (size_t j = 0; j < t->count; j++)
                assert_true(in.m.params[t->offset + j] == (float)(k * 1000 + (int)j) / 7.0f);
        }
        checkpoint_in_free(&in);
    }
}

/* Each case's file made from `good`, then: checkpoint_load fails with one
 * message naming the file and the needles, exit code 3; verify's first
 * violation is that message; checkpoint_read_config (what inspect --diff
 * reads) says the same when the attributes are at fault.  With `cli`, also
 * `recur inspect FILE` (exit 3, the first needle) and `recur inspect --verify
 * FILE` (exit 1, the message). */
static void check_bad_checkpoints(void **state, const char *good, const bad_case *cases, size_t n, int cli) {
    make_bad(state, good, cases, n);
    for (size_t i = 0; i < n; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s", at(state, cases[i].file));
        checkpoint_in in;
        recur_err err = {0};
        int rc = checkpoint_load(p, &in, &err);
        check_bad(p, rc, &err, cases[i].needles);
        assert_null(in.m.params);
        same_first_violation(p, &err);
        /* the architecture alone (inspect --diff reads it) is judged the same way */
        model_config c;
        recur_err cerr = {0};
        if (checkpoint_read_config(p, &c, &cerr) == 0) {
            /* only the tensors or optional parts are wrong (a pair vocabulary's
             * reader names the dataset as io/pairdata.c does: "<file>: /src_vocab: ...") */
            char vocab_field[4300];
            snprintf(vocab_field, sizeof vocab_field, "%s: /", p);
            assert_true(strstr(err.msg, "dataset '") != NULL || strstr(err.msg, "bytes of weights") != NULL ||
                        strncmp(err.msg, vocab_field, strlen(vocab_field)) == 0);
        } else assert_string_equal(cerr.msg, err.msg);
        if (!cli) continue;
        char out[8192];
        rc = tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p);
        if (rc != RECUR_EXIT_INPUT || !strstr(out, cases[i].needles[0]))
            fail_msg("recur inspect %s: exit %d (want 3), output: %s", p, rc, out);
        rc = tu_run(out, sizeof out, "'%s' inspect --verify '%s'", tu_recur(), p);
        if (rc != 1 || !strstr(out, err.msg)) fail_msg("recur inspect --verify %s: exit %d (want 1), output: %s", p, rc, out);
    }
}

/* Every way the new attributes can be wrong or contradict each other or the
 * tensors: one message naming the file and the attribute (or dataset), exit
 * code 3, verify's first violation the same. */
static void test_checkpoint_bad_seq_attrs(void **state) {
    char cls[4200], lm[4200], reg[4200];
    snprintf(cls, sizeof cls, "%s", at(state, "cls.h5"));
    snprintf(lm, sizeof lm, "%s", at(state, "lm.h5"));
    snprintf(reg, sizeof reg, "%s", at(state, "reg.h5"));
    const model_config *configs[3] = {&SEQ_CONFIGS[0], NULL, &SEQ_CONFIGS[2]};
    model_config lmc = {.cell = CELL_LSTM, .vocab_size = 11, .embed_size = 5, .hidden_size = 7, .num_layers = 2};
    configs[1] = &lmc;
    const char *goods[3] = {cls, lm, reg};
    for (int g = 0; g < 3; g++) {
        model m;
        recur_err err = {0};
        assert_int_equal(model_create(&m, configs[g], &err), 0);
        model_init_random(&m, 3);
        checkpoint_out out = {.m = &m};
        save_ok(goods[g], &out);
        model_free(&m);
    }
    /* cls: lstm, F 6, H 7, L 2, bidirectional concat, classify C 4, mean pooling (G*H = 28, head [4, 14]) */
    static const bad_case cls_cases[] = {
        {"c_no_classes.h5", "delattr", "/|num_classes", {"attribute 'num_classes'", "(task classify)", "found nothing (missing)"}},
        {"c_classes0.h5", "setattr", "/|num_classes|0", {"attribute 'num_classes'", "[1, 2147483647]", "found 0"}},
        {"c_classes_head.h5", "setattr", "/|num_classes|5", {"dataset '/model/head/weight'", "expected float32 [5, 14], found float32 [4, 14]"}},
        {"c_bidir2.h5", "setattr", "/|bidirectional|2", {"attribute 'bidirectional'", "expected an integer in [0, 1], found 2"}},
        {"c_bidir_str.h5", "setattr", "/|bidirectional|'yes'", {"attribute 'bidirectional'", "integer", "string"}},
        {"c_task.h5", "setattr", "/|task|'translate'", {"attribute 'task'", "one of lm, classify, tag, regress", "\"translate\""}},
        {"c_task_int.h5", "setattr", "/|task|1", {"attribute 'task'", "one of lm, classify, tag, regress", "int64"}},
        {"c_pooling.h5", "setattr", "/|pooling|'median'", {"attribute 'pooling'", "one of last, mean, max", "\"median\""}},
        {"c_merge.h5", "setattr", "/|merge|'avg'", {"attribute 'merge'", "one of concat, sum", "\"avg\""}},
        {"c_input_neg.h5", "setattr", "/|input_size|-1", {"attribute 'input_size'", "[0, 2147483647]", "found -1"}},
        {"c_input_big.h5", "setattr", "/|input_size|70000", {"input_size", "65536", "70000"}},
        {"c_vocab.h5", "setattr", "/|vocab_size|11", {"attribute 'vocab_size'", "expected 0 or nothing (input_size 6: feature inputs have no embedding), found 11"}},
        {"c_embed.h5", "setattr", "/|embed_size|5", {"attribute 'embed_size'", "0 or nothing", "found 5"}},
        {"c_embedding.h5", "exec", "f['model/embedding/weight'] = np.zeros((11, 5), 'f4')", {"dataset '/model/embedding/weight'", "expected nothing (input_size 6: feature inputs have no embedding), found one"}},
        {"c_vocab_ds.h5", "exec", "f['vocab'] = np.zeros(11, 'u1')", {"dataset '/vocab'", "expected nothing (feature inputs have no vocabulary)"}},
        {"c_no_input.h5", "delattr", "/|input_size", {"attribute 'vocab_size'", "expected an integer in [1, 2147483647] (token inputs; a feature model gives input_size instead), found 0"}},
        {"c_output_size.h5", "setattr", "/|output_size|4", {"attribute 'output_size'", "expected nothing (task classify gives num_classes), found 4"}},
        {"c_per_step.h5", "setattr", "/|per_step|1", {"attribute 'per_step'", "expected 0 or nothing (task classify: one label per sequence), found 1"}},
        {"c_one_dir.h5", "exec", "f.attrs['bidirectional'] = 0; del f.attrs['merge']", {"dataset '/model/rnn/weight_ih_l0_reverse'", "expected nothing (one direction: bidirectional is 0 or absent), found one"}},
        {"c_merge_one_dir.h5", "setattr", "/|bidirectional|0", {"attribute 'merge'", "expected nothing (one direction: bidirectional is 0 or absent), found \"concat\""}},
        {"c_no_reverse.h5", "del", "model/rnn/bias_hh_l1_reverse", {"dataset '/model/rnn/bias_hh_l1_reverse'", "float32 [28]", "missing"}},
        {"c_reverse_shape.h5", "replace", "model/rnn/weight_ih_l1_reverse|np.zeros((28, 7), 'f4')", {"dataset '/model/rnn/weight_ih_l1_reverse'", "expected float32 [28, 14], found float32 [28, 7]"}},
        {"c_huge.h5", "exec", "f.attrs['input_size'] = 65536; f.attrs['hidden_size'] = 65536", {"attributes 'input_size' (65536), 'hidden_size' (65536), 'num_layers' (2), 'bidirectional' (1), 'num_classes' (4)", "bytes of weights"}},
    };
    /* lm: lstm, V 11, E 5, H 7, L 2 */
    static const bad_case lm_cases[] = {
        {"l_bidir.h5", "setattr", "/|bidirectional|1", {"attribute 'bidirectional'", "expected 0 or nothing (task lm: a language model reads left to right), found 1"}},
        {"l_input.h5", "setattr", "/|input_size|3", {"attribute 'input_size'", "expected 0 or nothing (task lm: a language model reads tokens), found 3"}},
        {"l_classes.h5", "setattr", "/|num_classes|3", {"attribute 'num_classes'", "expected nothing (task lm: the outputs are the vocabulary), found 3"}},
        {"l_pooling.h5", "setattr", "/|pooling|'last'", {"attribute 'pooling'", "expected nothing (task lm: a prediction per step, nothing is pooled), found \"last\""}},
        {"l_per_step.h5", "setattr", "/|per_step|0", {"attribute 'per_step'", "1 or nothing", "found 0"}},
        {"l_tag.h5", "setattr", "/|task|'tag'", {"attribute 'num_classes'", "(task tag)", "missing"}},
    };
    /* reg: rnn_tanh, F 3, H 5, L 2, regress K 2 per sequence, max pooling */
    static const bad_case reg_cases[] = {
        {"r_per_step_pool.h5", "setattr", "/|per_step|1", {"attribute 'pooling'", "expected nothing (per_step 1: a per-step head pools nothing), found \"max\""}},
        {"r_per_step3.h5", "setattr", "/|per_step|3", {"attribute 'per_step'", "[0, 1]", "found 3"}},
        {"r_classes.h5", "setattr", "/|num_classes|2", {"attribute 'num_classes'", "expected nothing (task regress gives output_size), found 2"}},
        {"r_no_outputs.h5", "delattr", "/|output_size", {"attribute 'output_size'", "(task regress)", "missing"}},
        {"r_outputs_float.h5", "setattr", "/|output_size|2.0", {"attribute 'output_size'", "integer", "float64"}},
    };
    const struct {
        const char *good;
        const bad_case *cases;
        size_t n;
    } groups[] = {{cls, cls_cases, sizeof cls_cases / sizeof cls_cases[0]},
                  {lm, lm_cases, sizeof lm_cases / sizeof lm_cases[0]},
                  {reg, reg_cases, sizeof reg_cases / sizeof reg_cases[0]}};
    for (size_t g = 0; g < 3; g++) check_bad_checkpoints(state, groups[g].good, groups[g].cases, groups[g].n, 0);
}

static void append_msg(void *ctx, const char *msg) {
    char *all = ctx;
    size_t n = strlen(all);
    snprintf(all + n, 4096 - n, "%s\n", msg);
}

/* Verify reports every violation among the new attributes and goes on: two
 * bad attributes are two violations; attributes that depend on a bad one
 * are not judged (no cascade of consequences); an attribute that does not
 * apply leaves the model known, so its tensors are still checked (three.h5:
 * a vocab_size, an embedding, and a head of 4 classes under num_classes 5). */
static void test_checkpoint_verify_seq(void **state) {
    char cls[4200];
    snprintf(cls, sizeof cls, "%s", at(state, "cls.h5"));
    model m;
    recur_err err = {0};
    assert_int_equal(model_create(&m, &SEQ_CONFIGS[0], &err), 0);
    model_init_random(&m, 5);
    checkpoint_out out = {.m = &m};
    save_ok(cls, &out);
    model_free(&m);
    static char spec[32768];
    snprintf(spec, sizeof spec,
             "%s|%s|exec|f.attrs['bidirectional'] = 2; f.attrs['pooling'] = 'median'\n"
             "%s|%s|exec|f.attrs['task'] = 'translate'; f.attrs['hidden_size'] = 0\n"
             "%s|%s|exec|f.attrs['num_classes'] = 5; f.attrs['vocab_size'] = 3; f['model/embedding/weight'] = np.zeros((3, 1), 'f4')\n",
             at(state, "two.h5"), cls, at(state, "task.h5"), cls, at(state, "three.h5"), cls);
    run_edits(state, spec);
    const struct {
        const char *file;
        int n;
        const char *msgs[3];
    } cases[] = {
        {"two.h5", 2, {"attribute 'bidirectional': expected an integer in [0, 1], found 2", "attribute 'pooling': expected one of last, mean, max, found \"median\""}},
        {"task.h5", 2, {"attribute 'task'", "attribute 'hidden_size'"}},
        {"three.h5", 4, {"attribute 'vocab_size': expected 0 or nothing", "dataset '/model/embedding/weight': expected nothing", "dataset '/model/head/weight': expected float32 [5, 14], found float32 [4, 14]"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char all[4096] = "";
        int n = 0;
        const char *p = at(state, cases[i].file);
        assert_int_equal(checkpoint_verify(p, append_msg, all, &n, &err), 0);
        if (n != cases[i].n) fail_msg("%s: %d violations, expected %d:\n%s", p, n, cases[i].n, all);
        for (int k = 0; k < 3 && cases[i].msgs[k]; k++)
            if (!strstr(all, cases[i].msgs[k])) fail_msg("%s: no '%s' in:\n%s", p, cases[i].msgs[k], all);
    }
}

/* ---- seq2seq checkpoints ---------------------------------------------------- */

/* Source 9 symbols, target 7 (E 4, H 5): every attention, context and end,
 * both directions, every cell. */
static const model_config S2S_CONFIGS[] = {
    {.cell = CELL_LSTM, .vocab_size = 7, .embed_size = 4, .hidden_size = 5, .num_layers = 2, .task = TASK_SEQ2SEQ,
     .src_vocab_size = 9, .bidirectional = 1, .attention = ATTN_ADDITIVE, .context = CONTEXT_BOTH, .end = END_EOS},
    {.cell = CELL_GRU, .vocab_size = 7, .embed_size = 4, .hidden_size = 5, .num_layers = 2, .task = TASK_SEQ2SEQ,
     .src_vocab_size = 9, .bidirectional = 1, .merge = MERGE_SUM, .attention = ATTN_DOT, .context = CONTEXT_INIT,
     .end = END_STOP_BIT},
    {.cell = CELL_LBR_GRU, .vocab_size = 7, .embed_size = 4, .hidden_size = 5, .num_layers = 1, .task = TASK_SEQ2SEQ,
     .src_vocab_size = 9, .attention = ATTN_GENERAL, .context = CONTEXT_INPUT, .end = END_LENGTH, .max_len = 6},
    {.cell = CELL_RNN_TANH, .vocab_size = 7, .embed_size = 4, .hidden_size = 5, .num_layers = 2, .task = TASK_SEQ2SEQ,
     .src_vocab_size = 9, .bidirectional = 1, .attention = ATTN_NONE, .context = CONTEXT_INIT, .end = END_LENGTH,
     .max_len = 3},
    {.cell = CELL_RNN_RELU, .vocab_size = 7, .embed_size = 4, .hidden_size = 5, .num_layers = 1, .task = TASK_SEQ2SEQ,
     .src_vocab_size = 9, .attention = ATTN_DOT, .context = CONTEXT_BOTH, .end = END_EOS},
    {.cell = CELL_LSTM, .vocab_size = 7, .embed_size = 4, .hidden_size = 5, .num_layers = 1, .task = TASK_SEQ2SEQ,
     .src_vocab_size = 9, .attention = ATTN_NONE, .context = CONTEXT_INPUT, .end = END_STOP_BIT},
};

/* The two kinds of vocabulary, as a pair dataset holds them. */
static char *const SRC_WORDS[9] = {"the", "cat", "sat", "on", "a", "mat", "\xc3\xbc", "na\xc3\xafve", "\xe6\x97\xa5"};
static char *const TGT_WORDS[7] = {"le", "chat", "est", "assis", "sur", "tapis", "\xc3\x9f"};
static const pair_vocab SRC_CHARS_V = {.size = 9, .chars = (uint8_t *)"abcdefghi"};
static const pair_vocab TGT_CHARS_V = {.size = 7, .chars = (uint8_t *)"AEIOU.\n"};
static const pair_vocab SRC_WORDS_V = {.size = 9, .words = (char **)SRC_WORDS};
static const pair_vocab TGT_WORDS_V = {.size = 7, .words = (char **)TGT_WORDS};

static void assert_same_vocab(const pair_vocab *want, const pair_vocab *got) {
    assert_int_equal(got->size, want->size);
    assert_true((got->chars != NULL) == (want->chars != NULL));
    assert_true((got->words != NULL) == (want->words != NULL));
    if (want->chars) assert_memory_equal(got->chars, want->chars, (size_t)want->size);
    for (int i = 0; want->words && i < want->size; i++) assert_string_equal(got->words[i], want->words[i]);
    assert_true((got->slot != NULL) == (want->words != NULL)); /* words come with their lookup table */
}

/* A seq2seq model with every optional part; `words` picks the vocabularies. */
typedef struct {
    model m;
    optimizer opt;
    checkpoint_out out;
} s2s_saved;

static void make_s2s(s2s_saved *s, const model_config *cfg, int words, uint64_t seed) {
    recur_err err = {0};
    if (model_create(&s->m, cfg, &err)) fail_msg("model_create: %s", err.msg);
    model_init_random(&s->m, seed);
    optim_config oc;
    optim_config_defaults(&oc, OPTIM_ADAM);
    assert_int_equal(optim_create(&s->opt, &oc, s->m.num_params, &err), 0);
    s->opt.step = 5;
    for (size_t i = 0; i < s->opt.state_len; i++) s->opt.state[i] = (float)i * 0.125f;
    s->out = (checkpoint_out){.m = &s->m, .src_vocab = words ? &SRC_WORDS_V : &SRC_CHARS_V,
                              .tgt_vocab = words ? &TGT_WORDS_V : &TGT_CHARS_V, .opt = &s->opt, .step = 40,
                              .epoch = 2, .tokens_seen = 999, .config_text = "task = seq2seq\n"};
}

static void free_s2s(s2s_saved *s) {
    model_free(&s->m);
    optim_free(&s->opt);
}

static void assert_same_file(const char *a, const char *b) {
    size_t la = 0, lb = 0;
    char *x = tu_slurp(a, &la), *y = tu_slurp(b, &lb);
    assert_non_null(x);
    assert_non_null(y);
    if (la != lb || memcmp(x, y, la) != 0) fail_msg("%s (%zu bytes) and %s (%zu bytes) differ", a, la, b, lb);
    free(x);
    free(y);
}

/* Every config with both kinds of vocabulary: the same config, tensors, bits,
 * optimizer and vocabularies after a load; the documented root attributes;
 * read_config and verify agree; writing what was loaded gives the same
 * bytes; the loaded vocabularies encode and decode. */
static void test_checkpoint_s2s_roundtrip(void **state) {
    char p[4200], again[4200];
    snprintf(p, sizeof p, "%s", at(state, "s2s.h5"));
    snprintf(again, sizeof again, "%s", at(state, "again.h5"));
    for (size_t k = 0; k < sizeof S2S_CONFIGS / sizeof S2S_CONFIGS[0]; k++)
        for (int words = 0; words < 2; words++) {
            const model_config *cfg = &S2S_CONFIGS[k];
            s2s_saved s;
            make_s2s(&s, cfg, words, 11 + k);
            save_ok(p, &s.out);
            checkpoint_in in;
            recur_err err = {0};
            if (checkpoint_load(p, &in, &err)) fail_msg("config %zu: load: %s", k, err.msg);
            assert_same_model(&s.m, &in.m);
            assert_null(in.vocab);
            assert_same_vocab(s.out.src_vocab, &in.src_vocab);
            assert_same_vocab(s.out.tgt_vocab, &in.tgt_vocab);
            assert_true(in.has_optimizer);
            assert_int_equal(in.opt.step, 5);
            assert_memory_equal(in.opt.state, s.opt.state, s.opt.state_len * sizeof(float));
            assert_int_equal(in.step, 40);
            assert_string_equal(in.config_text, "task = seq2seq\n");
            model_config rc;
            if (checkpoint_read_config(p, &rc, &err)) fail_msg("read_config: %s", err.msg);
            assert_same_config(cfg, &rc);
            int n = -1;
            assert_int_equal(checkpoint_verify(p, NULL, NULL, &n, &err), 0);
            assert_int_equal(n, 0);
            attrs_are(p, cfg);
            /* what was loaded, written again: the same bytes */
            checkpoint_out back = {.m = &in.m, .src_vocab = &in.src_vocab, .tgt_vocab = &in.tgt_vocab,
                                   .opt = &in.opt, .step = in.step, .epoch = in.epoch,
                                   .tokens_seen = in.tokens_seen, .config_text = in.config_text};
            save_ok(again, &back);
            assert_same_file(p, again);
            /* the symbols generation reads and writes */
            const char *text = words ? "the cat sat on a mat" : "fig";
            int32_t *ids;
            size_t nid;
            if (pair_vocab_encode(&in.src_vocab, text, strlen(text), "text", &ids, &nid, &err))
                fail_msg("encode: %s", err.msg);
            char buf[64];
            pair_vocab_decode(&in.src_vocab, ids, nid, buf, sizeof buf);
            assert_string_equal(buf, text);
            free(ids);
            checkpoint_in_free(&in);
            free_s2s(&s);
        }
    /* Without vocabularies: loads, both zeroed (generation then needs the dataset). */
    s2s_saved s;
    make_s2s(&s, &S2S_CONFIGS[1], 0, 3);
    s.out.src_vocab = s.out.tgt_vocab = NULL;
    save_ok(p, &s.out);
    checkpoint_in in;
    recur_err err = {0};
    if (checkpoint_load(p, &in, &err)) fail_msg("load: %s", err.msg);
    assert_same_model(&s.m, &in.m);
    assert_int_equal(in.src_vocab.size, 0);
    assert_null(in.src_vocab.chars);
    assert_null(in.tgt_vocab.words);
    assert_int_equal(in.tgt_vocab.size, 0);
    checkpoint_in_free(&in);
    free_s2s(&s);
}

/* A seq2seq model as a PyTorch exporter would write it with h5py: attention,
 * context and end left out (none, init, eos), word vocabularies as h5py's
 * variable-length strings. */
static const char H5PY_S2S_CKPT[] =
    "import itertools\n"
    "Vs, V, E, H, G = 5, 4, 3, 2, 3\n"
    "with h5py.File(out, 'w') as f:\n"
    "  a = f.attrs\n"
    "  a['format'] = 'recur-checkpoint'; a['version'] = 1; a['cell'] = 'gru'; a['task'] = 'seq2seq'\n"
    "  a['src_vocab_size'] = Vs; a['vocab_size'] = V; a['embed_size'] = E; a['hidden_size'] = H\n"
    "  a['num_layers'] = 1\n"
    "  k = itertools.count()\n"
    "  def t(*shape):\n"
    "    n = int(np.prod(shape)); s = next(k) * 1000\n"
    "    return (np.arange(s, s + n, dtype='f4') / 7).reshape(shape)\n"
    "  for side, rows in (('encoder', Vs), ('decoder', V + 1)):\n"
    "    f[f'model/{side}/embedding/weight'] = t(rows, E)\n"
    "    f[f'model/{side}/rnn/weight_ih_l0'] = t(G * H, E)\n"
    "    f[f'model/{side}/rnn/weight_hh_l0'] = t(G * H, H)\n"
    "    f[f'model/{side}/rnn/bias_ih_l0'] = t(G * H)\n"
    "    f[f'model/{side}/rnn/bias_hh_l0'] = t(G * H)\n"
    "  f['model/decoder/out/weight'] = t(V + 1, H)\n"
    "  f['model/decoder/out/bias'] = t(V + 1)\n"
    "  f.create_dataset('src_vocab', data=['k', 'ae', 't', 's', 'ng'], dtype=h5py.string_dtype())\n"
    "  f['tgt_vocab'] = np.frombuffer(b'kats', 'u1')\n";

static void test_checkpoint_s2s_h5py(void **state) {
    const char *p = at(state, "torch_s2s.h5");
    const char *py = at(state, "s2s_body.py");
    write_file(py, H5PY_S2S_CKPT, strlen(H5PY_S2S_CKPT));
    char spec[9000];
    snprintf(spec, sizeof spec, "%s|-|exec|out = f.filename; f.close(); exec(open('%s').read())\n", p, py);
    run_edits(state, spec);
    checkpoint_in in;
    recur_err err = {0};
    if (checkpoint_load(p, &in, &err)) fail_msg("load: %s", err.msg);
    const model_config want = {.cell = CELL_GRU, .vocab_size = 4, .embed_size = 3, .hidden_size = 2,
                               .num_layers = 1, .task = TASK_SEQ2SEQ, .src_vocab_size = 5,
                               .attention = ATTN_NONE, .context = CONTEXT_INIT, .end = END_EOS};
    assert_same_config(&want, &in.m.cfg);
    /* tensor k (in the file's order of creation, which is model_create's) holds (k*1000 + j) / 7 */
    for (int k = 0; k < in.m.num_tensors; k++) {
        const tensor_info *t = &in.m.tensors[k];
        for (size_t j = 0; j < t->count; j++)
            assert_true(in.m.params[t->offset + j] == (float)(k * 1000 + (int)j) / 7.0f);
    }
    char *src[5] = {"k", "ae", "t", "s", "ng"};
    const pair_vocab sv = {.size = 5, .words = src}, tv = {.size = 4, .chars = (uint8_t *)"kats"};
    assert_same_vocab(&sv, &in.src_vocab);
    assert_same_vocab(&tv, &in.tgt_vocab);
    checkpoint_in_free(&in);
}

/* Damaged seq2seq checkpoints (h5py edits of good ones): each wrong,
 * missing, extra or contradictory attribute, missing or misshapen or extra
 * tensor, and vocabulary that does not fit is one message naming it, exit 3,
 * through the library and through recur inspect (and --verify). */
static void test_checkpoint_s2s_bad_files(void **state) {
    char chars[4200], words[4200], lm[4200];
    snprintf(chars, sizeof chars, "%s", at(state, "s2s_chars.h5"));
    snprintf(words, sizeof words, "%s", at(state, "s2s_words.h5"));
    snprintf(lm, sizeof lm, "%s", at(state, "lm.h5"));
    s2s_saved s;
    make_s2s(&s, &S2S_CONFIGS[0], 0, 1);
    save_ok(chars, &s.out);
    free_s2s(&s);
    make_s2s(&s, &S2S_CONFIGS[2], 1, 2);
    save_ok(words, &s.out);
    free_s2s(&s);
    saved l;
    make_saved(&l, CELL_LSTM, OPTIM_SGD, 0.0f, 0);
    save_ok(lm, &l.out);
    free_saved(&l);
    /* chars: lstm, Vs 9, V 7, E 4, H 5, L 2, bidirectional concat, additive, both, eos (G*H = 20, De = 10) */
    static const bad_case chars_cases[] = {
        {"s_no_src.h5", "delattr", "/|src_vocab_size", {"attribute 'src_vocab_size'", "(task seq2seq: the source vocabulary)", "found nothing (missing)"}},
        {"s_src0.h5", "setattr", "/|src_vocab_size|0", {"attribute 'src_vocab_size'", "[1, 2147483647]", "found 0"}},
        {"s_src_str.h5", "setattr", "/|src_vocab_size|'9'", {"attribute 'src_vocab_size'", "integer", "string"}},
        {"s_src_shape.h5", "setattr", "/|src_vocab_size|10", {"dataset '/model/encoder/embedding/weight'", "expected float32 [10, 4], found float32 [9, 4]"}},
        {"s_no_vocab_size.h5", "delattr", "/|vocab_size", {"attribute 'vocab_size'", "(task seq2seq: the target vocabulary)", "missing"}},
        {"s_attention.h5", "setattr", "/|attention|'luong'", {"attribute 'attention'", "one of none, dot, general, additive", "\"luong\""}},
        {"s_attention_int.h5", "setattr", "/|attention|1", {"attribute 'attention'", "one of none, dot, general, additive", "int64"}},
        {"s_context.h5", "setattr", "/|context|'all'", {"attribute 'context'", "one of init, input, both", "\"all\""}},
        {"s_end.h5", "setattr", "/|end|'never'", {"attribute 'end'", "one of eos, stop-bit, length", "\"never\""}},
        {"s_max_len.h5", "setattr", "/|max_len|5", {"attribute 'max_len'", "expected nothing (end eos: only a length head has max_len), found 5"}},
        {"s_end_length.h5", "setattr", "/|end|'length'", {"attribute 'max_len'", "(end length: the length head's classes are 1..max_len)", "found nothing (missing)"}},
        {"s_max_len_big.h5", "exec", "f.attrs['end'] = 'length'; f.attrs['max_len'] = 70000", {"max_len", "65536", "found 70000"}},
        {"s_dot_concat.h5", "setattr", "/|attention|'dot'", {"attribute 'attention'", "expected none, general or additive (bidirectional 1, merge concat", "found \"dot\""}},
        {"s_general.h5", "setattr", "/|attention|'general'", {"dataset '/model/attention/key_weight'", "expected nothing (attention general), found one"}},
        {"s_none.h5", "setattr", "/|attention|'none'", {"dataset '/model/attention/combine_weight'", "expected nothing (attention none), found one"}},
        {"s_input.h5", "setattr", "/|context|'input'", {"dataset '/model/bridge/", "expected nothing (context input: the decoder starts from zero states), found one"}},
        {"s_one_dir.h5", "exec", "f.attrs['bidirectional'] = 0; del f.attrs['merge']", {"dataset '/model/bridge/", "expected nothing (one direction: the encoder's final states start the decoder as they are)"}},
        {"s_layers.h5", "setattr", "/|num_layers|1", {"dataset '/model/bridge/bias_c_l1'", "expected nothing (cell lstm, num_layers 1), found one"}},
        {"s_task_lm.h5", "setattr", "/|task|'lm'", {"attribute 'bidirectional'", "(task lm: a language model reads left to right)"}},
        {"s_task_tag.h5", "setattr", "/|task|'tag'", {"attribute 'num_classes'", "(task tag)", "missing"}},
        {"s_classes.h5", "setattr", "/|num_classes|3", {"attribute 'num_classes'", "expected nothing (task seq2seq: the outputs are the target vocabulary), found 3"}},
        {"s_per_step.h5", "setattr", "/|per_step|1", {"attribute 'per_step'", "expected nothing (task seq2seq: the decoder predicts a token per step until the end), found 1"}},
        {"s_pooling.h5", "setattr", "/|pooling|'last'", {"attribute 'pooling'", "expected nothing (task seq2seq: a prediction per step, nothing is pooled)"}},
        {"s_input_size.h5", "setattr", "/|input_size|3", {"attribute 'input_size'", "expected 0 or nothing (task seq2seq: the encoder reads tokens of src_vocab_size), found 3"}},
        {"s_no_out_bias.h5", "del", "model/decoder/out/bias", {"dataset '/model/decoder/out/bias'", "float32 [8]", "missing"}},
        {"s_v_shape.h5", "replace", "model/attention/v|np.zeros(4, 'f4')", {"dataset '/model/attention/v'", "expected float32 [5], found float32 [4]"}},
        {"s_dec_ih.h5", "replace", "model/decoder/rnn/weight_ih_l0|np.zeros((20, 9), 'f4')", {"dataset '/model/decoder/rnn/weight_ih_l0'", "expected float32 [20, 19], found float32 [20, 9]"}},
        {"s_stop.h5", "exec", "f['model/stop/weight'] = np.zeros((1, 5), 'f4')", {"dataset '/model/stop/weight'", "expected nothing (end eos: only end stop-bit has a stop head), found one"}},
        {"s_lm_head.h5", "exec", "f['model/head/weight'] = np.zeros((7, 5), 'f4')", {"dataset '/model/head/weight'", "expected nothing (task seq2seq: the tensors are under encoder/"}},
        {"s_src_vocab8.h5", "replace", "src_vocab|np.frombuffer(b'abcdefgh', 'u1')", {"dataset '/src_vocab'", "expected 9 entries (attribute 'src_vocab_size'), found 8"}},
        {"s_no_tgt_vocab.h5", "del", "tgt_vocab", {"dataset '/tgt_vocab'", "(stored with /src_vocab)", "found nothing (missing)"}},
        {"s_vocab.h5", "exec", "f['vocab'] = np.zeros(7, 'u1')", {"dataset '/vocab'", "expected nothing (task seq2seq: its vocabularies are /src_vocab and /tgt_vocab)"}},
        {"s_vocab_float.h5", "replace", "src_vocab|np.zeros(9, 'f4')", {"/src_vocab", "uint8 [V]", "float"}},
        {"s_huge.h5", "setattr", "/|src_vocab_size|16000000", {"attributes 'src_vocab_size' (16000000), 'vocab_size' (7), 'embed_size' (4), 'hidden_size' (5), 'num_layers' (2), 'bidirectional' (1)", "bytes of weights"}},
    };
    /* words: lbr_gru, Vs 9, V 7, E 4, H 5, L 1, one direction, general, input, length 6 (G*H = 15) */
    static const bad_case words_cases[] = {
        {"w_no_max_len.h5", "delattr", "/|max_len", {"attribute 'max_len'", "(end length: the length head's classes are 1..max_len)", "found nothing (missing)"}},
        {"w_max_len.h5", "setattr", "/|max_len|7", {"dataset '/model/length/weight'", "expected float32 [7, 5], found float32 [6, 5]"}},
        {"w_end_eos.h5", "setattr", "/|end|'eos'", {"attribute 'max_len'", "expected nothing (end eos: only a length head has max_len), found 6"}},
        {"w_end_stop.h5", "exec", "f.attrs['end'] = 'stop-bit'; del f.attrs['max_len']", {"dataset '/model/length/bias'", "expected nothing (end stop-bit: only end length has a length head), found one"}},
        {"w_init.h5", "setattr", "/|context|'init'", {"dataset '/model/decoder/rnn/weight_ih_l0'", "expected float32 [15, 9], found float32 [15, 14]"}},
        {"w_bidir.h5", "setattr", "/|bidirectional|1", {"dataset '/model/encoder/rnn/weight_ih_l0_reverse'", "found nothing (missing)"}},
        {"w_tgt6.h5", "exec", "del f['tgt_vocab']; f.create_dataset('tgt_vocab', data=['a', 'b', 'c', 'd', 'e', 'f'], dtype=h5py.string_dtype())", {"dataset '/tgt_vocab'", "expected 7 entries (attribute 'vocab_size'), found 6"}},
        {"w_no_src_vocab.h5", "del", "src_vocab", {"dataset '/src_vocab'", "(stored with /tgt_vocab)", "missing"}},
    };
    /* lm: lstm, V 11, E 5, H 7, L 2 */
    static const bad_case lm_cases[] = {
        {"l_src_vocab_size.h5", "setattr", "/|src_vocab_size|9", {"attribute 'src_vocab_size'", "expected nothing (task lm: src_vocab_size is a seq2seq model's), found 9"}},
        {"l_attention.h5", "setattr", "/|attention|'dot'", {"attribute 'attention'", "expected nothing (task lm: attention is a seq2seq model's), found \"dot\""}},
        {"l_end.h5", "setattr", "/|end|'eos'", {"attribute 'end'", "expected nothing (task lm: end is a seq2seq model's)"}},
        {"l_max_len.h5", "setattr", "/|max_len|4", {"attribute 'max_len'", "expected nothing (task lm: max_len is a seq2seq model's), found 4"}},
        {"l_src_vocab.h5", "exec", "f['src_vocab'] = np.zeros(3, 'u1')", {"dataset '/src_vocab'", "expected nothing (task lm: one vocabulary, /vocab), found one"}},
        {"l_tgt_vocab.h5", "exec", "f['tgt_vocab'] = np.zeros(3, 'u1')", {"dataset '/tgt_vocab'", "expected nothing (task lm"}},
    };
    check_bad_checkpoints(state, chars, chars_cases, sizeof chars_cases / sizeof chars_cases[0], 1);
    check_bad_checkpoints(state, words, words_cases, sizeof words_cases / sizeof words_cases[0], 1);
    check_bad_checkpoints(state, lm, lm_cases, sizeof lm_cases / sizeof lm_cases[0], 1);
}

/* Verify goes on past a bad seq2seq attribute, and reports every extra
 * tensor and a vocabulary of the wrong size. */
static void test_checkpoint_s2s_verify(void **state) {
    char good[4200];
    snprintf(good, sizeof good, "%s", at(state, "s2s.h5"));
    s2s_saved s;
    make_s2s(&s, &S2S_CONFIGS[0], 1, 4);
    save_ok(good, &s.out);
    free_s2s(&s);
    static char spec[16384];
    snprintf(spec, sizeof spec,
             "%s|%s|exec|f.attrs['attention'] = 'luong'; f.attrs['end'] = 'never'\n"
             "%s|%s|exec|f['model/stop/weight'] = np.zeros((1, 5), 'f4'); f['model/length/bias'] = np.zeros(3, 'f4'); "
             "del f['src_vocab']; f.create_dataset('src_vocab', data=['x'], dtype=h5py.string_dtype())\n",
             at(state, "two.h5"), good, at(state, "three.h5"), good);
    run_edits(state, spec);
    const struct {
        const char *file;
        int n;
        const char *msgs[3];
    } cases[] = {
        {"two.h5", 2, {"attribute 'attention': expected one of none, dot, general, additive, found \"luong\"", "attribute 'end': expected one of eos, stop-bit, length, found \"never\""}},
        {"three.h5", 3, {"dataset '/model/length/bias': expected nothing (end eos", "dataset '/model/stop/weight': expected nothing (end eos", "dataset '/src_vocab': expected 9 entries (attribute 'src_vocab_size'), found 1"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char all[4096] = "";
        int n = 0;
        recur_err err = {0};
        const char *p = at(state, cases[i].file);
        assert_int_equal(checkpoint_verify(p, append_msg, all, &n, &err), 0);
        if (n != cases[i].n) fail_msg("%s: %d violations, expected %d:\n%s", p, n, cases[i].n, all);
        for (int k = 0; k < 3 && cases[i].msgs[k]; k++)
            if (!strstr(all, cases[i].msgs[k])) fail_msg("%s: no '%s' in:\n%s", p, cases[i].msgs[k], all);
    }
}

/* The writer refuses vocabularies that do not fit the model before anything
 * is written (RECUR_EXIT_FAIL, nothing in the directory). */
static void test_checkpoint_s2s_writer_refusals(void **state) {
    s2s_saved s;
    make_s2s(&s, &S2S_CONFIGS[0], 0, 1);
    saved l;
    make_saved(&l, CELL_GRU, OPTIM_ADAM, 0.0f, 0);
    char *bad_word[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "\xff"};
    const pair_vocab eight = {.size = 8, .chars = (uint8_t *)"abcdefgh"}, neither = {.size = 9};
    const pair_vocab bad_utf8 = {.size = 9, .words = bad_word};
    uint8_t bytes[7] = "abcdefg";
    struct {
        checkpoint_out out;
        const char *needle;
    } cases[] = {
        {s.out, "/vocab for a seq2seq model"},
        {s.out, "a source vocabulary without a target one"},
        {s.out, "a target vocabulary without a source one"},
        {s.out, "vocabularies of 8 and 7 entries for src_vocab_size 9 and vocab_size 7"},
        {s.out, "/src_vocab: expected characters or words, found neither"},
        {s.out, "/src_vocab"},
        {l.out, "source and target vocabularies for task lm"},
    };
    cases[0].out.vocab = bytes;
    cases[1].out.tgt_vocab = NULL;
    cases[2].out.src_vocab = NULL;
    cases[3].out.src_vocab = &eight;
    cases[4].out.src_vocab = &neither;
    cases[5].out.src_vocab = &bad_utf8;
    cases[6].out.src_vocab = &SRC_CHARS_V;
    cases[6].out.tgt_vocab = &TGT_CHARS_V;
    const char *p = at(state, "refused.h5");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        recur_err err = {0};
        int rc = checkpoint_save(p, &cases[i].out, &err);
        assert_fails(rc, err, RECUR_EXIT_FAIL, p, cases[i].needle);
        assert_int_equal(count_entries(((fixture *)*state)->dir), 0);
    }
    free_s2s(&s);
    free_saved(&l);
}

/* recur inspect on a seq2seq checkpoint: the summary says what the model
 * is, with both vocabularies; --json the same as fields; --diff compares
 * (tensors, and the seq2seq attributes as the architecture); --verify. */
static void test_checkpoint_s2s_inspect(void **state) {
    char a[4200], b[4200], c[4200], bare[4200];
    snprintf(a, sizeof a, "%s", at(state, "a.h5"));
    snprintf(b, sizeof b, "%s", at(state, "b.h5"));
    snprintf(c, sizeof c, "%s", at(state, "c.h5"));
    snprintf(bare, sizeof bare, "%s", at(state, "bare.h5"));
    s2s_saved s;
    make_s2s(&s, &S2S_CONFIGS[0], 1, 1);
    save_ok(a, &s.out);
    s.m.params[3] += 0.5f;
    save_ok(b, &s.out);
    s.out.src_vocab = s.out.tgt_vocab = NULL;
    save_ok(bare, &s.out);
    free_s2s(&s);
    model_config other = S2S_CONFIGS[0];
    other.attention = ATTN_GENERAL;
    other.context = CONTEXT_INIT;
    make_s2s(&s, &other, 0, 1);
    save_ok(c, &s.out);
    free_s2s(&s);
    static char out[1 << 16];
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), a), 0);
    static const char *const text[] = {
        "recur-checkpoint v1, seq2seq lstm, 2 layer(s) x 5 hidden (encoder x 2 directions), embed 4, source vocab 9, "
        "target vocab 7,",
        "task: seq2seq, target tokens given a source sequence; end eos (8 outputs: 7 tokens + EOS)",
        "encoder: source tokens, vocab 9, embed 4; directions: 2 (bidirectional, outputs concatenated: 10)",
        "decoder: target tokens, vocab 7 (+ BOS), embed 4; attention additive; context both",
        "source vocabulary: words, V = 9: the, cat, sat, on, a, mat, \xc3\xbc, na\xc3\xafve, \xe6\x97\xa5",
        "target vocabulary: words, V = 7: le, chat, est, assis, sur, tapis, \xc3\x9f",
        "/model/attention/key_weight",
    };
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (!strstr(out, text[i])) fail_msg("no '%s' in:\n%s", text[i], out);
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), bare), 0);
    if (!strstr(out, "vocabularies: absent (generation needs the pair dataset, --data)")) fail_msg("%s", out);
    /* --json: one document, checked by Python's json */
    assert_int_equal(tu_run(out, sizeof out,
                            "'%s' inspect --json '%s' | %s -c \"import json, sys\n"
                            "d = json.load(sys.stdin)\n"
                            "want = {'task': 'seq2seq', 'cell': 'lstm', 'vocab_size': 7, 'src_vocab_size': 9,\n"
                            "        'embed_size': 4, 'hidden_size': 5, 'num_layers': 2, 'bidirectional': True,\n"
                            "        'merge': 'concat', 'attention': 'additive', 'context': 'both', 'end': 'eos',\n"
                            "        'outputs': 8, 'has_vocabularies': True, 'has_vocab': False}\n"
                            "bad = {k: d.get(k) for k in want if d.get(k) != want[k]}\n"
                            "v = d['vocabularies']\n"
                            "assert not bad, bad\n"
                            "assert 'max_len' not in d and 'per_step' not in d and 'num_classes' not in d, d\n"
                            "assert v['src_vocab_kind'] == 'words' and v['src_vocab_size'] == 9, v\n"
                            "assert v['tgt_vocab_head'][6] == '\\u00df', v\n"
                            "assert len(d['tensors']) == %d, len(d['tensors'])\"",
                            tu_recur(), a, TU_PYTHON, 41),
                     0);
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect --jsonl '%s' | %s -c \"import json, sys\n"
                            "rows = [json.loads(l) for l in sys.stdin]\n"
                            "assert rows[0]['attention'] == 'additive' and rows[0]['vocabularies']['tgt_vocab_size'] == 7\"",
                            tu_recur(), a, TU_PYTHON),
                     0);
    /* --diff: itself, one changed value, another architecture */
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect --diff '%s' '%s'", tu_recur(), a, a), 0);
    if (!strstr(out, "identical:") || !strstr(out, "(42 tensors,")) fail_msg("%s", out); /* and /optimizer/state */
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect --diff '%s' '%s'", tu_recur(), a, b), 1);
    if (!strstr(out, "/model/encoder/embedding/weight") || !strstr(out, "1 different")) fail_msg("%s", out);
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect --diff '%s' '%s'", tu_recur(), a, c), 1);
    if (!strstr(out, "different architectures: attention additive vs general; context both vs init")) fail_msg("%s", out);
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect --diff --json '%s' '%s'", tu_recur(), a, c), 1);
    if (!strstr(out, "\"different_architectures\":\"attention additive vs general; context both vs init\""))
        fail_msg("%s", out);
    /* --verify */
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect --verify '%s'", tu_recur(), a), 0);
    if (!strstr(out, "valid recur-checkpoint")) fail_msg("%s", out);
}

/* Damage at every length: a checkpoint cut short anywhere must give a message,
 * never a crash or a leak. */
static void test_checkpoint_truncated_everywhere(void **state) {
    char good[4200], cut[4200];
    snprintf(good, sizeof good, "%s", at(state, "good.h5"));
    snprintf(cut, sizeof cut, "%s", at(state, "cut.h5"));
    saved s;
    make_saved(&s, CELL_GRU, OPTIM_ADAM, 0.0f, 1);
    save_ok(good, &s.out);
    free_saved(&s);
    size_t len = 0;
    char *b = tu_slurp(good, &len);
    assert_non_null(b);
    for (size_t k = 0; k < len; k += len / 97 + 1) {
        write_file(cut, b, k);
        checkpoint_in in;
        recur_err err = {0};
        int rc = checkpoint_load(cut, &in, &err);
        assert_int_equal(rc, -1);
        assert_int_equal(err.code, RECUR_EXIT_INPUT);
        assert_non_null(strstr(err.msg, cut));
    }
    /* Flipped bytes in the middle: may load (data bytes) or fail cleanly. */
    for (size_t k = 64; k < len; k += len / 53 + 1) {
        char saved_byte = b[k];
        b[k] = (char)~b[k];
        write_file(cut, b, len);
        b[k] = saved_byte;
        checkpoint_in in;
        recur_err err = {0};
        if (checkpoint_load(cut, &in, &err) == 0) checkpoint_in_free(&in);
        else assert_int_equal(err.code, RECUR_EXIT_INPUT);
    }
    free(b);
}

static void test_checkpoint_unreadable(void **state) {
    checkpoint_in in;
    recur_err err = {0};
    const char *missing = at(state, "missing.h5");
    int rc = checkpoint_load(missing, &in, &err);
    assert_fails(rc, err, RECUR_EXIT_INPUT, missing, "No such file");
    const char *dir = at(state, "adir.h5");
    assert_int_equal(mkdir(dir, 0755), 0);
    memset(&err, 0, sizeof err);
    rc = checkpoint_load(dir, &in, &err);
    assert_fails(rc, err, RECUR_EXIT_INPUT, dir, "directory");
    if (geteuid() != 0) {
        const char *noperm = at(state, "noperm.h5");
        write_file(noperm, "x", 1);
        chmod(noperm, 0);
        memset(&err, 0, sizeof err);
        rc = checkpoint_load(noperm, &in, &err);
        assert_fails(rc, err, RECUR_EXIT_INPUT, noperm, "Permission denied");
    }
}

static void test_checkpoint_unwritable(void **state) {
    saved s;
    make_saved(&s, CELL_LSTM, OPTIM_ADAM, 0.0f, 2);
    recur_err err = {0};
    const char *nodir = at(state, "no/such/ck.h5");
    int rc = checkpoint_save(nodir, &s.out, &err);
    assert_fails(rc, err, RECUR_EXIT_OUTPUT, nodir, "No such file");

    const char *isdir = at(state, "isdir.h5");
    assert_int_equal(mkdir(isdir, 0755), 0);
    memset(&err, 0, sizeof err);
    rc = checkpoint_save(isdir, &s.out, &err);
    assert_fails(rc, err, RECUR_EXIT_OUTPUT, isdir, "directory");
    assert_int_equal(count_entries(((fixture *)*state)->dir), 1);

    /* A save that fails half way (LSTM state without c) leaves the previous
     * checkpoint as it was and no temp file. */
    const char *p = at(state, "ck.h5");
    save_ok(p, &s.out);
    size_t len0;
    char *before = tu_slurp(p, &len0);
    checkpoint_out broken = s.out;
    broken.state_c = NULL;
    broken.step = 99;
    memset(&err, 0, sizeof err);
    rc = checkpoint_save(p, &broken, &err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, p));
    size_t len1;
    char *after = tu_slurp(p, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, after, len0);
    free(before);
    free(after);
    assert_int_equal(count_entries(((fixture *)*state)->dir), 2);
    free_saved(&s);
}

/* A fill that fails half way through: the temp file it was writing goes, the
 * previous destination stays byte for byte, and fill's own error comes back. */
static int fill_then_fail(hid_t file, const char *path, void *ctx, recur_err *err) {
    hsize_t n = 1000;
    float *junk = calloc(n, sizeof(float));
    H5LTmake_dataset_float(file, "/junk", 1, &n, junk);
    free(junk);
    return recur_fail(err, RECUR_EXIT_FAIL, "%s: simulated failure", path);
}

static void test_atomic_failure_leaves_destination(void **state) {
    const char *p = at(state, "dest.h5");
    write_file(p, "previous contents", 17);
    recur_err err = {0};
    int rc = atomic_h5_write(p, fill_then_fail, NULL, &err);
    assert_fails(rc, err, RECUR_EXIT_FAIL, p, "simulated");
    size_t len = 0;
    char *b = tu_slurp(p, &len);
    assert_int_equal(len, 17);
    assert_memory_equal(b, "previous contents", 17);
    free(b);
    assert_int_equal(count_entries(((fixture *)*state)->dir), 1);
}

/* ---- config files --------------------------------------------------------- */

typedef struct {
    char seen[1024];
} cfg_ctx;

/* Accepts any key but "bad", recording "key=value;" pairs. */
static int setter(void *ctx, const char *key, const char *value, recur_err *err) {
    cfg_ctx *c = ctx;
    if (strcmp(key, "bad") == 0)
        return recur_fail(err, RECUR_EXIT_USAGE, "option '%s': expected a number, found '%s'", key, value);
    size_t n = strlen(c->seen);
    snprintf(c->seen + n, sizeof c->seen - n, "%s=%s;", key, value);
    return 0;
}

static int parse(void **state, const char *text, cfg_ctx *c, recur_err *err) {
    const char *p = at(state, "c.ini");
    write_file(p, text, strlen(text));
    memset(c, 0, sizeof *c);
    memset(err, 0, sizeof *err);
    return config_parse_file(p, setter, c, err);
}

static void test_config_ok(void **state) {
    cfg_ctx c;
    recur_err err;
    assert_int_equal(parse(state, "# comment\nhidden = 512\n  optimizer=adam  \n; other\n", &c, &err), 0);
    assert_string_equal(c.seen, "hidden=512;optimizer=adam;");
    assert_int_equal(parse(state, "[train]\nlr = 0.1 ; inline\ncell = lstm\n", &c, &err), 0);
    assert_string_equal(c.seen, "lr=0.1;cell=lstm;");
    assert_int_equal(parse(state, "", &c, &err), 0);
}

static void test_config_errors(void **state) {
    cfg_ctx c;
    recur_err err;
    const char *p = at(state, "c.ini");
    int rc = parse(state, "hidden = 5\n[model]\nlayers = 2\n", &c, &err);
    assert_fails(rc, err, RECUR_EXIT_USAGE, p, ":3:");
    assert_non_null(strstr(err.msg, "[model]"));
    rc = parse(state, "hidden = 5\nthis is not ini\nlr = 1\n", &c, &err);
    assert_fails(rc, err, RECUR_EXIT_USAGE, p, ":2:");
    assert_non_null(strstr(err.msg, "this is not ini"));
    rc = parse(state, "[train\nlr = 1\n", &c, &err);
    assert_fails(rc, err, RECUR_EXIT_USAGE, p, ":1:");
    rc = parse(state, "hidden = 5\n\nbad = x\nalso broken\n", &c, &err);
    assert_fails(rc, err, RECUR_EXIT_USAGE, p, ":3:");
    assert_non_null(strstr(err.msg, "option 'bad'"));
    char longline[600];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "lr = ", 5);
    longline[sizeof longline - 2] = '\n';
    longline[sizeof longline - 1] = 0;
    rc = parse(state, longline, &c, &err);
    assert_fails(rc, err, RECUR_EXIT_USAGE, p, ":1:");
    const char *missing = at(state, "none.ini");
    memset(&err, 0, sizeof err);
    rc = config_parse_file(missing, setter, &c, &err);
    assert_fails(rc, err, RECUR_EXIT_INPUT, missing, "No such file");
}

/* ---- the fatal-signal guard ---- */

/* Runs fn in a child with stderr into `out`; returns its wait status. */
static int in_child(void (*fn)(void), char *out, size_t len) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < len && (r = read(fds[0], out + n, len - 1 - n)) > 0) n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return st;
}

/* Nested reads: the crash names the file being read at the time. */
static void crash_while_reading(void) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    crash_guard_install();
    crash_guard_reading("outer.h5");
    const char *prev = crash_guard_reading("inner.h5");
    crash_guard_reading(prev);
    raise(SIGSEGV);
}

static void crash_outside_reads(void) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    crash_guard_install();
    crash_guard_reading(NULL);
    raise(SIGBUS);
}

static void test_crash_guard(void **state) {
    (void)state;
    char out[1024];
    int st = in_child(crash_while_reading, out, sizeof out);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), RECUR_EXIT_INPUT);
    assert_string_equal(out, "recur: outer.h5: damaged HDF5 file (the reader crashed on it: SIGSEGV)\n");
    /* Outside a read a crash stays a crash (mpirun and core dumps see it). */
    st = in_child(crash_outside_reads, out, sizeof out);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGBUS);
    assert_non_null(strstr(out, "recur: fatal signal SIGBUS"));
}

int main(void) {
    H5open();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_guard),
        cmocka_unit_test_setup_teardown(test_dataset_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_val_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_all_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_build_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_h5py_styles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_h5lt_style, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_probe_matches_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_summarize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_read_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_read_range_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_read_range_token_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_sgd_and_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_h5py, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_seq_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_old_lm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_h5py_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_bad_seq_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_verify_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_s2s_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_s2s_h5py, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_s2s_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_s2s_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_s2s_writer_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_s2s_inspect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_truncated_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_failure_leaves_destination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* Release HDF5's own allocations so LeakSanitizer reports only ours. */
    H5close();
    return failed;
}
