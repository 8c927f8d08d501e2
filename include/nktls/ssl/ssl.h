/* ssl.h — the TLS/DTLS connection API (NanoSSL names and signatures).
 *
 * Conventions: a connection instance is a positive sbyte4 (0 = none, negative =
 * error); calls return OK (0) or a negative MSTATUS unless noted. Two generations
 * exist: the current one (default) and the legacy one, selected by defining
 * NKTLS_NANOSSL_LEGACY_API before including this header; the legacy entry points
 * are exported as NKTLS_legacy_<name> so both can live in one library. */
#ifndef NKTLS_SSL_H
#define NKTLS_SSL_H

#include "common/mtypes.h"
#include "common/merrors.h"
#include "common/mocana.h"
#include "common/mtcp.h"   /* MOC_IP_ADDRESS_S */
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- timeouts (ms; 0 = wait forever) and sizes ---- */
#define TIMEOUT_SSL_HELLO                (15000)
#define TIMEOUT_SSL_RECV                 (15000)
#define SSL_DEFAULT_TCPIP_PORT           (443)
#define SSL_MAXSESSIONIDSIZE             (32)
#define SSL_MASTERSECRETSIZE             (48)
#define SSL_PSK_SERVER_IDENTITY_LENGTH   (128)
#define SSL_PSK_MAX_LENGTH               (64)
#define SSL_ALPN_MAX_SIZE                (255)
#define MIN_SSL_RSA_SIZE                 (2048)

/* ---- session flags (SSL_setSessionFlags); the top byte is reserved ---- */
#define SSL_FLAG_REQUIRE_MUTUAL_AUTH         (0x00000001)
#define SSL_FLAG_NO_MUTUAL_AUTH_REQUEST      (0x00000002)   /* server */
#define SSL_FLAG_NO_MUTUAL_AUTH_REPLY        (0x00000002)   /* client */
#define SSL_FLAG_ENABLE_SEND_EMPTY_FRAME     (0x00000004)
#define SSL_FLAG_ENABLE_SEND_BUFFER          (0x00000008)
#define SSL_FLAG_ENABLE_RECV_BUFFER          (0x00000010)
#define SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH  (0x00000020)
#define SSL_FLAG_ALLOW_INSECURE_REHANDSHAKE  (0x00000080)
#define SSL_FLAG_INTERNAL_USE                (0xFF000000)

/* ---- SSL_ioctl settings: values are passed cast to void *, results come back
 * through a pointer passed as the value ---- */
#define SSL_SET_VERSION                          (1)   /* (void *)minor: 3 = TLS 1.2, 4 = TLS 1.3 */
#define SSL_SET_MINIMUM_VERSION                  (2)   /* (void *)minor */
#define SSL_SET_SCSV_VERSION                     (3)   /* (void *)minor: fallback retry, sends TLS_FALLBACK_SCSV */
#define SSL_SET_RECV_TIMEOUT                     (4)   /* (void *)ms */
#define DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER  (10)  /* (void *)ms */
#define DTLS_SET_PMTU                            (11)  /* (void *)bytes */
#define DTLS_USE_SRTP                            (12)  /* (void *)TRUE/FALSE */
#define DTLS_SET_HELLO_VERIFIED                  (13)  /* (void *)TRUE/FALSE */
#define SSL_REQUEST_SESSION_TICKET               (21)  /* (void *)TRUE/FALSE (client) */
#define SSL_PSK_KEY_EXCHANGE_MODE                (22)  /* (void *)SSL_PSK_KE / SSL_PSK_DHE_KE */
#define SSL_SET_USE_EXTENDED_MASTERSECRET        (30)  /* (void *)TRUE/FALSE (TLS 1.2): TRUE, the
                                                         * default, requires the peer's extended
                                                         * master secret (RFC 7627); FALSE accepts
                                                         * peers without it, whose sessions are
                                                         * then never resumed (§5.3) */
/* nktls-assigned values */
#define SSL_GET_CLIENT_RANDOM                    (40)  /* ubyte[32] */
#define SSL_GET_SERVER_RANDOM                    (41)  /* ubyte[32] */
#define SSL_GET_KEY_UPDATE_DATA_TYPE             (42)  /* ubyte4 *: SSL_KEY_UPDATE_* last received */
#define SSL_SET_SEND_EARLY_DATA                  (43)  /* (void *)TRUE/FALSE (client) */
#define SSL_GET_MAX_EARLY_DATA                   (44)  /* ubyte4 * */
#define SSL_SET_MAX_EARLY_DATA                   (45)  /* (void *)bytes (server) */
#define SSL_GET_EARLY_DATA_STATUS                (46)  /* ubyte4 *: SSL_EARLY_DATA_* */
#define SSL_SET_NUM_TICKETS                      (47)  /* (void *)count (server) */
#define SSL_GET_NUM_TICKETS                      (48)  /* ubyte4 * */

/* SSL_PSK_KEY_EXCHANGE_MODE values (RFC 8446 §4.2.9). */
#define SSL_PSK_KE                               (0)
#define SSL_PSK_DHE_KE                           (1)
/* KeyUpdate request_update values (RFC 8446 §4.6.3). */
#define SSL_KEY_UPDATE_NOT_REQUESTED             (0)
#define SSL_KEY_UPDATE_REQUESTED                 (1)
/* SSL_GET_EARLY_DATA_STATUS results. */
#define SSL_EARLY_DATA_NOT_SENT                  (0)
#define SSL_EARLY_DATA_REJECTED                  (1)
#define SSL_EARLY_DATA_ACCEPTED                  (2)

