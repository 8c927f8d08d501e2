/* handshake/tls13_client.c — the TLS 1.3 client (RFC 8446 §4). */
#include <arpa/inet.h>
#include "handshake/hs.h"
#include "handshake/client_auth.h"
#include "handshake/ocsp.h"
#include "handshake/psk.h"
#include "handshake/early.h"
#include "nktls.h"
#include "handshake/tls12.h"
#include "handshake/tls12_resume.h"
#include "handshake/rare.h"

/* §4.1.3: the HelloRetryRequest "random" (SHA-256 of "HelloRetryRequest"). */
static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

static void mark_sent(struct nk_hs *hs, uint16_t ext)
{
    if (ext < 8 * sizeof hs->ch_exts)
        hs->ch_exts[ext / 8] |= (uint8_t)(1u << (ext % 8));
}

static int was_sent(const struct nk_hs *hs, uint16_t ext)
{
    return ext < 8 * sizeof hs->ch_exts && (hs->ch_exts[ext / 8] >> (ext % 8) & 1);
}

static int is_ip_literal(const char *name)
{
    uint8_t buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static void ext_begin(struct nk_hs *hs, struct nk_wr *w, uint16_t type, size_t *pos)
{
    mark_sent(hs, type);
    nk_wr_u16(w, type);
    *pos = nk_wr_open(w, 2);
}

/* An extension whose body is one opaque<1..2^16-1> vector (ALPN's list, the cookie). */
static void write_vec16_ext(struct nk_hs *hs, struct nk_wr *w, uint16_t type, const uint8_t *d, size_t n)
{
    size_t pos, sub;
    ext_begin(hs, w, type, &pos);
    sub = nk_wr_open(w, 2);
    nk_wr_bytes(w, d, n);
    nk_wr_close(w, sub, 2);
    nk_wr_close(w, pos, 2);
}

/* One KeyShareEntry. §4.1.2: the second ClientHello changes only what the
 * HelloRetryRequest asked for: the same share again unless it named another
 * group (on_hello_retry drops the key then). */
static MSTATUS write_key_share(struct nk_hs *hs, struct nk_wr *w, int none)
{
    size_t pos, sub, ke;
    if (none) {   /* psk_ke alone (NKTLS_FLAG_PSK_KE): §4.2.8 allows no shares */
        ext_begin(hs, w, NK_EXT_KEY_SHARE, &pos);
        nk_wr_u16(w, 0);
        nk_wr_close(w, pos, 2);
        return OK;
    }
    if (!hs->kex_priv) {
        size_t pub_len;
        NK_TRY(nk_kex_keygen(hs->kex_group, &hs->kex_priv, hs->kex_pub, &pub_len));
        hs->kex_pub_len = (uint16_t)pub_len;
    }
    ext_begin(hs, w, NK_EXT_KEY_SHARE, &pos);
    sub = nk_wr_open(w, 2);
    nk_wr_u16(w, hs->kex_group);
    ke = nk_wr_open(w, 2);
    nk_wr_bytes(w, hs->kex_pub, hs->kex_pub_len);
    nk_wr_close(w, ke, 2);
    nk_wr_close(w, sub, 2);
    nk_wr_close(w, pos, 2);
    return OK;
}

static MSTATUS write_client_exts(struct nk_tls *c, struct nk_wr *w)
{
    struct nk_hs *hs = c->hs;
    size_t pos, n_sigs;
    memset(hs->ch_exts, 0, sizeof hs->ch_exts);
    if (c->server_name && c->server_name[0] && !is_ip_literal(c->server_name)) {
        mark_sent(hs, NK_EXT_SERVER_NAME);        /* RFC 6066 §3: no IP literals */
        nk_ext_write_sni(w, c->server_name);
    }
    ext_begin(hs, w, NK_EXT_SUPPORTED_VERSIONS, &pos);
    size_t vl = nk_wr_open(w, 1);
    if (c->max_minor >= 4)
        nk_wr_u16(w, NK_TLS13);
    if (c->min_minor <= 3)   /* TLS 1.2 too (handshake/tls12_client.c) */
        nk_wr_u16(w, NK_TLS12);
    nk_wr_close(w, vl, 1);
    nk_wr_close(w, pos, 2);
    mark_sent(hs, NK_EXT_SUPPORTED_GROUPS);
    nk_ext_write_u16_list(w, NK_EXT_SUPPORTED_GROUPS, c->groups, c->n_groups);
    mark_sent(hs, NK_EXT_SIGNATURE_ALGORITHMS);
    /* With TLS 1.2 allowed, its schemes follow TLS 1.3's: rsa_pkcs1_* (and
     * SHA-1 ones where allowed), which RFC 8446 §4.2.3 lets a client list for
     * TLS 1.2 only; a TLS 1.3 CertificateVerify under them is still refused
     * (§4.4.3, nk_hs_on_cert_verify checks the TLS 1.3 list). */
    uint16_t sigs12[NK_TLS12_MAX_SIGS];
    const uint16_t *sigs = c->min_minor <= 3 ? sigs12 : nk_sig_list(c->sig_prefs, NK_SIGS_OFFERED, &n_sigs);
    if (c->min_minor <= 3)
        n_sigs = nk_tls12_sigs(c, NK_SIGS_OFFERED, sigs12);
    nk_ext_write_u16_list(w, NK_EXT_SIGNATURE_ALGORITHMS, sigs, n_sigs);
    mark_sent(hs, NK_EXT_SIGNATURE_ALGORITHMS_CERT);
    nk_ext_write_u16_list(w, NK_EXT_SIGNATURE_ALGORITHMS_CERT, nk_sig_schemes_cert,
                          nk_sig_scheme_cert_count);
    NK_TRY(write_key_share(hs, w, nk_psk_ext_client_ke_only(c)));
    if (c->alpn_offer_len)
        write_vec16_ext(hs, w, NK_EXT_ALPN, c->alpn_offer, c->alpn_offer_len);
    ext_begin(hs, w, NK_EXT_RECORD_SIZE_LIMIT, &pos);   /* RFC 8449 §4 */
    nk_wr_u16(w, NK_MAX_PLAIN + 1);
    nk_wr_close(w, pos, 2);
    if ((c->flags & (NKTLS_FLAG_OCSP_REQUEST | NKTLS_FLAG_OCSP_REQUIRE)) || c->cfg->ssl.funcPtrCertStatusCallback) {
        /* RFC 6066 §8: ocsp, no responder ids, no request extensions */
        ext_begin(hs, w, NK_EXT_STATUS_REQUEST, &pos);
        nk_wr_u8(w, NK_OCSP_STATUS_TYPE);
        nk_wr_u16(w, 0);
        nk_wr_u16(w, 0);
        nk_wr_close(w, pos, 2);
        hs->ocsp_asked = 1;
    }
    if ((c->flags & SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH) && c->max_minor >= 4) {
        ext_begin(hs, w, NK_EXT_POST_HANDSHAKE_AUTH, &pos);   /* §4.2.6: empty */
        nk_wr_close(w, pos, 2);
        hs->pha = 1;
    }
    if (hs->cookie.len)
        write_vec16_ext(hs, w, NK_EXT_COOKIE, hs->cookie.p, hs->cookie.len);
    if (c->min_minor <= 3) {   /* RFC 7627 and RFC 5746, for a TLS 1.2 server */
        /* Not marked sent: a TLS 1.3 server has no business answering
         * them (server_hello12 allows them in a TLS 1.2 ServerHello). */
        nk_tls12_write_client_exts(c, w);
        nk_tls12_write_ticket_ext(c, w);
    }
    if (hs->offer && nk_early_client_offer(c)) {   /* §4.2.10: empty, before pre_shared_key */
        ext_begin(hs, w, NK_EXT_EARLY_DATA, &pos);
        nk_wr_close(w, pos, 2);
    }
    if (nk_psk_client_may_resume(c))
        mark_sent(hs, NK_EXT_PSK_KEY_EXCHANGE_MODES);
    if (hs->offer)
        mark_sent(hs, NK_EXT_PRE_SHARED_KEY);
    nk_psk_client_write(c, w);   /* pre_shared_key last (§4.2.11) */
    return OK;
}

static MSTATUS send_client_hello(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_CLIENT_HELLO);
    nk_wr_u16(&w, NK_TLS12);                       /* legacy_version (§4.1.2) */
    nk_wr_bytes(&w, hs->client_random, 32);
    nk_wr_u8(&w, hs->session_id_len);              /* middlebox compatibility (D.4) */
    nk_wr_bytes(&w, hs->session_id, hs->session_id_len);
    size_t pos = nk_wr_open(&w, 2);
    if (c->max_minor >= 4)
        nk_tls_write_suites(c, &w, 4);
    if (c->min_minor <= 3)   /* after TLS 1.3's: a TLS 1.2 server picks among these */
        nk_tls_write_suites(c, &w, 3);
    nk_wr_close(&w, pos, 2);
    nk_wr_u8(&w, 1);                               /* legacy_compression_methods: null */
    nk_wr_u8(&w, 0);
    size_t exts = nk_wr_open(&w, 2);
    NK_TRY(write_client_exts(c, &w));
    nk_wr_close(&w, exts, 2);
    NK_TRY(nk_wr_status(&w));
    NK_TRY(nk_psk_client_bind(c));
    NK_TRY(nk_hs_finish(c, &w));
    return nk_early_client_send(c);   /* 0-RTT data, if offered */
}

