/* test_seq_reference.c - recur's sequence models (issue 9, section 4) and
 * encoder-decoders and conditional language models (issue 10) equal PyTorch's.
 *
 * tests/torch_seq_reference.py writes, into a scratch directory, for each
 * case (a 2-layer bidirectional LSTM classifier, an lbr_gru classifier with
 * mean pooling, a bidirectional rnn_tanh tagger, feature-input regression
 * with per-sequence targets and max pooling and with per-step targets, and
 * a bidirectional textbook-GRU classifier) a "recur-sequences" dataset with
 * ragged, unsorted lengths, a random initial checkpoint, and what PyTorch
 * (float32, one thread, packed sequences) computes: the eval loss of the
 * train and val splits, and for 3 SGD steps and 3 Adam steps with
 * --no-shuffle every step's loss and gradient norm and the final weights.
 * This test runs
 *   recur eval  --model init.h5 --data data.h5 --split train|val --json
 *   recur train --data data.h5 --init init.h5 --steps 3 --no-shuffle --batch B
 *               --optimizer sgd|adam --lr LR --clip 0 --out OUT.h5 --metrics M.jsonl
 * and compares:
 *   eval loss, per-step losses and gradient norms: relative 1e-4
 *   final weights: |a-b| <= 1e-5 + 1e-4*|b| for every element of every
 *     tensor under /model of the expected file; recur's /model must hold
 *     exactly those tensors (no embedding for feature inputs, _reverse
 *     tensors when bidirectional)
 *   the trained checkpoint's root attributes (cell, sizes, task,
 *     bidirectional, input_size, num_classes / output_size, pooling) equal
 *     the initial checkpoint's
 * (the generator only ships cases whose float32 truth is within half of
 * those tolerances of a float64 run, and checks that its packed batches give
 * the losses and gradients of each sequence run alone).  One cmocka test per
 * task.  Missing python/torch is a failure, not a skip.
 *
 * test_s2s (issue 10) does the same for encoder-decoders:
 * tests/torch_s2s_reference.py writes "recur-pairs" datasets (ragged,
 * unsorted sources and targets), seq2seq checkpoints and what PyTorch
 * computes for a 2-layer LSTM with a bidirectional encoder, bridge and
 * additive attention; an lbr_gru (nn.GRU) with general attention and context
 * both; an LSTM with dot attention and context input; a bidirectional 2-layer
 * lbr_gru without attention (context both); and a bidirectional rnn_tanh
 * with general attention and context input, all ending with EOS; the loss is
 * the teacher-forced cross-entropy per target token.  Its cases.txt has the
 * same format and goes through the same commands and comparisons, plus the
 * seq2seq root attributes (src_vocab_size, merge, attention, context, end).
 *
 * test_clm does the same for conditional language models (the seq2seq
 * decoder without an encoder, reference section 6), whose cases the same
 * script writes with task word "clm" and the condition in the inputs field
 * ("case <case> clm <cell> <layers> 0 label|features - <data> <init>"): a
 * "recur-sequences" classify dataset (labels, and for features a /context
 * vector per sequence) and a checkpoint with condition label (a learned
 * context/embedding) or features: a 2-layer LSTM on a label with context
 * both, an lbr_gru on features through the bridge only, an rnn_tanh on a
 * label as an input only and a 2-layer rnn_relu on features with context
 * both.  They run through `recur eval` as they are and `recur train --task
 * lm --init ...` (the condition comes from init.h5: the features datasets
 * also have labels, the default condition of a classify dataset), with the
 * same comparisons plus the root attribute condition.
 *
 * Environment: RECUR (binary under test), REFDIR (optional: generate into
 * $REFDIR/torch_seq_reference and $REFDIR/torch_s2s_reference and keep the
 * files), RECUR_SEQ_REF_SCRIPT / RECUR_S2S_REF_SCRIPT (optional: generator
 * paths), RECUR_REF_KEEP=1 (keep the scratch directories even when
 * everything passed; they are always kept, and named, after a failure).
 */
