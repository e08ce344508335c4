#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static void put(json_line *j, const char *fmt, ...) {
    if (j->n >= sizeof j->buf) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(j->buf + j->n, sizeof j->buf - j->n, fmt, ap);
    va_end(ap);
    if (w > 0) j->n += (size_t)w;
    if (j->n >= sizeof j->buf) j->n = sizeof j->buf - 1;
}

static void key(json_line *j, const char *k) { put(j, "%s\"%s\":", j->n > 1 ? "," : "", k); }

void json_begin(json_line *j) {
    j->n = 0;
    put(j, "{");
}

void json_num(json_line *j, const char *k, double v) {
    key(j, k);
    if (isfinite(v)) put(j, "%.9g", v);
    else put(j, "null");
}

void json_int(json_line *j, const char *k, long long v) {
    key(j, k);
    put(j, "%lld", v);
}

void json_str(json_line *j, const char *k, const char *v) {
    key(j, k);
    put(j, "\"");
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') put(j, "\\%c", *p);
        else if (*p == '\n') put(j, "\\n");
        else if (*p < 0x20) put(j, "\\u%04x", *p);
        else put(j, "%c", *p);
    }
    put(j, "\"");
}

void json_raw(json_line *j, const char *k, const char *raw) {
    key(j, k);
    put(j, "%s", raw);
}

const char *json_end(json_line *j) {
    put(j, "}");
    return j->buf;
}
