/* test_tree_reference.c - recur's recursive networks (core/tree.h, issue 11
 * §2) equal PyTorch's per-node recursive modules.
 *
 * tests/torch_tree_reference.py writes, for a child-sum rnn_tanh net with
 * both heads, a child-sum Tree-LSTM with both heads, a Tree-LSTM with only
 * the root head and an rnn_tanh net with only the node head, a forest (n-ary
 * nodes, roots anywhere in their trees, internal nodes without tokens,
 * unlabelled nodes and roots), initial weights and what PyTorch (float32,
 * one thread, one node at a time by recursion) computes over 3 SGD steps on
 * batches of 3 trees: the initial loss over the forest, each step's loss and
 * the final weights, and writes the forest as a recur-trees dataset and the
 * initial weights as a checkpoint.  This test runs the same steps twice, and
 * compares both with the tolerances of the sequence reference tests:
 *   - through the level-wise engine directly (tree_batch_build, tree_forward,
 *     tree_backward with scale 1/count, optim_step);
 *   - through the CLI: recur eval --model init.h5 --data data.h5 --split val
 *     --json, and recur train --data data.h5 --init init.h5 --steps 3
 *     --no-shuffle --batch 3 --optimizer sgd --lr LR --clip 0 (its metrics'
 *     losses, its checkpoint's weights);
 *   per-step losses: relative 1e-4
 *   final weights: |a-b| <= 1e-5 + 1e-4*|b| for every element of every tensor,
 *     recur's tensors being exactly the ones PyTorch names, in its order.
 * The worst differences are printed.  Missing python/torch is a failure.
 *
 * Environment: RECUR (the binary under test), RECUR_TREE_REF_SCRIPT (optional: the generator's path),
 * REFDIR (optional: generate into $REFDIR/torch_tree_reference and keep). */
#include "test_util.h"

#include <hdf5.h>
#include <inttypes.h>
#include <math.h>

#include "../core/optim.h"
#include "../core/tree.h"
#include "../io/checkpoint.h"

#define LOSS_RTOL 1e-4
#define W_ATOL 1e-5
#define W_RTOL 1e-4

static char g_dir[4096];
static char g_out[16384];
static int g_rc = -1;

static int group_setup(void **state) {
    (void)state;
    const char *refdir = getenv("REFDIR");
    if (refdir && *refdir) {
        snprintf(g_dir, sizeof g_dir, "%s/torch_tree_reference", refdir);
    } else {
        char *d = tu_tmpdir();
        snprintf(g_dir, sizeof g_dir, "%s", d);
        free(d);
    }
    const char *env = getenv("RECUR_TREE_REF_SCRIPT");
    const char *script = env && *env ? env : "tests/torch_tree_reference.py";
    g_rc = tu_run(g_out, sizeof g_out, "timeout 600 %s '%s' '%s'", TU_PYTHON, script, g_dir);
    fprintf(stderr, "[tree-reference] %s %s -> %s (status %d)\n%s", TU_PYTHON, script, g_dir, g_rc, g_out);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    const char *refdir = getenv("REFDIR");
    if (g_rc == 0 && !(refdir && *refdir)) tu_rmtree(g_dir);
    return 0;
}

/* Reads "<tag> <count> v..." into a fresh array of ints. */
static int64_t *read_ints(FILE *f, const char *tag, size_t count) {
    char word[64];
    if (fscanf(f, "%63s", word) != 1 || strcmp(word, tag) != 0) fail_msg("cases.txt: expected %s, found %s", tag, word);
    int64_t *v = malloc((count + 1) * sizeof *v);
    for (size_t i = 0; i < count; i++)
        if (fscanf(f, "%" SCNd64, &v[i]) != 1) fail_msg("cases.txt: %s: short", tag);
    return v;
}

static int32_t *narrow(const int64_t *v, size_t count) {
    int32_t *o = malloc((count + 1) * sizeof *o);
    for (size_t i = 0; i < count; i++) o[i] = (int32_t)v[i];
    return o;
}

/* Runs `recur eval` and `recur train` on the case's files in dir/<name>:
 * the initial loss into *eval_loss, the step losses into loss[], and the
 * trained checkpoint into *out. */
