/* `recur plot` and `recur monitor`: the CSV holds exactly the metrics file's
 * losses, the SVG is XML with the curve and axis titles, the live subscriber
 * receives a real run's records over ZeroMQ (published by a small pyzmq
 * script, with garbage mixed in), --history joins a run late, signals end it
 * cleanly; and the record parser survives truncated and random input. */
#include "test_util.h"

#include <math.h>
#include <time.h>

#include "../coordinator/curve.h"
#include "../coordinator/plot.h"

enum { MAX_STEP = 1000 };

static char *dir;
static char metrics[4200];
static double want_loss[MAX_STEP + 1], want_val[MAX_STEP + 1], want_lr[MAX_STEP + 1], want_grad[MAX_STEP + 1];
static long last_step;

/* Publishes the lines of a metrics file on a PUB socket, skipping step and
 * validation records up to argv[3] (the part a late joiner has as history),
 * with garbage messages after the first three records: 7 malformed (one of
 * them a two-frame message) and 1 foreign. */
static const char PUBLISHER[] =
    "import json, sys, time, zmq\n"
    "ep, path, skip = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
    "ctx = zmq.Context()\n"
    "s = ctx.socket(zmq.PUB)\n"
    "s.setsockopt(zmq.LINGER, 5000)\n"
    "s.bind(ep)\n"
    "time.sleep(1.0)  # slow joiner: let the subscriber connect and subscribe\n"
    "garbage = [b'', b'not json', b'{\"step\":', b'\\xff\\xfe\\x00', b'[1,2,3]',\n"
    "           b'{\"step\":\"x\",\"loss\":1}', b'{\"hello\":\"world\"}']\n"
    "sent = 0\n"
    "for line in open(path, 'rb'):\n"
    "    rec = json.loads(line)\n"
    "    if 'step' in rec and rec.get('event') in (None, 'validation') and rec['step'] <= skip:\n"
    "        continue\n"
    "    s.send(line.rstrip(b'\\n'))\n"
    "    sent += 1\n"
    "    if sent == 3:\n"
    "        for g in garbage:\n"
    "            s.send(g)\n"
    "        s.send_multipart([b'{\"step\":1', b'}'])\n"
    "s.close()\n"
    "ctx.term()\n";

/* Reads what the metrics file says: loss by step, val_loss by step. */
static int read_expected(void) {
    FILE *f = fopen(metrics, "r");
    if (!f) return -1;
    char line[16384];
    for (int i = 0; i <= MAX_STEP; i++) want_loss[i] = want_val[i] = want_lr[i] = want_grad[i] = NAN;
    last_step = 0;
    while (fgets(line, sizeof line, f)) {
        double step = tu_json_number(line, "step");
        if (isnan(step) || step < 1 || step > MAX_STEP) continue;
        if (!strstr(line, "\"event\"")) {
            want_loss[(int)step] = tu_json_number(line, "loss");
            want_lr[(int)step] = tu_json_number(line, "lr");
            want_grad[(int)step] = tu_json_number(line, "grad_norm");
            last_step = (long)step > last_step ? (long)step : last_step;
        } else if (strstr(line, "\"event\":\"validation\""))
            want_val[(int)step] = tu_json_number(line, "val_loss");
    }
    fclose(f);
    return last_step > 0 ? 0 : -1;
}

static int group_setup(void **state) {
    (void)state;
    dir = tu_tmpdir();
    if (!dir) return -1;
    char out[8192];
    snprintf(metrics, sizeof metrics, "%s/m.jsonl", dir);
    if (tu_run(out, sizeof out,
               "head -c 40000 data/tinyshakespeare.txt > %s/t.txt && %s data text %s/t.txt %s/t.h5 --val-fraction 0.1 && "
               "%s train --data %s/t.h5 --embed 16 --hidden 32 --layers 1 --batch 8 --bptt 16 --steps 30 "
               "--val-every 10 --val-streams 4 --quiet --no-monitor --out %s/m.h5 --metrics %s",
               dir, tu_recur(), dir, dir, tu_recur(), dir, dir, metrics)) {
        fprintf(stderr, "%s\n", out);
        return -1;
    }
    char py[4300];
    snprintf(py, sizeof py, "%s/pub.py", dir);
    FILE *f = fopen(py, "w");
    if (!f) return -1;
    fputs(PUBLISHER, f);
    fclose(f);
    return read_expected();
}

