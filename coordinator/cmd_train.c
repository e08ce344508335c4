/* recur train - the training run, on one process or R MPI ranks: options
 * (rank 0 parses, everyone receives them), model (rank 0 creates or loads it,
 * everyone receives the weights), each rank's shard of the streams, the step
 * loop with progress, validation and checkpoints written by rank 0, and a
 * clean stop when any rank gets SIGINT/SIGTERM (all finish the step, rank 0
 * writes the checkpoint, everyone exits 0).
 *
 * Failure protocol: after every fallible phase the ranks agree (comm_agree)
 * on the worst status, so an error on one rank ends all of them with the same
 * exit code instead of leaving the others waiting in a collective. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/model.h"
#include "../core/optim.h"
#include "../io/checkpoint.h"
#include "../io/config.h"
#include "../io/dataset.h"
#include "../worker/comm.h"
#include "../worker/evaluate.h"
#include "../worker/gradcheck.h"
#include "../worker/trainer.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "json.h"
#include "publisher.h"
#include "schedule.h"

typedef struct {
    char config[CLI_STR], data[CLI_STR], init[CLI_STR], out[CLI_STR], metrics[CLI_STR], resume[CLI_STR];
    char run_dir[CLI_STR], cell[CLI_STR], optimizer[CLI_STR], lr_schedule[CLI_STR], monitor[CLI_STR];
    int embed, hidden, layers, batch, bptt, val_streams, quiet, keep, debug, gradcheck, no_monitor;
    long steps, epochs, seed, val_every, log_every, checkpoint_every, warmup, lr_decay_every;
    double lr, momentum, weight_decay, clip, lr_min, lr_decay, checkpoint_minutes;
} train_opts;

#define TRAIN_SYNOPSIS "--data D.h5 [--init CKPT.h5 | --cell C --embed E --hidden H --layers L] --out OUT.h5 [options]\n" \
    "       recur train --resume CKPT.h5|RUNDIR [--steps S] [--data D.h5] [--out OUT.h5]\n\n" \
    "--steps is the run's total: --resume X --steps 20 continues from X's step up to step 20.\n" \
    "With --run-dir DIR, checkpoints go to DIR/ckpt-<step>.h5 (the last --keep kept), metrics to\n" \
    "DIR/metrics.jsonl and --out defaults to DIR/final.h5."

static int build_table(train_opts *o, opt_spec *t) {
    opt_spec rows[] = {
        {"config", OPT_STR, o->config, "FILE", "INI file with any of these keys (flags override it)", 0, 0, 0},
        {"data", OPT_STR, o->data, "D.h5", "token dataset (recur data text); /val_tokens used for validation", 0, 0, 0},
        {"init", OPT_STR, o->init, "CKPT.h5", "start from this checkpoint's weights instead of a fresh model", 0, 0, 0},
        {"out", OPT_STR, o->out, "OUT.h5", "checkpoint written at the end, and on SIGTERM/SIGINT", 0, 0, 0},
        {"resume", OPT_STR, o->resume, "CKPT|DIR", "continue a run exactly from a checkpoint (or a run dir's latest)", 0, 0, 0},
        {"run-dir", OPT_STR, o->run_dir, "DIR", "periodic checkpoints, metrics.jsonl and final.h5 go here", 0, 0, 0},
        {"keep", OPT_INT, &o->keep, "K", "periodic checkpoints kept in --run-dir", 1, 0, 0},
        {"checkpoint-minutes", OPT_DOUBLE, &o->checkpoint_minutes, "M", "also checkpoint every M minutes (0 = off)", 0, 1, 0},
        {"metrics", OPT_STR, o->metrics, "M.jsonl", "JSON lines, one per step plus events (truncated at start)", 0, 0, 0},
        {"cell", OPT_STR, o->cell, "C", "rnn_tanh | rnn_relu | lstm | gru | lbr_gru (fresh model)", 0, 0, 0},
        {"embed", OPT_INT, &o->embed, "E", "embedding size (fresh model)", 1, 0, 0},
        {"hidden", OPT_INT, &o->hidden, "H", "hidden size (fresh model)", 1, 0, 0},
        {"layers", OPT_INT, &o->layers, "L", "stacked layers (fresh model)", 1, 0, 0},
        {"seed", OPT_LONG, &o->seed, "N", "seed of the fresh model's initialisation", 0, 1, 0},
        {"batch", OPT_INT, &o->batch, "B", "parallel streams", 1, 0, 0},
        {"bptt", OPT_INT, &o->bptt, "K", "truncated-BPTT window (steps per update)", 1, 0, 0},
        {"steps", OPT_LONG, &o->steps, "S", "the run's total number of updates", 1, 0, 0},
        {"epochs", OPT_LONG, &o->epochs, "N", "instead of --steps: N passes over the data (0 = use --steps)", 0, 1, 0},
        {"optimizer", OPT_STR, o->optimizer, "NAME", "sgd | adam", 0, 0, 0},
        {"lr", OPT_DOUBLE, &o->lr, "LR", "learning rate", 1, 0, 0},
        {"momentum", OPT_DOUBLE, &o->momentum, "M", "SGD momentum (0 = off)", 0, 1, 0},
        {"weight-decay", OPT_DOUBLE, &o->weight_decay, "W", "L2 weight decay added to the gradient", 0, 1, 0},
        {"clip", OPT_DOUBLE, &o->clip, "C", "clip the global gradient L2 norm to C (0 = off)", 0, 1, 0},
        {"val-every", OPT_LONG, &o->val_every, "N", "validation loss every N steps and at the end (0 = end only)", 0, 1, 0},
        {"val-streams", OPT_INT, &o->val_streams, "S", "streams for validation (see recur eval --help)", 1, 0, 0},
        {"log-every", OPT_LONG, &o->log_every, "N", "console progress line every N steps", 1, 0, 0},
        {"checkpoint-every", OPT_LONG, &o->checkpoint_every, "N", "checkpoint every N steps (to --run-dir, else --out; 0 = off)", 0, 1, 0},
        {"lr-schedule", OPT_STR, o->lr_schedule, "NAME", "constant | step | cosine", 0, 0, 0},
        {"warmup", OPT_LONG, &o->warmup, "N", "linear warmup steps", 0, 1, 0},
        {"lr-decay-every", OPT_LONG, &o->lr_decay_every, "N", "step schedule: decay every N steps", 0, 1, 0},
        {"lr-decay", OPT_DOUBLE, &o->lr_decay, "F", "step schedule: multiply the rate by F", 1, 0, 0},
        {"lr-min", OPT_DOUBLE, &o->lr_min, "LR", "cosine schedule: final rate", 0, 1, 0},
        {"quiet", OPT_FLAG, &o->quiet, NULL, "no console progress", 0, 0, 0},
        {"monitor", OPT_STR, o->monitor, "ENDPOINT", "publish every record on this ZeroMQ PUB endpoint (recur monitor)", 0, 0, 0},
        {"no-monitor", OPT_FLAG, &o->no_monitor, NULL, "do not publish", 0, 0, 0},
        {"debug", OPT_FLAG, &o->debug, NULL, "check every tensor for NaN/Inf after each phase; per-phase times", 0, 0, 0},
        {"gradcheck", OPT_FLAG, &o->gradcheck, NULL, "before training, check gradients against finite differences", 0, 0, 0},
    };
    memcpy(t, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

static void defaults(train_opts *o) {
    memset(o, 0, sizeof *o);
    strcpy(o->cell, "lstm");
    strcpy(o->optimizer, "adam");
    o->embed = 64;
    o->hidden = 256;
    o->layers = 2;
    o->batch = 32;
    o->bptt = 64;
    o->steps = 1000;
    o->seed = 1;
    o->lr = 2e-3;
    o->val_streams = 16;
    o->log_every = 10;
    o->keep = 3;
    strcpy(o->lr_schedule, "constant");
    strcpy(o->monitor, "tcp://127.0.0.1:5555"); /* loopback unless the user names another interface */
    o->lr_decay = 0.5;
}

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { stop_requested = sig; }

