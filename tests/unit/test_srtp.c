/* test_srtp.c — SRTP/SRTCP packet protection (srtp/, api/srtp.c): the RFC
 * 3711 Appendix B.2 keystream and B.3 key derivation vectors, index
 * estimation, the profile table and DTLS-SRTP key splitting, then per
 * profile: round trips with CSRCs, header extensions and an MKI, the
 * rollover counter across a sequence wrap, replays, every byte tampered,
 * every truncation, the buffer too small, the SSRC limit. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "core/nk.h"
#include "srtp/srtp.h"
#include "srtp_util.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* RFC 3711 Appendix B.2: AES-CM keystream, session key and salt given,
 * ROC = SEQ = SSRC = 0; the blocks at both ends of a 65282-block segment. */
TEST(rfc3711_b2_keystream)
{
    static const struct { unsigned block; const char *ks; } want[] = {
        { 0x0000, "E03EAD0935C95E80E166B16DD92B4EB4" },
        { 0x0001, "D23513162B02D0F72A43A2FE4A5F97AB" },
        { 0x0002, "41E95B3BB0A2E8DD477901E4FCA894C0" },
        { 0xFEFF, "EC8CDF7398607CB0F2D21675EA9EA1E4" },
        { 0xFF00, "362B7C3C6773516318A077D7FC5073AE" },
        { 0xFF01, "6A2CC3787889374FBEB4C81B17BA6C44" },
    };
    uint8_t key[16], salt[14], block[16];
    const size_t len = 1044512;
    uint8_t *ks = calloc(1, len);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

    ASSERT_NOT_NULL(ks);
    ASSERT_NOT_NULL(c);
    unhex("2B7E151628AED2A6ABF7158809CF4F3C", key);
    unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt);
    ASSERT_TRUE(EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, NULL));
    ASSERT_EQ(nk_srtp_cm_crypt(c, salt, 0, 0, ks, len), OK);
    for (size_t i = 0; i < NK_ARRAY_LEN(want); i++) {
        unhex(want[i].ks, block);
        EXPECT_MEM_EQ(ks + 16 * (size_t)want[i].block, block, 16) TH_LOG("block %04x", want[i].block);
    }
    EXPECT_EQ(len, 65282u * 16);
    /* The segment at once and in two calls give the same bytes: the counter
     * restarts from the IV with each call. */
    memset(ks, 0, 32);
    ASSERT_EQ(nk_srtp_cm_crypt(c, salt, 0, 0, ks, 32), OK);
    unhex(want[1].ks, block);
    EXPECT_MEM_EQ(ks + 16, block, 16);
    EVP_CIPHER_CTX_free(c);
    free(ks);
}

/* RFC 3711 Appendix B.3: the cipher key (label 0), cipher salt (label 2)
 * and the 94-byte auth key (label 1) from the master key and salt. */
TEST(rfc3711_b3_key_derivation)
{
    uint8_t mkey[16], msalt[14], out[94], want[94];

    unhex("E1F97A0D3E018BE0D64FA32C06DE4139", mkey);
    unhex("0EC675AD498AFEEBB6960B3AABE6", msalt);
    ASSERT_EQ(nk_srtp_kdf(mkey, 16, msalt, 14, 0x00, out, 16), OK);
    unhex("C61E7A93744F39EE10734AFE3FF7A087", want);
    EXPECT_MEM_EQ(out, want, 16);
    ASSERT_EQ(nk_srtp_kdf(mkey, 16, msalt, 14, 0x02, out, 14), OK);
    unhex("30CBBC08863D8C85D49DB34A9AE1", want);
    EXPECT_MEM_EQ(out, want, 14);
    ASSERT_EQ(nk_srtp_kdf(mkey, 16, msalt, 14, 0x01, out, 94), OK);
    EXPECT_EQ(unhex("CEBE321F6FF7716B6FD4AB49AF256A15" "6D38BAA48F0A0ACF3C34E2359E6CDBCE"
                    "E049646C43D9327AD175578EF7227098" "6371C10C9A369AC2F94A8C5FBCDDDC25"
                    "6D6E919A48B610EF17C2041E47403576" "6B68642C59BBFC2F34DB60DBDFB2", want), 94u);
    EXPECT_MEM_EQ(out, want, 94);
}

