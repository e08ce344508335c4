/* End-to-end behaviour of `recur train/eval/sample/inspect` through the CLI:
 * determinism, learning, metrics records, config files, a clean stop on
 * SIGTERM, sampling. */
#include "test_util.h"

#include <math.h>
#include <signal.h>

#include "../io/checkpoint.h"

static char *dir;
static char data_h5[4200];

/* A 30,000-byte slice of the bundled corpus, split 90/10. */
static int setup(void **state) {
    (void)state;
    return tu_scratch_with_snippet(&dir, 30000, data_h5, sizeof data_h5);
}

static int teardown(void **state) {
    (void)state;
    tu_scratch_remove(&dir);
    return 0;
}

static int train(const char *extra, const char *out_name, char *log, size_t loglen) {
    return tu_run(log, loglen,
                  "%s train --data %s --cell lstm --embed 16 --hidden 32 --layers 2 --batch 8 --bptt 16 --steps 30 "
                  "--seed 5 --lr 0.01 --clip 1 --quiet --out %s/%s --metrics %s/%s.jsonl %s",
                  tu_recur(), data_h5, dir, out_name, dir, out_name, extra);
}

static void load(const char *name, checkpoint_in *ck) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    recur_err err = {0};
    if (checkpoint_load(path, ck, &err)) fail_msg("%s", err.msg);
}

static void test_determinism(void **s) {
    (void)s;
    char log[8192];
    assert_int_equal(train("", "a.h5", log, sizeof log), 0);
    assert_int_equal(train("", "b.h5", log, sizeof log), 0);
    assert_int_equal(train("--seed 6", "c.h5", log, sizeof log), 0);
    char cmd_out[4096];
    checkpoint_in a, b, c;
    load("a.h5", &a);
    load("b.h5", &b);
    load("c.h5", &c);
    assert_int_equal(a.m.num_params, b.m.num_params);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_int_equal(a.opt.state_len, b.opt.state_len);
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    assert_non_null(a.state_h);
    assert_memory_equal(a.state_h, b.state_h, (size_t)2 * 8 * 32 * sizeof(float));
    assert_memory_equal(a.state_c, b.state_c, (size_t)2 * 8 * 32 * sizeof(float));
    /* A different seed gives a different model (the comparison above can fail). */
    assert_memory_not_equal(a.m.params, c.m.params, a.m.num_params * sizeof(float));
    assert_int_equal(a.step, 30);
    assert_int_equal(a.tokens_seen, 30 * 8 * 16);
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
    checkpoint_in_free(&c);
    /* The files themselves are byte-identical when the runs differ in nothing
     * (the stored config holds no time, host or process id). */
    assert_int_equal(tu_run(cmd_out, sizeof cmd_out,
                            "cd %s && mkdir -p r && cd r && for r in 1 2; do %s train --data %s --cell gru "
                            "--hidden 16 --layers 2 --batch 4 --bptt 8 --steps 5 --quiet --out m.h5 && mv m.h5 m$r.h5 || exit 1; done; "
                            "cmp m1.h5 m2.h5", dir, tu_recur(), data_h5), 0);
    /* The metrics files are identical but for the timing fields. */
    assert_int_equal(tu_run(cmd_out, sizeof cmd_out,
                            "cd %s && for f in a b; do grep -v event $f.h5.jsonl | sed 's/\"tokens_per_s\".*//' > $f.steps; done; "
                            "test $(wc -l < a.steps) -eq 30 && cmp a.steps b.steps", dir), 0);
}

