/* train_console.c - the run's records on the console (rank 0's stderr).
 *
 * On a terminal, progress is one line redrawn in place ('\r', erase to the end
 * of the line) at most ten times a second: step/total, %, epoch, a smoothed
 * loss, tokens/s, elapsed and ETA.  Any other message first ends that line
 * (console_break), so it never lands in the middle of it.  Elsewhere (a file,
 * a pipe, mpirun's forwarding) one plain line every --log-every steps. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../worker/treeeval.h"
#include "common.h"
#include "seqtask.h"
#include "terminal.h"
#include "train.h"
#include "train_signals.h"

#define REDRAW_SECONDS 0.1
/* The smoothed loss: an EMA over about the last 1/(1-EMA_BETA) steps,
 * debiased at the start as TensorBoard's smoothing is. */
#define EMA_BETA 0.95

void console_init(console *c, int quiet) {
    memset(c, 0, sizeof *c);
    c->quiet = quiet;
    c->in_place = console_is_terminal();
    c->last_draw = -1;
}

void console_break(console *c) {
    if (!c->line_open) return;
    fputc('\n', stderr);
    c->line_open = 0;
}

/* A message of its own: ends the progress line first. */
static void say(console *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(console *c, const char *fmt, ...) {
    console_break(c);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static void show_step(console *c, const run *r, const train_record *rec) {
    const long total = r->o.steps;
    c->ema = EMA_BETA * c->ema + (1 - EMA_BETA) * rec->loss;
    c->ema_weight = EMA_BETA * c->ema_weight + (1 - EMA_BETA);
    c->window_steps++;
    c->window_s += rec->step_s;
    c->window_tokens += (double)rec->tokens;
    c->train_s += rec->step_s;
    c->train_tokens += (double)rec->tokens;
    c->steps_timed++;
    const int first = rec->step == r->first_step + 1, last = rec->step == total;
    char eta[32], elapsed[32];
    format_duration(rec->eta_s, eta, sizeof eta);
    if (c->in_place) {
        const double now = rec->elapsed_s;
        if (!first && !last && now - c->last_draw < REDRAW_SECONDS && !train_stop_requested()) return;
        c->last_draw = now;
        format_duration(rec->elapsed_s, elapsed, sizeof elapsed);
        fprintf(stderr, "\rstep %ld/%ld %3.0f%% | epoch %ld | loss %.4f | %.0f tok/s | %s, ETA %s\033[K", rec->step,
                total, 100.0 * (double)rec->step / (double)total, rec->epoch, c->ema / c->ema_weight,
                c->train_tokens / c->train_s, elapsed, eta);
        c->line_open = 1;
        fflush(stderr);
        return;
    }
    if (rec->step % r->o.log_every && !last && !first) return;
    fprintf(stderr, "step %ld/%ld | epoch %ld | loss %.4f | grad norm %.3f | %.0f tok/s | ETA %s\n", rec->step, total,
            rec->epoch, rec->loss, rec->grad_norm, c->window_tokens / c->window_s, eta);
    c->window_steps = 0;
    c->window_s = 0;
    c->window_tokens = 0;
}

/* ", deep transition 2x64, skip 3, residual": what makes it a deep RNN (reference §9), or "". */
static const char *shortcut_text(const model_config *m, char *buf, size_t len) {
    buf[0] = 0;
    if (m->transition_depth)
        snprintf(buf, len, ", deep transition %dx%d", m->transition_depth, m->transition_width);
    if (m->skip) snprintf(buf + strlen(buf), len - strlen(buf), ", skip %d", m->skip);
    if (m->residual) snprintf(buf + strlen(buf), len - strlen(buf), ", residual");
    return buf;
}

/* "recur train: classify, lstm 2x64 bidirectional concat, pooling last (V=50, E=16, C=3, 12345 parameters),
 * 200 steps of 32 sequences on 2 rank(s), 25 steps/epoch" */
static void show_sequence_start(console *c, const run *r) {
    const model_config *m = &r->m.cfg;
    char shape[160] = "", sizes[96], shortcuts[80];
    if (m->bidirectional) snprintf(shape, sizeof shape, " bidirectional %s", seqtask_merge_name(m->merge));
    if (!net_per_row(m)) snprintf(shape + strlen(shape), sizeof shape - strlen(shape), ", pooling %s", pooling_name(m->pooling));
    if (m->recurrence == RECURRENCE_OUTPUT)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), ", output-to-hidden recurrence");
    snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s", shortcut_text(m, shortcuts, sizeof shortcuts));
    if (m->input_size) snprintf(sizes, sizeof sizes, "F=%d", m->input_size);
    else snprintf(sizes, sizeof sizes, "V=%d, E=%d", m->vocab_size, m->embed_size);
    say(c, "recur train: %s%s, %s %dx%d%s (%s, %s=%d, %zu parameters), %ld steps of %d sequences on %d rank(s), "
        "%ld steps/epoch\n",
        task_name(m->task), m->task == TASK_REGRESS ? (m->per_step ? " per step" : " per sequence") : "",
        cell_name(m->cell), m->num_layers, m->hidden_size, shape, sizes, m->task == TASK_REGRESS ? "K" : "C",
        m->output_size, r->m.num_params, r->o.steps, r->o.batch, r->comm.size, trainer_steps_per_epoch(&r->tr));
}

