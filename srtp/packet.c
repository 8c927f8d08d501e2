/* srtp/packet.c — protecting and unprotecting SRTP (RFC 3711 §3.3) and SRTCP
 * (§3.4) packets in place, with AES-CM + HMAC-SHA1 (RFC 3711 §4) or AES-GCM
 * (RFC 7714). Packet layouts, MKI optional:
 *   SRTP,  AES-CM:  header | payload' | MKI | tag
 *   SRTP,  GCM:     header | payload' | tag | MKI
 *   SRTCP, AES-CM:  header(8) | payload' | E+index | MKI | tag
 *   SRTCP, GCM:     header(8) | payload' | tag | E+index | MKI
 * The contexts were keyed when the session was made; nothing here allocates
 * (libcrypto's HMAC reset aside, srtp/srtp.h).
 * Stream state changes only once a packet has authenticated. */
#include "srtp/srtp.h"
#include "core/wire.h"

#define RTCP_HEADER 8          /* V/P/RC, PT, length, SSRC (RFC 3550 §6.4.1) */
#define SRTCP_TRAILER 4        /* E bit and 31-bit SRTCP index (RFC 3711 §3.4) */
#define SRTCP_E_BIT 0x80000000u
#define SRTCP_MAX_INDEX 0x7fffffffu
/* A packet in a UDP datagram, or framed with a 16-bit length over TCP
 * (RFC 4571), is never longer; anything longer is not a packet. */
#define MAX_PACKET 65535u

static void store32(uint8_t *p, uint32_t v)
{
    nk_store16(p, (uint16_t)(v >> 16));
    nk_store16(p + 2, (uint16_t)v);
}

static uint32_t load32(const uint8_t *p)
{
    return (uint32_t)nk_load16(p) << 16 | nk_load16(p + 2);
}

/* The RTP header's length, SSRC and sequence number. RFC 3550 §5.1: 12 fixed
 * bytes, then CC CSRCs of 4 bytes; §5.3.1: with X set, a 4-byte extension
 * header whose second half counts the 32-bit words after it. */
static MSTATUS rtp_header(const uint8_t *p, size_t n, size_t *hlen, uint32_t *ssrc, uint16_t *seq)
{
    struct nk_rd r;
    uint8_t b0, b1;
    uint16_t profile, words;
    uint32_t ts;
    const uint8_t *skip;

    nk_rd_init(&r, p, n);
    if (nk_rd_u8(&r, &b0) < 0 || nk_rd_u8(&r, &b1) < 0 || nk_rd_u16(&r, seq) < 0 || nk_rd_u32(&r, &ts) < 0
        || nk_rd_u32(&r, ssrc) < 0 || nk_rd_bytes(&r, 4u * (b0 & 0x0f), &skip) < 0)
        return ERR_SRTP_MALFORMED;
    NK_CHECK(b0 >> 6 == 2, ERR_SRTP_MALFORMED);
    if ((b0 & 0x10) && (nk_rd_u16(&r, &profile) < 0 || nk_rd_u16(&r, &words) < 0
                        || nk_rd_bytes(&r, 4u * words, &skip) < 0))
        return ERR_SRTP_MALFORMED;
    *hlen = n - nk_rd_left(&r);
    return OK;
}

/* The RTCP header's SSRC; the first packet of a compound packet is checked
 * for version 2 (RFC 3550 §6.4.1). */
static MSTATUS rtcp_header(const uint8_t *p, size_t n, uint32_t *ssrc)
{
    struct nk_rd r;
    uint8_t b0, pt;
    uint16_t words;

    nk_rd_init(&r, p, n);
    if (nk_rd_u8(&r, &b0) < 0 || nk_rd_u8(&r, &pt) < 0 || nk_rd_u16(&r, &words) < 0 || nk_rd_u32(&r, ssrc) < 0)
        return ERR_SRTP_MALFORMED;
    NK_CHECK(b0 >> 6 == 2, ERR_SRTP_MALFORMED);
    return OK;
}

/* HMAC-SHA1 over p[0..n) then extra (SRTP's ROC), RFC 3711 §4.2.1. */
static MSTATUS hmac_tag(EVP_MAC_CTX *h, const uint8_t *p, size_t n, const uint8_t *extra, size_t elen,
                        uint8_t out[20])
{
    size_t outl;
    if (!EVP_MAC_init(h, NULL, 0, NULL) || !EVP_MAC_update(h, p, n)
        || (elen && !EVP_MAC_update(h, extra, elen)) || !EVP_MAC_final(h, out, &outl, 20))
        return ERR_CRYPTO;
    return OK;
}

