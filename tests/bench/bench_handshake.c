/* bench_handshake.c — what a TLS handshake costs an nktls server, in CPU.
 *
 *   bench_handshake [--count N] [--key p256|rsa2048|all] [--mode full|resume|all]
 *                   [--tls 1.3|1.2|all] [--dir CERTDIR] [--warmup N]
 *
 * Client and server run in this one thread over the sans-I/O engine, with no
 * sockets: the program moves the bytes, for BC_BATCH handshakes side by side
 * (bench_common.h says why). Each side's calls are bracketed with
 * the thread CPU clock, so server_us is what the server's handshake costs on
 * its own: accepting the connection, every byte it is handed, and closing it
 * (close_notify included), but no system calls. Every handshake is a new
 * connection, X25519, TLS_AES_128_GCM_SHA256; the client verifies the chain
 * against ca.pem for "localhost". In resume mode each handshake offers the
 * ticket the previous one brought (psk_dhe_ke: X25519 still runs).
 * bench_handshake_ossl measures OpenSSL's libssl the same way; see
 * bench_common.h for the options and the output. */
#include "bench_nktls.h"
#include "engine/conn.h"
#include "ssl/ssl.h"
#include "nktls.h"

/* ---- the client's ticket: the last one saved ---- */

static ubyte g_ticket[4096];
static ubyte4 g_ticket_len;

static sbyte4 save_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    (void)h, (void)info, (void)info_len;
    if (len > sizeof g_ticket)
        return -1;
    memcpy(g_ticket, psk, len);
    g_ticket_len = len;
    return 0;
}

static sbyte4 retrieve_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte **psk, ubyte4 *len,
                           intBoolean *free_it)
{
    (void)h, (void)info, (void)info_len;
    *psk = g_ticket_len ? g_ticket : NULL;
    *len = g_ticket_len;
    *free_it = FALSE;
    return 0;
}

/* ---- one handshake ---- */

struct run {
    certStorePtr srv, cli;
    int resume, key, tls12;
    struct {   /* TLS 1.2 resume mode: the last session (SSL_getClientSessionInfo) */
        ubyte len, id[SSL_MAXSESSIONIDSIZE], master[SSL_MASTERSECRETSIZE];
    } s12;
    struct bc_side side[2];   /* [NK_CLIENT], [NK_SERVER] */
};

static const ubyte2 g_suite = 0x1301;   /* TLS_AES_128_GCM_SHA256 */
/* X25519; TLS 1.2 clients also list P-256, the ECDSA certificate's curve
 * (RFC 8422 §5.1): the server still picks X25519, the first. */
static const ubyte2 g_groups[2] = { 29, 23 };

static struct nk_conn *open_side(struct run *r, enum nk_role role, sbyte4 *h)
{
    struct nk_conn *c = NULL;
    struct bc_side *t = &r->side[role];
    MSTATUS st = OK;
    bc_begin(t);
    *h = role == NK_SERVER ? SSL_ASYNC_acceptConnection(-1, r->srv)
                           : SSL_ASYNC_connect(-1, r->s12.len, r->s12.id, r->s12.master, (const sbyte *)"localhost",
                                               r->cli);
    if (*h <= 0)
        bn_fail("new connection", (MSTATUS)*h);
    if ((st = nk_conn_get(*h, &c)) == OK) {
        c->now = (int64_t)time(NULL) * 1000;
        if (role == NK_CLIENT) {
            /* The client is the same on both benchmarks: one suite, one group. */
            st = SSL_enableCiphers(*h, r->tls12 ? &bc_suite12[r->key] : &g_suite, 1);
            if (st == OK && r->tls12)
                st = SSL_ioctl(*h, SSL_SET_VERSION, (void *)(uintptr_t)3);
            if (st == OK)
                st = NKTLS_setGroups(*h, g_groups, r->tls12 ? 2 : 1);
            if (st == OK && r->resume)
                st = SSL_setClientSavePSKCallback(*h, save_psk);
            if (st == OK && r->resume)
                st = SSL_CLIENT_setRetrievePSKCallback(*h, retrieve_psk);
        }
        if (st == OK)
            st = nk_engine_start(c);
    }
    bc_end(t);
    if (st != OK)
        bn_fail("starting a connection", st);
    return c;
}

