/* test_tree_train.c - `recur train`, `eval`, `predict` and `inspect` on tree
 * datasets (issue 11 §2) through the CLI: both tree cells learn a small
 * synthetic task (tests/make_tree_task.py: the root says whether token 'a'
 * occurs in the tree, each node its token mod 3), eval's JSON and predict's
 * CSV agree with each other; a resumed run equals the uninterrupted one bit
 * for bit; mpirun -np 2 gives the losses of -np 1 (trees shared out by node
 * count); options and models that do not fit are refused with clear
 * messages. */
#include "test_util.h"

#include <math.h>

#include "../io/checkpoint.h"

static char *dir;

/* The generator: $RECUR_TREE_TASK_SCRIPT, else tests/make_tree_task.py from
 * the working directory (make runs from the repository root). */
static int make_dataset(const char *name, const char *args) {
    const char *env = getenv("RECUR_TREE_TASK_SCRIPT");
    char script[4096], log[8192];
    if (env && *env) snprintf(script, sizeof script, "%s", env);
    else if (!realpath("tests/make_tree_task.py", script)) return -1;
    const int rc = tu_run(log, sizeof log, "cd '%s' && " TU_PYTHON " '%s' %s.h5 %s", dir, script, name, args);
    if (rc) fprintf(stderr, "%s\n", log);
    return rc;
}

static int setup(void **state) {
    (void)state;
    if (!(dir = tu_tmpdir())) return -1;
    if (make_dataset("trees", "--seed 1") || make_dataset("nodes", "--seed 2 --heads node") ||
        make_dataset("other", "--seed 3 --heads root"))
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
                  "cd '%s' && '%s' train --data %s.h5 --embed 8 --hidden 16 --batch 16 --lr 0.02 --quiet --no-monitor "
                  "--out %s.h5 --metrics %s.jsonl %s",
                  dir, tu_recur(), data, out, out, extra);
}

static void load(const char *name, checkpoint_in *ck) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    recur_err err = {0};
    if (checkpoint_load(path, ck, &err)) fail_msg("%s", err.msg);
}

/* Both cells learn: the training loss falls, eval on /test is near perfect,
 * the checkpoint says what it is, predict's rows agree with eval's accuracy. */
static void learns(const char *cell) {
    char log[16384], out[8192], extra[128];
    snprintf(extra, sizeof extra, "--tree-cell %s --epochs 12 --val-every 40", cell);
    if (train("trees", cell, extra, log, sizeof log)) fail_msg("%s", log);
    double loss[400];
    const int n = tu_step_losses(dir, cell, loss, 400);
    assert_true(n >= 200);
    double first = 0, last = 0;
    for (int i = 0; i < 10; i++) first += loss[i] / 10, last += loss[n - 10 + i] / 10;
    if (!(last < 0.25 * first)) fail_msg("%s: loss %.4f -> %.4f", cell, first, last);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model %s.h5 --data trees.h5 --split test --json",
                            dir, tu_recur(), cell), 0);
    const double acc = tu_json_number(out, "accuracy");
    if (!(acc >= 0.9) || !strstr(out, "\"accuracy_on\":\"roots\"") || !(tu_json_number(out, "loss") < 0.4))
        fail_msg("%s: eval: %s", cell, out);
    checkpoint_in ck;
    char file[64];
    snprintf(file, sizeof file, "%s.h5", cell);
    load(file, &ck);
    assert_int_equal(ck.m.cfg.task, TASK_TREE);
    assert_int_equal(ck.m.cfg.cell, strcmp(cell, "lstm") ? CELL_RNN_TANH : CELL_LSTM);
    assert_int_equal(ck.m.cfg.output_size, 2);
    assert_int_equal(ck.m.cfg.node_classes, 3);
    assert_true(model_find_tensor(&ck.m, strcmp(cell, "lstm") ? "tree/weight_hh" : "tree/fh/weight") >= 0);
    checkpoint_in_free(&ck);
    /* predict: one root row per tree (60) then its nodes; the root rows' accuracy is eval's. */
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' predict --model %s.h5 --data trees.h5 --out %s.csv",
                            dir, tu_recur(), cell, cell), 0);
    char path[4300];
    snprintf(path, sizeof path, "%s/%s.csv", dir, cell);
    char *csv = tu_slurp(path, NULL);
    assert_non_null(csv);
    assert_int_equal(strncmp(csv, "tree,node,head,token,label,label_name,prob,true\n0,", 50), 0);
    int roots = 0, right = 0, prev = -1, nodes = 0, node_right = 0;
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        int tree, node, label, truth;
        char head[8], token[8], name[8];
        double prob;
        if (sscanf(line, "%d,%d,%7[a-z],%7[^,],%d,%7[^,],%lf,%d", &tree, &node, head, token, &label, name, &prob,
                   &truth) != 8 && sscanf(line, "%d,%d,%7[a-z],,%d,%7[^,],%lf,%d", &tree, &node, head, &label, name,
                                          &prob, &truth) != 7)
            continue; /* the header */
        assert_true(tree >= prev);
        prev = tree;
        if (!strcmp(head, "root")) roots++, right += label == truth;
        else if (truth >= 0) nodes++, node_right += label == truth;
    }
    free(csv);
    assert_int_equal(roots, 60);
    assert_true(fabs((double)right / roots - acc) < 1e-9);
    /* Both heads have labels here: eval scores each, and they are predict's. */
    assert_true(fabs(tu_json_number(out, "root_accuracy") - acc) < 1e-12);
    assert_true(nodes > 0 && fabs((double)node_right / nodes - tu_json_number(out, "node_accuracy")) < 1e-9);
}

