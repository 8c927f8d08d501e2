/* bench_dtls.c — what a DTLS 1.2 handshake costs an nktls server, in CPU.
 *
 *   bench_dtls [--count N] [--dir CERTDIR] [--warmup N] [--no-floor]
 *
 * bench_handshake's measurement for DTLS 1.2 (RFC 6347): client and server
 * run in this one thread over the sans-I/O engine, the program moving each
 * datagram from one side's nk_dtls_out to the other's nk_dtls_in, BC_BATCH
 * handshakes side by side (bench_common.h says why). Every handshake is a new
 * connection pair and a full handshake with the cookie exchange a real server
 * makes: ClientHello, HelloVerifyRequest, ClientHello with the cookie, then
 * ECDHE X25519 (the client also lists P-256), the P-256 ECDSA certificate
 * signing with SHA-256 (group and scheme checked on every handshake),
 * TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, extended master secret, the
 * server keeping the session in its cache (the default), the client
 * verifying the chain for "localhost", the default 1200-byte PMTU.
 * Each side's calls (opening, every datagram handed in, closing) are
 * bracketed with the thread CPU clock. bench_dtls_ossl measures OpenSSL's
 * libssl the same way.
 *
 * Output, one line:
 *   impl=nktls proto=dtls1.2 key=p256 mode=full count=N server_us=... client_us=...
 *       floor_us=... ratio=... kex_us=... sign_us=... clock_us=... */
#include "bench_nktls.h"
#include "engine/conn.h"
#include "engine/dtls.h"
#include "ssl/ssl.h"
#include "nktls.h"

/* ---- one handshake ---- */

struct run {
    certStorePtr srv, cli;
    int64_t now;              /* ms, the engines' clock (the cookie's window) */
    struct bc_side side[2];   /* [NK_CLIENT], [NK_SERVER] */
    unsigned long hvr;        /* HelloVerifyRequests the servers sent */
};

static const ubyte2 g_suite = 0xc02b;   /* TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
static const ubyte2 g_groups[2] = { 29, 23 };
static const ubyte2 g_sig = 0x0403;     /* ecdsa_secp256r1_sha256 */
/* The client's address as the server's cookie sees it (a sockaddr_in). */
static const uint8_t g_peer[16] = { 2, 0, 0x13, 0x88, 127, 0, 0, 1 };

static struct nk_conn *open_side(struct run *r, enum nk_role role, sbyte4 *h)
{
    struct nk_conn *c = NULL;
    struct bc_side *t = &r->side[role];
    MSTATUS st = OK;
    bc_begin(t);
    *h = role == NK_SERVER ? SSL_ASYNC_acceptConnection(-1, r->srv)
                           : SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"localhost", r->cli);
    if (*h <= 0)
        bn_fail("new connection", (MSTATUS)*h);
    if ((st = nk_conn_get(*h, &c)) == OK && role == NK_CLIENT) {
        st = SSL_enableCiphers(*h, &g_suite, 1);
        if (st == OK)
            st = NKTLS_setGroups(*h, g_groups, 2);
    }
    if (st == OK)
        st = role == NK_SERVER ? nk_dtls_conn(c, g_peer, sizeof g_peer) : nk_dtls_conn(c, NULL, 0);
    if (st == OK)
        st = nk_dtls_engine_start(c, r->now);
    bc_end(t);
    if (st != OK)
        bn_fail("starting a connection", st);
    return c;
}

/* Hand every datagram `from` has ready to `to`; the receiver's work counts
 * to its side. */
static int move(void *arg, struct nk_conn *from, struct nk_conn *to)
{
    struct run *r = arg;
    size_t len;
    const uint8_t *p;
    int moved = 0;
    while ((p = nk_dtls_out(from, &len))) {
        if (from->role == NK_SERVER && len > NK_DTLS_HDR + 1 && p[0] == NK_CT_HANDSHAKE
            && p[NK_DTLS_HDR] == NK_HS_HELLO_VERIFY_REQUEST)
            r->hvr++;
        bc_begin(&r->side[to->role]);
        MSTATUS st = nk_dtls_in(to, p, len, r->now);
        bc_end(&r->side[to->role]);
        nk_dtls_out_ack(from);
        if (st < 0)
            bn_fail(to->role == NK_SERVER ? "server" : "client", st);
        moved = 1;
    }
    return moved;
}

/* n (at most BC_BATCH) handshakes side by side, each side's steps for all
 * of them in a row. */
static void handshakes(void *arg, long n)
{
    struct run *r = arg;
    sbyte4 hs[BC_BATCH] = { 0 }, hc[BC_BATCH] = { 0 };
    struct nk_conn *s[BC_BATCH] = { 0 }, *c[BC_BATCH] = { 0 };
    unsigned long hvr = r->hvr;
    r->now = (int64_t)time(NULL) * 1000;
    for (long i = 0; i < n; i++) {
        s[i] = open_side(r, NK_SERVER, &hs[i]);
        c[i] = open_side(r, NK_CLIENT, &hc[i]);
    }
    bn_exchange(move, r, s, c, n);
    for (long i = 0; i < n; i++)
        if (s[i]->group != g_groups[0] || c[i]->peer_sig != g_sig)
            bn_fail("X25519 and an ECDSA P-256 SHA-256 signature", ERR_SSL_HANDSHAKE_FAILURE);
    if (r->hvr - hvr != (unsigned long)n)
        bn_fail("not one HelloVerifyRequest per handshake", ERR_SSL_HANDSHAKE_FAILURE);
    for (long i = 0; i < n; i++)
        bn_close(&r->side[NK_SERVER], hs[i]);
    for (long i = 0; i < n; i++)
        bn_close(&r->side[NK_CLIENT], hc[i]);
}

int main(int argc, char **argv)
{
    struct bc_opts o;
    struct bc_floor fl;
    bn_prog = argv[0];
    bc_parse(argc, argv, &o);
    o.keys[BC_RSA2048] = 0;   /* the floor's signature: P-256 only */
    MSTATUS st = SSL_init(BC_BATCH, BC_BATCH);
    if (st != OK)
        bn_fail("SSL_init", st);
    bc_floor_measure(&o, &fl);
    double clock_ns = bc_clock_cost_ns();
    struct run r = { .srv = bn_server_store(&o, BC_P256), .cli = bn_client_store(&o) };
    handshakes(&r, 1);
    bc_batches(handshakes, &r, o.warmup);
    double best[2];
    long n = bc_rounds(handshakes, &r, r.side, o.count, clock_ns, best);
    bc_report_dtls("nktls", n, best[NK_SERVER], best[NK_CLIENT], &fl, clock_ns);
    CERT_STORE_releaseStore(&r.srv);
    CERT_STORE_releaseStore(&r.cli);
    SSL_shutdownStack();
    SSL_releaseTables();
    bc_cleanup(&o);
    return 0;
}
