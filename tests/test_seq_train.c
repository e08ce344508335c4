/* test_seq_train.c - `recur train`, `eval` and `predict` on sequence datasets
 * (issue 9) through the CLI: a classifier, a tagger and regressors learn toy
 * tasks; eval's JSON and predict's CSV; a resumed run equals the
 * uninterrupted one bit for bit; mpirun -np 2 gives the losses of -np 1;
 * --no-shuffle batches follow file order; options and models that do not fit
 * the dataset are refused with clear messages.
 *
 * The datasets are written by h5py (Debian's python3) from a script this
 * test writes into its scratch directory: tiny and learnable in a few dozen
 * steps.
 *   classify  tokens V=6, C=3: the label is the first token mod 3
 *   tag       tokens V=6, C=3: each step's label is its token mod 3
 *   regress   features F=2, K=1 per sequence: the mean of feature 0
 *   stepreg   features F=2, K=1 per step, normalised (/norm/target_*):
 *             10 * feature 0 + 3 in original units
 *   reglog    as regress, the target 20 + 5 * that mean stored as its natural
 *             log (target_transform="log")
 */
#include "test_util.h"

#include <math.h>

#include "../io/checkpoint.h"

static char *dir;

static const char *const MAKE_PY =
    "import sys, h5py, numpy as np\n"
    "out, task, n_train, n_val, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])\n"
    "rng = np.random.default_rng(seed)\n"
    "feats = task in ('regress', 'stepreg', 'reglog')\n"
    "splits = {}\n"
    "for split, n in (('train', n_train), ('val', n_val)):\n"
    "    if n == 0: continue\n"
    "    lens = rng.integers(3, 9, n)\n"
    "    off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)\n"
    "    T = int(off[-1])\n"
    "    g = {'offsets': off}\n"
    "    if feats:\n"
    "        x = rng.normal(size=(T, 2)).astype(np.float32)\n"
    "        g['features'] = x\n"
    "    else:\n"
    "        tok = rng.integers(0, 6, T).astype(np.int32)\n"
    "        g['tokens'] = tok\n"
    "    if task == 'classify':\n"
    "        g['labels'] = np.array([tok[off[i]] % 3 for i in range(n)], dtype=np.int32)\n"
    "    elif task == 'tag':\n"
    "        g['step_labels'] = (tok % 3).astype(np.int32)\n"
    "    elif task == 'regress':\n"
    "        g['seq_targets'] = np.array([[x[off[i]:off[i + 1], 0].mean()] for i in range(n)], dtype=np.float32)\n"
    "    elif task == 'reglog':\n"
    "        g['seq_targets'] = np.log(np.array([[20 + 5 * x[off[i]:off[i + 1], 0].mean()] for i in range(n)])).astype(np.float32)\n"
    "    else:\n"
    "        g['targets'] = (10 * x[:, :1] + 3).astype(np.float32)\n"
    "    splits[split] = g\n"
    "with h5py.File(out, 'w') as f:\n"
    "    f.attrs['format'] = 'recur-sequences'\n"
    "    f.attrs['version'] = 1\n"
    "    f.attrs['task'] = 'regress' if feats else task\n"
    "    if task == 'reglog': f.attrs['target_transform'] = 'log'\n"
    "    if not feats:\n"
    "        f['vocab'] = np.frombuffer(b'abcdef', dtype=np.uint8)\n"
    "    if task in ('classify', 'tag'):\n"
    "        f['label_names'] = np.array(['zero', 'one', 'two'], dtype=h5py.string_dtype())\n"
    "    if task == 'stepreg':\n"
    "        y = splits['train']['targets']\n"
    "        mean, std = y.mean(0).astype(np.float32), y.std(0).astype(np.float32)\n"
    "        f['norm/target_mean'], f['norm/target_std'] = mean, std\n"
    "        for g in splits.values(): g['targets'] = ((g['targets'] - mean) / std).astype(np.float32)\n"
    "    for split, g in splits.items():\n"
    "        for k, v in g.items(): f[split + '/' + k] = v\n";

/* DIR/NAME.h5 from the script: 0 on success. */
static int make_dataset(const char *name, const char *task, int n_train, int n_val, int seed) {
    char log[8192];
    int rc = tu_run(log, sizeof log, "cd '%s' && " TU_PYTHON " mk.py %s.h5 %s %d %d %d", dir, name, task, n_train, n_val,
                    seed);
    if (rc) fprintf(stderr, "%s\n", log);
    return rc;
}

