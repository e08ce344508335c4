/* test_treedata.c - tree datasets (io/treedata.h, the "recur-trees" contract)
 * and `recur inspect` on them.
 *
 * A dataset built in memory must survive write -> load exactly (roots
 * computed), identical input must give identical bytes, and the file h5py
 * writes for the same trees (tests/make_tree_inputs.py: int64 arrays, str
 * attributes) must load to the same dataset.  Every file of the bad corpus
 * (one thing broken per file: a cycle, two roots, a child out of range or
 * listed twice, offsets out of order, a leaf without a token, labels out of
 * range, wrong dtype or rank, huge declared extents, ...) must fail with
 * RECUR_EXIT_INPUT and its one message, in process and through `recur
 * inspect` (exit 3, never a signal); the writer refuses the same faults in
 * memory (RECUR_EXIT_FAIL, nothing written).  No HDF5 id may stay open.
 *
 * Run: RECUR=$PWD/build/t/recur BUILD=build/t scripts/run-tests build/t/tests/test_treedata
 */
#include "test_util.h"

#include <hdf5.h>

#include "../io/treedata.h"

static char *g_corpus; /* make_tree_inputs.py's files, built once */

static ssize_t open_objects(void) { return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); }

typedef struct {
    char *dir;
    ssize_t open_objects;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    if (!f->dir) return -1;
    f->open_objects = open_objects();
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ssize_t now = open_objects();
    int leaked = now != f->open_objects;
    if (leaked) fprintf(stderr, "HDF5 id leak: %zd objects open at setup, %zd now\n", f->open_objects, now);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return leaked ? -1 : 0;
}

static int group_setup(void **state) {
    (void)state;
    g_corpus = tu_tmpdir();
    if (!g_corpus) return -1;
    char log[16384];
    int rc = tu_run(log, sizeof log, "%s tests/make_tree_inputs.py '%s'", TU_PYTHON, g_corpus);
    if (rc) fprintf(stderr, "make_tree_inputs.py failed (%d):\n%s\n", rc, log);
    return rc ? -1 : 0;
}

static int group_teardown(void **state) {
    (void)state;
    if (g_corpus) tu_rmtree(g_corpus);
    free(g_corpus);
    return 0;
}

