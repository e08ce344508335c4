/* test_fuzz.c - hostile input files end in a clean error, never a signal or
 * a hang (issue 8, section 1).
 *
 *   - the fuzz corpus: scripts/fuzz-inputs with a fixed seed builds seed
 *     files with the CLI and h5py (text, dataset, checkpoint, config,
 *     metrics, the sequence importers' inputs, sequence datasets and
 *     checkpoints, sequence pairs and pair datasets, tree datasets and tree
 *     checkpoints), mutates them (byte
 *     flips, flips inside HDF5's global heap where libhdf5 1.10 crashes, byte
 *     runs, truncation, wrong dtypes/ranks/shapes, huge extents, NaN, token
 *     ids out of range, missing or mistyped attributes, a mangled stored
 *     /config; odd numbers, junk, long lines and deep nesting in the text
 *     files) and runs every reader on each mutant with a time limit:
 *     zero signals, zero hangs, zero sanitizer reports, and every exit 3
 *     names the file.  FUZZ_COUNT sets the number of mutants (default 200,
 *     ~800 runs in ~2 min; 30 when $BUILD is an asan build, whose runs are
 *     ~10x slower); and a corpus of pair inputs only (TSV pairs and pair
 *     datasets through `recur data pairs` and inspect), PAIRS_FUZZ_COUNT
 *     mutants (default 60, 15 under asan);
 *   - a checkpoint with NaN/Inf in a /model tensor is refused by eval, sample,
 *     train --init and train --resume (exit 3 naming the tensor), still shown
 *     by inspect and reported by inspect --verify;
 *   - a checkpoint libhdf5 crashes on (a global-heap flip) ends `mpirun -np 2
 *     recur train --init` with exit 3 naming it, with the child probe and
 *     with the crash guard alone (RECUR_PROBE=0), where Open MPI's own
 *     SIGSEGV handler used to take over;
 *   - huge declared sizes (a 2147483645-token /tokens, a vocab_size of 2^24)
 *     name the file and the field instead of running out of memory.
 *
 * Run from the repo root: RECUR=bin/recur build/release/tests/test_fuzz
 */
#include "test_util.h"

#include <time.h>

static char *dir;
static char data[4200], ckpt[4200];

