/* test_import_trees.c - the tree importers: `recur data conllu --trees` and
 * `recur data labeled-text --trees balanced` (io/import_trees.h).
 *
 * A hand-written CoNLL-U file (comments, a multiword token, an empty node,
 * two genres) must give exactly the trees written out below; every malformed
 * tree (a HEAD outside the sentence, two roots, none, a cycle, a missing
 * sent_id, IDs that do not count 1, 2, ...) is refused naming FILE:LINE, and
 * flags that do not go together are usage errors.  Balanced trees have depth
 * ceil(log2 τ) and their leaves are the sentence's tokens in order (the very
 * ids of the sequence dataset the same flags give without --trees).  On the
 * real data (UD English EWT dev, the sentiment sentences) the counts are
 * checked.
 *
 * Run: RECUR=$PWD/build/t/recur BUILD=build/t scripts/run-tests build/t/tests/test_import_trees
 */
#include "test_util.h"

#include "../io/seqdata.h"
#include "../io/treedata.h"

#define SHARED "../shared/data"

typedef struct {
    char *dir;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    *state = f;
    return f->dir ? 0 : -1;
}

static int teardown(void **state) {
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void write_text(const char *dir, const char *name, const char *text) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* `recur data ARGS` in dir must succeed with one summary line; loads dir/out.h5. */
static void trees_ok(const char *dir, tree_dataset *ds, char *log, size_t len, const char *args) {
    int rc = tu_run(log, len, "cd '%s' && '%s' data %s", dir, tu_recur(), args);
    if (rc) fail_msg("recur data %s: exit %d: %s", args, rc, log);
    char path[4400];
    snprintf(path, sizeof path, "%s/out.h5", dir);
    recur_err err = {0};
    if (treedata_load(path, ds, &err)) fail_msg("treedata_load(%s): %s", path, err.msg);
}

/* `recur data ARGS` on `text` (as t.conllu / t.tsv) must exit `code` with every needle in its message. */
static void trees_bad(const char *dir, int code, const char *name, const char *text, const char *needle,
                      const char *args) {
    char log[8192], out[4400];
    write_text(dir, name, text);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    remove(out);
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' data %s", dir, tu_recur(), args);
    if (rc != code || !strstr(log, needle))
        fail_msg("recur data %s: exit %d (expected %d): %s\nexpected: %s", args, rc, code, log, needle);
    assert_false(tu_exists(out));
}

static size_t ceil_log2(size_t n) {
    size_t d = 0;
    while (((size_t)1 << d) < n) d++;
    return d;
}

/* ---- conllu --trees -------------------------------------------------------------- */

static const char CONLLU[] =
    "# newdoc id = doc1\n"
    "# sent_id = email-doc1-0001\n"
    "# text = I'll go home.\n"
    "1-2\tI'll\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_\n"
    "2\t'll\twill\tAUX\tMD\t_\t3\taux\t_\t_\n"
    "3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_\n"
    "4\thome\thome\tADV\tRB\t_\t3\tadvmod\t_\t_\n"
    "4.1\twent\tgo\tVERB\tVBD\t_\t_\t_\t3:conj\t_\n"
    "5\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n"
    "\n"
    "# sent_id = weblog-doc2-0001\n"
    "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n"
    "2\t!\t!\tPUNCT\t.\t_\t1\tpunct\t_\t_\n";

static void conllu_trees_exact(void **state) {
    fixture *f = *state;
    char log[8192];
    write_text(f->dir, "t.conllu", CONLLU);
    tree_dataset ds;
    trees_ok(f->dir, &ds, log, sizeof log, "conllu t.conllu out.h5 --trees --node-label upos --root-label genre");
    assert_non_null(strstr(log, "(trees): train 2 trees (7 nodes, depth mean 1.0 / max 1)"));
    assert_non_null(strstr(log, "6 upos node labels; 2 genres as root labels: email, weblog"));
    /* vocabulary by bytes: <unk> ! 'll . Hi I go home; UPOS: ADV AUX INTJ PRON PUNCT VERB */
    static const char *const V[] = {"<unk>", "!", "'ll", ".", "Hi", "I", "go", "home"};
    assert_int_equal(ds.vocab_size, 8);
    for (int i = 0; i < 8; i++) assert_string_equal(ds.vocab_words[i], V[i]);
    assert_int_equal(ds.num_node_classes, 6);
    assert_string_equal(ds.node_label_names[5], "VERB");
    assert_int_equal(ds.num_root_classes, 2);
    assert_string_equal(ds.root_label_names[0], "email");
    const tree_split *t = &ds.split[SPLIT_TRAIN];
    static const int64_t to[] = {0, 5, 7}, co[] = {0, 0, 0, 4, 4, 4, 5, 5};
    static const int32_t ch[] = {0, 1, 3, 4, 1}, tok[] = {5, 2, 6, 7, 3, 4, 1}, nl[] = {3, 1, 5, 0, 4, 2, 4},
                         rl[] = {0, 1}, roots[] = {2, 0};
    assert_int_equal(t->n, 2);
    assert_int_equal(t->nodes, 7);
    assert_int_equal(t->edges, 5);
    assert_memory_equal(t->tree_offsets, to, sizeof to);
    assert_memory_equal(t->child_offsets, co, sizeof co);
    assert_memory_equal(t->children, ch, sizeof ch);
    assert_memory_equal(t->tokens, tok, sizeof tok);
    assert_memory_equal(t->node_labels, nl, sizeof nl);
    assert_memory_equal(t->root_labels, rl, sizeof rl);
    assert_memory_equal(t->roots, roots, sizeof roots);
    assert_false(ds.split[SPLIT_VAL].present);
    treedata_free(&ds);

    /* deprel alone: node labels only; the same trees */
    trees_ok(f->dir, &ds, log, sizeof log, "conllu t.conllu out.h5 --trees --node-label deprel");
    assert_null(ds.split[SPLIT_TRAIN].root_labels);
    assert_int_equal(ds.num_node_classes, 5); /* advmod aux nsubj punct root */
    assert_memory_equal(ds.split[SPLIT_TRAIN].children, ch, sizeof ch);
    treedata_free(&ds);

    /* --split-files: the second file is val, the vocabulary from train only */
    write_text(f->dir, "v.conllu", "# sent_id = reviews-x-1\n1\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_\n"
                                   "2\tnow\tnow\tADV\tRB\t_\t1\tadvmod\t_\t_\n");
    trees_ok(f->dir, &ds, log, sizeof log, "conllu out.h5 --split-files t.conllu,v.conllu --trees --root-label genre");
    assert_int_equal(ds.num_root_classes, 3);
    assert_int_equal(ds.split[SPLIT_VAL].n, 1);
    static const int32_t vtok[] = {6, 0}; /* go, <unk> */
    assert_memory_equal(ds.split[SPLIT_VAL].tokens, vtok, sizeof vtok);
    assert_int_equal(ds.split[SPLIT_VAL].root_labels[0], 1); /* email, reviews, weblog */
    treedata_free(&ds);
}

static void conllu_trees_refused(void **state) {
    fixture *f = *state;
    const char *d = f->dir;
    const char *args = "conllu t.conllu out.h5 --trees --node-label upos --root-label genre";
    trees_bad(d, 3, "t.conllu",
              "# sent_id = a-1\n1\tx\t_\tX\t_\t_\t0\t_\t_\t_\n2\ty\t_\tX\t_\t_\t3\t_\t_\t_\n",
              "t.conllu:3: HEAD: expected a word of the sentence (1 .. 2) or 0 (the root), found 3", args);
    trees_bad(d, 3, "t.conllu",
              "# sent_id = a-1\n1\tx\t_\tX\t_\t_\t0\t_\t_\t_\n2\ty\t_\tX\t_\t_\t0\t_\t_\t_\n",
              "t.conllu:3: HEAD: expected one root (HEAD 0) per sentence, found a second (the first: word 1, line 2)",
              args);
    trees_bad(d, 3, "t.conllu",
              "# sent_id = a-1\n1\tx\t_\tX\t_\t_\t2\t_\t_\t_\n2\ty\t_\tX\t_\t_\t1\t_\t_\t_\n",
              "t.conllu:2: HEAD: expected a root (a word with HEAD 0) in the sentence of lines 2-3, found none", args);
    trees_bad(d, 3, "t.conllu",
              "# sent_id = a-1\n1\tx\t_\tX\t_\t_\t0\t_\t_\t_\n2\ty\t_\tX\t_\t_\t3\t_\t_\t_\n3\tz\t_\tX\t_\t_\t2\t_\t_\t_\n",
              "t.conllu:3: HEAD: expected a tree under the root (word 1), found word 2 not below it (a cycle of heads)",
              args);
    trees_bad(d, 3, "t.conllu", "# sent_id = a-1\n1\tx\t_\tX\t_\t_\t0\t_\t_\t_\n\n1\ty\t_\tX\t_\t_\t0\t_\t_\t_\n",
              "t.conllu:4: expected a '# sent_id = GENRE-...' comment before the sentence (--root-label genre), found none",
              args);
    trees_bad(d, 3, "t.conllu", "# sent_id = a-1\n1\tx\t_\tX\t_\t_\t0\t_\t_\t_\n3\ty\t_\tX\t_\t_\t1\t_\t_\t_\n",
              "t.conllu:3:1: ID: expected 2 (the words of a sentence are numbered 1, 2, ... for HEAD to name them), "
              "found 3", args);
    trees_bad(d, 3, "t.conllu", "# sent_id = a-1\n1\tx\t_\tX\t_\t_\t_\t_\t_\t_\n",
              "t.conllu:2:13: HEAD: expected a word index (0 for the root), found '_'", args);
    trees_bad(d, 2, "t.conllu", CONLLU, "--trees: expected --node-label upos|xpos|deprel, --root-label genre or both",
              "conllu t.conllu out.h5 --trees");
    trees_bad(d, 2, "t.conllu", CONLLU, "--node-label: applies to --trees only",
              "conllu t.conllu out.h5 --node-label upos");
    trees_bad(d, 2, "t.conllu", CONLLU, "--column: the tag of a tag dataset; with --trees, --node-label names it",
              "conllu t.conllu out.h5 --trees --column upos --root-label genre");
    trees_bad(d, 2, "t.conllu", CONLLU, "--root-label: expected genre, found 'topic'",
              "conllu t.conllu out.h5 --trees --root-label topic");
    trees_bad(d, 2, "t.tsv", "a b\t1\n", "--trees: expected balanced, found 'left'",
              "labeled-text t.tsv out.h5 --trees left");
}

/* ---- labeled-text --trees balanced ------------------------------------------------- */

/* Every tree: depth ceil(log2 τ), the leaves (nodes 0..τ-1, no children) the
 * sequence's tokens in order, internal nodes binary and without a token, the
 * root label the sequence's label. */
static void assert_balanced(const tree_dataset *td, const seq_dataset *sd) {
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const tree_split *t = &td->split[s];
        const seq_split *q = &sd->split[s];
        assert_int_equal(t->present, q->present);
        if (!t->present) continue;
        assert_int_equal(t->n, q->n);
        assert_null(t->node_labels);
        int32_t *order = malloc(2 * q->total * sizeof *order);
        for (size_t i = 0; i < t->n; i++) {
            size_t tau = seq_length(q, i), first = (size_t)t->tree_offsets[i];
            assert_int_equal(tree_size(t, i), 2 * tau - 1);
            assert_int_equal(tree_bfs(t, i, order, NULL), ceil_log2(tau));
            assert_memory_equal(t->tokens + first, q->tokens + q->offsets[i], tau * sizeof(int32_t));
            for (size_t k = 0; k < 2 * tau - 1; k++) {
                int64_t arity = t->child_offsets[first + k + 1] - t->child_offsets[first + k];
                assert_int_equal(arity, k < tau ? 0 : 2);
                if (k >= tau) assert_int_equal(t->tokens[first + k], -1);
            }
            assert_int_equal(t->roots[i], (int32_t)(2 * tau - 2));
            assert_int_equal(t->root_labels[i], q->labels[i]);
        }
        free(order);
    }
    assert_int_equal(td->vocab_size, sd->vocab_size);
    assert_int_equal(td->num_root_classes, sd->num_classes);
}

