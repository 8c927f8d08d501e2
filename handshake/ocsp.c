/* handshake/ocsp.c — OCSP stapling (RFC 6066 §8, RFC 8446 §4.4.2.1). The
 * server keeps the response it was given per identity (the one whose leaf it
 * covers), replaceable while handshakes on other threads staple it; the client
 * checks a stapled response with libcrypto's OCSP code (RFC 6960): signed by
 * the issuer or a responder it delegated to, for this leaf, fresh, good. */
#include <pthread.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include "handshake/hs.h"
#include "handshake/ocsp.h"
#include "handshake/store.h"

/* A response as stapled: shared by the identity and the handshakes copying it. */
struct nk_ocsp {
    size_t len;
    uint8_t der[];
};

/* Guards every identity's response pointer: a replacement frees the old one,
 * so readers copy its bytes under the lock (a few KiB once per handshake). */
static pthread_mutex_t ocsp_lock = PTHREAD_MUTEX_INITIALIZER;

/* RFC 6960 §4.2.2.1: responses without nextUpdate are fresh for this long
 * after thisUpdate (ours: a week); both times get this much clock skew. */
#define OCSP_NO_NEXT_UPDATE_AGE (7 * 24 * 3600)
#define OCSP_SKEW 300

static OCSP_BASICRESP *basic_of(const uint8_t *der, size_t len, OCSP_RESPONSE **resp)
{
    const unsigned char *p = der;
    *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    if (!*resp || p != der + len || OCSP_response_status(*resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
        return NULL;
    return OCSP_response_get1_basic(*resp);
}

/* Does single response s name this leaf? Its serial and issuer name hash
 * (hashed as the response did); the key hash needs the issuer's certificate,
 * which the server may not have: the client checks that. */
static int names_leaf(OCSP_SINGLERESP *s, X509 *leaf)
{
    ASN1_OCTET_STRING *name_hash = NULL;
    ASN1_OBJECT *alg = NULL;
    ASN1_INTEGER *serial = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const OCSP_CERTID *id = OCSP_SINGLERESP_get0_id(s);
    if (!OCSP_id_get0_info(&name_hash, &alg, NULL, &serial, (OCSP_CERTID *)id))
        return 0;
    const EVP_MD *h = EVP_get_digestbyobj(alg);
    return h && ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(leaf)) == 0
           && X509_NAME_digest(X509_get_issuer_name(leaf), h, md, &mdlen)
           && (int)mdlen == ASN1_STRING_length(name_hash)
           && memcmp(md, ASN1_STRING_get0_data(name_hash), mdlen) == 0;
}

static int covers(OCSP_BASICRESP *bs, X509 *leaf)
{
    for (int i = 0; i < OCSP_resp_count(bs); i++)
        if (names_leaf(OCSP_resp_get0(bs, i), leaf))
            return 1;
    return 0;
}

MSTATUS nk_ocsp_set(struct certStore *s, const uint8_t *der, size_t len)
{
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = basic_of(der, len, &resp);
    MSTATUS st = bs ? ERR_INVALID_ARG : ERR_CERT_DECODE;
    for (size_t i = 0; bs && i < s->n_ids; i++) {
        struct nk_identity *id = s->ids[i];
        if (!covers(bs, id->leaf))
            continue;
        struct nk_ocsp *o = malloc(sizeof *o + len);
        if (!o) {
            st = ERR_MEM_ALLOC_FAIL;
            break;
        }
        o->len = len;
        memcpy(o->der, der, len);
        pthread_mutex_lock(&ocsp_lock);
        struct nk_ocsp *old = id->ocsp;
        id->ocsp = o;
        pthread_mutex_unlock(&ocsp_lock);
        free(old);
        st = OK;
    }
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return st;
}

void nk_ocsp_release(struct nk_identity *id)
{
    free(id->ocsp);
    id->ocsp = NULL;
}

/* RFC 6066 §8: CertificateStatus { status_type ocsp(1), OCSPResponse<1..2^24-1> } */
static void write_body(const struct nk_ocsp *o, struct nk_wr *w)
{
    nk_wr_u8(w, NK_OCSP_STATUS_TYPE);
    nk_wr_u24(w, (uint32_t)o->len);
    nk_wr_bytes(w, o->der, o->len);
}

int nk_ocsp_write_status(const struct nk_identity *id, struct nk_wr *w)
{
    int wrote = 0;
    pthread_mutex_lock(&ocsp_lock);
    const struct nk_ocsp *o = id->ocsp;
    if (o) {
        nk_wr_u16(w, NK_EXT_STATUS_REQUEST);
        nk_wr_u16(w, (uint16_t)(1 + 3 + o->len));
        write_body(o, w);
        wrote = 1;
    }
    pthread_mutex_unlock(&ocsp_lock);
    return wrote;
}

int nk_ocsp_write_cert_status(const struct nk_identity *id, struct nk_wr *w)
{
    pthread_mutex_lock(&ocsp_lock);
    const struct nk_ocsp *o = id->ocsp;
    if (o)
        write_body(o, w);
    pthread_mutex_unlock(&ocsp_lock);
    return o != NULL;
}

int nk_ocsp_has(const struct nk_identity *id)
{
    pthread_mutex_lock(&ocsp_lock);
    int has = id->ocsp != NULL;
    pthread_mutex_unlock(&ocsp_lock);
    return has;
}

MSTATUS nk_ocsp_read_request(const struct nk_ext *x, uint8_t *asked)
{
    /* RFC 6066 §8: status_type, then for ocsp(1) responder_id_list and
     * request_extensions; we staple what we have, whoever they name. Another
     * status_type we do not know is ignored. */
    uint8_t type;
    struct nk_rd r = x->data, ids, exts;
    NK_TRY(nk_rd_u8(&r, &type));
    if (type != NK_OCSP_STATUS_TYPE)
        return OK;
    NK_TRY(nk_rd_vec16(&r, &ids, 0, 0xffff));
    NK_TRY(nk_rd_vec16(&r, &exts, 0, 0xffff));
    NK_TRY(nk_rd_done(&r));
    *asked = 1;
    return OK;
}

/* The leaf's issuer: the next certificate the peer sent, or a trust point. */
static X509 *issuer_of(X509 *leaf, STACK_OF(X509) *sent, const struct certStore *store)
{
    for (int i = 0; i < sk_X509_num(sent); i++)
        if (X509_check_issued(sk_X509_value(sent, i), leaf) == X509_V_OK)
            return sk_X509_value(sent, i);
    for (int i = 0; i < sk_X509_num(store->anchors); i++)
        if (X509_check_issued(sk_X509_value(store->anchors, i), leaf) == X509_V_OK)
            return sk_X509_value(store->anchors, i);
    return NULL;
}

static int fresh(ASN1_GENERALIZEDTIME *this_upd, ASN1_GENERALIZEDTIME *next_upd, time_t now)
{
    if (!this_upd || ASN1_TIME_cmp_time_t(this_upd, now + OCSP_SKEW) > 0)
        return 0;   /* from the future */
    if (next_upd)
        return ASN1_TIME_cmp_time_t(next_upd, now - OCSP_SKEW) >= 0;
    return ASN1_TIME_cmp_time_t(this_upd, now - OCSP_NO_NEXT_UPDATE_AGE) >= 0;
}

static MSTATUS check_basic(OCSP_BASICRESP *bs, X509 *leaf, STACK_OF(X509) *sent,
                           const struct certStore *store, time_t now)
{
    int status = -1, reason = 0;
    ASN1_GENERALIZEDTIME *rev = NULL, *this_upd = NULL, *next_upd = NULL;
    X509 *issuer = issuer_of(leaf, sent, store);
    NK_CHECK(issuer, ERR_CERT_STATUS);
    /* RFC 6960 §3.2: signed by the issuer, or by a responder holding
     * id-kp-OCSPSigning that the issuer certified; libcrypto checks both and
     * the responder's chain to our trust points. */
    NK_CHECK(OCSP_basic_verify(bs, sent, store->trust, 0) == 1, ERR_CERT_STATUS);
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);
    NK_CHECK(id, ERR_MEM_ALLOC_FAIL);
    int found = OCSP_resp_find_status(bs, id, &status, &reason, &rev, &this_upd, &next_upd);
    OCSP_CERTID_free(id);
    NK_CHECK(found == 1, ERR_CERT_STATUS);
    NK_CHECK(fresh(this_upd, next_upd, now), ERR_CERT_STATUS);
    NK_CHECK(status != V_OCSP_CERTSTATUS_REVOKED, ERR_CERT_REVOKED);
    return status == V_OCSP_CERTSTATUS_GOOD ? OK : ERR_CERT_STATUS;
}

