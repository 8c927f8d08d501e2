/* handshake/fips.c — FIPS mode. SSL_setFIPSEnabled(TRUE) needs libcrypto's
 * FIPS provider (fips.so, a FIPS 140 validated module where the system's
 * build is): it is loaded and made the provider of every later fetch
 * (default properties "fips=yes"); where it is not installed the call fails
 * with ERR_FIPS_MODULE_UNAVAILABLE and nothing changes, since algorithms
 * restricted by hand but computed outside a validated module would be FIPS
 * mode in name only.
 *
 * In FIPS mode each handshake is narrowed, as it starts, to what SP 800-52
 * Rev. 2 and the approved algorithms allow:
 * - suites: AES-GCM and AES-CCM (AEAD) only: no ChaCha20-Poly1305 (not an
 *   approved cipher), no CBC (SP 800-52 Rev. 2 §3.3.1 prefers AEAD; our
 *   choice is stricter), no RSA key transport (PKCS#1 v1.5 key transport is
 *   disallowed after 2023, SP 800-131A Rev. 2 §6);
 * - groups: P-256, P-384, P-521 and the RFC 7919 FFDHE groups (SP 800-56A
 *   Rev. 3 approves NIST curves and these safe-prime groups); not X25519 or
 *   X448, whose key agreement SP 800-56A Rev. 3 does not include (SP 800-186
 *   approves those curves for EdDSA only);
 * - signature schemes: RSA-PSS, RSA PKCS#1 v1.5 (TLS 1.2) and ECDSA with
 *   SHA-256/384/512; no SHA-1 (SP 800-131A), and no EdDSA: FIPS 186-5
 *   approves Ed25519 and Ed448, but the FIPS provider of the libcrypto we
 *   run on (3.0) was validated against FIPS 186-4, which does not, and what
 *   FIPS mode may use is what the loaded module is validated for;
 * - RSA keys: at least 2048 bits (SP 800-131A Rev. 2), whatever
 *   minRSAKeySize says. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include "handshake/fips.h"
#include "handshake/hs.h"

static pthread_mutex_t fips_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_PROVIDER *fips_module;

MSTATUS nk_fips_module_start(void)
{
    MSTATUS st = OK;
    pthread_mutex_lock(&fips_lock);
    if (!fips_module && !OSSL_PROVIDER_available(NULL, "fips"))
        fips_module = OSSL_PROVIDER_load(NULL, "fips");
    if (!fips_module && !OSSL_PROVIDER_available(NULL, "fips"))
        st = ERR_FIPS_MODULE_UNAVAILABLE;
    else if (!EVP_default_properties_enable_fips(NULL, 1))
        st = ERR_FIPS_MODULE_UNAVAILABLE;
    pthread_mutex_unlock(&fips_lock);
    ERR_clear_error();   /* libcrypto's reasons stay out of later calls */
    return st;
}

void nk_fips_module_stop(void)
{
    pthread_mutex_lock(&fips_lock);
    if (fips_module || OSSL_PROVIDER_available(NULL, "fips"))
        (void)EVP_default_properties_enable_fips(NULL, 0);
    pthread_mutex_unlock(&fips_lock);
}

int nk_fips_suite_ok(const struct nk_suite *s)
{
    return (s->aead == NK_AES_GCM || s->aead == NK_AES_CCM) && s->kx != NK_KX_RSA;
}

int nk_fips_group_ok(uint16_t g)
{
    return g == NK_GROUP_SECP256R1 || g == NK_GROUP_SECP384R1 || g == NK_GROUP_SECP521R1 || nk_group_is_ffdhe(g);
}

int nk_fips_sig_ok(uint16_t s)
{
    return s != NK_SIG_ED25519 && s != NK_SIG_ED448 && s != NK_SIG_RSA_PKCS1_SHA1 && s != NK_SIG_ECDSA_SHA1;
}

static uint64_t approved_suites(void)
{
    uint64_t m = 0;
    for (size_t i = 0; i < nk_suite_count; i++)
        if (nk_fips_suite_ok(&nk_suites[i]))
            m |= nk_suite_bit(&nk_suites[i]);
    for (size_t i = 0; i < nk_suite12_count; i++)
        if (nk_fips_suite_ok(&nk_suites12[i]))
            m |= nk_suite_bit(&nk_suites12[i]);
    return m;
}

/* The connection's lists (its own or the defaults) without what is not approved. */
static MSTATUS narrow_sigs(struct nk_tls *c)
{
    for (int which = 0; which < NK_SIGS_LISTS; which++) {
        size_t n, m = 0;
        uint16_t keep[NK_SIGS_MAX];
        const uint16_t *v = nk_sig_list(c->sig_prefs, which, &n);
        for (size_t i = 0; i < n && m < NK_SIGS_MAX; i++)
            if (nk_fips_sig_ok(v[i]))
                keep[m++] = v[i];
        NK_CHECK(m > 0, ERR_SSL_NO_SIGALG_MATCH);
        if (m != n)
            NK_TRY(nk_sig_prefs_set(&c->sig_prefs, which, keep, m, 0));
    }
    return OK;
}

MSTATUS nk_fips_narrow(struct nk_tls *c)
{
    if (!c->cfg->ssl.fipsEnabled)
        return OK;
    c->suites &= approved_suites();
    NK_CHECK(c->suites, ERR_SSL_NO_CIPHER_MATCH);
    uint8_t n = 0;
    for (uint8_t i = 0; i < c->n_groups; i++)
        if (nk_fips_group_ok(c->groups[i]))
            c->groups[n++] = c->groups[i];
    c->n_groups = n;
    NK_CHECK(n, ERR_SSL_NO_GROUP_MATCH);
    return narrow_sigs(c);
}

unsigned nk_fips_min_rsa_bits(const struct nk_tls *c)
{
    unsigned min = c->cfg->ssl.minRSAKeySize;
    return c->cfg->ssl.fipsEnabled && min < NK_FIPS_MIN_RSA_BITS ? NK_FIPS_MIN_RSA_BITS : min;
}
