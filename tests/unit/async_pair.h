/* async_pair.h — the pair of asynchronous connections test_async.c and
 * test_async_early.c drive: made, closed, and the bytes moved between them by
 * the test itself (all at once or in chunks), with the handshake and data
 * checks both files use. */
#ifndef NK_TEST_ASYNC_PAIR_H
#define NK_TEST_ASYNC_PAIR_H

#include "unit/async_env.h"

static inline void pair_new(struct th_meta *_metadata, sbyte4 h[2])
{
    h[CLI] = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h[CLI], 0);
    ASSERT_EQ(cap_version(h[CLI]), OK);
    h[SRV] = SSL_ASYNC_acceptConnection(-1, env.srv);
    ASSERT_GT(h[SRV], 0);
}

static inline void pair_close(struct th_meta *_metadata, sbyte4 h[2])
{
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(SSL_ASYNC_closeConnection(h[i]), OK);
        ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[i]), ERR_SSL_BAD_ID);
    }
}


static ubyte wire[1 << 17];

/* Take everything `from` has to send and give it to `to`, chunk bytes per
 * recvMessage (0: each take at once). */
static inline MSTATUS move(sbyte4 from, sbyte4 to, size_t chunk)
{
    for (;;) {
        ubyte4 len = sizeof wire;
        MSTATUS st = SSL_ASYNC_getSendBuffer(from, wire, &len);
        if (st != OK)
            return st;
        if (len == 0)
            return OK;
        for (size_t off = 0, k; off < len; off += k) {
            k = chunk && chunk < len - off ? chunk : len - off;
            st = SSL_ASYNC_recvMessage(to, wire + off, (ubyte4)k);
            if (st != OK)
                return st;
        }
    }
}

/* Move bytes both ways until neither end has anything to send. */
static inline MSTATUS pump(sbyte4 h[2], size_t chunk)
{
    int moved;
    do {
        moved = 0;
        for (int i = 0; i < 2; i++) {
            if (SSL_ASYNC_sendMessagePending(h[i]) <= 0)
                continue;
            moved = 1;
            NK_TRY(move(h[i], h[1 - i], chunk));
        }
    } while (moved);
    return OK;
}

/* A new pair (server session flags: srv_flags) through the handshake. */
static inline void handshake(struct th_meta *_metadata, sbyte4 h[2], size_t chunk, ubyte4 srv_flags)
{
    ubyte4 status;
    pair_new(_metadata, h);
    ASSERT_EQ(SSL_setSessionFlags(h[SRV], srv_flags), OK);
    ASSERT_EQ(SSL_ASYNC_start(h[CLI]), OK);
    MSTATUS st = pump(h, chunk);
    ST_EQ_AT(st, OK, at("chunk %zu: ", chunk));
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(SSL_getSessionStatus(h[i], &status), OK);
        ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_OPEN);
        ubyte4 minor = 0;
        ASSERT_EQ(SSL_getSSLTLSVersion(h[i], &minor), OK);
        ASSERT_EQ(minor, tls_minor);
        struct up *u = up_for(h[i]);
        /* Exactly once, by the upcall for this end's role, not a rehandshake. */
        ASSERT_EQ(u->opens, 1) TH_LOG("chunk %zu, %s", chunk, i ? "server" : "client");
        ASSERT_EQ(u->open_as_client, i == CLI);
        ASSERT_EQ(u->rehandshakes, 0);
    }
}

/* Send n bytes of fill(seed) from h[from]; the other end's upcall must get them. */
static inline void exchange(struct th_meta *_metadata, sbyte4 h[2], int from, size_t n, uint32_t seed,
                     size_t chunk)
{
    ubyte *b = malloc(n);
    ASSERT_NOT_NULL(b);
    fill(b, n, seed);
    struct up *u = up_for(h[1 - from]);
    size_t before = u->len;
    sbyte4 sent = -1;
    ASSERT_EQ(SSL_ASYNC_sendMessage(h[from], (sbyte *)b, (sbyte4)n, &sent), OK);
    ASSERT_EQ(sent, (sbyte4)n);
    ST(pump(h, chunk), OK);
    ASSERT_EQ(u->len - before, n);
    ASSERT_MEM_EQ(u->data + before, b, n) TH_LOG("%zu bytes, chunk %zu", n, chunk);
    free(b);
}

#endif
