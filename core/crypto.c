/* core/crypto.c — the cipher-suite table and the libcrypto wrapper. EVP_CIPHER and
 * EVP_MD objects are fetched once at init: fetching per call is slow in libcrypto 3. */
#include <pthread.h>
#include <stdlib.h>
#include <linux/tls.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include "core/crypto.h"
#include "core/wire.h"

/* RFC 8446 §5.5: AES-GCM may protect 2^24.5 full-size records per key;
 * AES-CCM 2^23.5 (RFC 9147 §4.5.3 applies the same bound to TLS); ChaCha20-Poly1305
 * is bounded only by the sequence number. */
#define LIMIT_GCM 23726566ULL
#define LIMIT_CCM 11863283ULL
#define LIMIT_SEQ UINT64_MAX

#define TLS13(id_, name_, aead_, key_, hash_, tag_, ktls_, limit_, use_) \
    { .id = id_, .name = name_, .aead = aead_, .key_len = key_, .hash = hash_, .ktls_cipher = ktls_, \
      .aead_limit = limit_, .minor = 4, .tag_len = tag_, .fixed_iv_len = 12, .use = use_ }

const struct nk_suite nk_suites[] = {
    TLS13(0x1301, "TLS_AES_128_GCM_SHA256", NK_AES_GCM, 16, NK_SHA256, 16, TLS_CIPHER_AES_GCM_128, LIMIT_GCM,
          NK_USE_DEFAULT),
    TLS13(0x1302, "TLS_AES_256_GCM_SHA384", NK_AES_GCM, 32, NK_SHA384, 16, TLS_CIPHER_AES_GCM_256, LIMIT_GCM,
          NK_USE_DEFAULT),
    TLS13(0x1303, "TLS_CHACHA20_POLY1305_SHA256", NK_CHACHA20_POLY1305, 32, NK_SHA256, 16,
          TLS_CIPHER_CHACHA20_POLY1305, LIMIT_SEQ, NK_USE_DEFAULT),
    TLS13(0x1304, "TLS_AES_128_CCM_SHA256", NK_AES_CCM, 16, NK_SHA256, 16, TLS_CIPHER_AES_CCM_128, LIMIT_CCM,
          NK_USE_DEFAULT),
    /* RFC 8446 Appendix B.4; an 8-byte tag, so only when enabled. The kernel
     * has no 8-byte CCM tag. */
    TLS13(0x1305, "TLS_AES_128_CCM_8_SHA256", NK_AES_CCM, 16, NK_SHA256, 8, 0, LIMIT_CCM, NK_USE_ENABLED),
};
const size_t nk_suite_count = NK_ARRAY_LEN(nk_suites);

/* TLS 1.2 AEAD suites. The PRF hash is SHA-384 for the _SHA384 suites and
 * SHA-256 for every other, the CCM ones included (RFC 5288 §3, RFC 6655 §3,
 * RFC 7251 §2, RFC 7905 §2). fixed_iv_length: 4 for AES-GCM/CCM (the implicit
 * salt; 8 explicit bytes travel in each record), 12 for ChaCha20-Poly1305.
 * The kernel has AES-GCM-128/256, AES-CCM-128 and ChaCha20-Poly1305 for TLS
 * 1.2, no AES-256-CCM and no 8-byte CCM tag. The limits are the AEAD's, as in
 * TLS 1.3: TLS 1.2 has no KeyUpdate, so a connection that reaches one ends. */
#define TLS12(...) TLS12_(__VA_ARGS__)   /* ECDSA below stands for two arguments */
#define TLS12_(id_, name_, kx_, auth_, aead_, key_, hash_, tag_, ktls_, limit_, use_) \
    { .id = id_, .name = name_, .aead = aead_, .key_len = key_, .hash = hash_, .ktls_cipher = ktls_, \
      .aead_limit = limit_, .minor = 3, .tag_len = tag_, .kx = kx_, .auth = auth_, .use = use_, \
      .fixed_iv_len = (aead_) == NK_CHACHA20_POLY1305 ? 12 : (aead_) == NK_AES_CBC ? 0 : 4 }
#define ECDSA NK_KX_ECDHE, NK_AUTH_ECDSA
#define ECRSA NK_KX_ECDHE, NK_AUTH_RSA
#define DHRSA NK_KX_DHE, NK_AUTH_RSA
#define RSAKX NK_KX_RSA, NK_AUTH_RSA
#define DHDSS NK_KX_DHE, NK_AUTH_DSA
#define DHANON NK_KX_DHE, NK_AUTH_ANON
#define ECANON NK_KX_ECDHE, NK_AUTH_ANON
#define PSKKX NK_KX_PSK, NK_AUTH_PSK
#define DHPSK NK_KX_DHE, NK_AUTH_PSK
#define ECPSK NK_KX_ECDHE, NK_AUTH_PSK

