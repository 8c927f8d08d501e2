/* api/conn.c — per-connection NanoSSL calls and the nktls extensions. */
#include <stdlib.h>
#include "api/api.h"
#include "core/kex.h"
#include "engine/dtls.h"
#include "handshake/hs.h"
#include "handshake/tls12.h"
#include "handshake/tls12_reneg.h"
#include "nktls.h"
#include "ktls/ktls.h"

#define GET(h, c) struct nk_conn *c; NK_TRY(nk_conn_get((h), &c))

/* Version DTLS 1.2 asked of a connection made on no UDP socket: an
 * asynchronous one, whose application moves the datagrams itself, becomes
 * DTLS before it starts (its server's cookie binds no address then: the
 * application checks the source of what it feeds). A blocking one needs the
 * UDP socket. */
static MSTATUS make_dtls(struct nk_conn *c)
{
    NK_CHECK(c->is_async, ERR_SSL_UNSUPPORTED_VERSION);
    NK_CHECK(!c->as_started && !c->hs && c->status == SSL_CONNECTION_NEGOTIATE, ERR_SSL_BAD_STATE);
    return nk_dtls_conn(c, NULL, 0);
}

NK_API MSTATUS SSL_ioctl(sbyte4 h, ubyte4 setting, void *value)
{
    GET(h, c);
    uintptr_t v = (uintptr_t)value;
    switch (setting) {
    case SSL_SET_VERSION:           /* the highest version to negotiate */
    case SSL_SET_MINIMUM_VERSION:
        if (v == DTLS12_MINORVERSION && !c->is_dtls)
            return make_dtls(c);
        if (c->is_dtls)   /* a UDP socket's connection speaks DTLS 1.2, and only that */
            return v == DTLS12_MINORVERSION ? OK : ERR_SSL_UNSUPPORTED_VERSION;
        NK_CHECK(v == TLS12_MINORVERSION || v == TLS13_MINORVERSION, ERR_SSL_UNSUPPORTED_VERSION);
        NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE && !c->hs, ERR_SSL_BAD_STATE);
        if (setting == SSL_SET_VERSION)
            c->max_minor = (uint8_t)v;
        else
            c->min_minor = (uint8_t)v;
        return OK;
    case SSL_SET_RECV_TIMEOUT:
        c->recv_timeout_ms = (ubyte4)v;
        return OK;
    case SSL_SET_NUM_TICKETS:       /* server: session tickets after each handshake */
        NK_CHECK(v <= 16, ERR_INVALID_ARG);
        c->num_tickets = (uint8_t)v;
        return OK;
    case SSL_SET_USE_EXTENDED_MASTERSECRET:   /* TLS 1.2: FALSE accepts peers without it */
        NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE && !c->hs, ERR_SSL_BAD_STATE);
        c->ems_optional = v == 0;
        return OK;
    case SSL_PSK_KEY_EXCHANGE_MODE:   /* include/nktls/nktls.h, NKTLS_FLAG_PSK_KE */
        NK_CHECK(v == SSL_PSK_KE || v == SSL_PSK_DHE_KE, ERR_INVALID_ARG);
        NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE && !c->hs, ERR_SSL_BAD_STATE);
        c->flags = v == SSL_PSK_KE ? c->flags | NKTLS_FLAG_PSK_KE : c->flags & ~(ubyte4)NKTLS_FLAG_PSK_KE;
        return OK;
    case SSL_GET_NUM_TICKETS:
        NK_CHECK(value, ERR_NULL_POINTER);
        *(ubyte4 *)value = c->num_tickets;
        return OK;
    case DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER:
    case DTLS_SET_PMTU:
    case DTLS_USE_SRTP:
    case DTLS_SET_HELLO_VERIFIED:
        return nk_api_dtls_ioctl(c, setting, v);
    default:
        return nk_api_early_ioctl(h, setting, value);   /* 0-RTT's (api/early.c) */
    }
}

NK_API MSTATUS SSL_setSessionFlags(sbyte4 h, ubyte4 flags)
{
    GET(h, c);
    c->flags = flags;
    return OK;
}

NK_API MSTATUS SSL_getSessionFlags(sbyte4 h, ubyte4 *flags)
{
    GET(h, c);
    NK_CHECK(flags, ERR_NULL_POINTER);
    *flags = c->flags;
    return OK;
}

