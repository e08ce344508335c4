/* train_loop.c - the steps of a run, on every rank: update, record,
 * validation and checkpoints when due, and the end (a last validation, the
 * final checkpoint, the end record) or a clean stop after a signal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../worker/evaluate.h"
#include "../worker/paireval.h"
#include "../worker/seqeval.h"
#include "../worker/treeeval.h"
#include "commands.h"
#include "common.h"
#include "train.h"
#include "train_signals.h"

/* Rank 0 reports an error every rank already knows of (they computed the same
 * values); everyone leaves with its code. */
static int fail_everywhere(run *r, recur_err *err) {
    if (r->comm.rank != 0) return err->code ? err->code : RECUR_EXIT_FAIL;
    console_break(&r->out.con);
    return report_error("train", err);
}

/* The run ends with an error: the metrics say so too. */
static int failed(run *r, int rc, recur_err *err) {
    record_emit(r, &(train_record){.kind = REC_ERROR, .message = err->msg});
    return rc;
}

/* The val split scored on every rank's share, the sums added up across ranks. */
static int score_val(run *r, int free_running, seq_scores *sc, recur_err *err) {
    int rc = seq_evaluate(&r->m, &r->seq, SPLIT_VAL, r->o.batch, r->comm.size, r->comm.rank, free_running, sc, err);
    if ((rc = train_agree(r, rc, err))) return rc;
    const size_t n = seq_scores_len(sc);
    double *v = malloc(n * sizeof(double));
    if ((rc = train_agree(r, v ? 0 : recur_fail(err, RECUR_EXIT_FAIL, "out of memory"), err))) {
        free(v);
        seq_scores_free(sc);
        return rc;
    }
    seq_scores_pack(sc, v);
    if (r->comm.size > 1) comm_sum_doubles(v, (int)n);
    seq_scores_unpack(sc, v);
    free(v);
    seq_scores_finish(sc);
    return 0;
}

/* Sequence tasks: loss and the task's metrics on the val split.  Output
 * recurrence: the loss teacher-forced, as training's, the metrics
 * free-running, as predict's. */
static int validate_sequences(run *r, double *val_loss, recur_err *err) {
    seq_scores sc, fr;
    int rc = score_val(r, 0, &sc, err);
    if (rc) return rc;
    const int fed = r->m.cfg.recurrence == RECURRENCE_OUTPUT;
    if (fed && (rc = score_val(r, 1, &fr, err))) {
        seq_scores_free(&sc);
        return rc;
    }
    const seq_scores *x = fed ? &fr : &sc;
    *val_loss = sc.loss;
    const int classes = r->m.cfg.task != TASK_REGRESS;
    record_emit(r, &(train_record){.kind = REC_VALIDATION, .step = r->tr.step, .val_loss = sc.loss,
                                   .val_accuracy = classes ? x->accuracy : NAN, .val_macro_f1 = classes ? x->macro_f1 : NAN,
                                   .val_rmse = classes ? NAN : x->rmse, .val_mae = classes ? NAN : x->mae,
                                   .val_mse = classes ? NAN : x->mse, .val_predictions = (long long)x->count});
    seq_scores_free(&sc);
    if (fed) seq_scores_free(&fr);
    return 0;
}

/* seq2seq: the teacher-forced loss per target token on the val split (and
 * how often the most likely token is the right one). */
static int validate_pairs(run *r, double *val_loss, recur_err *err) {
    double sums[PAIR_SUMS];
    int rc = pair_evaluate(&r->m, &r->pairs.split[SPLIT_VAL], r->o.batch, r->comm.size, r->comm.rank, sums, err);
    if ((rc = train_agree(r, rc, err))) return rc;
    if (r->comm.size > 1) comm_sum_doubles(sums, PAIR_SUMS);
    *val_loss = sums[PS_TOKEN_LOSS] / sums[PS_TOKENS];
    record_emit(r, &(train_record){.kind = REC_VALIDATION, .step = r->tr.step, .val_loss = *val_loss,
                                   .val_accuracy = sums[PS_CORRECT] / sums[PS_TOKENS], .val_macro_f1 = NAN,
                                   .val_rmse = NAN, .val_mae = NAN, .val_mse = NAN,
                                   .val_predictions = (long long)sums[PS_TOKENS]});
    return 0;
}