/* ---- SSL_Settings_Ioctl settings ---- */
#define SSL_SETTINGS_MAX_BYTE_COUNT              (1)   /* (void *)bytes before rekey */
#define SSL_SETTINGS_MAX_TIMER_COUNT             (2)   /* (void *)ms before rekey */
#define SSL_SETTINGS_GET_RECV_MAX_EARLY_DATA     (3)   /* ubyte4 * */
#define SSL_SETTINGS_SET_RECV_MAX_EARLY_DATA     (4)   /* (void *)bytes */

/* ---- protocol versions ---- */
#define SSL3_MAJORVERSION        (3)
#define SSL3_MINORVERSION        (0)
#define TLS10_MINORVERSION       (1)
#define TLS11_MINORVERSION       (2)
#define TLS12_MINORVERSION       (3)
#define TLS13_MINORVERSION       (4)
#define DTLS1_MAJORVERSION       (254)
#define DTLS10_MINORVERSION      (255)
#define DTLS12_MINORVERSION      (253)
#define DTLS13_MINORVERSION      (252)

/* ---- session status (SSL_getSessionStatus) ---- */
#define SSL_CONNECTION_NEGOTIATE     (2)
#define SSL_CONNECTION_OPEN          (3)
#define SSL_CONNECTION_RENEGOTIATE   (4)

/* ---- record content types (SSL_ASYNC_getRecvBuffer's protocol) ---- */
#define SSL_CHANGE_CIPHER_SPEC   (20)
#define SSL_ALERT                (21)
#define SSL_HANDSHAKE            (22)
#define SSL_APPLICATION_DATA     (23)
#define SSL_HEARTBEAT            (24)

/* ---- alerts: levels and IANA descriptions ---- */
#define SSLALERTLEVEL_WARNING    (1)
#define SSLALERTLEVEL_FATAL      (2)

#define SSL_ALERT_CLOSE_NOTIFY                     (0)
#define SSL_ALERT_UNEXPECTED_MESSAGE               (10)
#define SSL_ALERT_BAD_RECORD_MAC                   (20)
#define SSL_ALERT_DECRYPTION_FAILED                (21)
#define SSL_ALERT_RECORD_OVERFLOW                  (22)
#define SSL_ALERT_DECOMPRESSION_FAILURE            (30)
#define SSL_ALERT_HANDSHAKE_FAILURE                (40)
#define SSL_ALERT_NO_CERTIFICATE                   (41)
#define SSL_ALERT_BAD_CERTIFICATE                  (42)
#define SSL_ALERT_UNSUPPORTED_CERTIFICATE          (43)
#define SSL_ALERT_CERTIFICATE_REVOKED              (44)
#define SSL_ALERT_CERTIFICATE_EXPIRED              (45)
#define SSL_ALERT_CERTIFICATE_UNKNOWN              (46)
#define SSL_ALERT_ILLEGAL_PARAMETER                (47)
#define SSL_ALERT_UNKNOWN_CA                       (48)
#define SSL_ALERT_ACCESS_DENIED                    (49)
#define SSL_ALERT_DECODE_ERROR                     (50)
#define SSL_ALERT_DECRYPT_ERROR                    (51)
#define SSL_ALERT_EXPORT_RESTRICTION               (60)
#define SSL_ALERT_PROTOCOL_VERSION                 (70)
#define SSL_ALERT_INSUFFICIENT_SECURITY            (71)
#define SSL_ALERT_INTERNAL_ERROR                   (80)
#define SSL_ALERT_INAPPROPRIATE_FALLBACK           (86)
#define SSL_ALERT_USER_CANCELED                    (90)
#define SSL_ALERT_NO_RENEGOTIATION                 (100)
#define SSL_ALERT_MISSING_EXTENSION                (109)
#define SSL_ALERT_UNSUPPORTED_EXTENSION            (110)
#define SSL_ALERT_UNRECOGNIZED_NAME                (112)
#define SSL_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE  (113)
#define SSL_ALERT_UNKNOWN_PSK_IDENTITY             (115)
#define SSL_ALERT_CERTIFICATE_REQUIRED             (116)
#define SSL_ALERT_NO_APPLICATION_PROTOCOL          (120)

/* ---- key exchange groups (IANA NamedGroup values). SSL_getCipherInfo reports
 * the peer's groups as a mask of (1 << value) for values below 32. ---- */
enum tlsExtNamedCurves {
    tlsExtNamedCurves_secp256r1 = 23,
    tlsExtNamedCurves_secp384r1 = 24,
    tlsExtNamedCurves_secp521r1 = 25,
    tlsExtNamedCurves_x25519    = 29,
    tlsExtNamedCurves_x448      = 30,
    tlsExtNamedCurves_ffdhe2048 = 256,
    tlsExtNamedCurves_ffdhe3072 = 257,
    tlsExtNamedCurves_ffdhe4096 = 258,
    tlsExtNamedCurves_ffdhe6144 = 259,
    tlsExtNamedCurves_ffdhe8192 = 260,
};

