/* h5probe.h - the first parse of an untrusted HDF5 file happens in a child.
 *
 * libhdf5 1.10 can crash (SIGSEGV, "free(): invalid size") or spin forever on
 * a damaged file, inside its own code (the global-heap read of variable-length
 * strings, H5HG_read; h5dump crashes on the same files).  No check recur
 * makes before calling the library can rule that out, so before the process
 * opens a file for real, a forked child opens it and walks everything any
 * recur reader may touch: every link (iterated and looked up by name), every
 * attribute of every object (strings read the way io/h5util.c reads them),
 * every dataset's type, shape and layout, and the data (whole for datasets up
 * to 64 MiB, the first and last slabs of larger ones).  The child calls no
 * MPI (fork after MPI_Init is fine with Open MPI's shared-memory transport)
 * and leaves with _exit.  Only when it exits normally does the caller go on;
 * the child does not judge the contract, so a file that merely violates it
 * still gets the real reader's precise message.
 *
 * A file is probed once per process for each (device, inode, size, mtime):
 * sharded reads of one dataset do not fork again. */
#ifndef RECUR_H5PROBE_H
#define RECUR_H5PROBE_H

#include "../core/error.h"

/* 0 when the child walked `path` and exited normally (or could not be
 * started: fork failing is no reason to refuse a file).  Otherwise -1 with
 * RECUR_EXIT_INPUT and
 *     <path>: damaged HDF5 file (the reader crashed on it: SIGSEGV)
 *     <path>: damaged HDF5 file (the reader hung on it: no answer in 10 s)
 *     <path>: damaged HDF5 file (the reader failed on it: exit N)
 * (the last when something in the library, or a sanitizer, exited the child).
 * The time limit is 10 s; RECUR_PROBE_TIMEOUT (seconds) overrides it.
 * RECUR_PROBE=0 skips the probe (to test io/crash_guard.h on its own). */
int h5probe_check(const char *path, recur_err *err);
/* The same, opening `open_path` (e.g. /proc/self/fd/N of a file already
 * open: the child inherits the descriptor and reads that very file) and
 * naming `path` in messages. */
int h5probe_check_as(const char *open_path, const char *path, recur_err *err);

/* The walk itself, in the calling process (what the child runs; tests and
 * tools may call it directly).  Returns 0 when it completed. */
int h5probe_walk(const char *path);

#endif
