/* handshake/tls12_reneg.c — TLS 1.2 renegotiation: a new full handshake on an
 * established connection, under its current keys, whose ChangeCipherSpecs
 * switch each direction to the new ones (RFC 5246 §7.4.1). Application data
 * may come between its messages and is delivered as usual: the old keys
 * carry it until each side's ChangeCipherSpec.
 *
 * Only secure renegotiation (RFC 5746): each hello's renegotiation_info
 * carries the verify_data of the handshake before (the client's in the
 * ClientHello, both in the ServerHello), which binds the new handshake to the
 * connection it renews. The verify_data of the last handshake are kept in the
 * bytes past the randoms in c->c_ap and c->s_ap (TLS 1.2 keeps its randoms
 * there, handshake/tls12_common.c), so an idle connection pays nothing for
 * them. A peer that did not signal RFC 5746 support is never renegotiated
 * with (§4.2, §4.4 recommend refusing).
 *
 * Policy. The server asks with a HelloRequest (SSL_initiateRehandshake): the
 * client renegotiates unless the application refuses
 * (funcPtrClientRehandshakeRequest, funcPtrNewHandshakeCallback). A
 * renegotiation the client starts costs the server a full handshake at the
 * client's will: the server accepts one only with NKTLS_FLAG_ALLOW_RENEGOTIATION
 * and at most NKTLS_RENEGOTIATIONS_PER_MINUTE per connection in any minute.
 * Refusals are the no_renegotiation warning (RFC 5246 §7.2.2), after which the
 * connection goes on under its keys. The kernel cannot rekey a TLS 1.2
 * socket, so a connection it carries is never renegotiated. */
#include "handshake/rare.h"
#include "handshake/tls12_reneg.h"
#include "handshake/tls12.h"
#include "handshake/hello.h"
#include <arpa/inet.h>
#include "core/slab.h"
#include "nktls.h"

/* Where the verify_data of the last handshake are kept: after the random in
 * c->c_ap (the client's) and c->s_ap (the server's). */
#define VD_AT 32
_Static_assert(VD_AT + NK_TLS12_VERIFY <= NK_MAX_SECRET, "room for the verify_data");

#define MINUTE_MS 60000

static const uint8_t *client_vd(const struct nk_tls *c)
{
    return c->c_ap + VD_AT;
}

static const uint8_t *server_vd(const struct nk_tls *c)
{
    return c->s_ap + VD_AT;
}

/* What renegotiation keeps between handshakes (struct nk_reneg, in the
 * connection's rare state, handshake/rare.h): NULL until first needed. */
static struct nk_reneg *existing(const struct nk_tls *c)
{
    return c->minor == 3 && c->rare_on && c->rare->reneg_on ? &c->rare->reneg : NULL;
}

static struct nk_reneg *state(struct nk_tls *c)
{
    struct nk_rare *r;
    if (c->minor != 3 || nk_rare_get(c, &r) < 0)
        return NULL;   /* TLS 1.3 keeps its post-handshake transcript in that room */
    r->reneg_on = 1;
    return &r->reneg;
}

int nk_reneg_running(const struct nk_tls *c)
{
    return c->minor == 3 && c->hs && c->hs->reneg;
}

/* ---- the extension (RFC 5746 §3.2) ----
 *   struct { opaque renegotiated_connection<0..255>; } RenegotiationInfo; */

static MSTATUS read_info(const struct nk_ext *x, struct nk_rd *rc)
{
    struct nk_rd r = x->data;
    NK_TRY(nk_rd_vec8(&r, rc, 0, 255));
    return nk_rd_done(&r);
}

static int info_is(struct nk_rd rc, const uint8_t *a, const uint8_t *b)
{
    size_t n = b ? 2 * NK_TLS12_VERIFY : NK_TLS12_VERIFY;
    return nk_rd_left(&rc) == n && nk_ct_equal(rc.p, a, NK_TLS12_VERIFY)
           && (!b || nk_ct_equal(rc.p + NK_TLS12_VERIFY, b, NK_TLS12_VERIFY));
}

void nk_reneg_write_client_info(const struct nk_tls *c, struct nk_wr *w)
{
    /* §3.4: empty in the first ClientHello; §3.5: "The client MUST include
     * the "renegotiation_info" extension in the ClientHello, containing the
     * saved client_verify_data. The SCSV MUST NOT be included." */
    int again = c->hs && c->hs->reneg;
    nk_wr_u16(w, NK_EXT_RENEGOTIATION_INFO);
    nk_wr_u16(w, again ? 1 + NK_TLS12_VERIFY : 1);
    nk_wr_u8(w, again ? NK_TLS12_VERIFY : 0);
    if (again)
        nk_wr_bytes(w, client_vd(c), NK_TLS12_VERIFY);
}