/* "recur train: tree, lstm H=150 (V=1000, E=300, root C=5, node C=5, 123 parameters), 200 steps of 25
 * trees on 2 rank(s), 34 steps/epoch" */
static void show_tree_start(console *c, const run *r) {
    const model_config *m = &r->m.cfg;
    say(c, "recur train: tree, %s H=%d (V=%d, E=%d, root C=%d, node C=%d, %zu parameters), %ld steps of %d trees on "
        "%d rank(s), %ld steps/epoch\n", seqtask_tree_cell_name(m->cell), m->hidden_size, m->vocab_size,
        m->embed_size, m->output_size, m->node_classes, r->m.num_params, r->o.steps, r->o.batch, r->comm.size,
        trainer_steps_per_epoch(&r->tr));
}

/* "recur train: seq2seq, lstm 2x256, bidirectional encoder, attention additive, context init, end eos
 * (source V=30, target V=72, E=64, 1234567 parameters), 2000 steps of 64 pairs on 2 rank(s), 1500 steps/epoch" */
static void show_pairs_start(console *c, const run *r) {
    const model_config *m = &r->m.cfg;
    if (m->condition) { /* "recur train: conditional LM on labels (C=6), lstm 2x256, context both, end eos (V=91, ...)" */
        say(c, "recur train: conditional LM on %s (%s=%d), %s %dx%d, context %s, end %s (V=%d, E=%d, %zu parameters), "
            "%ld steps of %d sequences on %d rank(s), %ld steps/epoch\n",
            m->condition == COND_LABEL ? "labels" : "context features", m->condition == COND_LABEL ? "C" : "F",
            m->condition == COND_LABEL ? m->src_vocab_size : m->input_size, cell_name(m->cell), m->num_layers,
            m->hidden_size, context_name(m->context), end_name(m->end), m->vocab_size, m->embed_size,
            r->m.num_params, r->o.steps, r->o.batch, r->comm.size, trainer_steps_per_epoch(&r->tr));
        return;
    }
    say(c, "recur train: seq2seq, %s %dx%d, %s encoder, attention %s, context %s, end %s (source V=%d, target V=%d, "
        "E=%d, %zu parameters), %ld steps of %d pairs on %d rank(s), %ld steps/epoch\n",
        cell_name(m->cell), m->num_layers, m->hidden_size, m->bidirectional ? "bidirectional" : "one-direction",
        attention_name(m->attention), context_name(m->context), end_name(m->end), m->src_vocab_size, m->vocab_size,
        m->embed_size, r->m.num_params, r->o.steps, r->o.batch, r->comm.size, trainer_steps_per_epoch(&r->tr));
}

