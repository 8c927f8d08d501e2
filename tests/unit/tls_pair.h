/* tls_pair.h — an in-memory client and server joined by the test instead of a
 * socket: the sans-I/O engine on both ends, the test moving the bytes. Header
 * only (static functions) so that every test program can include it; keys and
 * certificates come from cert_pki.h (made once, before main()).
 *
 *   struct tp_pair p;
 *   tp_new(&p, K_P256, -1);            server identity P-256, no client identity
 *   SSL_enableCiphers(p.h[TP_CLIENT], ...);   adjust either side before the start
 *   tp_handshake(&p);                  start both, pump until both are open or one fails
 *   tp_send(&p, TP_CLIENT, buf, n);    queue data; tp_pump() moves it;
 *                                      p.rx[TP_SERVER] collects what the server read
 *   tp_free(&p);
 *
 * Bytes move in two directions, named by their sender (TP_C2S == TP_CLIENT,
 * TP_S2C == TP_SERVER). Every whole record a sender emits passes through p.hook,
 * which may rewrite it, drop it (len = 0) or replace it with any bytes at all;
 * the receiver is then fed at most p.chunk bytes per nk_in_ack, and never more
 * than nk_in_buf offers. p.hold[dir] keeps a direction's bytes in p.q[dir]
 * instead of delivering them, for a test that plays the peer itself. */
#ifndef TEST_TLS_PAIR_H
#define TEST_TLS_PAIR_H

#include <time.h>
#include <openssl/x509.h>
#include "core/nk.h"
#include "engine/conn.h"
#include "core/wire.h"
#include "core/kex.h"
#include "handshake/hs.h"
#include "ssl/ssl.h"
#include "nktls.h"
#include "unit/cert_pki.h"

#define TP_FN static __attribute__((unused))

enum { TP_CLIENT = 0, TP_SERVER = 1 };
enum { TP_C2S = TP_CLIENT, TP_S2C = TP_SERVER };

struct tp_pair;
typedef void (*tp_hook_fn)(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg);

struct tp_pair {
    sbyte4 h[2];
    struct nk_conn *c[2];
    certStorePtr store[2];
    size_t chunk;                 /* bytes per nk_in_ack; 0: as many as offered */
    tp_hook_fn hook;
    void *hook_arg;
    int hold[2];                  /* keep dir's bytes in q[dir], undelivered */
    struct nk_buf wire[2];        /* taken from the sender, not yet a whole record */
    struct nk_buf q[2];           /* released for the receiver */
    size_t q_off[2];
    struct nk_buf rx[2];          /* application data each side has read */
    unsigned records[2];          /* whole records each side has sent */
};

/* The stack is set up once per process: each test case is a forked child. */
TP_FN MSTATUS tp_stack(void)
{
    static int done;
    if (done)
        return OK;
    MSTATUS st = SSL_init(16, 16);
    done = st == OK;
    return st;
}

/* ---- certificate stores from cert_pki's certificates ---- */

TP_FN certStorePtr tp_store_new(void)
{
    certStorePtr s = NULL;
    return CERT_STORE_createStore(&s) == OK ? s : NULL;
}

TP_FN MSTATUS tp_store_trust(certStorePtr s, X509 *ca)
{
    unsigned char *der = NULL;
    int n = i2d_X509(ca, &der);
    if (n <= 0)
        return ERR_CERT_DECODE;
    MSTATUS st = CERT_STORE_addTrustPoint(s, der, (ubyte4)n);
    OPENSSL_free(der);
    return st;
}

/* An identity: leaf and key, plus the intermediate to send after the leaf (or NULL). */
TP_FN MSTATUS tp_store_identity(certStorePtr s, X509 *leaf, EVP_PKEY *key, X509 *inter)
{
    unsigned char *der[2] = { NULL, NULL };
    SizedBuffer certs[2];
    ubyte4 n = inter ? 2 : 1;
    ubyte *blob = NULL;
    ubyte4 blob_len = 0;
    MSTATUS st = blob_of(key, &blob, &blob_len);
    for (ubyte4 i = 0; st == OK && i < n; i++) {
        int len = i2d_X509(i ? inter : leaf, &der[i]);
        if (len <= 0)
            st = ERR_CERT_DECODE;
        certs[i] = (SizedBuffer){ (ubyte4)(len > 0 ? len : 0), NULL, der[i] };
    }
    if (st == OK)
        st = CERT_STORE_addIdentityWithCertificateChain(s, certs, n, blob, blob_len);
    CA_MGMT_freeKeyBlob(&blob);
    OPENSSL_free(der[0]);
    OPENSSL_free(der[1]);
    return st;
}