static void corpus_file(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s.h5", g_corpus, name); }

/* ---- the dataset make_tree_inputs.py writes, built in memory ------------------ */

/* train: "the cat sat" (sat <- cat <- the), a binary tree over "cat mat", a
 * single "sat", an n-ary tree (node 2 with children 0, 1, 3); val: one tree. */
typedef struct {
    tree_dataset ds;
    int64_t to[2][5], co[2][12];
    int32_t ch[2][8], tok[2][11], nl[2][11], rl[2][4];
    char *words[5], *nnames[3], *rnames[2];
} built;

static void build(built *b) {
    memset(b, 0, sizeof *b);
    static const int64_t to0[] = {0, 3, 6, 7, 11}, co0[] = {0, 0, 1, 2, 2, 2, 4, 4, 4, 4, 7, 7}, to1[] = {0, 2},
                         co1[] = {0, 1, 1};
    static const int32_t ch0[] = {0, 1, 0, 1, 0, 1, 3}, tok0[] = {1, 2, 3, 2, 4, -1, 3, 1, 2, 3, 4},
                         nl0[] = {0, 1, 2, 1, 1, -1, 2, 0, 1, 2, 1}, rl0[] = {0, 1, 0, 1}, ch1[] = {1},
                         tok1[] = {4, 3}, nl1[] = {1, 2}, rl1[] = {1};
    memcpy(b->to[0], to0, sizeof to0), memcpy(b->co[0], co0, sizeof co0), memcpy(b->ch[0], ch0, sizeof ch0);
    memcpy(b->tok[0], tok0, sizeof tok0), memcpy(b->nl[0], nl0, sizeof nl0), memcpy(b->rl[0], rl0, sizeof rl0);
    memcpy(b->to[1], to1, sizeof to1), memcpy(b->co[1], co1, sizeof co1), memcpy(b->ch[1], ch1, sizeof ch1);
    memcpy(b->tok[1], tok1, sizeof tok1), memcpy(b->nl[1], nl1, sizeof nl1), memcpy(b->rl[1], rl1, sizeof rl1);
    static const char *const W[] = {"<unk>", "the", "cat", "sat", "mat"}, *const NN[] = {"DET", "NOUN", "VERB"},
                             *const R[] = {"email", "weblog"};
    for (int i = 0; i < 5; i++) b->words[i] = (char *)W[i];
    for (int i = 0; i < 3; i++) b->nnames[i] = (char *)NN[i];
    for (int i = 0; i < 2; i++) b->rnames[i] = (char *)R[i];
    b->ds.vocab_size = 5, b->ds.vocab_words = b->words;
    b->ds.num_node_classes = 3, b->ds.node_label_names = b->nnames;
    b->ds.num_root_classes = 2, b->ds.root_label_names = b->rnames;
    static const size_t n[2] = {4, 1}, N[2] = {11, 2}, E[2] = {7, 1};
    for (int s = 0; s < 2; s++) {
        tree_split *sp = &b->ds.split[s]; /* SPLIT_TRAIN, SPLIT_VAL */
        sp->present = 1, sp->n = n[s], sp->nodes = N[s], sp->edges = E[s];
        sp->tree_offsets = b->to[s], sp->child_offsets = b->co[s], sp->children = b->ch[s];
        sp->tokens = b->tok[s], sp->node_labels = b->nl[s], sp->root_labels = b->rl[s];
    }
}

static void assert_same_split(const tree_split *a, const tree_split *b) {
    assert_int_equal(a->present, b->present);
    if (!a->present) return;
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->nodes, b->nodes);
    assert_int_equal(a->edges, b->edges);
    assert_memory_equal(a->tree_offsets, b->tree_offsets, (a->n + 1) * sizeof(int64_t));
    assert_memory_equal(a->child_offsets, b->child_offsets, (a->nodes + 1) * sizeof(int64_t));
    if (a->edges) assert_memory_equal(a->children, b->children, a->edges * sizeof(int32_t));
    assert_memory_equal(a->tokens, b->tokens, a->nodes * sizeof(int32_t));
    assert_int_equal(a->node_labels == NULL, b->node_labels == NULL);
    assert_int_equal(a->root_labels == NULL, b->root_labels == NULL);
    if (a->node_labels) assert_memory_equal(a->node_labels, b->node_labels, a->nodes * sizeof(int32_t));
    if (a->root_labels) assert_memory_equal(a->root_labels, b->root_labels, a->n * sizeof(int32_t));
}

static void assert_same_names(char *const *a, char *const *b, int n) {
    assert_int_equal(a == NULL, b == NULL);
    for (int i = 0; a && i < n; i++) assert_string_equal(a[i], b[i]);
}

static void assert_same_dataset(const tree_dataset *a, const tree_dataset *b) {
    assert_int_equal(a->vocab_size, b->vocab_size);
    assert_int_equal(a->num_node_classes, b->num_node_classes);
    assert_int_equal(a->num_root_classes, b->num_root_classes);
    assert_int_equal(a->vocab == NULL, b->vocab == NULL);
    if (a->vocab) assert_memory_equal(a->vocab, b->vocab, (size_t)a->vocab_size);
    assert_same_names(a->vocab_words, b->vocab_words, a->vocab_size);
    assert_same_names(a->node_label_names, b->node_label_names, a->num_node_classes);
    assert_same_names(a->root_label_names, b->root_label_names, a->num_root_classes);
    for (int s = 0; s < SPLIT_COUNT; s++) assert_same_split(&a->split[s], &b->split[s]);
}

