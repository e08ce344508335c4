/* test_s2s_train.c - seq2seq through the CLI (issue 10): `recur data pairs`,
 * `train`, `eval --decode`, `generate` on a toy task a small model learns in
 * a few hundred steps (reverse a string of letters a-f, length 2-6); every
 * ending (EOS, stop bit, length head) generates; a resumed run equals the
 * uninterrupted one bit for bit; mpirun -np 2 gives the losses of -np 1; bad
 * inputs and options are refused with messages naming what is wrong. */
#include "test_util.h"

#include <math.h>

#include "../io/checkpoint.h"

static char *dir;

static const char *const MAKE_PY =
    "import random, sys\n"
    "random.seed(int(sys.argv[2]))\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    for _ in range(int(sys.argv[3])):\n"
    "        s = ''.join(random.choice('abcdef') for _ in range(random.randint(2, 6)))\n"
    "        f.write(s + '\\t' + s[::-1] + '\\n')\n";

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
                    "cd '%s' && " TU_PYTHON " mk.py rev.tsv 1 1200 && '%s' data pairs rev.tsv rev.h5 --val-fraction 0.1 "
                    "--test-fraction 0.1 --seed 1",
                    dir, tu_recur());
    if (rc) fprintf(stderr, "%s\n", log);
    return rc;
}

static int teardown(void **state) {
    (void)state;
    tu_scratch_remove(&dir);
    return 0;
}

static int train(const char *out, const char *extra, char *log, size_t len) {
    return tu_run(log, len,
                  "cd '%s' && '%s' train --data rev.h5 --embed 16 --hidden 32 --layers 1 --batch 32 --lr 0.01 --quiet "
                  "--no-monitor --out %s.h5 --metrics %s.jsonl %s",
                  dir, tu_recur(), out, out, extra);
}

/* Learns to reverse: the teacher-forced loss falls, greedy and beam decoding
 * get most test strings exactly right, generate reverses what it is given. */
static void test_learns_reversal(void **s) {
    (void)s;
    char log[16384];
    assert_int_equal(train("att", "--attention additive --bidirectional-encoder --steps 300 --val-every 100", log,
                           sizeof log), 0);
    double loss[400];
    assert_int_equal(tu_step_losses(dir, "att", loss, 400), 300);
    assert_true(loss[299] < 0.25 * loss[0]);
    int rc = tu_run(log, sizeof log, "cd '%s' && '%s' eval --model att.h5 --data rev.h5 --split test --decode greedy --json",
                    dir, tu_recur());
    if (rc) fprintf(stderr, "%s\n", log);
    assert_int_equal(rc, 0);
    const double greedy = tu_json_number(log, "exact_match"), ter = tu_json_number(log, "token_error_rate");
    assert_true(greedy > 0.8);
    assert_true(ter < 0.1);
    assert_true(tu_json_number(log, "loss") < 0.5);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' eval --model att.h5 --data rev.h5 --split test "
                            "--decode beam --beam 4 --json", dir, tu_recur()), 0);
    assert_true(tu_json_number(log, "exact_match") >= greedy - 0.05);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && printf 'abc\\nfeed\\nda\\n' > in.txt && '%s' generate "
                            "--model att.h5 --input in.txt --beam 3", dir, tu_recur()), 0);
    assert_string_equal(log, "cba\ndeef\nad\n");
    /* --data rows: source, reference, output */
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' generate --model att.h5 --data rev.h5 --split test | head -3",
                            dir, tu_recur()), 0);
    assert_non_null(strchr(log, '\t'));
}

