#include "pairbatch.h"

#include <stdlib.h>
#include <string.h>

#include "batchplan.h"

/* Step counts of each side of pair i. */
static int32_t src_len(const pair_split *s, int32_t i) { return (int32_t)pair_src_length(s, (size_t)i); }
static int32_t dec_len(const pairbatch *pb, int32_t i) { return (int32_t)pair_tgt_length(pb->split, (size_t)i) + pb->eos; }

/* The sum of the k largest values of v[0..n) (capacity of k rows). */
static size_t sum_largest(const pair_split *sp, const pairbatch *pb, int side, int k, int32_t *maxv) {
    const size_t n = sp->n;
    plan_key *keys = malloc(n * sizeof *keys);
    if (!keys) return 0;
    for (size_t i = 0; i < n; i++)
        keys[i] = (plan_key){side ? dec_len(pb, (int32_t)i) : src_len(sp, (int32_t)i), (int32_t)i, (int32_t)i};
    plan_sort(keys, n);
    size_t sum = 0;
    for (int i = 0; i < k; i++) sum += (size_t)keys[i].cost;
    *maxv = keys[0].cost;
    free(keys);
    return sum;
}

int pairbatch_init(pairbatch *pb, const pair_split *sp, const char *split_name, int tgt_vocab, int eos, int batch,
                   int ranks, int rank, int shuffle, uint64_t seed, recur_err *err) {
    memset(pb, 0, sizeof *pb);
    if (batch < 1) return recur_fail(err, RECUR_EXIT_USAGE, "--batch: expected a positive number of pairs, found %d", batch);
    if (!sp->present || sp->n == 0) return recur_fail(err, RECUR_EXIT_INPUT, "the dataset has no '%s' pairs", split_name);
    if (sp->n > INT32_MAX / 2 || sp->src_total > INT32_MAX / 2 || sp->tgt_total > INT32_MAX / 2)
        return recur_fail(err, RECUR_EXIT_INPUT, "split '%s': %zu pairs is more than one process handles", split_name,
                          sp->n);
    pb->split = sp;
    pb->B = batch, pb->ranks = ranks, pb->rank = rank, pb->shuffle = shuffle, pb->seed = seed;
    pb->eos = eos ? 1 : 0;
    pb->bos = tgt_vocab;
    const size_t n = sp->n;
    pb->batches_per_epoch = (long)((n + (size_t)batch - 1) / (size_t)batch);
    pb->order_epoch = -1;
    pb->max_n = (size_t)batch < n ? batch : (int)n;
    const size_t Re = sum_largest(sp, pb, 0, pb->max_n, &pb->max_Ts);
    const size_t Rd = sum_largest(sp, pb, 1, pb->max_n, &pb->max_Td);
    if (!Re || !Rd) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    if (Re > INT32_MAX / 4 || Rd > INT32_MAX / 4)
        return recur_fail(err, RECUR_EXIT_USAGE, "--batch %d: too many tokens in one batch", batch);
    pb->max_Re = (int)Re, pb->max_Rd = (int)Rd;
    const size_t N = (size_t)pb->max_n;
    pb->pair = calloc(N, sizeof(int32_t));
    pb->enc_slot = calloc(N, sizeof(int32_t));
    pb->lens = calloc(N, sizeof(int32_t));
    pb->share = calloc(N, sizeof(int32_t));
    pb->src_bs = calloc((size_t)pb->max_Ts, sizeof(int32_t));
    pb->dec_bs = calloc((size_t)pb->max_Td, sizeof(int32_t));
    pb->src = calloc(Re, sizeof(int32_t));
    if (sp->src_width && !(pb->srcf = calloc(N * (size_t)sp->src_width, sizeof(float)))) {
        pairbatch_free(pb);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for batches of %d pairs", batch);
    }
    pb->din = calloc(Rd, sizeof(int32_t));
    pb->dout = calloc(Rd, sizeof(int32_t));
    pb->order = calloc(n, sizeof(int32_t));
    pb->cost = calloc(n, sizeof(int32_t));
    pb->keys = calloc((size_t)batch > N ? (size_t)batch : N, sizeof(plan_key));
    pb->load = calloc((size_t)ranks, sizeof(long));
    if (!pb->pair || !pb->enc_slot || !pb->lens || !pb->share || !pb->src_bs || !pb->dec_bs || !pb->src || !pb->din || !pb->dout || !pb->order ||
        !pb->cost || !pb->keys || !pb->load) {
        pairbatch_free(pb);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for batches of %d pairs", batch);
    }
    for (size_t i = 0; i < n; i++) pb->cost[i] = src_len(sp, (int32_t)i) + dec_len(pb, (int32_t)i);
    return 0;
}