NK_API MSTATUS SSL_getSessionStatus(sbyte4 h, ubyte4 *status)
{
    GET(h, c);
    NK_CHECK(status, ERR_NULL_POINTER);
    *status = nk_reneg_running(&c->tls) ? SSL_CONNECTION_RENEGOTIATE : c->status;
    return OK;
}

NK_API sbyte4 SSL_isSessionSSL(sbyte4 h)
{
    GET(h, c);
    (void)c;
    return TRUE;
}

NK_API MSTATUS SSL_getSocketId(sbyte4 h, TCP_SOCKET *fd)
{
    GET(h, c);
    NK_CHECK(fd, ERR_NULL_POINTER);
    *fd = c->fd;
    return OK;
}

NK_API sbyte4 SSL_getInstanceFromSocket(TCP_SOCKET fd) { return nk_conn_by_fd(fd); }

NK_API MSTATUS NKTLS_setTransport(sbyte4 h, const nktlsTransport *t)
{
    GET(h, c);
    return nk_drive_set_transport(c, t);
}

NK_API MSTATUS SSL_getCookie(sbyte4 h, void **cookie)
{
    GET(h, c);
    NK_CHECK(cookie, ERR_NULL_POINTER);
    *cookie = c->cookie;
    return OK;
}

NK_API MSTATUS SSL_setCookie(sbyte4 h, void *cookie)
{
    GET(h, c);
    c->cookie = cookie;
    return OK;
}

NK_API MSTATUS SSL_enableCiphers(sbyte4 h, const ubyte2 *ids, ubyte4 n)
{
    GET(h, c);
    NK_CHECK(ids, ERR_NULL_POINTER);
    NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE && !c->hs, ERR_SSL_BAD_STATE);
    /* Any suite of either version a handshake can negotiate, by IANA id;
     * unknown ids are passed over. The order is the library's (the table's),
     * as NanoSSL's per-connection enable flags have it. */
    uint64_t set = 0;
    for (ubyte4 i = 0; i < n; i++) {
        const struct nk_suite *s = nk_suite_any_by_id(ids[i]);
        if (s && s->use != NK_USE_NONE)
            set |= nk_suite_bit(s);
    }
    NK_CHECK(set, ERR_SSL_NO_CIPHER_MATCH);
    c->suites = set;
    return OK;
}

NK_API MSTATUS SSL_getCipherInfo(sbyte4 h, ubyte2 *cipher, ubyte4 *peer_curves)
{
    GET(h, c);
    NK_CHECK(cipher && peer_curves, ERR_NULL_POINTER);
    NK_CHECK(c->suite, ERR_SSL_NOT_OPEN);
    *cipher = c->suite->id;
    *peer_curves = c->peer_groups_mask ? c->peer_groups_mask
                                       : (c->group < 32 ? 1u << c->group : 0);
    return OK;
}

NK_API MSTATUS SSL_getSSLTLSVersion(sbyte4 h, ubyte4 *version)
{
    GET(h, c);
    NK_CHECK(version, ERR_NULL_POINTER);
    NK_CHECK(c->status == SSL_CONNECTION_OPEN, ERR_SSL_NOT_OPEN);
    *version = c->is_dtls ? DTLS12_MINORVERSION : c->minor;
    return OK;
}

NK_API MSTATUS SSL_getSignatureAlgo(sbyte4 h, ubyte2 *alg)
{
    GET(h, c);
    NK_CHECK(alg, ERR_NULL_POINTER);
    NK_CHECK(c->peer_sig, ERR_SSL_NOT_OPEN);
    *alg = c->peer_sig;
    return OK;
}

NK_API MSTATUS SSL_setDNSNames(sbyte4 h, const CNMatchInfo *names)
{
    GET(h, c);
    c->dns_names = names;   /* the application keeps the list alive */
    return OK;
}

NK_API MSTATUS SSL_setServerNameIndication(sbyte4 h, const char *name)
{
    GET(h, c);
    NK_CHECK(c->role == NK_CLIENT, ERR_SSL_BAD_STATE);
    NK_CHECK(!name || strlen(name) < 256, ERR_INVALID_ARG);
    return nk_tls_set_server_name(&c->tls, name);
}