/* ---- the pair ---- */

/* Connections over the given stores (the pair owns and releases them); the client
 * asks for host (dnsName and SNI). fd -1: the engine never touches a socket. */
TP_FN MSTATUS tp_new_stores(struct tp_pair *p, certStorePtr srv, certStorePtr cli, const char *host)
{
    memset(p, 0, sizeof *p);
    p->store[TP_SERVER] = srv;
    p->store[TP_CLIENT] = cli;
    NK_TRY(tp_stack());
    NK_CHECK(srv && cli, ERR_MEM_ALLOC_FAIL);
    p->h[TP_SERVER] = SSL_acceptConnection(-1, srv);
    NK_CHECK(p->h[TP_SERVER] > 0, (MSTATUS)p->h[TP_SERVER]);
    p->h[TP_CLIENT] = SSL_connect(-1, 0, NULL, NULL, (const sbyte *)host, cli);
    NK_CHECK(p->h[TP_CLIENT] > 0, (MSTATUS)p->h[TP_CLIENT]);
    for (int s = 0; s < 2; s++) {
        NK_TRY(nk_conn_get(p->h[s], &p->c[s]));
        p->c[s]->now = (int64_t)time(NULL) * 1000;
        /* The test is the driver: public calls such as SSL_sendKeyUpdateRequest
         * must queue their records for us, not flush them to a socket. */
        p->c[s]->is_async = 1;
    }
    return OK;
}

/* The usual pair: the server sends cert_pki's leaf for srv_key with the
 * intermediate, the client trusts the root and asks for that leaf's host name;
 * with cli_key >= 0 the client has an identity too (for mutual authentication)
 * and the server trusts the root as well. */
TP_FN MSTATUS tp_new(struct tp_pair *p, int srv_key, int cli_key)
{
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    MSTATUS st = srv && cli ? OK : ERR_MEM_ALLOC_FAIL;
    if (st == OK)
        st = tp_store_identity(srv, pki.leaf[srv_key], pki.key[srv_key], pki.inter);
    if (st == OK)
        st = tp_store_trust(srv, pki.root);
    if (st == OK)
        st = tp_store_trust(cli, pki.root);
    if (st == OK && cli_key >= 0)
        st = tp_store_identity(cli, pki.leaf[cli_key], pki.key[cli_key], pki.inter);
    if (st != OK) {
        CERT_STORE_releaseStore(&srv);
        CERT_STORE_releaseStore(&cli);
        memset(p, 0, sizeof *p);
        return st;
    }
    return tp_new_stores(p, srv, cli, key_host[srv_key]);
}

TP_FN void tp_free(struct tp_pair *p)
{
    for (int s = 0; s < 2; s++) {
        if (p->h[s] > 0)
            (void)SSL_closeConnection(p->h[s]);
        nk_buf_free(&p->wire[s]);
        nk_buf_free(&p->q[s]);
        nk_buf_free(&p->rx[s]);
    }
    for (int s = 0; s < 2; s++)
        CERT_STORE_releaseStore(&p->store[s]);
    memset(p, 0, sizeof *p);
}

/* Put bytes on the wire towards the receiver of dir, after what is queued,
 * bypassing the hook. */
TP_FN MSTATUS tp_inject(struct tp_pair *p, int dir, const void *d, size_t n)
{
    return nk_buf_append(&p->q[dir], d, n);
}

/* Take what the sender of dir has written; cut whole records for the hook. */
TP_FN MSTATUS tp_collect(struct tp_pair *p, int dir, int *moved)
{
    struct nk_conn *c = p->c[dir];
    size_t len;
    const uint8_t *out = nk_out_buf(c, &len);
    if (len) {
        NK_TRY(nk_buf_append(&p->wire[dir], out, len));
        nk_out_ack(c, len);
        *moved = 1;
    }
    struct nk_buf *w = &p->wire[dir];
    while (w->len >= NK_REC_HDR && w->len >= NK_REC_HDR + (size_t)nk_load16(w->p + 3)) {
        size_t rlen = NK_REC_HDR + nk_load16(w->p + 3);
        struct nk_buf rec = { 0 };
        NK_TRY(nk_buf_append(&rec, w->p, rlen));
        nk_buf_consume(w, rlen);
        p->records[dir]++;
        if (p->hook)
            p->hook(p, dir, &rec, p->hook_arg);
        MSTATUS st = nk_buf_append(&p->q[dir], rec.p, rec.len);
        nk_buf_free(&rec);
        NK_TRY(st);
    }
    return OK;
}