static int group_teardown(void **state) {
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

/* A ZeroMQ endpoint of this test run alone: an ipc socket in the scratch
 * directory, so parallel runs of this test (other checkouts, other users)
 * never meet on a TCP port. */
static const char *endpoint(const char *name) {
    static char ep[4400];
    snprintf(ep, sizeof ep, "ipc://%s/%s.ipc", dir, name);
    return ep;
}

/* A CSV cell: a number, or NAN when empty. */
static double cell(const char **p) {
    char *end;
    double v = **p == ',' || **p == '\n' || !**p ? NAN : strtod(*p, &end);
    if (!isnan(v)) *p = end;
    if (**p == ',') (*p)++;
    return v;
}

/* The CSV has one row per step first..last with the metrics file's values
 * (loss_smooth is checked against the EMA reference in test_ema). */
static void check_csv(const char *path, long first, long last) {
    static const char header[] = "step,loss,val_loss,loss_smooth,lr,grad_norm\n";
    char *text = tu_slurp(path, NULL);
    assert_non_null(text);
    assert_true(!strncmp(text, header, strlen(header)));
    const char *p = text + strlen(header);
    long rows = 0;
    for (long step = first; step <= last; step++, rows++) {
        char *end;
        assert_int_equal(strtol(p, &end, 10), step);
        p = end + 1;
        double loss = cell(&p), val = cell(&p);
        assert_true(loss == want_loss[step]); /* %.9g text round-trips the float exactly */
        if (isnan(want_val[step])) assert_true(isnan(val));
        else assert_true(val == want_val[step]);
        double smooth = cell(&p), lr = cell(&p), grad = cell(&p);
        assert_true(isfinite(smooth));
        assert_true(lr == want_lr[step] && grad == want_grad[step]);
        assert_int_equal(*p, '\n');
        p++;
    }
    assert_int_equal(*p, 0);
    assert_int_equal(rows, last_step);
    free(text);
}

static void test_plot_csv_and_svg(void **state) {
    (void)state;
    char out[8192];
    assert_int_equal(tu_run(out, sizeof out, "%s plot %s --csv %s/p.csv --svg %s/p.svg", tu_recur(), metrics, dir, dir), 0);
    check_csv(strcat(strcpy(out, dir), "/p.csv"), 1, last_step);
    int vals = 0;
    for (long s = 1; s <= last_step; s++) vals += !isnan(want_val[s]);
    assert_int_equal(vals, 3);
    assert_int_equal(tu_run(out, sizeof out,
                            TU_PYTHON " -c 'import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])' %s/p.svg", dir),
                     0);
    char path[4300];
    snprintf(path, sizeof path, "%s/p.svg", dir);
    char *svg = tu_slurp(path, NULL);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<polyline"));
    assert_non_null(strstr(svg, ">step</text>"));
    assert_non_null(strstr(svg, ">loss (nats)</text>"));
    assert_non_null(strstr(svg, "viewBox="));
    free(svg);
}

static void test_plot_errors(void **state) {
    (void)state;
    char out[8192];
    assert_int_equal(tu_run(out, sizeof out, "%s plot %s/absent.jsonl --csv %s/x.csv", tu_recur(), dir, dir), 3);
    assert_non_null(strstr(out, "absent.jsonl"));
    assert_int_equal(tu_run(out, sizeof out, "%s plot %s --svg %s/no/such/dir/x.svg", tu_recur(), metrics, dir), 4);
    assert_non_null(strstr(out, "x.svg"));
    assert_int_equal(tu_run(out, sizeof out, "%s plot %s/m.h5 --csv %s/y.csv", tu_recur(), dir, dir), 3);
    assert_false(tu_exists(strcat(strcpy(out, dir), "/y.csv")));
}

/* Starts the monitor in the background, publishes, waits for both. */
static void run_live(const char *extra, long skip, char *out, size_t outlen) {
    const char *ep = endpoint("live");
    assert_int_equal(tu_run(out, outlen,
                            "{ %s monitor %s --csv %s/live.csv --exit-after-end --timeout 30 %s "
                            "> %s/mon.out 2>&1; echo $? > %s/mon.rc; } & "
                            TU_PYTHON " %s/pub.py %s %s %ld; wait",
                            tu_recur(), ep, dir, extra, dir, dir, dir, ep, metrics, skip),
                     0);
    char path[4300];
    snprintf(path, sizeof path, "%s/mon.rc", dir);
    char *rc = tu_slurp(path, NULL);
    snprintf(path, sizeof path, "%s/mon.out", dir);
    char *mon = tu_slurp(path, NULL);
    assert_non_null(rc);
    assert_non_null(mon);
    if (atoi(rc) != 0) fprintf(stderr, "%s\n", mon);
    assert_int_equal(atoi(rc), 0);
    snprintf(out, outlen, "%s", mon);
    free(rc);
    free(mon);
}

static void test_live_subscriber(void **state) {
    (void)state;
    char out[65536], path[4300];
    run_live("", 0, out, sizeof out);
    assert_non_null(strstr(out, "7 malformed, 1 foreign"));
    assert_non_null(strstr(out, "event end"));
    assert_non_null(strstr(out, "step 1 epoch ")); /* whether epochs count from 0 or 1 is train's business */
    check_csv(strcat(strcpy(path, dir), "/live.csv"), 1, last_step);
}

static void test_history_then_live(void **state) {
    (void)state;
    long n = 15;
    char hist[4300], line[16384], out[65536];
    snprintf(hist, sizeof hist, "%s/hist.jsonl", dir);
    FILE *in = fopen(metrics, "r"), *h = fopen(hist, "w");
    assert_non_null(in);
    assert_non_null(h);
    while (fgets(line, sizeof line, in)) {
        double step = tu_json_number(line, "step");
        if (isnan(step) || step <= n) fputs(line, h);
    }
    fclose(in);
    fclose(h);
    char extra[4400];
    snprintf(extra, sizeof extra, "--history %s", hist);
    run_live(extra, n, out, sizeof out);
    assert_null(strstr(out, "step 1 epoch")); /* the early steps came from the file only */
    assert_non_null(strstr(out, "step 16 epoch"));
    check_csv(strcat(strcpy(line, dir), "/live.csv"), 1, last_step);
}

/* The real thing: `recur monitor` subscribed while `mpirun -np 2 recur train
 * --monitor` publishes.  Every record the monitor got equals the metrics
 * file's (records sent before the subscription completes are lost by design;
 * nearly all must arrive). */
static void test_real_mpirun_run(void **state) {
    (void)state;
    char out[65536], csv[4300], m2[4300];
    const char *ep = endpoint("real");
    snprintf(csv, sizeof csv, "%s/real.csv", dir);
    snprintf(m2, sizeof m2, "%s/real.jsonl", dir);
    int rc = tu_run(out, sizeof out,
                    "export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1; "
                    "timeout 240 %s monitor %s --csv %s --exit-after-end --timeout 50 > %s/real.mon 2>&1 & mon=$!; "
                    "sleep 0.3; timeout 240 mpirun --oversubscribe -np 2 %s train --data %s/t.h5 --embed 16 --hidden 192 "
                    "--layers 2 --batch 8 --bptt 64 --steps 300 --val-every 100 --val-streams 4 --quiet "
                    "--monitor %s --out %s/real.h5 --metrics %s || exit 7; wait $mon; echo monitor exit $?",
                    tu_recur(), ep, csv, dir, tu_recur(), dir, ep, dir, m2);
    if (rc != 0 || !strstr(out, "monitor exit 0")) fail_msg("exit %d:\n%s", rc, out);
    /* What the run wrote. */
    static double loss[400], val[400];
    for (int i = 0; i < 400; i++) loss[i] = val[i] = NAN;
    char *text = tu_slurp(m2, NULL), *save = NULL;
    assert_non_null(text);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        long step = (long)tu_json_number(line, "step");
        if (step < 1 || step >= 400) continue;
        if (strstr(line, "\"event\":\"validation\"")) val[step] = tu_json_number(line, "val_loss");
        else if (!strstr(line, "\"event\"")) loss[step] = tu_json_number(line, "loss");
    }
    free(text);
    /* What the monitor received. */
    text = tu_slurp(csv, NULL);
    assert_non_null(text);
    const char *p = strchr(text, '\n') + 1;
    int rows = 0, vals = 0;
    while (*p) {
        char *end;
        long step = strtol(p, &end, 10);
        assert_true(step >= 1 && step <= 300);
        p = end + 1;
        double l = cell(&p), v = cell(&p);
        assert_true(l == (double)(float)loss[step] || fabs(l - loss[step]) <= 1e-9 * fabs(loss[step]));
        if (!isnan(v)) {
            assert_true(fabs(v - val[step]) <= 1e-9 * fabs(val[step]));
            vals++;
        }
        rows++;
        p = strchr(p, '\n') + 1;
    }
    free(text);
    if (rows < 270) fail_msg("the monitor received %d of 300 steps", rows);
    assert_int_equal(vals, 3);
}