static MSTATUS client_start(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    /* TLS 1.3 and TLS 1.2 (tls12_client.c) are implemented. */
    NK_CHECK(c->min_minor <= c->max_minor && c->min_minor >= 3 && c->max_minor <= 4,
             ERR_SSL_UNSUPPORTED_VERSION);
    /* A version none of whose suites is enabled is not offered. */
    if (!nk_tls_has_suites(c, 4) && c->max_minor >= 4)
        c->max_minor = 3;
    if (!nk_tls_has_suites(c, 3) && c->min_minor <= 3)
        c->min_minor = 4;
    NK_CHECK(c->min_minor <= c->max_minor && c->n_groups, ERR_SSL_NO_CIPHER_MATCH);
    NK_TRY(nk_random(hs->client_random, 32));
    NK_TRY(nk_random(hs->session_id, 32));
    hs->session_id_len = 32;
    NK_TRY(nk_tls12_client_load(c));   /* a TLS 1.2 session to resume: its id */
    hs->kex_group = c->groups[0];
    if (c->max_minor >= 4) {   /* tickets are TLS 1.3's, and so are external PSKs here */
        NK_TRY(nk_psk_client_load(c));
        NK_TRY(nk_psk_ext_client_load(c));
    }
    return send_client_hello(c);
}