const struct nk_suite nk_suites12[] = {
    TLS12(0xc02b, "ECDHE-ECDSA-AES128-GCM-SHA256", ECDSA, NK_AES_GCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_GCM_128, LIMIT_GCM, NK_USE_DEFAULT),
    TLS12(0xc02c, "ECDHE-ECDSA-AES256-GCM-SHA384", ECDSA, NK_AES_GCM, 32, NK_SHA384, 16,
          TLS_CIPHER_AES_GCM_256, LIMIT_GCM, NK_USE_DEFAULT),
    TLS12(0xc02f, "ECDHE-RSA-AES128-GCM-SHA256", ECRSA, NK_AES_GCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_GCM_128, LIMIT_GCM, NK_USE_DEFAULT),
    TLS12(0xc030, "ECDHE-RSA-AES256-GCM-SHA384", ECRSA, NK_AES_GCM, 32, NK_SHA384, 16,
          TLS_CIPHER_AES_GCM_256, LIMIT_GCM, NK_USE_DEFAULT),
    TLS12(0xcca9, "ECDHE-ECDSA-CHACHA20-POLY1305", ECDSA, NK_CHACHA20_POLY1305, 32, NK_SHA256, 16,
          TLS_CIPHER_CHACHA20_POLY1305, LIMIT_SEQ, NK_USE_DEFAULT),
    TLS12(0xcca8, "ECDHE-RSA-CHACHA20-POLY1305", ECRSA, NK_CHACHA20_POLY1305, 32, NK_SHA256, 16,
          TLS_CIPHER_CHACHA20_POLY1305, LIMIT_SEQ, NK_USE_DEFAULT),
    /* RFC 7251 §2; like TLS 1.3's CCM, only when enabled: the client's
     * default hello stays as it was. */
    TLS12(0xc0ac, "ECDHE-ECDSA-AES128-CCM", ECDSA, NK_AES_CCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_CCM_128, LIMIT_CCM, NK_USE_ENABLED),
    TLS12(0xc0ad, "ECDHE-ECDSA-AES256-CCM", ECDSA, NK_AES_CCM, 32, NK_SHA256, 16, 0, LIMIT_CCM, NK_USE_ENABLED),
    TLS12(0xc0ae, "ECDHE-ECDSA-AES128-CCM8", ECDSA, NK_AES_CCM, 16, NK_SHA256, 8, 0, LIMIT_CCM, NK_USE_ENABLED),
    TLS12(0xc0af, "ECDHE-ECDSA-AES256-CCM8", ECDSA, NK_AES_CCM, 32, NK_SHA256, 8, 0, LIMIT_CCM, NK_USE_ENABLED),
    TLS12(0x009e, "DHE-RSA-AES128-GCM-SHA256", DHRSA, NK_AES_GCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_GCM_128, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0x009f, "DHE-RSA-AES256-GCM-SHA384", DHRSA, NK_AES_GCM, 32, NK_SHA384, 16,
          TLS_CIPHER_AES_GCM_256, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0xccaa, "DHE-RSA-CHACHA20-POLY1305", DHRSA, NK_CHACHA20_POLY1305, 32, NK_SHA256, 16,
          TLS_CIPHER_CHACHA20_POLY1305, LIMIT_SEQ, NK_USE_ENABLED),
    /* RSA key transport (RFC 5288 §3), no forward secrecy: only when enabled. */
    TLS12(0x009c, "AES128-GCM-SHA256", RSAKX, NK_AES_GCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_GCM_128, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0x009d, "AES256-GCM-SHA384", RSAKX, NK_AES_GCM, 32, NK_SHA384, 16,
          TLS_CIPHER_AES_GCM_256, LIMIT_GCM, NK_USE_ENABLED),
    /* CBC with HMAC (RFC 5246 §6.2.3.2; RFC 8422 §6 for _SHA, RFC 5289 §3.2
     * for _SHA256/_SHA384, whose PRF hash they name), only when enabled; the
     * MAC length in tag_len (SHA-1 20, SHA-256 32, SHA-384 48); no fixed IV
     * (an explicit one per record); the kernel takes none of them (ktls/). */
    TLS12(0xc009, "ECDHE-ECDSA-AES128-SHA", ECDSA, NK_AES_CBC, 16, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xc00a, "ECDHE-ECDSA-AES256-SHA", ECDSA, NK_AES_CBC, 32, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xc013, "ECDHE-RSA-AES128-SHA", ECRSA, NK_AES_CBC, 16, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xc014, "ECDHE-RSA-AES256-SHA", ECRSA, NK_AES_CBC, 32, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xc023, "ECDHE-ECDSA-AES128-SHA256", ECDSA, NK_AES_CBC, 16, NK_SHA256, 32, 0, LIMIT_SEQ,
          NK_USE_ENABLED),
    TLS12(0xc024, "ECDHE-ECDSA-AES256-SHA384", ECDSA, NK_AES_CBC, 32, NK_SHA384, 48, 0, LIMIT_SEQ,
          NK_USE_ENABLED),
    TLS12(0xc027, "ECDHE-RSA-AES128-SHA256", ECRSA, NK_AES_CBC, 16, NK_SHA256, 32, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xc028, "ECDHE-RSA-AES256-SHA384", ECRSA, NK_AES_CBC, 32, NK_SHA384, 48, 0, LIMIT_SEQ, NK_USE_ENABLED),
    /* DHE with a DSA certificate (RFC 5246 Appendix A.5, RFC 5288 §3), only
     * when enabled: signed with dsa_* schemes (TLS 1.2's own, tls12_auth.c). */
    TLS12(0x00a2, "DHE-DSS-AES128-GCM-SHA256", DHDSS, NK_AES_GCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_GCM_128, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0x00a3, "DHE-DSS-AES256-GCM-SHA384", DHDSS, NK_AES_GCM, 32, NK_SHA384, 16,
          TLS_CIPHER_AES_GCM_256, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0x0040, "DHE-DSS-AES128-SHA256", DHDSS, NK_AES_CBC, 16, NK_SHA256, 32, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0x006a, "DHE-DSS-AES256-SHA256", DHDSS, NK_AES_CBC, 32, NK_SHA256, 32, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0x0032, "DHE-DSS-AES128-SHA", DHDSS, NK_AES_CBC, 16, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0x0038, "DHE-DSS-AES256-SHA", DHDSS, NK_AES_CBC, 32, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
    /* Pre-shared keys, no certificate (handshake/tls12_psk.c), only when
     * enabled: PSK and DHE_PSK with AES-GCM (RFC 5487 §3.1), ChaCha20-Poly1305
     * (RFC 7905 §2) and AES-CCM (RFC 6655 §3); ECDHE_PSK (RFC 5489) with
     * AES-GCM and AES-128-CCM (RFC 8442 §3) and ChaCha20-Poly1305. */
    TLS12(0x00a8, "PSK-AES128-GCM-SHA256", PSKKX, NK_AES_GCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_GCM_128, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0x00a9, "PSK-AES256-GCM-SHA384", PSKKX, NK_AES_GCM, 32, NK_SHA384, 16,
          TLS_CIPHER_AES_GCM_256, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0xccab, "PSK-CHACHA20-POLY1305", PSKKX, NK_CHACHA20_POLY1305, 32, NK_SHA256, 16,
          TLS_CIPHER_CHACHA20_POLY1305, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xc0a4, "PSK-AES128-CCM", PSKKX, NK_AES_CCM, 16, NK_SHA256, 16, TLS_CIPHER_AES_CCM_128, LIMIT_CCM,
          NK_USE_ENABLED),
    TLS12(0xc0a5, "PSK-AES256-CCM", PSKKX, NK_AES_CCM, 32, NK_SHA256, 16, 0, LIMIT_CCM, NK_USE_ENABLED),
    TLS12(0x00aa, "DHE-PSK-AES128-GCM-SHA256", DHPSK, NK_AES_GCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_GCM_128, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0x00ab, "DHE-PSK-AES256-GCM-SHA384", DHPSK, NK_AES_GCM, 32, NK_SHA384, 16,
          TLS_CIPHER_AES_GCM_256, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0xccad, "DHE-PSK-CHACHA20-POLY1305", DHPSK, NK_CHACHA20_POLY1305, 32, NK_SHA256, 16,
          TLS_CIPHER_CHACHA20_POLY1305, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xc0a6, "DHE-PSK-AES128-CCM", DHPSK, NK_AES_CCM, 16, NK_SHA256, 16, TLS_CIPHER_AES_CCM_128,
          LIMIT_CCM, NK_USE_ENABLED),
    TLS12(0xc0a7, "DHE-PSK-AES256-CCM", DHPSK, NK_AES_CCM, 32, NK_SHA256, 16, 0, LIMIT_CCM, NK_USE_ENABLED),
    TLS12(0xd001, "ECDHE-PSK-AES128-GCM-SHA256", ECPSK, NK_AES_GCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_GCM_128, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0xd002, "ECDHE-PSK-AES256-GCM-SHA384", ECPSK, NK_AES_GCM, 32, NK_SHA384, 16,
          TLS_CIPHER_AES_GCM_256, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0xccac, "ECDHE-PSK-CHACHA20-POLY1305", ECPSK, NK_CHACHA20_POLY1305, 32, NK_SHA256, 16,
          TLS_CIPHER_CHACHA20_POLY1305, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xd005, "ECDHE-PSK-AES128-CCM-SHA256", ECPSK, NK_AES_CCM, 16, NK_SHA256, 16, TLS_CIPHER_AES_CCM_128,
          LIMIT_CCM, NK_USE_ENABLED),
    /* Anonymous key exchange, no server authentication at all (RFC 5246
     * §7.4.2, Appendix A.5; RFC 5288 §3 for GCM; RFC 8422 §2.5 for
     * ECDH_anon, which has no GCM suite): only when enabled, by server and
     * client alike; our table's last, so that any authenticated suite in
     * common wins. */
    TLS12(0x00a6, "ADH-AES128-GCM-SHA256", DHANON, NK_AES_GCM, 16, NK_SHA256, 16,
          TLS_CIPHER_AES_GCM_128, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0x00a7, "ADH-AES256-GCM-SHA384", DHANON, NK_AES_GCM, 32, NK_SHA384, 16,
          TLS_CIPHER_AES_GCM_256, LIMIT_GCM, NK_USE_ENABLED),
    TLS12(0x006c, "ADH-AES128-SHA256", DHANON, NK_AES_CBC, 16, NK_SHA256, 32, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0x006d, "ADH-AES256-SHA256", DHANON, NK_AES_CBC, 32, NK_SHA256, 32, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0x0034, "ADH-AES128-SHA", DHANON, NK_AES_CBC, 16, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0x003a, "ADH-AES256-SHA", DHANON, NK_AES_CBC, 32, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xc018, "AECDH-AES128-SHA", ECANON, NK_AES_CBC, 16, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
    TLS12(0xc019, "AECDH-AES256-SHA", ECANON, NK_AES_CBC, 32, NK_SHA256, 20, 0, LIMIT_SEQ, NK_USE_ENABLED),
};
const size_t nk_suite12_count = NK_ARRAY_LEN(nk_suites12);

static const struct nk_suite *by_id(const struct nk_suite *t, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].id == id)
            return &t[i];
    return NULL;
}