static void test_metrics_and_learning(void **s) {
    (void)s;
    char log[8192];
    assert_int_equal(train("--steps 120 --val-every 40", "m.h5", log, sizeof log), 0);
    char path[4300];
    snprintf(path, sizeof path, "%s/m.h5.jsonl", dir);
    char *text = tu_slurp(path, NULL);
    assert_non_null(text);
    int steps = 0, vals = 0;
    double first = NAN, last = NAN;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "\"event\"")) {
            if (strstr(line, "\"validation\"")) vals++;
            continue;
        }
        steps++;
        assert_int_equal((int)tu_json_number(line, "step"), steps);
        assert_int_equal((int)tu_json_number(line, "epoch"), 1); /* 210 steps per epoch, counted from 1 */
        double loss = tu_json_number(line, "loss");
        assert_true(isfinite(loss));
        assert_true(isfinite(tu_json_number(line, "grad_norm")));
        assert_true(tu_json_number(line, "lr") == 0.01);
        assert_true(tu_json_number(line, "tokens_per_s") > 0);
        if (steps == 1) first = loss;
        last = loss;
    }
    free(text);
    assert_int_equal(steps, 120);
    assert_int_equal(vals, 3); /* steps 40, 80 and the end */
    /* 120 steps of Adam on real text take the loss well below uniform (ln 60 ~ 4.1). */
    assert_true(first > 3.5);
    assert_true(last < first - 1.0);
    /* A second run truncates the metrics file. */
    assert_int_equal(train("--steps 3", "m.h5", log, sizeof log), 0);
    text = tu_slurp(path, NULL);
    int lines = 0;
    for (char *p = text; *p; p++) lines += *p == '\n';
    free(text);
    assert_true(lines <= 3 + 4);
}

static void test_config_file_and_override(void **s) {
    (void)s;
    char ini[4300], log[8192];
    snprintf(ini, sizeof ini, "%s/run.ini", dir);
    FILE *f = fopen(ini, "w");
    fprintf(f, "# a comment\n[train]\ncell = gru\nhidden = 24\nlayers = 1\nsteps = 4\n");
    fclose(f);
    /* The fixed flags of train() say lstm/32/2/30; put the config last so... flags win anyway. */
    assert_int_equal(tu_run(log, sizeof log,
                            "%s train --config %s --data %s --hidden 12 --batch 4 --bptt 8 --quiet --out %s/cfg.h5",
                            tu_recur(), ini, data_h5, dir), 0);
    checkpoint_in ck;
    load("cfg.h5", &ck);
    assert_int_equal(ck.m.cfg.cell, CELL_GRU);     /* from the file */
    assert_int_equal(ck.m.cfg.num_layers, 1);      /* from the file */
    assert_int_equal(ck.m.cfg.hidden_size, 12);    /* the flag overrides the file */
    assert_int_equal(ck.step, 4);
    assert_non_null(ck.config_text);
    assert_non_null(strstr(ck.config_text, "hidden = 12"));
    checkpoint_in_free(&ck);
    /* A bad key names the file and the line. */
    f = fopen(ini, "w");
    fprintf(f, "[train]\nhiden = 24\n");
    fclose(f);
    int rc = tu_run(log, sizeof log, "%s train --config %s --data %s --out %s/cfg2.h5", tu_recur(), ini, data_h5, dir);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, ini));
    assert_non_null(strstr(log, "hiden"));
}

static void test_sigterm_writes_checkpoint(void **s) {
    (void)s;
    char log[8192];
    /* A long run in the background, stopped by SIGTERM once it has made progress. */
    int rc = tu_run(log, sizeof log,
                    "%s train --data %s --cell lstm --hidden 64 --batch 8 --bptt 16 --steps 1000000 --quiet "
                    "--out %s/sig.h5 --metrics %s/sig.jsonl & pid=$!; "
                    "for i in $(seq 100); do sleep 0.1; [ -s %s/sig.jsonl ] && [ $(wc -l < %s/sig.jsonl) -gt 5 ] && break; done; "
                    "kill -TERM $pid; wait $pid",
                    tu_recur(), data_h5, dir, dir, dir, dir);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(log, "recur train: stopped"));
    checkpoint_in ck;
    load("sig.h5", &ck);
    assert_true(ck.step > 0 && ck.step < 1000000);
    checkpoint_in_free(&ck);
    char path[4300];
    snprintf(path, sizeof path, "%s/sig.jsonl", dir);
    char *text = tu_slurp(path, NULL);
    assert_non_null(strstr(text, "\"event\":\"interrupted\""));
    free(text);
}

