/* test_reference.c - recur's numbers equal PyTorch's.
 *
 * tests/torch_reference.py writes, into a scratch directory, token files,
 * random initial checkpoints and what PyTorch (float32, one thread) computes
 * for them: the eval loss, and for TBPTT training runs (SGD and Adam, each
 * with and without gradient clipping) every step's loss and gradient norm and
 * the final weights.  This test runs `recur eval` / `recur train` on the same
 * inputs and compares:
 *   eval loss and per-step losses / gradient norms: relative 1e-4
 *   final weights: |a-b| <= 1e-5 + 1e-4*|b| for every element of every tensor
 * (the generator only ships cases whose own float32 truth is within half of
 * those tolerances of a float64 run).  One cmocka test per cell, covering
 * layers 1 and 2.  Missing python/torch is a failure, not a skip.
 *
 * Environment: RECUR (binary under test), REFDIR (optional: generate there
 * and keep the files), RECUR_REF_SCRIPT (optional: generator path),
 * RECUR_REF_KEEP=1 (keep the scratch directory even when everything passed;
 * it is always kept, and named, after a failure).
 */
#include "test_util.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <time.h>

#define LOSS_RTOL 1e-4
#define W_ATOL 1e-5
#define W_RTOL 1e-4
#define MAX_STEPS TU_CASE_MAX_STEPS
#define MAX_RECORDS 256

typedef tu_case record;

static char *g_dir;
static int g_keep;
static int g_gen_rc = -1;
static char g_gen_out[32768];
static double g_gen_seconds;
static record g_rec[MAX_RECORDS];
static int g_nrec;
static int g_failed_tests;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* tests/torch_reference.py: $RECUR_REF_SCRIPT, else relative to the working
 * directory (make runs from the repository root), else relative to this
 * binary (build/<variant>/tests/test_reference). */
static void script_path(char *out, size_t n) {
    const char *env = getenv("RECUR_REF_SCRIPT");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return;
    }
    if (tu_exists("tests/torch_reference.py")) {
        snprintf(out, n, "tests/torch_reference.py");
        return;
    }
    char exe[2048];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        for (int up = 0; up < 4; up++) {
            char *s = strrchr(exe, '/');
            if (!s) break;
            *s = 0;
        }
        snprintf(out, n, "%s/tests/torch_reference.py", exe);
        return;
    }
    snprintf(out, n, "tests/torch_reference.py");
}

static int group_setup(void **state) {
    (void)state;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const char *refdir = getenv("REFDIR");
    g_keep = getenv("RECUR_REF_KEEP") && atoi(getenv("RECUR_REF_KEEP")) != 0;
    if (refdir && *refdir) {
        g_dir = malloc(4096);
        snprintf(g_dir, 4096, "%s/torch_reference", refdir);
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
        if (system(cmd) != 0) {
            snprintf(g_gen_out, sizeof g_gen_out, "cannot create %s", g_dir);
            return 0;
        }
        g_keep = 1;
    } else {
        g_dir = tu_tmpdir();
        if (!g_dir) {
            snprintf(g_gen_out, sizeof g_gen_out, "cannot create a scratch directory");
            return 0;
        }
    }
    char script[4096];
    script_path(script, sizeof script);
    double t0 = now_s();
    g_gen_rc = tu_run(g_gen_out, sizeof g_gen_out, "timeout 600 %s '%s' '%s'", TU_PYTHON, script,
                      g_dir);
    g_gen_seconds = now_s() - t0;
    if (g_gen_rc == 0) {
        char cases[4300];
        snprintf(cases, sizeof cases, "%s/cases.txt", g_dir);
        if ((g_nrec = tu_parse_cases(cases, g_rec, MAX_RECORDS)) <= 0) {
            g_gen_rc = -2;
            snprintf(g_gen_out, sizeof g_gen_out, "%s is missing or malformed", cases);
        }
    }
    if (g_gen_rc == 0)
        fprintf(stderr, "[reference] %s %s: %d records in %.1f s into %s\n", TU_PYTHON, script,
                g_nrec, g_gen_seconds, g_dir);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    if (g_dir) {
        if (g_failed_tests || g_keep || g_gen_rc != 0)
            fprintf(stderr, "[reference] files kept in %s\n", g_dir);
        else
            tu_rmtree(g_dir);
        free(g_dir);
    }
    return 0;
}

