/* api/legacy.c — the NanoSSL 5.x–6.3 entry points, selected by applications
 * that define NKTLS_NANOSSL_LEGACY_API. They are exported as NKTLS_legacy_<name>
 * (ssl.h binds the legacy declarations to those symbols) and map onto the
 * current calls: the server identity is process-wide, set once. */
#include <stdlib.h>
#include "api/api.h"
#include "core/wire.h"
#include "handshake/hs.h"

static struct certStore *g_server_store;

/* isChain: pCertificate holds the DER certificates back to back, leaf first. */
static MSTATUS init_server_identity(certDescriptor *d, intBoolean is_chain)
{
    NK_CHECK(d && d->pCertificate && d->pKeyBlob, ERR_NULL_POINTER);
    SizedBuffer certs[16];
    ubyte4 n = 0;
    struct nk_rd r;
    nk_rd_init(&r, d->pCertificate, d->certLength);
    while (nk_rd_left(&r) && n < NK_ARRAY_LEN(certs)) {
        /* Each certificate is one DER SEQUENCE; find its length to split them. */
        const uint8_t *start = r.p;
        uint8_t tag, l0;
        uint32_t len = 0;
        NK_CHECK(nk_rd_u8(&r, &tag) == OK && tag == 0x30 && nk_rd_u8(&r, &l0) == OK, ERR_CERT_DECODE);
        if (l0 < 0x80) {
            len = l0;
        } else {
            NK_CHECK(l0 >= 0x81 && l0 <= 0x83, ERR_CERT_DECODE);
            for (int i = 0; i < (l0 & 0x7f); i++) {
                uint8_t b;
                NK_CHECK(nk_rd_u8(&r, &b) == OK, ERR_CERT_DECODE);
                len = len << 8 | b;
            }
        }
        const uint8_t *body;
        NK_CHECK(nk_rd_bytes(&r, len, &body) == OK, ERR_CERT_DECODE);
        certs[n].pHeader = NULL;
        certs[n].data = (ubyte *)start;
        certs[n].length = (ubyte4)(body + len - start);
        n++;
        if (!is_chain)
            break;
    }
    NK_CHECK(n > 0, ERR_CERT_DECODE);
    struct certStore *s = NULL;
    NK_TRY(CERT_STORE_createStore(&s));
    MSTATUS st = CERT_STORE_addIdentityWithCertificateChain(s, certs, n, d->pKeyBlob, d->keyBlobLength);
    if (st < 0) {
        (void)!CERT_STORE_releaseStore(&s);
        return st;
    }
    (void)!CERT_STORE_releaseStore(&g_server_store);
    g_server_store = s;
    return OK;
}

NK_API MSTATUS NKTLS_legacy_SSL_initServerCert(certDescriptor *d, intBoolean is_chain, ubyte4 curves)
{
    return init_server_identity(d, is_chain);
}

NK_API MSTATUS NKTLS_legacy_SSL_ASYNC_initServer(certDescriptor *d, sbyte4 is_chain, ubyte4 curves)
{
    return init_server_identity(d, is_chain);
}

NK_API sbyte4 NKTLS_legacy_SSL_acceptConnection(sbyte4 fd)
{
    return SSL_acceptConnection(fd, g_server_store);
}

NK_API sbyte4 NKTLS_legacy_SSL_ASYNC_acceptConnection(sbyte4 fd)
{
    return SSL_ASYNC_acceptConnection(fd, g_server_store);
}

NK_API sbyte4 NKTLS_legacy_SSL_connect(sbyte4 fd, ubyte id_len, ubyte *id, ubyte *master, const sbyte *dns)
{
    return SSL_connect(fd, id_len, id, master, dns, NULL);
}

NK_API sbyte4 NKTLS_legacy_SSL_ASYNC_connect(sbyte4 fd, ubyte id_len, ubyte *id, ubyte *master,
                                             const sbyte *dns)
{
    return SSL_ASYNC_connect(fd, id_len, id, master, dns, NULL);
}

NK_API MSTATUS NKTLS_legacy_SSL_assignCertificateStore(sbyte4 h, certStorePtr store)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(!c->hs && c->status == SSL_CONNECTION_NEGOTIATE, ERR_SSL_BAD_STATE);
    c->store = store;
    return OK;
}

NK_API MSTATUS NKTLS_legacy_SSL_shutdown(void)
{
    (void)!CERT_STORE_releaseStore(&g_server_store);
    return SSL_shutdownStack();
}

NK_API MSTATUS NKTLS_legacy_SSL_setServerNameList(sbyte4 h, ubyte *list, ubyte4 len)
{
    /* RFC 6066 §3 ServerNameList; we send its host_name entry. */
    char name[256];
    struct nk_rd r;
    nk_rd_init(&r, list, len);
    NK_CHECK(list, ERR_NULL_POINTER);
    NK_CHECK(nk_ext_read_sni(&r, name, sizeof name) == OK && name[0], ERR_INVALID_ARG);
    return SSL_setServerNameIndication(h, name);
}

NK_API MSTATUS NKTLS_legacy_SSL_getCookie(sbyte4 h, sbyte8 *cookie)
{
    void *p;
    NK_CHECK(cookie, ERR_NULL_POINTER);
    NK_TRY(SSL_getCookie(h, &p));
    *cookie = (sbyte8)(intptr_t)p;
    return OK;
}

NK_API MSTATUS NKTLS_legacy_SSL_setCookie(sbyte4 h, sbyte8 cookie)
{
    return SSL_setCookie(h, (void *)(intptr_t)cookie);
}

NK_API MSTATUS NKTLS_legacy_SSL_getSocketId(sbyte4 h, sbyte4 *fd)
{
    return SSL_getSocketId(h, fd);
}