NK_API MSTATUS SSL_setApplicationLayerProtocol(sbyte4 h, sbyte4 n, const char **protos)
{
    GET(h, c);
    NK_CHECK(n >= 0 && (protos || n == 0), ERR_NULL_POINTER);
    struct nk_buf b = { 0 };
    for (sbyte4 i = 0; i < n; i++) {
        size_t len = strlen(protos[i]);
        uint8_t l = (uint8_t)len;
        /* RFC 7301 §3.1: names are 1..255 bytes. */
        if (len == 0 || len > 255 || nk_buf_append(&b, &l, 1) < 0 || nk_buf_append(&b, protos[i], len) < 0) {
            nk_buf_free(&b);
            return len == 0 || len > 255 ? ERR_INVALID_ARG : ERR_MEM_ALLOC_FAIL;
        }
    }
    free(c->alpn_offer);
    c->alpn_offer = b.p;
    c->alpn_offer_len = (uint32_t)b.len;
    /* A handshake already under way writes the agreed name in place. */
    return c->hs ? nk_conn_alpn_scratch(c) : OK;
}

NK_API MSTATUS SSL_getSelectedApplicationProtocol(sbyte4 h, const ubyte **proto, ubyte4 *len)
{
    GET(h, c);
    NK_CHECK(proto && len, ERR_NULL_POINTER);
    *proto = (const ubyte *)c->alpn;
    *len = (ubyte4)strlen(c->alpn);
    return OK;
}

NK_API MSTATUS SSL_setAlpnCallback(sbyte4 h, funcPtrAlpnCallback_t cb)
{
    GET(h, c);
    c->alpn_cb = cb;
    return c->hs ? nk_conn_alpn_scratch(c) : OK;
}

NK_API MSTATUS SSL_setCertAndStatusCallback(sbyte4 h, funcPtrCertAndStatusCallback_t cb)
{
    GET(h, c);
    c->cert_status_cb = cb;
    return OK;
}

NK_API MSTATUS SSL_setInvalidCertCallback(sbyte4 h, funcPtrInvalidCertCallback_t cb)
{
    GET(h, c);
    c->invalid_cert_cb = cb;
    return OK;
}

NK_API MSTATUS SSL_lookupAlert(sbyte4 h, sbyte4 err, sbyte4 *alert, sbyte4 *level)
{
    GET(h, c);
    NK_CHECK(alert && level, ERR_NULL_POINTER);
    /* The peer's alert for ERR_SSL_FATAL_ALERT; otherwise the alert err sends. */
    int a = err == ERR_SSL_FATAL_ALERT && c->alert_in >= 0 ? c->alert_in
                                                           : nk_conn_alert_for(c, (MSTATUS)err);
    NK_CHECK(a != NK_ALERT_NONE, ERR_INVALID_ARG);
    *alert = a;
    *level = a == NK_ALERT_CLOSE_NOTIFY || a == NK_ALERT_USER_CANCELED ? SSLALERTLEVEL_WARNING
                                                                        : SSLALERTLEVEL_FATAL;
    return OK;
}

NK_API MSTATUS SSL_sendAlert(sbyte4 h, sbyte4 alert, sbyte4 level)
{
    GET(h, c);
    NK_CHECK(alert >= 0 && alert < 256, ERR_INVALID_ARG);
    NK_CHECK(level == SSLALERTLEVEL_WARNING || level == SSLALERTLEVEL_FATAL, ERR_INVALID_ARG);
    NK_CHECK(c->alert_out < 0 || c->alert_out == NK_ALERT_NONE, ERR_SSL_BAD_STATE);
    /* §6: in TLS 1.3 every alert but close_notify and user_canceled is fatal. */
    if (alert != NK_ALERT_CLOSE_NOTIFY && alert != NK_ALERT_USER_CANCELED)
        level = SSLALERTLEVEL_FATAL;
    NK_TRY(nk_send_alert(&c->tls, level, alert));
    if (level == SSLALERTLEVEL_FATAL) {
        c->alert_out = alert;
        if (c->err >= 0)
            c->err = ERR_SSL_FATAL_ALERT;
    }
    return c->is_async ? OK : nk_drive_flush(c);
}