/* Common ServerHello/HelloRetryRequest checks (§4.1.3, §4.1.4). */
static MSTATUS check_server_exts(struct nk_hs *hs, const struct nk_ext *e, size_t n, int hrr)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t t = e[i].type;
        /* §4.2: an extension we did not offer is unsupported_extension (the
         * cookie in a HelloRetryRequest is the exception). */
        if (!(hrr && t == NK_EXT_COOKIE))
            NK_CHECK(was_sent(hs, t), ERR_SSL_UNSUPPORTED_EXTENSION);
        int allowed = t == NK_EXT_SUPPORTED_VERSIONS || t == NK_EXT_KEY_SHARE
                      || (hrr ? t == NK_EXT_COOKIE : t == NK_EXT_PRE_SHARED_KEY);
        NK_CHECK(allowed, ERR_SSL_ILLEGAL_PARAMETER);
    }
    const struct nk_ext *sv = nk_ext_find(e, n, NK_EXT_SUPPORTED_VERSIONS);
    uint16_t v;
    NK_CHECK(sv, ERR_SSL_UNSUPPORTED_VERSION);
    struct nk_rd r = sv->data;
    NK_TRY(nk_rd_u16(&r, &v));
    NK_TRY(nk_rd_done(&r));
    /* §4.2.1: selected_version must be one we offered. */
    NK_CHECK(v == NK_TLS13, ERR_SSL_ILLEGAL_PARAMETER);
    return OK;
}

