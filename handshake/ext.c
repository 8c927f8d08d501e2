/* handshake/ext.c — extension block parsing and the codecs shared by client and
 * server (RFC 8446 §4.2, RFC 6066 §3, RFC 7301). */
#include "handshake/hs.h"

int nk_ext_is_grease(uint16_t v)
{
    /* RFC 8701 §2: 0x0A0A, 0x1A1A, ... 0xFAFA. */
    return (v & 0x0f0f) == 0x0a0a && (v >> 12) == ((v >> 4) & 0xf);
}

/* The extension types nktls reads (nk_ext_find is asked only for these). */
static const uint16_t known_types[] = {
    NK_EXT_SERVER_NAME, NK_EXT_STATUS_REQUEST, NK_EXT_SUPPORTED_GROUPS, NK_EXT_SIGNATURE_ALGORITHMS,
    NK_EXT_ALPN, NK_EXT_RECORD_SIZE_LIMIT, NK_EXT_PRE_SHARED_KEY, NK_EXT_EARLY_DATA, NK_EXT_SUPPORTED_VERSIONS,
    NK_EXT_COOKIE, NK_EXT_PSK_KEY_EXCHANGE_MODES, NK_EXT_CERTIFICATE_AUTHORITIES,
    NK_EXT_POST_HANDSHAKE_AUTH, NK_EXT_SIGNATURE_ALGORITHMS_CERT, NK_EXT_KEY_SHARE,
    NK_EXT_EC_POINT_FORMATS, NK_EXT_EXTENDED_MASTER_SECRET, NK_EXT_RENEGOTIATION_INFO,   /* TLS 1.2 */
    NK_EXT_MAX_FRAGMENT_LENGTH,
    NK_EXT_SESSION_TICKET,
    NK_EXT_ENCRYPT_THEN_MAC,
};
_Static_assert(NK_ARRAY_LEN(known_types) < NK_MAX_EXTS, "a slot for the first unknown type");

static int known(uint16_t type)
{
    for (size_t i = 0; i < NK_ARRAY_LEN(known_types); i++)
        if (known_types[i] == type)
            return 1;
    return 0;
}