NK_API MSTATUS SSL_sendKeyUpdateRequest(sbyte4 h, ubyte request)
{
    GET(h, c);
    NK_CHECK(request <= 1, ERR_INVALID_ARG);
    NK_CHECK(c->status == SSL_CONNECTION_OPEN && c->err >= 0, ERR_SSL_NOT_OPEN);
    NK_CHECK(c->minor == 4, ERR_SSL_BAD_STATE);   /* KeyUpdate is TLS 1.3's (RFC 8446 §4.6.3) */
    /* The kernel holds our key and cannot take a new one: refuse, and the
     * connection goes on as before (NKTLS_REKEY_* in nktls.h). */
    NK_CHECK(!c->ktls_tx || nk_ktls_can_rekey(), ERR_SSL_KTLS_NO_REKEY);
    NK_TRY(nk_fail(c, nk_key_update_send(&c->tls, request)));
    return c->is_async ? OK : nk_drive_flush(c);
}

/* RFC 8446 §4.6.2: a server asks the client for a certificate after the
 * handshake; the answer arrives with the data that follows (SSL_recv, the
 * async calls, the loop) and its chain is then the peer's
 * (NKTLS_getPeerCertificate). Only where the client offered
 * post_handshake_auth and the connection has
 * SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH (set before the handshake); one request
 * at a time: ERR_SSL_BAD_STATE otherwise. An empty answer is accepted unless
 * SSL_FLAG_REQUIRE_MUTUAL_AUTH is set (certificate_required, fatal). */
NK_API MSTATUS SSL_sendPosthandshakeAuthCertificateRequest(sbyte4 h)
{
    GET(h, c);
    NK_CHECK(c->status == SSL_CONNECTION_OPEN && c->err >= 0, ERR_SSL_NOT_OPEN);
    MSTATUS st = nk_pha_request(&c->tls);
    if (st == ERR_SSL_BAD_STATE)   /* a request that may not be made: nothing changed */
        return st;
    NK_TRY(nk_fail(c, st));
    return c->is_async ? OK : nk_fail(c, nk_drive_flush(c));
}

NK_API MSTATUS SSL_generateExportKeyMaterial(sbyte4 h, ubyte *key, ubyte2 key_len, ubyte *label,
                                             ubyte2 label_len, ubyte *ctx, ubyte2 ctx_len, int use_ctx)
{
    GET(h, c);
    NK_CHECK(key && (label || !label_len), ERR_NULL_POINTER);
    NK_CHECK(c->status == SSL_CONNECTION_OPEN, ERR_SSL_NOT_OPEN);
    /* RFC 5705 §4: in TLS 1.2 an empty context differs from none. */
    if (c->minor == 3)
        return nk_tls12_conn_export(&c->tls, label, label_len, use_ctx ? ctx : NULL, use_ctx ? ctx_len : 0,
                                    key, key_len);
    /* RFC 8446 §7.5: in TLS 1.3 "no context" and an empty context are the same. */
    return nk_ks_export(c->suite->hash, c->exporter, label, label_len, use_ctx ? ctx : NULL,
                        use_ctx ? ctx_len : 0, key, key_len);
}

/* ---- nktls extensions ---- */

NK_API MSTATUS NKTLS_getRecordLayerInfo(sbyte4 h, nktlsRecordLayerInfo *info)
{
    GET(h, c);
    NK_CHECK(info, ERR_NULL_POINTER);
    NK_CHECK(c->status == SSL_CONNECTION_OPEN, ERR_SSL_NOT_OPEN);
    info->txLayer = c->ktls_tx ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE;
    info->rxLayer = c->ktls_rx ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE;
    const char *tx = nk_ktls_why(c->tx_why), *rx = nk_ktls_why(c->rx_why);
    info->txReason = c->ktls_tx ? "" : tx ? tx : "not offloaded";
    info->rxReason = c->ktls_rx ? "" : rx ? rx : "not offloaded";
    return OK;
}

NK_API MSTATUS NKTLS_setKtlsMode(sbyte4 h, sbyte4 mode)
{
    GET(h, c);
    NK_CHECK(mode >= NKTLS_KTLS_AUTO && mode <= NKTLS_KTLS_REQUIRE, ERR_INVALID_ARG);
    NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE, ERR_SSL_BAD_STATE);
    c->ktls_mode = mode;
    return OK;
}

NK_API MSTATUS NKTLS_setRekeyPolicy(sbyte4 h, sbyte4 policy)
{
    GET(h, c);
    NK_CHECK(policy >= NKTLS_REKEY_FAIL && policy <= NKTLS_REKEY_SOFTWARE, ERR_INVALID_ARG);
    NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE, ERR_SSL_BAD_STATE);
    c->rekey_policy = policy;
    return OK;
}