/* The stop bit and the length head end outputs too (and learn the task). */
static void test_every_end(void **s) {
    (void)s;
    static const char *const ends[] = {"stop-bit", "length"};
    for (int i = 0; i < 2; i++) {
        char log[16384], extra[256], name[32];
        snprintf(name, sizeof name, "end%d", i);
        snprintf(extra, sizeof extra, "--attention dot --end %s --context both --steps 300", ends[i]);
        int rc = train(name, extra, log, sizeof log);
        if (rc) fprintf(stderr, "%s\n", log);
        assert_int_equal(rc, 0);
        assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' eval --model %s.h5 --data rev.h5 --split test "
                                "--decode greedy --json", dir, tu_recur(), name), 0);
        if (tu_json_number(log, "exact_match") < 0.5) fail_msg("--end %s: %s", ends[i], log);
        assert_int_equal(tu_run(log, sizeof log, "cd '%s' && printf 'abcd\\n' | '%s' generate --model %s.h5 --input -",
                                dir, tu_recur(), name), 0);
        assert_string_equal(log, "dcba\n");
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
    char log[16384];
    const char *shape = "--cell gru --attention general --dropout 0.2 --seed 5";
    char extra[512];
    snprintf(extra, sizeof extra, "%s --steps 20", shape);
    assert_int_equal(train("whole", extra, log, sizeof log), 0);
    snprintf(extra, sizeof extra, "%s --steps 9 --run-dir rd --checkpoint-every 4", shape);
    assert_int_equal(train("part", extra, log, sizeof log), 0);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rd --steps 20 --out resumed.h5", dir,
                            tu_recur()), 0);
    checkpoint_in a, b;
    load("whole.h5", &a);
    load("resumed.h5", &b);
    assert_int_equal(a.m.cfg.task, TASK_SEQ2SEQ);
    assert_int_equal(a.m.cfg.attention, ATTN_GENERAL);
    assert_int_equal(b.step, 20);
    assert_int_equal(a.src_vocab.size, 6);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
}

/* The deep RNN forms (reference §9) on both stacks: accepted, stored
 * (attributes and /model/encoder/, /model/decoder/ tensors) and shown by
 * inspect; a resumed run equals the uninterrupted one bit for bit; eval
 * --decode and generate decode with them (the decoder's last K states per
 * hypothesis: core/seq2seq_impl.h). */
static void test_deep_forms(void **s) {
    (void)s;
    char log[16384], extra[512];
    const char *shape = "--cell lstm --layers 2 --attention additive --bidirectional-encoder --skip 2 --residual "
                        "--transition-depth 2 --transition-width 12 --dropout 0.1 --seed 3";
    snprintf(extra, sizeof extra, "%s --steps 20", shape);
    int rc = train("deep", extra, log, sizeof log);
    if (rc) fail_msg("%s", log);
    snprintf(extra, sizeof extra, "%s --steps 9 --run-dir rdeep --checkpoint-every 4", shape);
    assert_int_equal(train("deeppart", extra, log, sizeof log), 0);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' train --resume rdeep --steps 20 --out deepres.h5", dir,
                            tu_recur()), 0);
    checkpoint_in a, b;
    load("deep.h5", &a);
    load("deepres.h5", &b);
    const model_config *c = &a.m.cfg;
    assert_int_equal(c->skip, 2);
    assert_int_equal(c->residual, 1);
    assert_int_equal(c->transition_depth, 2);
    assert_int_equal(c->transition_width, 12);
    static const char *const names[] = {
        "encoder/rnn/weight_skip_l0", "encoder/rnn/weight_skip_l1_reverse",
        "encoder/rnn/transition_ih_l1_d1_reverse/weight", "encoder/rnn/transition_hh_l0_d0/bias",
        "decoder/rnn/weight_skip_l1", "decoder/rnn/transition_ih_l0_d1/weight", "decoder/rnn/transition_hh_l1_d0/weight",
        "decoder/out/transition_d0/weight", "decoder/out/transition_d1/bias",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (model_find_tensor(&a.m, names[i]) < 0) fail_msg("no tensor %s", names[i]);
    assert_int_equal(a.m.tensors[a.m.s2s.dec.head_weight].shape[1], 12);
    assert_int_equal(b.step, 20);
    assert_memory_equal(a.m.params, b.m.params, a.m.num_params * sizeof(float));
    assert_memory_equal(a.opt.state, b.opt.state, a.opt.state_len * sizeof(float));
    checkpoint_in_free(&a);
    checkpoint_in_free(&b);
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' inspect deep.h5", dir, tu_recur()), 0);
    assert_non_null(strstr(log, "skip: 2 (every layer direction of the encoder and the decoder adds W_skip h_{t-2}"));
    assert_non_null(strstr(log, "residual: every layer above the first of the encoder and the decoder"));
    assert_non_null(strstr(log, "deep transition: depth 2, width 12"));
    assert_int_equal(tu_run(log, sizeof log, "cd '%s' && '%s' inspect --verify deep.h5", dir, tu_recur()), 0);
    for (int beam = 0; beam < 2; beam++) {
        rc = tu_run(log, sizeof log, "cd '%s' && '%s' eval --model deep.h5 --data rev.h5 --split test --decode %s --json",
                    dir, tu_recur(), beam ? "beam --beam 3" : "greedy");
        if (rc) fail_msg("%s", log);
        assert_true(tu_json_number(log, "token_error_rate") >= 0);
    }
    rc = tu_run(log, sizeof log, "cd '%s' && printf 'abc\nfeed\nda\n' > din.txt && '%s' generate --model deep.h5 "
                "--input din.txt --beam 3 | wc -l && '%s' generate --model deep.h5 --input din.txt --sample --seed 2 "
                "| wc -l", dir, tu_recur(), tu_recur());
    if (rc) fail_msg("%s", log);
    assert_string_equal(log, "3\n3\n");
}