typedef struct {
    FILE *metrics;
    publisher pub;
    char run_id[20];
    int quiet;
    int is_root;
} sinks;

/* One record (rank 0): a JSON line in the metrics file and the same text on
 * the ZeroMQ stream; the console line is printed from the same values. */
static void emit(sinks *s, json_line *j) {
    if (s->run_id[0]) json_str(j, "run_id", s->run_id);
    const char *line = json_end(j);
    if (s->metrics) {
        fprintf(s->metrics, "%s\n", line);
        fflush(s->metrics);
    }
    publisher_send(&s->pub, line);
}


/* dir + "/" + formatted name into out; -1 when it does not fit. */
static int dir_path(char *out, size_t len, const char *dir, const char *fmt, long v) {
    char name[64];
    snprintf(name, sizeof name, fmt, v);
    int w = snprintf(out, len, "%s/%s", dir, name);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* DIR's latest periodic checkpoint (highest ckpt-<step>.h5), else DIR/final.h5;
 * a file path is taken as it is. */
static int resolve_resume(const char *arg, char *path, size_t len, recur_err *err) {
    struct stat st;
    if (stat(arg, &st) != 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: --resume: cannot open: %s", arg, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        snprintf(path, len, "%s", arg);
        return 0;
    }
    DIR *d = opendir(arg);
    long best = -1;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            long step;
            char tail[8];
            if (sscanf(e->d_name, "ckpt-%ld.h%1[5]", &step, tail) == 2 && step > best) best = step;
        }
        closedir(d);
    }
    if (dir_path(path, len, arg, best >= 0 ? "ckpt-%08ld.h5" : "final.h5", best))
        return recur_fail(err, RECUR_EXIT_USAGE, "%s: --resume: path too long", arg);
    if (stat(path, &st) != 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: --resume: expected a run directory with ckpt-<step>.h5 or final.h5, found none",
                          arg);
    return 0;
}

typedef struct {
    opt_spec *tab;
    int n;
    const char *path;
} config_ctx;

static int config_set(void *ctx, const char *key, const char *value, recur_err *err) {
    config_ctx *c = ctx;
    return cli_set(c->tab, c->n, key, value, c->path, err);
}

/* Options in layers, later ones winning: defaults, the config stored in the
 * --resume checkpoint, the --config file, the command line.  Rank 0 only.
 * With --resume, *ck receives the loaded checkpoint.  Returns 0, 1 (--help
 * shown) or -1 with err. */
