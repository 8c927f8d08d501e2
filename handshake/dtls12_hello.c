/* handshake/dtls12_hello.c — the DTLS 1.2 hello exchange (RFC 6347 §4.2.1):
 * the client's ClientHello with its cookie field, the HelloVerifyRequest
 * it answers, its ServerHello; the server's stateless cookie check. Once
 * the ServerHello (client) or a ClientHello with a valid cookie (server) is
 * in, the TLS 1.2 tables (handshake/tls12_client.c, tls12_server.c) run the
 * rest of the handshake, their messages carried by handshake/dtls12_flight.c. */
#include <arpa/inet.h>
#include <pthread.h>
#include "handshake/dtls12.h"
#include "handshake/tls12.h"
#include "handshake/tls12_resume.h"
#include "handshake/hello.h"

/* ---- connection state ---- */

/* The suites DTLS carries: ECDHE with an AEAD (record/dtls12.c protects
 * with the TLS 1.2 AEAD suites only). */
static uint64_t dtls_suites(void)
{
    uint64_t m = 0;
    for (size_t i = 0; i < nk_suite12_count; i++) {
        const struct nk_suite *s = &nk_suites12[i];
        if (s->kx == NK_KX_ECDHE && s->aead != NK_AES_CBC)
            m |= nk_suite_bit(s);
    }
    return m;
}

MSTATUS nk_dtls_init(struct nk_tls *c)
{
    NK_CHECK(!c->is_dtls && !c->pha_md && !c->hs, ERR_SSL_BAD_STATE);
    struct nk_dtls *d = calloc(1, sizeof *d);
    NK_CHECK(d, ERR_MEM_ALLOC_FAIL);
    nk_dtls_reasm_init(&d->ra, &c->cfg->limits);
    nk_dtls_start(&d->rd0);
    nk_dtls_start(&d->wr0);
    nk_dtls_start(c->rd);
    nk_dtls_start(c->wr);
    d->pmtu = NK_DTLS_PMTU;
    d->rto_init_ms = d->rto_ms = NK_DTLS_RTO_INIT_MS;
    d->new_flight = 1;
    c->dtls = d;
    c->is_dtls = 1;
    c->min_minor = c->max_minor = 3;
    c->suites &= dtls_suites();
    return OK;
}

void nk_dtls_free(struct nk_tls *c)
{
    struct nk_dtls *d = nk_dtls_of(c);
    if (!d)
        return;
    nk_dtls_reasm_free(&d->ra);
    nk_buf_free(&d->flight);
    nk_rec_clear(&d->rd0);
    nk_rec_clear(&d->wr0);
    nk_wipe(d, sizeof *d);
    free(d);
    c->dtls = NULL;
    c->is_dtls = 0;
}

/* ---- the client ---- */

