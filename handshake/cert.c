/* handshake/cert.c — signature schemes (CertificateVerify), identity choice, peer
 * chain verification (libcrypto's X509_verify_cert plus the TLS policy on top:
 * host names, key sizes, SHA-1), and certificate subjects.
 *
 * Every call that can fail inside libcrypto brackets itself with
 * ERR_set_mark/ERR_pop_to_mark: a bad peer signature is an ordinary outcome,
 * reported by value, and must not pile up on the thread's error queue. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include "core/nk.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "handshake/store.h"
#include "handshake/cert.h"

/* Our preference order. No SHA-1 scheme anywhere: RFC 8446 §4.2.3 lets SHA-1
 * appear only for legacy certificate signatures, and we accept none. */
const uint16_t nk_sig_schemes[] = {
    NK_SIG_ECDSA_SECP256R1_SHA256, NK_SIG_ECDSA_SECP384R1_SHA384, NK_SIG_ECDSA_SECP521R1_SHA512,
    NK_SIG_ED25519, NK_SIG_ED448,
    NK_SIG_RSA_PSS_RSAE_SHA256, NK_SIG_RSA_PSS_RSAE_SHA384, NK_SIG_RSA_PSS_RSAE_SHA512,
    NK_SIG_RSA_PSS_PSS_SHA256, NK_SIG_RSA_PSS_PSS_SHA384, NK_SIG_RSA_PSS_PSS_SHA512,
};
const size_t nk_sig_scheme_count = NK_ARRAY_LEN(nk_sig_schemes);

/* rsa_pkcs1_* "refer solely to signatures which appear in certificates ... and
 * are not defined for use in signed TLS handshake messages" (RFC 8446 §4.2.3). */
const uint16_t nk_sig_schemes_cert[] = {
    NK_SIG_ECDSA_SECP256R1_SHA256, NK_SIG_ECDSA_SECP384R1_SHA384, NK_SIG_ECDSA_SECP521R1_SHA512,
    NK_SIG_ED25519, NK_SIG_ED448,
    NK_SIG_RSA_PSS_RSAE_SHA256, NK_SIG_RSA_PSS_RSAE_SHA384, NK_SIG_RSA_PSS_RSAE_SHA512,
    NK_SIG_RSA_PSS_PSS_SHA256, NK_SIG_RSA_PSS_PSS_SHA384, NK_SIG_RSA_PSS_PSS_SHA512,
    NK_SIG_RSA_PKCS1_SHA256, NK_SIG_RSA_PKCS1_SHA384, NK_SIG_RSA_PKCS1_SHA512,
};
const size_t nk_sig_scheme_cert_count = NK_ARRAY_LEN(nk_sig_schemes_cert);

enum pad { PAD_NONE, PAD_PSS, PAD_PKCS1 };
#define NO_HASH (-1)   /* EdDSA signs the message itself */
#define SHA1_HASH (-2) /* TLS 1.2's SHA-1 schemes: no enum nk_hash of their own */

struct scheme_info {
    uint16_t id;
    enum nk_key_type key;
    int hash;              /* enum nk_hash, or NO_HASH */
    enum pad pad;
};

static const struct scheme_info schemes[] = {
    { NK_SIG_ECDSA_SECP256R1_SHA256, NK_KEY_EC_P256, NK_SHA256, PAD_NONE },
    { NK_SIG_ECDSA_SECP384R1_SHA384, NK_KEY_EC_P384, NK_SHA384, PAD_NONE },
    { NK_SIG_ECDSA_SECP521R1_SHA512, NK_KEY_EC_P521, NK_SHA512, PAD_NONE },
    { NK_SIG_ED25519, NK_KEY_ED25519, NO_HASH, PAD_NONE },
    { NK_SIG_ED448, NK_KEY_ED448, NO_HASH, PAD_NONE },
    { NK_SIG_RSA_PSS_RSAE_SHA256, NK_KEY_RSA, NK_SHA256, PAD_PSS },
    { NK_SIG_RSA_PSS_RSAE_SHA384, NK_KEY_RSA, NK_SHA384, PAD_PSS },
    { NK_SIG_RSA_PSS_RSAE_SHA512, NK_KEY_RSA, NK_SHA512, PAD_PSS },
    { NK_SIG_RSA_PSS_PSS_SHA256, NK_KEY_RSA_PSS, NK_SHA256, PAD_PSS },
    { NK_SIG_RSA_PSS_PSS_SHA384, NK_KEY_RSA_PSS, NK_SHA384, PAD_PSS },
    { NK_SIG_RSA_PSS_PSS_SHA512, NK_KEY_RSA_PSS, NK_SHA512, PAD_PSS },
    { NK_SIG_RSA_PKCS1_SHA256, NK_KEY_RSA, NK_SHA256, PAD_PKCS1 },
    { NK_SIG_RSA_PKCS1_SHA384, NK_KEY_RSA, NK_SHA384, PAD_PKCS1 },
    { NK_SIG_RSA_PKCS1_SHA512, NK_KEY_RSA, NK_SHA512, PAD_PKCS1 },
    /* TLS 1.2 only, and only when SHA-1 is allowed (the callers' lists say) */
    { NK_SIG_RSA_PKCS1_SHA1, NK_KEY_RSA, SHA1_HASH, PAD_PKCS1 },
    { NK_SIG_ECDSA_SHA1, NK_KEY_EC_P256, SHA1_HASH, PAD_NONE },   /* any curve (fits_key12) */
    /* TLS 1.2 only (nk_sig_fits_key refuses them): DSA for DHE_DSS suites */
    { NK_SIG_DSA_SHA256, NK_KEY_DSA, NK_SHA256, PAD_NONE }, { NK_SIG_DSA_SHA384, NK_KEY_DSA, NK_SHA384, PAD_NONE },
    { NK_SIG_DSA_SHA512, NK_KEY_DSA, NK_SHA512, PAD_NONE }, { NK_SIG_DSA_SHA1, NK_KEY_DSA, SHA1_HASH, PAD_NONE },
};