static int parse_options(train_opts *o, opt_spec *tab, int *ntab, int argc, char **argv, checkpoint_in *ck,
                         recur_err *err) {
    defaults(o);
    int n = *ntab = build_table(o, tab);
    char *pos[1];
    int npos, rc;
    if ((rc = cli_parse("train", TRAIN_SYNOPSIS, tab, n, argc, argv, pos, 0, &npos, err))) return rc;
    const train_opts cli = *o; /* what the command line alone says */
    int cli_given[48] = {0};
    for (int i = 0; i < n; i++) cli_given[i] = tab[i].set;
    char config[CLI_STR], resume[CLI_STR] = "";
    snprintf(config, sizeof config, "%s", o->config);
    if (cli.resume[0]) {
        if (resolve_resume(cli.resume, resume, sizeof resume, err) || checkpoint_load(resume, ck, err)) return -1;
        if (!ck->config_text || !ck->has_optimizer || !ck->has_progress)
            return recur_fail(err, RECUR_EXIT_INPUT,
                              "%s: --resume: expected a checkpoint written by recur train (/config, /optimizer, /progress), found %s missing",
                              resume, !ck->config_text ? "/config" : !ck->has_optimizer ? "/optimizer" : "/progress");
    }
    if (resume[0] || config[0]) {
        defaults(o);
        for (int i = 0; i < n; i++) tab[i].set = 0;
        if (resume[0]) {
            config_ctx ctx = {tab, n, resume};
            if (config_parse_text(ck->config_text, resume, config_set, &ctx, err)) return -1;
            o->init[0] = o->resume[0] = o->config[0] = 0;
        }
        if (config[0]) {
            config_ctx ctx = {tab, n, config};
            if (config_parse_file(config, config_set, &ctx, err)) return -1;
        }
        if ((rc = cli_parse("train", TRAIN_SYNOPSIS, tab, n, argc, argv, pos, 0, &npos, err))) return rc;
        snprintf(o->config, sizeof o->config, "%s", config);
        snprintf(o->resume, sizeof o->resume, "%s", resume);
    }
    if (o->run_dir[0] && ((!o->out[0] && dir_path(o->out, sizeof o->out, o->run_dir, "final.h5", 0)) ||
                          (!o->metrics[0] && dir_path(o->metrics, sizeof o->metrics, o->run_dir, "metrics.jsonl", 0))))
        return recur_fail(err, RECUR_EXIT_USAGE, "--run-dir: path too long");
    if (!o->data[0]) return recur_fail(err, RECUR_EXIT_USAGE, "--data is required (a token dataset; see recur data --help)");
    if (!o->out[0]) return recur_fail(err, RECUR_EXIT_USAGE, "--out (or --run-dir) is required: where the trained checkpoint goes");
    cell_kind cell;
    if (cell_from_name(o->cell, &cell))
        return recur_fail(err, RECUR_EXIT_USAGE, "--cell: expected one of rnn_tanh, rnn_relu, lstm, gru, lbr_gru, found '%s'", o->cell);
    optim_kind ok;
    if (optim_from_name(o->optimizer, &ok))
        return recur_fail(err, RECUR_EXIT_USAGE, "--optimizer: expected sgd or adam, found '%s'", o->optimizer);
    schedule_kind sk;
    if (schedule_from_name(o->lr_schedule, &sk))
        return recur_fail(err, RECUR_EXIT_USAGE, "--lr-schedule: expected constant, step or cosine, found '%s'", o->lr_schedule);
    const char *shape[] = {"cell", "embed", "hidden", "layers", "seed"};
    if (resume[0]) {
        /* Flags may not contradict the checkpoint being resumed. */
        const model_config *mc = &ck->m.cfg;
        char given[128] = "";
        if (cli_given[cli_find(tab, n, "cell") - tab] && strcmp(cli.cell, cell_name(mc->cell)))
            snprintf(given, sizeof given, "--cell %.20s (it is %s)", cli.cell, cell_name(mc->cell));
        else if (cli_given[cli_find(tab, n, "embed") - tab] && cli.embed != mc->embed_size)
            snprintf(given, sizeof given, "--embed %d (it is %d)", cli.embed, mc->embed_size);
        else if (cli_given[cli_find(tab, n, "hidden") - tab] && cli.hidden != mc->hidden_size)
            snprintf(given, sizeof given, "--hidden %d (it is %d)", cli.hidden, mc->hidden_size);
        else if (cli_given[cli_find(tab, n, "layers") - tab] && cli.layers != mc->num_layers)
            snprintf(given, sizeof given, "--layers %d (it is %d)", cli.layers, mc->num_layers);
        else if (cli_given[cli_find(tab, n, "optimizer") - tab] && ok != ck->opt.cfg.kind)
            snprintf(given, sizeof given, "--optimizer %.20s (it is %s)", cli.optimizer, optim_name(ck->opt.cfg.kind));
        else if (cli_given[cli_find(tab, n, "init") - tab])
            snprintf(given, sizeof given, "--init");
        if (given[0])
            return recur_fail(err, RECUR_EXIT_USAGE, "%s: --resume: the model and optimizer come from the checkpoint; drop %s",
                              resume, given);
        if (ck->state_h && ck->streams != o->batch)
            return recur_fail(err, RECUR_EXIT_USAGE, "%s: --resume: expected --batch %d (the checkpoint's streams), found %d",
                              resume, ck->streams, o->batch);
    } else if (o->init[0]) {
        for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++)
            if (cli_find(tab, n, shape[i])->set)
                return recur_fail(err, RECUR_EXIT_USAGE, "--%s: the model's shape comes from --init %s; drop --%s",
                                  shape[i], o->init, shape[i]);
    }
    return 0;
}