static int is_ip_literal(const char *name)
{
    uint8_t buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static void write_client_exts(struct nk_tls *c, struct nk_wr *w)
{
    if (c->server_name && c->server_name[0] && !is_ip_literal(c->server_name))
        nk_ext_write_sni(w, c->server_name);   /* RFC 6066 §3: no IP literals */
    nk_ext_write_u16_list(w, NK_EXT_SUPPORTED_GROUPS, c->groups, c->n_groups);
    uint16_t sigs[NK_TLS12_MAX_SIGS];
    size_t n_sigs = nk_tls12_sigs(c, NK_SIGS_OFFERED, sigs);
    nk_ext_write_u16_list(w, NK_EXT_SIGNATURE_ALGORITHMS, sigs, n_sigs);
    nk_tls12_write_client_exts(c, w);   /* extended_master_secret, renegotiation_info */
    nk_tls12_write_ticket_ext(c, w);    /* RFC 5077 §3.2: asks for a ticket, or offers one */
    nk_ext_write_alpn_offer(c, w);      /* RFC 7301 §3.1 */
    nk_dtls_srtp_write_client(c, w);    /* RFC 5764 §4.1.1 */
}

/* §4.2.1: ClientHello with `opaque cookie<0..2^8-1>` after the session id;
 * the second one repeats the first but for the cookie. */
static MSTATUS send_client_hello(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_CLIENT_HELLO);
    nk_wr_u16(&w, NK_DTLS_V12);
    nk_wr_bytes(&w, hs->client_random, 32);
    /* RFC 5246 §7.4.1.2: the id of a session to resume, or none (the
     * second ClientHello repeats the first's, RFC 6347 §4.2.1). */
    nk_wr_u8(&w, hs->session_id_len);
    nk_wr_bytes(&w, hs->session_id, hs->session_id_len);
    size_t pos = nk_wr_open(&w, 1);
    if (hs->cookie.len)
        nk_wr_bytes(&w, hs->cookie.p, hs->cookie.len);
    nk_wr_close(&w, pos, 1);
    pos = nk_wr_open(&w, 2);
    nk_tls_write_suites(c, &w, 3);
    nk_wr_close(&w, pos, 2);
    nk_wr_u8(&w, 1);   /* compression methods: null */
    nk_wr_u8(&w, 0);
    pos = nk_wr_open(&w, 2);
    write_client_exts(c, &w);
    nk_wr_close(&w, pos, 2);
    return nk_hs_finish(c, &w);
}

static MSTATUS client_start(struct nk_tls *c)
{
    NK_CHECK(nk_tls_has_suites(c, 3) && c->n_groups, ERR_SSL_NO_CIPHER_MATCH);
    NK_TRY(nk_random(c->hs->client_random, 32));
    /* A session SSL_connect was given (handshake/tls12_resume.c): offered
     * only under the rules TLS 1.2's resumption keeps (same suite, server
     * name, transport and extended master secret), with its ticket. */
    NK_TRY(nk_tls12_client_load(c));
    return send_client_hello(c);
}

/* §4.2.1: struct { ProtocolVersion server_version; opaque cookie<0..2^8-1>; }. */
static MSTATUS on_hello_verify_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    uint16_t version;
    struct nk_rd cookie;
    NK_TRY(nk_rd_u16(b, &version));
    NK_TRY(nk_rd_vec8(b, &cookie, 0, 255));
    NK_TRY(nk_rd_done(b));
    /* "DTLS 1.2 and 1.0 clients MUST use the version solely to indicate
     * packet formatting ... and not as part of version negotiation." */
    NK_CHECK(version == NK_DTLS_V10 || version == NK_DTLS_V12, ERR_SSL_UNSUPPORTED_VERSION);
    hs->cookie.len = 0;
    if (nk_rd_left(&cookie))
        NK_TRY(nk_buf_append(&hs->cookie, cookie.p, nk_rd_left(&cookie)));
    /* §4.2.6: "the initial ClientHello and HelloVerifyRequest are not
     * included" in the handshake messages hashed. */
    nk_transcript_free(&hs->tr);
    return send_client_hello(c);
}

static MSTATUS on_server_hello(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    uint16_t version, suite;
    uint8_t comp;
    struct nk_rd sid;
    struct nk_ext e[NK_MAX_EXTS];
    size_t ne;
    NK_TRY(nk_hs_read_server_hello(b, &version, hs->server_random, &sid, &suite, &comp, e, &ne));
    NK_CHECK(version == NK_DTLS_V12, ERR_SSL_UNSUPPORTED_VERSION);
    /* RFC 5246 §7.4.1.4: only extensions we asked for (server_name's empty
     * answer, ec_point_formats, which RFC 8422 §5.2 lets a server send;
     * session_ticket, which nk_tls12_client_resume checks we sent; ALPN
     * only when we offered protocols, RFC 7301 §3.1). */
    for (size_t i = 0; i < ne; i++) {
        uint16_t t = e[i].type;
        NK_CHECK(t == NK_EXT_RENEGOTIATION_INFO || t == NK_EXT_EXTENDED_MASTER_SECRET || t == NK_EXT_SERVER_NAME
                     || t == NK_EXT_EC_POINT_FORMATS || t == NK_EXT_USE_SRTP || t == NK_EXT_SESSION_TICKET
                     || (t == NK_EXT_ALPN && c->alpn_offer_len),
                 ERR_SSL_UNSUPPORTED_EXTENSION);
        if (t == NK_EXT_USE_SRTP)
            NK_TRY(nk_dtls_srtp_on_server_hello(c, &e[i]));
        if (t == NK_EXT_ALPN)
            NK_TRY(nk_ext_client_on_alpn(c, &e[i]));
    }
    /* From here on the TLS 1.2 client's table: DTLS 1.2 is TLS 1.2's handshake. */
    return nk_tls12_on_server_hello(c, NK_TLS12, sid, suite, comp, e, ne, raw, n);
}