/* The roots load computes, and tree_bfs over them. */
static void assert_roots(const tree_dataset *ds) {
    static const int32_t roots[] = {2, 2, 0, 2};
    assert_memory_equal(ds->split[SPLIT_TRAIN].roots, roots, sizeof roots);
    assert_int_equal(ds->split[SPLIT_VAL].roots[0], 0);
    int32_t order[4], depth[4];
    assert_int_equal(tree_bfs(&ds->split[SPLIT_TRAIN], 0, order, depth), 2);
    assert_int_equal(order[0], 2), assert_int_equal(order[1], 1), assert_int_equal(order[2], 0);
    assert_int_equal(depth[0], 2), assert_int_equal(depth[1], 1), assert_int_equal(depth[2], 0);
    assert_int_equal(tree_bfs(&ds->split[SPLIT_TRAIN], 2, order, NULL), 0);
    assert_int_equal(tree_bfs(&ds->split[SPLIT_TRAIN], 3, order, depth), 1);
    assert_int_equal(order[0], 2), assert_int_equal(order[1], 0), assert_int_equal(order[2], 1);
    assert_int_equal(order[3], 3);
}

static void test_round_trip(void **state) {
    fixture *f = *state;
    built b;
    build(&b);
    char p[4200], q[4200];
    snprintf(p, sizeof p, "%s/a.h5", f->dir);
    snprintf(q, sizeof q, "%s/b.h5", f->dir);
    recur_err err = {0};
    if (treedata_write(p, &b.ds, &err) || treedata_write(q, &b.ds, &err)) fail_msg("%s", err.msg);
    size_t la, lb;
    char *da = tu_slurp(p, &la), *db = tu_slurp(q, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la); /* deterministic bytes */
    free(da);
    free(db);
    tree_dataset got;
    if (treedata_load(p, &got, &err)) fail_msg("%s", err.msg);
    assert_same_dataset(&b.ds, &got);
    assert_roots(&got);
    treedata_free(&got);
    treedata_free(&got); /* safe twice */
    assert_int_equal(treedata_is_tree_file(p, &err), 1);
}

/* Bytes vocabulary, root labels only, every tree one node: no children array. */
static void test_round_trip_single_nodes(void **state) {
    fixture *f = *state;
    uint8_t vocab[] = {'a', 'b'};
    int64_t to[] = {0, 1, 2, 3}, co[] = {0, 0, 0, 0};
    int32_t tok[] = {0, 1, 1}, rl[] = {0, 2, 1};
    tree_dataset ds = {0};
    ds.vocab_size = 2, ds.vocab = vocab, ds.num_root_classes = 3; /* no names: 1 + the largest label when read */
    tree_split *sp = &ds.split[SPLIT_TRAIN];
    sp->present = 1, sp->n = 3, sp->nodes = 3, sp->edges = 0;
    sp->tree_offsets = to, sp->child_offsets = co, sp->tokens = tok, sp->root_labels = rl;
    char p[4200];
    snprintf(p, sizeof p, "%s/s.h5", f->dir);
    recur_err err = {0};
    if (treedata_write(p, &ds, &err)) fail_msg("%s", err.msg);
    tree_dataset got;
    if (treedata_load(p, &got, &err)) fail_msg("%s", err.msg);
    assert_same_dataset(&ds, &got);
    assert_int_equal(got.split[SPLIT_TRAIN].roots[2], 0);
    treedata_free(&got);
}

/* The file h5py wrote for the same trees loads to the same dataset. */
static void test_h5py_file(void **state) {
    (void)state;
    built b;
    build(&b);
    char p[4200];
    corpus_file(p, sizeof p, "good_trees");
    recur_err err = {0};
    tree_dataset got;
    if (treedata_load(p, &got, &err)) fail_msg("%s", err.msg);
    assert_same_dataset(&b.ds, &got);
    assert_roots(&got);
    treedata_free(&got);
    corpus_file(p, sizeof p, "good_unnamed");
    if (treedata_load(p, &got, &err)) fail_msg("%s", err.msg);
    assert_int_equal(got.num_node_classes, 3);
    assert_int_equal(got.num_root_classes, 2);
    assert_null(got.node_label_names);
    treedata_free(&got);
}

/* ---- the writer refuses what the reader would --------------------------------- */

