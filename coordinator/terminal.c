/* terminal.c - see terminal.h.
 *
 * Why a rank takes the terminal's Ctrl-C: Open MPI 4.1's mpirun answers a
 * SIGINT (or SIGTERM) by sending its ranks SIGCONT, sleeping
 * odls_base_sigkill_timeout seconds, sending SIGTERM, sleeping again and
 * sending SIGKILL, and while it sleeps it forwards no output.  With the 30 s
 * that gives ranks time to write a checkpoint, a Ctrl-C took about a minute
 * to show anything.  Instead, the rank that mpirun started on the terminal's
 * node makes its own process group the terminal's foreground group: the
 * Ctrl-C reaches that rank alone and at once, every rank learns of it through
 * the stop flag reduced with each step, they finish the step, write the
 * checkpoint and exit 0, and mpirun, which never saw a signal, exits 0 too.
 * The foreground group is handed back before the rank exits. */
#include "terminal.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int tty_fd = -1;   /* the controlling terminal while we hold its foreground */
static pid_t saved_fg = -1; /* the group that had it (mpirun's job) */

/* Launched by mpirun (or orted) rather than run by hand. */
static int under_mpirun(void) { return getenv("OMPI_COMM_WORLD_SIZE") != NULL; }

/* /proc/<ppid>/... of this process's parent, into buf. */
static void parent_proc_path(char *buf, size_t len, const char *what) {
    snprintf(buf, len, "/proc/%ld/%s", (long)getppid(), what);
}

int console_is_terminal(void) {
    if (isatty(2)) return 1;
    if (!under_mpirun()) return 0;
    /* Our stderr is a pipe to mpirun; what the user sees is mpirun's stderr. */
    char path[64];
    parent_proc_path(path, sizeof path, "fd/2");
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return 0;
    int tty = isatty(fd);
    close(fd);
    const char *term = getenv("TERM");
    return tty && !(term && !strcmp(term, "dumb"));
}

/* tcsetpgrp from a background group needs SIGTTOU held off. */
static int set_foreground(int fd, pid_t pgrp) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTTOU);
    sigprocmask(SIG_BLOCK, &block, &old);
    int rc = tcsetpgrp(fd, pgrp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void terminal_take_interrupts(void) {
    if (tty_fd >= 0 || !under_mpirun()) return;
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (local && strcmp(local, "0")) return; /* one rank per node is enough: the stop flag is reduced */
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return; /* no controlling terminal (batch job, remote node) */
    pid_t fg = tcgetpgrp(fd);
    /* Only when mpirun itself is the foreground job: not for `mpirun ... &`. */
    if (fg < 0 || getpgid(getppid()) != fg || set_foreground(fd, getpgrp()) != 0) {
        close(fd);
        return;
    }
    tty_fd = fd;
    saved_fg = fg;
    /* Job-control keys now reach only this rank: a stopped rank would hang
     * the job behind mpirun's back, so Ctrl-Z is ignored (Ctrl-C stops the
     * run with a checkpoint). */
    signal(SIGTSTP, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    atexit(terminal_release);
}

void terminal_release(void) {
    if (tty_fd < 0) return;
    if (tcgetpgrp(tty_fd) == getpgrp()) set_foreground(tty_fd, saved_fg);
    close(tty_fd);
    tty_fd = -1;
}

int terminal_holds_interrupts(void) { return tty_fd >= 0; }

/* Appends s to buf (shell-quoted when it needs it); returns 0, -1 when full. */
static int append_word(char *buf, size_t len, size_t *used, const char *s) {
    int plain = *s != 0;
    for (const char *c = s; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *c)) plain = 0;
    int w;
    if (plain) {
        w = snprintf(buf + *used, len - *used, "%s%s", *used ? " " : "", s);
    } else {
        w = snprintf(buf + *used, len - *used, "%s'", *used ? " " : "");
        if (w < 0 || (size_t)w >= len - *used) return -1;
        *used += (size_t)w;
        for (const char *c = s; *c; c++) {
            w = *c == '\'' ? snprintf(buf + *used, len - *used, "'\\''") : snprintf(buf + *used, len - *used, "%c", *c);
            if (w < 0 || (size_t)w >= len - *used) return -1;
            *used += (size_t)w;
        }
        w = snprintf(buf + *used, len - *used, "'");
    }
    if (w < 0 || (size_t)w >= len - *used) return -1;
    *used += (size_t)w;
    return 0;
}

/* mpirun's argv up to (not including) the program it launched, when our
 * parent is mpirun on this node: "mpirun -np 2 --bind-to core".  Returns the
 * number of bytes used, 0 when the parent is not mpirun. */
static size_t mpirun_prefix(char *buf, size_t len) {
    char path[64], args[8192];
    parent_proc_path(path, sizeof path, "cmdline");
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(args, 1, sizeof args - 1, f);
    fclose(f);
    args[n] = 0;
    const char *prog = args, *base = strrchr(prog, '/');
    base = base ? base + 1 : prog;
    if (strcmp(base, "mpirun") && strcmp(base, "mpiexec") && strcmp(base, "orterun")) return 0;
    /* Options are words up to the first one naming an executable: the
     * program is the first word that is not an option or an option's value.
     * Simplest faithful rule: stop at the word that names recur itself. */
    size_t used = 0;
    for (const char *w = args; w < args + n; w += strlen(w) + 1) {
        const char *wb = strrchr(w, '/');
        wb = wb ? wb + 1 : w;
        if (w != args && !strcmp(wb, "recur")) return used;
        if (append_word(buf, len, &used, w)) return 0;
    }
    return 0; /* recur not found on mpirun's command line */
}

/* The directory of `exe` is on $PATH, so plain `recur` finds it. */
static int in_path_dir(const char *exe) {
    const char *slash = strrchr(exe, '/'), *path = getenv("PATH");
    if (!slash || !path || strcmp(slash + 1, "recur")) return 0;
    const size_t dlen = (size_t)(slash - exe);
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == dlen && !strncmp(p, exe, n)) return 1;
        p += n + (end != NULL);
    }
    return 0;
}

void launch_command_for_resume(const char *resume_path, char *buf, size_t len) {
    size_t used = under_mpirun() ? mpirun_prefix(buf, len) : 0;
    if (!used) buf[0] = 0;
    char self[PATH_MAX];
    const char *prog = "recur";
    /* The binary as the user named it, when that still finds it. */
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0) {
        self[k] = 0;
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) {
            size_t c = strlen(cwd);
            prog = !strncmp(self, cwd, c) && self[c] == '/' ? self + c + 1 : self;
        }
        if (in_path_dir(self)) prog = "recur";
    }
    if (append_word(buf, len, &used, prog) || append_word(buf, len, &used, "train") ||
        append_word(buf, len, &used, "--resume") || append_word(buf, len, &used, resume_path))
        snprintf(buf, len, "recur train --resume %s", resume_path);
}
