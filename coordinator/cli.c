#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"

/* ---- origins ----------------------------------------------------------------
 * opt_spec has no room for a source (its tables are positional initializers
 * across every command), so the origin of each option's latest value lives
 * here, keyed by the option's target.  Bounded: when full, the oldest entry
 * goes, and its option is then named without a file (a message, not a value,
 * is all that is lost). */

enum { ORIGINS = 128, ORIGIN_LEN = CLI_STR + 32 };

static struct {
    const void *target;
    char where[ORIGIN_LEN]; /* "file:line", "" for the command line */
} origins[ORIGINS];
static int origins_next;

static void remember_origin(const opt_spec *s, const char *where) {
    int slot = -1;
    for (int i = 0; i < ORIGINS && slot < 0; i++)
        if (origins[i].target == s->target) slot = i;
    if (slot < 0) slot = origins_next, origins_next = (origins_next + 1) % ORIGINS;
    origins[slot].target = s->target;
    snprintf(origins[slot].where, sizeof origins[slot].where, "%s", where);
}

void cli_origin(const opt_spec *s, char *buf, size_t len) {
    for (int i = 0; s->set && i < ORIGINS; i++)
        if (origins[i].target == s->target) {
            if (origins[i].where[0]) snprintf(buf, len, "%s: %s", origins[i].where, s->name);
            else snprintf(buf, len, "--%s", s->name);
            return;
        }
    snprintf(buf, len, "%s", s->name);
}

int cli_fail_option(const opt_spec *o, int n, const char *name, recur_err *err, const char *fmt, ...) {
    char origin[ORIGIN_LEN + 64] = "", what[512];
    const opt_spec *s = cli_find((opt_spec *)o, n, name);
    if (s) cli_origin(s, origin, sizeof origin);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return recur_fail(err, RECUR_EXIT_USAGE, "%s: %s", s ? origin : name, what);
}

opt_spec *cli_find(opt_spec *o, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(o[i].name, name) == 0) return &o[i];
    return NULL;
}

/* Converts `value` into the option's target, checking type and range.
 * Messages name the option as the user wrote it: `dashes` is "--" on the
 * command line and "" for a config key (whose file:line the config reader
 * puts in front). */
static int set_value(opt_spec *s, const char *value, const char *dashes, const char *where, recur_err *err) {
    char *end = NULL;
    errno = 0;
    const char *kind = s->positive ? "a positive " : s->nonneg ? "a non-negative " : "an ";
    switch (s->type) {
    case OPT_STR:
        if (strlen(value) >= CLI_STR) return recur_fail(err, RECUR_EXIT_USAGE, "%s%s: value too long", dashes, s->name);
        strcpy((char *)s->target, value);
        break;
    case OPT_FLAG: {
        int v;
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes")) v = 1;
        else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no")) v = 0;
        else return recur_fail(err, RECUR_EXIT_USAGE, "%s%s: expected true or false, found '%s'", dashes, s->name, value);
        *(int *)s->target = v;
        break;
    }
    case OPT_INT:
    case OPT_LONG: {
        long long v = strtoll(value, &end, 10);
        long long max = s->type == OPT_INT ? INT_MAX : LONG_MAX;
        if (errno || end == value || *end || v > max || v < -max)
            return recur_fail(err, RECUR_EXIT_USAGE, "%s%s: expected %sinteger, found '%s'", dashes, s->name,
                              kind, value);
        if ((s->positive && v <= 0) || (s->nonneg && v < 0))
            return recur_fail(err, RECUR_EXIT_USAGE, "%s%s: expected %sinteger, found %lld", dashes, s->name, kind, v);
        if (s->type == OPT_INT) *(int *)s->target = (int)v;
        else *(long *)s->target = (long)v;
        break;
    }
    case OPT_DOUBLE: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return recur_fail(err, RECUR_EXIT_USAGE, "%s%s: expected a number, found '%s'", dashes, s->name, value);
        if ((s->positive && v <= 0) || (s->nonneg && v < 0))
            return recur_fail(err, RECUR_EXIT_USAGE, "%s%s: expected %snumber, found %g", dashes, s->name, kind, v);
        *(double *)s->target = v;
        break;
    }
    }
    s->set = 1;
    remember_origin(s, where);
    return 0;
}

/* "; did you mean '--X'?" (command line) or "; did you mean 'X'?" (config
 * key) for the option closest to `typed`, or "" when none is close.  A config
 * file cannot set `config`; only the command line has --help. */
