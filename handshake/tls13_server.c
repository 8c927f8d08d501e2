/* handshake/tls13_server.c — the TLS 1.3 server (RFC 8446 §4). */
#include "handshake/hs.h"
#include "handshake/hello.h"
#include "handshake/client_auth.h"
#include "handshake/ocsp.h"
#include "handshake/psk.h"
#include "handshake/early.h"
#include "core/limits.h"
#include "nktls.h"

static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* What the TLS 1.3 server draws from a ClientHello that handshake/hello.c
 * parsed, beside it. */
struct offer {
    const struct nk_client_hello *ch;
    const uint8_t *share;       /* the client's share for the chosen group, if any */
    size_t share_len;
    uint16_t share_group;
    uint16_t rsl;               /* record_size_limit, 0 if absent */
};

/* §4.1.2: "For every TLS 1.3 ClientHello, this vector MUST contain exactly
 * one byte, set to zero". */
static MSTATUS check_compression(const struct nk_client_hello *ch)
{
    struct nk_rd comp = ch->compression;
    uint8_t method;
    NK_CHECK(nk_rd_left(&comp) == 1, ERR_SSL_ILLEGAL_PARAMETER);
    NK_TRY(nk_rd_u8(&comp, &method));
    NK_CHECK(method == 0, ERR_SSL_ILLEGAL_PARAMETER);
    return OK;
}

static MSTATUS pick_suite(struct nk_tls *c, struct offer *o)
{
    c->suite = nk_tls_pick_suite(c, o->ch->suites, 4, NK_AUTH_ANY, ~0u);
    return c->suite ? OK : ERR_SSL_NO_CIPHER_MATCH;
}

/* The client's supported_groups, read whole into a bitmap (a list of any
 * length is valid: the acceptable group may be its last entry). */
static MSTATUS read_client_groups(struct nk_tls *c, const struct nk_ext *sg, uint64_t *listed)
{
    struct nk_rd r = sg->data, list;
    NK_TRY(nk_rd_vec16(&r, &list, 2, 0xfffe));
    NK_TRY(nk_rd_done(&r));
    NK_CHECK(nk_rd_left(&list) % 2 == 0, ERR_SSL_PROTOCOL);
    c->peer_groups_mask = 0;
    while (nk_rd_left(&list)) {
        uint16_t g;
        NK_TRY(nk_rd_u16(&list, &g));
        listed[g / 64] |= 1ull << (g % 64);
        if (g < 32)
            c->peer_groups_mask |= 1u << g;
    }
    return OK;
}

static size_t group_rank(const struct nk_tls *c, uint16_t g)
{
    for (size_t i = 0; i < c->n_groups; i++)
        if (c->groups[i] == g)
            return i;
    return c->n_groups;
}

/* Groups and key shares (§4.2.7, §4.2.8): choose our most preferred group for
 * which the client sent a share; else our most preferred group it supports,
 * which costs a HelloRetryRequest. Every share and every listed group is
 * looked at, whatever their number. */
static MSTATUS pick_group(struct nk_tls *c, struct offer *o, uint16_t *group)
{
    const struct nk_ext *sg = nk_ext_find(o->ch->exts, o->ch->n_exts, NK_EXT_SUPPORTED_GROUPS);
    const struct nk_ext *ks = nk_ext_find(o->ch->exts, o->ch->n_exts, NK_EXT_KEY_SHARE);
    uint64_t listed[65536 / 64];
    /* §9.2: supported_groups and key_share come together. */
    NK_CHECK(sg && ks, ERR_SSL_MISSING_EXTENSION);
    memset(listed, 0, sizeof listed);
    NK_TRY(read_client_groups(c, sg, listed));
    struct nk_rd r = ks->data, shares;
    NK_TRY(nk_rd_vec16(&r, &shares, 0, 0xffff));
    NK_TRY(nk_rd_done(&r));
    o->share = NULL;
    size_t best = c->n_groups;
    while (nk_rd_left(&shares)) {
        uint16_t g;
        struct nk_rd ke;
        NK_TRY(nk_rd_u16(&shares, &g));
        NK_TRY(nk_rd_vec16(&shares, &ke, 1, 0xffff));
        /* §4.2.8: one share per group, each in supported_groups. A share takes
         * its group's bit, so a second share for it is refused as unlisted. */
        int in_list = listed[g / 64] >> (g % 64) & 1;
        NK_CHECK(in_list || nk_ext_is_grease(g), ERR_SSL_ILLEGAL_PARAMETER);
        listed[g / 64] &= ~(1ull << (g % 64));
        size_t rank = group_rank(c, g);
        if (rank < best) {   /* keep the share whose group we prefer most */
            best = rank;
            o->share = ke.p;
            o->share_len = nk_rd_left(&ke);
            o->share_group = g;
        }
    }
    if (o->share) {
        *group = o->share_group;
        return OK;
    }
    for (size_t i = 0; i < c->n_groups; i++)
        if (listed[c->groups[i] / 64] >> (c->groups[i] % 64) & 1) {
            *group = c->groups[i];
            return OK;
        }
    return ERR_SSL_NO_GROUP_MATCH;
}

