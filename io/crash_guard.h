/* crash_guard.h - a fatal signal never becomes a silent hang or a bare
 * "Segmentation fault".
 *
 * libhdf5 can crash on a damaged file (its global-heap reader, H5HG_read,
 * walks corrupt lengths).  io/h5probe.c parses each input file in a child
 * first, so such a crash normally stays there; this guard is the second line:
 * recur's own handler for SIGSEGV, SIGBUS, SIGABRT, SIGFPE and SIGILL, on an
 * alternate stack, that names the file being read (when one is) and ends the
 * process with exit 3 (invalid input file) at once.  It matters under
 * mpirun: Open MPI's own SIGSEGV handler calls malloc and deadlocks when the
 * heap is what broke, so the job would hang silently instead of ending.
 * Outside a file read the handler prints the signal and dies by it (default
 * action), so a bug still looks like a crash to mpirun and to core dumps. */
#ifndef RECUR_CRASH_GUARD_H
#define RECUR_CRASH_GUARD_H

/* Installs the handler, replacing whatever is there (Open MPI's after
 * MPI_Init: worker/comm.c calls it right after).  Cheap and idempotent: the
 * io layer also calls it before every read, so it is in place even when a
 * library installed its own since. */
void crash_guard_install(void);

/* The file being read, named by the handler; NULL when none.  Returns the
 * previous one so reads can nest (restore it with crash_guard_reading(prev)).
 * The name is copied: `path` need not outlive the call. */
const char *crash_guard_reading(const char *path);

/* "SIGSEGV", "SIGABRT", ... (async-signal-safe). */
const char *crash_guard_signal_name(int sig);

#endif