MSTATUS nk_reneg_check_client_info(struct nk_tls *c, const struct nk_client_hello *ch)
{
    struct nk_hs *hs = c->hs;
    const struct nk_ext *x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_RENEGOTIATION_INFO);
    int scsv = nk_rd_has_u16(ch->suites, NK_TLS12_SCSV_RENEG);
    struct nk_rd rc = { 0 };
    if (x)
        NK_TRY(read_info(x, &rc));
    if (!hs->reneg) {
        /* §3.6: the SCSV or the extension marks a client that supports
         * secure renegotiation; "The server MUST then verify that the length
         * of the "renegotiated_connection" field is zero, and if it is not,
         * MUST abort the handshake." */
        NK_CHECK(nk_rd_left(&rc) == 0, ERR_SSL_HANDSHAKE_FAILURE);
        hs->secure_reneg = x || scsv;
        return OK;
    }
    /* §3.7: "If the SCSV is present, the server MUST abort the handshake";
     * "The server MUST verify that the "renegotiation_info" extension is
     * present; if it is not, the server MUST abort the handshake"; "The
     * server MUST verify that the value of the "renegotiated_connection"
     * field is equal to the saved client_verify_data value; if it is not,
     * the server MUST abort the handshake." Abort: handshake_failure. */
    NK_CHECK(!scsv && x && info_is(rc, client_vd(c), NULL), ERR_SSL_HANDSHAKE_FAILURE);
    hs->secure_reneg = 1;
    return OK;
}

void nk_reneg_write_server_info(const struct nk_tls *c, struct nk_wr *w)
{
    /* §3.6: empty in the first handshake; §3.7: "The server MUST include a
     * "renegotiation_info" extension containing the saved client_verify_data
     * and server_verify_data in the ServerHello." */
    const struct nk_hs *hs = c->hs;
    if (!hs->secure_reneg)
        return;
    nk_wr_u16(w, NK_EXT_RENEGOTIATION_INFO);
    nk_wr_u16(w, hs->reneg ? 1 + 2 * NK_TLS12_VERIFY : 1);
    nk_wr_u8(w, hs->reneg ? 2 * NK_TLS12_VERIFY : 0);
    if (hs->reneg) {
        nk_wr_bytes(w, client_vd(c), NK_TLS12_VERIFY);
        nk_wr_bytes(w, server_vd(c), NK_TLS12_VERIFY);
    }
}

MSTATUS nk_reneg_check_server_info(struct nk_tls *c, const struct nk_ext *x)
{
    struct nk_hs *hs = c->hs;
    struct nk_rd rc = { 0 };
    if (x)
        NK_TRY(read_info(x, &rc));
    if (!hs->reneg) {
        /* §3.4: without it the server does not support secure
         * renegotiation; with it "The client MUST then verify that the
         * length of the "renegotiated_connection" field is zero, and if it
         * is not, MUST abort the handshake (by sending a fatal
         * handshake_failure alert)." */
        NK_CHECK(nk_rd_left(&rc) == 0, ERR_SSL_HANDSHAKE_FAILURE);
        hs->secure_reneg = x != NULL;
        return OK;
    }
    /* §3.5: "the client MUST verify that the "renegotiation_info" extension
     * is present; if it is not, the client MUST abort the handshake", then
     * "that the first half of the "renegotiated_connection" field is equal
     * to the saved client_verify_data value, and the second half is equal
     * to the saved server_verify_data value. If they are not, the client
     * MUST abort the handshake." */
    NK_CHECK(x && info_is(rc, client_vd(c), server_vd(c)), ERR_SSL_HANDSHAKE_FAILURE);
    hs->secure_reneg = 1;
    return OK;
}

void nk_reneg_keep_verify(struct nk_tls *c, int client, const uint8_t *vd)
{
    /* §3.4-3.7: "When the handshake has completed, the client [server]
     * needs to save the client_verify_data and server_verify_data values
     * for future use." Each Finished of this handshake comes after its
     * ServerHello, the last message that reads the old ones. */
    memcpy((client ? c->c_ap : c->s_ap) + VD_AT, vd, NK_TLS12_VERIFY);
}

