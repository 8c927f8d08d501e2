/* nktls.h — what nktls adds to the NanoSSL API. Same conventions: connection
 * instances are sbyte4, calls return OK (0) or a negative MSTATUS. */
#ifndef NKTLS_NKTLS_H
#define NKTLS_NKTLS_H

#include "common/mtypes.h"
#include "common/merrors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which layer carries the records in one direction. */
#define NKTLS_LAYER_SOFTWARE 0
#define NKTLS_LAYER_KERNEL   1

typedef struct nktlsRecordLayerInfo {
    sbyte4 txLayer;          /* NKTLS_LAYER_* */
    sbyte4 rxLayer;
    const char *txReason;    /* why software carries TX ("no tls module", ...); "" for kernel */
    const char *rxReason;
} nktlsRecordLayerInfo;

MSTATUS NKTLS_getRecordLayerInfo(sbyte4 connectionInstance, nktlsRecordLayerInfo *pInfo);

/* Kernel TLS offload. After the handshake the traffic keys go to the kernel,
 * direction by direction, wherever it can take them; elsewhere the software
 * record layer carries the records. SSL_send/SSL_recv behave the same either way.
 *   AUTO    (default) use the kernel where possible, fall back silently (the
 *           reason is reported by NKTLS_getRecordLayerInfo)
 *   OFF     never use the kernel
 *   REQUIRE fail the handshake with ERR_SSL_KTLS_UNAVAILABLE unless the kernel
 *           carries both directions */
#define NKTLS_KTLS_AUTO    0
#define NKTLS_KTLS_OFF     1
#define NKTLS_KTLS_REQUIRE 2
MSTATUS NKTLS_setKtlsMode(sbyte4 connectionInstance, sbyte4 mode);
MSTATUS NKTLS_setDefaultKtlsMode(sbyte4 mode);

/* TLS 1.3 KeyUpdate under kernel offload. Linux 6.14 and later replace keys in
 * place, and then every policy below keeps both directions in the kernel and
 * KeyUpdate works both ways. Older kernels cannot replace a key, so:
 *   FAIL        (default) both directions in the kernel; a KeyUpdate from the
 *               peer ends the connection with ERR_SSL_KTLS_NO_REKEY, and
 *               SSL_sendKeyUpdateRequest returns it (the connection goes on)
 *   SOFTWARE_RX TX in the kernel (sendfile works), RX in software so the peer's
 *               KeyUpdates are followed; a peer asking us to update our own
 *               key (update_requested) ends the connection with ERR_SSL_KTLS_NO_REKEY
 *   SOFTWARE    both directions in software: KeyUpdate always works
 * No policy ever lets the kernel decrypt with a stale key. */
#define NKTLS_REKEY_FAIL        0
#define NKTLS_REKEY_SOFTWARE_RX 1
#define NKTLS_REKEY_SOFTWARE    2
MSTATUS NKTLS_setRekeyPolicy(sbyte4 connectionInstance, sbyte4 policy);
MSTATUS NKTLS_setDefaultRekeyPolicy(sbyte4 policy);
/* TRUE when this kernel can replace kTLS keys (probed once per process). */
intBoolean NKTLS_kernelCanRekey(void);

/* Options (bit flags) for NKTLS_setKtlsOptions:
 * ZEROCOPY_SENDFILE: the kernel encrypts file pages in place for sendfile
 *   (TLS_TX_ZEROCOPY_RO). Faster, but if the file changes while its pages wait
 *   for retransmission, the peer receives a record that fails authentication
 *   and drops the connection: use only for files that do not change.
 * RX_PADDED: the peer pads its records; do not ask the kernel to expect
 *   unpadded TLS 1.3 records (TLS_RX_EXPECT_NO_PAD, on by default; the kernel
 *   retries a padded record anyway, so this only saves that retry). */
#define NKTLS_KTLS_ZEROCOPY_SENDFILE 0x1
#define NKTLS_KTLS_RX_PADDED         0x2
MSTATUS NKTLS_setKtlsOptions(sbyte4 connectionInstance, ubyte4 flags);