/* SIGTERM with nothing published: leaves at once, exit 0, files written. */
static void test_signal_ends_cleanly(void **state) {
    (void)state;
    char out[8192];
    const char *ep = endpoint("sig");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(tu_run(out, sizeof out,
                            "%s monitor %s --history %s --csv %s/sig.csv --svg %s/sig.svg & pid=$!; "
                            "sleep 0.5; kill -TERM $pid; wait $pid",
                            tu_recur(), ep, metrics, dir, dir),
                     0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    assert_true(took < 2.0);
    assert_non_null(strstr(out, "stopped by signal 15"));
    char path[4300];
    check_csv(strcat(strcpy(path, dir), "/sig.csv"), 1, last_step);
    assert_true(tu_exists(strcat(strcpy(path, dir), "/sig.svg")));
}

/* Every truncation of a valid record is rejected; random bytes never crash;
 * a republished step keeps the newest value. */
static void test_parser_robust(void **state) {
    (void)state;
    const char *good = "{\"step\":7,\"epoch\":0,\"loss\":2.5,\"grad_norm\":null,\"lr\":0.002,\"run_id\":\"ab\\\"c\","
                       "\"cfg\":{\"a\":[1,2,{\"b\":\"\\u00e9\"}],\"t\":true},\"eta_s\":3}";
    curve_record r;
    assert_int_equal(curve_parse(good, strlen(good), &r), REC_STEP);
    assert_int_equal(r.step, 7);
    assert_true(r.loss == 2.5 && isnan(r.grad_norm) && r.eta_s == 3);
    assert_string_equal(r.run_id, "ab\"c");
    for (size_t n = 0; n < strlen(good); n++) assert_int_equal(curve_parse(good, n, &r), REC_MALFORMED);
    srand(1);
    char buf[256];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(rand() % (int)sizeof buf);
        for (size_t k = 0; k < n; k++) buf[k] = i % 2 ? (char)(rand() % 256) : "{}[]\",:0123456789.e-ntrul \\"[rand() % 28];
        curve_parse(buf, n, &r);
    }
    char deep[200];
    memset(deep, '[', sizeof deep);
    assert_int_equal(curve_parse(deep, sizeof deep, &r), REC_MALFORMED);
    curve c;
    curve_init(&c);
    const char *a = "{\"step\":5,\"loss\":1}", *b = "{\"step\":5,\"loss\":2}", *v = "{\"event\":\"validation\",\"step\":5,\"val_loss\":3}";
    curve_feed(&c, a, strlen(a), NULL);
    curve_feed(&c, v, strlen(v), NULL);
    curve_feed(&c, b, strlen(b), NULL);
    curve_feed(&c, "{\"x\":1}", 7, NULL);
    curve_feed(&c, "nope", 4, NULL);
    assert_int_equal(c.n, 1);
    assert_true(c.pts[0].v[M_LOSS] == 2 && c.pts[0].v[M_VAL] == 3);
    assert_int_equal(c.malformed, 1);
    assert_int_equal(c.foreign, 1);
    curve_free(&c);
}