static void test_lstm_learns(void **s) {
    (void)s;
    learns("lstm");
}

static void test_tanh_learns(void **s) {
    (void)s;
    learns("tanh");
}

/* A dataset with node labels only: the model has no root head and accuracy is the nodes'. */
static void test_node_labels_only(void **s) {
    (void)s;
    char log[8192], out[8192];
    if (train("nodes", "nodeonly", "--tree-cell lstm --steps 60", log, sizeof log)) fail_msg("%s", log);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' eval --model nodeonly.h5 --data nodes.h5 --json", dir,
                            tu_recur()), 0);
    if (!strstr(out, "\"accuracy_on\":\"nodes\"") || !(tu_json_number(out, "accuracy") > 0.8)) fail_msg("%s", out);
    checkpoint_in ck;
    load("nodeonly.h5", &ck);
    assert_int_equal(ck.m.cfg.output_size, 0);
    assert_true(model_find_tensor(&ck.m, "root/weight") < 0);
    checkpoint_in_free(&ck);
    assert_int_equal(tu_run(out, sizeof out, "cd '%s' && '%s' inspect nodeonly.h5", dir, tu_recur()), 0);
    assert_non_null(strstr(out, "task: tree, child-sum Tree-LSTM"));
}

/* Stopped at step 11 (a checkpoint every 5) and resumed to 26 equals the run
 * that went to 26: shuffled epochs (19 batches each), Adam's state. */
static void test_resume_is_exact(void **s) {
    (void)s;
    char log[8192];
    assert_int_equal(train("trees", "whole", "--tree-cell lstm --steps 26 --seed 5", log, sizeof log), 0);
    assert_int_equal(train("trees", "part", "--tree-cell lstm --steps 11 --seed 5 --run-dir rd --checkpoint-every 5",
                           log, sizeof log), 0);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd --steps 26 --out resumed.h5", dir,
                            tu_recur()), 0);
    assert_non_null(strstr(log, "resuming from"));
    checkpoint_in a, b;
    load("whole.h5", &a);
    load("resumed.h5", &b);
    assert_int_equal(a.step, 26);
    assert_int_equal(b.step, 26);
    assert_int_equal(a.m.num_params, b.m.num_params);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    assert_int_equal(a.tokens_seen, b.tokens_seen);
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
    double part[64], whole[64];
    assert_int_equal(tu_step_losses(dir, "part", part, 64), 26);
    assert_int_equal(tu_step_losses(dir, "whole", whole, 64), 26);
    assert_memory_equal(part, whole, sizeof(double) * 26);
}