#include "test_util.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <time.h>

#define LOSS_RTOL 1e-4
#define W_ATOL 1e-5
#define W_RTOL 1e-4
#define MAX_STEPS 16
#define MAX_CASES 32
#define MAX_EVALS 4
#define MAX_RUNS 4
#define MAX_TENSORS 160

/* ---- cases.txt (format: see the top of tests/torch_seq_reference.py) ---- */

typedef struct {
    char split[16];
    double loss;
} seq_eval;

typedef struct {
    char name[192];       /* "<case>/<run>" */
    char expected[256];
    int steps, batch;
    char opt[16], lr[48], clip[48];
    int nexp;             /* step records seen */
    double loss[MAX_STEPS], grad_norm[MAX_STEPS];
} seq_run;

typedef struct {
    char name[128], task[16], cell[16], inputs[16], pooling[16];
    int layers, bidirectional;
    char data[256], init[256];
    const char *dir;      /* the generator's output directory (file names are relative to it) */
    int neval, nrun;
    seq_eval eval[MAX_EVALS];
    seq_run run[MAX_RUNS];
} seq_case;

/* The cases of cases.txt, at most `max`; -1 when the file is missing or a
 * line is malformed (printed). */
static int parse_seq_cases(const char *path, seq_case *cases, int max) {
    char *text = tu_slurp(path, NULL);
    if (!text) return -1;
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        seq_case *c = n ? &cases[n - 1] : NULL;
        if (!strncmp(line, "case ", 5)) {
            if (n >= max) goto bad;
            c = &cases[n];
            memset(c, 0, sizeof *c);
            if (sscanf(line, "case %127s %15s %15s %d %d %15s %15s %255s %255s", c->name, c->task, c->cell,
                       &c->layers, &c->bidirectional, c->inputs, c->pooling, c->data, c->init) != 9)
                goto bad;
            n++;
        } else if (!strncmp(line, "eval ", 5)) {
            char name[128];
            if (!c || c->neval >= MAX_EVALS) goto bad;
            seq_eval *e = &c->eval[c->neval];
            if (sscanf(line, "eval %127s %15s %lf", name, e->split, &e->loss) != 3 || strcmp(name, c->name))
                goto bad;
            c->neval++;
        } else if (!strncmp(line, "train ", 6)) {
            if (!c || c->nrun >= MAX_RUNS) goto bad;
            seq_run *r = &c->run[c->nrun];
            memset(r, 0, sizeof *r);
            if (sscanf(line, "train %191s %255s %d %d %15s %47s %47s", r->name, r->expected, &r->steps,
                       &r->batch, r->opt, r->lr, r->clip) != 7 ||
                r->steps < 1 || r->steps > MAX_STEPS || strncmp(r->name, c->name, strlen(c->name)) ||
                r->name[strlen(c->name)] != '/')
                goto bad;
            c->nrun++;
        } else if (!strncmp(line, "step ", 5)) {
            char run[192];
            int st;
            double lo, gn;
            if (sscanf(line, "step %191s %d %lf %lf", run, &st, &lo, &gn) != 4) goto bad;
            seq_run *r = c && c->nrun ? &c->run[c->nrun - 1] : NULL;
            if (!r || strcmp(r->name, run) || st != r->nexp + 1 || st > r->steps) goto bad;
            r->loss[r->nexp] = lo;
            r->grad_norm[r->nexp] = gn;
            r->nexp++;
        } else if (*line) {
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr, "malformed line in %s: %s\n", path, line);
        free(text);
        return -1;
    }
    free(text);
    return n;
}

/* ---- the generator --------------------------------------------------------- */

/* The two generators: tests/torch_seq_reference.py (issue 9's sequence
 * models) and tests/torch_s2s_reference.py (issue 10's encoder-decoders and
 * conditional LMs); both write cases.txt in the same format into their own
 * directory. */