static void require_generator(void) {
    if (g_gen_rc != 0) {
        g_failed_tests++;
        fail_msg("the PyTorch reference generator failed (status %d; needs %s with torch, h5py "
                 "and numpy):\n%s",
                 g_gen_rc, TU_PYTHON, g_gen_out);
    }
}

static int rel_ok(double got, double want, double rtol) {
    return isfinite(got) && fabs(got - want) <= rtol * fabs(want);
}

/* ---- HDF5 ---------------------------------------------------------------- */

/* Reads /model/<name> as float; NULL (and why) when absent or not float32. */
static float *read_tensor(hid_t file, const char *name, int *ndim, hsize_t dims[2], char *why,
                          size_t whylen) {
    char path[256];
    snprintf(path, sizeof path, "/model/%s", name);
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0) {
        snprintf(why, whylen, "dataset %s missing", path);
        return NULL;
    }
    float *buf = NULL;
    hid_t t = H5Dget_type(d);
    hid_t sp = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(sp);
    if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 4) {
        snprintf(why, whylen, "%s is not float32", path);
    } else if (nd < 1 || nd > 2) {
        snprintf(why, whylen, "%s has rank %d", path, nd);
    } else {
        dims[1] = 1;
        H5Sget_simple_extent_dims(sp, dims, NULL);
        *ndim = nd;
        size_t n = (size_t)dims[0] * (size_t)(nd == 2 ? dims[1] : 1);
        buf = malloc((n ? n : 1) * sizeof *buf);
        if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            snprintf(why, whylen, "%s: read failed", path);
            free(buf);
            buf = NULL;
        }
    }
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(d);
    return buf;
}

/* Every element of every tensor of `got` against `want`; prints each
 * violating tensor (count, worst element, first few violations).  Returns the
 * number of problems. */
/* "[i]" or "[row,col]" for element e of a tensor with `cols` columns. */
static const char *elem_str(char *buf, size_t n, int ndim, size_t e, size_t cols) {
    if (ndim == 2)
        snprintf(buf, n, "[%zu,%zu]", e / cols, e % cols);
    else
        snprintf(buf, n, "[%zu]", e);
    return buf;
}