static int setup(void **state) {
    (void)state;
    if (!(dir = tu_tmpdir())) return -1;
    char path[4300];
    snprintf(path, sizeof path, "%s/mk.py", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(MAKE_PY, f);
    fclose(f);
    if (make_dataset("cls", "classify", 200, 50, 1) || make_dataset("tag", "tag", 120, 30, 2) ||
        make_dataset("reg", "regress", 200, 50, 3) || make_dataset("stepreg", "stepreg", 120, 30, 4) ||
        make_dataset("reglog", "reglog", 200, 50, 6) ||
        make_dataset("order", "classify", 10, 0, 5))
        return -1;
    /* A token dataset, for the options that apply to one kind only. */
    char tokens[4300];
    return tu_snippet_dataset(dir, 20000, tokens, sizeof tokens);
}

static int teardown(void **state) {
    (void)state;
    tu_scratch_remove(&dir);
    return 0;
}

/* recur train on DIR/DATA.h5 with small sizes, --out DIR/OUT.h5, metrics DIR/OUT.jsonl. */
static int train(const char *data, const char *out, const char *extra, char *log, size_t len) {
    return tu_run(log, len,
                  "cd '%s' && '%s' train --data %s.h5 --hidden 16 --layers 1 --batch 16 --lr 0.02 --quiet --no-monitor "
                  "--out %s.h5 --metrics %s.jsonl %s",
                  dir, tu_recur(), data, out, out, extra);
}

/* The last record of DIR/NAME.jsonl with "event":"<event>", copied into out. */
static int last_event(const char *name, const char *event, char *out, size_t len) {
    char path[4300], pat[64];
    snprintf(path, sizeof path, "%s/%s.jsonl", dir, name);
    snprintf(pat, sizeof pat, "\"event\":\"%s\"", event);
    char *text = tu_slurp(path, NULL);
    if (!text) return -1;
    int found = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, pat)) snprintf(out, len, "%s", line), found = 0;
    free(text);
    return found;
}

static double mean_of(const double *x, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) s += x[i];
    return s / (to - from);
}

/* Lines of a file. */
static int count_lines(const char *name) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = tu_slurp(path, NULL);
    assert_non_null(text);
    int n = 0;
    for (char *p = text; *p; p++) n += *p == '\n';
    free(text);
    return n;
}

static void load(const char *name, checkpoint_in *ck) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    recur_err err = {0};
    if (checkpoint_load(path, ck, &err)) fail_msg("%s", err.msg);
}

/* predict NAME.h5 on DATA.h5's val split (a per-sequence regressor, K = 1): the
 * rmse of its CSV's prediction and truth columns, n rows checked. */
static double csv_rmse(const char *name, const char *data, int n) {
    char out[8192], path[4300];
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' predict --model %s.h5 --data %s.h5 --split val --out %s.csv",
                            dir, tu_recur(), name, data, name), 0);
    snprintf(path, sizeof path, "%s.csv", name);
    assert_int_equal(count_lines(path), 1 + n);
    snprintf(path, sizeof path, "%s/%s.csv", dir, name);
    char *csv = tu_slurp(path, NULL);
    assert_int_equal(strncmp(csv, "index,y0,true_y0\n", 17), 0);
    double se = 0;
    int rows = 0;
    for (char *line = strtok(csv + 17, "\n"); line; line = strtok(NULL, "\n"), rows++) {
        int idx;
        double y, t;
        assert_int_equal(sscanf(line, "%d,%lf,%lf", &idx, &y, &t), 3);
        assert_int_equal(idx, rows);
        se += (y - t) * (y - t);
    }
    free(csv);
    assert_int_equal(rows, n);
    return sqrt(se / rows);
}

/* ---- learning, eval, predict per task ------------------------------------------ */