MSTATUS nk_reneg_complete(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    c->secure_reneg = hs->secure_reneg != 0;
    c->reneg_done = hs->reneg != 0;
    const sslSettings *s = &c->cfg->ssl;
    if (!s->maxByteCount && !s->maxTimerCountForRehandShake && !existing(c))
        return OK;
    c->minor = 3;   /* what nk_hs_complete is about to set: the room is ours */
    struct nk_reneg *r = state(c);
    NK_CHECK(r, ERR_MEM_ALLOC_FAIL);
    r->since_ms = c->now;
    r->sent = 0;
    return OK;
}

/* ---- policy ---- */

/* RFC 5746 §4.2, §4.4: "It is RECOMMENDED that clients [servers] refuse
 * this renegotiation request" with a peer that did not signal support; and
 * the kernel cannot take a TLS 1.2 connection's new keys. */
static MSTATUS may_renegotiate(const struct nk_tls *c)
{
    NK_CHECK(c->minor == 3, ERR_SSL_RENEGOTIATION_TLS13);
    NK_CHECK(c->secure_reneg, ERR_SSL_RENEGOTIATION_INSECURE);
    NK_CHECK(!c->ktls_tx && !c->ktls_rx, ERR_SSL_RENEGOTIATION_KTLS);
    return OK;
}

MSTATUS nk_reneg_may_start(const struct nk_tls *c)
{
    NK_CHECK(c->status == SSL_CONNECTION_OPEN && c->err >= 0 && !c->sent_close_notify && !c->got_close_notify,
             ERR_SSL_NOT_OPEN);
    NK_TRY(may_renegotiate(c));
    NK_CHECK(!c->hs, ERR_SSL_BAD_STATE);   /* one at a time */
    return OK;
}

/* The application's say on a renegotiation it did not start. */
static MSTATUS app_agrees(struct nk_tls *c)
{
    const sslSettings *s = &c->cfg->ssl;
    sbyte4 again = TRUE, resume = FALSE;
    if (s->funcPtrNewHandshakeCallback) {
        s->funcPtrNewHandshakeCallback(c->handle, &again, &resume);
        NK_CHECK(again, ERR_SSL_RENEGOTIATION_DISABLED);
    }
    return OK;
}

/* A client-started renegotiation: NKTLS_RENEGOTIATIONS_PER_MINUTE at most
 * in any 60 s (a token bucket of that size, one token back every 60 s / N:
 * next_ms is when it is whole again). */
static MSTATUS within_rate(struct nk_tls *c)
{
    struct nk_reneg *r = state(c);
    NK_CHECK(r, ERR_MEM_ALLOC_FAIL);
    const int64_t each = MINUTE_MS / NKTLS_RENEGOTIATIONS_PER_MINUTE;
    int64_t next = r->next_ms > c->now ? r->next_ms : c->now;
    NK_CHECK(next + each - c->now <= MINUTE_MS, ERR_SSL_RENEGOTIATION_LIMIT);
    r->next_ms = next + each;
    return OK;
}

/* RFC 5246 §7.2.2: "no_renegotiation ... This message is always a warning":
 * the peer learns we will not, and the connection goes on as it was. */
static MSTATUS refuse(struct nk_tls *c, MSTATUS why)
{
    nk_log(2, "connection %d: renegotiation refused: %s", c->handle, nk_err_name(why));
    NK_TRY(nk_send_alert(c, SSLALERTLEVEL_WARNING, NK_ALERT_NO_RENEGOTIATION));
    return NK_HS_STAY;
}

/* ---- server ---- */

/* ---- ALPN: the connection keeps its protocol ----
 *
 * RFC 7301 §3.1: "The protocol identified in the
 * "application_layer_protocol_negotiation" extension type in the ServerHello
 * SHALL be definitive for the connection, until renegotiated. The server
 * SHALL NOT respond with a selected protocol and subsequently use a
 * different protocol for application data exchange." A renegotiation could
 * select another, but the application data around it is one stream that
 * cannot change protocol half-way: here it keeps the one the first handshake
 * agreed. The client offers that one alone, the server answers it without
 * asking its ALPN callback again, and an answer or an offer without it fails. */

/* Whether the ProtocolNameList in x names the connection's protocol; *one:
 * and nothing else. */
static MSTATUS alpn_names_kept(const struct nk_tls *c, const struct nk_ext *x, int *has, int *one)
{
    struct nk_rd r = x->data, list, name;
    size_t len = strlen(c->alpn), n = 0;
    NK_TRY(nk_ext_read_alpn(&r, &list));
    *has = 0;
    while (nk_rd_left(&list)) {
        NK_TRY(nk_rd_vec8(&list, &name, 1, 255));
        n++;
        if (nk_rd_left(&name) == len && !memcmp(name.p, c->alpn, len))
            *has = 1;
    }
    *one = n == 1;
    return OK;
}

