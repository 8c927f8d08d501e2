/* test_keysched12.c — the TLS 1.2 key derivation (handshake/keysched12.c)
 * against libcrypto's own TLS1-PRF (EVP_KDF), a code path apart from ours
 * (ours is P_hash written over the library's HMAC; for seeds past the 1 KiB
 * libcrypto's TLS1-PRF takes, a plain P_hash over libcrypto's one-shot HMAC,
 * checked against TLS1-PRF where both can run): the PRF for SHA-256 and
 * SHA-384 over secret and output lengths, one fixed SHA-256 vector, the
 * master secret, the extended master secret, the key block split per suite,
 * Finished, the exporter with and without context, and the refusals. Every
 * label is spelled here as the RFCs spell it, and every seed built here. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "record/record.h"
#include "handshake/keysched12.h"

/* P_hash (RFC 5246 §5) as the RFC writes it, over libcrypto's one-shot HMAC. */
static int hmac_p_hash(const EVP_MD *md, const uint8_t *secret, size_t slen, const uint8_t *seed, size_t n,
                       uint8_t *out, size_t olen)
{
    static uint8_t buf[EVP_MAX_MD_SIZE + 70000];
    uint8_t a[EVP_MAX_MD_SIZE], t[EVP_MAX_MD_SIZE];
    unsigned al, tl;
    size_t hl = (size_t)EVP_MD_get_size(md);
    if (n > sizeof buf - hl || !HMAC(md, secret, (int)slen, seed, n, a, &al))   /* A(1) */
        return -1;
    for (size_t done = 0; done < olen; done += tl) {
        memcpy(buf, a, hl);
        memcpy(buf + hl, seed, n);
        if (!HMAC(md, secret, (int)slen, buf, hl + n, t, &tl) || !HMAC(md, secret, (int)slen, a, hl, a, &al))
            return -1;
        memcpy(out + done, t, olen - done < tl ? olen - done : tl);
    }
    return 0;
}

/* PRF(secret, label, seed) by libcrypto: TLS1-PRF with the label and seed
 * concatenated here into its seed (or P_hash over HMAC for seeds longer
 * than TLS1-PRF takes). 0 on success. */
static int ref_prf(enum nk_hash h, const uint8_t *secret, size_t slen, const char *label, const uint8_t *seed,
                   size_t seed_len, uint8_t *out, size_t olen)
{
    static uint8_t buf[64 + 2 * 32 + 2 + 70000];
    size_t ll = strlen(label);
    if (ll + seed_len > sizeof buf)
        return -1;
    memcpy(buf, label, ll);
    memcpy(buf + ll, seed, seed_len);
    if (ll + seed_len > 1024)
        return hmac_p_hash(h == NK_SHA384 ? EVP_sha384() : EVP_sha256(), secret, slen, buf, ll + seed_len, out,
                           olen);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, h == NK_SHA384 ? "SHA384" : "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, slen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, buf, ll + seed_len),
        OSSL_PARAM_construct_end(),
    };
    int ok = k && EVP_KDF_derive(k, out, olen, params) == 1;
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 37 * i + (i >> 8));
}

/* Parameters with distinct randoms and master secret. */
static void params(struct nk_tls12_params *p, enum nk_hash h)
{
    memset(p, 0, sizeof *p);
    p->prf = h;
    fill(p->client_random, sizeof p->client_random, 0x11);
    fill(p->server_random, sizeof p->server_random, 0x52);
    fill(p->master, sizeof p->master, 0x93);
}

static const enum nk_hash hashes[] = { NK_SHA256, NK_SHA384 };

/* ---- the PRF ---- */

