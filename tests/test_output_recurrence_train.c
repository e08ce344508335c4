/* test_output_recurrence_train.c - output-to-hidden recurrence (train
 * --recurrence output; reference §2 pattern 2, §4 teacher forcing) through
 * the CLI: a tagger whose label depends on the previous label learns it
 * (free-running as well as teacher-forced; a hidden-to-hidden model of the
 * same size does not, in the same steps); early on, free-running and
 * teacher-forced scores differ; a per-step regressor; the checkpoint
 * (attribute, tensors), inspect and predict; PyTorch (the model written
 * out step by step, tests/torch_output_recurrence.py) gives eval's two
 * losses and the weights after 3 SGD steps; a resumed run equals the
 * uninterrupted one bit for bit; mpirun -np 2 gives the weights of -np 1;
 * flags and files where it does not apply are refused.
 *
 * Datasets (h5py, written by a script this test puts in its scratch dir):
 *   tag      tokens V=6, C=3: label_t = (label_{t-1} + token_t) mod 3, label_{-1} = 0
 *   stepreg  features F=2, K=1 per step: y_t = y_{t-1} / 2 + feature 0
 *   cls      tokens V=6, C=3 per sequence; reg: features, K=1 per sequence
 */
#include "test_util.h"

#include <math.h>

#include "../io/checkpoint.h"

static char *dir;
static char srcdir[4096]; /* the repository: tests run from its root */

static const char *const MAKE_PY =
    "import sys, h5py, numpy as np\n"
    "out, task, n_train, n_val, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])\n"
    "rng = np.random.default_rng(seed)\n"
    "feats = task in ('stepreg', 'regress')\n"
    "splits = {}\n"
    "for split, n in (('train', n_train), ('val', n_val)):\n"
    "    if n == 0: continue\n"
    "    lens = rng.integers(3, 12, n)\n"
    "    off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)\n"
    "    T = int(off[-1])\n"
    "    g = {'offsets': off}\n"
    "    if feats:\n"
    "        x = rng.normal(size=(T, 2)).astype(np.float32)\n"
    "        g['features'] = x\n"
    "    else:\n"
    "        tok = rng.integers(0, 6, T).astype(np.int32)\n"
    "        g['tokens'] = tok\n"
    "    if task == 'tag':  # the label is the previous label plus the token, mod 3\n"
    "        lab = np.zeros(T, np.int32)\n"
    "        for i in range(n):\n"
    "            prev = 0\n"
    "            for t in range(off[i], off[i + 1]):\n"
    "                prev = lab[t] = (prev + tok[t]) % 3\n"
    "        g['step_labels'] = lab\n"
    "    elif task == 'classify':\n"
    "        g['labels'] = np.array([tok[off[i]] % 3 for i in range(n)], dtype=np.int32)\n"
    "    elif task == 'regress':\n"
    "        g['seq_targets'] = np.array([[x[off[i]:off[i + 1], 0].mean()] for i in range(n)], dtype=np.float32)\n"
    "    else:  # stepreg: half the previous target plus feature 0\n"
    "        y = np.zeros((T, 1), np.float32)\n"
    "        for i in range(n):\n"
    "            prev = 0.0\n"
    "            for t in range(off[i], off[i + 1]):\n"
    "                prev = y[t, 0] = 0.5 * prev + x[t, 0]\n"
    "        g['targets'] = y\n"
    "    splits[split] = g\n"
    "with h5py.File(out, 'w') as f:\n"
    "    f.attrs['format'] = 'recur-sequences'\n"
    "    f.attrs['version'] = 1\n"
    "    f.attrs['task'] = 'regress' if feats else task\n"
    "    if not feats:\n"
    "        f['vocab'] = np.frombuffer(b'abcdef', dtype=np.uint8)\n"
    "    if task in ('classify', 'tag'):\n"
    "        f['label_names'] = np.array(['zero', 'one', 'two'], dtype=h5py.string_dtype())\n"
    "    for split, g in splits.items():\n"
    "        for k, v in g.items(): f[split + '/' + k] = v\n";

static int make_dataset(const char *name, const char *task, int n_train, int n_val, int seed) {
    char log[8192];
    int rc = tu_run(log, sizeof log, "cd '%s' && " TU_PYTHON " mk.py %s.h5 %s %d %d %d", dir, name, task, n_train, n_val,
                    seed);
    if (rc) fprintf(stderr, "%s\n", log);
    return rc;
}

