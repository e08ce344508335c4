/* recur plot METRICS.jsonl   - the loss curve of a metrics file as CSV/SVG.
 * recur monitor [ENDPOINT]   - a live view of a run: subscribes to the
 * records the training coordinator publishes over ZeroMQ (one JSON record per
 * message), shows them (a redrawn terminal view, or one line per record when
 * stdout is not a terminal) and writes the same CSV/SVG as `plot` on exit. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "curve.h"
#include "plot.h"

/* ---- shared by plot and monitor -------------------------------------------- */

enum { MAX_RUNS = 16 };

/* The drawing options both commands take (one table, so they stay alike). */
typedef struct {
    double smooth;
    int log_y, panels;
} view_opts;

#define VIEW_OPTS(v)                                                                                                  \
    {"smooth", OPT_DOUBLE, &(v).smooth, "W",                                                                         \
     "EMA weight in [0,1) of the smoothed curve drawn over the faint raw one (TensorBoard's; 0 = off)", 0, 1, 0},      \
    {"log-y", OPT_FLAG, &(v).log_y, NULL, "log-scale y axes (values <= 0 are left out, with a note)", 0, 0, 0}

static int check_view(const view_opts *v, recur_err *err) {
    if (v->smooth >= 1) return recur_fail(err, RECUR_EXIT_USAGE, "--smooth %g: the EMA weight must be below 1 (0 = off)", v->smooth);
    return 0;
}

static curve_style style_of(const view_opts *v, int color) {
    return (curve_style){.smooth = v->smooth, .log_y = v->log_y, .panels = v->panels, .color = color};
}

/* A log axis cannot show values <= 0: say how many of which were left out. */
static void note_nonpositive(const char *cmd, const curve_run *runs, int nruns, const curve_style *st) {
    static const char *const names[M_COUNT] = {"loss", "validation loss", "lr", "grad norm"};
    for (int r = 0; st->log_y && r < nruns; r++)
        for (int m = 0; m < M_COUNT; m++) {
            long n = curve_nonpositive(runs[r].c, (metric)m);
            if (n) fprintf(stderr, "recur %s: --log-y: %s: left out %ld %s value%s <= 0\n", cmd, runs[r].name, n,
                           names[m], n == 1 ? "" : "s");
        }
}

/* Values too large to draw were left out of a curve: say which. */
static void note_skipped(const char *cmd, const char *name, const curve *c) {
    char note[512];
    if (curve_skip_note(c, note, sizeof note)) fprintf(stderr, "recur %s: %s: %s\n", cmd, name, note);
}

typedef struct {
    const curve_run *runs;
    int nruns;
    const curve_style *st;
    const char *title;
} rendering;

static void render_csv(void *ctx, FILE *f) {
    const rendering *r = ctx;
    curve_csv(r->runs, r->nruns, r->st, f);
}

static void render_svg(void *ctx, FILE *f) {
    const rendering *r = ctx;
    plot_svg(r->runs, r->nruns, r->st, r->title, f);
}

static int write_outputs(const rendering *r, const char *csv, const char *svg, recur_err *err) {
    if (csv[0] && curve_write(csv, render_csv, (void *)r, err)) return -1;
    if (svg[0] && curve_write(svg, render_svg, (void *)r, err)) return -1;
    return 0;
}

/* ---- recur plot ---------------------------------------------------------- */

static long count_val(const curve *c) {
    long n = 0;
    for (size_t i = 0; i < c->n; i++) n += isfinite(c->pts[i].v[M_VAL]) != 0;
    return n;
}

/* A file's legend name: its basename without .jsonl; when two runs would
 * share one (runs/a/metrics.jsonl, runs/b/metrics.jsonl), the run ids, or
 * failing those the paths as given. */
static void name_runs(curve_run *runs, int n, char *const *paths, char names[][CLI_STR]) {
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
        size_t len = strlen(base);
        if (len > 6 && !strcmp(base + len - 6, ".jsonl")) len -= 6;
        snprintf(names[i], CLI_STR, "%.*s", (int)len, base);
    }
    for (int pass = 0; pass < 2; pass++) {
        int clash = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) clash |= !strcmp(names[i], names[j]);
        if (!clash) break;
        for (int i = 0; i < n; i++)
            snprintf(names[i], CLI_STR, "%s", pass == 0 && runs[i].c->run_id[0] ? runs[i].c->run_id : paths[i]);
    }
    for (int i = 0; i < n; i++) runs[i].name = names[i];
}