TEST(prf_matches_libcrypto)
{
    static const size_t slens[] = { 1, 16, 32, 48, 64, 65, 128, 129, 300 };
    static const size_t olens[] = { 0, 1, 12, 31, 32, 33, 48, 64, 100, 200 };
    uint8_t secret[300], seed[77], a[200], b[200];
    fill(secret, sizeof secret, 3);
    fill(seed, sizeof seed, 200);
    const uint8_t *parts[] = { seed };
    size_t lens[] = { sizeof seed };
    for (size_t h = 0; h < NK_ARRAY_LEN(hashes); h++)
        for (size_t s = 0; s < NK_ARRAY_LEN(slens); s++)
            for (size_t o = 0; o < NK_ARRAY_LEN(olens); o++) {
                memset(a, 0xee, sizeof a);
                ASSERT_EQ(nk_tls12_prf(hashes[h], secret, slens[s], (const uint8_t *)"a label", 7, parts, lens,
                                       1, a, olens[o]), OK);
                if (!olens[o])
                    continue;
                ASSERT_EQ(ref_prf(hashes[h], secret, slens[s], "a label", seed, sizeof seed, b, olens[o]), 0);
                EXPECT_MEM_EQ(a, b, olens[o]) TH_LOG("hash %zu secret %zu out %zu", h, slens[s], olens[o]);
                /* Not a byte more. */
                for (size_t i = olens[o]; i < sizeof a; i++)
                    ASSERT_EQ(a[i], 0xee);
            }
}

TEST(reference_p_hash_agrees_with_tls1_prf)
{
    /* The long-seed reference is itself checked where both run. */
    uint8_t secret[129], seed[1000], a[150], b[150];
    fill(secret, sizeof secret, 5);
    fill(seed, sizeof seed, 6);
    for (size_t h = 0; h < NK_ARRAY_LEN(hashes); h++) {
        const EVP_MD *md = hashes[h] == NK_SHA384 ? EVP_sha384() : EVP_sha256();
        ASSERT_EQ(hmac_p_hash(md, secret, sizeof secret, seed, sizeof seed, a, sizeof a), 0);
        ASSERT_EQ(ref_prf(hashes[h], secret, sizeof secret, "", seed, sizeof seed, b, sizeof b), 0);
        EXPECT_MEM_EQ(a, b, sizeof a) TH_LOG("hash %zu", h);
    }
}

TEST(prf_sha256_fixed_vector)
{
    /* The TLS 1.2 PRF (SHA-256) test vector long circulated among
     * implementers: secret, seed and "test label", 100 bytes out. */
    static const uint8_t secret[] = { 0x9b, 0xbe, 0x43, 0x6b, 0xa9, 0x40, 0xf0, 0x17,
                                      0xb1, 0x76, 0x52, 0x84, 0x9a, 0x71, 0xdb, 0x35 };
    static const uint8_t seed[] = { 0xa0, 0xba, 0x9f, 0x93, 0x6c, 0xda, 0x31, 0x18,
                                    0x27, 0xa6, 0xf7, 0x96, 0xff, 0xd5, 0x19, 0x8c };
    static const uint8_t want[100] = {
        0xe3, 0xf2, 0x29, 0xba, 0x72, 0x7b, 0xe1, 0x7b, 0x8d, 0x12, 0x26, 0x20, 0x55, 0x7c, 0xd4, 0x53,
        0xc2, 0xaa, 0xb2, 0x1d, 0x07, 0xc3, 0xd4, 0x95, 0x32, 0x9b, 0x52, 0xd4, 0xe6, 0x1e, 0xdb, 0x5a,
        0x6b, 0x30, 0x17, 0x91, 0xe9, 0x0d, 0x35, 0xc9, 0xc9, 0xa4, 0x6b, 0x4e, 0x14, 0xba, 0xf9, 0xaf,
        0x0f, 0xa0, 0x22, 0xf7, 0x07, 0x7d, 0xef, 0x17, 0xab, 0xfd, 0x37, 0x97, 0xc0, 0x56, 0x4b, 0xab,
        0x4f, 0xbc, 0x91, 0x66, 0x6e, 0x9d, 0xef, 0x9b, 0x97, 0xfc, 0xe3, 0x4f, 0x79, 0x67, 0x89, 0xba,
        0xa4, 0x80, 0x82, 0xd1, 0x22, 0xee, 0x42, 0xc5, 0xa7, 0x2e, 0x5a, 0x51, 0x10, 0xff, 0xf7, 0x01,
        0x87, 0x34, 0x7b, 0x66,
    };
    const uint8_t *parts[] = { seed };
    size_t lens[] = { sizeof seed };
    uint8_t out[100], ref[100];
    ASSERT_EQ(nk_tls12_prf(NK_SHA256, secret, sizeof secret, (const uint8_t *)"test label", 10, parts, lens, 1,
                           out, sizeof out), OK);
    EXPECT_MEM_EQ(out, want, sizeof want);
    ASSERT_EQ(ref_prf(NK_SHA256, secret, sizeof secret, "test label", seed, sizeof seed, ref, sizeof ref), 0);
    EXPECT_MEM_EQ(ref, want, sizeof want);
}