/* RFC 3711 §3.3.1 / Appendix A: the index of SEQ near s_l, across the wrap
 * both ways, and the ends of the index space. */
TEST(index_estimation)
{
    struct nk_srtp_replay r = { .seen = 1 };
    uint64_t i;

    ASSERT_EQ(nk_srtp_estimate_index(&(struct nk_srtp_replay){ 0 }, 4321, &i), OK);
    EXPECT_EQ(i, 4321u);                                /* first packet: ROC 0, s_l = SEQ */
    r.top = (uint64_t)5 << 16 | 65535;                  /* ROC 5, s_l 65535 */
    ASSERT_EQ(nk_srtp_estimate_index(&r, 0, &i), OK);
    EXPECT_EQ(i, (uint64_t)6 << 16);                     /* wrapped: ROC + 1 */
    ASSERT_EQ(nk_srtp_estimate_index(&r, 32767, &i), OK);
    EXPECT_EQ(i, (uint64_t)5 << 16 | 32767);             /* s_l - 32768 = 32767: not > SEQ */
    ASSERT_EQ(nk_srtp_estimate_index(&r, 32766, &i), OK);
    EXPECT_EQ(i, (uint64_t)6 << 16 | 32766);
    r.top = (uint64_t)5 << 16 | 2;                      /* ROC 5, s_l 2 */
    ASSERT_EQ(nk_srtp_estimate_index(&r, 65535, &i), OK);
    EXPECT_EQ(i, (uint64_t)4 << 16 | 65535);             /* late, from before the wrap: ROC - 1 */
    ASSERT_EQ(nk_srtp_estimate_index(&r, 32770, &i), OK);
    EXPECT_EQ(i, (uint64_t)5 << 16 | 32770);             /* SEQ - s_l = 32768: not > 32768 */
    r.top = 2;                                          /* ROC 0: nothing before it */
    EXPECT_EQ(nk_srtp_estimate_index(&r, 65535, &i), ERR_SRTP_REPLAY);
    r.top = (uint64_t)0xffffffff << 16 | 65535;         /* the last index of all */
    EXPECT_EQ(nk_srtp_estimate_index(&r, 0, &i), ERR_SRTP_INDEX_EXHAUSTED);
}

/* RFC 3711 §3.3.2: a window of 64 behind the highest index. */
TEST(replay_window)
{
    struct nk_srtp_replay r = { 0 };

    EXPECT_EQ(nk_srtp_replay_check(&r, 1000), OK);
    nk_srtp_replay_accept(&r, 1000);
    EXPECT_EQ(nk_srtp_replay_check(&r, 1000), ERR_SRTP_REPLAY);
    EXPECT_EQ(nk_srtp_replay_check(&r, 1000 - 63), OK);
    EXPECT_EQ(nk_srtp_replay_check(&r, 1000 - 64), ERR_SRTP_REPLAY);
    nk_srtp_replay_accept(&r, 990);
    EXPECT_EQ(nk_srtp_replay_check(&r, 990), ERR_SRTP_REPLAY);
    nk_srtp_replay_accept(&r, 1010);                    /* slides by 20 */
    EXPECT_EQ(nk_srtp_replay_check(&r, 990), ERR_SRTP_REPLAY);
    EXPECT_EQ(nk_srtp_replay_check(&r, 1000), ERR_SRTP_REPLAY);
    EXPECT_EQ(nk_srtp_replay_check(&r, 1001), OK);
    EXPECT_EQ(nk_srtp_replay_check(&r, 1010 - 64), ERR_SRTP_REPLAY);
    nk_srtp_replay_accept(&r, 1010 + 200);              /* past the whole window */
    EXPECT_EQ(r.window, 1u);
    EXPECT_EQ(nk_srtp_replay_check(&r, 1210 - 63), OK);
}