MSTATUS nk_reneg_server_alpn(struct nk_tls *c, const struct nk_client_hello *ch, int *answer)
{
    const struct nk_ext *x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_ALPN);
    int has = 0, one;
    *answer = 0;
    if (!x)
        return OK;   /* the protocol stays; nothing to answer */
    NK_TRY(alpn_names_kept(c, x, &has, &one));
    if (!c->alpn[0])
        return OK;   /* none was agreed: none is, as for a server without ALPN */
    /* RFC 7301 §3.2: "In the event that the server supports no protocols
     * that the client advertises, then the server SHALL respond with a fatal
     * "no_application_protocol" alert." This connection supports its own. */
    NK_CHECK(has, ERR_SSL_NO_APPLICATION_PROTOCOL);
    *answer = 1;
    return OK;
}

static MSTATUS server_may(struct nk_tls *c, int asked)
{
    NK_TRY(may_renegotiate(c));
    if (asked)   /* our own HelloRequest's answer */
        return OK;
    NK_CHECK(c->flags & NKTLS_FLAG_ALLOW_RENEGOTIATION, ERR_SSL_RENEGOTIATION_DISABLED);
    NK_TRY(within_rate(c));
    return app_agrees(c);
}

MSTATUS nk_reneg_on_client_hello(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_client_hello ch;
    int asked = c->reneg_asked;
    c->reneg_asked = 0;
    MSTATUS why = server_may(c, asked);
    if (why == ERR_MEM_ALLOC_FAIL)
        return why;
    if (why < 0)
        return refuse(c, why);
    NK_TRY(nk_hello_parse(b, &ch));
    /* The connection speaks TLS 1.2: the client must offer it again. */
    NK_CHECK(nk_hello_offers(&ch, NK_TLS12), ERR_SSL_UNSUPPORTED_VERSION);
    NK_TRY(nk_hs_alloc(c));
    c->hs->reneg = 1;
    return nk_tls12_server.client_hello(c, &ch, raw, n);
}

/* ---- client ---- */

/* The name our ClientHellos carry in server_name: a host name, never an IP
 * literal (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted
 * in "HostName"."). */
static int sends_sni(const struct nk_tls *c)
{
    uint8_t a[16];
    const char *n = c->server_name;
    return n && n[0] && inet_pton(AF_INET, n, a) != 1 && inet_pton(AF_INET6, n, a) != 1;
}

/* RFC 5246 §7.4.1.2, TLS 1.2 only: the version is the connection's. No
 * session is offered (a full handshake); ALPN offers the connection's
 * protocol alone, if it has one (above); server_name the connection's name,
 * as the first ClientHello did (the server refuses another:
 * handshake/tls12_server.c). */
static MSTATUS send_client_hello(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_wr w;
    uint16_t sigs[NK_TLS12_MAX_SIGS];
    size_t n_sigs = nk_tls12_sigs(c, NK_SIGS_OFFERED, sigs);
    NK_TRY(nk_random(hs->client_random, 32));
    nk_hs_begin(c, &w, NK_HS_CLIENT_HELLO);
    nk_wr_u16(&w, NK_TLS12);
    nk_wr_bytes(&w, hs->client_random, 32);
    nk_wr_u8(&w, 0);                      /* session_id: none */
    size_t pos = nk_wr_open(&w, 2);
    nk_tls_write_suites(c, &w, 3);
    nk_wr_close(&w, pos, 2);
    nk_wr_u8(&w, 1);                      /* compression_methods: null */
    nk_wr_u8(&w, 0);
    size_t exts = nk_wr_open(&w, 2);
    if (sends_sni(c))
        nk_ext_write_sni(&w, c->server_name);
    nk_ext_write_u16_list(&w, NK_EXT_SUPPORTED_GROUPS, c->groups, c->n_groups);
    nk_ext_write_u16_list(&w, NK_EXT_SIGNATURE_ALGORITHMS, sigs, n_sigs);
    nk_tls12_write_client_exts(c, &w);    /* extended_master_secret, renegotiation_info, encrypt_then_mac */
    if (c->alpn[0])   /* a ProtocolNameList of one name: the answer's form */
        nk_ext_write_alpn_choice(&w, c->alpn);
    nk_wr_close(&w, exts, 2);
    NK_TRY(nk_wr_status(&w));
    return nk_hs_finish(c, &w);
}

