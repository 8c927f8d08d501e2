/* core/mdblock.c — one hash compression at a time (core/mdblock.h). The
 * compression functions are libcrypto's own (its assembly, as fast as its
 * digests); only the one-block calls of its older interface reach them. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "core/mdblock.h"

static __thread uint64_t g_compressions;

size_t nk_mdb_block_len(enum nk_hash h)
{
    return h == NK_SHA1 || h == NK_SHA256 ? 64 : h == NK_SHA384 ? 128 : 0;
}

size_t nk_mdb_lenfield_len(enum nk_hash h)
{
    return h == NK_SHA1 || h == NK_SHA256 ? 8 : h == NK_SHA384 ? 16 : 0;
}

MSTATUS nk_mdb_init(struct nk_mdb *m, enum nk_hash h)
{
    m->h = h;
    int ok = h == NK_SHA1 ? SHA1_Init(&m->u.s1) : h == NK_SHA256 ? SHA256_Init(&m->u.s256)
             : h == NK_SHA384 ? SHA384_Init(&m->u.s512) : 0;
    return ok ? OK : ERR_CRYPTO;
}

void nk_mdb_compress(struct nk_mdb *m, const uint8_t *block)
{
    if (m->h == NK_SHA1)
        SHA1_Transform(&m->u.s1, block);
    else if (m->h == NK_SHA256)
        SHA256_Transform(&m->u.s256, block);
    else
        SHA512_Transform(&m->u.s512, block);
    g_compressions++;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void nk_mdb_value(const struct nk_mdb *m, uint8_t *out)
{
    if (m->h == NK_SHA1) {
        const SHA_CTX *c = &m->u.s1;
        put32(out, c->h0);
        put32(out + 4, c->h1);
        put32(out + 8, c->h2);
        put32(out + 12, c->h3);
        put32(out + 16, c->h4);
    } else if (m->h == NK_SHA256) {
        for (int i = 0; i < 8; i++)
            put32(out + 4 * i, m->u.s256.h[i]);
    } else {
        /* SHA-384: the first six of the eight words (FIPS 180-4 §6.5). */
        for (int i = 0; i < 6; i++) {
            put32(out + 8 * i, (uint32_t)(m->u.s512.h[i] >> 32));
            put32(out + 8 * i + 4, (uint32_t)m->u.s512.h[i]);
        }
    }
}

uint64_t nk_mdb_compressions(void)
{
    return g_compressions;
}