static void w_cycle_apart(built *b) { b->ch[0][0] = 2; } /* 1 -> 2 -> 1 beside the root 0 */
static void w_no_root(built *b) { /* val: 0 -> 1 -> 0 */
    b->co[1][2] = 2, b->ch[1][1] = 0;
    b->ds.split[SPLIT_VAL].edges = 2;
}
static void w_two_parents(built *b) { b->ch[0][1] = 0; }
static void w_child_range(built *b) { b->ch[0][6] = 4; }
static void w_child_negative(built *b) { b->ch[0][0] = -1; }
static void w_leaf_no_token(built *b) { b->tok[0][6] = -1; }
static void w_token_range(built *b) { b->tok[1][0] = 5; }
static void w_node_label(built *b) { b->nl[1][1] = 3; }
static void w_root_label(built *b) { b->rl[0][3] = -1; }
static void w_labels_mismatch(built *b) { b->ds.split[SPLIT_VAL].root_labels = NULL; }
static void w_no_labels(built *b) {
    for (int s = 0; s < 2; s++) b->ds.split[s].node_labels = b->ds.split[s].root_labels = NULL;
}
static void w_no_vocab(built *b) { b->ds.vocab_words = NULL; }
static void w_tree_offsets(built *b) { b->to[0][2] = 3; }
static void w_child_offsets(built *b) { b->co[0][3] = 0; }
static void w_no_train(built *b) { b->ds.split[SPLIT_TRAIN].present = 0; }

static void test_write_refuses(void **state) {
    fixture *f = *state;
    static const struct {
        const char *what;
        void (*breaks)(built *b);
        const char *message;
    } cases[] = {
        {"cycle apart", w_cycle_apart, "/train/children: tree 0: expected every node below the root 0, found node 1"},
        {"no root", w_no_root, "/val/children: tree 0: expected a root (a node that is no node's child), found every node a child (a cycle)"},
        {"two parents", w_two_parents, "/train/children[1]: expected each node of tree 0 once as a child, found node 0 again (already a child of node 1)"},
        {"child range", w_child_range, "/train/children[6]: expected a node of tree 3 (0 .. 3, local to the tree)"},
        {"child negative", w_child_negative, "/train/children[0]: expected a node of tree 0 (0 .. 2"},
        {"leaf without token", w_leaf_no_token, "/train/tokens[6]: expected a token in [0, 5) (node 0 of tree 2 is a leaf), found -1"},
        {"token range", w_token_range, "/val/tokens[0]: expected a token in [-1, 5), found 5"},
        {"node label", w_node_label, "/val/node_labels[1]: expected a node label (-1: none) in [-1, 3), found 3"},
        {"root label", w_root_label, "/train/root_labels[3]: expected a root label in [0, 2), found -1"},
        {"labels mismatch", w_labels_mismatch, "/val/root_labels: expected root labels (as /train), found none"},
        {"no labels", w_no_labels, "/train: expected node_labels or root_labels (or both), found neither"},
        {"no vocabulary", w_no_vocab, "/vocab: expected characters or words, found neither"},
        {"tree offsets", w_tree_offsets, "/train/tree_offsets[2]: expected >= 4"},
        {"child offsets", w_child_offsets, "/train/child_offsets[3]: expected >= 1 (/train/child_offsets[2], non-decreasing), found 0"},
        {"no train", w_no_train, "/train: expected a group (the train split), found none"},
    };
    char p[4200];
    snprintf(p, sizeof p, "%s/out.h5", f->dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        built b;
        build(&b);
        cases[i].breaks(&b);
        recur_err err = {0};
        assert_int_equal(treedata_write(p, &b.ds, &err), -1);
        if (err.code != RECUR_EXIT_FAIL || !strstr(err.msg, cases[i].message) || strncmp(err.msg, p, strlen(p)))
            fail_msg("%s: code %d, message \"%s\", expected \"%s\"", cases[i].what, err.code, err.msg, cases[i].message);
        assert_false(tu_exists(p));
    }
}

/* ---- hostile files ------------------------------------------------------------ */