static void did_you_mean(const opt_spec *o, int n, const char *typed, int command_line, char *out, size_t len) {
    suggestion sg;
    suggest_begin(&sg, typed);
    for (int i = 0; i < n; i++)
        if (command_line || strcmp(o[i].name, "config")) suggest_consider(&sg, o[i].name);
    if (command_line) suggest_consider(&sg, "help");
    const char *best = suggest_best(&sg);
    if (best) snprintf(out, len, "; did you mean '%s%s'?", command_line ? "--" : "", best);
    else out[0] = 0;
}

int cli_set(opt_spec *o, int n, const char *key, const char *value, const char *where, recur_err *err) {
    opt_spec *s = cli_find(o, n, key);
    if (!s || !strcmp(key, "config")) {
        char hint[128];
        did_you_mean(o, n, key, 0, hint, sizeof hint);
        return recur_fail(err, RECUR_EXIT_USAGE, "unknown key '%s'%s", key, hint);
    }
    return set_value(s, value, "", where ? where : "", err);
}

/* "--val-every, --val-streams": the options `prefix` abbreviates (getopt
 * refuses an abbreviation of more than one).  Returns how many. */
static int abbreviated(const opt_spec *o, int n, const char *prefix, char *out, size_t len) {
    int count = 0;
    size_t used = 0, plen = strlen(prefix);
    out[0] = 0;
    for (int i = 0; i < n && plen; i++)
        if (!strncmp(o[i].name, prefix, plen) && used < len)
            used += (size_t)snprintf(out + used, len - used, "%s--%s", count++ ? ", " : "", o[i].name);
    return count;
}

/* The message for an option getopt refused: `arg` is the argv element. */
static int bad_option(const opt_spec *o, int n, const char *cmd, const char *arg, int needs_value, recur_err *err) {
    if (needs_value)
        return recur_fail(err, RECUR_EXIT_USAGE, "option needs a value: '%s' (see recur %s --help)", arg, cmd);
    /* "--hiden=64" and "-x" are looked up as "hiden" and "x". */
    char name[128], hint[512];
    snprintf(name, sizeof name, "%s", arg + strspn(arg, "-"));
    name[strcspn(name, "=")] = 0;
    if (abbreviated(o, n, name, hint, sizeof hint) > 1)
        return recur_fail(err, RECUR_EXIT_USAGE, "ambiguous option '%s': %s?", arg, hint);
    did_you_mean(o, n, name, 1, hint, sizeof hint);
    if (hint[0]) return recur_fail(err, RECUR_EXIT_USAGE, "unknown option '%s'%s", arg, hint);
    return recur_fail(err, RECUR_EXIT_USAGE, "unknown option '%s' (see recur %s --help)", arg, cmd);
}

int cli_parse(const char *cmd, const char *synopsis, opt_spec *o, int n, int argc, char **argv, char **pos,
              int max_pos, int *npos, recur_err *err) {
    struct option *lo = calloc((size_t)n + 2, sizeof *lo);
    if (!lo) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    for (int i = 0; i < n; i++)
        lo[i] = (struct option){o[i].name, o[i].type == OPT_FLAG ? no_argument : required_argument, NULL, 1000 + i};
    lo[n] = (struct option){"help", no_argument, NULL, 'h'};
    int rc = 0;
    *npos = 0;
    optind = 0; /* full re-initialisation: cli_parse may run twice on one argv */
    opterr = 0;
    for (;;) {
        int li = -1;
        int c = getopt_long(argc, argv, "-h", lo, &li);
        if (c == -1) break;
        if (c == 'h') {
            cli_usage(stdout, cmd, synopsis, o, n);
            rc = 1;
            break;
        }
        if (c == 1) { /* positional, thanks to the leading '-' in optstring */
            if (*npos >= max_pos) {
                rc = recur_fail(err, RECUR_EXIT_USAGE, "unexpected argument '%s' (see recur %s --help)", optarg, cmd);
                break;
            }
            pos[(*npos)++] = optarg;
            continue;
        }
        if (c == '?' || c == ':') {
            /* optopt is the option's code when its value is missing (ours start
             * at 1000) and the character of an unknown short option. */
            rc = bad_option(o, n, cmd, argv[optind - 1], optopt >= 1000, err);
            break;
        }
        opt_spec *s = &o[c - 1000];
        if (set_value(s, s->type == OPT_FLAG ? "1" : optarg, "--", "", err)) {
            rc = -1;
            break;
        }
    }
    free(lo);
    return rc;
}

