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
 * ECDHE X25519 (the client also lists P-256), the P-256 ECDSA certificate,
 * TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, extended master secret, the
 * client verifying the chain for "localhost", the default 1200-byte PMTU.
 * Each side's calls (opening, every datagram handed in, closing) are
 * bracketed with the thread CPU clock. bench_dtls_ossl measures OpenSSL's
 * libssl the same way.
 *
 * Output, one line:
 *   impl=nktls proto=dtls1.2 key=p256 mode=full count=N server_us=... client_us=...
 *       floor_us=... ratio=... kex_us=... sign_us=... clock_us=... */
#include "bench_common.h"
#include "engine/conn.h"
#include "engine/dtls.h"
#include "common/mocana.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"
#include "ssl/ssl.h"
#include "nktls.h"

static const char *g_prog = "bench_dtls";

static void fail(const char *what, MSTATUS st)
{
    fprintf(stderr, "%s: %s: %s (%d)\n", g_prog, what, (const char *)MERROR_lookUpErrorCode(st), (int)st);
    exit(1);
}

/* ---- certificate stores (as bench_handshake's) ---- */

static void read_file(const char *path, ubyte **buf, ubyte4 *len)
{
    MSTATUS st = MOCANA_readFile(path, buf, len);
    if (st != OK)
        fail(path, st);
}

static certStorePtr server_store(const struct bc_opts *o)
{
    char path[600];
    ubyte *file = NULL, *blob = NULL;
    ubyte4 flen = 0, blen = 0, n = 0;
    SizedBuffer *certs = NULL;
    certStorePtr s = NULL;
    MSTATUS st = CERT_STORE_createStore(&s);
    if (st != OK)
        fail("CERT_STORE_createStore", st);
    bc_path(o, bc_cert_file[BC_P256], path, sizeof path);
    read_file(path, &file, &flen);
    if ((st = CA_MGMT_decodeCertificateChain(file, flen, &certs, &n)) != OK)
        fail(path, st);
    MOCANA_freeReadFile(&file);
    bc_path(o, bc_key_file[BC_P256], path, sizeof path);
    read_file(path, &file, &flen);
    if ((st = CA_MGMT_convertKeyPEM(file, flen, &blob, &blen)) != OK)
        fail(path, st);
    MOCANA_freeReadFile(&file);
    if ((st = CERT_STORE_addIdentityWithCertificateChain(s, certs, n, blob, blen)) != OK)
        fail("CERT_STORE_addIdentityWithCertificateChain", st);
    CA_MGMT_freeKeyBlob(&blob);
    CA_MGMT_freeCertificateChain(certs, n);
    return s;
}

static certStorePtr client_store(const struct bc_opts *o)
{
    char path[600];
    ubyte *file = NULL;
    ubyte4 flen = 0, n = 0;
    SizedBuffer *certs = NULL;
    certStorePtr s = NULL;
    MSTATUS st = CERT_STORE_createStore(&s);
    if (st != OK)
        fail("CERT_STORE_createStore", st);
    bc_path(o, "ca.pem", path, sizeof path);
    read_file(path, &file, &flen);
    if ((st = CA_MGMT_decodeCertificateChain(file, flen, &certs, &n)) != OK)
        fail(path, st);
    MOCANA_freeReadFile(&file);
    for (ubyte4 i = 0; i < n; i++)
        if ((st = CERT_STORE_addTrustPoint(s, certs[i].data, certs[i].length)) != OK)
            fail("CERT_STORE_addTrustPoint", st);
    CA_MGMT_freeCertificateChain(certs, n);
    return s;
}

/* ---- one handshake ---- */

struct run {
    certStorePtr srv, cli;
    int64_t now;              /* ms, the engines' clock (the cookie's window) */
    struct bc_side side[2];   /* [NK_CLIENT], [NK_SERVER] */
    unsigned long hvr;        /* HelloVerifyRequests the servers sent */
};

static const ubyte2 g_suite = 0xc02b;   /* TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
static const ubyte2 g_groups[2] = { 29, 23 };
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
        fail("new connection", (MSTATUS)*h);
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
        fail("starting a connection", st);
    return c;
}

/* Hand every datagram `from` has ready to `to`; the receiver's work counts
 * to its side. */
static int move(struct run *r, struct nk_conn *from, struct nk_conn *to)
{
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
            fail(to->role == NK_SERVER ? "server" : "client", st);
        moved = 1;
    }
    return moved;
}

/* n (at most BC_BATCH) handshakes side by side, each side's steps for all
 * of them in a row. */
static void handshakes(struct run *r, long n)
{
    sbyte4 hs[BC_BATCH], hc[BC_BATCH];
    struct nk_conn *s[BC_BATCH], *c[BC_BATCH];
    unsigned long hvr = r->hvr;
    r->now = (int64_t)time(NULL) * 1000;
    for (long i = 0; i < n; i++) {
        s[i] = open_side(r, NK_SERVER, &hs[i]);
        c[i] = open_side(r, NK_CLIENT, &hc[i]);
    }
    for (int moved = 1; moved;) {
        moved = 0;
        for (long i = 0; i < n; i++)
            moved |= move(r, c[i], s[i]);
        for (long i = 0; i < n; i++)
            moved |= move(r, s[i], c[i]);
    }
    for (long i = 0; i < n; i++)
        if (s[i]->status != SSL_CONNECTION_OPEN || c[i]->status != SSL_CONNECTION_OPEN)
            fail("handshake did not complete", s[i]->err < 0 ? s[i]->err : c[i]->err);
    if (r->hvr - hvr != (unsigned long)n)
        fail("not one HelloVerifyRequest per handshake", ERR_SSL_HANDSHAKE_FAILURE);
    for (long i = 0; i < n; i++) {
        bc_begin(&r->side[NK_SERVER]);
        (void)SSL_closeConnection(hs[i]);
        bc_end(&r->side[NK_SERVER]);
    }
    for (long i = 0; i < n; i++) {
        bc_begin(&r->side[NK_CLIENT]);
        (void)SSL_closeConnection(hc[i]);
        bc_end(&r->side[NK_CLIENT]);
    }
}

static void run_many(void *arg, long n)
{
    struct run *r = arg;
    for (long done = 0; done < n; done += BC_BATCH)
        handshakes(r, n - done < BC_BATCH ? n - done : BC_BATCH);
}

int main(int argc, char **argv)
{
    struct bc_opts o;
    struct bc_floor fl;
    g_prog = argv[0];
    bc_parse(argc, argv, &o);
    o.keys[BC_RSA2048] = 0;   /* the floor's signature: P-256 only */
    MSTATUS st = SSL_init(BC_BATCH, BC_BATCH);
    if (st != OK)
        fail("SSL_init", st);
    bc_floor_measure(&o, &fl);
    double clock_ns = bc_clock_cost_ns();
    struct run r = { .srv = server_store(&o), .cli = client_store(&o) };
    handshakes(&r, 1);
    run_many(&r, o.warmup);
    double best[2];
    long n = bc_rounds(run_many, &r, r.side, o.count, clock_ns, best);
    bc_report_dtls("nktls", n, best[NK_SERVER], best[NK_CLIENT], &fl, clock_ns);
    CERT_STORE_releaseStore(&r.srv);
    CERT_STORE_releaseStore(&r.cli);
    SSL_shutdownStack();
    SSL_releaseTables();
    bc_cleanup(&o);
    return 0;
}
