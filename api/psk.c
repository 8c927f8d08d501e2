/* api/psk.c — the public calls around session tickets on the client: keeping,
 * serializing and offering them (the tickets themselves: handshake/ticket.c). */
#include <stdlib.h>
#include "api/api.h"
#include "handshake/psk.h"

NK_API MSTATUS SSL_freePSK(tls13PSK **pp)
{
    NK_CHECK(pp, ERR_NULL_POINTER);
    nk_psk_free(*pp);
    *pp = NULL;
    return OK;
}

/* "NKPS" 1 | suite(2) | psk<1..255> | age_add(4) | lifetime(4) | received(8) | ticket<1..2^16-1> */
NK_API MSTATUS SSL_serializePSK(tls13PSK *p, ubyte **out, ubyte4 *out_len)
{
    NK_CHECK(p && out && out_len, ERR_NULL_POINTER);
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    nk_wr_bytes(&w, "NKPS", 4);
    nk_wr_u8(&w, 1);
    nk_wr_u16(&w, p->suite);
    nk_wr_u8(&w, p->psk_len);
    nk_wr_bytes(&w, p->psk, p->psk_len);
    nk_wr_u32(&w, p->age_add);
    nk_wr_u32(&w, p->lifetime);
    nk_wr_u32(&w, (uint32_t)(p->received >> 32));
    nk_wr_u32(&w, (uint32_t)p->received);
    nk_wr_u16(&w, p->ticket_len);
    nk_wr_bytes(&w, p->ticket, p->ticket_len);
    if (nk_wr_status(&w) < 0) {
        nk_buf_free(&b);
        return ERR_MEM_ALLOC_FAIL;
    }
    *out = b.p;
    *out_len = (ubyte4)b.len;
    return OK;
}

NK_API MSTATUS SSL_deserializePSK(ubyte *in, ubyte4 len, tls13PSK **out)
{
    NK_CHECK(in && out, ERR_NULL_POINTER);
    struct nk_rd r, psk, ticket;
    const uint8_t *magic;
    uint8_t version;
    uint32_t hi, lo;
    struct tls13PSK *p = calloc(1, sizeof *p);
    NK_CHECK(p, ERR_MEM_ALLOC_FAIL);
    nk_rd_init(&r, in, len);
    MSTATUS st = ERR_INVALID_ARG;
    if (nk_rd_bytes(&r, 4, &magic) == OK && !memcmp(magic, "NKPS", 4) && nk_rd_u8(&r, &version) == OK
        && version == 1 && nk_rd_u16(&r, &p->suite) == OK && nk_suite_by_id(p->suite)
        && nk_rd_vec8(&r, &psk, 1, NK_MAX_HASH) == OK && nk_rd_u32(&r, &p->age_add) == OK
        && nk_rd_u32(&r, &p->lifetime) == OK && nk_rd_u32(&r, &hi) == OK && nk_rd_u32(&r, &lo) == OK
        && nk_rd_vec16(&r, &ticket, 1, 0xffff) == OK && nk_rd_done(&r) == OK
        && nk_rd_left(&psk) == nk_hash_len(nk_suite_by_id(p->suite)->hash)
        && (p->ticket = malloc(nk_rd_left(&ticket))) != NULL) {
        p->psk_len = (uint8_t)nk_rd_left(&psk);
        memcpy(p->psk, psk.p, p->psk_len);
        p->received = (uint64_t)hi << 32 | lo;
        p->ticket_len = (uint16_t)nk_rd_left(&ticket);
        memcpy(p->ticket, ticket.p, p->ticket_len);
        *out = p;
        return OK;
    }
    nk_psk_free(p);
    return st;
}

NK_API MSTATUS SSL_setClientSavePSKCallback(sbyte4 h, funcPtrClientSavePSK_t cb)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    c->psk_save_cb = cb;
    return OK;
}

NK_API MSTATUS SSL_CLIENT_setRetrievePSKCallback(sbyte4 h, funcPtrClientRetrievePSK_t cb)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    c->psk_retrieve_cb = cb;
    return OK;
}
