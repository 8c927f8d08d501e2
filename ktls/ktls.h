/* ktls/ktls.h — kernel TLS offload: probe, key installation, and the I/O that
 * replaces the software record layer once the kernel carries a direction. */
#ifndef NK_KTLS_H
#define NK_KTLS_H

#include "engine/conn.h"

/* Probed once per process. */
const char *nk_ktls_unavailable_reason(void);   /* NULL when the tls ULP attaches */
/* A connection's tx_why/rx_why as text (NULL: not decided). */
const char *nk_ktls_why(uint8_t code);
int nk_ktls_can_rekey(void);

/* After the handshake, with every handshake byte sent and no input read ahead:
 * hand the keys to the kernel as mode and policy allow. ERR_SSL_KTLS_UNAVAILABLE
 * only in REQUIRE mode; otherwise a refusal leaves that direction in software
 * with its reason recorded. */
MSTATUS nk_ktls_offload(struct nk_conn *c) NK_MUST;
/* Give the kernel the next key for a direction (0 = RX, 1 = TX) after a KeyUpdate. */
MSTATUS nk_ktls_rekey(struct nk_conn *c, int tx) NK_MUST;

/* A non-data record the kernel decrypted: to the engine, then the kernel's
 * next read key when it was a KeyUpdate. */
MSTATUS nk_ktls_in_record(struct nk_conn *c, uint8_t type, const uint8_t *d, size_t n) NK_MUST;

/* I/O under offload (ktls/ktls_io.c). */
MSTATUS nk_ktls_flush(struct nk_conn *c) NK_MUST;
MSTATUS nk_ktls_send(struct nk_conn *c, const uint8_t *d, size_t n) NK_MUST;
/* Receive application data into buf (at most cap bytes), feeding non-data
 * records to the engine; waits up to timeout_ms (< 0: forever). */
MSTATUS nk_ktls_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, int64_t timeout_ms) NK_MUST;
MSTATUS nk_ktls_sendfile(struct nk_conn *c, int fd, int64_t off, uint64_t len, uint64_t *sent) NK_MUST;

#endif