TEST(profile_info)
{
    nktlsSrtpProfileInfo info;

    for (size_t i = 0; i < SU_NPROFILES; i++) {
        const struct su_profile *p = &su_profiles[i];
        ASSERT_EQ(NKTLS_srtpGetProfileInfo(p->id, &info), OK);
        EXPECT_EQ(info.profile, p->id);
        EXPECT_EQ(info.keyLen, p->key_len) TH_LOG("%s", p->name);
        EXPECT_EQ(info.saltLen, p->salt_len) TH_LOG("%s", p->name);
        EXPECT_EQ(info.rtpTagLen, p->rtp_tag) TH_LOG("%s", p->name);
        EXPECT_EQ(info.rtcpTagLen, p->rtcp_tag) TH_LOG("%s", p->name);
        EXPECT_EQ(info.keyingMaterialLen, 2 * (p->key_len + p->salt_len)) TH_LOG("%s", p->name);
    }
    /* RFC 5764 §4.1.2: 60 bytes for the AES-CM profiles; RFC 7714: 56 and 88. */
    ASSERT_EQ(NKTLS_srtpGetProfileInfo(NKTLS_SRTP_AES128_CM_HMAC_SHA1_32, &info), OK);
    EXPECT_EQ(info.keyingMaterialLen, 60u);
    ASSERT_EQ(NKTLS_srtpGetProfileInfo(NKTLS_SRTP_AEAD_AES_256_GCM, &info), OK);
    EXPECT_EQ(info.keyingMaterialLen, 88u);
    EXPECT_EQ(NKTLS_srtpGetProfileInfo(0x0005, &info), ERR_NOT_SUPPORTED);   /* NULL cipher */
    EXPECT_EQ(NKTLS_srtpGetProfileInfo(0x0000, &info), ERR_NOT_SUPPORTED);
    EXPECT_EQ(NKTLS_srtpGetProfileInfo(0x0001, NULL), ERR_NULL_POINTER);
}

/* RFC 5764 §4.2: client key | server key | client salt | server salt. */
TEST(split_keying_material)
{
    uint8_t m[88];
    nktlsSrtpMasterKey cout, cin, sout, sin;

    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)i;
    for (size_t i = 0; i < SU_NPROFILES; i++) {
        const struct su_profile *p = &su_profiles[i];
        ubyte4 k = p->key_len, s = p->salt_len, n = 2 * (k + s);
        ASSERT_EQ(NKTLS_srtpSplitKeyingMaterial(p->id, m, n, TRUE, &cout, &cin), OK);
        ASSERT_EQ(NKTLS_srtpSplitKeyingMaterial(p->id, m, n, FALSE, &sout, &sin), OK);
        EXPECT_EQ(cout.keyLen, k);
        EXPECT_EQ(cout.saltLen, s);
        EXPECT_EQ(sin.keyLen, k);
        EXPECT_MEM_EQ(cout.key, m, k) TH_LOG("%s", p->name);
        EXPECT_MEM_EQ(cin.key, m + k, k);
        EXPECT_MEM_EQ(cout.salt, m + 2 * k, s);
        EXPECT_MEM_EQ(cin.salt, m + 2 * k + s, s);
        /* The server protects with what the client unprotects with. */
        EXPECT_MEM_EQ(&sout, &cin, sizeof sout);
        EXPECT_MEM_EQ(&sin, &cout, sizeof sin);
        EXPECT_EQ(NKTLS_srtpSplitKeyingMaterial(p->id, m, n - 1, TRUE, &cout, &cin), ERR_INVALID_ARG);
        EXPECT_EQ(NKTLS_srtpSplitKeyingMaterial(p->id, m, n + 1, TRUE, &cout, &cin), ERR_INVALID_ARG);
    }
    EXPECT_EQ(NKTLS_srtpSplitKeyingMaterial(0x0006, m, 60, TRUE, &cout, &cin), ERR_NOT_SUPPORTED);
}

