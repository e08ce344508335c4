#include "trainer.h"

#include <stdlib.h>
#include <string.h>

int trainer_init(trainer *tr, model *m, optimizer *opt, const int32_t *tokens, size_t n, int B, int k, double clip,
                 const char *source, recur_err *err) {
    memset(tr, 0, sizeof *tr);
    tr->m = m;
    tr->opt = opt;
    tr->clip = clip;
    if (batcher_init(&tr->data, tokens, n, B, k, source, err)) return -1;
    if (lm_workspace_create(&tr->ws, &m->cfg, B, k, err)) {
        batcher_free(&tr->data);
        return -1;
    }
    /* RECUR_NO_RGEMM=1: every recurrent product through cblas (A/B benchmarks, debugging). */
    const char *no = getenv("RECUR_NO_RGEMM");
    tr->ws.no_packing = no && *no && strcmp(no, "0") != 0;
    return 0;
}

void trainer_free(trainer *tr) {
    lm_workspace_free(&tr->ws);
    batcher_free(&tr->data);
}

void trainer_step(trainer *tr, float lr, step_result *res) {
    batcher *bt = &tr->data;
    const long pos = tr->step % bt->steps_per_epoch;
    if (pos == 0) lm_reset_state(&tr->ws);
    batcher_fill(bt, pos);

    const size_t count = (size_t)bt->B * bt->k;
    model *m = tr->m;
    memset(m->grads, 0, m->num_params * sizeof(float));
    double sum = lm_forward(&tr->ws, m, m->params, bt->inputs, bt->targets, bt->k);
    lm_backward(&tr->ws, m, m->params, m->grads, bt->inputs, bt->targets, 1.0f / (float)count);
    res->loss = sum / (double)count;
    res->grad_norm = grad_clip(m->grads, m->num_params, tr->clip);
    res->epoch = tr->step / bt->steps_per_epoch;
    optim_step(tr->opt, m->params, m->grads, lr);
    tr->step++;
    tr->tokens_seen += (long)count;
}