/* Trees: the loss over the val split's labelled roots and nodes, and the
 * accuracy on its root labels (node labels when it has no root labels). */
static int validate_trees(run *r, double *val_loss, recur_err *err) {
    tree_scores sc;
    int rc = tree_evaluate(&r->m, &r->forest[SPLIT_VAL], r->o.batch, r->comm.size, r->comm.rank, &sc, err);
    if ((rc = train_agree(r, rc, err))) return rc;
    if (r->comm.size > 1) comm_sum_doubles(sc.sum, TREE_SUMS);
    tree_scores_finish(&sc);
    *val_loss = sc.loss;
    record_emit(r, &(train_record){.kind = REC_VALIDATION, .step = r->tr.step, .val_loss = sc.loss,
                                   .val_accuracy = sc.accuracy, .val_macro_f1 = NAN, .val_rmse = NAN, .val_mae = NAN,
                                   .val_mse = NAN, .val_predictions = (long long)sc.sum[TS_SCORED]});
    return 0;
}

/* The held-out loss over every rank's validation streams (sequence tasks: the val split). */
static int validate(run *r, double *val_loss, recur_err *err) {
    if (r->o.sequences == 3) return validate_trees(r, val_loss, err);
    if (r->o.sequences == 2) return validate_pairs(r, val_loss, err);
    if (r->o.sequences) return validate_sequences(r, val_loss, err);
    eval_result ev;
    int rc = evaluate_streams(&r->m, r->val_tokens, r->val_stream_len, r->val_streams, &ev, err);
    if ((rc = train_agree(r, rc, err))) return rc;
    double sums[3] = {ev.loss_sum, (double)ev.count, (double)ev.correct};
    if (r->comm.size > 1) comm_sum_doubles(sums, 3);
    *val_loss = sums[0] / sums[1];
    record_emit(r, &(train_record){.kind = REC_VALIDATION, .step = r->tr.step, .val_loss = *val_loss,
                                   .val_accuracy = sums[2] / sums[1], .val_predictions = (long long)sums[1]});
    return 0;
}

/* The dataset has a validation split (the run scores it at the end, and every --val-every steps). */
static int has_validation(const run *r) {
    if (r->o.sequences == 3) return r->forest[SPLIT_VAL].n > 0;
    if (r->o.sequences == 2) return r->pairs.split[SPLIT_VAL].present && r->pairs.split[SPLIT_VAL].n > 0;
    if (r->o.sequences) return r->seq.split[SPLIT_VAL].present && r->seq.split[SPLIT_VAL].n > 0;
    return r->val_streams > 0;
}

static int validation_due(const run *r) {
    return has_validation(r) && r->o.val_every > 0 && r->tr.step % r->o.val_every == 0 &&
           r->tr.step < r->o.steps;
}

/* Every --checkpoint-every steps and/or --checkpoint-minutes (rank 0's clock
 * decides for everyone); not at the last step, which the end writes anyway. */
static int checkpoint_due(run *r, double *last_t) {
    const train_opts *o = &r->o;
    int due = o->checkpoint_every > 0 && r->tr.step % o->checkpoint_every == 0;
    if (o->checkpoint_minutes > 0) {
        int by_time = now_seconds() - *last_t >= 60 * o->checkpoint_minutes;
        if (r->comm.size > 1) comm_bcast(&by_time, sizeof by_time, 0);
        due |= by_time;
    }
    return due && r->tr.step < o->steps;
}

/* The step's record; the step is timed from ts to te and processed `tokens`
 * input steps (all ranks: B*k for a language model, the batch's sequence
 * steps for sequence tasks). */
static void record_step(run *r, const step_result *res, double lr, double ts, double te, double t0, long tokens) {
    const long step = r->tr.step, done = step - r->first_step;
    record_emit(r, &(train_record){
                       .kind = REC_STEP, .step = step, .epoch = res->epoch + 1, .loss = res->loss,
                       .grad_norm = res->grad_norm, .lr = lr, .sample_prob = r->tr.sample_prob,
                       .step_s = te - ts, .tokens = tokens,
                       .tokens_per_s = (double)tokens / (te - ts), .elapsed_s = te - t0,
                       .eta_s = (double)(r->o.steps - step) * (te - t0) / (double)done,
                   });
}

