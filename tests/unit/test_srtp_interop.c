/* test_srtp_interop.c — nktls's SRTP/SRTCP against the reference SRTP
 * library (Debian's libsrtp2, here built on NSS, so no code is shared), packet
 * for packet, for every profile, with and without an MKI: what nktls protects
 * the library unprotects and the reverse, RTP across a sequence wrap (the
 * ROC), CSRCs and header extensions, SRTCP with and without encryption
 * (E bit), and byte-identical SRTP output from both for the same input.
 * Without the library the program skips. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "srtp_util.h"

#ifdef NKTLS_NO_LIBSRTP2
int main(void)
{
    th_skip_all("the reference SRTP library (Debian package libsrtp2-dev) was not found at build time");
}
#else
#include <srtp2/srtp.h>

FIXTURE(interop) {
    const struct su_profile *p;
    uint8_t key[32], salt[14], keysalt[46];
    const uint8_t *mki;
    ubyte4 mki_len;
    nktlsSrtpSession *nk_tx, *nk_rx;
    srtp_t ref_tx, ref_rx, ref_tx_clear_rtcp;
};

FIXTURE_VARIANT(interop) {
    size_t which;
    ubyte4 mki_len;
};
FIXTURE_VARIANT_ADD(interop, cm80) { .which = 0 };
FIXTURE_VARIANT_ADD(interop, cm32) { .which = 1 };
FIXTURE_VARIANT_ADD(interop, gcm128) { .which = 2 };
FIXTURE_VARIANT_ADD(interop, gcm256) { .which = 3 };
FIXTURE_VARIANT_ADD(interop, cm80_mki) { .which = 0, .mki_len = 4 };
FIXTURE_VARIANT_ADD(interop, gcm256_mki) { .which = 3, .mki_len = 2 };

static uint8_t the_mki[4] = { 0x0a, 0x0b, 0x0c, 0x0d };

/* A reference session: the profile's policies, master key || salt, any SSRC. */
/* The library's status as an int: 0 (srtp_err_status_ok) or its error. */
static int ref_session(FIXTURE_DATA(interop) *self, srtp_ssrc_type_t dir, srtp_sec_serv_t rtcp_serv,
                                     srtp_t *out)
{
    srtp_policy_t pol;
    srtp_master_key_t mk = { self->keysalt, the_mki, self->mki_len }, *keys[1] = { &mk };
    srtp_err_status_t st;

    memset(&pol, 0, sizeof pol);
    if ((st = srtp_crypto_policy_set_from_profile_for_rtp(&pol.rtp, (srtp_profile_t)self->p->id))
        || (st = srtp_crypto_policy_set_from_profile_for_rtcp(&pol.rtcp, (srtp_profile_t)self->p->id)))
        return (int)st;
    pol.rtcp.sec_serv = rtcp_serv;
    pol.ssrc.type = dir;
    if (self->mki_len) {
        pol.keys = keys;
        pol.num_master_keys = 1;
    } else {
        pol.key = self->keysalt;
    }
    return (int)srtp_create(out, &pol);
}

FIXTURE_SETUP(interop)
{
    self->p = &su_profiles[variant->which];
    self->mki_len = variant->mki_len;
    su_master(0x42, self->key, self->salt);
    memcpy(self->keysalt, self->key, self->p->key_len);
    memcpy(self->keysalt + self->p->key_len, self->salt, self->p->salt_len);
    ASSERT_EQ((int)srtp_init(), 0);
    ASSERT_EQ(su_pair(self->p, 0x42, the_mki, self->mki_len, &self->nk_tx, &self->nk_rx), OK);
    ASSERT_EQ(ref_session(self, ssrc_any_outbound, sec_serv_conf_and_auth, &self->ref_tx), 0);
    ASSERT_EQ(ref_session(self, ssrc_any_inbound, sec_serv_conf_and_auth, &self->ref_rx), 0);
    /* A sender that leaves SRTCP unencrypted (E bit clear, RFC 3711 §3.4). */
    ASSERT_EQ(ref_session(self, ssrc_any_outbound, sec_serv_auth, &self->ref_tx_clear_rtcp), 0);
}

