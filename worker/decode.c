#include "decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "batchplan.h"

int decoder_init(decoder *d, const model *m, int max_sources, int max_src_len, const decode_opts *o, recur_err *err) {
    memset(d, 0, sizeof *d);
    if (o->beam < 1 || o->max_len < 1 || max_sources < 1 || max_src_len < 1)
        return recur_fail(err, RECUR_EXIT_USAGE, "decoding needs a beam >= 1 and a maximum length >= 1 (got %d and %d)",
                          o->beam, o->max_len);
    d->m = m;
    d->max_sources = max_sources, d->max_src_len = max_src_len, d->beam = o->beam, d->max_len = o->max_len;
    const size_t S = (size_t)max_sources, K = (size_t)o->beam, N = S * K, ML = (size_t)o->max_len;
    const size_t O = (size_t)model_s2s_outputs(&m->cfg), C = K * O * 2;
    if (s2s_workspace_create(&d->ws, m, (int)N, max_src_len, (int)(S * (size_t)max_src_len), 1, (int)N, 0, err))
        return -1;
    d->src_bs = calloc((size_t)max_src_len, sizeof(int32_t));
    d->src_tok = calloc(S * (size_t)max_src_len, sizeof(int32_t));
    d->enc_slot = calloc(N, sizeof(int32_t));
    d->order = calloc(S, sizeof(int32_t));
    d->tokens = calloc(N, sizeof(int32_t));
    d->from = calloc(N, sizeof(int32_t));
    d->len = calloc(2 * N, sizeof(int32_t));
    d->hyp = calloc(2 * N * ML, sizeof(int32_t));
    d->fin = calloc(N * ML, sizeof(int32_t));
    d->fin_len = calloc(N, sizeof(int));
    d->fin_count = calloc(S, sizeof(int));
    d->done = calloc(S, sizeof(int));
    d->score = calloc(2 * N, sizeof(double));
    d->fin_score = calloc(N, sizeof(double));
    d->cand_score = calloc(C, sizeof(double));
    d->cand_k = calloc(C, sizeof(int32_t));
    d->cand_v = calloc(C, sizeof(int32_t));
    d->cand_stop = calloc(C, sizeof(int32_t));
    const size_t F = m->cfg.condition == COND_FEATURES ? (size_t)m->cfg.input_size : 0;
    if (F && !(d->src_feat = calloc(S * F, sizeof(float)))) {
        decoder_free(d);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for decoding");
    }
    if (!d->src_bs || !d->src_tok || !d->enc_slot || !d->order || !d->tokens || !d->from || !d->len || !d->hyp ||
        !d->fin || !d->fin_len || !d->fin_count || !d->done || !d->score || !d->fin_score || !d->cand_score ||
        !d->cand_k || !d->cand_v || !d->cand_stop) {
        decoder_free(d);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for decoding");
    }
    return 0;
}

void decoder_free(decoder *d) {
    s2s_workspace_free(&d->ws);
    void *p[] = {d->src_bs, d->src_tok, d->enc_slot, d->order,     d->tokens,     d->from,   d->len,
                 d->hyp,    d->fin,     d->fin_len,  d->fin_count, d->done,       d->score,  d->fin_score,
                 d->cand_score, d->cand_k, d->cand_v, d->cand_stop, d->src_feat};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) free(p[i]);
    memset(d, 0, sizeof *d);
}

/* Sources longest first (stable) into the encoder's packed layout. */
static void pack_sources(decoder *d, int n, const int32_t *const *src, const int *src_len, const float *const *feat,
                         s2s_batch *b) {
    for (int i = 0; i < n; i++) d->order[i] = i;
    for (int i = 1; i < n; i++) { /* insertion sort: stable, n is small */
        const int32_t x = d->order[i];
        int j = i;
        while (j > 0 && src_len[d->order[j - 1]] < src_len[x]) d->order[j] = d->order[j - 1], j--;
        d->order[j] = x;
    }
    for (int e = 0; e < n; e++) d->len[e] = src_len[d->order[e]];
    const int Ts = d->len[0];
    plan_packed_sizes(d->len, n, Ts, d->src_bs);
    for (int t = 0, row = 0; t < Ts; t++)
        for (int e = 0; e < d->src_bs[t]; e++) d->src_tok[row++] = src[d->order[e]][t];
    const size_t F = d->src_feat ? (size_t)d->m->cfg.input_size : 0;
    for (int e = 0; F && e < n; e++) memcpy(d->src_feat + (size_t)e * F, feat[d->order[e]], F * sizeof(float));
    *b = (s2s_batch){.n = n, .Ts = Ts, .src_bs = d->src_bs, .src_tokens = d->src_tok, .src_features = d->src_feat};
}

static double penalty(const decode_opts *o, int len) {
    return o->length_penalty == 0 ? 1 : pow((5.0 + len) / 6.0, o->length_penalty);
}