static MSTATUS on_hello_retry(struct nk_tls *c, const struct nk_ext *e, size_t n, const uint8_t *raw,
                              size_t raw_len)
{
    struct nk_hs *hs = c->hs;
    /* §4.1.4: a second HelloRetryRequest is unexpected_message. */
    NK_CHECK(!hs->hrr, ERR_SSL_UNEXPECTED_MESSAGE);
    hs->hrr = 1;
    /* A server asking for a share wants (EC)DHE, which a psk_ke-only client
     * (NKTLS_FLAG_PSK_KE) does not offer. */
    NK_CHECK(!nk_psk_ext_client_ke_only(c), ERR_SSL_HANDSHAKE_FAILURE);
    const struct nk_ext *ks = nk_ext_find(e, n, NK_EXT_KEY_SHARE);
    const struct nk_ext *ck = nk_ext_find(e, n, NK_EXT_COOKIE);
    int changed = 0;
    if (ks) {
        uint16_t g;
        struct nk_rd r = ks->data;
        NK_TRY(nk_rd_u16(&r, &g));
        NK_TRY(nk_rd_done(&r));
        /* §4.2.8: the group must be one we offered, and not the one we sent a share for. */
        int offered = 0;
        for (size_t i = 0; i < c->n_groups; i++)
            offered |= c->groups[i] == g;
        NK_CHECK(offered && g != hs->kex_group, ERR_SSL_ILLEGAL_PARAMETER);
        hs->kex_group = g;
        nk_kex_free(hs->kex_priv);   /* a share in the new group goes out */
        hs->kex_priv = NULL;
        changed = 1;
    }
    if (ck) {
        struct nk_rd r = ck->data, cookie;
        NK_TRY(nk_rd_vec16(&r, &cookie, 1, 0xffff));
        NK_TRY(nk_rd_done(&r));
        hs->cookie.len = 0;
        NK_TRY(nk_buf_append(&hs->cookie, cookie.p, nk_rd_left(&cookie)));
        changed = 1;
    }
    /* §4.1.4: an HRR that would not change the ClientHello is illegal_parameter. */
    NK_CHECK(changed, ERR_SSL_ILLEGAL_PARAMETER);
    /* §4.1.4: a PSK whose hash is not the HRR suite's is dropped from CH2. */
    if (hs->offer && nk_suite_by_id(hs->offer->suite)->hash != c->suite->hash) {
        nk_psk_free(hs->offer);
        hs->offer = NULL;
    }
    NK_TRY(nk_transcript_set_hash(&hs->tr, c->suite->hash));
    NK_TRY(nk_transcript_hrr_reset(&hs->tr));
    NK_TRY(nk_transcript_add(&hs->tr, raw, raw_len));
    NK_TRY(nk_early_client_refused(c));
    if (!c->ccs_sent)
        NK_TRY(nk_send_ccs(c));   /* D.4: the CCS goes before our second flight */
    NK_TRY(send_client_hello(c));
    return NK_HS_ALT;             /* a ServerHello comes next again */
}

/* RFC 5246 §7.4.1.4: a TLS 1.2 ServerHello's extensions answer ones we sent
 * (unsupported_extension else), each once; renegotiation_info we always send
 * when TLS 1.2 is allowed. Then TLS 1.2 takes over. */