TEST(create_refuses_bad_arguments)
{
    uint8_t key[32] = { 1 }, salt[14] = { 2 }, mki[129] = { 3 };
    nktlsSrtpSession *s = (nktlsSrtpSession *)1;

    EXPECT_EQ(NKTLS_srtpCreate(0x0005, 0, key, 16, salt, 14, NULL, 0, &s), ERR_NOT_SUPPORTED);
    EXPECT_NULL(s);
    EXPECT_EQ(NKTLS_srtpCreate(0x0001, 0, key, 32, salt, 14, NULL, 0, &s), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpCreate(0x0001, 0, key, 16, salt, 12, NULL, 0, &s), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpCreate(0x0007, 0, key, 16, salt, 14, NULL, 0, &s), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpCreate(0x0008, 0, key, 16, salt, 12, NULL, 0, &s), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpCreate(0x0001, 2, key, 16, salt, 14, NULL, 0, &s), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpCreate(0x0001, 0, key, 16, salt, 14, mki, 129, &s), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpCreate(0x0001, 0, key, 16, salt, 14, NULL, 4, &s), ERR_NULL_POINTER);
    EXPECT_EQ(NKTLS_srtpCreate(0x0001, 0, NULL, 16, salt, 14, NULL, 0, &s), ERR_NULL_POINTER);
    ASSERT_EQ(NKTLS_srtpCreate(0x0001, 0, key, 16, salt, 14, mki, 128, &s), OK);
    EXPECT_EQ(NKTLS_srtpFree(&s), OK);
    EXPECT_NULL(s);
    EXPECT_EQ(NKTLS_srtpFree(&s), OK);
    EXPECT_EQ(NKTLS_srtpFree(NULL), OK);
}

FIXTURE(prof) {
    const struct su_profile *p;
    nktlsSrtpSession *tx, *rx;
    ubyte4 mki_len;
    uint8_t pkt[2048], orig[2048];
};

FIXTURE_VARIANT(prof) {
    size_t which;
    ubyte4 mki_len;
};
FIXTURE_VARIANT_ADD(prof, cm80) { .which = 0 };
FIXTURE_VARIANT_ADD(prof, cm32) { .which = 1 };
FIXTURE_VARIANT_ADD(prof, gcm128) { .which = 2 };
FIXTURE_VARIANT_ADD(prof, gcm256) { .which = 3 };
FIXTURE_VARIANT_ADD(prof, cm80_mki) { .which = 0, .mki_len = 4 };
FIXTURE_VARIANT_ADD(prof, gcm128_mki) { .which = 2, .mki_len = 3 };

static const uint8_t test_mki[4] = { 0xa1, 0xb2, 0xc3, 0xd4 };

FIXTURE_SETUP(prof)
{
    self->p = &su_profiles[variant->which];
    self->mki_len = variant->mki_len;
    ASSERT_EQ(su_pair(self->p, 0x20, test_mki, variant->mki_len, &self->tx, &self->rx), OK);
}

FIXTURE_TEARDOWN(prof)
{
    (void)NKTLS_srtpFree(&self->tx);
    (void)NKTLS_srtpFree(&self->rx);
}

/* Protects an RTP packet of the fixture; its protected length. */
static ubyte4 protect_rtp(FIXTURE_DATA(prof) *self, uint16_t seq, uint32_t ssrc, size_t payload)
{
    ubyte4 n = (ubyte4)su_rtp(self->pkt, seq, ssrc, 0, -1, payload);
    memcpy(self->orig, self->pkt, n);
    if (NKTLS_srtpProtect(self->tx, self->pkt, &n, sizeof self->pkt) != OK)
        return 0;
    return n;
}

TEST_F(prof, rtp_round_trip)
{
    static const struct { int cc, ext; size_t payload; } shapes[] = {
        { 0, -1, 160 }, { 0, -1, 0 }, { 3, -1, 20 }, { 0, 0, 33 }, { 0, 2, 1200 }, { 15, 5, 1 },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(shapes); i++) {
        size_t n0 = su_rtp(self->pkt, (uint16_t)(100 + i), 0x11223344, shapes[i].cc, shapes[i].ext, shapes[i].payload);
        size_t hlen = n0 - shapes[i].payload;
        ubyte4 n = (ubyte4)n0;
        memcpy(self->orig, self->pkt, n0);
        ASSERT_EQ(NKTLS_srtpProtect(self->tx, self->pkt, &n, sizeof self->pkt), OK);
        EXPECT_EQ(n, n0 + self->p->rtp_tag + self->mki_len) TH_LOG("shape %zu", i);
        /* The header, CSRCs and extension stay in the clear (RFC 3711 §3.1). */
        EXPECT_MEM_EQ(self->pkt, self->orig, hlen);
        if (shapes[i].payload >= 16)
            EXPECT_NE(memcmp(self->pkt + hlen, self->orig + hlen, shapes[i].payload), 0);
        size_t mki_at = self->p->rtp_tag == 16 ? n0 + 16 : n0;
        EXPECT_MEM_EQ(self->pkt + mki_at, test_mki, self->mki_len);
        ASSERT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), OK) TH_LOG("shape %zu", i);
        EXPECT_EQ(n, n0);
        EXPECT_MEM_EQ(self->pkt, self->orig, n0);
    }
}