static const struct nk_suite *by_name(const struct nk_suite *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

const struct nk_suite *nk_suite_by_id(uint16_t id)
{
    return by_id(nk_suites, nk_suite_count, id);
}

const struct nk_suite *nk_suite_by_name(const char *name)
{
    return by_name(nk_suites, nk_suite_count, name);
}

const struct nk_suite *nk_suite12_by_id(uint16_t id)
{
    return by_id(nk_suites12, nk_suite12_count, id);
}

const struct nk_suite *nk_suite12_by_name(const char *name)
{
    return by_name(nk_suites12, nk_suite12_count, name);
}

_Static_assert(NK_ARRAY_LEN(nk_suites) <= NK_SUITE12_BIT, "TLS 1.3 rows overflow their bits");
_Static_assert(NK_ARRAY_LEN(nk_suites12) <= 64 - NK_SUITE12_BIT, "TLS 1.2 rows overflow their bits");

uint64_t nk_suite_bit(const struct nk_suite *s)
{
    if (s >= nk_suites && s < nk_suites + nk_suite_count)
        return 1ull << (s - nk_suites);
    return 1ull << (NK_SUITE12_BIT + (s - nk_suites12));
}

const struct nk_suite *nk_suite_any_by_id(uint16_t id)
{
    const struct nk_suite *s = nk_suite_by_id(id);
    return s ? s : nk_suite12_by_id(id);
}

const struct nk_suite *nk_suite_any_by_name(const char *name)
{
    const struct nk_suite *s = nk_suite_by_name(name);
    return s ? s : nk_suite12_by_name(name);
}

uint64_t nk_suites_default(void)
{
    uint64_t set = 0;
    for (size_t i = 0; i < nk_suite_count; i++)
        if (nk_suites[i].use == NK_USE_DEFAULT)
            set |= nk_suite_bit(&nk_suites[i]);
    for (size_t i = 0; i < nk_suite12_count; i++)
        if (nk_suites12[i].use == NK_USE_DEFAULT)
            set |= nk_suite_bit(&nk_suites12[i]);
    return set;
}

static EVP_MD *g_md[NK_HASH_COUNT];
static EVP_CIPHER *g_cipher[4][2];   /* [aead kind][key_len == 32] */
static uint8_t g_empty[NK_HASH_COUNT][NK_MAX_HASH];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_thread_key;
static MSTATUS g_init_status = ERR_CRYPTO;

static void thread_ctx_free(void *p)
{
    struct nk_thread_ctx *t = p;
    if (!t)
        return;
    for (size_t i = 0; i < NK_ARRAY_LEN(t->md); i++)
        EVP_MD_CTX_free(t->md[i]);
    for (size_t i = 0; i < NK_TC_GROUPS; i++) {
        EVP_PKEY_CTX_free(t->keygen[i]);
        EVP_PKEY_free(t->peer[i]);
    }
    EVP_PKEY_CTX_free(t->x25519_import);
    EVP_PKEY_free(t->x25519_base);
    for (size_t i = 0; i < NK_TC_KEX_NEXT; i++)
        EVP_PKEY_CTX_free(t->kex_next[i]);
    for (size_t i = 0; i < NK_ARRAY_LEN(t->ticket); i++)
        EVP_CIPHER_CTX_free(t->ticket[i]);   /* clears the key schedule */
    nk_wipe(t, sizeof *t);                   /* the random bytes not yet handed out */
    free(t);
}

static __thread struct nk_thread_ctx *t_ctx;

struct nk_thread_ctx *nk_thread_ctx(void)
{
    if (t_ctx)
        return t_ctx;
    if (nk_crypto_init() < 0)
        return NULL;
    struct nk_thread_ctx *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    for (size_t i = 0; i < NK_ARRAY_LEN(t->md); i++)
        if (!(t->md[i] = EVP_MD_CTX_new()))
            goto fail;
    /* The key's destructor frees it when the thread exits. */
    if (pthread_setspecific(g_thread_key, t) != 0)
        goto fail;
    return t_ctx = t;
fail:
    thread_ctx_free(t);
    return NULL;
}

/* Bumped in a forked child: random bytes drawn ahead before the fork are in
 * the parent too, and must not be handed out twice. */
static volatile unsigned g_fork_gen;

static void on_fork_child(void)
{
    g_fork_gen++;
}

static void crypto_init_once(void)
{
    static const char *mds[NK_HASH_COUNT] = { "SHA256", "SHA384", "SHA512", "SHA1" };
    if (pthread_key_create(&g_thread_key, thread_ctx_free) != 0
        || pthread_atfork(NULL, NULL, on_fork_child) != 0)
        return;
    for (int i = 0; i < NK_HASH_COUNT; i++)
        if (!(g_md[i] = EVP_MD_fetch(NULL, mds[i], NULL))
            || EVP_Digest("", 0, g_empty[i], NULL, g_md[i], NULL) != 1)
            return;
    g_cipher[NK_AES_GCM][0] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    g_cipher[NK_AES_GCM][1] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    g_cipher[NK_CHACHA20_POLY1305][1] = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    g_cipher[NK_AES_CCM][0] = EVP_CIPHER_fetch(NULL, "AES-128-CCM", NULL);
    /* TLS 1.2's AES_256_CCM only: where libcrypto lacks it, those suites fail
     * to key (nk_aead_init) and nothing else is affected. */
    g_cipher[NK_AES_CCM][1] = EVP_CIPHER_fetch(NULL, "AES-256-CCM", NULL);
    g_cipher[NK_AES_CBC][0] = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    g_cipher[NK_AES_CBC][1] = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    if (!g_cipher[NK_AES_GCM][0] || !g_cipher[NK_AES_GCM][1] || !g_cipher[NK_CHACHA20_POLY1305][1]
        || !g_cipher[NK_AES_CCM][0])
        return;
    g_init_status = OK;
}

MSTATUS nk_crypto_init(void)
{
    pthread_once(&g_once, crypto_init_once);
    return g_init_status;
}

void nk_crypto_shutdown(void)
{
    /* The fetched objects stay for the life of the process: connections on other
     * threads may still hold contexts built from them, and init is once-only.
     * The calling thread's own contexts go now (other threads' at their exit). */
    if (t_ctx) {
        (void)pthread_setspecific(g_thread_key, NULL);
        thread_ctx_free(t_ctx);
        t_ctx = NULL;
    }
}

const uint8_t *nk_empty_hash(enum nk_hash h)
{
    if (nk_crypto_init() < 0 || h >= NK_HASH_COUNT)
        return NULL;
    return g_empty[h];
}

const EVP_MD *nk_md(enum nk_hash h)
{
    if (nk_crypto_init() < 0 || h >= NK_HASH_COUNT)
        return NULL;
    return g_md[h];
}

size_t nk_hash_len(enum nk_hash h)
{
    static const size_t len[NK_HASH_COUNT] = { 32, 48, 64, 20 };
    return h < NK_HASH_COUNT ? len[h] : 0;
}

/* Hand out n bytes of a pool drawn ahead by draw (a whole pool per call),
 * wiping each byte as it goes; a pool drawn before a fork is dropped. */
static MSTATUS pool_take(struct nk_random_pool *pl, int (*draw)(unsigned char *, int), void *buf, size_t n)
{
    if (pl->gen != g_fork_gen || pl->left < n) {
        pl->left = 0;
        nk_wipe(pl->b, sizeof pl->b);
        if (draw(pl->b, (int)sizeof pl->b) != 1)
            return ERR_CRYPTO;
        pl->left = sizeof pl->b;
        pl->gen = g_fork_gen;
    }
    uint8_t *p = pl->b + sizeof pl->b - pl->left;
    memcpy(buf, p, n);
    nk_wipe(p, n);   /* each byte is handed out once */
    pl->left -= n;
    return OK;
}

MSTATUS nk_random(void *buf, size_t n)
{
    struct nk_thread_ctx *t = n <= NK_TC_RANDOM / 4 ? nk_thread_ctx() : NULL;
    if (!t)
        return RAND_bytes(buf, (int)n) == 1 ? OK : ERR_CRYPTO;
    return pool_take(&t->rnd, RAND_bytes, buf, n);
}

MSTATUS nk_random_priv(void *buf, size_t n)
{
    struct nk_thread_ctx *t = n <= NK_TC_RANDOM / 4 ? nk_thread_ctx() : NULL;
    if (!t)
        return RAND_priv_bytes(buf, (int)n) == 1 ? OK : ERR_CRYPTO;
    return pool_take(&t->rnd_priv, RAND_priv_bytes, buf, n);
}

/* The thread's first digest context is left freshly initialized after each
 * use: that wipes what it just hashed (a MAC, a hashed key), and is the
 * initialization the next use of the same hash would do (an initialization
 * costs about as much as hashing a block). */
static int md0_start(struct nk_thread_ctx *t, enum nk_hash h, const EVP_MD *md)
{
    int fresh = t->md0_fresh == (int)h + 1;
    t->md0_fresh = 0;
    return fresh || EVP_DigestInit_ex(t->md[0], md, NULL);
}

static int md0_end(struct nk_thread_ctx *t, enum nk_hash h, const EVP_MD *md)
{
    int ok = EVP_DigestInit_ex(t->md[0], md, NULL);
    t->md0_fresh = ok ? (int)h + 1 : 0;
    return ok;
}

MSTATUS nk_digest(enum nk_hash h, const void *d, size_t n, uint8_t *out)
{
    const EVP_MD *md = nk_md(h);
    struct nk_thread_ctx *t = nk_thread_ctx();
    NK_CHECK(md, ERR_CRYPTO);
    NK_CHECK(t, ERR_MEM_ALLOC_FAIL);
    int ok = md0_start(t, h, md) && EVP_DigestUpdate(t->md[0], d, n) && EVP_DigestFinal_ex(t->md[0], out, NULL);
    return md0_end(t, h, md) && ok ? OK : ERR_CRYPTO;
}

/* HMAC (RFC 2104) over the cached digest: two hash passes on this thread's
 * digest context, no MAC fetch and no allocation. */
MSTATUS nk_hmac_parts(enum nk_hash h, const uint8_t *key, size_t klen, const uint8_t *const *parts,
                      const size_t *lens, size_t nparts, uint8_t *out)
{
    const EVP_MD *md = nk_md(h);
    struct nk_thread_ctx *t = nk_thread_ctx();
    NK_CHECK(md, ERR_CRYPTO);
    NK_CHECK(t, ERR_MEM_ALLOC_FAIL);
    size_t block = h == NK_SHA384 || h == NK_SHA512 ? 128 : 64, hl = nk_hash_len(h);
    uint8_t k[128], pad[128], inner[NK_MAX_HASH];
    MSTATUS st = ERR_CRYPTO;
    memset(k, 0, block);
    if (klen > block) {
        NK_TRY(nk_digest(h, key, klen, k));
    } else if (klen) {
        memcpy(k, key, klen);
    }
    EVP_MD_CTX *ctx = t->md[0];
    for (size_t i = 0; i < block; i++)
        pad[i] = k[i] ^ 0x36;
    if (!md0_start(t, h, md) || !EVP_DigestUpdate(ctx, pad, block))
        goto out;
    for (size_t i = 0; i < nparts; i++)
        if (lens[i] && !EVP_DigestUpdate(ctx, parts[i], lens[i]))
            goto out;
    if (!EVP_DigestFinal_ex(ctx, inner, NULL))
        goto out;
    for (size_t i = 0; i < block; i++)
        pad[i] = k[i] ^ 0x5c;
    if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, pad, block)
        || !EVP_DigestUpdate(ctx, inner, hl) || !EVP_DigestFinal_ex(ctx, out, NULL))
        goto out;
    st = OK;
