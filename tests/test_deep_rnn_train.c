/* test_deep_rnn_train.c - deep RNNs (reference §9; train --transition-depth
 * D --transition-width W, --skip K, --residual) through the CLI: every task
 * of the sequence engine trains with them (lm on token windows, tag both
 * ways, regress per sequence); the checkpoint holds their attributes and
 * tensors only when they are on (a model without them stores exactly what it
 * did before); inspect shows them (text, --json) and --verify checks them; a
 * resumed run equals the uninterrupted one bit for bit (dropout inside the
 * transitions too); mpirun -np 2 gives the weights of -np 1; flags, config
 * lines and files where they do not apply are refused, naming them.  (The
 * gradients are tests/test_seq_gradcheck.c's.)
 *
 * Datasets: recur data synth adding (regress per sequence) and copy (tag),
 * and the Tiny Shakespeare snippet (lm). */
#include "test_util.h"

#include <math.h>

#include "../io/checkpoint.h"

static char *dir;

static int setup(void **state) {
    (void)state;
    if (!(dir = tu_tmpdir())) return -1;
    char log[8192], tokens[4300];
    if (tu_run(log, sizeof log, "cd '%s' && '%s' data synth adding add.h5 --length 12 --count 300 --val-fraction 0.2 && "
               "'%s' data synth copy copy.h5 --length 4 --count 200 --val-fraction 0.2", dir, tu_recur(), tu_recur())) {
        fprintf(stderr, "%s\n", log);
        return -1;
    }
    return tu_snippet_dataset(dir, 20000, tokens, sizeof tokens);
}

static int teardown(void **state) {
    (void)state;
    tu_scratch_remove(&dir);
    return 0;
}

/* recur train on DIR/DATA.h5, --out DIR/OUT.h5, metrics DIR/OUT.jsonl. */
static int train(const char *data, const char *out, const char *extra, char *log, size_t len) {
    return tu_run(log, len,
                  "cd '%s' && '%s' train --data %s.h5 --hidden 16 --layers 2 --batch 16 --lr 0.01 --quiet --no-monitor "
                  "--out %s.h5 --metrics %s.jsonl %s",
                  dir, tu_recur(), data, out, out, extra);
}

static void load(const char *name, checkpoint_in *ck) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s.h5", dir, name);
    recur_err err = {0};
    if (checkpoint_load(path, ck, &err)) fail_msg("%s", err.msg);
}

static void run_ok(char *out, size_t len, const char *fmt, const char *a, const char *b) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    if (tu_run(out, len, "cd '%s' && %s", dir, cmd)) fail_msg("%s: %s", cmd, out);
}

/* ---- the checkpoint and inspect ---------------------------------------------------- */

