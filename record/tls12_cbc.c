/* record/tls12_cbc.c — TLSCiphertext under a TLS 1.2 CBC suite (RFC 5246
 * §6.2.3.2): AES-CBC with an explicit random IV per record and an HMAC (the
 * suite's tag_len: SHA-1 20, SHA-256 32, SHA-384 48 bytes). Two orders:
 * MAC-then-encrypt (RFC 5246), opened without a timing difference between a
 * bad padding and a bad MAC (the Lucky Thirteen countermeasure: the MAC
 * always hashes as many bytes, and both failures are one bad_record_mac),
 * and encrypt-then-MAC (RFC 7366), whose MAC is checked before anything is
 * decrypted. The key object holds the cipher key, then the MAC key. */
#include <openssl/crypto.h>
#include "core/mdblock.h"
#include "record/protect.h"

#define BLOCK 16
/* seq_num(8) + type(1) + version(2) + length(2), RFC 5246 §6.2.3.1. */
#define MAC_HDR 13

static enum nk_hash mac_hash(const struct nk_suite *s)
{
    return s->tag_len == 20 ? NK_SHA1 : s->tag_len == 48 ? NK_SHA384 : NK_SHA256;
}

static const uint8_t *mac_key(const struct nk_rec_key *k)
{
    return k->key + k->suite->key_len;
}

static MSTATUS install(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *keys, int encrypt,
                       uint8_t ops_id)
{
    NK_CHECK(s && s->minor == 3 && s->aead == NK_AES_CBC && s->key_len <= NK_MAX_KEY
             && s->tag_len <= NK_TLS12_MAX_MAC, ERR_SSL_INTERNAL);
    nk_wipe(k->key, sizeof k->key);
    memcpy(k->key, keys, (size_t)s->key_len + s->tag_len);
    memset(k->iv, 0, sizeof k->iv);
    k->seq = 0;
    k->suite = s;
    k->ops_id = ops_id;
    MSTATUS st = nk_aead_init(&k->aead, s, k->key, encrypt);
    if (st < 0)
        nk_aead_free(&k->aead);   /* parked: the next use keys it again, or fails the same way */
    return st;
}

static MSTATUS install_mte(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *keys, int encrypt)
{
    return install(k, s, keys, encrypt, NK_REC_OPS_TLS12_CBC);
}

static MSTATUS install_etm(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *keys, int encrypt)
{
    return install(k, s, keys, encrypt, NK_REC_OPS_TLS12_CBC_ETM);
}

static int is_etm(const struct nk_rec_key *k)
{
    return k->ops_id == NK_REC_OPS_TLS12_CBC_ETM;
}

static MSTATUS unpark(struct nk_rec_key *k, int encrypt)
{
    return k->aead.ctx ? OK : nk_aead_init(&k->aead, k->suite, k->key, encrypt);
}

static void mac_header(uint8_t h[MAC_HDR], uint64_t seq, uint8_t type, size_t len)
{
    for (int i = 0; i < 8; i++)
        h[i] = (uint8_t)(seq >> (56 - 8 * i));
    h[8] = type;
    nk_store16(h + 9, NK_REC_V12);
    nk_store16(h + 11, (uint16_t)len);
}

/* HMAC(MAC_write_key, seq_num + type + version + length + d[0..n)). */
static MSTATUS mac(const struct nk_rec_key *k, uint8_t type, const uint8_t *d, size_t n, uint8_t *out)
{
    uint8_t h[MAC_HDR];
    mac_header(h, k->seq, type, n);
    const uint8_t *parts[2] = { h, d };
    size_t lens[2] = { MAC_HDR, n };
    return nk_hmac_parts(mac_hash(k->suite), mac_key(k), k->suite->tag_len, parts, lens, 2, out);
}

/* CBC over buf[0..n), n a multiple of the block, in place, from iv. */
static MSTATUS cbc(struct nk_rec_key *k, const uint8_t iv[BLOCK], uint8_t *buf, size_t n, int encrypt)
{
    int out = 0;
    return EVP_CipherInit_ex(k->aead.ctx, NULL, NULL, NULL, iv, encrypt)
                   && EVP_CipherUpdate(k->aead.ctx, buf, &out, buf, (int)n) && (size_t)out == n
               ? OK : ERR_CRYPTO;
}

static MSTATUS next_seq(struct nk_rec_key *k)
{
    /* §6.1: sequence numbers MUST NOT wrap. */
    NK_CHECK(k->seq < k->suite->aead_limit, ERR_SSL_SEQUENCE_EXHAUSTED);
    k->seq++;
    return OK;
}

/* §6.2.3.2: "each uint8 in the padding data vector MUST be filled with the
 * padding length value", the least that makes a whole number of blocks. */
