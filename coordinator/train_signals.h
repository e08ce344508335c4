/* train_signals.h - a clean stop: SIGINT, SIGTERM, SIGUSR1 or SIGUSR2 asks
 * the run to stop after the current step (every rank finishes it, rank 0
 * writes the checkpoint, everyone exits 0). */
#ifndef RECUR_TRAIN_SIGNALS_H
#define RECUR_TRAIN_SIGNALS_H

/* Installs the handlers (once, as the run starts, so a Ctrl-C during set-up
 * is ours too) and takes the terminal's Ctrl-C under mpirun (terminal.h).
 * The root rank, and the rank holding the terminal, say at once when a stop
 * is asked. */
void train_signals_install(int is_root);
/* The loop is about to run step done+1 (done > 0 when resuming). */
void train_signals_first_step(long done);
/* The signal that asked to stop, or 0. */
int train_stop_requested(void);
/* Called as step `step` starts: 1 when it is to be the last (a stop was
 * asked).  The handler then knows which step will carry a later request. */
int train_signals_begin_step(long step);
/* Rank 0, after the checkpoint of a stopped run was written: what happened
 * and the command that continues the run from `resume_path`. */
void train_report_stopped(long step, const char *checkpoint, const char *resume_path);

#endif
