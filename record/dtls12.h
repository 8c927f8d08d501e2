/* record/dtls12.h — DTLS 1.2 records (RFC 6347 §4.1): the 13-byte header
 * with epoch and 48-bit sequence number, the walk over the records of one
 * datagram, the anti-replay window (§4.1.2.6), and opening with the reason a
 * record was dropped. Invalid records are dropped and counted, never fatal
 * (§4.1.2.7). The ops table itself is nk_rec_dtls12 (record/record.h). */
#ifndef NK_RECORD_DTLS12_H
#define NK_RECORD_DTLS12_H

#include "record/record.h"

/* §4.1: DTLS 1.2 is { 254, 253 }; a first ClientHello may say DTLS 1.0,
 * { 254, 255 } (§4.2.1: the version a client uses before it knows the
 * server's). */
#define NK_DTLS_V12 0xfefd
#define NK_DTLS_V10 0xfeff

/* type(1) version(2) epoch(2) sequence_number(6) length(2) */
#define NK_DTLS_HDR 13
#define NK_DTLS_SEQ_MAX ((1ULL << 48) - 1)

/* Why a record was dropped (§4.1.2.7: silently, counted). */
enum nk_dtls_drop {
    NK_DTLS_DROP_NONE = 0,
    NK_DTLS_DROP_TRUNCATED,   /* the datagram ends inside it: it and the rest are gone */
    NK_DTLS_DROP_TYPE,        /* no content type */
    NK_DTLS_DROP_VERSION,     /* not DTLS 1.2 (DTLS 1.0 too in epoch 0) */
    NK_DTLS_DROP_LENGTH,      /* over the limit, or too short for its protection */
    NK_DTLS_DROP_EPOCH,       /* neither the read epoch nor the next one */
    NK_DTLS_DROP_REPLAY,      /* received already, or left of the window */
    NK_DTLS_DROP_MAC,         /* failed authentication */
    NK_DTLS_DROP_COUNT
};

/* Positive results (never errors: NK_TRY lets them by). */
#define NK_DTLS_DROPPED ((MSTATUS)4)      /* the record is dropped; in->why says why */
#define NK_DTLS_NEXT_EPOCH ((MSTATUS)5)   /* of the read epoch + 1: the caller may keep it for its key */

/* §4.1.2.6: the 64-entry sliding window of one read epoch. next is the
 * highest sequence number that authenticated plus one (0: none yet); bit i
 * of bits stands for sequence number next - 1 - i. */
struct nk_dtls_window {
    uint64_t next;
    uint64_t bits;
    uint16_t epoch;
};

/* The read side of one connection beside its read key: the window of the
 * key's epoch and the count of dropped records per reason. */
struct nk_dtls_in {
    struct nk_dtls_window win;
    uint8_t why;                             /* enum nk_dtls_drop of the last drop */
    uint32_t drops[NK_DTLS_DROP_COUNT];
};

/* OK when seq may be new (right of the window, or in it and not yet seen);
 * NK_DTLS_DROPPED otherwise. Changes nothing: the check before decrypting. */
MSTATUS nk_dtls_window_check(const struct nk_dtls_window *w, uint64_t seq) NK_MUST;
/* seq authenticated: move the window (only then, §4.1.2.6). */
void nk_dtls_window_mark(struct nk_dtls_window *w, uint64_t seq);

/* The next record of a datagram: OK and a whole record whose header is
 * plausible (a content type, major version 254, length within the limit);
 * NK_DTLS_DROPPED for one that is not (in->why, counted), the walk going on
 * after it — or, when the datagram ends inside the record, at the end
 * (§4.1.1: a record never spans datagrams; rec then spans the bytes dropped,
 * its other fields zero); NK_REC_END when no byte is left.
 * w walks with nk_rec_dtls12 (nk_rec_walk_init). */
MSTATUS nk_dtls_walk_next(struct nk_rec_walk *w, struct nk_dtls_in *in, struct nk_rec *rec) NK_MUST;

/* Open a walked record in place under the read key k (its epoch; keyless in
 * epoch 0): OK, *type and [*data, *data + *n) the content; NK_DTLS_DROPPED
 * (in->why, counted): another epoch, a replay, a bad length or version, or a
 * failed authentication — the window moves only for records that
 * authenticate; NK_DTLS_NEXT_EPOCH: the record is of the next epoch and
 * untouched. A negative result is a local failure (memory, libcrypto). The
 * window restarts when k's epoch is not its own. */
MSTATUS nk_dtls_open(struct nk_rec_key *k, struct nk_dtls_in *in, struct nk_rec *rec, uint8_t *type,
                     uint8_t **data, size_t *n) NK_MUST;

/* Start k, which holds no AEAD context (new, or nk_rec_clear'ed), as the
 * keyless write or read state of epoch 0 (DTLSPlaintext). */
void nk_dtls_start(struct nk_rec_key *k);
/* The most content bytes one record of k's protection carries in room
 * datagram bytes (a PMTU less what the datagram holds already); 0 if none. */
size_t nk_dtls_room(const struct nk_rec_key *k, size_t room);

#endif