static void test_checkpoint_and_inspect(void **s) {
    (void)s;
    char log[8192], out[16384];
    if (train("copy", "sr", "--cell lstm --embed 8 --bidirectional --skip 2 --residual --transition-depth 2 "
              "--transition-width 8 --steps 3", log, sizeof log))
        fail_msg("%s", log);
    checkpoint_in ck;
    load("sr", &ck);
    assert_int_equal(ck.m.cfg.skip, 2);
    assert_int_equal(ck.m.cfg.residual, 1);
    assert_int_equal(ck.m.cfg.transition_depth, 2);
    assert_int_equal(ck.m.cfg.transition_width, 8);
    const struct { const char *name; size_t rows, cols; } shapes[] = {
        {"rnn/weight_ih_l0", 64, 8},                       {"rnn/weight_hh_l1_reverse", 64, 8},
        {"rnn/transition_ih_l0_d0/weight", 8, 8},          {"rnn/transition_ih_l1_d0_reverse/weight", 8, 32},
        {"rnn/transition_hh_l0_d0/weight", 8, 16},         {"rnn/transition_hh_l1_d1_reverse/weight", 8, 8},
        {"rnn/transition_hh_l1_d1_reverse/bias", 8, 1},    {"head/transition_d0/weight", 8, 32},
        {"head/transition_d1/bias", 8, 1},                 {"head/weight", 10, 8},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int k = model_find_tensor(&ck.m, shapes[i].name);
        if (k < 0) fail_msg("no tensor %s", shapes[i].name);
        if (ck.m.tensors[k].shape[0] != shapes[i].rows || ck.m.tensors[k].shape[1] != shapes[i].cols)
            fail_msg("%s: [%zu, %zu], expected [%zu, %zu]", shapes[i].name, ck.m.tensors[k].shape[0],
                     ck.m.tensors[k].shape[1], shapes[i].rows, shapes[i].cols);
    }
    static const char *const SKIPS[] = {"rnn/weight_skip_l0", "rnn/weight_skip_l0_reverse", "rnn/weight_skip_l1",
                                        "rnn/weight_skip_l1_reverse"};
    for (int i = 0; i < 4; i++) {
        const int k = model_find_tensor(&ck.m, SKIPS[i]);
        if (k < 0) fail_msg("no tensor %s", SKIPS[i]);
        assert_int_equal(ck.m.tensors[k].shape[0], 4 * 16);
        assert_int_equal(ck.m.tensors[k].shape[1], 16);
    }
    checkpoint_in_free(&ck);
    run_ok(out, sizeof out, TU_PYTHON " -c \"import h5py; f = h5py.File('%s.h5'); print(f.attrs['skip'], f.attrs['residual'], "
           "f.attrs['transition_depth'], f.attrs['transition_width'], f['model/rnn/weight_skip_l1_reverse'].shape, "
           "'skip = 2' in f['config'][()].decode())\"%s", "sr", "");
    assert_non_null(strstr(out, "2 1 2 8 (64, 16) True"));
    run_ok(out, sizeof out, "'%s' inspect %s.h5", tu_recur(), "sr");
    assert_non_null(strstr(out, "skip: 2 (every layer direction adds W_skip h_{t-2}"));
    assert_non_null(strstr(out, "residual: every layer above the first adds its input to its output"));
    assert_non_null(strstr(out, "deep transition: depth 2, width 8"));
    run_ok(out, sizeof out, "'%s' inspect --json %s.h5", tu_recur(), "sr");
    assert_non_null(strstr(out, "\"skip\":2,\"residual\":true,\"transition_depth\":2,\"transition_width\":8"));
    run_ok(out, sizeof out, "'%s' inspect --verify %s.h5", tu_recur(), "sr");
    /* The width defaults to --hidden, and the stored config says so. */
    if (train("add", "dtw", "--cell rnn_tanh --transition-depth 1 --steps 1", log, sizeof log)) fail_msg("%s", log);
    load("dtw", &ck);
    assert_int_equal(ck.m.cfg.transition_width, 16);
    assert_non_null(ck.config_text);
    assert_non_null(strstr(ck.config_text, "transition-width = 16"));
    checkpoint_in_free(&ck);

    /* Without them: no attribute, tensor or config line, nothing in inspect. */
    if (train("copy", "plain", "--cell lstm --embed 8 --steps 1", log, sizeof log)) fail_msg("%s", log);
    run_ok(out, sizeof out, TU_PYTHON " -c \"import h5py; f = h5py.File('%s.h5'); c = f['config'][()].decode(); "
           "print(any(a in f.attrs for a in ('skip', 'residual', 'transition_depth', 'transition_width')), "
           "'model/rnn/weight_skip_l0' in f, 'model/head/transition_d0' in f, "
           "any(k in c for k in ('skip =', 'residual =', 'transition-')))\"%s", "plain", "");
    assert_non_null(strstr(out, "False False False False"));
    /* Off given explicitly is off: the same checkpoint, byte for byte (config text included). */
    for (int i = 0; i < 2; i++) {
        const char *flags = i ? "--cell lstm --embed 8 --steps 1 --skip 0 --transition-depth 0"
                              : "--cell lstm --embed 8 --steps 1";
        if (train("copy", "zz", flags, log, sizeof log))
            fail_msg("%s", log);
        if (!i) run_ok(out, sizeof out, "mv %s.h5 %s.h5", "zz", "z0");
    }
    run_ok(out, sizeof out, "cmp %s.h5 %s.h5", "z0", "zz");
    tu_run(out, sizeof out, "cd '%s' && '%s' inspect --diff sr.h5 plain.h5", dir, tu_recur());
    assert_non_null(strstr(out, "skip 2 vs 0; residual 1 vs 0; transition_depth 2 vs 0; transition_width 8 vs 0"));
    run_ok(out, sizeof out, "'%s' inspect --json %s.h5", tu_recur(), "plain");
    assert_null(strstr(out, "\"skip\""));
    assert_null(strstr(out, "\"residual\""));
    assert_null(strstr(out, "\"transition_depth\""));
}