out:
    /* A fresh start leaves no secret (the MAC just made) in the shared context. */
    if (!md0_end(t, h, md))
        st = ERR_CRYPTO;
    nk_wipe(k, block);
    nk_wipe(pad, block);
    nk_wipe(inner, hl);
    return st;
}

MSTATUS nk_hmac(enum nk_hash h, const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen,
                uint8_t *out)
{
    return nk_hmac_parts(h, key, klen, &msg, &mlen, 1, out);
}

MSTATUS nk_hkdf_extract(enum nk_hash h, const uint8_t *salt, size_t slen, const uint8_t *ikm,
                        size_t ilen, uint8_t *prk)
{
    static const uint8_t zeros[NK_MAX_HASH];
    if (!ikm) {
        ikm = zeros;
        ilen = nk_hash_len(h);
    }
    return nk_hmac(h, salt, slen, ikm, ilen, prk);
}

MSTATUS nk_hkdf_expand(enum nk_hash h, const uint8_t *prk, const uint8_t *info, size_t ilen,
                       uint8_t *out, size_t olen)
{
    size_t hl = nk_hash_len(h);
    uint8_t t[NK_MAX_HASH];
    NK_CHECK(olen <= 255 * hl, ERR_INVALID_ARG);
    for (size_t done = 0, i = 1; done < olen; i++) {
        uint8_t ctr = (uint8_t)i;
        const uint8_t *parts[3] = { t, info, &ctr };
        size_t lens[3] = { i == 1 ? 0 : hl, ilen, 1 };
        NK_TRY(nk_hmac_parts(h, prk, hl, parts, lens, 3, t));
        size_t n = olen - done < hl ? olen - done : hl;
        memcpy(out + done, t, n);
        done += n;
    }
    nk_wipe(t, sizeof t);
    return OK;
}

