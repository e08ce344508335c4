/* test_interrupt.c - Ctrl-C in a terminal, as a user presses it.
 *
 * Each case runs `recur train` in a pseudo-terminal (forkpty: the command is
 * the session leader and the terminal's foreground job, as at a shell
 * prompt), waits until progress has reached the terminal, types Ctrl-C
 * (the byte 0x03, turned into SIGINT by the line discipline) and reads what
 * the user would see:
 *
 *   under_mpirun   mpirun -np 2 recur train: "stopping after step N" within
 *                  3 s of the keypress, the job ends within 20 s with exit 0,
 *                  the checkpoint is valid and the metrics say "interrupted",
 *                  the resume hint is the full command (mpirun and its
 *                  options); running that hint continues from step N
 *   single         the same without mpirun
 *
 * The test enforces its own deadlines and kills what it started. */
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <time.h>

static char *dir;
static char data_h5[4200];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    char out[65536];     /* everything the terminal showed */
    size_t n;
    double t_ctrl_c;     /* when Ctrl-C was typed (s since start; < 0: never) */
    double t_stopping;   /* when "stopping after step" appeared */
    double t_exit;       /* when the command ended */
    int status;          /* exit code, 128+signal, or -1 when it had to be killed */
} pty_session;

/* Runs `cmd` through /bin/sh in a new pseudo-terminal.  Types Ctrl-C once the
 * output holds `trigger` and at least min_s seconds have passed; gives up
 * (SIGKILL to the session) after deadline_s. */
static void pty_run(pty_session *s, const char *cmd, const char *trigger, double min_s, double deadline_s) {
    memset(s, 0, sizeof *s);
    s->t_ctrl_c = s->t_stopping = s->t_exit = -1;
    s->status = -1;
    int master;
    struct winsize ws = {.ws_row = 40, .ws_col = 120};
    const double t0 = now_s();
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int done = 0, open_pty = 1;
    while (!done) {
        const double t = now_s() - t0;
        if (t > deadline_s) break;
        struct pollfd p = {master, POLLIN, 0};
        if (!open_pty) {
            usleep(50000);
        } else if (poll(&p, 1, 100) > 0) {
            char buf[4096];
            ssize_t r = read(master, buf, sizeof buf);
            if (r > 0) {
                size_t k = (size_t)r < sizeof s->out - 1 - s->n ? (size_t)r : sizeof s->out - 1 - s->n;
                memcpy(s->out + s->n, buf, k);
                s->n += k;
                s->out[s->n] = 0;
            } else if (r <= 0 && errno != EINTR && errno != EAGAIN) {
                open_pty = 0; /* EIO: nothing holds the terminal any more; wait for the exit */
            }
        }
        if (s->t_ctrl_c < 0 && t >= min_s && strstr(s->out, trigger)) {
            if (write(master, "\003", 1) == 1) s->t_ctrl_c = now_s() - t0;
        }
        if (s->t_ctrl_c >= 0 && s->t_stopping < 0 && strstr(s->out, "stopping after step"))
            s->t_stopping = now_s() - t0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->t_exit = now_s() - t0;
            s->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            pid = -1;
            done = 1;
        }
    }
    if (pid > 0) { /* past the deadline: the whole session goes */
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fprintf(stderr, "deadline passed; terminal showed:\n%s\n", s->out);
    }
    close(master);
}

/* The command after "resume with: " (to the end of its line), into buf. */
static int resume_hint(const char *out, char *buf, size_t len) {
    const char *p = strstr(out, "resume with: ");
    if (!p) return -1;
    p += strlen("resume with: ");
    size_t n = strcspn(p, "\r\n");
    if (n >= len) return -1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return 0;
}

/* The N of "stopping after step N". */
static long stopping_step(const char *out) {
    const char *p = strstr(out, "stopping after step ");
    return p ? strtol(p + strlen("stopping after step "), NULL, 10) : -1;
}

static void check_interrupted_run(const char *launcher, const char *name, int expect_mpirun_hint) {
    char cmd[16384], ckpt[4400], metrics[4400], log[16384];
    snprintf(ckpt, sizeof ckpt, "%s/%s.h5", dir, name);
    snprintf(metrics, sizeof metrics, "%s/%s.jsonl", dir, name);
    snprintf(cmd, sizeof cmd,
             "exec %s '%s' train --data '%s' --cell lstm --embed 8 --hidden 32 --layers 1 --batch 4 --bptt 16 "
             "--steps 1000000 --log-every 5 --out '%s' --metrics '%s' --no-monitor",
             launcher, tu_recur(), data_h5, ckpt, metrics);
    pty_session s;
    pty_run(&s, cmd, "step ", 2.0, 60.0);
    fprintf(stderr, "  %s: Ctrl-C at %.2f s, 'stopping' at %.2f s, exit %d at %.2f s\n", name, s.t_ctrl_c, s.t_stopping,
            s.status, s.t_exit);
    if (s.status != 0) fprintf(stderr, "terminal:\n%s\n", s.out);
    assert_true(s.t_ctrl_c >= 0);                     /* progress reached the terminal while training */
    assert_true(s.t_stopping >= 0);
    assert_true(s.t_stopping - s.t_ctrl_c < 3.0);     /* the stop is acknowledged at once */
    assert_true(s.t_exit >= 0 && s.t_exit - s.t_ctrl_c < 20.0);
    assert_int_equal(s.status, 0);
    const long step = stopping_step(s.out);
    assert_true(step > 0);

    char hint[4096];
    assert_int_equal(resume_hint(s.out, hint, sizeof hint), 0);
    if (expect_mpirun_hint) assert_non_null(strstr(hint, "mpirun"));
    else assert_null(strstr(hint, "mpirun"));
    assert_non_null(strstr(hint, "--resume"));

    assert_int_equal(tu_run(log, sizeof log, "'%s' inspect --verify '%s'", tu_recur(), ckpt), 0);
    char *m = tu_slurp(metrics, NULL);
    assert_non_null(m);
    assert_non_null(strstr(m, "\"event\":\"interrupted\""));
    free(m);

    /* The hint, as printed, continues the run (a few more steps). */
    int rc = tu_run(log, sizeof log, "%s --steps %ld --no-monitor", hint, step + 3);
    if (rc) fprintf(stderr, "%s\n", log);
    assert_int_equal(rc, 0);
    char expect[64];
    snprintf(expect, sizeof expect, "at step %ld", step);
    assert_non_null(strstr(log, "resuming from"));
    assert_non_null(strstr(log, expect));
}

static void under_mpirun(void **state) {
    (void)state;
    check_interrupted_run("mpirun --oversubscribe -np 2", "mpirun", 1);
}

static void single(void **state) {
    (void)state;
    check_interrupted_run("", "single", 0);
}

static int setup(void **state) {
    (void)state;
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    dir = tu_tmpdir();
    if (!dir) return -1;
    return tu_snippet_dataset(dir, 40000, data_h5, sizeof data_h5);
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(under_mpirun),
        cmocka_unit_test(single),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
