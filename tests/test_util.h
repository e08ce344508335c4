/* test_util.h - small helpers shared by the cmocka test binaries: run the CLI
 * under test, make scratch directories, pull numbers out of JSON lines.
 * Header-only so each test stays one file. */
#ifndef RECUR_TEST_UTIL_H
#define RECUR_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* Path of the recur binary under test (make exports RECUR). */
static inline const char *tu_recur(void) {
    const char *r = getenv("RECUR");
    return r && *r ? r : "bin/recur";
}

/* Runs `cmd` through /bin/sh with stderr merged into stdout; the output
 * (truncated to outlen-1) lands in out when out is not NULL.  Returns the exit
 * status, or 128+signal when it was killed. */
static inline int tu_run(char *out, size_t outlen, const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[8300];
    snprintf(full, sizeof full, "{ %s\n} 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = 0;
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, p)) > 0) {
        if (out && n + 1 < outlen) {
            size_t k = r < outlen - 1 - n ? r : outlen - 1 - n;
            memcpy(out + n, buf, k);
            n += k;
        }
    }
    if (out && outlen) out[n] = 0;
    int st = pclose(p);
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

/* A fresh scratch directory under $TMPDIR (or /tmp); caller frees the string. */
static inline char *tu_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/recur-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

static inline void tu_rmtree(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

static inline int tu_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The number after "key": in a JSON text, or NAN when absent. */
static inline double tu_json_number(const char *json, const char *key) {
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p) return __builtin_nan("");
    p += strlen(pat);
    while (*p == ' ') p++;
    return strtod(p, NULL);
}

/* Reads a whole file into a NUL-terminated buffer (NULL on failure). */
static inline char *tu_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t r = fread(b, 1, (size_t)n, f);
    fclose(f);
    b[r] = 0;
    if (len) *len = r;
    return b;
}

/* A token dataset (90/10 split) built by the CLI from the first `bytes` of
 * the bundled corpus, as DIR/snippet.h5 (path into out).  0 on success. */
static inline int tu_snippet_dataset(const char *dir, long bytes, char *out_path, size_t len) {
    char log[8192];
    snprintf(out_path, len, "%s/snippet.h5", dir);
    if (tu_run(log, sizeof log, "head -c %ld data/tinyshakespeare.txt > '%s/snippet.txt' && '%s' data text '%s/snippet.txt' '%s' --val-fraction 0.1",
               bytes, dir, tu_recur(), dir, out_path)) {
        fprintf(stderr, "%s\n", log);
        return -1;
    }
    return 0;
}

/* A group's scratch directory holding the snippet dataset (setup), and its
 * removal (teardown). */
static inline int tu_scratch_with_snippet(char **dir, long bytes, char *data_path, size_t len) {
    *dir = tu_tmpdir();
    return *dir ? tu_snippet_dataset(*dir, bytes, data_path, len) : -1;
}

static inline void tu_scratch_remove(char **dir) {
    if (!*dir) return;
    tu_rmtree(*dir);
    free(*dir);
    *dir = NULL;
}

/* ---- PyTorch reference cases (tests/torch_reference.py writes cases.txt) ---- */

#define TU_CASE_MAX_STEPS 64

/* One record of cases.txt: an eval case, or a training run with the
 * per-step losses and gradient norms of its following "step" lines. */
typedef struct {
    int is_train;
    char name[128];      /* case ("gru_l2") or run ("gru_l2/adam") */
    char cell[16];
    int layers;
    char data[256], model[256], expected[256];
    double eval_loss;
    int steps, batch, bptt;
    char opt[16], lr[48], clip[48], momentum[48];
    int nexp;            /* step records seen */
    double loss[TU_CASE_MAX_STEPS], grad_norm[TU_CASE_MAX_STEPS];
} tu_case;