static int setup(void **state) {
    (void)state;
    if (tu_scratch_with_snippet(&dir, 20000, data, sizeof data)) return -1;
    snprintf(ckpt, sizeof ckpt, "%s/good.h5", dir);
    char log[8192];
    if (tu_run(log, sizeof log, "'%s' train --data '%s' --cell lstm --embed 8 --hidden 16 --layers 1 --batch 2 "
               "--bptt 8 --steps 2 --quiet --no-monitor --out '%s'", tu_recur(), data, ckpt)) {
        fprintf(stderr, "%s\n", log);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tu_scratch_remove(&dir);
    return 0;
}

/* Runs a python snippet (h5py) with argv[1] = the scratch directory. */
static void py(const char *code) {
    char log[8192];
    int rc = tu_run(log, sizeof log, "%s -c '%s' '%s' '%s' '%s'", TU_PYTHON, code, dir, data, ckpt);
    if (rc) fprintf(stderr, "%s\n", log);
    assert_int_equal(rc, 0);
}

static int fuzz_count(void) {
    const char *n = getenv("FUZZ_COUNT"), *build = getenv("BUILD");
    if (n && atoi(n) > 0) return atoi(n);
    return build && strstr(build, "asan") ? 30 : 200;
}

static void test_fuzz_corpus(void **state) {
    (void)state;
    static char out[1 << 16];
    int count = fuzz_count();
    /* The probe's time limit is shortened so a hang found costs 3 s, well
     * under the harness's own limit per run. */
    int rc = tu_run(out, sizeof out, "RECUR_PROBE_TIMEOUT=3 %s scripts/fuzz-inputs --recur '%s' --seed 8 --count %d "
                    "--jobs 2 --timeout 30 --out '%s/fuzz' --json", TU_PYTHON, tu_recur(), count, dir);
    printf("%s", out);
    const char *totals = strstr(out, "{\"ok\"");
    assert_non_null(totals);
    assert_int_equal((int)tu_json_number(totals, "SIGNAL"), 0);
    assert_int_equal((int)tu_json_number(totals, "HANG"), 0);
    assert_int_equal((int)tu_json_number(totals, "SANITIZER"), 0);
    assert_int_equal((int)tu_json_number(totals, "BAD"), 0);
    assert_true(tu_json_number(totals, "executions") >= 2 * count);
    assert_int_equal(rc, 0);
}

/* The pair readers, `recur data pairs` and seq2seq / conditional LM
 * checkpoints (train, eval --decode, generate) on a corpus of their own (the
 * mutants above draw from every kind, pairs among them): PAIRS_FUZZ_COUNT
 * mutants, default 60 (15 under asan), all clean. */
static void test_fuzz_pairs(void **state) {
    (void)state;
    static char out[1 << 16];
    const char *n = getenv("PAIRS_FUZZ_COUNT"), *build = getenv("BUILD");
    int count = n && atoi(n) > 0 ? atoi(n) : build && strstr(build, "asan") ? 15 : 60;
    int rc = tu_run(out, sizeof out, "RECUR_PROBE_TIMEOUT=3 %s scripts/fuzz-inputs --recur '%s' --seed 8 --count %d "
                    "--kinds pairs,pairs-import,s2s-checkpoint --jobs 2 --timeout 30 --out '%s/fuzz-pairs' --json", TU_PYTHON,
                    tu_recur(), count, dir);
    printf("%s", out);
    const char *totals = strstr(out, "{\"ok\"");
    assert_non_null(totals);
    assert_int_equal((int)tu_json_number(totals, "SIGNAL"), 0);
    assert_int_equal((int)tu_json_number(totals, "HANG"), 0);
    assert_int_equal((int)tu_json_number(totals, "SANITIZER"), 0);
    assert_int_equal((int)tu_json_number(totals, "BAD"), 0);
    assert_true(tu_json_number(totals, "executions") >= 2 * count);
    assert_int_equal(rc, 0);
}

/* The tree readers on a corpus of their own: recur-trees files (dependency
 * and balanced binary trees) through inspect, train, eval and predict, and
 * tree-model checkpoints (tanh and lstm, root and node heads, node labels
 * only, Adam state) through inspect (--json, --verify), eval, predict, train
 * --init and --resume: TREES_FUZZ_COUNT mutants, default 30 (10 under asan),
 * all clean. */
static void test_fuzz_trees(void **state) {
    (void)state;
    static char out[1 << 16];
    const char *n = getenv("TREES_FUZZ_COUNT"), *build = getenv("BUILD");
    int count = n && atoi(n) > 0 ? atoi(n) : build && strstr(build, "asan") ? 10 : 30;
    int rc = tu_run(out, sizeof out, "RECUR_PROBE_TIMEOUT=3 %s scripts/fuzz-inputs --recur '%s' --seed 8 --count %d "
                    "--kinds trees,tree-checkpoint --jobs 2 --timeout 30 --out '%s/fuzz-trees' --json", TU_PYTHON,
                    tu_recur(), count, dir);
    printf("%s", out);
    const char *totals = strstr(out, "{\"ok\"");
    assert_non_null(totals);
    assert_int_equal((int)tu_json_number(totals, "SIGNAL"), 0);
    assert_int_equal((int)tu_json_number(totals, "HANG"), 0);
    assert_int_equal((int)tu_json_number(totals, "SANITIZER"), 0);
    assert_int_equal((int)tu_json_number(totals, "BAD"), 0);
    assert_true(tu_json_number(totals, "executions") >= 2 * count);
    assert_int_equal(rc, 0);
}

/* ---- a file libhdf5 crashes on, under mpirun ---- */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Heap flips of the test's checkpoint (seeded) until one that crashes the
 * library: found with the probe off, so the crash guard names it. */
static const char *HEAP_FLIPS =
    "import random, sys\n"
    "data = open(sys.argv[3], \"rb\").read(); at = data.find(b\"GCOL\"); rng = random.Random(8)\n"
    "for k in range(60):\n"
    "    b = bytearray(data); i = at + rng.randrange(8, 400); b[i] = rng.randrange(256)\n"
    "    open(\"%s/flip%02d.h5\" % (sys.argv[1], k), \"wb\").write(b)\n";

static void test_crash_under_mpirun(void **state) {
    (void)state;
    py(HEAP_FLIPS);
    char out[8192], crasher[64] = "";
    for (int k = 0; k < 60 && !crasher[0]; k++) {
        int rc = tu_run(out, sizeof out, "cd '%s' && RECUR_PROBE=0 timeout 30 '%s' inspect flip%02d.h5", dir,
                        tu_recur(), k);
        assert_true(rc != 124 && rc < 128); /* the guard: never a signal */
        if (rc == 3 && strstr(out, "the reader crashed on it")) snprintf(crasher, sizeof crasher, "flip%02d.h5", k);
    }
    if (!crasher[0]) {
#ifdef __SANITIZE_ADDRESS__
        /* The sanitizer reports the bad reads (exit 3 via the probe, or its
         * own report) before they can crash: nothing here for the guard. */
        skip();
#else
        /* libhdf5 1.10.8 crashes on 4 of these 60 flips: a release build
         * that finds none has lost what this test is about. */
        fail_msg("no heap flip crashed libhdf5 with the probe off: the crash guard went untested");
#endif
    }
    for (int probe = 1; probe >= 0; probe--) {
        const double t0 = now_s();
        int rc = tu_run(out, sizeof out, "cd '%s' && RECUR_PROBE=%d OMPI_ALLOW_RUN_AS_ROOT=1 "
                        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 60 mpirun --oversubscribe -np 2 '%s' train --init %s "
                        "--data '%s' --steps 1 --quiet --no-monitor --out o.h5", dir, probe, tu_recur(), crasher, data);
        const double secs = now_s() - t0;
        print_message("  %s under mpirun -np 2, probe %s: exit %d in %.1f s\n", crasher, probe ? "on" : "off", rc,
                      secs);
        if (rc != 3) fprintf(stderr, "probe=%d: exit %d\n%s\n", probe, rc, out);
        assert_int_equal(rc, 3);
        assert_non_null(strstr(out, crasher));
        assert_non_null(strstr(out, "damaged HDF5 file (the reader crashed on it"));
        assert_true(secs < 20); /* seconds, not a hang ended by the 60 s timeout */
    }
}

/* ---- NaN / Inf weights ---- */

static const char *NAN_CKPT =
    "import h5py, numpy as np, shutil, sys\n"
    "shutil.copy(sys.argv[3], sys.argv[1] + \"/nan.h5\")\n"
    "with h5py.File(sys.argv[1] + \"/nan.h5\", \"r+\") as f:\n"
    "    d = f[\"model/rnn/weight_hh_l0\"]; a = d[()]\n"
    "    a[0, 0] = np.nan; a[1, 1] = np.inf; a[2, 2] = -np.inf; d[...] = a\n";

static void expect_refused(const char *args) {
    char out[8192];
    int rc = tu_run(out, sizeof out, "cd '%s' && timeout 60 '%s' %s", dir, tu_recur(), args);
    if (rc != 3) fprintf(stderr, "%s -> %d: %s\n", args, rc, out);
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out, "nan.h5: dataset '/model/rnn/weight_hh_l0': 3 non-finite values (NaN/Inf); "
                                "refusing to load"));
}