static void test_classify(void **s) {
    (void)s;
    char log[8192], out[8192], rec[8192];
    assert_int_equal(train("cls", "cls_m", "--steps 50 --val-every 25 --bidirectional --embed 8", log, sizeof log), 0);
    double loss[64];
    assert_int_equal(tu_step_losses(dir, "cls_m", loss, 64), 50);
    assert_true(loss[0] > 0.8);                                    /* about ln 3 at the start */
    assert_true(mean_of(loss, 40, 50) < 0.5 * mean_of(loss, 0, 10)); /* and it learns */
    /* The start record names the task; validation records carry its metrics. */
    assert_int_equal(last_event("cls_m", "start", rec, sizeof rec), 0);
    assert_non_null(strstr(rec, "\"task\":\"classify\""));
    assert_int_equal((int)tu_json_number(rec, "num_classes"), 3);
    assert_int_equal((int)tu_json_number(rec, "steps_per_epoch"), 13); /* ceil(200 / 16) */
    assert_int_equal(last_event("cls_m", "validation", rec, sizeof rec), 0);
    const double acc = tu_json_number(rec, "val_accuracy"), f1 = tu_json_number(rec, "val_macro_f1");
    assert_true(acc > 0.9 && acc <= 1);
    assert_true(f1 > 0.9 && f1 <= 1);
    assert_int_equal((int)tu_json_number(rec, "val_predictions"), 50);
    /* eval --json on the val split: the same numbers as the run's last validation. */
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model cls_m.h5 --data cls.h5 --split val --json", dir,
                            tu_recur()), 0);
    assert_true(fabs(tu_json_number(out, "loss") - tu_json_number(rec, "val_loss")) < 1e-6);
    assert_true(tu_json_number(out, "accuracy") == acc);
    assert_true(tu_json_number(out, "macro_f1") == f1);
    assert_int_equal((int)tu_json_number(out, "sequences"), 50);
    assert_non_null(strstr(out, "\"task\":\"classify\""));
    assert_non_null(strstr(out, "\"split\":\"val\""));
    /* The text form. */
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model cls_m.h5 --data cls.h5 --split train", dir,
                            tu_recur()), 0);
    assert_non_null(strstr(out, "accuracy"));
    assert_non_null(strstr(out, "macro F1"));
    /* predict: a header and one row per sequence, the true label last. */
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' predict --model cls_m.h5 --data cls.h5 --split val --out p.csv",
                            dir, tu_recur()), 0);
    assert_int_equal(count_lines("p.csv"), 1 + 50);
    char path[4300];
    snprintf(path, sizeof path, "%s/p.csv", dir);
    char *csv = tu_slurp(path, NULL);
    assert_int_equal(strncmp(csv, "index,label,label_name,prob,true\n0,", 35), 0);
    int right = 0, rows = 0;
    for (char *line = strtok(strchr(csv, '\n') + 1, "\n"); line; line = strtok(NULL, "\n")) {
        int idx, label, truth;
        char name[16];
        double prob;
        assert_int_equal(sscanf(line, "%d,%d,%15[a-z],%lf,%d", &idx, &label, name, &prob, &truth), 5);
        assert_int_equal(idx, rows++);
        assert_string_equal(name, label == 0 ? "zero" : label == 1 ? "one" : "two");
        assert_true(prob >= 1.0 / 3 && prob <= 1);
        right += label == truth;
    }
    free(csv);
    assert_true(fabs((double)right / 50 - acc) < 1e-9);
}

static void test_tag(void **s) {
    (void)s;
    char log[8192], out[8192], rec[8192];
    assert_int_equal(train("tag", "tag_m", "--steps 50 --embed 8 --dropout 0.1", log, sizeof log), 0);
    double loss[64];
    assert_int_equal(tu_step_losses(dir, "tag_m", loss, 64), 50);
    assert_true(mean_of(loss, 40, 50) < 0.5 * mean_of(loss, 0, 10));
    assert_int_equal(last_event("tag_m", "validation", rec, sizeof rec), 0); /* the end's */
    assert_true(tu_json_number(rec, "val_accuracy") > 0.9);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model tag_m.h5 --data tag.h5 --split val --json", dir,
                            tu_recur()), 0);
    const int steps = (int)tu_json_number(out, "steps");
    assert_true(steps >= 30 * 3);
    assert_int_equal((int)tu_json_number(out, "predictions"), steps); /* one per step */
    assert_true(tu_json_number(out, "accuracy") > 0.9);
    assert_true(tu_json_number(out, "macro_f1") > 0.9);
    /* predict: a row per step; the token column is the input character. */
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' predict --model tag_m.h5 --data tag.h5 --split val --out t.csv",
                            dir, tu_recur()), 0);
    assert_int_equal(count_lines("t.csv"), 1 + steps);
    char path[4300];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    char *csv = tu_slurp(path, NULL);
    assert_int_equal(strncmp(csv, "index,step,token,label,label_name,prob,true\n0,0,", 48), 0);
    int rows = 0, right = 0;
    for (char *line = strtok(strchr(csv, '\n') + 1, "\n"); line; line = strtok(NULL, "\n"), rows++) {
        int idx, step, label, truth;
        char tok, name[16];
        double prob;
        assert_int_equal(sscanf(line, "%d,%d,%c,%d,%15[a-z],%lf,%d", &idx, &step, &tok, &label, name, &prob, &truth), 7);
        assert_true(tok >= 'a' && tok <= 'f');
        assert_int_equal(truth, (tok - 'a') % 3); /* the toy task's rule, read back through the CSV */
        right += label == truth;
    }
    free(csv);
    assert_int_equal(rows, steps);
    assert_true(right > 0.9 * steps);
}