typedef struct {
    const char *tag;    /* log prefix */
    const char *script; /* relative to the repository root */
    const char *env;    /* overrides the script's path */
    const char *subdir; /* under $REFDIR */
    char *dir;
    int rc;
    char out[32768];
    double seconds;
    seq_case cases[MAX_CASES];
    int ncase;
} generator;

static generator g_seq = {.tag = "seq-reference", .script = "tests/torch_seq_reference.py",
                          .env = "RECUR_SEQ_REF_SCRIPT", .subdir = "torch_seq_reference", .rc = -1};
static generator g_s2s = {.tag = "s2s-reference", .script = "tests/torch_s2s_reference.py",
                          .env = "RECUR_S2S_REF_SCRIPT", .subdir = "torch_s2s_reference", .rc = -1};
static int g_keep;
static int g_failed_tests;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The generator's script: $<env>, else relative to the working directory
 * (make runs from the repository root), else relative to this binary
 * (build/<variant>/tests/test_seq_reference). */
static void script_path(const generator *g, char *out, size_t n) {
    const char *env = getenv(g->env);
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return;
    }
    if (tu_exists(g->script)) {
        snprintf(out, n, "%s", g->script);
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
        snprintf(out, n, "%s/%s", exe, g->script);
        return;
    }
    snprintf(out, n, "%s", g->script);
}

/* Runs one generator into $REFDIR/<subdir> or a fresh scratch directory and
 * parses its cases.txt; g->rc != 0 (and g->out says why) when that failed. */
static void run_generator(generator *g, const char *refdir) {
    if (refdir && *refdir) {
        g->dir = malloc(4096);
        snprintf(g->dir, 4096, "%s/%s", refdir, g->subdir);
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g->dir);
        if (system(cmd) != 0) {
            snprintf(g->out, sizeof g->out, "cannot create %s", g->dir);
            return;
        }
    } else {
        g->dir = tu_tmpdir();
        if (!g->dir) {
            snprintf(g->out, sizeof g->out, "cannot create a scratch directory");
            return;
        }
    }
    char script[4096];
    script_path(g, script, sizeof script);
    double t0 = now_s();
    g->rc = tu_run(g->out, sizeof g->out, "timeout 600 %s '%s' '%s'", TU_PYTHON, script, g->dir);
    g->seconds = now_s() - t0;
    if (g->rc == 0) {
        char cases[4300];
        snprintf(cases, sizeof cases, "%s/cases.txt", g->dir);
        if ((g->ncase = parse_seq_cases(cases, g->cases, MAX_CASES)) <= 0) {
            g->rc = -2;
            snprintf(g->out, sizeof g->out, "%s is missing or malformed", cases);
        }
        for (int i = 0; i < g->ncase; i++) g->cases[i].dir = g->dir;
    }
    if (g->rc == 0)
        fprintf(stderr, "[%s] %s %s: %d cases in %.1f s into %s\n", g->tag, TU_PYTHON, script, g->ncase, g->seconds,
                g->dir);
}

static int group_setup(void **state) {
    (void)state;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const char *refdir = getenv("REFDIR");
    g_keep = (getenv("RECUR_REF_KEEP") && atoi(getenv("RECUR_REF_KEEP")) != 0) || (refdir && *refdir);
    run_generator(&g_seq, refdir);
    run_generator(&g_s2s, refdir);
    return 0;
}

static void drop_generator(generator *g) {
    if (!g->dir) return;
    if (g_failed_tests || g_keep || g->rc != 0)
        fprintf(stderr, "[%s] files kept in %s\n", g->tag, g->dir);
    else
        tu_rmtree(g->dir);
    free(g->dir);
    g->dir = NULL;
}

static int group_teardown(void **state) {
    (void)state;
    drop_generator(&g_seq);
    drop_generator(&g_s2s);
    return 0;
}

static void require_generator(const generator *g) {
    if (g->rc != 0) {
        g_failed_tests++;
        fail_msg("the PyTorch reference generator %s failed (status %d; needs %s with torch, h5py "
                 "and numpy):\n%s",
                 g->script, g->rc, TU_PYTHON, g->out);
    }
}