static MSTATUS client_begin(struct nk_tls *c)
{
    NK_TRY(nk_hs_alloc(c));
    c->hs->reneg = 1;
    c->hs->state = ST_C_WAIT_SH;
    MSTATUS st = send_client_hello(c);
    if (st < 0)
        nk_hs_free(c);
    return st;
}

/* RFC 5246 §7.4.1.1: the server asks us to begin a new handshake. */
MSTATUS nk_reneg_on_hello_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    NK_TRY(nk_rd_done(b));
    const sslSettings *s = &c->cfg->ssl;
    MSTATUS why = may_renegotiate(c);
    if (why == OK && s->funcPtrClientRehandshakeRequest && s->funcPtrClientRehandshakeRequest(c->handle) < 0)
        why = ERR_SSL_RENEGOTIATION_DISABLED;
    if (why == OK)
        why = app_agrees(c);
    if (why < 0)
        return refuse(c, why);
    NK_TRY(client_begin(c));
    return NK_HS_NEXT;
}

/* The ServerHello of our renegotiation: TLS 1.2's extensions answer ours
 * only (RFC 5246 §7.4.1.4: unsupported_extension else), then the TLS 1.2
 * client goes on as in a first handshake (handshake/tls12_client.c). */
MSTATUS nk_reneg_on_server_hello(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    uint16_t version, suite;
    uint8_t comp;
    struct nk_rd sid;
    struct nk_ext e[NK_MAX_EXTS];
    size_t ne;
    NK_CHECK(hs->reneg, ERR_SSL_INTERNAL);   /* a first handshake's is the TLS 1.3 client's */
    NK_TRY(nk_hs_read_server_hello(b, &version, hs->server_random, &sid, &suite, &comp, e, &ne));
    for (size_t i = 0; i < ne; i++) {
        uint16_t t = e[i].type;
        NK_CHECK(t == NK_EXT_RENEGOTIATION_INFO || t == NK_EXT_EXTENDED_MASTER_SECRET
                 || (t == NK_EXT_ENCRYPT_THEN_MAC && nk_tls12_offers_cbc(c))
                 || (t == NK_EXT_ALPN && c->alpn[0]) || (t == NK_EXT_SERVER_NAME && sends_sni(c)),
                 ERR_SSL_UNSUPPORTED_EXTENSION);
        /* RFC 6066 §3: the server's answer is empty. */
        NK_CHECK(t != NK_EXT_SERVER_NAME || nk_rd_left(&e[i].data) == 0, ERR_SSL_PROTOCOL);
        if (t == NK_EXT_ALPN) {
            /* RFC 7301 §3.1: one name, one we offered: the connection's. */
            int has, one;
            NK_TRY(alpn_names_kept(c, &e[i], &has, &one));
            NK_CHECK(has && one, ERR_SSL_ILLEGAL_PARAMETER);
        }
    }
    return nk_tls12_on_server_hello(c, version, sid, suite, comp, e, ne, raw, n);
}

/* ---- starting one ---- */

MSTATUS nk_reneg_start(struct nk_tls *c)
{
    if (c->role == NK_CLIENT)
        return client_begin(c);
    /* RFC 5246 §7.4.1.1: an empty HelloRequest, not part of the handshake
     * hashes; the client answers with a ClientHello (nk_reneg_on_client_hello). */
    static const uint8_t hello_request[4] = { NK_HS_HELLO_REQUEST, 0, 0, 0 };
    NK_TRY(nk_send_handshake(c, hello_request, sizeof hello_request));
    c->reneg_asked = 1;
    return OK;
}

void nk_reneg_refused(struct nk_tls *c)
{
    if (c->minor != 3)
        return;
    c->reneg_asked = 0;
    /* Our ClientHello was refused: no ServerHello will come. */
    if (c->role == NK_CLIENT && nk_reneg_running(c) && c->hs->state == ST_C_WAIT_SH)
        nk_hs_free(c);
}

MSTATUS nk_reneg_on_write(struct nk_tls *c, size_t n)
{
    struct nk_reneg *r = existing(c);
    if (!r)
        return OK;
    const sslSettings *s = &c->cfg->ssl;
    r->sent += n;
    int due = (s->maxByteCount && r->sent >= s->maxByteCount)
              || (s->maxTimerCountForRehandShake && c->now - r->since_ms >= (int64_t)s->maxTimerCountForRehandShake);
    if (!due || c->hs || c->reneg_asked || nk_reneg_may_start(c) < 0)
        return OK;   /* not now, or never on this connection */
    /* Declined: counted afresh from here. */
    r->since_ms = c->now;
    r->sent = 0;
    if (app_agrees(c) < 0)
        return OK;
    return nk_reneg_start(c);
}
