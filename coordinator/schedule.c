#include "schedule.h"

#include <math.h>
#include <string.h>

int schedule_from_name(const char *name, schedule_kind *out) {
    static const char *names[] = {"constant", "step", "cosine"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) {
            *out = (schedule_kind)i;
            return 0;
        }
    return -1;
}

int sampling_from_name(const char *name, sampling_kind *out) {
    static const char *names[] = {"none", "linear", "exp", "sigmoid"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) {
            *out = (sampling_kind)i;
            return 0;
        }
    return -1;
}

int sampling_k_valid(sampling_kind kind, double k) {
    switch (kind) {
    case SAMPLING_LINEAR: return k > 0;
    case SAMPLING_EXP: return k > 0 && k < 1;
    case SAMPLING_SIGMOID: return k >= 1;
    default: return 1;
    }
}

double sampling_prob(sampling_kind kind, double k, long step) {
    const double i = (double)step;
    switch (kind) {
    case SAMPLING_LINEAR: return fmin(1.0, i / k);
    case SAMPLING_EXP: return 1.0 - pow(k, i);
    case SAMPLING_SIGMOID: return 1.0 - k / (k + exp(fmin(i / k, 700.0)));
    default: return 0;
    }
}

double schedule_lr(const schedule *s, long step) {
    if (s->warmup > 0 && step < s->warmup) return s->lr * (double)(step + 1) / (double)s->warmup;
    const long after = step - (s->warmup > 0 ? s->warmup : 0);
    switch (s->kind) {
    case SCHED_STEP:
        return s->decay_every > 0 ? s->lr * pow(s->decay, (double)(after / s->decay_every)) : s->lr;
    case SCHED_COSINE: {
        const long span = s->total - (s->warmup > 0 ? s->warmup : 0);
        const double p = span > 0 ? fmin(1.0, (double)after / (double)span) : 1.0;
        return s->lr_min + (s->lr - s->lr_min) * 0.5 * (1.0 + cos(M_PI * p));
    }
    default: return s->lr;
    }
}