MSTATUS nk_hkdf_expand_label(enum nk_hash h, const uint8_t *secret, const char *label,
                             const uint8_t *ctx, size_t clen, uint8_t *out, size_t olen)
{
    return nk_hkdf_expand_label_raw(h, secret, (const uint8_t *)label, strlen(label), ctx, clen, out, olen);
}

MSTATUS nk_hkdf_expand_label_raw(enum nk_hash h, const uint8_t *secret, const uint8_t *label, size_t ll,
                                 const uint8_t *ctx, size_t clen, uint8_t *out, size_t olen)
{
    /* struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
     *          opaque context<0..255>; } HkdfLabel;  (RFC 8446 §7.1) */
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t n = 0;
    NK_CHECK(ll + 6 <= 255 && clen <= 255, ERR_INVALID_ARG);
    nk_store16(info, (uint16_t)olen);
    n = 2;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    memcpy(info + n + 6, label, ll);
    n += 6 + ll;
    info[n++] = (uint8_t)clen;
    if (clen)
        memcpy(info + n, ctx, clen);
    n += clen;
    return nk_hkdf_expand(h, secret, info, n, out, olen);
}

MSTATUS nk_aead_init(struct nk_aead *a, const struct nk_suite *s, const uint8_t *key, int encrypt)
{
    NK_TRY(nk_crypto_init());
    EVP_CIPHER *c = g_cipher[s->aead][s->key_len == 32];
    NK_CHECK(c, ERR_CRYPTO);
    /* Same cipher and direction as before (handshake keys, then application
     * keys): only the key changes; the IV and tag lengths stay set. */
    if (a->ctx && a->suite == s && a->encrypt == encrypt)
        return EVP_CipherInit_ex(a->ctx, NULL, NULL, key, NULL, encrypt) ? OK : ERR_CRYPTO;
    if (!a->ctx && !(a->ctx = EVP_CIPHER_CTX_new()))
        return ERR_MEM_ALLOC_FAIL;
    a->suite = NULL;   /* set once the context is fully keyed */
    a->encrypt = encrypt;
    if (s->aead == NK_AES_CBC) {   /* the IV comes with each record; TLS pads, not the cipher */
        if (!EVP_CipherInit_ex(a->ctx, c, NULL, key, NULL, encrypt) || !EVP_CIPHER_CTX_set_padding(a->ctx, 0))
            return ERR_CRYPTO;
        a->suite = s;
        return OK;
    }
    /* GCM and ChaCha20-Poly1305 start with the 12-byte nonce TLS uses: cipher
     * and key go in one call (each call and control costs about as much as
     * the key schedule). CCM's lengths must be set before its key. */
    if (s->aead != NK_AES_CCM && EVP_CIPHER_get_iv_length(c) == NK_AEAD_IV) {
        if (!EVP_CipherInit_ex(a->ctx, c, NULL, key, NULL, encrypt))
            return ERR_CRYPTO;
        a->suite = s;
        return OK;
    }
    if (!EVP_CipherInit_ex(a->ctx, c, NULL, NULL, NULL, encrypt)
        || !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_IVLEN, NK_AEAD_IV, NULL))
        return ERR_CRYPTO;
    if (s->aead == NK_AES_CCM && !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, s->tag_len, NULL))
        return ERR_CRYPTO;
    if (!EVP_CipherInit_ex(a->ctx, NULL, NULL, key, NULL, encrypt))
        return ERR_CRYPTO;
    a->suite = s;
    return OK;
}