/* Whatever application data the side has decrypted goes to p->rx[side]. */
TP_FN MSTATUS tp_drain(struct tp_pair *p, int side, int *moved)
{
    struct nk_conn *c = p->c[side];
    while (c->app_len) {
        size_t n = c->app_len;
        NK_TRY(nk_buf_reserve(&p->rx[side], n));
        size_t got = nk_app_read(c, p->rx[side].p + p->rx[side].len, n);
        p->rx[side].len += got;
        *moved = 1;
    }
    return OK;
}

/* Feed the receiver of dir what is queued for it, p->chunk bytes at a time. */
TP_FN MSTATUS tp_deliver(struct tp_pair *p, int dir, int *moved)
{
    int to = 1 - dir;
    struct nk_conn *r = p->c[to];
    struct nk_buf *q = &p->q[dir];
    while (!p->hold[dir] && p->q_off[dir] < q->len) {
        NK_TRY(tp_drain(p, to, moved));
        size_t cap;
        uint8_t *in = nk_in_buf(r, &cap);
        if (!in || !cap)
            break;
        size_t n = q->len - p->q_off[dir];
        if (n > cap)
            n = cap;
        if (p->chunk && n > p->chunk)
            n = p->chunk;
        memcpy(in, q->p + p->q_off[dir], n);
        p->q_off[dir] += n;
        *moved = 1;
        if (nk_in_ack(r, n) < 0)
            break;   /* the receiver failed; c->err says why */
    }
    if (p->q_off[dir] == q->len) {
        q->len = 0;
        p->q_off[dir] = 0;
    }
    return tp_drain(p, to, moved);
}

/* Move bytes both ways until nothing moves any more. */
TP_FN MSTATUS tp_pump(struct tp_pair *p)
{
    int moved;
    do {
        moved = 0;
        for (int d = 0; d < 2; d++) {
            NK_TRY(tp_collect(p, d, &moved));
            NK_TRY(tp_deliver(p, d, &moved));
        }
    } while (moved);
    return OK;
}

TP_FN MSTATUS tp_start(struct tp_pair *p)
{
    NK_TRY(nk_engine_start(p->c[TP_SERVER]));
    return nk_engine_start(p->c[TP_CLIENT]);
}

TP_FN int tp_open(const struct tp_pair *p, int side)
{
    return p->c[side]->status == SSL_CONNECTION_OPEN && p->c[side]->err == OK;
}

/* Start both and pump: OK when both sides are open, else the first side's error
 * (the client's if both failed). */
TP_FN MSTATUS tp_handshake(struct tp_pair *p)
{
    MSTATUS st = tp_start(p);
    if (st == OK)
        st = tp_pump(p);
    if (st != OK)
        return st;
    if (p->c[TP_CLIENT]->err < 0)
        return p->c[TP_CLIENT]->err;
    if (p->c[TP_SERVER]->err < 0)
        return p->c[TP_SERVER]->err;
    return tp_open(p, TP_CLIENT) && tp_open(p, TP_SERVER) ? OK : ERR_SSL_BAD_STATE;
}

TP_FN MSTATUS tp_send(struct tp_pair *p, int side, const void *d, size_t n)
{
    return nk_app_write(p->c[side], (const uint8_t *)d, n);
}

/* ---- records and handshake messages, for hooks that look inside ---- */

/* A deterministic byte pattern, so that a misplaced or lost byte shows. */
TP_FN void tp_fill(uint8_t *d, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d[i] = (uint8_t)x;
    }
}

/* Append one unprotected record. */
TP_FN MSTATUS tp_plain_record(struct nk_buf *out, uint8_t type, const void *d, size_t n)
{
    uint8_t h[NK_REC_HDR] = { type, 3, 3, (uint8_t)(n >> 8), (uint8_t)n };
    NK_TRY(nk_buf_append(out, h, sizeof h));
    return nk_buf_append(out, d, n);
}