static void load_both(const char *dir, const char *input, const char *flags, tree_dataset *td, seq_dataset *sd) {
    char log[8192], args[4096], path[4400];
    snprintf(args, sizeof args, "labeled-text '%s' out.h5 %s --trees balanced", input, flags);
    trees_ok(dir, td, log, sizeof log, args);
    assert_non_null(strstr(log, "balanced binary trees"));
    snprintf(args, sizeof args, "cd '%s' && '%s' data labeled-text '%s' seq.h5 %s", dir, tu_recur(), input, flags);
    if (tu_run(log, sizeof log, "%s", args)) fail_msg("%s: %s", args, log);
    snprintf(path, sizeof path, "%s/seq.h5", dir);
    recur_err err = {0};
    if (seqdata_load(path, sd, &err)) fail_msg("%s", err.msg);
}

static void balanced_small(void **state) {
    fixture *f = *state;
    /* τ = 1, 2, 3, 4, 5, 8, 9 words */
    write_text(f->dir, "t.tsv", "one\tpos\none two\tneg\na b c\tpos\na b c d\tneg\na b c d e\tpos\n"
                                "a b c d e f g h\tneg\na b c d e f g h i\tpos\n");
    tree_dataset td;
    seq_dataset sd;
    load_both(f->dir, "t.tsv", "--tokens words", &td, &sd);
    assert_int_equal(td.split[SPLIT_TRAIN].n, 7);
    assert_balanced(&td, &sd);
    /* the 5-leaf tree exactly: 5 = [0 1], 6 = [5 2], 7 = [3 4], root 8 = [6 7] */
    const tree_split *t = &td.split[SPLIT_TRAIN];
    size_t first = (size_t)t->tree_offsets[4];
    const int32_t *ch = t->children + t->child_offsets[first + 5];
    static const int32_t want[] = {0, 1, 5, 2, 3, 4, 6, 7};
    assert_memory_equal(ch, want, sizeof want);
    treedata_free(&td);
    seqdata_free(&sd);

    /* chars: a tree per sentence over its bytes */
    load_both(f->dir, "t.tsv", "--tokens chars", &td, &sd);
    assert_non_null(td.vocab);
    assert_balanced(&td, &sd);
    treedata_free(&td);
    seqdata_free(&sd);
}

