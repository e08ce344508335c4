/* publisher.h - the live metrics stream: rank 0 publishes every metrics
 * record (the same JSON text as the metrics file) on a ZeroMQ PUB socket.
 *
 * Publishing must never fail or stall a run: sends are non-blocking with a
 * bounded high-water mark (records beyond it are dropped and counted), an
 * endpoint already in use moves to the next free port (tcp) or turns
 * publishing off, and closing never lingers.  Subscribers connect; what was
 * sent before they joined is lost by design (they read the metrics file for
 * history: recur monitor --history). */
#ifndef RECUR_PUBLISHER_H
#define RECUR_PUBLISHER_H

#include <stddef.h>

typedef struct {
    void *ctx, *sock;      /* NULL when publishing is off */
    char endpoint[256];    /* where it actually bound */
    long sent, dropped;
} publisher;

/* Binds `endpoint`; on failure fills `note` with what happened and leaves
 * publishing off (returns -1), never an error for the run. */
int publisher_open(publisher *p, const char *endpoint, char *note, size_t len);
void publisher_send(publisher *p, const char *text);
void publisher_close(publisher *p);

#endif
