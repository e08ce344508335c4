/* test_mpi.c - data-parallel training under mpirun (Open MPI).
 *
 *   rank_equivalence    R = 1, 2, 4 (btl self,vader): same per-step losses
 *                       (rel 1e-5), final weights and carried states of every
 *                       stream (|a-b| <= 1e-5 + 1e-4|b|) for lstm, gru, lbr_gru
 *   tcp_transport       the same for R = 1 vs R = 2 over --mca btl tcp,self
 *   batch_not_divisible B=6 on 4 ranks: exit 2 naming --batch and the rank
 *                       count, before any output
 *   torch_reference     tests/torch_reference.py's training runs under
 *                       -np 2 and -np 4 (every run whose B divides): losses and
 *                       grad norms rel 1e-4, weights 1e-5 + 1e-4 rel
 *   sigterm_rank        SIGTERM to rank 1: exit 0 within 10 s, checkpoint with
 *                       0 < step < 100000, "interrupted" in the metrics
 *   sigterm_mpirun      the same with SIGTERM to mpirun itself
 *                       (--mca odls_base_sigkill_timeout 30)
 *   kill9_rank          SIGKILL to rank 1: the job ends non-zero within 10 s,
 *                       the periodic checkpoint still loads and evaluates
 *
 * Every mpirun runs under `timeout`, and the signal tests poll against a
 * deadline and SIGKILL what they started, so nothing can hang CI.
 */
#include "test_util.h"

#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <time.h>

#include "../io/checkpoint.h"

#define W_ATOL 1e-5
#define W_RTOL 1e-4
#define MAX_STEPS 64

static char *dir;
static char data_h5[4200];

/* snprintf that truncates silently (paths here are far below the buffer sizes). */
static void sfmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sfmt(char *buf, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int setup(void **state) {
    (void)state;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return tu_scratch_with_snippet(&dir, 40000, data_h5, sizeof data_h5);
}

static int teardown(void **state) {
    (void)state;
    tu_scratch_remove(&dir);
    return 0;
}

/* ---- running jobs ---------------------------------------------------------- */

/* `timeout ... mpirun --oversubscribe <mca> -np <np> <recur> <args>` */
static void mpirun_cmd(char *buf, size_t n, int np, const char *mca, const char *args) {
    sfmt(buf, n, "timeout -k 5 60 mpirun --oversubscribe %s -np %d '%s' %s", mca, np, tu_recur(), args);
}

typedef struct {
    char cmd[8192];
    char log[4400];    /* stdout+stderr of the command */
    int rc;
} job;

/* Runs the jobs, `par` at a time (the ranks mostly wait on each other, so a
 * few jobs side by side keep 2 cores busy); sets each rc.  Returns the number
 * of jobs that exited non-zero (and prints their logs). */
static int run_jobs(job *jobs, int n, int par) {
#if defined(__SANITIZE_ADDRESS__)
    /* sanitized ranks are CPU-bound (LSan's slow unwinding): side by side
     * they only slow each other down */
    if (par > 2) par = 2;
#endif
    static int batch;
    char list[4400];
    sfmt(list, sizeof list, "%s/jobs%d.txt", dir, batch++);
    FILE *f = fopen(list, "w");
    if (!f) fail_msg("cannot write %s", list);
    for (int i = 0; i < n; i++) {
        sfmt(jobs[i].log, sizeof jobs[i].log, "%s/job%d_%d.log", dir, batch, i);
        if (strchr(jobs[i].cmd, '\n')) fail_msg("job command with a newline");
        fprintf(f, "%s > %s 2>&1; echo $? >> %s\n", jobs[i].cmd, jobs[i].log, jobs[i].log);
    }
    fclose(f);
    char out[4096];
    int rc = tu_run(out, sizeof out, "timeout 600 xargs -P %d -d '\\n' -n 1 sh -c < %s", par, list);
    (void)rc; /* xargs exits 123 when any job failed: the per-job status decides */
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char *text = tu_slurp(jobs[i].log, NULL);
        jobs[i].rc = -1;
        if (text) {
            /* the status is the last line */
            size_t len = strlen(text);
            while (len && text[len - 1] == '\n') text[--len] = 0;
            char *last = strrchr(text, '\n');
            jobs[i].rc = atoi(last ? last + 1 : text);
        }
        if (jobs[i].rc != 0) {
            fprintf(stderr, "FAIL: exit %d\n  $ %s\n%s\n", jobs[i].rc, jobs[i].cmd, text ? text : "(no log)");
            bad++;
        }
        free(text);
    }
    return bad;
}

/* ---- metrics and checkpoints ----------------------------------------------- */

/* Step lines of a metrics file: loss and grad_norm of steps 1..n (n returned,
 * -1 when the file is missing or a step number is out of order). */