static MSTATUS server_hello12(struct nk_tls *c, uint16_t version, struct nk_rd sid, uint16_t suite,
                              uint8_t comp, const struct nk_ext *e, size_t ne, const uint8_t *raw, size_t n)
{
    /* D.3: "A client that attempts to send 0-RTT data MUST fail a connection
     * if it receives a ServerHello with TLS 1.2 or older." */
    if (nk_early_client_sending(c)) {
        NK_TRY(nk_early_client_refused(c));   /* the alert goes in the clear */
        return ERR_SSL_EARLY_DATA_DOWNGRADE;
    }
    for (size_t i = 0; i < ne; i++) {
        uint16_t t = e[i].type;
        int ours12 = t == NK_EXT_RENEGOTIATION_INFO || t == NK_EXT_EXTENDED_MASTER_SECRET
                     || t == NK_EXT_SESSION_TICKET
                     || (t == NK_EXT_ENCRYPT_THEN_MAC && nk_tls12_offers_cbc(c))
                     || (t == NK_EXT_HEARTBEAT && nk_hb_of(c));
        NK_CHECK(ours12 || was_sent(c->hs, t), ERR_SSL_UNSUPPORTED_EXTENSION);
        NK_CHECK(ours12 || t == NK_EXT_ALPN || t == NK_EXT_SERVER_NAME || t == NK_EXT_RECORD_SIZE_LIMIT
                 || t == NK_EXT_STATUS_REQUEST,
                 ERR_SSL_UNSUPPORTED_EXTENSION);
        if (t == NK_EXT_ALPN)
            NK_TRY(nk_ext_client_on_alpn(c, &e[i]));
        if (t == NK_EXT_RECORD_SIZE_LIMIT)
            NK_TRY(nk_tls12_on_record_size_limit(c, &e[i]));
    }
    return nk_tls12_on_server_hello(c, version, sid, suite, comp, e, ne, raw, n);
}