static size_t pad_to_block(uint8_t *p, size_t n)
{
    size_t padlen = BLOCK - 1 - n % BLOCK;
    memset(p + n, (int)padlen, padlen + 1);
    return n + padlen + 1;
}

static MSTATUS cbc_seal(struct nk_rec_key *k, uint8_t type, uint16_t version, const uint8_t *data, size_t len,
                        size_t pad, struct nk_buf *out)
{
    const struct nk_suite *s = k->suite;
    size_t m = s->tag_len, start = out->len;
    int etm = is_etm(k);
    /* The body: IV, then content + (MTE: MAC) + padding, (ETM: then MAC). */
    size_t enc = ((len + (etm ? 0 : m)) / BLOCK + 1) * BLOCK, clen = BLOCK + enc + (etm ? m : 0);
    struct nk_wr w;
    (void)version;
    (void)pad;
    NK_CHECK(len <= NK_MAX_PLAIN, ERR_INVALID_ARG);
    NK_CHECK(k->seq < s->aead_limit, ERR_SSL_SEQUENCE_EXHAUSTED);
    NK_TRY(unpark(k, 1));
    NK_TRY(nk_buf_reserve(out, NK_REC_HDR + clen));
    nk_wr_init(&w, out);
    nk_rec_tls_header(&w, k, type, NK_REC_V12, clen);
    uint8_t *body = nk_wr_space(&w, clen);
    NK_CHECK(body, ERR_SSL_INTERNAL);   /* within the reservation: not reached */
    if (len)
        memmove(body + BLOCK, data, len);
    /* §6.2.3.2: the IV "SHOULD be chosen at random, and MUST be
     * unpredictable": public randomness, fresh per record. */
    MSTATUS st = nk_random(body, BLOCK);
    uint8_t *p = body + BLOCK;
    if (st >= 0 && etm) {
        /* RFC 7366 §3: MAC over the IV and ciphertext, TLSCiphertext.length
         * counting both. */
        pad_to_block(p, len);
        st = cbc(k, body, p, enc, 1);
        if (st >= 0)
            st = mac(k, type, body, BLOCK + enc, p + enc);
    } else if (st >= 0) {
        st = mac(k, type, p, len, p + len);
        if (st >= 0) {
            pad_to_block(p, len + m);
            st = cbc(k, body, p, enc, 1);
        }
    }
    if (st >= 0)
        st = next_seq(k);
    if (st < 0) {
        nk_wipe(out->p + start, out->len - start);
        out->len = start;
    }
    return st;
}

/* All ones when a < b, else zero, without a branch (lengths: both below
 * 2^(bits - 1), so the subtraction's top bit is the answer). */
static size_t ct_lt(size_t a, size_t b)
{
    return (size_t)0 - ((a - b) >> (sizeof(size_t) * 8 - 1));
}

/* All ones when a == b, else zero, without a branch. */
static size_t ct_eq(size_t a, size_t b)
{
    size_t x = a ^ b;
    return (size_t)0 - (((x | ((size_t)0 - x)) >> (sizeof(size_t) * 8 - 1)) ^ 1);
}

/* Byte e (0: the last) of the big-endian bit count of len bytes. */
static uint8_t bitlen_byte(size_t len, size_t e)
{
    uint64_t bits = (uint64_t)len << 3;
    return e < 8 ? (uint8_t)(bits >> (8 * e)) : 0;
}

/* The MAC-then-encrypt HMAC (RFC 2104) of header || p[0..content), where
 * content is secret, between the public lo and hi, computed with the same
 * compressions and the same memory reads whatever content is (the Lucky
 * Thirteen countermeasure). The inner hash runs to the last block the
 * longest content could need; each block from the first one that may hold
 * the end is built with masks (data before the end, 0x80 at it, zeros
 * after, the length field in the block that is the real last one), and
 * the chaining value after that block is kept by a mask. Then the outer
 * hash, fixed lengths. out: tag_len bytes. */
