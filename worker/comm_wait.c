#include "comm_wait.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Where a rank is: its count of completed waits, its step, what it waits for. */
typedef struct {
    int kind; /* QUERY: "I am stalled, where are you?"  REPLY: the answer */
    long seq, step;
    char phase[80];
} where;

enum { QUERY = 1, REPLY = 2, TAG = 7 };

static struct {
    const char *label;
    int rank, size;
    double timeout;
    long step, last_done_step; /* the step of the last wait that completed: every rank had joined it */
    where me;
    MPI_Comm watch; /* private: stall questions never mix with the run's messages */
    MPI_Request inbox;
    where in;
    const char *fail_call;
    int fail_rank; /* -1: every rank */
} W = {.label = "recur", .watch = MPI_COMM_NULL, .inbox = MPI_REQUEST_NULL, .fail_rank = -1};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void nap(double seconds) {
    struct timespec t = {.tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&t, &t) && errno == EINTR) {
    }
}

static _Noreturn void end_job(void) {
    fflush(stderr);
    if (W.size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1); /* one process: nobody else to end */
}

void cw_check(int rc, const char *call) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error code %d", rc);
    fprintf(stderr, "%s: rank %d: %s failed: %s\n", W.label, W.rank, call, text);
    end_job();
}

int cw_count(const char *call, int n) {
    return W.fail_call && !strcmp(W.fail_call, call) && (W.fail_rank < 0 || W.fail_rank == W.rank) ? -1 : n;
}

static void post_inbox(void) {
    cw_check(MPI_Irecv(&W.in, (int)sizeof W.in, MPI_BYTE, MPI_ANY_SOURCE, TAG, W.watch, &W.inbox), "MPI_Irecv");
}

void cw_init(void) {
    cw_check(MPI_Comm_rank(MPI_COMM_WORLD, &W.rank), "MPI_Comm_rank");
    cw_check(MPI_Comm_size(MPI_COMM_WORLD, &W.size), "MPI_Comm_size");
    static char fail[64];
    const char *f = getenv("RECUR_TEST_MPI_FAIL");
    if (f && *f) {
        snprintf(fail, sizeof fail, "%s", f);
        char *at = strchr(fail, '@');
        if (at) *at = 0, W.fail_rank = atoi(at + 1);
        W.fail_call = fail;
    }
    if (W.size < 2) return;
    cw_check(MPI_Comm_dup(MPI_COMM_WORLD, &W.watch), "MPI_Comm_dup");
    post_inbox();
}

void cw_finalize(void) {
    if (W.inbox != MPI_REQUEST_NULL) {
        cw_check(MPI_Cancel(&W.inbox), "MPI_Cancel");
        cw_check(MPI_Wait(&W.inbox, MPI_STATUS_IGNORE), "MPI_Wait");
    }
    if (W.watch != MPI_COMM_NULL) cw_check(MPI_Comm_free(&W.watch), "MPI_Comm_free");
}

void cw_set_label(const char *label) { W.label = label; }
void cw_set_timeout(double seconds) { W.timeout = seconds; }
void cw_set_step(long step) { W.step = step; }

/* ---- the stall inspector ------------------------------------------------ */

static void tell(int to, int kind) {
    /* One buffer per kind, unchanged while the messages may be in flight
     * (the stall report is the process's last act). */
    static where out[3];
    MPI_Request req;
    out[kind] = W.me;
    out[kind].kind = kind;
    /* Small enough to go eagerly: nobody waits for it to be delivered. */
    cw_check(MPI_Isend(&out[kind], (int)sizeof out[kind], MPI_BYTE, to, TAG, W.watch, &req), "MPI_Isend");
    cw_check(MPI_Request_free(&req), "MPI_Request_free");
}

/* Takes in what other ranks said; answers their questions.  Returns 1 when
 * some rank has declared a stall. */
static int listen(where *heard, int *was_heard) {
    int asked = 0;
    for (;;) {
        int got = 0;
        MPI_Status st;
        cw_check(MPI_Test(&W.inbox, &got, &st), "MPI_Test");
        if (!got) return asked;
        const int from = st.MPI_SOURCE;
        if (heard && from >= 0 && from < W.size) heard[from] = W.in, was_heard[from] = 1;
        if (W.in.kind == QUERY) {
            tell(from, REPLY);
            asked = 1;
        }
        post_inbox();
    }
}