/* ---- cipher suites (IANA values) for SSL_enableCiphers / SSL_getCipherInfo ---- */
#define SSL_TLS_AES_128_GCM_SHA256                         (0x1301)
#define SSL_TLS_AES_256_GCM_SHA384                         (0x1302)
#define SSL_TLS_CHACHA20_POLY1305_SHA256                   (0x1303)
#define SSL_TLS_AES_128_CCM_SHA256                         (0x1304)
#define SSL_TLS_AES_128_CCM_8_SHA256                       (0x1305)
#define SSL_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256        (0xC02B)
#define SSL_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384        (0xC02C)
#define SSL_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256          (0xC02F)
#define SSL_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384          (0xC030)
#define SSL_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256    (0xCCA8)
#define SSL_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256  (0xCCA9)
#define SSL_TLS_DHE_RSA_WITH_AES_128_GCM_SHA256            (0x009E)
#define SSL_TLS_DHE_RSA_WITH_AES_256_GCM_SHA384            (0x009F)
#define SSL_TLS_PSK_WITH_AES_128_GCM_SHA256                (0x00A8)
#define SSL_TLS_PSK_WITH_AES_256_GCM_SHA384                (0x00A9)
#define SSL_TLS_PSK_WITH_CHACHA20_POLY1305_SHA256          (0xCCAB)
#define SSL_TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256          (0xD001)

/* ---- SRTP protection profiles (RFC 5764, RFC 7714) ---- */
#define SRTP_AES128_CM_HMAC_SHA1_80   (0x0001)
#define SRTP_AES128_CM_HMAC_SHA1_32   (0x0002)
#define SRTP_NULL_HMAC_SHA1_80        (0x0005)
#define SRTP_NULL_HMAC_SHA1_32        (0x0006)
#define SRTP_AEAD_AES_128_GCM         (0x0007)
#define SRTP_AEAD_AES_256_GCM         (0x0008)

/* ---- types ---- */

/* The peer's certificate chain as SSL_setCertAndStatusCallback receives it. */
struct certChain;

/* A DTLS peer: the UDP socket context and both ends' addresses. */
typedef struct peerDescr {
    void *pUdpDescr;
    ubyte2 srcPort;
    MOC_IP_ADDRESS_S srcAddr;
    ubyte2 peerPort;
    MOC_IP_ADDRESS_S peerAddr;
} peerDescr;

/* The SRTP profile DTLS negotiated, handed to the SRTP init callback. */
typedef struct SrtpProfileInfo {
    ubyte2 profileId;     /* SRTP_* */
    ubyte supported;
    sbyte keySize;        /* master key bytes */
    sbyte saltSize;       /* master salt bytes */
} SrtpProfileInfo;

/* A TLS 1.3 PSK (resumption or external); opaque, see SSL_serializePSK. */
typedef struct tls13PSK tls13PSK;

typedef enum {
    noHeartbeatMessages  = 0,
    peerAllowedToSend    = 1,
    peerNotAllowedToSend = 2,
} E_HeartbeatExtension;

/* Which kind of application data the receive-data callback is delivering. */
typedef enum dataState {
    DATA_STATE_EARLY       = 0,   /* 0-RTT data, before the handshake completed */
    DATA_STATE_APPLICATION = 1,   /* ordinary application data */
} dataState;

/* ---- callback types (the setters below take these) ---- */
typedef sbyte4  (*funcPtrAlertCallback_t)(sbyte4 connectionInstance, sbyte4 alertId, sbyte4 alertClass);
typedef sbyte4  (*funcPtrKeyUpdateRequest_t)(sbyte4 connectionInstance);
typedef sbyte4  (*funcPtrSrtpInitCallback_t)(sbyte4 connectionInstance, peerDescr *pChannelDescr,
                                             const SrtpProfileInfo *pProfile, void *keyMaterials,
                                             ubyte *mki);
typedef sbyte4  (*funcPtrSrtpEncodeCallback_t)(sbyte4 connectionInstance, peerDescr *pChannelDescr,
                                               const sbyte *pData, ubyte4 pDataLength,
                                               ubyte **encodedData, ubyte4 *encodedLength);
typedef MSTATUS (*funcPtrVersionCallback_t)(ubyte4 serverVersion, ubyte4 clientVersion,
                                            MSTATUS sslStatus);
/* ALPN (server): in is the client's protocol_name_list in wire format
 * (<len><bytes>...), inLen its size. Set *out to the chosen protocol in wire format
 * (its length byte, then its bytes; pointing into in is fine), cast to ubyte **,
 * and *outLen to 1 + its length. Return OK, or a negative status to refuse the
 * connection with no_application_protocol. */
typedef sbyte4  (*funcPtrAlpnCallback_t)(sbyte4 connectionInstance, ubyte **out[], sbyte4 *outLen,
                                         ubyte *in, sbyte4 inLen);
/* Return OK to accept the peer's chain whatever validationStatus says. */
typedef MSTATUS (*funcPtrCertAndStatusCallback_t)(sbyte4 connectionInstance,
                                                  struct certChain *pCertChain,
                                                  MSTATUS validationStatus);
typedef MSTATUS (*funcPtrInvalidCertCallback_t)(sbyte4 connectionInstance, MSTATUS validationStatus);
typedef MSTATUS (*funcPtrClientCertAuthorityCallback_t)(sbyte4 connectionInstance,
                                                        SizedBuffer *pCertAuthorities,
                                                        ubyte4 certAuthorityCount);
typedef MSTATUS (*funcPtrClientCertCallback_t)(sbyte4 connectionInstance, SizedBuffer **ppRetCert,
                                               ubyte4 *pRetNumCerts, ubyte **ppRetKeyBlob,
                                               ubyte4 *pRetKeyBlobLen, ubyte **ppRetCACert,
                                               ubyte4 *pRetNumCACerts);
typedef sbyte4  (*funcPtrHeartbeatCallback_t)(sbyte4 connectionInstance, sbyte4 status,
                                              ubyte heartbeatType);
typedef sbyte4  (*funcPtrReceiveApplicationData_t)(sbyte4 connectionInstance, ubyte *pData,
                                                   ubyte4 dataLen, dataState state);
