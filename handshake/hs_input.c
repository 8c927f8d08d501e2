/* handshake/hs_input.c — the content of handshake records, as the engine
 * received them: handshake messages framed out of it (reassembled where
 * records split them), each header checked before any of its body is held,
 * each whole message handed to the handshake. The engine never reads a
 * handshake header; this file is where they are read. */
#include "handshake/hs.h"
#include "core/slab.h"

/* Every reassembly buffer counts against one process-wide budget, so that
 * many connections each trickling a large message cannot add up to more than
 * NKTLS_LIMIT_HANDSHAKE_MEMORY. (A message whole inside its record is handled
 * where it lies and takes nothing.) */
static uint64_t g_hs_held;

/* Room for n more bytes in the reassembly buffer, counted against the budget. */
static MSTATUS hs_in_reserve(struct nk_tls *c, size_t n)
{
    uint32_t before = c->hs_in.cap;
    NK_TRY(nk_buf_reserve(&c->hs_in, n));
    uint32_t grown = c->hs_in.cap - before;
    uint64_t held = __atomic_add_fetch(&g_hs_held, grown, __ATOMIC_RELAXED);
    /* Our own limit, not the peer's fault: internal_error (RFC 8446 §6.2). */
    NK_CHECK(held <= c->cfg->limits.hs_memory, ERR_SSL_HANDSHAKE_MEMORY);
    return OK;
}

void nk_hs_input_free(struct nk_tls *c)
{
    __atomic_sub_fetch(&g_hs_held, c->hs_in.cap, __ATOMIC_RELAXED);
    nk_buf_free(&c->hs_in);
}

MSTATUS nk_hs_memory_take(uint32_t n, uint32_t limit)
{
    uint64_t held = __atomic_add_fetch(&g_hs_held, n, __ATOMIC_RELAXED);
    if (held > limit) {
        __atomic_sub_fetch(&g_hs_held, n, __ATOMIC_RELAXED);
        return ERR_SSL_HANDSHAKE_MEMORY;
    }
    return OK;
}

void nk_hs_memory_give(uint32_t n)
{
    __atomic_sub_fetch(&g_hs_held, n, __ATOMIC_RELAXED);
}

uint64_t nk_hs_memory_held(void)
{
    return __atomic_load_n(&g_hs_held, __ATOMIC_RELAXED);
}

/* The handshake is over: keep the agreed ALPN name in an allocation of its
 * size (the handshake wrote it into NK_ALPN_MAX bytes, engine/engine.c's
 * nk_conn_alpn_scratch). */
static void alpn_settle(struct nk_tls *c)
{
    if (c->alpn == c->alpn_none)
        return;
    if (c->alpn_pooled)
        return;   /* settled already */
    size_t n = strlen(c->alpn);
    if (n == 0) {
        free(c->alpn);
        c->alpn = c->alpn_none;
        return;
    }
    /* A short name goes to the names pool (kept away from the heap's churn);
     * a long one stays in a block of its size. */
    unsigned pooled = 0;
    char *p = n < NK_NAME_SHORT ? nk_name_dup(c->alpn, n, &pooled) : realloc(c->alpn, n + 1);
    if (p && pooled)
        free(c->alpn);
    if (p) {   /* else the larger block stays: still correct */
        c->alpn = p;
        c->alpn_pooled = pooled & 1;
    }
}

/* §4: struct { HandshakeType msg_type; uint24 length; ... } Handshake. A
 * reader over the message is left at its body. */
static MSTATUS read_header(struct nk_rd *r, uint8_t *type, uint32_t *len)
{
    NK_TRY(nk_rd_u8(r, type));
    return nk_rd_u24(r, len);
}

/* The header at the front of p (4 bytes there at least). */
static MSTATUS peek_header(const uint8_t *p, uint8_t *type, uint32_t *len)
{
    struct nk_rd r;
    nk_rd_init(&r, p, 4);
    return read_header(&r, type, len);
}

/* §5.1: "Because the ClientHello, EndOfEarlyData, ServerHello, Finished, and
 * KeyUpdate messages can immediately precede a key change, implementations MUST
 * align these messages with key boundaries": nothing may follow them in their
 * record. Checked before the message is acted on, so a bad record costs no
 * signature and changes no key. */
static int must_end_record(const struct nk_tls *c, uint8_t type)
{
    /* A client that allows TLS 1.2 cannot tell from the header which
     * version's ServerHello this is: a TLS 1.2 server may send its
     * Certificate in the same record (RFC 5246 §6.2.1). A TLS 1.3 one
     * changes the read key, and the check after it catches that. */
    if (type == NK_HS_SERVER_HELLO && c->role == NK_CLIENT && c->min_minor <= 3)
        return 0;
    return type == NK_HS_CLIENT_HELLO || type == NK_HS_END_OF_EARLY_DATA || type == NK_HS_SERVER_HELLO
           || type == NK_HS_FINISHED || type == NK_HS_KEY_UPDATE;
}

/* One whole message (header included); more: bytes of this record follow it. */
static MSTATUS on_message(struct nk_tls *c, const uint8_t *msg, size_t n, int more)
{
    struct nk_rd body;
    uint8_t type;
    uint32_t len;
    nk_rd_init(&body, msg, n);
    NK_TRY(read_header(&body, &type, &len));
    NK_CHECK(!more || !must_end_record(c, type), ERR_SSL_UNEXPECTED_MESSAGE);
    unsigned epoch = c->rd_epoch;
    int in_hs = c->hs != NULL;
    NK_TRY(nk_hs_step(c, NK_CT_HANDSHAKE, type, &body, msg, n));
    if (in_hs && !c->hs)   /* that message ended the handshake */
        alpn_settle(c);
    /* §5.1: messages before a key change MUST align with a record boundary. */
    NK_CHECK(epoch == c->rd_epoch || !more, ERR_SSL_UNEXPECTED_MESSAGE);
    return OK;
}

