/* sigterm_probe.c - does a SIGTERM give MPI ranks time to checkpoint?
 *
 * Each rank loops: MPI_Allreduce of one double, then sleeps STEP_US microseconds.  A
 * SIGTERM handler only sets a flag.  The ranks agree on the flag with the
 * same allreduce (MAX), so every rank stops after the same step; then each
 * rank sleeps CKPT_S seconds (standing in for writing a checkpoint), rank 0
 * writes the file named by argv[1], and all call MPI_Finalize and exit 0.
 * Each rank logs its progress (with timestamps) to stderr.
 *
 * Not part of the build.  Build and run by hand, e.g.:
 *   mpicc -O2 -o /tmp/sigterm_probe scripts/sigterm_probe.c
 *   mpirun --allow-run-as-root -np 2 /tmp/sigterm_probe /tmp/probe.done &
 *   sleep 2; kill -TERM $!          # then: wait $!; ls /tmp/probe.done
 *   mpirun --allow-run-as-root --mca odls_base_sigkill_timeout 30 -np 2 ...
 * Optional argv[2]: checkpoint seconds (default 3).
 */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STEP_US 100000

static volatile sig_atomic_t g_term;

static void on_term(int sig) { (void)sig; g_term = 1; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)(ts.tv_sec % 1000) + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const char *out = argc > 1 ? argv[1] : "/tmp/sigterm_probe.done";
    int ckpt_s = argc > 2 ? atoi(argv[2]) : 3;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);   /* before MPI_Init too: a SIGTERM then is not lost */

    MPI_Init(&argc, &argv);
    sigaction(SIGTERM, &sa, NULL);   /* and again, in case MPI_Init replaced it */
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    fprintf(stderr, "[%.3f] rank %d/%d pid %d running\n", now(), rank, size, (int)getpid());

    long steps = 0;
    for (;;) {
        double flag = g_term ? 1.0 : 0.0, any;
        MPI_Allreduce(&flag, &any, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        steps++;
        if (any > 0) break;
        struct timespec st = {0, STEP_US * 1000L};
        nanosleep(&st, NULL);
    }
    fprintf(stderr, "[%.3f] rank %d: stop after %ld steps (own SIGTERM %s); checkpointing %d s\n",
            now(), rank, steps, g_term ? "yes" : "no", ckpt_s);
    struct timespec left = {ckpt_s, 0};
    while (nanosleep(&left, &left) != 0) {}  /* resumed if a (second) signal cuts it short */
    fprintf(stderr, "[%.3f] rank %d: checkpoint done\n", now(), rank);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        FILE *f = fopen(out, "w");
        if (!f || fprintf(f, "steps %ld ranks %d\n", steps, size) < 0 || fclose(f) != 0) {
            perror(out);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        fprintf(stderr, "[%.3f] rank 0: wrote %s\n", now(), out);
    }
    MPI_Finalize();
    fprintf(stderr, "[%.3f] rank %d: finalized, exit 0\n", now(), rank);
    return 0;
}
