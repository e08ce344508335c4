/* test_inspect.c - `recur inspect`: per-tensor statistics against numpy,
 * --json as one document (parsed by Python's json: booleans, the config as
 * typed values, floats that read back to the stored float32 bit for bit),
 * --jsonl unchanged, --diff (identical in one line, planted change,
 * --atol/--rtol, different architectures, missing tensor, errors), --verify
 * (the good file, each planted violation, two at once, unreadable files),
 * inspect on a token dataset and on other HDF5 files, checkpoints of
 * sequence models (task, inputs, directions, head in the summary and --json,
 * --diff naming each architectural difference, bad attributes refused and
 * verified), and the torch loader scripts/torch_checkpoint.py --check.
 *
 * Checkpoints come from `recur train` on a slice of Tiny Shakespeare; bad
 * copies are made by a small h5py script (EDIT_PY) run with Debian's
 * /usr/bin/python3, which has h5py, numpy and torch.
 *
 * Run: make && RECUR=bin/recur build/release/tests/test_inspect
 */
#include "test_util.h"

#include <limits.h>
#include <math.h>

static char *g_dir;            /* scratch directory shared by every test */
static char g_recur[4096];     /* absolute path of the CLI (the tests cd into g_dir) */
static char g_src[4096];       /* absolute path of the source tree (cwd at start) */

/* EDIT_PY SRC DST OP: copies SRC to DST and breaks one thing.  Prints the
 * expected max abs diff for "plant". */
static const char *EDIT_PY =
    "import sys, shutil, h5py, numpy as np\n"
    "src, dst, ops = sys.argv[1], sys.argv[2], sys.argv[3].split(',')\n"
    "shutil.copyfile(src, dst)\n"
    "with h5py.File(dst, 'r+') as f:\n"
    "    for op in ops:\n"
    "        if op == 'format': f.attrs['format'] = 'not-recur'\n"
    "        elif op == 'version': f.attrs['version'] = 2\n"
    "        elif op == 'cell': f.attrs['cell'] = 'transformer'\n"
    "        elif op == 'hidden0': f.attrs['hidden_size'] = 0\n"
    "        elif op == 'missing': del f['model/head/bias']\n"
    "        elif op == 'f64':\n"
    "            x = f['model/head/bias'][...]; del f['model/head/bias']\n"
    "            f['model/head/bias'] = x.astype(np.float64)\n"
    "        elif op == 'shape':\n"
    "            x = f['model/head/weight'][...]; del f['model/head/weight']\n"
    "            f['model/head/weight'] = np.zeros((x.shape[0], x.shape[1] + 1), np.float32)\n"
    "        elif op == 'nan':\n"
    "            d = f['model/rnn/weight_hh_l0']; x = d[...]; x[0, 0] = np.nan; d[...] = x\n"
    "        elif op == 'stateh':\n"
    "            x = f['state/h'][...]; del f['state/h']\n"
    "            f['state/h'] = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 1), np.float32)\n"
    "        elif op == 'plant':\n"
    "            d = f['model/rnn/bias_ih_l0']; x = d[...]; old = float(x[3])\n"
    "            x[3] = np.float32(x[3] + np.float32(0.5)); d[...] = x\n"
    "            print('%.17g' % abs(float(x[3]) - old))\n"
    "        else: sys.exit('unknown op ' + op)\n";

/* STATS_PY CKPT JSONL: the per-tensor statistics recomputed with numpy (in
 * float64) must match inspect's to 1e-6 relative. */
static const char *STATS_PY =
    "import sys, json, h5py, numpy as np\n"
    "rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]\n"
    "rows = [r for r in rows if 'tensor' in r]\n"
    "bad = 0\n"
    "with h5py.File(sys.argv[1], 'r') as f:\n"
    "    names = []\n"
    "    f['model'].visititems(lambda n, o: names.append('/model/' + n) if isinstance(o, h5py.Dataset) else None)\n"
    "    assert sorted(names) == sorted(r['tensor'] for r in rows), (names, [r['tensor'] for r in rows])\n"
    "    for r in rows:\n"
    "        x = f[r['tensor']][...].astype(np.float64)\n"
    "        assert list(x.shape) == r['shape'] and r['dtype'] == 'float32', r\n"
    "        want = dict(mean=x.mean(), std=x.std(), min=x.min(), max=x.max(), l2=np.sqrt((x * x).sum()))\n"
    "        for k, v in want.items():\n"
    "            if abs(r[k] - v) > 1e-6 * max(abs(v), 1e-30) + 1e-12:\n"
    "                print('mismatch', r['tensor'], k, r[k], v); bad += 1\n"
    "        if r['nonfinite'] != int((~np.isfinite(x)).sum()): print('nonfinite', r); bad += 1\n"
    "print('checked', len(rows)); sys.exit(1 if bad else 0)\n";