static MSTATUS read_client_exts(struct nk_tls *c, struct offer *o)
{
    struct nk_hs *hs = c->hs;
    const struct nk_ext *x;
    if ((x = nk_ext_find(o->ch->exts, o->ch->n_exts, NK_EXT_SERVER_NAME))) {
        char name[256];
        struct nk_rd r = x->data;
        NK_TRY(nk_ext_read_sni(&r, name, sizeof name));
        NK_TRY(nk_tls_set_server_name(c, name));
    }
    /* Certificate authentication needs signature_algorithms (§4.2.3, §9.2). */
    x = nk_ext_find(o->ch->exts, o->ch->n_exts, NK_EXT_SIGNATURE_ALGORITHMS);
    NK_CHECK(x, ERR_SSL_MISSING_EXTENSION);
    struct nk_rd r = x->data;
    NK_TRY(nk_ext_read_u16_list(&r, hs->peer_sigs, NK_MAX_SIGS, &hs->n_peer_sigs, nk_sig_known));
    o->rsl = 0;
    if ((x = nk_ext_find(o->ch->exts, o->ch->n_exts, NK_EXT_RECORD_SIZE_LIMIT))) {
        r = x->data;
        NK_TRY(nk_rd_u16(&r, &o->rsl));
        NK_TRY(nk_rd_done(&r));
        NK_CHECK(o->rsl >= 64, ERR_SSL_ILLEGAL_PARAMETER);   /* RFC 8449 §4 */
        c->send_limit = o->rsl - 1 < NK_MAX_PLAIN ? o->rsl - 1 : NK_MAX_PLAIN;
    }
    if ((x = nk_ext_find(o->ch->exts, o->ch->n_exts, NK_EXT_STATUS_REQUEST)))
        NK_TRY(nk_ocsp_read_request(x, &hs->ocsp_asked));
    if ((x = nk_ext_find(o->ch->exts, o->ch->n_exts, NK_EXT_POST_HANDSHAKE_AUTH))) {
        NK_CHECK(nk_rd_left(&x->data) == 0, ERR_SSL_PROTOCOL);   /* §4.2.6: empty */
        /* The transcript is kept for it only where the application allows it. */
        hs->pha = (c->flags & SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH) != 0;
    }
    return OK;
}

MSTATUS nk_hello_choose_alpn(struct nk_tls *c, const struct nk_client_hello *ch)
{
    const struct nk_ext *x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_ALPN);
    c->alpn[0] = 0;
    if (!x || !c->alpn_cb)
        return OK;
    struct nk_rd r = x->data, list;
    NK_TRY(nk_ext_read_alpn(&r, &list));
    ubyte **out = NULL;
    sbyte4 out_len = 0;
    sbyte4 rc = c->alpn_cb(c->handle, &out, &out_len, (ubyte *)list.p, (sbyte4)nk_rd_left(&list));
    /* RFC 7301 §3.2: no protocol in common is a fatal no_application_protocol.
     * The callback answers with the chosen name in wire form: its length byte
     * first, *out_len = 1 + length. */
    const uint8_t *p = (const uint8_t *)out;
    NK_CHECK(rc >= 0 && p && out_len >= 2 && p[0] == out_len - 1, ERR_SSL_NO_APPLICATION_PROTOCOL);
    memcpy(c->alpn, p + 1, p[0]);
    c->alpn[p[0]] = 0;
    return OK;
}

