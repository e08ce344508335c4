/* decode.h - generating targets from sources with a seq2seq model (no
 * training): greedy, beam search (with a GNMT length penalty) or sampling
 * (with a temperature), and each of the three ways to end (reference §5):
 * the EOS token, the stop bit (ends after a token when p_stop >= 0.5;
 * beam search scores both outcomes), or the length head (its most likely
 * length is decided before decoding starts, then exactly that many tokens).
 * Every source is decoded independently: batching them changes no result. */
#ifndef RECUR_DECODE_H
#define RECUR_DECODE_H

#include <stdint.h>

#include "../core/error.h"
#include "../core/seq2seq.h"
#include "../io/pairdata.h"

typedef struct {
    int beam;                /* hypotheses kept per source; 1 = greedy (or sampling) */
    double length_penalty;   /* alpha: beam scores are log p / ((5 + len) / 6)^alpha (Wu et al. 2016) */
    int sample;              /* draw each token instead of taking the best (beam must be 1) */
    double temperature;      /* sampling: p^(1/T), renormalised */
    int max_len;             /* at most this many tokens per output (not counting EOS) */
    uint64_t seed;           /* sampling */
} decode_opts;

typedef struct {
    const model *m;          /* borrowed */
    s2s_workspace ws;
    int max_sources, max_src_len, beam, max_len;
    /* scratch */
    int32_t *src_bs, *src_tok, *enc_slot, *order, *tokens, *from, *len;
    int32_t *hyp, *fin;      /* [n*K, max_len] alive / finished hypotheses */
    int *fin_len, *fin_count, *done;
    double *score, *fin_score, *cand_score;
    int32_t *cand_k, *cand_v, *cand_stop;
    float *src_feat;         /* [max_sources, F] a conditional LM's context features by encoder slot, or NULL */
} decoder;

int decoder_init(decoder *d, const model *m, int max_sources, int max_src_len, const decode_opts *o, recur_err *err);
void decoder_free(decoder *d);
/* Decodes n <= max_sources sources (src[i] of src_len[i] tokens, each in
 * [1, max_src_len]; a conditional LM's: its label, one token, or feat[i],
 * its F context features, with feat NULL otherwise); out[i] (room for
 * max_len tokens) and out_len[i] get the output of source i, without BOS or
 * EOS. */
void decoder_run(decoder *d, int n, const int32_t *const *src, const int *src_len, const float *const *feat,
                 const decode_opts *o, int32_t *const *out, int *out_len);

/* Every pair of a split, in file order, `batch` sources at a time (decoder
 * already set up with max_sources >= batch and max_src_len >= the split's
 * longest source): fn(ctx, i, ref, nref, out, nout) for pair i; a non-zero
 * return stops and is returned. */
typedef int (*decode_fn)(void *ctx, long i, const int32_t *ref, int nref, const int32_t *out, int nout);
int decode_split(decoder *d, const pair_split *sp, int batch, const decode_opts *o, decode_fn fn, void *ctx);
/* The longest source of a split. */
int decode_longest_source(const pair_split *sp);

#endif