/* JCHECK_PY EXPR FILE: FILE must be one JSON document d for which the
 * Python expression EXPR holds (h5py and numpy at hand; f32(x) is the bit
 * pattern of x as float32, sig(s) the significant digits of a number's text). */
static const char *JCHECK_PY =
    "import sys, re, json, h5py, numpy as np\n"
    "text = open(sys.argv[2]).read()\n"
    "def sig(s): return len(s.lower().split('e')[0].replace('-', '').replace('.', '').strip('0')) or 1\n"
    "d = json.loads(text)\n"
    "def f32(x): return int(np.float32(x).view(np.uint32))\n"
    "if not eval(sys.argv[1]): print('does not hold:', sys.argv[1], '\\n', text[:3000]); sys.exit(1)\n";

static const char *SEQCK_PY; /* below, with the sequence-model tests */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void train(const char *cell, const char *out) {
    char buf[8192];
    int rc = tu_run(buf, sizeof buf,
                    "cd '%s' && '%s' train --data d.h5 --cell %s --hidden 16 --embed 8 --layers 2 --batch 4 --bptt 8 "
                    "--steps 3 --out %s --quiet",
                    g_dir, g_recur, cell, out);
    if (rc) fprintf(stderr, "%s\n", buf);
    assert_int_equal(rc, 0);
}

