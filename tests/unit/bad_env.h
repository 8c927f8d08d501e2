/* bad_env.h — what the tests of refused input share: checks that one side
 * failed with the right error and alert, the server alone with the test as its
 * client, and hooks that change one record or one hello in flight. Include after
 * harness.h and tls_pair.h; the fixture is the test file's own. */
#ifndef TEST_BAD_ENV_H
#define TEST_BAD_ENV_H

/* side failed with err and sent alert; the other side got it. */
static __attribute__((unused)) void check_fail(struct __test_metadata *_metadata, struct tp_pair *p, int side, MSTATUS err,
                       int alert)
{
    struct nk_conn *d = p->c[side], *peer = p->c[1 - side];
    sbyte4 a = -1, level = -1;
    ASSERT_EQ(d->err, err) TH_LOG("detecting side: %s", MERROR_lookUpErrorCode(d->err));
    ASSERT_EQ(d->alert_out, alert);
    ASSERT_TRUE(nk_conn_wants(d) & NK_CLOSED);
    ASSERT_EQ(SSL_lookupAlert(p->h[side], err, &a, &level), OK);
    ASSERT_EQ(a, alert);
    ASSERT_EQ(level, SSLALERTLEVEL_FATAL);
    ASSERT_EQ(peer->err, ERR_SSL_FATAL_ALERT) TH_LOG("peer: %s", MERROR_lookUpErrorCode(peer->err));
    ASSERT_EQ(peer->alert_in, alert);
    ASSERT_EQ(peer->alert_in_level, SSLALERTLEVEL_FATAL);
    /* §6.2: nothing goes back after a fatal alert. */
    ASSERT_EQ(peer->alert_out, NK_ALERT_NONE);
    ASSERT_FALSE(nk_conn_wants(peer) & NK_WANT_SEND);
    ASSERT_EQ(SSL_lookupAlert(p->h[1 - side], ERR_SSL_FATAL_ALERT, &a, &level), OK);
    ASSERT_EQ(a, alert);
}

/* The server, alone: the test plays the client and keeps what the server sends. */
static __attribute__((unused)) void server_alone(struct __test_metadata *_metadata, struct tp_pair *p)
{
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    p->hold[TP_S2C] = 1;
    ASSERT_EQ(nk_engine_start(p->c[TP_SERVER]), OK);
}

/* The server alone failed with err; what it sent is exactly one unprotected
 * fatal alert. */
static __attribute__((unused)) void check_alone(struct __test_metadata *_metadata, struct tp_pair *p, MSTATUS err, int alert)
{
    struct nk_conn *s = p->c[TP_SERVER];
    ASSERT_EQ(s->err, err) TH_LOG("server: %s", MERROR_lookUpErrorCode(s->err));
    ASSERT_EQ(s->alert_out, alert);
    ASSERT_TRUE(nk_conn_wants(s) & NK_CLOSED);
    ASSERT_EQ(p->q[TP_S2C].len, 7u);
    const uint8_t *r = p->q[TP_S2C].p;
    ASSERT_EQ(r[0], NK_CT_ALERT);
    ASSERT_EQ(r[1], 3);
    ASSERT_EQ(nk_load16(r + 3), 2);
    ASSERT_EQ(r[5], SSLALERTLEVEL_FATAL);
    ASSERT_EQ(r[6], alert);
}

/* ---- hooks: one record changed in flight ---- */

enum rec_op { RE_DUP, RE_APPEND, RE_REPLACE, RE_FLIP };

struct rec_edit {
    int dir;
    unsigned index;               /* the index-th record of that direction (0 = first) */
    enum rec_op op;
    const uint8_t *bytes;         /* RE_APPEND, RE_REPLACE */
    size_t n;
    size_t at;                    /* RE_FLIP: offset in the record */
    int done;
};

static __attribute__((unused)) void rec_edit_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct rec_edit *e = arg;
    if (dir != e->dir || p->records[dir] - 1 != e->index)
        return;
    e->done = 1;
    switch (e->op) {
    case RE_DUP: {
        /* Through a copy: growing rec may move the bytes being copied. */
        struct nk_buf copy = { 0 };
        if (nk_buf_append(&copy, rec->p, rec->len) != OK || nk_buf_append(rec, copy.p, copy.len) != OK)
            e->done = -1;
        nk_buf_free(&copy);
        break;
    }
    case RE_REPLACE:
        rec->len = 0;
        /* fall through */
    case RE_APPEND:
        if (nk_buf_append(rec, e->bytes, e->n) != OK)
            e->done = -1;
        break;
    case RE_FLIP:
        if (e->at < rec->len)
            rec->p[e->at] ^= 0x01;
        else
            e->done = -1;
        break;
    }
}

static __attribute__((unused)) MSTATUS run_edit(struct tp_pair *p, struct rec_edit *e)
{
    p->hook = rec_edit_hook;
    p->hook_arg = e;
    MSTATUS st = tp_handshake(p);
    p->hook = NULL;
    return e->done == 1 ? st : ERR_GENERAL;
}

/* A hello (ClientHello from the client, ServerHello or HelloRetryRequest from
 * the server) taken apart, changed by fn, and put back. */
struct hello_edit {
    int dir;
    unsigned which;               /* 0: the first hello that way, 1: the second */
    int hrr_only;                 /* only a HelloRetryRequest */
    int fix_transcript;           /* the client's ClientHello: make its transcript agree */
    void (*fn)(struct tp_hello *h);
    unsigned seen;
    MSTATUS st;
    int done;
};

static __attribute__((unused)) void hello_edit_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct hello_edit *e = arg;
    struct tp_hello h;
    if (dir != e->dir || e->done || tp_hello_from_record(rec, &h) != OK)
        return;
    if (e->hrr_only && !tp_is_hrr(&h))
        return;
    if (e->seen++ != e->which)
        return;
    e->fn(&h);
    e->st = tp_hello_to_record(&h, rec);
    e->done = 1;
    /* Until it knows the hash the client keeps its ClientHello verbatim in the
     * transcript: swapping in the changed one lets the handshake go on. */
    struct nk_transcript *tr = p->c[TP_CLIENT]->hs ? &p->c[TP_CLIENT]->hs->tr : NULL;
    if (e->st == OK && e->fix_transcript && dir == TP_C2S && tr && !tr->hash_known) {
        tr->pending.len = 0;
        e->st = nk_buf_append(&tr->pending, rec->p + NK_REC_HDR, rec->len - NK_REC_HDR);
    }
}

static __attribute__((unused)) MSTATUS run_hello_edit(struct tp_pair *p, struct hello_edit *e)
{
    p->hook = hello_edit_hook;
    p->hook_arg = e;
    MSTATUS st = tp_handshake(p);
    p->hook = NULL;
    return e->done && e->st == OK ? st : ERR_GENERAL;
}

static __attribute__((unused)) MSTATUS run_flight(struct tp_pair *p, struct tp_flight *f)
{
    p->hook = tp_flight_hook;
    p->hook_arg = f;
    MSTATUS st = tp_handshake(p);
    p->hook = NULL;
    tp_flight_free(f);
    return f->err == OK ? st : f->err;
}

#endif