static void test_nan_eval(void **state) {
    (void)state;
    py(NAN_CKPT);
    char args[9000];
    snprintf(args, sizeof args, "eval --model nan.h5 --data '%s'", data);
    expect_refused(args);
}

static void test_nan_sample(void **state) {
    (void)state;
    py(NAN_CKPT);
    expect_refused("sample --model nan.h5 --len 10 --seed 1");
}

static void test_nan_train_init(void **state) {
    (void)state;
    py(NAN_CKPT);
    char args[9000];
    snprintf(args, sizeof args, "train --init nan.h5 --data '%s' --steps 1 --quiet --no-monitor --out o.h5", data);
    expect_refused(args);
    char out_path[4300];
    snprintf(out_path, sizeof out_path, "%s/o.h5", dir);
    assert_false(tu_exists(out_path));
}

static void test_nan_train_resume(void **state) {
    (void)state;
    py(NAN_CKPT);
    char args[9000];
    snprintf(args, sizeof args, "train --resume nan.h5 --data '%s' --steps 5 --quiet --no-monitor --out o.h5", data);
    expect_refused(args);
}

static void test_nan_inspect_shows_it(void **state) {
    (void)state;
    py(NAN_CKPT);
    char out[16384];
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' inspect nan.h5", dir, tu_recur()), 0);
    assert_non_null(strstr(out, "/model/rnn/weight_hh_l0"));
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' inspect --verify nan.h5", dir, tu_recur()), 1);
    assert_non_null(strstr(out, "nan.h5: dataset '/model/rnn/weight_hh_l0': expected finite values, found 1 NaN and 2 Inf"));
}

