/* train_signals.c - see train_signals.h.  The handler only records the
 * signal: the step loop polls it, and the ranks agree on a stop inside the
 * step (trainer_step), so all of them stop after the same step. */
#include "train_signals.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "terminal.h"

static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t current_step = 0;

static void on_signal(int sig) { stop_requested = sig; }

void train_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* SIGUSR1/2 too: mpirun forwards those to the ranks at once, while it
     * holds back SIGTERM (see README). */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
}

int train_stop_requested(void) { return stop_requested; }

void train_signals_note_step(long step) { current_step = (sig_atomic_t)step; }

void train_report_stopped(long step, const char *checkpoint, const char *resume_path) {
    char cmd[4096];
    launch_command_for_resume(resume_path, cmd, sizeof cmd);
    fprintf(stderr, "recur train: stopped by a signal after step %ld; checkpoint written to %s\n"
                    "  resume with: %s\n",
            step, checkpoint, cmd);
}
