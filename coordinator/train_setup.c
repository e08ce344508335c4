/* train_setup.c - everything a rank needs before the first step: the output
 * paths checked (rank 0), the model (rank 0 creates or loads it, everyone
 * receives the weights), this rank's shard of the streams, the optimizer and
 * the trainer.  Each phase ends with the ranks agreeing on its status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../io/atomic.h"
#include "../worker/gradcheck.h"
#include "common.h"
#include "seqtask.h"
#include "train.h"

static void say_removed(const char *path, long pid) {
    fprintf(stderr, "recur train: removed %s, left by a checkpoint write that did not finish (pid %ld is gone)\n", path,
            pid);
}

/* A run killed while writing a checkpoint leaves its temp file behind; the
 * next run into the same place removes those whose writer is gone. */
static void remove_stale_temps(const train_opts *o) {
    if (o->run_dir[0]) atomic_remove_stale(o->run_dir, "ckpt-*.h5", say_removed);
    char dir[CLI_STR];
    snprintf(dir, sizeof dir, "%s", o->out);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : o->out;
    if (slash) *slash = 0;
    if (*base) atomic_remove_stale(slash ? (dir[0] ? dir : "/") : ".", base, say_removed);
}

int train_setup_outputs(run *r, recur_err *err) {
    int st = 0;
    if (r->comm.rank == 0) {
        if (r->o.run_dir[0] && mkdir(r->o.run_dir, 0777) != 0 && errno != EEXIST)
            st = recur_fail(err, RECUR_EXIT_OUTPUT, "%s: --run-dir: cannot create: %s", r->o.run_dir, strerror(errno));
        if (!st) remove_stale_temps(&r->o);
        if (!st) st = check_output_path(r->o.out, "--out", err);
        if (!st && r->o.metrics[0]) st = check_output_path(r->o.metrics, "--metrics", err);
    }
    return train_agree(r, st, err);
}

/* What the dataset holds (sizes, vocabulary); every rank reads it.  A path
 * that came from the --resume checkpoint may not exist here (another
 * machine, a moved file, an old checkpoint's relative path): say where it
 * came from and how to give another. */
int train_setup_dataset(run *r, recur_err *err) {
    int rc = r->o.sequences == 3 ? treedata_load(r->o.data, &r->trees, err)
             : r->o.sequences == 2 ? pairdata_open(r->o.data, r->o.conditional, &r->pairs, err)
             : r->o.sequences    ? seqdata_load(r->o.data, &r->seq, err)
                                 : dataset_probe(r->o.data, &r->info, err);
    if (rc && r->o.data_from_checkpoint && access(r->o.data, R_OK) != 0) {
        const int why = errno;
        recur_fail(err, RECUR_EXIT_INPUT, "%s: cannot open for reading: %s (the dataset path stored in %s; pass --data to use another)",
                   r->o.data, strerror(why), r->o.resume);
    }
    for (int k = 0; k < SPLIT_COUNT && r->o.sequences == 3 && !rc; k++) r->forest[k] = seqtask_forest(&r->trees.split[k]);
    return train_agree(r, rc, err);
}

/* A model from a checkpoint (--init, --resume) must suit the dataset: the
 * task it was trained for, its inputs and outputs. */
static int check_fit(const run *r, const model_config *cfg, const char *path, const char *role, recur_err *err) {
    if (r->o.sequences == 3) return seqtask_check_fit_trees(cfg, path, role, &r->trees, r->o.data, err);
    if (r->o.sequences == 2) return seqtask_check_fit_pairs(cfg, path, role, &r->pairs, r->o.data, err);
    if (r->o.sequences) return seqtask_check_fit(cfg, path, role, &r->seq, r->o.data, err);
    if (cfg->task != TASK_LM) return seqtask_check_fit_tokens(cfg, path, role, r->info.vocab_size, r->o.data, err);
    if (r->info.vocab_size != cfg->vocab_size)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '/vocab': expected %d entries (vocab_size of %s %s), found %d",
                          r->o.data, cfg->vocab_size, role, path, r->info.vocab_size);
    return 0;
}

/* A fresh model's shape: the options, and for sequence tasks the dataset's
 * task, inputs and outputs (train_options.c has checked that the options
 * given apply to the dataset). */