/* RFC 7714 §8.1 (SRTP): IV = (00 00 || SSRC || ROC || SEQ) XOR salt; §9.1
 * (SRTCP): IV = (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt. Both
 * are SSRC at bytes 2..5 and a 48-bit counter at bytes 6..11. */
static void gcm_iv(uint8_t iv[12], const uint8_t salt[14], uint32_t ssrc, uint64_t index)
{
    memset(iv, 0, 12);
    store32(iv + 2, ssrc);
    store32(iv + 6, (uint32_t)(index >> 16));
    nk_store16(iv + 10, (uint16_t)index);
    for (int i = 0; i < 12; i++)
        iv[i] ^= salt[i];
}

/* The stream for ssrc and the replay state a packet is checked against: the
 * stream's, or an empty one for an SSRC not seen yet. */
static MSTATUS stream_for(struct nk_srtp *s, uint32_t ssrc, struct nk_srtp_stream **st, int rtcp,
                          struct nk_srtp_replay *rp)
{
    NK_TRY(nk_srtp_stream_lookup(s, ssrc, st));
    if (*st)
        *rp = rtcp ? (*st)->rtcp : (*st)->rtp;
    else
        memset(rp, 0, sizeof *rp);
    return OK;
}

static void stream_accept(struct nk_srtp *s, struct nk_srtp_stream *st, uint32_t ssrc, int rtcp, uint64_t index)
{
    if (!st)
        st = nk_srtp_stream_add(s, ssrc);
    nk_srtp_replay_accept(rtcp ? &st->rtcp : &st->rtp, index);
}

MSTATUS nk_srtp_protect(struct nk_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
    const struct nk_srtp_profile *p = s->prof;
    size_t n = *len, hlen, tag = p->rtp_tag;
    uint32_t ssrc;
    uint16_t seq;
    uint64_t index;
    struct nk_srtp_stream *st;
    struct nk_srtp_replay r;

    NK_CHECK(s->outbound, ERR_INVALID_ARG);
    NK_CHECK(n <= MAX_PACKET, ERR_SRTP_MALFORMED);
    NK_TRY(rtp_header(pkt, n, &hlen, &ssrc, &seq));
    NK_CHECK(cap >= n && cap - n >= tag + s->mki_len, ERR_BUFFER_TOO_SMALL);
    NK_TRY(stream_for(s, ssrc, &st, 0, &r));
    NK_TRY(nk_srtp_estimate_index(&r, seq, &index));
    /* An index protected twice would reuse its keystream (RFC 3711 §9.1). */
    NK_TRY(nk_srtp_replay_check(&r, index));
    if (p->aead) {
        uint8_t iv[12];
        gcm_iv(iv, s->rtp.salt, ssrc, index);
        /* RFC 7714 §8.2: the header (CSRCs and extension included) is the AAD. */
        NK_TRY(nk_aead_seal(&s->rtp.gcm, iv, pkt, hlen, pkt + hlen, n - hlen));
        memcpy(pkt + n + tag, s->mki, s->mki_len);
    } else {
        uint8_t roc[4], mac[20];
        NK_TRY(nk_srtp_cm_crypt(s->rtp.cm, s->rtp.salt, ssrc, index, pkt + hlen, n - hlen));
        /* RFC 3711 §4.2: the tag covers the header, the encrypted payload and
         * the ROC; not the MKI (§3.1). */
        store32(roc, (uint32_t)(index >> 16));
        NK_TRY(hmac_tag(s->rtp.hmac, pkt, n, roc, 4, mac));
        memcpy(pkt + n, s->mki, s->mki_len);
        memcpy(pkt + n + s->mki_len, mac, tag);
    }
    stream_accept(s, st, ssrc, 0, index);
    *len = n + tag + s->mki_len;
    return OK;
}

/* An MKI other than the session's is a packet we cannot authenticate
 * (RFC 3711 §3.2.1: the MKI selects the master key; we hold one). */
static int mki_ok(const struct nk_srtp *s, const uint8_t *at)
{
    return nk_ct_equal(at, s->mki, s->mki_len);
}