static void test_regress(void **s) {
    (void)s;
    char log[8192], out[8192], rec[8192];
    assert_int_equal(train("reg", "reg_m", "--steps 60 --pooling mean --val-every 30", log, sizeof log), 0);
    double loss[64];
    assert_int_equal(tu_step_losses(dir, "reg_m", loss, 64), 60);
    assert_true(mean_of(loss, 50, 60) < 0.5 * mean_of(loss, 0, 10));
    assert_int_equal(last_event("reg_m", "start", rec, sizeof rec), 0);
    assert_non_null(strstr(rec, "\"pooling\":\"mean\""));
    assert_int_equal((int)tu_json_number(rec, "output_size"), 1);
    assert_int_equal(last_event("reg_m", "validation", rec, sizeof rec), 0);
    assert_true(isfinite(tu_json_number(rec, "val_rmse")) && isfinite(tu_json_number(rec, "val_mae")));
    assert_null(strstr(rec, "val_accuracy"));
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model reg_m.h5 --data reg.h5 --split val --json", dir,
                            tu_recur()), 0);
    const double rmse = tu_json_number(out, "rmse"), mse = tu_json_number(out, "mse"), mae = tu_json_number(out, "mae");
    assert_true(rmse > 0 && mae > 0 && mae <= rmse + 1e-12);
    assert_true(fabs(rmse * rmse - mse) < 1e-6 * mse);
    /* Without /norm the stored units are the original ones: loss (MSE) = mse. */
    assert_true(fabs(tu_json_number(out, "loss") - mse) < 1e-5 * mse);
    assert_true(fabs(csv_rmse("reg_m", "reg", 50) - rmse) < 1e-5 * rmse);
}

/* Targets stored as logs: eval and predict report exp(...), the passengers, not their logs. */
static void test_regress_log_targets(void **s) {
    (void)s;
    char log[8192], out[8192];
    assert_int_equal(train("reglog", "reglog_m", "--steps 60", log, sizeof log), 0);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model reglog_m.h5 --data reglog.h5 --split val --json",
                            dir, tu_recur()), 0);
    const double rmse = tu_json_number(out, "rmse");
    assert_true(rmse > 0.05 && rmse < 10); /* in units of 20 + 5 * mean (~N(20, 2.5)), not of its log */
    assert_true(fabs(csv_rmse("reglog_m", "reglog", 50) - rmse) < 1e-5 * rmse);
}

