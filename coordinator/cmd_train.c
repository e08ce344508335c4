/* recur train - the training run: options, model and data set-up, the step
 * loop with progress, validation and checkpoints, and a clean stop on
 * SIGINT/SIGTERM (finish the step, write the checkpoint, exit 0). */
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
} sinks;

/* One record, written to the metrics file as a JSON line. */
static void emit(sinks *s, json_line *j) {
    const char *line = json_end(j);
    if (s->metrics) {
        fprintf(s->metrics, "%s\n", line);
        fflush(s->metrics);
    }
}

static int save(const char *path, model *m, const token_dataset *ds, optimizer *opt, trainer *tr, const char *cfg_text,
                recur_err *err) {
    checkpoint_out ck = {
        .m = m, .vocab = ds->vocab_size == m->cfg.vocab_size ? ds->vocab : NULL, .opt = opt,
        .step = tr->step, .epoch = tr->step / tr->data.steps_per_epoch, .tokens_seen = tr->tokens_seen,
        .state_h = tr->ws.state_h, .state_c = tr->ws.state_c, .streams = tr->ws.B, .config_text = cfg_text,
    };
    return checkpoint_save(path, &ck, err);
}

static int validate(sinks *s, const model *m, const token_dataset *ds, int streams, long step, double *out,
                    recur_err *err) {
    eval_result ev;
    int S = streams;
    while (S > 1 && ds->n_val < (size_t)S * 2 + 1) S /= 2;
    if (evaluate(m, ds->val_tokens, ds->n_val, S, &ev, err)) return -1;
    json_line j;
    json_begin(&j);
    json_str(&j, "event", "validation");
    json_int(&j, "step", step);
    json_num(&j, "val_loss", ev.loss);
    json_num(&j, "val_accuracy", (double)ev.correct / (double)ev.count);
    json_int(&j, "val_predictions", (long long)ev.count);
    emit(s, &j);
    if (!s->quiet) fprintf(stderr, "step %ld | validation loss %.4f (%.3f bits/char)\n", step, ev.loss, ev.loss / log(2.0));
    *out = ev.loss;
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

/* Parses flags and the config file into o; returns 0, 1 (--help shown) or an exit code via err. */
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

/* The model: from --init (checked against the dataset's vocabulary) or fresh. */
static int setup_model(const train_opts *o, const token_dataset *ds, model *m, recur_err *err) {
    if (o->init[0]) {
        checkpoint_in ck;
        if (checkpoint_load(o->init, &ck, err)) return -1;
        *m = ck.m;
        ck.m.params = ck.m.grads = NULL; /* ownership moves to *m */
        checkpoint_in_free(&ck);
        /* The views point into the arenas, which did not move. */
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

int cmd_train(int argc, char **argv) {
    train_opts o;
    opt_spec tab[32];
    int n;
    recur_err err = {0};
    int rc = parse_options(&o, tab, &n, argc, argv, &err);
    if (rc) return rc > 0 ? 0 : report_error("train", &err);

    token_dataset ds = {0};
    model m = {0};
    optimizer opt = {0};
    trainer tr = {0};
    sinks out = {NULL, o.quiet};
    int have_trainer = 0;
    rc = RECUR_EXIT_FAIL;
    static char cfg_text[16384];
    cli_dump(tab, n, cfg_text, sizeof cfg_text);

    if (check_output_path(o.out, "--out", &err)) goto fail;
    if (o.metrics[0] && check_output_path(o.metrics, "--metrics", &err)) goto fail;
    if (dataset_load(o.data, &ds, &err)) goto fail;
    if (setup_model(&o, &ds, &m, &err)) goto fail;
    if (dataset_check_tokens(o.data, "/tokens", ds.tokens, ds.n, m.cfg.vocab_size, "the model's vocab_size", &err)) goto fail;
    optim_config oc;
    optim_kind okind;
    optim_from_name(o.optimizer, &okind);
    optim_config_defaults(&oc, okind);
    oc.lr = (float)o.lr;
    oc.momentum = (float)o.momentum;
    oc.weight_decay = (float)o.weight_decay;
    if (optim_create(&opt, &oc, m.num_params, &err)) goto fail;
    if (trainer_init(&tr, &m, &opt, ds.tokens, ds.n, o.batch, o.bptt, o.clip, o.data, &err)) goto fail;
    have_trainer = 1;
    if (o.metrics[0] && !(out.metrics = fopen(o.metrics, "w"))) {
        recur_fail(&err, RECUR_EXIT_OUTPUT, "%s: --metrics: cannot open for writing", o.metrics);
        goto fail;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    const long tokens_per_step = (long)o.batch * o.bptt;
    json_line j;
    json_begin(&j);
    json_str(&j, "event", "start");
    json_str(&j, "cell", cell_name(m.cfg.cell));
    json_int(&j, "vocab_size", m.cfg.vocab_size);
    json_int(&j, "embed_size", m.cfg.embed_size);
    json_int(&j, "hidden_size", m.cfg.hidden_size);
    json_int(&j, "num_layers", m.cfg.num_layers);
    json_int(&j, "parameters", (long long)m.num_params);
    json_int(&j, "steps", o.steps);
    json_int(&j, "steps_per_epoch", tr.data.steps_per_epoch);
    json_str(&j, "config", cfg_text);
    emit(&out, &j);
    if (!o.quiet)
        fprintf(stderr, "recur train: %s %dx%d (E=%d, V=%d, %zu parameters), %ld steps of %d streams x %d = %ld tokens, %ld steps/epoch\n",
                cell_name(m.cfg.cell), m.cfg.num_layers, m.cfg.hidden_size, m.cfg.embed_size, m.cfg.vocab_size,
                m.num_params, o.steps, o.batch, o.bptt, tokens_per_step, tr.data.steps_per_epoch);

    const double t0 = now_seconds();
    double last_val = NAN, window_t = t0;
    long window_steps = 0;
    while (tr.step < o.steps && !stop_requested) {
        step_result res;
        const double ts = now_seconds();
        trainer_step(&tr, (float)o.lr, &res);
        const double te = now_seconds();
        window_steps++;
        json_begin(&j);
        json_int(&j, "step", tr.step);
        json_int(&j, "epoch", res.epoch);
        json_num(&j, "loss", res.loss);
        json_num(&j, "grad_norm", res.grad_norm);
        json_num(&j, "lr", o.lr);
        json_num(&j, "tokens_per_s", (double)tokens_per_step / (te - ts));
        json_num(&j, "elapsed_s", te - t0);
        emit(&out, &j);
        if (!isfinite(res.loss) || !isfinite(res.grad_norm)) {
            recur_fail(&err, RECUR_EXIT_FAIL,
                       "step %ld: loss %g, gradient norm %g: training diverged (try a lower --lr or --clip 1); %s not written",
                       tr.step, res.loss, res.grad_norm, o.out);
            goto fail;
        }
        if (!o.quiet && (tr.step % o.log_every == 0 || tr.step == o.steps || tr.step == 1)) {
            double rate = (double)window_steps * tokens_per_step / (te - window_t);
            char eta[32];
            format_duration((double)(o.steps - tr.step) * (te - t0) / (double)tr.step, eta, sizeof eta);
            fprintf(stderr, "step %ld/%ld | epoch %ld | loss %.4f | grad norm %.3f | %.0f tok/s | ETA %s\n", tr.step,
                    o.steps, res.epoch, res.loss, res.grad_norm, rate, eta);
            window_t = te;
            window_steps = 0;
        }
        if (ds.val_tokens && o.val_every > 0 && tr.step % o.val_every == 0 && tr.step < o.steps)
            if (validate(&out, &m, &ds, o.val_streams, tr.step, &last_val, &err)) goto fail;
        if (o.checkpoint_every > 0 && tr.step % o.checkpoint_every == 0 && tr.step < o.steps) {
            if (save(o.out, &m, &ds, &opt, &tr, cfg_text, &err)) goto fail;
            json_begin(&j);
            json_str(&j, "event", "checkpoint");
            json_int(&j, "step", tr.step);
            json_str(&j, "path", o.out);
            emit(&out, &j);
        }
    }
    if (ds.val_tokens && !stop_requested && validate(&out, &m, &ds, o.val_streams, tr.step, &last_val, &err)) goto fail;
    if (save(o.out, &m, &ds, &opt, &tr, cfg_text, &err)) goto fail;
    const double elapsed = now_seconds() - t0;
    json_begin(&j);
    json_str(&j, "event", stop_requested ? "interrupted" : "end");
    json_int(&j, "step", tr.step);
    json_num(&j, "elapsed_s", elapsed);
    json_num(&j, "tokens_per_s", (double)tr.tokens_seen / elapsed);
    json_num(&j, "val_loss", last_val);
    json_str(&j, "checkpoint", o.out);
    emit(&out, &j);
    if (stop_requested)
        fprintf(stderr, "recur train: stopped by signal %d after step %ld; checkpoint written to %s\n",
                (int)stop_requested, tr.step, o.out);
    else if (!o.quiet)
        fprintf(stderr, "recur train: %ld steps in %.1f s (%.0f tok/s); checkpoint written to %s\n", tr.step, elapsed,
                (double)tr.tokens_seen / elapsed, o.out);
    rc = 0;
    goto done;
fail:
    rc = report_error("train", &err);
    if (out.metrics) {
        json_begin(&j);
        json_str(&j, "event", "error");
        json_str(&j, "message", err.msg);
        emit(&out, &j);
    }
done:
    if (out.metrics) fclose(out.metrics);
    if (have_trainer) trainer_free(&tr);
    optim_free(&opt);
    model_free(&m);
    dataset_free(&ds);
    return rc;
}