static int group_setup(void **state) {
    g_dir = tu_tmpdir();
    if (!g_dir) return -1;
    char buf[8192];
    char src[4200];
    if (!realpath(tu_recur(), g_recur) || !getcwd(g_src, sizeof g_src)) return -1;
    snprintf(src, sizeof src, "%s/data/tinyshakespeare.txt", g_src);
    if (tu_run(buf, sizeof buf, "head -c 30000 '%s' > '%s/t.txt' && cd '%s' && '%s' data text t.txt d.h5 "
               "--val-fraction 0.1", src, g_dir, g_dir, g_recur)) {
        fprintf(stderr, "%s\n", buf);
        return -1;
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/edit.py", g_dir);
    write_file(p, EDIT_PY);
    snprintf(p, sizeof p, "%s/stats.py", g_dir);
    write_file(p, STATS_PY);
    snprintf(p, sizeof p, "%s/jcheck.py", g_dir);
    write_file(p, JCHECK_PY);
    snprintf(p, sizeof p, "%s/seqck.py", g_dir);
    write_file(p, SEQCK_PY);
    train("lstm", "a.h5");
    return 0;
}

static int group_teardown(void **state) {
    tu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* Runs `recur inspect ARGS` in the scratch directory. */
static int inspect(char *out, size_t len, const char *args) {
    return tu_run(out, len, "cd '%s' && '%s' inspect %s", g_dir, g_recur, args);
}

/* `expr` (no single quotes) holds for the JSON document in g_dir/file. */
static void json_holds(const char *file, const char *expr) {
    char out[8192];
    int rc = tu_run(out, sizeof out, "cd '%s' && %s jcheck.py '%s' %s", g_dir, TU_PYTHON, expr, file);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void edit(const char *dst, const char *ops, char *out, size_t len) {
    int rc = tu_run(out, len, "cd '%s' && %s edit.py a.h5 %s %s", g_dir, TU_PYTHON, dst, ops);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
}

static void test_summary(void **state) {
    static char out[65536];
    assert_int_equal(inspect(out, sizeof out, "a.h5"), 0);
    assert_non_null(strstr(out, "lstm, 2 layer(s) x 16 hidden, embed 8"));
    assert_non_null(strstr(out, "progress: step 3"));
    assert_non_null(strstr(out, "optimizer: adam, step 3"));
    assert_non_null(strstr(out, "carried states: h, c [2,4,16]"));
    assert_non_null(strstr(out, "cell = lstm"));
    assert_int_equal(inspect(out, sizeof out, "a.h5 --json"), 0);
    assert_int_equal((int)tu_json_number(out, "hidden_size"), 16);
    assert_int_equal((int)tu_json_number(out, "optimizer_step"), 3);
    assert_true(tu_json_number(out, "optimizer_state_norm") > 0);
    assert_non_null(strstr(out, "\"state_shape\":[2,4,16]"));
}

static void test_stats_match_numpy(void **state) {
    char out[8192];
    assert_int_equal(inspect(out, sizeof out, "a.h5 --jsonl > stats.jsonl"), 0);
    int rc = tu_run(out, sizeof out, "cd '%s' && %s stats.py a.h5 stats.jsonl", g_dir, TU_PYTHON);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "checked 11"));
}

static void test_diff(void **state) {
    static char out[65536];
    char exp[256];
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 a.h5"), 0);
    assert_string_equal(out, "identical: a.h5 and a.h5 (14 tensors, 16,126 values)\n");

    edit("planted.h5", "plant", exp, sizeof exp);
    double want = strtod(exp, NULL);
    assert_true(want > 0.4 && want < 0.6);
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 planted.h5 --jsonl"), 1);
    const char *line = strstr(out, "\"tensor\":\"/model/rnn/bias_ih_l0\"");
    assert_non_null(line);
    assert_non_null(strstr(line, "\"status\":\"different\""));
    assert_true(fabs(tu_json_number(line, "max_abs_diff") - want) <= 1e-12 * want);
    assert_int_equal((int)tu_json_number(line, "differing"), 1);
    /* every other tensor is identical */
    int different = 0;
    for (const char *p = out; (p = strstr(p, "\"status\":\"different\"")); p++) different++;
    assert_int_equal(different, 1);
    assert_non_null(strstr(out, "\"identical\":0"));

    edit("missing.h5", "missing", exp, sizeof exp);
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 missing.h5"), 1);
    assert_non_null(strstr(out, "/model/head/bias"));
    assert_non_null(strstr(out, "only in a.h5"));
    assert_int_equal(inspect(out, sizeof out, "--diff missing.h5 a.h5 --json"), 1);
    assert_non_null(strstr(out, "\"status\":\"only_in_b\""));

    edit("shape.h5", "shape", exp, sizeof exp);
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 shape.h5"), 1);
    assert_non_null(strstr(out, "/model/head/weight           shape differs"));

    /* errors: exit 2 with one message */
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 t.txt"), 2);
    assert_non_null(strstr(out, "t.txt: expected an HDF5 file"));
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 d.h5"), 2);
    assert_non_null(strstr(out, "d.h5: attribute 'format': expected the string \"recur-checkpoint\""));
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 nope.h5"), 2);
    assert_non_null(strstr(out, "nope.h5: cannot open"));
}

/* --json: one document that Python's json reads, with real booleans, the
 * config as an object of typed values, and floats whose text reads back to
 * the stored float32 bit for bit (and is the shortest such text). */
static void test_json_document(void **state) {
    static char out[65536];
    assert_int_equal(inspect(out, sizeof out, "a.h5 --json > doc.json"), 0);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && %s -c 'import json,sys; json.load(sys.stdin)' < doc.json",
                            g_dir, TU_PYTHON), 0);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && cat doc.json", g_dir), 0);
    assert_int_equal(count_lines(out), 1);
    json_holds("doc.json", "isinstance(d, dict) and d[\"has_vocab\"] is True and d[\"has_state\"] is True"
                           " and d[\"has_state_c\"] is True and d[\"has_config\"] is True"
                           " and d[\"state_shape\"] == [2, 4, 16] and len(d[\"tensors\"]) == 11");
    json_holds("doc.json", "isinstance(d[\"config\"], dict) and d[\"config\"][\"hidden\"] == 16"
                           " and type(d[\"config\"][\"hidden\"]) is int and d[\"config\"][\"cell\"] == \"lstm\""
                           " and d[\"config\"][\"lr\"] == 0.002 and d[\"config\"][\"quiet\"] is True"
                           " and d[\"config\"][\"debug\"] is False and d[\"config\"][\"data\"].endswith(\"/d.h5\")");
    /* optimizer hyper-parameters and every tensor's min and max against h5py */
    json_holds("doc.json", "all(f32(d[k]) == f32(h5py.File(\"a.h5\")[\"optimizer\"].attrs[k])"
                           " for k in (\"lr\", \"beta1\", \"beta2\", \"eps\"))"
                           " and \"\\\"lr\\\":0.002,\" in text and \"\\\"eps\\\":1e-08,\" in text");
    json_holds("doc.json", "all(f32(t[\"min\"]) == f32(h5py.File(\"a.h5\")[t[\"tensor\"]][...].min())"
                           " and f32(t[\"max\"]) == f32(h5py.File(\"a.h5\")[t[\"tensor\"]][...].max())"
                           " for t in d[\"tensors\"])");
    /* the shortest text: as many significant digits as numpy's shortest
     * unique float32 repr, no more */
    json_holds("doc.json", "all(sig(a) == sig(np.format_float_scientific(np.float32(float(a)), unique=True))"
                           " for a in re.findall(r\"\\\"(?:min|max|lr|beta2)\\\":([^,}]+)\", text))"
                           " and len(re.findall(r\"\\\"min\\\":\", text)) == 11");
}

/* --jsonl: today's form, one object per line, booleans 0/1, config as text. */
static void test_jsonl_unchanged(void **state) {
    static char out[65536];
    assert_int_equal(inspect(out, sizeof out, "a.h5 --jsonl"), 0);
    assert_int_equal(count_lines(out), 12);
    assert_non_null(strstr(out, "\"has_vocab\":1,"));
    assert_non_null(strstr(out, "\"config\":\"[train]\\n"));
    assert_non_null(strstr(out, "}\n{\"tensor\":\"/model/embedding/weight\""));
    assert_int_equal(inspect(out, sizeof out, "a.h5 --jsonl > lines.jsonl"), 0);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && %s -c 'import json,sys; [json.loads(l) for l in sys.stdin]'"
                            " < lines.jsonl", g_dir, TU_PYTHON), 0);
    assert_int_equal(inspect(out, sizeof out, "a.h5 --json --jsonl"), 2);
}