TEST(prf_seed_parts_and_limits)
{
    uint8_t secret[32], seed[40], one[60], four[60];
    fill(secret, sizeof secret, 9);
    fill(seed, sizeof seed, 10);
    const uint8_t *whole[] = { seed }, *split[] = { seed, seed + 1, seed + 1, seed + 17 };
    size_t wl[] = { sizeof seed }, sl[] = { 1, 0, 16, 23 };
    ASSERT_EQ(nk_tls12_prf(NK_SHA384, secret, 32, (const uint8_t *)"x", 1, whole, wl, 1, one, 60), OK);
    ASSERT_EQ(nk_tls12_prf(NK_SHA384, secret, 32, (const uint8_t *)"x", 1, split, sl, 4, four, 60), OK);
    EXPECT_MEM_EQ(one, four, 60);
    const uint8_t *five[5] = { seed, seed, seed, seed, seed };
    size_t fl[5] = { 1, 1, 1, 1, 1 };
    EXPECT_EQ(nk_tls12_prf(NK_SHA256, secret, 32, (const uint8_t *)"x", 1, five, fl, 5, one, 12), ERR_INVALID_ARG);
    EXPECT_EQ(nk_tls12_prf(NK_HASH_COUNT, secret, 32, (const uint8_t *)"x", 1, whole, wl, 1, one, 12),
              ERR_INVALID_ARG);
}

/* ---- master secrets ---- */

TEST(master_secret)
{
    /* §8.1: PRF(pre_master_secret, "master secret", ClientHello.random +
     * ServerHello.random)[0..47]; pre-master secrets of X25519's, P-384's
     * and ffdhe2048's sizes (the last longer than an HMAC block). */
    static const size_t pms_lens[] = { 32, 48, 256 };
    uint8_t pms[256], seed[64], want[48];
    fill(pms, sizeof pms, 0x21);
    for (size_t h = 0; h < NK_ARRAY_LEN(hashes); h++)
        for (size_t i = 0; i < NK_ARRAY_LEN(pms_lens); i++) {
            struct nk_tls12_params p;
            params(&p, hashes[h]);
            memcpy(seed, p.client_random, 32);
            memcpy(seed + 32, p.server_random, 32);
            ASSERT_EQ(nk_tls12_master_secret(&p, pms, pms_lens[i]), OK);
            ASSERT_EQ(ref_prf(hashes[h], pms, pms_lens[i], "master secret", seed, 64, want, 48), 0);
            EXPECT_MEM_EQ(p.master, want, 48) TH_LOG("hash %zu pms %zu", h, pms_lens[i]);
        }
    struct nk_tls12_params p;
    params(&p, NK_SHA256);
    EXPECT_EQ(nk_tls12_master_secret(&p, pms, 0), ERR_INVALID_ARG);
    EXPECT_EQ(nk_tls12_master_secret(&p, NULL, 32), ERR_INVALID_ARG);
}