/* Server PSK store (TLS 1.3 resumption): save a ticket's PSK, look it up by
 * identity (set *pFreeMemory TRUE if the library must free(*ppPsk)), delete it. */
typedef sbyte4  (*funcPtrServerSavePSK_t)(sbyte4 connectionInstance, ubyte *pServerInfo,
                                          ubyte4 serverInfoLen, ubyte *pIdentity, ubyte4 identityLen,
                                          ubyte *pPsk, ubyte4 pskLen);
typedef sbyte4  (*funcPtrServerLookupPSK_t)(sbyte4 connectionInstance, ubyte *pIdentity,
                                            ubyte4 identityLen, ubyte **ppPsk, ubyte4 *pPskLen,
                                            intBoolean *pFreeMemory);
typedef sbyte4  (*funcPtrServerDeletePSK_t)(sbyte4 connectionInstance, sbyte *pServerInfo,
                                            ubyte4 serverInfoLen, ubyte *pIdentity,
                                            ubyte4 identityLen, ubyte *pPsk);
/* Client PSK store: pServerInfo is the server name the connection was opened for;
 * the PSK travels in SSL_serializePSK's format. Retrieve sets *ppPsk and *pPskLen (or
 * leaves *ppPsk NULL for none) and *pFreeMemory TRUE if the library must free it. */
typedef sbyte4  (*funcPtrClientSavePSK_t)(sbyte4 connectionInstance, sbyte *pServerInfo,
                                          ubyte4 serverInfoLen, ubyte *pPsk, ubyte4 pskLen);
typedef sbyte4  (*funcPtrClientRetrievePSK_t)(sbyte4 connectionInstance, sbyte *pServerInfo,
                                              ubyte4 serverInfoLen, ubyte **ppPsk, ubyte4 *pPskLen,
                                              intBoolean *pFreeMemory);

/* ---- global settings: SSL_sslSettings() returns the process's one instance ---- */
typedef struct sslSettings {
    ubyte4 sslTimeOutHello;              /* ms for the handshake; default TIMEOUT_SSL_HELLO */
    ubyte4 sslTimeOutReceive;            /* ms for receives during the handshake; default TIMEOUT_SSL_RECV */
    ubyte4 minRSAKeySize;                /* bits; default MIN_SSL_RSA_SIZE */
    intBoolean allowSha1SigAlg;          /* accept SHA-1 signatures (TLS 1.2, certificates) */
    ubyte fipsEnabled;                   /* SSL_setFIPSEnabled */
    /* TLS 1.2: renegotiate (SSL_initiateRehandshake) once this many bytes were
     * sent, or this many ms passed, since the last handshake (0 = never) */
    ubyte4 maxByteCount;
    ubyte4 maxTimerCountForRehandShake;
    ubyte4 sslMinProtoVersion;           /* minor version, e.g. TLS12_MINORVERSION */
    ubyte4 sslMaxProtoVersion;
    ubyte4 recvMaxEarlyData;             /* server: 0-RTT bytes accepted (0 = none) */

    sbyte4 (*funcPtrAlertCallback)(sbyte4 connectionInstance, sbyte4 alertId, sbyte4 alertClass);
    /* asynchronous servers and clients */
    sbyte4 (*funcPtrOpenStateUpcall)(sbyte4 connectionInstance, intBoolean isRehandshake);
    sbyte4 (*funcPtrClientOpenStateUpcall)(sbyte4 connectionInstance, intBoolean isRehandshake);
    sbyte4 (*funcPtrReceiveUpcall)(sbyte4 connectionInstance, ubyte *pMessage, ubyte4 messageLength);
    sbyte4 (*funcPtrClientReceiveUpcall)(sbyte4 connectionInstance, ubyte *pMessage,
                                         ubyte4 messageLength);
    sbyte4 (*funcPtrStartTimer)(sbyte4 connectionInstance, ubyte4 msTimerExpire, sbyte4 future);
    sbyte4 (*funcPtrClientStartTimer)(sbyte4 connectionInstance, ubyte4 msTimerExpire, sbyte4 future);
    sbyte4 (*funcPtrSSLHandleTimeout)(sbyte4 connectionInstance, ubyte4 *pMsAdjustedTime);
    /* renegotiation, key update. TLS 1.2 client: a HelloRequest arrived; a
     * negative return refuses it (no_renegotiation warning), else nktls
     * renegotiates. NewHandshakeCallback: a renegotiation the application did
     * not start (the peer's, or maxByteCount's) is about to begin; setting
     * *pDoRehandshake FALSE declines it. *pDoResumption is ignored: a
     * renegotiation nktls starts is a full handshake (tls12_reneg.c). */
    sbyte4 (*funcPtrClientRehandshakeRequest)(sbyte4 connectionInstance);
    sbyte4 (*funcPtrKeyUpdateRequest)(sbyte4 connectionInstance);
    sbyte4 (*funcPtrNewHandshakeCallback)(sbyte4 connectionInstance, sbyte4 *pDoRehandshake,
                                          sbyte4 *pDoResumption);
    /* called for each extension the peer sent that the library does not handle */
    sbyte4 (*funcPtrExtensionRequestCallback)(sbyte4 connectionInstance, ubyte4 extensionType,
                                              ubyte *pExtension, ubyte4 extensionLength);
    /* client auth with an external signer: sign pHash into pResult */
    sbyte4 (*funcPtrMutualAuthCertificateVerify)(sbyte4 connectionInstance, const ubyte *pHash,
                                                 ubyte4 hashLen, ubyte *pResult,
                                                 ubyte4 resultLength);
    /* TLS 1.2 PSK */
    sbyte4 (*funcPtrGetHintPSK)(sbyte4 connectionInstance,
                                ubyte hintPSK[SSL_PSK_SERVER_IDENTITY_LENGTH], ubyte4 *pRetHintLength);
    sbyte4 (*funcPtrLookupPSK)(sbyte4 connectionInstance, ubyte *pIdentityPSK,
                               ubyte4 identityLengthPSK, ubyte retPSK[SSL_PSK_MAX_LENGTH],
                               ubyte4 *pRetLengthPSK);
    sbyte4 (*funcPtrChoosePSK)(sbyte4 connectionInstance, ubyte *pHintPSK, ubyte4 hintLengthPSK,
                               ubyte retPskIdentity[SSL_PSK_SERVER_IDENTITY_LENGTH],
                               ubyte4 *pRetPskIdentityLength, ubyte retPSK[SSL_PSK_MAX_LENGTH],
                               ubyte4 *pRetLengthPSK);
    /* OCSP stapling result (client) */
    sbyte4 (*funcPtrCertStatusCallback)(sbyte4 connectionInstance, intBoolean certStatus);
    /* DTLS-SRTP */
    funcPtrSrtpInitCallback_t funcPtrSrtpInitCallback;
    funcPtrSrtpEncodeCallback_t funcPtrSrtpEncodeCallback;
    /* server: choose an ECDHE curve from peerCurvesMask (1 << tlsExtNamedCurves_*),
     * writing its IANA value to *pSelectedCurve; a negative return fails the
     * handshake, leaving *pSelectedCurve 0 keeps the library's choice */
    sbyte4 (*funcPtrChooseECCCurve)(sbyte4 connectionInstance, ubyte4 peerCurvesMask,
                                    ubyte2 *pSelectedCurve);
    /* version negotiated vs offered; return OK to continue */
    funcPtrVersionCallback_t funcPtrVersionCallback;
    /* server: choose a suite from the client's offer (IANA values, client order);
     * same return convention as funcPtrChooseECCCurve */
    sbyte4 (*funcPtrCipherSelectCallback)(sbyte4 connectionInstance, const ubyte2 *pClientCiphers,
                                          ubyte4 numCiphers, ubyte2 *pSelectedCipher);
    /* TLS 1.3 (set through the SSL_set*Callback calls below) */
    funcPtrReceiveApplicationData_t funcPtrReceiveApplicationData;
    funcPtrServerSavePSK_t funcPtrServerSavePSK;
    funcPtrServerLookupPSK_t funcPtrServerLookupPSK;
    funcPtrServerDeletePSK_t funcPtrServerDeletePSK;
} sslSettings;

