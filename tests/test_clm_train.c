/* test_clm_train.c - the conditional language model (issue 10, reference
 * §6) through the CLI: `recur train --task lm` on a sequence dataset,
 * conditioned on each sequence's label (a classify dataset from `recur data
 * labeled-text`) or on its /context feature vector (written here with
 * h5py), as h0, as an input at every step, or both.  On a toy task (the
 * label, or the features, choose the alphabet a line is written in) the
 * model must use its context: the held-out perplexity with the right
 * context is far below the one with a wrong context, and what it generates
 * for a context is written in that context's alphabet.  A resumed run equals
 * the uninterrupted one bit for bit, mpirun -np 2 gives the losses of -np 1,
 * and bad inputs and options are refused with messages naming them. */
#include "test_util.h"

#include <math.h>

#include "../io/checkpoint.h"

static char *dir;

/* lines.tsv: a line of 3-8 letters of one alphabet <TAB> the alphabet's name;
 * feat.h5: the same task as a sequence dataset whose /context is the
 * alphabet as a one-hot vector plus a noise feature. */
static const char *const MAKE_PY =
    "import random, sys\n"
    "import h5py, numpy as np\n"
    "random.seed(3)\n"
    "ABC = {'vowels': 'aeiou', 'hard': 'bdgkpt', 'soft': 'fhlmnrsvwz'}\n"
    "names = sorted(ABC)\n"
    "rows = []\n"
    "for _ in range(900):\n"
    "    k = random.randrange(3)\n"
    "    rows.append((k, ''.join(random.choice(ABC[names[k]]) for _ in range(random.randint(3, 8)))))\n"
    "with open('lines.tsv', 'w') as f:\n"
    "    for k, s in rows:\n"
    "        f.write(s + '\\t' + names[k] + '\\n')\n"
    "vocab = sorted(set(''.join(s for _, s in rows)))\n"
    "with h5py.File('feat.h5', 'w') as h:\n"
    "    h.attrs['format'] = 'recur-sequences'\n"
    "    h.attrs['version'] = 1\n"
    "    h.attrs['task'] = 'classify'\n"
    "    h['vocab'] = np.frombuffer(''.join(vocab).encode(), dtype=np.uint8)\n"
    "    for name, part in (('train', rows[:800]), ('val', rows[800:850]), ('test', rows[850:])):\n"
    "        g = h.create_group(name)\n"
    "        g['offsets'] = np.cumsum([0] + [len(s) for _, s in part]).astype(np.int64)\n"
    "        g['tokens'] = np.array([vocab.index(c) for _, s in part for c in s], dtype=np.int32)\n"
    "        g['labels'] = np.array([k for k, _ in part], dtype=np.int32)\n"
    "        ctx = np.zeros((len(part), 4), dtype=np.float32)\n"
    "        for i, (k, _) in enumerate(part):\n"
    "            ctx[i, k] = 1\n"
    "            ctx[i, 3] = random.uniform(-1, 1)\n"
    "        g['context'] = ctx\n";

static int setup(void **state) {
    (void)state;
    if (!(dir = tu_tmpdir())) return -1;
    char path[4300], log[8192];
    snprintf(path, sizeof path, "%s/mk.py", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(MAKE_PY, f);
    fclose(f);
    int rc = tu_run(log, sizeof log,
                    "cd '%s' && " TU_PYTHON " mk.py && '%s' data labeled-text lines.tsv lab.h5 --tokens chars "
                    "--val-fraction 0.1 --test-fraction 0.1 --seed 1",
                    dir, tu_recur());
    if (rc) fprintf(stderr, "%s\n", log);
    return rc;
}

static int teardown(void **state) {
    (void)state;
    tu_scratch_remove(&dir);
    return 0;
}

static int train(const char *data, const char *out, const char *extra, char *log, size_t len) {
    return tu_run(log, len,
                  "cd '%s' && '%s' train --data %s --task lm --embed 8 --hidden 32 --layers 1 --batch 32 --lr 0.01 "
                  "--quiet --no-monitor --out %s.h5 --metrics %s.jsonl %s",
                  dir, tu_recur(), data, out, out, extra);
}

/* Every byte of every line of `text` is one of `alphabet`, and there is at least one. */
static void lines_in(const char *text, const char *alphabet, const char *what) {
    int lines = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            lines++;
            continue;
        }
        if (!strchr(alphabet, *p)) fail_msg("%s: '%c' is not in '%s'; output:\n%s", what, *p, alphabet, text);
    }
    assert_true(lines > 0);
}

