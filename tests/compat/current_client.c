/* current_client.c — a TLS client written against the current generation of the
 * API (TrustCore, NanoSSL 6.4 and later), the way that generation's glue is
 * written: the SDK's TCP layer to connect (TCP_CONNECT), SSL_connect with a
 * certificate store, a certificate-and-status callback, SSL_negotiateConnection,
 * alerts on failure, and the newer DIGICERT_* spellings of the common calls. It
 * is a porting test, not an example to copy: it must build unchanged, as C and
 * as C++, with -Wall -Wextra -Werror, from the installed headers and pkg-config
 * with no define at all (tests/interop/compat.sh builds and runs it).
 *
 *   current_client IP PORT SERVER_NAME CA.pem REQUEST_FILE [REPLY_BYTES]
 *
 * Connects to IP:PORT (numeric, IPv4 or IPv6), verifies the server against
 * CA.pem and SERVER_NAME, sends the request file's bytes, then copies what the
 * server sends to stdout: REPLY_BYTES bytes, or everything until the server
 * closes. On stderr: "certificate status: NAME" as the callback saw it, then
 * the version and cipher suite, or the handshake's error. Exit status 0 when
 * the whole exchange completed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/moptions.h"
#include "common/mtypes.h"
#include "common/mdefs.h"
#include "common/merrors.h"
#include "common/mocana.h"
#include "common/mtcp.h"
#include "crypto/hw_accel.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"
#include "ssl/ssl.h"

#ifndef __ENABLE_DIGICERT_SSL_CLIENT__
#error "this client needs __ENABLE_DIGICERT_SSL_CLIENT__"
#endif
#ifndef __ENABLE_DIGICERT_TLS13__
#error "this client expects TLS 1.3: __ENABLE_DIGICERT_TLS13__"
#endif

#define MAX_SSL_CONNECTIONS_ALLOWED (1)

/* What the certificate callback was told; 1 (no status has that value): not called. */
static MSTATUS m_certStatus = (MSTATUS)1;

/* Called with the peer's chain and nktls's verdict on it. Returning OK would
 * accept any chain; this client accepts only what verified. */
static MSTATUS SSL_CLIENT_certStatusCallback(sbyte4 connectionInstance, struct certChain *pCertChain,
                                             MSTATUS validationStatus)
{
    (void)connectionInstance;
    (void)pCertChain;
    m_certStatus = validationStatus;
    return validationStatus;
}

static sbyte4 SSL_CLIENT_loadTrust(certStorePtr pStore, const char *pCaFile)
{
    ubyte *pPem = NULL, *pDer = NULL;
    ubyte4 pemLength = 0, derLength = 0;
    sbyte4 status;

    if (OK > (status = DIGICERT_readFile(pCaFile, &pPem, &pemLength)))
        goto exit;
#ifdef __ENABLE_DIGICERT_PEM_CONVERSION__
    if (OK > (status = CA_MGMT_decodeCertificate(pPem, pemLength, &pDer, &derLength)))
        goto exit;
    status = CERT_STORE_addTrustPoint(pStore, pDer, derLength);
#else
    status = CERT_STORE_addTrustPoint(pStore, pPem, pemLength);
#endif

exit:
    DIGICERT_freeReadFile(&pPem);
    free(pDer);
    return status;
}

/* SSL_send returns how much it took: send until all of it is gone. */
static sbyte4 SSL_CLIENT_sendAll(sbyte4 connectionInstance, sbyte *pBuffer, sbyte4 length)
{
    sbyte4 sent;

    while (0 < length) {
        if (0 > (sent = SSL_send(connectionInstance, pBuffer, length)))
            return sent;
        pBuffer += sent;
        length -= sent;
    }
    return OK;
}

