/* terminal.h - the user's terminal as a rank sees it, under mpirun or not.
 *
 * Under mpirun a rank's stderr is a pipe to mpirun, and a Ctrl-C in the
 * terminal reaches mpirun, which then blocks for 2 x odls_base_sigkill_timeout
 * before the ranks hear of it.  These functions let the rank that shares the
 * terminal take Ctrl-C itself and tell whether progress can be redrawn in place. */
#ifndef RECUR_TERMINAL_H
#define RECUR_TERMINAL_H

#include <stddef.h>

/* 1 when the console (stderr, or mpirun's stderr for a rank it launched on
 * this node) is an interactive terminal: progress may be one line redrawn
 * with '\r'. */
int console_is_terminal(void);

/* Makes a Ctrl-C in the launching terminal reach this process at once (under
 * mpirun: this rank's process group becomes the terminal's foreground group).
 * No effect when there is no terminal or it is not ours.  Undone by
 * terminal_release() and at exit. */
void terminal_take_interrupts(void);
void terminal_release(void);
/* 1 while this process holds the terminal's foreground (Ctrl-C comes here). */
int terminal_holds_interrupts(void);

/* The command that launched this run (mpirun and its options included when
 * mpirun started this process on this node), with recur's own arguments
 * replaced by `recur train --resume PATH`: the line to print as a resume hint. */
void launch_command_for_resume(const char *resume_path, char *buf, size_t len);

#endif