static void run_cli(const char *name, double lr, int steps, double *eval_loss, double *loss, checkpoint_in *out) {
    char log[16384], d[1024];
    snprintf(d, sizeof d, "%.900s/%.60s", g_dir, name);
    if (tu_run(log, sizeof log, "cd '%s' && '%s' eval --model init.h5 --data data.h5 --split val --json", d,
               tu_recur()))
        fail_msg("%s: recur eval: %s", name, log);
    *eval_loss = tu_json_number(log, "loss");
    if (tu_run(log, sizeof log, "cd '%s' && rm -f m.jsonl && '%s' train --data data.h5 --init init.h5 --steps %d "
               "--no-shuffle --batch 3 --optimizer sgd --lr %.17g --clip 0 --out out.h5 --metrics m.jsonl --quiet "
               "--no-monitor", d, tu_recur(), steps, lr))
        fail_msg("%s: recur train: %s", name, log);
    assert_int_equal(tu_step_losses(d, "m", loss, 16), steps);
    char path[1100];
    snprintf(path, sizeof path, "%s/out.h5", d);
    recur_err err = {0};
    if (checkpoint_load(path, out, &err)) fail_msg("%s: %s", name, err.msg);
}

/* "<tag> <name> <count> v..." for tensor k of m: checks the name and count,
 * then reads the values into dst. */
static void read_tensor(FILE *f, const char *tag, const model *m, int k, double *dst) {
    char word[64], name[64];
    size_t count;
    if (fscanf(f, "%63s %63s %zu", word, name, &count) != 3 || strcmp(word, tag) != 0)
        fail_msg("cases.txt: expected %s, found %s", tag, word);
    const tensor_info *t = &m->tensors[k];
    if (strcmp(name, t->name) != 0 || count != t->count)
        fail_msg("tensor %d: PyTorch has %s (%zu), recur %s (%zu)", k, name, count, t->name, t->count);
    for (size_t i = 0; i < count; i++)
        if (fscanf(f, "%lf", &dst[i]) != 1) fail_msg("cases.txt: %s: short", name);
}

