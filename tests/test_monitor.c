/* `recur plot` and `recur monitor`: the CSV holds exactly the metrics file's
 * losses, the SVG is XML with the curve and axis titles, the live subscriber
 * receives a real run's records over ZeroMQ (published by a small pyzmq
 * script, with garbage mixed in), --history joins a run late, signals end it
 * cleanly; and the record parser survives truncated and random input. */
#include "test_util.h"

#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "../coordinator/curve.h"

enum { MAX_STEP = 1000 };

static char *dir;
static char metrics[4200];
static double want_loss[MAX_STEP + 1], want_val[MAX_STEP + 1];
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
    for (int i = 0; i <= MAX_STEP; i++) want_loss[i] = want_val[i] = NAN;
    last_step = 0;
    while (fgets(line, sizeof line, f)) {
        double step = tu_json_number(line, "step");
        if (isnan(step) || step < 1 || step > MAX_STEP) continue;
        if (!strstr(line, "\"event\"")) {
            want_loss[(int)step] = tu_json_number(line, "loss");
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

/* A TCP port nobody listens on right now (the kernel's pick). */
static int free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* A CSV cell: a number, or NAN when empty. */
static double cell(const char **p) {
    char *end;
    double v = **p == ',' || **p == '\n' || !**p ? NAN : strtod(*p, &end);
    if (!isnan(v)) *p = end;
    if (**p == ',') (*p)++;
    return v;
}

/* The CSV has one row per step first..last with the metrics file's values. */
static void check_csv(const char *path, long first, long last) {
    char *text = tu_slurp(path, NULL);
    assert_non_null(text);
    assert_true(!strncmp(text, "step,loss,val_loss\n", 19));
    const char *p = text + 19;
    long rows = 0;
    for (long step = first; step <= last; step++, rows++) {
        char *end;
        assert_int_equal(strtol(p, &end, 10), step);
        p = end + 1;
        double loss = cell(&p), val = cell(&p);
        assert_true(loss == want_loss[step]); /* %.9g text round-trips the float exactly */
        if (isnan(want_val[step])) assert_true(isnan(val));
        else assert_true(val == want_val[step]);
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
    int port = free_port();
    assert_int_equal(tu_run(out, outlen,
                            "{ %s monitor tcp://127.0.0.1:%d --csv %s/live.csv --exit-after-end --timeout 30 %s "
                            "> %s/mon.out 2>&1; echo $? > %s/mon.rc; } & "
                            TU_PYTHON " %s/pub.py tcp://127.0.0.1:%d %s %ld; wait",
                            tu_recur(), port, dir, extra, dir, dir, dir, port, metrics, skip),
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
    assert_non_null(strstr(out, "step 1 epoch 0 loss"));
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
    const int port = free_port();
    snprintf(csv, sizeof csv, "%s/real.csv", dir);
    snprintf(m2, sizeof m2, "%s/real.jsonl", dir);
    int rc = tu_run(out, sizeof out,
                    "export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1; "
                    "timeout 60 %s monitor tcp://127.0.0.1:%d --csv %s --exit-after-end --timeout 50 > %s/real.mon 2>&1 & mon=$!; "
                    "sleep 0.3; timeout 60 mpirun --oversubscribe -np 2 %s train --data %s/t.h5 --embed 16 --hidden 192 "
                    "--layers 2 --batch 8 --bptt 64 --steps 300 --val-every 100 --val-streams 4 --quiet "
                    "--monitor tcp://127.0.0.1:%d --out %s/real.h5 --metrics %s || exit 7; wait $mon; echo monitor exit $?",
                    tu_recur(), port, csv, dir, tu_recur(), dir, port, dir, m2);
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
    int port = free_port();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(tu_run(out, sizeof out,
                            "%s monitor tcp://127.0.0.1:%d --history %s --csv %s/sig.csv --svg %s/sig.svg & pid=$!; "
                            "sleep 0.5; kill -TERM $pid; wait $pid",
                            tu_recur(), port, metrics, dir, dir),
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
    assert_true(c.pts[0].loss == 2 && c.pts[0].val == 3);
    assert_int_equal(c.malformed, 1);
    assert_int_equal(c.foreign, 1);
    curve_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_robust),
        cmocka_unit_test(test_plot_csv_and_svg),
        cmocka_unit_test(test_plot_errors),
        cmocka_unit_test(test_live_subscriber),
        cmocka_unit_test(test_history_then_live),
        cmocka_unit_test(test_signal_ends_cleanly),
        cmocka_unit_test(test_real_mpirun_run),
    };
    return cmocka_run_group_tests_name("monitor", tests, group_setup, group_teardown);
}
