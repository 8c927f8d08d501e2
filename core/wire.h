/* core/wire.h — the only way to read peer bytes, and the writer that builds
 * messages. Readers are bounds-checked; every failure is ERR_SSL_PROTOCOL
 * (decode_error). Writers reserve length prefixes and patch them; their first
 * error is sticky and reported by nk_wr_status(). */
#ifndef NK_WIRE_H
#define NK_WIRE_H

#include "core/nk.h"

struct nk_rd {
    const uint8_t *p, *end;
};

static inline void nk_rd_init(struct nk_rd *r, const uint8_t *p, size_t n)
{
    r->p = p;
    r->end = n ? p + n : p;   /* an empty reader may have no buffer: no arithmetic on NULL */
}
static inline size_t nk_rd_left(const struct nk_rd *r) { return (size_t)(r->end - r->p); }

MSTATUS nk_rd_u8(struct nk_rd *r, uint8_t *v) NK_MUST;
MSTATUS nk_rd_u16(struct nk_rd *r, uint16_t *v) NK_MUST;
MSTATUS nk_rd_u24(struct nk_rd *r, uint32_t *v) NK_MUST;
MSTATUS nk_rd_u32(struct nk_rd *r, uint32_t *v) NK_MUST;
/* Does r (a copy: it is not moved), read as uint16 values, hold v? */
int nk_rd_has_u16(struct nk_rd r, uint16_t v);
MSTATUS nk_rd_bytes(struct nk_rd *r, size_t n, const uint8_t **v) NK_MUST;
MSTATUS nk_rd_copy(struct nk_rd *r, void *dst, size_t n) NK_MUST;
/* Sub-reader over a length-prefixed vector; min/max are the RFC bounds on its length. */
MSTATUS nk_rd_vec8(struct nk_rd *r, struct nk_rd *sub, size_t min, size_t max) NK_MUST;
MSTATUS nk_rd_vec16(struct nk_rd *r, struct nk_rd *sub, size_t min, size_t max) NK_MUST;
MSTATUS nk_rd_vec24(struct nk_rd *r, struct nk_rd *sub, size_t min, size_t max) NK_MUST;
/* Bytes left over => decode_error. */
MSTATUS nk_rd_done(const struct nk_rd *r) NK_MUST;

struct nk_wr {
    struct nk_buf *b;
    MSTATUS err;
};

static inline void nk_wr_init(struct nk_wr *w, struct nk_buf *b) { w->b = b; w->err = OK; }
static inline MSTATUS nk_wr_status(const struct nk_wr *w) { return w->err; }
void nk_wr_u8(struct nk_wr *w, uint8_t v);
void nk_wr_u16(struct nk_wr *w, uint16_t v);
void nk_wr_u24(struct nk_wr *w, uint32_t v);
void nk_wr_u32(struct nk_wr *w, uint32_t v);
void nk_wr_bytes(struct nk_wr *w, const void *d, size_t n);
/* Reserve space and return a pointer to fill (NULL after an error). */
uint8_t *nk_wr_space(struct nk_wr *w, size_t n);
/* Open a length prefix of 1, 2 or 3 bytes; returns its position for nk_wr_close. */
size_t nk_wr_open(struct nk_wr *w, int prefix_bytes);
void nk_wr_close(struct nk_wr *w, size_t pos, int prefix_bytes);

static inline uint16_t nk_load16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t nk_load24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline void nk_store16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void nk_store24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v;
}

#endif
