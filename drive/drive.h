/* drive/drive.h — the blocking driver: the engine over a blocking socket (or
 * the application's own transport), with the kernel record layer switched in
 * after the handshake where there is a socket (drive/blocking.c,
 * drive/ktls_blocking.c). */
#ifndef NK_DRIVE_H
#define NK_DRIVE_H

#include "engine/conn.h"

/* Carry the connection over the application's calls instead of its socket
 * (NULL: the socket again); before the handshake only (ERR_SSL_BAD_STATE), and
 * never on an asynchronous connection. */
MSTATUS nk_drive_set_transport(struct nk_conn *c, const nktlsTransport *t) NK_MUST;
MSTATUS nk_drive_flush(struct nk_conn *c) NK_MUST;
MSTATUS nk_drive_handshake(struct nk_conn *c) NK_MUST;
/* Either driver, whenever it may have begun a TLS 1.2 renegotiation (a record
 * fed, SSL_initiateRehandshake, a send): one that began since gets
 * sslTimeOutHello from now, as a first handshake does (drive/async.c). */
void nk_drive_reneg_clock(struct nk_conn *c);
/* Receive application data, waiting up to timeout_ms (0: forever); a
 * renegotiation running meanwhile fails the connection with
 * ERR_SSL_HANDSHAKE_TIMEOUT at its deadline. */
MSTATUS nk_drive_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, ubyte4 timeout_ms) NK_MUST;

/* DTLS 1.2 over a connected UDP socket (drive/dtls_blocking.c): a
 * connection on a datagram socket becomes a DTLS one; the handshake, sending
 * what is queued, receiving, as the calls above for TLS. */
MSTATUS nk_drive_dtls_adopt(struct nk_conn *c) NK_MUST;
int nk_drive_is_datagram(int fd);
MSTATUS nk_drive_dtls_handshake(struct nk_conn *c) NK_MUST;
MSTATUS nk_drive_dtls_flush(struct nk_conn *c) NK_MUST;
MSTATUS nk_drive_dtls_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, ubyte4 timeout_ms) NK_MUST;
/* SSL_send on an open DTLS connection: in records, or, on a DTLS-SRTP one
 * with SSL_setSrtpEncodeCallback set, as the one SRTP packet the callback
 * makes of it, sent as a datagram of its own (engine/dtls_srtp.c); the
 * callback's error is returned and the connection stays usable. */
MSTATUS nk_drive_dtls_send(struct nk_conn *c, const uint8_t *buf, size_t len) NK_MUST;

/* Once the kernel carries records (drive/ktls_blocking.c). */
/* Send the plaintext records the engine queued, each with its type. */
MSTATUS nk_drive_ktls_flush(struct nk_conn *c) NK_MUST;
/* Application data straight to the kernel, after whatever is queued. */
MSTATUS nk_drive_ktls_send(struct nk_conn *c, const uint8_t *d, size_t n) NK_MUST;
/* Receive application data into buf (at most cap bytes), feeding non-data
 * records to the engine; waits up to timeout_ms (< 0: forever). */
MSTATUS nk_drive_ktls_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, int64_t timeout_ms) NK_MUST;
/* A file range to the peer: by sendfile under kernel TX, else read and
 * encrypted 64 KiB at a time. */
MSTATUS nk_drive_sendfile(struct nk_conn *c, int fd, int64_t off, uint64_t len, uint64_t *sent) NK_MUST;

#endif
