/* commands.h - the subcommands of `recur`.  Each takes the argv that starts
 * at the subcommand's name and returns the process exit code (see
 * core/error.h: 0 ok, 1 failure, 2 usage, 3 bad input file, 4 unwritable
 * output). */
#ifndef RECUR_COMMANDS_H
#define RECUR_COMMANDS_H

int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_plot(int argc, char **argv), cmd_monitor(int argc, char **argv);

/* Prints "recur: <msg>" to stderr and returns err->code (1 when unset). */
int report_error(const char *cmd, const void *err);

#endif