/* A planted perturbation of 1e-5: different without a tolerance, equal
 * within --atol 1e-4 (or --rtol 1e-3), still different with --rtol 1e-9. */
static void test_diff_tolerance(void **state) {
    static char out[65536];
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && %s -c \"import shutil, h5py, numpy as np\n"
                            "shutil.copyfile('a.h5', 'near.h5')\n"
                            "with h5py.File('near.h5', 'r+') as f:\n"
                            "    d = f['model/head/bias']; x = d[...]; x[1] += np.float32(1e-5); d[...] = x\"",
                            g_dir, TU_PYTHON), 0);
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 near.h5"), 1);
    assert_non_null(strstr(out, "different: 14 tensors compared, 1 different"));
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 near.h5 --atol 1e-4"), 0);
    assert_non_null(strstr(out, "within tolerance (atol 0.0001, rtol 0): a.h5 and near.h5 (14 tensors"));
    assert_non_null(strstr(out, "worst /model/head/bias: max abs diff"));
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 near.h5 --rtol 1e-3"), 0);
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 near.h5 --rtol 1e-9"), 1);
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 near.h5 --atol 1e-4 --json > tol.json"), 0);
    json_holds("tol.json", "d[\"equal\"] is True and d[\"identical\"] is False and d[\"within_tolerance\"] == 1"
                           " and d[\"worst\"] == \"/model/head/bias\" and d[\"atol\"] == 0.0001"
                           " and [t[\"status\"] for t in d[\"tensors\"]].count(\"within_tolerance\") == 1");
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 a.h5 --json > same.json"), 0);
    json_holds("same.json", "d[\"identical\"] is True and d[\"equal\"] is True and d[\"compared\"] == 14");
    /* tolerances belong to --diff */
    assert_int_equal(inspect(out, sizeof out, "a.h5 --atol 1"), 2);
}

static void test_diff_architectures(void **state) {
    static char out[65536];
    char buf[8192];
    int rc = tu_run(buf, sizeof buf,
                    "cd '%s' && '%s' train --data d.h5 --cell gru --hidden 12 --embed 8 --layers 2 --batch 4 "
                    "--bptt 8 --steps 1 --out g.h5 --quiet", g_dir, g_recur);
    if (rc) fprintf(stderr, "%s\n", buf);
    assert_int_equal(rc, 0);
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 g.h5"), 1);
    assert_string_equal(out, "different architectures: cell lstm vs gru; hidden_size 16 vs 12\n");
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 g.h5 --json > arch.json"), 1);
    json_holds("arch.json", "d[\"different_architectures\"] == \"cell lstm vs gru; hidden_size 16 vs 12\""
                            " and d[\"equal\"] is False");
}

/* A token dataset is summarised; other HDF5 files say what they are. */
static void test_inspect_dataset(void **state) {
    static char out[65536];
    assert_int_equal(inspect(out, sizeof out, "d.h5"), 0);
    assert_non_null(strstr(out, "d.h5: recur-tokens v1"));
    assert_non_null(strstr(out, "tokens: 27,000 in /tokens, 3,000 in /val_tokens"));
    assert_non_null(strstr(out, "vocabulary: 58 entries: \\n !"));
    assert_non_null(strstr(out, "token ids: 0..57"));
    assert_int_equal(inspect(out, sizeof out, "d.h5 --json > data.json"), 0);
    json_holds("data.json", "d[\"format\"] == \"recur-tokens\" and d[\"version\"] == 1"
                            " and d[\"tokens\"] == h5py.File(\"d.h5\")[\"tokens\"].shape[0]"
                            " and d[\"val_tokens\"] == h5py.File(\"d.h5\")[\"val_tokens\"].shape[0]"
                            " and d[\"vocab_size\"] == 58 and d[\"vocab\"].startswith(\"\\\\n !\")"
                            " and d[\"min_id\"] == 0 and d[\"max_id\"] == max(h5py.File(\"d.h5\")[\"tokens\"][...].max(),"
                            " h5py.File(\"d.h5\")[\"val_tokens\"][...].max())");
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && %s -c \"import h5py\n"
                            "with h5py.File('other.h5', 'w') as f: f.attrs['format'] = 'something-else'; f['x'] = [1]\n"
                            "with h5py.File('plain.h5', 'w') as f: f['x'] = [1]\"", g_dir, TU_PYTHON), 0);
    assert_int_equal(inspect(out, sizeof out, "other.h5"), 3);
    assert_non_null(strstr(out, "other.h5: expected a recur checkpoint (format \"recur-checkpoint\"), token dataset "
                                "(format \"recur-tokens\"), sequence dataset (format \"recur-sequences\"), pair "
                                "dataset (format \"recur-pairs\") or tree dataset (format \"recur-trees\"), found an "
                                "HDF5 file with format \"something-else\""));
    assert_int_equal(inspect(out, sizeof out, "plain.h5 --json"), 3);
    assert_non_null(strstr(out, "found an HDF5 file with no 'format' attribute"));
    assert_null(strchr(out, '{'));
}

