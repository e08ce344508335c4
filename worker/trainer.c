#include "trainer.h"

#include <stdlib.h>
#include <string.h>

static void on_grads_ready(void *ctx, int first, int last) { reducer_tensors_ready(ctx, first, last); }

int trainer_init(trainer *tr, model *m, optimizer *opt, const int32_t *tokens, size_t stream_len, int nstreams,
                 int ranks, int k, double clip, recur_err *err) {
    memset(tr, 0, sizeof *tr);
    tr->m = m;
    tr->opt = opt;
    tr->clip = clip;
    tr->ranks = ranks;
    tr->global_streams = nstreams * ranks;
    if (batcher_init(&tr->data, tokens, stream_len, nstreams, k, err)) return -1;
    if (lm_workspace_create(&tr->ws, &m->cfg, nstreams, k, err)) {
        batcher_free(&tr->data);
        return -1;
    }
    if (ranks > 1) {
        if (reducer_init(&tr->reducer, m, err)) {
            trainer_free(tr);
            return -1;
        }
        tr->ws.grads_ready = on_grads_ready;
        tr->ws.grads_ready_ctx = &tr->reducer;
    }
    /* RECUR_NO_RGEMM=1: every recurrent product through cblas (A/B benchmarks, debugging). */
    const char *no = getenv("RECUR_NO_RGEMM");
    tr->ws.no_packing = no && *no && strcmp(no, "0") != 0;
    return 0;
}

void trainer_free(trainer *tr) {
    lm_workspace_free(&tr->ws);
    batcher_free(&tr->data);
    reducer_free(&tr->reducer);
}

void trainer_step(trainer *tr, float lr, int stop_local, step_result *res) {
    batcher *bt = &tr->data;
    const long pos = tr->step % bt->steps_per_epoch;
    if (pos == 0) lm_reset_state(&tr->ws);
    batcher_fill(bt, pos);

    /* Every rank scales by the GLOBAL prediction count, so the summed
     * gradient is exactly the gradient of the global mean loss. */
    const size_t count = (size_t)tr->global_streams * bt->k;
    model *m = tr->m;
    memset(m->grads, 0, m->num_params * sizeof(float));
    double sums[2] = {lm_forward(&tr->ws, m, m->params, bt->inputs, bt->targets, bt->k), stop_local ? 1.0 : 0.0};
    lm_backward(&tr->ws, m, m->params, m->grads, bt->inputs, bt->targets, 1.0f / (float)count);
    if (tr->ranks > 1) {
        reducer_wait(&tr->reducer);
        comm_sum_doubles(sums, 2);
    }
    res->loss = sums[0] / (double)count;
    res->stop = sums[1] > 0;
    res->grad_norm = grad_clip(m->grads, m->num_params, tr->clip);
    res->epoch = tr->step / bt->steps_per_epoch;
    optim_step(tr->opt, m->params, m->grads, lr);
    tr->step++;
    tr->tokens_seen += (long)count;
}