static void test_eval_and_sample(void **s) {
    (void)s;
    char log[8192], out1[8192], out2[8192];
    assert_int_equal(train("", "e.h5", log, sizeof log), 0);
    assert_int_equal(tu_run(out1, sizeof out1, "%s eval --model %s/e.h5 --data %s --streams 1 --json", tu_recur(), dir,
                            data_h5), 0);
    double l1 = tu_json_number(out1, "loss");
    assert_true(l1 > 1.0 && l1 < 4.2);
    assert_int_equal((int)tu_json_number(out1, "predictions"), 27000 - 1);
    assert_int_equal(tu_run(out2, sizeof out2, "%s eval --model %s/e.h5 --data %s --streams 4 --json", tu_recur(), dir,
                            data_h5), 0);
    /* Four cold starts instead of one: close to, and not below, the one-stream loss by much. */
    double l4 = tu_json_number(out2, "loss");
    assert_true(fabs(l4 - l1) < 0.05);
    assert_int_equal((int)tu_json_number(out2, "predictions"), 4 * ((27000 - 1) / 4));
    /* Sampling: deterministic per seed, starts with the prime, exactly len bytes after it. */
    assert_int_equal(tu_run(out1, sizeof out1, "%s sample --model %s/e.h5 --len 200 --temperature 0.8 --seed 3 --prime 'ROMEO:'",
                            tu_recur(), dir), 0);
    assert_int_equal(tu_run(out2, sizeof out2, "%s sample --model %s/e.h5 --len 200 --temperature 0.8 --seed 3 --prime 'ROMEO:'",
                            tu_recur(), dir), 0);
    assert_string_equal(out1, out2);
    assert_int_equal(strncmp(out1, "ROMEO:", 6), 0);
    assert_int_equal(strlen(out1), 6 + 200 + 1);
    assert_int_equal(tu_run(out2, sizeof out2, "%s sample --model %s/e.h5 --len 200 --temperature 0.8 --seed 4 --prime 'ROMEO:'",
                            tu_recur(), dir), 0);
    assert_string_not_equal(out1, out2);
    /* A prime byte outside the vocabulary is a usage error. */
    assert_int_equal(tu_run(out2, sizeof out2, "%s sample --model %s/e.h5 --len 5 --prime '~~'", tu_recur(), dir), 2);
}

static void test_inspect(void **s) {
    (void)s;
    char log[8192], out[16384];
    assert_int_equal(train("--steps 2", "i.h5", log, sizeof log), 0);
    assert_int_equal(tu_run(out, sizeof out, "%s inspect %s/i.h5 --json", tu_recur(), dir), 0);
    assert_non_null(strstr(out, "\"cell\":\"lstm\""));
    assert_non_null(strstr(out, "\"/model/rnn/weight_hh_l1\""));
    assert_int_equal((int)tu_json_number(out, "step"), 2);
}

/* An interrupted run resumed from its checkpoint continues exactly: the same
 * losses and bitwise the same weights, optimizer state and carried states as
 * the run that was never interrupted (through a step-decay schedule). */
