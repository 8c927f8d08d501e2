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

/* DTLS 1.2: the longest message one datagram carries once the handshake is
 * done (the PMTU, DTLS_SET_PMTU, less the record header and the suite's
 * nonce and tag): SSL_ASYNC_sendMessage refuses a longer one with
 * ERR_SSL_DATAGRAM_TOO_LONG; SSL_send cuts a longer one into several
 * datagrams. ERR_SSL_NOT_OPEN before the handshake completes. */
MSTATUS NKTLS_DTLS_getMaxMessage(sbyte4 connectionInstance, ubyte4 *pMaxLen);

/* The peer's address and port as the SDK reports them (common/mtcp.h,
 * TCP_getPeerName's form): for DTLS, the address its datagrams come from
 * (an event-loop peer, which shares the loop's socket, included); for TLS,
 * its socket's peer. ERR_TCP_GETSOCKNAME when there is none (an
 * application transport without a socket). */
struct MOC_IP_ADDRESS_S;
MSTATUS NKTLS_getPeerAddress(sbyte4 connectionInstance, ubyte2 *pPort, struct MOC_IP_ADDRESS_S *pAddr);

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
 * the chain of the handshake that issued the ticket. After a handshake that
 * failed because the chain did not verify, the chain that failed (untrusted: for
 * saying why). ERR_SSL_NOT_OPEN when the peer sent none; ERR_INVALID_ARG past
 * the last one. */
MSTATUS NKTLS_getPeerCertificate(sbyte4 connectionInstance, ubyte4 index, const ubyte **ppDer,
                                 ubyte4 *pDerLen);
/* SSL_setSessionFlags: a server asks for a client certificate but goes on
 * without one (SSL_FLAG_REQUIRE_MUTUAL_AUTH insists on one). A certificate the
 * client does send must still verify. */
#define NKTLS_FLAG_REQUEST_MUTUAL_AUTH 0x00010000
/* OCSP stapling (RFC 6066 §8, RFC 8446 §4.4.2.1), client session flags: ask
 * the server for its certificate's OCSP status. A stapled response must be
 * good: signed by the leaf's issuer (or a responder it delegated to) chained
 * to the store's trust points, naming the leaf, current (thisUpdate no later
 * than now, nextUpdate not past, 5 minutes of skew; a week after thisUpdate
 * when it has no nextUpdate); else the handshake fails with ERR_CERT_REVOKED
 * (certificate_revoked) or ERR_CERT_STATUS (bad_certificate_status_response).
 * Without a response it goes on, unless OCSP_REQUIRE is set or the leaf says
 * it must be stapled (RFC 7633). sslSettings.funcPtrCertStatusCallback, when
 * set, hears TRUE (a good response) or FALSE (none) and may refuse by
 * returning a negative value; setting it asks for the status as OCSP_REQUEST
 * does. TLS 1.3. */
#define NKTLS_FLAG_OCSP_REQUEST 0x00020000
#define NKTLS_FLAG_OCSP_REQUIRE 0x00040000
/* The server side: staple this DER OCSPResponse (a successful one) whenever a
 * client asks, for each identity in pStore whose leaf it names (by serial and
 * issuer). Call again with a fresh response to replace it, also while the
 * store serves handshakes. ERR_CERT_DECODE: not a successful OCSP response;
 * ERR_INVALID_ARG: it names no identity of the store. The server does not
 * check the response: keeping it current is the application's. */
/* A TLS 1.2 client connection offers this session (from SSL_getClientSessionInfo
 * on an earlier connection), as SSL_connect's session arguments do, for
 * connections made without them: NKTLS_LOOP_connect's (call it from onSetup)
 * or SSL_ASYNC_connect's. Before the handshake starts (ERR_SSL_BAD_STATE
 * after); idLen 0 offers none. */
MSTATUS NKTLS_setClientSession(sbyte4 connectionInstance, ubyte idLen, const ubyte *pId,
                               const ubyte *pMasterSecret);
struct certStore;
MSTATUS NKTLS_setOcspResponse(struct certStore *pStore, const ubyte *pDer, ubyte4 derLen);
/* SSL_setSessionFlags: a server takes the first suite in the client's order
 * among those it has enabled (SSL_enableCiphers), instead of the first in its
 * own (the library's table order, the default). */