static void test_verify_good(void **state) {
    char out[8192];
    assert_int_equal(inspect(out, sizeof out, "--verify a.h5"), 0);
    assert_non_null(strstr(out, "valid recur-checkpoint"));
    assert_int_equal(inspect(out, sizeof out, "--verify a.h5 --jsonl"), 0);
    assert_string_equal(out, "{\"file\":\"a.h5\",\"valid\":1,\"violations\":0}\n");
    assert_int_equal(inspect(out, sizeof out, "--verify a.h5 --json"), 0);
    assert_string_equal(out, "{\"violations\":[],\"file\":\"a.h5\",\"valid\":true}\n");
}

static void verify_bad(const char *ops, int nviol, const char *const *msgs) {
    static char out[65536];
    char exp[256], dst[64];
    snprintf(dst, sizeof dst, "bad_%s.h5", ops);
    for (char *p = dst; *p; p++)
        if (*p == ',') *p = '_';
    edit(dst, ops, exp, sizeof exp);
    char args[128];
    snprintf(args, sizeof args, "--verify %s", dst);
    int rc = inspect(out, sizeof out, args);
    for (int i = 0; msgs[i]; i++) {
        if (!strstr(out, msgs[i])) fprintf(stderr, "%s: missing \"%s\" in:\n%s\n", ops, msgs[i], out);
        assert_non_null(strstr(out, msgs[i]));
    }
    assert_int_equal(rc, 1);
    snprintf(args, sizeof args, "--verify %s --jsonl", dst);
    assert_int_equal(inspect(out, sizeof out, args), 1);
    if ((int)tu_json_number(out, "violations") != nviol) fprintf(stderr, "%s: %s\n", ops, out);
    assert_int_equal((int)tu_json_number(out, "violations"), nviol);
    assert_int_equal(count_lines(out), nviol + 1);
    /* the document: the same violations as an array */
    snprintf(args, sizeof args, "--verify %s --json > verify.json", dst);
    assert_int_equal(inspect(out, sizeof out, args), 1);
    char expr[128];
    snprintf(expr, sizeof expr, "d[\"valid\"] is False and len(d[\"violations\"]) == %d", nviol);
    json_holds("verify.json", expr);
}

static void test_verify_violations(void **state) {
    verify_bad("format", 1, (const char *const[]){"attribute 'format': expected the string \"recur-checkpoint\", found \"not-recur\"", NULL});
    verify_bad("version", 1, (const char *const[]){"attribute 'version': expected the integer 1, found 2", NULL});
    verify_bad("cell", 1, (const char *const[]){"attribute 'cell': expected one of rnn_tanh, rnn_relu, lstm, gru, lbr_gru, found \"transformer\"", NULL});
    verify_bad("hidden0", 1, (const char *const[]){"attribute 'hidden_size': expected an integer in [1,", NULL});
    verify_bad("missing", 1, (const char *const[]){"dataset '/model/head/bias': expected float32 [58], found nothing (missing)", NULL});
    verify_bad("f64", 1, (const char *const[]){"dataset '/model/head/bias': expected float32 [58], found float64 [58]", NULL});
    verify_bad("shape", 1, (const char *const[]){"dataset '/model/head/weight': expected float32 [58, 16], found float32 [58, 17]", NULL});
    verify_bad("nan", 1, (const char *const[]){"dataset '/model/rnn/weight_hh_l0': expected finite values, found 1 NaN and 0 Inf", NULL});
    verify_bad("stateh", 1, (const char *const[]){"dataset '/state/h': expected float32 [2, B, 16], found float32 [2, 4, 17]", NULL});
    verify_bad("version,nan", 2, (const char *const[]){"found 2", "found 1 NaN", NULL});
    verify_bad("format,shape,stateh", 3, (const char *const[]){"not-recur", "[58, 17]", "[2, 4, 17]", NULL});
    /* sizes unknown: the /model tensors are still checked for dtype and NaN */
    verify_bad("hidden0,nan,f64", 3, (const char *const[]){"hidden_size", "1 NaN", "expected float32, found float64", NULL});
}

/* A valid HDF5 file of another kind (a token dataset) is invalid, not unreadable. */
static void test_verify_other_hdf5(void **state) {
    char out[8192];
    assert_int_equal(inspect(out, sizeof out, "--verify d.h5"), 1);
    assert_non_null(strstr(out, "found \"recur-tokens\""));
    assert_non_null(strstr(out, "d.h5: group '/model': expected the model tensors, found nothing (missing)"));
    assert_non_null(strstr(out, "attribute 'hidden_size': expected an integer in [1, 2147483647], found nothing (missing)"));
}