/* What ends a run on every rank alike (loss and norm are reduced values):
 * --debug found a NaN/Inf, or training diverged. */
static int step_failed(run *r, const step_result *res, recur_err *err) {
    if (res->bad[0])
        recur_fail(err, RECUR_EXIT_FAIL, "debug: %s; %s not written", res->bad, r->o.out);
    else if (!isfinite(res->loss) || !isfinite(res->grad_norm))
        recur_fail(err, RECUR_EXIT_FAIL,
                   "step %ld: loss %g, gradient norm %g: training diverged (try a lower --lr or --clip 1); %s not written",
                   r->tr.step, res->loss, res->grad_norm, r->o.out);
    else
        return 0;
    return fail_everywhere(r, err);
}

/* The last validation and checkpoint, the end record.  --out gets the last
 * state and a run dir also gets it as its newest ckpt-<step>.h5 (so `--resume
 * DIR` continues from there), except that a run stopped early does not write
 * the run dir's final.h5: its checkpoint is that ckpt-<step>.h5. */
static int finish(run *r, int stopped, double t0, double val_loss, long validated_at, recur_err *err) {
    const train_opts *o = &r->o;
    const int out_is_final = rundir_is_final(o->run_dir, o->out);
    char last[CLI_STR + 32];
    snprintf(last, sizeof last, "%s", o->out);
    int rc;
    if (has_validation(r) && !stopped && validated_at != r->tr.step && (rc = validate(r, &val_loss, err)))
        return failed(r, rc, err);
    if (!(stopped && out_is_final) && (rc = train_save(r, o->out, err))) return failed(r, rc, err);
    if (o->run_dir[0]) {
        if ((rc = train_save(r, NULL, err))) return failed(r, rc, err);
        if (stopped && out_is_final) rundir_checkpoint_path(o->run_dir, r->tr.step, last, sizeof last);
    }
    const double elapsed = now_seconds() - t0;
    if (o->debug) console_print_phases(r, elapsed);
    record_emit(r, &(train_record){.kind = stopped ? REC_INTERRUPTED : REC_END, .step = r->tr.step,
                                   .elapsed_s = elapsed, .tokens_per_s = (double)(r->tr.tokens_seen - r->first_tokens) / elapsed,
                                   .val_loss = val_loss, .path = last, .target_reached = validated_at == r->tr.step});
    return 0;
}

int train_loop(run *r, recur_err *err) {
    trainer *tr = &r->tr;
    train_signals_first_step(tr->step);
    record_emit(r, &(train_record){.kind = REC_START});
    const double t0 = now_seconds();
    double val_loss = NAN, last_checkpoint_t = t0;
    int rc;
    while (tr->step < r->o.steps) {
        step_result res;
        const double lr = schedule_lr(&r->sched, tr->step), ts = now_seconds();
        tr->sample_prob = (float)sampling_prob(r->sampling, r->o.ss_k, tr->step);
        const long tokens_before = tr->tokens_seen;
        comm_set_step(tr->step + 1);
        trainer_step(tr, (float)lr, train_signals_begin_step(tr->step + 1), &res);
        record_step(r, &res, lr, ts, now_seconds(), t0, tr->tokens_seen - tokens_before);
        if ((rc = step_failed(r, &res, err))) return failed(r, rc, err);
        if (res.stop) return finish(r, 1, t0, val_loss, -1, err);
        if (validation_due(r)) {
            if ((rc = validate(r, &val_loss, err))) return failed(r, rc, err);
            /* Every rank holds the same reduced loss, so all of them stop here. */
            if (r->o.target_val_loss > 0 && val_loss <= r->o.target_val_loss) return finish(r, 0, t0, val_loss, tr->step, err);
        }
        if (checkpoint_due(r, &last_checkpoint_t)) {
            if ((rc = train_save(r, NULL, err))) return failed(r, rc, err);
            last_checkpoint_t = now_seconds();
        }
    }
    return finish(r, 0, t0, val_loss, -1, err);
}