/* Greedy or sampled: one hypothesis per source. */
static void run_single(decoder *d, int n, const decode_opts *o, const int *target_len, int32_t *const *out,
                       int *out_len) {
    const model *m = d->m;
    const int O = d->ws.O, eos = m->cfg.end == END_EOS ? m->cfg.vocab_size : -1, bos = m->cfg.vocab_size;
    rng_state r;
    rng_seed(&r, o->seed);
    for (int i = 0; i < n; i++) d->tokens[i] = bos, out_len[i] = 0, d->done[i] = 0;
    for (int t = 0; t < d->max_len; t++) {
        int alive = 0;
        for (int i = 0; i < n; i++) alive += !d->done[i];
        if (!alive) break;
        const float *p = s2s_gen_step(&d->ws, m, m->params, d->tokens);
        for (int i = 0; i < n; i++) {
            if (d->done[i]) continue;
            const float *pi = p + (size_t)i * O;
            int v = 0;
            if (o->sample) {
                double total = 0, acc = 0;
                for (int k = 0; k < O; k++) total += pow((double)pi[k], 1.0 / o->temperature);
                const double u = rng_uniform(&r) * total;
                for (v = 0; v < O - 1; v++)
                    if ((acc += pow((double)pi[v], 1.0 / o->temperature)) > u) break;
            } else {
                for (int k = 1; k < O; k++)
                    if (pi[k] > pi[v]) v = k;
            }
            d->tokens[i] = v;
            if (v == eos) {
                d->done[i] = 1;
                continue;
            }
            out[i][out_len[i]++] = v;
            if ((m->s2s.stop_w >= 0 && d->ws.stop[i] >= 0.5f) || (target_len && out_len[i] >= target_len[i]) ||
                out_len[i] >= d->max_len)
                d->done[i] = 1;
        }
    }
}

/* Beam search: K hypotheses per source in slots s*K .. s*K+K-1. */
static void run_beam(decoder *d, int n, const decode_opts *o, const int *target_len, int32_t *const *out,
                     int *out_len) {
    const model *m = d->m;
    const int K = d->beam, N = n * K, ML = d->max_len, O = d->ws.O;
    const int eos = m->cfg.end == END_EOS ? m->cfg.vocab_size : -1, bos = m->cfg.vocab_size;
    const int stop_bit = m->s2s.stop_w >= 0;
    double *score = d->score, *next_score = d->score + N;
    int32_t *len = d->len, *next_len = d->len + N, *hyp = d->hyp, *next_hyp = d->hyp + (size_t)N * ML;
    for (int i = 0; i < N; i++) {
        d->tokens[i] = bos;
        len[i] = 0;
        score[i] = i % K == 0 ? 0 : -INFINITY; /* one live hypothesis per source to start */
    }
    for (int s = 0; s < n; s++) d->fin_count[s] = 0, d->done[s] = 0;
    for (int t = 0; t < ML; t++) {
        int alive = 0;
        for (int s = 0; s < n; s++) alive += !d->done[s];
        if (!alive) break;
        const float *p = s2s_gen_step(&d->ws, m, m->params, d->tokens);
        for (int s = 0; s < n; s++) {
            const int base = s * K;
            for (int k = 0; k < K; k++) next_score[base + k] = -INFINITY, d->from[base + k] = base, next_len[base + k] = 0;
            if (d->done[s]) continue;
            /* Candidates: (beam k, token v, finishes?). */
            int nc = 0;
            for (int k = 0; k < K; k++) {
                const int i = base + k;
                if (!isfinite(score[i])) continue;
                const int last = len[i] + 1 >= ML || (target_len && len[i] + 1 >= target_len[s]);
                const double ps = stop_bit ? (double)d->ws.stop[i] : 0;
                for (int v = 0; v < O; v++) {
                    const double lp = log((double)p[(size_t)i * O + v] + 1e-30);
                    if (v == eos || last) {
                        d->cand_score[nc] = score[i] + lp, d->cand_k[nc] = k, d->cand_v[nc] = v, d->cand_stop[nc++] = 1;
                        continue;
                    }
                    if (stop_bit) {
                        d->cand_score[nc] = score[i] + lp + log(ps + 1e-30), d->cand_k[nc] = k, d->cand_v[nc] = v;
                        d->cand_stop[nc++] = 1;
                    }
                    d->cand_score[nc] = score[i] + lp + (stop_bit ? log(1 - ps + 1e-30) : 0);
                    d->cand_k[nc] = k, d->cand_v[nc] = v, d->cand_stop[nc++] = 0;
                }
            }
            /* Best first: take candidates until K continue (finished ones are kept aside). */
            int kept = 0;
            while (kept < K && d->fin_count[s] < K) {
                int best = -1;
                for (int c = 0; c < nc; c++)
                    if (d->cand_k[c] >= 0 && (best < 0 || d->cand_score[c] > d->cand_score[best])) best = c;
                if (best < 0 || !isfinite(d->cand_score[best])) break;
                const int src = base + d->cand_k[best], v = d->cand_v[best];
                d->cand_k[best] = -1;
                if (d->cand_stop[best]) {
                    const int f = base + d->fin_count[s]++;
                    int fl = len[src];
                    memcpy(d->fin + (size_t)f * ML, hyp + (size_t)src * ML, (size_t)fl * sizeof(int32_t));
                    if (v != eos) d->fin[(size_t)f * ML + fl++] = v;
                    d->fin_len[f] = fl;
                    d->fin_score[f] = d->cand_score[best] / penalty(o, fl);
                    continue;
                }
                const int j = base + kept++;
                memcpy(next_hyp + (size_t)j * ML, hyp + (size_t)src * ML, (size_t)len[src] * sizeof(int32_t));
                next_hyp[(size_t)j * ML + len[src]] = v;
                next_len[j] = len[src] + 1;
                next_score[j] = d->cand_score[best];
                d->from[j] = src;
                d->tokens[j] = v;
            }
            if (d->fin_count[s] >= K || kept == 0) d->done[s] = 1;
        }
        s2s_gen_reorder(&d->ws, d->from);
        double *ts = score; score = next_score; next_score = ts;
        int32_t *tl = len; len = next_len; next_len = tl;
        int32_t *th = hyp; hyp = next_hyp; next_hyp = th;
    }
    for (int s = 0; s < n; s++) { /* the best finished hypothesis; none finished: the best alive one */
        int best = -1;
        for (int f = s * K; f < s * K + d->fin_count[s]; f++)
            if (best < 0 || d->fin_score[f] > d->fin_score[best]) best = f;
        if (best >= 0) {
            out_len[s] = d->fin_len[best];
            memcpy(out[s], d->fin + (size_t)best * ML, (size_t)out_len[s] * sizeof(int32_t));
            continue;
        }
        int a = s * K;
        for (int k = 1; k < K; k++)
            if (score[s * K + k] > score[a]) a = s * K + k;
        out_len[s] = len[a];
        memcpy(out[s], hyp + (size_t)a * ML, (size_t)len[a] * sizeof(int32_t));
    }
}

