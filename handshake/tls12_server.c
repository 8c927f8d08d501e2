/* handshake/tls12_server.c — the TLS 1.2 server (RFC 5246 §7.3): full
 * handshakes over ECDHE (RFC 8422), DHE (RFC 7919) or RSA key transport
 * (handshake/tls12_kx.c) with extended master secret (RFC 7627) and secure
 * renegotiation (RFC 5746, handshake/tls12_reneg.c). */
#include "handshake/tls12.h"
#include "handshake/tls12_reneg.h"
#include "handshake/tls12_resume.h"
#include "handshake/hello.h"

/* RFC 5246 §7.4.1.2: the compression methods MUST include null. */
static MSTATUS check_compression(const struct nk_client_hello *ch)
{
    struct nk_rd r = ch->compression;
    uint8_t m;
    while (nk_rd_u8(&r, &m) == OK)
        if (m == 0)
            return OK;
    return ERR_SSL_ILLEGAL_PARAMETER;
}

/* RFC 7627 §5.2 lets a server go on without the extension; RFC 7627 §5.3
 * and our policy make it required: a client without it gets
 * handshake_failure. RFC 5746: renegotiation_info or the SCSV marks a client
 * that supports secure renegotiation (tls12_reneg.c checks them). */
static MSTATUS read_tls12_exts(struct nk_tls *c, const struct nk_client_hello *ch)
{
    struct nk_hs *hs = c->hs;
    const struct nk_ext *x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_EXTENDED_MASTER_SECRET);
    if (x)   /* RFC 7627 §5.1: extension_data is empty */
        NK_CHECK(nk_rd_left(&x->data) == 0, ERR_SSL_PROTOCOL);
    /* RFC 7627 §5.3: required unless the application allows peers without
     * it; such a session is not resumed (below and tls12_resume.c). */
    NK_CHECK(x || c->ems_optional, ERR_SSL_HANDSHAKE_FAILURE);
    hs->ems = x != NULL;
    NK_TRY(nk_reneg_check_client_info(c, ch));
    x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_HEARTBEAT);
    NK_TRY(nk_hb_read_ext(c, x ? &x->data : NULL));   /* RFC 6520 §2, when enabled */
    if ((x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_ENCRYPT_THEN_MAC))) {   /* RFC 7366 §2: empty */
        NK_CHECK(nk_rd_left(&x->data) == 0, ERR_SSL_PROTOCOL);
        hs->etm = 1;   /* asked for; agreed only with a CBC suite (send_server_hello) */
    }
    /* RFC 8422 §5.1.2: a client's point formats must include uncompressed. */
    if ((x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_EC_POINT_FORMATS))) {
        struct nk_rd r = x->data, f;
        uint8_t v;
        int unc = 0;
        NK_TRY(nk_rd_vec8(&r, &f, 1, 255));
        NK_TRY(nk_rd_done(&r));
        while (nk_rd_u8(&f, &v) == OK)
            unc |= v == 0;
        NK_CHECK(unc, ERR_SSL_ILLEGAL_PARAMETER);
    }
    return OK;
}

static MSTATUS read_sni_and_sigs(struct nk_tls *c, const struct nk_client_hello *ch)
{
    struct nk_hs *hs = c->hs;
    const struct nk_ext *x;
    if ((x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_SERVER_NAME))) {
        char name[256];
        struct nk_rd r = x->data;
        NK_TRY(nk_ext_read_sni(&r, name, sizeof name));
        /* A renegotiation keeps the connection's name (its certificate was
         * chosen for it): another is illegal_parameter. */
        if (hs->reneg && c->server_name && c->server_name[0])
            NK_CHECK(!strcmp(name, c->server_name), ERR_SSL_ILLEGAL_PARAMETER);
        else if (!hs->reneg)
            NK_TRY(nk_tls_set_server_name(c, name));
    }
    /* RFC 5246 §7.4.1.4.1: "If the client does not send the
     * signature_algorithms extension, the server MUST ... behave as if the
     * client had sent the value {sha1,rsa}" (or {sha1,ecdsa}): SHA-1, which
     * we sign with only when the application allowed it (SSL_setSha1SigAlg);
     * otherwise handshake_failure. */
    x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_SIGNATURE_ALGORITHMS);
    if (!x) {
        NK_CHECK(c->cfg->ssl.allowSha1SigAlg, ERR_SSL_HANDSHAKE_FAILURE);
        hs->peer_sigs[0] = NK_SIG_RSA_PKCS1_SHA1;
        hs->peer_sigs[1] = NK_SIG_ECDSA_SHA1;
        hs->n_peer_sigs = 2;
        return OK;
    }
    struct nk_rd r = x->data;
    return nk_ext_read_u16_list(&r, hs->peer_sigs, NK_MAX_SIGS, &hs->n_peer_sigs, nk_sig_known);
}