/* ---- stack ---- */
MSTATUS SSL_init(sbyte4 numServerConnections, sbyte4 numClientConnections);
MSTATUS SSL_ASYNC_init(sbyte4 numServerConnections, sbyte4 numClientConnections);
MSTATUS SSL_shutdownStack(void);
MSTATUS SSL_releaseTables(void);
sslSettings *SSL_sslSettings(void);
MSTATUS SSL_Settings_Ioctl(ubyte4 setting, void *value);
MSTATUS SSL_setMinRSAKeySize(ubyte4 keySize);
MSTATUS SSL_setSha1SigAlg(intBoolean setting);
MSTATUS SSL_setFIPSEnabled(ubyte isFIPSEnabled);
MSTATUS SSL_setMinProtoVersion(ubyte4 version);
MSTATUS SSL_setMaxProtoVersion(ubyte4 version);
MSTATUS SSL_setFuncPtrAlertCallback(funcPtrAlertCallback_t callback);

/* ---- synchronous (the library reads and writes the socket) ---- */
#ifndef NKTLS_NANOSSL_LEGACY_API
sbyte4 SSL_acceptConnection(TCP_SOCKET tempSocket, struct certStore *pCertStore);
sbyte4 SSL_connect(TCP_SOCKET tempSocket, ubyte sessionIdLen, ubyte *sessionId,
                   ubyte *masterSecret, const sbyte *dnsName, struct certStore *pCertStore);
#endif
MSTATUS SSL_negotiateConnection(sbyte4 connectionInstance);
/* Returns the number of bytes sent (>= 0) or an error. */
sbyte4 SSL_send(sbyte4 connectionInstance, sbyte *pBuffer, sbyte4 bufferSize);
/* timeoutMS 0 = wait forever; ERR_TCP_READ_TIMEOUT on timeout; ERR_SSL_CONNECTION_CLOSED
 * after the peer's close_notify. While a TLS 1.2 renegotiation runs it waits no
 * longer than sslTimeOutHello from the renegotiation's start, then fails with
 * ERR_SSL_HANDSHAKE_TIMEOUT (fatal, as in a first handshake). */
MSTATUS SSL_recv(sbyte4 connectionInstance, sbyte *pRetBuffer, sbyte4 bufferSize,
                 sbyte4 *pNumBytesReceived, ubyte4 timeoutMS);
MSTATUS SSL_recvPending(sbyte4 connectionInstance, sbyte4 *pRetBooleanIsPending);
MSTATUS SSL_sendPending(sbyte4 connectionInstance, sbyte4 *pNumBytesPending);
/* Sends close_notify and frees the connection; does not close the socket. */
MSTATUS SSL_closeConnection(sbyte4 connectionInstance);

