/* tests/fuzz/fuzz_hs.h — what fuzz_hs_client and fuzz_hs_server share: real
 * handshakes recorded once per process, message by message, and replayed into
 * a fresh connection up to the message the fuzzer replaces.
 *
 * A byte-stream target (fuzz_client, fuzz_server) stops at the first protected
 * record: the fuzzer cannot forge one. Here each peer message before the fuzzed
 * one is a recorded plaintext message handed to the engine as a decrypted
 * handshake record (nk_in_plain, the path the kernel's RX offload takes), so
 * the replayed side holds real keys, transcript and peer certificate, and the
 * fuzzed bytes reach the handler of any state the handshake has.
 *
 * The random stream is restarted at the same points in the recording and in
 * every replay (fuzz_common.h), so the replayed side draws the same key share,
 * random and signature nonce as it did while recorded, and the recorded peer
 * messages (its Finished, say) stay valid for it. Each replay checks that the
 * connection reached the state it was meant to (else abort: a target that
 * silently fuzzes the wrong state would be worse than none). */
#ifndef NK_FUZZ_HS_H
#define NK_FUZZ_HS_H

#include "fuzz/fuzz_common.h"
#include "nktls.h"
#include "core/kex.h"
#include "record/record.h"
#include "handshake/hs.h"

/* Not every target calls every helper. */
#define FH_FN static __attribute__((unused))

/* The handshakes recorded: plain (server authentication only), mutual
 * (the server requires a client certificate) and with a HelloRetryRequest. */
enum { FH_PLAIN, FH_MUTUAL, FH_HRR, FH_SCENARIOS };

#define FH_MAX_MSGS 16
#define FH_CONNECTED (-1)   /* "state" of an open connection */

/* The handshake messages one side sent, in order, header included. */
struct fh_script {
    struct nk_buf bytes;
    size_t off[FH_MAX_MSGS], len[FH_MAX_MSGS];
    int first[FH_MAX_MSGS];       /* the message began a flight (one delivery) */
    size_t n;
    struct nk_buf pending;        /* plaintext not yet a whole message */
    struct nk_rec_key key;        /* opens the sender's handshake records */
    int keyed;
};

struct fh_recording {
    struct fh_script from[2];     /* [FH_C] the client's messages, [FH_S] the server's */
    uint64_t rng[2];              /* each side's random stream while the other draws */
};

enum { FH_C = 0, FH_S = 1 };

static struct fh_recording fh_rec[FH_SCENARIOS];

/* The last ticket a client saved (SSL_serializePSK's form), for fuzz_ticket. */
static ubyte fh_psk[1024];
static ubyte4 fh_psk_len;

/* A client keeps tickets only if the application has somewhere to put them. */
FH_FN sbyte4 fh_save_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    (void)h, (void)info, (void)info_len;
    if (len <= sizeof fh_psk) {
        memcpy(fh_psk, psk, len);
        fh_psk_len = len;
    }
    return 0;
}

/* Options of one scenario, set on a new connection before it starts. */
FH_FN void fh_configure(sbyte4 h, int client, int scenario)
{
    struct nk_conn *c;
    if (nk_conn_get(h, &c) < 0)
        abort();
    c->now = (int64_t)FZ_NOW * 1000;
    if (client)
        (void)!SSL_setClientSavePSKCallback(h, fh_save_psk);
    if (scenario == FH_MUTUAL && !client && SSL_setSessionFlags(h, SSL_FLAG_REQUIRE_MUTUAL_AUTH) < 0)
        abort();
    if (scenario == FH_HRR) {
        /* The client's share (its first group) is one the server does not take. */
        static const ubyte2 cli[] = { NK_GROUP_X25519, NK_GROUP_SECP256R1 };
        static const ubyte2 srv[] = { NK_GROUP_SECP384R1, NK_GROUP_SECP256R1 };
        if (NKTLS_setGroups(h, client ? cli : srv, 2) < 0)
            abort();
    }
}

static struct nk_conn *fh_new(int client, int scenario, sbyte4 *h)
{
    certStorePtr store = fz_setup();
    struct nk_conn *c;
    *h = client ? SSL_connect(-1, 0, NULL, NULL, (const sbyte *)"localhost", store)
                : SSL_acceptConnection(-1, store);
    if (*h < 0 || nk_conn_get(*h, &c) < 0)
        abort();
    fh_configure(*h, client, scenario);
    return c;
}