MSTATUS nk_aead_seal(struct nk_aead *a, const uint8_t nonce[NK_AEAD_IV], const uint8_t *aad, size_t alen,
                     uint8_t *buf, size_t len)
{
    int n, ccm = a->suite->aead == NK_AES_CCM;
    EVP_CIPHER_CTX *c = a->ctx;
    /* CCM computes its tag in the data update, so that call is made even for
     * an empty plaintext. */
    if (!EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 1)
        || (ccm && !EVP_CipherUpdate(c, NULL, &n, NULL, (int)len))
        || !EVP_CipherUpdate(c, NULL, &n, aad, (int)alen)
        || ((len || ccm) && !EVP_CipherUpdate(c, buf, &n, buf, (int)len))
        || !EVP_CipherFinal_ex(c, buf + len, &n)
        || !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, a->suite->tag_len, buf + len))
        return ERR_CRYPTO;
    return OK;
}

MSTATUS nk_aead_open(struct nk_aead *a, const uint8_t nonce[NK_AEAD_IV], const uint8_t *aad, size_t alen,
                     uint8_t *buf, size_t len)
{
    int n, ccm = a->suite->aead == NK_AES_CCM, tag = a->suite->tag_len;
    EVP_CIPHER_CTX *c = a->ctx;
    NK_CHECK(len >= (size_t)tag, ERR_SSL_BAD_RECORD_MAC);
    size_t clen = len - (size_t)tag;
    if (!EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0)
        || !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tag, buf + clen))
        return ERR_CRYPTO;
    MSTATUS st = ERR_SSL_BAD_RECORD_MAC;
    ERR_set_mark();   /* a forged record is the peer's fault: keep the error queue clean */
    if (ccm) {
        /* CCM authenticates inside the single data update call. */
        if (EVP_CipherUpdate(c, NULL, &n, NULL, (int)clen) && EVP_CipherUpdate(c, NULL, &n, aad, (int)alen)
            && EVP_CipherUpdate(c, buf, &n, buf, (int)clen))
            st = OK;
    } else if (EVP_CipherUpdate(c, NULL, &n, aad, (int)alen)
               && (!clen || EVP_CipherUpdate(c, buf, &n, buf, (int)clen))
               && EVP_CipherFinal_ex(c, buf + clen, &n) == 1) {
        st = OK;
    }
    ERR_pop_to_mark();
    return st;
}

