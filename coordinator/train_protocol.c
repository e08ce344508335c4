/* train_protocol.c - what the ranks of a run agree on beyond the gradient
 * allreduce: the worst error status (so one rank's failure ends all of them
 * with the same exit code instead of leaving the others waiting in a
 * collective), the carried states gathered on rank 0 for a checkpoint and
 * scattered from it on --resume, and that the replicas are bitwise identical. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "train.h"

int train_agree(run *r, int local_rc, recur_err *err) {
    int code = local_rc ? (err->code ? err->code : RECUR_EXIT_FAIL) : 0;
    int all = r->comm.size > 1 ? comm_agree(code) : code;
    /* Only the lowest failing rank speaks (often all ranks fail the same way). */
    int speaker = r->comm.size > 1 && all ? comm_min_int(code ? r->comm.rank : r->comm.size) : r->comm.rank;
    if (code && speaker == r->comm.rank) {
        if (r->comm.size > 1 && r->comm.rank > 0) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            recur_fail(err, code, "rank %d: %s", r->comm.rank, msg);
        }
        if (r->comm.rank == 0) console_break(&r->out.con);
        report_error("train", err);
    }
    return all;
}

/* From every rank's [L, b, H]. */
void train_gather_states(run *r, float **h_out, float **c_out) {
    const int L = r->m.cfg.num_layers, H = r->m.cfg.hidden_size, b = r->tr.data.nstreams, R = r->comm.size;
    const size_t block = (size_t)L * b * H;
    net_workspace *ws = &r->tr.ws;
    *h_out = *c_out = NULL;
    if (R == 1) {
        *h_out = ws->state_h;
        *c_out = ws->state_c;
        return;
    }
    const int kinds = ws->state_c ? 2 : 1;
    for (int kind = 0; kind < kinds; kind++) {
        const float *mine = kind ? ws->state_c : ws->state_h;
        comm_gather(mine, block * sizeof(float), r->gather_buf);
        if (r->comm.rank != 0) continue;
        float *dst = r->states + (size_t)kind * block * R;
        for (int rk = 0; rk < R; rk++)
            for (int l = 0; l < L; l++)
                memcpy(dst + ((size_t)l * R * b + (size_t)rk * b) * H, r->gather_buf + rk * block + (size_t)l * b * H,
                       (size_t)b * H * sizeof(float));
    }
    if (r->comm.rank == 0) {
        *h_out = r->states;
        *c_out = kinds == 2 ? r->states + block * R : NULL;
    }
}

/* FNV-1a over the bytes of the parameter arena: replicas must agree bit for bit. */
static uint64_t arena_hash(const model *m) {
    const unsigned char *p = (const unsigned char *)m->params;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < m->num_params * sizeof(float); i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

int train_replicas_identical(const run *r) {
    return r->comm.size == 1 || comm_all_equal_u64(arena_hash(&r->m));
}

/* The weights went with the model (train_setup_model). */
int train_restore(run *r, recur_err *err) {
    int rc = 0;
    long progress[2] = {0, 0};
    if (r->comm.rank == 0) {
        const checkpoint_in *ck = &r->resume;
        if (ck->opt.state_len != r->opt.state_len)
            rc = recur_fail(err, RECUR_EXIT_USAGE, "%s: --resume: the optimizer state has %zu values, the options need %zu (was --momentum changed?)",
                            r->o.resume, ck->opt.state_len, r->opt.state_len);
        else if (ck->opt.state_len)
            memcpy(r->opt.state, ck->opt.state, ck->opt.state_len * sizeof(float));
        r->opt.step = ck->opt.step;
        progress[0] = ck->step;
        progress[1] = ck->tokens_seen;
    }
    int code = train_agree(r, rc, err);
    if (code) return code;
    if (r->o.sequences) { /* no carried states: the step alone says which epoch and batch come next */
        if (r->comm.size > 1) {
            comm_bcast(progress, sizeof progress, 0);
            comm_bcast(&r->opt.step, sizeof r->opt.step, 0);
            if (r->opt.state_len) comm_bcast(r->opt.state, r->opt.state_len * sizeof(float), 0);
        }
        r->tr.step = progress[0];
        r->tr.tokens_seen = progress[1];
        return 0;
    }
    const size_t nstate = (size_t)r->m.cfg.num_layers * r->o.batch * r->m.cfg.hidden_size;
    float *states = calloc(2 * nstate, sizeof(float));
    if (!states) return train_agree(r, recur_fail(err, RECUR_EXIT_FAIL, "out of memory"), err);
    int have[2] = {0, 0};
    if (r->comm.rank == 0) {
        if (r->resume.state_h) memcpy(states, r->resume.state_h, nstate * sizeof(float)), have[0] = 1;
        if (r->resume.state_c) memcpy(states + nstate, r->resume.state_c, nstate * sizeof(float)), have[1] = 1;
    }
    if (r->comm.size > 1) {
        comm_bcast(progress, sizeof progress, 0);
        comm_bcast(&r->opt.step, sizeof r->opt.step, 0);
        if (r->opt.state_len) comm_bcast(r->opt.state, r->opt.state_len * sizeof(float), 0);
        comm_bcast(have, sizeof have, 0);
        comm_bcast(states, 2 * nstate * sizeof(float), 0);
    }
    r->tr.step = progress[0];
    r->tr.tokens_seen = progress[1];
    /* Streams are global: this rank's block of every layer, whatever R was before. */
    const int L = r->m.cfg.num_layers, H = r->m.cfg.hidden_size, b = r->tr.data.nstreams, B = r->o.batch;
    net_workspace *ws = &r->tr.ws;
    for (int l = 0; l < L; l++) {
        const size_t src = ((size_t)l * B + (size_t)r->comm.rank * b) * H, dst = (size_t)l * b * H;
        if (have[0]) memcpy(ws->state_h + dst, states + src, (size_t)b * H * sizeof(float));
        if (have[1] && ws->state_c) memcpy(ws->state_c + dst, states + nstate + src, (size_t)b * H * sizeof(float));
    }
    free(states);
    return 0;
}

