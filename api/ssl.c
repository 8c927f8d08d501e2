/* api/ssl.c — the stack-level and synchronous NanoSSL entry points. */
#include <stdlib.h>
#include <unistd.h>
#include "api/api.h"
#include "drive/async.h"
#include "handshake/hs.h"
#include "handshake/tls12_resume.h"
#include "drive/clock.h"
#include "common/mocana.h"
#include "ktls/ktls.h"
#include "nktls.h"
#include "handshake/fips.h"

NK_API MSTATUS NKTLS_setDefaultKtlsMode(sbyte4 mode)
{
    NK_CHECK(mode >= NKTLS_KTLS_AUTO && mode <= NKTLS_KTLS_REQUIRE, ERR_INVALID_ARG);
    nk_config.ktls_mode = (uint8_t)mode;
    return OK;
}

NK_API MSTATUS NKTLS_setDefaultRekeyPolicy(sbyte4 policy)
{
    NK_CHECK(policy >= NKTLS_REKEY_FAIL && policy <= NKTLS_REKEY_SOFTWARE, ERR_INVALID_ARG);
    nk_config.rekey_policy = (uint8_t)policy;
    return OK;
}


void nk_settings_defaults(void)
{
    memset(&nk_config.ssl, 0, sizeof nk_config.ssl);
    nk_config.ssl.sslTimeOutHello = TIMEOUT_SSL_HELLO;
    nk_config.ssl.sslTimeOutReceive = TIMEOUT_SSL_RECV;
    nk_config.ssl.minRSAKeySize = 2048;
    nk_config.ssl.sslMinProtoVersion = TLS12_MINORVERSION;
    nk_config.ssl.sslMaxProtoVersion = TLS13_MINORVERSION;
}

NK_API sslSettings *SSL_sslSettings(void) { return &nk_config.ssl; }

static MSTATUS stack_init(sbyte4 n_server, sbyte4 n_client)
{
    NK_TRY(nk_crypto_init());
    int fresh = !nk_table_ready();
    NK_TRY(nk_table_init(n_server, n_client));
    if (fresh)
        nk_settings_defaults();
    return OK;
}

NK_API MSTATUS SSL_init(sbyte4 n_server, sbyte4 n_client) { return stack_init(n_server, n_client); }
NK_API MSTATUS SSL_ASYNC_init(sbyte4 n_server, sbyte4 n_client) { return stack_init(n_server, n_client); }

NK_API MSTATUS SSL_shutdownStack(void)
{
    nk_table_free();
    nk_cache12_flush(NK_CACHE12_CLIENT);   /* wiped: the stack keeps no sessions past its end */
    nk_cache12_flush(NK_CACHE12_SERVER);
    return OK;
}

NK_API MSTATUS SSL_releaseTables(void)
{
    nk_table_free();
    return OK;
}

NK_API MSTATUS SSL_Settings_Ioctl(ubyte4 setting, void *value)
{
    switch (setting) {
    case SSL_SETTINGS_MAX_BYTE_COUNT:
        nk_config.ssl.maxByteCount = (ubyte4)(uintptr_t)value;
        return OK;
    case SSL_SETTINGS_SET_RECV_MAX_EARLY_DATA:   /* 0-RTT bytes a server accepts by default */
        NK_CHECK((uintptr_t)value <= 0x7fffffff, ERR_INVALID_ARG);
        nk_config.ssl.recvMaxEarlyData = (ubyte4)(uintptr_t)value;
        return OK;
    case SSL_SETTINGS_GET_RECV_MAX_EARLY_DATA:
        NK_CHECK(value, ERR_NULL_POINTER);
        *(ubyte4 *)value = nk_config.ssl.recvMaxEarlyData;
        return OK;
    default:
        return ERR_NOT_SUPPORTED;
    }
}

NK_API MSTATUS SSL_setMinRSAKeySize(ubyte4 bits)
{
    NK_CHECK(bits >= 1024, ERR_INVALID_ARG);
    nk_config.ssl.minRSAKeySize = bits;
    return OK;
}

NK_API MSTATUS SSL_setSha1SigAlg(intBoolean allow)
{
    nk_config.ssl.allowSha1SigAlg = allow;
    return OK;
}

/* FIPS mode (handshake/fips.c): libcrypto's FIPS provider for every later
 * fetch, and handshakes that start from now on narrowed to the approved
 * suites, groups, signature schemes and RSA sizes. Without the provider:
 * ERR_FIPS_MODULE_UNAVAILABLE, and nothing changes. */
