/* terminal.c - see terminal.h. */
#include "terminal.h"

#include <stdio.h>
#include <unistd.h>

int console_is_terminal(void) { return isatty(2); }

void terminal_take_interrupts(void) {}
void terminal_release(void) {}

void launch_command_for_resume(const char *resume_path, char *buf, size_t len) {
    snprintf(buf, len, "recur train --resume %s", resume_path);
}
