/* comm.h - everything recur does with MPI, in one place.
 *
 * The run is R ranks of one MPI_COMM_WORLD (R = 1 without mpirun: an MPI
 * singleton).  Rank 0 is the coordinator.  Besides the usual collectives this
 * holds the gradient reducer: the gradient arena is summed across ranks in
 * buckets (one per layer, plus the head, plus embedding with layer 0), each
 * started with MPI_Iallreduce as soon as backward has finished it, in the
 * same fixed order on every rank, so the reduction overlaps the rest of
 * backward.
 *
 * Every MPI call is checked: a failure prints "<label>: rank R: <call>
 * failed: <reason>" and ends the job with exit 1; so does a stall
 * (comm_set_stall_timeout).  Waiting ranks sleep between polls rather than
 * spin (worker/comm_wait.h).
 */
#ifndef RECUR_COMM_H
#define RECUR_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "../core/model.h"

typedef struct {
    int rank, size;
    int initialized;       /* we called MPI_Init (and so must finalize) */
} comm_ctx;

int comm_init(comm_ctx *c, int *argc, char ***argv, recur_err *err);
void comm_finalize(comm_ctx *c);
/* Ends every rank of the job now with `code` (used when ranks can no longer agree). */
void comm_abort(int code);
/* What messages start with ("recur train"). */
void comm_set_label(const char *label);
/* A collective not complete after this many seconds ends the job (exit 1)
 * with a message naming the ranks that did not join it (0 = wait forever;
 * the default until set). */
void comm_set_stall_timeout(double seconds);
/* The step being computed, for those messages. */
void comm_set_step(long step);

/* Every rank passes its status; all get the largest (0 = all fine).  The
 * way ranks agree to stop together on an error instead of hanging. */
int comm_agree(int local_status);
void comm_bcast(void *buf, size_t bytes, int root);
double comm_sum_double(double v);
/* Sums n doubles in place across ranks. */
void comm_sum_doubles(double *v, int n);
/* Rank 0 receives the concatenation, in rank order, of `bytes` from every
 * rank (recv is ignored elsewhere). */
void comm_gather(const void *send, size_t bytes, void *recv);
/* The inverse: rank 0's `send` holds R blocks of `bytes`; each rank gets its block. */
void comm_scatter(const void *send, size_t bytes, void *recv);
/* True when any rank says so (a stop request seen by one rank stops all). */
int comm_any(int flag);
/* 1 when every rank passed the same value. */
int comm_all_equal_u64(uint64_t v);
/* The smallest value over ranks. */
int comm_min_int(int v);

/* ---- the bucketed gradient reducer ---- */
#define COMM_MAX_BUCKETS (RECUR_MAX_LAYERS + 2)

typedef struct {
    float *grads;
    int nbuckets;
    size_t offset[COMM_MAX_BUCKETS], count[COMM_MAX_BUCKETS];
    int first_tensor[COMM_MAX_BUCKETS]; /* bucket b covers tensors [first_tensor[b], first_tensor[b+1]) */
    void *requests;                     /* MPI_Request[COMM_MAX_BUCKETS] */
    int started[COMM_MAX_BUCKETS];
    double wait_seconds;                /* time blocked in reducer_wait, summed */
} grad_reducer;

int reducer_init(grad_reducer *r, const model *m, recur_err *err);
void reducer_free(grad_reducer *r);
/* Backward says tensors [first, last] are final: start every bucket they complete. */
void reducer_tensors_ready(grad_reducer *r, int first, int last);
/* Waits for all buckets (starting any not yet started). */
void reducer_wait(grad_reducer *r);

#endif