/* ---- the real data ----------------------------------------------------------------- */

static void real_data(void **state) {
    fixture *f = *state;
    if (!tu_exists(SHARED "/trees/en_ewt-ud-dev.conllu") ||
        !tu_exists(SHARED "/seqclass/sentiment_labelled_sentences/yelp_labelled.txt"))
        skip();
    char log[8192], repo[4096], args[8192];
    assert_non_null(getcwd(repo, sizeof repo));
    tree_dataset ds;
    snprintf(args, sizeof args, "conllu '%s/" SHARED "/trees/en_ewt-ud-dev.conllu' out.h5 --trees --node-label upos "
             "--root-label genre", repo);
    trees_ok(f->dir, &ds, log, sizeof log, args);
    fprintf(stderr, "    %s", log);
    const tree_split *t = &ds.split[SPLIT_TRAIN];
    assert_int_equal(t->n, 2001);
    assert_int_equal(t->nodes, 25147);
    assert_int_equal(t->edges, 25147 - 2001);
    assert_int_equal(ds.num_node_classes, 17);
    static const char *const GENRES[] = {"answers", "email", "newsgroup", "reviews", "weblog"};
    assert_int_equal(ds.num_root_classes, 5);
    for (int c = 0; c < 5; c++) assert_string_equal(ds.root_label_names[c], GENRES[c]);
    assert_non_null(strstr(log, "depth mean 2.9 / max 10"));
    treedata_free(&ds);
    snprintf(args, sizeof args, "conllu '%s/" SHARED "/trees/en_ewt-ud-dev.conllu' out.h5 --trees --node-label deprel "
             "--val-fraction 0.1 --test-fraction 0.1", repo);
    trees_ok(f->dir, &ds, log, sizeof log, args);
    assert_int_equal(ds.split[SPLIT_TRAIN].n + ds.split[SPLIT_VAL].n + ds.split[SPLIT_TEST].n, 2001);
    assert_int_equal(ds.split[SPLIT_VAL].n, 200);
    treedata_free(&ds);

    assert_int_equal(tu_run(log, sizeof log, "cat '%s/" SHARED "/seqclass/sentiment_labelled_sentences/'*_labelled.txt > "
                            "'%s/s.tsv'", repo, f->dir), 0);
    seq_dataset sd;
    load_both(f->dir, "s.tsv", "--tokens words --min-count 2 --val-fraction 0.1 --test-fraction 0.1", &ds, &sd);
    assert_int_equal(ds.split[SPLIT_TRAIN].n + ds.split[SPLIT_VAL].n + ds.split[SPLIT_TEST].n, 3000);
    assert_balanced(&ds, &sd);
    treedata_free(&ds);
    seqdata_free(&sd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(conllu_trees_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(conllu_trees_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(balanced_small, setup, teardown),
        cmocka_unit_test_setup_teardown(real_data, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