MSTATUS nk_srtp_unprotect(struct nk_srtp *s, uint8_t *pkt, size_t *len)
{
    const struct nk_srtp_profile *p = s->prof;
    size_t n = *len, hlen, tag = p->rtp_tag, mki = s->mki_len;
    uint32_t ssrc;
    uint16_t seq;
    uint64_t index;
    struct nk_srtp_stream *st;
    struct nk_srtp_replay r;

    NK_CHECK(!s->outbound, ERR_INVALID_ARG);
    NK_CHECK(n >= tag + mki && n <= MAX_PACKET, ERR_SRTP_MALFORMED);
    size_t body = n - tag - mki;   /* header and payload */
    NK_TRY(rtp_header(pkt, body, &hlen, &ssrc, &seq));
    NK_TRY(stream_for(s, ssrc, &st, 0, &r));
    NK_TRY(nk_srtp_estimate_index(&r, seq, &index));
    /* RFC 3711 §3.3.2: the replay check comes before authentication... */
    NK_TRY(nk_srtp_replay_check(&r, index));
    if (p->aead) {
        uint8_t iv[12];
        NK_CHECK(mki_ok(s, pkt + body + tag), ERR_SRTP_AUTH_FAILED);
        gcm_iv(iv, s->rtp.salt, ssrc, index);
        if (nk_aead_open(&s->rtp.gcm, iv, pkt, hlen, pkt + hlen, body - hlen + tag) < 0) {
            /* The open decrypted in place before the tag failed: never leave
             * unauthenticated plaintext behind. */
            nk_wipe(pkt + hlen, body - hlen);
            return ERR_SRTP_AUTH_FAILED;
        }
    } else {
        uint8_t roc[4], mac[20];
        store32(roc, (uint32_t)(index >> 16));
        NK_TRY(hmac_tag(s->rtp.hmac, pkt, body, roc, 4, mac));
        /* ... and the tag is checked before decryption (§3.3, step 5). */
        int good = nk_ct_equal(mac, pkt + body + mki, tag) & mki_ok(s, pkt + body);
        nk_wipe(mac, sizeof mac);
        NK_CHECK(good, ERR_SRTP_AUTH_FAILED);
        NK_TRY(nk_srtp_cm_crypt(s->rtp.cm, s->rtp.salt, ssrc, index, pkt + hlen, body - hlen));
    }
    /* §3.3.1 step 7: ROC and s_l follow the index of an authenticated packet. */
    stream_accept(s, st, ssrc, 0, index);
    *len = body;
    return OK;
}

MSTATUS nk_srtcp_protect(struct nk_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
    const struct nk_srtp_profile *p = s->prof;
    size_t n = *len, tag = p->rtcp_tag, mki = s->mki_len;
    uint32_t ssrc;
    struct nk_srtp_stream *st;
    struct nk_srtp_replay r;

    NK_CHECK(s->outbound, ERR_INVALID_ARG);
    NK_CHECK(n <= MAX_PACKET, ERR_SRTP_MALFORMED);
    NK_TRY(rtcp_header(pkt, n, &ssrc));
    NK_CHECK(cap >= n && cap - n >= SRTCP_TRAILER + tag + mki, ERR_BUFFER_TOO_SMALL);
    NK_TRY(stream_for(s, ssrc, &st, 1, &r));
    /* RFC 3711 §3.4: the SRTCP index starts at 0 and counts packets; §9.2:
     * after 2^31 packets the master key must change. */
    uint64_t index = r.seen ? r.top + 1 : 0;
    NK_CHECK(index <= SRTCP_MAX_INDEX, ERR_SRTP_INDEX_EXHAUSTED);
    uint32_t trailer = SRTCP_E_BIT | (uint32_t)index;
    if (p->aead) {
        uint8_t iv[12], aad[RTCP_HEADER + SRTCP_TRAILER];
        gcm_iv(iv, s->rtcp.salt, ssrc, index);
        /* RFC 7714 §9.2 (§17): encrypted SRTCP's AAD is the 8-byte header and
         * the E bit with the index; the trailer follows the tag. */
        memcpy(aad, pkt, RTCP_HEADER);
        store32(aad + RTCP_HEADER, trailer);
        NK_TRY(nk_aead_seal(&s->rtcp.gcm, iv, aad, sizeof aad, pkt + RTCP_HEADER, n - RTCP_HEADER));
        store32(pkt + n + tag, trailer);
        memcpy(pkt + n + tag + SRTCP_TRAILER, s->mki, mki);
    } else {
        uint8_t mac[20];
        NK_TRY(nk_srtp_cm_crypt(s->rtcp.cm, s->rtcp.salt, ssrc, index, pkt + RTCP_HEADER, n - RTCP_HEADER));
        store32(pkt + n, trailer);
        /* RFC 3711 §3.4: the tag covers everything up to the index, not the MKI. */
        NK_TRY(hmac_tag(s->rtcp.hmac, pkt, n + SRTCP_TRAILER, NULL, 0, mac));
        memcpy(pkt + n + SRTCP_TRAILER, s->mki, mki);
        memcpy(pkt + n + SRTCP_TRAILER + mki, mac, tag);
    }
    stream_accept(s, st, ssrc, 1, index);
    *len = n + SRTCP_TRAILER + tag + mki;
    return OK;
}