/* One direction's record protection as the sender has it, rebuilt from a copy of
 * the traffic secret: the test can open what the sender sealed and seal
 * replacements the receiver will accept. */
struct tp_crypt {
    struct nk_rec_key open, seal;
    int on;
};

TP_FN MSTATUS tp_crypt_init(struct tp_crypt *k, const struct nk_suite *s, const uint8_t *secret,
                            uint64_t seq)
{
    NK_TRY(nk_rec_install(&k->open, s, secret, 0));
    NK_TRY(nk_rec_install(&k->seal, s, secret, 1));
    k->open.seq = k->seal.seq = seq;
    k->on = 1;
    return OK;
}

TP_FN void tp_crypt_free(struct tp_crypt *k)
{
    if (k->on) {
        nk_rec_clear(&k->open);
        nk_rec_clear(&k->seal);
    }
    memset(k, 0, sizeof *k);
}

/* Open a copy of one protected record: *type and the plaintext in *plain. */
TP_FN MSTATUS tp_crypt_open(struct tp_crypt *k, const uint8_t *rec, size_t len, uint8_t *type,
                            struct nk_buf *plain)
{
    struct nk_buf copy = { 0 };
    uint8_t *data;
    size_t n;
    NK_TRY(nk_buf_append(&copy, rec, len));
    MSTATUS st = nk_rec_open(&k->open, copy.p, copy.len, type, &data, &n);
    plain->len = 0;
    if (st == OK)
        st = nk_buf_append(plain, data, n);
    nk_buf_free(&copy);
    return st;
}

TP_FN MSTATUS tp_crypt_seal(struct tp_crypt *k, uint8_t type, const uint8_t *d, size_t n, size_t pad,
                            struct nk_buf *out)
{
    return nk_rec_seal(&k->seal, type, d, n, pad, out);
}

/* The handshake flight one side sends under its handshake traffic key (server:
 * EncryptedExtensions .. Finished; client: [Certificate, CertificateVerify,]
 * Finished), opened record by record so that a test can change its messages.
 * msg_fn sees each whole message (header included) and may change it, resize it
 * or empty it (dropped). The messages are then sealed again with the same key
 * and fresh sequence numbers, one record per record received, or all in one
 * record at the end with coalesce; max_plain, when set, cuts the result into
 * records of at most that many bytes. Records after the flight pass untouched. */
struct tp_flight {
    int dir;
    int coalesce;
    size_t max_plain;
    void (*msg_fn)(struct tp_flight *f, struct nk_buf *msg);
    void *arg;
    int started, done;
    MSTATUS err;                  /* first failure inside the hook */
    struct tp_crypt k;
    struct nk_buf hs;             /* plaintext handshake bytes not yet a whole message */
    struct nk_buf out;            /* messages waiting to be sealed */
    unsigned msgs;                /* messages seen */
    unsigned sealed;              /* records sent on in their place */
};

TP_FN MSTATUS tp_flight_record(struct tp_pair *p, struct tp_flight *f, struct nk_buf *rec)
{
    struct nk_conn *srv = p->c[TP_SERVER];
    if (!f->started) {
        /* Both handshake secrets are still in the server's state: it keeps them
         * until the client's Finished, which is the last message rewritten. */
        NK_CHECK(srv->hs && srv->suite, ERR_SSL_BAD_STATE);
        NK_TRY(tp_crypt_init(&f->k, srv->suite, f->dir == TP_S2C ? srv->hs->s_hs : srv->hs->c_hs, 0));
        f->started = 1;
    }
    uint8_t type;
    struct nk_buf plain = { 0 };
    MSTATUS st = tp_crypt_open(&f->k, rec->p, rec->len, &type, &plain);
    if (st == OK && type != NK_CT_HANDSHAKE)
        st = ERR_SSL_BAD_STATE;
    if (st == OK)
        st = nk_buf_append(&f->hs, plain.p, plain.len);
    nk_buf_free(&plain);
    NK_TRY(st);
    while (f->hs.len >= 4) {
        size_t mlen = 4 + ((size_t)f->hs.p[1] << 16 | (size_t)f->hs.p[2] << 8 | f->hs.p[3]);
        if (f->hs.len < mlen)
            break;
        struct nk_buf msg = { 0 };
        NK_TRY(nk_buf_append(&msg, f->hs.p, mlen));
        uint8_t mtype = msg.p[0];
        nk_buf_consume(&f->hs, mlen);
        f->msgs++;
        if (f->msg_fn)
            f->msg_fn(f, &msg);
        st = nk_buf_append(&f->out, msg.p, msg.len);
        nk_buf_free(&msg);
        NK_TRY(st);
        if (mtype == NK_HS_FINISHED)
            f->done = 1;
    }
    rec->len = 0;
    if (f->coalesce && !f->done)
        return OK;
    size_t lim = f->max_plain ? f->max_plain : NK_MAX_PLAIN;
    for (size_t off = 0; off < f->out.len;) {
        size_t n = f->out.len - off < lim ? f->out.len - off : lim;
        NK_TRY(tp_crypt_seal(&f->k, NK_CT_HANDSHAKE, f->out.p + off, n, 0, rec));
        f->sealed++;
        off += n;
    }
    f->out.len = 0;
    return OK;
}

