/* async_env.h — what the asynchronous API's tests share: upcalls recorded per
 * connection, the fixture that installs them, two status macros. */
#ifndef ASYNC_ENV_H
#define ASYNC_ENV_H

#include <fcntl.h>
#include <linux/tls.h>
#include <poll.h>
#include "api_env.h"
#include "ktls/ktls.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* ---- upcalls, recorded per connection ---------------------------------------- */

static struct up {
    sbyte4 h;
    int opens, open_as_client, rehandshakes, open_seq;
    int recvs, recv_as_client, first_recv_seq;
    ubyte *data;                          /* everything the receive upcall got */
    size_t len, cap;
    int timers, timer_as_client, key_updates, timeouts;
    ubyte4 timer_ms, timeout_ms;
    sbyte4 timer_future;
} ups[8];
static int seq;                 /* orders the events */
static sbyte4 echo_h;           /* the receive upcall of this handle echoes */
static int send_on_open;        /* the client's open upcall sends "early" */
static ubyte4 grant_ms;         /* funcPtrSSLHandleTimeout's answer */
static int close_in_upcall;     /* open and receive upcalls close their connection */

static struct up *up_for(sbyte4 h)
{
    for (size_t i = 0; i < NK_ARRAY_LEN(ups); i++)
        if (ups[i].h == h || ups[i].h == 0) {
            ups[i].h = h;
            return &ups[i];
        }
    abort();   /* more connections than the test ever makes at once */
}

static void ups_reset(void)
{
    for (size_t i = 0; i < NK_ARRAY_LEN(ups); i++)
        free(ups[i].data);
    memset(ups, 0, sizeof ups);
}

static void append(struct up *u, const ubyte *d, size_t n)
{
    if (u->len + n > u->cap && !(u->data = realloc(u->data, u->cap = (u->len + n) * 2)))
        abort();
    memcpy(u->data + u->len, d, n);
    u->len += n;
}

static sbyte4 open_up(sbyte4 h, intBoolean reh, int client)
{
    struct up *u = up_for(h);
    u->opens++;
    u->open_as_client += client;
    u->rehandshakes += reh != FALSE;
    u->open_seq = ++seq;
    if (client && send_on_open && SSL_ASYNC_sendMessage(h, (sbyte *)"early", 5, NULL) != OK)
        abort();
    return close_in_upcall && !client ? SSL_ASYNC_closeConnection(h) : OK;
}
static sbyte4 on_open_srv(sbyte4 h, intBoolean reh) { return open_up(h, reh, 0); }
static sbyte4 on_open_cli(sbyte4 h, intBoolean reh) { return open_up(h, reh, 1); }

static sbyte4 recv_up(sbyte4 h, ubyte *d, ubyte4 n, int client)
{
    struct up *u = up_for(h);
    if (!u->recvs++)
        u->first_recv_seq = ++seq;
    u->recv_as_client += client;
    append(u, d, n);
    if (h == echo_h && SSL_ASYNC_sendMessage(h, (sbyte *)d, (sbyte4)n, NULL) != OK)
        abort();
    return close_in_upcall ? SSL_ASYNC_closeConnection(h) : OK;
}
static sbyte4 on_recv_srv(sbyte4 h, ubyte *d, ubyte4 n) { return recv_up(h, d, n, 0); }
static sbyte4 on_recv_cli(sbyte4 h, ubyte *d, ubyte4 n) { return recv_up(h, d, n, 1); }

static sbyte4 timer_up(sbyte4 h, ubyte4 ms, sbyte4 future, int client)
{
    struct up *u = up_for(h);
    u->timers++;
    u->timer_as_client += client;
    u->timer_ms = ms;
    u->timer_future = future;
    return OK;
}
static sbyte4 on_timer_srv(sbyte4 h, ubyte4 ms, sbyte4 f) { return timer_up(h, ms, f, 0); }
static sbyte4 on_timer_cli(sbyte4 h, ubyte4 ms, sbyte4 f) { return timer_up(h, ms, f, 1); }

static sbyte4 on_timeout(sbyte4 h, ubyte4 *ms)
{
    up_for(h)->timeouts++;
    up_for(h)->timeout_ms = *ms;
    *ms = grant_ms;
    return OK;
}

static sbyte4 on_key_update(sbyte4 h) { up_for(h)->key_updates++; return OK; }

/* The stack, with the recording upcalls installed. */
static void async_env_up(struct th_meta *_metadata)
{
    env_up(8);
    ASSERT_EQ(SSL_ASYNC_init(8, 8), OK);   /* same table as SSL_init's */
    sslSettings *s = SSL_sslSettings();
    s->funcPtrOpenStateUpcall = on_open_srv;
    s->funcPtrClientOpenStateUpcall = on_open_cli;
    s->funcPtrReceiveUpcall = on_recv_srv;
    s->funcPtrClientReceiveUpcall = on_recv_cli;
    s->funcPtrStartTimer = on_timer_srv;
    s->funcPtrClientStartTimer = on_timer_cli;
}

/* ---- a client and a server, both asynchronous, joined by the test ---------------- */

enum { CLI = 0, SRV = 1 };

FIXTURE(async) {
    sbyte4 h[2];
};

/* Every case runs once per protocol version: the client's highest version
 * (SSL_SET_VERSION's minor number; the server speaks both), and what one
 * protected record adds on the wire: TLS 1.3 a header, the inner content type
 * and the tag (5 + 1 + 16); TLS 1.2 AES-GCM a header, the explicit nonce and
 * the tag (5 + 8 + 16, RFC 5288 §3). */
FIXTURE_VARIANT(async) {
    ubyte4 minor;
    sbyte4 overhead;
};
FIXTURE_VARIANT_ADD(async, tls13) { .minor = 4, .overhead = 22 };
FIXTURE_VARIANT_ADD(async, tls12) { .minor = 3, .overhead = 29 };

static ubyte4 tls_minor;   /* the running row's */
static sbyte4 rec_over;

/* Hold a client to the running row's version. */
static MSTATUS cap_version(sbyte4 h)
{
    return h < 0 ? h : SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)tls_minor);
}

FIXTURE_SETUP(async)
{
    tls_minor = variant->minor;
    rec_over = variant->overhead;
    async_env_up(_metadata);
    SSL_sslSettings()->funcPtrKeyUpdateRequest = on_key_update;
}

FIXTURE_TEARDOWN(async)
{
    ups_reset();
    env_down();
}

/* A status check that names both codes, as one statement. */
#define ST(expr, want) do { MSTATUS st_ = (expr); ST_EQ_AT(st_, want, #expr ": "); } while (0)
#define SEND(h, str) ASSERT_EQ(SSL_ASYNC_sendMessage(h, (sbyte *)(str), (sbyte4)strlen(str), NULL), OK)

#endif