void decoder_run(decoder *d, int n, const int32_t *const *src, const int *src_len, const float *const *feat,
                 const decode_opts *o, int32_t *const *out, int *out_len) {
    if (n <= 0) return;
    const int K = d->beam;
    s2s_batch b;
    pack_sources(d, n, src, src_len, feat, &b);
    for (int e = 0; e < n; e++) /* decoder slot s*K+k reads source s, at encoder slot e */
        for (int k = 0; k < K; k++) d->enc_slot[d->order[e] * K + k] = e;
    s2s_gen_begin(&d->ws, d->m, d->m->params, &b, n * K, d->enc_slot);
    int *target_len = NULL;
    if (d->m->cfg.end == END_LENGTH) { /* the length head decides first */
        const float *lp = s2s_gen_lengths(&d->ws, d->m, d->m->params);
        const int ML = d->m->cfg.max_len;
        target_len = d->fin_len; /* scratch: [n] */
        for (int s = 0; s < n; s++) {
            const float *p = lp + (size_t)s * K * ML;
            int best = 0;
            for (int l = 1; l < ML; l++)
                if (p[l] > p[best]) best = l;
            target_len[s] = best + 1;
        }
        int tl[n];
        memcpy(tl, target_len, sizeof tl);
        if (K == 1) run_single(d, n, o, tl, out, out_len);
        else run_beam(d, n, o, tl, out, out_len);
        return;
    }
    if (K == 1) run_single(d, n, o, NULL, out, out_len);
    else run_beam(d, n, o, NULL, out, out_len);
}

int decode_longest_source(const pair_split *sp) {
    size_t most = 1;
    for (size_t i = 0; i < sp->n; i++)
        if (pair_src_length(sp, i) > most) most = pair_src_length(sp, i);
    return (int)most;
}

int decode_split(decoder *d, const pair_split *sp, int batch, const decode_opts *o, decode_fn fn, void *ctx) {
    const int B = batch < d->max_sources ? batch : d->max_sources;
    const int32_t *src[B];
    const float *feat[B];
    int32_t *out[B];
    int src_len[B], out_len[B];
    int32_t *buf = malloc((size_t)B * d->max_len * sizeof(int32_t));
    if (!buf) return -1;
    for (int i = 0; i < B; i++) out[i] = buf + (size_t)i * d->max_len;
    int rc = 0;
    for (size_t first = 0; first < sp->n && !rc; first += (size_t)B) {
        const int n = (int)(sp->n - first < (size_t)B ? sp->n - first : (size_t)B);
        for (int i = 0; i < n; i++) {
            src[i] = sp->src_tokens + sp->src_offsets[first + (size_t)i];
            src_len[i] = (int)pair_src_length(sp, first + (size_t)i);
            feat[i] = sp->src_features ? sp->src_features + (first + (size_t)i) * (size_t)sp->src_width : NULL;
        }
        decoder_run(d, n, src, src_len, feat, o, out, out_len);
        for (int i = 0; i < n && !rc; i++) {
            const size_t p = first + (size_t)i;
            rc = fn(ctx, (long)p, sp->tgt_tokens + sp->tgt_offsets[p], (int)pair_tgt_length(sp, p), out[i], out_len[i]);
        }
    }
    free(buf);
    return rc;
}