static int read_metrics(const char *path, double *loss, double *gn, int max) {
    char *text = tu_slurp(path, NULL);
    if (!text) return -1;
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "\"event\"") || !strstr(line, "\"loss\"")) continue;
        if (n >= max || (int)tu_json_number(line, "step") != n + 1) {
            fprintf(stderr, "%s: unexpected step line %s\n", path, line);
            n = -1;
            break;
        }
        loss[n] = tu_json_number(line, "loss");
        gn[n] = tu_json_number(line, "grad_norm");
        n++;
    }
    free(text);
    return n;
}

static int rel_ok(double got, double want, double rtol) {
    return isfinite(got) && fabs(got - want) <= rtol * fabs(want);
}

/* |a-b| <= W_ATOL + W_RTOL*|b| for n floats; prints the first violations and
 * a summary.  Returns 1 on any violation. */
static int close_floats(const char *what, const char *name, const float *a, const float *b, size_t n) {
    size_t nviol = 0, worst_i = 0;
    double worst = 0;
    for (size_t e = 0; e < n; e++) {
        double v = fabs((double)a[e] - (double)b[e]) / (W_ATOL + W_RTOL * fabs((double)b[e]));
        if (!(v <= 1.0)) {
            if (nviol < 3)
                fprintf(stderr, "FAIL %s: %s[%zu] = %.9g, expected %.9g\n", what, name, e, (double)a[e],
                        (double)b[e]);
            nviol++;
        }
        if (!(v <= worst)) {
            worst = isnan(v) ? INFINITY : v;
            worst_i = e;
        }
    }
    if (nviol)
        fprintf(stderr, "FAIL %s: %s: %zu of %zu elements out of tolerance; worst [%zu] %.9g vs %.9g (%.3gx)\n",
                what, name, nviol, n, worst_i, (double)a[worst_i], (double)b[worst_i], worst);
    return nviol != 0;
}

/* Compares checkpoint `got` with `want`: every /model tensor (by name), and
 * when `states` the carried /state/h (and /state/c) of all streams.  Returns
 * the number of problems (printed). */
static int compare_checkpoints(const char *what, const char *got, const char *want, int states) {
    checkpoint_in a, b;
    recur_err err = {0};
    if (checkpoint_load(got, &a, &err)) {
        fprintf(stderr, "FAIL %s: %s\n", what, err.msg);
        return 1;
    }
    if (checkpoint_load(want, &b, &err)) {
        fprintf(stderr, "FAIL %s: %s\n", what, err.msg);
        checkpoint_in_free(&a);
        return 1;
    }
    int bad = 0;
    if (a.m.num_tensors != b.m.num_tensors || a.m.num_params != b.m.num_params) {
        fprintf(stderr, "FAIL %s: %d tensors / %zu parameters, expected %d / %zu\n", what, a.m.num_tensors,
                a.m.num_params, b.m.num_tensors, b.m.num_params);
        bad++;
    }
    for (int i = 0; i < b.m.num_tensors && !bad; i++) {
        const tensor_info *tb = &b.m.tensors[i];
        int j = model_find_tensor(&a.m, tb->name);
        if (j < 0 || a.m.tensors[j].count != tb->count) {
            fprintf(stderr, "FAIL %s: tensor %s missing or of another size\n", what, tb->name);
            bad++;
            continue;
        }
        bad += close_floats(what, tb->name, a.m.params + a.m.tensors[j].offset, b.m.params + tb->offset,
                            tb->count);
    }
    if (states) {
        size_t n = (size_t)b.m.cfg.num_layers * (size_t)b.streams * (size_t)b.m.cfg.hidden_size;
        if (!a.state_h || !b.state_h || a.streams != b.streams || a.streams <= 0) {
            fprintf(stderr, "FAIL %s: /state/h missing or of another size (%d vs %d streams)\n", what,
                    a.streams, b.streams);
            bad++;
        } else {
            bad += close_floats(what, "/state/h", a.state_h, b.state_h, n);
            if (b.m.cfg.cell == CELL_LSTM) {
                if (!a.state_c || !b.state_c) {
                    fprintf(stderr, "FAIL %s: /state/c missing\n", what);
                    bad++;
                } else {
                    bad += close_floats(what, "/state/c", a.state_c, b.state_c, n);
                }
            } else if (a.state_c) {
                fprintf(stderr, "FAIL %s: /state/c written for a %s\n", what, cell_name(a.m.cfg.cell));
                bad++;
            }
        }
        if (a.step != b.step || a.tokens_seen != b.tokens_seen) {
            fprintf(stderr, "FAIL %s: step %ld tokens %ld, expected %ld %ld\n", what, a.step, a.tokens_seen,
                    b.step, b.tokens_seen);
            bad++;
        }
    }
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
    return bad;
}

