/* common.c - small pieces several subcommands share. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"

int report_error(const char *cmd, const void *e) {
    const recur_err *err = e;
    fprintf(stderr, "recur %s: error: %s\n", cmd, err->msg[0] ? err->msg : "unknown failure");
    return err->code ? err->code : RECUR_EXIT_FAIL;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int check_output_path(const char *path, const char *flag, recur_err *err) {
    char copy[4096], probe[4200];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    /* access(W_OK) says yes to root everywhere (even /proc): really create a file. */
    snprintf(probe, sizeof probe, "%s/.recur-probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: %s: cannot write into directory '%s': %s", path, flag, dir,
                          strerror(errno));
    close(fd);
    unlink(probe);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: %s: expected a file path, found a directory", path, flag);
    return 0;
}

void format_duration(double s, char *buf, size_t len) {
    if (s < 0 || s != s) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, len, "%lds", t);
}

int absolute_path(const char *path, char *out, size_t len) {
    char dir_part[PATH_MAX], base_part[PATH_MAX], dir[PATH_MAX];
    snprintf(dir_part, sizeof dir_part, "%s", path);
    snprintf(base_part, sizeof base_part, "%s", path);
    const char *base = basename(base_part);
    int w;
    if (path[0] == '/')
        w = snprintf(out, len, "%s", path);
    else if ((!strcmp(base, ".") || !strcmp(base, "..")) && realpath(path, dir))
        w = snprintf(out, len, "%s", dir);
    else if (realpath(dirname(dir_part), dir))
        w = snprintf(out, len, "%s/%s", strcmp(dir, "/") ? dir : "", base);
    else if (getcwd(dir, sizeof dir))
        w = snprintf(out, len, "%s/%s", dir, path);
    else
        w = snprintf(out, len, "%s", path);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}