static void test_verify_unreadable(void **state) {
    char out[8192];
    assert_int_equal(inspect(out, sizeof out, "--verify t.txt"), 2);
    assert_non_null(strstr(out, "t.txt: expected an HDF5 file, found something else (no HDF5 signature)"));
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && head -c 3000 a.h5 > trunc.h5", g_dir), 0);
    assert_int_equal(inspect(out, sizeof out, "--verify trunc.h5"), 2);
    assert_non_null(strstr(out, "trunc.h5: expected"));
    assert_non_null(strstr(out, "damaged"));
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 trunc.h5"), 2);
    assert_non_null(strstr(out, "damaged"));
    assert_int_equal(inspect(out, sizeof out, "--verify missing-file.h5"), 2);
    assert_non_null(strstr(out, "cannot open"));
    /* the plain summary also gives one clear message, not a crash */
    int rc = inspect(out, sizeof out, "trunc.h5");
    assert_true(rc == 3);
    assert_non_null(strstr(out, "damaged"));
}

/* SEQCK_PY OUT key=value ...: a sequence-model checkpoint as
 * tests/torch_seq_reference.py writes it with h5py (cell, H, L, bi, task, O,
 * V and E or F, pooling); set_<attr>=<integer or string> / del_<attr> then
 * change a root attribute. */
static const char *SEQCK_PY =
    "import sys, h5py, numpy as np\n"
    "out = sys.argv[1]; kw = dict(a.split('=', 1) for a in sys.argv[2:])\n"
    "cell = kw['cell']; G = dict(rnn_tanh=1, rnn_relu=1, lstm=4, gru=3, lbr_gru=3)[cell]\n"
    "H, L, O = int(kw['H']), int(kw['L']), int(kw['O']); D = 2 if kw.get('bi') == '1' else 1\n"
    "F, V, E = int(kw.get('F', 0)), int(kw.get('V', 0)), int(kw.get('E', 0)); task = kw['task']\n"
    "rng = np.random.default_rng(int(kw.get('seed', 1)))\n"
    "def t(*s): return rng.uniform(-0.5, 0.5, s).astype('f4')\n"
    "with h5py.File(out, 'w') as f:\n"
    "    a = f.attrs\n"
    "    a['format'] = 'recur-checkpoint'; a['version'] = 1; a['cell'] = cell\n"
    "    a['vocab_size'] = V; a['embed_size'] = E; a['hidden_size'] = H; a['num_layers'] = L\n"
    "    a['task'] = task; a['bidirectional'] = D - 1\n"
    "    if F: a['input_size'] = F\n"
    "    a['output_size' if task == 'regress' else 'num_classes'] = O\n"
    "    if 'pooling' in kw: a['pooling'] = kw['pooling']\n"
    "    if not F: f['model/embedding/weight'] = t(V, E)\n"
    "    for l in range(L):\n"
    "        for d in range(D):\n"
    "            r = '_reverse' if d else ''\n"
    "            f[f'model/rnn/weight_ih_l{l}{r}'] = t(G * H, (F or E) if l == 0 else D * H)\n"
    "            f[f'model/rnn/weight_hh_l{l}{r}'] = t(G * H, H)\n"
    "            f[f'model/rnn/bias_ih_l{l}{r}'] = t(G * H)\n"
    "            f[f'model/rnn/bias_hh_l{l}{r}'] = t(G * H)\n"
    "    f['model/head/weight'] = t(O, D * H)\n"
    "    f['model/head/bias'] = t(O)\n"
    "    for k, v in kw.items():\n"
    "        if k.startswith('set_'): a[k[4:]] = int(v) if v.lstrip('-').isdigit() else v\n"
    "        elif k.startswith('del_'): del a[k[4:]]\n";

static void seq_ckpt(const char *out, const char *args) {
    char buf[8192];
    int rc = tu_run(buf, sizeof buf, "cd '%s' && %s seqck.py %s %s", g_dir, TU_PYTHON, out, args);
    if (rc) fprintf(stderr, "%s\n", buf);
    assert_int_equal(rc, 0);
}

#define CLS_ARGS "cell=lstm H=4 L=2 bi=1 task=classify O=5 F=3 pooling=mean"
#define TAG_ARGS "cell=gru H=6 L=1 bi=1 task=tag O=7 V=9 E=4"
#define REG_ARGS "cell=rnn_tanh H=5 L=1 task=regress O=2 F=2"

/* The summary of each kind of model: task and head, inputs, directions, in
 * text and in --json; the tensors listed are the file's (with _reverse). */