/* ---- 1, 2: rank counts agree ------------------------------------------------ */

static const char *small_args =
    "--embed 8 --hidden 16 --layers 2 --batch 8 --bptt 16 --steps 20 --optimizer adam --lr 0.01 --clip 1 "
    "--seed 11 --quiet";

/* Trains `cell` with every np in nps[] (first = the reference) using `mca`,
 * and compares all runs with the first one. */
static int rank_counts_agree(const char *cell, const char *mca, const int *nps, int nnp, const char *tag) {
    job jobs[8];
    char args[4096];
    for (int i = 0; i < nnp; i++) {
        sfmt(args, sizeof args, "train --data %s --cell %s %s --out %s/%s_%s_np%d.h5 --metrics %s/%s_%s_np%d.jsonl",
                 data_h5, cell, small_args, dir, tag, cell, nps[i], dir, tag, cell, nps[i]);
        mpirun_cmd(jobs[i].cmd, sizeof jobs[i].cmd, nps[i], mca, args);
    }
    int bad = run_jobs(jobs, nnp, 3);
    if (bad) return bad;
    double loss[8][MAX_STEPS], gn[8][MAX_STEPS];
    char path[4400], ref_h5[4400];
    for (int i = 0; i < nnp; i++) {
        sfmt(path, sizeof path, "%s/%s_%s_np%d.jsonl", dir, tag, cell, nps[i]);
        int n = read_metrics(path, loss[i], gn[i], MAX_STEPS);
        if (n != 20) {
            fprintf(stderr, "FAIL %s %s np %d: %d step lines in %s, expected 20\n", tag, cell, nps[i], n, path);
            bad++;
            continue;
        }
        if (i == 0) continue;
        double worst = 0;
        for (int s = 0; s < 20; s++) {
            double r = fabs(loss[i][s] - loss[0][s]) / fabs(loss[0][s]);
            if (!(r <= worst)) worst = isnan(r) ? INFINITY : r;
            if (!rel_ok(loss[i][s], loss[0][s], 1e-5)) {
                fprintf(stderr, "FAIL %s %s np %d step %d: loss %.9g, np %d: %.9g\n", tag, cell, nps[i], s + 1,
                        loss[i][s], nps[0], loss[0][s]);
                bad++;
            }
        }
        sfmt(ref_h5, sizeof ref_h5, "%s/%s_%s_np%d.h5", dir, tag, cell, nps[0]);
        sfmt(path, sizeof path, "%s/%s_%s_np%d.h5", dir, tag, cell, nps[i]);
        char what[128];
        sfmt(what, sizeof what, "%s %s np %d vs np %d", tag, cell, nps[i], nps[0]);
        int b = compare_checkpoints(what, path, ref_h5, 1);
        bad += b;
        if (!b) fprintf(stderr, "  %s: losses (max rel %.2g), weights and states ok\n", what, worst);
    }
    /* The model learnt something (so the comparison is of a moving target). */
    if (!(loss[0][19] < loss[0][0] - 0.1)) {
        fprintf(stderr, "FAIL %s %s: loss %.4f -> %.4f did not fall\n", tag, cell, loss[0][0], loss[0][19]);
        bad++;
    }
    return bad;
}

static void test_rank_equivalence(void **s) {
    (void)s;
    static const int nps[] = {1, 2, 4};
    const char *cells[] = {"lstm", "gru", "lbr_gru"};
    int bad = 0;
    for (int c = 0; c < 3; c++) bad += rank_counts_agree(cells[c], "--mca btl self,vader", nps, 3, "eq");
    if (bad) fail_msg("%d mismatches between rank counts (details above)", bad);
}

static void test_tcp_transport(void **s) {
    (void)s;
    static const int nps[] = {1, 2};
    const char *cells[] = {"lstm", "gru", "lbr_gru"};
    int bad = 0;
    for (int c = 0; c < 3; c++) bad += rank_counts_agree(cells[c], "--mca btl tcp,self", nps, 2, "tcp");
    if (bad) fail_msg("%d mismatches over tcp (details above)", bad);
}

/* ---- 3: a batch the ranks cannot share ------------------------------------- */