void nk_aead_free(struct nk_aead *a)
{
    EVP_CIPHER_CTX_free(a->ctx);   /* clears the key schedule */
    a->ctx = NULL;
    a->suite = NULL;
}

MSTATUS nk_transcript_add(struct nk_transcript *t, const uint8_t *msg, size_t n)
{
    if (!t->hash_known || t->keep)
        NK_TRY(nk_buf_append(&t->pending, msg, n));
    if (!t->hash_known)
        return OK;
    return EVP_DigestUpdate(t->ctx, msg, n) ? OK : ERR_CRYPTO;
}

MSTATUS nk_transcript_set_hash(struct nk_transcript *t, enum nk_hash h)
{
    if (t->hash_known)
        return t->hash == h ? OK : ERR_SSL_INTERNAL;
    if (!t->ctx && !(t->ctx = EVP_MD_CTX_new()))
        return ERR_MEM_ALLOC_FAIL;
    NK_CHECK(EVP_DigestInit_ex(t->ctx, nk_md(h), NULL), ERR_CRYPTO);
    t->hash = h;
    t->hash_known = 1;
    NK_CHECK(!t->pending.len || EVP_DigestUpdate(t->ctx, t->pending.p, t->pending.len), ERR_CRYPTO);
    if (!t->keep)
        nk_buf_free(&t->pending);
    return OK;
}