static int rel_ok(double got, double want, double rtol) {
    return isfinite(got) && fabs(got - want) <= rtol * fabs(want);
}

/* ---- HDF5 ---------------------------------------------------------------- */

/* Reads /model/<name> as float; NULL (and why) when absent or not float32. */
static float *read_tensor(hid_t file, const char *name, int *ndim, hsize_t dims[2], char *why, size_t whylen) {
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

/* The datasets under /model of a file, as paths relative to /model
 * ("rnn/weight_ih_l0_reverse"), in name order. */
typedef struct {
    int n;
    char name[MAX_TENSORS][64];
    hid_t model;
} tensor_list;

static herr_t list_cb(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    (void)info;
    tensor_list *l = data;
    hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    if (d < 0) return 0; /* a group */
    H5Dclose(d);
    if (l->n < MAX_TENSORS) snprintf(l->name[l->n++], sizeof l->name[0], "%s", name);
    return 0;
}

static int list_tensors(hid_t file, tensor_list *l) {
    l->n = 0;
    hid_t g = H5Gopen2(file, "/model", H5P_DEFAULT);
    if (g < 0) return -1;
    herr_t rc = H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, list_cb, l);
    H5Gclose(g);
    return rc < 0 ? -1 : 0;
}

static int in_list(const tensor_list *l, const char *name) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], name)) return 1;
    return 0;
}

/* A root attribute as text ("12", "lstm"); -1 when absent or unreadable. */
static int attr_text(hid_t file, const char *name, char *buf, size_t n) {
    if (H5Aexists(file, name) <= 0) return -1;
    hid_t a = H5Aopen(file, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t t = H5Aget_type(a);
    int rc = -1;
    H5T_class_t cls = H5Tget_class(t);
    if (cls == H5T_INTEGER) {
        long long v;
        if (H5Aread(a, H5T_NATIVE_LLONG, &v) >= 0) rc = snprintf(buf, n, "%lld", v) > 0 ? 0 : -1;
    } else if (cls == H5T_FLOAT) {
        double v;
        if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0) rc = snprintf(buf, n, "%.17g", v) > 0 ? 0 : -1;
    } else if (cls == H5T_STRING) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(t)); /* h5py writes UTF-8; HDF5 does not convert charsets */
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            H5Tset_size(mt, H5T_VARIABLE);
            if (H5Aread(a, mt, &s) >= 0 && s) {
                snprintf(buf, n, "%s", s);
                H5free_memory(s);
                rc = 0;
            }
        } else {
            size_t sz = H5Tget_size(t);
            char *s = calloc(sz + 1, 1);
            H5Tset_size(mt, sz + 1);
            H5Tset_strpad(mt, H5T_STR_NULLTERM);
            if (s && H5Aread(a, mt, s) >= 0) {
                snprintf(buf, n, "%s", s);
                rc = 0;
            }
            free(s);
        }
        H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

/* "[i]" or "[row,col]" for element e of a tensor with `cols` columns. */
static const char *elem_str(char *buf, size_t n, int ndim, size_t e, size_t cols) {
    if (ndim == 2)
        snprintf(buf, n, "[%zu,%zu]", e / cols, e % cols);
    else
        snprintf(buf, n, "[%zu]", e);
    return buf;
}

