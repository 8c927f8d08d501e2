/* handshake/store.c — what the handshake reads from a certificate store and from
 * certificates: PSK identities by name, strict DER decoding, one-line names.
 * The store is filled through the public CERT_STORE_* calls (api/cert_store.c). */
#include <limits.h>
#include <stdlib.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "handshake/store.h"

const struct nk_psk_identity *nk_store_find_psk(const struct certStore *s,
                                                const uint8_t *id, size_t id_len)
{
    if (s == NULL || id == NULL)
        return NULL;
    for (size_t i = 0; i < s->n_psks; i++)
        if (s->psks[i].id_len == id_len && memcmp(s->psks[i].id, id, id_len) == 0)
            return &s->psks[i];
    return NULL;
}

X509 *nk_x509_from_der(const uint8_t *der, size_t len)
{
    if (der == NULL || len == 0 || len > LONG_MAX)
        return NULL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {   /* trailing bytes: not one certificate */
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* One-line name, most specific attribute first ("CN=a, O=b, C=c"): RFC 2253
 * escaping, but UTF-8 left as is rather than escaped as \XX. */
char *nk_name_oneline(const X509_NAME *name)
{
    const unsigned long flags = (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) |
                                XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_DN_REV | XN_FLAG_FN_SN;
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL;

    if (bio == NULL)
        return NULL;
    if (X509_NAME_print_ex(bio, name, 0, flags) >= 0) {
        char *data;
        long n = BIO_get_mem_data(bio, &data);
        out = malloc((size_t)(n > 0 ? n : 0) + 1);
        if (out != NULL) {
            if (n > 0)
                memcpy(out, data, (size_t)n);
            out[n > 0 ? n : 0] = '\0';
        }
    }
    BIO_free(bio);
    return out;
}
