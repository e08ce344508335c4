#include "crash_guard.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/error.h"

static const int FATAL[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
#define NFATAL (sizeof FATAL / sizeof FATAL[0])

/* Two slots so crash_guard_reading can hand back the previous name while the
 * new one is live; `current` points at one of them or is NULL. */
static char names[2][4096];
static int slot;
static const char *volatile current;

const char *crash_guard_reading(const char *path) {
    const char *prev = current;
    if (!path) {
        current = NULL;
        return prev;
    }
    if (path == names[0] || path == names[1]) { /* restoring a previous name */
        current = path;
        return prev;
    }
    slot = (names[slot] == prev) ? !slot : slot;
    size_t n = strlen(path);
    if (n >= sizeof names[slot]) n = sizeof names[slot] - 1;
    memcpy(names[slot], path, n);
    names[slot][n] = 0;
    current = names[slot];
    return prev;
}

/* Only async-signal-safe calls from here on: write, _exit, signal, raise. */
static void put(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

const char *crash_guard_signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGALRM: return "SIGALRM";
    case SIGKILL: return "SIGKILL";
    default: return "a fatal signal";
    }
}

static void on_fatal(int sig) {
    const char *file = current;
    if (file) {
        put("recur: ");
        put(file);
        put(": damaged HDF5 file (the reader crashed on it: ");
        put(crash_guard_signal_name(sig));
        put(")\n");
        _exit(RECUR_EXIT_INPUT);
    }
    put("recur: fatal signal ");
    put(crash_guard_signal_name(sig));
    put(" (a bug in recur or a library it uses)\n");
    signal(sig, SIG_DFL);
    raise(sig);
    _exit(128 + sig);
}

void crash_guard_install(void) {
    static char *altstack;
    if (!altstack) {
        /* A stack overflow is a SIGSEGV too: the handler needs its own stack. */
        size_t size = 64 * 1024;
        altstack = malloc(size);
        if (altstack) {
            stack_t ss = {.ss_sp = altstack, .ss_size = size, .ss_flags = 0};
            sigaltstack(&ss, NULL);
        }
    }
    for (size_t i = 0; i < NFATAL; i++) {
        struct sigaction old;
        if (sigaction(FATAL[i], NULL, &old) == 0 && old.sa_handler == on_fatal) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal;
        sa.sa_flags = SA_ONSTACK | SA_NODEFER | SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(FATAL[i], &sa, NULL);
    }
}