TEST_F(prof, rtcp_round_trip)
{
    for (uint32_t i = 0; i < 3; i++) {
        size_t n0 = su_rtcp(self->pkt, 0xcafe0001, 8 + 24 * i, (uint8_t)i);
        ubyte4 n = (ubyte4)n0;
        memcpy(self->orig, self->pkt, n0);
        ASSERT_EQ(NKTLS_srtpProtectRtcp(self->tx, self->pkt, &n, sizeof self->pkt), OK);
        EXPECT_EQ(n, n0 + 4 + self->p->rtcp_tag + self->mki_len);
        EXPECT_MEM_EQ(self->pkt, self->orig, 8);
        if (n0 > 8)
            EXPECT_NE(memcmp(self->pkt + 8, self->orig + 8, n0 - 8), 0);
        /* The E bit set and the SRTCP index counting from 0 (RFC 3711 §3.4). */
        const uint8_t want[4] = { 0x80, 0, 0, (uint8_t)i };
        size_t trailer_at = self->p->rtcp_tag == 16 ? n0 + 16 : n0;
        EXPECT_MEM_EQ(self->pkt + trailer_at, want, 4);
        EXPECT_MEM_EQ(self->pkt + trailer_at + 4, test_mki, self->mki_len);
        ASSERT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), OK);
        EXPECT_EQ(n, n0);
        EXPECT_MEM_EQ(self->pkt, self->orig, n0);
    }
}

/* Sequence 65534, 65535, 0, 1: the sender's ROC goes to 1 at the wrap; the
 * receiver follows, and 65535 arriving after 0 is taken with ROC 0. */
TEST_F(prof, roc_wrap)
{
    uint8_t saved[4][2048];
    ubyte4 len[4];
    const uint16_t seqs[4] = { 65534, 65535, 0, 1 };

    for (int i = 0; i < 4; i++) {
        ASSERT_NE(len[i] = protect_rtp(self, seqs[i], 0x5eed, 40), 0u);
        memcpy(saved[i], self->pkt, len[i]);
    }
    /* A receiver that sees seq 0 first takes ROC 0 and cannot authenticate it:
     * the sender did use ROC 1 (in the tag or the GCM IV). */
    {
        nktlsSrtpSession *tx2, *rx2;
        ubyte4 n = len[2];
        ASSERT_EQ(su_pair(self->p, 0x20, test_mki, self->mki_len, &tx2, &rx2), OK);
        memcpy(self->pkt, saved[2], n);
        EXPECT_EQ(NKTLS_srtpUnprotect(rx2, self->pkt, &n), ERR_SRTP_AUTH_FAILED);
        (void)NKTLS_srtpFree(&tx2);
        (void)NKTLS_srtpFree(&rx2);
    }
    const int order[4] = { 0, 2, 1, 3 };
    for (int k = 0; k < 4; k++) {
        int i = order[k];
        ubyte4 n = len[i];
        memcpy(self->pkt, saved[i], n);
        ASSERT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), OK) TH_LOG("seq %u", seqs[i]);
        su_rtp(self->orig, seqs[i], 0x5eed, 0, -1, 40);
        EXPECT_MEM_EQ(self->pkt, self->orig, n);
    }
    /* The late one again: a replay now. */
    ubyte4 n = len[1];
    memcpy(self->pkt, saved[1], n);
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), ERR_SRTP_REPLAY);
}