/* The server's KeyShareEntry and the (EC)DHE secret it gives. */
static MSTATUS read_server_share(struct nk_tls *c, const struct nk_ext *ks, uint8_t *dhe, size_t *dhe_len)
{
    struct nk_hs *hs = c->hs;
    uint16_t group;
    NK_CHECK(ks, ERR_SSL_MISSING_EXTENSION);
    struct nk_rd r = ks->data, share;
    NK_TRY(nk_rd_u16(&r, &group));
    NK_TRY(nk_rd_vec16(&r, &share, 1, 0xffff));
    NK_TRY(nk_rd_done(&r));
    /* §4.2.8: the server's share MUST be in the group of our share. */
    NK_CHECK(hs->kex_priv && group == hs->kex_group, ERR_SSL_ILLEGAL_PARAMETER);
    NK_TRY(nk_kex_derive(group, hs->kex_priv, share.p, nk_rd_left(&share), dhe, dhe_len));
    c->group = group;
    return OK;
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
    /* Appendix D.5: a ServerHello.legacy_version of 0x0300 (or below) MUST be
     * answered with protocol_version, whatever else it says. */
    NK_CHECK(version > 0x0300, ERR_SSL_UNSUPPORTED_VERSION);
    if (!nk_ext_find(e, ne, NK_EXT_SUPPORTED_VERSIONS)) {
        /* A TLS 1.2-or-older ServerHello. §4.1.3: "TLS 1.3 clients receiving
         * a ServerHello indicating TLS 1.2 or below MUST check that the last
         * 8 bytes are not equal to either of these values" (illegal_parameter);
         * without TLS 1.2 allowed it is protocol_version. */
        static const uint8_t sentinel[7] = { 'D', 'O', 'W', 'N', 'G', 'R', 'D' };
        const uint8_t *tail = hs->server_random + 24;
        if (c->max_minor >= 4)
            NK_CHECK(memcmp(tail, sentinel, 7) || tail[7] > 1, ERR_SSL_DOWNGRADE_DETECTED);
        if (!(c->min_minor <= 3 && version == NK_TLS12) && version >> 8 == 3 && (version & 0xff) <= 4)
            c->peer_versions = 1u << (version & 0xff);   /* for saying what the server chose */
        MSTATUS vst = c->min_minor <= 3 && version == NK_TLS12 ? OK : ERR_SSL_UNSUPPORTED_VERSION;
        NK_TRY(nk_version_tell(c, version >> 8 == 3 ? version & 0xff : 0, c->max_minor, vst));
        return server_hello12(c, version, sid, suite, comp, e, ne, raw, n);
    }
    NK_CHECK(c->max_minor >= 4, ERR_SSL_UNSUPPORTED_VERSION);
    /* §4.1.3: legacy_version 0x0303, our session id echoed, a suite we offered, null compression. */
    NK_CHECK(version == NK_TLS12, ERR_SSL_ILLEGAL_PARAMETER);
    NK_TRY(nk_hs_check_echo(&sid, hs->session_id, hs->session_id_len));
    NK_CHECK(comp == 0, ERR_SSL_ILLEGAL_PARAMETER);
    NK_CHECK(nk_tls_suite_enabled(c, nk_suite_by_id(suite)), ERR_SSL_ILLEGAL_PARAMETER);
    /* §4.1.4: the suite after HRR must be the one the HRR named. */
    NK_CHECK(!c->suite || c->suite->id == suite, ERR_SSL_ILLEGAL_PARAMETER);
    c->suite = nk_suite_by_id(suite);
    hs->hash = c->suite->hash;
    int hrr = !memcmp(hs->server_random, hrr_random, 32);
    NK_TRY(check_server_exts(hs, e, ne, hrr));
    if (hrr)
        return on_hello_retry(c, e, ne, raw, n);
    NK_TRY(nk_version_tell(c, 4, c->max_minor, OK));

    const struct nk_ext *ks = nk_ext_find(e, ne, NK_EXT_KEY_SHARE);
    uint8_t dhe[NK_MAX_KEX_SECRET];
    size_t dhe_len = 0;
    if (ks || !nk_psk_ext_client_ke_only(c))
        NK_TRY(read_server_share(c, ks, dhe, &dhe_len));
    const struct nk_ext *psk = nk_ext_find(e, ne, NK_EXT_PRE_SHARED_KEY);
    if (psk)
        NK_TRY(nk_psk_client_accepted(c, psk));
    /* §4.2.8: without a key_share only psk_ke, which needs the PSK accepted. */
    NK_CHECK(ks || hs->psk_ok, ERR_SSL_MISSING_EXTENSION);
    hs->psk_ke = !ks;
    NK_TRY(nk_transcript_set_hash(&hs->tr, hs->hash));
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    NK_TRY(nk_ks_early(hs, hs->psk_ok ? hs->psk : NULL, hs->psk_len));
    MSTATUS st = nk_ks_handshake(c, ks ? dhe : NULL, dhe_len);
    nk_wipe(dhe, sizeof dhe);
    NK_TRY(st);
    NK_TRY(nk_rec_install(c->rd, c->suite, hs->s_hs, 0));
    c->rd_epoch++;
    /* After 0-RTT data the write key stays the early one until the server
     * answers it (nk_early_client_ee). */
    return nk_early_client_sending(c) ? OK : nk_rec_install(c->wr, c->suite, hs->c_hs, 1);
}

static MSTATUS on_encrypted_extensions(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    struct nk_ext e[NK_MAX_EXTS];
    size_t ne;
    NK_CHECK(nk_rd_left(b) >= 2, ERR_SSL_PROTOCOL);
    NK_TRY(nk_ext_parse(b, e, &ne));
    NK_TRY(nk_rd_done(b));
    for (size_t i = 0; i < ne; i++) {
        uint16_t t = e[i].type;
        NK_CHECK(was_sent(hs, t), ERR_SSL_UNSUPPORTED_EXTENSION);
        switch (t) {
        case NK_EXT_SERVER_NAME:         /* RFC 6066 §3: empty */
            NK_CHECK(nk_rd_left(&e[i].data) == 0, ERR_SSL_PROTOCOL);
            break;
        case NK_EXT_SUPPORTED_GROUPS:    /* the server's preference: informational */
            break;
        case NK_EXT_ALPN:
            NK_TRY(nk_ext_client_on_alpn(c, &e[i]));
            break;
        case NK_EXT_RECORD_SIZE_LIMIT: {
            uint16_t lim;
            struct nk_rd r = e[i].data;
            NK_TRY(nk_rd_u16(&r, &lim));
            NK_TRY(nk_rd_done(&r));
            /* RFC 8449 §4: below 64 is illegal_parameter; the limit counts the
             * inner content type in TLS 1.3. */
            NK_CHECK(lim >= 64, ERR_SSL_ILLEGAL_PARAMETER);
            c->send_limit = lim - 1 < NK_MAX_PLAIN ? lim - 1 : NK_MAX_PLAIN;
            break;
        }
        case NK_EXT_EARLY_DATA:          /* §4.2.10: our 0-RTT data was accepted */
            NK_TRY(nk_early_client_ee(c, &e[i]));
            break;
        default:   /* key_share, supported_versions and the like belong elsewhere */
            return ERR_SSL_ILLEGAL_PARAMETER;
        }
    }
    NK_TRY(nk_early_client_ee(c, NULL));
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    /* A resumed handshake authenticates with the PSK: Finished comes next. */
    return hs->psk_ok ? NK_HS_ALT : NK_HS_NEXT;
}