TEST(extended_master_secret)
{
    /* RFC 7627 §4: PRF(pre_master_secret, "extended master secret",
     * session_hash)[0..47], the session hash as long as the PRF's hash. */
    uint8_t pms[48], session_hash[48], want[48], plain[48];
    fill(pms, sizeof pms, 0x44);
    fill(session_hash, sizeof session_hash, 0x77);
    for (size_t h = 0; h < NK_ARRAY_LEN(hashes); h++) {
        struct nk_tls12_params p;
        params(&p, hashes[h]);
        ASSERT_EQ(nk_tls12_master_secret_ems(&p, pms, sizeof pms, session_hash), OK);
        ASSERT_EQ(ref_prf(hashes[h], pms, sizeof pms, "extended master secret", session_hash,
                          nk_hash_len(hashes[h]), want, 48), 0);
        EXPECT_MEM_EQ(p.master, want, 48) TH_LOG("hash %zu", h);
        /* Not the §8.1 master secret of the same pre-master secret. */
        memcpy(plain, p.master, 48);
        ASSERT_EQ(nk_tls12_master_secret(&p, pms, sizeof pms), OK);
        EXPECT_NE(memcmp(plain, p.master, 48), 0);
        EXPECT_EQ(nk_tls12_master_secret_ems(&p, pms, sizeof pms, NULL), ERR_INVALID_ARG);
    }
}

/* ---- the key block ---- */

TEST(key_block_per_suite)
{
    /* §6.3: key_block = PRF(master_secret, "key expansion", server_random +
     * client_random), split client MAC key, server MAC key (CBC only),
     * client key, server key, client IV, server IV (AEAD only). Each side
     * gets its key, then its IV or MAC key. */
    for (size_t i = 0; i < nk_suite12_count; i++) {
        const struct nk_suite *s = &nk_suites12[i];
        if (s->aead == NK_AES_CBC)
            continue;   /* key_block_cbc */
        size_t k = s->key_len, iv = s->fixed_iv_len;
        struct nk_tls12_params p;
        uint8_t seed[64], kb[2 * NK_REC12_KEYS], client[NK_REC12_KEYS], server[NK_REC12_KEYS];
        params(&p, s->hash);
        memcpy(seed, p.server_random, 32);
        memcpy(seed + 32, p.client_random, 32);
        memset(client, 0xee, sizeof client);
        memset(server, 0xee, sizeof server);
        ASSERT_EQ(nk_tls12_key_block(&p, s, client, server), OK) TH_LOG("%s", s->name);
        ASSERT_EQ(ref_prf(s->hash, p.master, 48, "key expansion", seed, 64, kb, 2 * (k + iv)), 0);
        EXPECT_MEM_EQ(client, kb, k) TH_LOG("%s", s->name);
        EXPECT_MEM_EQ(server, kb + k, k) TH_LOG("%s", s->name);
        EXPECT_MEM_EQ(client + k, kb + 2 * k, iv) TH_LOG("%s", s->name);
        EXPECT_MEM_EQ(server + k, kb + 2 * k + iv, iv) TH_LOG("%s", s->name);
        for (size_t j = k + iv; j < NK_REC12_KEYS; j++) {
            ASSERT_EQ(client[j], 0xee) TH_LOG("%s: byte %zu", s->name, j);
            ASSERT_EQ(server[j], 0xee) TH_LOG("%s: byte %zu", s->name, j);
        }
        /* 40 bytes for AES-128-GCM (RFC 5288 §3), 88 for ChaCha (RFC 7905). */
        EXPECT_EQ(2 * (k + iv), s->aead == NK_CHACHA20_POLY1305 ? 88u : s->key_len == 16 ? 40u : 72u);
    }
}