static void test_resume_is_exact(void **s) {
    (void)s;
    char log[8192];
    const char *args = "--cell lstm --embed 16 --hidden 32 --layers 2 --batch 8 --bptt 16 --seed 5 --lr 0.01 --clip 1 "
                       "--warmup 3 --lr-schedule step --lr-decay-every 5 --checkpoint-every 10 --quiet";
    assert_int_equal(tu_run(log, sizeof log, "%s train --data %s %s --steps 20 --run-dir %s/whole", tu_recur(), data_h5,
                            args, dir), 0);
    assert_int_equal(tu_run(log, sizeof log, "%s train --data %s %s --steps 10 --run-dir %s/cut", tu_recur(), data_h5,
                            args, dir), 0);
    assert_int_equal(tu_run(log, sizeof log, "%s train --resume %s/cut --steps 20", tu_recur(), dir), 0);
    checkpoint_in a, b;
    load("whole/final.h5", &a);
    load("cut/final.h5", &b);
    assert_int_equal(b.step, 20);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    assert_int_equal(a.opt.step, b.opt.step);
    assert_memory_equal(a.state_h, b.state_h, (size_t)2 * 8 * 32 * sizeof(float));
    assert_memory_equal(a.state_c, b.state_c, (size_t)2 * 8 * 32 * sizeof(float));
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
    /* The resumed metrics file was appended to: 20 step lines, identical losses. */
    char out[256];
    assert_int_equal(tu_run(out, sizeof out,
                            "cd %s && for f in whole cut; do grep -v event $f/metrics.jsonl | sed 's/\"tokens_per_s\".*//' > $f.steps; done; "
                            "test $(wc -l < cut.steps) -eq 20 && cmp whole.steps cut.steps", dir), 0);
    /* The run dir kept the newest checkpoints (--keep 3): 10 and 20. */
    assert_true(tu_exists(strcat(strcpy(out, dir), "/cut/ckpt-00000020.h5")));
    /* --keep K prunes older periodic checkpoints: every 2 steps up to 10, keep 3 -> 6, 8, 10. */
    assert_int_equal(tu_run(log, sizeof log, "%s train --data %s %s --steps 10 --checkpoint-every 2 --keep 3 --run-dir %s/keep",
                            tu_recur(), data_h5, args, dir), 0);
    assert_int_equal(tu_run(out, sizeof out, "cd %s/keep && ls ckpt-*.h5 | tr '\\n' ' '", dir), 0);
    assert_string_equal(out, "ckpt-00000006.h5 ckpt-00000008.h5 ckpt-00000010.h5 ");
    /* Shape flags that contradict the checkpoint are refused. */
    int rc = tu_run(log, sizeof log, "%s train --resume %s/cut --steps 30 --hidden 64", tu_recur(), dir);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "--hidden 64"));
}

/* --gradcheck passes on a healthy model; --debug stops at the first NaN/Inf,
 * naming step, phase and tensor, writes no checkpoint, and prints the
 * per-phase time breakdown on a good run. */
static void test_debug_and_gradcheck(void **s) {
    (void)s;
    char log[8192], path[4300];
    assert_int_equal(train("--steps 3 --gradcheck --debug --cell gru", "dbg.h5", log, sizeof log), 0);
    assert_non_null(strstr(log, "gradcheck ok"));
    assert_non_null(strstr(log, "forward"));
    assert_non_null(strstr(log, "allreduce wait"));
    assert_non_null(strstr(log, "checkpoint I/O"));
    /* An absurd learning rate blows the weights up after the first update. */
    int rc = train("--steps 20 --debug --optimizer sgd --lr 1e30 --clip 0", "nan.h5", log, sizeof log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "step 2, phase"));
    assert_non_null(strstr(log, "/model/") ? strstr(log, "/model/") : strstr(log, "layer"));
    snprintf(path, sizeof path, "%s/nan.h5", dir);
    assert_false(tu_exists(path));
}

/* A resumed run says where from; --steps at or below the checkpoint's step
 * says what to pass; --resume DIR takes the newest checkpoint by step. */