static int setup(void **state) {
    (void)state;
    if (!(dir = tu_tmpdir()) || !getcwd(srcdir, sizeof srcdir)) return -1;
    char path[4300];
    snprintf(path, sizeof path, "%s/mk.py", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(MAKE_PY, f);
    fclose(f);
    if (make_dataset("tag", "tag", 200, 50, 1) || make_dataset("stepreg", "stepreg", 200, 50, 2) ||
        make_dataset("cls", "classify", 40, 0, 3) || make_dataset("reg", "regress", 40, 0, 4))
        return -1;
    char tokens[4300];
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
                  "cd '%s' && '%s' train --data %s.h5 --cell rnn_tanh --hidden 32 --layers 1 --batch 16 --lr 0.02 --quiet "
                  "--no-monitor --out %s.h5 --metrics %s.jsonl %s",
                  dir, tu_recur(), data, out, out, extra);
}

/* The last line of DIR/NAME.jsonl holding `pat`, copied into out. */
static int last_line(const char *name, const char *pat, char *out, size_t len) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s.jsonl", dir, name);
    char *text = tu_slurp(path, NULL);
    if (!text) return -1;
    int found = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, pat)) snprintf(out, len, "%s", line), found = 0;
    free(text);
    return found;
}

/* eval --json on the val split. */
static void eval_json(const char *name, const char *data, char *out, size_t len) {
    if (tu_run(out, len, "cd '%s' && '%s' eval --model %s.h5 --data %s.h5 --split val --json", dir, tu_recur(), name,
               data))
        fail_msg("eval %s: %s", name, out);
}

static void load(const char *name, checkpoint_in *ck) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s.h5", dir, name);
    recur_err err = {0};
    if (checkpoint_load(path, ck, &err)) fail_msg("%s", err.msg);
}

/* ---- learning ---------------------------------------------------------------------- */

static void test_tag_learns_the_previous_label(void **s) {
    (void)s;
    char log[8192], out[8192], rec[8192];
    assert_int_equal(train("tag", "o", "--recurrence output --embed 8 --steps 150 --val-every 50", log, sizeof log), 0);
    assert_int_equal(last_line("o", "\"event\":\"start\"", rec, sizeof rec), 0);
    assert_non_null(strstr(rec, "\"recurrence\":\"output\""));
    assert_int_equal(last_line("o", "\"event\":\"validation\"", rec, sizeof rec), 0);
    assert_true(tu_json_number(rec, "val_accuracy") > 0.97); /* free-running */
    eval_json("o", "tag", out, sizeof out);
    assert_non_null(strstr(out, "\"recurrence\":\"output\""));
    const double acc = tu_json_number(out, "accuracy"), acc_tf = tu_json_number(out, "accuracy_teacher_forced");
    assert_true(acc > 0.97 && acc_tf > 0.97);
    assert_true(fabs(tu_json_number(out, "loss") - tu_json_number(rec, "val_loss")) < 1e-6); /* teacher-forced */
    assert_true(isfinite(tu_json_number(out, "loss_free_running")));
    assert_true(isfinite(tu_json_number(out, "macro_f1_teacher_forced")));
    /* The same size with hidden-to-hidden recurrence, the same steps: far from it. */
    assert_int_equal(train("tag", "h", "--embed 8 --steps 150", log, sizeof log), 0);
    eval_json("h", "tag", out, sizeof out);
    assert_true(tu_json_number(out, "accuracy") < 0.9);
    assert_null(strstr(out, "teacher_forced"));
    /* predict is free-running: its CSV agrees with eval's accuracy. */
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' predict --model o.h5 --data tag.h5 --split val --out o.csv",
                            dir, tu_recur()), 0);
    char path[4300];
    snprintf(path, sizeof path, "%s/o.csv", dir);
    char *csv = tu_slurp(path, NULL);
    int rows = 0, right = 0;
    for (char *line = strtok(strchr(csv, '\n') + 1, "\n"); line; line = strtok(NULL, "\n"), rows++) {
        int idx, step, label, truth;
        char tok, name[16];
        double prob;
        assert_int_equal(sscanf(line, "%d,%d,%c,%d,%15[a-z],%lf,%d", &idx, &step, &tok, &label, name, &prob, &truth), 7);
        right += label == truth;
    }
    free(csv);
    eval_json("o", "tag", out, sizeof out);
    assert_int_equal(rows, (int)tu_json_number(out, "steps"));
    assert_true(fabs((double)right / rows - tu_json_number(out, "accuracy")) < 1e-9);
    /* The checkpoint: the attribute, no W_hh, weight_oh [H, C]; inspect says so. */
    checkpoint_in ck;
    load("o", &ck);
    assert_int_equal(ck.m.cfg.recurrence, RECURRENCE_OUTPUT);
    assert_int_equal(model_find_tensor(&ck.m, "rnn/weight_hh_l0"), -1);
    const int oh = model_find_tensor(&ck.m, "rnn/weight_oh");
    assert_true(oh >= 0);
    assert_int_equal(ck.m.tensors[oh].shape[0], 32);
    assert_int_equal(ck.m.tensors[oh].shape[1], 3);
    checkpoint_in_free(&ck);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && " TU_PYTHON " -c \"import h5py; f = h5py.File('o.h5', 'r'); "
                            "print(f.attrs['recurrence'], f['model/rnn/weight_oh'].shape, 'model/rnn/weight_hh_l0' in f)\"",
                            dir), 0);
    assert_non_null(strstr(out, "output (32, 3) False"));
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' inspect o.h5", dir, tu_recur()), 0);
    assert_non_null(strstr(out, "recurrence: output"));
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' inspect o.h5 --json", dir, tu_recur()), 0);
    assert_non_null(strstr(out, "\"recurrence\":\"output\""));
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' inspect --verify o.h5", dir, tu_recur()), 0);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' inspect --diff o.h5 h.h5", dir, tu_recur()), 1);
    assert_non_null(strstr(out, "recurrence output vs hidden"));
}