/* Our most preferred suite the client offers whose authentication our key
 * can make (ECDSA for an EC key, RSA for an RSA one) and whose key exchange
 * has a group (kx_ok: bits 1 << enum nk_kx); else a PSK suite when we have
 * PSKs (tls12_psk.c); else an anonymous one, both ends having enabled it
 * (tls12_anon.c). */
static MSTATUS pick_suite(struct nk_tls *c, const struct nk_client_hello *ch, unsigned kx_ok)
{
    enum nk_key_type kt = c->hs->identity ? c->hs->identity->type : NK_KEY_NONE;
    int ecdsa = kt == NK_KEY_EC_P256 || kt == NK_KEY_EC_P384 || kt == NK_KEY_EC_P521;
    /* RFC 8422 §2: ECDHE_ECDSA suites take an EdDSA certificate too. */
    int auth = kt == NK_KEY_RSA || kt == NK_KEY_RSA_PSS ? NK_AUTH_RSA
             : ecdsa || kt == NK_KEY_ED25519 || kt == NK_KEY_ED448 ? NK_AUTH_ECDSA
             : kt == NK_KEY_DSA ? NK_AUTH_DSA : -1;
    /* RFC 8422 §5.1: the curve of an ECDSA certificate, too, must be one of
     * the client's supported_groups (when it sent the extension). */
    uint16_t curve = kt == NK_KEY_EC_P256 ? NK_GROUP_SECP256R1 : kt == NK_KEY_EC_P384 ? NK_GROUP_SECP384R1
                   : NK_GROUP_SECP521R1;
    const struct nk_ext *sg = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_SUPPORTED_GROUPS);
    if (ecdsa && sg) {
        struct nk_rd r = sg->data, list;
        NK_TRY(nk_rd_vec16(&r, &list, 2, 0xfffe));
        if (!nk_rd_has_u16(list, curve))
            auth = -1;   /* no suite our certificate can authenticate */
    }
    c->suite = auth < 0 ? NULL : nk_tls_pick_suite(c, ch->suites, 3, (uint8_t)auth, kx_ok);
    if (!c->suite && nk_tls12_psk_server_has(c))   /* a pre-shared key (tls12_psk.c) */
        c->suite = nk_tls_pick_suite(c, ch->suites, 3, NK_AUTH_PSK, kx_ok | 1u << NK_KX_PSK);
    if (!c->suite)
        c->suite = nk_tls12_anon_pick(c, ch->suites, kx_ok);
    return c->suite ? OK : ERR_SSL_NO_CIPHER_MATCH;
}

/* RFC 8422 §5.1.1: our most preferred group among the client's
 * supported_groups (an elliptic curve: no FFDHE group here); without the
 * extension, any curve we like (§4): our first. *ec is 0 when there is none;
 * *ff is the FFDHE group a DHE suite would use (RFC 7919 §4, tls12_kx.c). */
static MSTATUS pick_groups(struct nk_tls *c, const struct nk_client_hello *ch, uint16_t *ec, uint16_t *ff)
{
    const struct nk_ext *sg = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_SUPPORTED_GROUPS);
    struct nk_rd list = { 0 };
    if (sg) {
        struct nk_rd r = sg->data;
        NK_TRY(nk_rd_vec16(&r, &list, 2, 0xfffe));
        NK_TRY(nk_rd_done(&r));
        NK_CHECK(nk_rd_left(&list) % 2 == 0, ERR_SSL_PROTOCOL);
        c->peer_groups_mask = 0;
        struct nk_rd m = list;
        uint16_t g;
        while (nk_rd_u16(&m, &g) == OK)
            if (g < 32)
                c->peer_groups_mask |= 1u << g;
    }
    *ff = nk_tls12_dhe_group(c, sg ? &list : NULL);
    *ec = 0;
    for (size_t i = 0; i < c->n_groups && !*ec; i++) {
        uint16_t g = c->groups[i];
        if (!nk_group_is_ffdhe(g) && (!sg || nk_rd_has_u16(list, g)))   /* FFDHE: not with an ECDHE suite */
            *ec = g;
    }
    return OK;
}

/* The suite, then the group its key exchange uses (none for RSA key
 * transport, which the certificate must allow). */