/* Per-step targets stored normalised: eval and predict report original units. */
static void test_regress_per_step_original_units(void **s) {
    (void)s;
    char log[8192], out[8192];
    assert_int_equal(train("stepreg", "stepreg_m", "--steps 40 --bidirectional --merge sum", log, sizeof log), 0);
    double loss[64];
    assert_int_equal(tu_step_losses(dir, "stepreg_m", loss, 64), 40);
    assert_true(mean_of(loss, 30, 40) < 0.5 * mean_of(loss, 0, 10));
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model stepreg_m.h5 --data stepreg.h5 --split val --json",
                            dir, tu_recur()), 0);
    /* loss is in normalised units, mse in original ones: their ratio is the target's variance (~100). */
    const double ratio = tu_json_number(out, "mse") / tu_json_number(out, "loss");
    assert_true(ratio > 60 && ratio < 150);
    const int steps = (int)tu_json_number(out, "steps");
    assert_int_equal(tu_run(out, sizeof out,
                            "cd '%s' && '%s' predict --model stepreg_m.h5 --data stepreg.h5 --split val --out s.csv --quiet",
                            dir, tu_recur()), 0);
    assert_int_equal(count_lines("s.csv"), 1 + steps);
    char path[4300];
    snprintf(path, sizeof path, "%s/s.csv", dir);
    char *csv = tu_slurp(path, NULL);
    assert_int_equal(strncmp(csv, "index,step,y0,true_y0\n0,0,", 26), 0);
    /* The truth column is 10 * x + 3 for x ~ N(0, 1): original units, not normalised ones. */
    double sum_sq = 0;
    int rows = 0;
    for (char *line = strtok(csv + 22, "\n"); line; line = strtok(NULL, "\n"), rows++) {
        int idx, step;
        double y, t;
        assert_int_equal(sscanf(line, "%d,%d,%lf,%lf", &idx, &step, &y, &t), 4);
        sum_sq += (t - 3) * (t - 3);
    }
    free(csv);
    assert_true(sqrt(sum_sq / rows) > 7 && sqrt(sum_sq / rows) < 13);
}

/* ---- exactness -------------------------------------------------------------------- */

/* A run stopped at step 11 and resumed to 24 equals the run that went to 24:
 * shuffled epochs (13 batches each, so the resume crosses an epoch), dropout
 * masks and Adam's state all come back. */
static void test_resume_is_exact(void **s) {
    (void)s;
    char log[8192];
    const char *shape = "--cell gru --layers 2 --bidirectional --pooling max --dropout 0.2 --embed 8 --seed 7";
    char extra[512];
    snprintf(extra, sizeof extra, "%s --steps 24", shape);
    assert_int_equal(train("cls", "whole", extra, log, sizeof log), 0);
    snprintf(extra, sizeof extra, "%s --steps 11 --run-dir rd --checkpoint-every 5", shape);
    assert_int_equal(train("cls", "part", extra, log, sizeof log), 0);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd --steps 24 --out resumed.h5", dir,
                            tu_recur()), 0);
    assert_non_null(strstr(log, "resuming from"));
    checkpoint_in a, b;
    load("whole.h5", &a);
    load("resumed.h5", &b);
    assert_int_equal(a.step, 24);
    assert_int_equal(b.step, 24);
    assert_int_equal(a.m.num_params, b.m.num_params);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_int_equal(a.opt.state_len, b.opt.state_len);
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    assert_int_equal(a.tokens_seen, b.tokens_seen);
    assert_null(a.state_h); /* sequence tasks carry no state */
    assert_int_equal(a.m.cfg.task, TASK_CLASSIFY);
    assert_int_equal(a.m.cfg.bidirectional, 1);
    assert_int_equal(a.m.cfg.pooling, POOL_MAX);
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
    /* The resumed run's metrics continue its file: steps 12..24 after 1..11, the same losses. */
    double loss[64];
    assert_int_equal(tu_step_losses(dir, "part", loss, 64), 24);
    double whole[64];
    assert_int_equal(tu_step_losses(dir, "whole", whole, 64), 24);
    assert_memory_equal(loss, whole, sizeof(double) * 24);
}

/* mpirun -np 2 shares each batch's sequences out by steps: the same losses
 * as one process, up to float rounding (a batch of 15: not a multiple of 2). */
static void test_mpirun_same_losses(void **s) {
    (void)s;
    char log[8192];
    for (int np = 1; np <= 2; np++) {
        int rc = tu_run(log, sizeof log,
                        "cd '%s' && timeout -k 5 120 mpirun --oversubscribe -np %d '%s' train --data cls.h5 --hidden 16 "
                        "--layers 2 --embed 8 --bidirectional --batch 15 --steps 8 --val-every 4 --quiet --no-monitor "
                        "--out np%d.h5 --metrics np%d.jsonl",
                        dir, np, tu_recur(), np, np);
        if (rc) fprintf(stderr, "%s\n", log);
        assert_int_equal(rc, 0);
    }
    tu_same_step_losses(dir, "np1", "np2", 8);
    char r1[8192], r2[8192];
    assert_int_equal(last_event("np1", "validation", r1, sizeof r1), 0);
    assert_int_equal(last_event("np2", "validation", r2, sizeof r2), 0);
    const double v1 = tu_json_number(r1, "val_loss"), v2 = tu_json_number(r2, "val_loss");
    assert_true(fabs(v1 - v2) <= 1e-5 * v1);
    assert_true(tu_json_number(r1, "val_accuracy") == tu_json_number(r2, "val_accuracy"));
}