/* The context is used: test perplexity with the right one well below the wrong one's. */
static void uses_context(const char *data, const char *name) {
    char log[16384];
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' eval --model %s.h5 --data %s --split test --json", dir,
                    tu_recur(), name, data);
    if (rc) fprintf(stderr, "%s\n", log);
    assert_int_equal(rc, 0);
    const double right = tu_json_number(log, "perplexity"), wrong = tu_json_number(log, "wrong_context_perplexity");
    if (!(right < 0.75 * wrong)) fail_msg("%s: perplexity %g with the right context, %g with a wrong one", name, right, wrong);
    assert_non_null(strstr(log, "\"task\":\"lm\""));
}

/* Conditioned on the label, for each way the context enters: learns to use
 * it, and generates (greedy and sampled) in the label's alphabet. */
static void test_label_context(void **s) {
    (void)s;
    static const char *const modes[] = {"init", "input", "both"};
    for (int i = 0; i < 3; i++) {
        char log[16384], extra[128], name[32];
        snprintf(name, sizeof name, "lab_%s", modes[i]);
        snprintf(extra, sizeof extra, "--context %s --steps 250", modes[i]);
        int rc = train("lab.h5", name, extra, log, sizeof log);
        if (rc) fprintf(stderr, "%s\n", log);
        assert_int_equal(rc, 0);
        uses_context("lab.h5", name);
        assert_int_equal(tu_run(log, sizeof log, "cd '%s' && printf 'vowels\\nvowels\\n' | '%s' generate --model %s.h5 "
                                "--input - --sample --temperature 0.7 --seed 2", dir, tu_recur(), name), 0);
        lines_in(log, "aeiou", name);
        assert_int_equal(tu_run(log, sizeof log, "cd '%s' && printf 'hard\\n' | '%s' generate --model %s.h5 --input -",
                                dir, tu_recur(), name), 0);
        lines_in(log, "bdgkpt", name);
    }
    char log[16384];
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' inspect lab_both.h5", dir, tu_recur()), 0);
    assert_non_null(strstr(log, "conditional language model"));
    assert_non_null(strstr(log, "context/embedding, 3 x 32"));
    /* --data rows: the label, the reference line, the output */
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' generate --model lab_both.h5 --data lab.h5 --split test "
                            "| head -1", dir, tu_recur()), 0);
    assert_true(!strncmp(log, "hard\t", 5) || !strncmp(log, "soft\t", 5) || !strncmp(log, "vowels\t", 7));
}

/* Conditioned on a feature vector (/context): the same, with the numbers on
 * the input line; the stop bit and the length head end the lines too. */
static void test_feature_context(void **s) {
    (void)s;
    char log[16384];
    int rc = train("feat.h5", "fmodel", "--condition features --context both --steps 250", log, sizeof log);
    if (rc) fprintf(stderr, "%s\n", log);
    assert_int_equal(rc, 0);
    uses_context("feat.h5", "fmodel");
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && printf '0 0 1 0.5\\n0,0,1,-0.2\\n' | '%s' generate --model "
                            "fmodel.h5 --input -", dir, tu_recur()), 0);
    lines_in(log, "aeiou", "features"); /* one-hot of the alphabets in sorted order: hard, soft, vowels */
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' inspect fmodel.h5", dir, tu_recur()), 0);
    assert_non_null(strstr(log, "4 context features"));
    static const char *const ends[] = {"stop-bit", "length"};
    for (int i = 0; i < 2; i++) {
        char extra[128], name[32];
        snprintf(name, sizeof name, "feat_%d", i);
        snprintf(extra, sizeof extra, "--condition features --context input --end %s --steps 250", ends[i]);
        rc = train("feat.h5", name, extra, log, sizeof log);
        if (rc) fprintf(stderr, "%s\n", log);
        assert_int_equal(rc, 0);
        uses_context("feat.h5", name);
        assert_int_equal(tu_run(log, sizeof log, "cd '%s' && printf '1 0 0 0\\n' | '%s' generate --model %s.h5 --input -",
                                dir, tu_recur(), name), 0);
        lines_in(log, "bdgkpt", name);
    }
}