/* Move what `from` has written into `to`, one offered buffer at a time;
 * the receiver's work counts to its side. */
static int move(void *arg, struct nk_conn *from, struct nk_conn *to)
{
    struct run *r = arg;
    size_t len, cap;
    const uint8_t *out = nk_out_buf(from, &len);
    int moved = 0;
    while (len) {
        uint8_t *in = nk_in_buf(to, &cap);
        if (!in || !cap)
            break;
        size_t n = len < cap ? len : cap;
        memcpy(in, out, n);
        nk_out_ack(from, n);
        bc_begin(&r->side[to->role]);
        MSTATUS st = nk_in_ack(to, n);
        bc_end(&r->side[to->role]);
        if (st < 0)
            bn_fail(to->role == NK_SERVER ? "server" : "client", st);
        moved = 1;
        out = nk_out_buf(from, &len);
    }
    return moved;
}

/* n (at most BC_BATCH) handshakes side by side, each side's steps for all
 * of them in a row. In resume mode every client offers the last ticket. */
static void handshakes(void *arg, long n)
{
    struct run *r = arg;
    sbyte4 hs[BC_BATCH] = { 0 }, hc[BC_BATCH] = { 0 };
    struct nk_conn *s[BC_BATCH] = { 0 }, *c[BC_BATCH] = { 0 };
    int offered = r->resume && (r->tls12 ? r->s12.len : g_ticket_len);
    for (long i = 0; i < n; i++) {
        s[i] = open_side(r, NK_SERVER, &hs[i]);
        c[i] = open_side(r, NK_CLIENT, &hc[i]);
    }
    bn_exchange(move, r, s, c, n);
    for (long i = 0; i < n; i++)
        if (offered && !(s[i]->resumed && c[i]->resumed))
            bn_fail("the handshake was not resumed", ERR_SSL_HANDSHAKE_FAILURE);
    for (long i = 0; i < n; i++)
        bn_close(&r->side[NK_SERVER], hs[i]);
    /* TLS 1.2: the next batch offers the last session, as a NanoSSL client
     * resumes (a ticket the server sent is kept under its id). */
    if (r->resume && r->tls12
        && SSL_getClientSessionInfo(hc[n - 1], &r->s12.len, r->s12.id, r->s12.master) != OK)
        bn_fail("SSL_getClientSessionInfo", ERR_SSL_BAD_STATE);
    for (long i = 0; i < n; i++)
        bn_close(&r->side[NK_CLIENT], hc[i]);
}

static void measure(const struct bc_opts *o, int key, int mode, int tls, const struct bc_floor *fl,
                    double clock_ns)
{
    struct run r = { .srv = bn_server_store(o, key), .cli = bn_client_store(o), .resume = mode == BC_RESUME,
                     .key = key, .tls12 = tls == BC_TLS12 };
    /* In resume mode the first warm-up handshake is a full one that brings the
     * first ticket; every later one resumes. */
    g_ticket_len = 0;
    handshakes(&r, 1);
    bc_batches(handshakes, &r, o->warmup);
    double best[2];
    long n = bc_rounds(handshakes, &r, r.side, o->count, clock_ns, best);
    bc_report("nktls", key, mode, tls, n, best[NK_SERVER], best[NK_CLIENT], fl, clock_ns);
    CERT_STORE_releaseStore(&r.srv);
    CERT_STORE_releaseStore(&r.cli);
}

int main(int argc, char **argv)
{
    struct bc_opts o;
    struct bc_floor fl;
    bn_prog = argv[0];
    bc_parse(argc, argv, &o);
    MSTATUS st = SSL_init(BC_BATCH, BC_BATCH);
    if (st != OK)
        bn_fail("SSL_init", st);
    bc_floor_measure(&o, &fl);
    double clock_ns = bc_clock_cost_ns();
    bc_each_run(&o, measure, &fl, clock_ns);
    SSL_shutdownStack();
    SSL_releaseTables();
    bc_cleanup(&o);
    return 0;
}