TEST_F(prof, replay_and_window)
{
    uint8_t saved[3][2048];
    ubyte4 len[3];
    const uint16_t seqs[3] = { 36, 37, 100 };

    for (int i = 0; i < 3; i++) {
        ASSERT_NE(len[i] = protect_rtp(self, seqs[i], 0xabc, 10), 0u);
        memcpy(saved[i], self->pkt, len[i]);
    }
    /* The sender refuses an index it protected already: keystream reuse. */
    ubyte4 n = (ubyte4)su_rtp(self->pkt, 37, 0xabc, 0, -1, 10);
    EXPECT_EQ(NKTLS_srtpProtect(self->tx, self->pkt, &n, sizeof self->pkt), ERR_SRTP_REPLAY);
    n = len[2];
    memcpy(self->pkt, saved[2], n);
    ASSERT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), OK);
    n = len[2];
    memcpy(self->pkt, saved[2], n);
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), ERR_SRTP_REPLAY);
    n = len[0];   /* 100 - 36 = 64: left of the window */
    memcpy(self->pkt, saved[0], n);
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), ERR_SRTP_REPLAY);
    n = len[1];   /* 63 behind: inside, not seen */
    memcpy(self->pkt, saved[1], n);
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), OK);
    n = len[1];
    memcpy(self->pkt, saved[1], n);
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), ERR_SRTP_REPLAY);
}

TEST_F(prof, rtcp_replay)
{
    uint8_t saved[70][128];
    ubyte4 len[70];

    for (int i = 0; i < 70; i++) {
        len[i] = (ubyte4)su_rtcp(self->pkt, 77, 28, (uint8_t)i);
        ASSERT_EQ(NKTLS_srtpProtectRtcp(self->tx, self->pkt, &len[i], sizeof self->pkt), OK);
        memcpy(saved[i], self->pkt, len[i]);
    }
    ubyte4 n = len[69];
    memcpy(self->pkt, saved[69], n);
    ASSERT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), OK);
    n = len[69];
    memcpy(self->pkt, saved[69], n);
    EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), ERR_SRTP_REPLAY);
    n = len[5];   /* 64 behind */
    memcpy(self->pkt, saved[5], n);
    EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), ERR_SRTP_REPLAY);
    n = len[6];   /* 63 behind */
    memcpy(self->pkt, saved[6], n);
    EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), OK);
}

/* One bit changed anywhere — header, payload, MKI, tag, SRTCP trailer — is
 * ERR_SRTP_AUTH_FAILED, and leaves the receiver as it was. */
TEST_F(prof, tamper_every_byte)
{
    uint8_t good[2048];
    ubyte4 len = protect_rtp(self, 500, 0x1234, 50), n;

    ASSERT_NE(len, 0u);
    memcpy(good, self->pkt, len);
    for (ubyte4 i = 0; i < len; i++) {
        memcpy(self->pkt, good, len);
        self->pkt[i] ^= 0x01;
        n = len;
        EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), ERR_SRTP_AUTH_FAILED) TH_LOG("RTP byte %u", i);
    }
    memcpy(self->pkt, good, len);
    n = len;
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), OK);

    len = (ubyte4)su_rtcp(self->pkt, 0x1234, 40, 9);
    ASSERT_EQ(NKTLS_srtpProtectRtcp(self->tx, self->pkt, &len, sizeof self->pkt), OK);
    memcpy(good, self->pkt, len);
    for (ubyte4 i = 0; i < len; i++) {
        memcpy(self->pkt, good, len);
        self->pkt[i] ^= 0x01;
        n = len;
        EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), ERR_SRTP_AUTH_FAILED) TH_LOG("RTCP byte %u", i);
    }
    memcpy(self->pkt, good, len);
    n = len;
    EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), OK);
}

/* Every shorter length: too short for the header and tag is malformed, the
 * rest fail authentication; version 1 is malformed. */