static void fresh_config(const run *r, model_config *cfg) {
    const train_opts *o = &r->o;
    memset(cfg, 0, sizeof *cfg);
    cell_from_name(o->cell, &cfg->cell);
    cfg->vocab_size = r->info.vocab_size;
    cfg->embed_size = o->embed;
    cfg->hidden_size = o->hidden;
    cfg->num_layers = o->layers;
    cfg->skip = o->skip;
    cfg->residual = o->residual;
    cfg->transition_depth = o->transition_depth;
    cfg->transition_width = o->transition_depth ? o->transition_width : 0; /* resolved by train_options.c */
    if (!o->sequences) return;
    if (o->sequences == 3) {
        seqtask_tree_cell_from_name(o->tree_cell, &cfg->cell);
        seqtask_config_from_trees(cfg, &r->trees);
        return;
    }
    if (o->sequences == 2) {
        cfg->task = TASK_SEQ2SEQ;
        cfg->vocab_size = r->pairs.tgt.size;
        cfg->src_vocab_size = r->pairs.src.size;
        cfg->condition = (condition_kind)o->conditional;
        if (cfg->condition == COND_FEATURES) cfg->input_size = r->pairs.split[SPLIT_TRAIN].src_width;
        cfg->bidirectional = o->bidirectional;
        if (o->bidirectional) seqtask_merge_from_name(o->merge, &cfg->merge);
        attention_from_name(o->attention, &cfg->attention);
        context_from_name(o->context, &cfg->context);
        end_from_name(o->end, &cfg->end);
        if (cfg->end == END_LENGTH) cfg->max_len = o->max_len > 0 ? o->max_len : seqtask_longest_target(&r->pairs);
        return;
    }
    seqtask_config_from_data(cfg, &r->seq);
    cfg->bidirectional = o->bidirectional;
    if (o->bidirectional) seqtask_merge_from_name(o->merge, &cfg->merge);
    if (!net_per_row(cfg)) pooling_from_name(o->pooling, &cfg->pooling);
    recurrence_from_name(o->recurrence, &cfg->recurrence);
}

/* Rank 0's model: from --init (checked against the dataset) or fresh. */
static int create_or_load(const run *r, model *m, recur_err *err) {
    const train_opts *o = &r->o;
    if (o->init[0]) {
        checkpoint_in ck;
        if (checkpoint_load(o->init, &ck, err)) return -1;
        *m = ck.m; /* the arenas move to *m; their views stay valid */
        ck.m.params = ck.m.grads = NULL;
        checkpoint_in_free(&ck);
        if (check_fit(r, &m->cfg, o->init, "--init", err)) {
            model_free(m);
            return -1;
        }
        return 0;
    }
    model_config cfg;
    fresh_config(r, &cfg);
    if (model_config_validate(&cfg, "command line", err)) {
        err->code = RECUR_EXIT_USAGE;
        return -1;
    }
    if (model_create(m, &cfg, err)) return -1;
    if (o->sequences == 2 && check_fit(r, &m->cfg, "(--max-len)", "the new model", err)) {
        err->code = RECUR_EXIT_USAGE;
        model_free(m);
        return -1;
    }
    model_init_random(m, (uint64_t)o->seed);
    return 0;
}

/* Model on rank 0, shapes and weights to everyone. */
int train_setup_model(run *r, recur_err *err) {
    int rc = 0;
    if (r->comm.rank == 0 && r->resuming) {
        r->m = r->resume.m; /* the arenas move; their views stay valid */
        r->resume.m.params = r->resume.m.grads = NULL;
        rc = check_fit(r, &r->m.cfg, r->o.resume, "--resume", err);
    } else if (r->comm.rank == 0) {
        rc = create_or_load(r, &r->m, err);
    }
    int code = train_agree(r, rc, err);
    if (code) return code;
    if (r->comm.size == 1) return 0;
    model_config cfg = r->m.cfg;
    comm_bcast(&cfg, sizeof cfg, 0);
    if (r->comm.rank != 0) rc = model_create(&r->m, &cfg, err);
    if ((code = train_agree(r, rc, err))) return code;
    comm_bcast(r->m.params, r->m.num_params * sizeof(float), 0);
    return 0;
}

/* A validation split too short for S streams is an error now, not a
 * `val_loss: null` at the end; it says what to change. */