static const EVP_MD *scheme_md(const struct scheme_info *si)
{
    return si->hash == SHA1_HASH ? EVP_sha1() : nk_md((enum nk_hash)si->hash);
}

static const struct scheme_info *scheme_find(uint16_t id)
{
    for (size_t i = 0; i < NK_ARRAY_LEN(schemes); i++)
        if (schemes[i].id == id)
            return &schemes[i];
    return NULL;
}

/* ---- per-connection lists ---- */

const uint16_t *nk_sig_list(const struct nk_sig_prefs *prefs, int which, size_t *n)
{
    if (prefs != NULL && which >= 0 && which < NK_SIGS_LISTS && prefs->n[which]) {
        *n = prefs->n[which];
        return prefs->v[which];
    }
    *n = nk_sig_scheme_count;
    return nk_sig_schemes;
}

int nk_sig_in_list(const struct nk_sig_prefs *prefs, int which, uint16_t scheme)
{
    size_t n;
    const uint16_t *v = nk_sig_list(prefs, which, &n);
    for (size_t i = 0; i < n; i++)
        if (v[i] == scheme)
            return 1;
    return 0;
}

/* A scheme an application may name: one of the table's, or a SHA-1 one
 * (TLS 1.2 and certificate signatures; never a TLS 1.3 CertificateVerify,
 * §4.4.3) when SHA-1 is allowed. */
static int scheme_settable(uint16_t id, int allow_sha1)
{
    if (id == NK_SIG_RSA_PKCS1_SHA1 || id == NK_SIG_ECDSA_SHA1)
        return allow_sha1;
    return scheme_find(id) != NULL;
}

MSTATUS nk_sig_prefs_set(struct nk_sig_prefs **prefs, int which, const uint16_t *v, size_t n,
                         int allow_sha1)
{
    NK_CHECK(prefs != NULL && (v != NULL || n == 0), ERR_NULL_POINTER);
    NK_CHECK(which >= 0 && which < NK_SIGS_LISTS && n <= NK_SIGS_MAX, ERR_INVALID_ARG);
    for (size_t i = 0; i < n; i++) {
        NK_CHECK(scheme_settable(v[i], allow_sha1), ERR_INVALID_ARG);
        for (size_t j = 0; j < i; j++)
            NK_CHECK(v[j] != v[i], ERR_INVALID_ARG);
    }
    if (*prefs == NULL && n == 0)
        return OK;
    if (*prefs == NULL)
        NK_CHECK(*prefs = calloc(1, sizeof **prefs), ERR_MEM_ALLOC_FAIL);
    struct nk_sig_prefs *p = *prefs;
    if (n)
        memcpy(p->v[which], v, n * sizeof *v);
    p->n[which] = (uint8_t)n;
    if (!p->n[NK_SIGS_OFFERED] && !p->n[NK_SIGS_ACCEPTED] && !p->n[NK_SIGS_SIGNING]) {
        free(p);   /* all default again: nothing to keep */
        *prefs = NULL;
    }
    return OK;
}

static enum nk_key_type ec_key_type(EVP_PKEY *key)
{
    char group[64];
    size_t n = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &n) != 1)
        return NK_KEY_NONE;
    int nid = OBJ_sn2nid(group);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(group);
    switch (nid) {
    case NID_X9_62_prime256v1: return NK_KEY_EC_P256;
    case NID_secp384r1: return NK_KEY_EC_P384;
    case NID_secp521r1: return NK_KEY_EC_P521;
    default: return NK_KEY_NONE;
    }
}

