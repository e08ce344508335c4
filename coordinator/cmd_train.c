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
#include <unistd.h>

#include "../core/model.h"
#include "../core/optim.h"
#include "../io/checkpoint.h"
#include "../io/config.h"
#include "../io/dataset.h"
#include "../worker/comm.h"
#include "../worker/evaluate.h"
#include "../worker/trainer.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "json.h"

typedef struct {
    char config[CLI_STR], data[CLI_STR], init[CLI_STR], out[CLI_STR], metrics[CLI_STR];
    char cell[CLI_STR], optimizer[CLI_STR];
    int embed, hidden, layers, batch, bptt, val_streams, quiet;
    long steps, seed, val_every, log_every, checkpoint_every;
    double lr, momentum, weight_decay, clip;
} train_opts;

#define TRAIN_SYNOPSIS "--data D.h5 [--init CKPT.h5 | --cell C --embed E --hidden H --layers L] --out OUT.h5 [options]"

static int build_table(train_opts *o, opt_spec *t) {
    opt_spec rows[] = {
        {"config", OPT_STR, o->config, "FILE", "INI file with any of these keys (flags override it)", 0, 0, 0},
        {"data", OPT_STR, o->data, "D.h5", "token dataset (recur data text); /val_tokens used for validation", 0, 0, 0},
        {"init", OPT_STR, o->init, "CKPT.h5", "start from this checkpoint's weights instead of a fresh model", 0, 0, 0},
        {"out", OPT_STR, o->out, "OUT.h5", "checkpoint written at the end (and every --checkpoint-every steps)", 0, 0, 0},
        {"metrics", OPT_STR, o->metrics, "M.jsonl", "JSON lines, one per step plus events (truncated at start)", 0, 0, 0},
        {"cell", OPT_STR, o->cell, "C", "rnn_tanh | rnn_relu | lstm | gru | lbr_gru (fresh model)", 0, 0, 0},
        {"embed", OPT_INT, &o->embed, "E", "embedding size (fresh model)", 1, 0, 0},
        {"hidden", OPT_INT, &o->hidden, "H", "hidden size (fresh model)", 1, 0, 0},
        {"layers", OPT_INT, &o->layers, "L", "stacked layers (fresh model)", 1, 0, 0},
        {"seed", OPT_LONG, &o->seed, "N", "seed of the fresh model's initialisation", 0, 1, 0},
        {"batch", OPT_INT, &o->batch, "B", "parallel streams", 1, 0, 0},
        {"bptt", OPT_INT, &o->bptt, "K", "truncated-BPTT window (steps per update)", 1, 0, 0},
        {"steps", OPT_LONG, &o->steps, "S", "number of updates", 1, 0, 0},
        {"optimizer", OPT_STR, o->optimizer, "NAME", "sgd | adam", 0, 0, 0},
        {"lr", OPT_DOUBLE, &o->lr, "LR", "learning rate", 1, 0, 0},
        {"momentum", OPT_DOUBLE, &o->momentum, "M", "SGD momentum (0 = off)", 0, 1, 0},
        {"weight-decay", OPT_DOUBLE, &o->weight_decay, "W", "L2 weight decay added to the gradient", 0, 1, 0},
        {"clip", OPT_DOUBLE, &o->clip, "C", "clip the global gradient L2 norm to C (0 = off)", 0, 1, 0},
        {"val-every", OPT_LONG, &o->val_every, "N", "validation loss every N steps and at the end (0 = end only)", 0, 1, 0},
        {"val-streams", OPT_INT, &o->val_streams, "S", "streams for validation (see recur eval --help)", 1, 0, 0},
        {"log-every", OPT_LONG, &o->log_every, "N", "console progress line every N steps", 1, 0, 0},
        {"checkpoint-every", OPT_LONG, &o->checkpoint_every, "N", "also write --out every N steps (0 = end only)", 0, 1, 0},
        {"quiet", OPT_FLAG, &o->quiet, NULL, "no console progress", 0, 0, 0},
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
}

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { stop_requested = sig; }

typedef struct {
    FILE *metrics;
    int quiet;
    int is_root;
} sinks;

/* One record, written to the metrics file (rank 0) as a JSON line. */
static void emit(sinks *s, json_line *j) {
    const char *line = json_end(j);
    if (s->metrics) {
        fprintf(s->metrics, "%s\n", line);
        fflush(s->metrics);
    }
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

/* Parses flags and the config file into o; returns 0, 1 (--help shown) or -1 with err. */
static int parse_options(train_opts *o, opt_spec *tab, int *ntab, int argc, char **argv, recur_err *err) {
    defaults(o);
    int n = *ntab = build_table(o, tab);
    char *pos[1];
    int npos, rc;
    if ((rc = cli_parse("train", TRAIN_SYNOPSIS, tab, n, argc, argv, pos, 0, &npos, err))) return rc;
    if (o->config[0]) {
        char path[CLI_STR];
        snprintf(path, sizeof path, "%s", o->config);
        defaults(o);
        for (int i = 0; i < n; i++) tab[i].set = 0;
        config_ctx ctx = {tab, n, path};
        if (config_parse_file(path, config_set, &ctx, err)) return -1;
        if ((rc = cli_parse("train", TRAIN_SYNOPSIS, tab, n, argc, argv, pos, 0, &npos, err))) return rc;
        snprintf(o->config, sizeof o->config, "%s", path);
    }
    if (!o->data[0]) return recur_fail(err, RECUR_EXIT_USAGE, "--data is required (a token dataset; see recur data --help)");
    if (!o->out[0]) return recur_fail(err, RECUR_EXIT_USAGE, "--out is required (where the trained checkpoint goes)");
    cell_kind ck;
    if (cell_from_name(o->cell, &ck))
        return recur_fail(err, RECUR_EXIT_USAGE, "--cell: expected one of rnn_tanh, rnn_relu, lstm, gru, lbr_gru, found '%s'", o->cell);
    optim_kind ok;
    if (optim_from_name(o->optimizer, &ok))
        return recur_fail(err, RECUR_EXIT_USAGE, "--optimizer: expected sgd or adam, found '%s'", o->optimizer);
    if (o->init[0]) {
        const char *shape[] = {"cell", "embed", "hidden", "layers", "seed"};
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

/* All ranks call it; rank 0 writes.  Returns the agreed status. */
static int save(run *r, recur_err *err) {
    float *h, *c;
    gather_states(r, &h, &c);
    int rc = 0;
    if (r->comm.rank == 0) {
        checkpoint_out ck = {
            .m = &r->m, .vocab = r->info.vocab_size == r->m.cfg.vocab_size ? r->info.vocab : NULL, .opt = &r->opt,
            .step = r->tr.step, .epoch = r->tr.step / r->tr.data.steps_per_epoch, .tokens_seen = r->tr.tokens_seen,
            .state_h = h, .state_c = c, .streams = r->tr.global_streams, .config_text = r->cfg_text,
        };
        rc = checkpoint_save(r->o.out, &ck, err);
    }
    return agree(r, rc, err);
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
    opt_spec tab[32];
    int n = 0, rc = 0;
    if (r->comm.rank == 0) {
        rc = parse_options(&r->o, tab, &n, argc, argv, err);
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
    if (r->comm.rank == 0) rc = setup_model(&r->o, &r->info, &r->m, err);
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
        st = check_output_path(r.o.out, "--out", &err);
        if (!st && r.o.metrics[0]) st = check_output_path(r.o.metrics, "--metrics", &err);
    }
    if ((rc = agree(&r, st, &err))) goto done;
    if ((rc = agree(&r, dataset_probe(r.o.data, &r.info, &err), &err))) goto done;
    if ((rc = setup_model_all(&r, &err))) goto done;
    if ((rc = setup_data(&r, &err))) goto done;

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
    if (!st && r.comm.size > 1) {
        const size_t block = (size_t)r.m.cfg.num_layers * (r.o.batch / r.comm.size) * r.m.cfg.hidden_size;
        r.gather_buf = malloc(block * r.comm.size * sizeof(float));
        r.states = malloc(2 * block * r.comm.size * sizeof(float));
        if (!r.gather_buf || !r.states) st = recur_fail(&err, RECUR_EXIT_FAIL, "out of memory for carried states");
    }
    if (!st && r.comm.rank == 0 && r.o.metrics[0] && !(r.out.metrics = fopen(r.o.metrics, "w")))
        st = recur_fail(&err, RECUR_EXIT_OUTPUT, "%s: --metrics: cannot open for writing", r.o.metrics);
    if ((rc = agree(&r, st, &err))) goto done;
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
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

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
    double last_val = NAN, window_t = t0;
    long window_steps = 0;
    int stopped = 0, rc;
    while (tr->step < o->steps) {
        step_result res;
        const double ts = now_seconds();
        trainer_step(tr, (float)o->lr, stop_requested != 0, &res);
        const double te = now_seconds();
        window_steps++;
        if (root) {
            json_begin(&j);
            json_int(&j, "step", tr->step);
            json_int(&j, "epoch", res.epoch);
            json_num(&j, "loss", res.loss);
            json_num(&j, "grad_norm", res.grad_norm);
            json_num(&j, "lr", o->lr);
            json_num(&j, "tokens_per_s", (double)tokens_per_step / (te - ts));
            json_num(&j, "elapsed_s", te - t0);
            emit(&r->out, &j);
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
            format_duration((double)(o->steps - tr->step) * (te - t0) / (double)tr->step, eta, sizeof eta);
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
        if (o->checkpoint_every > 0 && tr->step % o->checkpoint_every == 0 && tr->step < o->steps) {
            if ((rc = save(r, err))) goto fail;
            if (root) {
                json_begin(&j);
                json_str(&j, "event", "checkpoint");
                json_int(&j, "step", tr->step);
                json_str(&j, "path", o->out);
                emit(&r->out, &j);
            }
        }
    }
    if (r->val_streams && !stopped && (rc = validate(r, tr->step, &last_val, err))) goto fail;
    if ((rc = save(r, err))) goto fail;
    if (root) {
        const double elapsed = now_seconds() - t0;
        json_begin(&j);
        json_str(&j, "event", stopped ? "interrupted" : "end");
        json_int(&j, "step", tr->step);
        json_num(&j, "elapsed_s", elapsed);
        json_num(&j, "tokens_per_s", (double)tr->tokens_seen / elapsed);
        json_num(&j, "val_loss", last_val);
        json_str(&j, "checkpoint", o->out);
        emit(&r->out, &j);
        if (stopped)
            fprintf(stderr, "recur train: stopped by a signal after step %ld; checkpoint written to %s\n", tr->step,
                    o->out);
        else if (!o->quiet)
            fprintf(stderr, "recur train: %ld steps in %.1f s (%.0f tok/s); checkpoint written to %s\n", tr->step,
                    elapsed, (double)tr->tokens_seen / elapsed, o->out);
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
