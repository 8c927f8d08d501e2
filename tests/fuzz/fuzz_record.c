/* fuzz_record.c — libFuzzer target for the record layer and the wire reader.
 *
 * Byte 0 picks the cipher suite (low two bits) and what to do with the rest
 * (next two bits):
 *   0  open the rest as one protected record, its header length made to match;
 *   1  seal the rest as plaintext (byte 1: inner type, byte 2: padding / 64)
 *      and open it again: it must come back unchanged, or be refused exactly
 *      when the inner plaintext is over 2^14 + 1 or has no content type;
 *   2  seal as in 1, flip the bit named by bytes 3..4, and open: a changed
 *      record must never authenticate;
 *   3  as 0.
 * Whatever the mode, the rest is also parsed as a ClientHello body through the
 * wire reader and the extension parser; when it parses completely, writing the
 * parsed fields back with the wire writer must give the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "core/nk.h"
#include "core/wire.h"
#include "core/crypto.h"
#include "record/record.h"
#include "handshake/hs.h"

struct keys {
    struct nk_rec_key wr, rd;
};

/* One read and one write key per suite, from the same fixed traffic secret. */
static struct keys *suite_keys(unsigned i)
{
    static struct keys k[4];
    static int ready;

    if (!ready) {
        uint8_t secret[NK_MAX_HASH];
        for (size_t j = 0; j < sizeof secret; j++)
            secret[j] = (uint8_t)(0x5a ^ j);
        for (unsigned s = 0; s < 4; s++)
            if (nk_rec_install(&k[s].wr, &nk_suites[s], secret, 1) < 0
                || nk_rec_install(&k[s].rd, &nk_suites[s], secret, 0) < 0)
                abort();
        ready = 1;
    }
    k[i].wr.seq = k[i].rd.seq = 0;
    return &k[i];
}

static void open_raw(struct keys *k, const uint8_t *in, size_t n)
{
    if (n > NK_REC_HDR + 0xffff)
        n = NK_REC_HDR + 0xffff;
    /* An exact-size copy, so a read past the record is caught. */
    uint8_t *rec = malloc(n ? n : 1), *data, type;
    size_t len;
    if (!rec)
        return;
    memcpy(rec, in, n);
    if (n >= NK_REC_HDR)
        nk_store16(rec + 3, (uint16_t)(n - NK_REC_HDR));
    if (nk_rec_open(&k->rd, rec, n, &type, &data, &len) == OK) {
        /* Authenticated by chance only; the plaintext must lie inside the record. */
        if (data < rec + NK_REC_HDR || data + len > rec + n)
            abort();
    }
    free(rec);
}

static void seal_open(struct keys *k, const uint8_t *in, size_t n, int tamper)
{
    if (n < 4)
        return;
    uint8_t type = in[0];
    size_t pad = (size_t)in[1] * 64;
    size_t bit = (size_t)in[2] << 8 | in[3];
    in += 4;
    n -= 4;
    if (n > NK_MAX_PLAIN)
        n = NK_MAX_PLAIN;
    struct nk_buf out = { 0 };
    MSTATUS st = nk_rec_seal(&k->wr, type, in, n, pad, &out);
    if (n + 1 + pad + NK_AEAD_TAG > NK_MAX_CIPHER) {
        if (st != ERR_INVALID_ARG)   /* too large to send: the caller's error */
            abort();
        nk_buf_free(&out);
        return;
    }
    if (st != OK)
        abort();
    if (tamper && bit < 8 * out.len)
        out.p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    uint8_t rtype, *data;
    size_t len;
    st = nk_rec_open(&k->rd, out.p, out.len, &rtype, &data, &len);
    if (tamper && bit < 8 * out.len) {
        if (st == OK)
            abort();
    } else if (n + 1 + pad > NK_MAX_PLAIN + 1) {
        if (st != ERR_SSL_RECORD_OVERFLOW)
            abort();
    } else if (type == 0) {
        /* The type byte is padding: the content's last non-zero byte becomes the type. */
        size_t nz = n;
        while (nz > 0 && in[nz - 1] == 0)
            nz--;
        if (nz == 0 ? st != ERR_SSL_UNEXPECTED_MESSAGE
                    : st != OK || rtype != in[nz - 1] || len != nz - 1 || memcmp(data, in, len))
            abort();
    } else if (st != OK || rtype != type || len != n || memcmp(data, in, n)) {
        abort();
    }
    nk_buf_free(&out);
}

