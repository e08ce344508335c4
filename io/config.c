#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>

/* State shared by the line reader and the inih handler.  inih calls the
 * handler right after reading the line it belongs to, so `line` (counted by
 * our reader, exactly as inih counts) is the handler's line number. */
typedef struct {
    FILE *f;
    const char *path;
    int line;
    config_setter_at set;
    void *ctx;
    int err_line;          /* first line the handler rejected, 0 if none */
    recur_err handler_err; /* and why */
    int too_long;          /* line of the first over-long line, 0 if none */
} parse_state;

static char *read_line(char *buf, int size, void *stream) {
    parse_state *s = stream;
    if (!fgets(buf, size, s->f)) return NULL;
    s->line++;
    /* inih would silently split an over-long line in two; refuse it. */
    size_t n = strlen(buf);
    if (n == (size_t)size - 1 && buf[n - 1] != '\n' && !feof(s->f) && !s->too_long) s->too_long = s->line;
    /* inih reads an indented line as the continuation of the previous value
     * (configparser style); in a flat key file an indented key is just a key. */
    size_t lead = strspn(buf, " \t");
    if (lead) memmove(buf, buf + lead, n - lead + 1);
    return buf;
}

static int handle(void *user, const char *section, const char *key, const char *value) {
    parse_state *s = user;
    if (s->err_line) return 1; /* only the first error is reported */
    if (section[0] && strcmp(section, "train") != 0) {
        recur_fail(&s->handler_err, RECUR_EXIT_USAGE, "section '[%s]': expected [train] or no section", section);
        s->err_line = s->line;
        return 0;
    }
    char where[4200];
    snprintf(where, sizeof where, "%s:%d", s->path, s->line);
    if (s->set(s->ctx, where, key, value, &s->handler_err)) {
        if (!s->handler_err.msg[0]) recur_fail(&s->handler_err, RECUR_EXIT_USAGE, "key '%s': not accepted", key);
        s->err_line = s->line;
        return 0;
    }
    return 1;
}

/* The text of line `n` of the file, for the syntax-error message. */
static void nth_line(FILE *f, int n, char *buf, size_t len) {
    buf[0] = 0;
    rewind(f);
    for (int i = 1; i <= n && fgets(buf, (int)len, f); i++) {
    }
    buf[strcspn(buf, "\r\n")] = 0;
}

static int parse_stream(FILE *f, const char *path, config_setter_at set, void *ctx, recur_err *err);

int config_parse_file_at(const char *path, config_setter_at set, void *ctx, recur_err *err) {
    FILE *f = fopen(path, "r");
    if (!f) return recur_fail(err, RECUR_EXIT_INPUT, "%s: cannot open config file: %s", path, strerror(errno));
    return parse_stream(f, path, set, ctx, err);
}

int config_parse_text_at(const char *text, const char *name, config_setter_at set, void *ctx, recur_err *err) {
    FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
    if (!f) return recur_fail(err, RECUR_EXIT_FAIL, "%s: cannot read the stored config", name);
    return parse_stream(f, name, set, ctx, err);
}

/* Parses an open stream (closed here); `path` names it in messages. */
static int parse_stream(FILE *f, const char *path, config_setter_at set, void *ctx, recur_err *err) {
    parse_state s = {.path = path, .set = set, .ctx = ctx};
    s.f = f;
    int r = ini_parse_stream(read_line, &s, handle, &s);
    int rc = 0;
    /* inih keeps going after an error and returns the first bad line; the
     * earliest of that, our handler's first rejection and the first over-long
     * line is what the user should fix first. */
    if (s.too_long && (r <= 0 || s.too_long <= r)) {
        rc = recur_fail(err, RECUR_EXIT_USAGE, "%s:%d: line too long", path, s.too_long);
    } else if (r > 0 && r == s.err_line) {
        rc = recur_fail(err, s.handler_err.code ? s.handler_err.code : RECUR_EXIT_USAGE, "%s:%d: %s", path, r,
                        s.handler_err.msg);
    } else if (r > 0) {
        char text[256];
        nth_line(s.f, r, text, sizeof text);
        rc = recur_fail(err, RECUR_EXIT_USAGE, "%s:%d: syntax error: expected 'key = value', '[train]' or a comment, found '%.200s'",
                        path, r, text);
    } else if (r < 0) {
        rc = recur_fail(err, RECUR_EXIT_FAIL, "%s: out of memory parsing the config file", path);
    }
    fclose(s.f);
    return rc;
}

/* ---- setters that need no location ------------------------------------------ */

typedef struct {
    config_setter set;
    void *ctx;
} plain_setter;

static int without_where(void *ctx, const char *where, const char *key, const char *value, recur_err *err) {
    (void)where;
    const plain_setter *p = ctx;
    return p->set(p->ctx, key, value, err);
}

int config_parse_file(const char *path, config_setter set, void *ctx, recur_err *err) {
    plain_setter p = {set, ctx};
    return config_parse_file_at(path, without_where, &p, err);
}

int config_parse_text(const char *text, const char *name, config_setter set, void *ctx, recur_err *err) {
    plain_setter p = {set, ctx};
    return config_parse_text_at(text, name, without_where, &p, err);
}