/* Split the sender's records into handshake messages; secret opens its
 * protected records (NULL while it has none). Records under any later key
 * (tickets after the handshake) do not open and are left out. */
FH_FN void fh_script_add(struct fh_script *s, const uint8_t *d, size_t n, const struct nk_suite *suite,
                          const uint8_t *secret)
{
    struct nk_buf rec = { 0 };
    while (n >= NK_REC_HDR && n >= NK_REC_HDR + (size_t)nk_load16(d + 3)) {
        size_t rlen = NK_REC_HDR + nk_load16(d + 3);
        uint8_t type = d[0], *data = NULL;
        size_t len = 0;
        rec.len = 0;
        if (nk_buf_append(&rec, d, rlen) < 0)
            abort();
        if (type == NK_CT_HANDSHAKE) {
            data = rec.p + NK_REC_HDR;
            len = rlen - NK_REC_HDR;
        } else if (type == NK_CT_APPLICATION_DATA && secret) {
            if (!s->keyed && nk_rec_install(&s->key, suite, secret, 0) < 0)
                abort();
            s->keyed = 1;
            if (nk_rec_open(&s->key, rec.p, rlen, &type, &data, &len) < 0 || type != NK_CT_HANDSHAKE)
                len = 0;
        }
        if (len && nk_buf_append(&s->pending, data, len) < 0)
            abort();
        d += rlen;
        n -= rlen;
    }
    nk_buf_free(&rec);
    size_t first = s->n;
    while (s->pending.len >= 4) {
        size_t mlen = 4 + ((size_t)s->pending.p[1] << 16 | (size_t)s->pending.p[2] << 8 | s->pending.p[3]);
        if (s->pending.len < mlen || s->n == FH_MAX_MSGS)
            break;
        s->off[s->n] = s->bytes.len;
        s->first[s->n] = s->n == first;
        s->len[s->n++] = mlen;
        if (nk_buf_append(&s->bytes, s->pending.p, mlen) < 0)
            abort();
        nk_buf_consume(&s->pending, mlen);
    }
}

/* The receiving half of fz_feed: no application data or key update of its own
 * once open, or the two sides would answer each other for ever. */
FH_FN void fh_feed(struct nk_conn *c, const uint8_t *data, size_t size)
{
    for (size_t off = 0; off < size;) {
        size_t room = 0;
        uint8_t *buf = nk_in_buf(c, &room);
        if (!buf || room == 0) {
            if (!c->app_len)
                break;
            fz_drain_app(c);
            continue;
        }
        size_t n = size - off < room ? size - off : room;
        memcpy(buf, data + off, n);
        off += n;
        if (nk_in_ack(c, n) < 0)
            break;
    }
    fz_drain_app(c);
}

/* Hand the sender's output to the receiver through the engine; record it.
 * Returns whether anything moved. */
FH_FN int fh_move(struct fh_recording *r, struct nk_conn *from, struct nk_conn *to, struct nk_conn *srv,
                   int *srv_fresh)
{
    size_t n;
    const uint8_t *out = nk_out_buf(from, &n);
    if (!n)
        return 0;
    struct nk_buf copy = { 0 };
    if (nk_buf_append(&copy, out, n) < 0)
        abort();
    nk_out_ack(from, n);
    /* The server's handshake secrets open either side's flight; it keeps both
     * until the client's Finished, the last message recorded. */
    const uint8_t *secret = NULL;
    if (srv->hs && srv->suite)
        secret = from == srv ? srv->hs->s_hs : srv->hs->c_hs;
    int side = to == srv ? FH_S : FH_C;
    fh_script_add(&r->from[1 - side], copy.p, copy.len, srv->suite, secret);
    /* The receiver draws from its own stream, as it does alone in fh_run: the
     * server's starts with its first input; and each delivery (a flight) starts
     * with an empty cache, as each flight does in fh_run. */
    if (side == FH_S && *srv_fresh) {
        fz_rng_reset(FZ_STREAM_SERVER);
        *srv_fresh = 0;
    } else {
        fz_rng = r->rng[side];
        fz_rng_drop_cache();
    }
    fh_feed(to, copy.p, copy.len);
    r->rng[side] = fz_rng;
    nk_buf_free(&copy);
    return 1;
}