NK_API MSTATUS NKTLS_setKtlsOptions(sbyte4 h, ubyte4 flags)
{
    GET(h, c);
    NK_CHECK(!(flags & ~(ubyte4)(NKTLS_KTLS_ZEROCOPY_SENDFILE | NKTLS_KTLS_RX_PADDED)), ERR_INVALID_ARG);
    NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE, ERR_SSL_BAD_STATE);
    c->ktls_opts = flags;
    return OK;
}

NK_API MSTATUS NKTLS_sendFile(sbyte4 h, int fd, sbyte8 offset, ubyte8 len, ubyte8 *sent)
{
    GET(h, c);
    ubyte8 dummy;
    NK_CHECK(!c->is_async, ERR_SSL_BAD_STATE);
    return nk_drive_sendfile(c, fd, offset, len, sent ? sent : &dummy);
}

NK_API MSTATUS NKTLS_setGroups(sbyte4 h, const ubyte2 *groups, ubyte4 n)
{
    GET(h, c);
    NK_CHECK(groups, ERR_NULL_POINTER);
    NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE && !c->hs, ERR_SSL_BAD_STATE);
    size_t k = 0;
    for (ubyte4 i = 0; i < n && k < NK_MAX_GROUPS; i++)
        if (nk_group_by_id(groups[i]))
            c->groups[k++] = groups[i];
    NK_CHECK(k > 0, ERR_SSL_NO_GROUP_MATCH);
    c->n_groups = k;
    return OK;
}

NK_API MSTATUS NKTLS_getNegotiatedGroup(sbyte4 h, ubyte2 *group)
{
    GET(h, c);
    NK_CHECK(group, ERR_NULL_POINTER);
    NK_CHECK(c->group, ERR_SSL_NOT_OPEN);
    *group = c->group;
    return OK;
}

NK_API MSTATUS NKTLS_getServerName(sbyte4 h, const sbyte **name)
{
    GET(h, c);
    NK_CHECK(name, ERR_NULL_POINTER);
    *name = (const sbyte *)c->server_name;
    return OK;
}

NK_API MSTATUS NKTLS_getPeerSubject(sbyte4 h, sbyte *buf, ubyte4 len)
{
    GET(h, c);
    NK_CHECK(buf && len, ERR_NULL_POINTER);
    const ubyte *der;
    ubyte4 der_len;
    NK_TRY(NKTLS_getPeerCertificate(h, 0, &der, &der_len));
    return nk_cert_name(der, der_len, NKTLS_CERT_SUBJECT, (char *)buf, len);
}

NK_API MSTATUS NKTLS_getCertificateName(const ubyte *der, ubyte4 der_len, sbyte4 which, sbyte *buf,
                                        ubyte4 len)
{
    NK_CHECK(buf && len, ERR_NULL_POINTER);
    return nk_cert_name(der, der_len, which, (char *)buf, len);
}

NK_API MSTATUS NKTLS_getPeerCertificate(sbyte4 h, ubyte4 index, const ubyte **der, ubyte4 *der_len)
{
    GET(h, c);
    NK_CHECK(der && der_len, ERR_NULL_POINTER);
    NK_CHECK(c->peer_chain, ERR_SSL_NOT_OPEN);
    struct nk_rd r, cert;
    nk_rd_init(&r, c->peer_chain, c->peer_chain_len);
    for (ubyte4 i = 0; i <= index; i++)
        NK_CHECK(nk_rd_vec24(&r, &cert, 1, 0xffffff) == OK, ERR_INVALID_ARG);
    *der = cert.p;
    *der_len = (ubyte4)nk_rd_left(&cert);
    return OK;
}

NK_API intBoolean NKTLS_isSessionResumed(sbyte4 h)
{
    struct nk_conn *c;
    return nk_conn_get(h, &c) == OK && c->resumed;
}

NK_API MSTATUS NKTLS_getPeerSignatureScheme(sbyte4 h, ubyte2 *scheme)
{
    return SSL_getSignatureAlgo(h, scheme);
}

NK_API MSTATUS NKTLS_getPeerVersions(sbyte4 h, ubyte4 *versions)
{
    GET(h, c);
    NK_CHECK(versions, ERR_NULL_POINTER);
    *versions = c->peer_versions;
    return OK;
}