TEST_F(prof, truncated_and_malformed)
{
    uint8_t good[2048];
    const size_t hlen = 12 + 2 * 4 + 4 + 4;   /* 2 CSRCs, a one-word extension */
    size_t n0 = su_rtp(self->pkt, 9, 0x99, 2, 1, 30);
    ubyte4 len = (ubyte4)n0, n;
    ubyte4 over = self->p->rtp_tag + self->mki_len;

    ASSERT_EQ(NKTLS_srtpProtect(self->tx, self->pkt, &len, sizeof self->pkt), OK);
    memcpy(good, self->pkt, len);
    for (ubyte4 cut = 0; cut < len; cut++) {
        memcpy(self->pkt, good, len);
        n = cut;
        MSTATUS want = cut < hlen + over ? ERR_SRTP_MALFORMED : ERR_SRTP_AUTH_FAILED;
        EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), want) TH_LOG("RTP cut to %u", cut);
        EXPECT_EQ(n, cut);
    }
    memcpy(self->pkt, good, len);
    self->pkt[0] = (uint8_t)((self->pkt[0] & 0x3f) | 0x40);
    n = len;
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), ERR_SRTP_MALFORMED);
    n = (ubyte4)su_rtp(self->pkt, 10, 0x99, 0, -1, 4);
    self->pkt[0] = 0x40;
    EXPECT_EQ(NKTLS_srtpProtect(self->tx, self->pkt, &n, sizeof self->pkt), ERR_SRTP_MALFORMED);

    len = (ubyte4)su_rtcp(self->pkt, 0x99, 16, 1);
    ASSERT_EQ(NKTLS_srtpProtectRtcp(self->tx, self->pkt, &len, sizeof self->pkt), OK);
    memcpy(good, self->pkt, len);
    over = 8 + 4 + self->p->rtcp_tag + self->mki_len;
    for (ubyte4 cut = 0; cut < len; cut++) {
        memcpy(self->pkt, good, len);
        n = cut;
        MSTATUS want = cut < over ? ERR_SRTP_MALFORMED : ERR_SRTP_AUTH_FAILED;
        EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), want) TH_LOG("RTCP cut to %u", cut);
    }
    n = 7;
    EXPECT_EQ(NKTLS_srtpProtectRtcp(self->tx, self->pkt, &n, sizeof self->pkt), ERR_SRTP_MALFORMED);
    memcpy(self->pkt, good, len);
    n = len;
    EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), OK);
}

/* No packet, protected or not, is longer than 65535 bytes. */
TEST_F(prof, longest_packet)
{
    uint8_t *big = calloc(1, 70000);
    ubyte4 n;

    ASSERT_NOT_NULL(big);
    n = (ubyte4)su_rtp(big, 11, 0x99, 0, -1, 65536 - 12);
    EXPECT_EQ(NKTLS_srtpProtect(self->tx, big, &n, 70000), ERR_SRTP_MALFORMED);
    n = 65535 - self->p->rtp_tag - self->mki_len;
    EXPECT_EQ(NKTLS_srtpProtect(self->tx, big, &n, 70000), OK);
    EXPECT_EQ(n, 65535u);
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, big, &n), OK);
    n = (ubyte4)su_rtp(big, 12, 0x99, 0, -1, 65536 - 12);
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, big, &n), ERR_SRTP_MALFORMED);
    n = (ubyte4)su_rtcp(big, 0x99, 65536, 0);
    EXPECT_EQ(NKTLS_srtpProtectRtcp(self->tx, big, &n, 70000), ERR_SRTP_MALFORMED);
    EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, big, &n), ERR_SRTP_MALFORMED);
    free(big);
}