/* The eval and train records of cases.txt, the first `max` of them; -1 when the file is missing or a line is malformed (printed). */
static inline int tu_parse_cases(const char *path, tu_case *cases, int max) {
    char *text = tu_slurp(path, NULL);
    if (!text) return -1;
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        tu_case *r = &cases[n];
        if ((!strncmp(line, "eval ", 5) || !strncmp(line, "train ", 6)) && n >= max) break;
        if (!strncmp(line, "eval ", 5)) {
            memset(r, 0, sizeof *r);
            if (sscanf(line, "eval %127s %15s %d %255s %255s %lf", r->name, r->cell, &r->layers, r->data, r->model,
                       &r->eval_loss) != 6)
                goto bad;
            n++;
        } else if (!strncmp(line, "train ", 6)) {
            memset(r, 0, sizeof *r);
            r->is_train = 1;
            if (sscanf(line, "train %127s %15s %d %255s %255s %255s %d %d %d %15s %47s %47s %47s", r->name, r->cell,
                       &r->layers, r->data, r->model, r->expected, &r->steps, &r->batch, &r->bptt, r->opt, r->lr,
                       r->clip, r->momentum) != 13 ||
                r->steps > TU_CASE_MAX_STEPS)
                goto bad;
            n++;
        } else if (!strncmp(line, "step ", 5)) {
            char run[128];
            int st;
            double lo, gn;
            if (sscanf(line, "step %127s %d %lf %lf", run, &st, &lo, &gn) != 4) goto bad;
            tu_case *t = n ? &cases[n - 1] : NULL;
            if (!t || !t->is_train || strcmp(t->name, run) || st != t->nexp + 1 || st > t->steps) goto bad;
            t->loss[t->nexp] = lo;
            t->grad_norm[t->nexp] = gn;
            t->nexp++;
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

/* Debian's interpreter, which has torch, h5py and numpy. */
#define TU_PYTHON "/usr/bin/python3"

/* The step records of DIR/NAME.jsonl (a --metrics file): each is numbered in
 * order, with a finite grad_norm, a positive lr and tokens_per_s; their
 * losses into loss[0..max-1].  Returns the number of step records. */
static inline int tu_step_losses(const char *dir, const char *name, double *loss, int max) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s.jsonl", dir, name);
    char *text = tu_slurp(path, NULL);
    assert_non_null(text);
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "\"event\"")) continue;
        assert_int_equal((int)tu_json_number(line, "step"), n + 1);
        const double g = tu_json_number(line, "grad_norm");
        assert_true(g == g && g < 1e300);
        assert_true(tu_json_number(line, "lr") > 0);
        assert_true(tu_json_number(line, "tokens_per_s") > 0);
        if (n < max) loss[n] = tu_json_number(line, "loss");
        n++;
    }
    free(text);
    return n;
}

/* DIR/A.jsonl and DIR/B.jsonl both hold `steps` step records whose losses
 * agree within a relative 1e-5 (e.g. the same run under mpirun -np 1 and 2). */
static inline void tu_same_step_losses(const char *dir, const char *a, const char *b, int steps) {
    double la[64], lb[64];
    assert_true(steps <= 64);
    assert_int_equal(tu_step_losses(dir, a, la, 64), steps);
    assert_int_equal(tu_step_losses(dir, b, lb, 64), steps);
    for (int i = 0; i < steps; i++) {
        const double d = la[i] - lb[i];
        if (!((d < 0 ? -d : d) <= 1e-5 * (la[i] < 0 ? -la[i] : la[i])))
            fail_msg("%s vs %s, step %d: loss %.9g vs %.9g", a, b, i + 1, la[i], lb[i]);
    }
}

/* Runs a command (printf-style) in DIR: it must exit with `code` and say `phrase`. */
static inline void tu_expect(const char *dir, int code, const char *phrase, const char *fmt, ...) {
    char cmd[8192], log[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    const int rc = tu_run(log, sizeof log, "cd '%s' && %s", dir, cmd);
    if (rc != code || !strstr(log, phrase)) fail_msg("%s: exit %d (expected %d), output: %s", cmd, rc, code, log);
}

#endif