MSTATUS nk_ext_parse(struct nk_rd *r, struct nk_ext *exts, size_t *n)
{
    struct nk_rd block;
    uint64_t seen[65536 / 64];   /* every type met so far: duplicates at any count */
    int unknown_kept = 0;
    *n = 0;
    if (nk_rd_left(r) == 0)
        return OK;   /* the extensions field may be absent entirely */
    NK_TRY(nk_rd_vec16(r, &block, 0, 0xffff));
    memset(seen, 0, sizeof seen);
    while (nk_rd_left(&block)) {
        uint16_t type;
        struct nk_rd data;
        NK_TRY(nk_rd_u16(&block, &type));
        NK_TRY(nk_rd_vec16(&block, &data, 0, 0xffff));
        /* §4.2: there MUST NOT be more than one extension of the same type. */
        NK_CHECK(!(seen[type / 64] >> (type % 64) & 1), ERR_SSL_ILLEGAL_PARAMETER);
        seen[type / 64] |= 1ull << (type % 64);
        /* Any number of extensions is valid (clients send many GREASE and
         * unknown ones): only the types we read, and the first other one (so a
         * message that may carry only what we asked for can be refused), are
         * kept; at most one of each fits NK_MAX_EXTS. */
        if (!known(type)) {
            if (unknown_kept)
                continue;
            unknown_kept = 1;
        }
        exts[*n].type = type;
        exts[*n].data = data;
        exts[*n].last = nk_rd_left(&block) == 0;
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

/* Reads a <2..2^16-2> list of u16 (the list is bounded by the message, not by
 * v): the values keep() accepts are stored once each, in the peer's order, so
 * max need only cover what keep() can accept; GREASE and values we do not
 * know are passed over wherever they stand. */
MSTATUS nk_ext_read_u16_list(struct nk_rd *r, uint16_t *v, size_t max, size_t *n, int (*keep)(uint16_t))
{
    struct nk_rd list;
    NK_TRY(nk_rd_vec16(r, &list, 2, 0xfffe));
    NK_CHECK(nk_rd_left(&list) % 2 == 0, ERR_SSL_PROTOCOL);
    *n = 0;
    while (nk_rd_left(&list)) {
        uint16_t x;
        NK_TRY(nk_rd_u16(&list, &x));
        if (nk_ext_is_grease(x) || (keep && !keep(x)))
            continue;
        int dup = 0;
        for (size_t i = 0; i < *n && !dup; i++)
            dup = v[i] == x;
        NK_CHECK(dup || *n < max, ERR_SSL_INTERNAL);   /* max is below what keep() accepts */
        if (!dup)
            v[(*n)++] = x;
    }
    return nk_rd_done(r);
}

void nk_ext_write_alpn_choice(struct nk_wr *w, const char *proto)
{
    size_t len = strlen(proto);
    nk_wr_u16(w, NK_EXT_ALPN);
    nk_wr_u16(w, (uint16_t)(2 + 1 + len));
    nk_wr_u16(w, (uint16_t)(1 + len));   /* ProtocolNameList with one name */
    nk_wr_u8(w, (uint8_t)len);
    nk_wr_bytes(w, proto, len);
}

void nk_ext_write_alpn_offer(const struct nk_tls *c, struct nk_wr *w)
{
    if (!c->alpn_offer_len)
        return;
    nk_wr_u16(w, NK_EXT_ALPN);
    size_t ext = nk_wr_open(w, 2), list = nk_wr_open(w, 2);
    nk_wr_bytes(w, c->alpn_offer, c->alpn_offer_len);   /* already in wire form */
    nk_wr_close(w, list, 2);
    nk_wr_close(w, ext, 2);
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

/* RFC 6066 §3: a HostName is an ASCII DNS host name without a trailing dot:
 * labels of letters, digits, hyphens (and the underscore some private names
 * carry), 1 to 63 bytes each, 253 in all. Anything else (control bytes, spaces,
 * UTF-8, "..") is refused, so no application ever logs or echoes it raw. */
/* (A character check over a name the wire reader already bounded.) */
static int host_name_ok(const uint8_t *p, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '.') {
            if (label == 0)
                return 0;
            label = 0;
            continue;
        }
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
                 || ch == '-' || ch == '_';
        if (!ok || ++label > 63)
            return 0;
    }
    return label > 0;
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
        NK_CHECK(n < cap && host_name_ok(host.p, n), ERR_SSL_ILLEGAL_PARAMETER);
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

MSTATUS nk_ext_client_on_alpn(struct nk_tls *c, const struct nk_ext *x)
{
    /* RFC 7301 §3.1: exactly one protocol, one of those we offered. */
    struct nk_rd r = x->data, list, name;
    NK_TRY(nk_ext_read_alpn(&r, &list));
    NK_TRY(nk_rd_vec8(&list, &name, 1, 255));
    NK_CHECK(nk_rd_left(&list) == 0, ERR_SSL_ILLEGAL_PARAMETER);
    struct nk_rd offer, o;
    const uint8_t *chosen;
    size_t len = nk_rd_left(&name);
    NK_TRY(nk_rd_bytes(&name, len, &chosen));
    nk_rd_init(&offer, c->alpn_offer, c->alpn_offer_len);
    while (nk_rd_left(&offer)) {
        NK_TRY(nk_rd_vec8(&offer, &o, 1, 255));
        if (nk_rd_left(&o) == len && !memcmp(o.p, chosen, len)) {
            memcpy(c->alpn, chosen, len);
            c->alpn[len] = 0;
            return OK;
        }
    }
    return ERR_SSL_ILLEGAL_PARAMETER;
}