/* One tensor of `got` against `want`; prints violations.  0 when it matches. */
static int compare_tensor(const char *run, hid_t g, hid_t w, const char *got_path, const char *name,
                          double *worst_all) {
    char why[512];
    int gnd = 0, wnd = 0;
    hsize_t gd[2] = {0, 1}, wd[2] = {0, 1};
    float *a = read_tensor(g, name, &gnd, gd, why, sizeof why);
    if (!a) {
        fprintf(stderr, "FAIL %s: recur's output %s: %s\n", run, got_path, why);
        return 1;
    }
    float *b = read_tensor(w, name, &wnd, wd, why, sizeof why);
    if (!b) {
        fprintf(stderr, "FAIL %s: expected file: %s\n", run, why);
        free(a);
        return 1;
    }
    int bad = 0;
    if (gnd != wnd || gd[0] != wd[0] || gd[1] != wd[1]) {
        fprintf(stderr, "FAIL %s: %s shape [%llu,%llu] (rank %d), expected [%llu,%llu] (rank %d)\n", run, name,
                (unsigned long long)gd[0], (unsigned long long)gd[1], gnd, (unsigned long long)wd[0],
                (unsigned long long)wd[1], wnd);
        bad = 1;
    } else {
        size_t n = (size_t)wd[0] * (size_t)(wnd == 2 ? wd[1] : 1);
        size_t cols = wnd == 2 ? (size_t)wd[1] : 1;
        size_t nviol = 0, worst_i = 0;
        char ix[64];
        double worst = 0;
        for (size_t e = 0; e < n; e++) {
            double x = a[e], y = b[e];
            double v = fabs(x - y) / (W_ATOL + W_RTOL * fabs(y));
            if (!(v <= 1.0)) { /* also catches NaN */
                if (nviol < 3)
                    fprintf(stderr, "FAIL %s: %s%s = %.9g, expected %.9g (|diff| %.3g > %.3g)\n", run, name,
                            elem_str(ix, sizeof ix, wnd, e, cols), x, y, fabs(x - y), W_ATOL + W_RTOL * fabs(y));
                nviol++;
            }
            if (!(v <= worst)) {
                worst = isnan(v) ? INFINITY : v;
                worst_i = e;
            }
        }
        if (worst > *worst_all) *worst_all = worst;
        if (nviol) {
            fprintf(stderr,
                    "FAIL %s: %s: %zu of %zu elements out of tolerance; worst %s %.9g vs %.9g (%.3gx the "
                    "tolerance)\n",
                    run, name, nviol, n, elem_str(ix, sizeof ix, wnd, worst_i, cols), (double)a[worst_i],
                    (double)b[worst_i], worst);
            bad = 1;
        }
    }
    free(a);
    free(b);
    return bad;
}

/* The root attributes that describe the model: the trained checkpoint must
 * keep the initial one's, for those init.h5 has (vocab_size and embed_size
 * are not pinned by the contract for feature inputs; src_vocab_size, merge,
 * attention, context, end and max_len are an encoder-decoder's). */
static const char *const MODEL_ATTRS[] = {"cell", "hidden_size", "num_layers", "task", "bidirectional",
                                          "input_size", "num_classes", "output_size", "pooling",
                                          "vocab_size", "embed_size", "src_vocab_size", "merge",
                                          "attention", "context", "end", "max_len", "condition"};

static int compare_attrs(const seq_case *c, const char *run, hid_t g, hid_t init) {
    int bad = 0;
    for (size_t i = 0; i < sizeof MODEL_ATTRS / sizeof *MODEL_ATTRS; i++) {
        const char *a = MODEL_ATTRS[i];
        if (!strcmp(c->inputs, "features") && strcmp(c->task, "clm") &&
            (!strcmp(a, "vocab_size") || !strcmp(a, "embed_size")))
            continue; /* a sequence model on feature inputs (a conditional LM on features has both) */
        char want[256], got[256];
        if (H5Aexists(init, a) <= 0) continue;
        if (attr_text(init, a, want, sizeof want) < 0) {
            fprintf(stderr, "FAIL %s: cannot read root attribute %s of init.h5\n", run, a);
            bad++;
            continue;
        }
        if (attr_text(g, a, got, sizeof got) < 0) {
            fprintf(stderr, "FAIL %s: recur's checkpoint has no root attribute '%s' (init.h5: %s)\n", run, a, want);
            bad++;
        } else if (strcmp(got, want)) {
            fprintf(stderr, "FAIL %s: recur's checkpoint: root attribute %s = %s, init.h5 has %s\n", run, a, got,
                    want);
            bad++;
        }
    }
    return bad;
}