/* The ServerHello takes the connection to the TLS 1.2 client, whose row
 * for it names the next state (handshake/protocol.c). */
static const struct nk_step client_steps[] = {
    { ST_C_WAIT_SH, NK_CT_HANDSHAKE, NK_HS_HELLO_VERIFY_REQUEST, on_hello_verify_request, ST_C_WAIT_SH },
    { ST_C_WAIT_SH, NK_CT_HANDSHAKE, NK_HS_SERVER_HELLO, on_server_hello, ST_NONE },
};

const struct nk_protocol nk_dtls12_client = {
    .id = NK_PROTO_DTLS12_CLIENT, .first = ST_C_WAIT_SH, .version = NK_TLS12, .name = "DTLS 1.2 client",
    .steps = client_steps, .n_steps = NK_ARRAY_LEN(client_steps), .start = client_start,
};

int nk_dtls_ccs_early(const struct nk_tls *c)
{
    return nk_dtls_reasm_pending(&c->dtls->ra) || (c->role == NK_CLIENT && c->hs && c->hs->ticket12 == 1);
}

/* ---- the server: stateless cookies ---- */

/* §4.2.1: "generate cookies in such a way that they can be verified
 * without retaining any per-client state on the server": HMAC under a
 * secret of the time window (a minute on the connection's clock), from
 * one process-wide random key; the current and the previous window's
 * cookies are accepted, so a secret lives two minutes at most. The
 * secrets of the last two windows used are kept (g_cookie_win), so that
 * a cookie costs one HMAC, not two: every HelloVerifyRequest and every
 * check of a cookie would otherwise derive its window's secret again. */
static uint8_t g_cookie_key[32];
static pthread_once_t g_cookie_once = PTHREAD_ONCE_INIT;
static int g_cookie_fixed;
static pthread_mutex_t g_cookie_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int64_t window;
    uint8_t known;
    uint8_t secret[32];
} g_cookie_win[2];

static void cookie_key_init(void)
{
    if (!g_cookie_fixed && nk_random_priv(g_cookie_key, sizeof g_cookie_key) < 0)
        g_cookie_key[0] ^= 1;   /* never reached in practice; the key stays secret-less but distinct */
}

void nk_dtls_cookie_secret_set(const uint8_t key[32])
{
    pthread_mutex_lock(&g_cookie_mu);
    memcpy(g_cookie_key, key, sizeof g_cookie_key);
    g_cookie_fixed = 1;
    nk_wipe(g_cookie_win, sizeof g_cookie_win);   /* secrets of the old key */
    pthread_mutex_unlock(&g_cookie_mu);
}

#define NK_COOKIE_WINDOW_MS 60000

/* The secret of a window: kept, or made and kept in the place of the
 * older of the two. */