static int check_val_split(const run *r, int S, recur_err *err) {
    const size_t n = r->info.n_val, R = (size_t)r->comm.size;
    if (n >= (size_t)S * 2 + 1) return 0;
    const size_t most = n < 1 ? 0 : (n - 1) / 2 / R * R; /* streams it can score */
    if (most >= R)
        return recur_fail(err, RECUR_EXIT_USAGE,
                          "%s: dataset '/val_tokens': %zu tokens, too few for %d validation streams (each needs 2): "
                          "lower --val-streams to at most %zu, or make the dataset with a larger --val-fraction",
                          r->o.data, n, S, most);
    return recur_fail(err, RECUR_EXIT_INPUT,
                      "%s: dataset '/val_tokens': %zu tokens, too few to score even one validation stream per rank "
                      "(%zu ranks need %zu): make the dataset with a larger --val-fraction",
                      r->o.data, n, R, 2 * R + 1);
}

/* This rank's streams of /tokens and /val_tokens, read by hyperslab. */
int train_setup_data(run *r, recur_err *err) {
    if (r->o.sequences) return 0; /* every rank holds the whole dataset; batches are cut per step */
    const int R = r->comm.size, rank = r->comm.rank, b = r->o.batch / R, V = r->m.cfg.vocab_size;
    int rc = stream_layout(r->info.n, r->o.batch, r->o.bptt, r->o.data, &r->stream_len, err);
    if (rc == 0) {
        const size_t count = (size_t)b * r->stream_len + 1;
        r->tokens = malloc(count * sizeof(int32_t));
        rc = !r->tokens ? recur_fail(err, RECUR_EXIT_FAIL, "out of memory for %zu tokens", count)
                        : dataset_read_range(r->o.data, "/tokens", (size_t)rank * b * r->stream_len, count, V,
                                             r->tokens, err);
    }
    if (rc == 0 && r->info.n_val > 0) {
        /* Validation streams: a multiple of R, each scoring at least two tokens. */
        const int S = r->o.val_streams < R ? R : r->o.val_streams - r->o.val_streams % R;
        rc = check_val_split(r, S, err);
        if (rc == 0) {
            r->val_streams = S / R;
            r->val_stream_len = (r->info.n_val - 1) / (size_t)S;
            const size_t count = (size_t)r->val_streams * r->val_stream_len + 1;
            r->val_tokens = malloc(count * sizeof(int32_t));
            rc = !r->val_tokens ? recur_fail(err, RECUR_EXIT_FAIL, "out of memory for validation tokens")
                                : dataset_read_range(r->o.data, "/val_tokens",
                                                     (size_t)rank * r->val_streams * r->val_stream_len, count, V,
                                                     r->val_tokens, err);
        }
    }
    return train_agree(r, rc, err);
}

/* The optimizer, the trainer over this rank's streams, and on rank 0 room for
 * every stream's carried state (checkpoints). */
int train_setup_trainer(run *r, recur_err *err) {
    optim_config oc;
    optim_kind okind;
    optim_from_name(r->o.optimizer, &okind);
    optim_config_defaults(&oc, okind);
    oc.lr = (float)r->o.lr;
    oc.momentum = (float)r->o.momentum;
    oc.weight_decay = (float)r->o.weight_decay;
    int st = optim_create(&r->opt, &oc, r->m.num_params, err);
    if (!st && r->o.sequences == 3) {
        st = trainer_init_trees(&r->tr, &r->m, &r->opt, &r->forest[SPLIT_TRAIN], r->o.batch, r->comm.size,
                                r->comm.rank, !r->o.no_shuffle, (uint64_t)r->o.seed, r->o.clip, err);
        r->have_trainer = !st;
    } else if (!st && r->o.sequences == 2) {
        st = trainer_init_pairs(&r->tr, &r->m, &r->opt, &r->pairs, r->o.batch, r->comm.size, r->comm.rank,
                                !r->o.no_shuffle, (uint64_t)r->o.seed, (float)r->o.dropout, r->o.clip, err);
        r->have_trainer = !st;
    } else if (!st && r->o.sequences) {
        st = trainer_init_sequences(&r->tr, &r->m, &r->opt, &r->seq, r->o.batch, r->comm.size, r->comm.rank,
                                    !r->o.no_shuffle, (uint64_t)r->o.seed, (float)r->o.dropout, r->o.clip, err);
        r->have_trainer = !st;
    } else if (!st) {
        st = trainer_init(&r->tr, &r->m, &r->opt, r->tokens, r->stream_len, r->o.batch / r->comm.size, r->comm.size,
                          r->comm.rank, r->o.bptt, r->o.clip, err);
        r->have_trainer = !st;
        if (!st && r->o.dropout > 0) st = trainer_set_dropout(&r->tr, (float)r->o.dropout, (uint64_t)r->o.seed, err);
    }
    r->tr.debug = r->o.debug;
    if (!st && r->comm.size > 1 && !r->o.sequences) { /* sequence tasks carry no state from step to step */
        const size_t block = (size_t)r->m.cfg.num_layers * (r->o.batch / r->comm.size) * r->m.cfg.hidden_size;
        r->gather_buf = malloc(block * r->comm.size * sizeof(float));
        r->states = malloc(2 * block * r->comm.size * sizeof(float));
        if (!r->gather_buf || !r->states) st = recur_fail(err, RECUR_EXIT_FAIL, "out of memory for carried states");
    }
    return train_agree(r, st, err);
}

