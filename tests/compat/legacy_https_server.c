/* legacy_https_server.c — an HTTPS server written against the legacy generation
 * of the NanoSSL API (5.x-6.3), the way that generation's example glue is
 * written: the SDK's headers, its TCP layer, the feature flags, status codes in
 * sbyte4 and "goto exit", a process-wide server certificate set once with
 * SSL_initServerCert, SSL_acceptConnection with the socket only, and the other
 * legacy signatures (SSL_getSocketId into an sbyte4, sbyte8 cookies, file names
 * as sbyte *). It is a porting test, not an example to copy: it must build
 * unchanged, as C and as C++, with -Wall -Wextra -Werror, from the installed
 * headers and pkg-config, with one define, NKTLS_NANOSSL_LEGACY_API
 * (tests/interop/compat.sh builds and runs it).
 *
 *   legacy_https_server PORT CERT.pem KEY.pem CONNECTIONS
 *
 * Serves CONNECTIONS connections one after the other, then exits: 0 when every
 * one was served. Each request's answer is an HTTP/1.0 200 whose body names the
 * method and path, the TLS version and the cipher suite. Prints "listening on
 * PORT" once it listens and "served PATH" for each answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/moptions.h"
#include "common/mtypes.h"
#include "common/mdefs.h"
#include "common/merrors.h"
#include "common/mocana.h"
#include "common/mrtos.h"
#include "common/mtcp.h"
#include "common/random.h"
#include "common/vlong.h"
#include "crypto/hw_accel.h"
#include "crypto/crypto.h"
#include "crypto/pubcrypto.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"
#include "ssl/ssl.h"

#ifndef __ENABLE_MOCANA_SSL_SERVER__
#error "this server needs __ENABLE_MOCANA_SSL_SERVER__"
#endif
#ifndef __ENABLE_MOCANA_PEM_CONVERSION__
#error "this server loads PEM files: __ENABLE_MOCANA_PEM_CONVERSION__ is needed"
#endif

#define MAX_SSL_CONNECTIONS_ALLOWED (4)
#define MAX_REQUEST_SIZE            (4096)

static intBoolean m_breakSignalRequest = FALSE;

/* PEM certificate and key files into the descriptor SSL_initServerCert takes. */
static sbyte4 SSL_EXAMPLE_loadCertificate(const char *pCertFile, const char *pKeyFile,
                                          certDescriptor *pCertDesc)
{
    ubyte *pPem = NULL;
    ubyte4 pemLength = 0;
    sbyte4 status;

    if (OK > (status = MOCANA_readFile((sbyte *)pCertFile, &pPem, &pemLength)))
        goto exit;
    status = CA_MGMT_decodeCertificate(pPem, pemLength, &pCertDesc->pCertificate,
                                       &pCertDesc->certLength);
    MOCANA_freeReadFile(&pPem);
    if (OK > status)
        goto exit;

    if (OK > (status = MOCANA_readFile((sbyte *)pKeyFile, &pPem, &pemLength)))
        goto exit;
    status = CA_MGMT_convertKeyPEM(pPem, pemLength, &pCertDesc->pKeyBlob,
                                   &pCertDesc->keyBlobLength);
    MOCANA_freeReadFile(&pPem);

exit:
    return status;
}

/* SSL_send returns how much it took: send until all of it is gone. */
static sbyte4 SSL_EXAMPLE_sendAll(sbyte4 connectionInstance, sbyte *pBuffer, sbyte4 length)
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