/* ---- asynchronous (the application owns the socket and feeds bytes) ----
 * Start: SSL_ASYNC_connect / SSL_ASYNC_acceptConnection, then SSL_ASYNC_start (a
 *   server may skip it: its first SSL_ASYNC_recvMessage starts it). Starting
 *   calls funcPtrClientStartTimer / funcPtrStartTimer(h, sslTimeOutHello, 0).
 * Send: whenever SSL_ASYNC_sendMessagePending(h) > 0, take the bytes with
 *   SSL_ASYNC_getSendBuffer and write them to the socket; check after every call.
 *   SSL_ASYNC_sendMessage encrypts into that buffer; ERR_SSL_NOT_OPEN before the
 *   handshake completes (nothing is queued).
 * Receive: every byte read goes to SSL_ASYNC_recvMessage, split anywhere. It
 *   calls funcPtr[Client]OpenStateUpcall(h, FALSE) once when the handshake
 *   completes, then funcPtr[Client]ReceiveUpcall(h, data, len) per record of
 *   application data. With SSL_FLAG_ENABLE_RECV_BUFFER (or no receive upcall)
 *   the data is kept instead: SSL_ASYNC_getRecvBuffer hands out one record in
 *   place (protocol 23), valid until the next receive call on h; repeat until
 *   len is 0. SSL_ASYNC_recvMessage2 stops after the record that completes the
 *   handshake or yields data, returns the bytes kept for getRecvBuffer and
 *   leaves the rest (inside the caller's buffer) for the next call. Upcalls may
 *   send and close h, never feed it. Bytes given while data waits to be taken
 *   are held up to NKTLS_LIMIT_RECV_BUFFER (nktls.h); past it recvMessage
 *   returns ERR_SSL_BUFFER_LIMIT, takes none of them, and the connection goes
 *   on: take the data, then give those bytes again.
 * Errors: sticky; the alert waits in the send buffer. ERR_SSL_CONNECTION_CLOSED
 *   after the peer's close_notify.
 * Close: SSL_sendAlert(h, SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING), drain
 *   the send buffer, SSL_ASYNC_closeConnection(h): it frees h, sends nothing and
 *   leaves the socket open.
 * Timers: receive calls fail the handshake with ERR_SSL_HANDSHAKE_TIMEOUT once
 *   sslTimeOutHello has passed, unless funcPtrSSLHandleTimeout(h, &ms) (ms in:
 *   time run) returns OK with ms set to the extra time it grants. When the
 *   application's timer fires before the open-state upcall, it closes h. A
 *   TLS 1.2 renegotiation is timed the same way from its start.
 * Kernel TLS: NKTLS_asyncOffload in nktls.h. */
#ifndef NKTLS_NANOSSL_LEGACY_API
sbyte4 SSL_ASYNC_acceptConnection(TCP_SOCKET tempSocket, struct certStore *pCertStore);
sbyte4 SSL_ASYNC_connect(TCP_SOCKET tempSocket, ubyte sessionIdLen, ubyte *sessionId,
                         ubyte *masterSecret, const sbyte *dnsName, struct certStore *pCertStore);
#endif
MSTATUS SSL_ASYNC_start(sbyte4 connectionInstance);
MSTATUS SSL_ASYNC_recvMessage(sbyte4 connectionInstance, ubyte *pBytesReceived,
                              ubyte4 numBytesReceived);
/* Returns the number of application bytes available (>= 0) or an error; bytes not
 * consumed are returned through ppRetBytesReceived/pRetNumRxBytesRemaining. */
sbyte4 SSL_ASYNC_recvMessage2(sbyte4 connectionInstance, ubyte *pBytesReceived,
                              ubyte4 numBytesReceived, ubyte **ppRetBytesReceived,
                              ubyte4 *pRetNumRxBytesRemaining);
MSTATUS SSL_ASYNC_getRecvBuffer(sbyte4 connectionInstance, ubyte **data, ubyte4 *len,
                                ubyte4 *pRetProtocol);
/* *len is the capacity in, the number of bytes copied out. */
MSTATUS SSL_ASYNC_getSendBuffer(sbyte4 connectionInstance, ubyte *data, ubyte4 *len);
MSTATUS SSL_ASYNC_sendMessage(sbyte4 connectionInstance, sbyte *pBuffer, sbyte4 bufferSize,
                              sbyte4 *pBytesSent);
/* Returns the number of bytes waiting to be taken with SSL_ASYNC_getSendBuffer. */
sbyte4 SSL_ASYNC_sendMessagePending(sbyte4 connectionInstance);
MSTATUS SSL_ASYNC_closeConnection(sbyte4 connectionInstance);

/* ---- per connection ---- */
MSTATUS SSL_ioctl(sbyte4 connectionInstance, ubyte4 setting, void *value);
MSTATUS SSL_setSessionFlags(sbyte4 connectionInstance, ubyte4 flagsSSL);
MSTATUS SSL_getSessionFlags(sbyte4 connectionInstance, ubyte4 *pRetFlagsSSL);
MSTATUS SSL_getSessionStatus(sbyte4 connectionInstance, ubyte4 *pRetStatusSSL);
/* TRUE for a TLS (not DTLS) connection, FALSE, or a negative error. */
sbyte4 SSL_isSessionSSL(sbyte4 connectionInstance);
#ifndef NKTLS_NANOSSL_LEGACY_API
MSTATUS SSL_getSocketId(sbyte4 connectionInstance, TCP_SOCKET *pRetSocket);
MSTATUS SSL_getCookie(sbyte4 connectionInstance, void **pCookie);
MSTATUS SSL_setCookie(sbyte4 connectionInstance, void *cookie);
#endif
/* The connection instance using the socket, or a negative error. */
sbyte4 SSL_getInstanceFromSocket(TCP_SOCKET socket);
/* The suites (IANA ids, TLS 1.3 and TLS 1.2) this connection may use, before
 * its handshake; unknown ids are passed over, none known is
 * ERR_SSL_NO_CIPHER_MATCH. The library's order applies, not the list's (a
 * server may follow the client's: NKTLS_FLAG_CLIENT_CIPHER_ORDER). Without
 * this call: the TLS 1.3 suites but TLS_AES_128_CCM_8_SHA256, and TLS 1.2's
 * ECDHE suites with AES-GCM or ChaCha20-Poly1305; CCM, DHE, RSA key transport
 * and CBC suites only once listed here. */
