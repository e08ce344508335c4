/* train.h - `recur train`'s internals, shared by the coordinator/train_*.c
 * files (one job each):
 *
 *   cmd_train.c         the entry: set-up in order, then the loop
 *   train_options.c     option table and layering (defaults < --resume
 *                       checkpoint's config < --config < command line)
 *   train_rundir.c      the run directory: one scan serves --resume DIR and --keep
 *   train_setup.c       model, data shard, optimizer and trainer on every rank
 *   train_protocol.c    what the ranks agree on: errors, carried states,
 *                       identical replicas, the resumed state
 *   train_checkpoint.c  assembling and writing a checkpoint
 *   train_record.c      one record per event, rendered as JSON for the metrics
 *                       file and the ZeroMQ stream
 *   train_console.c     the same records on the console (progress line)
 *   train_loop.c        the step loop, validation, when to checkpoint
 *   train_signals.c     SIGINT/SIGTERM/SIGUSR1/2: stop after the step
 */
#ifndef RECUR_TRAIN_H
#define RECUR_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "../core/model.h"
#include "../core/optim.h"
#include "../io/checkpoint.h"
#include "../io/dataset.h"
#include "../io/pairdata.h"
#include "../io/seqdata.h"
#include "../io/treedata.h"
#include "../worker/comm.h"
#include "../worker/trainer.h"
#include "cli.h"
#include "publisher.h"
#include "schedule.h"

/* ---- options (train_options.c) ---------------------------------------------- */

typedef struct {
    char config[CLI_STR], data[CLI_STR], init[CLI_STR], out[CLI_STR], metrics[CLI_STR], resume[CLI_STR];
    char run_dir[CLI_STR], cell[CLI_STR], optimizer[CLI_STR], lr_schedule[CLI_STR], monitor[CLI_STR];
    char merge[CLI_STR], pooling[CLI_STR], task[CLI_STR], attention[CLI_STR], context[CLI_STR], end[CLI_STR];
    char condition[CLI_STR], scheduled_sampling[CLI_STR], tree_cell[CLI_STR];
    double ss_k;
    double target_val_loss;     /* > 0: end the run at the first validation at or below it */
    char recurrence[CLI_STR];
    int embed, hidden, layers, batch, bptt, val_streams, quiet, keep, debug, gradcheck, no_monitor;
    int bidirectional, no_shuffle, bidirectional_encoder, max_len;
    int skip, residual;         /* shortcuts of a deep RNN (model_config's) */
    int transition_depth, transition_width; /* deep transition (model_config's; width 0 = --hidden) */
    long steps, epochs, seed, val_every, log_every, checkpoint_every, warmup, lr_decay_every;
    double lr, momentum, weight_decay, clip, lr_min, lr_decay, checkpoint_minutes, stall_timeout, dropout;
    int data_from_checkpoint;   /* --data came from the --resume checkpoint's config */
    int sequences;              /* --data is a sequence dataset (recur-sequences): 1, a pair dataset
                                 * (recur-pairs, seq2seq): 2, or a tree dataset (recur-trees): 3; found
                                 * while parsing */
    int conditional;            /* --task lm on a sequence dataset: the condition_kind (sequences is then 2) */
} train_opts;

/* ---- records (train_record.c, train_console.c) ------------------------------ */

typedef enum { REC_START, REC_STEP, REC_VALIDATION, REC_CHECKPOINT, REC_END, REC_INTERRUPTED, REC_ERROR } record_kind;

/* One event of a run, in user terms (steps and epochs counted from 1): the
 * metrics file, the ZeroMQ stream and the console all render this. */
typedef struct {
    record_kind kind;
    long step;              /* steps done: the step just finished */
    long epoch;             /* 1-based epoch of that step */
    double loss, grad_norm, lr;
    double sample_prob;     /* step: scheduled sampling's chance of a sampled input (seq2seq; 0 = teacher forcing) */
    double step_s;          /* this step's own time (no validation, no checkpoint) */
    double elapsed_s, eta_s;
    double tokens_per_s;    /* step: this step's; end: the run's (input steps per second, all ranks) */
    long tokens;            /* step: input steps it processed, all ranks */
    double val_loss, val_accuracy;
    double val_macro_f1, val_rmse, val_mae, val_mse; /* sequence tasks: classify/tag, regress */
    long long val_predictions;
    const char *path;       /* checkpoint: the file; end: the last checkpoint */
    const char *message;    /* error */
    int target_reached;     /* end: the last validation reached --target-val-loss */
} train_record;

/* The console's progress state (rank 0). */
typedef struct {
    int quiet;
    int in_place;           /* a terminal: one line redrawn with '\r' */
    int line_open;          /* the progress line has no newline yet */
    double last_draw;       /* in place: when the line was last drawn */
    double ema, ema_weight; /* smoothed loss (debiased EMA) */
    long window_steps;      /* steps since the last scrolling line */
    double window_s;        /* their step time */
    double window_tokens;   /* their input steps (all ranks) */
    double train_s;         /* step time of the whole run (no validation, no checkpoints) */
    double train_tokens;    /* its input steps */
    long steps_timed;
} console;