MSTATUS nk_hs_check_header(struct nk_tls *c, uint8_t type, uint32_t len)
{
    const struct nk_limits *lim = &c->cfg->limits;
    uint32_t max;
    /* A type with no row in this state is refused before its body is held. */
    NK_CHECK(nk_hs_row(c, NK_CT_HANDSHAKE, type), ERR_SSL_UNEXPECTED_MESSAGE);
    switch (type) {
    case NK_HS_KEY_UPDATE:          max = 1; break;            /* §4.6.3 */
    case NK_HS_FINISHED:            max = NK_MAX_HASH; break;   /* §4.4.4: Hash.length */
    case NK_HS_CERTIFICATE_VERIFY:  max = 2 + 2 + 2048; break;  /* scheme, a 16384-bit RSA signature */
    case NK_HS_CERTIFICATE:         max = lim->cert_message; break;
    case NK_HS_CERTIFICATE_STATUS:  max = lim->cert_message; break;   /* an OCSP response, as stapled in 1.3 */
    /* §4.6.1: lifetime, age_add, nonce<0..255>, ticket<1..2^16-1>, extensions */
    case NK_HS_NEW_SESSION_TICKET:  max = 4 + 4 + 1 + 255 + 2 + 0xffff + 2 + 256; break;
    default:                        max = lim->hs_message; break;
    }
    NK_CHECK(len <= max, ERR_SSL_MESSAGE_TOO_LONG);
    return OK;
}

/* The 4-byte header of the next message is in: refuse a type this state does
 * not expect, or a length over the type's limit, before holding any of its body
 * (a peer could otherwise make us buffer up to 16 MiB per connection). The
 * buffer is then sized for exactly this message. */
static MSTATUS on_header(struct nk_tls *c)
{
    uint8_t hdr[4], type;
    uint32_t len;
    memcpy(hdr, c->hs_in.p, 4);
    NK_TRY(peek_header(hdr, &type, &len));
    NK_TRY(nk_hs_check_header(c, type, len));
    if (c->hs_in.cap >= 4 + len)
        return OK;
    nk_hs_input_free(c);
    NK_TRY(hs_in_reserve(c, 4 + len));   /* an empty buffer is allocated at the size asked */
    return nk_buf_append(&c->hs_in, hdr, 4);   /* within what was reserved */
}

/* A message whole inside the rest of this record is handled where it lies;
 * *taken says whether there was one. */
static MSTATUS in_place(struct nk_tls *c, struct nk_rd *rec, int *taken)
{
    uint8_t type;
    uint32_t len;
    const uint8_t *msg;
    struct nk_rd head = *rec;
    *taken = 0;
    NK_TRY(read_header(&head, &type, &len));
    NK_TRY(nk_hs_check_header(c, type, len));
    if (nk_rd_left(rec) < 4 + (size_t)len)
        return OK;
    NK_TRY(nk_rd_bytes(rec, 4 + len, &msg));
    *taken = 1;
    return on_message(c, msg, 4 + len, nk_rd_left(rec) > 0);
}

/* Reassembly: the header first, then exactly the body it announces. */
static MSTATUS reassemble(struct nk_tls *c, struct nk_rd *rec)
{
    uint8_t type;
    uint32_t len = 0;
    const uint8_t *p;
    if (c->hs_in.len >= 4)
        NK_TRY(peek_header(c->hs_in.p, &type, &len));
    size_t want = c->hs_in.len < 4 ? 4 - c->hs_in.len : 4 + len - c->hs_in.len;
    size_t take = nk_rd_left(rec) < want ? nk_rd_left(rec) : want;
    NK_TRY(hs_in_reserve(c, take));
    NK_TRY(nk_rd_bytes(rec, take, &p));
    NK_TRY(nk_buf_append(&c->hs_in, p, take));
    if (c->hs_in.len == 4 && take == want)
        NK_TRY(on_header(c));
    if (c->hs_in.len < 4)
        return OK;
    NK_TRY(peek_header(c->hs_in.p, &type, &len));
    if (c->hs_in.len == 4 + (size_t)len) {
        NK_TRY(on_message(c, c->hs_in.p, c->hs_in.len, nk_rd_left(rec) > 0));
        nk_hs_input_free(c);
    }
    return OK;
}

MSTATUS nk_hs_input(struct nk_tls *c, const uint8_t *d, size_t n)
{
    struct nk_rd rec;
    /* §5.1: handshake records MUST NOT be zero-length. */
    NK_CHECK(n > 0, ERR_SSL_UNEXPECTED_MESSAGE);
    nk_rd_init(&rec, d, n);
    while (nk_rd_left(&rec) && c->err >= 0) {
        int taken = 0;
        if (c->hs_in.len == 0 && nk_rd_left(&rec) >= 4)
            NK_TRY(in_place(c, &rec, &taken));
        if (!taken)
            NK_TRY(reassemble(c, &rec));
    }
    return OK;
}

MSTATUS nk_hs_ccs(struct nk_tls *c, const uint8_t *d, size_t n)
{
    struct nk_rd body;
    nk_rd_init(&body, d, n);
    return nk_hs_step(c, NK_CT_CHANGE_CIPHER_SPEC, 0, &body, d, n);
}