/* ---- every task ---------------------------------------------------------------------- */

static void test_every_task_trains(void **s) {
    (void)s;
    char log[8192], out[8192];
    const struct { const char *data, *out, *flags; } runs[] = {
        {"snippet", "lm", "--cell lstm --embed 8 --bptt 16 --skip 3 --residual --dropout 0.1 --steps 6"},
        {"snippet", "lmdt", "--cell gru --embed 8 --bptt 16 --transition-depth 2 --transition-width 12 --dropout 0.1 "
                            "--steps 6"},
        {"add", "reg", "--cell gru --skip 2 --residual --steps 6"},
        {"add", "regdt", "--cell lstm --transition-depth 1 --skip 3 --pooling max --steps 6"},
        {"add", "reg3", "--cell rnn_tanh --layers 3 --residual --pooling mean --steps 6"},
        {"copy", "tag", "--cell lbr_gru --embed 8 --bidirectional --merge sum --skip 3 --residual --steps 6"},
        {"copy", "tagdt", "--cell rnn_tanh --embed 8 --bidirectional --transition-depth 2 --transition-width 6 "
                          "--residual --steps 6"},
        {"copy", "tagr", "--cell rnn_relu --embed 8 --skip 4 --steps 6"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        if (train(runs[i].data, runs[i].out, runs[i].flags, log, sizeof log))
            fail_msg("train %s %s: %s", runs[i].data, runs[i].flags, log);
        if (tu_run(out, sizeof out, "cd '%s' && '%s' eval --model %s.h5 --data %s.h5 --split val --json", dir,
                   tu_recur(), runs[i].out, runs[i].data))
            fail_msg("eval %s: %s", runs[i].out, out);
        const double loss = tu_json_number(out, "loss");
        if (!isfinite(loss) || loss <= 0) fail_msg("eval %s: %s", runs[i].out, out);
    }
    /* A language model with a deep transition samples; one with skip connections is refused. */
    if (tu_run(out, sizeof out, "cd '%s' && '%s' sample --model lmdt.h5 --len 20 --seed 1", dir, tu_recur()))
        fail_msg("sample lmdt: %s", out);
    int rc = tu_run(out, sizeof out, "cd '%s' && '%s' sample --model lm.h5 --len 20 --seed 1", dir, tu_recur());
    if (rc != 3 || !strstr(out, "skip 3: sampling feeds one token per window")) fail_msg("sample lm: exit %d: %s", rc, out);
}

/* ---- resume ------------------------------------------------------------------------------ */

/* `flags` for 16 steps in one run, and 7 then resumed to 16: the same bits. */
static void resume_case(const char *data, const char *flags) {
    char log[8192], extra[512];
    snprintf(extra, sizeof extra, "%s --steps 16", flags);
    if (train(data, "whole", extra, log, sizeof log)) fail_msg("%s", log);
    snprintf(extra, sizeof extra, "%s --steps 7 --run-dir rd_%s --checkpoint-every 7", flags, data);
    if (train(data, "part", extra, log, sizeof log)) fail_msg("%s", log);
    if (tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd_%s --steps 16 --out resumed.h5", dir, tu_recur(), data))
        fail_msg("%s", log);
    assert_non_null(strstr(log, "resuming from"));
    checkpoint_in a, b;
    load("whole", &a);
    load("resumed", &b);
    assert_int_equal(b.step, 16);
    assert_int_equal(a.m.cfg.skip, b.m.cfg.skip);
    assert_int_equal(a.m.cfg.residual, b.m.cfg.residual);
    assert_int_equal(a.m.num_params, b.m.num_params);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
}

static void test_resume_is_exact(void **s) {
    (void)s;
    resume_case("snippet", "--cell gru --embed 8 --bptt 16 --skip 3 --residual --transition-depth 1 --transition-width 8 "
                "--dropout 0.2 --seed 5");
    resume_case("copy", "--cell lstm --embed 8 --bidirectional --skip 2 --residual --transition-depth 2 "
                "--transition-width 8 --dropout 0.2 --seed 5");
    /* The checkpoint's shortcuts may not be contradicted. */
    char log[8192];
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd_copy --steps 30 --skip 3 --out r2.h5", dir,
                    tu_recur());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "--skip 3 (it is 2)"));
    if (train("copy", "noshort", "--cell lstm --embed 8 --steps 2 --run-dir rd_plain --checkpoint-every 2", log,
              sizeof log))
        fail_msg("%s", log);
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd_plain --steps 4 --residual --out r2.h5", dir,
                tu_recur());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "--residual (it has none)"));
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd_copy --steps 30 --transition-depth 1 --out r2.h5", dir,
                tu_recur());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "--transition-depth 1 (it is 2)"));
}