static void test_mpirun_same_losses(void **s) {
    (void)s;
    char log[16384];
    /* Plain, and with every deep form on both stacks. */
    static const char *const extra[2] = {"", "--skip 2 --residual --transition-depth 1 --transition-width 8"};
    for (int k = 0; k < 2; k++) {
        for (int np = 1; np <= 2; np++) {
            int rc = tu_run(log, sizeof log,
                            "cd '%s' && timeout -k 5 120 mpirun --oversubscribe -np %d '%s' train --data rev.h5 --embed 8 "
                            "--hidden 16 --layers 2 --bidirectional-encoder --attention additive --batch 15 --steps 8 "
                            "--quiet --no-monitor --out mp%d%d.h5 --metrics mp%d%d.jsonl %s",
                            dir, np, tu_recur(), k, np, k, np, extra[k]);
            if (rc) fprintf(stderr, "%s\n", log);
            assert_int_equal(rc, 0);
        }
        tu_same_step_losses(dir, k ? "mp11" : "mp01", k ? "mp12" : "mp02", 8);
    }
}

static void test_bad_input(void **s) {
    (void)s;
    char log[16384];
    assert_int_equal(train("small", "--steps 3", log, sizeof log), 0);
    const char *R = tu_recur();
    /* generation: a symbol outside the vocabulary, an empty line */
    tu_expect(dir, 3, "in.bad:2", "printf 'abc\\nabz\\n' > in.bad && '%s' generate --model small.h5 --input in.bad", R);
    tu_expect(dir, 3, "in.empty:2", "printf 'abc\\n\\nab\\n' > in.empty && '%s' generate --model small.h5 --input in.empty", R);
    /* a target longer than --max-len */
    tu_expect(dir, 2, "longer than max_len 3", "'%s' train --data rev.h5 --end length --max-len 3 --steps 1 --out x.h5 --quiet", R);
    /* options of another kind of model */
    tu_expect(dir, 2, "--pooling", "'%s' train --data rev.h5 --pooling max --steps 1 --out x.h5 --quiet", R);
    tu_expect(dir, 2, "--merge sum", "'%s' train --data rev.h5 --attention dot --bidirectional-encoder --steps 1 --out x.h5 --quiet", R);
    tu_expect(dir, 2, "task seq2seq", "'%s' train --data rev.h5 --task classify --steps 1 --out x.h5 --quiet", R);
    tu_expect(dir, 2, "--beam", "'%s' generate --model small.h5 --input in.txt --sample --beam 2", R);
    /* a language model is not a seq2seq model */
    tu_expect(dir, 3, "generate decodes seq2seq", "'%s' data text mk.py lm.h5 >/dev/null && '%s' train --data lm.h5 --hidden 8 "
           "--layers 1 --batch 2 --bptt 8 --steps 1 --out lm.model.h5 --quiet --no-monitor && '%s' generate --model "
           "lm.model.h5 --input in.txt", R, R, R);
}

int main(void) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_reversal), cmocka_unit_test(test_every_end),
        cmocka_unit_test(test_resume_is_exact), cmocka_unit_test(test_deep_forms),
        cmocka_unit_test(test_mpirun_same_losses),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
