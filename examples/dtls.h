/* examples/dtls.h — DTLS 1.2 for nktls-server --dtls and nktls-client --dtls:
 * UDP sockets, --srtp profiles, and the lines that report the SRTP profile
 * and the exported keying material (examples/dtls.c). */
#ifndef EX_DTLS_H
#define EX_DTLS_H

#include "common.h"

struct ex_dtls {
    int on;                      /* --dtls */
    ubyte2 srtp[4];              /* --srtp PROFILE[,PROFILE] */
    ubyte4 n_srtp;
    const char *keymat_label;    /* --keymatexport LABEL */
    ubyte2 keymat_len;           /* --keymatexportlen N (default 20) */
    long pmtu;                   /* --pmtu N: the largest datagram sent (0: the library's 1200) */
};

/* --srtp: SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32, SRTP_AEAD_AES_128_GCM,
 * SRTP_AEAD_AES_256_GCM, comma-separated. */
void ex_dtls_parse_srtp(struct ex_dtls *d, const char *list);
/* Before the handshake: the SRTP profiles, and the callback that prints the
 * profile agreed and its keying material ("SRTP profile: ...",
 * "SRTP keying material: HEX", on stderr). */
MSTATUS ex_dtls_setup(sbyte4 conn, const struct ex_dtls *d);
/* After it: "Keying material: HEX" (stderr) for --keymatexport. */
void ex_dtls_report(sbyte4 conn, const struct ex_dtls *d);
/* After SSL_recv returned ERR_TCP_WOULDBLOCK on a DTLS-SRTP connection: the
 * next datagram is not DTLS (RFC 7983: RTP, STUN...) and was left for us;
 * these programs carry no media, so it is read and dropped. */
void ex_dtls_drop_other(sbyte4 conn, int fd);
/* A UDP socket connected to host:port. */
int ex_dtls_connect(const char *host, const char *port);
/* A UDP socket bound to ADDR:PORT (the event loop serves DTLS on it). */
int ex_dtls_bind(const char *listen_arg);
/* A UDP socket bound to ADDR:PORT, connected to the first client that sends
 * to it (its datagram stays queued for the handshake). */
int ex_dtls_accept(const char *listen_arg, char *peer, size_t cap);

#endif