static MSTATUS choose_suite_and_group(struct nk_tls *c, const struct nk_client_hello *ch)
{
    uint16_t ec, ff;
    NK_TRY(pick_groups(c, ch, &ec, &ff));
    unsigned rsa = c->hs->identity && nk_tls12_rsa_kx_allowed(c->hs->identity->leaf) ? 1u << NK_KX_RSA : 0;
    unsigned kx_ok = (ec ? 1u << NK_KX_ECDHE : 0) | (ff ? 1u << NK_KX_DHE : 0) | rsa;
    MSTATUS st = pick_suite(c, ch, kx_ok);
    /* RFC 7919 §4: FFDHE groups listed, none acceptable, and no other suite:
     * "the server MUST end the connection with a fatal TLS alert of type
     * insufficient_security(71)". Any other suite in common without a
     * group for its key exchange: handshake_failure. */
    if (st == ERR_SSL_NO_CIPHER_MATCH && !ff && pick_suite(c, ch, 1u << NK_KX_DHE) == OK)
        st = ERR_SSL_INSUFFICIENT_SECURITY;
    else if (st == ERR_SSL_NO_CIPHER_MATCH && pick_suite(c, ch, ~(1u << NK_KX_RSA) | rsa) == OK)
        st = ERR_SSL_NO_GROUP_MATCH;
    NK_TRY(st);
    c->group = c->suite->kx == NK_KX_DHE ? ff : c->suite->kx == NK_KX_ECDHE ? ec : 0;
    return OK;
}

static MSTATUS send_server_hello(struct nk_tls *c, const struct nk_client_hello *ch)
{
    struct nk_hs *hs = c->hs;
    struct nk_wr w;
    NK_TRY(nk_random(hs->server_random, 32));
    /* RFC 8446 §4.1.3: a server that could have spoken TLS 1.3 marks the
     * TLS 1.2 it chose, so that a TLS 1.3 client detects a downgrade. */
    if (c->max_minor >= 4 && nk_tls_has_suites(c, 4) && !hs->reneg)   /* it could have chosen 1.3 */
        memcpy(hs->server_random + 24, nk_tls12_downgrade, 8);
    nk_hs_begin(c, &w, NK_HS_SERVER_HELLO);
    nk_wr_u16(&w, c->is_dtls ? 0xfefd /* DTLS 1.2, RFC 6347 §4.1 */ : NK_TLS12);
    nk_wr_bytes(&w, hs->server_random, 32);
    nk_wr_u8(&w, hs->session_id_len);   /* new or resumed (handshake/tls12_resume.c) */
    nk_wr_bytes(&w, hs->session_id, hs->session_id_len);
    nk_wr_u16(&w, c->suite->id);
    nk_wr_u8(&w, 0);                 /* compression: null */
    size_t exts = nk_wr_open(&w, 2);
    nk_reneg_write_server_info(c, &w);   /* RFC 5746 §3.6, §3.7 */
    if (hs->ems) {                   /* RFC 7627 §5.2: only in answer to the client's */
        nk_wr_u16(&w, NK_EXT_EXTENDED_MASTER_SECRET);
        nk_wr_u16(&w, 0);
    }
    NK_TRY(nk_tls12_server_hello_exts(c, ch, &w));
    /* RFC 7366 §3: encrypt_then_mac, asked for and a CBC suite chosen: we
     * always agree (it is the order without the padding oracle). */
    hs->etm = hs->etm && c->suite->aead == NK_AES_CBC;
    if (hs->etm) {
        nk_wr_u16(&w, NK_EXT_ENCRYPT_THEN_MAC);
        nk_wr_u16(&w, 0);
    }
    if (hs->ticket12) {              /* RFC 5077 §3.2: a NewSessionTicket follows */
        nk_wr_u16(&w, NK_EXT_SESSION_TICKET);
        nk_wr_u16(&w, 0);
    }
    nk_wr_close(&w, exts, 2);
    return nk_hs_finish(c, &w);
}

/* RFC 8422 §5.4 ServerECDHParams or RFC 5246 §7.4.3 ServerDHParams
 * (tls12_kx.c), then its signature (digitally-signed with a
 * SignatureAndHashAlgorithm the client listed). */
