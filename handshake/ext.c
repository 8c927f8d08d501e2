/* handshake/ext.c — extension block parsing and the codecs shared by client and
 * server (RFC 8446 §4.2, RFC 6066 §3, RFC 7301). */
#include "handshake/hs.h"

int nk_ext_is_grease(uint16_t v)
{
    /* RFC 8701 §2: 0x0A0A, 0x1A1A, ... 0xFAFA. */
    return (v & 0x0f0f) == 0x0a0a && (v >> 12) == ((v >> 4) & 0xf);
}

MSTATUS nk_ext_parse(struct nk_rd *r, struct nk_ext *exts, size_t *n)
{
    struct nk_rd block;
    *n = 0;
    if (nk_rd_left(r) == 0)
        return OK;   /* the extensions field may be absent entirely */
    NK_TRY(nk_rd_vec16(r, &block, 0, 0xffff));
    while (nk_rd_left(&block)) {
        uint16_t type;
        struct nk_rd data;
        NK_TRY(nk_rd_u16(&block, &type));
        NK_TRY(nk_rd_vec16(&block, &data, 0, 0xffff));
        /* §4.2: there MUST NOT be more than one extension of the same type. */
        NK_CHECK(!nk_ext_find(exts, *n, type), ERR_SSL_ILLEGAL_PARAMETER);
        NK_CHECK(*n < NK_MAX_EXTS, ERR_SSL_PROTOCOL);
        exts[*n].type = type;
        exts[*n].data = data;
        (*n)++;
    }
    return OK;
}

const struct nk_ext *nk_ext_find(const struct nk_ext *exts, size_t n, uint16_t type)
{
    for (size_t i = 0; i < n; i++)
        if (exts[i].type == type)
            return &exts[i];
    return NULL;
}

void nk_ext_write_u16_list(struct nk_wr *w, uint16_t type, const uint16_t *v, size_t n)
{
    nk_wr_u16(w, type);
    size_t ext = nk_wr_open(w, 2), list = nk_wr_open(w, 2);
    for (size_t i = 0; i < n; i++)
        nk_wr_u16(w, v[i]);
    nk_wr_close(w, list, 2);
    nk_wr_close(w, ext, 2);
}

/* Reads a <2..2^16-2> list of u16; unknown values (GREASE included) are kept for
 * the caller to skip; beyond max entries the rest are ignored. */
MSTATUS nk_ext_read_u16_list(struct nk_rd *r, uint16_t *v, size_t max, size_t *n)
{
    struct nk_rd list;
    NK_TRY(nk_rd_vec16(r, &list, 2, 0xfffe));
    NK_CHECK(nk_rd_left(&list) % 2 == 0, ERR_SSL_PROTOCOL);
    *n = 0;
    while (nk_rd_left(&list)) {
        uint16_t x;
        NK_TRY(nk_rd_u16(&list, &x));
        if (*n < max && !nk_ext_is_grease(x))
            v[(*n)++] = x;
    }
    return nk_rd_done(r);
}

void nk_ext_write_sni(struct nk_wr *w, const char *name)
{
    /* RFC 6066 §3: ServerNameList with one host_name entry. */
    size_t len = strlen(name);
    nk_wr_u16(w, NK_EXT_SERVER_NAME);
    size_t ext = nk_wr_open(w, 2), list = nk_wr_open(w, 2);
    nk_wr_u8(w, 0);
    nk_wr_u16(w, (uint16_t)len);
    nk_wr_bytes(w, name, len);
    nk_wr_close(w, list, 2);
    nk_wr_close(w, ext, 2);
}

MSTATUS nk_ext_read_sni(struct nk_rd *r, char *name, size_t cap)
{
    struct nk_rd list;
    name[0] = 0;
    NK_TRY(nk_rd_vec16(r, &list, 1, 0xffff));
    while (nk_rd_left(&list)) {
        uint8_t type;
        struct nk_rd host;
        NK_TRY(nk_rd_u8(&list, &type));
        NK_TRY(nk_rd_vec16(&list, &host, 1, 0xffff));
        if (type != 0)
            continue;
        /* RFC 6066 §3: at most one name of each type; a host name carries no
         * trailing dot and no NUL. */
        NK_CHECK(!name[0], ERR_SSL_ILLEGAL_PARAMETER);
        size_t n = nk_rd_left(&host);
        NK_CHECK(n < cap && !memchr(host.p, 0, n), ERR_SSL_UNRECOGNIZED_NAME);
        memcpy(name, host.p, n);
        name[n] = 0;
    }
    return nk_rd_done(r);
}

MSTATUS nk_ext_read_alpn(struct nk_rd *r, struct nk_rd *list)
{
    /* RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>, each <1..2^8-1>. */
    struct nk_rd walk, name;
    NK_TRY(nk_rd_vec16(r, list, 2, 0xffff));
    NK_TRY(nk_rd_done(r));
    walk = *list;
    while (nk_rd_left(&walk))
        NK_TRY(nk_rd_vec8(&walk, &name, 1, 255));
    return OK;
}