FIXTURE_TEARDOWN(interop)
{
    (void)NKTLS_srtpFree(&self->nk_tx);
    (void)NKTLS_srtpFree(&self->nk_rx);
    if (self->ref_tx)
        srtp_dealloc(self->ref_tx);
    if (self->ref_rx)
        srtp_dealloc(self->ref_rx);
    if (self->ref_tx_clear_rtcp)
        srtp_dealloc(self->ref_tx_clear_rtcp);
    srtp_shutdown();
}

static int ref_protect(FIXTURE_DATA(interop) *self, srtp_t s, uint8_t *p, int *n, int rtcp)
{
    if (rtcp)
        return (int)srtp_protect_rtcp_mki(s, p, n, self->mki_len != 0, 0);
    return (int)srtp_protect_mki(s, p, n, self->mki_len != 0, 0);
}

static int ref_unprotect(FIXTURE_DATA(interop) *self, srtp_t s, uint8_t *p, int *n, int rtcp)
{
    if (rtcp)
        return (int)srtp_unprotect_rtcp_mki(s, p, n, self->mki_len != 0);
    return (int)srtp_unprotect_mki(s, p, n, self->mki_len != 0);
}

/* The RTP packets of a run: sequence numbers from 65530 across the wrap,
 * header shapes and payload sizes varying. */
static size_t run_packet(uint8_t *p, int i, uint32_t ssrc)
{
    static const struct { int cc, ext; } shapes[] = { { 0, -1 }, { 2, -1 }, { 0, 1 }, { 1, 3 } };
    return su_rtp(p, (uint16_t)(65530 + i), ssrc, shapes[i % 4].cc, shapes[i % 4].ext, (size_t)(i * 37) % 200);
}

/* nktls protects, the library unprotects; and both protect the same packet
 * to the same bytes. */
TEST_F(interop, rtp_nktls_to_reference)
{
    uint8_t a[1500], b[1500], plain[1500];

    for (int i = 0; i < 14; i++) {
        size_t n0 = run_packet(plain, i, 0x0badcafe);
        ubyte4 n = (ubyte4)n0;
        int m = (int)n0;
        memcpy(a, plain, n0);
        memcpy(b, plain, n0);
        ASSERT_EQ(NKTLS_srtpProtect(self->nk_tx, a, &n, sizeof a), OK) TH_LOG("packet %d", i);
        ASSERT_EQ(ref_protect(self, self->ref_tx, b, &m, 0), 0);
        ASSERT_EQ((int)n, m) TH_LOG("packet %d", i);
        EXPECT_MEM_EQ(a, b, n) TH_LOG("packet %d (seq %u)", i, (uint16_t)(65530 + i));
        m = (int)n;
        ASSERT_EQ(ref_unprotect(self, self->ref_rx, a, &m, 0), 0) TH_LOG("packet %d", i);
        ASSERT_EQ((size_t)m, n0);
        EXPECT_MEM_EQ(a, plain, n0);
    }
}

/* The library protects, nktls unprotects, in order and with the packets just
 * before the wrap arriving after it. */
TEST_F(interop, rtp_reference_to_nktls)
{
    uint8_t pkts[14][1500], plain[1500];
    int len[14];
    const int order[14] = { 0, 1, 2, 3, 6, 7, 4, 8, 5, 9, 10, 13, 12, 11 };

    for (int i = 0; i < 14; i++) {
        len[i] = (int)run_packet(pkts[i], i, 0x600dd00d);
        ASSERT_EQ(ref_protect(self, self->ref_tx, pkts[i], &len[i], 0), 0);
    }
    for (int k = 0; k < 14; k++) {
        int i = order[k];
        ubyte4 n = (ubyte4)len[i];
        size_t n0 = run_packet(plain, i, 0x600dd00d);
        ASSERT_EQ(NKTLS_srtpUnprotect(self->nk_rx, pkts[i], &n), OK) TH_LOG("packet %d (seq %u)", i, (uint16_t)(65530 + i));
        ASSERT_EQ(n, n0);
        EXPECT_MEM_EQ(pkts[i], plain, n0);
    }
}