static void load(const char *name, checkpoint_in *ck) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    recur_err err = {0};
    if (checkpoint_load(path, ck, &err)) fail_msg("%s", err.msg);
}

static void test_resume_is_exact(void **s) {
    (void)s;
    char log[16384], extra[512];
    const char *shape = "--cell gru --layers 2 --context both --dropout 0.2 --seed 5";
    snprintf(extra, sizeof extra, "%s --steps 20", shape);
    assert_int_equal(train("lab.h5", "whole", extra, log, sizeof log), 0);
    snprintf(extra, sizeof extra, "%s --steps 9 --run-dir rd --checkpoint-every 4", shape);
    assert_int_equal(train("lab.h5", "part", extra, log, sizeof log), 0);
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd --steps 20 --out resumed.h5", dir, tu_recur());
    if (rc) fprintf(stderr, "%s\n", log);
    assert_int_equal(rc, 0);
    checkpoint_in a, b;
    load("whole.h5", &a);
    load("resumed.h5", &b);
    assert_int_equal(a.m.cfg.task, TASK_SEQ2SEQ);
    assert_int_equal(a.m.cfg.condition, COND_LABEL);
    assert_int_equal(a.src_vocab.size, 3);
    assert_int_equal(b.step, 20);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
}

/* The deep RNN forms on the decoder: stored, resumed bit for bit, shown,
 * and generation (greedy and sampled) runs with them. */
static void test_deep_forms(void **s) {
    (void)s;
    char log[16384], extra[512];
    const char *shape = "--cell lstm --layers 2 --context both --skip 3 --residual --transition-depth 1 "
                        "--transition-width 10 --dropout 0.2 --seed 5";
    snprintf(extra, sizeof extra, "%s --steps 20", shape);
    int rc = train("lab.h5", "deep", extra, log, sizeof log);
    if (rc) fail_msg("%s", log);
    snprintf(extra, sizeof extra, "%s --steps 9 --run-dir rdeep --checkpoint-every 4", shape);
    assert_int_equal(train("lab.h5", "deeppart", extra, log, sizeof log), 0);
    rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rdeep --steps 20 --out deepres.h5", dir, tu_recur());
    if (rc) fail_msg("%s", log);
    checkpoint_in a, b;
    load("deep.h5", &a);
    load("deepres.h5", &b);
    assert_int_equal(a.m.cfg.skip, 3);
    assert_int_equal(a.m.cfg.residual, 1);
    assert_int_equal(a.m.cfg.transition_depth, 1);
    assert_true(model_find_tensor(&a.m, "decoder/rnn/weight_skip_l1") >= 0);
    assert_true(model_find_tensor(&a.m, "decoder/rnn/transition_hh_l1_d0/weight") >= 0);
    assert_true(model_find_tensor(&a.m, "decoder/out/transition_d0/weight") >= 0);
    assert_int_equal(model_find_tensor(&a.m, "encoder/rnn/weight_skip_l0"), -1); /* no encoder */
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' inspect deep.h5", dir, tu_recur()), 0);
    assert_non_null(strstr(log, "skip: 3 (every layer direction of the decoder adds W_skip h_{t-3}"));
    rc = tu_run(log, sizeof log, "cd '%s' && printf 'vowels\\nhard\\n' | '%s' generate --model deep.h5 --input - "
                "| wc -l && printf 'vowels\\n' | '%s' generate --model deep.h5 --input - --sample --seed 3 | wc -l",
                dir, tu_recur(), tu_recur());
    if (rc) fail_msg("%s", log);
    assert_string_equal(log, "2\n1\n");
}

