/* resume12_env.h — the set-up test_resume12.c and test_resume12_tickets.c
 * share: a pair over the case's own stores (which live across the case's
 * connections, as a server's do), offered a session or not, and the checks
 * "resumed" and "full". */
#ifndef NK_TEST_RESUME12_ENV_H
#define NK_TEST_RESUME12_ENV_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12_resume.h"
#include "handshake/psk.h"

struct session {
    ubyte id_len;
    ubyte id[SSL_MAXSESSIONIDSIZE];
    ubyte master[SSL_MASTERSECRETSIZE];
};

struct setup {
    const struct session *offer;   /* NULL: a fresh client */
    const char *host;              /* NULL: the leaf's host name */
    certStorePtr srv;              /* NULL: the case's server store */
    ubyte4 srv_flags;
    int client_13;                 /* the client allows TLS 1.3 too (the default) */
    int64_t srv_skew, cli_skew;    /* seconds added to either side's clock */
    int tickets;                   /* the server issues RFC 5077 tickets (else ids only) */
};

FIXTURE(r12) {
    certStorePtr srv, cli;
    struct tp_pair p;
};

FIXTURE_SETUP(r12)
{
    self->srv = tp_store_new();
    self->cli = tp_store_new();
    ASSERT_TRUE(self->srv && self->cli);
    ASSERT_EQ(tp_store_identity(self->srv, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
    ASSERT_EQ(tp_store_trust(self->cli, pki.root), OK);
}

FIXTURE_TEARDOWN(r12)
{
    tp_free(&self->p);
    CERT_STORE_releaseStore(&self->srv);
    CERT_STORE_releaseStore(&self->cli);
}

/* A pair over the case's stores, not yet started (the next call frees it). */
static inline MSTATUS pair(FIXTURE_DATA(r12) *self, const struct setup *s)
{
    const char *host = s->host ? s->host : key_host[K_P256];
    tp_free(&self->p);
    MSTATUS st = tp_new_stores(&self->p, s->srv ? s->srv : self->srv, self->cli, host);
    self->p.store[TP_SERVER] = self->p.store[TP_CLIENT] = NULL;   /* the case keeps them */
    NK_TRY(st);
    struct tp_pair *p = &self->p;
    if (s->offer) {   /* the client again, now with the session */
        NK_TRY(SSL_closeConnection(p->h[TP_CLIENT]));
        p->h[TP_CLIENT] = SSL_connect(-1, s->offer->id_len, (ubyte *)s->offer->id, (ubyte *)s->offer->master,
                                      (const sbyte *)host, self->cli);
        NK_CHECK(p->h[TP_CLIENT] > 0, (MSTATUS)p->h[TP_CLIENT]);
        NK_TRY(nk_conn_get(p->h[TP_CLIENT], &p->c[TP_CLIENT]));
        p->c[TP_CLIENT]->is_async = 1;
    }
    p->c[TP_SERVER]->now = ((int64_t)time(NULL) + s->srv_skew) * 1000;
    p->c[TP_CLIENT]->now = ((int64_t)time(NULL) + s->cli_skew) * 1000;
    NK_TRY(SSL_setSessionFlags(p->h[TP_SERVER], s->srv_flags));
    if (!s->tickets)
        NK_TRY(SSL_ioctl(p->h[TP_SERVER], SSL_SET_NUM_TICKETS, (void *)0));
    NK_TRY(SSL_ioctl(p->h[TP_SERVER], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION));
    if (!s->client_13)
        NK_TRY(SSL_ioctl(p->h[TP_CLIENT], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION));
    return OK;
}

static inline MSTATUS connect_with(FIXTURE_DATA(r12) *self, const struct setup *s)
{
    NK_TRY(pair(self, s));
    return tp_handshake(&self->p);
}

static inline MSTATUS info(FIXTURE_DATA(r12) *self, struct session *out)
{
    return SSL_getClientSessionInfo(self->p.h[TP_CLIENT], &out->id_len, out->id, out->master);
}

static inline int resumed(FIXTURE_DATA(r12) *self)
{
    return NKTLS_isSessionResumed(self->p.h[TP_SERVER]) && NKTLS_isSessionResumed(self->p.h[TP_CLIENT]);
}

/* Neither side resumed, and both are open with TLS 1.2. */
static inline int full(FIXTURE_DATA(r12) *self)
{
    return !NKTLS_isSessionResumed(self->p.h[TP_SERVER]) && !NKTLS_isSessionResumed(self->p.h[TP_CLIENT])
        && self->p.c[TP_CLIENT]->minor == 3 && self->p.c[TP_SERVER]->minor == 3;
}

/* A first full handshake and the session it leaves. */
static inline void first_t(struct __test_metadata *_metadata, FIXTURE_DATA(r12) *self, struct session *s, int tickets)
{
    struct setup st = { .tickets = tickets };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
    ASSERT_EQ(info(self, s), OK);
    ASSERT_EQ(s->id_len, 32);
    /* The master secret is the one both ends hold. */
    ASSERT_MEM_EQ(s->master, self->p.c[TP_SERVER]->exporter, 48);
}

#define first(m, self, s) first_t(m, self, s, 0)

#endif