/* Copy the reply to stdout: want bytes (< 0: until the server closes). */
static sbyte4 SSL_CLIENT_receive(sbyte4 connectionInstance, long want)
{
    sbyte buffer[4096];
    sbyte4 received = 0, status = OK;
    long total = 0;

    while ((0 > want) || (total < want)) {
        sbyte4 room = (0 <= want && want - total < (long)sizeof(buffer)) ? (sbyte4)(want - total)
                                                                         : (sbyte4)sizeof(buffer);
        status = SSL_recv(connectionInstance, buffer, room, &received, TIMEOUT_SSL_RECV);
        if (OK > status)
            break;
        fwrite(buffer, 1, (size_t)received, stdout);
        total += received;
    }
    fflush(stdout);
    /* Reading until the end: the server's close_notify (or its TCP close) is it. */
    if ((0 > want) && ((ERR_SSL_CONNECTION_CLOSED == status) || (ERR_TCP_SOCKET_CLOSED == status)))
        status = OK;
    return status;
}

int main(int argc, char *argv[])
{
    certStorePtr pStore = NULL;
    TCP_SOCKET mySocket = -1;
    sbyte4 connectionInstance = -1, status;
    ubyte *pRequest = NULL;
    ubyte4 requestLength = 0, version = 0, peerCurves = 0;
    ubyte2 cipherId = 0;
    long want = -1;

    if ((6 != argc) && (7 != argc)) {
        fprintf(stderr, "usage: %s IP PORT SERVER_NAME CA.pem REQUEST_FILE [REPLY_BYTES]\n", argv[0]);
        return 2;
    }
    if (7 == argc)
        want = atol(argv[6]);

    if (OK > (status = DIGICERT_initDigicert()))
        goto exit;
    if (OK > (status = SSL_init(0, MAX_SSL_CONNECTIONS_ALLOWED)))
        goto exit;
    if (OK > (status = CERT_STORE_createStore(&pStore)))
        goto exit;
    if (OK > (status = SSL_CLIENT_loadTrust(pStore, argv[4])))
        goto exit;
    if (OK > (status = DIGICERT_readFile(argv[5], &pRequest, &requestLength)))
        goto exit;

    if (OK > (status = TCP_INIT()))
        goto exit;
    if (OK > (status = TCP_CONNECT(&mySocket, (sbyte *)argv[1], (ubyte2)atoi(argv[2]))))
        goto exit;
    if (0 > (connectionInstance = SSL_connect(mySocket, 0, NULL, NULL, (const sbyte *)argv[3], pStore))) {
        status = connectionInstance;
        goto exit;
    }
    if (OK > (status = SSL_setCertAndStatusCallback(connectionInstance, SSL_CLIENT_certStatusCallback)))
        goto exit;

    status = SSL_negotiateConnection(connectionInstance);
    if ((MSTATUS)1 != m_certStatus)
        fprintf(stderr, "certificate status: %s\n", (const char *)MERROR_lookUpErrorCode(m_certStatus));
    if (OK > status) {
#ifdef __ENABLE_DIGICERT_SSL_ALERTS__
        sbyte4 alertId = 0, alertClass = 0;

        if (OK == SSL_lookupAlert(connectionInstance, status, &alertId, &alertClass))
            SSL_sendAlert(connectionInstance, alertId, alertClass);
#endif
        goto exit;
    }
    if ((OK > (status = SSL_getSSLTLSVersion(connectionInstance, &version))) ||
        (OK > (status = SSL_getCipherInfo(connectionInstance, &cipherId, &peerCurves))))
        goto exit;
    fprintf(stderr, "TLS minor version %u, cipher suite 0x%04X\n", (unsigned)version, (unsigned)cipherId);

    if (OK > (status = SSL_CLIENT_sendAll(connectionInstance, (sbyte *)pRequest, (sbyte4)requestLength)))
        goto exit;
    status = SSL_CLIENT_receive(connectionInstance, want);

exit:
    if (OK > status)
        fprintf(stderr, "current_client: %s\n", (const char *)MERROR_lookUpErrorCode((MSTATUS)status));
    if (0 < connectionInstance)
        SSL_closeConnection(connectionInstance);
    if (0 <= mySocket)
        TCP_CLOSE_SOCKET(mySocket);
    DIGICERT_freeReadFile(&pRequest);
    CERT_STORE_releaseStore(&pStore);
    SSL_shutdownStack();
    SSL_releaseTables();
    DIGICERT_freeDigicert();
    return (OK > status) ? 1 : 0;
}