static void test_batch_not_divisible(void **s) {
    (void)s;
    char cmd[8192], args[4096], log[16384], out_h5[4400], metrics[4400];
    sfmt(out_h5, sizeof out_h5, "%s/nodiv.h5", dir);
    sfmt(metrics, sizeof metrics, "%s/nodiv.jsonl", dir);
    sfmt(args, sizeof args, "train --data %s --cell lstm --hidden 16 --batch 6 --bptt 8 --steps 3 --out %s --metrics %s",
             data_h5, out_h5, metrics);
    mpirun_cmd(cmd, sizeof cmd, 4, "", args);
    int rc = tu_run(log, sizeof log, "%s", cmd);
    if (rc != 2) fail_msg("exit %d, expected 2:\n%s", rc, log);
    /* recur's message: the line naming --batch also names the ranks and their count */
    char *line = strstr(log, "--batch");
    if (!line) fail_msg("the message does not name --batch:\n%s", log);
    char *eol = strchr(line, '\n');
    if (eol) *eol = 0;
    char *rk = strstr(line, "rank");
    if (!rk || !strchr(rk, '4')) fail_msg("the --batch message does not name the rank count 4: %s", line);
    assert_false(tu_exists(out_h5));
    /* "before any work": not even a metrics file */
    assert_false(tu_exists(metrics));
    assert_int_equal(tu_run(log, sizeof log, "ls -a %s | grep -c 'nodiv.*tmp'", dir), 1);
    /* The same batch on 2 or 3 ranks is fine. */
    sfmt(args, sizeof args, "train --data %s --cell lstm --hidden 16 --batch 6 --bptt 8 --steps 3 --quiet --out %s",
             data_h5, out_h5);
    mpirun_cmd(cmd, sizeof cmd, 3, "", args);
    rc = tu_run(log, sizeof log, "%s", cmd);
    if (rc != 0) fail_msg("B=6 on 3 ranks: exit %d:\n%s", rc, log);
    assert_true(tu_exists(out_h5));
}

/* ---- 4: PyTorch reference cases under mpirun ------------------------------ */

/* The training runs of cases.txt (tests/test_util.h reads it). */
static int train_cases(const char *path, tu_case *runs, int max) {
    int n = tu_parse_cases(path, runs, max), k = 0;
    for (int i = 0; i < n; i++)
        if (runs[i].is_train) runs[k++] = runs[i];
    return n < 0 ? n : k;
}

#define MAX_REF 128

