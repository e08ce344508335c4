/* comm_wait.h - how comm.c waits for MPI and what it does when MPI fails
 * (worker-internal; everyone else uses comm.h).
 *
 * Every MPI return code goes through cw_check: a failure prints
 *     <label>: rank R: MPI_Iallreduce failed: <MPI_Error_string>
 * and ends the job (exit 1).  Every collective is non-blocking and completed
 * by cw_wait, which polls with MPI_Test and sleeps between polls once the wait
 * is more than a moment (Open MPI's blocking calls busy-poll a core), and
 * which is the stall watchdog: a wait longer than the stall timeout asks every
 * other rank where it is (a small message on a private duplicate of
 * MPI_COMM_WORLD, answered by any rank that is itself waiting), prints which
 * ranks did not join this collective and where they were last seen, and
 * aborts the job.  The normal path sends nothing: the questions are asked
 * only once a wait has lasted the whole timeout. */
#ifndef RECUR_COMM_WAIT_H
#define RECUR_COMM_WAIT_H

#include <mpi.h>

/* After MPI_Init: rank, size, the private communicator and its receive. */
void cw_init(void);
/* Before MPI_Finalize. */
void cw_finalize(void);
/* "recur train" etc.: the start of every message. */
void cw_set_label(const char *label);
/* Seconds a collective may take before the job is declared stalled (0 = never). */
void cw_set_timeout(double seconds);
/* The step being computed, for messages. */
void cw_set_step(long step);

/* A failed call ends the job with a message naming `call` and this rank. */
void cw_check(int rc, const char *call);
/* `n`, or -1 when RECUR_TEST_MPI_FAIL names `call` (optionally "call@rank"
 * for one rank): a negative count makes the real MPI call fail, so tests run
 * the real error path. */
int cw_count(const char *call, int n);
/* Completes all n requests; `phase` names the collective in a stall report
 * (with n > 1, the first unfinished request is named "bucket i"). */
void cw_wait(MPI_Request *reqs, int n, const char *phase);

#endif