static void write_hello_head(struct nk_tls *c, struct nk_wr *w, const uint8_t *random)
{
    struct nk_hs *hs = c->hs;
    nk_hs_begin(c, w, NK_HS_SERVER_HELLO);
    nk_wr_u16(w, NK_TLS12);
    nk_wr_bytes(w, random, 32);
    nk_wr_u8(w, hs->session_id_len);   /* §4.1.3: echo legacy_session_id */
    nk_wr_bytes(w, hs->session_id, hs->session_id_len);
    nk_wr_u16(w, c->suite->id);
    nk_wr_u8(w, 0);
}

static void write_supported_version(struct nk_wr *w)
{
    nk_wr_u16(w, NK_EXT_SUPPORTED_VERSIONS);
    nk_wr_u16(w, 2);
    nk_wr_u16(w, NK_TLS13);
}

static MSTATUS send_hello_retry(struct nk_tls *c, uint16_t group, const uint8_t *ch, size_t ch_len)
{
    struct nk_hs *hs = c->hs;
    struct nk_wr w;
    hs->hrr = 1;
    hs->kex_group = group;
    hs->cookie.len = 0;
    NK_TRY(nk_buf_reserve(&hs->cookie, 32));
    NK_TRY(nk_random(hs->cookie.p, 32));
    hs->cookie.len = 32;
    NK_TRY(nk_transcript_set_hash(&hs->tr, hs->hash));
    NK_TRY(nk_transcript_add(&hs->tr, ch, ch_len));
    NK_TRY(nk_transcript_hrr_reset(&hs->tr));
    write_hello_head(c, &w, hrr_random);
    size_t exts = nk_wr_open(&w, 2);
    write_supported_version(&w);
    nk_wr_u16(&w, NK_EXT_KEY_SHARE);
    nk_wr_u16(&w, 2);
    nk_wr_u16(&w, group);
    nk_wr_u16(&w, NK_EXT_COOKIE);
    nk_wr_u16(&w, 2 + 32);
    nk_wr_u16(&w, 32);
    nk_wr_bytes(&w, hs->cookie.p, 32);
    nk_wr_close(&w, exts, 2);
    NK_TRY(nk_hs_finish(c, &w));
    return nk_send_ccs(c);   /* D.4: after the first handshake message */
}

static MSTATUS server_hello_and_keys(struct nk_tls *c, struct offer *o)
{
    struct nk_hs *hs = c->hs;
    struct nk_wr w;
    uint8_t pub[NK_MAX_KEX_PUB], dhe[NK_MAX_KEX_SECRET];
    size_t pub_len = 0, dhe_len = 0;
    MSTATUS st = OK;
    if (!hs->psk_ke) {   /* §4.2.9: psk_ke has no key_share and no (EC)DHE */
        EVP_PKEY *priv = NULL;
        NK_TRY(nk_kex_keygen(o->share_group, &priv, pub, &pub_len));
        st = nk_kex_derive(o->share_group, priv, o->share, o->share_len, dhe, &dhe_len);
        nk_kex_free(priv);
        NK_TRY(st);
        c->group = o->share_group;
    }
    /* One draw for the random and the first ticket's bytes: each call into
     * the generator costs about a microsecond, whatever its length. */
    uint8_t rnd[32 + NK_TICKET_RND];
    NK_TRY(nk_random(rnd, sizeof rnd));
    memcpy(hs->server_random, rnd, 32);
    memcpy(hs->ticket_rnd, rnd + 32, NK_TICKET_RND);
    nk_wipe(rnd, sizeof rnd);
    write_hello_head(c, &w, hs->server_random);
    size_t exts = nk_wr_open(&w, 2);
    write_supported_version(&w);
    if (!hs->psk_ke) {
        nk_wr_u16(&w, NK_EXT_KEY_SHARE);
        size_t ks = nk_wr_open(&w, 2);
        nk_wr_u16(&w, c->group);
        size_t ke = nk_wr_open(&w, 2);
        nk_wr_bytes(&w, pub, pub_len);
        nk_wr_close(&w, ke, 2);
        nk_wr_close(&w, ks, 2);
    }
    if (hs->psk_ok) {   /* §4.2.11: selected_identity; we only look at the first */
        nk_wr_u16(&w, NK_EXT_PRE_SHARED_KEY);
        nk_wr_u16(&w, 2);
        nk_wr_u16(&w, 0);
    }
    nk_wr_close(&w, exts, 2);
    NK_TRY(nk_hs_finish(c, &w));
    if (!hs->hrr)
        NK_TRY(nk_send_ccs(c));
    NK_TRY(nk_ks_early(hs, hs->psk_ok ? hs->psk : NULL, hs->psk_len));
    st = nk_ks_handshake(c, hs->psk_ke ? NULL : dhe, dhe_len);
    nk_wipe(dhe, sizeof dhe);
    NK_TRY(st);
    NK_TRY(nk_rec_install(c->wr, c->suite, hs->s_hs, 1));
    NK_TRY(nk_rec_install(c->rd, c->suite, hs->c_hs, 0));
    c->rd_epoch++;
    return OK;
}

