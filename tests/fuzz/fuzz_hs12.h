/* tests/fuzz/fuzz_hs12.h — what fuzz_hs12_client and fuzz_hs12_server share:
 * one TLS 1.2 message given to a client or a server in the state that
 * expects it. Both ends are held to TLS 1.2; they run live, in memory, for
 * every input (no replay: TLS 1.2 keeps its Finished under the record key
 * and its ChangeCipherSpec outside any handshake message, so a live peer is
 * the plain way there). The peer's records reach the fuzzed side one at a
 * time, whatever the fuzzed side sends reaches the peer at once, until the
 * fuzzed side is in the case's state (else abort: a case that fuzzed the
 * wrong state would be worse than none); then the input is the next message
 * (nk_in_plain, as fuzz_hs.h gives its messages). The random stream is
 * restarted for every input, so an input always takes the same path. */
#ifndef NK_FUZZ_HS12_H
#define NK_FUZZ_HS12_H

#include <stdio.h>
#include "fuzz/fuzz_hs.h"

struct f12_case {
    const char *name;
    int scenario;          /* FH_PLAIN or FH_MUTUAL (the server requires a certificate) */
    uint8_t type;          /* the message the input is given as */
    int state;             /* the state the fuzzed side must be in */
};

/* A server accepts a client's renegotiation (handshake/tls12_reneg.c): a
 * ClientHello after the handshake then runs the new handshake's code, not
 * only the refusal. The first handshake is the same either way. */
static struct nk_conn *f12_new(int client, int scenario, sbyte4 *h)
{
    struct nk_conn *c = fh_new(client, scenario, h);
    if (SSL_ioctl(*h, SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION) < 0)
        abort();
    if (!client)
        c->flags |= NKTLS_FLAG_ALLOW_RENEGOTIATION;
    return c;
}

/* What `from` sent, onto wire; then the first whole record on wire, taken
 * off into rec (0: none whole yet). */
static int f12_next_record(struct nk_buf *wire, struct nk_conn *from, struct nk_buf *rec)
{
    size_t n;
    const uint8_t *out = nk_out_buf(from, &n);
    if (n) {
        if (nk_buf_append(wire, out, n) < 0)
            abort();
        nk_out_ack(from, n);
    }
    if (wire->len < NK_REC_HDR || wire->len < NK_REC_HDR + (size_t)nk_load16(wire->p + 3))
        return 0;
    size_t rlen = NK_REC_HDR + nk_load16(wire->p + 3);
    rec->len = 0;
    if (nk_buf_append(rec, wire->p, rlen) < 0)
        abort();
    nk_buf_consume(wire, rlen);
    return 1;
}

/* A live pair led to the case's state on the fuzzed side (client or
 * server); the peer's next record, if it is a plaintext handshake message
 * of the case's type, goes to seed (the natural seed); then body is given
 * as that message. What the message gave. */
static MSTATUS f12_run(int client, const struct f12_case *fc, const uint8_t *body, size_t n, struct nk_buf *seed)
{
    sbyte4 hs, hc;
    struct nk_buf wire[2] = { { 0 }, { 0 } }, rec = { 0 };
    fz_rng_reset(FZ_STREAM_CLIENT);
    struct nk_conn *s = f12_new(0, fc->scenario, &hs), *c = f12_new(1, fc->scenario, &hc);
    struct nk_conn *me = client ? c : s, *peer = client ? s : c;
    if (nk_engine_start(s) < 0 || nk_engine_start(c) < 0)
        abort();
    for (int steps = 0; fh_state(me) != fc->state; steps++) {
        int moved = 0;
        if (steps > 64 || me->err < 0 || peer->err < 0)
            abort();
        while (f12_next_record(&wire[0], me, &rec)) {   /* all of ours to the peer */
            fh_feed(peer, rec.p, rec.len);
            moved = 1;
        }
        if (f12_next_record(&wire[1], peer, &rec)) {    /* one of the peer's to us */
            fh_feed(me, rec.p, rec.len);
            moved = 1;
        }
        if (!moved)
            abort();   /* nothing moves: the state is out of reach */
    }
    /* What we sent on the way there reaches the peer, as it would. */
    while (f12_next_record(&wire[0], me, &rec))
        fh_feed(peer, rec.p, rec.len);
    /* The peer's next record, when it is the message the input replaces. */
    if (seed && f12_next_record(&wire[1], peer, &rec) && rec.len >= NK_REC_HDR + 4
        && rec.p[0] == NK_CT_HANDSHAKE && rec.p[NK_REC_HDR] == fc->type
        && nk_buf_append(seed, rec.p + NK_REC_HDR + 4, rec.len - NK_REC_HDR - 4) < 0)
        abort();
    MSTATUS st = fh_give(me, fc->type, body, n);
    fz_drain_app(me);
    nk_buf_free(&wire[0]);
    nk_buf_free(&wire[1]);
    nk_buf_free(&rec);
    SSL_closeConnection(hc);
    SSL_closeConnection(hs);
    return st;
}

/* With NKTLS_FUZZ_SEEDS=DIR: one seed per case, the case byte then the
 * message the live peer sent there (or, for a Finished under the record key
 * and messages no peer sends unasked, dflt), and the process ends. */
static void f12_write_seeds(int client, const struct f12_case *cases, size_t n)
{
    static const uint8_t dflt[12];
    const char *dir = getenv("NKTLS_FUZZ_SEEDS");
    if (!dir)
        return;
    for (size_t i = 0; i < n; i++) {
        struct nk_buf seed = { 0 };
        (void)f12_run(client, &cases[i], dflt, cases[i].type == NK_HS_FINISHED ? sizeof dflt : 0, &seed);
        const uint8_t *b = seed.len ? seed.p : dflt;
        size_t len = seed.len ? seed.len : cases[i].type == NK_HS_FINISHED ? sizeof dflt : 0;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].name);
        FILE *f = fopen(path, "wb");
        if (!f || fputc((int)i, f) == EOF || (len && fwrite(b, 1, len, f) != len) || fclose(f) != 0) {
            perror(path);
            exit(1);
        }
        nk_buf_free(&seed);
    }
    exit(0);
}

#endif