static MSTATUS send_server_key_exchange(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_buf pb = { 0 };
    uint8_t content[NK_TLS12_SKE_CONTENT];
    MSTATUS st = nk_tls12_kx_server_params(c, &pb);
    if (st == OK && pb.len > NK_TLS12_SKE_PARAMS)
        st = ERR_SSL_INTERNAL;
    if (st != OK) {
        nk_buf_free(&pb);
        return st;
    }
    const uint8_t *params = pb.p;
    size_t plen = pb.len;
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_SERVER_KEY_EXCHANGE);
    nk_wr_bytes(&w, params, plen);
    if (c->suite->auth == NK_AUTH_ANON) {   /* RFC 5246 §7.4.3: the parameters alone */
        nk_buf_free(&pb);
        return nk_hs_finish(c, &w);
    }
    size_t clen = nk_tls12_ske_content(hs, params, plen, content);
    size_t slen = nk_sig_max_len(hs->identity->key);
    nk_buf_free(&pb);
    nk_wr_u16(&w, hs->sig_scheme);
    size_t pos = nk_wr_open(&w, 2);
    uint8_t *sig = nk_wr_space(&w, slen);
    NK_TRY(nk_wr_status(&w));
    NK_TRY(nk_identity_sign12(hs->identity, hs->sig_scheme, content, clen, sig, &slen));
    hs->msg.len = (size_t)(sig - hs->msg.p) + slen;   /* the signature's real length */
    nk_wr_close(&w, pos, 2);
    return nk_hs_finish(c, &w);
}

static MSTATUS send_server_hello_done(struct nk_tls *c)
{
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_SERVER_HELLO_DONE);
    return nk_hs_finish(c, &w);
}

/* The ClientHello chose TLS 1.2 (handshake/hello.c parsed it and chose). */
static MSTATUS client_hello12(struct nk_tls *c, const struct nk_client_hello *ch, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    NK_TRY(check_compression(ch));
    /* RFC 7507 §3: "If TLS_FALLBACK_SCSV appears in ClientHello.cipher_suites
     * and the highest protocol version supported by the server is higher
     * than the version indicated by the client, the server MUST respond with
     * a fatal inappropriate_fallback alert". This client offered 1.2 at most. */
    NK_CHECK(!(c->max_minor >= 4 && nk_rd_has_u16(ch->suites, NK_TLS12_SCSV_FALLBACK)),
             ERR_SSL_INAPPROPRIATE_FALLBACK);
    memcpy(hs->client_random, ch->random, 32);
    hs->client_version = ch->legacy_version;   /* RSA key transport checks it (RFC 5246 §7.4.7.1) */
    NK_TRY(read_tls12_exts(c, ch));
    NK_TRY(read_sni_and_sigs(c, ch));
    MSTATUS resumed = nk_tls12_server_resume(c, ch);
    NK_TRY(resumed);
    if (resumed) {
        hs->hash = c->suite->hash;
        NK_TRY(nk_transcript_set_hash(&hs->tr, hs->hash));
        NK_TRY(nk_transcript_add(&hs->tr, raw, n));
        NK_TRY(send_server_hello(c, ch));
        return nk_tls12_server_resumed_flight(c);
    }
    uint16_t ours[NK_TLS12_MAX_SIGS];
    size_t n_ours = nk_tls12_sigs(c, NK_SIGS_SIGNING, ours);
    hs->identity = nk_store_pick_identity12(c->store, c->server_name, hs->peer_sigs, hs->n_peer_sigs, ours,
                                            n_ours, &hs->sig_scheme);
    NK_CHECK(hs->identity || nk_tls12_auth_enabled(c, NK_AUTH_ANON) || nk_tls12_psk_server_has(c),
             ERR_SSL_NO_IDENTITY);
    NK_TRY(choose_suite_and_group(c, ch));
    NK_TRY(nk_tls12_ocsp_choose(c, ch));
    hs->hash = c->suite->hash;
    int psk = c->suite->auth == NK_AUTH_PSK;
    int want_cert = !psk && nk_tls12_wants_client_cert(c);
    hs->tr.keep = want_cert;   /* the client's CertificateVerify signs the messages */
    NK_TRY(nk_transcript_set_hash(&hs->tr, hs->hash));
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    NK_TRY(send_server_hello(c, ch));
    if (!psk && c->suite->auth != NK_AUTH_ANON) {   /* RFC 5246 §7.4.2: none for anonymous suites */
        NK_TRY(nk_tls12_send_certificate(c, hs->identity));
        NK_TRY(nk_tls12_send_cert_status(c));   /* RFC 6066 §8: right after the Certificate */
    }
    if (psk)   /* RFC 4279 §2: no Certificate; the hint and any (EC)DHE parameters */
        NK_TRY(nk_tls12_psk_send_ske(c));
    else if (c->suite->kx != NK_KX_RSA)   /* RFC 5246 §7.4.3: none for RSA key transport */
        NK_TRY(send_server_key_exchange(c));
    if (want_cert)
        NK_TRY(nk_tls12_send_certificate_request(c));
    NK_TRY(send_server_hello_done(c));
    return want_cert ? NK_HS_ALT : NK_HS_NEXT;   /* the client's Certificate, or its ClientKeyExchange */
}