typedef struct {
    FILE *metrics;
    int metrics_failed;     /* records that could not be written */
    publisher pub;
    char run_id[20];
    console con;
} sinks;

/* ---- the run ------------------------------------------------------------------ */

/* Everything a run holds, so one cleanup frees it on every path. */
typedef struct {
    comm_ctx comm;
    train_opts o;
    token_dataset_info info;          /* language model: the token dataset */
    seq_dataset seq;                  /* sequence tasks (o.sequences 1): the whole dataset, on every rank */
    pair_dataset pairs;               /* seq2seq (o.sequences 2): the whole dataset, on every rank */
    tree_dataset trees;               /* trees (o.sequences 3): the whole dataset, on every rank */
    tree_forest forest[SPLIT_COUNT];  /* its splits as the engine reads them (seqtask_forest) */
    int32_t *tokens, *val_tokens;
    size_t stream_len, val_stream_len;
    int val_streams;                  /* per rank */
    model m;
    optimizer opt;
    trainer tr;
    int have_trainer;
    sinks out;
    checkpoint_in resume;             /* rank 0, with --resume: the checkpoint continued from */
    int resuming;
    long first_step;                  /* the step this process started from (the checkpoint's with --resume) */
    long first_tokens;                /* the trainer's tokens_seen then */
    schedule sched;
    sampling_kind sampling;           /* seq2seq: --scheduled-sampling */
    double io_seconds;                /* checkpoint writing */
    float *states;                    /* rank 0: [L, B, H] gathered carried states (h then c) */
    float *gather_buf;
    char cfg_text[16384];
} run;

/* train_options.c: rank 0 parses, everyone receives.  Returns an exit code,
 * or -1 to go on. */
int train_setup_options(run *r, int argc, char **argv, recur_err *err);
/* --epochs to steps (the data's size known); resuming, the total must lie
 * beyond the checkpoint's step.  The agreed status. */
int train_resolve_budget(run *r, recur_err *err);

/* train_rundir.c */
typedef struct {
    long *steps;            /* of DIR/ckpt-<step>.h5, ascending */
    int n;
    int has_final;          /* DIR/final.h5 exists */
} rundir_listing;
/* dir + "/" + a name formatted from fmt and v; -1 when it does not fit. */
int rundir_path(char *out, size_t len, const char *dir, const char *fmt, long v);
int rundir_scan(const char *dir, rundir_listing *ls);
void rundir_listing_free(rundir_listing *ls);
/* --resume ARG: a file as it is; a directory's newest checkpoint by step
 * (ckpt-<step>.h5 or final.h5).  *is_dir tells which. */
int rundir_resolve_resume(const char *arg, char *path, size_t len, int *is_dir, recur_err *err);
/* Removes all but the newest `keep` DIR/ckpt-<step>.h5. */
void rundir_prune(const char *dir, int keep);
/* DIR/ckpt-<step, 8 digits>.h5 */
int rundir_checkpoint_path(const char *dir, long step, char *out, size_t len);
/* 1 when `out` is DIR/final.h5, the run dir's own final checkpoint. */
int rundir_is_final(const char *dir, const char *out);

/* train_setup.c: each agrees across ranks and returns the agreed code. */
int train_setup_outputs(run *r, recur_err *err);
int train_setup_dataset(run *r, recur_err *err);
int train_setup_model(run *r, recur_err *err);
int train_setup_data(run *r, recur_err *err);
int train_setup_trainer(run *r, recur_err *err);
int train_gradcheck(run *r, recur_err *err);
void train_free(run *r);

/* train_protocol.c */
/* An error on this rank, or on another: every rank learns the worst status;
 * the lowest failing rank reports it.  Returns the exit code (0: all fine). */
int train_agree(run *r, int local_rc, recur_err *err);
/* The carried states of all B streams on rank 0, [L, B, H] each for h (and c). */
void train_gather_states(run *r, float **h_out, float **c_out);
/* 1 when every rank's weights are bitwise those of rank 0. */
int train_replicas_identical(const run *r);
/* --resume: rank 0's checkpoint state to every rank. */
int train_restore(run *r, recur_err *err);

/* train_checkpoint.c: all ranks call it; rank 0 writes `path` (NULL: the run
 * dir's ckpt-<step>.h5, or --out without a run dir).  Returns the agreed status. */
int train_save(run *r, const char *path, recur_err *err);

/* train_record.c (rank 0; no-ops elsewhere) */
int record_open_sinks(run *r, recur_err *err); /* all ranks: agreed status */
void record_close_sinks(run *r);
void record_emit(run *r, const train_record *rec);

/* train_console.c (rank 0) */
void console_init(console *c, int quiet);
void console_show(console *c, const run *r, const train_record *rec);
/* Ends the progress line so that another message starts on its own line. */
void console_break(console *c);
/* --debug: where the time went, on every rank. */
void console_print_phases(run *r, double elapsed);

/* train_loop.c */
int train_loop(run *r, recur_err *err);

#endif
