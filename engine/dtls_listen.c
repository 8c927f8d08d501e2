/* engine/dtls_listen.c — a DTLS 1.2 server's look at a datagram from an
 * address it holds no connection for (RFC 6347 §4.2.1): "the server
 * generates cookies in such a way that they can be verified without
 * retaining any per-client state on the server". A ClientHello whose cookie
 * is ours makes a connection; any other ClientHello gets a
 * HelloVerifyRequest built here, from the datagram alone; everything else is
 * dropped. Nothing is allocated and nothing is kept: a flood of hellos from
 * spoofed addresses costs the server no memory. */
#include "engine/dtls.h"

/* The first record of the datagram: a whole epoch-0 handshake record, and
 * in it a ClientHello in one fragment. A ClientHello fragmented over several
 * records or datagrams cannot be checked without keeping its pieces: such a
 * client's hello is dropped (it retransmits; clients send the first hello
 * whole, which a PMTU of 256 bytes or more carries). */
static int first_hello(uint8_t *dg, size_t n, struct nk_rec *rec, struct nk_dtls_frag *f)
{
    struct nk_rec_walk w;
    struct nk_dtls_in in;
    struct nk_rd r;
    memset(&in, 0, sizeof in);
    nk_rec_walk_init(&w, &nk_rec_dtls12, dg, n);
    if (nk_dtls_walk_next(&w, &in, rec) != OK)
        return 0;
    if (rec->type != NK_CT_HANDSHAKE || rec->epoch != 0
        || (rec->version != NK_DTLS_V12 && rec->version != NK_DTLS_V10))
        return 0;
    nk_rd_init(&r, rec->body, rec->body_len);
    if (nk_dtls_frag_read(&r, f) < 0)
        return 0;
    return f->type == NK_HS_CLIENT_HELLO && f->off == 0 && f->flen == f->len;
}

/* §4.2.1: the HelloVerifyRequest in one record, numbered from the hello
 * like everything that answers a hello before the cookie (engine/dtls.h). */
static MSTATUS write_hvr(const struct nk_rec *rec, const struct nk_dtls_frag *f, const uint8_t body[NK_DTLS_HVR_BODY],
                         uint8_t *reply, size_t *reply_len)
{
    uint8_t frag[NK_DTLS_HS_HDR + NK_DTLS_HVR_BODY];
    struct nk_buf fb = { .p = frag, .cap = sizeof frag };
    struct nk_buf out = { .p = reply, .cap = NK_DTLS_LISTEN_REPLY_MAX };
    struct nk_rec_key k;
    uint32_t taken;
    memset(&k, 0, sizeof k);
    nk_dtls_start(&k);
    nk_dtls_number_answer(&k, rec->seq);
    NK_TRY(nk_dtls_frag_put(&fb, NK_HS_HELLO_VERIFY_REQUEST, f->seq, body, NK_DTLS_HVR_BODY, 0, sizeof frag, &taken));
    NK_TRY(nk_rec_write(&k, NK_CT_HANDSHAKE, NK_DTLS_V12, fb.p, fb.len, &out));
    *reply_len = out.len;
    return OK;
}

enum nk_dtls_verdict nk_dtls_listen(uint8_t *dg, size_t n, const void *peer, size_t peer_len, int64_t now_ms,
                                    uint8_t reply[NK_DTLS_LISTEN_REPLY_MAX], size_t *reply_len)
{
    struct nk_rec rec;
    struct nk_dtls_frag f;
    uint8_t body[NK_DTLS_HVR_BODY];
    int valid = 0;
    *reply_len = 0;
    if (!dg || peer_len > NK_DTLS_ADDR_MAX || !first_hello(dg, n, &rec, &f))
        return NK_DTLS_DROP;
    if (nk_dtls_hello_check(peer, peer_len, now_ms, f.data, f.flen, &valid, body) < 0)
        return NK_DTLS_DROP;   /* malformed, or a version we refuse: §4.2.1, from anyone */
    if (valid)
        return NK_DTLS_ACCEPT;
    MSTATUS st = write_hvr(&rec, &f, body, reply, reply_len);
    nk_wipe(body, sizeof body);
    return st == OK ? NK_DTLS_REPLY : NK_DTLS_DROP;
}
