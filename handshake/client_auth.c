/* handshake/client_auth.c — the client's side of being asked for a
 * certificate beyond its store (the application's callbacks, an identity of
 * its own for this connection, a signer outside nktls), and the server's
 * certificate_authorities list (RFC 8446 §4.2.4; RFC 5246 §7.4.4). */
#include <stdlib.h>
#include "handshake/client_auth.h"
#include "handshake/hs.h"
#include "handshake/store.h"
#include "nktls.h"

MSTATUS nk_cauth_get(struct nk_tls *c, struct nk_cauth **out)
{
    if (c->cauth == NULL) {
        c->cauth = calloc(1, sizeof *c->cauth);
        NK_CHECK(c->cauth != NULL, ERR_MEM_ALLOC_FAIL);
    }
    *out = c->cauth;
    return OK;
}

void nk_cauth_free(struct nk_tls *c)
{
    struct nk_cauth *a = c->cauth;
    if (a == NULL)
        return;
    if (a->own && a->release)
        a->release(&a->own);
    free(a);
    c->cauth = NULL;
}

/* The names as the callback takes them, pointing into the message (valid
 * while it runs). Every DistinguishedName is <1..2^16-1>: a malformed list is
 * decode_error whether or not anyone reads it. */
static MSTATUS deliver_names(struct nk_tls *c, struct nk_rd cas)
{
    struct nk_rd r = cas, dn;
    ubyte4 n = 0;
    while (nk_rd_left(&r)) {
        NK_TRY(nk_rd_vec16(&r, &dn, 1, 0xffff));
        n++;
    }
    if (c->cauth == NULL || c->cauth->ca_cb == NULL)
        return OK;
    SizedBuffer *v = n ? calloc(n, sizeof *v) : NULL;
    NK_CHECK(n == 0 || v != NULL, ERR_MEM_ALLOC_FAIL);
    for (ubyte4 i = 0; i < n; i++) {
        MSTATUS st = nk_rd_vec16(&cas, &dn, 1, 0xffff);
        (void)st;   /* read once above */
        v[i].length = (ubyte4)nk_rd_left(&dn);
        v[i].data = (ubyte *)dn.p;
    }
    MSTATUS st = c->cauth->ca_cb(c->handle, v, n);
    free(v);
    return st < 0 ? st : OK;
}

MSTATUS nk_cauth_request(struct nk_tls *c, struct nk_rd cas, const struct certStore **from)
{
    struct nk_cauth *a = c->cauth;
    *from = NULL;
    NK_TRY(deliver_names(c, cas));
    if (c->flags & SSL_FLAG_NO_MUTUAL_AUTH_REPLY)
        return OK;
    if (a && a->cert_cb && a->choose) {
        int declined = 0;
        NK_TRY(a->choose(c, &declined));
        if (declined)   /* an empty Certificate (RFC 8446 §4.4.2, RFC 5246 §7.4.6) */
            return OK;
    }
    *from = a && a->own ? a->own : c->store;
    return OK;
}

/* The hash a scheme signs with, or -1: EdDSA signs the message itself. */
static int scheme_hash(uint16_t s)
{
    switch (s) {
    case NK_SIG_ED25519: case NK_SIG_ED448:
        return -1;
    case NK_SIG_RSA_PSS_RSAE_SHA256: case NK_SIG_RSA_PSS_PSS_SHA256:
        return NK_SHA256;
    case NK_SIG_RSA_PSS_RSAE_SHA384: case NK_SIG_RSA_PSS_PSS_SHA384:
        return NK_SHA384;
    case NK_SIG_RSA_PSS_RSAE_SHA512: case NK_SIG_RSA_PSS_PSS_SHA512:
        return NK_SHA512;
    }
    switch (s >> 8) {   /* RFC 5246 §7.4.1.4.1's HashAlgorithm byte */
    case 2: return NK_SHA1;
    case 4: return NK_SHA256;
    case 5: return NK_SHA384;
    case 6: return NK_SHA512;
    }
    return -1;
}

/* funcPtrMutualAuthCertificateVerify gets the digest of what is signed under
 * the scheme's hash (the message itself for EdDSA) and room for the largest
 * signature the key makes; it answers the signature's length, or OK when the
 * signature fills the room (RSA), or a negative error. Its signature goes out
 * unchecked: a wrong one is the server's to refuse (decrypt_error). */
MSTATUS nk_cauth_sign(struct nk_tls *c, const struct nk_identity *id, uint16_t scheme, int tls12,
                      const uint8_t *msg, size_t n, uint8_t *sig, size_t *sig_len)
{
    sbyte4 (*ext)(sbyte4, const ubyte *, ubyte4, ubyte *, ubyte4) = c->cfg->ssl.funcPtrMutualAuthCertificateVerify;
    if (c->role != NK_CLIENT || ext == NULL) {
        NK_CHECK(!id->external, ERR_SSL_NO_PRIVATE_KEY);
        return tls12 ? nk_identity_sign12(id, scheme, msg, n, sig, sig_len)
                     : nk_identity_sign(id, scheme, msg, n, sig, sig_len);
    }
    uint8_t digest[NK_MAX_HASH];
    const uint8_t *tbs = msg;
    size_t tbs_len = n;
    int h = scheme_hash(scheme);
    if (h >= 0) {
        NK_TRY(nk_digest((enum nk_hash)h, msg, n, digest));
        tbs = digest;
        tbs_len = nk_hash_len((enum nk_hash)h);
    }
    sbyte4 r = ext(c->handle, tbs, (ubyte4)tbs_len, sig, (ubyte4)*sig_len);
    NK_CHECK(r >= 0 && (size_t)r <= *sig_len, ERR_SSL_EXTERNAL_SIGNER);
    if (r > 0)
        *sig_len = (size_t)r;
    return OK;
}

/* The subjects' DER, or 0 when none go out (see client_auth.h). */
static size_t names_len(const struct nk_tls *c)
{
    const struct certStore *s = c->store;
    if (s == NULL || s->system_trust || (c->flags & NKTLS_FLAG_NO_CLIENT_CA_NAMES))
        return 0;
    size_t total = 0;
    for (int i = 0; i < sk_X509_num(s->anchors); i++) {
        const unsigned char *der;
        size_t len;
        if (X509_NAME_get0_der(X509_get_subject_name(sk_X509_value(s->anchors, i)), &der, &len) != 1
            || len == 0 || len > 0xffff)
            return 0;
        total += 2 + len;
    }
    return total <= NK_CA_NAMES_MAX ? total : 0;
}

void nk_ca_names_write(const struct nk_tls *c, struct nk_wr *w)
{
    if (names_len(c) == 0)
        return;
    for (int i = 0; i < sk_X509_num(c->store->anchors); i++) {
        const unsigned char *der;
        size_t len;
        (void)X509_NAME_get0_der(X509_get_subject_name(sk_X509_value(c->store->anchors, i)), &der, &len);
        nk_wr_u16(w, (uint16_t)len);
        nk_wr_bytes(w, der, len);
    }
}

/* RFC 8446 §4.2.4: DistinguishedName authorities<3..2^16-1>: never empty,
 * so with no names there is no extension. */
void nk_ca_names_ext(const struct nk_tls *c, struct nk_wr *w)
{
    size_t n = names_len(c);
    if (n == 0)
        return;
    nk_wr_u16(w, NK_EXT_CERTIFICATE_AUTHORITIES);
    nk_wr_u16(w, (uint16_t)(n + 2));
    nk_wr_u16(w, (uint16_t)n);
    nk_ca_names_write(c, w);
}