/* The transcript so far is finished on a copy in this thread's second digest
 * context (the first one is HMAC's, which may run between the two). */
MSTATUS nk_transcript_hash(const struct nk_transcript *t, uint8_t *out)
{
    NK_CHECK(t->hash_known, ERR_SSL_INTERNAL);
    struct nk_thread_ctx *tc = nk_thread_ctx();
    NK_CHECK(tc, ERR_MEM_ALLOC_FAIL);
    EVP_MD_CTX *c = tc->md[1];
    return EVP_MD_CTX_copy_ex(c, t->ctx) && EVP_DigestFinal_ex(c, out, NULL) ? OK : ERR_CRYPTO;
}

MSTATUS nk_transcript_hash_extra(const struct nk_transcript *t, enum nk_hash h, const uint8_t *extra,
                                 size_t n, uint8_t *out)
{
    struct nk_thread_ctx *tc = nk_thread_ctx();
    NK_CHECK(tc, ERR_MEM_ALLOC_FAIL);
    EVP_MD_CTX *c = tc->md[1];
    int ok = t->hash_known ? t->hash == h && EVP_MD_CTX_copy_ex(c, t->ctx)
                           : EVP_DigestInit_ex(c, nk_md(h), NULL)
                                 && (!t->pending.len || EVP_DigestUpdate(c, t->pending.p, t->pending.len));
    ok = ok && EVP_DigestUpdate(c, extra, n) && EVP_DigestFinal_ex(c, out, NULL);
    return ok ? OK : ERR_CRYPTO;
}

MSTATUS nk_transcript_hrr_reset(struct nk_transcript *t)
{
    /* Transcript-Hash(ClientHello1, HelloRetryRequest, ...) =
     *   Hash(message_hash || 00 00 Hash.length || Hash(ClientHello1) || ...) (§4.4.1) */
    uint8_t mh[4 + NK_MAX_HASH];
    size_t hl = nk_hash_len(t->hash);
    NK_TRY(nk_transcript_hash(t, mh + 4));
    mh[0] = 254;
    mh[1] = mh[2] = 0;
    mh[3] = (uint8_t)hl;
    NK_CHECK(EVP_DigestInit_ex(t->ctx, nk_md(t->hash), NULL), ERR_CRYPTO);
    return nk_transcript_add(t, mh, 4 + hl);
}

MSTATUS nk_transcript_copy_from(struct nk_transcript *t, const EVP_MD_CTX *kept, enum nk_hash h)
{
    if (!t->ctx && !(t->ctx = EVP_MD_CTX_new()))
        return ERR_MEM_ALLOC_FAIL;
    NK_CHECK(EVP_MD_CTX_copy_ex(t->ctx, kept), ERR_CRYPTO);
    t->hash = h;
    t->hash_known = 1;
    return OK;
}

void nk_transcript_free(struct nk_transcript *t)
{
    EVP_MD_CTX_free(t->ctx);
    t->ctx = NULL;
    t->hash_known = 0;
    nk_buf_free(&t->pending);
}
