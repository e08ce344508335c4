#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double mean_loss(net_workspace_f64 *w, const model *m, const double *P, const net_batch *b, double count) {
    if (b->carry) net_reset_state_f64(w);
    return net_forward_f64(w, m, P, b) / count;
}

int gradcheck_batch(const model *m, const net_batch *b, double count, int per_tensor, gradcheck_result *res,
                    recur_err *err) {
    memset(res, 0, sizeof *res);
    net_workspace_f64 w;
    const int rows = net_batch_rows(b);
    if (net_workspace_create_f64(&w, &m->cfg, b->n, b->T, rows, 0, err)) return -1;
    double *P = malloc(m->num_params * sizeof(double)), *G = calloc(m->num_params, sizeof(double));
    if (!P || !G) {
        free(P);
        free(G);
        net_workspace_free_f64(&w);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for the gradient check");
    }
    for (size_t i = 0; i < m->num_params; i++) P[i] = m->params[i];
    mean_loss(&w, m, P, b, count);
    net_backward_f64(&w, m, P, G, b, 1.0 / count);
    /* Errors are relative to each pair's size, but never to less than a
     * 1e-4 of the largest gradient: round-off in the loss difference makes
     * near-zero gradients look wrong otherwise. */
    double gmax = 0;
    for (size_t i = 0; i < m->num_params; i++) gmax = fmax(gmax, fabs(G[i]));
    const double eps = 1e-5;
    for (int t = 0; t < m->num_tensors; t++) {
        const tensor_info *ti = &m->tensors[t];
        const int n = (size_t)per_tensor < ti->count ? per_tensor : (int)ti->count;
        for (int s = 0; s < n; s++) {
            const size_t idx = ti->offset + (size_t)((double)s * (double)ti->count / n);
            const double keep = P[idx];
            P[idx] = keep + eps;
            const double lp = mean_loss(&w, m, P, b, count);
            P[idx] = keep - eps;
            const double lm = mean_loss(&w, m, P, b, count);
            P[idx] = keep;
            const double fd = (lp - lm) / (2 * eps), an = G[idx];
            /* Relative to the gradient's own scale; tiny gradients compare absolutely. */
            const double rel = fabs(fd - an) / fmax(1e-4 * gmax + 1e-12, fabs(fd) + fabs(an));
            res->checked++;
            if (rel > res->worst_rel) {
                res->worst_rel = rel;
                snprintf(res->worst_at, sizeof res->worst_at, "/model/%s[%zu] (analytic %.6g, numeric %.6g)", ti->name,
                         idx - ti->offset, an, fd);
            }
        }
    }
    free(P);
    free(G);
    net_workspace_free_f64(&w);
    return 0;
}

int gradcheck_model(const model *m, const int32_t *inputs, const int32_t *targets, int B, int T, int per_tensor,
                    gradcheck_result *res, recur_err *err) {
    const net_batch b = net_window(T, B, inputs, targets);
    return gradcheck_batch(m, &b, (double)B * T, per_tensor, res, err);
}