static int load_runs(curve *curves, curve_run *runs, int n, char *const *paths, recur_err *err) {
    for (int i = 0; i < n; i++) {
        runs[i].c = &curves[i];
        if (curve_load(&curves[i], paths[i], err)) return -1;
        fprintf(stderr, "recur plot: %s: %zu steps, %ld validation points, %ld malformed and %ld foreign lines\n",
                paths[i], curves[i].n, count_val(&curves[i]), curves[i].malformed, curves[i].foreign);
        note_skipped("plot", paths[i], &curves[i]);
    }
    return 0;
}

int cmd_plot(int argc, char **argv) {
    static const char synopsis[] = "METRICS.jsonl... [--svg FILE] [--csv FILE] [--smooth W] [--log-y]   "
                                   "(no output flag: CSV on stdout)";
    char svg[CLI_STR] = "", csv[CLI_STR] = "";
    view_opts v = {.smooth = 0.6};
    opt_spec tab[] = {
        {"svg", OPT_STR, svg, "FILE", "write the plot (loss, lr and grad-norm panels) as a standalone SVG", 0, 0, 0},
        {"csv", OPT_STR, csv, "FILE", "write step,loss,val_loss,loss_smooth,lr,grad_norm as CSV ('-' for stdout)", 0, 0, 0},
        VIEW_OPTS(v),
    };
    recur_err err = {0};
    char *pos[MAX_RUNS];
    int npos, rc = cli_parse("plot", synopsis, tab, 4, argc, argv, pos, MAX_RUNS, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("plot", &err);
    if (npos < 1) {
        recur_fail(&err, RECUR_EXIT_USAGE, "usage: recur plot %s", synopsis);
        return report_error("plot", &err);
    }
    if (check_view(&v, &err)) return report_error("plot", &err);
    if (!svg[0] && !csv[0]) strcpy(csv, "-");
    static curve curves[MAX_RUNS];
    static char names[MAX_RUNS][CLI_STR];
    curve_run runs[MAX_RUNS];
    for (int i = 0; i < npos; i++) curve_init(&curves[i]);
    curve_style st = style_of(&v, 0);
    rc = load_runs(curves, runs, npos, pos, &err);
    if (!rc) {
        name_runs(runs, npos, pos, names);
        note_nonpositive("plot", runs, npos, &st);
        rendering r = {runs, npos, &st, npos == 1 ? pos[0] : "loss"};
        rc = write_outputs(&r, csv, svg, &err);
    }
    for (int i = 0; i < npos; i++) curve_free(&curves[i]);
    return rc ? report_error("plot", &err) : 0;
}

/* ---- recur monitor: state and display ------------------------------------ */

/* The only globals: what the signal handlers tell the loop. */
static volatile sig_atomic_t stop_signal, winch_signal;

static void on_stop(int sig) { stop_signal = sig; }
static void on_winch(int sig) { (void)sig; winch_signal = 1; }

typedef struct {
    const char *endpoint;
    int tty, cols, rows;
    curve c;
    curve_record last;    /* newest step record */
    double val_loss;      /* newest validation */
    long val_step;
    char run_id[64];
    const char *status;
    int ended;
    double last_msg, last_draw;
    int dirty;
    view_opts view;
    int color;            /* stdout is a terminal that takes ANSI colours */
} monitor;

/* Colour unless the terminal cannot (TERM=dumb) or the user asked not to
 * (NO_COLOR, https://no-color.org). */
static int color_terminal(void) {
    const char *term = getenv("TERM"), *no = getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) && !(no && *no) && !(term && !strcmp(term, "dumb"));
}

/* The run as drawn: its own id as its name. */
static rendering monitor_rendering(const monitor *m, curve_style *st, curve_run *run) {
    *run = (curve_run){&m->c, m->c.run_id[0] ? m->c.run_id : m->endpoint};
    return (rendering){run, 1, st, m->endpoint};
}

static void term_size(monitor *m) {
    struct winsize ws;
    m->cols = 80, m->rows = 24;
    if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 0 && ws.ws_row > 0) m->cols = ws.ws_col, m->rows = ws.ws_row;
}

