/* handshake/dtls12_srtp.c — DTLS-SRTP (RFC 5764): the use_srtp extension
 * (§4.1.1) with its profile choice and MKI (§4.1.2), and the SRTP keying
 * material from the exporter (§4.2). The packets themselves are srtp/'s. */
#include "handshake/dtls12.h"
#include "handshake/tls12.h"
#include "srtp/srtp.h"

int nk_dtls_srtp_known(uint16_t profile)
{
    return nk_srtp_profile(profile) != NULL;
}

/* §4.1.1: UseSRTPData { SRTPProtectionProfiles profiles<2..2^16-1>;
 * opaque srtp_mki<0..255>; }. */
static void write_ext(struct nk_wr *w, const uint16_t *profiles, size_t n, const uint8_t *mki, size_t mki_len)
{
    nk_wr_u16(w, NK_EXT_USE_SRTP);
    size_t pos = nk_wr_open(w, 2);
    size_t list = nk_wr_open(w, 2);
    for (size_t i = 0; i < n; i++)
        nk_wr_u16(w, profiles[i]);
    nk_wr_close(w, list, 2);
    size_t m = nk_wr_open(w, 1);
    if (mki_len)
        nk_wr_bytes(w, mki, mki_len);
    nk_wr_close(w, m, 1);
    nk_wr_close(w, pos, 2);
}

static MSTATUS read_ext(const struct nk_ext *x, struct nk_rd *profiles, struct nk_rd *mki)
{
    struct nk_rd r = x->data;
    NK_TRY(nk_rd_vec16(&r, profiles, 2, 0xfffe));
    NK_CHECK(nk_rd_left(profiles) % 2 == 0, ERR_SSL_PROTOCOL);
    NK_TRY(nk_rd_vec8(&r, mki, 0, 255));
    return nk_rd_done(&r);
}

void nk_dtls_srtp_write_client(const struct nk_tls *c, struct nk_wr *w)
{
    const struct nk_dtls *d = nk_dtls_of(c);
    if (d && d->use_srtp && d->n_srtp)
        write_ext(w, d->srtp_offer, d->n_srtp, d->mki, d->mki_len);
}

/* §4.1.1: the server chooses one profile the client offered; our order
 * decides. An MKI the client sent is used ("include a matching srtp_mki
 * value ... to indicate that it will make use of the MKI"). */
MSTATUS nk_dtls_srtp_on_client_hello(struct nk_tls *c, const struct nk_ext *exts, size_t n)
{
    struct nk_dtls *d = c->dtls;
    const struct nk_ext *x = nk_ext_find(exts, n, NK_EXT_USE_SRTP);
    struct nk_rd profiles, mki;
    d->srtp_profile = 0;
    if (!x)
        return OK;
    NK_TRY(read_ext(x, &profiles, &mki));
    if (!d->use_srtp)
        return OK;
    for (size_t i = 0; i < d->n_srtp && !d->srtp_profile; i++)
        if (nk_rd_has_u16(profiles, d->srtp_offer[i]))
            d->srtp_profile = d->srtp_offer[i];
    /* §4.1.2: no profile in common: the server does not answer with
     * use_srtp, and the client then decides whether to go on. */
    if (!d->srtp_profile)
        return OK;
    d->mki_len = (uint8_t)nk_rd_left(&mki);
    return nk_rd_copy(&mki, d->mki, d->mki_len);
}

void nk_dtls_srtp_write_server(const struct nk_tls *c, struct nk_wr *w)
{
    const struct nk_dtls *d = nk_dtls_of(c);
    if (d && d->srtp_profile)
        write_ext(w, &d->srtp_profile, 1, d->mki, d->mki_len);
}

/* §4.1.2: "The server's response MUST contain exactly one profile"; a
 * profile the client did not offer, or an MKI other than the client's,
 * is illegal_parameter ("If the client detects a nonzero-length MKI in
 * the server's response that is different than the one the client
 * offered, then the client MUST abort the handshake"). */
MSTATUS nk_dtls_srtp_on_server_hello(struct nk_tls *c, const struct nk_ext *x)
{
    struct nk_dtls *d = c->dtls;
    struct nk_rd profiles, mki;
    uint16_t p;
    NK_CHECK(d->use_srtp && d->n_srtp, ERR_SSL_UNSUPPORTED_EXTENSION);
    NK_TRY(read_ext(x, &profiles, &mki));
    NK_TRY(nk_rd_u16(&profiles, &p));
    NK_CHECK(nk_rd_left(&profiles) == 0, ERR_SSL_ILLEGAL_PARAMETER);
    int offered = 0;
    for (size_t i = 0; i < d->n_srtp; i++)
        offered |= d->srtp_offer[i] == p;
    NK_CHECK(offered, ERR_SSL_ILLEGAL_PARAMETER);
    size_t m = nk_rd_left(&mki);
    NK_CHECK(m == 0 || (m == d->mki_len && memcmp(mki.p, d->mki, m) == 0), ERR_SSL_ILLEGAL_PARAMETER);
    d->mki_len = (uint8_t)m;
    d->srtp_profile = p;
    return OK;
}

void nk_dtls_srtp_sizes(uint16_t profile, uint8_t *key_len, uint8_t *salt_len)
{
    const struct nk_srtp_profile *p = nk_srtp_profile(profile);
    *key_len = p ? p->key_len : 0;
    *salt_len = p ? p->salt_len : 0;
}

MSTATUS nk_dtls_srtp_keys(const struct nk_tls *c, uint8_t out[NK_DTLS_SRTP_KM], size_t *n)
{
    const struct nk_dtls *d = nk_dtls_of(c);
    *n = 0;
    NK_CHECK(d && d->srtp_profile && c->status == SSL_CONNECTION_OPEN, ERR_SSL_BAD_STATE);
    const struct nk_srtp_profile *p = nk_srtp_profile(d->srtp_profile);
    NK_CHECK(p, ERR_SSL_INTERNAL);
    size_t len = 2u * (p->key_len + p->salt_len);
    NK_CHECK(len <= NK_DTLS_SRTP_KM, ERR_SSL_INTERNAL);
    static const char label[] = NK_DTLS_SRTP_LABEL;
    /* §4.2: "the context value is empty" — no context at all (RFC 5705). */
    NK_TRY(nk_tls12_conn_export(c, (const uint8_t *)label, sizeof label - 1, NULL, 0, out, len));
    *n = len;
    return OK;
}