enum nk_key_type nk_key_type_of(EVP_PKEY *key)
{
    if (key == NULL)
        return NK_KEY_NONE;
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return NK_KEY_RSA;
    case EVP_PKEY_RSA_PSS: return NK_KEY_RSA_PSS;
    case EVP_PKEY_EC: return ec_key_type(key);
    case EVP_PKEY_ED25519: return NK_KEY_ED25519;
    case EVP_PKEY_ED448: return NK_KEY_ED448;
    case EVP_PKEY_DSA: return NK_KEY_DSA;
    default: return NK_KEY_NONE;
    }
}

int nk_sig_fits_key(uint16_t scheme, enum nk_key_type type)
{
    const struct scheme_info *si = scheme_find(scheme);
    /* RFC 8446 §4.4.3: "the signature algorithm MUST be compatible with the key in
     * the sender's end-entity certificate. RSA signatures MUST use an RSASSA-PSS
     * algorithm" and "The SHA-1 algorithm MUST NOT be used in any signatures of
     * CertificateVerify messages" (the table's SHA-1 rows are TLS 1.2's). ECDSA
     * schemes name "the corresponding curve" (§4.2.3); rsa_pss_rsae_* keys "MUST
     * use the rsaEncryption OID", rsa_pss_pss_* ones "the RSASSA-PSS OID". */
    return si != NULL && si->pad != PAD_PKCS1 && si->hash != SHA1_HASH && type != NK_KEY_NONE
           && type != NK_KEY_DSA && si->key == type;
}

static int is_ec(enum nk_key_type t)
{
    return t == NK_KEY_EC_P256 || t == NK_KEY_EC_P384 || t == NK_KEY_EC_P521;
}

/* RFC 5246 §7.4.1.4.1: a TLS 1.2 SignatureAndHashAlgorithm names a hash and
 * a signature algorithm, no curve: 0x0403 is (sha256, ecdsa) there, and fits
 * every curve we know; RSASSA-PKCS1-v1_5 is allowed; EdDSA is (8,7) and (8,8)
 * (RFC 8422 §5.1.3). Whether SHA-1 is allowed is the caller's list's
 * business. */
int nk_sig_fits_key12(uint16_t scheme, enum nk_key_type type)
{
    const struct scheme_info *si = scheme_find(scheme);
    if (si == NULL || type == NK_KEY_NONE)
        return 0;
    if (is_ec(si->key))
        return is_ec(type);
    return si->key == type;
}

size_t nk_sig_max_len(EVP_PKEY *key)
{
    int n = key != NULL ? EVP_PKEY_get_size(key) : 0;
    return n > 0 ? (size_t)n : 0;
}

/* RSASSA-PSS with sLen = hLen needs emLen >= 2*hLen + 2 (RFC 8017 §9.1.1 step 3):
 * too small a modulus cannot carry a SHA-512 signature. */
static int rsa_pss_fits(EVP_PKEY *key, int hash)
{
    int bits = EVP_PKEY_get_bits(key);
    size_t em_len = bits > 1 ? ((size_t)bits - 1 + 7) / 8 : 0;
    return em_len >= 2 * nk_hash_len((enum nk_hash)hash) + 2;
}

/* A digest-sign/verify context for scheme over key, with the PSS parameters TLS
 * 1.3 fixes: "The length of the Salt MUST be equal to the length of the output of
 * the digest algorithm", MGF1 with the same digest (RFC 8446 §4.2.3). */
static MSTATUS sig_ctx_new(EVP_PKEY *key, uint16_t scheme, int sign, int tls12, EVP_MD_CTX **out)
{
    const struct scheme_info *si = scheme_find(scheme);
    NK_CHECK(key != NULL, ERR_NULL_POINTER);
    enum nk_key_type kt = nk_key_type_of(key);
    NK_CHECK(tls12 ? nk_sig_fits_key12(scheme, kt) : nk_sig_fits_key(scheme, kt), ERR_SSL_ILLEGAL_PARAMETER);

    const EVP_MD *md = NULL;
    if (si->hash != NO_HASH) {
        md = scheme_md(si);
        NK_CHECK(md != NULL, ERR_CRYPTO);
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    NK_CHECK(ctx != NULL, ERR_MEM_ALLOC_FAIL);
    EVP_PKEY_CTX *pctx = NULL;
    int ok = sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key)
                  : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key);
    if (ok == 1 && si->pad == PAD_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
    if (ok != 1) {
        /* The key refuses these parameters (an RSASSA-PSS key restricted to
         * another digest, say): the scheme does not fit it. */
        EVP_MD_CTX_free(ctx);
        return ERR_SSL_ILLEGAL_PARAMETER;
    }
    *out = ctx;
    return OK;
}

