/* pairbatch.h - batches of (source, target) pairs for seq2seq (core/seq2seq.h).
 *
 * Which pairs and which rank: batchplan.h (cost of a pair = its source plus
 * its target length).  Each rank packs its share twice: sources sorted by
 * length for the encoder, targets sorted by length for the decoder, and
 * enc_slot links them.  The decoder reads BOS (= the target vocabulary size)
 * then the target's tokens, and predicts the target's tokens then EOS (=
 * the target vocabulary size, one class past the tokens) with END_EOS; with
 * the stop bit or the length head it runs exactly the target's length.
 */
#ifndef RECUR_PAIRBATCH_H
#define RECUR_PAIRBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "../core/seq2seq.h"
#include "../io/pairdata.h"

typedef struct {
    const pair_split *split;    /* borrowed */
    int B, ranks, rank, shuffle, eos, bos;
    uint64_t seed;
    long batches_per_epoch;
    int max_n, max_Ts, max_Re, max_Td, max_Rd; /* capacity of any share of any batch */
    /* The current batch. */
    long epoch, index;
    int n, Ts, Td, Re, Rd;
    int32_t *pair;              /* [max_n] the split's index of each decoder slot's pair */
    int32_t *src_bs, *dec_bs;   /* [max_Ts], [max_Td] */
    int32_t *src, *din, *dout;  /* [max_Re], [max_Rd], [max_Rd] */
    float *srcf;                /* [max_n, F] the context features by encoder slot (a conditional LM's), or NULL */
    int32_t *enc_slot;          /* [max_n] */
    double global_count;        /* target tokens (with EOS) of the global batch */
    long global_steps;          /* source + target tokens of the global batch */
    int32_t *order, *cost;      /* [split n] */
    long order_epoch;
    void *keys;                 /* scratch [B] (batchplan.h) */
    long *load;                 /* scratch [ranks] */
    int32_t *lens, *share;      /* scratch [max_n] */
} pairbatch;

/* tgt_vocab: the target vocabulary size (BOS/EOS id); eos: END_EOS adds the EOS step. */
int pairbatch_init(pairbatch *pb, const pair_split *split, const char *split_name, int tgt_vocab, int eos,
                   int batch, int ranks, int rank, int shuffle, uint64_t seed, recur_err *err);
void pairbatch_free(pairbatch *pb);
/* Makes batch `step` (0-based over the whole run). */
void pairbatch_fill(pairbatch *pb, long step);
/* Packs the given pairs of the split (any order, n <= max_n): what eval and
 * generation use; pairbatch_fill calls it with its share. */
void pairbatch_pack(pairbatch *pb, const int32_t *pairs, int n);
s2s_batch pairbatch_batch(const pairbatch *pb);

#endif