/* Every tensor of the expected file against recur's output (which must hold
 * exactly the same tensors), and the model's root attributes against
 * init.h5.  Returns the number of problems. */
static int compare_checkpoint(const seq_case *c, const char *run, const char *got_path, const char *want_path,
                              const char *init_path) {
    int bad = 0;
    hid_t g = H5Fopen(got_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (g < 0) {
        fprintf(stderr, "FAIL %s: cannot open recur's output %s as HDF5\n", run, got_path);
        return 1;
    }
    hid_t w = H5Fopen(want_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t in = H5Fopen(init_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    static tensor_list want_l, got_l;
    if (w < 0 || in < 0 || list_tensors(w, &want_l) < 0 || want_l.n == 0) {
        fprintf(stderr, "FAIL %s: cannot read the expected tensors of %s (or %s)\n", run, want_path, init_path);
        bad++;
        goto out;
    }
    if (list_tensors(g, &got_l) < 0) {
        fprintf(stderr, "FAIL %s: recur's output %s has no /model group\n", run, got_path);
        bad++;
        goto out;
    }
    for (int i = 0; i < got_l.n; i++)
        if (!in_list(&want_l, got_l.name[i])) {
            fprintf(stderr, "FAIL %s: recur's output has /model/%s, which the %s%s %s model does not have\n", run,
                    got_l.name[i], c->bidirectional ? "bidirectional " : "", c->inputs, c->task);
            bad++;
        }
    double worst = 0;
    for (int i = 0; i < want_l.n; i++) bad += compare_tensor(run, g, w, got_path, want_l.name[i], &worst);
    if (!bad)
        fprintf(stderr, "  %s: final weights ok, %d tensors (worst element %.3g of the tolerance)\n", run,
                want_l.n, worst);
    bad += compare_attrs(c, run, g, in);
out:
    if (in >= 0) H5Fclose(in);
    if (w >= 0) H5Fclose(w);
    H5Fclose(g);
    return bad;
}

/* ---- the CLI ------------------------------------------------------------- */

static int check_eval(const seq_case *c, const seq_eval *e) {
    static char out[65536];
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' eval --model '%s/%s' --data '%s/%s' --split %s --json", tu_recur(), c->dir,
             c->init, c->dir, c->data, e->split);
    int rc = tu_run(out, sizeof out, "timeout 300 %s", cmd);
    if (rc != 0) {
        fprintf(stderr, "FAIL %s eval %s: recur exited %d\n  $ %s\n%s\n", c->name, e->split, rc, cmd, out);
        return 1;
    }
    double loss = tu_json_number(out, "loss");
    if (!rel_ok(loss, e->loss, LOSS_RTOL)) {
        fprintf(stderr, "FAIL %s eval %s: loss %.9g, PyTorch %.9g (rel %.3g > %g)\n  $ %s\n%s\n", c->name, e->split,
                loss, e->loss, fabs(loss - e->loss) / fabs(e->loss), LOSS_RTOL, cmd, out);
        return 1;
    }
    fprintf(stderr, "  %s eval %s: loss %.7f vs %.7f ok\n", c->name, e->split, loss, e->loss);
    return 0;
}

static int check_metrics(const seq_run *r, const char *metrics, const char *cmd) {
    char *text = tu_slurp(metrics, NULL);
    if (!text) {
        fprintf(stderr, "FAIL %s: no metrics file %s\n  $ %s\n", r->name, metrics, cmd);
        return 1;
    }
    int bad = 0, seen = 0;
    double lr = strtod(r->lr, NULL), worst_lrel = 0, worst_grel = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strchr(line, '{') || strstr(line, "\"event\"")) continue;
        double step = tu_json_number(line, "step");
        double loss = tu_json_number(line, "loss");
        double gn = tu_json_number(line, "grad_norm");
        double mlr = tu_json_number(line, "lr");
        double tps = tu_json_number(line, "tokens_per_s");
        if (seen >= r->steps) {
            fprintf(stderr, "FAIL %s: more than %d step lines in the metrics: %s\n", r->name, r->steps, line);
            bad++;
            break;
        }
        if (step != seen + 1) {
            fprintf(stderr, "FAIL %s: metrics line %d has step %g, expected %d: %s\n", r->name, seen + 1, step,
                    seen + 1, line);
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
        if (!rel_ok(loss, r->loss[seen], LOSS_RTOL) || !rel_ok(gn, r->grad_norm[seen], LOSS_RTOL)) {
            fprintf(stderr,
                    "FAIL %s step %d: loss %.9g vs PyTorch %.9g (rel %.3g), grad_norm %.9g vs PyTorch %.9g "
                    "(rel %.3g)\n",
                    r->name, seen + 1, loss, r->loss[seen], lrel, gn, r->grad_norm[seen], grel);
            bad++;
        }
        seen++;
    }
    free(text);
    if (seen < r->steps) {
        fprintf(stderr, "FAIL %s: %d step lines in the metrics, expected %d\n", r->name, seen, r->steps);
        bad++;
    }
    if (!bad)
        fprintf(stderr, "  %s: %d step losses and grad norms ok (max rel %.2g, %.2g)\n", r->name, r->steps,
                worst_lrel, worst_grel);
    return bad;
}

static int check_train(const seq_case *c, const seq_run *r) {
    static char out[65536];
    char tag[200], out_h5[4400], metrics[4400];
    snprintf(tag, sizeof tag, "%s", r->name);
    for (char *p = tag; *p; p++)
        if (*p == '/') *p = '_';
    snprintf(out_h5, sizeof out_h5, "%s/recur_%s.h5", c->dir, tag);
    snprintf(metrics, sizeof metrics, "%s/recur_%s.jsonl", c->dir, tag);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "'%s' train --data '%s/%s'%s --init '%s/%s' --steps %d --no-shuffle --batch %d --optimizer %s --lr %s "
             "--clip %s --out '%s' --metrics '%s'",
             tu_recur(), c->dir, c->data, strcmp(c->task, "clm") ? "" : " --task lm", c->dir, c->init, r->steps,
             r->batch, r->opt, r->lr, r->clip, out_h5, metrics);
    if (r->nexp != r->steps) {
        fprintf(stderr, "FAIL %s: generator wrote %d of %d step records\n", r->name, r->nexp, r->steps);
        return 1;
    }
    unlink(metrics); /* a rerun with REFDIR must not append to an old file */
    int rc = tu_run(out, sizeof out, "timeout 300 %s", cmd);
    if (rc != 0) {
        fprintf(stderr, "FAIL %s: recur exited %d\n  $ %s\n%s\n", r->name, rc, cmd, out);
        return 1;
    }
    int bad = check_metrics(r, metrics, cmd);
    char want[4400], init[4400];
    snprintf(want, sizeof want, "%s/%s", c->dir, r->expected);
    snprintf(init, sizeof init, "%s/%s", c->dir, c->init);
    bad += compare_checkpoint(c, r->name, out_h5, want, init);
    if (bad) fprintf(stderr, "  (reproduce: %s)\n", cmd);
    return bad;
}