static void test_torch_reference(void **s) {
    (void)s;
    char refdir[4300], out[32768];
    sfmt(refdir, sizeof refdir, "%s/torch_reference", dir);
    double t0 = now_s();
    int rc = tu_run(out, sizeof out, "timeout 600 %s tests/torch_reference.py '%s'", TU_PYTHON, refdir);
    if (rc != 0) fail_msg("the PyTorch reference generator failed (status %d; needs %s with torch):\n%s", rc, TU_PYTHON, out);
    fprintf(stderr, "  generator: %.1f s\n", now_s() - t0);
    static tu_case runs[2 * MAX_REF];
    char path[4400];
    sfmt(path, sizeof path, "%s/cases.txt", refdir);
    int nruns = train_cases(path, runs, 2 * MAX_REF);
    if (nruns <= 0) fail_msg("%s missing or malformed", path);

    static const int nps[] = {2, 4};
    /* Under the sanitizers a job takes ~8 s instead of ~0.5: there the
     * 2-layer cases only, each run on one rank count (4 when B allows), unless
     * RECUR_MPI_FULL=1.  Release builds check the whole matrix. */
    int full = 1;
#if defined(__SANITIZE_ADDRESS__)
    full = getenv("RECUR_MPI_FULL") && atoi(getenv("RECUR_MPI_FULL"));
    if (!full) fprintf(stderr, "  sanitizer build: 2-layer cases, one rank count per run (RECUR_MPI_FULL=1 for all)\n");
#endif
    static job jobs[2 * MAX_REF];
    int jr[2 * MAX_REF], jnp[2 * MAX_REF], nj = 0;
    for (int i = 0; i < nruns; i++) {
        const tu_case *r = &runs[i];
        if (r->nexp != r->steps) fail_msg("%s: %d of %d step records", r->name, r->nexp, r->steps);
        if (!full && r->layers != 2) continue;
        for (int p = 0; p < 2; p++) {
            if (r->batch % nps[p]) continue;
            if (!full && nps[p] == 2 && r->batch % 4 == 0) continue;
            char tag[160], mom[80] = "", args[4096];
            sfmt(tag, sizeof tag, "%s", r->name);
            for (char *c = tag; *c; c++)
                if (*c == '/') *c = '_';
            if (strtod(r->momentum, NULL) != 0.0) sfmt(mom, sizeof mom, " --momentum %s", r->momentum);
            sfmt(args, sizeof args,
                     "train --data %s/%s --init %s/%s --batch %d --bptt %d --steps %d --optimizer %s --lr %s --clip %s%s "
                     "--out %s/mpi%d_%s.h5 --metrics %s/mpi%d_%s.jsonl",
                     refdir, r->data, refdir, r->model, r->batch, r->bptt, r->steps, r->opt, r->lr, r->clip, mom, refdir,
                     nps[p], tag, refdir, nps[p], tag);
            mpirun_cmd(jobs[nj].cmd, sizeof jobs[nj].cmd, nps[p], "--mca btl self,vader", args);
            jr[nj] = i;
            jnp[nj] = nps[p];
            nj++;
        }
    }
    t0 = now_s();
    int bad = run_jobs(jobs, nj, 4);
    fprintf(stderr, "  %d mpirun jobs: %.1f s\n", nj, now_s() - t0);
    /* covered[cell][np index]: bit 0 B=4, bit 1 B=8, bit 2 B=16 or 64 */
    const char *cells[] = {"rnn_tanh", "rnn_relu", "lstm", "gru", "lbr_gru"};
    int covered[5][2] = {{0}};
    int ok_runs = 0;
    for (int j = 0; j < nj; j++) {
        if (jobs[j].rc != 0) continue;
        const tu_case *r = &runs[jr[j]];
        char tag[160], what[200];
        sfmt(tag, sizeof tag, "%s", r->name);
        for (char *c = tag; *c; c++)
            if (*c == '/') *c = '_';
        sfmt(what, sizeof what, "%s np %d", r->name, jnp[j]);
        double loss[MAX_STEPS], gn[MAX_STEPS];
        sfmt(path, sizeof path, "%s/mpi%d_%s.jsonl", refdir, jnp[j], tag);
        int n = read_metrics(path, loss, gn, MAX_STEPS);
        int b = 0;
        if (n != r->steps) {
            fprintf(stderr, "FAIL %s: %d step lines, expected %d\n", what, n, r->steps);
            b++;
        }
        for (int st = 0; st < n && st < r->steps; st++) {
            if (!rel_ok(loss[st], r->loss[st], 1e-4) || !rel_ok(gn[st], r->grad_norm[st], 1e-4)) {
                fprintf(stderr, "FAIL %s step %d: loss %.9g vs PyTorch %.9g, grad_norm %.9g vs %.9g\n", what, st + 1,
                        loss[st], r->loss[st], gn[st], r->grad_norm[st]);
                b++;
            }
        }
        char got[4400], want[4400];
        sfmt(got, sizeof got, "%s/mpi%d_%s.h5", refdir, jnp[j], tag);
        sfmt(want, sizeof want, "%s/%s", refdir, r->expected);
        b += compare_checkpoints(what, got, want, 0);
        if (b) {
            fprintf(stderr, "  (reproduce: %s)\n", jobs[j].cmd);
            bad += b;
            continue;
        }
        ok_runs++;
        for (int c = 0; c < 5; c++) {
            if (strcmp(r->cell, cells[c])) continue;
            int bit = r->batch == 4 ? 1 : r->batch == 8 ? 2 : (r->batch == 16 || r->batch == 64) ? 4 : 0;
            covered[c][jnp[j] == 2 ? 0 : 1] |= bit;
        }
    }
    fprintf(stderr, "  %d of %d runs match PyTorch under mpirun\n", ok_runs, nj);
    if (bad) fail_msg("%d mismatches against PyTorch under mpirun (details above; files in %s)", bad, refdir);
    for (int c = 0; c < 5; c++)
        for (int p = full ? 0 : 1; p < 2; p++)
            if (covered[c][p] != 7)
                fail_msg("%s -np %d: the B=4, B=8 and B=16/64 runs were not all checked (mask %d)", cells[c], nps[p],
                         covered[c][p]);
}

/* ---- 5, 6: signals ---------------------------------------------------------- */

typedef struct {
    int rc;            /* mpirun's (timeout's) exit status */
    int ms;            /* from the signal to the end (or to the deadline) */
    int hung;          /* still running at the deadline (then SIGKILLed) */
    int ready;         /* the job had reached the wait condition */
    int leftover;      /* ranks still alive after mpirun ended */
    int before_steps;  /* step lines before the signal */
    char log[16384];
} sig_result;

/* Starts a 2-rank long run, waits until the metrics hold `wait_n` lines
 * matching `wait_pat`, sends `sig` to rank 1 (target "rank1") or to mpirun
 * ("mpirun"), and waits up to deadline_ms for the job to end.  Ranks are
 * found as mpirun's children (by /proc, no procps needed), rank 1 by
 * OMPI_COMM_WORLD_RANK in their environment. */