static MSTATUS sig_sign(EVP_PKEY *key, uint16_t scheme, const uint8_t *msg, size_t n,
                        uint8_t *sig, size_t *sig_len, int tls12)
{
    NK_CHECK(sig != NULL && sig_len != NULL && (msg != NULL || n == 0), ERR_NULL_POINTER);
    EVP_MD_CTX *ctx;
    NK_TRY(sig_ctx_new(key, scheme, 1, tls12, &ctx));
    MSTATUS st = OK;
    size_t cap = *sig_len;
    if (cap < nk_sig_max_len(key))
        st = ERR_BUFFER_TOO_SMALL;
    else if (EVP_DigestSign(ctx, sig, sig_len, msg, n) != 1 || *sig_len > cap)
        st = ERR_CRYPTO;   /* see signer_sign: a length beyond cap is a failure */
    EVP_MD_CTX_free(ctx);
    return st;
}

MSTATUS nk_sig_sign(EVP_PKEY *key, uint16_t scheme, const uint8_t *msg, size_t n,
                    uint8_t *sig, size_t *sig_len)
{
    ERR_set_mark();
    MSTATUS st = sig_sign(key, scheme, msg, n, sig, sig_len, 0);
    ERR_pop_to_mark();
    return st;
}

static MSTATUS sig_verify(EVP_PKEY *pub, uint16_t scheme, const uint8_t *msg, size_t n,
                          const uint8_t *sig, size_t sig_len, int tls12)
{
    NK_CHECK(sig != NULL && (msg != NULL || n == 0), ERR_NULL_POINTER);
    EVP_MD_CTX *ctx;
    NK_TRY(sig_ctx_new(pub, scheme, 0, tls12, &ctx));
    /* 0 is a wrong signature, a negative value one that does not even parse
     * (ECDSA DER): both are the peer's signature failing. */
    MSTATUS st = EVP_DigestVerify(ctx, sig, sig_len, msg, n) == 1 ? OK : ERR_SSL_BAD_SIGNATURE;
    EVP_MD_CTX_free(ctx);
    return st;
}

MSTATUS nk_sig_verify(EVP_PKEY *pub, uint16_t scheme, const uint8_t *msg, size_t n,
                      const uint8_t *sig, size_t sig_len)
{
    ERR_set_mark();
    MSTATUS st = sig_verify(pub, scheme, msg, n, sig, sig_len, 0);
    ERR_pop_to_mark();
    return st;
}

MSTATUS nk_sig_verify12(EVP_PKEY *pub, uint16_t scheme, const uint8_t *msg, size_t n,
                        const uint8_t *sig, size_t sig_len)
{
    ERR_set_mark();
    MSTATUS st = sig_verify(pub, scheme, msg, n, sig, sig_len, 1);
    ERR_pop_to_mark();
    return st;
}

/* ---- prepared identities ---- */

/* A signing context for scheme, made once per identity: the same parameters
 * sig_ctx_new sets, on a context that signs a digest we compute ourselves. */