NK_API MSTATUS NKTLS_didHelloRetry(sbyte4 h, intBoolean *retried)
{
    GET(h, c);
    NK_CHECK(retried, ERR_NULL_POINTER);
    *retried = (c->hs ? c->hs->hrr != 0 : c->hello_retried) ? TRUE : FALSE;
    return OK;
}

_Static_assert(NKTLS_SIGS_OFFERED == NK_SIGS_OFFERED && NKTLS_SIGS_ACCEPTED == NK_SIGS_ACCEPTED
               && NKTLS_SIGS_SIGNING == NK_SIGS_SIGNING, "public list numbers are the internal ones");

NK_API MSTATUS NKTLS_setSignatureSchemes(sbyte4 h, sbyte4 list, const ubyte2 *schemes, ubyte4 n)
{
    GET(h, c);
    NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE && !c->hs, ERR_SSL_BAD_STATE);
    return nk_sig_prefs_set(&c->sig_prefs, list, schemes, n, SSL_sslSettings()->allowSha1SigAlg);
}

NK_API MSTATUS NKTLS_getSignatureSchemes(sbyte4 h, sbyte4 list, ubyte2 *schemes, ubyte4 *n)
{
    GET(h, c);
    NK_CHECK(n && (schemes || *n == 0), ERR_NULL_POINTER);
    NK_CHECK(list >= NKTLS_SIGS_OFFERED && list <= NKTLS_SIGS_SIGNING, ERR_INVALID_ARG);
    size_t count;
    const uint16_t *v = nk_sig_list(c->sig_prefs, list, &count);
    ubyte4 cap = *n;
    *n = (ubyte4)count;
    NK_CHECK(cap >= count, ERR_BUFFER_TOO_SMALL);
    memcpy(schemes, v, count * sizeof *v);
    return OK;
}

NK_API const char *NKTLS_cipherName(ubyte2 id)
{
    /* The two tables share no id: a TLS 1.2 connection's suite is named too. */
    const struct nk_suite *s = nk_suite_any_by_id(id);
    return s ? s->name : NULL;
}

NK_API sbyte4 NKTLS_cipherIdByName(const char *name)
{
    const struct nk_suite *s = name ? nk_suite_any_by_name(name) : NULL;
    return s ? s->id : ERR_SSL_NO_CIPHER_MATCH;
}

NK_API const char *NKTLS_groupName(ubyte2 id)
{
    const struct nk_group *g = nk_group_by_id(id);
    return g ? g->name : NULL;
}

NK_API sbyte4 NKTLS_groupIdByName(const char *name)
{
    const struct nk_group *g = name ? nk_group_by_name(name) : NULL;
    return g ? g->id : ERR_SSL_NO_GROUP_MATCH;
}

NK_API const char *NKTLS_sigSchemeName(ubyte2 scheme)
{
    static const struct { uint16_t id; const char *name; } names[] = {
        { NK_SIG_ECDSA_SECP256R1_SHA256, "ecdsa_secp256r1_sha256" },
        { NK_SIG_ECDSA_SECP384R1_SHA384, "ecdsa_secp384r1_sha384" },
        { NK_SIG_ECDSA_SECP521R1_SHA512, "ecdsa_secp521r1_sha512" },
        { NK_SIG_RSA_PSS_RSAE_SHA256, "rsa_pss_rsae_sha256" },
        { NK_SIG_RSA_PSS_RSAE_SHA384, "rsa_pss_rsae_sha384" },
        { NK_SIG_RSA_PSS_RSAE_SHA512, "rsa_pss_rsae_sha512" },
        { NK_SIG_RSA_PSS_PSS_SHA256, "rsa_pss_pss_sha256" },
        { NK_SIG_RSA_PSS_PSS_SHA384, "rsa_pss_pss_sha384" },
        { NK_SIG_RSA_PSS_PSS_SHA512, "rsa_pss_pss_sha512" },
        { NK_SIG_ED25519, "ed25519" }, { NK_SIG_ED448, "ed448" },
        { NK_SIG_RSA_PKCS1_SHA256, "rsa_pkcs1_sha256" },
        { NK_SIG_RSA_PKCS1_SHA384, "rsa_pkcs1_sha384" },
        { NK_SIG_RSA_PKCS1_SHA512, "rsa_pkcs1_sha512" },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(names); i++)
        if (names[i].id == scheme)
            return names[i].name;
    return NULL;
}

NK_API const char *NKTLS_alertName(sbyte4 alert)
{
    return nk_alert_name(alert);
}
