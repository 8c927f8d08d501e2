/* drive/async_dtls.c — the asynchronous driver for DTLS 1.2 (RFC 6347): the
 * SSL_ASYNC_* calls of drive/async.c, for a connection that moves datagrams.
 * The application owns the socket; each receive call is one datagram, each
 * SSL_ASYNC_getSendBuffer hands out one, each SSL_ASYNC_sendMessage is one
 * record in a datagram of its own. The contract is written at api/async.c.
 *
 * How it goes: a datagram goes whole to the engine (nk_dtls_in), which
 * walks its records until one yields application data; pump makes the
 * upcalls (open state, then each record's data) and walks on. Datagrams
 * given while data waits for SSL_ASYNC_getRecvBuffer wait whole in
 * c->as.in, each behind its length, up to the receive buffer limit. The
 * retransmission timer runs in nk_async_clock, at every receive call and
 * from DTLS_isTimerExpired. */
#include "drive/async.h"
#include "drive/clock.h"
#include "engine/dtls.h"

/* Walk on: the records left in the datagram being read, else the next
 * datagram queued. 0 when there is nothing to walk. */
static int walk_on(struct nk_conn *c, MSTATUS *st)
{
    int64_t now = nk_mono_ms();
    c->now = nk_wall_ms();
    if (nk_dtls_in_pending(c)) {
        *st = nk_dtls_in(c, NULL, 0, now);
        return 1;
    }
    uint32_t n;
    if (c->as.in.len < sizeof n)
        return 0;
    memcpy(&n, c->as.in.p, sizeof n);
    *st = nk_dtls_in(c, c->as.in.p + sizeof n, n, now);
    nk_buf_consume(&c->as.in, sizeof n + n);
    if (!c->as.in.len)
        nk_buf_free(&c->as.in);
    return 1;
}

/* Make the upcalls in datagram order and walk on until nothing is left;
 * keep: stop at data instead of passing it up (recvMessage2,
 * getRecvBuffer). */
static MSTATUS pump(sbyte4 h, struct nk_conn **pc, int keep)
{
    for (;;) {
        MSTATUS st = nk_async_upcalls(h, pc, keep, 0);
        if (st != OK)
            return st == NK_ASYNC_STOP ? OK : st;
        if (!walk_on(*pc, &st))
            return OK;
        NK_TRY(st);
    }
}

/* One datagram from the application: to the engine now, or, behind data
 * still waiting to be taken, into the queue. */
static MSTATUS take_datagram(struct nk_conn *c, const ubyte *d, ubyte4 n)
{
    uint32_t len = n;
    if (!c->app_len && !nk_dtls_in_pending(c) && !c->as.in.len) {
        c->now = nk_wall_ms();
        return nk_dtls_in(c, d, n, nk_mono_ms());
    }
    /* An application that never takes its data must not make us hold all
     * the peer sends: past the limit the datagram is refused, untaken. */
    NK_CHECK(c->as.in.len + sizeof len + n <= c->cfg->limits.recv_buffer, ERR_SSL_BUFFER_LIMIT);
    NK_TRY(nk_fail(c, nk_buf_append(&c->as.in, (const uint8_t *)&len, sizeof len)));
    return nk_fail(c, nk_buf_append(&c->as.in, d, n));
}

MSTATUS nk_async_dtls_recv(sbyte4 h, struct nk_conn *c, const ubyte *d, ubyte4 n)
{
    /* No bytes: no datagram (the call only ran the timers, in enter). */
    if (n)
        NK_TRY(take_datagram(c, d, n));
    MSTATUS st = pump(h, &c, 0);
    return st == NK_ASYNC_GONE ? OK : st;
}

sbyte4 nk_async_dtls_recv_one(sbyte4 h, struct nk_conn *c, ubyte *d, ubyte4 n, ubyte **rest, ubyte4 *rest_len)
{
    if (n)
        NK_TRY(take_datagram(c, d, n));
    /* The datagram is taken whole: what was not walked yet waits inside. */
    *rest = n ? d + n : d;
    *rest_len = 0;
    MSTATUS st = pump(h, &c, 1);
    if (st != OK)
        return st == NK_ASYNC_GONE ? 0 : st;
    return (sbyte4)c->app_len;
}

MSTATUS nk_async_dtls_take(sbyte4 h, struct nk_conn **pc)
{
    return pump(h, pc, 1);
}

sbyte4 nk_async_dtls_pending(struct nk_conn *c)
{
    size_t n;
    (void)nk_dtls_out(c, &n);
    return (sbyte4)n;
}

MSTATUS nk_async_dtls_output(struct nk_conn *c, ubyte *data, ubyte4 *len)
{
    size_t n;
    const uint8_t *p = nk_dtls_out(c, &n);
    ubyte4 cap = *len;
    *len = 0;
    if (!p)
        return OK;
    /* A datagram is sent whole or not at all: a cut one is a lost one. */
    NK_CHECK(n <= cap, ERR_SSL_DATAGRAM_BUFFER_TOO_SMALL);
    memcpy(data, p, n);
    nk_dtls_out_ack(c);
    *len = (ubyte4)n;
    return OK;
}

MSTATUS nk_async_dtls_send(struct nk_conn *c, const ubyte *d, ubyte4 n)
{
    /* Each message one record, in one datagram: a datagram application
     * (media, games) sends units that must arrive whole or not at all, so
     * one too long for the path MTU is refused rather than cut. */
    NK_CHECK(n <= nk_dtls_max_message(c), ERR_SSL_DATAGRAM_TOO_LONG);
    if (!n)
        return OK;
    nk_dtls_end_datagram(&c->tls);
    NK_TRY(nk_dtls_app_send(c, d, n));
    nk_dtls_end_datagram(&c->tls);
    return OK;
}

sbyte4 nk_async_dtls_timer(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    int64_t at = nk_conn_deadline(c);
    if (!at || nk_mono_ms() < at)
        return FALSE;
    MSTATUS st = nk_async_clock(h, &c);
    return st < 0 ? st : TRUE;
}