/* One line about a case: the sequence models' options from cases.txt, an
 * encoder-decoder's or a conditional LM's from its init.h5 (attention,
 * context, end). */
static void describe_case(const generator *g, const seq_case *c) {
    const int clm = !strcmp(c->task, "clm");
    if (strcmp(c->task, "seq2seq") && !clm) {
        fprintf(stderr, "[%s] %s: %s%s, %d layer(s), %s inputs, pooling %s\n", g->tag, c->name,
                c->bidirectional ? "bidirectional " : "", c->cell, c->layers, c->inputs, c->pooling);
        return;
    }
    char path[4400], att[64] = "?", ctx[64] = "?", end[64] = "?";
    snprintf(path, sizeof path, "%s/%s", c->dir, c->init);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
        attr_text(f, "attention", att, sizeof att);
        attr_text(f, "context", ctx, sizeof ctx);
        attr_text(f, "end", end, sizeof end);
        H5Fclose(f);
    }
    if (clm)
        fprintf(stderr, "[%s] %s: conditional LM, %s, %d layer(s), condition %s, context %s, end %s\n", g->tag, c->name,
                c->cell, c->layers, c->inputs, ctx, end);
    else
        fprintf(stderr, "[%s] %s: %s, %d layer(s), %s encoder, attention %s, context %s, end %s\n", g->tag, c->name,
                c->cell, c->layers, c->bidirectional ? "bidirectional" : "one-direction", att, ctx, end);
}