static MSTATUS window_secret(int64_t window, uint8_t out[32])
{
    MSTATUS st = OK;
    (void)pthread_once(&g_cookie_once, cookie_key_init);
    pthread_mutex_lock(&g_cookie_mu);
    int i = g_cookie_win[0].known && g_cookie_win[0].window == window ? 0 : 1;
    if (!g_cookie_win[i].known || g_cookie_win[i].window != window) {
        uint8_t win[8];
        for (int b = 0; b < 8; b++)
            win[b] = (uint8_t)((uint64_t)window >> (56 - 8 * b));
        int older0 = g_cookie_win[1].known && g_cookie_win[0].window < g_cookie_win[1].window;
        i = !g_cookie_win[0].known || older0 ? 0 : 1;
        g_cookie_win[i].known = 0;
        st = nk_hmac(NK_SHA256, g_cookie_key, sizeof g_cookie_key, win, sizeof win, g_cookie_win[i].secret);
        g_cookie_win[i].known = st == OK;
        g_cookie_win[i].window = window;
    }
    if (st == OK)
        memcpy(out, g_cookie_win[i].secret, 32);
    pthread_mutex_unlock(&g_cookie_mu);
    return st;
}

/* The cookie over the client's address and the hello's version, random,
 * session_id, cipher_suites and compression methods ("The server SHOULD use
 * those values to generate its cookie"). */
static MSTATUS make_cookie(const uint8_t *peer, size_t peer_len, const struct nk_client_hello *ch, int64_t window,
                           uint8_t out[NK_DTLS_COOKIE_LEN])
{
    uint8_t ver[2], secret[32];
    NK_TRY(window_secret(window, secret));
    nk_store16(ver, ch->legacy_version);
    uint8_t sl = (uint8_t)nk_rd_left(&ch->session_id);
    const uint8_t *parts[] = { peer, ver, ch->random, &sl, ch->session_id.p, ch->suites.p, ch->compression.p };
    size_t lens[] = { peer_len, 2, 32, 1, sl, nk_rd_left(&ch->suites), nk_rd_left(&ch->compression) };
    MSTATUS st = nk_hmac_parts(NK_SHA256, secret, sizeof secret, parts, lens, NK_ARRAY_LEN(parts), out);
    nk_wipe(secret, sizeof secret);
    return st;
}

static MSTATUS cookie_ok(const uint8_t *peer, size_t peer_len, int64_t now, const struct nk_client_hello *ch,
                         struct nk_rd cookie, int *ok)
{
    uint8_t want[NK_DTLS_COOKIE_LEN];
    int64_t window = now / NK_COOKIE_WINDOW_MS;
    *ok = 0;
    if (nk_rd_left(&cookie) != NK_DTLS_COOKIE_LEN)
        return OK;
    for (int64_t w = window; w >= window - 1 && !*ok; w--) {
        NK_TRY(make_cookie(peer, peer_len, ch, w, want));
        *ok = nk_ct_equal(want, cookie.p, NK_DTLS_COOKIE_LEN);
    }
    return OK;
}

static MSTATUS parse_client_hello(struct nk_rd *b, struct nk_client_hello *ch, struct nk_rd *cookie)
{
    memset(ch, 0, sizeof *ch);
    NK_TRY(nk_rd_u16(b, &ch->legacy_version));
    NK_TRY(nk_rd_copy(b, ch->random, 32));
    NK_TRY(nk_rd_vec8(b, &ch->session_id, 0, 32));
    NK_TRY(nk_rd_vec8(b, cookie, 0, 255));
    NK_TRY(nk_rd_vec16(b, &ch->suites, 2, 0xfffe));
    NK_CHECK(nk_rd_left(&ch->suites) % 2 == 0, ERR_SSL_PROTOCOL);
    NK_TRY(nk_rd_vec8(b, &ch->compression, 1, 255));
    NK_TRY(nk_ext_parse(b, ch->exts, &ch->n_exts));
    return nk_rd_done(b);
}

/* §4.2.1: HelloVerifyRequest's body, "DTLS 1.2 server implementations
 * SHOULD use DTLS version 1.0", and the cookie for this hello now. */