/* ---- the drawing -------------------------------------------------------------- */

/* A curve from JSON lines, as the monitor would receive them. */
static void feed_lines(curve *c, const char *text) {
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        curve_feed(c, p, len, NULL);
        p += len + (nl != NULL);
    }
}

/* A curve of `n` steps: loss a + b*exp(-step/tau) (null where no_loss),
 * lr and grad norm, validation every `every` steps from `first_val`. */
static void synth_curve(curve *c, long n, double a, double b, int no_loss, long first_val, long every) {
    char line[256];
    curve_init(c);
    for (long s = 1; s <= n; s++) {
        double loss = a + b * exp(-(double)s / (double)(n / 4 + 1));
        if (no_loss) snprintf(line, sizeof line, "{\"step\":%ld,\"loss\":null,\"lr\":0.001,\"grad_norm\":1}", s);
        else snprintf(line, sizeof line, "{\"step\":%ld,\"loss\":%.9g,\"lr\":%g,\"grad_norm\":%g}", s, loss, 0.001 * s / n,
                      1 + 0.5 * sin((double)s));
        feed_lines(c, line);
        if (s >= first_val && (s - first_val) % every == 0) {
            snprintf(line, sizeof line, "{\"event\":\"validation\",\"step\":%ld,\"val_loss\":%.9g}", s, loss + 0.1);
            feed_lines(c, line);
        }
    }
}

/* The terminal view as text. */
static char *render(const curve_run *runs, int nruns, const curve_style *st, int cols, int rows) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    plot_text(runs, nruns, st, f, cols, rows);
    fclose(f);
    return buf;
}

/* The view decoded: per line its code points, ANSI escapes dropped, and for
 * each code point the colour (SGR text) in effect. */
enum { SCR_LINES = 120, SCR_COLS = 300 };
typedef struct {
    int nlines, len[SCR_LINES];
    unsigned cp[SCR_LINES][SCR_COLS];
    char sgr[SCR_LINES][SCR_COLS][16];
} screen;

static screen *parse_screen(const char *text) {
    screen *s = calloc(1, sizeof *s);
    char sgr[16] = "";
    assert_non_null(s);
    for (const unsigned char *p = (const unsigned char *)text; *p && s->nlines < SCR_LINES;) {
        if (*p == '\n') {
            s->nlines++, p++;
            continue;
        }
        if (*p == 0x1b) { /* ESC [ params letter */
            const unsigned char *q = p + 2;
            while (*q && !((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))) q++;
            if (*q == 'm') snprintf(sgr, sizeof sgr, "%.*s", (int)(q - p - 2), (const char *)p + 2);
            p = q + 1;
            continue;
        }
        unsigned cp = *p++;
        int more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        cp &= more == 3 ? 0x07 : more == 2 ? 0x0F : more == 1 ? 0x1F : 0x7F;
        while (more-- && (*p & 0xC0) == 0x80) cp = cp << 6 | (*p++ & 0x3F);
        int l = s->nlines, k = s->len[l];
        assert_true(k < SCR_COLS);
        s->cp[l][k] = cp;
        snprintf(s->sgr[l][k], sizeof s->sgr[l][k], "%s", sgr);
        s->len[l]++;
    }
    return s;
}

enum { AXIS_COL = 8, FIRST_CELL = 9, BOX_CORNER = 0x2514, MARKER = 0x25C6, TICK_LEFT = 0x2524 };

static int is_braille(unsigned cp) { return cp >= 0x2800 && cp <= 0x28FF; }

/* The line holding the step axis (└ in the axis column). */
static int axis_line(const screen *s) {
    for (int l = 0; l < s->nlines; l++)
        if (s->len[l] > AXIS_COL && s->cp[l][AXIS_COL] == BOX_CORNER) return l;
    fail_msg("no step axis");
    return -1;
}

