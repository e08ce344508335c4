#include "publisher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

enum { HIGH_WATER_MARK = 1000, PORT_TRIES = 20 };

static int try_bind(void *sock, const char *endpoint) { return zmq_bind(sock, endpoint); }

int publisher_open(publisher *p, const char *endpoint, char *note, size_t len) {
    memset(p, 0, sizeof *p);
    note[0] = 0;
    p->ctx = zmq_ctx_new();
    if (p->ctx) p->sock = zmq_socket(p->ctx, ZMQ_PUB);
    if (!p->sock) {
        snprintf(note, len, "monitor: cannot create a ZeroMQ socket (%s); not publishing", zmq_strerror(errno));
        publisher_close(p);
        return -1;
    }
    int hwm = HIGH_WATER_MARK, linger = 0;
    zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (try_bind(p->sock, endpoint) == 0) {
        snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint);
        return 0;
    }
    int first_errno = errno;
    /* tcp://HOST:PORT in use: the next free port, said on the console. */
    const char *colon = strrchr(endpoint, ':');
    if (first_errno == EADDRINUSE && !strncmp(endpoint, "tcp://", 6) && colon && colon[1] >= '0' && colon[1] <= '9') {
        long port = strtol(colon + 1, NULL, 10);
        for (int i = 1; i <= PORT_TRIES; i++) {
            snprintf(p->endpoint, sizeof p->endpoint, "%.*s:%ld", (int)(colon - endpoint), endpoint, port + i);
            if (try_bind(p->sock, p->endpoint) == 0) {
                snprintf(note, len, "monitor: %s is in use; publishing on %s", endpoint, p->endpoint);
                return 0;
            }
        }
    }
    snprintf(note, len, "monitor: cannot bind %s (%s); training goes on without publishing", endpoint,
             zmq_strerror(first_errno));
    publisher_close(p);
    return -1;
}

void publisher_send(publisher *p, const char *text) {
    if (!p->sock) return;
    /* Never wait: a slow or vanished subscriber costs a dropped record, not time. */
    if (zmq_send(p->sock, text, strlen(text), ZMQ_DONTWAIT) < 0) p->dropped++;
    else p->sent++;
}

void publisher_close(publisher *p) {
    if (p->sock) zmq_close(p->sock);
    if (p->ctx) zmq_ctx_term(p->ctx);
    p->sock = p->ctx = NULL;
}