static MSTATUS on_certificate_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_rd ctx;
    NK_TRY(nk_rd_vec8(b, &ctx, 0, 255));
    /* §4.3.2: the context is empty except in post-handshake authentication. */
    NK_CHECK(nk_rd_left(&ctx) == 0, ERR_SSL_ILLEGAL_PARAMETER);
    return nk_hs_read_certificate_request(c, b, raw, n);
}

MSTATUS nk_hs_read_certificate_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    struct nk_ext e[NK_MAX_EXTS];
    size_t ne;
    NK_CHECK(nk_rd_left(b) >= 2, ERR_SSL_PROTOCOL);
    NK_TRY(nk_ext_parse(b, e, &ne));
    NK_TRY(nk_rd_done(b));
    const struct nk_ext *sa = nk_ext_find(e, ne, NK_EXT_SIGNATURE_ALGORITHMS);
    NK_CHECK(sa, ERR_SSL_MISSING_EXTENSION);
    struct nk_rd r = sa->data;
    NK_TRY(nk_ext_read_u16_list(&r, hs->peer_sigs, NK_MAX_SIGS, &hs->n_peer_sigs, nk_sig_known));
    struct nk_rd cas = { NULL, NULL };
    const struct nk_ext *ca = nk_ext_find(e, ne, NK_EXT_CERTIFICATE_AUTHORITIES);
    if (ca) {   /* §4.2.4: DistinguishedName authorities<3..2^16-1> */
        r = ca->data;
        NK_TRY(nk_rd_vec16(&r, &cas, 3, 0xffff));
        NK_TRY(nk_rd_done(&r));
    }
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    hs->cert_requested = 1;
    const struct certStore *from;
    NK_TRY(nk_cauth_request(c, cas, &from));
    if (from)
        hs->identity = nk_store_pick_identity_pref(from, NULL, hs->peer_sigs, hs->n_peer_sigs,
                                                   c->sig_prefs, &hs->sig_scheme);
    return OK;
}

static MSTATUS on_server_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    NK_TRY(nk_hs_on_finished(c, b, raw, n));
    NK_TRY(nk_ks_application(c));
    NK_TRY(nk_rec_install(c->rd, c->suite, c->s_ap, 0));
    c->rd_epoch++;
    c->rd_app = 1;
    if (!c->ccs_sent)
        NK_TRY(nk_send_ccs(c));   /* D.4: before our encrypted flight, once */
    NK_TRY(nk_early_client_end(c));   /* EndOfEarlyData (§4.5) */
    if (hs->cert_requested) {
        /* §4.4.2: with no suitable certificate the client sends an empty one. */
        NK_TRY(nk_hs_send_certificate(c, hs->identity));
        if (hs->identity)
            NK_TRY(nk_hs_send_cert_verify(c));
    }
    NK_TRY(nk_hs_send_finished(c));
    /* The server reads what follows our Finished under our application key: a
     * failure before that key is in place can send no alert it could read. */
    MSTATUS st = nk_ks_resumption(c);
    if (st == OK)
        st = nk_rec_install(c->wr, c->suite, c->c_ap, 1);
    if (st < 0) {
        c->alert_out = NK_ALERT_NONE;
        return st;
    }
    c->wr_app = 1;
    return nk_hs_complete(c);
}