/* The labels line as plain ASCII. */
static void ascii_line(const screen *s, int l, char *out, size_t cap) {
    size_t n = 0;
    for (int k = 0; k < s->len[l] && n + 1 < cap; k++) out[n++] = s->cp[l][k] < 128 ? (char)s->cp[l][k] : '?';
    out[n] = 0;
}

/* Validation every 50 steps, no train loss: the line joins the validation
 * points only; nothing is drawn left of the first one (the old code drew
 * from the top-left corner to it). */
static void test_text_leading_nan(void **state) {
    (void)state;
    curve c;
    synth_curve(&c, 300, 2, 2, 1, 50, 50);
    curve_run run = {&c, "t"};
    for (int color = 0; color < 2; color++) {
        curve_style st = {.smooth = 0, .color = color};
        char *text = render(&run, 1, &st, 80, 24);
        screen *s = parse_screen(text);
        int xline = axis_line(s), first_col = 1 << 30, first_row = -1, marks = 0;
        for (int l = 1; l < xline; l++)
            for (int k = FIRST_CELL; k < s->len[l]; k++)
                if (s->cp[l][k] == MARKER) {
                    marks++;
                    if (k < first_col) first_col = k, first_row = l;
                }
        assert_int_equal(marks, 6);
        assert_true(first_row == 1); /* the first validation loss is the highest */
        for (int l = 1; l < xline; l++)
            for (int k = FIRST_CELL; k < first_col && k < s->len[l]; k++)
                if (s->cp[l][k] != ' ') fail_msg("color %d: cell set at line %d column %d, left of the first point", color, l, k);
        free(s);
        free(text);
    }
    curve_free(&c);
}

/* The step axis ends with the last step in full, inside the width, and has
 * at least 3 ticks whose labels increase without touching; the y axis of
 * the loss has at least 3 labelled ticks. */
static void test_text_axes(void **state) {
    (void)state;
    curve c;
    synth_curve(&c, 1500, 2, 2, 0, 100, 100);
    curve_run run = {&c, "t"};
    curve_style st = {.smooth = 0.6, .color = 0};
    for (int cols = 40; cols <= 130; cols += 30) {
        char *text = render(&run, 1, &st, cols, 24), labels[SCR_COLS];
        screen *s = parse_screen(text);
        int xline = axis_line(s), yticks = 0, xmarks = 0;
        assert_int_equal(s->nlines, 24);
        for (int l = 0; l < s->nlines; l++) assert_true(s->len[l] <= cols);
        for (int l = 1; l < xline; l++) yticks += s->cp[l][AXIS_COL] == TICK_LEFT;
        for (int k = FIRST_CELL; k < s->len[xline]; k++) xmarks += s->cp[xline][k] == 0x252C;
        assert_true(yticks >= 3);
        assert_true(xmarks >= 3);
        ascii_line(s, xline + 1, labels, sizeof labels);
        size_t len = strlen(labels);
        assert_true(len >= 4 && !strcmp(labels + len - 5, " 1500")); /* the end label whole, at the right edge */
        int n = 0;
        double prev = -1;
        for (char *p = labels + FIRST_CELL, *end; *p; p = end) {
            double v = strtod(p, &end);
            if (end == p) {
                end = p + 1;
                continue;
            }
            assert_true(v > prev);
            assert_true(*end == ' ' || !*end); /* labels never run into each other */
            prev = v, n++;
        }
        assert_true(n >= 3);
        free(s);
        free(text);
    }
    curve_free(&c);
}

/* Ticks are 1, 2 or 5 x 10^k apart, at least 3, inside the range. */
static void test_axis_ticks(void **state) {
    (void)state;
    const double ranges[][2] = {{1, 1500}, {2.01, 4.17}, {0, 0.002}, {0.25, 0.61}, {5000, 5003}, {-3, 7}, {1e-7, 3e-7}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        axis a;
        axis_fit(&a, ranges[i][0], ranges[i][1], 0, 6, 0);
        assert_true(a.nticks >= 3 && a.nticks <= 6);
        double step = a.ticks[1] - a.ticks[0], mant = step / pow(10, floor(log10(step) + 1e-9));
        assert_true(fabs(mant - 1) < 1e-6 || fabs(mant - 2) < 1e-6 || fabs(mant - 5) < 1e-6);
        for (int t = 0; t < a.nticks; t++) {
            assert_true(a.ticks[t] >= ranges[i][0] - 1e-12 && a.ticks[t] <= ranges[i][1] + 1e-12);
            assert_true(fabs(a.ticks[t] / step - round(a.ticks[t] / step)) < 1e-6);
        }
    }
}

/* Train and validation differ: without colour validation points are a
 * marker glyph, train braille; with colour they differ in colour too, and the
 * legend names both. */