static void run_task(generator *g, const char *task) {
    require_generator(g);
    int bad = 0, checked = 0;
    double t0 = now_s();
    for (int i = 0; i < g->ncase; i++) {
        const seq_case *c = &g->cases[i];
        if (strcmp(c->task, task)) continue;
        describe_case(g, c);
        if (c->neval == 0 || c->nrun == 0) {
            fprintf(stderr, "FAIL %s: the generator wrote %d eval and %d train records\n", c->name, c->neval,
                    c->nrun);
            bad++;
        }
        for (int e = 0; e < c->neval; e++) bad += check_eval(c, &c->eval[e]);
        for (int r = 0; r < c->nrun; r++) bad += check_train(c, &c->run[r]);
        checked++;
    }
    fprintf(stderr, "[%s] %s: %d cases checked in %.1f s\n", g->tag, task, checked, now_s() - t0);
    if (checked == 0) {
        g_failed_tests++;
        fail_msg("no reference cases for task %s", task);
    }
    if (bad) {
        g_failed_tests++;
        fail_msg("%s: %d mismatches against PyTorch (details above; files in %s)", task, bad, g->dir);
    }
}

/* Every case of a generator belongs to one of `tasks` (a test below checks it). */
static void check_tasks(const generator *g, const char *const *tasks, int ntasks) {
    for (int i = 0; i < g->ncase; i++) {
        int known = 0;
        for (int k = 0; k < ntasks; k++) known |= !strcmp(g->cases[i].task, tasks[k]);
        if (!known) {
            g_failed_tests++;
            fail_msg("%s: case %s has task '%s', which no test here checks", g->script, g->cases[i].name,
                     g->cases[i].task);
        }
    }
}

static void test_generator(void **state) {
    (void)state;
    require_generator(&g_seq);
    fprintf(stderr, "[%s] generator took %.1f s:\n%s", g_seq.tag, g_seq.seconds, g_seq.out);
    static const char *const tasks[] = {"classify", "tag", "regress"};
    check_tasks(&g_seq, tasks, 3);
}
static void test_classify(void **state) { (void)state; run_task(&g_seq, "classify"); }
static void test_tag(void **state) { (void)state; run_task(&g_seq, "tag"); }
static void test_regress(void **state) { (void)state; run_task(&g_seq, "regress"); }

/* Issue 10: encoder-decoders (tests/torch_s2s_reference.py) through the same
 * eval and train commands and the same comparisons. */
static void test_s2s(void **state) {
    (void)state;
    require_generator(&g_s2s);
    fprintf(stderr, "[%s] generator took %.1f s:\n%s", g_s2s.tag, g_s2s.seconds, g_s2s.out);
    static const char *const tasks[] = {"seq2seq", "clm"};
    check_tasks(&g_s2s, tasks, 2);
    run_task(&g_s2s, "seq2seq");
}

/* Reference section 6: conditional language models from the same script,
 * through eval and train --task lm --init. */
static void test_clm(void **state) { (void)state; run_task(&g_s2s, "clm"); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_tag),
        cmocka_unit_test(test_regress),
        cmocka_unit_test(test_s2s),
        cmocka_unit_test(test_clm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