MSTATUS nk_ocsp_check(const uint8_t *resp_der, size_t resp_len, const struct nk_der *chain,
                      size_t chain_len, const struct certStore *store, time_t now)
{
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = basic_of(resp_der, resp_len, &resp);
    STACK_OF(X509) *sent = sk_X509_new_null();
    X509 *leaf = chain_len ? nk_x509_from_der(chain[0].p, chain[0].len) : NULL;
    MSTATUS st = bs && leaf ? OK : ERR_CERT_STATUS;
    for (size_t i = 1; st == OK && i < chain_len; i++) {
        X509 *x = nk_x509_from_der(chain[i].p, chain[i].len);
        if (!x || !sk_X509_push(sent, x)) {
            X509_free(x);
            st = ERR_CERT_DECODE;
        }
    }
    if (st == OK)
        st = sent ? check_basic(bs, leaf, sent, store, now) : ERR_MEM_ALLOC_FAIL;
    sk_X509_pop_free(sent, X509_free);
    X509_free(leaf);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return st;
}

int nk_ocsp_must_staple(const uint8_t *leaf_der, size_t len)
{
    /* RFC 7633 §4.2.3: a TLS Feature extension listing status_request(5). */
    X509 *leaf = nk_x509_from_der(leaf_der, len);
    int must = 0;
    if (!leaf)
        return 0;
    int loc = X509_get_ext_by_NID(leaf, NID_tlsfeature, -1);
    X509_EXTENSION *ext = loc >= 0 ? X509_get_ext(leaf, loc) : NULL;
    TLS_FEATURE *f = ext ? X509V3_EXT_d2i(ext) : NULL;
    for (int i = 0; f && i < sk_ASN1_INTEGER_num(f); i++)
        must |= ASN1_INTEGER_get(sk_ASN1_INTEGER_value(f, i)) == NK_EXT_STATUS_REQUEST;
    sk_ASN1_INTEGER_pop_free(f, ASN1_INTEGER_free);
    X509_free(leaf);
    return must;
}