/* Send len bytes of file descriptor fd, starting at offset, over the
 * connection. With kernel TX this is sendfile(2) on the socket: no file data
 * passes through userspace. Otherwise the software layer reads and encrypts in
 * large chunks. *pSent is the number of file bytes sent, also on error.
 * ERR_FILE_EOF: the file ended before offset+len; ERR_FILE_READ_FAILED: reading
 * the file failed; ERR_TCP_WRITE_ERROR: the peer went away. */
MSTATUS NKTLS_sendFile(sbyte4 connectionInstance, int fd, sbyte8 offset, ubyte8 len, ubyte8 *pSent);

/* Kernel offload for an SSL_ASYNC_* connection. Call NKTLS_asyncOffload after
 * the open-state upcall, once SSL_ASYNC_sendMessagePending is 0 and before
 * reading the socket again. NKTLS_getRecordLayerInfo then tells, per direction:
 *   software: go on with the SSL_ASYNC_* calls.
 *   kernel TX: write plaintext to the socket yourself (send, sendfile);
 *     SSL_ASYNC_sendMessage returns ERR_SSL_BAD_STATE. Alerts and KeyUpdates the
 *     library makes still count in SSL_ASYNC_sendMessagePending; calling
 *     SSL_ASYNC_getSendBuffer then writes them to the socket itself (each needs
 *     its record type in a control message) and returns len 0.
 *   kernel RX: read plaintext with recvmsg; a record whose TLS_GET_RECORD_TYPE
 *     control message is not 23 (alert, KeyUpdate, NewSessionTicket) goes to
 *     NKTLS_asyncRecvRecord(h, type, bytes, len), which returns what
 *     SSL_ASYNC_recvMessage would (ERR_SSL_CONNECTION_CLOSED after close_notify)
 *     and may queue output. SSL_ASYNC_recvMessage* return ERR_SSL_BAD_STATE.
 * RX moves to the kernel only if no byte past the handshake was given to the
 * library (else rxReason is "data already read"): read with MSG_PEEK, feed with
 * SSL_ASYNC_recvMessage2, then consume n - restLen bytes from the socket. */
MSTATUS NKTLS_asyncOffload(sbyte4 connectionInstance);
MSTATUS NKTLS_asyncRecvRecord(sbyte4 connectionInstance, ubyte4 recordType, const ubyte *pData,
                              ubyte4 dataLen);

/* The synchronous API over the application's own transport. On an RTOS or a
 * modem the SDK's "socket" is whatever that port's TCP layer says, not a
 * descriptor nktls can read. After SSL_connect / SSL_acceptConnection and
 * before the handshake starts, NKTLS_setTransport makes the connection send and
 * receive through two calls of the application's instead of its socket:
 *   funcPtrSend(pCtx, data, len, &sent): take 1..len bytes (blocking until it
 *     can take some): OK with *pNumSent > 0, or a negative status.
 *   funcPtrRecv(pCtx, buf, len, &got, msTimeout): wait up to msTimeout for
 *     bytes (0, TCP_NO_TIMEOUT: no limit): OK with 1..len of them in buf;
 *     ERR_TCP_READ_TIMEOUT (or ERR_TCP_WOULDBLOCK) when none came in time;
 *     ERR_TCP_SOCKET_CLOSED (or OK with *pNumReceived 0) at the end of the
 *     stream; another negative status for a failure.
 * These are TCP_WRITE and TCP_READ_AVL (common/mtcp.h) with pCtx in place of
 * the socket, so a port's own TCP layer plugs in through a line each. A status
 * they return is what SSL_negotiateConnection / SSL_send / SSL_recv /
 * SSL_closeConnection return; as on a socket, ERR_TCP_READ_TIMEOUT from
 * SSL_recv leaves the connection usable, and any other failure is fatal to it.
 * The TCP_SOCKET the connection was made with is then only a name:
 * SSL_getSocketId gives it back and SSL_getInstanceFromSocket finds the
 * connection by it, but nktls never reads, writes, polls or closes it.
 * Kernel TLS needs a socket, so such a connection keeps its records in software
 * (NKTLS_getRecordLayerInfo says "application transport"; NKTLS_KTLS_REQUIRE
 * fails the handshake with ERR_SSL_KTLS_UNAVAILABLE); NKTLS_sendFile works, by
 * reading and encrypting. The structure is copied; pTransport NULL goes back to
 * the socket. ERR_NULL_POINTER for a transport without both calls,
 * ERR_SSL_BAD_STATE once the handshake has started or on an SSL_ASYNC_*
 * connection (its application moves the bytes already). */
