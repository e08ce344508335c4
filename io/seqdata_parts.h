/* seqdata_parts.h - the pieces of io/seqdata.c's hostile reader and writer
 * that other contracts built on offsets and tokens reuse (io/pairdata.c, the
 * "recur-pairs" contract), so each check exists once.
 *
 * Readers treat the file as hostile exactly as seqdata_load does: only hard
 * links are followed, class, rank, every extent, the SEQ_MAX_* caps and the
 * storage behind the declared size are checked before anything is allocated,
 * values are read in bounded slabs and range-checked before they are narrowed,
 * arrays of variable-length strings are read first in a child with a time
 * limit (seqdata_guard_strings).  Failures are one line
 * "<path>: <field>: expected X, found Y" with RECUR_EXIT_INPUT (running out of
 * memory: RECUR_EXIT_FAIL).  The checks on data in memory take the exit code
 * to report (`code`).  No function leaves an HDF5 id open.
 */
#ifndef RECUR_SEQDATA_PARTS_H
#define RECUR_SEQDATA_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "../core/error.h"

/* 1 when `name` exists, is reached through hard links only and is a group;
 * otherwise 0 and `found` says what is there ("nothing (missing)", "int64
 * [2]", "a soft or external link", ...). */
int seqdata_is_group(hid_t file, const char *name, char *found, size_t len);

/* The extent of the 1-D integer array `name` (any width, signed or not),
 * checked as every array is, without reading it.  `want` describes the
 * contract in messages ("an integer array [n+1]"). */
int seqdata_int_extent(hid_t file, const char *path, const char *name, const char *want, size_t *n, recur_err *err);

/* Reads the 1-D integer array `name` into a malloc'd *out of dest_size-byte
 * integers (1: uint8, 4: int32, 8: int64): `expect` elements (0: any, their
 * number into *n_out; `expect_why` says in messages where the expected count
 * comes from), every value in [lo, hi) (`what` names a value: "a token"). */
int seqdata_read_ints(hid_t file, const char *path, const char *name, const char *want, size_t expect,
                      const char *expect_why, int dest_size, const char *what, int64_t lo, int64_t hi, void **out,
                      size_t *n_out, recur_err *err);

/* 1 when `name` is a dataset of strings (fixed or variable length) reached
 * through hard links; 0 otherwise (also when it is missing). */
int seqdata_is_strings(hid_t file, const char *name);

/* Reads the 1-D string dataset `name` (1..cap strings, fixed or variable
 * length) into *out[0..*n), each a malloc'd NUL-terminated UTF-8 string of at
 * most SEQ_MAX_STRING bytes.  Free with seqdata_free_strings. */
int seqdata_read_strings(hid_t file, const char *path, const char *name, size_t cap, char ***out, size_t *n,
                         recur_err *err);
void seqdata_free_strings(char **s, size_t n);

/* Reads each of names[0..count) that is an array of variable-length strings
 * in a forked child with a time limit first (libhdf5 can crash or hang on a
 * damaged global heap): -1 naming the array when the child crashed, hung or
 * failed.  Call before seqdata_read_strings on those names. */
int seqdata_guard_strings(hid_t file, const char *path, const char *const names[], int count, recur_err *err);

/* Offsets o[0..n] of n sequences over `total` steps: o[0] = 0, strictly
 * increasing (every sequence at least one step), o[n] = total
 * (`total_from` names the array that holds them, "/train/src_tokens"). */
int seqdata_check_offsets(const char *path, const char *name, const int64_t *o, size_t n, size_t total,
                          const char *total_from, int code, recur_err *err);
/* The same for other items than sequences: "every tree at least one node",
 * "the nodes in ..." (item "tree", unit "node"). */
int seqdata_check_offsets_of(const char *path, const char *name, const int64_t *o, size_t n, size_t total,
                             const char *total_from, const char *item, const char *unit, int code, recur_err *err);
/* Every v[i] in [lo, hi) (`what` names a value: "a token"). */
int seqdata_check_ints(const char *path, const char *name, const int32_t *v, size_t count, const char *what,
                       int64_t lo, int64_t hi, int code, recur_err *err);
/* Each string present, at most SEQ_MAX_STRING bytes, UTF-8. */
int seqdata_check_strings(const char *path, const char *name, char *const *s, size_t n, int code, recur_err *err);

/* Writers (RECUR_EXIT_OUTPUT naming path), datasets created without
 * modification times: int64 [n], and variable-length UTF-8 strings [n]. */
int seqdata_write_int64(hid_t file, const char *path, const char *name, const int64_t *v, size_t n, recur_err *err);
int seqdata_write_strings(hid_t file, const char *path, const char *name, char *const *s, size_t n, recur_err *err);

#endif
