/* handshake/keysched12.c — the TLS 1.2 key derivation (RFC 5246 §5, §6.3,
 * §7.4.9, §8.1; RFC 7627 §4; RFC 5705 §4). The PRF is written out over the
 * library's HMAC, which reuses this thread's digest context: a handshake's
 * derivations fetch and allocate nothing. Every intermediate value is wiped
 * before return; outputs are the caller's to wipe. */
#include "handshake/keysched12.h"
#include "core/wire.h"

/* P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) +
 *                        HMAC_hash(secret, A(2) + seed) + ...
 * A(0) = seed, A(i) = HMAC_hash(secret, A(i-1)), where the PRF's seed is
 * label + seed (§5). parts[0] is left for A(i); parts[1..n] are label and seed. */
static MSTATUS p_hash(enum nk_hash h, const uint8_t *secret, size_t slen, const uint8_t **parts, size_t *lens,
                      size_t n, uint8_t *out, size_t olen)
{
    size_t hl = nk_hash_len(h), done = 0;
    uint8_t a[NK_MAX_HASH], t[NK_MAX_HASH];
    MSTATUS st = nk_hmac_parts(h, secret, slen, parts + 1, lens + 1, n, a);   /* A(1) */
    parts[0] = a;
    lens[0] = hl;
    while (st >= 0 && done < olen) {
        st = nk_hmac_parts(h, secret, slen, (const uint8_t *const *)parts, lens, n + 1, t);
        if (st < 0)
            break;
        size_t k = olen - done < hl ? olen - done : hl;
        memcpy(out + done, t, k);
        done += k;
        if (done < olen && (st = nk_hmac(h, secret, slen, a, hl, t)) >= 0)   /* A(i + 1) */
            memcpy(a, t, hl);
    }
    nk_wipe(a, sizeof a);
    nk_wipe(t, sizeof t);
    if (st < 0)
        nk_wipe(out, olen);
    return st;
}

MSTATUS nk_tls12_prf(enum nk_hash h, const uint8_t *secret, size_t slen, const uint8_t *label, size_t llen,
                     const uint8_t *const *seed, const size_t *seed_lens, size_t nseed, uint8_t *out,
                     size_t olen)
{
    const uint8_t *parts[2 + NK_TLS12_SEED_PARTS];
    size_t lens[2 + NK_TLS12_SEED_PARTS];
    NK_CHECK(h < NK_HASH_COUNT && nseed <= NK_TLS12_SEED_PARTS, ERR_INVALID_ARG);
    parts[1] = label;
    lens[1] = llen;
    for (size_t i = 0; i < nseed; i++) {
        parts[2 + i] = seed[i];
        lens[2 + i] = seed_lens[i];
    }
    return p_hash(h, secret, slen, parts, lens, 1 + nseed, out, olen);
}

/* The PRF under one of the TLS labels (ASCII, no terminating NUL, §5). */
static MSTATUS prf(enum nk_hash h, const uint8_t *secret, size_t slen, const char *label,
                   const uint8_t *s1, size_t n1, const uint8_t *s2, size_t n2, uint8_t *out, size_t olen)
{
    const uint8_t *seed[2] = { s1, s2 };
    size_t lens[2] = { n1, n2 };
    return nk_tls12_prf(h, secret, slen, (const uint8_t *)label, strlen(label), seed, lens, s2 ? 2 : 1, out,
                        olen);
}

MSTATUS nk_tls12_master_secret(struct nk_tls12_params *p, const uint8_t *pms, size_t pms_len)
{
    /* master_secret = PRF(pre_master_secret, "master secret",
     *                     ClientHello.random + ServerHello.random)[0..47]; */
    NK_CHECK(pms && pms_len, ERR_INVALID_ARG);
    return prf(p->prf, pms, pms_len, "master secret", p->client_random, NK_TLS12_RANDOM, p->server_random,
               NK_TLS12_RANDOM, p->master, NK_TLS12_MASTER);
}

MSTATUS nk_tls12_master_secret_ems(struct nk_tls12_params *p, const uint8_t *pms, size_t pms_len,
                                   const uint8_t *session_hash)
{
    /* RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master
     * secret", session_hash)[0..47]; */
    NK_CHECK(pms && pms_len && session_hash, ERR_INVALID_ARG);
    return prf(p->prf, pms, pms_len, "extended master secret", session_hash, nk_hash_len(p->prf), NULL, 0,
               p->master, NK_TLS12_MASTER);
}