static void signal_run(const char *name, const char *mca, int ckpt_every, const char *wait_pat, int wait_n,
                       const char *target, const char *sig, int deadline_ms, sig_result *res) {
    char cmd[8192];
    mpirun_cmd(cmd, sizeof cmd, 2, mca, "");
    char out[16384];
    tu_run(out, sizeof out,
           "cd %s && rm -f %s.h5 %s.jsonl %s.log .%s.h5.tmp.*; "
           "%s train --data %s --cell lstm --embed 16 --hidden 128 --layers 2 --batch 8 --bptt 16 --steps 100000 "
           "--checkpoint-every %d --quiet --out %s.h5 --metrics %s.jsonl > %s.log 2>&1 & tp=$!; "
           "kids() { for d in /proc/[0-9]*; do 2>/dev/null read -r a b c pp rest < $d/stat && [ \"$pp\" = $1 ] && echo ${d#/proc/}; done; }; "
           "mp=; ranks=; ok=0; "
           "for i in $(seq 400); do sleep 0.05; mp=$(kids $tp); [ -n \"$mp\" ] || continue; "
           "  ranks=$(kids $mp | tr '\\n' ' '); set -- $ranks; [ $# -ge 2 ] || continue; "
           "  n=$(grep -c '%s' %s.jsonl 2>/dev/null); [ \"${n:-0}\" -ge %d ] && { ok=1; break; }; done; "
           "r1=; for p in $ranks; do tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && r1=$p; done; "
           "echo \"READY $ok MPIRUN $mp RANKS $ranks RANK1 $r1\"; "
           "if [ %s = mpirun ]; then target=$mp; else target=$r1; fi; "
           "echo BEFORE $(grep -c '\"loss\"' %s.jsonl 2>/dev/null); "
           "[ -n \"$target\" ] && kill -%s $target; t0=$(date +%%s%%N); t=0; "
           "while kill -0 $tp 2>/dev/null; do t=$(( ($(date +%%s%%N) - t0) / 1000000 )); [ $t -ge %d ] && break; sleep 0.05; done; "
           "t=$(( ($(date +%%s%%N) - t0) / 1000000 )); "
           "if kill -0 $tp 2>/dev/null; then alive=; for p in $ranks; do [ -d /proc/$p ] && alive=\"$alive $p:$(cut -d' ' -f3 /proc/$p/stat)\"; done; "
           "  echo \"HUNG after $t ms; ranks (pid:state):$alive; metrics: $(tail -c 300 %s.jsonl)\"; kill -KILL $mp; fi; "
           "wait $tp; rc=$?; sleep 0.2; "
           "for p in $ranks; do if [ -d /proc/$p ] && [ \"$(cut -d' ' -f3 /proc/$p/stat)\" != Z ]; then echo LEFTOVER $p; kill -KILL $p; fi; done; "
           "echo \"RC $rc MS $t\"; echo '--- mpirun output:'; cat %s.log",
           dir, name, name, name, name, cmd, data_h5, ckpt_every, name, name, name, wait_pat, name, wait_n, target, name,
           sig, deadline_ms, name, name);
    memset(res, 0, sizeof *res);
    sfmt(res->log, sizeof res->log, "%s", out);
    const char *p = strstr(out, "READY ");
    res->ready = p ? atoi(p + 6) : 0;
    p = strstr(out, "BEFORE ");
    res->before_steps = p ? atoi(p + 7) : 0;
    res->hung = strstr(out, "HUNG") != NULL;
    res->leftover = strstr(out, "LEFTOVER") != NULL;
    p = strstr(out, "RC ");
    res->rc = p ? atoi(p + 3) : -1;
    p = strstr(out, " MS ");
    res->ms = p ? atoi(p + 4) : -1;
    fprintf(stderr, "  %s: kill -%s %s -> exit %d after %d ms%s\n", name, sig, target, res->rc, res->ms,
            res->hung ? " (HUNG, killed)" : "");
}

/* The outcome of a SIGTERM: exit 0 in time, a loadable checkpoint from the
 * middle of the run, "interrupted" in the metrics. */