#define NKTLS_FLAG_CLIENT_CIPHER_ORDER 0x00080000
/* SSL_setSessionFlags, TLS 1.2 server: accept a renegotiation the client
 * starts (a ClientHello on the established connection). Off by default: each
 * one costs the server a full handshake, so a client could spend its CPU at
 * will. Even when on, at most NKTLS_RENEGOTIATIONS_PER_MINUTE client-started
 * renegotiations per connection in any 60 s; beyond, and without this flag,
 * the client gets a no_renegotiation warning and the connection goes on under
 * its keys. Renegotiations the server asks for (SSL_initiateRehandshake, a
 * HelloRequest) need no flag. Either way only with a peer that signalled
 * secure renegotiation (RFC 5746) in the handshake, never on a connection the
 * kernel carries (kTLS cannot take new TLS 1.2 keys), and never in TLS 1.3.
 * SSL_FLAG_ALLOW_INSECURE_REHANDSHAKE is ignored: nktls never renegotiates
 * insecurely. docs/tls12-status.md describes the whole policy. */
#define NKTLS_FLAG_ALLOW_RENEGOTIATION 0x00100000
#define NKTLS_RENEGOTIATIONS_PER_MINUTE 3
/* SSL_setSessionFlags: a server asking for a client certificate names no
 * certificate authorities (by default it lists the subjects of its store's
 * trust points: RFC 8446 §4.2.4 certificate_authorities, RFC 5246 §7.4.4). */
#define NKTLS_FLAG_NO_CLIENT_CA_NAMES 0x00400000
/* SSL_setSessionFlags, TLS 1.3 PSK handshakes without (EC)DHE (psk_ke, RFC
 * 8446 §4.2.9), which give up forward secrecy. A client offering an external
 * PSK (sslSettings.funcPtrChoosePSK or CERT_STORE_addIdentityPSK) lists only
 * psk_ke and sends no key share: a server that refuses the PSK cannot go on
 * with certificates. A server takes psk_ke whenever the client lists it and
 * its PSK is good, even beside a key share. Without the flag only psk_dhe_ke
 * is offered and taken. SSL_ioctl(SSL_PSK_KEY_EXCHANGE_MODE, SSL_PSK_KE or
 * SSL_PSK_DHE_KE) sets or clears it. */
#define NKTLS_FLAG_PSK_KE 0x00800000
/* TRUE when the handshake was authenticated by a PSK: a TLS 1.3 ticket (a
 * resumed session) or an external PSK (CERT_STORE_addIdentityPSK,
 * funcPtrChoosePSK). Tickets: see SSL_setClientSavePSKCallback /
 * SSL_CLIENT_setRetrievePSKCallback. */
intBoolean NKTLS_isSessionResumed(sbyte4 connectionInstance);
/* After a handshake refused for want of a common version
 * (ERR_SSL_UNSUPPORTED_VERSION), a bit n for each protocol 3.n the peer wanted:
 * on a server the versions the client offered, on a client the one the
 * server's hello chose. NKTLS_VERSION_BIT(TLS13_MINORVERSION) is TLS 1.3,
 * NKTLS_VERSION_BIT(1) TLS 1.0; 0 when unknown (the peer only sent an alert). */
