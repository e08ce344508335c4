#include "comm.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int comm_init(comm_ctx *c, int *argc, char ***argv, recur_err *err) {
    memset(c, 0, sizeof *c);
    int already = 0;
    MPI_Initialized(&already);
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
    /* Errors in MPI calls return codes (checked) instead of aborting silently. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    return 0;
}

void comm_finalize(comm_ctx *c) {
    if (c->initialized) MPI_Finalize();
    c->initialized = 0;
}

void comm_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

int comm_agree(int local_status) {
    int all = local_status;
    MPI_Allreduce(&local_status, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

int comm_any(int flag) { return comm_agree(flag != 0); }

int comm_all_equal_u64(uint64_t v) {
    uint64_t lo = v, hi = v;
    MPI_Allreduce(&v, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&v, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

int comm_min_int(int v) {
    int m = v;
    MPI_Allreduce(&v, &m, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return m;
}

/* MPI counts are int: move large buffers in chunks. */
#define CHUNK ((size_t)1 << 30)

void comm_bcast(void *buf, size_t bytes, int root) {
    for (size_t off = 0; off < bytes; off += CHUNK) {
        size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
    }
}

double comm_sum_double(double v) {
    double s = v;
    MPI_Allreduce(&v, &s, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return s;
}

void comm_sum_doubles(double *v, int n) { MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); }

void comm_gather(const void *send, size_t bytes, void *recv) {
    MPI_Gather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
}

void comm_scatter(const void *send, size_t bytes, void *recv) {
    MPI_Scatter(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
}

/* ---- reducer ---- */

int reducer_init(grad_reducer *r, const model *m, recur_err *err) {
    memset(r, 0, sizeof *r);
    r->grads = m->grads;
    r->requests = calloc(COMM_MAX_BUCKETS, sizeof(MPI_Request));
    if (!r->requests) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    /* Buckets in the order backward finishes them: head, layers L-1 .. 1,
     * then layer 0 together with the embedding. */
    const int L = m->cfg.num_layers, nt = m->num_tensors;
    int n = 0;
    r->first_tensor[n] = nt - 2;
    r->offset[n] = m->tensors[nt - 2].offset;
    r->count[n++] = m->num_params - m->tensors[nt - 2].offset;
    for (int l = L - 1; l >= 1; l--) {
        const tensor_info *t = &m->tensors[1 + 4 * l];
        r->first_tensor[n] = 1 + 4 * l;
        r->offset[n] = t->offset;
        r->count[n++] = m->tensors[5 + 4 * l].offset - t->offset;
    }
    r->first_tensor[n] = 0;
    r->offset[n] = 0;
    r->count[n++] = m->tensors[5].offset;
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
    MPI_Iallreduce(MPI_IN_PLACE, r->grads + r->offset[b], (int)r->count[b], MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                   &req[b]);
    r->started[b] = 1;
    /* Without an asynchronous progress thread, Open MPI advances a
     * non-blocking collective only inside MPI calls: poke the earlier ones. */
    int done;
    MPI_Testall(b + 1, req, &done, MPI_STATUSES_IGNORE);
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
    MPI_Waitall(r->nbuckets, r->requests, MPI_STATUSES_IGNORE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->wait_seconds += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    memset(r->started, 0, sizeof r->started);
}