/* A few steps in, the model's own predictions are often wrong: fed back,
 * they make free-running scores worse than teacher-forced ones (reference §4). */
static void test_free_running_differs_early(void **s) {
    (void)s;
    char log[8192], out[8192];
    assert_int_equal(train("tag", "early", "--recurrence output --cell rnn_relu --embed 8 --steps 12", log, sizeof log), 0);
    eval_json("early", "tag", out, sizeof out);
    const double acc = tu_json_number(out, "accuracy"), acc_tf = tu_json_number(out, "accuracy_teacher_forced");
    if (!(acc < acc_tf)) fail_msg("free-running accuracy %g, teacher-forced %g", acc, acc_tf);
    assert_true(tu_json_number(out, "loss_free_running") > tu_json_number(out, "loss"));
    /* The text form says both. */
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model early.h5 --data tag.h5 --split val", dir,
                            tu_recur()), 0);
    assert_non_null(strstr(out, "teacher-forced"));
    assert_non_null(strstr(out, "free-running"));
}

static void test_per_step_regress(void **s) {
    (void)s;
    char log[8192], out[8192], first[8192], last[8192];
    assert_int_equal(train("stepreg", "sr", "--recurrence output --layers 2 --steps 150 --lr 0.01", log, sizeof log), 0);
    assert_int_equal(last_line("sr", "\"step\":1,\"epoch\"", first, sizeof first), 0);
    assert_int_equal(last_line("sr", "\"step\":150,\"epoch\"", last, sizeof last), 0);
    assert_true(tu_json_number(last, "loss") < 0.05 * tu_json_number(first, "loss"));
    eval_json("sr", "stepreg", out, sizeof out);
    const double rmse = tu_json_number(out, "rmse"), rmse_tf = tu_json_number(out, "rmse_teacher_forced");
    assert_true(rmse > 0 && rmse < 0.5 && rmse_tf > 0 && rmse_tf < 0.5);
    assert_true(fabs(tu_json_number(out, "mse_teacher_forced") - tu_json_number(out, "loss")) < 1e-5); /* no /norm */
    assert_true(fabs(tu_json_number(out, "mse") - tu_json_number(out, "loss_free_running")) < 1e-5);
    checkpoint_in ck;
    load("sr", &ck);
    const int oh = model_find_tensor(&ck.m, "rnn/weight_oh");
    assert_true(oh >= 0);
    assert_int_equal(ck.m.tensors[oh].shape[1], 1); /* K */
    assert_int_equal(model_find_tensor(&ck.m, "rnn/weight_hh_l1"), -1);
    checkpoint_in_free(&ck);
}