static void test_seq_checkpoint_summary(void **state) {
    static char out[65536];
    seq_ckpt("cls.h5", CLS_ARGS);
    seq_ckpt("tag.h5", TAG_ARGS);
    seq_ckpt("reg.h5", REG_ARGS);
    assert_int_equal(inspect(out, sizeof out, "cls.h5"), 0);
    assert_non_null(strstr(out, "cls.h5: recur-checkpoint v1, lstm, 2 layer(s) x 4 hidden x 2 directions, features 3, "));
    assert_non_null(strstr(out, "\ntask: classify, 5 classes per sequence (pooling mean)\n"));
    assert_non_null(strstr(out, "\ninputs: features, 3 per step\n"));
    assert_non_null(strstr(out, "\ndirections: 2 (bidirectional, outputs concatenated: 8)\n"));
    assert_non_null(strstr(out, "/model/rnn/weight_ih_l1_reverse"));
    assert_null(strstr(out, "embedding"));
    assert_int_equal(inspect(out, sizeof out, "tag.h5"), 0);
    assert_non_null(strstr(out, "\ntask: tag, 7 classes per step\n"));
    assert_non_null(strstr(out, "\ninputs: tokens, vocab 9, embed 4\n"));
    assert_int_equal(inspect(out, sizeof out, "reg.h5"), 0);
    assert_non_null(strstr(out, "\ntask: regress, 2 output(s) per step\n"));
    assert_non_null(strstr(out, "\ndirections: 1 (forward)\n"));
    assert_int_equal(inspect(out, sizeof out, "a.h5"), 0);
    assert_non_null(strstr(out, "\ntask: lm, the next token at every step (58 outputs)\n"));
    assert_non_null(strstr(out, "\ninputs: tokens, vocab 58, embed 8\n"));

    assert_int_equal(inspect(out, sizeof out, "cls.h5 --json > cls.json"), 0);
    json_holds("cls.json", "d[\"task\"] == \"classify\" and d[\"inputs\"] == \"features\" and d[\"input_size\"] == 3"
                           " and d[\"vocab_size\"] == 0 and d[\"bidirectional\"] is True and d[\"directions\"] == 2"
                           " and d[\"merge\"] == \"concat\" and d[\"num_classes\"] == 5 and d[\"per_step\"] is False"
                           " and d[\"pooling\"] == \"mean\" and \"output_size\" not in d");
    json_holds("cls.json", "len(d[\"tensors\"]) == 18 and \"/model/rnn/bias_hh_l1_reverse\" in"
                           " [t[\"tensor\"] for t in d[\"tensors\"]]");
    assert_int_equal(inspect(out, sizeof out, "reg.h5 --json > reg.json"), 0);
    json_holds("reg.json", "d[\"task\"] == \"regress\" and d[\"output_size\"] == 2 and d[\"per_step\"] is True"
                           " and \"pooling\" not in d and \"merge\" not in d and d[\"bidirectional\"] is False");
    assert_int_equal(inspect(out, sizeof out, "tag.h5 --json > tag.json"), 0);
    json_holds("tag.json", "d[\"task\"] == \"tag\" and d[\"inputs\"] == \"tokens\" and d[\"vocab_size\"] == 9"
                           " and d[\"num_classes\"] == 7 and d[\"per_step\"] is True and d[\"directions\"] == 2");
    assert_int_equal(inspect(out, sizeof out, "a.h5 --json > lm.json"), 0);
    json_holds("lm.json", "d[\"task\"] == \"lm\" and d[\"bidirectional\"] is False and d[\"input_size\"] == 0"
                          " and \"num_classes\" not in d and \"per_step\" not in d and \"pooling\" not in d");
}

/* --diff names every architectural difference the new attributes make. */
static void test_seq_checkpoint_diff(void **state) {
    static char out[65536];
    seq_ckpt("cls.h5", CLS_ARGS);
    seq_ckpt("cls2.h5", CLS_ARGS " seed=2");
    seq_ckpt("cls_max.h5", CLS_ARGS " set_pooling=max");
    seq_ckpt("cls_sum.h5", "cell=lstm H=4 L=2 bi=1 task=classify O=5 F=3 pooling=mean set_merge=sum");
    seq_ckpt("reg5.h5", "cell=lstm H=4 L=2 bi=1 task=regress O=5 F=3 pooling=mean");
    seq_ckpt("tag.h5", TAG_ARGS);
    assert_int_equal(inspect(out, sizeof out, "--diff cls.h5 cls.h5"), 0);
    assert_int_equal(inspect(out, sizeof out, "--diff cls.h5 cls2.h5"), 1);
    assert_non_null(strstr(out, "different: 18 tensors compared, 18 different"));
    assert_int_equal(inspect(out, sizeof out, "--diff cls.h5 cls_max.h5"), 1);
    assert_string_equal(out, "different architectures: pooling mean vs max\n");
    assert_int_equal(inspect(out, sizeof out, "--diff cls.h5 reg5.h5"), 1);
    assert_string_equal(out, "different architectures: task classify vs regress; num_classes 5 vs output_size 5\n");
    assert_int_equal(inspect(out, sizeof out, "--diff cls.h5 tag.h5"), 1);
    assert_string_equal(out, "different architectures: cell lstm vs gru; task classify vs tag; inputs features vs "
                             "tokens; hidden_size 4 vs 6; num_layers 2 vs 1; num_classes 5 vs 7\n");
    assert_int_equal(inspect(out, sizeof out, "--diff a.h5 reg5.h5 --json > arch2.json"), 1);
    json_holds("arch2.json", "d[\"different_architectures\"] == \"task lm vs regress; inputs tokens vs features;"
                             " hidden_size 16 vs 4; bidirectional 0 vs 1\" and d[\"equal\"] is False");
    /* architectures are compared before any tensor is read */
    assert_int_equal(inspect(out, sizeof out, "--diff cls.h5 cls_sum.h5"), 1);
    assert_string_equal(out, "different architectures: merge concat vs sum\n");
}