NK_API MSTATUS SSL_setFIPSEnabled(ubyte on)
{
    if (!on) {
        nk_fips_module_stop();
        nk_config.ssl.fipsEnabled = 0;
        return OK;
    }
    NK_TRY(nk_fips_module_start());
    nk_config.ssl.fipsEnabled = 1;
    return OK;
}

static int version_ok(ubyte4 v) { return v == TLS12_MINORVERSION || v == TLS13_MINORVERSION; }

NK_API MSTATUS SSL_setMinProtoVersion(ubyte4 v)
{
    NK_CHECK(version_ok(v), ERR_SSL_UNSUPPORTED_VERSION);
    nk_config.ssl.sslMinProtoVersion = v;
    return OK;
}

NK_API MSTATUS SSL_setMaxProtoVersion(ubyte4 v)
{
    NK_CHECK(version_ok(v), ERR_SSL_UNSUPPORTED_VERSION);
    nk_config.ssl.sslMaxProtoVersion = v;
    return OK;
}

NK_API MSTATUS SSL_setFuncPtrAlertCallback(funcPtrAlertCallback_t cb)
{
    nk_config.ssl.funcPtrAlertCallback = cb;
    return OK;
}

NK_API MSTATUS SSL_setFuncPtrKeyUpdateRequest(funcPtrKeyUpdateRequest_t cb)
{
    nk_config.ssl.funcPtrKeyUpdateRequest = cb;
    return OK;
}

/* A connection with the stack's defaults (engine/conn.c). */
static sbyte4 new_connection(enum nk_role role, int fd, struct certStore *store, const sbyte *dns)
{
    struct nk_conn *c;
    MSTATUS st = nk_conn_open(role, fd, store, &nk_config, (const char *)dns, &c);
    if (st == OK && (st = nk_drive_dtls_adopt(c)) < 0)   /* a UDP socket: DTLS 1.2 */
        nk_conn_free(c);
    return st < 0 ? st : c->handle;
}

NK_API sbyte4 SSL_acceptConnection(TCP_SOCKET fd, struct certStore *store)
{
    return new_connection(NK_SERVER, fd, store, NULL);
}

NK_API sbyte4 SSL_ASYNC_acceptConnection(TCP_SOCKET fd, struct certStore *store)
{
    struct nk_conn *c;
    MSTATUS st = nk_async_new(NK_SERVER, fd, store, &nk_config, NULL, &c);
    if (st == OK && (st = nk_drive_dtls_adopt(c)) < 0)   /* a UDP socket: DTLS 1.2 (drive/async_dtls.c) */
        nk_conn_free(c);
    return st < 0 ? st : c->handle;
}

/* A TLS 1.2 session from SSL_getClientSessionInfo (sid_len 1..32) is offered
 * by the ClientHello (handshake/tls12_resume.c); 0: none. TLS 1.3 resumes
 * with tickets instead. */
static sbyte4 offer_session(MSTATUS st, struct nk_conn *c, ubyte sid_len, const ubyte *sid, const ubyte *master)
{
    if (st == OK && sid_len)
        st = nk_tls12_client_offer(&c->tls, sid_len, sid, master);
    if (st < 0 && c)
        nk_conn_free(c);
    return st < 0 ? st : c->handle;
}

NK_API sbyte4 SSL_connect(TCP_SOCKET fd, ubyte sid_len, ubyte *sid, ubyte *master, const sbyte *dns,
                          struct certStore *store)
{
    struct nk_conn *c = NULL;
    MSTATUS st = nk_conn_open(NK_CLIENT, fd, store, &nk_config, (const char *)dns, &c);
    if (st == OK)
        st = nk_drive_dtls_adopt(c);   /* a UDP socket: DTLS 1.2 */
    return offer_session(st, c, sid_len, sid, master);
}

NK_API sbyte4 SSL_ASYNC_connect(TCP_SOCKET fd, ubyte sid_len, ubyte *sid, ubyte *master, const sbyte *dns,
                                struct certStore *store)
{
    struct nk_conn *c = NULL;
    MSTATUS st = nk_async_new(NK_CLIENT, fd, store, &nk_config, (const char *)dns, &c);
    if (st == OK)
        st = nk_drive_dtls_adopt(c);   /* a UDP socket: DTLS 1.2 (drive/async_dtls.c) */
    return offer_session(st, c, sid_len, sid, master);
}

