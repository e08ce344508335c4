/* train_rundir.c - the run directory (--run-dir DIR): periodic checkpoints
 * DIR/ckpt-<step, 8 digits>.h5, DIR/final.h5 and DIR/metrics.jsonl.  One scan
 * of DIR serves both `--resume DIR` (its newest checkpoint) and `--keep K`
 * (all but the newest K periodic ones removed). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train.h"

int rundir_path(char *out, size_t len, const char *dir, const char *fmt, long v) {
    char name[64];
    snprintf(name, sizeof name, fmt, v);
    int w = snprintf(out, len, "%s/%s", dir, name);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

int rundir_checkpoint_path(const char *dir, long step, char *out, size_t len) {
    return rundir_path(out, len, dir, "ckpt-%08ld.h5", step);
}

int rundir_is_final(const char *dir, const char *out) {
    char final[CLI_STR + 16];
    return dir[0] && !rundir_path(final, sizeof final, dir, "final.h5", 0) && !strcmp(final, out);
}

static int by_step(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int rundir_scan(const char *dir, rundir_listing *ls) {
    memset(ls, 0, sizeof *ls);
    DIR *d = opendir(dir);
    if (!d) return -1;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long step;
        char tail[8];
        if (!strcmp(e->d_name, "final.h5")) ls->has_final = 1;
        if (sscanf(e->d_name, "ckpt-%ld.h%1[5]", &step, tail) != 2) continue;
        if (ls->n == cap) {
            long *grown = realloc(ls->steps, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *grown);
            if (!grown) break;
            ls->steps = grown;
        }
        ls->steps[ls->n++] = step;
    }
    closedir(d);
    if (ls->n) qsort(ls->steps, (size_t)ls->n, sizeof *ls->steps, by_step);
    return 0;
}

void rundir_listing_free(rundir_listing *ls) {
    free(ls->steps);
    memset(ls, 0, sizeof *ls);
}

/* The step a checkpoint file is at (-1 when it cannot be read). */
static long checkpoint_step(const char *path) {
    checkpoint_in ck;
    recur_err err = {0};
    if (checkpoint_load(path, &ck, &err)) return -1;
    const long step = ck.has_progress ? ck.step : -1;
    checkpoint_in_free(&ck);
    return step;
}

int rundir_resolve_resume(const char *arg, char *path, size_t len, int *is_dir, recur_err *err) {
    struct stat st;
    *is_dir = 0;
    if (stat(arg, &st) != 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: --resume: cannot open: %s", arg, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        snprintf(path, len, "%s", arg);
        return 0;
    }
    *is_dir = 1;
    rundir_listing ls;
    rundir_scan(arg, &ls);
    const long newest = ls.n ? ls.steps[ls.n - 1] : -1;
    const int has_final = ls.has_final;
    rundir_listing_free(&ls);
    if (newest < 0 && !has_final)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: --resume: expected a run directory with ckpt-<step>.h5 or final.h5, found none",
                          arg);
    /* final.h5 when it is ahead of every periodic checkpoint (e.g. they were
     * removed); a run stopped early leaves an older final.h5 behind. */
    char final[CLI_STR + 16];
    if (rundir_path(final, sizeof final, arg, "final.h5", 0) ||
        (newest >= 0 && rundir_checkpoint_path(arg, newest, path, len)))
        return recur_fail(err, RECUR_EXIT_USAGE, "%s: --resume: path too long", arg);
    if (has_final && (newest < 0 || checkpoint_step(final) > newest)) snprintf(path, len, "%s", final);
    return 0;
}

void rundir_prune(const char *dir, int keep) {
    rundir_listing ls;
    if (rundir_scan(dir, &ls)) return;
    for (int i = 0; i + keep < ls.n; i++) {
        char path[CLI_STR + 32];
        if (!rundir_checkpoint_path(dir, ls.steps[i], path, sizeof path)) unlink(path);
    }
    rundir_listing_free(&ls);
}