static void test_mpirun_same_losses(void **s) {
    (void)s;
    char log[16384];
    for (int np = 1; np <= 2; np++) {
        int rc = tu_run(log, sizeof log,
                        "cd '%s' && timeout -k 5 120 mpirun --oversubscribe -np %d '%s' train --data feat.h5 --task lm "
                        "--condition features --embed 8 --hidden 16 --layers 2 --batch 15 --steps 8 --quiet "
                        "--no-monitor --out mp%d.h5 --metrics mp%d.jsonl",
                        dir, np, tu_recur(), np, np);
        if (rc) fprintf(stderr, "%s\n", log);
        assert_int_equal(rc, 0);
    }
    tu_same_step_losses(dir, "mp1", "mp2", 8);
}

static void test_bad_input(void **s) {
    (void)s;
    char log[16384];
    assert_int_equal(train("lab.h5", "small", "--steps 3", log, sizeof log), 0);
    assert_int_equal(train("feat.h5", "fsmall", "--condition features --steps 3", log, sizeof log), 0);
    const char *R = tu_recur();
    const char *T = "--steps 1 --out x.h5 --quiet --no-monitor";
    /* options that do not fit a conditional LM */
    tu_expect(dir, 2, "attend", "'%s' train --data lab.h5 --task lm --attention additive %s", R, T);
    tu_expect(dir, 2, "left to right", "'%s' train --data lab.h5 --task lm --bidirectional %s", R, T);
    tu_expect(dir, 2, "expected label or features", "'%s' train --data lab.h5 --task lm --condition colour %s", R, T);
    tu_expect(dir, 2, "/train/context", "'%s' train --data lab.h5 --task lm --condition features %s", R, T);
    tu_expect(dir, 2, "--condition", "'%s' train --data lab.h5 --condition label %s", R, T);
    tu_expect(dir, 2, "--bptt", "'%s' train --data lab.h5 --task lm --bptt 8 %s", R, T);
    /* --init: the condition is the checkpoint's (feat.h5 has labels too, the default condition without it),
     * and --condition is a shape option there */
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' train --data feat.h5 --task lm --init fsmall.h5 %s", dir, R, T);
    if (rc) fprintf(stderr, "%s\n", log);
    assert_int_equal(rc, 0);
    tu_expect(dir, 2, "the model's shape comes from --init",
              "'%s' train --data feat.h5 --task lm --init fsmall.h5 --condition features %s", R, T);
    /* generation: a label it does not know, two labels, wrong numbers of features, a non-number */
    tu_expect(dir, 3, "found 'green'", "printf 'hard\\ngreen\\n' | '%s' generate --model small.h5 --input -", R);
    tu_expect(dir, 3, "expected one label", "printf 'hard soft\\n' | '%s' generate --model small.h5 --input -", R);
    tu_expect(dir, 3, "expected 4 numbers", "printf '1 0 0\\n' | '%s' generate --model fsmall.h5 --input -", R);
    tu_expect(dir, 3, "found more", "printf '1 0 0 0 0\\n' | '%s' generate --model fsmall.h5 --input -", R);
    tu_expect(dir, 3, "found 'x", "printf '1 0 x 0\\n' | '%s' generate --model fsmall.h5 --input -", R);
    /* a model and a dataset that do not belong together */
    tu_expect(dir, 2, "expected /train/context", "'%s' eval --model fsmall.h5 --data lab.h5 --split test", R);
    /* a non-finite context, and a context in /train only */
    tu_expect(dir, 3, "/val/context", TU_PYTHON " -c \"import h5py, numpy as np, shutil; shutil.copy('feat.h5', 'nan.h5'); "
           "h = h5py.File('nan.h5', 'r+'); c = h['val/context'][...]; c[2, 1] = np.nan; h['val/context'][...] = c\" && "
           "'%s' train --data nan.h5 --task lm %s", R, T);
    tu_expect(dir, 3, "/test/context", TU_PYTHON " -c \"import h5py, shutil; shutil.copy('feat.h5', 'part.h5'); "
           "h = h5py.File('part.h5', 'r+'); del h['test/context']\" && '%s' train --data part.h5 --task lm %s", R, T);
}

int main(void) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_context),    cmocka_unit_test(test_feature_context),
        cmocka_unit_test(test_resume_is_exact),  cmocka_unit_test(test_deep_forms),
        cmocka_unit_test(test_mpirun_same_losses),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
