#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *optim_name(optim_kind kind) { return kind == OPTIM_ADAM ? "adam" : "sgd"; }

int optim_from_name(const char *name, optim_kind *out) {
    if (strcmp(name, "sgd") == 0) *out = OPTIM_SGD;
    else if (strcmp(name, "adam") == 0) *out = OPTIM_ADAM;
    else return -1;
    return 0;
}

void optim_config_defaults(optim_config *c, optim_kind kind) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = kind == OPTIM_ADAM ? 1e-3f : 1.0f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
}

int optim_create(optimizer *o, const optim_config *cfg, size_t n, recur_err *err) {
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = n;
    o->state_len = cfg->kind == OPTIM_ADAM ? 2 * n : (cfg->momentum != 0.0f ? n : 0);
    if (o->state_len) {
        o->state = calloc(o->state_len, sizeof(float));
        if (!o->state) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for optimizer state");
    }
    return 0;
}

void optim_free(optimizer *o) {
    free(o->state);
    o->state = NULL;
}

/* torch.optim.SGD (dampening 0, no nesterov): d = g + wd*p; the momentum
 * buffer is d itself on the first step, momentum*buf + d after. */
static void sgd_step(optimizer *o, float *p, const float *g, float lr) {
    const float wd = o->cfg.weight_decay, mu = o->cfg.momentum;
    float *buf = o->state;
    const int first = o->step == 0;
    for (size_t i = 0; i < o->n; i++) {
        float d = g[i];
        if (wd != 0.0f) d += wd * p[i];
        if (buf) {
            buf[i] = first ? d : mu * buf[i] + d;
            d = buf[i];
        }
        p[i] -= lr * d;
    }
}

/* torch.optim.Adam, single-tensor path: bias corrections in double as Python
 * computes them, eps added after dividing sqrt(v) by sqrt(bias_correction2). */
static void adam_step(optimizer *o, float *p, const float *g, float lr) {
    const float b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps, wd = o->cfg.weight_decay;
    const double t = (double)(o->step + 1);
    const double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    float *m = o->state, *v = o->state + o->n;
    for (size_t i = 0; i < o->n; i++) {
        float d = g[i];
        if (wd != 0.0f) d += wd * p[i];
        m[i] = m[i] * b1 + d * (1.0f - b1);
        v[i] = v[i] * b2 + d * d * (1.0f - b2);
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] += -step_size * (m[i] / denom);
    }
}

void optim_step(optimizer *o, float *params, const float *grads, float lr) {
    if (o->cfg.kind == OPTIM_ADAM) adam_step(o, params, grads, lr);
    else sgd_step(o, params, grads, lr);
    o->step++;
}

double grad_global_norm(const float *g, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

double grad_clip(float *g, size_t n, double clip) {
    double norm = grad_global_norm(g, n);
    if (clip > 0.0) {
        double scale = clip / (norm + 1e-6);
        if (scale < 1.0) {
            const float s = (float)scale;
            for (size_t i = 0; i < n; i++) g[i] *= s;
        }
    }
    return norm;
}