/* If we fail after queuing our ServerHello but before our handshake write key
 * is on, the alert would leave in the clear behind a ServerHello that gave the
 * client its keys, and the client rightly refuses an unprotected alert then.
 * Nothing queued has left yet (the driver sends once the engine returns), so
 * the ServerHello is taken back and the alert goes alone, which a client
 * without keys reads. */
static MSTATUS send_server_hello(struct nk_tls *c, struct offer *o)
{
    size_t unsent = c->out.len;
    MSTATUS st = server_hello_and_keys(c, o);
    if (st < 0 && !nk_wr_protected(c) && c->out.len >= unsent)
        c->out.len = unsent;
    return st;
}

static MSTATUS send_encrypted_extensions(struct nk_tls *c, struct offer *o, int sni_used)
{
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_ENCRYPTED_EXTENSIONS);
    size_t exts = nk_wr_open(&w, 2);
    if (sni_used) {   /* RFC 6066 §3: an empty server_name acknowledges the name */
        nk_wr_u16(&w, NK_EXT_SERVER_NAME);
        nk_wr_u16(&w, 0);
    }
    if (c->alpn[0])
        nk_ext_write_alpn_choice(&w, c->alpn);
    if (o->rsl) {    /* RFC 8449 §4: answer with our own limit */
        nk_wr_u16(&w, NK_EXT_RECORD_SIZE_LIMIT);
        nk_wr_u16(&w, 2);
        nk_wr_u16(&w, NK_MAX_PLAIN + 1);
    }
    NK_TRY(nk_early_server_ee(c, &w));   /* 0-RTT accepted (handshake/tls13_early.c) */
    nk_wr_close(&w, exts, 2);
    return nk_hs_finish(c, &w);
}

MSTATUS nk_hs_send_certificate_request(struct nk_tls *c)
{
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_CERTIFICATE_REQUEST);
    /* §4.3.2: certificate_request_context, empty in the handshake */
    nk_wr_u8(&w, c->hs->cr_context_len);
    nk_wr_bytes(&w, c->hs->cr_context, c->hs->cr_context_len);
    size_t exts = nk_wr_open(&w, 2);
    size_t n_sigs;
    const uint16_t *sigs = nk_sig_list(c->sig_prefs, NK_SIGS_OFFERED, &n_sigs);
    nk_ext_write_u16_list(&w, NK_EXT_SIGNATURE_ALGORITHMS, sigs, n_sigs);
    nk_ca_names_ext(c, &w);   /* §4.2.4: the authorities we verify clients with */
    nk_wr_close(&w, exts, 2);
    c->hs->cert_requested = 1;
    return nk_hs_finish(c, &w);
}

/* first_rnd: the first ticket's random bytes, or NULL to draw them. */
static MSTATUS send_tickets(struct nk_tls *c, const uint8_t *first_rnd)
{
    /* Tickets for the next handshake (§4.6.1), sent before any data of ours;
     * none to a client that cannot use them (§4.2.9: it did not list
     * psk_dhe_ke), nor when the client's chain would not fit in one. */
    if (!c->tickets_ok || c->peer_chain_len > NK_TICKET_MAX_CHAIN)
        return OK;
    for (uint8_t i = 0; i < c->num_tickets; i++)
        NK_TRY(nk_ticket_send(c, i, i == 0 ? first_rnd : NULL));
    return OK;
}