/* ---- huge declared sizes ---- */

static void test_huge_token_count(void **state) {
    (void)state;
    /* A chunked /tokens declaring 2^31-3 tokens with one chunk written. */
    py("import h5py, numpy as np, shutil, sys\n"
       "shutil.copy(sys.argv[2], sys.argv[1] + \"/huge.h5\")\n"
       "with h5py.File(sys.argv[1] + \"/huge.h5\", \"r+\") as f:\n"
       "    del f[\"tokens\"]\n"
       "    d = f.create_dataset(\"tokens\", shape=(2147483645,), dtype=np.int32, chunks=(4096,)); d[:100] = 1\n");
    const char *cmds[] = {"train --data huge.h5 --steps 1 --quiet --no-monitor --out o.h5", "inspect huge.h5",
                          "eval --model '%s' --data huge.h5"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char args[9000], out[8192];
        snprintf(args, sizeof args, cmds[i], ckpt);
        int rc = tu_run(out, sizeof out, "cd '%s' && timeout 60 '%s' %s", dir, tu_recur(), args);
        if (rc != 3) fprintf(stderr, "%s -> %d: %s\n", args, rc, out);
        assert_int_equal(rc, 3);
        assert_non_null(strstr(out, "huge.h5: dataset '/tokens': 2147483645 elements declared"));
        assert_null(strstr(out, "out of memory"));
    }
}

static void test_huge_vocab_size(void **state) {
    (void)state;
    py("import h5py, numpy as np, shutil, sys\n"
       "shutil.copy(sys.argv[3], sys.argv[1] + \"/hugev.h5\")\n"
       "with h5py.File(sys.argv[1] + \"/hugev.h5\", \"r+\") as f:\n"
       "    f.attrs[\"vocab_size\"] = np.int64(2 ** 24)\n");
    char out[8192];
    int rc = tu_run(out, sizeof out, "cd '%s' && timeout 60 '%s' eval --model hugev.h5 --data '%s'", dir, tu_recur(),
                    data);
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out, "hugev.h5: attributes 'vocab_size' (16777216)"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nan_eval),
        cmocka_unit_test(test_nan_sample),
        cmocka_unit_test(test_nan_train_init),
        cmocka_unit_test(test_nan_train_resume),
        cmocka_unit_test(test_nan_inspect_shows_it),
        cmocka_unit_test(test_huge_token_count),
        cmocka_unit_test(test_huge_vocab_size),
        cmocka_unit_test(test_crash_under_mpirun),
        cmocka_unit_test(test_fuzz_corpus),
        cmocka_unit_test(test_fuzz_pairs),
        cmocka_unit_test(test_fuzz_trees),
    };
    /* TEST_FILTER=test_nan* runs only the matching tests. */
    if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
