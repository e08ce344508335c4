/* train_checkpoint.c - a checkpoint of the run: the ranks check that their
 * weights are bitwise identical, the carried states of every stream are
 * gathered on rank 0, and rank 0 writes model, optimizer, progress, states
 * and the resolved config (checkpoint_save, which writes through
 * io/atomic.c: built in memory, temp file, fsync, rename; sequence tasks
 * have no carried states), then prunes the
 * run directory and records the event. */
#include <stdio.h>

#include "common.h"
#include "train.h"

static int write_checkpoint(run *r, const char *path, recur_err *err) {
    if (!train_replicas_identical(r)) {
        recur_fail(err, RECUR_EXIT_FAIL, "step %ld: the ranks' weights differ (replicas diverged); not writing a checkpoint",
                   r->tr.step);
        return train_agree(r, r->comm.rank == 0 ? -1 : 0, err);
    }
    float *h = NULL, *c = NULL;
    if (!r->o.sequences) train_gather_states(r, &h, &c); /* sequence tasks carry no state from step to step */
    int rc = 0;
    if (r->comm.rank == 0) {
        char in_run_dir[CLI_STR + 32];
        const int to_run_dir = !path && r->o.run_dir[0] &&
                               !rundir_checkpoint_path(r->o.run_dir, r->tr.step, in_run_dir, sizeof in_run_dir);
        if (!path) path = to_run_dir ? in_run_dir : r->o.out;
        const uint8_t *vocab = r->o.sequences == 3 ? r->trees.vocab /* character vocabularies only */
                               : r->o.sequences == 2 ? NULL /* seq2seq: both vocabularies, below */
                               : r->o.sequences ? r->seq.vocab /* character vocabularies only */
                               : r->info.vocab_size == r->m.cfg.vocab_size ? r->info.vocab : NULL;
        checkpoint_out ck = {
            .m = &r->m, .vocab = vocab, .opt = &r->opt,
            .step = r->tr.step, .epoch = r->tr.step / trainer_steps_per_epoch(&r->tr), .tokens_seen = r->tr.tokens_seen,
            .state_h = h, .state_c = c, .streams = h ? r->tr.global_streams : 0, .config_text = r->cfg_text,
            .src_vocab = r->o.sequences == 2 && r->pairs.src.size ? &r->pairs.src : NULL, .tgt_vocab = r->o.sequences == 2 ? &r->pairs.tgt : NULL,
        };
        rc = checkpoint_save(path, &ck, err);
        if (!rc && to_run_dir) rundir_prune(r->o.run_dir, r->o.keep);
        if (!rc) record_emit(r, &(train_record){.kind = REC_CHECKPOINT, .step = r->tr.step, .path = path});
    }
    return train_agree(r, rc, err);
}

int train_save(run *r, const char *path, recur_err *err) {
    const double t0 = now_seconds();
    int rc = write_checkpoint(r, path, err);
    r->io_seconds += now_seconds() - t0;
    return rc;
}
