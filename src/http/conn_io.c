/*
 * conn_io: the I/O of a connection of inferd's HTTP server (conn.c):
 * reading with recvmsg(2) and the receive time of each read, a response's
 * head queued in the output, writing and the write deadline, counting
 * right before the write, lingering close, the end of every callback
 * (conn_settle) and the free, and memory given back after closes.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/ioctl.h>

#include <linux/sockios.h>

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "inferd/conn.h"
#include "inferd/guard.h"
#include "inferd/log.h"
#include "inferd/reply.h"

#include "http/conn_impl.h"

/* Seconds from a to b. */
static double
conn_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/*
 * The kernel's receive time kts (CLOCK_REALTIME) on CLOCK_MONOTONIC: now
 * minus its age.  A timestamp from the future (the clock stepped) is now.
 */
static struct timespec
conn_rx_mono(const struct timespec *kts)
{
	struct timespec	real, mono = conn_now();
	int64_t		age;

	clock_gettime(CLOCK_REALTIME, &real);
	age = (int64_t)(real.tv_sec - kts->tv_sec) * 1000000000 +
	    (real.tv_nsec - kts->tv_nsec);
	if (age <= 0)
		return mono;
	if (age > (int64_t)mono.tv_sec * 1000000000)
		age = (int64_t)mono.tv_sec * 1000000000;
	mono.tv_sec -= (time_t)(age / 1000000000);
	mono.tv_nsec -= (long)(age % 1000000000);
	if (mono.tv_nsec < 0) {
		mono.tv_nsec += 1000000000;
		mono.tv_sec--;
	}
	return mono;
}

/* The receive time of the byte at cumulative offset off of c's input. */
struct timespec
conn_rx_ts(const struct conn *c, uint64_t off)
{
	unsigned	i, first = c->rx_n > CONN_RX_RING ?
			    c->rx_n - CONN_RX_RING : 0;

	if (c->rx_n == 0)
		return conn_now();
	for (i = first; i < c->rx_n; i++)
		if (c->rx[i % CONN_RX_RING].end > off)
			return c->rx[i % CONN_RX_RING].ts;
	return c->rx[(c->rx_n - 1) % CONN_RX_RING].ts;
}

/* What the socket says of its client. */
enum conn_peer {
	CONN_PEER_OPEN,		/* nothing unusual */
	CONN_PEER_FIN,		/* it closed its side, or all of it */
	CONN_PEER_RESET,	/* it reset the connection: nobody reads */
};

/* Look at fd without reading anything. */
static enum conn_peer
conn_peer(int fd)
{
	char	ch;
	ssize_t	n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)))
		return CONN_PEER_OPEN;
	return n == 0 ? CONN_PEER_FIN : CONN_PEER_RESET;
}

/*
 * Whether fd has a pending error: after a write to a client that sent FIN,
 * the reset its kernel answers with (EPIPE in CLOSE_WAIT), which recv(2)
 * does not show behind the end of file.
 */
static int
conn_errored(int fd)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0;
}

/* ---- the response ----------------------------------------------------- */

/* Write the two digits of n (0-99) at p. */
static void
conn_two_digits(char *p, int n)
{
	p[0] = (char)('0' + n / 10 % 10);
	p[1] = (char)('0' + n % 10);
}

/* t as an HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"). */
static void
conn_format_date(time_t t, char buf[CONN_DATE_LEN])
{
	static const char	 days[] = "SunMonTueWedThuFriSat";
	static const char	 months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm		 tm;

	gmtime_r(&t, &tm);
	memcpy(buf, "Sun, 00 Jan 0000 00:00:00 GMT", CONN_DATE_LEN);
	memcpy(buf, days + 3 * tm.tm_wday, 3);
	conn_two_digits(buf + 5, tm.tm_mday);
	memcpy(buf + 8, months + 3 * tm.tm_mon, 3);
	conn_two_digits(buf + 12, (tm.tm_year + 1900) / 100);
	conn_two_digits(buf + 14, (tm.tm_year + 1900) % 100);
	conn_two_digits(buf + 17, tm.tm_hour);
	conn_two_digits(buf + 20, tm.tm_min);
	conn_two_digits(buf + 23, tm.tm_sec);
}

/*
 * The Date header's value, formatted once a second: the loop's cached
 * time (no system call) is compared with the second of the cached text.
 */
static const char *
conn_date(struct conn_set *set)
{
	struct timeval	tv;

	if (event_base_gettimeofday_cached(set->base, &tv) == -1)
		tv.tv_sec = time(NULL);
	if (tv.tv_sec != set->date_sec || set->date[0] == '\0') {
		set->date_sec = tv.tv_sec;
		conn_format_date(tv.tv_sec, set->date);
	}
	return set->date;
}