/* The hook: install with p->hook = tp_flight_hook, p->hook_arg = &flight. */
TP_FN void tp_flight_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct tp_flight *f = arg;
    if (dir != f->dir || f->done || f->err || rec->len < NK_REC_HDR)
        return;
    if (!f->started && rec->p[0] != NK_CT_APPLICATION_DATA)
        return;   /* still unprotected: ServerHello, ChangeCipherSpec */
    f->err = tp_flight_record(p, f, rec);
}

TP_FN void tp_flight_free(struct tp_flight *f)
{
    tp_crypt_free(&f->k);
    nk_buf_free(&f->hs);
    nk_buf_free(&f->out);
}

/* ---- ClientHello / ServerHello, taken apart and put back together ---- */

#define TP_MAX_EXT 128

struct tp_hello {
    uint8_t msg_type;             /* NK_HS_CLIENT_HELLO or NK_HS_SERVER_HELLO */
    uint16_t version;
    uint8_t random[32];
    uint8_t sid[32];
    size_t sid_len;
    uint8_t suites[256];          /* ClientHello: the list; ServerHello: the 2-byte choice */
    size_t suites_len;
    uint8_t comp[16];             /* ClientHello: the list; ServerHello: 1 byte */
    size_t comp_len;
    struct {
        uint16_t type;
        uint8_t data[1024];
        size_t len;
    } ext[TP_MAX_EXT];
    size_t n_ext;
};

/* Parse one hello message (header included). */
TP_FN MSTATUS tp_hello_parse(const uint8_t *msg, size_t n, struct tp_hello *h)
{
    struct nk_rd r, v, exts;
    uint8_t t;
    uint32_t len;
    memset(h, 0, sizeof *h);
    nk_rd_init(&r, msg, n);
    NK_TRY(nk_rd_u8(&r, &t));
    NK_TRY(nk_rd_u24(&r, &len));
    NK_CHECK(len == nk_rd_left(&r) && (t == NK_HS_CLIENT_HELLO || t == NK_HS_SERVER_HELLO),
             ERR_SSL_PROTOCOL);
    h->msg_type = t;
    NK_TRY(nk_rd_u16(&r, &h->version));
    NK_TRY(nk_rd_copy(&r, h->random, 32));
    NK_TRY(nk_rd_vec8(&r, &v, 0, 32));
    h->sid_len = nk_rd_left(&v);
    memcpy(h->sid, v.p, h->sid_len);
    if (t == NK_HS_CLIENT_HELLO) {
        NK_TRY(nk_rd_vec16(&r, &v, 0, sizeof h->suites));
        h->suites_len = nk_rd_left(&v);
        memcpy(h->suites, v.p, h->suites_len);
        NK_TRY(nk_rd_vec8(&r, &v, 0, sizeof h->comp));
        h->comp_len = nk_rd_left(&v);
        memcpy(h->comp, v.p, h->comp_len);
    } else {
        NK_TRY(nk_rd_copy(&r, h->suites, 2));
        h->suites_len = 2;
        NK_TRY(nk_rd_copy(&r, h->comp, 1));
        h->comp_len = 1;
    }
    NK_TRY(nk_rd_vec16(&r, &exts, 0, 0xffff));
    NK_TRY(nk_rd_done(&r));
    while (nk_rd_left(&exts)) {
        NK_CHECK(h->n_ext < TP_MAX_EXT, ERR_BUFFER_TOO_SMALL);
        NK_TRY(nk_rd_u16(&exts, &h->ext[h->n_ext].type));
        NK_TRY(nk_rd_vec16(&exts, &v, 0, sizeof h->ext[0].data));
        h->ext[h->n_ext].len = nk_rd_left(&v);
        memcpy(h->ext[h->n_ext].data, v.p, nk_rd_left(&v));
        h->n_ext++;
    }
    return OK;
}

