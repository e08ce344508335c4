#include "comm.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../io/crash_guard.h"
#include "comm_wait.h"

/* Every call below is checked (comm_wait.h: a failure names the call and the
 * rank and ends the job); every collective is the non-blocking one completed
 * by cw_wait, which sleeps instead of spinning and is the stall watchdog. */

int comm_init(comm_ctx *c, int *argc, char ***argv, recur_err *err) {
    memset(c, 0, sizeof *c);
    int already = 0;
    if (MPI_Initialized(&already) != MPI_SUCCESS)
        return recur_fail(err, RECUR_EXIT_FAIL, "MPI_Initialized failed (is Open MPI installed and mpirun consistent?)");
    /* Open MPI's non-blocking allreduce defaults to a binomial tree; the ring
     * (algorithm 1) moves 2(R-1)/R of the buffer per rank instead of log2(R)
     * copies and measured 1.3-2.3x faster here (docs/cost-model.md).  Only a
     * default: the user's own OMPI_MCA_ setting or --mca wins. */
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
    if (!already) {
        if (MPI_Init(argc, argv) != MPI_SUCCESS)
            return recur_fail(err, RECUR_EXIT_FAIL, "MPI_Init failed (is Open MPI installed and mpirun consistent?)");
        c->initialized = 1;
    }
    /* MPI_Init put Open MPI's fatal-signal handlers in place of recur's; on a
     * heap broken by a damaged file theirs deadlocks in malloc and the job
     * hangs, where ours names the file and exits 3 (io/crash_guard.h). */
    crash_guard_install();
    /* Failures come back as return codes, which cw_check turns into a
     * message naming the call and the rank (the default handler aborts
     * without saying which call failed). */
    if (MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN) != MPI_SUCCESS)
        return recur_fail(err, RECUR_EXIT_FAIL, "MPI_Comm_set_errhandler failed");
    cw_init();
    cw_check(MPI_Comm_rank(MPI_COMM_WORLD, &c->rank), "MPI_Comm_rank");
    cw_check(MPI_Comm_size(MPI_COMM_WORLD, &c->size), "MPI_Comm_size");
    return 0;
}

void comm_finalize(comm_ctx *c) {
    if (!c->initialized) return;
    cw_finalize();
    /* Too late to abort: say so and let the exit code stand. */
    if (MPI_Finalize() != MPI_SUCCESS) fprintf(stderr, "recur: MPI_Finalize failed\n");
    c->initialized = 0;
}

void comm_abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code); /* MPI_Abort itself failed */
}

void comm_set_label(const char *label) { cw_set_label(label); }
void comm_set_stall_timeout(double seconds) { cw_set_timeout(seconds); }
void comm_set_step(long step) { cw_set_step(step); }

/* The one allreduce of small values, in place. */
static void allreduce(void *v, int n, MPI_Datatype type, MPI_Op op, const char *phase) {
    MPI_Request req;
    cw_check(MPI_Iallreduce(MPI_IN_PLACE, v, cw_count("MPI_Iallreduce", n), type, op, MPI_COMM_WORLD, &req),
             "MPI_Iallreduce");
    cw_wait(&req, 1, phase);
}

int comm_agree(int local_status) {
    int all = local_status;
    allreduce(&all, 1, MPI_INT, MPI_MAX, "agreeing on the status");
    return all;
}

int comm_any(int flag) { return comm_agree(flag != 0); }

int comm_all_equal_u64(uint64_t v) {
    uint64_t range[2] = {v, ~v}; /* max of v and of ~v: lo == hi exactly when ~max(~v) == max(v) */
    allreduce(range, 2, MPI_UINT64_T, MPI_MAX, "comparing the replicas' weights");
    return range[0] == ~range[1];
}

int comm_min_int(int v) {
    int m = v;
    allreduce(&m, 1, MPI_INT, MPI_MIN, "agreeing on the status");
    return m;
}

/* MPI counts are int: move large buffers in chunks. */
#define CHUNK ((size_t)1 << 30)

void comm_bcast(void *buf, size_t bytes, int root) {
    for (size_t off = 0; off < bytes; off += CHUNK) {
        size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        MPI_Request req;
        cw_check(MPI_Ibcast((char *)buf + off, cw_count("MPI_Ibcast", (int)n), MPI_BYTE, root, MPI_COMM_WORLD, &req),
                 "MPI_Ibcast");
        cw_wait(&req, 1, "broadcast from rank 0");
    }
}