static const struct {
    const char *file, *message;
} BAD[] = {
    {"cycle", "/train/children: tree 0: expected every node below the root 0, found node 1 not reached from it (a cycle"},
    {"self_child", "/train/children: tree 0: expected every node below the root 1, found node 2 not reached from it"},
    {"two_roots", "/train/children: tree 0: expected one root, found two: nodes 1 and 2 are no node's child"},
    {"child_range", "/train/children[1]: expected a node of tree 0 (0 .. 2, local to the tree), found a child of its node 2 outside it"},
    {"child_twice", "/train/children[1]: expected each node of tree 0 once as a child, found node 0 again (already a child of node 1)"},
    {"tree_offsets_order", "/train/tree_offsets[2]: expected >= 4 (offsets[1] = 3, every tree at least one node), found 2"},
    {"tree_offsets_end", "/train/tree_offsets[4]: expected 11 (the nodes in /train/tokens), found 10"},
    {"child_offsets_order", "/train/child_offsets[3]: expected >= 1 (/train/child_offsets[2], non-decreasing), found 0"},
    {"leaf_without_token", "/train/tokens[0]: expected a token in [0, 5) (node 0 of tree 0 is a leaf), found -1"},
    {"token_range", "/train/tokens[1]: expected a token in [-1, 5), found 5"},
    {"node_label_range", "/train/node_labels[0]: expected a node label (-1: none) in [-1, 3), found 3"},
    {"root_label_range", "/train/root_labels[0]: expected a root label in [0, 2), found 2"},
    {"root_label_negative", "/val/root_labels[0]: expected a root label in [0, 2), found -1"},
    {"tokens_float", "/train/tokens: expected an integer array [N], found float32 [11]"},
    {"children_rank2", "/train/children: expected an integer array [E], found int32 [7, 1]"},
    {"children_missing", "/train/children: expected an integer array [E] (E = /train/child_offsets[11] = 7), found nothing (missing)"},
    {"child_offsets_short", "/train/child_offsets: expected 12 entries (N+1, N = the nodes in /train/tokens), found 4"},
    {"huge_tokens", "dataset '/train/tokens': 3000000000 elements declared"},
    {"huge_tree_offsets", "dataset '/train/tree_offsets': 2147483648 elements declared"},
    {"huge_children", "dataset '/train/children': 1000000 elements declared"},
    {"labels_neither", "/train: expected node_labels or root_labels (or both), found neither"},
    {"labels_one_split", "/val/node_labels: expected node labels (as /train), found none"},
    {"format_wrong", "attribute 'format': expected the string \"recur-trees\", found \"recur-sequences\""},
    {"version_wrong", "attribute 'version': expected the integer 1, found 2"},
    {"train_missing", "/train: expected a group (the train split), required, found nothing (missing)"},
    {"vocab_both", "/vocab: expected /vocab or /vocab_words, found both"},
    {"vocab_missing", "/vocab: expected uint8 [V] (or /vocab_words, strings [V]), found nothing (missing)"},
};

static void test_bad_files_load(void **state) {
    (void)state;
    static const tree_dataset zero;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char p[4200], name[128];
        snprintf(name, sizeof name, "bad_%s", BAD[i].file);
        corpus_file(p, sizeof p, name);
        tree_dataset ds;
        memset(&ds, 0x5a, sizeof ds);
        recur_err err = {0};
        int rc = treedata_load(p, &ds, &err);
        char want[5400];
        snprintf(want, sizeof want, "%s: %s", p, BAD[i].message);
        if (rc != -1 || err.code != RECUR_EXIT_INPUT || !strstr(err.msg, want))
            fail_msg("%s: rc %d code %d\n  message: %s\n  expected: %s", name, rc, err.code, err.msg, want);
        assert_memory_equal(&ds, &zero, sizeof ds);
    }
}

/* Through the CLI: exit 3, the message on stderr, never a signal (a file
 * whose format says it is something else is inspected as that). */
static void test_bad_files_inspect(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char p[4200], name[128], out[4096];
        snprintf(name, sizeof name, "bad_%s", BAD[i].file);
        corpus_file(p, sizeof p, name);
        int rc = tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p);
        if (rc != 3 || (strcmp(BAD[i].file, "format_wrong") && !strstr(out, BAD[i].message)))
            fail_msg("recur inspect %s: exit %d\n%s\nexpected: %s", name, rc, out, BAD[i].message);
        if (i % 6) continue; /* --json on a sample: after the error stdout holds no JSON */
        rc = tu_run(out, sizeof out, "'%s' inspect --json '%s' 2>/dev/null", tu_recur(), p);
        if (rc != 3 || strchr(out, '{')) fail_msg("recur inspect --json %s: exit %d, stdout %s", name, rc, out);
    }
}