#define NKTLS_VERSION_BIT(minor) (1u << (minor))
MSTATUS NKTLS_getPeerVersions(sbyte4 connectionInstance, ubyte4 *pVersions);
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
 *                        64 MiB (1 MiB..4 GiB-1)
 *   SESSION_CACHE        TLS 1.2 sessions kept for resumption by session id,
 *                        in each of the two process-wide caches (the server's,
 *                        and the client's record of its own sessions); the
 *                        oldest goes (wiped) when a new one needs the room;
 *                        0 turns session ids off: 4096 (0..1048576)
 *   SESSION_LIFETIME     seconds after its full handshake a TLS 1.2 session
 *                        may still be resumed: 3600 (1..86400; RFC 5246 §F.1.4
 *                        suggests at most 24 hours)
 *   TICKET_LIFETIME      seconds a TLS 1.3 session ticket may be used, as
 *                        its NewSessionTicket says (the server refuses it
 *                        after): 7200 (1..604800, RFC 8446 §4.6.1); how many
 *                        tickets: SSL_ioctl(SSL_SET_NUM_TICKETS) */
#define NKTLS_LIMIT_HANDSHAKE_MESSAGE   1
#define NKTLS_LIMIT_CERTIFICATE_MESSAGE 2
#define NKTLS_LIMIT_CERTIFICATE_COUNT   3
#define NKTLS_LIMIT_KEY_UPDATES         4
#define NKTLS_LIMIT_EARLY_DATA_SKIP     5
#define NKTLS_LIMIT_RECV_BUFFER         6
#define NKTLS_LIMIT_HANDSHAKE_MEMORY    7
#define NKTLS_LIMIT_SESSION_CACHE       8
#define NKTLS_LIMIT_SESSION_LIFETIME    9
#define NKTLS_LIMIT_TICKET_LIFETIME     10
MSTATUS NKTLS_setLimit(ubyte4 limit, ubyte4 value);
MSTATUS NKTLS_getLimit(ubyte4 limit, ubyte4 *pValue);

/* Session tickets (TLS 1.3's and TLS 1.2's RFC 5077 tickets) are sealed
 * with one process-wide key set: a random key made at first use (a restart
 * ends every ticket), or the keys of a key file this loads, which a fleet of
 * servers shares so that each resumes the others' sessions. The file
 * (docs/ticket-keys.md) lists 1 to 16 keys, each with the time it seals from
 * and the time it opens until; the newest key in use seals, older ones open
 * until they end. Loading again replaces the whole set (rotation). A file
 * that is not one is refused with ERR_TICKET_KEYS_FORMAT (the first wrong
 * line goes to the log sink) and the set in use stays; ERR_FILE_OPEN_FAILED
 * when it cannot be read. */
MSTATUS NKTLS_loadTicketKeys(const char *path);

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
 * never for a TLS 1.3 CertificateVerify (§4.4.3), nor rsa_pkcs1_*. In TLS 1.2
 * (RFC 5246 §7.4.1.4.1) the default lists a server offers and accepts, and
 * either side's default SIGNING list, go on with rsa_pkcs1_sha256/384/512,
 * then the SHA-1 schemes while SSL_setSha1SigAlg allows them (a client's
 * ClientHello offers the list above); an ECDSA scheme there names a hash, not
 * a curve. A list set here is used as it is. */
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

/* The library's version ("0.1.0"). */
const char *NKTLS_version(void);
/* A sentence for a status, for people ("the peer's certificate chain does not end
 * at a trusted CA"); MERROR_lookUpErrorCode gives its symbol. Every code in
 * common/merrors.h has one; other values get "unknown error". Never NULL. */
const char *NKTLS_errorText(MSTATUS status);
/* NULL when this kernel takes TLS keys (the tls ULP attaches to a TCP socket),
 * else why not ("no tls module"). Probed once per process. */
const char *NKTLS_ktlsUnavailableReason(void);

/* Trust the system's CAs as well as the store's trust points: libcrypto's default
 * file and directory, which SSL_CERT_FILE and SSL_CERT_DIR override. A missing or
 * empty file adds nothing (peer chains then fail with
 * ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY). Call before the store is shared. */
struct certStore;
MSTATUS NKTLS_addSystemTrustPoints(struct certStore *pStore);
/* A certificate's subject, its issuer, or the host names it is for (the
 * subjectAltName DNS names and IP addresses, "DNS:a.example, IP:127.0.0.1", or
 * "CN=..." when it has none), as one line. ERR_CERT_DECODE for bad DER,
 * ERR_BUFFER_TOO_SMALL when the line does not fit (it is cut short). */
#define NKTLS_CERT_SUBJECT    0
#define NKTLS_CERT_ISSUER     1
#define NKTLS_CERT_HOST_NAMES 2
MSTATUS NKTLS_getCertificateName(const ubyte *pDer, ubyte4 derLen, sbyte4 which, sbyte *pBuf,
                                 ubyte4 bufLen);

#ifdef __cplusplus
}
#endif

#endif
