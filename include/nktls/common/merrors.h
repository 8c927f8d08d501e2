/* merrors.h — status codes. Values are part of the API: applications compare them,
 * so a value is never reused or changed. MERROR_lookUpErrorCode() names each one. */
#ifndef NKTLS_MERRORS_H
#define NKTLS_MERRORS_H

#include "common/mtypes.h"

/* NKTLS_ERROR_LIST(X): X(name, value, text) for every code; one list feeds the enum,
 * the name table (MERROR_lookUpErrorCode) and the sentences (NKTLS_errorText), so
 * they can never disagree. A text says what happened in words a user can act on. */
#define NKTLS_ERROR_LIST(X) \
    X(OK,                                        0, "success") \
    X(ERR_TCP_SOCKET_CLOSED,                 -5901, "the peer closed the TCP connection (without close_notify: the data may be cut short)") \
    X(ERR_TCP_READ_ERROR,                    -5902, "reading from the socket failed (connection reset by the peer?)") \
    X(ERR_TCP_READ_TIMEOUT,                  -5904, "timed out waiting for the peer") \
    X(ERR_TCP_WRITE_ERROR,                   -5905, "writing to the socket failed (the peer closed or reset the connection?)") \
    X(ERR_TCP_LISTEN_SOCKET_ERROR,           -5908, "cannot make a listening socket") \
    X(ERR_TCP_LISTEN_BIND_ERROR,             -5909, "cannot bind the listening port (in use?)") \
    X(ERR_TCP_LISTEN_ERROR,                  -5910, "listen failed") \
    X(ERR_TCP_ACCEPT_ERROR,                  -5911, "accept failed or timed out") \
    X(ERR_TCP_SOCKOPT_ERROR,                 -5912, "cannot set a socket option") \
    X(ERR_TCP_CONNECT_CREATE,                -5913, "cannot make a socket to connect with") \
    X(ERR_TCP_CONNECT_ERROR,                 -5914, "connect failed") \
    X(ERR_TCP_GETSOCKNAME,                   -5916, "no peer address (not a connected TCP/IP socket)") \
    X(ERR_TCP_WOULDBLOCK,                    -5923, "operation would block") \
    X(ERR_TCP_CONNECT_INPROGRESS,            -5925, "connect did not complete within the timeout") \
    X(ERR_TCP_SOCKET_CLOSE_FAIL,             -5926, "close failed (not an open socket)") \
    X(ERR_TCP_BAD_ADDRESS,                   -5927, "not a numeric IPv4 or IPv6 address") \
    X(ERR_GENERAL,                           -6000, "general error") \
    X(ERR_NULL_POINTER,                      -6001, "null pointer argument") \
    X(ERR_INVALID_ARG,                       -6002, "invalid argument") \
    X(ERR_BUFFER_TOO_SMALL,                  -6003, "buffer too small") \
    X(ERR_NOT_SUPPORTED,                     -6004, "not supported") \
    X(ERR_FILE_OPEN_FAILED,                  -6010, "cannot open the file (errno says why: missing, or no permission)") \
    X(ERR_FILE_READ_FAILED,                  -6011, "cannot read the file") \
    X(ERR_FILE_WRITE_FAILED,                 -6012, "cannot write file") \
    X(ERR_FILE_EOF,                          -6013, "file ended before the requested range") \
    X(ERR_MEM_ALLOC_FAIL,                    -6101, "out of memory") \
    X(ERR_CRYPTO,                            -6200, "cryptographic library failure") \
    X(ERR_SSL,                               -7500, "TLS error") \
    X(ERR_SSL_TOO_MANY_CONNECTIONS,          -7501, "connection table full") \
    X(ERR_SSL_NOT_INITIALIZED,               -7502, "SSL_init has not been called") \
    X(ERR_SSL_BAD_ID,                        -7503, "bad or stale connection instance") \
    X(ERR_SSL_BAD_STATE,                     -7510, "call not valid in this connection state") \
    X(ERR_SSL_NOT_OPEN,                      -7511, "connection not open") \
    X(ERR_SSL_NO_CIPHER_MATCH,               -7512, "no cipher suite in common: check --ciphers on both sides") \
    X(ERR_SSL_CERT_VALIDATION_FAILED,        -7513, "the peer's certificate could not be verified") \
    X(ERR_SSL_PROTOCOL,                      -7514, "the peer sent a malformed message (decode_error)") \
    X(ERR_SSL_UNEXPECTED_MESSAGE,            -7515, "unexpected message") \
    X(ERR_SSL_BAD_RECORD_MAC,                -7516, "record failed authentication (bad_record_mac)") \
    X(ERR_SSL_RECORD_OVERFLOW,               -7517, "record too large") \
    X(ERR_SSL_ILLEGAL_PARAMETER,             -7518, "illegal parameter") \
    X(ERR_SSL_HANDSHAKE_FAILURE,             -7519, "handshake failure") \
    X(ERR_SSL_UNSUPPORTED_VERSION,           -7520, "no TLS version in common: the two sides allow different versions") \
    X(ERR_SSL_NO_GROUP_MATCH,                -7521, "no key exchange group in common: check --groups on both sides") \
    X(ERR_SSL_BAD_FINISHED,                  -7522, "Finished verify_data mismatch") \
    X(ERR_SSL_BAD_SIGNATURE,                 -7523, "CertificateVerify signature invalid") \
    X(ERR_SSL_MISSING_EXTENSION,             -7524, "required extension missing") \
    X(ERR_SSL_UNSUPPORTED_EXTENSION,         -7525, "extension not allowed here") \
    X(ERR_SSL_NO_SIGALG_MATCH,               -7526, "no signature scheme in common for the certificate's key") \
    X(ERR_SSL_PROTOCOL_PROCESS_CERTIFICATE,  -7527, "bad certificate message") \
    X(ERR_SSL_NO_APPLICATION_PROTOCOL,       -7528, "no application protocol (ALPN) in common") \
    X(ERR_SSL_CERTIFICATE_REQUIRED,          -7529, "peer sent no certificate but one is required") \
    X(ERR_SSL_DOWNGRADE_DETECTED,            -7530, "downgrade sentinel found in ServerHello.random") \
    X(ERR_SSL_SEQUENCE_EXHAUSTED,            -7531, "record sequence number or AEAD limit reached") \
    X(ERR_SSL_INTERNAL,                      -7532, "internal error") \
    X(ERR_SSL_UNRECOGNIZED_NAME,             -7533, "server name not recognised") \
    X(ERR_SSL_NO_IDENTITY,                   -7534, "no certificate/key to authenticate with") \
    X(ERR_SSL_CONNECTION_CLOSED,             -7535, "peer sent close_notify") \
    X(ERR_SSL_HANDSHAKE_TIMEOUT,             -7536, "handshake timed out") \
    X(ERR_SSL_INSUFFICIENT_SECURITY,         -7537, "peer offered only insecure parameters") \
    X(ERR_SSL_FATAL_ALERT,                   -7538, "the peer ended the handshake with a fatal alert") \
    X(ERR_SSL_KEY_UPDATE_LIMIT,              -7539, "too many KeyUpdate messages") \
    X(ERR_SSL_BAD_KEY_SHARE,                 -7540, "invalid key share") \
    X(ERR_SSL_KTLS_UNAVAILABLE,              -7541, "kernel TLS is required but this kernel cannot take the keys (no tls module?)") \
    X(ERR_SSL_KTLS_NO_REKEY,                 -7542, "KeyUpdate needs a kernel rekey this kernel cannot do") \
    X(ERR_SSL_BAD_BINDER,                    -7543, "PSK binder does not verify") \
    X(ERR_SSL_MESSAGE_TOO_LONG,              -7544, "handshake message longer than its type allows") \
    X(ERR_SSL_EARLY_DATA_LIMIT,              -7545, "more 0-RTT data than allowed (the ticket's max_early_data_size, or the limit on skipped data)") \
    X(ERR_SSL_BUFFER_LIMIT,                  -7546, "receive buffer limit reached") \
    X(ERR_SSL_HANDSHAKE_MEMORY,              -7547, "process-wide handshake memory budget spent") \
    X(ERR_SSL_NOT_TLS,                       -7548, "the peer is not speaking TLS (a plain-text port?)") \
    X(ERR_SSL_BAD_DH_VALUE,                  -7550, "the peer's Diffie-Hellman public value is out of range (1 < Y < p-1)") \
    X(ERR_SSL_INAPPROPRIATE_FALLBACK,        -7555, "the client fell back to an older TLS version than both ends support") \
    X(ERR_SSL_SIGALG_NOT_OFFERED,            -7556, "the peer signed with a signature scheme we did not offer") \
    X(ERR_SSL_RENEGOTIATION_INSECURE,        -7560, "the peer did not signal secure renegotiation (RFC 5746), so this connection is never renegotiated") \
    X(ERR_SSL_RENEGOTIATION_TLS13,           -7561, "TLS 1.3 has no renegotiation: SSL_sendKeyUpdateRequest renews its keys") \
    X(ERR_SSL_RENEGOTIATION_KTLS,            -7562, "the kernel carries this TLS 1.2 connection's records and cannot take a renegotiation's new keys") \
    X(ERR_SSL_RENEGOTIATION_DISABLED,        -7563, "renegotiation asked by the peer is not enabled here, or the application declined it") \
    X(ERR_SSL_RENEGOTIATION_LIMIT,           -7564, "the peer asked to renegotiate more often than the per-minute limit allows") \
    X(ERR_SSL_HEARTBEAT_IN_FLIGHT,           -7565, "our heartbeat request is still unanswered (RFC 6520: one at a time)") \
    X(ERR_SSL_HEARTBEAT_REFUSED,             -7566, "the peer does not take heartbeat requests (no heartbeat extension agreed, or peer_not_allowed_to_send)") \
    X(ERR_SSL_VERSION_REFUSED,               -7567, "the application's version callback refused the TLS version this handshake settled on") \
    X(ERR_FIPS_MODULE_UNAVAILABLE,           -7568, "FIPS mode needs libcrypto's FIPS provider (fips.so), which is not installed: FIPS mode stays off") \
    X(ERR_SSL_EXTERNAL_SIGNER,               -7570, "the application's CertificateVerify signer (funcPtrMutualAuthCertificateVerify) failed or returned too long a signature") \
    X(ERR_SSL_NO_PRIVATE_KEY,                -7571, "the client identity has no private key, and funcPtrMutualAuthCertificateVerify is not set to sign for it") \
    X(ERR_SSL_UNKNOWN_PSK_IDENTITY,          -7575, "the client named a PSK identity the server does not know") \
    X(ERR_SSL_NO_PSK,                        -7576, "a PSK suite was chosen but the client has no PSK to offer") \
    X(ERR_SSL_EARLY_DATA_REPLAY,             -7580, "0-RTT data refused: this ClientHello was seen before, or the anti-replay register is full") \
    X(ERR_SSL_EARLY_DATA_DOWNGRADE,          -7581, "the server answered our 0-RTT data with TLS 1.2 or older (RFC 8446 D.3 ends the connection)") \
    X(ERR_SSL_SRTP_ENCODE_EMPTY,             -7585, "the SRTP encode callback (SSL_setSrtpEncodeCallback) returned OK but no packet") \
    X(ERR_TICKET_KEYS_FORMAT,                -7590, "the ticket key file is malformed (the log names the line)") \
    X(ERR_SRTP_AUTH_FAILED,                  -7600, "the SRTP/SRTCP packet failed authentication (or came under another key)") \
    X(ERR_SRTP_REPLAY,                       -7601, "the SRTP/SRTCP packet was replayed or is older than the replay window") \
    X(ERR_SRTP_MALFORMED,                    -7602, "the SRTP/SRTCP packet is too short, too long or not RTP version 2") \
    X(ERR_SRTP_TOO_MANY_STREAMS,             -7603, "the SRTP session holds as many SSRCs as its limit allows") \
    X(ERR_SRTP_INDEX_EXHAUSTED,              -7604, "the SRTP/SRTCP packet index space is used up: a new master key is needed") \
    X(ERR_SSL_DATAGRAM_TOO_LONG,             -7610, "the message does not fit in one DTLS record within the path MTU (DTLS_SET_PMTU; NKTLS_DTLS_getMaxMessage): nothing was sent") \
    X(ERR_SSL_DTLS_NEW_ASSOCIATION,          -7615, "the DTLS peer began a new association from the same address and port (RFC 6347 4.2.8): this one was abandoned") \
    X(ERR_SSL_DATAGRAM_BUFFER_TOO_SMALL,     -7611, "the next DTLS datagram is longer than the buffer given (SSL_ASYNC_sendMessagePending says how long): it stays queued") \
    X(ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY, -14317, "the peer's certificate chain does not end at a trusted CA") \
    X(ERR_SSLCC_NO_SELF_SIGNED_CERTIFICATES, -14318, "the peer's self-signed certificate is not trusted") \
    X(ERR_CERT_EXPIRED,                     -14319, "the certificate has expired") \
    X(ERR_CERT_NOT_YET_VALID,               -14320, "the certificate is not valid yet (check the clock)") \
    X(ERR_CERT_HOSTNAME_MISMATCH,           -14321, "the certificate is not for the host name asked for") \
    X(ERR_CERT_BAD_SIGNATURE,               -14322, "certificate signature invalid") \
    X(ERR_CERT_KEY_TOO_SMALL,               -14323, "certificate public key too small") \
    X(ERR_CERT_INVALID,                     -14324, "certificate invalid") \
    X(ERR_CERT_DECODE,                      -14325, "certificate cannot be decoded") \
    X(ERR_CERT_BAD_KEY_BLOB,                -14326, "private key cannot be decoded") \
    X(ERR_CERT_UNSUPPORTED_KEY,             -14327, "unsupported key type") \
    X(ERR_CERT_KEY_MISMATCH,                -14328, "the private key does not belong to the certificate") \
    X(ERR_CERT_SHA1_SIGNATURE,              -14329, "certificate signed with SHA-1") \
    X(ERR_CERT_KEY_USAGE,                   -14330, "certificate key usage does not allow this role") \
    X(ERR_CERT_REVOKED,                     -14331, "the certificate is revoked (its stapled OCSP response says so)") \
    X(ERR_CERT_STATUS,                      -14332, "the server stapled no acceptable OCSP response for its certificate")

#define NKTLS_ERROR_ENUM_(name, value, text) name = (value),
enum nktlsStatus { NKTLS_ERROR_LIST(NKTLS_ERROR_ENUM_) };
#undef NKTLS_ERROR_ENUM_
#define MSTATUS enum nktlsStatus
typedef enum nktlsStatus MSTATUS_ENUM;

/* Legacy spellings. */
#define ERR_SSL_UNKNOWN_CERTIFICATE_AUTHORITY ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY
#define ERR_SSL_NO_SELF_SIGNED_CERTIFICATES   ERR_SSLCC_NO_SELF_SIGNED_CERTIFICATES

#define OK_STATUS(s) ((s) >= 0)

#endif
