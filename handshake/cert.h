/* handshake/cert.h — identities, signatures and peer-chain verification, for the
 * handshake engines. The store itself (struct certStore) is filled through the
 * public CERT_STORE_* calls (api/cert_store.c). Path validation is libcrypto's
 * X509_verify_cert; nothing here re-implements it. */
#ifndef NK_CERT_H
#define NK_CERT_H

#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "core/nk.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"

/* Signature schemes (IANA, RFC 8446 §4.2.3). */
enum {
    NK_SIG_RSA_PKCS1_SHA1 = 0x0201, NK_SIG_ECDSA_SHA1 = 0x0203,
    NK_SIG_RSA_PKCS1_SHA256 = 0x0401, NK_SIG_RSA_PKCS1_SHA384 = 0x0501,
    NK_SIG_RSA_PKCS1_SHA512 = 0x0601,
    NK_SIG_ECDSA_SECP256R1_SHA256 = 0x0403, NK_SIG_ECDSA_SECP384R1_SHA384 = 0x0503,
    NK_SIG_ECDSA_SECP521R1_SHA512 = 0x0603,
    NK_SIG_RSA_PSS_RSAE_SHA256 = 0x0804, NK_SIG_RSA_PSS_RSAE_SHA384 = 0x0805,
    NK_SIG_RSA_PSS_RSAE_SHA512 = 0x0806, NK_SIG_ED25519 = 0x0807, NK_SIG_ED448 = 0x0808,
    NK_SIG_RSA_PSS_PSS_SHA256 = 0x0809, NK_SIG_RSA_PSS_PSS_SHA384 = 0x080a,
    NK_SIG_RSA_PSS_PSS_SHA512 = 0x080b,
    /* TLS 1.2 only: RFC 5246 §7.4.1.4.1 dsa(2); RFC 8446 §4.2.3 has none */
    NK_SIG_DSA_SHA1 = 0x0202, NK_SIG_DSA_SHA256 = 0x0402, NK_SIG_DSA_SHA384 = 0x0502,
    NK_SIG_DSA_SHA512 = 0x0602,
};

enum nk_key_type {
    NK_KEY_NONE, NK_KEY_RSA, NK_KEY_RSA_PSS, NK_KEY_EC_P256, NK_KEY_EC_P384,
    NK_KEY_EC_P521, NK_KEY_ED25519, NK_KEY_ED448,
    NK_KEY_DSA,   /* TLS 1.2's DHE_DSS suites only */
};

/* Schemes we accept in CertificateVerify (our signature_algorithms), in our order
 * of preference, and the longer list for certificates (signature_algorithms_cert,
 * which adds rsa_pkcs1_*: allowed in certificates only, RFC 8446 §4.2.3). */
extern const uint16_t nk_sig_schemes[];
extern const size_t nk_sig_scheme_count;
extern const uint16_t nk_sig_schemes_cert[];
extern const size_t nk_sig_scheme_cert_count;

/* A connection's own signature scheme lists (NKTLS_setSignatureSchemes),
 * allocated only when the application sets one; n[i] == 0: list i is the
 * default, nk_sig_schemes. OFFERED goes out in signature_algorithms (our
 * ClientHello or CertificateRequest), ACCEPTED limits what the peer's
 * CertificateVerify may use, SIGNING is our preference when we sign. */
enum { NK_SIGS_OFFERED, NK_SIGS_ACCEPTED, NK_SIGS_SIGNING, NK_SIGS_LISTS };
#define NK_SIGS_MAX 16   /* every scheme we know, each at most once */
struct nk_sig_prefs {
    uint8_t n[NK_SIGS_LISTS];
    uint16_t v[NK_SIGS_LISTS][NK_SIGS_MAX];
};

/* List `which` of prefs (NULL: all default) and its length. */
const uint16_t *nk_sig_list(const struct nk_sig_prefs *prefs, int which, size_t *n);
int nk_sig_in_list(const struct nk_sig_prefs *prefs, int which, uint16_t scheme);
/* Set list `which` from an application's list (n == 0: back to the default).
 * Every scheme must be one we know, once; SHA-1 ones only with allow_sha1.
 * *prefs is allocated on first use, and freed when every list is default. */
