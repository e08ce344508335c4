/* train_record.c - where a run's records go (rank 0): one JSON line each in
 * the metrics file and the same text on the ZeroMQ stream (recur monitor),
 * and the console (train_console.c) from the same values. */
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "seqtask.h"
#include "train.h"

int record_open_sinks(run *r, recur_err *err) {
    int st = 0;
    if (r->comm.rank == 0) {
        console_init(&r->out.con, r->o.quiet);
        /* A resumed run appends to its metrics; a new one starts them afresh. */
        if (r->o.metrics[0] && !(r->out.metrics = fopen(r->o.metrics, r->resuming ? "a" : "w")))
            st = recur_fail(err, RECUR_EXIT_OUTPUT, "%s: --metrics: cannot open for writing", r->o.metrics);
    }
    if ((st = train_agree(r, st, err)) || r->comm.rank != 0) return st;
    /* A run id tells a monitor which run a record belongs to (resumes get a new one). */
    snprintf(r->out.run_id, sizeof r->out.run_id, "%08lx%04x", (unsigned long)time(NULL), (unsigned)getpid() & 0xffff);
    if (!r->o.no_monitor && r->o.monitor[0]) {
        char note[512];
        publisher_open(&r->out.pub, r->o.monitor, note, sizeof note);
        if (note[0]) fprintf(stderr, "recur train: %s\n", note);
        else if (!r->o.quiet)
            fprintf(stderr, "recur train: publishing metrics on %s (recur monitor %s)\n", r->out.pub.endpoint,
                    r->out.pub.endpoint);
    }
    return 0;
}

void record_close_sinks(run *r) {
    publisher_close(&r->out.pub);
    if (r->out.metrics) fclose(r->out.metrics);
    r->out.metrics = NULL;
}

static const char *event_name(record_kind k) {
    switch (k) {
    case REC_START: return "start";
    case REC_VALIDATION: return "validation";
    case REC_CHECKPOINT: return "checkpoint";
    case REC_END: return "end";
    case REC_INTERRUPTED: return "interrupted";
    case REC_ERROR: return "error";
    case REC_STEP: break;
    }
    return NULL;
}

/* The record as one JSON object; the fields of each kind are README's
 * Metrics paragraph. */