MSTATUS SSL_enableCiphers(sbyte4 connectionInstance, const ubyte2 *pCipherSuiteList,
                          ubyte4 listLength);
MSTATUS SSL_getCipherInfo(sbyte4 connectionInstance, ubyte2 *pCipherId, ubyte4 *pPeerEcCurves);
MSTATUS SSL_getSSLTLSVersion(sbyte4 connectionInstance, ubyte4 *pRetVersion);
/* An open TLS 1.2 client connection's session: its id (1..32 bytes) and
 * master secret, for a later SSL_connect / SSL_ASYNC_connect to resume it
 * (in this process: the client offers only sessions it made, to the same
 * server name). Length 0 on TLS 1.3 (tickets resume through the PSK
 * callbacks) or when the server gave no id. */
MSTATUS SSL_getClientSessionInfo(sbyte4 connectionInstance, ubyte *sessionIdLength,
                                 ubyte sessionId[SSL_MAXSESSIONIDSIZE],
                                 ubyte masterSecret[SSL_MASTERSECRETSIZE]);
MSTATUS SSL_setDNSNames(sbyte4 connectionInstance, const CNMatchInfo *cnMatchInfo);
MSTATUS SSL_setServerNameIndication(sbyte4 connectionInstance, const char *serverName);
MSTATUS SSL_setApplicationLayerProtocol(sbyte4 connectionInstance, sbyte4 numNextProtocols,
                                        const char **nextProtocols);
MSTATUS SSL_getSelectedApplicationProtocol(sbyte4 connectionInstance,
                                           const ubyte **selectedApplicationProtocol,
                                           ubyte4 *selectedApplicationProtocolLen);
/* The alert (SSL_ALERT_*) and level (SSLALERTLEVEL_*) that lookupError sends. */
MSTATUS SSL_lookupAlert(sbyte4 connectionInstance, sbyte4 lookupError, sbyte4 *pRetAlertId,
                        sbyte4 *pAlertClass);
MSTATUS SSL_sendAlert(sbyte4 connectionInstance, sbyte4 alertId, sbyte4 alertClass);
MSTATUS SSL_initiateRehandshake(sbyte4 connectionInstance);
MSTATUS SSL_populateMutualAuthCertStore(sbyte4 connectionInstance, const SizedBuffer *pCerts,
                                        ubyte4 numCerts, ubyte *pKeyBlob, ubyte4 keyBlobLen,
                                        const ubyte *pCACert, ubyte4 caCertLength);
MSTATUS SSL_enableHeartbeatSupport(sbyte4 connectionInstance, E_HeartbeatExtension value,
                                   funcPtrHeartbeatCallback_t callback);
MSTATUS SSL_sendHeartbeatMessage(sbyte4 connectionInstance);
/* RFC 5705 / RFC 8446 §7.5 exporter. */
MSTATUS SSL_generateExportKeyMaterial(sbyte4 connectionInstance, ubyte *pKey, ubyte2 keyLen,
                                      ubyte *pLabel, ubyte2 labelLen, ubyte *pContext,
                                      ubyte2 contextLen, sbyte4 useContext);

/* ---- callback setters ---- */
MSTATUS SSL_setAlpnCallback(sbyte4 connectionInstance, funcPtrAlpnCallback_t funcPtrAlpnCallback);
MSTATUS SSL_setCertAndStatusCallback(sbyte4 connectionInstance,
                                     funcPtrCertAndStatusCallback_t callback);
MSTATUS SSL_setInvalidCertCallback(sbyte4 connectionInstance, funcPtrInvalidCertCallback_t callback);
MSTATUS SSL_setVersionCallback(sbyte4 connectionInstance, funcPtrVersionCallback_t callback);
MSTATUS SSL_setClientCertAuthorityCallback(sbyte4 connectionInstance,
                                           funcPtrClientCertAuthorityCallback_t callback);
MSTATUS SSL_setClientCertCallback(sbyte4 connectionInstance, funcPtrClientCertCallback_t callback);

/* ---- TLS 1.3 ---- */
MSTATUS SSL_sendKeyUpdateRequest(sbyte4 connectionInstance, ubyte updateRequest);
MSTATUS SSL_getSignatureAlgo(sbyte4 connectionInstance, ubyte2 *pSigAlg);
MSTATUS SSL_sendPosthandshakeAuthCertificateRequest(sbyte4 connectionInstance);
MSTATUS SSL_setMaxEarlyDataSize(sbyte4 connectionInstance, sbyte4 maxEarlyDataSize);
MSTATUS SSL_setRecvEarlyDataSize(sbyte4 connectionInstance, sbyte4 recvEarlyDataSize);
MSTATUS SSL_setEarlyData(sbyte4 connectionInstance, ubyte *pEarlyData, ubyte4 earlyDataSize);
MSTATUS SSL_setReceiveApplicationDataCallback(funcPtrReceiveApplicationData_t callback);
MSTATUS SSL_serializePSK(tls13PSK *pPsk, ubyte **ppPsk, ubyte4 *pPskLen);
MSTATUS SSL_deserializePSK(ubyte *pPsk, ubyte4 pskLen, tls13PSK **ppRetPsk);
MSTATUS SSL_freePSK(tls13PSK **ppPsk);
MSTATUS SSL_setServerSavePSKCallback(funcPtrServerSavePSK_t callback);
MSTATUS SSL_setServerLookupPSKCallback(funcPtrServerLookupPSK_t callback);
MSTATUS SSL_setServerDeletePSKCallback(funcPtrServerDeletePSK_t callback);
MSTATUS SSL_setClientSavePSKCallback(sbyte4 connectionInstance, funcPtrClientSavePSK_t callback);
MSTATUS SSL_CLIENT_setRetrievePSKCallback(sbyte4 connectionInstance,
                                          funcPtrClientRetrievePSK_t callback);