/* RFC 8422 §5.7 ClientECDiffieHellmanPublic or RFC 5246 §7.4.7.2
 * ClientDiffieHellmanPublic (tls12_kx.c); for a PSK suite, the identity
 * first (tls12_psk.c). */
static MSTATUS on_client_key_exchange(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    uint8_t pms[NK_MAX_KEX_SECRET];
    size_t pms_len;
    if (c->suite->auth == NK_AUTH_PSK) {   /* the identity, then as the suite says */
        NK_TRY(nk_transcript_add(&hs->tr, raw, n));
        return nk_tls12_psk_server_derive(c, b);
    }
    NK_TRY(nk_tls12_kx_server_secret(c, b, pms, &pms_len));
    MSTATUS st = nk_transcript_add(&hs->tr, raw, n);
    if (st == OK)
        st = nk_tls12_derive(c, pms, pms_len);
    nk_wipe(pms, sizeof pms);
    if (st == OK && nk_tls12_client_sent_cert(c))
        return NK_HS_ALT;   /* RFC 5246 §7.4.8: its CertificateVerify comes next */
    return st;
}

static MSTATUS on_client_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    NK_TRY(nk_tls12_on_finished(c, b, raw, n));
    NK_TRY(nk_tls12_send_ticket(c));   /* RFC 5077 §3.3: before our ChangeCipherSpec */
    NK_TRY(nk_tls12_send_ccs(c));
    NK_TRY(nk_tls12_send_finished(c));
    nk_tls12_server_keep(c);
    return nk_tls12_complete(c);
}

/* RFC 5246 §7.3: the server's states for a full handshake, with client
 * authentication when we ask for it (RFC 5246 §7.4.6: a client that was
 * asked sends a Certificate, maybe empty; one that sent a certificate
 * sends a CertificateVerify after its ClientKeyExchange). The client's ChangeCipherSpec has its one row: anywhere
 * else it is unexpected_message. */
static const struct nk_step server12[] = {
    /* state            content type              message                     handler                 next */
    { ST_S_WAIT_CH,     NK_CT_HANDSHAKE,          NK_HS_CLIENT_HELLO,         nk_hello_on_client_hello, ST_S12_WAIT_CKE,
      .alt = ST_S12_WAIT_CERT /* we sent a CertificateRequest */,
      .alt2 = ST_S12R_WAIT_CCS /* we resumed the client's session */ },
    { ST_S12_WAIT_CERT, NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE,          nk_tls12_on_certificate, ST_S12_WAIT_CKE },
    { ST_S12_WAIT_CKE,  NK_CT_HANDSHAKE,          NK_HS_CLIENT_KEY_EXCHANGE,  on_client_key_exchange, ST_S12_WAIT_CCS,
      .alt = ST_S12_WAIT_CV /* the client sent a certificate */ },
    { ST_S12_WAIT_CV,   NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE_VERIFY,   nk_tls12_on_cert_verify, ST_S12_WAIT_CCS },
    { ST_S12_WAIT_CCS,  NK_CT_CHANGE_CIPHER_SPEC, 0,                          nk_tls12_on_ccs,        ST_S12_WAIT_FIN },
    { ST_S12_WAIT_FIN,  NK_CT_HANDSHAKE,          NK_HS_FINISHED,             on_client_finished,     ST_CONNECTED },
    /* RFC 5246 §7.3, Figure 2: a resumed session (handshake/tls12_resume.c) */
    { ST_S12R_WAIT_CCS, NK_CT_CHANGE_CIPHER_SPEC, 0,                          nk_tls12_on_ccs,        ST_S12R_WAIT_FIN },
    { ST_S12R_WAIT_FIN, NK_CT_HANDSHAKE,          NK_HS_FINISHED,             nk_tls12_on_resumed_client_finished, ST_CONNECTED },
    /* RFC 5246 §7.4.1.2: a ClientHello after the handshake renegotiates, as
     * the first one goes on; refused, it stays here (tls12_reneg.c) */
    { ST_CONNECTED,     NK_CT_HANDSHAKE,          NK_HS_CLIENT_HELLO,         nk_reneg_on_client_hello, ST_S12_WAIT_CKE,
      .alt = ST_S12_WAIT_CERT, .alt2 = ST_S12R_WAIT_CCS },
};

const struct nk_protocol nk_tls12_server = {
    .id = NK_PROTO_TLS12_SERVER, .first = ST_S_WAIT_CH, .version = NK_TLS12, .name = "TLS 1.2 server",
    .steps = server12, .n_steps = NK_ARRAY_LEN(server12), .client_hello = client_hello12,
};