/* No room for the tag: refused, the packet as it was, its index unused. */
TEST_F(prof, buffer_too_small)
{
    size_t n0 = su_rtp(self->pkt, 7, 0x77, 0, -1, 20);
    ubyte4 n = (ubyte4)n0;

    memcpy(self->orig, self->pkt, n0);
    EXPECT_EQ(NKTLS_srtpProtect(self->tx, self->pkt, &n, (ubyte4)(n0 + self->p->rtp_tag + self->mki_len - 1)),
              ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(n, n0);
    EXPECT_MEM_EQ(self->pkt, self->orig, n0);
    EXPECT_EQ(NKTLS_srtpProtect(self->tx, self->pkt, &n, (ubyte4)(n0 - 1)), ERR_BUFFER_TOO_SMALL);
    ASSERT_EQ(NKTLS_srtpProtect(self->tx, self->pkt, &n, (ubyte4)(n0 + self->p->rtp_tag + self->mki_len)), OK);
    n0 = su_rtcp(self->pkt, 0x77, 12, 0);
    n = (ubyte4)n0;
    EXPECT_EQ(NKTLS_srtpProtectRtcp(self->tx, self->pkt, &n, (ubyte4)(n0 + 4 + self->p->rtcp_tag + self->mki_len - 1)),
              ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(NKTLS_srtpProtectRtcp(self->tx, self->pkt, &n, (ubyte4)(n0 + 4 + self->p->rtcp_tag + self->mki_len)), OK);
}

/* A session keeps its direction; another key or MKI does not authenticate. */
TEST_F(prof, wrong_direction_key_or_mki)
{
    nktlsSrtpSession *tx2, *rx2;
    uint8_t other_mki[4] = { 0xa1, 0xb2, 0xc2, 0xd4 };
    uint8_t good[2048];
    ubyte4 len = protect_rtp(self, 1, 2, 30), n = len;

    ASSERT_NE(len, 0u);
    memcpy(good, self->pkt, len);
    EXPECT_EQ(NKTLS_srtpProtect(self->rx, self->pkt, &n, sizeof self->pkt), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpUnprotect(self->tx, self->pkt, &n), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->tx, self->pkt, &n), ERR_INVALID_ARG);
    ASSERT_EQ(su_pair(self->p, 0x21, test_mki, self->mki_len, &tx2, &rx2), OK);
    EXPECT_EQ(NKTLS_srtpUnprotect(rx2, self->pkt, &n), ERR_SRTP_AUTH_FAILED);
    EXPECT_EQ(n, len);
    (void)NKTLS_srtpFree(&tx2);
    (void)NKTLS_srtpFree(&rx2);
    memcpy(self->pkt, good, len);
    if (self->mki_len) {
        ASSERT_EQ(su_pair(self->p, 0x20, other_mki, self->mki_len, &tx2, &rx2), OK);
        EXPECT_EQ(NKTLS_srtpUnprotect(rx2, self->pkt, &n), ERR_SRTP_AUTH_FAILED);
        (void)NKTLS_srtpFree(&tx2);
        (void)NKTLS_srtpFree(&rx2);
        memcpy(self->pkt, good, len);
    }
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), OK);
}

/* Streams per SSRC, at most the session's limit; a packet that does not
 * authenticate takes no slot. */
TEST_F(prof, stream_limit)
{
    uint8_t saved[3][256];
    ubyte4 len[3];

    EXPECT_EQ(NKTLS_srtpSetMaxStreams(self->rx, 0), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpSetMaxStreams(self->rx, 65537), ERR_INVALID_ARG);
    EXPECT_EQ(NKTLS_srtpSetMaxStreams(NULL, 2), ERR_NULL_POINTER);
    ASSERT_EQ(NKTLS_srtpSetMaxStreams(self->rx, 2), OK);
    for (int i = 0; i < 3; i++) {
        ASSERT_NE(len[i] = protect_rtp(self, 1, 0x100u + (uint32_t)i, 8), 0u);
        memcpy(saved[i], self->pkt, len[i]);
    }
    for (int f = 0; f < 5; f++) {   /* forgeries under new SSRCs */
        ubyte4 n = len[2];
        memcpy(self->pkt, saved[2], n);
        self->pkt[11] ^= (uint8_t)(f + 1);
        EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), ERR_SRTP_AUTH_FAILED);
    }
    for (int i = 0; i < 3; i++) {
        ubyte4 n = len[i];
        memcpy(self->pkt, saved[i], n);
        EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), i < 2 ? OK : ERR_SRTP_TOO_MANY_STREAMS) TH_LOG("SSRC %d", i);
    }
    EXPECT_EQ(NKTLS_srtpSetMaxStreams(self->rx, 1), ERR_INVALID_ARG);   /* holds 2 */
    ASSERT_EQ(NKTLS_srtpSetMaxStreams(self->rx, 3), OK);
    ubyte4 n = len[2];
    memcpy(self->pkt, saved[2], n);
    EXPECT_EQ(NKTLS_srtpUnprotect(self->rx, self->pkt, &n), OK);
    /* SRTCP streams share the table. */
    n = (ubyte4)su_rtcp(self->pkt, 0x999, 8, 0);
    ASSERT_EQ(NKTLS_srtpProtectRtcp(self->tx, self->pkt, &n, sizeof self->pkt), OK);
    EXPECT_EQ(NKTLS_srtpUnprotectRtcp(self->rx, self->pkt, &n), ERR_SRTP_TOO_MANY_STREAMS);
}

TEST_HARNESS_MAIN