void console_show(console *c, const run *r, const train_record *rec) {
    const model *m = &r->m;
    switch (rec->kind) {
    case REC_START:
        /* Even with --quiet (which a resumed run inherits): where the run's state came from. */
        if (r->resuming) say(c, "recur train: resuming from %s at step %ld of %ld\n", r->o.resume, r->first_step, r->o.steps);
        if (c->quiet) break;
        if (r->o.sequences == 3) {
            show_tree_start(c, r);
            break;
        }
        if (r->o.sequences == 2) {
            show_pairs_start(c, r);
            break;
        }
        if (r->o.sequences) {
            show_sequence_start(c, r);
            break;
        }
        char shortcuts[80];
        say(c,
            "recur train: %s %dx%d%s (E=%d, V=%d, %zu parameters), %ld steps of %d streams x %d = %ld tokens "
            "on %d rank(s), %ld steps/epoch\n",
            cell_name(m->cfg.cell), m->cfg.num_layers, m->cfg.hidden_size,
            shortcut_text(&m->cfg, shortcuts, sizeof shortcuts), m->cfg.embed_size, m->cfg.vocab_size,
            m->num_params, r->o.steps, r->o.batch, r->o.bptt, (long)r->o.batch * r->o.bptt, r->comm.size,
            r->tr.data.steps_per_epoch);
        break;
    case REC_STEP:
        if (!c->quiet) show_step(c, r, rec);
        break;
    case REC_VALIDATION:
        if (c->quiet) break;
        if (!r->o.sequences)
            say(c, "step %ld | validation loss %.4f (%.3f bits/char)\n", rec->step, rec->val_loss,
                rec->val_loss / log(2.0));
        else if (m->cfg.task == TASK_SEQ2SEQ)
            say(c, "step %ld | validation loss %.4f per target token (teacher-forced) | next-token accuracy %.4f\n",
                rec->step, rec->val_loss, rec->val_accuracy);
        else if (m->cfg.task == TASK_TREE)
            say(c, "step %ld | validation loss %.4f | %s accuracy %.4f\n", rec->step, rec->val_loss,
                tree_accuracy_on_roots(&m->cfg, &r->forest[SPLIT_VAL]) ? "root" : "node", rec->val_accuracy);
        else if (m->cfg.task == TASK_REGRESS)
            say(c, "step %ld | validation loss %.4f | rmse %.6g, mae %.6g (original units)\n", rec->step, rec->val_loss,
                rec->val_rmse, rec->val_mae);
        else
            say(c, "step %ld | validation loss %.4f | accuracy %.4f, macro F1 %.4f\n", rec->step, rec->val_loss,
                rec->val_accuracy, rec->val_macro_f1);
        break;
    case REC_CHECKPOINT: /* the file and the end summary name them */
        break;
    case REC_END:
        if (!c->quiet)
            say(c, "recur train: %ld steps in %.1f s (%.0f tok/s); checkpoint written to %s\n",
                rec->step - r->first_step, rec->elapsed_s, rec->tokens_per_s, rec->path);
        if (!c->quiet && rec->target_reached)
            say(c, "recur train: validation loss %.6g reached --target-val-loss %g at step %ld\n", rec->val_loss,
                r->o.target_val_loss, rec->step);
        break;
    case REC_INTERRUPTED:
        console_break(c);
        train_report_stopped(rec->step, rec->path, r->o.run_dir[0] ? r->o.run_dir : rec->path);
        break;
    case REC_ERROR:
        console_break(c); /* the message itself went out with report_error */
        break;
    }
}

void console_print_phases(run *r, double elapsed) {
    const double *p = r->tr.phase_seconds;
    if (r->comm.rank == 0) console_break(&r->out.con);
    fprintf(stderr, "recur train: rank %d of %d: %.2f s:", r->comm.rank, r->comm.size, elapsed);
    for (int i = 0; i < PHASE_COUNT; i++) fprintf(stderr, " %s %.2f s (%.0f%%),", PHASE_NAMES[i], p[i], 100 * p[i] / elapsed);
    fprintf(stderr, " checkpoint I/O %.2f s (%.0f%%)\n", r->io_seconds, 100 * r->io_seconds / elapsed);
}