static void test_train_val_distinct(void **state) {
    (void)state;
    curve c;
    synth_curve(&c, 200, 2, 2, 0, 20, 20);
    curve_run run = {&c, "t"};
    for (int color = 0; color < 2; color++) {
        curve_style st = {.smooth = 0, .color = color};
        char *text = render(&run, 1, &st, 80, 20), legend[SCR_COLS];
        screen *s = parse_screen(text);
        int xline = axis_line(s), marks = 0, braille = 0, other_colour = 0;
        char val_sgr[16] = "";
        for (int l = 1; l < xline; l++)
            for (int k = FIRST_CELL; k < s->len[l]; k++)
                if (s->cp[l][k] == MARKER) marks++, snprintf(val_sgr, sizeof val_sgr, "%s", s->sgr[l][k]);
        for (int l = 1; l < xline; l++)
            for (int k = FIRST_CELL; k < s->len[l]; k++)
                if (is_braille(s->cp[l][k])) braille++, other_colour += strcmp(s->sgr[l][k], val_sgr) != 0;
        assert_int_equal(marks, 10);
        assert_true(braille > 20);
        if (color) assert_true(val_sgr[0] && other_colour > 20); /* the train cells are another colour */
        ascii_line(s, 0, legend, sizeof legend);
        assert_non_null(strstr(legend, "train"));
        assert_non_null(strstr(legend, "validation"));
        free(s);
        free(text);
    }
    curve_free(&c);
}

/* The reference: each smoothed value is the average of the values so far
 * weighted (1-w) w^age, divided by the weights' sum (the debiasing). */
static double ema_reference(const double *v, int upto, double w) {
    double num = 0, den = 0, age_w = 1;
    for (int j = upto; j >= 0; j--) {
        if (isnan(v[j])) continue;
        num += (1 - w) * age_w * v[j];
        den += (1 - w) * age_w;
        age_w *= w;
    }
    return num / den;
}

static void test_ema(void **state) {
    (void)state;
    const double vals[] = {4, 3.5, NAN, 3.9, 2.0, 2.2, NAN, NAN, 1.5, 1.7};
    enum { N = sizeof vals / sizeof vals[0] };
    curve c;
    curve_init(&c);
    char line[128];
    for (int i = 0; i < N; i++) {
        if (isnan(vals[i])) snprintf(line, sizeof line, "{\"step\":%d,\"loss\":null}", i + 1);
        else snprintf(line, sizeof line, "{\"step\":%d,\"loss\":%g}", i + 1, vals[i]);
        feed_lines(&c, line);
    }
    double out[N];
    const double weights[] = {0.6, 0.9, 0.3};
    for (int k = 0; k < 3; k++) {
        curve_ema(&c, M_LOSS, weights[k], out);
        for (int i = 0; i < N; i++) {
            if (isnan(vals[i])) assert_true(isnan(out[i]));
            else assert_true(fabs(out[i] - ema_reference(vals, i, weights[k])) < 1e-12);
        }
        assert_true(out[0] == 4); /* debiased: the first value is itself, not 0.4 x it */
    }
    curve_ema(&c, M_LOSS, 0, out);
    for (int i = 0; i < N; i++) assert_true(isnan(vals[i]) ? isnan(out[i]) : out[i] == vals[i]);
    curve_free(&c);
    /* The CLI's loss_smooth column: the same reference over the run's losses. */
    char out_text[8192], path[4300];
    assert_int_equal(tu_run(out_text, sizeof out_text, "%s plot %s --smooth 0.6 --csv %s/ema.csv", tu_recur(), metrics, dir), 0);
    snprintf(path, sizeof path, "%s/ema.csv", dir);
    char *text = tu_slurp(path, NULL);
    assert_non_null(text);
    const char *p = strchr(text, '\n') + 1;
    for (long step = 1; step <= last_step; step++) {
        char *end;
        assert_int_equal(strtol(p, &end, 10), step);
        p = end + 1;
        cell(&p), cell(&p);
        double smooth = cell(&p);
        assert_true(fabs(smooth - ema_reference(want_loss + 1, (int)step - 1, 0.6)) < 1e-6);
        p = strchr(p, '\n') + 1;
    }
    free(text);
    assert_int_not_equal(tu_run(out_text, sizeof out_text, "%s plot %s --smooth 1", tu_recur(), metrics), 0);
    assert_non_null(strstr(out_text, "--smooth"));
}

/* The y of a tick label in the SVG's loss panel (NAN when absent). */
static double svg_ytick(const char *svg, const char *label) {
    const char *end = strstr(svg, "<g class=\"panel lr\">");
    char pat[64];
    snprintf(pat, sizeof pat, ">%s</text>", label);
    for (const char *p = strstr(svg, "class=\"ytick\""); p && (!end || p < end); p = strstr(p + 1, "class=\"ytick\"")) {
        const char *close = strstr(p, "</text>");
        if (close && !strncmp(close - strlen(label) - 1, pat, strlen(pat))) return strtod(strstr(p, "y=\"") + 3, NULL);
    }
    return NAN;
}

/* A loss falling from 100 to 0.01: on --log-y the decades are evenly spaced;
 * a value <= 0 is left out with a note. */