static MSTATUS ct_mac(const struct nk_rec_key *k, uint8_t type, const uint8_t *p, size_t n, size_t lo,
                      size_t hi, size_t content, uint8_t *out)
{
    enum nk_hash hh = mac_hash(k->suite);
    const size_t bl = nk_mdb_block_len(hh), lf = nk_mdb_lenfield_len(hh), hl = k->suite->tag_len;
    const unsigned shift = bl == 64 ? 6 : 7;
    uint8_t key[NK_MDB_MAX_BLOCK] = { 0 }, blk[NK_MDB_MAX_BLOCK], hdr[MAC_HDR];
    uint8_t inner[NK_MAX_HASH] = { 0 }, v[NK_MAX_HASH];
    struct nk_mdb md;
    memcpy(key, mac_key(k), hl);   /* the MAC key is tag_len bytes, less than a block */
    mac_header(hdr, k->seq, type, content);
    NK_TRY(nk_mdb_init(&md, hh));
    for (size_t i = 0; i < bl; i++)
        blk[i] = key[i] ^ 0x36;
    nk_mdb_compress(&md, blk);
    /* After the key block: hdr || p[0..content), L bytes; its padded form
     * ends in block (L + lf) / bl (FIPS 180-4 §5.1: 0x80, zeros, then the
     * bit length of everything hashed, the key block included). */
    size_t L = MAC_HDR + content, last = (L + lf) >> shift;
    size_t first = (MAC_HDR + lo) >> shift, end = (MAC_HDR + hi + lf) >> shift;
    for (size_t j = 0; j <= end; j++) {
        for (size_t i = 0; i < bl; i++) {
            size_t o = j * bl + i;   /* public */
            uint8_t d = o < MAC_HDR ? hdr[o] : o - MAC_HDR < n ? p[o - MAC_HDR] : 0;
            if (j < first) {         /* wholly content: no mask needed */
                blk[i] = d;
                continue;
            }
            size_t lenpos = ct_eq(j, last) & ~ct_lt(i, bl - lf);
            blk[i] = (uint8_t)((d & ct_lt(o, L)) | (0x80 & ct_eq(o, L))
                               | (bitlen_byte(bl + L, bl - 1 - i) & lenpos));
        }
        nk_mdb_compress(&md, blk);
        if (j >= first) {
            nk_mdb_value(&md, v);
            uint8_t keep = (uint8_t)ct_eq(j, last);
            for (size_t i = 0; i < hl; i++)
                inner[i] |= v[i] & keep;
        }
    }
    NK_TRY(nk_mdb_init(&md, hh));
    for (size_t i = 0; i < bl; i++)
        blk[i] = key[i] ^ 0x5c;
    nk_mdb_compress(&md, blk);
    memset(blk, 0, bl);
    memcpy(blk, inner, hl);
    blk[hl] = 0x80;
    for (size_t e = 0; e < lf; e++)
        blk[bl - 1 - e] = bitlen_byte(bl + hl, e);
    nk_mdb_compress(&md, blk);
    nk_mdb_value(&md, out);
    nk_wipe(key, sizeof key);
    nk_wipe(blk, sizeof blk);
    nk_wipe(inner, sizeof inner);
    nk_wipe(v, sizeof v);
    return OK;
}

/* The received MAC, p[content..content + m), copied out of its secret
 * offset: every byte it could occupy is read once, in order, into a
 * buffer rotated by (content - lo) mod m, and that rotation undone by a
 * masked pass over every possible amount. */
static void ct_extract_mac(const uint8_t *p, size_t lo, size_t hi, size_t content, size_t m, uint8_t *got)
{
    uint8_t rot[NK_TLS12_MAX_MAC] = { 0 };
    size_t at = 0, by = 0;
    for (size_t j = lo; j < hi + m; j++) {
        size_t in = ~ct_lt(j, content) & ct_lt(j, content + m);
        by |= at & ct_eq(j, content);
        rot[at] |= p[j] & (uint8_t)in;
        at = at + 1 == m ? 0 : at + 1;
    }
    memset(got, 0, m);
    for (size_t i = 0; i < m; i++)
        for (size_t s = 0, x = i; s < m; s++, x = x + 1 == m ? 0 : x + 1)
            got[i] |= rot[x] & (uint8_t)ct_eq(s, by);
    nk_wipe(rot, sizeof rot);
}

/* MAC-then-encrypt, decrypted: p[0..n) is content || MAC || padding, n a
 * whole number of blocks and at least MAC + 1. RFC 5246 §6.2.3.2: a bad
 * padding must not give a timing difference; the MAC is computed as if the
 * padding were empty then. Here every record of n bytes costs the same
 * compressions and reads the same bytes whatever its padding length, and a
 * bad padding and a bad MAC are one error (bad_record_mac). *len: the
 * content's. */
static MSTATUS open_mte(struct nk_rec_key *k, uint8_t type, const uint8_t *p, size_t n, size_t *len)
{
    size_t m = k->suite->tag_len, padlen = p[n - 1];
    /* good: all ones while the record is well formed. */
    size_t good = ct_lt(padlen + m, n);
    for (size_t i = 0; i < 256 && i < n; i++) {
        size_t in_pad = ~ct_lt(padlen, i);   /* i <= padlen */
        good &= ~(in_pad & ~ct_eq(p[n - 1 - i], padlen));
    }
    /* The content ends between lo and hi (public: padding 255 .. 0). */
    size_t hi = n - m - 1, lo = hi > 255 ? hi - 255 : 0;
    size_t content = hi - (padlen & good);
    uint8_t want[NK_TLS12_MAX_MAC], got[NK_TLS12_MAX_MAC];
    NK_TRY(ct_mac(k, type, p, n, lo, hi, content, want));
    ct_extract_mac(p, lo, hi, content, m, got);
    good &= ct_eq((size_t)CRYPTO_memcmp(want, got, m), 0);
    nk_wipe(want, sizeof want);
    nk_wipe(got, sizeof got);
    NK_CHECK(good, ERR_SSL_BAD_RECORD_MAC);
    *len = content;
    return OK;
}