void pairbatch_free(pairbatch *pb) {
    free(pb->pair);
    free(pb->enc_slot);
    free(pb->lens);
    free(pb->share);
    free(pb->src_bs);
    free(pb->dec_bs);
    free(pb->src);
    free(pb->srcf);
    free(pb->din);
    free(pb->dout);
    free(pb->order);
    free(pb->cost);
    free(pb->keys);
    free(pb->load);
    memset(pb, 0, sizeof *pb);
}

void pairbatch_pack(pairbatch *pb, const int32_t *pairs, int n) {
    const pair_split *sp = pb->split;
    plan_key *keys = pb->keys;
    int32_t *len = pb->lens;
    /* Decoder slots: targets longest first. */
    for (int i = 0; i < n; i++) keys[i] = (plan_key){dec_len(pb, pairs[i]), i, pairs[i]};
    plan_sort(keys, (size_t)n);
    for (int i = 0; i < n; i++) pb->pair[i] = keys[i].id, len[i] = keys[i].cost;
    pb->n = n;
    pb->Td = n ? len[0] : 0;
    pb->Rd = plan_packed_sizes(len, n, pb->Td, pb->dec_bs);
    for (int t = 0, r0 = 0; t < pb->Td; r0 += pb->dec_bs[t], t++)
        for (int i = 0; i < pb->dec_bs[t]; i++) {
            const int32_t *tg = sp->tgt_tokens + sp->tgt_offsets[pb->pair[i]];
            const int tl = (int)pair_tgt_length(sp, (size_t)pb->pair[i]);
            pb->din[r0 + i] = t == 0 ? pb->bos : tg[t - 1];
            pb->dout[r0 + i] = t < tl ? tg[t] : pb->bos; /* EOS has the same id as BOS: one past the tokens */
        }
    /* Encoder slots: sources longest first; keys[i].pos = the decoder slot. */
    for (int i = 0; i < n; i++) keys[i] = (plan_key){src_len(sp, pb->pair[i]), i, pb->pair[i]};
    plan_sort(keys, (size_t)n);
    for (int e = 0; e < n; e++) pb->enc_slot[keys[e].pos] = e, len[e] = keys[e].cost;
    pb->Ts = n ? len[0] : 0;
    pb->Re = plan_packed_sizes(len, n, pb->Ts, pb->src_bs);
    for (int t = 0, r0 = 0; t < pb->Ts; r0 += pb->src_bs[t], t++)
        for (int e = 0; e < pb->src_bs[t]; e++) pb->src[r0 + e] = sp->src_tokens[sp->src_offsets[keys[e].id] + t];
    const size_t F = (size_t)sp->src_width;
    for (int e = 0; F && e < n; e++)
        memcpy(pb->srcf + (size_t)e * F, sp->src_features + (size_t)keys[e].id * F, F * sizeof(float));
}

void pairbatch_fill(pairbatch *pb, long step) {
    const pair_split *sp = pb->split;
    pb->epoch = step / pb->batches_per_epoch;
    pb->index = step % pb->batches_per_epoch;
    if (pb->order_epoch != pb->epoch) {
        plan_order(pb->order, sp->n, pb->shuffle, pb->seed, pb->epoch);
        pb->order_epoch = pb->epoch;
    }
    const size_t first = (size_t)pb->index * pb->B, n = sp->n;
    const int count = (int)(first + (size_t)pb->B <= n ? (size_t)pb->B : n - first);
    long total;
    const int k = plan_share(pb->order, first, count, pb->cost, pb->ranks, pb->rank, pb->keys, pb->load, pb->share,
                             &total);
    double tokens = 0;
    for (int i = 0; i < count; i++) tokens += dec_len(pb, pb->order[first + (size_t)i]);
    pb->global_count = tokens;
    pb->global_steps = total;
    pairbatch_pack(pb, pb->share, k);
}

s2s_batch pairbatch_batch(const pairbatch *pb) {
    return (s2s_batch){.n = pb->n, .Ts = pb->Ts, .Td = pb->Td, .src_bs = pb->src_bs, .src_tokens = pb->src,
                       .src_features = pb->srcf, .dec_bs = pb->dec_bs, .dec_in = pb->din, .dec_out = pb->dout, .enc_slot = pb->enc_slot};
}