/* GCM SRTCP open, E bit set or not (RFC 7714 §9.2, §9.3). body is the header
 * and payload; the tag and the trailer follow it. */
static MSTATUS srtcp_gcm_open(struct nk_srtp *s, uint8_t *pkt, size_t body, uint32_t ssrc, uint32_t trailer)
{
    uint8_t iv[12], aad[RTCP_HEADER + SRTCP_TRAILER], tag[16];
    const size_t tlen = sizeof tag;

    gcm_iv(iv, s->rtcp.salt, ssrc, trailer & SRTCP_MAX_INDEX);
    if (trailer & SRTCP_E_BIT) {
        memcpy(aad, pkt, RTCP_HEADER);
        store32(aad + RTCP_HEADER, trailer);
        if (nk_aead_open(&s->rtcp.gcm, iv, aad, sizeof aad, pkt + RTCP_HEADER, body - RTCP_HEADER + tlen) < 0) {
            nk_wipe(pkt + RTCP_HEADER, body - RTCP_HEADER);
            return ERR_SRTP_AUTH_FAILED;
        }
        return OK;
    }
    /* Unencrypted: the whole packet and then the trailer are the AAD, the tag
     * authenticates no ciphertext. Moving the trailer over the tag makes the
     * AAD one run of bytes. */
    memcpy(tag, pkt + body, tlen);
    store32(pkt + body, trailer);
    MSTATUS st = nk_aead_open(&s->rtcp.gcm, iv, pkt, body + SRTCP_TRAILER, tag, tlen);
    return st < 0 ? ERR_SRTP_AUTH_FAILED : OK;
}

MSTATUS nk_srtcp_unprotect(struct nk_srtp *s, uint8_t *pkt, size_t *len)
{
    const struct nk_srtp_profile *p = s->prof;
    size_t n = *len, tag = p->rtcp_tag, mki = s->mki_len;
    uint32_t ssrc, trailer;
    struct nk_srtp_stream *st;
    struct nk_srtp_replay r;

    NK_CHECK(!s->outbound, ERR_INVALID_ARG);
    NK_CHECK(n >= RTCP_HEADER + SRTCP_TRAILER + tag + mki && n <= MAX_PACKET, ERR_SRTP_MALFORMED);
    size_t body = n - SRTCP_TRAILER - tag - mki;
    NK_TRY(rtcp_header(pkt, body, &ssrc));
    /* AES-CM: the trailer, MKI and tag follow the payload; GCM: the tag comes first. */
    size_t trailer_at = p->aead ? body + tag : body, mki_at = trailer_at + SRTCP_TRAILER;
    trailer = load32(pkt + trailer_at);
    uint64_t index = trailer & SRTCP_MAX_INDEX;
    NK_TRY(stream_for(s, ssrc, &st, 1, &r));
    NK_TRY(nk_srtp_replay_check(&r, index));
    NK_CHECK(mki_ok(s, pkt + mki_at), ERR_SRTP_AUTH_FAILED);
    if (p->aead) {
        NK_TRY(srtcp_gcm_open(s, pkt, body, ssrc, trailer));
    } else {
        uint8_t mac[20];
        NK_TRY(hmac_tag(s->rtcp.hmac, pkt, body + SRTCP_TRAILER, NULL, 0, mac));
        int good = nk_ct_equal(mac, pkt + mki_at + mki, tag);
        nk_wipe(mac, sizeof mac);
        NK_CHECK(good, ERR_SRTP_AUTH_FAILED);
        /* E clear: the sender left the payload unencrypted (§3.4). */
        if (trailer & SRTCP_E_BIT)
            NK_TRY(nk_srtp_cm_crypt(s->rtcp.cm, s->rtcp.salt, ssrc, index, pkt + RTCP_HEADER,
                                    body - RTCP_HEADER));
    }
    stream_accept(s, st, ssrc, 1, index);
    *len = body;
    return OK;
}
