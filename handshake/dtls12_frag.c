/* handshake/dtls12_frag.c — DTLS 1.2 handshake fragments (RFC 6347 §4.2.2,
 * §4.2.3): reading their header, reassembling messages in message_seq order,
 * cutting a message into fragments, and the transcript form (§4.2.6). Each
 * message being rebuilt holds one allocation: its header in transcript
 * form, its body, and one bit per body byte received. */
#include <stdlib.h>

#include "handshake/dtls12_frag.h"
#include "handshake/hs.h"

MSTATUS nk_dtls_frag_read(struct nk_rd *r, struct nk_dtls_frag *f)
{
    NK_TRY(nk_rd_u8(r, &f->type));
    NK_TRY(nk_rd_u24(r, &f->len));
    NK_TRY(nk_rd_u16(r, &f->seq));
    NK_TRY(nk_rd_u24(r, &f->off));
    NK_TRY(nk_rd_u24(r, &f->flen));
    /* §4.2.3: the ranges "MUST jointly contain the entire handshake
     * message" and no more: a fragment past the length is malformed. */
    NK_CHECK(f->off <= f->len && f->flen <= f->len - f->off, ERR_SSL_PROTOCOL);
    return nk_rd_bytes(r, f->flen, &f->data);
}

void nk_dtls_reasm_init(struct nk_dtls_reasm *ra, const struct nk_limits *lim)
{
    memset(ra, 0, sizeof *ra);
    ra->lim = lim;
}

/* The bytes one message takes: header, body, map. */
static uint32_t footprint(uint32_t len)
{
    return NK_DTLS_HS_HDR + len + (len + 7) / 8;
}

static void drop_msg(struct nk_dtls_reasm *ra, struct nk_dtls_msg *m)
{
    if (!m->buf)
        return;
    uint32_t n = footprint(m->len);
    nk_wipe(m->buf, n);
    free(m->buf);
    ra->held -= n;
    nk_hs_memory_give(n);
    memset(m, 0, sizeof *m);
}

/* The message handed out last is no longer the caller's. */
static void release_out(struct nk_dtls_reasm *ra)
{
    if (!ra->out)
        return;
    nk_wipe(ra->out, ra->out_held);
    free(ra->out);
    ra->held -= ra->out_held;
    nk_hs_memory_give(ra->out_held);
    ra->out = NULL;
    ra->out_held = 0;
}

void nk_dtls_reasm_free(struct nk_dtls_reasm *ra)
{
    release_out(ra);
    for (size_t i = 0; i < NK_DTLS_HS_WINDOW_MAX; i++)
        drop_msg(ra, &ra->slot[i]);
}

static uint32_t window(const struct nk_dtls_reasm *ra)
{
    uint32_t w = ra->lim->dtls_hs_window;
    return w < 1 ? 1 : w > NK_DTLS_HS_WINDOW_MAX ? NK_DTLS_HS_WINDOW_MAX : w;
}

/* The handshake's message size limits (core/limits.h) on the reassembled
 * length, checked from the first fragment, before anything is held. */
static MSTATUS check_len(const struct nk_dtls_reasm *ra, uint8_t type, uint32_t len)
{
    uint32_t max = type == NK_HS_CERTIFICATE ? ra->lim->cert_message : ra->lim->hs_message;
    NK_CHECK(len <= max, ERR_SSL_MESSAGE_TOO_LONG);
    return OK;
}

static void put_header(uint8_t *p, uint8_t type, uint32_t len, uint16_t seq, uint32_t off, uint32_t flen)
{
    p[0] = type;
    nk_store24(p + 1, len);
    nk_store16(p + 4, seq);
    nk_store24(p + 6, off);
    nk_store24(p + 9, flen);
}

/* A slot for the first fragment of message f->seq, ahead places after the
 * next one. Only the next message may push out the later ones to fit. */
static MSTATUS start_msg(struct nk_dtls_reasm *ra, struct nk_dtls_msg *m, const struct nk_dtls_frag *f,
                         uint32_t ahead)
{
    uint32_t need = footprint(f->len), budget = ra->lim->dtls_reasm;
    if (ra->held + need > budget) {
        /* §4.2.2: a later message "SHOULD" be queued "but MAY" be discarded. */
        if (ahead)
            return NK_DTLS_MSG_AHEAD;
        for (size_t i = 0; i < NK_DTLS_HS_WINDOW_MAX; i++)
            if (&ra->slot[i] != m)
                drop_msg(ra, &ra->slot[i]);
        /* Our own limit, not the peer's fault: internal_error. */
        NK_CHECK(ra->held + need <= budget, ERR_SSL_HANDSHAKE_MEMORY);
    }
    /* Every connection's reassembly together stays within the process's
     * handshake memory (NKTLS_LIMIT_HANDSHAKE_MEMORY), as TLS's does
     * (handshake/hs_input.c): a thousand peers each part way through a
     * large message cannot add up past it. Our own limit: internal_error. */
    NK_TRY(nk_hs_memory_take(need, ra->lim->hs_memory));
    m->buf = malloc(need);
    if (!m->buf) {
        nk_hs_memory_give(need);
        return ERR_MEM_ALLOC_FAIL;
    }
    ra->held += need;
    m->len = f->len;
    m->have = 0;
    put_header(m->buf, f->type, f->len, f->seq, 0, f->len);
    memset(m->buf + NK_DTLS_HS_HDR + f->len, 0, need - NK_DTLS_HS_HDR - f->len);
    return OK;
}