static void test_resume_messages(void **s) {
    (void)s;
    char log[8192];
    const char *args = "--cell lstm --embed 8 --hidden 16 --layers 1 --batch 4 --bptt 8 --seed 2 --checkpoint-every 5 --quiet";
    assert_int_equal(tu_run(log, sizeof log, "%s train --data %s %s --steps 10 --run-dir %s/msg", tu_recur(), data_h5,
                            args, dir), 0);
    /* No --steps: the stored total, already reached. */
    assert_int_equal(tu_run(log, sizeof log, "%s train --resume %s/msg", tu_recur(), dir), 2);
    assert_non_null(strstr(log, "/msg/ckpt-00000010.h5 is at step 10; --steps is the run's total, pass --steps above 10, "
                                "e.g. --steps 20"));
    assert_int_equal(tu_run(log, sizeof log, "%s train --resume %s/msg --steps 7", tu_recur(), dir), 2);
    assert_non_null(strstr(log, "pass --steps above 10"));
    assert_int_equal(tu_run(log, sizeof log, "%s train --resume %s/msg --steps 12", tu_recur(), dir), 0);
    assert_non_null(strstr(log, "recur train: resuming from "));
    assert_non_null(strstr(log, "/msg/ckpt-00000010.h5 at step 10 of 12\n"));
    /* final.h5 (step 12) is newer than every periodic checkpoint left. */
    assert_int_equal(tu_run(log, sizeof log, "rm %s/msg/ckpt-00000012.h5", dir), 0);
    assert_int_equal(tu_run(log, sizeof log, "%s train --resume %s/msg --steps 14", tu_recur(), dir), 0);
    assert_non_null(strstr(log, "/msg/final.h5 at step 12 of 14\n"));
}

/* A run trained with relative paths (dataset, run dir) and stopped by a
 * signal leaves ckpt-<step>.h5 and no final.h5; resumed from another working
 * directory it continues in its run dir, bitwise as if never interrupted.
 * A dataset that has gone: the message says the path came from the
 * checkpoint and that --data overrides it. */
static void test_interrupt_and_resume_elsewhere(void **s) {
    (void)s;
    char log[16384], path[4400];
    const char *args = "--cell lstm --embed 8 --hidden 32 --layers 1 --batch 4 --bptt 8 --seed 4 --lr 0.01";
    assert_int_equal(tu_run(log, sizeof log,
                            "cd %s && cp snippet.h5 rel.h5 && { %s train --data rel.h5 %s --steps 1000000 --quiet --run-dir intr & pid=$!; "
                            "for i in $(seq 100); do sleep 0.1; [ -s intr/metrics.jsonl ] && [ $(wc -l < intr/metrics.jsonl) -gt 5 ] && break; done; "
                            "kill -TERM $pid; wait $pid; }",
                            dir, tu_recur(), args), 0);
    const char *said = strstr(log, "recur train: stopped");
    assert_non_null(said);
    said = strstr(said, "after step ");
    assert_non_null(said);
    const long step = atol(said + strlen("after step "));
    assert_true(step > 0);
    snprintf(path, sizeof path, "%s/intr/ckpt-%08ld.h5", dir, step);
    assert_true(tu_exists(path));
    assert_non_null(strstr(log, path)); /* the message names the checkpoint it wrote */
    snprintf(path, sizeof path, "%s/intr/final.h5", dir);
    assert_false(tu_exists(path));

    assert_int_equal(tu_run(log, sizeof log, "mkdir -p %s/else && cd %s/else && %s train --resume ../intr --steps %ld",
                            dir, dir, tu_recur(), step + 5), 0);
    assert_non_null(strstr(log, "resuming from ../intr/ckpt-"));
    assert_true(tu_exists(path)); /* in the run dir, not under else/ */
    snprintf(path, sizeof path, "%s/else/intr", dir);
    assert_false(tu_exists(path));
    assert_int_equal(tu_run(log, sizeof log, "cd %s && %s train --data rel.h5 %s --steps %ld --quiet --out whole_intr.h5",
                            dir, tu_recur(), args, step + 5), 0);
    checkpoint_in a, b;
    load("whole_intr.h5", &a);
    load("intr/final.h5", &b);
    assert_int_equal(b.step, step + 5);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    assert_memory_equal(a.state_h, b.state_h, (size_t)4 * 32 * sizeof(float));
    assert_memory_equal(a.state_c, b.state_c, (size_t)4 * 32 * sizeof(float));
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);

    assert_int_equal(tu_run(log, sizeof log, "mv %s/rel.h5 %s/moved.h5", dir, dir), 0);
    assert_int_equal(tu_run(log, sizeof log, "cd / && %s train --resume %s/intr --steps %ld", tu_recur(), dir, step + 10), 3);
    snprintf(path, sizeof path, "%s/rel.h5: cannot open for reading", dir);
    assert_non_null(strstr(log, path));
    assert_non_null(strstr(log, "(the dataset path stored in "));
    assert_non_null(strstr(log, "; pass --data to use another)"));
    assert_int_equal(tu_run(log, sizeof log, "cd / && %s train --resume %s/intr --steps %ld --data %s/moved.h5", tu_recur(),
                            dir, step + 10, dir), 0);
}

