/* train_signals.c - see train_signals.h.
 *
 * The handler records the signal; the step loop samples it once per step
 * (train_signals_begin_step) and the ranks agree on a stop inside the step
 * (trainer_step reduces the flag), so all of them stop after the same step.
 * Sampling happens with the signals blocked, so the handler always knows
 * which step will carry its request and can say so at once: "stopping after
 * step N".  A second Ctrl-C reminds; a third quits at once without a
 * checkpoint. */
#include "train_signals.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "terminal.h"

static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t sampled_step = 0; /* the last step that read the flag */
static volatile sig_atomic_t presses = 0;
static int announce = 0;                       /* this rank tells the user */

/* write(2) of a message with one number in it: async-signal-safe. */
static void say(const char *before, long n, const char *after) {
    char num[24], *p = num + sizeof num;
    do *--p = (char)('0' + n % 10); while ((n /= 10) > 0);
    (void)!write(2, before, strlen(before));
    (void)!write(2, p, (size_t)(num + sizeof num - p));
    (void)!write(2, after, strlen(after));
}

static void on_signal(int sig) {
    presses++;
    if (presses >= 3 && sig == SIGINT) { /* the user insists: no checkpoint */
        terminal_release();
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
        return;
    }
    if (!stop_requested) stop_requested = sig;
    if (!(announce || terminal_holds_interrupts())) return;
    /* "\r\033[K": the progress line may be half drawn. */
    if (presses == 1)
        say("\r\033[Krecur train: stopping after step ", (long)sampled_step + 1,
            "... (writing the checkpoint; Ctrl-C twice more quits without one)\n");
    else
        say("\r\033[Krecur train: still stopping after step ", (long)sampled_step + 1,
            "...; one more Ctrl-C quits without a checkpoint\n");
}

void train_signals_install(int is_root) {
    announce = is_root;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* HDF5 and MPI calls in progress carry on */
    /* SIGUSR1/2 too: mpirun forwards those to the ranks at once, while it
     * holds back SIGTERM (see README). */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    terminal_take_interrupts();
}

int train_stop_requested(void) { return stop_requested; }

void train_signals_first_step(long done) { sampled_step = (sig_atomic_t)done; }

int train_signals_begin_step(long step) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    const int stop = stop_requested != 0;
    sampled_step = (sig_atomic_t)step;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return stop;
}

void train_report_stopped(long step, const char *checkpoint, const char *resume_path) {
    char cmd[4096];
    launch_command_for_resume(resume_path, cmd, sizeof cmd);
    fprintf(stderr, "recur train: stopped after step %ld; checkpoint written to %s\n"
                    "  resume with: %s\n",
            step, checkpoint, cmd);
    terminal_release();
}
