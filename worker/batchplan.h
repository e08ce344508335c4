/* batchplan.h - which items (sequences, pairs) form a batch and which rank
 * gets each: what seqbatch.c and pairbatch.c share.
 *
 * An epoch visits the n items in an order: file order with --no-shuffle,
 * else a permutation drawn from (seed, epoch) alone, so a resumed run
 * recomputes it from its step.  Global batch k of an epoch is the items at
 * positions kB .. kB+B-1 of that order (the last may be shorter).  Under MPI
 * the global batch is split by cost (steps), not by count: items longest
 * first, each to the rank with the least cost so far.  Every rank computes
 * the whole plan, so each knows the global batch without asking. */
#ifndef RECUR_BATCHPLAN_H
#define RECUR_BATCHPLAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct { int32_t cost, pos, id; } plan_key;

/* Sorts keys by cost, highest first; equal costs keep their position. */
void plan_sort(plan_key *keys, size_t n);
/* order[0..n) = this epoch's order. */
void plan_order(int32_t *order, size_t n, int shuffle, uint64_t seed, long epoch);
/* The global batch order[first .. first+count) with cost[id]: writes this
 * rank's ids into mine (highest cost first) and returns how many; *total is
 * the global batch's summed cost.  keys [count] and load [ranks] are scratch. */
int plan_share(const int32_t *order, size_t first, int count, const int32_t *cost, int ranks, int rank,
               plan_key *keys, long *load, int32_t *mine, long *total);

/* The packed layout of n sequences of lengths len[0..n), longest first:
 * bs[t] = how many are longer than t, for t < T; returns the rows (sum). */
int plan_packed_sizes(const int32_t *len, int n, int T, int32_t *bs);

#endif