/* "%.*f" of v, "%.4g" when that would be long (a diverging 1e308 has 309
 * digits), or "-" when absent or not finite. */
static const char *num(char *buf, size_t len, double v, int prec) {
    if (!isfinite(v)) snprintf(buf, len, "-");
    else if (fabs(v) < 1e9) snprintf(buf, len, "%.*f", prec, v);
    else snprintf(buf, len, "%.4g", v);
    return buf;
}

/* "%g" of v, or "-" when absent or not finite. */
static const char *num_g(char *buf, size_t len, double v) {
    if (isfinite(v)) snprintf(buf, len, "%.3g", v);
    else snprintf(buf, len, "-");
    return buf;
}

/* A duration, or "-" when absent or beyond any real run (a long can hold
 * the seconds format_duration rounds to). */
static const char *dur(char *buf, size_t len, double s) {
    if (fabs(s) < 1e12) format_duration(s, buf, len);
    else snprintf(buf, len, "-");
    return buf;
}

static void draw_header(const monitor *m, FILE *f) {
    const curve_record *r = &m->last;
    char a[32], b[32], c[32], d[32], e[32], g[32], h[32];
    fprintf(f, "\x1b[1mrecur monitor\x1b[0m  %s  run %s  [%s]\x1b[K\n", m->endpoint, m->run_id[0] ? m->run_id : "-",
            m->status);
    fprintf(f, "step %ld  epoch %ld  loss %s  val loss %s (step %ld)  lr %s  grad norm %s\x1b[K\n", r->step, r->epoch,
            num(a, sizeof a, r->loss, 4), num(b, sizeof b, m->val_loss, 4), m->val_step,
            num_g(c, sizeof c, r->lr), num(d, sizeof d, r->grad_norm, 3));
    fprintf(f, "tokens/s %s  elapsed %s  ETA %s  records %ld  malformed %ld  foreign %ld\x1b[K\n",
            num(e, sizeof e, r->tokens_per_s, 0), dur(g, sizeof g, r->elapsed_s), dur(h, sizeof h, r->eta_s),
            m->c.records, m->c.malformed, m->c.foreign);
}

/* Home, overwrite every line (clearing its tail), clear below: no flicker. */
static void draw(monitor *m) {
    FILE *f = stdout;
    curve_style st = style_of(&m->view, m->color);
    curve_run run;
    st.panels |= m->rows >= 30; /* tall enough for lr and grad norm below the loss */
    monitor_rendering(m, &st, &run);
    fputs("\x1b[H", f);
    draw_header(m, f);
    /* The last column and line stay empty: with wrapping off, the erase after
     * a character written in the last column would take that character. */
    plot_text(&run, 1, &st, f, m->cols - 1, m->rows - 4);
    fputs("\x1b[J", f);
    fflush(f);
    m->last_draw = now_seconds();
    m->dirty = 0;
}

/* One plain line per record, for logs and pipes. */
static void print_plain(const monitor *m, const curve_record *r, size_t len) {
    char a[32], b[32], c[32], d[32], e[32], f[32];
    switch (r->kind) {
    case REC_STEP:
        printf("step %ld epoch %ld loss %s lr %s grad_norm %s tokens/s %s elapsed %s eta %s\n", r->step, r->epoch,
               num(a, sizeof a, r->loss, 6), num_g(f, sizeof f, r->lr), num(b, sizeof b, r->grad_norm, 4),
               num(c, sizeof c, r->tokens_per_s, 0), dur(d, sizeof d, r->elapsed_s), dur(e, sizeof e, r->eta_s));
        break;
    case REC_VALIDATION: printf("step %ld val_loss %s\n", r->step, num(a, sizeof a, r->val_loss, 6)); break;
    case REC_MALFORMED: printf("malformed message (%zu bytes): malformed %ld\n", len, m->c.malformed); break;
    case REC_FOREIGN: printf("foreign message (%zu bytes): foreign %ld\n", len, m->c.foreign); break;
    default: printf("event %s%s%s\n", r->event, r->run_id[0] ? " run " : "", r->run_id); break;
    }
    fflush(stdout);
}