/* Rank 0's model: from --init (checked against the dataset's vocabulary) or fresh. */
static int setup_model(const train_opts *o, const token_dataset_info *ds, model *m, recur_err *err) {
    if (o->init[0]) {
        checkpoint_in ck;
        if (checkpoint_load(o->init, &ck, err)) return -1;
        *m = ck.m; /* the arenas move to *m; their views stay valid */
        ck.m.params = ck.m.grads = NULL;
        checkpoint_in_free(&ck);
        if (ds->vocab_size != m->cfg.vocab_size) {
            recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '/vocab': expected %d entries (vocab_size of --init %s), found %d",
                       o->data, m->cfg.vocab_size, o->init, ds->vocab_size);
            model_free(m);
            return -1;
        }
        return 0;
    }
    model_config cfg;
    cell_from_name(o->cell, &cfg.cell);
    cfg.vocab_size = ds->vocab_size;
    cfg.embed_size = o->embed;
    cfg.hidden_size = o->hidden;
    cfg.num_layers = o->layers;
    if (model_config_validate(&cfg, "command line", err)) {
        err->code = RECUR_EXIT_USAGE;
        return -1;
    }
    if (model_create(m, &cfg, err)) return -1;
    model_init_random(m, (uint64_t)o->seed);
    return 0;
}

/* Everything a run holds, so one cleanup frees it on every path. */
typedef struct {
    comm_ctx comm;
    train_opts o;
    token_dataset_info info;
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
    schedule sched;
    double io_seconds;                /* checkpoint writing */
    float *states;                    /* rank 0: [L, B, H] gathered carried states (h then c) */
    float *gather_buf;
    char cfg_text[16384];
} run;

/* An error on this rank, or on another: every rank learns the worst status.
 * Returns the exit code to leave with (0: all fine). */
static int agree(run *r, int local_rc, recur_err *err) {
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
        report_error("train", err);
    }
    return all;
}

/* The carried states of all B streams on rank 0, [L, B, H] each for h (and c),
 * from every rank's [L, b, H]. */