/* want_rc: the exit status mpirun must give (-1: any, see test_sigterm_mpirun). */
static void check_sigterm_outcome(const char *name, const sig_result *r, int want_rc, int max_ms) {
    if (!r->ready) fail_msg("%s: the run never got going:\n%s", name, r->log);
    if (r->hung || (want_rc >= 0 && r->rc != want_rc) || r->ms > max_ms)
        fail_msg("%s: expected exit %d within %d ms, got exit %d after %d ms%s:\n%s", name, want_rc, max_ms, r->rc, r->ms,
                 r->hung ? " (still running at the deadline, SIGKILLed)" : "", r->log);
    if (r->leftover) fail_msg("%s: ranks outlived mpirun:\n%s", name, r->log);
    char path[4400];
    sfmt(path, sizeof path, "%s/%s.h5", dir, name);
    checkpoint_in ck;
    recur_err err = {0};
    if (checkpoint_load(path, &ck, &err)) fail_msg("%s: %s\n%s", name, err.msg, r->log);
    long step = ck.step;
    int streams = ck.streams;
    checkpoint_in_free(&ck);
    if (!(step > 0 && step < 100000)) fail_msg("%s: checkpoint step %ld", name, step);
    assert_int_equal(streams, 8);
    assert_true(step >= r->before_steps);
    sfmt(path, sizeof path, "%s/%s.jsonl", dir, name);
    char *text = tu_slurp(path, NULL);
    assert_non_null(text);
    const char *ev = strstr(text, "\"event\":\"interrupted\"");
    int ev_step = ev ? (int)tu_json_number(ev, "step") : -1;
    free(text);
    if (!ev) fail_msg("%s: no \"interrupted\" event in %s:\n%s", name, path, r->log);
    assert_int_equal(ev_step, step);
    char out[1024];
    assert_int_equal(tu_run(out, sizeof out, "ls -a %s | grep -c '^\\.%s\\.h5\\.tmp\\.'", dir, name), 1);
}

static void test_sigterm_rank(void **s) {
    (void)s;
    sig_result r;
    signal_run("sigrank", "", 0, "\"loss\"", 10, "rank1", "TERM", 15000, &r);
    check_sigterm_outcome("sigrank", &r, 0, 10000);
}

/* ---- resume under MPI ------------------------------------------------------- */

/* 20 steps on 2 ranks in one go; 10 steps then --resume to 20 on 2 ranks
 * (bitwise the same checkpoint and losses); and the same resumed on 4 ranks
 * (streams are global: within tolerance). */
static void test_resume_across_ranks(void **s) {
    (void)s;
    char cmd[8192], out[16384], args[4096];
    const char *common = "--cell lstm --embed 8 --hidden 16 --layers 2 --batch 8 --bptt 16 --optimizer adam --lr 0.01 "
                         "--clip 1 --seed 3 --quiet --lr-schedule step --lr-decay-every 4 --warmup 2";
    struct { const char *tag; int np; const char *resume_np; } runs[] = {{"whole", 2, NULL}, {"same", 2, "2"}, {"more", 2, "4"}};
    for (size_t i = 0; i < 3; i++) {
        const int cut = runs[i].resume_np != NULL;
        sfmt(args, sizeof args, "train --data %s %s --steps %d --run-dir %s/res_%s --checkpoint-every 10", data_h5,
             common, cut ? 10 : 20, dir, runs[i].tag);
        mpirun_cmd(cmd, sizeof cmd, runs[i].np, "", args);
        if (tu_run(out, sizeof out, "%s", cmd)) fail_msg("%s: %s\n%s", runs[i].tag, cmd, out);
        if (!cut) continue;
        sfmt(args, sizeof args, "train --resume %s/res_%s --steps 20", dir, runs[i].tag);
        mpirun_cmd(cmd, sizeof cmd, atoi(runs[i].resume_np), "", args);
        if (tu_run(out, sizeof out, "%s", cmd)) fail_msg("%s resume: %s\n%s", runs[i].tag, cmd, out);
        if (!strstr(out, "recur train: resuming from ")) fail_msg("%s resume: no resume message:\n%s", runs[i].tag, out);
    }
    /* Same R: the resumed run's files hold exactly the uninterrupted run's numbers. */
    char a[4400], b[4400];
    double la[32], lb[32], ga[32], gb[32];
    sfmt(a, sizeof a, "%s/res_whole/metrics.jsonl", dir);
    sfmt(b, sizeof b, "%s/res_same/metrics.jsonl", dir);
    assert_int_equal(read_metrics(a, la, ga, 32), 20);
    assert_int_equal(read_metrics(b, lb, gb, 32), 20);
    for (int i = 0; i < 20; i++)
        if (la[i] != lb[i] || ga[i] != gb[i]) fail_msg("step %d: resumed loss %.9g norm %.9g, uninterrupted %.9g %.9g", i + 1, lb[i], gb[i], la[i], ga[i]);
    checkpoint_in x, y;
    recur_err err = {0};
    sfmt(a, sizeof a, "%s/res_whole/final.h5", dir);
    sfmt(b, sizeof b, "%s/res_same/final.h5", dir);
    if (checkpoint_load(a, &x, &err) || checkpoint_load(b, &y, &err)) fail_msg("%s", err.msg);
    assert_int_equal(x.m.num_params, y.m.num_params);
    assert_memory_equal(x.m.params, y.m.params, x.m.num_params * sizeof(float));
    assert_memory_equal(x.opt.state, y.opt.state, x.opt.state_len * sizeof(float));
    assert_memory_equal(x.state_h, y.state_h, (size_t)2 * 8 * 16 * sizeof(float));
    assert_memory_equal(x.state_c, y.state_c, (size_t)2 * 8 * 16 * sizeof(float));
    checkpoint_in_free(&x);
    checkpoint_in_free(&y);
    /* Different R: the same numbers within float tolerance. */
    sfmt(b, sizeof b, "%s/res_more/metrics.jsonl", dir);
    assert_int_equal(read_metrics(b, lb, gb, 32), 20);
    for (int i = 0; i < 20; i++) assert_true(rel_ok(lb[i], la[i], 1e-5));
    sfmt(b, sizeof b, "%s/res_more/final.h5", dir);
    assert_int_equal(compare_checkpoints("resume 2 -> 4 ranks", b, a, 1), 0);
}