MSTATUS SSL_setFuncPtrKeyUpdateRequest(funcPtrKeyUpdateRequest_t callback);

/* ---- DTLS and SRTP ---- */
MSTATUS SSL_enableSrtpProfiles(sbyte4 connectionInstance, ubyte2 *pSrtpProfileList,
                               ubyte4 listLength);
MSTATUS SSL_setSrtpInitCallback(funcPtrSrtpInitCallback_t callback);
/* Once a DTLS connection agreed use_srtp, SSL_send on it does not put the
 * data in DTLS records: it calls callback(conn, peer, data, len, &encoded,
 * &encodedLen), which SRTP-protects the data (nktls/srtp.h, with the keys
 * the init callback got) and returns the packet; nktls sends it as one
 * datagram on the connection's socket and SSL_send returns len. The
 * callback allocates *encoded with malloc (MOC_MALLOC) and nktls frees it
 * with free once sent, also when the callback fails having set it. A
 * negative return is SSL_send's result (nothing is sent, the connection
 * stays open); OK with no packet is ERR_SSL_SRTP_ENCODE_EMPTY. Connections
 * without SRTP agreed are not affected. Process-wide; NULL turns it off.
 * *peer names the peer (peerAddr, peerPort: the address its datagrams
 * come from) and, where the connection has a socket of its own, that
 * socket's address (srcAddr, srcPort; zero for an event-loop peer, which
 * shares the loop's); the init callback gets the same. SSL_ASYNC_sendMessage
 * and NKTLS_LOOP_send do the same: the packet is then the next datagram
 * to take (getSendBuffer) or that the loop sends, alone. */
MSTATUS SSL_setSrtpEncodeCallback(funcPtrSrtpEncodeCallback_t callback);
/* TRUE for a DTLS connection, FALSE, or a negative error. */
sbyte4 SSL_isSessionDTLS(sbyte4 connectionInstance);
/* *(ubyte4 *)pTime receives the ms until the retransmission timer fires (0 = due
 * now or not running). */
MSTATUS SSL_DTLS_getTimeout(sbyte4 connectionInstance, void *pTime);
/* TRUE when the retransmission timer has fired, FALSE, or a negative error. */
sbyte4 DTLS_isTimerExpired(sbyte4 connectionInstance);

/* ---- legacy generation (NanoSSL 5.x-6.3 signatures) ---- */
#ifdef NKTLS_NANOSSL_LEGACY_API
#define NKTLS_LEGACY_(name) __asm__("NKTLS_legacy_" #name)
/* No store: the identity set once by SSL_initServerCert / SSL_ASYNC_initServer. */
sbyte4 SSL_acceptConnection(sbyte4 tempSocket) NKTLS_LEGACY_(SSL_acceptConnection);
sbyte4 SSL_ASYNC_acceptConnection(sbyte4 tempSocket) NKTLS_LEGACY_(SSL_ASYNC_acceptConnection);
sbyte4 SSL_connect(sbyte4 tempSocket, ubyte sessionIdLen, ubyte *sessionId, ubyte *masterSecret,
                   const sbyte *dnsName) NKTLS_LEGACY_(SSL_connect);
sbyte4 SSL_ASYNC_connect(sbyte4 tempSocket, ubyte sessionIdLen, ubyte *sessionId,
                         ubyte *masterSecret, const sbyte *dnsName) NKTLS_LEGACY_(SSL_ASYNC_connect);
MSTATUS SSL_initServerCert(certDescriptor *pCertificateDescr, intBoolean isChain,
                           ubyte4 ecCurves) NKTLS_LEGACY_(SSL_initServerCert);
MSTATUS SSL_ASYNC_initServer(certDescriptor *pCertificateDescr, sbyte4 isChain,
                             ubyte4 ecCurves) NKTLS_LEGACY_(SSL_ASYNC_initServer);
MSTATUS SSL_assignCertificateStore(sbyte4 connectionInstance,
                                   certStorePtr pCertStore) NKTLS_LEGACY_(SSL_assignCertificateStore);
MSTATUS SSL_shutdown(void) NKTLS_LEGACY_(SSL_shutdown);
/* list: a server_name_list in SNI wire format. */
MSTATUS SSL_setServerNameList(sbyte4 connectionInstance, ubyte *pServerNameList,
                              ubyte4 serverNameListLen) NKTLS_LEGACY_(SSL_setServerNameList);
MSTATUS SSL_getCookie(sbyte4 connectionInstance, sbyte8 *pCookie) NKTLS_LEGACY_(SSL_getCookie);
MSTATUS SSL_setCookie(sbyte4 connectionInstance, sbyte8 cookie) NKTLS_LEGACY_(SSL_setCookie);
MSTATUS SSL_getSocketId(sbyte4 connectionInstance, sbyte4 *pRetSocket) NKTLS_LEGACY_(SSL_getSocketId);
#undef NKTLS_LEGACY_
#endif

#ifdef __cplusplus
}
#endif

#endif