typedef struct nktlsTransport {
    MSTATUS (*funcPtrSend)(void *pCtx, const ubyte *pData, ubyte4 dataLength, ubyte4 *pNumSent);
    MSTATUS (*funcPtrRecv)(void *pCtx, ubyte *pBuffer, ubyte4 bufferLength, ubyte4 *pNumReceived,
                           ubyte4 msTimeout);
    void *pCtx;
} nktlsTransport;
MSTATUS NKTLS_setTransport(sbyte4 connectionInstance, const nktlsTransport *pTransport);

/* Key exchange groups offered (client) or accepted (server), IANA ids in order of
 * preference. The default is X25519, P-256, P-384, X448, P-521. */
MSTATUS NKTLS_setGroups(sbyte4 connectionInstance, const ubyte2 *pGroups, ubyte4 numGroups);
/* The group the handshake used (IANA id). */
MSTATUS NKTLS_getNegotiatedGroup(sbyte4 connectionInstance, ubyte2 *pGroup);
/* The server name the client sent (server side), or the one we asked for (client). */
MSTATUS NKTLS_getServerName(sbyte4 connectionInstance, const sbyte **ppName);
/* One-line subject of the peer's leaf certificate; ERR_SSL_NOT_OPEN if none. */
MSTATUS NKTLS_getPeerSubject(sbyte4 connectionInstance, sbyte *pBuf, ubyte4 bufLen);
/* Certificate number index (0: the leaf) of the chain the peer authenticated
 * with, in DER, valid as long as the connection. After a resumed handshake it is
 * the chain of the handshake that issued the ticket. ERR_SSL_NOT_OPEN when the
 * peer sent none; ERR_INVALID_ARG past the last one. */
MSTATUS NKTLS_getPeerCertificate(sbyte4 connectionInstance, ubyte4 index, const ubyte **ppDer,
                                 ubyte4 *pDerLen);
/* SSL_setSessionFlags: a server asks for a client certificate but goes on
 * without one (SSL_FLAG_REQUIRE_MUTUAL_AUTH insists on one). A certificate the
 * client does send must still verify. */
#define NKTLS_FLAG_REQUEST_MUTUAL_AUTH 0x00010000
/* SSL_setSessionFlags: a server takes the first suite in the client's order
 * among those it has enabled (SSL_enableCiphers), instead of the first in its
 * own (the library's table order, the default). */
#define NKTLS_FLAG_CLIENT_CIPHER_ORDER 0x00020000
/* TRUE when the handshake resumed a session (a TLS 1.3 PSK from a ticket:
 * see SSL_setClientSavePSKCallback / SSL_CLIENT_setRetrievePSKCallback). */
intBoolean NKTLS_isSessionResumed(sbyte4 connectionInstance);
/* The signature scheme the peer used in its CertificateVerify (IANA id). */
MSTATUS NKTLS_getPeerSignatureScheme(sbyte4 connectionInstance, ubyte2 *pScheme);

/* Limits on what a peer can make one connection hold, process-wide. Each has a
 * default safe for a server on the internet and a range it may be set within
 * (ERR_INVALID_ARG outside it); set them before connections start. A peer that
 * goes past one gets the alert the README's limits table names.
 *   HANDSHAKE_MESSAGE    bytes in a handshake message of a type with no limit
 *                        of its own (ClientHello, ServerHello, EncryptedExtensions,
 *                        CertificateRequest): 16384 (1024..16777215)
 *   CERTIFICATE_MESSAGE  bytes in a Certificate message: 65536 (1024..16777215)
 *   CERTIFICATE_COUNT    certificates in the peer's chain: 10 (1..64)
 *   KEY_UPDATES          KeyUpdates in a row with no application data between:
 *                        32 (1..255)
 *   EARLY_DATA_SKIP      bytes of 0-RTT data a server that does not accept it
 *                        skips before giving up (RFC 8446 §4.2.10): 16384 (0..1 MiB)
 *   RECV_BUFFER          decrypted bytes an SSL_ASYNC_* connection with
 *                        SSL_FLAG_ENABLE_RECV_BUFFER keeps for the application
 *                        before it stops taking input: 262144 (16640..1 GiB)
 *   HANDSHAKE_MEMORY     process-wide: bytes all connections together hold in
 *                        handshake messages not yet whole (a message that
 *                        arrives whole in one record takes none); past it the
 *                        connection that asks for more fails with
 *                        ERR_SSL_HANDSHAKE_MEMORY (internal_error):
 *                        64 MiB (1 MiB..4 GiB-1) */