MSTATUS nk_sig_prefs_set(struct nk_sig_prefs **prefs, int which, const uint16_t *v, size_t n,
                         int allow_sha1) NK_MUST;

struct nk_der {
    uint8_t *p;
    size_t len;
};

#define NK_ID_SIGNERS 3

/* One certificate chain with its private key, and what every handshake that
 * uses it would otherwise redo: the chain as a Certificate message's
 * certificate_list, and a signing context per scheme the key can make. */
struct nk_identity {
    X509 *leaf;
    EVP_PKEY *key;             /* private key */
    enum nk_key_type type;
    uint8_t external;          /* key is the public one: the application signs
                                * (funcPtrMutualAuthCertificateVerify) */
    struct nk_der *chain;      /* DER, leaf first */
    size_t chain_len;
    struct nk_der cert_list;   /* CertificateEntry certificate_list<0..2^24-1> (§4.4.2) */
    struct nk_ocsp *ocsp;      /* the OCSP response to staple (handshake/ocsp.c), or NULL */
    struct {
        uint16_t scheme;
        EVP_PKEY_CTX *ctx;     /* sign_init done, digest and padding set; duplicated per use */
    } signer[NK_ID_SIGNERS];
};

/* The chain the peer sent, as handed to SSL_setCertAndStatusCallback. */
struct certChain {
    const struct nk_der *certs;   /* leaf first */
    size_t count;
};

/* Is this a scheme nktls implements (any use)? At most NK_MAX_SIGS of them. */
int nk_sig_known(uint16_t scheme);

enum nk_key_type nk_key_type_of(EVP_PKEY *key);
/* Does scheme fit this key (type, curve)? TLS 1.3 CertificateVerify rules. */
int nk_sig_fits_key(uint16_t scheme, enum nk_key_type type);
/* TLS 1.2's rules (RFC 5246 §7.4.1.4.1): ECDSA schemes fit every curve,
 * rsa_pkcs1_* and the SHA-1 schemes fit RSA and EC keys. */
int nk_sig_fits_key12(uint16_t scheme, enum nk_key_type type);

/* Choose an identity for a handshake: prefer one whose leaf matches sni
 * (subjectAltName dNSName, wildcards per RFC 6125; sni may be NULL), then the
 * first one; within it, the first scheme of ours that the peer offered (peer_sigs)
 * and that fits the key. NULL when the store has no usable identity. */
const struct nk_identity *nk_store_pick_identity(const struct certStore *s, const char *sni,
                                                 const uint16_t *peer_sigs, size_t n_sigs,
                                                 uint16_t *scheme);
/* The same with the connection's SIGNING order (prefs may be NULL). */
const struct nk_identity *nk_store_pick_identity_pref(const struct certStore *s, const char *sni,
                                                      const uint16_t *peer_sigs, size_t n_sigs,
                                                      const struct nk_sig_prefs *prefs,
                                                      uint16_t *scheme);
/* TLS 1.2: ours is the connection's TLS 1.2 list; a scheme by TLS 1.3's rules
 * when the peer offered one, else by TLS 1.2's (nk_sig_fits_key12). */
const struct nk_identity *nk_store_pick_identity12(const struct certStore *s, const char *sni,
                                                   const uint16_t *peer_sigs, size_t n_sigs,
                                                   const uint16_t *ours, size_t n_ours, uint16_t *scheme);
int nk_store_has_trust_points(const struct certStore *s);

/* Fill the identity's cert_list and signers once its chain and key are in
 * place (the store is read-only afterwards: handshakes on many threads share
 * it); release frees them. */
MSTATUS nk_identity_prepare(struct nk_identity *id) NK_MUST;
void nk_identity_release(struct nk_identity *id);
/* nk_sig_sign with the identity's key, through its prepared context for the
 * scheme when it has one. */
MSTATUS nk_identity_sign(const struct nk_identity *id, uint16_t scheme, const uint8_t *msg, size_t n,
                         uint8_t *sig, size_t *sig_len) NK_MUST;