/* What the header shows; from history records as well as live ones. */
static void update_state(void *ctx, const curve_record *r) {
    monitor *m = ctx;
    if (r->run_id[0]) snprintf(m->run_id, sizeof m->run_id, "%s", r->run_id);
    if (r->kind == REC_STEP) m->last = *r, m->status = "running";
    if (r->kind == REC_VALIDATION) m->val_loss = r->val_loss, m->val_step = r->step;
    if (r->kind == REC_START) m->status = "started";
    if (r->kind == REC_END) m->ended = 1, m->status = strcmp(r->event, "end") ? "interrupted" : "ended";
    if (r->kind == REC_EVENT && !strcmp(r->event, "error")) m->status = "error";
}

static void on_record(monitor *m, const curve_record *r, size_t len) {
    update_state(m, r);
    m->last_msg = now_seconds();
    m->dirty = 1;
    if (!m->tty) print_plain(m, r, len);
}

/* ---- recur monitor: receiving --------------------------------------------- */

/* One message (0 when none is waiting).  A record is one frame; a multipart
 * message is foreign to the protocol and counted as malformed. */
static int receive_one(monitor *m, void *sock) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return 0;
    }
    size_t len = zmq_msg_size(&msg);
    curve_record r;
    if (zmq_msg_more(&msg)) {
        while (zmq_msg_more(&msg) && zmq_msg_recv(&msg, sock, 0) >= 0) len += zmq_msg_size(&msg);
        curve_parse(NULL, 0, &r);
        curve_take(&m->c, &r);
    } else
        curve_feed(&m->c, zmq_msg_data(&msg), len, &r);
    zmq_msg_close(&msg);
    on_record(m, &r, len);
    return 1;
}

typedef struct {
    char history[CLI_STR], csv[CLI_STR], svg[CLI_STR];
    int exit_after_end;
    double timeout;
    view_opts view;
} monitor_opts;

/* Polls in 100 ms slices so a signal (or --timeout) ends it promptly; a
 * burst is drained up to a bound so the view still gets redrawn. */
static int monitor_loop(monitor *m, void *sock, const monitor_opts *o, recur_err *err) {
    while (!stop_signal) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) < 0 && zmq_errno() != EINTR)
            return recur_fail(err, RECUR_EXIT_FAIL, "%s: %s", m->endpoint, zmq_strerror(zmq_errno()));
        for (int i = 0; i < 10000 && !(o->exit_after_end && m->ended) && receive_one(m, sock); i++) {}
        if (winch_signal) winch_signal = 0, term_size(m), m->dirty = 1;
        double now = now_seconds();
        if (m->tty && m->dirty && now - m->last_draw >= 0.1) draw(m);
        if (o->exit_after_end && m->ended) break;
        if (o->timeout > 0 && now - m->last_msg >= o->timeout) {
            m->status = "timed out";
            if (!m->tty) printf("no message for %g s: leaving\n", o->timeout);
            break;
        }
    }
    return 0;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop; /* no SA_RESTART: zmq_poll returns EINTR at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, NULL);
}

static int monitor_open(void **ctx, void **sock, const char *endpoint, recur_err *err) {
    int zero = 0, hwm = 1000000;
    *ctx = zmq_ctx_new();
    *sock = *ctx ? zmq_socket(*ctx, ZMQ_SUB) : NULL;
    if (!*sock) return recur_fail(err, RECUR_EXIT_FAIL, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
    zmq_setsockopt(*sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(*sock, ZMQ_RCVHWM, &hwm, sizeof hwm); /* records are small; don't drop a burst */
    zmq_setsockopt(*sock, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(*sock, endpoint))
        return recur_fail(err, RECUR_EXIT_USAGE, "cannot connect to '%s': %s", endpoint, zmq_strerror(zmq_errno()));
    return 0;
}

static void monitor_close(void *ctx, void *sock) {
    if (sock) zmq_close(sock);
    if (ctx) zmq_ctx_term(ctx);
}

static int monitor_outputs(const monitor *m, const monitor_opts *o, recur_err *err) {
    curve_style st = style_of(&o->view, 0);
    curve_run run;
    rendering r = monitor_rendering(m, &st, &run);
    return write_outputs(&r, o->csv, o->svg, err);
}

/* Loads --history and writes the outputs once up front, so an unwritable
 * path fails now rather than after hours of watching. */
