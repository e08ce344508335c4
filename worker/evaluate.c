#include "evaluate.h"

#include <stdlib.h>
#include <string.h>

#include "../core/net.h"

enum { EVAL_WINDOW = 128 };

int evaluate(const model *m, const int32_t *tokens, size_t n, int S, eval_result *res, recur_err *err) {
    if (S <= 0) return recur_fail(err, RECUR_EXIT_USAGE, "--streams: expected a positive integer, found %d", S);
    if (n < (size_t)S + 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "evaluation needs at least streams+1 = %d tokens, found %zu", S + 1, n);
    return evaluate_streams(m, tokens, (n - 1) / (size_t)S, S, res, err);
}

int evaluate_streams(const model *m, const int32_t *tokens, size_t L, int S, eval_result *res, recur_err *err) {
    memset(res, 0, sizeof *res);
    if (L == 0) return 0;
    const int T = L < EVAL_WINDOW ? (int)L : EVAL_WINDOW;
    const int V = m->cfg.vocab_size;
    net_workspace ws;
    if (net_workspace_create(&ws, &m->cfg, S, T, S * T, 0, err)) return -1;
    int32_t *in = malloc((size_t)S * T * sizeof(int32_t)), *tg = malloc((size_t)S * T * sizeof(int32_t));
    if (!in || !tg) {
        free(in);
        free(tg);
        net_workspace_free(&ws);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for evaluation batches");
    }
    double total = 0;
    for (size_t pos = 0; pos < L; pos += T) {
        const int t_len = L - pos < (size_t)T ? (int)(L - pos) : T;
        for (int j = 0; j < S; j++)
            for (int t = 0; t < t_len; t++) {
                in[(size_t)t * S + j] = tokens[(size_t)j * L + pos + t];
                tg[(size_t)t * S + j] = tokens[(size_t)j * L + pos + t + 1];
            }
        const net_batch b = net_window(t_len, S, in, tg);
        total += net_forward(&ws, m, m->params, &b);
        for (int r = 0; r < t_len * S; r++) {
            const float *p = ws.out + (size_t)r * V;
            int best = 0;
            for (int v = 1; v < V; v++) best = p[v] > p[best] ? v : best;
            res->correct += best == tg[r];
        }
    }
    res->count = L * (size_t)S;
    res->loss_sum = total;
    res->loss = total / (double)res->count;
    free(in);
    free(tg);
    net_workspace_free(&ws);
    return 0;
}