TEST(key_block_cbc)
{
    /* ECDHE-RSA-AES128-SHA: 2 x 20 MAC key bytes, then 2 x 16 key bytes, no
     * IV (RFC 5246 §6.3; 72 bytes); AES256-SHA384: 2 x 48 + 2 x 32. */
    static const uint16_t ids[] = { 0xc013, 0xc028 };
    for (size_t i = 0; i < NK_ARRAY_LEN(ids); i++) {
        const struct nk_suite *s = nk_suite12_by_id(ids[i]);
        size_t k = s->key_len, m = s->tag_len;
        struct nk_tls12_params p;
        uint8_t seed[64], kb[2 * NK_REC12_KEYS], client[NK_REC12_KEYS], server[NK_REC12_KEYS];
        params(&p, s->hash);
        memcpy(seed, p.server_random, 32);
        memcpy(seed + 32, p.client_random, 32);
        ASSERT_EQ(nk_tls12_key_block(&p, s, client, server), OK);
        ASSERT_EQ(ref_prf(s->hash, p.master, 48, "key expansion", seed, 64, kb, 2 * (m + k)), 0);
        EXPECT_MEM_EQ(client, kb + 2 * m, k);
        EXPECT_MEM_EQ(server, kb + 2 * m + k, k);
        EXPECT_MEM_EQ(client + k, kb, m);
        EXPECT_MEM_EQ(server + k, kb + m, m);
        EXPECT_EQ(2 * (m + k), ids[i] == 0xc013 ? 72u : 160u);
    }
}

TEST(key_block_refusals)
{
    struct nk_tls12_params p;
    uint8_t c[NK_REC12_KEYS], s[NK_REC12_KEYS];
    params(&p, NK_SHA256);
    /* The PRF must be the suite's; a TLS 1.3 suite has no key block. */
    EXPECT_EQ(nk_tls12_key_block(&p, nk_suite12_by_id(0xc030), c, s), ERR_SSL_INTERNAL);
    EXPECT_EQ(nk_tls12_key_block(&p, nk_suite_by_id(0x1301), c, s), ERR_SSL_INTERNAL);
    EXPECT_EQ(nk_tls12_key_block(&p, NULL, c, s), ERR_SSL_INTERNAL);
    p.prf = NK_SHA384;
    EXPECT_EQ(nk_tls12_key_block(&p, nk_suite12_by_id(0xc030), c, s), OK);
}

TEST(key_block_keys_the_records)
{
    /* What the client writes under its share, the server reads under the
     * same share; the server's own share is another key. */
    const struct nk_suite *s = nk_suite12_by_id(0xc02b);
    struct nk_tls12_params p;
    struct nk_rec_key cw = { 0 }, sr = { 0 }, sw = { 0 };
    struct nk_buf out = { 0 };
    uint8_t c[NK_REC12_KEYS], sv[NK_REC12_KEYS], type, *data;
    size_t len;
    params(&p, s->hash);
    ASSERT_EQ(nk_tls12_key_block(&p, s, c, sv), OK);
    ASSERT_EQ(nk_rec_tls12.install(&cw, s, c, 1), OK);
    ASSERT_EQ(nk_rec_tls12.install(&sr, s, c, 0), OK);
    ASSERT_EQ(nk_rec_tls12.install(&sw, s, sv, 0), OK);
    EXPECT_MEM_EQ(cw.iv, c + 16, 4);
    ASSERT_EQ(nk_rec_seal(&cw, NK_CT_HANDSHAKE, (const uint8_t *)"finished", 8, 0, &out), OK);
    uint8_t copy[64];
    memcpy(copy, out.p, out.len);
    ASSERT_EQ(nk_rec_open(&sr, out.p, out.len, &type, &data, &len), OK);
    EXPECT_MEM_EQ(data, "finished", 8);
    EXPECT_EQ(nk_rec_open(&sw, copy, out.len, &type, &data, &len), ERR_SSL_BAD_RECORD_MAC);
    nk_rec_clear(&cw);
    nk_rec_clear(&sr);
    nk_rec_clear(&sw);
    nk_buf_free(&out);
}

/* ---- Finished ---- */

