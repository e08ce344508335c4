/* atomic.h - the one way io/ writes an HDF5 output file.
 *
 * A reader must never see a half-written checkpoint or dataset, and a failed
 * write must never destroy the previous good file.  So every output is built
 * in memory (HDF5's core driver: libhdf5 never meets a full disk, which it
 * does not survive), its image written to a temp file next to the
 * destination (same directory => same filesystem, so rename is atomic),
 * fsync'ed, renamed over the
 * destination, and the directory is fsync'ed so the rename itself survives a
 * crash.
 */
#ifndef RECUR_ATOMIC_H
#define RECUR_ATOMIC_H

#include <hdf5.h>

#include "../core/error.h"

/* Fills the freshly created HDF5 `file`.  `path` is the destination, for
 * messages (users never need to know the temp name).  Returns 0 or -1 with
 * err filled. */
typedef int (*atomic_h5_fill)(hid_t file, const char *path, void *ctx, recur_err *err);

/* Creates "<dir>/.<name>.tmp.<pid>", calls fill on a file in memory, writes
 * its image to the temp file, fsync, rename over `path`, fsync the directory.  On any failure the temp file is
 * removed, `path` is untouched and err names `path` (RECUR_EXIT_OUTPUT for
 * I/O failures; fill's own code otherwise).  Tests can stop a write halfway
 * (RECUR_TEST_PAUSE_WRITE=SECONDS[@N], see atomic.c) to kill the writer. */
int atomic_h5_write(const char *path, atomic_h5_fill fill, void *ctx, recur_err *err);

/* Removes the temp files a killed writer left in `dir` for destinations whose
 * name matches the fnmatch `pattern` ("ckpt-*.h5", "model.h5"), only those
 * whose writer (the pid in the name) no longer exists on this machine;
 * `removed` (may be NULL) hears of each.  Returns how many were removed. */
int atomic_remove_stale(const char *dir, const char *pattern, void (*removed)(const char *path, long pid));

#endif
