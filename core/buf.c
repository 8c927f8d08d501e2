/* core/buf.c — the growable byte buffer every layer uses, and the two rules for
 * secrets: wipe when freed, compare in constant time. */
#include <stdlib.h>
#include <openssl/crypto.h>

#include "core/nk.h"

/* ---- secrets ---- */

void nk_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

int nk_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---- growable buffer ---- */

MSTATUS nk_buf_reserve(struct nk_buf *b, size_t extra)
{
    size_t need, ncap;
    uint8_t *np;

    if (extra > SIZE_MAX - b->len)
        return ERR_MEM_ALLOC_FAIL;
    need = b->len + extra;
    if (need <= b->cap)
        return OK;
    /* An empty buffer gets what is asked (a record buffer is one record, not the
     * next power of two: that is per-connection memory); one being appended to
     * grows geometrically. */
    ncap = b->cap ? b->cap : 256;
    if (b->len == 0 && need > ncap)
        ncap = need;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > UINT32_MAX)
        return ERR_MEM_ALLOC_FAIL;
    /* Not realloc: the old block may hold key material and must be wiped first. */
    np = malloc(ncap);
    if (!np)
        return ERR_MEM_ALLOC_FAIL;
    if (b->p) {
        memcpy(np, b->p, b->len);
        nk_wipe(b->p, b->hw > b->len ? b->hw : b->len);
        free(b->p);
    }
    b->p = np;
    b->cap = (uint32_t)ncap;
    b->hw = (uint32_t)b->len;
    return OK;
}

MSTATUS nk_buf_append(struct nk_buf *b, const void *d, size_t n)
{
    if (n == 0)
        return OK;
    NK_TRY(nk_buf_reserve(b, n));
    memcpy(b->p + b->len, d, n);
    nk_buf_wrote(b, n);
    return OK;
}

void nk_buf_consume(struct nk_buf *b, size_t n)
{
    if (n >= b->len) {
        nk_wipe(b->p, b->len);
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    nk_wipe(b->p + b->len, n);    /* the stale tail still holds consumed bytes */
}

void nk_buf_free(struct nk_buf *b)
{
    if (b->p) {
        /* Only bytes ever written can hold anything (see struct nk_buf). */
        nk_wipe(b->p, b->hw > b->len ? b->hw : b->len);
        free(b->p);
    }
    b->p = NULL;
    b->len = 0;
    b->cap = b->hw = 0;
}
