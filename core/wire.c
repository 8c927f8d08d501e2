/* core/wire.c — bounds-checked reader and length-patching writer. */
#include "core/wire.h"

MSTATUS nk_rd_bytes(struct nk_rd *r, size_t n, const uint8_t **v)
{
    NK_CHECK(nk_rd_left(r) >= n, ERR_SSL_PROTOCOL);
    *v = r->p;
    r->p += n;
    return OK;
}

MSTATUS nk_rd_copy(struct nk_rd *r, void *dst, size_t n)
{
    const uint8_t *p;
    NK_TRY(nk_rd_bytes(r, n, &p));
    memcpy(dst, p, n);
    return OK;
}

static MSTATUS rd_uint(struct nk_rd *r, size_t n, uint32_t *v)
{
    const uint8_t *p;
    NK_TRY(nk_rd_bytes(r, n, &p));
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | p[i];
    *v = x;
    return OK;
}

MSTATUS nk_rd_u8(struct nk_rd *r, uint8_t *v)
{
    uint32_t x;
    NK_TRY(rd_uint(r, 1, &x));
    *v = (uint8_t)x;
    return OK;
}

MSTATUS nk_rd_u16(struct nk_rd *r, uint16_t *v)
{
    uint32_t x;
    NK_TRY(rd_uint(r, 2, &x));
    *v = (uint16_t)x;
    return OK;
}

MSTATUS nk_rd_u24(struct nk_rd *r, uint32_t *v) { return rd_uint(r, 3, v); }

int nk_rd_has_u16(struct nk_rd r, uint16_t v)
{
    uint16_t x;
    while (nk_rd_u16(&r, &x) == OK)
        if (x == v)
            return 1;
    return 0;
}
MSTATUS nk_rd_u32(struct nk_rd *r, uint32_t *v) { return rd_uint(r, 4, v); }

static MSTATUS rd_vec(struct nk_rd *r, size_t prefix, struct nk_rd *sub, size_t min, size_t max)
{
    uint32_t n;
    const uint8_t *p;
    NK_TRY(rd_uint(r, prefix, &n));
    NK_CHECK(n >= min && n <= max, ERR_SSL_PROTOCOL);
    NK_TRY(nk_rd_bytes(r, n, &p));
    nk_rd_init(sub, p, n);
    return OK;
}

MSTATUS nk_rd_vec8(struct nk_rd *r, struct nk_rd *s, size_t mn, size_t mx) { return rd_vec(r, 1, s, mn, mx); }
MSTATUS nk_rd_vec16(struct nk_rd *r, struct nk_rd *s, size_t mn, size_t mx) { return rd_vec(r, 2, s, mn, mx); }
MSTATUS nk_rd_vec24(struct nk_rd *r, struct nk_rd *s, size_t mn, size_t mx) { return rd_vec(r, 3, s, mn, mx); }

MSTATUS nk_rd_done(const struct nk_rd *r)
{
    return nk_rd_left(r) == 0 ? OK : ERR_SSL_PROTOCOL;
}

uint8_t *nk_wr_space(struct nk_wr *w, size_t n)
{
    static uint8_t empty[1];
    if (w->err < 0)
        return NULL;
    if (n == 0)
        return empty;   /* nothing to write: never offset a NULL buffer */
    MSTATUS s = nk_buf_reserve(w->b, n);
    if (s < 0) {
        w->err = s;
        return NULL;
    }
    uint8_t *p = w->b->p + w->b->len;
    nk_buf_wrote(w->b, n);
    return p;
}

static void wr_uint(struct nk_wr *w, size_t n, uint32_t v)
{
    uint8_t *p = nk_wr_space(w, n);
    if (!p)
        return;
    for (size_t i = n; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

void nk_wr_u8(struct nk_wr *w, uint8_t v) { wr_uint(w, 1, v); }
void nk_wr_u16(struct nk_wr *w, uint16_t v) { wr_uint(w, 2, v); }
void nk_wr_u24(struct nk_wr *w, uint32_t v) { wr_uint(w, 3, v); }
void nk_wr_u32(struct nk_wr *w, uint32_t v) { wr_uint(w, 4, v); }

void nk_wr_bytes(struct nk_wr *w, const void *d, size_t n)
{
    uint8_t *p = nk_wr_space(w, n);
    if (p && n)
        memcpy(p, d, n);
}

size_t nk_wr_open(struct nk_wr *w, int prefix_bytes)
{
    size_t pos = w->b->len;
    wr_uint(w, (size_t)prefix_bytes, 0);
    return pos;
}

void nk_wr_close(struct nk_wr *w, size_t pos, int prefix_bytes)
{
    if (w->err < 0)
        return;
    size_t n = w->b->len - pos - (size_t)prefix_bytes;
    if (n >> (8 * prefix_bytes)) {
        w->err = ERR_SSL_INTERNAL;
        return;
    }
    uint8_t *p = w->b->p + pos;
    for (int i = prefix_bytes; i-- > 0; n >>= 8)
        p[i] = (uint8_t)n;
}