MSTATUS nk_tls12_key_block(const struct nk_tls12_params *p, const struct nk_suite *s,
                           uint8_t client[NK_REC12_KEYS], uint8_t server[NK_REC12_KEYS])
{
    /* A suite of the other version, or a PRF the suite does not name, is a
     * bug of the caller's: the key block would be wrong. */
    NK_CHECK(s && s->minor == 3 && s->hash == p->prf, ERR_SSL_INTERNAL);
    size_t k = s->key_len, iv = s->fixed_iv_len, m = s->aead == NK_AES_CBC ? s->tag_len : 0;
    NK_CHECK(k <= NK_MAX_KEY && iv <= NK_AEAD_IV && m <= NK_TLS12_MAX_MAC, ERR_SSL_INTERNAL);
    uint8_t kb[2 * NK_REC12_KEYS];
    /* key_block = PRF(SecurityParameters.master_secret, "key expansion",
     *                 SecurityParameters.server_random +
     *                 SecurityParameters.client_random); */
    MSTATUS st = prf(p->prf, p->master, NK_TLS12_MASTER, "key expansion", p->server_random, NK_TLS12_RANDOM,
                     p->client_random, NK_TLS12_RANDOM, kb, 2 * (m + k + iv));
    if (st >= 0) {
        /* client_write_MAC_key, server_write_MAC_key (empty for AEAD),
         * client_write_key, server_write_key, client_write_IV, server_write_IV
         * (empty for CBC: its IVs are explicit). Each side gets write_key,
         * then write_IV (AEAD) or write_MAC_key (CBC). */
        memcpy(client, kb + 2 * m, k);
        memcpy(server, kb + 2 * m + k, k);
        memcpy(client + k, m ? kb : kb + 2 * k, m ? m : iv);
        memcpy(server + k, m ? kb + m : kb + 2 * k + iv, m ? m : iv);
    }
    nk_wipe(kb, sizeof kb);
    return st;
}

MSTATUS nk_tls12_finished(const struct nk_tls12_params *p, int client, const uint8_t *thash,
                          uint8_t out[NK_TLS12_VERIFY])
{
    /* verify_data = PRF(master_secret, finished_label,
     *                   Hash(handshake_messages))[0..verify_data_length-1]; */
    return prf(p->prf, p->master, NK_TLS12_MASTER, client ? "client finished" : "server finished", thash,
               nk_hash_len(p->prf), NULL, 0, out, NK_TLS12_VERIFY);
}

/* Whether label is one the TLS PRF uses itself (RFC 5705 §4: "exporter
 * labels have the potential to collide with existing PRF labels"). */
static int prf_label(const uint8_t *label, size_t llen)
{
    static const char *const own[] = {
        "client finished", "server finished", "master secret", "extended master secret", "key expansion",
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(own); i++)
        if (llen == strlen(own[i]) && memcmp(label, own[i], llen) == 0)
            return 1;
    return 0;
}

MSTATUS nk_tls12_export(const struct nk_tls12_params *p, const uint8_t *label, size_t llen, const uint8_t *ctx,
                        size_t clen, uint8_t *out, size_t olen)
{
    /* PRF(master_secret, label, client_random + server_random
     *     [+ context_value_length + context_value])[length], the length a uint16. */
    uint8_t clen16[2];
    const uint8_t *seed[4] = { p->client_random, p->server_random, clen16, ctx };
    size_t lens[4] = { NK_TLS12_RANDOM, NK_TLS12_RANDOM, 2, clen };
    NK_CHECK(label || !llen, ERR_INVALID_ARG);
    NK_CHECK(!prf_label(label, llen), ERR_INVALID_ARG);
    NK_CHECK(!ctx || clen <= 0xffff, ERR_INVALID_ARG);
    nk_store16(clen16, (uint16_t)clen);
    return nk_tls12_prf(p->prf, p->master, NK_TLS12_MASTER, label, llen, seed, lens, ctx ? 4 : 2, out, olen);
}

void nk_tls12_params_clear(struct nk_tls12_params *p)
{
    nk_wipe(p, sizeof *p);
}
