/* test_cli.c - the CLI's messages and interfaces a new user meets first:
 * "did you mean" for subcommands, flags and config keys; config errors that
 * name the file once; `recur data`'s missing-argument message and summary;
 * `--version`; `eval --split train|val`; `sample`'s greedy decoding, top-k,
 * top-p, printed seeds and whole UTF-8 characters.
 *
 * Fixtures (group setup): a 20 kB snippet of the bundled corpus with a 10%
 * split and a small LSTM trained on it for 30 steps; a UTF-8 text full of
 * multibyte characters (accents, CJK, emoji) and a model trained on it.
 */
#include "test_util.h"

#include <hdf5.h>
#include <math.h>

#include "../core/net.h"
#include "../io/dataset.h"
#include "../io/checkpoint.h"
#include "../coordinator/suggest.h"

static char *dir;
static char data_h5[4200], model_h5[4300], utf8_h5[4300], utf8_model_h5[4300];

#define TRAIN_SMALL "--cell lstm --embed 16 --hidden 32 --layers 1 --batch 4 --bptt 16 --seed 3 " \
                    "--optimizer adam --lr 0.01 --clip 1 --quiet --no-monitor"

/* Text whose vocabulary holds 2-, 3- and 4-byte UTF-8 characters. */
static const char *UTF8_LINES[] = {
    "Ça va très bien, naïve café, señor Müller — déjà vu.\n",
    "日本語のテキストと中文字符。\n",
    "Emoji: 😀 🚀 🎉 ❤ ✓ and Ελληνικά, русский текст.\n",
};

static int write_utf8_text(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int i = 0; i < 300; i++) fputs(UTF8_LINES[i % 3], f);
    return fclose(f);
}