static void render_json(const run *r, const train_record *rec, json_line *j) {
    json_begin(j);
    const char *event = event_name(rec->kind);
    if (event) json_str(j, "event", event);
    switch (rec->kind) {
    case REC_START: {
        const model_config *c = &r->m.cfg;
        json_str(j, "cell", cell_name(c->cell));
        json_int(j, "vocab_size", c->vocab_size);
        json_int(j, "embed_size", c->embed_size);
        json_int(j, "hidden_size", c->hidden_size);
        json_int(j, "num_layers", c->num_layers);
        if (r->o.sequences == 3) {
            json_str(j, "task", task_name(c->task));
            json_str(j, "tree_cell", seqtask_tree_cell_name(c->cell));
            json_int(j, "num_root_classes", c->output_size);
            json_int(j, "num_node_classes", c->node_classes);
            json_int(j, "train_trees", (long long)r->trees.split[SPLIT_TRAIN].n);
        } else if (r->o.sequences == 2) {
            json_str(j, "task", task_name(c->task));
            json_int(j, "src_vocab_size", c->src_vocab_size);
            json_int(j, "bidirectional", c->bidirectional);
            if (c->bidirectional) json_str(j, "merge", seqtask_merge_name(c->merge));
            json_str(j, "attention", attention_name(c->attention));
            json_str(j, "context", context_name(c->context));
            json_str(j, "end", end_name(c->end));
            if (c->end == END_LENGTH) json_int(j, "max_len", c->max_len);
            json_int(j, "train_pairs", (long long)r->pairs.split[SPLIT_TRAIN].n);
        } else if (r->o.sequences) { /* the task and the rest of the shape (a language model's start record is as it was) */
            json_str(j, "task", task_name(c->task));
            json_int(j, "input_size", c->input_size);
            json_int(j, c->task == TASK_REGRESS ? "output_size" : "num_classes", c->output_size);
            json_int(j, "per_step", c->per_step);
            json_int(j, "bidirectional", c->bidirectional);
            if (c->bidirectional) json_str(j, "merge", seqtask_merge_name(c->merge));
            if (!net_per_row(c)) json_str(j, "pooling", pooling_name(c->pooling));
            else json_str(j, "recurrence", recurrence_name(c->recurrence));
            json_int(j, "train_sequences", (long long)r->seq.split[SPLIT_TRAIN].n);
        }
        json_int(j, "parameters", (long long)r->m.num_params);
        json_int(j, "ranks", r->comm.size);
        json_int(j, "steps", r->o.steps);
        json_int(j, "steps_per_epoch", trainer_steps_per_epoch(&r->tr));
        json_str(j, "config", r->cfg_text);
        break;
    }
    case REC_STEP:
        json_int(j, "step", rec->step);
        json_int(j, "epoch", rec->epoch);
        json_num(j, "loss", rec->loss);
        json_num(j, "grad_norm", rec->grad_norm);
        json_num(j, "lr", rec->lr);
        if (r->sampling != SAMPLING_NONE) json_num(j, "sample_prob", rec->sample_prob);
        json_num(j, "tokens_per_s", rec->tokens_per_s);
        json_num(j, "elapsed_s", rec->elapsed_s);
        json_num(j, "eta_s", rec->eta_s);
        break;
    case REC_VALIDATION:
        json_int(j, "step", rec->step);
        json_num(j, "val_loss", rec->val_loss);
        if (r->o.sequences && r->m.cfg.task == TASK_REGRESS) { /* in the dataset's original units */
            json_num(j, "val_rmse", rec->val_rmse);
            json_num(j, "val_mae", rec->val_mae);
            json_num(j, "val_mse", rec->val_mse);
        } else {
            json_num(j, "val_accuracy", rec->val_accuracy);
            if (r->o.sequences == 1) json_num(j, "val_macro_f1", rec->val_macro_f1);
        }
        json_int(j, "val_predictions", rec->val_predictions);
        break;
    case REC_CHECKPOINT:
        json_int(j, "step", rec->step);
        json_str(j, "path", rec->path);
        break;
    case REC_END:
    case REC_INTERRUPTED:
        json_int(j, "step", rec->step);
        json_num(j, "elapsed_s", rec->elapsed_s);
        json_num(j, "tokens_per_s", rec->tokens_per_s);
        json_num(j, "val_loss", rec->val_loss);
        json_str(j, "checkpoint", rec->path);
        if (r->o.target_val_loss > 0) json_raw(j, "target_reached", rec->target_reached ? "true" : "false");
        for (int i = 0; i < PHASE_COUNT; i++) {
            char key[48];
            snprintf(key, sizeof key, "%s_s", PHASE_NAMES[i]);
            for (char *c = key; *c; c++) *c = *c == ' ' ? '_' : *c;
            json_num(j, key, r->tr.phase_seconds[i]);
        }
        json_num(j, "checkpoint_io_s", r->io_seconds);
        break;
    case REC_ERROR:
        json_str(j, "message", rec->message);
        break;
    }
    if (r->out.run_id[0]) json_str(j, "run_id", r->out.run_id);
}

/* A record that cannot be written (disk full) is lost, but not silently: the
 * console says so the first time, and always for the error record, whose
 * loss leaves the metrics file ending as if the run were still going.  The
 * unwritten bytes are dropped so a later record starts on a line of its own. */
static void write_metrics(run *r, const train_record *rec, const char *line) {
    FILE *f = r->out.metrics;
    const int ok = fprintf(f, "%s\n", line) >= 0 && fflush(f) == 0;
    if (ok) return;
    const int why = errno;
    __fpurge(f);
    clearerr(f);
    if (r->out.metrics_failed++ && rec->kind != REC_ERROR) return;
    console_break(&r->out.con);
    fprintf(stderr, "recur train: %s: cannot write the %s record: %s%s\n", r->o.metrics,
            rec->kind == REC_ERROR ? "error" : "metrics", strerror(why),
            rec->kind == REC_ERROR ? "" : " (records are lost until it can be written again)");
}

void record_emit(run *r, const train_record *rec) {
    if (r->comm.rank != 0) return;
    json_line j;
    render_json(r, rec, &j);
    const char *line = json_end(&j);
    if (r->out.metrics) write_metrics(r, rec, line);
    publisher_send(&r->out.pub, line);
    console_show(&r->out.con, r, rec);
}
