#include "batchplan.h"

#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"

static int by_cost(const void *a, const void *b) {
    const plan_key *x = a, *y = b;
    if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

void plan_sort(plan_key *keys, size_t n) { qsort(keys, n, sizeof *keys, by_cost); }

void plan_order(int32_t *order, size_t n, int shuffle, uint64_t seed, long epoch) {
    for (size_t i = 0; i < n; i++) order[i] = (int32_t)i;
    if (!shuffle || n < 2) return;
    rng_state r;
    rng_seed(&r, seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(epoch + 1)));
    for (size_t i = n - 1; i > 0; i--) {
        const size_t j = (size_t)(rng_next(&r) % (i + 1));
        const int32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

int plan_share(const int32_t *order, size_t first, int count, const int32_t *cost, int ranks, int rank,
               plan_key *keys, long *load, int32_t *mine, long *total) {
    long sum = 0;
    for (int i = 0; i < count; i++) {
        const int32_t id = order[first + (size_t)i];
        keys[i] = (plan_key){cost[id], i, id};
        sum += cost[id];
    }
    plan_sort(keys, (size_t)count);
    memset(load, 0, (size_t)ranks * sizeof(long));
    int n = 0;
    for (int i = 0; i < count; i++) {
        int best = 0;
        for (int r = 1; r < ranks; r++)
            if (load[r] < load[best]) best = r;
        load[best] += keys[i].cost;
        if (best == rank) mine[n++] = keys[i].id;
    }
    *total = sum;
    return n;
}

int plan_packed_sizes(const int32_t *len, int n, int T, int32_t *bs) {
    int rows = 0;
    for (int t = 0; t < T; t++) {
        int active = 0;
        while (active < n && len[active] > t) active++;
        bs[t] = active;
        rows += active;
    }
    return rows;
}