static void gather_states(run *r, float **h_out, float **c_out) {
    const int L = r->m.cfg.num_layers, H = r->m.cfg.hidden_size, b = r->tr.data.nstreams, R = r->comm.size;
    const size_t block = (size_t)L * b * H;
    lm_workspace *ws = &r->tr.ws;
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

static int save_checkpoint(run *r, const char *path, recur_err *err);

/* FNV-1a over the bytes of the parameter arena: replicas must agree bit for bit. */
static uint64_t arena_hash(const model *m) {
    const unsigned char *p = (const unsigned char *)m->params;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < m->num_params * sizeof(float); i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* Removes all but the newest `keep` DIR/ckpt-<step>.h5. */
static void prune_checkpoints(const char *dir, int keep) {
    long steps[4096];
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        long step;
        char tail[8];
        if (sscanf(e->d_name, "ckpt-%ld.h%1[5]", &step, tail) == 2) steps[n++] = step;
    }
    closedir(d);
    for (int i = 0; i < n; i++) {
        int newer = 0;
        for (int j = 0; j < n; j++) newer += steps[j] > steps[i];
        if (newer >= keep) {
            char path[CLI_STR + 32];
            if (!dir_path(path, sizeof path, dir, "ckpt-%08ld.h5", steps[i])) unlink(path);
        }
    }
}

/* All ranks call it; rank 0 writes `path` (NULL: the next periodic
 * checkpoint of the run dir, or --out without one).  Before writing, the
 * ranks check that their weights are bitwise identical.  Returns the agreed
 * status. */
static int save(run *r, const char *path, recur_err *err) {
    const double t0 = now_seconds();
    int rc = save_checkpoint(r, path, err);
    r->io_seconds += now_seconds() - t0;
    return rc;
}

static int save_checkpoint(run *r, const char *path, recur_err *err) {
    if (r->comm.size > 1 && !comm_all_equal_u64(arena_hash(&r->m))) {
        recur_fail(err, RECUR_EXIT_FAIL, "step %ld: the ranks' weights differ (replicas diverged); not writing a checkpoint",
                   r->tr.step);
        return agree(r, r->comm.rank == 0 ? -1 : 0, err);
    }
    float *h, *c;
    gather_states(r, &h, &c);
    int rc = 0;
    if (r->comm.rank == 0) {
        char periodic[CLI_STR + 32];
        if (!path) {
            if (!r->o.run_dir[0] || dir_path(periodic, sizeof periodic, r->o.run_dir, "ckpt-%08ld.h5", r->tr.step))
                snprintf(periodic, sizeof periodic, "%s", r->o.out);
            path = periodic;
        }
        checkpoint_out ck = {
            .m = &r->m, .vocab = r->info.vocab_size == r->m.cfg.vocab_size ? r->info.vocab : NULL, .opt = &r->opt,
            .step = r->tr.step, .epoch = r->tr.step / r->tr.data.steps_per_epoch, .tokens_seen = r->tr.tokens_seen,
            .state_h = h, .state_c = c, .streams = r->tr.global_streams, .config_text = r->cfg_text,
        };
        rc = checkpoint_save(path, &ck, err);
        if (!rc && path == periodic && r->o.run_dir[0]) prune_checkpoints(r->o.run_dir, r->o.keep);
        if (!rc) {
            json_line j;
            json_begin(&j);
            json_str(&j, "event", "checkpoint");
            json_int(&j, "step", r->tr.step);
            json_str(&j, "path", path);
            emit(&r->out, &j);
        }
    }
    return agree(r, rc, err);
}

/* --resume: rank 0's checkpoint state to every rank (weights went with the model). */
static int restore(run *r, recur_err *err) {
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
    int code = agree(r, rc, err);
    if (code) return code;
    const size_t nstate = (size_t)r->m.cfg.num_layers * r->o.batch * r->m.cfg.hidden_size;
    float *states = calloc(2 * nstate, sizeof(float));
    if (!states) return agree(r, recur_fail(err, RECUR_EXIT_FAIL, "out of memory"), err);
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
    lm_workspace *ws = &r->tr.ws;
    for (int l = 0; l < L; l++) {
        const size_t src = ((size_t)l * B + (size_t)r->comm.rank * b) * H, dst = (size_t)l * b * H;
        if (have[0]) memcpy(ws->state_h + dst, states + src, (size_t)b * H * sizeof(float));
        if (have[1] && ws->state_c) memcpy(ws->state_c + dst, states + nstate + src, (size_t)b * H * sizeof(float));
    }
    free(states);
    return 0;
}

static int validate(run *r, long step, double *out, recur_err *err) {
    eval_result ev;
    int rc = evaluate_streams(&r->m, r->val_tokens, r->val_stream_len, r->val_streams, &ev, err);
    if ((rc = agree(r, rc, err))) return rc;
    double sums[3] = {ev.loss_sum, (double)ev.count, (double)ev.correct};
    if (r->comm.size > 1) comm_sum_doubles(sums, 3);
    *out = sums[0] / sums[1];
    if (r->comm.rank != 0) return 0;
    json_line j;
    json_begin(&j);
    json_str(&j, "event", "validation");
    json_int(&j, "step", step);
    json_num(&j, "val_loss", *out);
    json_num(&j, "val_accuracy", sums[2] / sums[1]);
    json_int(&j, "val_predictions", (long long)sums[1]);
    emit(&r->out, &j);
    if (!r->out.quiet)
        fprintf(stderr, "step %ld | validation loss %.4f (%.3f bits/char)\n", step, *out, *out / log(2.0));
    return 0;
}

/* Rank 0: options and config; then everyone gets them.  Returns an exit code, or -1 to go on. */
static int setup_options(run *r, int argc, char **argv, recur_err *err) {
    opt_spec tab[48];
    int n = 0, rc = 0;
    if (r->comm.rank == 0) {
        rc = parse_options(&r->o, tab, &n, argc, argv, &r->resume, err);
        if (rc == 0) cli_dump(tab, n, r->cfg_text, sizeof r->cfg_text);
    }
    /* 1 = --help shown: everyone leaves with 0. */
    int help = r->comm.size > 1 ? comm_any(rc == 1) : rc == 1;
    if (help) return 0;
    int code = agree(r, rc < 0, err);
    if (code) return code;
    if (r->comm.size > 1) {
        comm_bcast(&r->o, sizeof r->o, 0);
        comm_bcast(r->cfg_text, sizeof r->cfg_text, 0);
    }
    r->out.quiet = r->o.quiet;
    r->resuming = r->o.resume[0] != 0;
    schedule_from_name(r->o.lr_schedule, &r->sched.kind);
    r->sched.lr = r->o.lr;
    r->sched.lr_min = r->o.lr_min;
    r->sched.warmup = r->o.warmup;
    r->sched.decay_every = r->o.lr_decay_every;
    r->sched.decay = r->o.lr_decay;
    r->sched.total = r->o.steps;
    if (r->o.batch % r->comm.size != 0) {
        recur_fail(err, RECUR_EXIT_USAGE, "--batch %d: expected a multiple of the number of ranks (%d)", r->o.batch,
                   r->comm.size);
        return r->comm.rank == 0 ? report_error("train", err) : RECUR_EXIT_USAGE;
    }
    return -1;
}

/* Model on rank 0, shapes and weights to everyone. */
static int setup_model_all(run *r, recur_err *err) {
    int rc = 0;
    if (r->comm.rank == 0 && r->resuming) {
        r->m = r->resume.m; /* the arenas move; their views stay valid */
        r->resume.m.params = r->resume.m.grads = NULL;
        if (r->info.vocab_size != r->m.cfg.vocab_size)
            rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '/vocab': expected %d entries (vocab_size of --resume %s), found %d",
                            r->o.data, r->m.cfg.vocab_size, r->o.resume, r->info.vocab_size);
    } else if (r->comm.rank == 0) {
        rc = setup_model(&r->o, &r->info, &r->m, err);
    }
    int code = agree(r, rc, err);
    if (code) return code;
    if (r->comm.size == 1) return 0;
    model_config cfg = r->m.cfg;
    comm_bcast(&cfg, sizeof cfg, 0);
    if (r->comm.rank != 0) rc = model_create(&r->m, &cfg, err);
    if ((code = agree(r, rc, err))) return code;
    comm_bcast(r->m.params, r->m.num_params * sizeof(float), 0);
    return 0;
}