/* ---- exactness -------------------------------------------------------------------------- */

/* PyTorch, from the definition: eval's teacher-forced and free-running losses
 * of a fresh model, and the weights after 3 SGD steps in file order. */
static void test_pytorch_reference(void **s) {
    (void)s;
    char log[8192], out[8192], ref[8192];
    const struct { const char *data, *shape; } cases[] = {
        {"tag", "--cell rnn_relu --embed 8"},
        {"stepreg", "--cell rnn_tanh"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *d = cases[i].data;
        /* A fresh model (a step of lr 1e-30 leaves it as drawn) and 3 steps from it. */
        assert_int_equal(tu_run(log, sizeof log,
                                "cd '%s' && '%s' train --data %s.h5 %s --recurrence output --hidden 16 --layers 2 --batch 16 "
                                "--steps 1 --optimizer sgd --lr 1e-30 --quiet --no-monitor --out init_%s.h5 && "
                                "'%s' train --data %s.h5 --init init_%s.h5 --no-shuffle --batch 16 --optimizer sgd --lr 0.5 "
                                "--clip 0 --steps 3 --quiet --no-monitor --out res_%s.h5",
                                dir, tu_recur(), d, cases[i].shape, d, tu_recur(), d, d, d), 0);
        assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model init_%s.h5 --data %s.h5 --split val --json",
                                dir, tu_recur(), d, d), 0);
        if (tu_run(ref, sizeof ref, "cd '%s' && " TU_PYTHON " '%s/tests/torch_output_recurrence.py' eval init_%s.h5 %s.h5 val",
                   dir, srcdir, d, d))
            fail_msg("%s", ref);
        for (int k = 0; k < 2; k++) {
            const char *key = k ? "loss_free_running" : "loss";
            const double got = tu_json_number(out, key), want = tu_json_number(ref, key);
            if (!(fabs(got - want) <= 1e-5 * want)) fail_msg("%s %s: recur %.9g, PyTorch %.9g", d, key, got, want);
        }
        if (tu_run(ref, sizeof ref, "cd '%s' && " TU_PYTHON " '%s/tests/torch_output_recurrence.py' train init_%s.h5 %s.h5 3 16 "
                   "0.5 res_%s.h5", dir, srcdir, d, d, d))
            fail_msg("%s", ref);
        if (!(tu_json_number(ref, "max_rel_diff") < 1e-4)) fail_msg("%s: weights after 3 steps: %s", d, ref);
    }
}

static void test_resume_is_exact(void **s) {
    (void)s;
    char log[8192];
    const char *shape = "--recurrence output --layers 2 --dropout 0.2 --embed 8 --seed 7";
    char extra[512];
    snprintf(extra, sizeof extra, "%s --steps 24", shape);
    assert_int_equal(train("tag", "whole", extra, log, sizeof log), 0);
    snprintf(extra, sizeof extra, "%s --steps 11 --run-dir rd --checkpoint-every 5", shape);
    assert_int_equal(train("tag", "part", extra, log, sizeof log), 0);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd --steps 24 --out resumed.h5", dir,
                            tu_recur()), 0);
    assert_non_null(strstr(log, "resuming from"));
    checkpoint_in a, b;
    load("whole", &a);
    load("resumed", &b);
    assert_int_equal(b.step, 24);
    assert_int_equal(b.m.cfg.recurrence, RECURRENCE_OUTPUT);
    assert_int_equal(a.m.num_params, b.m.num_params);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
    /* The checkpoint's recurrence may not be contradicted. */
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd --steps 30 --recurrence hidden --out r2.h5", dir,
                    tu_recur());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "--recurrence hidden (it is output)"));
}

/* Data parallel: each batch's sequences shared out by steps over 2 ranks
 * (15: not a multiple of 2); the weights are those of one rank up to float
 * rounding (the gradient sums run in another order). */