static int monitor_prepare(monitor *m, const monitor_opts *o, recur_err *err) {
    struct stat st;
    if (o->history[0] && stat(o->history, &st) != 0 && errno == ENOENT) {
        /* Started before the run: nothing to read back yet, and nothing missed. */
        fprintf(stderr, "recur monitor: %s does not exist yet; following the live stream only\n", o->history);
    } else if (o->history[0]) {
        if (curve_load_each(&m->c, o->history, update_state, m, err)) return -1;
        m->ended = 0; /* --exit-after-end is about the live run, which may be a resumption */
        if (!m->tty) printf("history %s: %zu steps, %ld records\n", o->history, m->c.n, m->c.records);
    }
    return monitor_outputs(m, o, err);
}

static int monitor_run(monitor *m, const monitor_opts *o, recur_err *err) {
    void *ctx = NULL, *sock = NULL;
    int rc = monitor_prepare(m, o, err) || monitor_open(&ctx, &sock, m->endpoint, err), ran = !rc;
    if (!rc && m->tty) {
        term_size(m);
        fputs("\x1b[?25l\x1b[?7l\x1b[2J", stdout); /* hide cursor, no line wrap: lines never spill */
        draw(m);
    }
    if (!rc) rc = monitor_loop(m, sock, o, err);
    if (ran && m->tty) {
        draw(m);
        fputs("\x1b[?25h\x1b[?7h", stdout);
    }
    monitor_close(ctx, sock);
    if (!rc) rc = monitor_outputs(m, o, err);
    if (ran) note_skipped("monitor", m->c.run_id[0] ? m->c.run_id : m->endpoint, &m->c);
    if (ran && o->view.log_y) {
        curve_style st = style_of(&o->view, 0);
        curve_run run;
        monitor_rendering(m, &st, &run);
        note_nonpositive("monitor", &run, 1, &st);
    }
    if (ran) printf("monitor: %ld records, %zu steps, %ld malformed, %ld foreign messages\n", m->c.records, m->c.n,
           m->c.malformed, m->c.foreign);
    return rc;
}

int cmd_monitor(int argc, char **argv) {
    static const char synopsis[] = "[ENDPOINT] [--history METRICS.jsonl] [--csv FILE] [--svg FILE] [--exit-after-end] "
                                   "[--timeout SECONDS] [--smooth W] [--log-y] [--panels]   (ENDPOINT default tcp://127.0.0.1:5555)";
    monitor_opts o = {.timeout = 0, .view.smooth = 0.6};
    opt_spec tab[] = {
        {"history", OPT_STR, o.history, "FILE", "load this metrics file first (joining a run late)", 0, 0, 0},
        {"csv", OPT_STR, o.csv, "FILE", "on exit, write the curve as CSV (as recur plot --csv)", 0, 0, 0},
        {"svg", OPT_STR, o.svg, "FILE", "on exit, write the plot as SVG (as recur plot --svg)", 0, 0, 0},
        {"exit-after-end", OPT_FLAG, &o.exit_after_end, NULL, "leave after the run's end/interrupted event", 0, 0, 0},
        {"timeout", OPT_DOUBLE, &o.timeout, "SECONDS", "leave after this long without a message (0: never)", 0, 1, 0},
        VIEW_OPTS(o.view),
        {"panels", OPT_FLAG, &o.view.panels, NULL, "lr and grad-norm panels below the loss (automatic from 30 rows)", 0, 0, 0},
    };
    recur_err err = {0};
    char *pos[1];
    int npos, rc = cli_parse("monitor", synopsis, tab, 8, argc, argv, pos, 1, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("monitor", &err);
    if (check_view(&o.view, &err)) return report_error("monitor", &err);
    monitor m = {.endpoint = npos ? pos[0] : "tcp://127.0.0.1:5555", .tty = isatty(STDOUT_FILENO),
                 .val_loss = NAN, .status = "waiting", .last_msg = now_seconds(), .view = o.view,
                 .color = color_terminal()};
    curve_parse(NULL, 0, &m.last); /* all values absent until the first step */
    curve_init(&m.c);
    stop_signal = winch_signal = 0;
    install_signals();
    rc = monitor_run(&m, &o, &err);
    curve_free(&m.c);
    if (stop_signal && !rc && !m.tty) printf("stopped by signal %d\n", (int)stop_signal);
    return rc ? report_error("monitor", &err) : 0;
}