static EVP_PKEY_CTX *signer_new(EVP_PKEY *key, const struct scheme_info *si)
{
    const EVP_MD *md = nk_md((enum nk_hash)si->hash);
    EVP_PKEY_CTX *ctx = md ? EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) : NULL;
    int ok = ctx && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
    if (ok && si->pad == PAD_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0;
    if (!ok) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static MSTATUS prepare_cert_list(struct nk_identity *id)
{
    /* CertificateEntry: cert_data<1..2^24-1>, extensions<0..2^16-1> (empty). */
    size_t n = 3;
    for (size_t i = 0; i < id->chain_len; i++)
        n += 3 + id->chain[i].len + 2;
    NK_CHECK(n - 3 <= 0xffffff, ERR_CERT_INVALID);
    uint8_t *p = malloc(n);
    NK_CHECK(p, ERR_MEM_ALLOC_FAIL);
    id->cert_list.p = p;
    id->cert_list.len = n;
    nk_store24(p, (uint32_t)(n - 3));
    p += 3;
    for (size_t i = 0; i < id->chain_len; i++) {
        nk_store24(p, (uint32_t)id->chain[i].len);
        memcpy(p + 3, id->chain[i].p, id->chain[i].len);
        p += 3 + id->chain[i].len;
        p[0] = p[1] = 0;
        p += 2;
    }
    return OK;
}

MSTATUS nk_identity_prepare(struct nk_identity *id)
{
    size_t k = 0;
    NK_TRY(prepare_cert_list(id));
    ERR_set_mark();
    /* EdDSA signs the whole message in one call, with nothing to prepare; a
     * scheme libcrypto refuses here is signed the slow way, or refused then. */
    for (size_t i = 0; i < nk_sig_scheme_count && k < NK_ID_SIGNERS; i++) {
        const struct scheme_info *si = scheme_find(nk_sig_schemes[i]);
        if (!nk_sig_fits_key(si->id, id->type) || si->hash == NO_HASH
            || (si->pad == PAD_PSS && !rsa_pss_fits(id->key, si->hash)))
            continue;
        if ((id->signer[k].ctx = signer_new(id->key, si)) != NULL)
            id->signer[k++].scheme = si->id;
    }
    ERR_pop_to_mark();
    return OK;
}

void nk_identity_release(struct nk_identity *id)
{
    for (size_t i = 0; i < NK_ID_SIGNERS; i++) {
        EVP_PKEY_CTX_free(id->signer[i].ctx);
        id->signer[i].ctx = NULL;
    }
    free(id->cert_list.p);
    id->cert_list.p = NULL;
    id->cert_list.len = 0;
}

static MSTATUS signer_sign(EVP_PKEY_CTX *tmpl, const struct scheme_info *si, const uint8_t *msg, size_t n,
                           uint8_t *sig, size_t *sig_len)
{
    uint8_t digest[NK_MAX_HASH];
    /* A context is not to be shared between threads: each signature gets a
     * copy (cheap: the key is referenced, not copied). */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_dup(tmpl);
    NK_CHECK(ctx != NULL, ERR_MEM_ALLOC_FAIL);
    size_t cap = *sig_len;
    MSTATUS st = nk_digest((enum nk_hash)si->hash, msg, n, digest);
    if (st == OK && EVP_PKEY_sign(ctx, sig, sig_len, digest, nk_hash_len((enum nk_hash)si->hash)) != 1)
        st = ERR_CRYPTO;
    /* Out of memory while encoding an ECDSA signature, libcrypto reports
     * success with a length of 2^32-1: never trust a length beyond the buffer. */
    if (st == OK && *sig_len > cap)
        st = ERR_CRYPTO;
    EVP_PKEY_CTX_free(ctx);
    return st;
}

static MSTATUS identity_sign(const struct nk_identity *id, uint16_t scheme, const uint8_t *msg, size_t n,
                             uint8_t *sig, size_t *sig_len, int tls12)
{
    for (size_t i = 0; i < NK_ID_SIGNERS; i++) {
        if (!id->signer[i].ctx || id->signer[i].scheme != scheme)
            continue;
        NK_CHECK(sig != NULL && sig_len != NULL && (msg != NULL || n == 0), ERR_NULL_POINTER);
        NK_CHECK(*sig_len >= nk_sig_max_len(id->key), ERR_BUFFER_TOO_SMALL);
        ERR_set_mark();
        MSTATUS st = signer_sign(id->signer[i].ctx, scheme_find(scheme), msg, n, sig, sig_len);
        ERR_pop_to_mark();
        return st;
    }
    ERR_set_mark();
    MSTATUS st = sig_sign(id->key, scheme, msg, n, sig, sig_len, tls12);
    ERR_pop_to_mark();
    return st;
}

MSTATUS nk_identity_sign(const struct nk_identity *id, uint16_t scheme, const uint8_t *msg, size_t n,
                         uint8_t *sig, size_t *sig_len)
{
    return identity_sign(id, scheme, msg, n, sig, sig_len, 0);
}

/* The prepared signers are TLS 1.3 fits, whose signatures are the same in
 * TLS 1.2; the other TLS 1.2 schemes sign through a fresh context. */
MSTATUS nk_identity_sign12(const struct nk_identity *id, uint16_t scheme, const uint8_t *msg, size_t n,
                           uint8_t *sig, size_t *sig_len)
{
    return identity_sign(id, scheme, msg, n, sig, sig_len, 1);
}

/* ---- identities ---- */

static int offered(const uint16_t *peer, size_t n, uint16_t scheme)
{
    for (size_t i = 0; i < n; i++)
        if (peer[i] == scheme)
            return 1;
    return 0;
}

/* Our first scheme (in ours) that the peer offered and this identity's key
 * can make, by fits' rules. */
static int scheme_fits(const struct nk_identity *id, const uint16_t *peer, size_t n, const uint16_t *ours,
                       size_t n_ours, int (*fits)(uint16_t, enum nk_key_type), uint16_t *scheme)
{
    for (size_t i = 0; i < n_ours; i++) {
        uint16_t s = ours[i];
        if (!fits(s, id->type) || !offered(peer, n, s))
            continue;
        const struct scheme_info *si = scheme_find(s);
        if (si->pad == PAD_PSS && !rsa_pss_fits(id->key, si->hash))
            continue;
        *scheme = s;
        return 1;
    }
    return 0;
}

/* TLS 1.3's rules first (an ECDSA key signs with its curve's hash, RSA with
 * PSS), so that TLS 1.2 picks the same where the peer allows it; then, in
 * TLS 1.2, its own (any ECDSA hash, PKCS#1 v1.5). */
static int scheme_for(const struct nk_identity *id, const uint16_t *peer, size_t n,
                      const uint16_t *ours, size_t n_ours, int tls12, uint16_t *scheme)
{
    return scheme_fits(id, peer, n, ours, n_ours, nk_sig_fits_key, scheme)
           || (tls12 && scheme_fits(id, peer, n, ours, n_ours, nk_sig_fits_key12, scheme));
}

const struct nk_identity *nk_store_pick_identity(const struct certStore *s, const char *sni,
                                                 const uint16_t *peer_sigs, size_t n_sigs,
                                                 uint16_t *scheme)
{
    return nk_store_pick_identity_pref(s, sni, peer_sigs, n_sigs, NULL, scheme);
}

static const struct nk_identity *pick(const struct certStore *s, const char *sni, const uint16_t *peer_sigs,
                                     size_t n_sigs, const uint16_t *ours, size_t n_ours, int tls12,
                                     uint16_t *scheme)
{
    if (s == NULL || scheme == NULL || (peer_sigs == NULL && n_sigs > 0))
        return NULL;
    /* SNI is a DNS host name, never an IP literal (RFC 6066 §3). With a single
     * identity the answer is that one whatever the name: no name check. */
    if (sni != NULL && sni[0] != '\0' && s->n_ids > 1) {
        for (size_t i = 0; i < s->n_ids; i++) {
            const struct nk_identity *id = s->ids[i];
            if (X509_check_host(id->leaf, sni, strlen(sni),
                                X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1 &&
                scheme_for(id, peer_sigs, n_sigs, ours, n_ours, tls12, scheme))
                return id;
        }
    }
    for (size_t i = 0; i < s->n_ids; i++)
        if (scheme_for(s->ids[i], peer_sigs, n_sigs, ours, n_ours, tls12, scheme))
            return s->ids[i];
    return NULL;
}

const struct nk_identity *nk_store_pick_identity_pref(const struct certStore *s, const char *sni,
                                                      const uint16_t *peer_sigs, size_t n_sigs,
                                                      const struct nk_sig_prefs *prefs,
                                                      uint16_t *scheme)
{
    size_t n_ours;
    const uint16_t *ours = nk_sig_list(prefs, NK_SIGS_SIGNING, &n_ours);
    return pick(s, sni, peer_sigs, n_sigs, ours, n_ours, 0, scheme);
}

const struct nk_identity *nk_store_pick_identity12(const struct certStore *s, const char *sni,
                                                   const uint16_t *peer_sigs, size_t n_sigs,
                                                   const uint16_t *ours, size_t n_ours, uint16_t *scheme)
{
    return pick(s, sni, peer_sigs, n_sigs, ours, n_ours, 1, scheme);
}

int nk_store_has_trust_points(const struct certStore *s)
{
    return s != NULL && (sk_X509_num(s->anchors) > 0 || s->system_trust);
}

/* ---- peer chain verification ---- */

static int is_ip_literal(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* RFC 6125 §6.4.3: a wildcard only as the whole left-most label ("f*.example.com"
 * is refused); §6.4.4: the CN only when there is no subjectAltName dNSName. Both
 * are libcrypto's rules with NO_PARTIAL_WILDCARDS. */
static int match_host(X509 *leaf, const char *name, unsigned int flags)
{
    if (is_ip_literal(name))
        return X509_check_ip_asc(leaf, name, 0) == 1;
    return X509_check_host(leaf, name, strlen(name),
                           flags | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* Does the presented DNS identifier lie at or below suffix? "*.a.example.com"
 * names only hosts below a.example.com, so it is covered when a.example.com is. */
static int suffix_covers(const char *p, size_t plen, const char *suffix, int allow_wild)
{
    size_t slen = strlen(suffix);
    if (plen >= 2 && p[0] == '*' && p[1] == '.') {
        if (!allow_wild)
            return 0;
        p += 2;
        plen -= 2;
    }
    if (slen == 0 || memchr(p, '*', plen) != NULL)
        return 0;
    if (plen == slen)
        return strncasecmp(p, suffix, slen) == 0;
    return plen > slen && p[plen - slen - 1] == '.' &&
           strncasecmp(p + plen - slen, suffix, slen) == 0;
}

/* An ASN1 string usable as a DNS name: no embedded NUL. */
static int dns_string(const ASN1_STRING *s, const char **p, size_t *n)
{
    int len = ASN1_STRING_length(s);
    const char *d = (const char *)ASN1_STRING_get0_data(s);
    if (len <= 0 || memchr(d, '\0', (size_t)len) != NULL)
        return 0;
    *p = d;
    *n = (size_t)len;
    return 1;
}

static int match_suffix(X509 *leaf, const char *suffix, int allow_wild)
{
    if (suffix[0] == '.')
        suffix++;
    GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int have_dns = 0, ok = 0;
    const char *p;
    size_t n;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens) && !ok; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != GEN_DNS)
            continue;
        have_dns = 1;
        ok = dns_string(g->d.dNSName, &p, &n) && suffix_covers(p, n, suffix, allow_wild);
    }
    GENERAL_NAMES_free(gens);
    /* RFC 6125 §6.4.4: "a client MUST NOT seek a match for a reference identifier
     * of CN-ID if the presented identifiers include a DNS-ID". */
    if (have_dns)
        return ok;
    const X509_NAME *name = X509_get_subject_name(leaf);
    for (int i = -1; !ok && (i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0;) {
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
        ok = len > 0 && memchr(utf8, '\0', (size_t)len) == NULL &&
             suffix_covers((const char *)utf8, (size_t)len, suffix, allow_wild);
        OPENSSL_free(utf8);
    }
    return ok;
}

/* SSL_setDNSNames: the host asked for, or any listed name, will do. */
static MSTATUS check_names(X509 *leaf, const struct nk_verify_req *req)
{
    if (req->host != NULL && req->host[0] != '\0' && match_host(leaf, req->host, 0))
        return OK;
    for (const CNMatchInfo *m = req->names; m->name != NULL; m++) {
        const char *name = (const char *)m->name;
        int allow_wild = !(m->flags & matchFlagNoWildcard);
        if (m->flags & matchFlagSuffix) {
            if (match_suffix(leaf, name, allow_wild))
                return OK;
        } else if (match_host(leaf, name, allow_wild ? 0 : X509_CHECK_FLAG_NO_WILDCARDS)) {
            return OK;
        }
    }
    return ERR_CERT_HOSTNAME_MISMATCH;
}

/* What X509_verify_cert's verdict means to a NanoSSL application. */
static MSTATUS map_verify_error(int e)
{
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return ERR_SSLCC_NO_SELF_SIGNED_CERTIFICATES;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return ERR_CERT_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return ERR_CERT_NOT_YET_VALID;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return ERR_CERT_HOSTNAME_MISMATCH;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
        return ERR_CERT_BAD_SIGNATURE;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
        return ERR_CERT_KEY_TOO_SMALL;
    default:
        return ERR_CERT_INVALID;
    }
}

/* Policy libcrypto leaves to us, over the built path (leaf first, anchor last).
 * The anchor is trusted as configured; what it signed is checked. */
static MSTATUS check_policy(STACK_OF(X509) *path, const struct nk_verify_req *req)
{
    int min_bits = req->min_rsa_bits ? (int)req->min_rsa_bits : 2048;
    for (int i = 0; i + 1 < sk_X509_num(path); i++) {
        X509 *x = sk_X509_value(path, i);
        EVP_PKEY *pk = X509_get0_pubkey(x);
        NK_CHECK(pk != NULL, ERR_CERT_INVALID);
        int id = EVP_PKEY_get_base_id(pk);
        if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS)
            NK_CHECK(EVP_PKEY_get_bits(pk) >= min_bits, ERR_CERT_KEY_TOO_SMALL);

        int mdnid = NID_undef, pknid = NID_undef, secbits = 0;
        uint32_t flags = 0;
        NK_CHECK(X509_get_signature_info(x, &mdnid, &pknid, &secbits, &flags) == 1,
                 ERR_CERT_INVALID);
        if (mdnid == NID_sha1)
            NK_CHECK(req->allow_sha1, ERR_CERT_SHA1_SIGNATURE);
        else
            NK_CHECK(secbits >= 80, ERR_CERT_INVALID);   /* MD5 and worse: never */
    }
    return OK;
}

static MSTATUS set_params(X509_STORE_CTX *ctx, const struct nk_verify_req *req, int by_names)
{
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    if (req->now != 0)
        X509_VERIFY_PARAM_set_time(param, req->now);
    NK_CHECK(X509_STORE_CTX_set_purpose(ctx, req->peer_is_server ? X509_PURPOSE_SSL_SERVER
                                                                 : X509_PURPOSE_SSL_CLIENT) == 1,
             ERR_CRYPTO);
    if (by_names || req->host == NULL || req->host[0] == '\0')
        return OK;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = is_ip_literal(req->host) ? X509_VERIFY_PARAM_set1_ip_asc(param, req->host)
                                      : X509_VERIFY_PARAM_set1_host(param, req->host, 0);
    NK_CHECK(ok == 1, ERR_CERT_HOSTNAME_MISMATCH);
    return OK;
}

static MSTATUS run_verify(const struct nk_verify_req *req, X509 *leaf, STACK_OF(X509) *rest)
{
    int by_names = req->names != NULL && req->names[0].name != NULL;
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    NK_CHECK(ctx != NULL, ERR_MEM_ALLOC_FAIL);
    MSTATUS st = ERR_CRYPTO;
    if (X509_STORE_CTX_init(ctx, req->store->trust, leaf, rest) == 1)
        st = set_params(ctx, req, by_names);
    if (st == OK && X509_verify_cert(ctx) != 1)
        st = map_verify_error(X509_STORE_CTX_get_error(ctx));
    if (st == OK && by_names)
        st = check_names(leaf, req);
    if (st == OK)
        st = check_policy(X509_STORE_CTX_get0_chain(ctx), req);
    X509_STORE_CTX_free(ctx);
    return st;
}

static MSTATUS chain_verify(const struct nk_verify_req *req, EVP_PKEY **leaf_pub)
{
    NK_CHECK(req->chain != NULL && req->chain_len > 0, ERR_CERT_DECODE);
    X509 *leaf = nk_x509_from_der(req->chain[0].p, req->chain[0].len);
    NK_CHECK(leaf != NULL, ERR_CERT_DECODE);
    *leaf_pub = X509_get_pubkey(leaf);   /* for the application's callback, pass or fail */

    MSTATUS st = OK;
    STACK_OF(X509) *rest = sk_X509_new_null();
    if (rest == NULL)
        st = ERR_MEM_ALLOC_FAIL;
    for (size_t i = 1; st == OK && i < req->chain_len; i++) {
        X509 *x = nk_x509_from_der(req->chain[i].p, req->chain[i].len);
        if (x == NULL)
            st = ERR_CERT_DECODE;
        else if (sk_X509_push(rest, x) <= 0) {
            X509_free(x);
            st = ERR_MEM_ALLOC_FAIL;
        }
    }
    if (st == OK && !nk_store_has_trust_points(req->store))
        st = ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY;   /* nothing can anchor the chain */
    if (st == OK)
        st = run_verify(req, leaf, rest);
    sk_X509_pop_free(rest, X509_free);
    X509_free(leaf);
    return st;
}

MSTATUS nk_chain_verify(const struct nk_verify_req *req, EVP_PKEY **leaf_pub)
{
    NK_CHECK(req != NULL && leaf_pub != NULL, ERR_NULL_POINTER);
    *leaf_pub = NULL;
    ERR_set_mark();
    MSTATUS st = chain_verify(req, leaf_pub);
    ERR_pop_to_mark();
    return st;
}

/* ---- what the leaf may be used for ---- */

static MSTATUS usage_check(X509 *x, int peer_is_server)
{
    if (X509_get_extension_flags(x) & EXFLAG_INVALID)
        return ERR_CERT_INVALID;
    uint32_t ku = X509_get_key_usage(x);             /* UINT32_MAX: no keyUsage */
    uint32_t xku = X509_get_extended_key_usage(x);   /* UINT32_MAX: no extendedKeyUsage */
    uint32_t role = peer_is_server ? XKU_SSL_SERVER : XKU_SSL_CLIENT;
    NK_CHECK(ku & KU_DIGITAL_SIGNATURE, ERR_CERT_KEY_USAGE);
    NK_CHECK(xku & (role | XKU_ANYEKU), ERR_CERT_KEY_USAGE);
    return OK;
}

MSTATUS nk_cert_usage_check(const uint8_t *der, size_t len, int peer_is_server)
{
    NK_CHECK(der != NULL, ERR_NULL_POINTER);
    ERR_set_mark();
    X509 *x = nk_x509_from_der(der, len);
    MSTATUS st = x != NULL ? usage_check(x, peer_is_server) : ERR_CERT_DECODE;
    X509_free(x);
    ERR_pop_to_mark();
    return st;
}

/* ---- signature schemes ---- */

int nk_sig_known(uint16_t scheme)
{
    return scheme_find(scheme) != NULL;   /* the table: the certificate list, SHA-1, DSA */
}