FH_FN void fh_record(int scenario)
{
    sbyte4 hs, hc;
    struct fh_recording *r = &fh_rec[scenario];
    struct nk_conn *s = fh_new(0, scenario, &hs), *c = fh_new(1, scenario, &hc);
    int fresh = 1;

    if (nk_engine_start(s) < 0)
        abort();
    fz_rng_reset(FZ_STREAM_CLIENT);
    if (nk_engine_start(c) < 0)
        abort();
    r->rng[FH_C] = fz_rng;
    for (int moved = 1; moved;) {
        moved = fh_move(r, c, s, s, &fresh);
        moved |= fh_move(r, s, c, s, &fresh);
    }
    if (c->status != SSL_CONNECTION_OPEN || s->status != SSL_CONNECTION_OPEN || c->err < 0 || s->err < 0)
        abort();
    for (int i = 0; i < 2; i++) {
        if (r->from[i].keyed)
            nk_rec_clear(&r->from[i].key);
        r->from[i].keyed = 0;
        nk_buf_free(&r->from[i].pending);
    }
    SSL_closeConnection(hc);
    SSL_closeConnection(hs);
}

/* Record every scenario, once per process. */
FH_FN void fh_setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    (void)fz_setup();
    for (int i = 0; i < FH_SCENARIOS; i++)
        fh_record(i);
}

FH_FN int fh_state(const struct nk_conn *c)
{
    if (c->hs)
        return c->hs->state;
    return c->status == SSL_CONNECTION_OPEN && c->err >= 0 ? FH_CONNECTED : -2;
}

/* Give c one handshake message: type, then body (a 4-byte header is built). */
FH_FN MSTATUS fh_give(struct nk_conn *c, uint8_t type, const uint8_t *body, size_t n)
{
    if (n > 0xffffff)
        n = 0xffffff;   /* what the header's 24-bit length can say; the library's own limits apply */
    /* An exact-size copy, so a read past the message is caught. */
    uint8_t *m = malloc(4 + n);
    if (!m)
        abort();
    m[0] = type;
    m[1] = (uint8_t)(n >> 16);
    m[2] = (uint8_t)(n >> 8);
    m[3] = (uint8_t)n;
    if (n)
        memcpy(m + 4, body, n);
    MSTATUS st = nk_in_plain(c, NK_CT_HANDSHAKE, m, 4 + n);
    free(m);
    fz_drain_out(c);
    return st;
}

/* One fuzz case: which side, which recording, how many recorded peer messages
 * go first, the type the input is given as, and the state it must then meet. */
struct fh_case {
    const char *name;
    int scenario;
    size_t prefix;
    uint8_t type;
    int state;
};

/* A new connection of this side, led through the recorded peer messages of
 * the case, then given body as the next message; what that message gave. */
FH_FN MSTATUS fh_run(int client, const struct fh_case *fc, const uint8_t *body, size_t n)
{
    const struct fh_script *peer = &fh_rec[fc->scenario].from[client ? FH_S : FH_C];
    sbyte4 h;
    struct nk_conn *c = fh_new(client, fc->scenario, &h);

    if (client)
        fz_rng_reset(FZ_STREAM_CLIENT);   /* as fh_record before the client starts */
    if (nk_engine_start(c) < 0)
        abort();
    if (!client)
        fz_rng_reset(FZ_STREAM_SERVER);   /* as fh_move before the server's first input */
    fz_drain_out(c);
    if (fc->prefix > peer->n)
        abort();
    for (size_t i = 0; i < fc->prefix; i++) {
        const uint8_t *m = peer->bytes.p + peer->off[i];
        if (peer->first[i])
            fz_rng_drop_cache();   /* a new flight, as in the recording */
        if (fh_give(c, m[0], m + 4, peer->len[i] - 4) < 0)
            abort();
    }
    if (fh_state(c) != fc->state)
        abort();
    MSTATUS st = fh_give(c, fc->type, body, n);
    fz_drain_app(c);
    SSL_closeConnection(h);
    return st;
}

/* The recorded message a case replaces: its body, the natural seed. */
FH_FN int fh_seed_of(int client, const struct fh_case *fc, const uint8_t **body, size_t *n)
{
    const struct fh_script *peer = &fh_rec[fc->scenario].from[client ? FH_S : FH_C];
    if (fc->prefix >= peer->n)
        return 0;
    const uint8_t *m = peer->bytes.p + peer->off[fc->prefix];
    if (m[0] != fc->type)
        return 0;
    *body = m + 4;
    *n = peer->len[fc->prefix] - 4;
    return 1;
}

#endif