/* A bad sequence checkpoint: inspect refuses it (exit 3, one message naming
 * the file and the attribute); --verify lists every violation. */
static void test_seq_checkpoint_bad(void **state) {
    static char out[65536];
    seq_ckpt("c_nonc.h5", CLS_ARGS " del_num_classes=1");
    assert_int_equal(inspect(out, sizeof out, "c_nonc.h5"), 3);
    assert_non_null(strstr(out, "c_nonc.h5: attribute 'num_classes': expected an integer in [1, 2147483647] "
                                "(task classify), found nothing (missing)"));
    assert_int_equal(count_lines(out), 1);
    seq_ckpt("c_bi2.h5", CLS_ARGS " set_bidirectional=2 set_pooling=median");
    assert_int_equal(inspect(out, sizeof out, "c_bi2.h5"), 3);
    assert_non_null(strstr(out, "c_bi2.h5: attribute 'bidirectional': expected an integer in [0, 1], found 2"));
    assert_int_equal(inspect(out, sizeof out, "--verify c_bi2.h5"), 1);
    assert_non_null(strstr(out, "violation: c_bi2.h5: attribute 'bidirectional': expected an integer in [0, 1], found 2"));
    assert_non_null(strstr(out, "violation: c_bi2.h5: attribute 'pooling': expected one of last, mean, max, found \"median\""));
    assert_non_null(strstr(out, "c_bi2.h5: 2 violation(s) of the recur-checkpoint contract"));
    seq_ckpt("c_emb.h5", CLS_ARGS " set_vocab_size=4");
    assert_int_equal(inspect(out, sizeof out, "--verify c_emb.h5 --json > emb.json"), 1);
    json_holds("emb.json", "d[\"valid\"] is False and len(d[\"violations\"]) == 1 and \"vocab_size\" in"
                           " d[\"violations\"][0] and \"expected 0 or nothing (input_size 3: feature inputs have no"
                           " embedding), found 4\" in d[\"violations\"][0]");
    assert_int_equal(inspect(out, sizeof out, "--verify cls.h5"), 0);
}

static void torch_check(const char *cell) {
    char out[8192], ck[64];
    snprintf(ck, sizeof ck, "%s.h5", cell);
    train(cell, ck);
    char script[4200];
    snprintf(script, sizeof script, "%s/scripts/torch_checkpoint.py", g_src);
    int rc = tu_run(out, sizeof out, "cd '%s' && RECUR='%s' %s '%s' %s d.h5 --split val_tokens --check", g_dir,
                    g_recur, TU_PYTHON, script, ck);
    if (rc) fprintf(stderr, "%s: %s\n", cell, out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"loss\""));
}

static void test_torch_lstm(void **state) { torch_check("lstm"); }
static void test_torch_lbr_gru(void **state) { torch_check("lbr_gru"); }
static void test_torch_rnn_tanh(void **state) { torch_check("rnn_tanh"); }
static void test_torch_gru(void **state) { torch_check("gru"); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_stats_match_numpy),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_json_document),
        cmocka_unit_test(test_jsonl_unchanged),
        cmocka_unit_test(test_diff_tolerance),
        cmocka_unit_test(test_diff_architectures),
        cmocka_unit_test(test_inspect_dataset),
        cmocka_unit_test(test_verify_good),
        cmocka_unit_test(test_verify_violations),
        cmocka_unit_test(test_verify_other_hdf5),
        cmocka_unit_test(test_verify_unreadable),
        cmocka_unit_test(test_seq_checkpoint_summary),
        cmocka_unit_test(test_seq_checkpoint_diff),
        cmocka_unit_test(test_seq_checkpoint_bad),
        cmocka_unit_test(test_torch_lstm),
        cmocka_unit_test(test_torch_lbr_gru),
        cmocka_unit_test(test_torch_rnn_tanh),
        cmocka_unit_test(test_torch_gru),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