/* --target-val-loss ends the run at the first validation at or below it,
 * with its checkpoint, on every rank alike; one out of reach changes nothing. */
static void test_target_val_loss(void **s) {
    (void)s;
    char log[8192], rec[8192];
    /* First the validation losses of a plain run, to pick a target it reaches midway. */
    assert_int_equal(train("reg", "tv_all", "--steps 60 --val-every 10", log, sizeof log), 0);
    char path[4300];
    snprintf(path, sizeof path, "%s/tv_all.jsonl", dir);
    char *text = tu_slurp(path, NULL);
    assert_non_null(text);
    double val[8];
    int nval = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, "\"event\":\"validation\"") && nval < 8) val[nval++] = tu_json_number(line, "val_loss");
    free(text);
    assert_int_equal(nval, 6); /* steps 10..50, and the end */
    assert_true(val[2] < val[0]);
    char flag[128];
    /* A hair above step 30's loss: -np 2 sums the same losses in another order. */
    const double target = val[2] * (1 + 1e-4);
    snprintf(flag, sizeof flag, "--steps 60 --val-every 10 --target-val-loss %.9g", target);
    for (int np = 1; np <= 2; np++) {
        char name[24];
        snprintf(name, sizeof name, "tv_np%d", np);
        int rc = tu_run(log, sizeof log,
                        "cd '%s' && timeout -k 5 120 mpirun --oversubscribe -np %d '%s' train --data reg.h5 --hidden 16 "
                        "--layers 1 --batch 16 --lr 0.02 --quiet --no-monitor --out %s.h5 --metrics %s.jsonl %s",
                        dir, np, tu_recur(), name, name, flag);
        if (rc) fprintf(stderr, "%s\n", log);
        assert_int_equal(rc, 0);
        assert_int_equal(last_event(name, "end", rec, sizeof rec), 0);
        /* It stops at the first validation at or below the target: no later than step 30. */
        const long step = (long)tu_json_number(rec, "step");
        assert_true(step >= 10 && step <= 30 && step % 10 == 0);
        assert_non_null(strstr(rec, "\"target_reached\":true"));
        assert_true(tu_json_number(rec, "val_loss") <= target);
        checkpoint_in ck;
        char file[40];
        snprintf(file, sizeof file, "%s.h5", name);
        load(file, &ck);
        assert_int_equal(ck.step, step);
        checkpoint_in_free(&ck);
    }
    /* Out of reach: all 60 steps, and the end says it was not reached. */
    assert_int_equal(train("reg", "tv_far", "--steps 60 --val-every 10 --target-val-loss 1e-12", log, sizeof log), 0);
    assert_int_equal(last_event("tv_far", "end", rec, sizeof rec), 0);
    assert_int_equal((int)tu_json_number(rec, "step"), 60);
    assert_non_null(strstr(rec, "\"target_reached\":false"));
}

/* --no-shuffle: batch k of an epoch is sequences kB .. kB+B-1 in file order.
 * With a learning rate of 1e-30 the model does not move, so step k's loss is
 * the initial model's loss on those sequences, which eval measures on a
 * dataset holding just them. */