double comm_sum_double(double v) {
    allreduce(&v, 1, MPI_DOUBLE, MPI_SUM, "summing losses");
    return v;
}

void comm_sum_doubles(double *v, int n) { allreduce(v, n, MPI_DOUBLE, MPI_SUM, "summing losses"); }

void comm_gather(const void *send, size_t bytes, void *recv) {
    MPI_Request req;
    const int n = cw_count("MPI_Igather", (int)bytes);
    cw_check(MPI_Igather(send, n, MPI_BYTE, recv, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD, &req), "MPI_Igather");
    cw_wait(&req, 1, "gathering carried states");
}

void comm_scatter(const void *send, size_t bytes, void *recv) {
    MPI_Request req;
    const int n = cw_count("MPI_Iscatter", (int)bytes);
    cw_check(MPI_Iscatter(send, (int)bytes, MPI_BYTE, recv, n, MPI_BYTE, 0, MPI_COMM_WORLD, &req), "MPI_Iscatter");
    cw_wait(&req, 1, "scattering carried states");
}

/* ---- reducer ---- */

int reducer_init(grad_reducer *r, const model *m, recur_err *err) {
    memset(r, 0, sizeof *r);
    r->grads = m->grads;
    r->requests = calloc(COMM_MAX_BUCKETS, sizeof(MPI_Request));
    if (!r->requests) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    /* Buckets in the order backward finishes them: head, layers L-1 .. 1,
     * then layer 0 together with the embedding (its gradient is final last). */
    const model_config *c = &m->cfg;
    const tensor_info *T = m->tensors;
    int n = 0, first, last;
    if (c->task == TASK_SEQ2SEQ || c->task == TASK_TREE) { /* reduced once backward is over (trainer.c): the whole
                                                             * arena, one bucket */
        r->first_tensor[0] = 0;
        r->offset[0] = 0;
        r->count[0] = m->num_params;
        r->nbuckets = 1;
        ((MPI_Request *)r->requests)[0] = MPI_REQUEST_NULL;
        return 0;
    }
    model_head_tensors(m, &first, &last);
    r->first_tensor[n] = first;
    r->offset[n] = T[first].offset;
    r->count[n++] = T[last].offset + T[last].count - T[first].offset;
    for (int l = c->num_layers - 1; l >= 0; l--) {
        model_layer_tensors(m, l, &first, &last);
        if (l == 0 && m->ix.embedding >= 0) first = m->ix.embedding; /* registered just before layer 0 */
        r->first_tensor[n] = first;
        r->offset[n] = T[first].offset;
        r->count[n++] = T[last].offset + T[last].count - T[first].offset;
    }
    r->nbuckets = n;
    for (int b = 0; b < n; b++) ((MPI_Request *)r->requests)[b] = MPI_REQUEST_NULL;
    return 0;
}

void reducer_free(grad_reducer *r) {
    free(r->requests);
    r->requests = NULL;
}

static void start_bucket(grad_reducer *r, int b) {
    MPI_Request *req = r->requests;
    cw_check(MPI_Iallreduce(MPI_IN_PLACE, r->grads + r->offset[b], cw_count("MPI_Iallreduce", (int)r->count[b]),
                            MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req[b]),
             "MPI_Iallreduce");
    r->started[b] = 1;
    /* Without an asynchronous progress thread, Open MPI advances a
     * non-blocking collective only inside MPI calls: poke the earlier ones. */
    int done;
    cw_check(MPI_Testall(b + 1, req, &done, MPI_STATUSES_IGNORE), "MPI_Testall");
}

void reducer_tensors_ready(grad_reducer *r, int first, int last) {
    for (int b = 0; b < r->nbuckets; b++)
        if (!r->started[b] && r->first_tensor[b] >= first && r->first_tensor[b] <= last) start_bucket(r, b);
}

void reducer_wait(grad_reducer *r) {
    for (int b = 0; b < r->nbuckets; b++)
        if (!r->started[b]) start_bucket(r, b);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cw_wait(r->requests, r->nbuckets, "gradient allreduce");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->wait_seconds += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    memset(r->started, 0, sizeof r->started);
}