static void test_is_tree_file(void **state) {
    (void)state;
    char p[4200];
    recur_err err = {0};
    corpus_file(p, sizeof p, "good_trees");
    assert_int_equal(treedata_is_tree_file(p, &err), 1);
    corpus_file(p, sizeof p, "bad_format_wrong");
    assert_int_equal(treedata_is_tree_file(p, &err), 0);
}

/* ---- recur inspect ---------------------------------------------------------- */

static void test_inspect_text(void **state) {
    (void)state;
    char p[4200], out[8192];
    corpus_file(p, sizeof p, "good_trees");
    assert_int_equal(tu_run(out, sizeof out, "'%s' inspect '%s'", tu_recur(), p), 0);
    static const char *const LINES[] = {
        "recur-trees v1, tree dataset\n",
        "tokens: V = 5 words: <unk>, the, cat, sat, mat\n",
        "node labels: C = 3 (named)\n",
        "root labels: Cr = 2 (named)\n",
        "train: 4 trees, 11 nodes (7 leaves), 7 edges, depth mean 1.00 / max 2, max arity 3\n",
        "  node labels: DET 2, NOUN 5, VERB 3\n",
        "  unlabelled nodes (-1): 1\n",
        "  root labels: email 2, weblog 2\n",
        "val: 1 trees, 2 nodes (1 leaves), 1 edges, depth mean 1.00 / max 1, max arity 1\n",
    };
    for (size_t i = 0; i < sizeof LINES / sizeof LINES[0]; i++)
        if (!strstr(out, LINES[i])) fail_msg("missing \"%s\" in:\n%s", LINES[i], out);
}

/* --json: the numbers h5py and numpy compute from the same file. */
static void test_inspect_json(void **state) {
    (void)state;
    char p[4200], out[16384];
    corpus_file(p, sizeof p, "good_trees");
    int rc = tu_run(out, sizeof out,
                    "'%s' inspect --json '%s' > '%s.json' && %s -c \"\n"
                    "import json, h5py, numpy as np\n"
                    "d = json.load(open('%s.json'))\n"
                    "f = h5py.File('%s', 'r')\n"
                    "assert d['format'] == 'recur-trees' and d['version'] == 1, d\n"
                    "assert d['vocab_size'] == 5 and d['vocab_kind'] == 'words', d\n"
                    "assert d['node_label_names'] == ['DET', 'NOUN', 'VERB'] and d['num_root_classes'] == 2, d\n"
                    "assert [s['split'] for s in d['splits']] == ['train', 'val'], d\n"
                    "for s in d['splits']:\n"
                    "    g = f[s['split']]; co = g['child_offsets'][...]; ar = np.diff(co)\n"
                    "    assert s['trees'] == len(g['tree_offsets']) - 1 and s['nodes'] == len(g['tokens']), s\n"
                    "    assert s['edges'] == co[-1] and s['leaves'] == (ar == 0).sum() and s['max_arity'] == ar.max(), s\n"
                    "    nl = g['node_labels'][...]\n"
                    "    assert s['node_label_counts'] == np.bincount(nl[nl >= 0], minlength=3).tolist(), s\n"
                    "    assert s['unlabelled_nodes'] == (nl < 0).sum(), s\n"
                    "    assert s['root_label_counts'] == np.bincount(g['root_labels'][...], minlength=2).tolist(), s\n"
                    "assert d['splits'][0]['max_depth'] == 2 and d['splits'][0]['mean_depth'] == 1.0, d\n"
                    "\"",
                    tu_recur(), p, p, TU_PYTHON, p, p);
    if (rc) fail_msg("%s", out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_single_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_h5py_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_inspect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_tree_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspect_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspect_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
