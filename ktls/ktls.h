/* ktls/ktls.h — kernel TLS offload: probe, key installation and rekey, and the
 * control-message helpers the drivers use once the kernel carries a direction
 * (the waiting is theirs: drive/, uring/). */
#ifndef NK_KTLS_H
#define NK_KTLS_H

#include <sys/socket.h>
#include <linux/tls.h>
#include "engine/conn.h"

/* Probed once per process. */
const char *nk_ktls_unavailable_reason(void);   /* NULL when the tls ULP attaches */
/* A connection's tx_why/rx_why as text (NULL: not decided). */
const char *nk_ktls_why(uint8_t code);
int nk_ktls_can_rekey(void);
/* True when the kernel can never carry this connection's RX, whatever the
 * handshake brings (offload off, an application transport, no tls module):
 * then nothing read is ever handed over, and the handshake may read ahead
 * of its records. */
int nk_ktls_rx_never(const struct nk_conn *c);

/* After the handshake, with every handshake byte sent and no input read ahead:
 * hand the keys to the kernel as mode and policy allow. ERR_SSL_KTLS_UNAVAILABLE
 * only in REQUIRE mode; otherwise a refusal leaves that direction in software
 * with its reason recorded. */
MSTATUS nk_ktls_offload(struct nk_conn *c) NK_MUST;
/* Give the kernel the next key for a direction (0 = RX, 1 = TX) after a KeyUpdate. */
MSTATUS nk_ktls_rekey(struct nk_conn *c, int tx) NK_MUST;

/* One crypto_info for every suite the kernel knows, filled from the suite table
 * row (nk_suite.ktls_cipher) and the record layer's exported key. */
union nk_ktls_crypto_info {
    struct tls_crypto_info info;
    struct tls12_crypto_info_aes_gcm_128 gcm128;
    struct tls12_crypto_info_aes_gcm_256 gcm256;
    struct tls12_crypto_info_aes_ccm_128 ccm128;
    struct tls12_crypto_info_chacha20_poly1305 chacha;
};
/* The crypto_info that hands the kernel key object k of suite s on a
 * connection of protocol version 3.minor: TLS 1.3 for a TLS 1.3 key or one
 * nk_rec_derive made, TLS 1.2 for a TLS 1.2 AEAD key (record/tls12.c).
 * Returns its size; 0 (nothing to hand over) when the kernel has no such
 * cipher or the key, suite and version disagree. The caller wipes ci. */
size_t nk_ktls_crypto_info(union nk_ktls_crypto_info *ci, int minor, const struct nk_suite *s,
                           const struct nk_rec_key *k);

/* A non-data record the kernel decrypted: to the engine, then the kernel's
 * next read key when it was a KeyUpdate. */
MSTATUS nk_ktls_in_record(struct nk_conn *c, uint8_t type, const uint8_t *d, size_t n) NK_MUST;

/* Kernel TX: a KeyUpdate announcing our next key has left under the old one:
 * give the kernel the new key now. */
MSTATUS nk_ktls_tx_rekey_now(struct nk_conn *c) NK_MUST;

/* ---- control-message I/O (ktls/ktls_io.c), for every driver ---- */

/* Room for the control message that carries one record type. */
#define NK_KTLS_CTL_LEN CMSG_SPACE(sizeof(uint8_t))
union nk_ktls_ctl {
    char b[NK_KTLS_CTL_LEN];
    struct cmsghdr align;
};

/* Kernel TX: the engine queues plaintext records. Aim m at the bodies of those
 * at the front of [p, p + n): consecutive application data records together,
 * a record of another type alone, with its type in a control message. m comes
 * with msg_iov and msg_iovlen (the most iovecs to fill) and msg_control and
 * msg_controllen (NK_KTLS_CTL_LEN bytes, aligned as a cmsghdr); they are set to
 * what to send. *span: the bytes of the buffer the records take, headers
 * included. ERR_SSL_INTERNAL when [p, p + n) holds no whole record. */
MSTATUS nk_ktls_tx_msg(struct msghdr *m, uint8_t *p, size_t n, size_t *span) NK_MUST;
/* sent body bytes of the records at p (n bytes) left: returns how many bytes of
 * the buffer are done with. A record left partly sent gets a header written in
 * front of its rest, so the rest goes out later with the same type. */
size_t nk_ktls_tx_sent(uint8_t *p, size_t n, size_t sent);

/* Kernel RX: one recvmsg into buf of (part of) one record's plaintext; *type
 * is its type (application data when the kernel adds none), *lost set when the
 * control message was cut short, so the type is unknown. Returns the bytes
 * read, 0 at the end of the stream, or -errno. */
ssize_t nk_ktls_recv_typed(int fd, void *buf, size_t cap, int flags, uint8_t *type, int *lost);
/* A receive under kernel RX failed with errno err: the error for it, with the
 * socket error the kernel parks after a failed decryption collected, so that
 * the alert can still be sent. */
MSTATUS nk_ktls_recv_failed(int fd, int err) NK_MUST;

#endif