/* Walk one extension's body with the decoder that would see it in a ClientHello. */
static void walk_ext(const struct nk_ext *e)
{
    struct nk_rd d = e->data, list, item;
    uint16_t v[64];
    size_t n;
    char name[256];
    uint16_t u16;

    switch (e->type) {
    case NK_EXT_SERVER_NAME:
        (void)!nk_ext_read_sni(&d, name, sizeof name);
        break;
    case NK_EXT_SUPPORTED_GROUPS:
    case NK_EXT_SIGNATURE_ALGORITHMS:
    case NK_EXT_SIGNATURE_ALGORITHMS_CERT:
        (void)!nk_ext_read_u16_list(&d, v, NK_ARRAY_LEN(v), &n, NULL);
        break;
    case NK_EXT_ALPN:
        if (nk_ext_read_alpn(&d, &list) == OK)
            while (nk_rd_left(&list) && nk_rd_vec8(&list, &item, 1, 255) == OK)
                ;
        break;
    case NK_EXT_KEY_SHARE:
        if (nk_rd_vec16(&d, &list, 0, 0xffff) == OK)
            while (nk_rd_left(&list) && nk_rd_u16(&list, &u16) == OK
                   && nk_rd_vec16(&list, &item, 1, 0xffff) == OK)
                (void)nk_ext_is_grease(u16);
        break;
    case NK_EXT_SUPPORTED_VERSIONS:
        if (nk_rd_vec8(&d, &list, 2, 254) == OK)
            while (nk_rd_u16(&list, &u16) == OK)
                ;
        break;
    case NK_EXT_COOKIE:
        (void)!nk_rd_vec16(&d, &item, 1, 0xffff);
        break;
    default:
        break;
    }
}

static void parse_hello(const uint8_t *p, size_t size)
{
    struct nk_rd r, sid, suites, comp;
    struct nk_ext e[NK_MAX_EXTS];
    size_t ne = 0;
    uint16_t version;
    uint8_t random[32];

    nk_rd_init(&r, p, size);
    if (nk_rd_u16(&r, &version) < 0 || nk_rd_copy(&r, random, 32) < 0
        || nk_rd_vec8(&r, &sid, 0, 32) < 0 || nk_rd_vec16(&r, &suites, 2, 0xfffe) < 0
        || nk_rd_vec8(&r, &comp, 1, 255) < 0)
        return;
    int has_block = nk_rd_left(&r) > 0;
    struct nk_rd whole = r;
    if (nk_ext_parse(&r, e, &ne) < 0)
        return;
    /* Only the types nktls reads and the first other one are kept: the
     * write-back below can match only when nothing else was there. */
    size_t all = 0;
    struct nk_rd block, item;
    uint16_t t;
    if (has_block && nk_rd_vec16(&whole, &block, 0, 0xffff) == OK)
        while (nk_rd_u16(&block, &t) == OK && nk_rd_vec16(&block, &item, 0, 0xffff) == OK)
            all++;
    if (ne > all || ne > NK_MAX_EXTS)
        abort();
    for (size_t i = 0; i < ne; i++) {
        if (nk_ext_find(e, ne, e[i].type) != &e[i])   /* duplicates were refused */
            abort();
        walk_ext(&e[i]);
    }
    if (nk_rd_done(&r) < 0 || ne != all)
        return;

    /* Parsed completely: write it back and compare. */
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    nk_wr_u16(&w, version);
    nk_wr_bytes(&w, random, 32);
    size_t pos = nk_wr_open(&w, 1);
    nk_wr_bytes(&w, sid.p, nk_rd_left(&sid));
    nk_wr_close(&w, pos, 1);
    pos = nk_wr_open(&w, 2);
    nk_wr_bytes(&w, suites.p, nk_rd_left(&suites));
    nk_wr_close(&w, pos, 2);
    pos = nk_wr_open(&w, 1);
    nk_wr_bytes(&w, comp.p, nk_rd_left(&comp));
    nk_wr_close(&w, pos, 1);
    if (has_block) {
        size_t block = nk_wr_open(&w, 2);
        for (size_t i = 0; i < ne; i++) {
            nk_wr_u16(&w, e[i].type);
            pos = nk_wr_open(&w, 2);
            nk_wr_bytes(&w, e[i].data.p, nk_rd_left(&e[i].data));
            nk_wr_close(&w, pos, 2);
        }
        nk_wr_close(&w, block, 2);
    }
    if (nk_wr_status(&w) != OK || b.len != size || memcmp(b.p, p, size) != 0)
        abort();
    nk_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct keys *k = suite_keys(data[0] & 3);
    int mode = (data[0] >> 2) & 3;
    data++;
    size--;
    if (mode == 1 || mode == 2)
        seal_open(k, data, size, mode == 2);
    else
        open_raw(k, data, size);
    parse_hello(data, size);
    return 0;
}
