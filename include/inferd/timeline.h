/*
 * timeline: the moments of one request's life, kept by the HTTP layer
 * (conn.c) and read by whoever reports on requests (the latency histogram,
 * the access log, exemplars).  Every moment is on CLOCK_MONOTONIC; a
 * moment not reached (yet) is zero (timeline_set() tells).
 *
 *   received        the kernel's receive time of the request's first byte:
 *                   SO_TIMESTAMPNS (set on the listening socket, inherited
 *                   by accepted ones) read with recvmsg(2), moved from
 *                   CLOCK_REALTIME to CLOCK_MONOTONIC at the read.  For a
 *                   pipelined request, the receive time of the read that
 *                   brought its first byte.  Without a timestamp (another
 *                   kernel), the time of the read.
 *   head            the head was complete (read and parsed)
 *   body            the body was complete (= head when there is none)
 *   handler         the route's handler started
 *   predict_start   the model started predicting (set by the handler:
 *   predict_end     conn_req_predict_start/_end); zero if it never did
 *   written         the response's last byte was handed to the kernel
 *   client_wait     seconds in which inferd had read everything the kernel
 *                   held and the request was still incomplete: from the
 *                   read that found the socket empty to the kernel's
 *                   receive time of the next bytes.  The client's upload
 *                   pace, not inferd's wait.
 *
 * The latency the SLO histogram observes (timeline_latency) is
 * received -> now - client_wait, taken right before the write(2) that
 * sends the response (the response is counted there; for a response that
 * fits the socket's buffer that is also when its last byte is handed to
 * the kernel).  It includes the time the request's bytes waited in the
 * kernel for a busy or stopped worker, the event loop, the handler and the
 * evaluation; not the connection's set-up (SYN, accept queue before the
 * first byte), the network before the server's kernel, nor the time the
 * response takes to reach the client.
 */
#ifndef INFERD_TIMELINE_H
#define INFERD_TIMELINE_H

#include <time.h>

struct timeline {
	struct timespec	received;
	struct timespec	head;
	struct timespec	body;
	struct timespec	handler;
	struct timespec	predict_start;
	struct timespec	predict_end;
	struct timespec	written;
	double		client_wait;	/* seconds */
};

/* Whether moment t was reached. */
static inline int
timeline_set(const struct timespec *t)
{
	return t->tv_sec != 0 || t->tv_nsec != 0;
}

/* Seconds from a to b; 0 unless both were reached. */
static inline double
timeline_span(const struct timespec *a, const struct timespec *b)
{
	if (!timeline_set(a) || !timeline_set(b))
		return 0;
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The server's share of received -> end: minus the client's wait, >= 0. */
static inline double
timeline_latency(const struct timeline *tl, const struct timespec *end)
{
	double	d = timeline_span(&tl->received, end) - tl->client_wait;

	return d > 0 ? d : 0;
}

#endif /* INFERD_TIMELINE_H */