/* Open MPI 4.1's mpirun does not pass SIGTERM on at once: its odls sends the
 * ranks SIGCONT, sleeps odls_base_sigkill_timeout seconds, sends SIGTERM,
 * sleeps again, sends SIGKILL, and exits 1 whatever the ranks did
 * (orte/mca/odls/base/odls_base_default_fns.c).  With the timeout raised the
 * ranks get the SIGTERM and that timeout to finish the step and write the
 * checkpoint: the run stops gracefully, and mpirun's own status is 1. */
static void test_sigterm_mpirun(void **s) {
    (void)s;
    sig_result r;
    signal_run("sigmpirun", "--mca odls_base_sigkill_timeout 5", 0, "\"loss\"", 10, "mpirun", "TERM", 20000, &r);
    check_sigterm_outcome("sigmpirun", &r, -1, 15000);
}

/* SIGUSR1 to mpirun is forwarded to the ranks at once; recur treats it like
 * SIGTERM: the clean way to stop a run through mpirun, with exit 0. */
static void test_sigusr1_mpirun(void **s) {
    (void)s;
    sig_result r;
    signal_run("sigusr1", "", 0, "\"loss\"", 10, "mpirun", "USR1", 15000, &r);
    check_sigterm_outcome("sigusr1", &r, 0, 10000);
}

static void test_kill9_rank(void **s) {
    (void)s;
    sig_result r;
    /* Wait for two periodic checkpoints (steps 5 and 10) before the kill. */
    signal_run("kill9", "", 5, "\"event\":\"checkpoint\"", 2, "rank1", "KILL", 10000, &r);
    if (!r.ready) fail_msg("kill9: the run never got going:\n%s", r.log);
    if (r.hung) fail_msg("kill9: the job was still running 10 s after a rank was killed:\n%s", r.log);
    if (r.rc == 0 || r.ms > 10000) fail_msg("kill9: exit %d after %d ms, expected non-zero within 10 s:\n%s", r.rc, r.ms, r.log);
    if (r.leftover) fail_msg("kill9: ranks outlived mpirun:\n%s", r.log);
    char path[4400], out[8192];
    sfmt(path, sizeof path, "%s/kill9.h5", dir);
    checkpoint_in ck;
    recur_err err = {0};
    if (checkpoint_load(path, &ck, &err)) fail_msg("kill9: the checkpoint does not load: %s\n%s", err.msg, r.log);
    long step = ck.step;
    checkpoint_in_free(&ck);
    if (!(step >= 10 && step % 5 == 0)) fail_msg("kill9: checkpoint step %ld", step);
    int rc = tu_run(out, sizeof out, "timeout 60 '%s' eval --model %s --data %s --json", tu_recur(), path, data_h5);
    if (rc != 0) fail_msg("kill9: recur eval on the checkpoint: exit %d\n%s", rc, out);
    double loss = tu_json_number(out, "loss");
    assert_true(isfinite(loss) && loss > 0);
    /* No temp file next to it, unless the kill landed mid-write (then only
     * the checkpoint itself has to load, checked above). */
    tu_run(out, sizeof out, "ls -a %s | grep '^\\.kill9\\.h5\\.tmp\\.'", dir);
    if (*out) fprintf(stderr, "  kill9: a temp file from an interrupted write remains: %s", out);
}

int main(void) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    /* One BLAS thread per rank: the ranks share 2 cores. */
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_equivalence),
        cmocka_unit_test(test_tcp_transport),
        cmocka_unit_test(test_batch_not_divisible),
        cmocka_unit_test(test_torch_reference),
        cmocka_unit_test(test_resume_across_ranks),
        cmocka_unit_test(test_sigterm_rank),
        cmocka_unit_test(test_sigterm_mpirun),
        cmocka_unit_test(test_sigusr1_mpirun),
        cmocka_unit_test(test_kill9_rank),
    };
    return cmocka_run_group_tests_name("mpi", tests, setup, teardown);
}
