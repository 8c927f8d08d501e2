/* handshake/store.c — what the handshake reads from a certificate store and from
 * certificates: PSK identities by name, strict DER decoding, one-line names and
 * host names.
 * The store is filled through the public CERT_STORE_* calls (api/cert_store.c). */
#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "handshake/store.h"
#include "nktls.h"

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

/* Append "sep text" to a growing malloc'd line; NULL (and line freed) when out of memory. */
static char *append(char *line, const char *sep, const char *text)
{
    size_t had = line ? strlen(line) : 0, n = had + strlen(sep) + strlen(text) + 1;
    char *p = realloc(line, n);
    if (p == NULL) {
        free(line);
        return NULL;
    }
    snprintf(p + had, n - had, "%s%s", had ? sep : "", text);
    return p;
}

/* "DNS:a.example, IP:127.0.0.1" from the subjectAltName; "CN=..." when it has
 * no DNS name or address. */
static char *host_names(X509 *x)
{
    GENERAL_NAMES *alt = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    char *line = calloc(1, 1);
    for (int i = 0; line != NULL && i < sk_GENERAL_NAME_num(alt); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(alt, i);
        char text[INET6_ADDRSTRLEN + 8];
        if (g->type == GEN_DNS) {
            snprintf(text, sizeof text, "DNS:%.*s", ASN1_STRING_length(g->d.dNSName) > 200
                     ? 200 : ASN1_STRING_length(g->d.dNSName),
                     (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        } else if (g->type == GEN_IPADD) {
            int n = ASN1_STRING_length(g->d.iPAddress);
            char addr[INET6_ADDRSTRLEN] = "?";
            inet_ntop(n == 16 ? AF_INET6 : AF_INET, ASN1_STRING_get0_data(g->d.iPAddress), addr,
                      sizeof addr);
            snprintf(text, sizeof text, "IP:%s", n == 4 || n == 16 ? addr : "?");
        } else {
            continue;
        }
        line = append(line, ", ", text);
    }
    GENERAL_NAMES_free(alt);
    if (line != NULL && line[0] == '\0') {   /* no names: the subject's common name */
        int at = X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_commonName, -1);
        unsigned char *cn = NULL;
        if (at >= 0 && ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(
                           X509_NAME_get_entry(X509_get_subject_name(x), at))) >= 0) {
            line = append(line, "", "CN=");
            line = line ? append(line, "", (const char *)cn) : NULL;
        }
        OPENSSL_free(cn);
    }
    return line;
}

MSTATUS nk_cert_name(const uint8_t *der, size_t len, int which, char *out, size_t cap)
{
    NK_CHECK(der != NULL && out != NULL, ERR_NULL_POINTER);
    NK_CHECK(cap > 0, ERR_BUFFER_TOO_SMALL);
    NK_CHECK(which == NKTLS_CERT_SUBJECT || which == NKTLS_CERT_ISSUER
             || which == NKTLS_CERT_HOST_NAMES, ERR_INVALID_ARG);
    out[0] = '\0';
    ERR_set_mark();
    X509 *x = nk_x509_from_der(der, len);
    char *line = x == NULL ? NULL
               : which == NKTLS_CERT_SUBJECT ? nk_name_oneline(X509_get_subject_name(x))
               : which == NKTLS_CERT_ISSUER ? nk_name_oneline(X509_get_issuer_name(x))
               : host_names(x);
    ERR_pop_to_mark();
    MSTATUS st = x == NULL ? ERR_CERT_DECODE : line == NULL ? ERR_MEM_ALLOC_FAIL : OK;
    if (line != NULL) {
        size_t n = strlen(line);
        if (n >= cap) {   /* truncate, but say so */
            n = cap - 1;
            st = ERR_BUFFER_TOO_SMALL;
        }
        memcpy(out, line, n);
        out[n] = '\0';
    }
    free(line);
    X509_free(x);
    return st;
}