static void test_against_torch(void **state) {
    (void)state;
    if (g_rc != 0) fail_msg("the PyTorch reference generator failed (status %d; needs %s with torch):\n%s", g_rc,
                            TU_PYTHON, g_out);
    char path[4200];
    snprintf(path, sizeof path, "%s/cases.txt", g_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char word[64], name[64], cell[32];
    int ncases = 0;
    while (fscanf(f, "%63s", word) == 1) {
        assert_string_equal(word, "case");
        int V, E, H, Cr, Cn, steps;
        double lr;
        size_t n, nodes, edges;
        assert_int_equal(fscanf(f, "%63s %31s %d %d %d %d %d %lf %d", name, cell, &V, &E, &H, &Cr, &Cn, &lr, &steps), 9);
        assert_int_equal(fscanf(f, "%63s %zu %zu %zu", word, &n, &nodes, &edges), 4);
        int64_t *tree_off = read_ints(f, "tree_offsets", n + 1), *child_off = read_ints(f, "child_offsets", nodes + 1);
        int64_t *ch = read_ints(f, "children", edges), *tok = read_ints(f, "tokens", nodes);
        int64_t *nl = read_ints(f, "node_labels", nodes), *rl = read_ints(f, "root_labels", n);
        int64_t *rt = read_ints(f, "roots", n);
        int32_t *children = narrow(ch, edges), *tokens = narrow(tok, nodes), *node_labels = narrow(nl, nodes);
        int32_t *root_labels = narrow(rl, n), *roots = narrow(rt, n);
        const tree_forest forest = {.n = n, .tree_offsets = tree_off, .child_offsets = child_off, .children = children,
                                    .tokens = tokens, .node_labels = node_labels, .root_labels = root_labels,
                                    .roots = roots};
        const model_config cfg = {.cell = strcmp(cell, "lstm") == 0 ? CELL_LSTM : CELL_RNN_TANH, .vocab_size = V,
                                  .embed_size = E, .hidden_size = H, .num_layers = 1, .task = TASK_TREE,
                                  .output_size = Cr, .node_classes = Cn};
        recur_err err = {0};
        model m;
        if (model_create(&m, &cfg, &err)) fail_msg("%s: %s", name, err.msg);
        double *want = malloc(m.num_params * sizeof(double));
        for (int k = 0; k < m.num_tensors; k++) read_tensor(f, "init", &m, k, want + m.tensors[k].offset);
        for (size_t i = 0; i < m.num_params; i++) m.params[i] = (float)want[i];
        double eval_want, eval_got, cli_loss[16];
        assert_int_equal(fscanf(f, "%63s %lf", word, &eval_want), 2);
        assert_string_equal(word, "eval");
        checkpoint_in cli;
        run_cli(name, lr, steps, &eval_got, cli_loss, &cli);
        double worst_loss = fabs(eval_got - eval_want) / fabs(eval_want);
        if (!(worst_loss <= LOSS_RTOL)) fail_msg("%s: recur eval: loss %.9g, PyTorch %.9g", name, eval_got, eval_want);
        assert_int_equal(cli.m.num_params, m.num_params);
        optim_config oc;
        optim_config_defaults(&oc, OPTIM_SGD);
        oc.lr = (float)lr;
        optimizer opt;
        assert_int_equal(optim_create(&opt, &oc, m.num_params, &err), 0);
        tree_workspace w;
        assert_int_equal(tree_workspace_create(&w, &cfg, (int)n, (int)nodes, (int)edges, &err), 0);
        tree_batch b = {0};
        for (int s = 0; s < steps; s++) {
            int step, count;
            int64_t ids[16];
            assert_int_equal(fscanf(f, "%63s %d %d", word, &step, &count), 3);
            for (int i = 0; i < count; i++) assert_int_equal(fscanf(f, "%" SCNd64, &ids[i]), 1);
            double expect;
            assert_int_equal(fscanf(f, "%63s %d %lf", word, &step, &expect), 3);
            if (tree_batch_build(&b, &forest, ids, count, 0, &cfg, &err)) fail_msg("%s: %s", name, err.msg);
            const long labelled = tree_batch_count(&b);
            const double loss = tree_forward(&w, &m, m.params, &b) / (double)labelled;
            memset(m.grads, 0, m.num_params * sizeof(float));
            tree_backward(&w, &m, m.params, m.grads, (float)(1.0 / (double)labelled));
            optim_step(&opt, m.params, m.grads, (float)lr);
            const double rel = fabs(loss - expect) / fabs(expect), cli_rel = fabs(cli_loss[s] - expect) / fabs(expect);
            worst_loss = fmax(worst_loss, fmax(rel, cli_rel));
            if (!(rel <= LOSS_RTOL)) fail_msg("%s: step %d: loss %.9g, PyTorch %.9g", name, s, loss, expect);
            if (!(cli_rel <= LOSS_RTOL))
                fail_msg("%s: recur train step %d: loss %.9g, PyTorch %.9g", name, s + 1, cli_loss[s], expect);
        }
        double worst_w = 0, worst_ratio = 0;
        const char *worst_at = "";
        for (int k = 0; k < m.num_tensors; k++) {
            const tensor_info *t = &m.tensors[k];
            read_tensor(f, "final", &m, k, want + t->offset);
            const int ct = model_find_tensor(&cli.m, t->name);
            if (ct < 0) fail_msg("%s: recur train's checkpoint has no %s", name, t->name);
            for (size_t i = 0; i < t->count; i++) {
                const double ref = want[t->offset + i];
                const double got[2] = {m.params[t->offset + i], cli.m.params[cli.m.tensors[ct].offset + i]};
                for (int which = 0; which < 2; which++) {
                    const double d = fabs(got[which] - ref), ratio = d / (W_ATOL + W_RTOL * fabs(ref));
                    if (d > worst_w) worst_w = d;
                    if (ratio > worst_ratio) worst_ratio = ratio, worst_at = t->name;
                    if (!(ratio <= 1))
                        fail_msg("%s: %s[%zu] after %d steps (%s): %.9g, PyTorch %.9g", name, t->name, i, steps,
                                 which ? "recur train" : "engine", got[which], ref);
                }
            }
        }
        assert_int_equal(fscanf(f, "%63s", word), 1);
        assert_string_equal(word, "end");
        fprintf(stderr, "[tree-reference] %s: worst loss rel diff %.3g; worst weight |diff| %.3g (%.3g of the "
                "tolerance, at %s)\n", name, worst_loss, worst_w, worst_ratio, worst_at);
        ncases++;
        checkpoint_in_free(&cli);
        tree_batch_free(&b);
        tree_workspace_free(&w);
        optim_free(&opt);
        model_free(&m);
        free(want);
        free(tree_off), free(child_off), free(ch), free(tok), free(nl), free(rl), free(rt);
        free(children), free(tokens), free(node_labels), free(root_labels), free(roots);
    }
    fclose(f);
    assert_int_equal(ncases, 4);
}

int main(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_against_torch)};
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
