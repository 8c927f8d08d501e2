/* handshake/keysched.c — the TLS 1.3 key schedule (RFC 8446 §7.1–7.5). */
#include <pthread.h>
#include "handshake/hs.h"

MSTATUS nk_ks_derive_secret(enum nk_hash h, const uint8_t *secret, const char *label,
                            const uint8_t *thash, uint8_t *out)
{
    /* Derive-Secret(Secret, Label, Messages) =
     *   HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length);
     * thash NULL means Messages = "" (the hash of the empty string). */
    size_t hl = nk_hash_len(h);
    if (!thash)
        NK_CHECK(thash = nk_empty_hash(h), ERR_CRYPTO);
    return nk_hkdf_expand_label(h, secret, label, thash, hl, out, hl);
}

/* Without a PSK the first stage is a constant of the hash: early_secret =
 * HKDF-Extract(0, 0) and the salt it gives the next stage, Derive-Secret(
 * early_secret, "derived", ""). Computed once, not per handshake; neither is
 * secret. */
static uint8_t g_no_psk_early[NK_HASH_COUNT][NK_MAX_HASH];
static uint8_t g_no_psk_derived[NK_HASH_COUNT][NK_MAX_HASH];
static MSTATUS g_no_psk_status = ERR_CRYPTO;
static pthread_once_t g_no_psk_once = PTHREAD_ONCE_INIT;

static void no_psk_init(void)
{
    static const uint8_t zero[NK_MAX_HASH];
    for (int h = 0; h < NK_HASH_COUNT; h++) {
        uint8_t *early = g_no_psk_early[h];
        size_t hl = nk_hash_len((enum nk_hash)h);
        if (nk_hkdf_extract((enum nk_hash)h, zero, hl, zero, hl, early) < 0
            || nk_ks_derive_secret((enum nk_hash)h, early, "derived", NULL, g_no_psk_derived[h]) < 0)
            return;
    }
    g_no_psk_status = OK;
}

MSTATUS nk_ks_early(struct nk_hs *hs, const uint8_t *psk, size_t psk_len)
{
    /* early_secret = HKDF-Extract(0, PSK); without a PSK, a string of Hash.length zeros. */
    static const uint8_t zero[NK_MAX_HASH];
    size_t hl = nk_hash_len(hs->hash);
    hs->no_psk = !psk;
    if (!psk) {
        pthread_once(&g_no_psk_once, no_psk_init);
        NK_TRY(g_no_psk_status);
        memcpy(hs->secret, g_no_psk_early[hs->hash], hl);
        return OK;
    }
    return nk_hkdf_extract(hs->hash, zero, hl, psk, psk_len, hs->secret);
}

/* Advance hs->secret to the next stage: Extract(Derive-Secret(prev, "derived", ""), ikm). */
static MSTATUS next_stage(struct nk_hs *hs, const uint8_t *ikm, size_t ilen)
{
    uint8_t derived[NK_MAX_HASH];
    static const uint8_t zero[NK_MAX_HASH];
    size_t hl = nk_hash_len(hs->hash);
    if (hs->no_psk) {   /* nk_ks_early made sure the constants exist */
        memcpy(derived, g_no_psk_derived[hs->hash], hl);
        hs->no_psk = 0;
    } else {
        NK_TRY(nk_ks_derive_secret(hs->hash, hs->secret, "derived", NULL, derived));
    }
    MSTATUS st = nk_hkdf_extract(hs->hash, derived, hl, ikm ? ikm : zero, ikm ? ilen : hl, hs->secret);
    nk_wipe(derived, sizeof derived);
    return st;
}

MSTATUS nk_ks_handshake(struct nk_tls *c, const uint8_t *dhe, size_t dhe_len)
{
    struct nk_hs *hs = c->hs;
    uint8_t th[NK_MAX_HASH];
    NK_TRY(next_stage(hs, dhe, dhe_len));
    NK_TRY(nk_transcript_hash(&hs->tr, th));     /* ClientHello...ServerHello */
    NK_TRY(nk_ks_derive_secret(hs->hash, hs->secret, "c hs traffic", th, hs->c_hs));
    NK_TRY(nk_ks_derive_secret(hs->hash, hs->secret, "s hs traffic", th, hs->s_hs));
    return OK;
}

MSTATUS nk_ks_application(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    uint8_t th[NK_MAX_HASH];
    NK_TRY(next_stage(hs, NULL, 0));
    NK_TRY(nk_transcript_hash(&hs->tr, th));     /* ClientHello...server Finished */
    NK_TRY(nk_ks_derive_secret(hs->hash, hs->secret, "c ap traffic", th, c->c_ap));
    NK_TRY(nk_ks_derive_secret(hs->hash, hs->secret, "s ap traffic", th, c->s_ap));
    NK_TRY(nk_ks_derive_secret(hs->hash, hs->secret, "exp master", th, c->exporter));
    return OK;
}

MSTATUS nk_ks_resumption(struct nk_tls *c)
{
    uint8_t th[NK_MAX_HASH];
    NK_TRY(nk_transcript_hash(&c->hs->tr, th));  /* ClientHello...client Finished */
    return nk_ks_derive_secret(c->hs->hash, c->hs->secret, "res master", th, c->resumption);
}

MSTATUS nk_ks_finished(enum nk_hash h, const uint8_t *base, const uint8_t *thash, uint8_t *out)
{
    /* finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length);
     * verify_data = HMAC(finished_key, Transcript-Hash(...))   (§4.4.4) */
    uint8_t key[NK_MAX_HASH];
    size_t hl = nk_hash_len(h);
    NK_TRY(nk_hkdf_expand_label(h, base, "finished", NULL, 0, key, hl));
    MSTATUS st = nk_hmac(h, key, hl, thash, hl, out);
    nk_wipe(key, sizeof key);
    return st;
}

MSTATUS nk_ks_update(enum nk_hash h, uint8_t *secret)
{
    /* application_traffic_secret_N+1 =
     *   HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length) (§7.2) */
    uint8_t next[NK_MAX_HASH];
    size_t hl = nk_hash_len(h);
    NK_TRY(nk_hkdf_expand_label(h, secret, "traffic upd", NULL, 0, next, hl));
    memcpy(secret, next, hl);
    nk_wipe(next, sizeof next);
    return OK;
}

MSTATUS nk_ks_export(enum nk_hash h, const uint8_t *exporter, const uint8_t *label, size_t llen,
                     const uint8_t *ctx, size_t clen, uint8_t *out, size_t olen)
{
    /* TLS-Exporter(label, context, length) = HKDF-Expand-Label(
     *   Derive-Secret(Secret, label, ""), "exporter", Hash(context_value), length) (§7.5) */
    uint8_t tmp[NK_MAX_HASH], chash[NK_MAX_HASH];
    size_t hl = nk_hash_len(h);
    const uint8_t *empty = nk_empty_hash(h);
    NK_CHECK(empty, ERR_CRYPTO);
    NK_TRY(nk_hkdf_expand_label_raw(h, exporter, label, llen, empty, hl, tmp, hl));
    NK_TRY(nk_digest(h, ctx ? ctx : (const uint8_t *)"", ctx ? clen : 0, chash));
    MSTATUS st = nk_hkdf_expand_label(h, tmp, "exporter", chash, hl, out, olen);
    nk_wipe(tmp, sizeof tmp);
    return st;
}