/* Read the request head, answer it, log it. */
static sbyte4 SSL_EXAMPLE_serve(sbyte4 connectionInstance)
{
    sbyte request[MAX_REQUEST_SIZE];
    char body[512], head[256];
    char method[16], path[256];
    sbyte4 length = 0, received = 0, status = OK;
    ubyte2 cipherId = 0;
    ubyte4 peerCurves = 0, version = 0;
    int bodyLength, headLength;

    request[0] = '\0';
    while (NULL == strstr((char *)request, "\r\n\r\n")) {
        if (MAX_REQUEST_SIZE - 1 <= length) {
            status = ERR_BUFFER_TOO_SMALL;
            goto exit;
        }
        status = SSL_recv(connectionInstance, request + length, MAX_REQUEST_SIZE - 1 - length,
                          &received, TIMEOUT_SSL_RECV);
        if (OK > status)
            goto exit;
        length += received;
        request[length] = '\0';
    }
    if (2 != sscanf((char *)request, "%15s %255s", method, path)) {
        status = ERR_INVALID_ARG;
        goto exit;
    }
    if ((OK > (status = SSL_getCipherInfo(connectionInstance, &cipherId, &peerCurves))) ||
        (OK > (status = SSL_getSSLTLSVersion(connectionInstance, &version))))
        goto exit;

    bodyLength = snprintf(body, sizeof(body),
                          "legacy NanoSSL server: %s %s over TLS minor version %u, cipher suite 0x%04X\n",
                          method, path, (unsigned)version, (unsigned)cipherId);
    headLength = snprintf(head, sizeof(head),
                          "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                          "Connection: close\r\n\r\n", bodyLength);
    if ((OK > (status = SSL_EXAMPLE_sendAll(connectionInstance, (sbyte *)head, headLength))) ||
        (OK > (status = SSL_EXAMPLE_sendAll(connectionInstance, (sbyte *)body, bodyLength))))
        goto exit;
    printf("served %s\n", path);
    fflush(stdout);

exit:
    return status;
}

/* One accepted socket, start to end. */
static sbyte4 SSL_EXAMPLE_connection(TCP_SOCKET clientSocket, sbyte4 number)
{
    sbyte4 connectionInstance, status, socketId = -1;
    sbyte8 cookie = 0;

    /* Legacy: no certificate store, the one from SSL_initServerCert serves. */
    if (0 > (connectionInstance = SSL_acceptConnection(clientSocket))) {
        status = connectionInstance;
        goto exit;
    }
    if ((OK > (status = SSL_getSocketId(connectionInstance, &socketId))) ||
        (OK > (status = SSL_setCookie(connectionInstance, (sbyte8)number))) ||
        (OK > (status = SSL_getCookie(connectionInstance, &cookie))))
        goto closeConnection;
    if ((socketId != clientSocket) || (cookie != (sbyte8)number)) {
        status = ERR_GENERAL;
        goto closeConnection;
    }

    if (OK > (status = SSL_negotiateConnection(connectionInstance))) {
#ifdef __ENABLE_MOCANA_SSL_ALERTS__
        sbyte4 alertId = 0, alertClass = 0;

        if (OK == SSL_lookupAlert(connectionInstance, status, &alertId, &alertClass))
            SSL_sendAlert(connectionInstance, alertId, alertClass);
#endif
        goto closeConnection;
    }
    status = SSL_EXAMPLE_serve(connectionInstance);

closeConnection:
    SSL_closeConnection(connectionInstance);
exit:
    if (OK > status)
        printf("connection %d: %s\n", (int)number, (const char *)MERROR_lookUpErrorCode((MSTATUS)status));
    return status;
}

int main(int argc, char *argv[])
{
    certDescriptor serverCert;
    TCP_SOCKET listenSocket = -1, clientSocket = -1;
    sbyte4 status, served = 0, wanted, failed = 0;
    ubyte2 port;

    memset(&serverCert, 0, sizeof(serverCert));
    if (5 != argc) {
        fprintf(stderr, "usage: %s PORT CERT.pem KEY.pem CONNECTIONS\n", argv[0]);
        return 2;
    }
    port = (ubyte2)atoi(argv[1]);
    wanted = (sbyte4)atoi(argv[4]);

    if (OK > (status = MOCANA_initMocana()))
        goto exit;
    if (OK > (status = SSL_init(MAX_SSL_CONNECTIONS_ALLOWED, 0)))
        goto exit;
    if (OK > (status = SSL_EXAMPLE_loadCertificate(argv[2], argv[3], &serverCert)))
        goto exit;
    if (OK > (status = SSL_initServerCert(&serverCert, FALSE, 0)))
        goto exit;
    if (OK > (status = TCP_INIT()))
        goto exit;
    if (OK > (status = TCP_LISTEN_SOCKET(&listenSocket, port)))
        goto exit;
    printf("listening on %u\n", (unsigned)port);
    fflush(stdout);

    while (served < wanted) {
        if (OK > (status = TCP_ACCEPT_SOCKET(&clientSocket, listenSocket, &m_breakSignalRequest)))
            goto exit;
        if (TRUE == m_breakSignalRequest)
            break;
        if (OK > SSL_EXAMPLE_connection(clientSocket, served))
            failed++;
        TCP_CLOSE_SOCKET(clientSocket);
        served++;
    }
    status = failed ? ERR_GENERAL : OK;

exit:
    if (OK > status)
        fprintf(stderr, "legacy_https_server: %s\n", (const char *)MERROR_lookUpErrorCode((MSTATUS)status));
    if (0 <= listenSocket)
        TCP_CLOSE_SOCKET(listenSocket);
    SSL_shutdown();
    SSL_releaseTables();
    CA_MGMT_freeCertificate(&serverCert);
    MOCANA_freeMocana();
    return (OK > status) ? 1 : 0;
}