static void test_no_shuffle_file_order(void **s) {
    (void)s;
    char log[8192], out[8192];
    const char *common = "--optimizer sgd --lr 1e-30 --batch 4 --steps 3 --embed 8 --seed 3";
    char extra[256];
    snprintf(extra, sizeof extra, "%s --no-shuffle", common);
    assert_int_equal(tu_run(log, sizeof log,
                            "cd '%s' && '%s' train --data order.h5 --hidden 16 --quiet --no-monitor --out ord.h5 "
                            "--metrics ord.jsonl %s", dir, tu_recur(), extra), 0);
    double loss[8], shuffled[8];
    assert_int_equal(tu_step_losses(dir, "ord", loss, 8), 3);
    /* Batches of 4, 4, 2 (the last one shorter): the sequences cut out with h5py. */
    for (int k = 0; k < 3; k++) {
        const int first = 4 * k, count = k < 2 ? 4 : 2;
        assert_int_equal(tu_run(log, sizeof log,
                                "cd '%s' && " TU_PYTHON " -c \"\n"
                                "import h5py\n"
                                "src = h5py.File('order.h5', 'r')\n"
                                "o = src['train/offsets'][:]\n"
                                "a, b = o[%d], o[%d]\n"
                                "with h5py.File('b%d.h5', 'w') as f:\n"
                                "    for k, v in src.attrs.items(): f.attrs[k] = v\n"
                                "    f['vocab'] = src['vocab'][:]\n"
                                "    f['label_names'] = src['label_names'][:]\n"
                                "    f['train/offsets'] = o[%d:%d] - a\n"
                                "    f['train/tokens'] = src['train/tokens'][a:b]\n"
                                "    f['train/labels'] = src['train/labels'][%d:%d]\n"
                                "\"",
                                dir, first, first + count, k, first, first + count + 1, first, first + count), 0);
        assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model ord.h5 --data b%d.h5 --json", dir,
                                tu_recur(), k), 0);
        const double expect = tu_json_number(out, "loss");
        assert_true(fabs(loss[k] - expect) <= 1e-5 * expect);
    }
    /* Shuffled (the default), the same seed gives other batches. */
    assert_int_equal(tu_run(log, sizeof log,
                            "cd '%s' && '%s' train --data order.h5 --hidden 16 --quiet --no-monitor --out shuf.h5 "
                            "--metrics shuf.jsonl %s", dir, tu_recur(), common), 0);
    assert_int_equal(tu_step_losses(dir, "shuf", shuffled, 8), 3);
    int differ = 0;
    for (int k = 0; k < 3; k++) differ += fabs(shuffled[k] - loss[k]) > 1e-4;
    assert_true(differ > 0);
}

/* ---- refusals ----------------------------------------------------------------------- */