/* RFC 8446 §2, Appendix A.1: the client's states. A change_cipher_spec may
 * come from the moment our ClientHello is out until the server's Finished
 * (§5); after the handshake, NewSessionTicket (§4.6.1), KeyUpdate (§4.6.3)
 * and CertificateRequest (§4.6.2: unexpected_message unless we offered
 * post_handshake_auth, handshake/tls13_pha.c); nothing else has a place there. */
static const struct nk_step client13[] = {
    /* state            content type              message                     handler                  next (alt) */
    { ST_C_WAIT_SH,     NK_CT_HANDSHAKE,          NK_HS_SERVER_HELLO,         on_server_hello,         ST_C_WAIT_EE,
      .alt = ST_C_WAIT_SH /* it was a HelloRetryRequest */ },
    { ST_C_WAIT_EE,     NK_CT_HANDSHAKE,          NK_HS_ENCRYPTED_EXTENSIONS, on_encrypted_extensions, ST_C_WAIT_CERT_CR,
      .alt = ST_C_WAIT_FIN /* resumed: the PSK authenticates the server */ },
    { ST_C_WAIT_CERT_CR, NK_CT_HANDSHAKE,         NK_HS_CERTIFICATE_REQUEST,  on_certificate_request,  ST_C_WAIT_CERT },
    { ST_C_WAIT_CERT_CR, NK_CT_HANDSHAKE,         NK_HS_CERTIFICATE,          nk_hs_on_certificate,    ST_C_WAIT_CV },
    { ST_C_WAIT_CERT,   NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE,          nk_hs_on_certificate,    ST_C_WAIT_CV },
    { ST_C_WAIT_CV,     NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE_VERIFY,   nk_hs_on_cert_verify,    ST_C_WAIT_FIN },
    { ST_C_WAIT_FIN,    NK_CT_HANDSHAKE,          NK_HS_FINISHED,             on_server_finished,      ST_CONNECTED },

    { ST_C_WAIT_SH,     NK_CT_CHANGE_CIPHER_SPEC, 0,                          nk_hs_on_ccs,            ST_C_WAIT_SH },
    { ST_C_WAIT_EE,     NK_CT_CHANGE_CIPHER_SPEC, 0,                          nk_hs_on_ccs,            ST_C_WAIT_EE },
    { ST_C_WAIT_CERT_CR, NK_CT_CHANGE_CIPHER_SPEC, 0,                         nk_hs_on_ccs,            ST_C_WAIT_CERT_CR },
    { ST_C_WAIT_CERT,   NK_CT_CHANGE_CIPHER_SPEC, 0,                          nk_hs_on_ccs,            ST_C_WAIT_CERT },
    { ST_C_WAIT_CV,     NK_CT_CHANGE_CIPHER_SPEC, 0,                          nk_hs_on_ccs,            ST_C_WAIT_CV },
    { ST_C_WAIT_FIN,    NK_CT_CHANGE_CIPHER_SPEC, 0,                          nk_hs_on_ccs,            ST_C_WAIT_FIN },

    { ST_CONNECTED,     NK_CT_HANDSHAKE,          NK_HS_NEW_SESSION_TICKET,   nk_hs_on_new_session_ticket, ST_CONNECTED },
    { ST_CONNECTED,     NK_CT_HANDSHAKE,          NK_HS_KEY_UPDATE,           nk_hs_on_key_update,     ST_CONNECTED },
    { ST_CONNECTED,     NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE_REQUEST,  nk_pha_on_request,       ST_CONNECTED },
};

const struct nk_protocol nk_tls13_client = {
    .id = NK_PROTO_TLS13_CLIENT, .first = ST_C_WAIT_SH, .version = NK_TLS13, .name = "TLS 1.3 client",
    .steps = client13, .n_steps = NK_ARRAY_LEN(client13), .start = client_start,
};