/* This rank's streams of /tokens and /val_tokens, read by hyperslab. */
static int setup_data(run *r, recur_err *err) {
    const int R = r->comm.size, rank = r->comm.rank, b = r->o.batch / R, V = r->m.cfg.vocab_size;
    int rc = stream_layout(r->info.n, r->o.batch, r->o.bptt, r->o.data, &r->stream_len, err);
    if (rc == 0) {
        const size_t count = (size_t)b * r->stream_len + 1;
        r->tokens = malloc(count * sizeof(int32_t));
        rc = !r->tokens ? recur_fail(err, RECUR_EXIT_FAIL, "out of memory for %zu tokens", count)
                        : dataset_read_range(r->o.data, "/tokens", (size_t)rank * b * r->stream_len, count, V,
                                             r->tokens, err);
    }
    if (rc == 0 && r->info.n_val > 1) {
        /* Validation streams: a multiple of R, at most one per two tokens. */
        int S = r->o.val_streams < R ? R : r->o.val_streams - r->o.val_streams % R;
        while (S > R && r->info.n_val < (size_t)S * 2 + 1) S -= R;
        if (r->info.n_val >= (size_t)S + 1) {
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
    return agree(r, rc, err);
}

static void free_run(run *r) {
    checkpoint_in_free(&r->resume);
    publisher_close(&r->out.pub);
    if (r->out.metrics) fclose(r->out.metrics);
    if (r->have_trainer) trainer_free(&r->tr);
    optim_free(&r->opt);
    model_free(&r->m);
    dataset_info_free(&r->info);
    free(r->tokens);
    free(r->val_tokens);
    free(r->states);
    free(r->gather_buf);
}

static int train_loop(run *r, recur_err *err);

/* --gradcheck: every rank checks on (a corner of) its own first batch. */
static int run_gradcheck(run *r, recur_err *err) {
    batcher *bt = &r->tr.data;
    batcher_fill(bt, r->tr.step % bt->steps_per_epoch);
    const int b = bt->nstreams, B = b < 4 ? b : 4, T = bt->k < 16 ? bt->k : 16;
    int32_t in[64], tg[64];
    for (int t = 0; t < T; t++)
        for (int j = 0; j < B; j++) {
            in[t * B + j] = bt->inputs[(size_t)t * b + j];
            tg[t * B + j] = bt->targets[(size_t)t * b + j];
        }
    gradcheck_result g;
    int rc = gradcheck_model(&r->m, in, tg, B, T, 8, &g, err);
    if (!rc && g.worst_rel > 1e-4)
        rc = recur_fail(err, RECUR_EXIT_FAIL, "gradcheck: relative error %.3g at %s exceeds 1e-4", g.worst_rel, g.worst_at);
    if (!rc && (r->comm.rank == 0 || r->o.debug))
        fprintf(stderr, "recur train: rank %d gradcheck ok: %d parameters, worst relative error %.2g at %s\n",
                r->comm.rank, g.checked, g.worst_rel, g.worst_at);
    return agree(r, rc, err);
}

/* --debug: where the time went, on every rank. */
static void print_phases(const run *r, double elapsed) {
    const double *p = r->tr.phase_seconds;
    fprintf(stderr, "recur train: rank %d of %d: %.2f s:", r->comm.rank, r->comm.size, elapsed);
    for (int i = 0; i < PHASE_COUNT; i++) fprintf(stderr, " %s %.2f s (%.0f%%),", PHASE_NAMES[i], p[i], 100 * p[i] / elapsed);
    fprintf(stderr, " checkpoint I/O %.2f s (%.0f%%)\n", r->io_seconds, 100 * r->io_seconds / elapsed);
}

int cmd_train(int argc, char **argv) {
    static run r; /* large (config text); one per process */
    memset(&r, 0, sizeof r);
    recur_err err = {0};
    if (comm_init(&r.comm, &argc, &argv, &err)) return report_error("train", &err);
    int rc = setup_options(&r, argc, argv, &err);
    if (rc >= 0) goto done;
    r.out.is_root = r.comm.rank == 0;

    int st = 0;
    if (r.comm.rank == 0) {
        if (r.o.run_dir[0] && mkdir(r.o.run_dir, 0777) != 0 && errno != EEXIST)
            st = recur_fail(&err, RECUR_EXIT_OUTPUT, "%s: --run-dir: cannot create: %s", r.o.run_dir, strerror(errno));
        if (!st) st = check_output_path(r.o.out, "--out", &err);
        if (!st && r.o.metrics[0]) st = check_output_path(r.o.metrics, "--metrics", &err);
    }
    if ((rc = agree(&r, st, &err))) goto done;
    if ((rc = agree(&r, dataset_probe(r.o.data, &r.info, &err), &err))) goto done;
    if ((rc = setup_model_all(&r, &err))) goto done;
    if ((rc = setup_data(&r, &err))) goto done;
    if (r.o.epochs > 0) /* a budget in epochs becomes the equivalent step count */
        r.sched.total = r.o.steps = r.o.epochs * (long)(r.stream_len / (size_t)r.o.bptt);

    optim_config oc;
    optim_kind okind;
    optim_from_name(r.o.optimizer, &okind);
    optim_config_defaults(&oc, okind);
    oc.lr = (float)r.o.lr;
    oc.momentum = (float)r.o.momentum;
    oc.weight_decay = (float)r.o.weight_decay;
    st = optim_create(&r.opt, &oc, r.m.num_params, &err);
    if (!st) {
        st = trainer_init(&r.tr, &r.m, &r.opt, r.tokens, r.stream_len, r.o.batch / r.comm.size, r.comm.size,
                          r.o.bptt, r.o.clip, &err);
        r.have_trainer = !st;
    }
    if ((rc = agree(&r, st, &err))) goto done;
    if (r.resuming && (rc = restore(&r, &err))) goto done;
    r.tr.debug = r.o.debug;
    if (r.o.gradcheck && (rc = run_gradcheck(&r, &err))) goto done;
    if (!st && r.comm.size > 1) {
        const size_t block = (size_t)r.m.cfg.num_layers * (r.o.batch / r.comm.size) * r.m.cfg.hidden_size;
        r.gather_buf = malloc(block * r.comm.size * sizeof(float));
        r.states = malloc(2 * block * r.comm.size * sizeof(float));
        if (!r.gather_buf || !r.states) st = recur_fail(&err, RECUR_EXIT_FAIL, "out of memory for carried states");
    }
    /* A resumed run appends to its metrics; a new one starts them afresh. */
    if (!st && r.comm.rank == 0 && r.o.metrics[0] && !(r.out.metrics = fopen(r.o.metrics, r.resuming ? "a" : "w")))
        st = recur_fail(&err, RECUR_EXIT_OUTPUT, "%s: --metrics: cannot open for writing", r.o.metrics);
    if ((rc = agree(&r, st, &err))) goto done;
    if (r.comm.rank == 0) {
        /* A run id tells a monitor which run a record belongs to (resumes get a new one). */
        snprintf(r.out.run_id, sizeof r.out.run_id, "%08lx%04x", (unsigned long)time(NULL), (unsigned)getpid() & 0xffff);
        char note[512];
        if (!r.o.no_monitor && r.o.monitor[0]) {
            publisher_open(&r.out.pub, r.o.monitor, note, sizeof note);
            if (note[0]) fprintf(stderr, "recur train: %s\n", note);
            else if (!r.o.quiet) fprintf(stderr, "recur train: publishing metrics on %s (recur monitor %s)\n",
                                         r.out.pub.endpoint, r.out.pub.endpoint);
        }
    }
    rc = train_loop(&r, &err);
done:
    free_run(&r);
    comm_finalize(&r.comm);
    return rc;
}

static int train_loop(run *r, recur_err *err) {
    const train_opts *o = &r->o;
    model *m = &r->m;
    trainer *tr = &r->tr;
    const int root = r->comm.rank == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* SIGUSR1/2 too: mpirun forwards those to the ranks at once, while it
     * holds back SIGTERM (see README). */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    const long tokens_per_step = (long)o->batch * o->bptt;
    json_line j;
    if (root) {
        json_begin(&j);
        json_str(&j, "event", "start");
        json_str(&j, "cell", cell_name(m->cfg.cell));
        json_int(&j, "vocab_size", m->cfg.vocab_size);
        json_int(&j, "embed_size", m->cfg.embed_size);
        json_int(&j, "hidden_size", m->cfg.hidden_size);
        json_int(&j, "num_layers", m->cfg.num_layers);
        json_int(&j, "parameters", (long long)m->num_params);
        json_int(&j, "ranks", r->comm.size);
        json_int(&j, "steps", o->steps);
        json_int(&j, "steps_per_epoch", tr->data.steps_per_epoch);
        json_str(&j, "config", r->cfg_text);
        emit(&r->out, &j);
        if (!o->quiet)
            fprintf(stderr,
                    "recur train: %s %dx%d (E=%d, V=%d, %zu parameters), %ld steps of %d streams x %d = %ld tokens "
                    "on %d rank(s), %ld steps/epoch\n",
                    cell_name(m->cfg.cell), m->cfg.num_layers, m->cfg.hidden_size, m->cfg.embed_size,
                    m->cfg.vocab_size, m->num_params, o->steps, o->batch, o->bptt, tokens_per_step, r->comm.size,
                    tr->data.steps_per_epoch);
    }

    const double t0 = now_seconds();
    double last_val = NAN, window_t = t0, last_ckpt_t = t0;
    const long first_step = tr->step;
    long window_steps = 0;
    int stopped = 0, rc;
    while (tr->step < o->steps) {
        step_result res;
        const double ts = now_seconds();
        const double lr = schedule_lr(&r->sched, tr->step);
        trainer_step(tr, (float)lr, stop_requested != 0, &res);
        const double te = now_seconds();
        window_steps++;
        if (root) {
            json_begin(&j);
            json_int(&j, "step", tr->step);
            json_int(&j, "epoch", res.epoch);
            json_num(&j, "loss", res.loss);
            json_num(&j, "grad_norm", res.grad_norm);
            json_num(&j, "lr", lr);
            json_num(&j, "tokens_per_s", (double)tokens_per_step / (te - ts));
            json_num(&j, "elapsed_s", te - t0);
            json_num(&j, "eta_s", (double)(o->steps - tr->step) * (te - t0) / (double)(tr->step - first_step));
            emit(&r->out, &j);
        }
        if (res.bad[0]) { /* --debug found a NaN/Inf; the message is the same on every rank */
            recur_fail(err, RECUR_EXIT_FAIL, "debug: %s; %s not written", res.bad, o->out);
            rc = root ? report_error("train", err) : RECUR_EXIT_FAIL;
            goto fail;
        }
        /* The same on every rank: loss and norm are reduced values. */
        if (!isfinite(res.loss) || !isfinite(res.grad_norm)) {
            recur_fail(err, RECUR_EXIT_FAIL,
                       "step %ld: loss %g, gradient norm %g: training diverged (try a lower --lr or --clip 1); %s not written",
                       tr->step, res.loss, res.grad_norm, o->out);
            rc = root ? report_error("train", err) : RECUR_EXIT_FAIL;
            goto fail;
        }
        if (root && !o->quiet && (tr->step % o->log_every == 0 || tr->step == o->steps || tr->step == 1)) {
            double rate = (double)window_steps * tokens_per_step / (te - window_t);
            char eta[32];
            format_duration((double)(o->steps - tr->step) * (te - t0) / (double)(tr->step - first_step), eta, sizeof eta);
            fprintf(stderr, "step %ld/%ld | epoch %ld | loss %.4f | grad norm %.3f | %.0f tok/s | ETA %s\n", tr->step,
                    o->steps, res.epoch, res.loss, res.grad_norm, rate, eta);
            window_t = te;
            window_steps = 0;
        }
        if (res.stop) {
            stopped = 1;
            break;
        }
        if (r->val_tokens || r->val_streams) {
            if (o->val_every > 0 && tr->step % o->val_every == 0 && tr->step < o->steps)
                if ((rc = validate(r, tr->step, &last_val, err))) goto fail;
        }
        int due = o->checkpoint_every > 0 && tr->step % o->checkpoint_every == 0;
        if (o->checkpoint_minutes > 0) { /* rank 0's clock decides for everyone */
            int by_time = te - last_ckpt_t >= 60 * o->checkpoint_minutes;
            if (r->comm.size > 1) comm_bcast(&by_time, sizeof by_time, 0);
            due |= by_time;
        }
        if (due && tr->step < o->steps) {
            if ((rc = save(r, NULL, err))) goto fail;
            last_ckpt_t = now_seconds();
        }
    }
    if (r->val_streams && !stopped && (rc = validate(r, tr->step, &last_val, err))) goto fail;
    /* --out always gets the last state; a run dir also gets it as its newest
     * ckpt-<step>.h5, so `--resume DIR` continues from here. */
    if ((rc = save(r, o->out, err))) goto fail;
    if (o->run_dir[0] && (rc = save(r, NULL, err))) goto fail;
    if (o->debug) print_phases(r, now_seconds() - t0);
    if (root) {
        const double elapsed = now_seconds() - t0;
        json_begin(&j);
        json_str(&j, "event", stopped ? "interrupted" : "end");
        json_int(&j, "step", tr->step);
        json_num(&j, "elapsed_s", elapsed);
        json_num(&j, "tokens_per_s", (double)(tr->step - first_step) * tokens_per_step / elapsed);
        json_num(&j, "val_loss", last_val);
        json_str(&j, "checkpoint", o->out);
        for (int i = 0; i < PHASE_COUNT; i++) {
            char key[48];
            snprintf(key, sizeof key, "%s_s", PHASE_NAMES[i]);
            for (char *c = key; *c; c++) *c = *c == ' ' ? '_' : *c;
            json_num(&j, key, tr->phase_seconds[i]);
        }
        json_num(&j, "checkpoint_io_s", r->io_seconds);
        emit(&r->out, &j);
        if (stopped)
            fprintf(stderr, "recur train: stopped by a signal after step %ld; checkpoint written to %s\n"
                            "  resume with: recur train --resume %s\n",
                    tr->step, o->out, o->run_dir[0] ? o->run_dir : o->out);
        else if (!o->quiet)
            fprintf(stderr, "recur train: %ld steps in %.1f s (%.0f tok/s); checkpoint written to %s\n",
                    tr->step - first_step, elapsed, (double)(tr->step - first_step) * tokens_per_step / elapsed, o->out);
    }
    return 0;
fail:
    if (root && r->out.metrics) {
        json_begin(&j);
        json_str(&j, "event", "error");
        json_str(&j, "message", err->msg);
        emit(&r->out, &j);
    }
    return rc;
}
