/* handshake/store.h — inside struct certStore (filled by api/cert_store.c, read by
 * the handshake), and the certificate helpers both use (handshake/store.c).
 * Only the library includes this. */
#ifndef NK_HS_STORE_H
#define NK_HS_STORE_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include "core/nk.h"
#include "handshake/cert.h"

struct nk_psk_identity {
    uint8_t *id;
    size_t id_len;
    uint8_t *hint;             /* NULL when none */
    size_t hint_len;
    uint8_t *secret;           /* wiped on release */
    size_t secret_len;
};

/* Built while the application adds to it; read-only once handshakes use it, so
 * nothing here is locked and nothing is cached lazily. */
struct certStore {
    X509_STORE *trust;               /* trust points, grown as they are added */
    STACK_OF(X509) *anchors;         /* the same certificates, in order added */
    int system_trust;                /* NKTLS_addSystemTrustPoints: trust also has the system's */
    struct nk_identity **ids;        /* pointers stay valid as the array grows */
    size_t n_ids;
    struct nk_psk_identity *psks;
    size_t n_psks;
    /* Which store and trust issued a ticket (handshake/ticket.c): a hash
     * chain over the trust points and identity certificates as they were
     * added (api/cert_store.c), so a ticket never outlives the trust it was
     * authenticated under, and servers configured alike (a fleet sharing a
     * ticket key file) take each other's tickets. */
    uint8_t ticket_ctx[16];
};

/* The PSK with this identity, or NULL. */
const struct nk_psk_identity *nk_store_find_psk(const struct certStore *s,
                                                const uint8_t *id, size_t id_len);

/* Strict DER certificate decode: the whole buffer must be one certificate. */
X509 *nk_x509_from_der(const uint8_t *der, size_t len);

/* "CN=a, O=b, C=c" (malloc'd), or NULL when out of memory. */
char *nk_name_oneline(const X509_NAME *name);

#endif