/* The same under TLS 1.2's rules (nk_sig_fits_key12). */
MSTATUS nk_identity_sign12(const struct nk_identity *id, uint16_t scheme, const uint8_t *msg, size_t n,
                           uint8_t *sig, size_t *sig_len) NK_MUST;

size_t nk_sig_max_len(EVP_PKEY *key);
/* Sign msg (the whole CertificateVerify content, unhashed) with scheme; *sig_len is
 * the capacity in, the length out. */
MSTATUS nk_sig_sign(EVP_PKEY *key, uint16_t scheme, const uint8_t *msg, size_t n,
                    uint8_t *sig, size_t *sig_len) NK_MUST;
/* ERR_SSL_BAD_SIGNATURE when the signature is wrong, ERR_SSL_ILLEGAL_PARAMETER when
 * the scheme does not fit the key or is not one we offered. */
MSTATUS nk_sig_verify(EVP_PKEY *pub, uint16_t scheme, const uint8_t *msg, size_t n,
                      const uint8_t *sig, size_t sig_len) NK_MUST;
/* The same under TLS 1.2's rules (nk_sig_fits_key12). */
MSTATUS nk_sig_verify12(EVP_PKEY *pub, uint16_t scheme, const uint8_t *msg, size_t n,
                        const uint8_t *sig, size_t sig_len) NK_MUST;

struct nk_verify_req {
    const struct certStore *store;       /* trust points */
    const struct nk_der *chain;          /* as received, leaf first */
    size_t chain_len;
    const char *host;                    /* DNS name to match, or NULL */
    const CNMatchInfo *names;            /* SSL_setDNSNames list, or NULL */
    unsigned min_rsa_bits;               /* 0 = default 2048 */
    int allow_sha1;                      /* SHA-1 signed certificates */
    time_t now;                          /* verification time */
    int peer_is_server;                  /* serverAuth vs clientAuth purpose */
};

/* Verify the peer's chain. Returns OK or the specific failure:
 * ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY, ERR_SSLCC_NO_SELF_SIGNED_CERTIFICATES,
 * ERR_CERT_EXPIRED, ERR_CERT_NOT_YET_VALID, ERR_CERT_HOSTNAME_MISMATCH,
 * ERR_CERT_BAD_SIGNATURE, ERR_CERT_KEY_TOO_SMALL, ERR_CERT_SHA1_SIGNATURE,
 * ERR_CERT_DECODE, ERR_CERT_INVALID. Whenever the leaf decodes, *leaf_pub receives
 * its public key (caller frees) even if verification failed, so an application
 * callback may still accept the chain. */
MSTATUS nk_chain_verify(const struct nk_verify_req *req, EVP_PKEY **leaf_pub) NK_MUST;

/* May the peer's leaf (DER) sign TLS handshakes in its role? RFC 8446
 * §4.4.2.2: digitalSignature when keyUsage is present; RFC 5280 §4.2.1.12:
 * with extendedKeyUsage, serverAuth for a server, clientAuth for a client,
 * or anyExtendedKeyUsage. ERR_CERT_KEY_USAGE if not (the alert is
 * unsupported_certificate: the certificate is sound, just not of a kind
 * usable here, RFC 8446 §6.2), ERR_CERT_DECODE / ERR_CERT_INVALID when it
 * does not parse. Checked apart from the trust decision, which an application
 * callback may override: usage is not the application's to waive. */
MSTATUS nk_cert_usage_check(const uint8_t *der, size_t len, int peer_is_server) NK_MUST;

/* One line about a DER certificate (handshake/store.c): its subject ("CN=..., O=..."),
 * its issuer, or the host names it is for; which is NKTLS_CERT_SUBJECT, _ISSUER or
 * _HOST_NAMES (nktls.h). Cut short with ERR_BUFFER_TOO_SMALL when it does not fit. */
MSTATUS nk_cert_name(const uint8_t *der, size_t len, int which, char *out, size_t cap) NK_MUST;

#endif