#define NKTLS_LIMIT_HANDSHAKE_MESSAGE   1
#define NKTLS_LIMIT_CERTIFICATE_MESSAGE 2
#define NKTLS_LIMIT_CERTIFICATE_COUNT   3
#define NKTLS_LIMIT_KEY_UPDATES         4
#define NKTLS_LIMIT_EARLY_DATA_SKIP     5
#define NKTLS_LIMIT_RECV_BUFFER         6
#define NKTLS_LIMIT_HANDSHAKE_MEMORY    7
MSTATUS NKTLS_setLimit(ubyte4 limit, ubyte4 value);
MSTATUS NKTLS_getLimit(ubyte4 limit, ubyte4 *pValue);

/* *pRetried: TRUE when the handshake (running or done) went through a
 * HelloRetryRequest (RFC 8446 §4.1.4): the server asked for a share in another
 * group, or for a cookie. Either side. */
MSTATUS NKTLS_didHelloRetry(sbyte4 connectionInstance, intBoolean *pRetried);

/* Signature schemes (IANA ids, RFC 8446 §4.2.3), per connection, in order of
 * preference; set before the handshake starts (else ERR_SSL_BAD_STATE).
 *   OFFERED  signature_algorithms in our ClientHello (client) or
 *            CertificateRequest (server): what the peer may sign with
 *   ACCEPTED what we take in the peer's CertificateVerify (it must also be
 *            OFFERED, §4.4.3); another is refused with ERR_SSL_NO_SIGALG_MATCH
 *            and a handshake_failure alert
 *   SIGNING  our order when we sign, among the schemes the peer offered and our
 *            key can make; none in common: the server fails with
 *            ERR_SSL_NO_IDENTITY (handshake_failure), the client sends no
 *            certificate
 * Each list defaults to ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384,
 * ecdsa_secp521r1_sha512, ed25519, ed448, rsa_pss_rsae_sha256/384/512,
 * rsa_pss_pss_sha256/384/512; numSchemes 0 restores it. ERR_INVALID_ARG for a
 * scheme nktls does not know, one named twice, or more than 16; the SHA-1
 * schemes (rsa_pkcs1_sha1, ecdsa_sha1) only after SSL_setSha1SigAlg(TRUE), and
 * never for a TLS 1.3 CertificateVerify (§4.4.3), nor rsa_pkcs1_*. */
#define NKTLS_SIGS_OFFERED  0
#define NKTLS_SIGS_ACCEPTED 1
#define NKTLS_SIGS_SIGNING  2
MSTATUS NKTLS_setSignatureSchemes(sbyte4 connectionInstance, sbyte4 list, const ubyte2 *pSchemes,
                                  ubyte4 numSchemes);
/* The list in effect: *pNumSchemes is the capacity of pSchemes in, the count
 * out (ERR_BUFFER_TOO_SMALL, with the count, when it does not fit). */
MSTATUS NKTLS_getSignatureSchemes(sbyte4 connectionInstance, sbyte4 list, ubyte2 *pSchemes,
                                  ubyte4 *pNumSchemes);

/* Names as OpenSSL spells them (TLS_AES_128_GCM_SHA256, X25519, P-256) <-> IANA ids.
 * Lookups return NULL / a negative status for unknown names. */
const char *NKTLS_cipherName(ubyte2 cipherId);
sbyte4 NKTLS_cipherIdByName(const char *name);
const char *NKTLS_groupName(ubyte2 groupId);
sbyte4 NKTLS_groupIdByName(const char *name);
const char *NKTLS_sigSchemeName(ubyte2 scheme);
const char *NKTLS_alertName(sbyte4 alertId);

#ifdef __cplusplus
}
#endif

#endif