/* " [value]": the option's current value, which --help shows as its default. */
static void print_default(FILE *f, const opt_spec *s) {
    switch (s->type) {
    case OPT_STR:
        if (*(const char *)s->target) fprintf(f, " [%s]", (const char *)s->target);
        break;
    case OPT_INT: fprintf(f, " [%d]", *(const int *)s->target); break;
    case OPT_LONG: fprintf(f, " [%ld]", *(const long *)s->target); break;
    case OPT_DOUBLE: fprintf(f, " [%g]", *(const double *)s->target); break;
    case OPT_FLAG: break;
    }
}

int cli_help_roff = 0;

/* Text as roff: backslashes escaped, a line starting with '.' or '\'' kept as text. */
static void roff_text(FILE *f, const char *s, size_t n) {
    int bol = 1;
    for (size_t i = 0; i < n && s[i]; i++) {
        const char c = s[i];
        if (bol && (c == '.' || c == '\'')) fputs("\\&", f);
        if (c == '\\') fputs("\\e", f);
        else if (c == '-') fputs("\\-", f);
        else fputc(c, f);
        bol = c == '\n';
    }
}

/* The same table as --help, as a man-page section (recur man). */
static void usage_roff(FILE *f, const char *cmd, const char *synopsis, const opt_spec *o, int n) {
    fprintf(f, ".SS \"recur %s\"\n.nf\nrecur %s ", cmd, cmd);
    roff_text(f, synopsis, strlen(synopsis));
    fputs("\n.fi\n", f);
    for (int i = 0; i < n; i++) {
        fputs(o[i].arg ? ".TP\n.BI \"\\-\\-" : ".TP\n.B \"\\-\\-", f); /* bold flag, italic value */
        roff_text(f, o[i].name, strlen(o[i].name));
        fputc('"', f);
        if (o[i].arg) {
            fputs(" \" ", f);
            roff_text(f, o[i].arg, strlen(o[i].arg));
            fputc('"', f);
        }
        fputc('\n', f);
        roff_text(f, o[i].help, strlen(o[i].help));
        if (!strstr(o[i].help, "(default:")) print_default(f, &o[i]);
        fputc('\n', f);
    }
}

void cli_usage(FILE *f, const char *cmd, const char *synopsis, const opt_spec *o, int n) {
    if (cli_help_roff) {
        usage_roff(f, cmd, synopsis, o, n);
        return;
    }
    fprintf(f, "usage: recur %s %s\n\noptions:\n", cmd, synopsis);
    for (int i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o[i].name, o[i].arg ? " " : "", o[i].arg ? o[i].arg : "");
        fprintf(f, "  %-26s %s", left, o[i].help);
        /* A default that is not a value (a fresh seed, ...) is described in the help text. */
        if (!strstr(o[i].help, "(default:")) print_default(f, &o[i]);
        fputc('\n', f);
    }
    fprintf(f, "  %-26s %s\n", "--help", "this text");
}

/* Options added after checkpoints stored their config, left out while off
 * (0 or false): a run without them stores the very config text (and writes
 * the very checkpoint bytes) it did before they existed; absent reads as off. */
static int dump_only_when_on(const opt_spec *o) {
    static const char *const NEWER[] = {"skip", "residual", "transition-depth", "transition-width"};
    for (size_t i = 0; i < sizeof NEWER / sizeof NEWER[0]; i++)
        if (!strcmp(o->name, NEWER[i])) return *(const int *)o->target == 0; /* OPT_INT and OPT_FLAG: an int */
    return 0;
}

void cli_dump(const opt_spec *o, int n, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    used += (size_t)snprintf(buf, len, "[train]\n");
    for (int i = 0; i < n && used < len; i++) {
        if (!strcmp(o[i].name, "config")) continue;
        char v[CLI_STR + 32];
        switch (o[i].type) {
        case OPT_STR: snprintf(v, sizeof v, "%s", (const char *)o[i].target); break;
        case OPT_INT: snprintf(v, sizeof v, "%d", *(const int *)o[i].target); break;
        case OPT_LONG: snprintf(v, sizeof v, "%ld", *(const long *)o[i].target); break;
        case OPT_DOUBLE: snprintf(v, sizeof v, "%.9g", *(const double *)o[i].target); break;
        case OPT_FLAG: snprintf(v, sizeof v, "%s", *(const int *)o[i].target ? "true" : "false"); break;
        }
        if (o[i].type == OPT_STR && !v[0]) continue;
        if (dump_only_when_on(&o[i])) continue;
        used += (size_t)snprintf(buf + used, len - used, "%s = %s\n", o[i].name, v);
    }
}
