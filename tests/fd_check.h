/* fd_check.h - the finite-difference check the gradient tests share: every
 * parameter of every tensor of a model, central differences in double. */
#ifndef RECUR_TEST_FD_CHECK_H
#define RECUR_TEST_FD_CHECK_H

#include <math.h>

#include "../core/model.h"

/* The loss at parameters P (the model's arena layout). */
typedef double (*fd_loss_fn)(void *ctx, const double *P);

/* G holds d(scale * loss)/dP.  Fails the test (naming `what`, the tensor and
 * the element) when some relative error exceeds 1e-5; returns 1 when some
 * tensor got no gradient at all (analytically and numerically), so the
 * caller can draw other parameters, else 0. */
static int fd_check(const model *m, double *P, const double *G, double scale, fd_loss_fn loss, void *ctx,
                    const char *what) {
    const double eps = 1e-6;
    double worst = 0;
    const char *worst_name = "";
    size_t worst_i = 0;
    int dead = 0;
    for (int k = 0; k < m->num_tensors; k++) {
        const tensor_info *t = &m->tensors[k];
        double gmax = 0, fdmax = 0;
        for (size_t i = 0; i < t->count; i++) {
            const size_t idx = t->offset + i;
            const double keep = P[idx];
            P[idx] = keep + eps;
            const double lp = scale * loss(ctx, P);
            P[idx] = keep - eps;
            const double lm = scale * loss(ctx, P);
            P[idx] = keep;
            const double fd = (lp - lm) / (2 * eps), an = G[idx];
            const double rel = fabs(fd - an) / fmax(1e-7, fabs(fd) + fabs(an));
            gmax = fmax(gmax, fabs(an));
            fdmax = fmax(fdmax, fabs(fd));
            if (fabs(fd - an) > 1e-8 && rel > worst) {
                worst = rel;
                worst_name = t->name;
                worst_i = i;
            }
        }
        if (!(gmax > 0) && !(fdmax > 0)) dead = 1;
    }
    if (worst > 1e-5) fail_msg("%s: worst relative error %.3g at %s[%zu]", what, worst, worst_name, worst_i);
    return dead;
}

#endif