/* Counts occurrences of `needle` in `text`. */
static int count_of(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Progress on a terminal is one line redrawn in place, at most ~10 times a
 * second, ended before any other message; elsewhere, plain lines.  Steps and
 * epochs count from 1. */
static void test_progress_line(void **s) {
    (void)s;
    static char log[1 << 17];
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "%s train --data %s --cell lstm --embed 8 --hidden 32 --layers 1 --batch 4 --bptt 8 --steps 400 "
             "--val-every 200 --log-every 100 --no-monitor --out %s/prog.h5",
             tu_recur(), data_h5, dir);
    assert_int_equal(tu_run(log, sizeof log, "script -qfec \"%s\" /dev/null", cmd), 0);
    assert_non_null(strstr(log, "\rstep 1/400   0% | epoch 1 | loss "));
    assert_non_null(strstr(log, "\rstep 400/400 100% | epoch 1 | loss "));
    assert_non_null(strstr(log, "tok/s | "));
    assert_non_null(strstr(log, ", ETA "));
    assert_non_null(strstr(log, "\033[K"));
    /* Other messages start on a line of their own (the pty turns \n into \r\n). */
    assert_non_null(strstr(log, "\033[K\r\nstep 200 | validation loss"));
    assert_non_null(strstr(log, "\r\nstep 400 | validation loss"));
    assert_non_null(strstr(log, "\r\nrecur train: 400 steps in "));
    const char *in = strstr(log, "recur train: 400 steps in ");
    const double seconds = atof(in + strlen("recur train: 400 steps in "));
    const int draws = count_of(log, "\rstep ");
    assert_true(draws >= 2);
    if (draws > 10 * seconds + 4) fail_msg("%d redraws in %.1f s", draws, seconds);
    /* Not a terminal: today's lines every --log-every steps, no '\r'. */
    assert_int_equal(tu_run(log, sizeof log, "%s", cmd), 0);
    assert_null(strchr(log, '\r'));
    assert_non_null(strstr(log, "\nstep 1/400 | epoch 1 | loss "));
    assert_non_null(strstr(log, "\nstep 100/400 | epoch 1 | loss "));
    assert_non_null(strstr(log, "\nstep 200 | validation loss"));
    assert_int_equal(count_of(log, "\nstep "), 7); /* 1, 100, 200, validation, 300, 400, validation */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_metrics_and_learning),
        cmocka_unit_test(test_config_file_and_override),
        cmocka_unit_test(test_sigterm_writes_checkpoint),
        cmocka_unit_test(test_eval_and_sample),
        cmocka_unit_test(test_inspect),
        cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_debug_and_gradcheck),
        cmocka_unit_test(test_resume_messages),
        cmocka_unit_test(test_interrupt_and_resume_elsewhere),
        cmocka_unit_test(test_progress_line),
    };
    return cmocka_run_group_tests_name("train", tests, setup, teardown);
}