/* §4.6.1: "a server which does not request client authentication MAY compute
 * the remainder of the transcript independently and then send a
 * NewSessionTicket immediately upon sending its Finished rather than waiting
 * for the client Finished." Without client authentication the only message
 * left is the client's Finished, which we can compute: the tickets then leave
 * with our first flight (one send, not two), and the client's Finished is
 * only compared with what we computed. Not when 0-RTT data was accepted: the
 * client's EndOfEarlyData comes between then. */
static MSTATUS send_tickets_early(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    uint8_t th[NK_MAX_HASH], msg[4 + NK_MAX_HASH];
    size_t hl = nk_hash_len(hs->hash);
    NK_TRY(nk_transcript_hash(&hs->tr, th));   /* ClientHello...server Finished */
    NK_TRY(nk_ks_finished(hs->hash, hs->c_hs, th, hs->fin_expect));
    msg[0] = NK_HS_FINISHED;
    nk_store24(msg + 1, (uint32_t)hl);
    memcpy(msg + 4, hs->fin_expect, hl);
    MSTATUS st = nk_transcript_add(&hs->tr, msg, 4 + hl);
    nk_wipe(msg, sizeof msg);
    NK_TRY(st);
    NK_TRY(nk_ks_resumption(c));                /* ClientHello...client Finished */
    hs->fin_known = 1;
    return send_tickets(c, hs->ticket_rnd);
}

static MSTATUS server_flight(struct nk_tls *c, struct offer *o, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    int sni_used = c->server_name && c->server_name[0];
    /* ALPN first: a ticket resumes only under the protocol it was issued for.
     * The binder covers the transcript before this ClientHello. */
    NK_TRY(nk_hello_choose_alpn(c, o->ch));
    NK_TRY(nk_psk_server_check(c, o->ch->exts, o->ch->n_exts, raw, n));
    /* A hello with no share came on for psk_ke (client_hello13); without
     * the PSK there is no key exchange to run. */
    NK_CHECK(o->share || hs->psk_ke, ERR_SSL_HANDSHAKE_FAILURE);
    if (!hs->psk_ok) {
        hs->identity = nk_store_pick_identity_pref(c->store, c->server_name, hs->peer_sigs,
                                                   hs->n_peer_sigs, c->sig_prefs, &hs->sig_scheme);
        NK_CHECK(hs->identity, ERR_SSL_NO_IDENTITY);
    }
    NK_TRY(nk_transcript_set_hash(&hs->tr, hs->hash));
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    NK_TRY(nk_early_server_decide(c, o->ch));   /* the transcript is the ClientHello */
    NK_TRY(send_server_hello(c, o));
    NK_TRY(send_encrypted_extensions(c, o, sni_used));
    /* §4.3.2: no CertificateRequest when authenticating with a PSK. */
    int want_cert = !hs->psk_ok && (c->flags & (SSL_FLAG_REQUIRE_MUTUAL_AUTH | NKTLS_FLAG_REQUEST_MUTUAL_AUTH))
                    && !(c->flags & SSL_FLAG_NO_MUTUAL_AUTH_REQUEST);
    if (want_cert)
        NK_TRY(nk_hs_send_certificate_request(c));
    if (!hs->psk_ok) {
        NK_TRY(nk_hs_send_certificate(c, hs->identity));
        NK_TRY(nk_hs_send_cert_verify(c));
    }
    NK_TRY(nk_hs_send_finished(c));
    /* The client reads what follows our Finished under our application key: a
     * failure before that key is in place can send no alert it could read. */
    MSTATUS st = nk_ks_application(c);
    if (st == OK)
        st = nk_rec_install(c->wr, c->suite, c->s_ap, 1);
    if (st < 0) {
        c->alert_out = NK_ALERT_NONE;
        return st;
    }
    c->wr_app = 1;
    if (!want_cert && c->num_tickets && c->tickets_ok && !nk_early_accepted(c))
        NK_TRY(send_tickets_early(c));
    return want_cert ? NK_HS_ALT : NK_HS_NEXT;   /* the client's Certificate, or its Finished */
}

