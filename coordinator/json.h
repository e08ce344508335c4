/* json.h - building one JSON object on one line (metrics records, --json
 * outputs).  Numbers use %.9g so float32 values round-trip exactly. */
#ifndef RECUR_JSON_H
#define RECUR_JSON_H

#include <stddef.h>

typedef struct {
    char buf[8192];
    size_t n;
} json_line;

void json_begin(json_line *j);
void json_num(json_line *j, const char *key, double v);   /* NaN/Inf become null */
void json_int(json_line *j, const char *key, long long v);
void json_str(json_line *j, const char *key, const char *v);
void json_raw(json_line *j, const char *key, const char *raw); /* pre-formatted JSON value */
const char *json_end(json_line *j);                          /* closes the object; returns buf */

#endif