/* Copy a fragment's bytes in; bytes received before must be the same
 * (§4.2.3: overlapping ranges are handled, they carry the same message). */
static MSTATUS fill(struct nk_dtls_msg *m, const struct nk_dtls_frag *f)
{
    uint8_t *body = m->buf + NK_DTLS_HS_HDR, *map = body + m->len;
    for (uint32_t i = 0; i < f->flen; i++) {
        uint32_t at = f->off + i;
        uint8_t bit = (uint8_t)(1u << (at & 7));
        if (map[at >> 3] & bit) {
            NK_CHECK(body[at] == f->data[i], ERR_SSL_ILLEGAL_PARAMETER);
            continue;
        }
        body[at] = f->data[i];
        map[at >> 3] |= bit;
        m->have++;
    }
    return OK;
}

MSTATUS nk_dtls_reasm_add(struct nk_dtls_reasm *ra, const struct nk_dtls_frag *f)
{
    release_out(ra);
    /* §4.2.2: "If the sequence number is less than next_receive_seq, the
     * message MUST be discarded." */
    if (f->seq < ra->next_seq)
        return NK_DTLS_MSG_OLD;
    uint32_t ahead = f->seq - ra->next_seq;
    if (ahead >= window(ra))
        return NK_DTLS_MSG_AHEAD;
    NK_TRY(check_len(ra, f->type, f->len));
    struct nk_dtls_msg *m = &ra->slot[f->seq % NK_DTLS_HS_WINDOW_MAX];
    int was_whole = 0;   /* a duplicate of a whole message adds nothing */
    if (!m->buf) {
        MSTATUS st = start_msg(ra, m, f, ahead);
        if (st != OK)
            return st;
    } else if (m->buf[0] != f->type || m->len != f->len) {
        /* §4.2.3: "The length field in all messages is the same as the
         * length field of the original message." */
        drop_msg(ra, m);
        return ERR_SSL_ILLEGAL_PARAMETER;
    } else {
        was_whole = m->have == m->len;
    }
    MSTATUS st = fill(m, f);
    if (st < 0) {
        drop_msg(ra, m);
        return st;
    }
    /* Ready when this fragment completed the next message. */
    return ahead == 0 && m->have == m->len && !was_whole ? NK_DTLS_MSG_READY : OK;
}

MSTATUS nk_dtls_reasm_next(struct nk_dtls_reasm *ra, const uint8_t **msg, size_t *n)
{
    release_out(ra);
    /* message_seq is 16 bits: past 65535 nothing is next. */
    if (ra->next_seq > 0xffff)
        return NK_DTLS_MSG_NONE;
    struct nk_dtls_msg *m = &ra->slot[ra->next_seq % NK_DTLS_HS_WINDOW_MAX];
    if (!m->buf || m->have != m->len)
        return NK_DTLS_MSG_NONE;
    ra->out = m->buf;
    ra->out_held = footprint(m->len);
    *msg = m->buf;
    *n = NK_DTLS_HS_HDR + (size_t)m->len;
    memset(m, 0, sizeof *m);
    ra->next_seq++;
    return OK;
}

MSTATUS nk_dtls_frag_put(struct nk_buf *out, uint8_t type, uint16_t seq, const uint8_t *body, uint32_t len,
                         uint32_t off, size_t max, uint32_t *taken)
{
    NK_CHECK(len < 1u << 24 && off <= len, ERR_INVALID_ARG);
    NK_CHECK(max > NK_DTLS_HS_HDR || (max == NK_DTLS_HS_HDR && off == len), ERR_INVALID_ARG);
    size_t room = max - NK_DTLS_HS_HDR;
    uint32_t n = len - off < room ? len - off : (uint32_t)room;
    NK_TRY(nk_buf_reserve(out, NK_DTLS_HS_HDR + n));
    put_header(out->p + out->len, type, len, seq, off, n);
    if (n)
        memcpy(out->p + out->len + NK_DTLS_HS_HDR, body + off, n);
    nk_buf_wrote(out, NK_DTLS_HS_HDR + n);
    *taken = n;
    return OK;
}

MSTATUS nk_dtls_transcript_msg(struct nk_buf *out, uint8_t type, uint16_t seq, const uint8_t *body,
                               uint32_t len)
{
    uint32_t taken;
    return nk_dtls_frag_put(out, type, seq, body, len, 0, NK_DTLS_HS_HDR + (size_t)len, &taken);
}