static int compare_weights(const char *run, const char *got_path, const char *want_path,
                           int layers) {
    int bad = 0;
    hid_t g = H5Fopen(got_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (g < 0) {
        fprintf(stderr, "FAIL %s: cannot open recur's output %s as HDF5\n", run, got_path);
        return 1;
    }
    hid_t w = H5Fopen(want_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (w < 0) {
        H5Fclose(g);
        fprintf(stderr, "FAIL %s: cannot open expected %s\n", run, want_path);
        return 1;
    }
    char names[3 + 4 * 16][48];
    int nt = 0;
    snprintf(names[nt++], 48, "embedding/weight");
    for (int k = 0; k < layers && k < 16; k++) {
        snprintf(names[nt++], 48, "rnn/weight_ih_l%d", k);
        snprintf(names[nt++], 48, "rnn/weight_hh_l%d", k);
        snprintf(names[nt++], 48, "rnn/bias_ih_l%d", k);
        snprintf(names[nt++], 48, "rnn/bias_hh_l%d", k);
    }
    snprintf(names[nt++], 48, "head/weight");
    snprintf(names[nt++], 48, "head/bias");
    double worst_all = 0;
    for (int i = 0; i < nt; i++) {
        char why[512];
        int gnd = 0, wnd = 0;
        hsize_t gd[2] = {0, 1}, wd[2] = {0, 1};
        float *a = read_tensor(g, names[i], &gnd, gd, why, sizeof why);
        if (!a) {
            fprintf(stderr, "FAIL %s: recur's output %s: %s\n", run, got_path, why);
            bad++;
            continue;
        }
        float *b = read_tensor(w, names[i], &wnd, wd, why, sizeof why);
        if (!b) {
            fprintf(stderr, "FAIL %s: expected file: %s\n", run, why);
            free(a);
            bad++;
            continue;
        }
        if (gnd != wnd || gd[0] != wd[0] || gd[1] != wd[1]) {
            fprintf(stderr, "FAIL %s: %s shape [%llu,%llu] (rank %d), expected [%llu,%llu] (rank %d)\n",
                    run, names[i], (unsigned long long)gd[0], (unsigned long long)gd[1], gnd,
                    (unsigned long long)wd[0], (unsigned long long)wd[1], wnd);
            free(a);
            free(b);
            bad++;
            continue;
        }
        size_t n = (size_t)wd[0] * (size_t)(wnd == 2 ? wd[1] : 1);
        size_t cols = wnd == 2 ? (size_t)wd[1] : 1;
        size_t nviol = 0, worst_i = 0;
        char ix[64];
        double worst = 0;
        for (size_t e = 0; e < n; e++) {
            double x = a[e], y = b[e];
            double v = fabs(x - y) / (W_ATOL + W_RTOL * fabs(y));
            if (!(v <= 1.0)) {  /* also catches NaN */
                if (nviol < 3)
                    fprintf(stderr, "FAIL %s: %s%s = %.9g, expected %.9g (|diff| %.3g > %.3g)\n",
                            run, names[i], elem_str(ix, sizeof ix, wnd, e, cols), x, y, fabs(x - y),
                            W_ATOL + W_RTOL * fabs(y));
                nviol++;
            }
            if (!(v <= worst)) {
                worst = isnan(v) ? INFINITY : v;
                worst_i = e;
            }
        }
        if (worst > worst_all) worst_all = worst;
        if (nviol) {
            fprintf(stderr, "FAIL %s: %s: %zu of %zu elements out of tolerance; worst %s "
                    "%.9g vs %.9g (%.3gx the tolerance)\n",
                    run, names[i], nviol, n, elem_str(ix, sizeof ix, wnd, worst_i, cols), (double)a[worst_i],
                    (double)b[worst_i], worst);
            bad++;
        }
        free(a);
        free(b);
    }
    H5Fclose(g);
    H5Fclose(w);
    if (!bad)
        fprintf(stderr, "  %s: final weights ok (worst element %.3g of the tolerance)\n", run,
                worst_all);
    return bad;
}

/* ---- the CLI ------------------------------------------------------------- */

static int check_eval(const record *r) {
    static char out[65536];
    int rc = tu_run(out, sizeof out, "timeout 300 '%s' eval --model '%s/%s' --data '%s/%s' --streams 1 --json",
                    tu_recur(), g_dir, r->model, g_dir, r->data);
    if (rc != 0) {
        fprintf(stderr, "FAIL %s eval: recur exited %d:\n%s\n", r->name, rc, out);
        return 1;
    }
    double loss = tu_json_number(out, "loss");
    if (!rel_ok(loss, r->eval_loss, LOSS_RTOL)) {
        fprintf(stderr, "FAIL %s eval: loss %.9g, PyTorch %.9g (rel %.3g > %g)\n%s\n", r->name,
                loss, r->eval_loss, fabs(loss - r->eval_loss) / fabs(r->eval_loss), LOSS_RTOL, out);
        return 1;
    }
    fprintf(stderr, "  %s eval: loss %.7f vs %.7f ok\n", r->name, loss, r->eval_loss);
    return 0;
}

static int check_train(const record *r) {
    static char out[65536];
    char tag[128], out_h5[4400], metrics[4400];
    snprintf(tag, sizeof tag, "%s", r->name);
    for (char *c = tag; *c; c++)
        if (*c == '/') *c = '_';
    snprintf(out_h5, sizeof out_h5, "%s/recur_%s.h5", g_dir, tag);
    snprintf(metrics, sizeof metrics, "%s/recur_%s.jsonl", g_dir, tag);
    char cmd[16384], mom[80] = "";
    if (strtod(r->momentum, NULL) != 0.0) snprintf(mom, sizeof mom, " --momentum %s", r->momentum);
    snprintf(cmd, sizeof cmd,
             "'%s' train --data '%s/%s' --init '%s/%s' --batch %d --bptt %d --steps %d "
             "--optimizer %s --lr %s --clip %s%s --out '%s' --metrics '%s'",
             tu_recur(), g_dir, r->data, g_dir, r->model, r->batch, r->bptt, r->steps, r->opt,
             r->lr, r->clip, mom, out_h5, metrics);
    if (r->nexp != r->steps) {
        fprintf(stderr, "FAIL %s: generator wrote %d of %d step records\n", r->name, r->nexp,
                r->steps);
        return 1;
    }
    int rc = tu_run(out, sizeof out, "timeout 300 %s", cmd);
    if (rc != 0) {
        fprintf(stderr, "FAIL %s: recur exited %d\n  $ %s\n%s\n", r->name, rc, cmd, out);
        return 1;
    }
    int bad = 0;
    char *text = tu_slurp(metrics, NULL);
    if (!text) {
        fprintf(stderr, "FAIL %s: no metrics file %s\n  $ %s\n", r->name, metrics, cmd);
        return 1;
    }
    double lr = strtod(r->lr, NULL);
    int seen = 0;
    double worst_lrel = 0, worst_grel = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strchr(line, '{') || strstr(line, "\"event\"")) continue;
        double step = tu_json_number(line, "step");
        double loss = tu_json_number(line, "loss");
        double gn = tu_json_number(line, "grad_norm");
        double mlr = tu_json_number(line, "lr");
        double tps = tu_json_number(line, "tokens_per_s");
        if (seen >= r->steps) {
            fprintf(stderr, "FAIL %s: more than %d step lines in the metrics: %s\n", r->name,
                    r->steps, line);
            bad++;
            break;
        }
        if (step != seen + 1) {
            fprintf(stderr, "FAIL %s: metrics line %d has step %g, expected %d: %s\n", r->name,
                    seen + 1, step, seen + 1, line);
            bad++;
        }
        if (isnan(tps)) {
            fprintf(stderr, "FAIL %s step %d: no \"tokens_per_s\" in %s\n", r->name, seen + 1, line);
            bad++;
        }
        if (!rel_ok(mlr, lr, 1e-6)) {
            fprintf(stderr, "FAIL %s step %d: lr %.9g, expected %.9g\n", r->name, seen + 1, mlr, lr);
            bad++;
        }
        double lrel = fabs(loss - r->loss[seen]) / fabs(r->loss[seen]);
        double grel = fabs(gn - r->grad_norm[seen]) / fabs(r->grad_norm[seen]);
        if (lrel > worst_lrel) worst_lrel = lrel;
        if (grel > worst_grel) worst_grel = grel;
        int lok = rel_ok(loss, r->loss[seen], LOSS_RTOL);
        int gok = rel_ok(gn, r->grad_norm[seen], LOSS_RTOL);
        if (!lok || !gok) {
            fprintf(stderr, "FAIL %s step %d: loss %.9g vs PyTorch %.9g (rel %.3g), grad_norm %.9g "
                    "vs PyTorch %.9g (rel %.3g)\n",
                    r->name, seen + 1, loss, r->loss[seen],
                    fabs(loss - r->loss[seen]) / fabs(r->loss[seen]), gn, r->grad_norm[seen],
                    fabs(gn - r->grad_norm[seen]) / fabs(r->grad_norm[seen]));
            bad++;
        }
        seen++;
    }
    free(text);
    if (seen < r->steps) {
        fprintf(stderr, "FAIL %s: %d step lines in the metrics, expected %d\n", r->name, seen,
                r->steps);
        bad++;
    }
    if (!bad)
        fprintf(stderr, "  %s: %d step losses and grad norms ok (max rel %.2g, %.2g)\n", r->name,
                r->steps, worst_lrel, worst_grel);
    char want[4400];
    snprintf(want, sizeof want, "%s/%s", g_dir, r->expected);
    bad += compare_weights(r->name, out_h5, want, r->layers);
    if (bad) fprintf(stderr, "  (reproduce: %s)\n", cmd);
    return bad;
}