/* The first request of n still pending, or -1. */
static int first_pending(MPI_Request *reqs, int n) {
    for (int i = 0; i < n; i++) {
        int done = 0;
        cw_check(MPI_Test(&reqs[i], &done, MPI_STATUS_IGNORE), "MPI_Test");
        if (!done) return i;
    }
    return -1;
}

static void report(const where *heard, const int *was_heard, double waited) {
    char line[4096];
    int n = snprintf(line, sizeof line, "%s: rank %d: stalled for %.0f s at step %ld (%s): waiting for", W.label,
                     W.rank, waited, W.step, W.me.phase);
    int missing = 0;
    for (int p = 0; p < W.size && n < (int)sizeof line - 200; p++) {
        if (p == W.rank || (was_heard[p] && heard[p].seq == W.me.seq)) continue; /* waiting here too */
        n += snprintf(line + n, sizeof line - (size_t)n, "%s rank %d", missing++ ? ";" : "", p);
        if (was_heard[p])
            n += snprintf(line + n, sizeof line - (size_t)n, " (elsewhere: at step %ld, %s)", heard[p].step,
                          heard[p].phase);
        else
            n += snprintf(line + n, sizeof line - (size_t)n, " (no reply; last heard at step %ld)", W.last_done_step);
    }
    if (!missing) snprintf(line + n, sizeof line - (size_t)n, " the transport: every rank has joined this collective");
    fprintf(stderr, "%s\n", line);
}

/* A wait lasted the timeout (or another rank said one did): ask everyone
 * where they are, give them `grace` to answer, say who is missing, give the
 * other ranks a moment to say so too, end the job. */
static _Noreturn void stalled(MPI_Request *reqs, int n, const char *phase, double t0) {
    const double detected = now();
    const int pending = n > 1 ? first_pending(reqs, n) : -1;
    if (pending >= 0) snprintf(W.me.phase, sizeof W.me.phase, "%s, bucket %d", phase, pending);
    where *heard = calloc((size_t)W.size, sizeof *heard);
    int *was_heard = calloc((size_t)W.size, sizeof *was_heard);
    if (!heard || !was_heard) {
        fprintf(stderr, "%s: rank %d: stalled at step %ld (%s)\n", W.label, W.rank, W.step, W.me.phase);
        end_job();
    }
    for (int p = 0; p < W.size; p++)
        if (p != W.rank) tell(p, QUERY);
    const double grace = W.timeout < 8 ? W.timeout / 4 : 2;
    for (double t = now(); now() - t < grace;) {
        listen(heard, was_heard);
        nap(0.002);
    }
    report(heard, was_heard, detected - t0);
    for (double t = now(); now() - t < grace / 2;) { /* others may still be asking */
        listen(NULL, NULL);
        nap(0.002);
    }
    end_job();
}

/* How long to sleep after `waited` seconds: nothing at first (a collective
 * usually completes within microseconds of the last rank joining), then an
 * eighth of the time waited so far, at most 2 ms: the extra latency stays
 * within ~12% of the wait, and a long wait costs ~0.1% of a core. */
static double backoff(double waited) {
    if (waited < 50e-6) return 0;
    const double s = waited / 8;
    return s > 2e-3 ? 2e-3 : s;
}

void cw_wait(MPI_Request *reqs, int n, const char *phase) {
    W.me.seq++;
    W.me.step = W.step;
    snprintf(W.me.phase, sizeof W.me.phase, "%s", phase);
    const double t0 = now();
    for (;;) {
        int done = 0;
        cw_check(MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE), "MPI_Testall");
        if (done) break;
        const double waited = now() - t0, pause = backoff(waited);
        if (!pause) continue;
        if (W.size > 1 && (listen(NULL, NULL) || (W.timeout > 0 && waited >= W.timeout))) stalled(reqs, n, phase, t0);
        nap(pause);
    }
    W.last_done_step = W.step;
}