static void test_log_y(void **state) {
    (void)state;
    axis a;
    axis_fit(&a, 0.013, 97, 1, 8, 0);
    assert_true(a.nticks >= 3);
    double d1 = axis_frac(&a, 1) - axis_frac(&a, 0.1), d2 = axis_frac(&a, 10) - axis_frac(&a, 1);
    assert_true(d1 > 0 && fabs(d1 - d2) < 1e-12);
    char path[4300], svgpath[4300], out[8192];
    snprintf(path, sizeof path, "%s/decades.jsonl", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int s = 1; s <= 400; s++) fprintf(f, "{\"step\":%d,\"loss\":%.9g,\"lr\":0.001,\"grad_norm\":1}\n", s, 100 * pow(1e-4, (s - 1) / 399.0));
    fprintf(f, "{\"step\":401,\"loss\":0}\n");
    fclose(f);
    snprintf(svgpath, sizeof svgpath, "%s/decades.svg", dir);
    assert_int_equal(tu_run(out, sizeof out, "%s plot %s --log-y --svg %s", tu_recur(), path, svgpath), 0);
    assert_non_null(strstr(out, "left out 1 loss value"));
    char *svg = tu_slurp(svgpath, NULL);
    assert_non_null(svg);
    double y[5];
    const char *labels[5] = {"0.01", "0.1", "1", "10", "100"};
    for (int i = 0; i < 5; i++) {
        y[i] = svg_ytick(svg, labels[i]);
        assert_false(isnan(y[i]));
    }
    for (int i = 1; i < 4; i++) assert_true(fabs((y[i] - y[i + 1]) - (y[0] - y[1])) < 0.2);
    assert_true(y[0] > y[4]); /* small values at the bottom */
    free(svg);
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Two metrics files on one plot: two legend entries with the files' names,
 * two smoothed loss polylines in different colours, a run column in the CSV. */
static void test_two_runs(void **state) {
    (void)state;
    char out[8192], other[4300], svgpath[4300], csvpath[4300];
    snprintf(other, sizeof other, "%s/second.jsonl", dir);
    assert_int_equal(tu_run(out, sizeof out, "sed 's/\"loss\":\\([0-9.]*\\)/\"loss\":\\1e0/' %s > %s", metrics, other), 0);
    snprintf(svgpath, sizeof svgpath, "%s/two.svg", dir);
    snprintf(csvpath, sizeof csvpath, "%s/two.csv", dir);
    assert_int_equal(tu_run(out, sizeof out, "%s plot %s %s --svg %s --csv %s", tu_recur(), metrics, other, svgpath, csvpath), 0);
    char *svg = tu_slurp(svgpath, NULL);
    assert_non_null(svg);
    assert_int_equal(count(svg, "class=\"entry\""), 2);
    assert_non_null(strstr(svg, "\">m</text>"));
    assert_non_null(strstr(svg, "\">second</text>"));
    assert_int_equal(count(svg, "class=\"loss smooth\""), 2);
    const char *a = strstr(svg, "class=\"loss smooth\" stroke=\""), *b = strstr(a + 1, "class=\"loss smooth\" stroke=\"");
    assert_true(strncmp(a + 28, b + 28, 7) != 0);
    free(svg);
    char *csv = tu_slurp(csvpath, NULL);
    assert_non_null(csv);
    assert_true(!strncmp(csv, "run,step,", 9));
    assert_int_equal(count(csv, "\nm,"), last_step);
    assert_int_equal(count(csv, "\nsecond,"), last_step);
    free(csv);
}

/* Values no plot can take (a diverging 1e308, 1e400 which parses as inf, a
 * -1e308 grad norm, an overflowing validation loss) are skipped and counted
 * in a note naming the metric and the steps; the SVG and CSV hold no nan or
 * inf, and the finite points are still drawn on a sane axis. */
static void test_plot_non_finite(void **state) {
    (void)state;
    char out[8192], path[4300], svgpath[4300], csvpath[4300];
    snprintf(path, sizeof path, "%s/huge.jsonl", dir);
    snprintf(svgpath, sizeof svgpath, "%s/huge.svg", dir);
    snprintf(csvpath, sizeof csvpath, "%s/huge.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int step = 1; step <= 12; step++) {
        const char *loss = step == 5 ? "1e308" : step == 9 ? "1e400" : "2.5";
        fprintf(f, "{\"step\":%d,\"loss\":%s,\"lr\":0.01,\"grad_norm\":%s}\n", step, loss, step == 7 ? "-1e308" : "1.5");
    }
    fputs("{\"event\":\"validation\",\"step\":12,\"val_loss\":-1e309}\n", f);
    fclose(f);
    for (int log_y = 0; log_y < 2; log_y++) {
        assert_int_equal(tu_run(out, sizeof out, "%s plot %s --svg %s --csv %s %s", tu_recur(), path, svgpath, csvpath,
                                log_y ? "--log-y" : ""), 0);
        assert_non_null(strstr(out, "huge.jsonl: skipped 4 "));
        assert_non_null(strstr(out, "(loss at steps 5, 9; val_loss at step 12; grad_norm at step 7)"));
        char *svg = tu_slurp(svgpath, NULL), *csv = tu_slurp(csvpath, NULL);
        assert_non_null(svg);
        assert_non_null(csv);
        for (const char *bad = "nan\0inf\0NaN\0Inf\0"; *bad; bad += strlen(bad) + 1) {
            assert_null(strstr(svg, bad));
            assert_null(strstr(csv, bad));
        }
        assert_int_equal(count(svg, "class=\"loss raw\""), 3); /* the line breaks at steps 5 and 9 */
        assert_non_null(strstr(csv, "\n4,2.5,"));
        assert_non_null(strstr(csv, "\n5,,"));
        free(svg);
        free(csv);
    }
}

/* Flat and extreme but finite series keep finite axes: a constant 1e20 loss,
 * and on a log axis a subnormal next to 1e300. */
static void test_plot_extreme_axes(void **state) {
    (void)state;
    char out[8192], path[4300], svgpath[4300];
    snprintf(path, sizeof path, "%s/extreme.jsonl", dir);
    snprintf(svgpath, sizeof svgpath, "%s/extreme.svg", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int step = 1; step <= 6; step++)
        fprintf(f, "{\"step\":%d,\"loss\":1e20,\"grad_norm\":%s}\n", step, step % 2 ? "1e-320" : "1e300");
    fclose(f);
    for (int log_y = 0; log_y < 2; log_y++) {
        assert_int_equal(tu_run(out, sizeof out, "timeout 20 %s plot %s --svg %s %s", tu_recur(), path, svgpath,
                                log_y ? "--log-y" : ""), 0);
        char *svg = tu_slurp(svgpath, NULL);
        assert_non_null(svg);
        assert_null(strstr(svg, "nan"));
        assert_null(strstr(svg, "inf"));
        assert_non_null(strstr(svg, "class=\"loss raw\""));
        free(svg);
    }
}


/* The SVG has lr and grad-norm panels below the loss; the terminal view has
 * them with panels on, and not without. */
static void test_panels(void **state) {
    (void)state;
    char out[8192], path[4300];
    snprintf(path, sizeof path, "%s/panels.svg", dir);
    assert_int_equal(tu_run(out, sizeof out, "%s plot %s --svg %s", tu_recur(), metrics, path), 0);
    char *svg = tu_slurp(path, NULL);
    assert_non_null(svg);
    const char *loss = strstr(svg, "<g class=\"panel loss\">"), *lr = strstr(svg, "<g class=\"panel lr\">"),
               *grad = strstr(svg, "<g class=\"panel grad_norm\">");
    assert_true(loss && lr && grad && loss < lr && lr < grad);
    assert_non_null(strstr(lr, "<polyline"));
    assert_non_null(strstr(grad, "<polyline"));
    assert_non_null(strstr(svg, ">learning rate</text>"));
    assert_non_null(strstr(svg, ">grad norm</text>"));
    free(svg);
    curve c;
    synth_curve(&c, 300, 2, 2, 0, 50, 50);
    curve_run run = {&c, "t"};
    for (int panels = 0; panels < 2; panels++) {
        curve_style st = {.smooth = 0.6, .panels = panels};
        char *text = render(&run, 1, &st, 100, 40);
        assert_true((strstr(text, "learning rate") != NULL) == panels);
        assert_true((strstr(text, "grad norm") != NULL) == panels);
        screen *s = parse_screen(text);
        assert_int_equal(s->nlines, 40);
        free(s);
        free(text);
    }
    curve_free(&c);
}

/* Smoothing on: the raw curve stays beside the EMA, dimmed with colour and
 * faint in the SVG. */
static void test_raw_beside_smooth(void **state) {
    (void)state;
    curve c;
    synth_curve(&c, 300, 2, 2, 0, 50, 50);
    curve_run run = {&c, "t"};
    curve_style st = {.smooth = 0.9, .color = 1};
    char *text = render(&run, 1, &st, 100, 24);
    assert_non_null(strstr(text, "\x1b[2;36m")); /* raw: dim cyan */
    assert_non_null(strstr(text, "\x1b[36m"));   /* EMA: cyan */
    free(text);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    plot_svg(&run, 1, &st, "t", f);
    fclose(f);
    assert_non_null(strstr(buf, "class=\"loss raw\" stroke=\"#1f77b4\" stroke-width=\"1.2\" stroke-opacity=\"0.25\""));
    assert_non_null(strstr(buf, "class=\"loss smooth\""));
    free(buf);
    curve_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_robust),
        cmocka_unit_test(test_plot_csv_and_svg),
        cmocka_unit_test(test_plot_errors),
        cmocka_unit_test(test_plot_non_finite),
        cmocka_unit_test(test_plot_extreme_axes),
        cmocka_unit_test(test_live_subscriber),
        cmocka_unit_test(test_history_then_live),
        cmocka_unit_test(test_signal_ends_cleanly),
        cmocka_unit_test(test_real_mpirun_run),
        cmocka_unit_test(test_text_leading_nan),
        cmocka_unit_test(test_text_axes),
        cmocka_unit_test(test_axis_ticks),
        cmocka_unit_test(test_train_val_distinct),
        cmocka_unit_test(test_ema),
        cmocka_unit_test(test_log_y),
        cmocka_unit_test(test_two_runs),
        cmocka_unit_test(test_panels),
        cmocka_unit_test(test_raw_beside_smooth),
    };
    return cmocka_run_group_tests_name("monitor", tests, group_setup, group_teardown);
}