/* The ClientHello chose TLS 1.3 (handshake/hello.c parsed it and chose). */
static MSTATUS client_hello13(struct nk_tls *c, const struct nk_client_hello *ch, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    struct offer o = { .ch = ch };
    struct nk_rd sid = ch->session_id;
    uint16_t group;
    NK_TRY(check_compression(ch));
    memcpy(hs->client_random, ch->random, 32);
    hs->session_id_len = (uint8_t)nk_rd_left(&sid);
    NK_TRY(nk_rd_copy(&sid, hs->session_id, hs->session_id_len));
    NK_TRY(pick_suite(c, &o));
    hs->hash = c->suite->hash;
    NK_TRY(pick_group(c, &o, &group));
    NK_TRY(read_client_exts(c, &o));
    /* §4.2.10: 0-RTT data is skipped unless server_flight accepts it
     * (handshake/tls13_early.c). */
    if (nk_ext_find(ch->exts, ch->n_exts, NK_EXT_EARLY_DATA)) {
        hs->early_skip = 1;
        hs->early_skip_left = c->cfg->limits.early_data_skip;
        nk_early_server_offered(c);
    }
    if (!o.share && !nk_psk_ext_server_ke_possible(c, ch->exts, ch->n_exts)) {
        NK_TRY(send_hello_retry(c, group, raw, n));
        return NK_HS_ALT2;   /* a second ClientHello comes next */
    }
    return server_flight(c, &o, raw, n);
}

/* §4.1.4: the cookie of our HelloRetryRequest, echoed. */
static MSTATUS check_cookie(struct nk_tls *c, const struct nk_client_hello *ch)
{
    struct nk_buf *sent = &c->hs->cookie;
    const struct nk_ext *ck = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_COOKIE);
    NK_CHECK(ck, ERR_SSL_MISSING_EXTENSION);
    struct nk_rd r = ck->data, cookie;
    NK_TRY(nk_rd_vec16(&r, &cookie, 1, 0xffff));
    return nk_hs_check_echo(&cookie, sent->p, sent->len);
}

/* The second ClientHello, after our HelloRetryRequest: TLS 1.3 is chosen
 * already, and the hello must still offer it. */
static MSTATUS on_client_hello2(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    struct nk_client_hello ch;
    struct offer o = { .ch = &ch };
    uint16_t group;
    const struct nk_suite *suite = c->suite;
    NK_TRY(nk_hello_parse(b, &ch));
    NK_CHECK(nk_hello_offers(&ch, NK_TLS13), ERR_SSL_UNSUPPORTED_VERSION);
    NK_TRY(check_compression(&ch));
    hs->early_skip = 0;   /* 0-RTT data came before this hello, if at all */
    /* §4.1.2: the second ClientHello repeats the first but for key_share, cookie
     * and the like: same session id, and (§4.1.4) the suite and group the HRR
     * named are still offered and now shared. */
    NK_TRY(nk_hs_check_echo(&ch.session_id, hs->session_id, hs->session_id_len));
    NK_TRY(pick_suite(c, &o));
    NK_CHECK(c->suite == suite, ERR_SSL_ILLEGAL_PARAMETER);
    NK_TRY(pick_group(c, &o, &group));
    NK_CHECK(o.share && o.share_group == hs->kex_group, ERR_SSL_ILLEGAL_PARAMETER);
    NK_TRY(check_cookie(c, &ch));
    NK_TRY(read_client_exts(c, &o));
    return server_flight(c, &o, raw, n);
}

static MSTATUS on_client_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    int early = hs->fin_known;
    if (early) {
        /* The transcript and the tickets already count this Finished: it must
         * be the one we computed. §4.4.4: recipients MUST verify the
         * Finished; a mismatch is decrypt_error. */
        const uint8_t *verify_data;
        size_t hl = nk_hash_len(hs->hash);
        NK_TRY(nk_rd_bytes(b, hl, &verify_data));
        NK_TRY(nk_rd_done(b));
        NK_CHECK(nk_ct_equal(hs->fin_expect, verify_data, hl), ERR_SSL_BAD_FINISHED);
    } else {
        NK_TRY(nk_hs_on_finished(c, b, raw, n));
        NK_TRY(nk_ks_resumption(c));
    }
    NK_TRY(nk_rec_install(c->rd, c->suite, c->c_ap, 0));
    c->rd_epoch++;
    c->rd_app = 1;
    NK_TRY(nk_hs_complete(c));
    return early ? OK : send_tickets(c, NULL);   /* the handshake state is gone */
}

