/* train_signals.h - a clean stop: SIGINT, SIGTERM, SIGUSR1 or SIGUSR2 asks
 * the run to stop after the current step (every rank finishes it, rank 0
 * writes the checkpoint, everyone exits 0). */
#ifndef RECUR_TRAIN_SIGNALS_H
#define RECUR_TRAIN_SIGNALS_H

/* Installs the handlers (once, before the first step). */
void train_signals_install(void);
/* The signal that asked to stop, or 0. */
int train_stop_requested(void);
/* The step being run, for the handler (called before each step). */
void train_signals_note_step(long step);
/* Rank 0, after the checkpoint of a stopped run was written: what happened
 * and the command that continues the run from `resume_path`. */
void train_report_stopped(long step, const char *checkpoint, const char *resume_path);

#endif