static void run_cell(const char *cell) {
    require_generator();
    int bad = 0, checked = 0;
    double t0 = now_s();
    for (int i = 0; i < g_nrec; i++) {
        const record *r = &g_rec[i];
        if (strcmp(r->cell, cell)) continue;
        bad += r->is_train ? check_train(r) : check_eval(r);
        checked++;
    }
    fprintf(stderr, "[reference] %s: %d cases checked in %.1f s\n", cell, checked, now_s() - t0);
    if (checked == 0) {
        g_failed_tests++;
        fail_msg("no reference cases for cell %s", cell);
    }
    if (bad) {
        g_failed_tests++;
        fail_msg("%s: %d mismatches against PyTorch (details above; files in %s)", cell, bad,
                 g_dir);
    }
}

static void test_generator(void **state) {
    (void)state;
    require_generator();
    fprintf(stderr, "[reference] generator took %.1f s:\n%s", g_gen_seconds, g_gen_out);
}
static void test_rnn_tanh(void **state) { (void)state; run_cell("rnn_tanh"); }
static void test_rnn_relu(void **state) { (void)state; run_cell("rnn_relu"); }
static void test_lstm(void **state) { (void)state; run_cell("lstm"); }
static void test_gru(void **state) { (void)state; run_cell("gru"); }
static void test_lbr_gru(void **state) { (void)state; run_cell("lbr_gru"); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_rnn_tanh),
        cmocka_unit_test(test_rnn_relu),
        cmocka_unit_test(test_lstm),
        cmocka_unit_test(test_gru),
        cmocka_unit_test(test_lbr_gru),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