/* Write the hello message (header included) to out, replacing its contents. */
TP_FN MSTATUS tp_hello_write(const struct tp_hello *h, struct nk_buf *out)
{
    struct nk_wr w;
    out->len = 0;
    nk_wr_init(&w, out);
    nk_wr_u8(&w, h->msg_type);
    size_t body = nk_wr_open(&w, 3);
    nk_wr_u16(&w, h->version);
    nk_wr_bytes(&w, h->random, 32);
    nk_wr_u8(&w, (uint8_t)h->sid_len);
    nk_wr_bytes(&w, h->sid, h->sid_len);
    if (h->msg_type == NK_HS_CLIENT_HELLO) {
        nk_wr_u16(&w, (uint16_t)h->suites_len);
        nk_wr_bytes(&w, h->suites, h->suites_len);
        nk_wr_u8(&w, (uint8_t)h->comp_len);
        nk_wr_bytes(&w, h->comp, h->comp_len);
    } else {
        nk_wr_bytes(&w, h->suites, 2);
        nk_wr_bytes(&w, h->comp, 1);
    }
    size_t exts = nk_wr_open(&w, 2);
    for (size_t i = 0; i < h->n_ext; i++) {
        nk_wr_u16(&w, h->ext[i].type);
        nk_wr_u16(&w, (uint16_t)h->ext[i].len);
        nk_wr_bytes(&w, h->ext[i].data, h->ext[i].len);
    }
    nk_wr_close(&w, exts, 2);
    nk_wr_close(&w, body, 3);
    return nk_wr_status(&w);
}

/* Index of the extension of this type, or -1. */
TP_FN int tp_hello_find(const struct tp_hello *h, uint16_t type)
{
    for (size_t i = 0; i < h->n_ext; i++)
        if (h->ext[i].type == type)
            return (int)i;
    return -1;
}

TP_FN void tp_hello_del(struct tp_hello *h, uint16_t type)
{
    int i = tp_hello_find(h, type);
    if (i < 0)
        return;
    memmove(&h->ext[i], &h->ext[i + 1], (h->n_ext - (size_t)i - 1) * sizeof h->ext[0]);
    h->n_ext--;
}

/* Append an extension (a second one of a type already present is allowed:
 * tests need duplicates). */
TP_FN MSTATUS tp_hello_add(struct tp_hello *h, uint16_t type, const void *d, size_t n)
{
    NK_CHECK(h->n_ext < TP_MAX_EXT && n <= sizeof h->ext[0].data, ERR_BUFFER_TOO_SMALL);
    h->ext[h->n_ext].type = type;
    memcpy(h->ext[h->n_ext].data, d, n);
    h->ext[h->n_ext].len = n;
    h->n_ext++;
    return OK;
}

/* A hook helper: if rec is one unprotected record holding one hello message,
 * parse it; OK and *h filled, or an error when it is something else. */
TP_FN MSTATUS tp_hello_from_record(const struct nk_buf *rec, struct tp_hello *h)
{
    NK_CHECK(rec->len > NK_REC_HDR + 4 && rec->p[0] == NK_CT_HANDSHAKE, ERR_SSL_PROTOCOL);
    return tp_hello_parse(rec->p + NK_REC_HDR, rec->len - NK_REC_HDR, h);
}

/* Replace rec by one unprotected handshake record carrying h. */
TP_FN MSTATUS tp_hello_to_record(const struct tp_hello *h, struct nk_buf *rec)
{
    struct nk_buf msg = { 0 };
    MSTATUS st = tp_hello_write(h, &msg);
    rec->len = 0;
    if (st == OK)
        st = tp_plain_record(rec, NK_CT_HANDSHAKE, msg.p, msg.len);
    nk_buf_free(&msg);
    return st;
}

/* RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
static const uint8_t tp_hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

TP_FN int tp_is_hrr(const struct tp_hello *h)
{
    return h->msg_type == NK_HS_SERVER_HELLO && memcmp(h->random, tp_hrr_random, 32) == 0;
}

#endif