static size_t rtcp_packet(uint8_t *p, int i, uint32_t ssrc)
{
    return su_rtcp(p, ssrc, 8 + 4 * (size_t)(i * 7 % 30), (uint8_t)i);
}

TEST_F(interop, rtcp_both_ways)
{
    uint8_t a[1500], plain[1500];

    for (int i = 0; i < 10; i++) {
        size_t n0 = rtcp_packet(plain, i, 0x12345678);
        ubyte4 n = (ubyte4)n0;
        int m;
        memcpy(a, plain, n0);
        ASSERT_EQ(NKTLS_srtpProtectRtcp(self->nk_tx, a, &n, sizeof a), OK);
        m = (int)n;
        ASSERT_EQ(ref_unprotect(self, self->ref_rx, a, &m, 1), 0) TH_LOG("packet %d", i);
        ASSERT_EQ((size_t)m, n0);
        EXPECT_MEM_EQ(a, plain, n0);

        m = (int)n0;
        memcpy(a, plain, n0);
        ASSERT_EQ(ref_protect(self, self->ref_tx, a, &m, 1), 0);
        n = (ubyte4)m;
        ASSERT_EQ(NKTLS_srtpUnprotectRtcp(self->nk_rx, a, &n), OK) TH_LOG("packet %d", i);
        ASSERT_EQ(n, n0);
        EXPECT_MEM_EQ(a, plain, n0);
    }
}

/* SRTCP the library sends unencrypted (E bit clear): nktls authenticates it
 * and hands the payload back as it was sent. */
TEST_F(interop, rtcp_unencrypted_to_nktls)
{
    uint8_t a[1500], plain[1500];

    for (int i = 0; i < 5; i++) {
        size_t n0 = rtcp_packet(plain, i + 3, 0x0e0e0e0e);
        int m = (int)n0;
        memcpy(a, plain, n0);
        ASSERT_EQ(ref_protect(self, self->ref_tx_clear_rtcp, a, &m, 1), 0);
        EXPECT_MEM_EQ(a, plain, n0);   /* in the clear */
        size_t trailer_at = self->p->rtcp_tag == 16 ? n0 + 16 : n0;
        EXPECT_EQ(a[trailer_at] & 0x80, 0);
        ubyte4 n = (ubyte4)m;
        ASSERT_EQ(NKTLS_srtpUnprotectRtcp(self->nk_rx, a, &n), OK) TH_LOG("packet %d", i);
        ASSERT_EQ(n, n0);
        EXPECT_MEM_EQ(a, plain, n0);
        /* The same packet with its payload changed does not authenticate. */
        m = (int)n0;
        memcpy(a, plain, n0);
        ASSERT_EQ(ref_protect(self, self->ref_tx_clear_rtcp, a, &m, 1), 0);
        a[n0 - 1] ^= 0x40;
        n = (ubyte4)m;
        EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->nk_rx, a, &n), ERR_SRTP_AUTH_FAILED);
    }
}

/* A packet either side changed is refused by the other. */
TEST_F(interop, tampered_refused_both_ways)
{
    uint8_t a[1500];
    size_t n0 = run_packet(a, 3, 0x77);
    int m = (int)n0;

    ASSERT_EQ(ref_protect(self, self->ref_tx, a, &m, 0), 0);
    a[m - 1] ^= 1;
    ubyte4 n = (ubyte4)m;
    EXPECT_EQ(NKTLS_srtpUnprotect(self->nk_rx, a, &n), ERR_SRTP_AUTH_FAILED);
    n0 = run_packet(a, 3, 0x78);
    n = (ubyte4)n0;
    ASSERT_EQ(NKTLS_srtpProtect(self->nk_tx, a, &n, sizeof a), OK);
    a[12] ^= 1;
    m = (int)n;
    EXPECT_NE(ref_unprotect(self, self->ref_rx, a, &m, 0), 0);
}

TEST_HARNESS_MAIN
#endif
