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
    dir = tu_tmpdir();
    if (!dir) return -1;
    return tu_snippet_dataset(dir, 30000, data_h5, sizeof data_h5);
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(dir);
    free(dir);
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
    /* The files themselves are byte-identical when the runs differ in nothing,
     * not even the output path recorded in the stored config. */
    assert_int_equal(tu_run(cmd_out, sizeof cmd_out,
                            "cd %s && for r in r1 r2; do mkdir -p $r && (cd $r && %s train --data %s --cell gru "
                            "--hidden 16 --layers 2 --batch 4 --bptt 8 --steps 5 --quiet --out m.h5) || exit 1; done; "
                            "cmp r1/m.h5 r2/m.h5", dir, tu_recur(), data_h5), 0);
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
    assert_non_null(strstr(log, "stopped by"));
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
    };
    return cmocka_run_group_tests_name("train", tests, setup, teardown);
}
