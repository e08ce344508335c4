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
