/* handshake/dtls12_frag.h — DTLS 1.2 handshake messages in fragments (RFC
 * 6347 §4.2.2, §4.2.3): the 12-byte header, the reassembler that delivers
 * messages in message_seq order whatever order, duplication and overlap
 * their fragments came in, the writer that cuts a message to a payload size,
 * and a message's bytes as the transcript hashes them (§4.2.6). Standalone:
 * the DTLS handshake keeps one reassembler beside its state. */
#ifndef NK_HS_DTLS12_FRAG_H
#define NK_HS_DTLS12_FRAG_H

#include "core/nk.h"
#include "core/wire.h"
#include "core/limits.h"

/* msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3) */
#define NK_DTLS_HS_HDR 12
/* The most message_seq values a reassembler holds (limits.dtls_hs_window
 * is capped at it). */
#define NK_DTLS_HS_WINDOW_MAX 16
/* The default handshake payload per record: below any path's MTU
 * once IP, UDP and the record's own bytes are added. */
#define NK_DTLS_FRAG_PAYLOAD 1200

/* One fragment as it came. */
struct nk_dtls_frag {
    uint8_t type;
    uint32_t len;          /* the whole message's body length */
    uint16_t seq;          /* message_seq */
    uint32_t off, flen;    /* fragment_offset, fragment_length */
    const uint8_t *data;   /* flen bytes */
};

/* Positive results of nk_dtls_reasm_add (never errors). */
#define NK_DTLS_MSG_READY ((MSTATUS)8)   /* the next message is whole: nk_dtls_reasm_next */
#define NK_DTLS_MSG_OLD ((MSTATUS)9)     /* message_seq < next_receive_seq: a retransmission, discarded */
#define NK_DTLS_MSG_AHEAD ((MSTATUS)10)  /* past the window or the budget: discarded */
/* nk_dtls_reasm_next: no whole message is next. */
#define NK_DTLS_MSG_NONE ((MSTATUS)11)

struct nk_dtls_msg {
    uint8_t *buf;          /* header (transcript form), body, then the map; NULL: free */
    uint32_t len, have;    /* body length; body bytes received */
};

struct nk_dtls_reasm {
    const struct nk_limits *lim;
    uint32_t next_seq;     /* next_receive_seq (§4.2.2) */
    uint32_t held;         /* bytes allocated, the message handed out last included */
    struct nk_dtls_msg slot[NK_DTLS_HS_WINDOW_MAX];   /* message_seq s at slot[s % MAX] */
    uint8_t *out;          /* the message nk_dtls_reasm_next handed out; freed at the next call */
    uint32_t out_held;
};

/* Read one fragment: the header and fragment_length bytes. ERR_SSL_PROTOCOL
 * (decode_error) when the bytes end early or the fragment reaches past the
 * message's length. */
MSTATUS nk_dtls_frag_read(struct nk_rd *r, struct nk_dtls_frag *f) NK_MUST;

/* Part of a message, or a message ahead of next_receive_seq, is held. */
static inline int nk_dtls_reasm_pending(const struct nk_dtls_reasm *ra)
{
    return ra->held > ra->out_held;
}

/* lim stays the caller's (a connection's c->cfg->limits). */
void nk_dtls_reasm_init(struct nk_dtls_reasm *ra, const struct nk_limits *lim);
void nk_dtls_reasm_free(struct nk_dtls_reasm *ra);

/* Take one fragment. OK: held (or a duplicate), nothing new is whole;
 * NK_DTLS_MSG_READY; NK_DTLS_MSG_OLD (§4.2.4: the caller may answer with its
 * last flight); NK_DTLS_MSG_AHEAD. Refused (the state unchanged unless
 * said): ERR_SSL_MESSAGE_TOO_LONG, a length over the type's limit
 * (limits.cert_message for Certificate, limits.hs_message for the rest);
 * ERR_SSL_ILLEGAL_PARAMETER, a type, length or bytes that differ from what
 * came before for the same message_seq — the partial message is discarded,
 * so a retransmission can rebuild it; ERR_SSL_HANDSHAKE_MEMORY, the next
 * message alone is over limits.dtls_reasm; ERR_MEM_ALLOC_FAIL. */
MSTATUS nk_dtls_reasm_add(struct nk_dtls_reasm *ra, const struct nk_dtls_frag *f) NK_MUST;

/* OK and the next message, whole, in its transcript form (the header with
 * fragment_offset 0 and fragment_length = length, then the body): [*msg,
 * *msg + *n), valid until the next call on ra; next_receive_seq moves on.
 * NK_DTLS_MSG_NONE when the next message is not whole yet. */
MSTATUS nk_dtls_reasm_next(struct nk_dtls_reasm *ra, const uint8_t **msg, size_t *n) NK_MUST;

/* Append the fragment of a message (type, message_seq, body of len bytes)
 * that starts at body offset off and takes at most max bytes, header
 * included (§4.2.3); *taken: the body bytes it carries. A message of no
 * body is one fragment of none. ERR_INVALID_ARG: max <= 12 (with a body
 * left), off > len, len >= 2^24. */
MSTATUS nk_dtls_frag_put(struct nk_buf *out, uint8_t type, uint16_t seq, const uint8_t *body, uint32_t len,
                         uint32_t off, size_t max, uint32_t *taken) NK_MUST;

/* §4.2.6: the bytes the transcript hashes for a message, "as if each
 * handshake message had been sent as a single fragment". */
MSTATUS nk_dtls_transcript_msg(struct nk_buf *out, uint8_t type, uint16_t seq, const uint8_t *body,
                               uint32_t len) NK_MUST;

#endif