static int setup(void **state) {
    (void)state;
    char log[16384];
    if (!(dir = tu_tmpdir()) || tu_snippet_dataset(dir, 20000, data_h5, sizeof data_h5)) return -1;
    snprintf(model_h5, sizeof model_h5, "%s/model.h5", dir);
    if (tu_run(log, sizeof log, "%s train --data %s " TRAIN_SMALL " --steps 30 --out %s", tu_recur(), data_h5,
               model_h5)) {
        fprintf(stderr, "setup: train failed: %s\n", log);
        return -1;
    }
    char text[4300];
    snprintf(text, sizeof text, "%s/utf8.txt", dir);
    snprintf(utf8_h5, sizeof utf8_h5, "%s/utf8.h5", dir);
    snprintf(utf8_model_h5, sizeof utf8_model_h5, "%s/utf8_model.h5", dir);
    if (write_utf8_text(text) ||
        tu_run(log, sizeof log, "%s data text %s %s && %s train --data %s " TRAIN_SMALL " --steps 10 --out %s",
               tu_recur(), text, utf8_h5, tu_recur(), utf8_h5, utf8_model_h5)) {
        fprintf(stderr, "setup: utf8 fixture failed: %s\n", log);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static int count_occurrences(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Runs recur with stdout and stderr kept apart: stdout into out, stderr into
 * err (each NUL-terminated, truncated to its size).  Returns the exit status. */
static int run_split(char *out, size_t outlen, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int run_split(char *out, size_t outlen, char *err, size_t errlen, const char *fmt, ...) {
    char args[4096], errpath[4300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    int rc = tu_run(out, outlen, "'%s' %s 2>'%s'", tu_recur(), args, errpath);
    char *e = tu_slurp(errpath, NULL);
    snprintf(err, errlen, "%s", e ? e : "");
    free(e);
    return rc;
}

/* ---- did you mean ---------------------------------------------------------- */

static void test_suggest_scoring(void **s) {
    (void)s;
    assert_int_equal(suggest_distance("trian", "train"), 1); /* a transposition is one edit */
    assert_int_equal(suggest_distance("hiden", "hidden"), 1);
    assert_int_equal(suggest_distance("LR_MIN", "lr-min"), 0);
    const char *keys[] = {"data", "hidden", "hidden-init", "lr", "lr-min", "layers"};
    struct { const char *typed, *want; } cases[] = {
        {"hidden_size", "hidden"}, {"hiden", "hidden"}, {"lr_min", "lr-min"}, {"layer", "layers"},
        {"dtaa", "data"}, {"xyzzy", NULL}, {"optimizer", NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        suggestion sg;
        suggest_begin(&sg, cases[c].typed);
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) suggest_consider(&sg, keys[k]);
        const char *got = suggest_best(&sg);
        if (cases[c].want == NULL ? got != NULL : !got || strcmp(got, cases[c].want))
            fail_msg("'%s': suggested %s, expected %s", cases[c].typed, got ? got : "nothing",
                     cases[c].want ? cases[c].want : "nothing");
    }
}

static void test_suggest_subcommand(void **s) {
    (void)s;
    char out[8192];
    assert_int_equal(tu_run(out, sizeof out, "%s trian", tu_recur()), 2);
    assert_string_equal(out, "recur: unknown command 'trian'; did you mean 'train'?\n");
    assert_int_equal(tu_run(out, sizeof out, "%s sampel --len 3", tu_recur()), 2);
    assert_non_null(strstr(out, "did you mean 'sample'?"));
    /* Nothing close: no guess, the list of commands instead. */
    assert_int_equal(tu_run(out, sizeof out, "%s xyzzy", tu_recur()), 2);
    assert_null(strstr(out, "did you mean"));
    assert_non_null(strstr(out, "inspect"));
}

static void test_suggest_flag(void **s) {
    (void)s;
    char out[8192];
    assert_int_equal(tu_run(out, sizeof out, "%s train --hiden 64", tu_recur()), 2);
    assert_string_equal(out, "recur train: error: unknown option '--hiden'; did you mean '--hidden'?\n");
    assert_int_equal(tu_run(out, sizeof out, "%s sample --model %s --temprature 0", tu_recur(), model_h5), 2);
    assert_non_null(strstr(out, "unknown option '--temprature'; did you mean '--temperature'?"));
    assert_int_equal(tu_run(out, sizeof out, "%s eval --splt=val", tu_recur()), 2);
    assert_non_null(strstr(out, "did you mean '--split'?"));
    assert_int_equal(tu_run(out, sizeof out, "%s train --xyzzy 1", tu_recur()), 2);
    assert_null(strstr(out, "did you mean"));
    assert_non_null(strstr(out, "unknown option '--xyzzy'"));
    /* An abbreviation of several options lists them; an unknown short option is unknown. */
    assert_int_equal(tu_run(out, sizeof out, "%s sample --to 3", tu_recur()), 2);
    assert_string_equal(out, "recur sample: error: ambiguous option '--to': --top-k, --top-p?\n");
    assert_int_equal(tu_run(out, sizeof out, "%s train -x", tu_recur()), 2);
    assert_non_null(strstr(out, "unknown option '-x'"));
    assert_int_equal(tu_run(out, sizeof out, "%s train --hidden", tu_recur()), 2);
    assert_non_null(strstr(out, "option needs a value: '--hidden'"));
}

/* `recur train --config FILE` where FILE's line 3 is `line3`; the message. */
static int train_with_config(const char *line3, char *out, size_t len, char *ini, size_t ini_len) {
    snprintf(ini, ini_len, "%s/run.ini", dir);
    FILE *f = fopen(ini, "w");
    if (!f) return -1;
    fprintf(f, "# a run\n[train]\n%s\nsteps = 1\n", line3);
    fclose(f);
    char outdir[4300];
    snprintf(outdir, sizeof outdir, "%s/cfg_out", dir);
    mkdir(outdir, 0755);
    return tu_run(out, len, "%s train --config %s --data %s --quiet --no-monitor --out %s/m.h5", tu_recur(), ini,
                  data_h5, outdir);
}

static void test_config_errors_name_the_file_once(void **s) {
    (void)s;
    char out[8192], ini[4300], want[9000];
    assert_int_equal(train_with_config("hidden_size = 64", out, sizeof out, ini, sizeof ini), 2);
    snprintf(want, sizeof want, "recur train: error: %s:3: unknown key 'hidden_size'; did you mean 'hidden'?\n", ini);
    assert_string_equal(out, want);
    assert_int_equal(train_with_config("lr_min = 0.001", out, sizeof out, ini, sizeof ini), 2);
    assert_non_null(strstr(out, "did you mean 'lr-min'?"));
    /* A bad value names the file once and the key as written in the file. */
    assert_int_equal(train_with_config("hidden = abc", out, sizeof out, ini, sizeof ini), 2);
    snprintf(want, sizeof want, "recur train: error: %s:3: hidden: expected a positive integer, found 'abc'\n", ini);
    assert_string_equal(out, want);
    assert_int_equal(count_occurrences(out, "run.ini"), 1);
    /* And a good config still trains. */
    assert_int_equal(train_with_config("hidden = 16", out, sizeof out, ini, sizeof ini), 0);
}

/* Every train option given a bad value: from a config file the message
 * starts with FILE:LINE: and the key, also when the value is judged after
 * parsing (a cell or optimizer name, a size limit); from the command line it
 * names the flag. */
static void test_config_bad_values_name_file_line_and_key(void **s) {
    (void)s;
    static const struct { const char *key, *bad; } cases[] = {
        {"cell", "foo"}, {"optimizer", "bar"}, {"lr-schedule", "linear"}, {"embed", "100000"},
        {"hidden", "70000"}, {"layers", "17"}, {"embed", "0"}, {"hidden", "-3"}, {"layers", "x"},
        {"keep", "0"}, {"checkpoint-minutes", "-1"}, {"seed", "-1"}, {"batch", "0"}, {"bptt", "1.5"},
        {"steps", "0"}, {"epochs", "-2"}, {"lr", "0"}, {"momentum", "-0.5"}, {"weight-decay", "nan"},
        {"clip", "inf"}, {"val-every", "-1"}, {"val-streams", "0"}, {"log-every", "0"},
        {"checkpoint-every", "-1"}, {"warmup", "-1"}, {"lr-decay-every", "x"}, {"lr-decay", "0"},
        {"lr-min", "-1"}, {"quiet", "maybe"}, {"no-monitor", "2"}, {"debug", "on"}, {"gradcheck", "x"},
        {"stall-timeout", "-1"},
    };
    char out[8192], ini[4300], line[256], want[4400];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(line, sizeof line, "%s = %s", cases[i].key, cases[i].bad);
        int rc = train_with_config(line, out, sizeof out, ini, sizeof ini);
        snprintf(want, sizeof want, "recur train: error: %s:3: %s: ", ini, cases[i].key);
        if (rc != 2 || strncmp(out, want, strlen(want)) || count_lines(out) != 1)
            fail_msg("config '%s': exit %d, expected 2 and a line starting with '%s', got: %s", line, rc, want, out);
        char outdir[4300];
        snprintf(outdir, sizeof outdir, "%s/cfg_out", dir);
        rc = tu_run(out, sizeof out, "%s train --data %s --quiet --no-monitor --out %s/m.h5 --%s %s", tu_recur(),
                    data_h5, outdir, cases[i].key, cases[i].bad);
        snprintf(want, sizeof want, "recur train: error: --%s: ", cases[i].key);
        if (cases[i].key[0] == 'q' || !strcmp(cases[i].key, "no-monitor") || !strcmp(cases[i].key, "debug") ||
            !strcmp(cases[i].key, "gradcheck"))
            continue; /* a flag takes no value on the command line */
        if (rc != 2 || strncmp(out, want, strlen(want)))
            fail_msg("--%s %s: exit %d, expected 2 and a line starting with '%s', got: %s", cases[i].key,
                     cases[i].bad, rc, want, out);
    }
}

/* ---- recur data ------------------------------------------------------------- */

static void test_data_missing_arguments(void **s) {
    (void)s;
    char out[8192];
    assert_int_equal(tu_run(out, sizeof out, "%s data text %s/snippet.txt", tu_recur(), dir), 2);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "missing OUT.h5: usage recur data text TEXT OUT.h5"));
    assert_int_equal(tu_run(out, sizeof out, "%s data text", tu_recur()), 2);
    assert_non_null(strstr(out, "missing TEXT and OUT.h5"));
    assert_int_equal(tu_run(out, sizeof out, "%s data", tu_recur()), 2);
    assert_non_null(strstr(out, "missing TEXT and OUT.h5"));
}

static void test_data_summary(void **s) {
    (void)s;
    char text[4300], h5[4300], out[8192], want[9000];
    snprintf(text, sizeof text, "%s/ten.txt", dir);
    snprintf(h5, sizeof h5, "%s/ten.h5", dir);
    FILE *f = fopen(text, "w");
    assert_non_null(f);
    for (int i = 0; i < 12345; i++) fputc('a' + i % 10, f); /* 10 distinct bytes */
    fclose(f);
    /* The last floor(0.1 * 12345) = 1234 bytes are held out. */
    assert_int_equal(tu_run(out, sizeof out, "%s data text %s %s --val-fraction 0.1", tu_recur(), text, h5), 0);
    snprintf(want, sizeof want, "recur data: wrote %s: 11,111 train + 1,234 val tokens, vocabulary 10 (distinct bytes)\n", h5);
    assert_string_equal(out, want);
    assert_int_equal(tu_run(out, sizeof out, "%s data text %s %s --vocab bytes", tu_recur(), text, h5), 0);
    snprintf(want, sizeof want, "recur data: wrote %s: 12,345 train tokens (no validation split), vocabulary 256 (all bytes)\n", h5);
    assert_string_equal(out, want);
}

/* ---- recur --version ---------------------------------------------------------- */

static void test_version(void **s) {
    (void)s;
    char a[256], b[256];
    assert_int_equal(tu_run(a, sizeof a, "%s --version", tu_recur()), 0);
    assert_int_equal(tu_run(b, sizeof b, "%s version", tu_recur()), 0);
    assert_string_equal(a, b);
    assert_int_equal(strncmp(a, "recur ", 6), 0);
    assert_true(strlen(a) > 7);
    assert_int_equal(count_lines(a), 1);
    assert_null(strchr(a + 6, ' ')); /* "recur VERSION\n", nothing else */
}

/* ---- recur eval --split -------------------------------------------------------- */

static double eval_loss(const char *split_flag) {
    char out[8192];
    assert_int_equal(tu_run(out, sizeof out, "%s eval --model %s --data %s --json %s", tu_recur(), model_h5, data_h5,
                            split_flag), 0);
    return tu_json_number(out, "loss");
}

static void test_eval_split_aliases(void **s) {
    (void)s;
    double train = eval_loss("--split train"), tokens = eval_loss("--split tokens");
    double val = eval_loss("--split val"), val_tokens = eval_loss("--split val_tokens");
    assert_true(isfinite(train) && isfinite(val));
    assert_true(train == tokens);
    assert_true(val == val_tokens);
    assert_true(val != train); /* the aliases really pick different data */
    assert_true(eval_loss("") == train); /* the default is the training split */
    char out[8192];
    assert_int_equal(tu_run(out, sizeof out, "%s eval --help", tu_recur()), 0);
    assert_non_null(strstr(out, "--split train (the default)"));
    assert_int_equal(tu_run(out, sizeof out, "%s eval --model %s --data %s --split test", tu_recur(), model_h5, data_h5), 2);
    assert_non_null(strstr(out, "expected train or val"));
}

/* ---- recur sample -------------------------------------------------------------- */

/* Greedy decoding written out here with the library: feed the prime, then
 * always the most likely id.  `out` gets prime + len bytes + "\n". */
static void argmax_decode(const char *ckpt_path, const char *prime, int len, char *out) {
    checkpoint_in ck = {0};
    recur_err err = {0};
    if (checkpoint_load(ckpt_path, &ck, &err)) fail_msg("%s", err.msg);
    net_workspace ws = {0};
    assert_int_equal(net_workspace_create(&ws, &ck.m.cfg, 1, 1, 1, 0, &err), 0);
    const int V = ck.m.cfg.vocab_size;
    int32_t tok = 0;
    const net_batch step = net_window(1, 1, &tok, NULL);
    size_t n = 0;
    for (const char *p = prime; *p; p++) {
        for (tok = 0; tok < V && ck.vocab[tok] != (uint8_t)*p; tok++) {
        }
        assert_true(tok < V);
        net_forward(&ws, &ck.m, ck.m.params, &step);
        out[n++] = *p;
    }
    for (int i = 0; i < len; i++) {
        tok = 0;
        for (int v = 1; v < V; v++)
            if (ws.out[v] > ws.out[tok]) tok = v;
        out[n++] = (char)ck.vocab[tok];
        net_forward(&ws, &ck.m, ck.m.params, &step);
    }
    out[n++] = '\n';
    out[n] = 0;
    net_workspace_free(&ws);
    checkpoint_in_free(&ck);
}

static void test_sample_greedy(void **s) {
    (void)s;
    char a[4096], b[4096], err[4096], want[4096];
    assert_int_equal(run_split(a, sizeof a, err, sizeof err, "sample --model '%s' --len 120 --temperature 0 --prime 'ROMEO:'", model_h5), 0);
    assert_string_equal(err, ""); /* greedy draws nothing: no seed to print */
    assert_int_equal(run_split(b, sizeof b, err, sizeof err, "sample --model '%s' --len 120 --temperature 0 --prime 'ROMEO:'", model_h5), 0);
    assert_string_equal(a, b);
    argmax_decode(model_h5, "ROMEO:", 120, want);
    assert_string_equal(a, want);
    /* Top-k 1 and a tiny top-p leave only the most likely byte: greedy too, at any temperature. */
    assert_int_equal(run_split(b, sizeof b, err, sizeof err, "sample --model '%s' --len 120 --top-k 1 --temperature 1.5 --prime 'ROMEO:'", model_h5), 0);
    assert_string_equal(a, b);
    assert_int_equal(run_split(b, sizeof b, err, sizeof err, "sample --model '%s' --len 120 --top-p 1e-9 --seed 4 --prime 'ROMEO:'", model_h5), 0);
    assert_string_equal(a, b);
}

/* The N of "seed N (pass --seed N to repeat)" in err, or -1. */
static long printed_seed(const char *err) {
    const char *p = strstr(err, "seed ");
    if (!p) return -1;
    long seed = strtol(p + 5, NULL, 10);
    char again[64];
    snprintf(again, sizeof again, "(pass --seed %ld to repeat)", seed);
    return strstr(err, again) ? seed : -1;
}

static void test_sample_seeds(void **s) {
    (void)s;
    char a[4096], b[4096], c[4096], err_a[4096], err_b[4096], err_c[4096];
    const char *cmd = "sample --model '%s' --len 200 --temperature 1 --top-k 20 --top-p 0.95 %s";
    assert_int_equal(run_split(a, sizeof a, err_a, sizeof err_a, cmd, model_h5, ""), 0);
    assert_int_equal(run_split(b, sizeof b, err_b, sizeof err_b, cmd, model_h5, ""), 0);
    long seed_a = printed_seed(err_a), seed_b = printed_seed(err_b);
    if (seed_a < 0 || seed_b < 0) fail_msg("no seed printed: '%s' / '%s'", err_a, err_b);
    assert_true(seed_a != seed_b);
    assert_string_not_equal(a, b);
    /* The printed seed repeats the run, silently. */
    char flag[64];
    snprintf(flag, sizeof flag, "--seed %ld", seed_a);
    assert_int_equal(run_split(c, sizeof c, err_c, sizeof err_c, cmd, model_h5, flag), 0);
    assert_string_equal(c, a);
    assert_string_equal(err_c, "");
    assert_int_equal(run_split(c, sizeof c, err_c, sizeof err_c, cmd, model_h5, flag), 0);
    assert_string_equal(c, a);
    /* --help does not claim a fixed default seed. */
    assert_int_equal(run_split(c, sizeof c, err_c, sizeof err_c, "sample --help"), 0);
    assert_non_null(strstr(c, "(default: a fresh one, printed to stderr)\n"));
    /* Bad values are refused. */
    assert_int_equal(run_split(c, sizeof c, err_c, sizeof err_c, "sample --model '%s' --top-p 1.5", model_h5), 2);
    assert_non_null(strstr(err_c, "--top-p"));
    assert_int_equal(run_split(c, sizeof c, err_c, sizeof err_c, "sample --model '%s' --temperature -1", model_h5), 2);
}

/* Strict UTF-8 (RFC 3629: no overlongs, surrogates or code points above
 * U+10FFFF, no truncated sequence at the end).  Returns the offset of the
 * first bad byte, or -1 when all of s[0..n) is valid. */
static long utf8_invalid_at(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        int more;
        unsigned char lo = 0x80, hi = 0xBF;
        if (b < 0x80) more = 0;
        else if (b >= 0xC2 && b <= 0xDF) more = 1;
        else if (b >= 0xE0 && b <= 0xEF) more = 2, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
        else if (b >= 0xF0 && b <= 0xF4) more = 3, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
        else return (long)i;
        for (int k = 1; k <= more; k++) {
            if (i + (size_t)k >= n || s[i + k] < lo || s[i + k] > hi) return (long)i;
            lo = 0x80, hi = 0xBF;
        }
        i += (size_t)more + 1;
    }
    return -1;
}

static void test_utf8_validator(void **s) {
    (void)s;
    const char *good = "abc é 日本 😀";
    assert_int_equal(utf8_invalid_at((const unsigned char *)good, strlen(good)), -1);
    assert_int_equal(utf8_invalid_at((const unsigned char *)"a\xc3", 2), 1);        /* truncated */
    assert_int_equal(utf8_invalid_at((const unsigned char *)"a\xa9z", 3), 1);       /* stray continuation */
    assert_int_equal(utf8_invalid_at((const unsigned char *)"\xe0\x80\x80", 3), 0); /* overlong */
    assert_int_equal(utf8_invalid_at((const unsigned char *)"\xed\xa0\x80", 3), 0); /* surrogate */
}

static void test_sample_utf8(void **s) {
    (void)s;
    /* The fixture's vocabulary really holds the bytes of multibyte characters. */
    token_dataset_info info = {0};
    recur_err e = {0};
    if (dataset_probe(utf8_h5, &info, &e)) fail_msg("%s", e.msg);
    assert_true(info.vocab[info.vocab_size - 1] >= 0xF0);
    dataset_info_free(&info);
    char out[65536], err[4096];
    /* High temperature on a barely trained model: close to uniform over the
     * bytes, so unconstrained decoding would break characters all the time.
     * Odd lengths end in the middle of characters. */
    const char *lens[] = {"1", "2", "7", "500", "2001"};
    for (int seed = 1; seed <= 6; seed++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            assert_int_equal(run_split(out, sizeof out, err, sizeof err,
                                       "sample --model '%s' --len %s --temperature 3 --seed %d --prime 'é'",
                                       utf8_model_h5, lens[l], seed), 0);
            size_t n = strlen(out);
            long bad = utf8_invalid_at((const unsigned char *)out, n);
            if (bad >= 0) fail_msg("--len %s --seed %d: invalid UTF-8 at byte %ld of %zu", lens[l], seed, bad, n);
            /* len bytes, plus at most 3 to finish the last character, after the prime and before "\n". */
            long len = atol(lens[l]), gen = (long)n - 2 - 1;
            if (gen < len || gen > len + 3) fail_msg("--len %ld gave %ld bytes", len, gen);
            assert_int_equal(strncmp(out, "é", 2), 0);
        }
    /* Some multibyte characters do come out (the constraint does not just forbid them). */
    assert_int_equal(run_split(out, sizeof out, err, sizeof err, "sample --model '%s' --len 3000 --temperature 3 --seed 9",
                               utf8_model_h5), 0);
    int multibyte = 0;
    for (const unsigned char *p = (const unsigned char *)out; *p; p++) multibyte += *p >= 0xC2;
    assert_true(multibyte > 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suggest_scoring),
        cmocka_unit_test(test_suggest_subcommand),
        cmocka_unit_test(test_suggest_flag),
        cmocka_unit_test(test_config_errors_name_the_file_once),
        cmocka_unit_test(test_config_bad_values_name_file_line_and_key),
        cmocka_unit_test(test_data_missing_arguments),
        cmocka_unit_test(test_data_summary),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_eval_split_aliases),
        cmocka_unit_test(test_sample_greedy),
        cmocka_unit_test(test_sample_seeds),
        cmocka_unit_test(test_utf8_validator),
        cmocka_unit_test(test_sample_utf8),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    H5close(); /* so LeakSanitizer reports only our allocations */
    return failed;
}