static void test_bad_input(void **s) {
    (void)s;
    char log[8192];
    /* A classifier's checkpoint for a tag dataset: a task it was not trained for (exit 3, nothing written). */
    assert_int_equal(train("cls", "c0", "--steps 2 --embed 8", log, sizeof log), 0);
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --data tag.h5 --init c0.h5 --steps 2 --out bad.h5", dir,
                    tu_recur());
    assert_int_equal(rc, 3);
    assert_non_null(strstr(log, "a task the checkpoint was not trained for"));
    assert_non_null(strstr(log, "c0.h5"));
    assert_non_null(strstr(log, "tag.h5"));
    char path[4300];
    snprintf(path, sizeof path, "%s/bad.h5", dir);
    assert_false(tu_exists(path));
    /* The same model with --resume on the tag dataset. */
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --resume c0.h5 --data tag.h5 --steps 4 --out bad.h5", dir, tu_recur());
    assert_int_equal(rc, 3);
    assert_non_null(strstr(log, "not trained for"));
    /* eval and predict name both files. */
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' eval --model c0.h5 --data reg.h5 --split val", dir, tu_recur());
    assert_int_equal(rc, 3);
    assert_non_null(strstr(log, "c0.h5"));
    assert_non_null(strstr(log, "reg.h5"));
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' predict --model c0.h5 --data tag.h5 --split val --out bad.csv", dir,
                tu_recur());
    assert_int_equal(rc, 3);
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    assert_false(tu_exists(path));
    /* A language model on a sequence dataset, and a classifier on a token dataset. */
    assert_int_equal(tu_run(log, sizeof log,
                            "cd '%s' && '%s' train --data snippet.h5 --hidden 8 --layers 1 --batch 2 --bptt 4 --steps 1 "
                            "--quiet --no-monitor --out lm.h5", dir, tu_recur()), 0);
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' eval --model lm.h5 --data cls.h5", dir, tu_recur());
    assert_int_equal(rc, 3);
    assert_non_null(strstr(log, "not trained for"));
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' eval --model c0.h5 --data snippet.h5", dir, tu_recur());
    assert_int_equal(rc, 3);
    assert_non_null(strstr(log, "not trained for"));
    /* Options for the other kind of dataset are refused, naming the flag or the config line. */
    const struct { const char *data, *flags, *says; } refused[] = {
        {"tag", "--pooling mean", "--pooling: "},
        {"stepreg", "--pooling max", "--pooling: "},
        {"cls", "--bptt 8", "--bptt: applies to language models"},
        {"cls", "--val-streams 2", "--val-streams: applies to language models"},
        {"reg", "--embed 8", "--embed: "},
        {"cls", "--merge sum", "--merge: applies to --bidirectional"},
        {"cls", "--merge add --bidirectional", "--merge: expected concat or sum"},
        {"cls", "--pooling median", "--pooling: expected last, mean or max"},
        {"cls", "--dropout 1", "--dropout: expected a probability in [0, 1)"},
        {"snippet", "--bidirectional", "--bidirectional: applies to sequence datasets"},
        {"snippet", "--no-shuffle", "--no-shuffle: applies to sequence datasets"},
        {"cls", "--init c0.h5 --bidirectional", "--bidirectional: the model's shape comes from --init"},
        {"cls", "--polling max", "did you mean '--pooling'?"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --data %s.h5 --steps 2 --out bad.h5 %s", dir, tu_recur(),
                    refused[i].data, refused[i].flags);
        if (rc != 2 || !strstr(log, refused[i].says))
            fail_msg("train --data %s.h5 %s: exit %d, expected 2 saying '%s':\n%s", refused[i].data, refused[i].flags, rc,
                     refused[i].says, log);
    }
    /* The same from a config file: the message names the file and line. */
    snprintf(path, sizeof path, "%s/seq.ini", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[train]\nhidden = 8\npooling = mean\n");
    fclose(f);
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --config seq.ini --data tag.h5 --steps 2 --out bad.h5", dir,
                tu_recur());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "seq.ini:3: pooling"));
    f = fopen(path, "w");
    fprintf(f, "[train]\nhidden = 8\nbidirectionl = true\n");
    fclose(f);
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --config seq.ini --data cls.h5 --steps 2 --out bad.h5", dir,
                tu_recur());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "did you mean 'bidirectional'?"));
    snprintf(path, sizeof path, "%s/bad.h5", dir);
    assert_false(tu_exists(path));
    /* predict: a token dataset, a missing split, the typo'd subcommand. */
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' predict --model lm.h5 --data snippet.h5 --out bad.csv", dir, tu_recur());
    assert_int_equal(rc, 3);
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' predict --model c0.h5 --data cls.h5 --split test --out bad.csv", dir,
                tu_recur());
    assert_int_equal(rc, 3);
    assert_non_null(strstr(log, "/test"));
    rc = tu_run(log, sizeof log, "'%s' predcit --help", tu_recur());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "did you mean 'predict'?"));
}

/* Every sequence option from an INI file, as from flags. */
static void test_config_file(void **s) {
    (void)s;
    char log[8192], path[4300];
    snprintf(path, sizeof path, "%s/ok.ini", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[train]\ncell = lbr_gru\nembed = 8\nbidirectional = true\nmerge = sum\npooling = mean\n"
               "dropout = 0.25\nno-shuffle = true\n");
    fclose(f);
    assert_int_equal(train("cls", "ini_m", "--config ok.ini --steps 3", log, sizeof log), 0);
    checkpoint_in ck;
    load("ini_m.h5", &ck);
    assert_int_equal(ck.m.cfg.cell, CELL_LBR_GRU);
    assert_int_equal(ck.m.cfg.bidirectional, 1);
    assert_int_equal(ck.m.cfg.merge, MERGE_SUM);
    assert_int_equal(ck.m.cfg.pooling, POOL_MEAN);
    assert_non_null(strstr(ck.config_text, "dropout = 0.25"));
    assert_non_null(strstr(ck.config_text, "no-shuffle = true"));
    checkpoint_in_free(&ck);
}

int main(void) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_tag),
        cmocka_unit_test(test_regress),
        cmocka_unit_test(test_target_val_loss),
        cmocka_unit_test(test_regress_per_step_original_units),
        cmocka_unit_test(test_regress_log_targets),
        cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_mpirun_same_losses),
        cmocka_unit_test(test_no_shuffle_file_order),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_config_file),
    };
    return cmocka_run_group_tests_name("seq_train", tests, setup, teardown);
}