/* RFC 8446 §2, Appendix A.2: the server's states. A change_cipher_spec may
 * come once the first ClientHello is in until the client's Finished (§5);
 * after the handshake, KeyUpdate only (§4.6.3): a client sends no
 * NewSessionTicket, and nothing else has a place there. */
static const struct nk_step server13[] = {
    /* state          content type              message                    handler               next (alt, alt2) */
    { ST_S_WAIT_CH,   NK_CT_HANDSHAKE,          NK_HS_CLIENT_HELLO,        nk_hello_on_client_hello, ST_S_WAIT_FIN,
      .alt = ST_S_WAIT_CERT /* we sent a CertificateRequest */,
      .alt2 = ST_S_WAIT_CH2 /* we sent a HelloRetryRequest */ },
    { ST_S_WAIT_CH2,  NK_CT_HANDSHAKE,          NK_HS_CLIENT_HELLO,        on_client_hello2,     ST_S_WAIT_FIN,
      .alt = ST_S_WAIT_CERT /* we sent a CertificateRequest */ },
    { ST_S_WAIT_CERT, NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE,         nk_hs_on_certificate, ST_S_WAIT_CV,
      .alt = ST_S_WAIT_FIN /* an empty one: no CertificateVerify */ },
    { ST_S_WAIT_CV,   NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE_VERIFY,  nk_hs_on_cert_verify, ST_S_WAIT_FIN },
    { ST_S_WAIT_FIN,  NK_CT_HANDSHAKE,          NK_HS_FINISHED,            on_client_finished,   ST_CONNECTED },
    /* §4.5: after accepted 0-RTT data only (the handler refuses it otherwise) */
    { ST_S_WAIT_FIN,  NK_CT_HANDSHAKE,          NK_HS_END_OF_EARLY_DATA,   nk_early_on_end,      ST_S_WAIT_FIN },

    { ST_S_WAIT_CH2,  NK_CT_CHANGE_CIPHER_SPEC, 0,                         nk_hs_on_ccs,         ST_S_WAIT_CH2 },
    { ST_S_WAIT_CERT, NK_CT_CHANGE_CIPHER_SPEC, 0,                         nk_hs_on_ccs,         ST_S_WAIT_CERT },
    { ST_S_WAIT_CV,   NK_CT_CHANGE_CIPHER_SPEC, 0,                         nk_hs_on_ccs,         ST_S_WAIT_CV },
    { ST_S_WAIT_FIN,  NK_CT_CHANGE_CIPHER_SPEC, 0,                         nk_hs_on_ccs,         ST_S_WAIT_FIN },

    { ST_CONNECTED,   NK_CT_HANDSHAKE,          NK_HS_KEY_UPDATE,          nk_hs_on_key_update,  ST_CONNECTED },

    /* §4.6.2: the answer to our post-handshake CertificateRequest */
    { ST_S_PHA_WAIT_CERT, NK_CT_HANDSHAKE,      NK_HS_CERTIFICATE,         nk_hs_on_certificate, ST_S_PHA_WAIT_CV,
      .alt = ST_S_PHA_WAIT_FIN /* an empty one: no CertificateVerify */ },
    { ST_S_PHA_WAIT_CV,   NK_CT_HANDSHAKE,      NK_HS_CERTIFICATE_VERIFY,  nk_hs_on_cert_verify, ST_S_PHA_WAIT_FIN },
    { ST_S_PHA_WAIT_FIN,  NK_CT_HANDSHAKE,      NK_HS_FINISHED,            nk_pha_on_finished,   ST_CONNECTED },
};

const struct nk_protocol nk_tls13_server = {
    .id = NK_PROTO_TLS13_SERVER, .first = ST_S_WAIT_CH, .version = NK_TLS13, .name = "TLS 1.3 server",
    .steps = server13, .n_steps = NK_ARRAY_LEN(server13), .client_hello = client_hello13,
};