/* The session a TLS 1.2 client may resume: its id and master secret for a
 * later SSL_connect. TLS 1.3 has neither: the id length is 0 there (tickets
 * resume through SSL_setClientSavePSKCallback / SSL_CLIENT_setRetrievePSKCallback),
 * as it is when the server gave no id. */
/* The same offer on a connection already made: before its handshake starts
 * (NKTLS_LOOP_connect's connections: from onSetup). */
NK_API MSTATUS NKTLS_setClientSession(sbyte4 h, ubyte idLen, const ubyte *pId, const ubyte *pMasterSecret)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(c->role == NK_CLIENT, ERR_SSL_BAD_STATE);
    NK_CHECK(!idLen || (pId && pMasterSecret), ERR_NULL_POINTER);
    return idLen ? nk_tls12_client_offer(&c->tls, idLen, pId, pMasterSecret) : OK;
}

NK_API MSTATUS SSL_getClientSessionInfo(sbyte4 h, ubyte *idLen, ubyte id[SSL_MAXSESSIONIDSIZE],
                                        ubyte master[SSL_MASTERSECRETSIZE])
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(idLen && id && master, ERR_NULL_POINTER);
    NK_CHECK(c->role == NK_CLIENT, ERR_SSL_BAD_STATE);
    NK_CHECK(c->status == SSL_CONNECTION_OPEN, ERR_SSL_NOT_OPEN);
    return nk_tls12_session_info(&c->tls, idLen, id, master);
}

NK_API MSTATUS SSL_negotiateConnection(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(!c->is_async, ERR_SSL_BAD_STATE);
    if (c->status == SSL_CONNECTION_OPEN)
        return OK;
    return nk_drive_handshake(c);
}

NK_API sbyte4 SSL_send(sbyte4 h, sbyte *buf, sbyte4 len)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(buf || len == 0, ERR_NULL_POINTER);
    NK_CHECK(len >= 0, ERR_INVALID_ARG);
    if (c->status != SSL_CONNECTION_OPEN && !c->is_async && c->err >= 0)
        NK_TRY(nk_drive_handshake(c));
    c->now = nk_wall_ms();   /* maxTimerCountForRehandShake counts from the last handshake */
    if (c->is_dtls && !c->is_async)   /* records, or SRTP through the encode callback */
        NK_TRY(nk_drive_dtls_send(c, (const uint8_t *)buf, (size_t)len));
    else if (c->ktls_tx && !c->is_async)
        NK_TRY(nk_fail(c, nk_drive_ktls_send(c, (const uint8_t *)buf, (size_t)len)));
    else
        NK_TRY(nk_app_write(c, (const uint8_t *)buf, (size_t)len));
    if (!c->is_async && !c->is_dtls)
        NK_TRY(nk_fail(c, nk_drive_flush(c)));
    return len;
}

NK_API MSTATUS SSL_recv(sbyte4 h, sbyte *buf, sbyte4 size, sbyte4 *got, ubyte4 timeout_ms)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(buf && got, ERR_NULL_POINTER);
    NK_CHECK(size > 0, ERR_INVALID_ARG);
    *got = 0;
    NK_CHECK(!c->is_async, ERR_SSL_BAD_STATE);
    if (c->status != SSL_CONNECTION_OPEN && c->err >= 0)
        NK_TRY(nk_drive_handshake(c));
    size_t n;
    MSTATUS st = nk_drive_recv(c, (uint8_t *)buf, (size_t)size, &n, timeout_ms ? timeout_ms : c->recv_timeout_ms);
    *got = (sbyte4)n;
    return st;
}

NK_API MSTATUS SSL_recvPending(sbyte4 h, sbyte4 *pending)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(pending, ERR_NULL_POINTER);
    *pending = c->app_len > 0;
    return OK;
}

NK_API MSTATUS SSL_sendPending(sbyte4 h, sbyte4 *pending)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(pending, ERR_NULL_POINTER);
    size_t len;
    (void)nk_out_buf(c, &len);
    *pending = (sbyte4)len;
    return OK;
}

NK_API MSTATUS SSL_closeConnection(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    /* §6.1: close_notify before closing our write side, if the session is intact. */
    if (c->status == SSL_CONNECTION_OPEN && c->err >= 0 && !c->sent_close_notify
        && nk_send_alert(&c->tls, SSLALERTLEVEL_WARNING, NK_ALERT_CLOSE_NOTIFY) == OK && !c->is_async)
        (void)!nk_drive_flush(c);
    nk_conn_free(c);
    return OK;
}