/* Append the decimal digits of n at p; returns the end. */
static char *
conn_num(char *p, uint64_t n)
{
	char	tmp[24], *q = tmp + sizeof(tmp);

	do
		*--q = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	memcpy(p, q, (size_t)(tmp + sizeof(tmp) - q));
	return p + (tmp + sizeof(tmp) - q);
}

/* Append s at p; returns the end. */
static char *
conn_str(char *p, const char *s)
{
	size_t	n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/*
 * Queue r's response in c's output: the head (status, Content-Type unless
 * the route gave one, Content-Length, Date, the route's headers,
 * Connection), then body and text unless r is a HEAD.  0 or -1.
 */
int
conn_queue(struct conn *c, struct conn_req *r, struct evbuffer *body,
    const char *text, size_t len)
{
	char		 head[256], *p = head;
	uint64_t	 blen = (body != NULL ? evbuffer_get_length(body) : 0) +
			    len;
	size_t		 before = evbuffer_get_length(c->out);
	int		 rc = 0;

	/* An HTTP/1.0 client gets an HTTP/1.0 status line, as it expects. */
	p = conn_str(p, r->h.method_s != NULL && r->h.minor == 0 ?
	    "HTTP/1.0 " : "HTTP/1.1 ");
	p = conn_num(p, (uint64_t)r->status);
	*p++ = ' ';
	p = conn_str(p, reply_reason(r->status));
	if (!r->has_ctype)
		p = conn_str(p, "\r\nContent-Type: application/json");
	p = conn_str(p, "\r\nContent-Length: ");
	p = conn_num(p, blen);
	p = conn_str(p, "\r\nDate: ");
	p = conn_str(p, conn_date(c->set));
	p = conn_str(p, "\r\n");
	rc |= evbuffer_add(c->out, head, (size_t)(p - head));
	if (r->extra != NULL)
		rc |= evbuffer_add_buffer(c->out, r->extra);
	if (r->close)
		rc |= evbuffer_add(c->out, "Connection: close\r\n\r\n", 21);
	else if (r->h.minor == 0)
		rc |= evbuffer_add(c->out, "Connection: keep-alive\r\n\r\n",
		    26);
	else
		rc |= evbuffer_add(c->out, "\r\n", 2);
	if (r->h.method != HTTP_M_HEAD) {
		if (body != NULL)
			rc |= evbuffer_add_buffer(c->out, body);
		if (text != NULL)
			rc |= evbuffer_add(c->out, text, len);
	}
	if (rc != 0) {
		/* Out of memory: take back what was queued. */
		c->dead = 1;
		return -1;
	}
	r->out_start = c->out_added;
	c->out_added += evbuffer_get_length(c->out) - before;
	r->out_end = c->out_added;
	return 0;
}

/* Requests whose last byte the kernel has are written: free them. */
static void
conn_written(struct conn *c)
{
	struct conn_req	*r;
	struct timespec	 now;

	while ((r = TAILQ_FIRST(&c->queue)) != NULL &&
	    r->out_end <= c->out_done) {
		now = conn_now();
		r->tl.written = now;
		TAILQ_REMOVE(&c->queue, r, qentry);
		c->nqueued--;
		r->conn = NULL;
		conn_req_finish(r);
	}
}

/*
 * Write what the kernel takes.  Returns the bytes written, or -1 when the
 * connection failed (it is then dead).  The requests written are freed by
 * conn_write_done.
 */
static ssize_t
conn_write_out(struct conn *c)
{
	ssize_t	n, total = 0;

	while (evbuffer_get_length(c->out) > 0) {
		n = evbuffer_write(c->out, c->fd);
		if (n > 0) {
			total += n;
			c->out_done += (uint64_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			break;
		c->dead = 1;
		return -1;
	}
	return total;
}

/*
 * Bytes handed to the kernel that the client has not acknowledged yet
 * (SIOCOUTQ); 0 when it cannot tell.
 */
static int
conn_unacked(const struct conn *c)
{
	int	n = 0;

	if (ioctl(c->fd, SIOCOUTQ, &n) == -1)
		return 0;
	return n;
}

/*
 * After a write: free what is written, run the write deadline.  The
 * deadline is armed when the output stalls (the kernel took less than we
 * had) and cleared only once the client has taken everything, not merely
 * when our buffer emptied into the kernel's: a client that reads a burst
 * now and then (while its pipelined requests keep the kernel's buffer
 * full) is still closed write_timeout after it first stalled.  SIOCOUTQ
 * is asked only while the deadline runs, never on the fast path.
 */
static void
conn_write_done(struct conn *c)
{
	conn_written(c);
	if (evbuffer_get_length(c->out) == 0) {
		if (c->wt_armed && conn_unacked(c) == 0) {
			evtimer_del(c->wtimer);
			c->wt_armed = 0;
		}
	} else if (!c->wt_armed) {
		/* A whole time from now: reading in bursts does not extend
		 * it. */
		conn_arm(c->wtimer, c->set->p.write_timeout);
		c->wt_armed = 1;
	}
}

/* Write what the kernel takes; see conn_write_out. */
ssize_t
conn_write(struct conn *c)
{
	ssize_t	n = conn_write_out(c);

	conn_write_done(c);
	return n;
}

/*
 * Count r and write what c holds, in the same breath.  Counting right
 * before a write(2) that needs no further event narrows to a few
 * instructions the window in which a worker killed -9 would leave a
 * counted response unsent (or, counting after, a sent one uncounted).
 *
 * The status counted is what happened to the response: 499 when it cannot
 * be written because the client reset the connection.  A client that sent
 * FIN may still read (an HTTP/1.0 half-close) or may have closed for good:
 * only the write tells, so its response is written first and counted
 * after, 499 if the write failed or the client's kernel reset the
 * connection on receiving it (on loopback that happens within the write;
 * over a network it may come too late to be seen, and the status sent is
 * counted).
 */
void
conn_flush(struct conn *c, struct conn_req *r)
{
	enum conn_peer	peer = conn_peer(c->fd);
	ssize_t		n;

	if (peer == CONN_PEER_RESET) {
		r->status = CONN_CLIENT_GONE;
		conn_record(r);
		c->dead = 1;
		return;
	}
	if (peer == CONN_PEER_OPEN)
		conn_record(r);
	n = conn_write_out(c);
	if (peer == CONN_PEER_FIN) {
		if (n <= 0 || conn_errored(c->fd))
			r->status = CONN_CLIENT_GONE;
		conn_record(r);
	}
	conn_write_done(c);
}

/* The connection is done once its output is out: linger or close. */
void
conn_finish_close(struct conn *c)
{
	char	ch;
	ssize_t	n;

	if (c->dead || c->state == CS_LINGER ||
	    evbuffer_get_length(c->out) > 0 || c->state == CS_HANDLER)
		return;
	n = recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
	if (c->eof || (!c->must_linger && evbuffer_get_length(c->in) == 0 &&
	    n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
		c->dead = 1;
		return;
	}
	/*
	 * The client may still be sending (an early 413 or 400, or requests
	 * behind a Connection: close): shut down our side and discard what
	 * comes for CONN_LINGER seconds, so that its kernel does not answer
	 * the unread bytes with a reset that destroys the answer (nginx's
	 * lingering close).
	 */
	c->state = CS_LINGER;
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	shutdown(c->fd, SHUT_WR);
	conn_arm(c->rtimer, CONN_LINGER);
}

/* ---- reading ---------------------------------------------------------- */

/*
 * Read what the kernel holds, up to what c's state wants buffered.  Each
 * read's receive time (SO_TIMESTAMPNS) is kept; a read that finds the
 * socket empty while a request is incomplete starts the client's wait.
 */
void
conn_read(struct conn *c)
{
	char			 cbuf[CMSG_SPACE(sizeof(struct timespec))];
	char			 junk[CONN_READ_CHUNK];
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[2];
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	struct timespec		 kts, ts;
	size_t			 want, got = 0, left, asked;
	ssize_t			 n;
	int			 nv, i, have;

	want = c->state == CS_BODY ? CONN_BODY_WANT :
	    c->set->p.max_header_bytes + 3;
	while (got < CONN_READ_TURN) {
		if (c->state != CS_LINGER &&
		    evbuffer_get_length(c->in) >= want)
			return;
		memset(&msg, 0, sizeof(msg));
		if (c->state == CS_LINGER) {
			iov[0].iov_base = junk;
			iov[0].iov_len = sizeof(junk);
			nv = 1;
		} else {
			if ((nv = evbuffer_reserve_space(c->in,
			    c->state == CS_BODY ? CONN_READ_CHUNK :
			    CONN_READ_SMALL, v, 2)) <= 0) {
				c->dead = 1;
				return;
			}
			for (i = 0; i < nv; i++) {
				iov[i].iov_base = v[i].iov_base;
				iov[i].iov_len = v[i].iov_len;
			}
			msg.msg_control = cbuf;
			msg.msg_controllen = sizeof(cbuf);
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)nv;
		n = recvmsg(c->fd, &msg, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Everything the kernel held is read: if the
			 * request is still incomplete once these bytes are
			 * parsed, the client's wait starts now
			 * (conn_advance). */
			c->drained = conn_now();
			return;
		}
		if (n <= 0) {
			if (n == 0)
				c->eof = 1;
			else
				c->dead = 1;	/* reset: nobody reads */
			if (c->state == CS_LINGER)
				c->dead = 1;
			return;
		}
		got += (size_t)n;
		if (c->state == CS_LINGER)
			continue;
		for (asked = 0, i = 0; i < nv; i++)
			asked += iov[i].iov_len;
		for (left = (size_t)n, i = 0; i < nv; i++) {
			if (v[i].iov_len > left)
				v[i].iov_len = left;
			left -= v[i].iov_len;
		}
		evbuffer_commit_space(c->in, v, nv);
		have = 0;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_TIMESTAMPNS &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(kts))) {
				memcpy(&kts, CMSG_DATA(cm), sizeof(kts));
				have = 1;
			}
		ts = have ? conn_rx_mono(&kts) : conn_now();
		c->rx_total += (uint64_t)n;
		c->rx[c->rx_n % CONN_RX_RING] = (struct conn_rx){
		    .end = c->rx_total, .ts = ts };
		c->rx_n++;
		if (timeline_set(&c->dry)) {
			/* The client's wait ended when these bytes came. */
			double	w = conn_diff(&c->dry, &ts);

			if (w > 0) {
				if (c->state == CS_BODY && c->cur != NULL)
					c->cur->tl.client_wait += w;
				else
					c->cwait += w;
			}
			c->dry = (struct timespec){ 0, 0 };
		}
		if ((size_t)n < asked) {
			/* A short read: the kernel held no more.  No need
			 * for the recvmsg that would say EAGAIN. */
			c->drained = conn_now();
			return;
		}
	}
}

/* ---- events ----------------------------------------------------------- */

/* Free a connection: its socket, its events, its answered requests. */
void
conn_free(struct conn *c)
{
	struct conn_set	*set = c->set;
	struct conn_req	*r;

	LIST_REMOVE(c, entry);
	while ((r = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, r, qentry);
		r->conn = NULL;
		conn_req_finish(r);
	}
	if ((r = c->cur) != NULL) {
		r->conn = NULL;
		if (!r->started)
			conn_req_finish(r);	/* never complete: uncounted */
		/* else the route answers it later: 499 */
	}
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->rtimer);
	event_free(c->wtimer);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	close(c->fd);
	free(c);
	guard_release(set->guard);
	set->nconns--;
	if (set->trim_due && set->ev_trim != NULL &&
	    !evtimer_pending(set->ev_trim, NULL))
		conn_arm(set->ev_trim, CONN_TRIM_DELAY);
}

/*
 * A second after connections closed: give the memory they held back to
 * the system.  glibc keeps freed chunks below the top of its heaps (a
 * flood's buffers, 300 bodies held open) resident until malloc_trim.
 * Only after much was held (CONN_TRIM_BODIES of bodies, CONN_TRIM_CONNS
 * connections), at most once a second: a trim walks every arena.
 */
void
conn_trim(evutil_socket_t fd, short what, void *arg)
{
	struct conn_set	*set = arg;

	(void)fd;
	(void)what;

	set->trim_due = 0;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/*
 * The end of every callback: free c if it died, else enable exactly the
 * I/O its state wants.
 */
void
conn_settle(struct conn *c)
{
	size_t	want;
	int	rd, wr;

	if (c->in_cb > 0)
		return;
	if (c->dead) {
		conn_free(c);
		return;
	}
	want = c->state == CS_BODY ? CONN_BODY_WANT :
	    c->set->p.max_header_bytes + 3;
	rd = !c->eof && (c->state == CS_LINGER ||
	    evbuffer_get_length(c->in) < want);
	wr = evbuffer_get_length(c->out) > 0;
	if (rd != c->rd_on) {
		if (rd)
			event_add(c->rev, NULL);
		else
			event_del(c->rev);
		c->rd_on = rd;
	}
	if (wr != c->wr_on) {
		if (wr)
			event_add(c->wev, NULL);
		else
			event_del(c->wev);
		c->wr_on = wr;
	}
}

/* A read deadline passed: close without an answer, as nginx does. */
void
conn_read_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn		*c = arg;
	static const char	*what_s[] = { [CS_HEAD] = "head",
				    [CS_BODY] = "body",
				    [CS_IDLE] = "keep-alive",
				    [CS_HANDLER] = "", [CS_LINGER] = "linger" };

	(void)fd;
	(void)what;

	if (c->state == CS_HANDLER)
		return;
	if (c->state != CS_LINGER)
		log_debug("%s: closing a connection past its %s deadline",
		    c->set->name, what_s[c->state]);
	c->dead = 1;
	conn_settle(c);
}

/* The output stalled for write_timeout: the client does not read. */
void
conn_write_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;

	if (evbuffer_get_length(c->out) == 0 && conn_unacked(c) == 0) {
		c->wt_armed = 0;	/* it took everything meanwhile */
		return;
	}
	log_debug("%s: closing a connection whose client does not read its "
	    "answer", c->set->name);
	c->dead = 1;
	conn_settle(c);
}