static MSTATUS hvr_body(const uint8_t *peer, size_t peer_len, int64_t now, const struct nk_client_hello *ch,
                        uint8_t body[NK_DTLS_HVR_BODY])
{
    nk_store16(body, NK_DTLS_V10);
    body[2] = NK_DTLS_COOKIE_LEN;
    return make_cookie(peer, peer_len, ch, now / NK_COOKIE_WINDOW_MS, body + 3);
}

/* The HelloVerifyRequest's record takes the ClientHello's record sequence
 * number ("the server MUST use the record sequence number in the
 * ClientHello"), its message_seq the ClientHello's: nothing of ours moves. */
static MSTATUS send_hello_verify_request(struct nk_tls *c, const struct nk_client_hello *ch)
{
    struct nk_dtls *d = c->dtls;
    uint8_t body[NK_DTLS_HVR_BODY];
    NK_TRY(hvr_body(d->peer, d->peer_len, c->now, ch, body));
    /* Its record number is the hello's: the engine numbers whatever
     * answers a hello before the cookie so (engine/dtls.c). */
    return nk_dtls_send_unkept(c, NK_HS_HELLO_VERIFY_REQUEST, d->send_seq, body, sizeof body);
}

MSTATUS nk_dtls_hello_check(const uint8_t *peer, size_t peer_len, int64_t now, const uint8_t *msg, size_t n,
                            int *valid, uint8_t hvr[NK_DTLS_HVR_BODY])
{
    struct nk_client_hello ch;
    struct nk_rd b, cookie;
    nk_rd_init(&b, msg, n);
    NK_TRY(parse_client_hello(&b, &ch, &cookie));
    /* DTLS versions count down: 0xfefd (1.2) is above 0xfeff (1.0). */
    NK_CHECK(ch.legacy_version <= NK_DTLS_V12, ERR_SSL_UNSUPPORTED_VERSION);
    NK_TRY(cookie_ok(peer, peer_len, now, &ch, cookie, valid));
    return *valid ? OK : hvr_body(peer, peer_len, now, &ch, hvr);
}

int nk_dtls_hello_stateless(const struct nk_tls *c)
{
    return c->is_dtls && c->role == NK_SERVER && c->proto == NK_PROTO_DTLS12_SERVER && nk_hs_state(c) == ST_S_WAIT_CH;
}

static MSTATUS on_client_hello(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_client_hello ch;
    struct nk_rd cookie;
    int ok = c->dtls->hello_verified;
    NK_TRY(parse_client_hello(b, &ch, &cookie));
    /* DTLS versions count down: 0xfefd (1.2) is above 0xfeff (1.0). */
    NK_CHECK(ch.legacy_version <= NK_DTLS_V12, ERR_SSL_UNSUPPORTED_VERSION);
    if (!ok)
        NK_TRY(cookie_ok(c->dtls->peer, c->dtls->peer_len, c->now, &ch, cookie, &ok));
    if (!ok)   /* §4.2.1: "If a server receives a ClientHello with an invalid cookie, it SHOULD treat it the same as a ClientHello with no cookie" */
        return send_hello_verify_request(c, &ch);
    NK_TRY(nk_dtls_srtp_on_client_hello(c, ch.exts, ch.n_exts));
    c->proto = NK_PROTO_TLS12_SERVER;
    return nk_tls12_server.client_hello(c, &ch, raw, n);
}

/* Until a valid cookie, the state stays: the TLS 1.2 server's row for the
 * ClientHello names the next state once one came. */
static const struct nk_step server_steps[] = {
    { ST_S_WAIT_CH, NK_CT_HANDSHAKE, NK_HS_CLIENT_HELLO, on_client_hello, ST_S_WAIT_CH },
};

const struct nk_protocol nk_dtls12_server = {
    .id = NK_PROTO_DTLS12_SERVER, .first = ST_S_WAIT_CH, .version = NK_TLS12, .name = "DTLS 1.2 server",
    .steps = server_steps, .n_steps = NK_ARRAY_LEN(server_steps),
};