/* mpirun -np 2 shares each batch's trees out by node count: the losses of one
 * process (a batch of 15 trees). */
static void test_mpirun_same_losses(void **s) {
    (void)s;
    char log[8192];
    for (int np = 1; np <= 2; np++) {
        const int rc = tu_run(log, sizeof log,
                              "cd '%s' && timeout -k 5 120 mpirun --oversubscribe -np %d '%s' train --data trees.h5 "
                              "--tree-cell lstm --embed 8 --hidden 16 --batch 15 --steps 12 --val-every 6 --quiet "
                              "--no-monitor --out np%d.h5 --metrics np%d.jsonl",
                              dir, np, tu_recur(), np, np);
        if (rc) fail_msg("%s", log);
    }
    tu_same_step_losses(dir, "np1", "np2", 12);
}

/* What does not fit is refused, naming the option or both files. */
static void test_bad_input(void **s) {
    (void)s;
    const char *base = "--quiet --no-monitor --steps 2";
    tu_expect(dir, 2, "--cell: does not apply to a tree model", "'%s' train --data trees.h5 --cell gru --out x.h5 %s",
              tu_recur(), base);
    tu_expect(dir, 2, "--layers: does not apply to a tree model",
              "'%s' train --data trees.h5 --layers 2 --out x.h5 %s", tu_recur(), base);
    tu_expect(dir, 2, "--dropout: does not apply to a tree model",
              "'%s' train --data trees.h5 --dropout 0.1 --out x.h5 %s", tu_recur(), base);
    /* The deep-RNN shapes are the sequence engine's (§9), not the tree cells'. */
    const char *deep[] = {"--skip 2", "--residual", "--transition-depth 1", "--transition-width 8"};
    for (int i = 0; i < 4; i++) {
        char want[64];
        snprintf(want, sizeof want, "%.*s: does not apply to a tree model", (int)strcspn(deep[i], " "), deep[i]);
        tu_expect(dir, 2, want, "'%s' train --data trees.h5 %s --out x.h5 %s", tu_recur(), deep[i], base);
    }
    tu_expect(dir, 2, "--tree-cell: expected tanh or lstm, found 'gru'",
              "'%s' train --data trees.h5 --tree-cell gru --out x.h5 %s", tu_recur(), base);
    tu_expect(dir, 2, "--tree-cell: applies to tree datasets", "'%s' train --data snippet.h5 --tree-cell tanh --out "
              "x.h5 %s", tu_recur(), base);
    tu_expect(dir, 2, "it trains task tree, not 'classify'", "'%s' train --data trees.h5 --task classify --out x.h5 %s",
              tu_recur(), base);
    tu_expect(dir, 2, "--embed: the model's shape comes from --init",
              "'%s' train --data trees.h5 --init lstm.h5 --embed 4 --out x.h5 %s", tu_recur(), base);
    /* A model for other labels: nodeonly.h5 has no root head, other.h5 only root labels. */
    tu_expect(dir, 3, "none of the model's heads has labels in the dataset",
              "'%s' eval --model nodeonly.h5 --data other.h5", tu_recur());
    /* A language model on trees, and a tree model on tokens. */
    char log[8192];
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' train --data snippet.h5 --layers 1 --embed 4 --hidden 8 "
                            "--batch 2 --bptt 8 --out lm.h5 %s", dir, tu_recur(), base), 0);
    tu_expect(dir, 3, "a task the checkpoint was not trained for", "'%s' train --data trees.h5 --init lm.h5 --out x.h5 "
              "%s", tu_recur(), base);
    tu_expect(dir, 3, "a task the checkpoint was not trained for", "'%s' eval --model lstm.h5 --data snippet.h5",
              tu_recur());
    tu_expect(dir, 2, "--split: expected train, val or test", "'%s' eval --model lstm.h5 --data trees.h5 --split dev",
              tu_recur());
}

int main(void) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lstm_learns),
        cmocka_unit_test(test_tanh_learns),
        cmocka_unit_test(test_node_labels_only),
        cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_mpirun_same_losses),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests_name("tree_train", tests, setup, teardown);
}