/* Data parallel: the gradient buckets hold the new tensors (the head's
 * starts at its MLP); the weights are those of one rank up to float
 * rounding. */
static void test_mpirun_same_weights(void **s) {
    (void)s;
    char log[8192];
    for (int np = 1; np <= 2; np++) {
        int rc = tu_run(log, sizeof log,
                        "cd '%s' && timeout -k 5 120 mpirun --oversubscribe -np %d '%s' train --data copy.h5 --cell gru "
                        "--embed 8 --hidden 16 --layers 3 --bidirectional --skip 2 --residual --transition-depth 2 "
                        "--transition-width 8 --batch 16 --steps 6 --quiet --no-monitor --out np%d.h5 --metrics np%d.jsonl",
                        dir, np, tu_recur(), np, np);
        if (rc) fail_msg("%s", log);
    }
    checkpoint_in a, b;
    load("np1", &a);
    load("np2", &b);
    assert_int_equal(a.m.num_params, b.m.num_params);
    double worst = 0;
    for (size_t i = 0; i < a.m.num_params; i++)
        worst = fmax(worst, fabs((double)a.m.params[i] - b.m.params[i]) / (1e-3 + fabs((double)a.m.params[i])));
    if (worst > 1e-4) fail_msg("np 1 vs 2: relative weight difference %g", worst);
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_refusals(void **s) {
    (void)s;
    char log[8192];
    if (train("copy", "plain2", "--cell lstm --embed 8 --layers 1 --steps 1", log, sizeof log)) fail_msg("%s", log);
    if (train("copy", "skip2", "--cell lstm --embed 8 --skip 2 --steps 1", log, sizeof log)) fail_msg("%s", log);
    if (train("copy", "dt2", "--cell gru --embed 8 --transition-depth 2 --transition-width 6 --steps 1", log, sizeof log))
        fail_msg("%s", log);
    const struct { const char *data, *flags, *says; } refused[] = {
        {"copy", "--skip 1", "--skip: skip 1 is the hidden-to-hidden connection itself"},
        {"copy", "--skip -2", "--skip:"},
        {"copy", "--skip 100000", "--skip: expected an integer in [0, 65536], found 100000"},
        {"copy", "--residual --layers 1", "--residual: 1 layer: a residual connection"},
        {"copy", "--cell rnn_tanh --layers 1 --recurrence output --skip 2", "--skip: recurrence output"},
        {"copy", "--cell rnn_tanh --recurrence output --residual", "--residual: recurrence output"},
        {"copy", "--init plain2.h5 --skip 2", "--skip: the model's shape comes from --init"},
        {"copy", "--init plain2.h5 --residual", "--residual: the model's shape comes from --init"},
        {"copy", "--skipp 2", "did you mean '--skip'?"},
        {"copy", "--transition-depth 5", "--transition-depth: expected an integer in [0, 4], found 5"},
        {"copy", "--transition-width 8", "--transition-width: applies to --transition-depth D >= 1"},
        {"copy", "--transition-depth 1 --transition-width 100000", "--transition-width: expected an integer in [0, 65536]"},
        {"copy", "--cell rnn_tanh --layers 1 --recurrence output --transition-depth 1", "--transition-depth: recurrence output"},
        {"copy", "--init plain2.h5 --transition-depth 1", "--transition-depth: the model's shape comes from --init"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        tu_expect(dir, 2, refused[i].says, "'%s' train --data %s.h5 --steps 2 --out bad.h5 %s", tu_recur(),
                  refused[i].data, refused[i].flags);
    /* From a config file: the line is named. */
    char path[4300];
    snprintf(path, sizeof path, "%s/s.ini", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[train]\nlayers = 1\nresidual = true\n");
    fclose(f);
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --config s.ini --data copy.h5 --steps 2 --out bad.h5", dir,
                    tu_recur());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "s.ini:3: residual"));
    snprintf(path, sizeof path, "%s/bad.h5", dir);
    assert_false(tu_exists(path));

    /* seq2seq has both on its two stacks (test_s2s_train.c trains them); a
     * residual connection still needs two layers there. */
    model_config s2s = {.cell = CELL_GRU, .vocab_size = 5, .embed_size = 4, .hidden_size = 4, .num_layers = 2,
                        .task = TASK_SEQ2SEQ, .src_vocab_size = 5, .context = CONTEXT_INIT, .skip = 2, .residual = 1};
    model m;
    recur_err err = {0};
    assert_int_equal(model_create(&m, &s2s, &err), 0);
    assert_true(model_find_tensor(&m, "encoder/rnn/weight_skip_l1") >= 0);
    assert_true(model_find_tensor(&m, "decoder/rnn/weight_skip_l1") >= 0);
    model_free(&m);
    s2s.num_layers = 1;
    assert_int_not_equal(model_create(&m, &s2s, &err), 0);
    assert_non_null(strstr(err.msg, "field 'residual': 1 layer"));

    /* Files that say one thing and hold another: exit 3 naming what. */
    const struct { const char *edit, *says; } files[] = {
        {"import shutil, h5py; shutil.copy('plain2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f.attrs['residual'] = 1",
         "field 'residual': 1 layer"},
        {"import shutil, h5py; shutil.copy('skip2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f.attrs['skip'] = 1",
         "field 'skip': skip 1"},
        {"import shutil, h5py; shutil.copy('skip2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f.attrs['skip'] = 1 << 40",
         "attribute 'skip'"},
        {"import shutil, h5py; shutil.copy('skip2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f.attrs['skip'] = 3; "
         "del f['model/rnn/weight_skip_l0']", "rnn/weight_skip_l0"},
        {"import shutil, h5py; shutil.copy('skip2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); del f.attrs['skip']",
         "no skip connections"},
        {"import shutil, h5py; shutil.copy('dt2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); del f.attrs['transition_width']",
         "attribute 'transition_width'"},
        {"import shutil, h5py; shutil.copy('dt2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f.attrs['transition_depth'] = 9",
         "field 'transition_depth'"},
        {"import shutil, h5py; shutil.copy('dt2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f.attrs['transition_width'] = 7",
         "rnn/weight_ih_l0"},
        {"import shutil, h5py; shutil.copy('dt2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f.attrs['transition_depth'] = 1",
         "transition_depth 1: its MLPs have 1 layer(s)"},
        {"import shutil, h5py; shutil.copy('dt2.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); del f.attrs['transition_depth']; "
         "del f.attrs['transition_width']", "no deep transition"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        assert_int_equal(tu_run(log, sizeof log, "cd '%s' && " TU_PYTHON " -c \"%s\"", dir, files[i].edit), 0);
        rc = tu_run(log, sizeof log, "cd '%s' && '%s' eval --model x.h5 --data copy.h5 --split val", dir, tu_recur());
        if (rc != 3 || !strstr(log, files[i].says))
            fail_msg("edit %zu: exit %d, expected 3 saying '%s':\n%s", i, rc, files[i].says, log);
        rc = tu_run(log, sizeof log, "cd '%s' && '%s' inspect --verify x.h5", dir, tu_recur());
        if (rc == 0) fail_msg("edit %zu: inspect --verify passed:\n%s", i, log);
    }
}

int main(void) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_and_inspect),
        cmocka_unit_test(test_every_task_trains),
        cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_mpirun_same_weights),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("deep_rnn_train", tests, setup, teardown);
}