/* Encrypt-then-MAC, the MAC already checked: p[0..n) is content || padding.
 * RFC 7366 §3 still requires the padding checked (bad_record_mac). */
static MSTATUS open_etm_padding(const uint8_t *p, size_t n, size_t *len)
{
    size_t padlen = p[n - 1];
    NK_CHECK(padlen < n, ERR_SSL_BAD_RECORD_MAC);
    uint8_t bad = 0;
    for (size_t i = 0; i <= padlen; i++)
        bad |= p[n - 1 - i] ^ (uint8_t)padlen;
    NK_CHECK(!bad, ERR_SSL_BAD_RECORD_MAC);
    *len = n - padlen - 1;
    return OK;
}

static MSTATUS cbc_open(struct nk_rec_key *k, uint8_t *rec, size_t rec_len, uint8_t *type, uint8_t **data,
                        size_t *len)
{
    struct nk_rd r;
    struct nk_rec h;
    nk_rd_init(&r, rec, rec_len);
    NK_TRY(nk_rec_tls_parse(&r, &h));
    size_t body = nk_rd_left(&r), m = k->suite->tag_len;
    NK_CHECK(body <= NK_MAX_CIPHER12, ERR_SSL_RECORD_OVERFLOW);
    NK_CHECK(h.body_len == body, ERR_SSL_PROTOCOL);
    NK_CHECK(h.version == NK_REC_V12, ERR_SSL_UNSUPPORTED_VERSION);
    NK_TRY(unpark(k, 0));
    uint8_t *b = rec + NK_REC_HDR, *p = b + BLOCK;
    size_t n;
    if (is_etm(k)) {
        /* The lengths are public: a body that is no IV, whole blocks and a
         * MAC is refused before any work. */
        NK_CHECK(body >= BLOCK + BLOCK + m && (body - BLOCK - m) % BLOCK == 0, ERR_SSL_BAD_RECORD_MAC);
        n = body - BLOCK - m;
        uint8_t want[NK_TLS12_MAX_MAC];
        NK_TRY(mac(k, h.type, b, BLOCK + n, want));
        int same = CRYPTO_memcmp(want, p + n, m) == 0;
        nk_wipe(want, sizeof want);
        NK_CHECK(same, ERR_SSL_BAD_RECORD_MAC);
        NK_TRY(cbc(k, b, p, n, 0));
        NK_TRY(open_etm_padding(p, n, len));
    } else {
        /* §6.2.3.2: at least one block of content, MAC and padding after the
         * IV, whole blocks. */
        NK_CHECK(body >= BLOCK + m + 1 && (body - BLOCK) % BLOCK == 0, ERR_SSL_BAD_RECORD_MAC);
        n = body - BLOCK;
        NK_TRY(cbc(k, b, p, n, 0));
        NK_TRY(open_mte(k, h.type, p, n, len));
    }
    NK_TRY(next_seq(k));
    /* §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14; §7.2.2. */
    NK_CHECK(*len <= NK_MAX_PLAIN, ERR_SSL_RECORD_OVERFLOW);
    *type = h.type;
    *data = p;
    return OK;
}

#define CBC_OPS(name_, install_) \
    { .name = name_, .hdr_len = NK_REC_HDR, \
      /* IV, a SHA-1 MAC and one byte of padding at least */ \
      .overhead = BLOCK + 20 + 1, \
      /* §6.2.3: "The length (in bytes) of the following \
       * TLSCiphertext.fragment. The length MUST NOT exceed 2^14 + 2048." \
       * (the engine's receive buffer grows to it when a CBC key reads). */ \
      .max_body = NK_MAX_CIPHER12, \
      .parse = nk_rec_tls_parse, .header = nk_rec_tls_header, .install = install_, \
      .seal = cbc_seal, .open = cbc_open }

const struct nk_rec_ops nk_rec_tls12_cbc = CBC_OPS("TLS 1.2 CBC", install_mte);
const struct nk_rec_ops nk_rec_tls12_cbc_etm = CBC_OPS("TLS 1.2 CBC encrypt_then_mac", install_etm);