static void test_mpirun_same_weights(void **s) {
    (void)s;
    char log[8192];
    for (int np = 1; np <= 2; np++) {
        int rc = tu_run(log, sizeof log,
                        "cd '%s' && timeout -k 5 120 mpirun --oversubscribe -np %d '%s' train --data tag.h5 --cell rnn_tanh "
                        "--recurrence output --hidden 16 --layers 2 --embed 8 --batch 15 --steps 8 --val-every 4 --quiet "
                        "--no-monitor --out np%d.h5 --metrics np%d.jsonl",
                        dir, np, tu_recur(), np, np);
        if (rc) fprintf(stderr, "%s\n", log);
        assert_int_equal(rc, 0);
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
    char r1[8192], r2[8192];
    assert_int_equal(last_line("np1", "\"event\":\"validation\"", r1, sizeof r1), 0);
    assert_int_equal(last_line("np2", "\"event\":\"validation\"", r2, sizeof r2), 0);
    assert_true(fabs(tu_json_number(r1, "val_loss") - tu_json_number(r2, "val_loss")) <= 1e-5 * tu_json_number(r1, "val_loss"));
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_refusals(void **s) {
    (void)s;
    char log[8192];
    assert_int_equal(train("tag", "lstm", "--cell lstm --embed 8 --steps 1", log, sizeof log), 0);
    assert_int_equal(train("tag", "o1", "--recurrence output --embed 8 --steps 1", log, sizeof log), 0);
    const struct { const char *data, *flags, *says; } refused[] = {
        {"tag", "--cell lstm --recurrence output", "--recurrence: output: "},
        {"tag", "--cell gru --recurrence output", "rnn_tanh or rnn_relu"},
        {"tag", "--cell rnn_tanh --bidirectional --recurrence output", "one direction"},
        {"cls", "--cell rnn_tanh --recurrence output", "classify"},
        {"reg", "--cell rnn_tanh --recurrence output", "per sequence"},
        {"snippet", "--cell rnn_tanh --recurrence output", "--recurrence: output: "},
        {"tag", "--cell rnn_tanh --recurrence sideways", "--recurrence: expected hidden or output"},
        {"tag", "--init lstm.h5 --recurrence output", "--recurrence: the model's shape comes from --init"},
        {"tag", "--recurence output", "did you mean '--recurrence'?"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        tu_expect(dir, 2, refused[i].says, "'%s' train --data %s.h5 --steps 2 --out bad.h5 %s", tu_recur(),
                  refused[i].data, refused[i].flags);
    /* From a config file: the line is named. */
    char path[4300];
    snprintf(path, sizeof path, "%s/o.ini", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[train]\ncell = lstm\nrecurrence = output\n");
    fclose(f);
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --config o.ini --data tag.h5 --steps 2 --out bad.h5", dir,
                    tu_recur());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "o.ini:3: recurrence"));
    snprintf(path, sizeof path, "%s/bad.h5", dir);
    assert_false(tu_exists(path));
    /* Files that say one thing and hold another: exit 3 naming what. */
    const struct { const char *edit, *says; } files[] = {
        {"import shutil, h5py; shutil.copy('lstm.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f.attrs['recurrence'] = 'output'",
         "attribute 'recurrence'"},
        {"import shutil, h5py; shutil.copy('o1.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); del f['model/rnn/weight_oh']",
         "rnn/weight_oh"},
        {"import shutil, h5py; shutil.copy('o1.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f['model/rnn/weight_hh_l0'] = "
         "f['model/rnn/weight_ih_l0'][:, :32]", "no hidden-to-hidden connection"},
        {"import shutil, h5py; shutil.copy('lstm.h5', 'x.h5'); f = h5py.File('x.h5', 'a'); f['model/rnn/weight_oh'] = "
         "f['model/head/weight'][:].T", "no output feedback"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        assert_int_equal(tu_run(log, sizeof log, "cd '%s' && " TU_PYTHON " -c \"%s\"", dir, files[i].edit), 0);
        rc = tu_run(log, sizeof log, "cd '%s' && '%s' eval --model x.h5 --data tag.h5 --split val", dir, tu_recur());
        if (rc != 3 || !strstr(log, files[i].says))
            fail_msg("edit %zu: exit %d, expected 3 saying '%s':\n%s", i, rc, files[i].says, log);
    }
}

int main(void) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_learns_the_previous_label),
        cmocka_unit_test(test_free_running_differs_early),
        cmocka_unit_test(test_per_step_regress),
        cmocka_unit_test(test_pytorch_reference),
        cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_mpirun_same_weights),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("output_recurrence_train", tests, setup, teardown);
}
