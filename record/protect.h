/* record/protect.h — what the protections (record/plain.c, record/tls13.c,
 * record/tls12.c) share inside record/: the TLS record header (RFC 8446 §5.1,
 * RFC 5246 §6.2.1). */
#ifndef NK_RECORD_PROTECT_H
#define NK_RECORD_PROTECT_H

#include "record/record.h"
#include "core/wire.h"

/* struct {
 *     ContentType type;
 *     ProtocolVersion legacy_record_version;
 *     uint16 length;
 * } — the fields of TLSPlaintext and TLSCiphertext before the body. */
MSTATUS nk_rec_tls_parse(struct nk_rd *r, struct nk_rec *rec) NK_MUST;
void nk_rec_tls_header(struct nk_wr *w, const struct nk_rec_key *k, uint8_t type, uint16_t version, size_t n);

#endif