TEST(finished_verify_data)
{
    /* §7.4.9: PRF(master_secret, finished_label, Hash(handshake_messages))
     * [0..11], "client finished" / "server finished". */
    uint8_t thash[48], want[12], out[16];
    fill(thash, sizeof thash, 0x3c);
    for (size_t h = 0; h < NK_ARRAY_LEN(hashes); h++) {
        struct nk_tls12_params p;
        params(&p, hashes[h]);
        size_t hl = nk_hash_len(hashes[h]);
        for (int client = 0; client < 2; client++) {
            memset(out, 0xee, sizeof out);
            ASSERT_EQ(nk_tls12_finished(&p, client, thash, out), OK);
            ASSERT_EQ(ref_prf(hashes[h], p.master, 48, client ? "client finished" : "server finished", thash, hl,
                              want, 12), 0);
            EXPECT_MEM_EQ(out, want, 12) TH_LOG("hash %zu client %d", h, client);
            for (size_t i = 12; i < sizeof out; i++)
                EXPECT_EQ(out[i], 0xee);
        }
    }
}

/* ---- the exporter ---- */

TEST(exporter)
{
    static uint8_t ctx[0x10000], seed[64 + 2 + 0x10000];
    uint8_t out[500], want[500], none[32], empty[32];
    struct nk_tls12_params p;
    const uint8_t *label = (const uint8_t *)"EXPORTER-test";
    params(&p, NK_SHA384);
    fill(ctx, sizeof ctx, 0x66);
    memcpy(seed, p.client_random, 32);
    memcpy(seed + 32, p.server_random, 32);

    /* RFC 5705 §4 without a context: client_random + server_random. */
    ASSERT_EQ(nk_tls12_export(&p, label, 13, NULL, 0, out, sizeof out), OK);
    ASSERT_EQ(ref_prf(NK_SHA384, p.master, 48, "EXPORTER-test", seed, 64, want, sizeof out), 0);
    EXPECT_MEM_EQ(out, want, sizeof out);
    memcpy(none, out, 32);

    /* With one: + uint16 length + context, of 0, 5 and 65535 bytes. */
    static const size_t clens[] = { 0, 5, 0xffff };
    for (size_t i = 0; i < NK_ARRAY_LEN(clens); i++) {
        nk_store16(seed + 64, (uint16_t)clens[i]);
        memcpy(seed + 66, ctx, clens[i]);
        ASSERT_EQ(nk_tls12_export(&p, label, 13, ctx, clens[i], out, 32), OK);
        ASSERT_EQ(ref_prf(NK_SHA384, p.master, 48, "EXPORTER-test", seed, 66 + clens[i], want, 32), 0);
        EXPECT_MEM_EQ(out, want, 32) TH_LOG("context %zu", clens[i]);
        if (clens[i] == 0)
            memcpy(empty, out, 32);
    }
    /* An empty context is not no context. */
    EXPECT_NE(memcmp(none, empty, 32), 0);
    /* The length is a uint16; the PRF's own labels are not for export. */
    EXPECT_EQ(nk_tls12_export(&p, label, 13, ctx, 0x10000, out, 32), ERR_INVALID_ARG);
    static const char *const own[] = {
        "client finished", "server finished", "master secret", "extended master secret", "key expansion",
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(own); i++)
        EXPECT_EQ(nk_tls12_export(&p, (const uint8_t *)own[i], strlen(own[i]), NULL, 0, out, 32),
                  ERR_INVALID_ARG) TH_LOG("%s", own[i]);
    /* A prefix of one is another label. */
    EXPECT_EQ(nk_tls12_export(&p, (const uint8_t *)"key expansion", 12, NULL, 0, out, 32), OK);
}

TEST(params_clear_wipes)
{
    struct nk_tls12_params p;
    static const uint8_t zero[sizeof p];
    params(&p, NK_SHA256);
    nk_tls12_params_clear(&p);
    EXPECT_MEM_EQ(&p, zero, sizeof p);
}

TEST_HARNESS_MAIN