void train_free(run *r) {
    checkpoint_in_free(&r->resume);
    record_close_sinks(r);
    if (r->have_trainer) trainer_free(&r->tr);
    optim_free(&r->opt);
    model_free(&r->m);
    dataset_info_free(&r->info);
    seqdata_free(&r->seq);
    pairdata_free(&r->pairs);
    treedata_free(&r->trees);
    free(r->tokens);
    free(r->val_tokens);
    free(r->states);
    free(r->gather_buf);
}

/* Sequence tasks: this rank's share of the first batch, as training scores it. */
static int gradcheck_sequences(run *r, gradcheck_result *g, recur_err *err) {
    seqbatch *sb = &r->tr.seqs;
    seqbatch_fill(sb, r->tr.step);
    memset(g, 0, sizeof *g);
    if (sb->n == 0) return 0; /* a short batch left this rank nothing */
    const net_batch b = seqbatch_batch(sb);
    return gradcheck_batch(&r->m, &b, sb->global_count, 8, g, err);
}

/* A language model: a corner of this rank's first window (4 streams, 16 steps). */
static int gradcheck_streams(run *r, gradcheck_result *g, recur_err *err) {
    batcher *bt = &r->tr.data;
    batcher_fill(bt, r->tr.step % bt->steps_per_epoch);
    const int b = bt->nstreams, B = b < 4 ? b : 4, T = bt->k < 16 ? bt->k : 16;
    int32_t in[64], tg[64];
    for (int t = 0; t < T; t++)
        for (int j = 0; j < B; j++) {
            in[t * B + j] = bt->inputs[(size_t)t * b + j];
            tg[t * B + j] = bt->targets[(size_t)t * b + j];
        }
    return gradcheck_model(&r->m, in, tg, B, T, 8, g, err);
}

/* --gradcheck: every rank checks on (a corner of) its own first batch. */
int train_gradcheck(run *r, recur_err *err) {
    gradcheck_result g;
    if (r->o.sequences >= 2)
        return train_agree(r, recur_fail(err, RECUR_EXIT_USAGE, "--gradcheck: not available for %s models here "
                                         "(tests/test_%s_gradcheck.c checks every configuration)",
                                         r->o.sequences == 3 ? "tree" : "seq2seq",
                                         r->o.sequences == 3 ? "tree" : "s2s"), err);
    int rc = r->o.sequences ? gradcheck_sequences(r, &g, err) : gradcheck_streams(r, &g, err);
    if (!rc && g.worst_rel > 1e-4)
        rc = recur_fail(err, RECUR_EXIT_FAIL, "gradcheck: relative error %.3g at %s exceeds 1e-4", g.worst_rel, g.worst_at);
    if (!rc && (r->comm.rank == 0 || r->o.debug))
        fprintf(stderr, "recur train: rank %d gradcheck ok: %d parameters, worst relative error %.2g at %s\n",
                r->comm.rank, g.checked, g.worst_rel, g.worst_at);
    return train_agree(r, rc, err);
}
