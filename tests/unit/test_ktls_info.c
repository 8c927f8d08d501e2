/* test_ktls_info.c — the crypto_info ktls/ hands the kernel, byte for byte,
 * without a kernel: each struct is built here field by field from linux/tls.h
 * and the key object, per version × suite. TLS 1.3 as before (salt || iv is
 * the write IV, the kernel XORs in rec_seq); TLS 1.2 AES-GCM/CCM with the
 * implicit salt and, as iv, the explicit nonce of the next record, which is
 * the one our own protection would send; TLS 1.2 ChaCha20-Poly1305 with its
 * 12-byte IV; the ciphers the kernel lacks, and key, suite and version that
 * disagree, refused. In the VM (scripts/vm-test), where the tls module
 * exists, the kernel takes a TLS 1.2 key in each direction after records went
 * in software: what it seals opens under our key, and it opens what we
 * seal, at the sequence numbers that follow. */
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "harness.h"
#include "core/wire.h"
#include "ktls/ktls.h"

/* Every kernel struct starts alike; the fields differ only in size. */
#define FILL_WANT(w, ver, cipher, k, salt, iv, seq) \
    do { \
        memset(&(w), 0, sizeof(w)); \
        (w).info.version = (ver); \
        (w).info.cipher_type = (cipher); \
        memcpy((w).key, (k)->key, sizeof((w).key)); \
        memcpy((w).salt, (salt), sizeof((w).salt)); \
        memcpy((w).iv, (iv), sizeof((w).iv)); \
        for (int b_ = 0; b_ < 8; b_++) \
            (w).rec_seq[b_] = (uint8_t)((seq) >> (56 - 8 * b_)); \
    } while (0)

/* The struct the kernel expects for cipher, from salt and iv as given. */
static size_t want_info(union nk_ktls_crypto_info *w, uint16_t ver, uint16_t cipher, const struct nk_rec_key *k,
                        const uint8_t *salt, const uint8_t *iv)
{
    switch (cipher) {
    case TLS_CIPHER_AES_GCM_128: FILL_WANT(w->gcm128, ver, cipher, k, salt, iv, k->seq); return sizeof w->gcm128;
    case TLS_CIPHER_AES_GCM_256: FILL_WANT(w->gcm256, ver, cipher, k, salt, iv, k->seq); return sizeof w->gcm256;
    case TLS_CIPHER_AES_CCM_128: FILL_WANT(w->ccm128, ver, cipher, k, salt, iv, k->seq); return sizeof w->ccm128;
    case TLS_CIPHER_CHACHA20_POLY1305:
        FILL_WANT(w->chacha, ver, cipher, k, salt, iv, k->seq);
        return sizeof w->chacha;
    }
    return 0;
}

TEST(tls13_unchanged)
{
    /* For every TLS 1.3 suite, a key installed for the software path and one
     * derived for a kernel rekey: salt = IV[0..3], iv = IV[4..11] (ChaCha:
     * iv = IV, no salt), rec_seq the sequence number. */
    static const uint8_t secret[NK_MAX_HASH] = { 0x13, 0x37 };
    for (size_t i = 0; i < nk_suite_count; i++) {
        const struct nk_suite *s = &nk_suites[i];
        int chacha = s->aead == NK_CHACHA20_POLY1305;
        for (int derived = 0; derived < 2; derived++) {
            struct nk_rec_key k = { 0 };
            union nk_ktls_crypto_info ci, want;
            if (derived)
                ASSERT_EQ(nk_rec_derive(&k, s, secret), OK);
            else
                ASSERT_EQ(nk_rec_tls13.install(&k, s, secret, 1), OK);
            k.seq = 0x0102030405060708ull;
            size_t n = want_info(&want, TLS_1_3_VERSION, s->ktls_cipher, &k, k.iv, chacha ? k.iv : k.iv + 4);
            /* TLS_AES_128_CCM_8_SHA256: the kernel has no 8-byte CCM tag. */
            ASSERT_EQ(n == 0, s->tag_len == 8) TH_LOG("%s", s->name);
            EXPECT_EQ(nk_ktls_crypto_info(&ci, 4, s, &k), n) TH_LOG("%s", s->name);
            EXPECT_MEM_EQ(&ci, &want, n) TH_LOG("%s derived %d", s->name, derived);
            /* The key's version is TLS 1.3's: not on a TLS 1.2 connection. */
            EXPECT_EQ(nk_ktls_crypto_info(&ci, 3, s, &k), 0u);
            nk_rec_clear(&k);
        }
    }
}

FIXTURE(info12) {
    const struct nk_suite *s;
    uint8_t keys[NK_REC12_KEYS];
    struct nk_rec_key k;
    struct nk_buf out;
};

FIXTURE_VARIANT(info12) {
    uint16_t id;
    uint16_t cipher;   /* 0: the kernel has none */
};

FIXTURE_VARIANT_ADD(info12, aes128gcm) { .id = 0xc02b, .cipher = TLS_CIPHER_AES_GCM_128 };
FIXTURE_VARIANT_ADD(info12, aes256gcm) { .id = 0xc030, .cipher = TLS_CIPHER_AES_GCM_256 };
FIXTURE_VARIANT_ADD(info12, dhe_aes256gcm) { .id = 0x009f, .cipher = TLS_CIPHER_AES_GCM_256 };
FIXTURE_VARIANT_ADD(info12, chacha20) { .id = 0xcca9, .cipher = TLS_CIPHER_CHACHA20_POLY1305 };
FIXTURE_VARIANT_ADD(info12, aes128ccm) { .id = 0xc0ac, .cipher = TLS_CIPHER_AES_CCM_128 };
FIXTURE_VARIANT_ADD(info12, aes256ccm) { .id = 0xc0ad, .cipher = 0 };
FIXTURE_VARIANT_ADD(info12, aes128ccm8) { .id = 0xc0ae, .cipher = 0 };
FIXTURE_VARIANT_ADD(info12, aes256ccm8) { .id = 0xc0af, .cipher = 0 };

FIXTURE_SETUP(info12)
{
    memset(self, 0, sizeof *self);
    self->s = nk_suite12_by_id(variant->id);
    ASSERT_NOT_NULL(self->s);
    for (size_t i = 0; i < sizeof self->keys; i++)
        self->keys[i] = (uint8_t)(0x61 + 13 * i);
    ASSERT_EQ(nk_rec_tls12.install(&self->k, self->s, self->keys, 1), OK);
}

FIXTURE_TEARDOWN(info12)
{
    nk_rec_clear(&self->k);
    nk_buf_free(&self->out);
}

TEST_F(info12, bytes_after_some_records)
{
    const struct nk_suite *s = self->s;
    union nk_ktls_crypto_info ci, want;
    /* Three records went out in software before the kernel takes over. */
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(nk_rec_seal(&self->k, NK_CT_HANDSHAKE, (const uint8_t *)"hs", 2, 0, &self->out), OK);
    ASSERT_EQ(self->k.seq, 3u);
    size_t n = nk_ktls_crypto_info(&ci, 3, s, &self->k);
    if (!variant->cipher) {
        EXPECT_EQ(n, 0u);   /* software carries it: "cipher not supported by the kernel" */
        return;
    }
    EXPECT_EQ(s->ktls_cipher, variant->cipher);
    const uint8_t *fixed = self->keys + s->key_len;
    uint8_t explicit_nonce[8] = { 0, 0, 0, 0, 0, 0, 0, 3 };
    /* ChaCha: iv = the 12-byte write IV, no salt (the kernel XORs in rec_seq). */
    const uint8_t *iv = s->fixed_iv_len == 12 ? fixed : explicit_nonce;
    size_t wn = want_info(&want, TLS_1_2_VERSION, variant->cipher, &self->k, fixed, iv);
    ASSERT_EQ(n, wn);
    EXPECT_MEM_EQ(&ci, &want, n);
    EXPECT_EQ(ci.info.version, TLS_1_2_VERSION);

    /* The kernel's first record is the one we would send next: for AES-GCM/
     * CCM its explicit nonce, sent in the record, is the crypto_info's iv. */
    self->out.len = 0;
    ASSERT_EQ(nk_rec_seal(&self->k, NK_CT_APPLICATION_DATA, (const uint8_t *)"next", 4, 0, &self->out), OK);
    if (s->fixed_iv_len == 4) {
        const uint8_t *sent = s->aead == NK_AES_CCM ? ci.ccm128.iv : s->key_len == 16 ? ci.gcm128.iv : ci.gcm256.iv;
        EXPECT_MEM_EQ(self->out.p + 5, sent, 8);
    }
}

TEST_F(info12, far_sequence_number)
{
    /* Every byte of the sequence number, in rec_seq and the explicit nonce. */
    union nk_ktls_crypto_info ci, want;
    const uint8_t *fixed = self->keys + self->s->key_len;
    self->k.seq = 0x00a1b2c3d4e5f607ull;
    uint8_t be[8] = { 0x00, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07 };
    size_t n = nk_ktls_crypto_info(&ci, 3, self->s, &self->k);
    if (!variant->cipher) {
        EXPECT_EQ(n, 0u);
        return;
    }
    const uint8_t *iv = self->s->fixed_iv_len == 12 ? fixed : be;
    size_t wn = want_info(&want, TLS_1_2_VERSION, variant->cipher, &self->k, fixed, iv);
    ASSERT_EQ(n, wn);
    EXPECT_MEM_EQ(&ci, &want, n);
}

TEST_F(info12, refused_where_they_disagree)
{
    union nk_ktls_crypto_info ci;
    /* A TLS 1.2 key on a TLS 1.3 connection; another suite than the key's;
     * a TLS 1.3 suite for it. */
    EXPECT_EQ(nk_ktls_crypto_info(&ci, 4, self->s, &self->k), 0u);
    const struct nk_suite *other = nk_suite12_by_id(self->s->id == 0xc02b ? 0xc02f : 0xc02b);
    EXPECT_EQ(nk_ktls_crypto_info(&ci, 3, other, &self->k), 0u);
    EXPECT_EQ(nk_ktls_crypto_info(&ci, 3, nk_suite_by_id(0x1301), &self->k), 0u);
}

/* ---- in the kernel (the VM; skipped where there is no tls module) ---- */

static int tcp_pair(int fd[2])
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    fd[0] = fd[1] = -1;
    if (l < 0)
        return -1;
    if (bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0
        && getsockname(l, (struct sockaddr *)&a, &alen) == 0
        && (fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0
        && connect(fd[0], (struct sockaddr *)&a, sizeof a) == 0)
        fd[1] = accept(l, NULL, NULL);
    close(l);
    return fd[1] >= 0 ? 0 : -1;
}

/* Exactly n bytes from fd, or -1 (error, end, or nothing for 5 s). */
static int recv_exact(int fd, uint8_t *p, size_t n)
{
    for (size_t got = 0; got < n;) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        if (poll(&pf, 1, 5000) != 1)
            return -1;
        ssize_t r = recv(fd, p + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* The tls ULP on fd and k as its key for one direction. */
static int kernel_key(int fd, int tx, const struct nk_suite *s, const struct nk_rec_key *k)
{
    union nk_ktls_crypto_info ci;
    size_t n = nk_ktls_crypto_info(&ci, 3, s, k);
    int rc = -1;
    if (n && (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") == 0 || errno == EEXIST))
        rc = setsockopt(fd, SOL_TLS, tx ? TLS_TX : TLS_RX, &ci, (socklen_t)n);
    nk_wipe(&ci, sizeof ci);
    return rc;
}

/* One whole TLS 1.2 record from fd, opened in software under k. */
static MSTATUS recv_open(int fd, struct nk_rec_key *k, uint8_t *buf, uint8_t *type, uint8_t **data, size_t *n)
{
    struct nk_rec h;
    NK_CHECK(recv_exact(fd, buf, 5) == 0, ERR_TCP_READ_ERROR);
    NK_CHECK(nk_rec_peek_header(&nk_rec_tls12, buf, 5, &h) == NK_REC_SHORT, ERR_SSL_PROTOCOL);
    NK_CHECK(recv_exact(fd, buf + 5, h.body_len) == 0, ERR_TCP_READ_ERROR);
    return nk_rec_open(k, buf, h.len, type, data, n);
}

FIXTURE(kernel12) {
    const struct nk_suite *s;
    uint8_t keys[NK_REC12_KEYS];
    struct nk_rec_key wr, rd;
    struct nk_buf out;
    int fd[2];
};

FIXTURE_VARIANT(kernel12) {
    uint16_t id;
};

FIXTURE_VARIANT_ADD(kernel12, aes128gcm) { .id = 0xc02f };
FIXTURE_VARIANT_ADD(kernel12, aes256gcm) { .id = 0xc030 };
FIXTURE_VARIANT_ADD(kernel12, chacha20) { .id = 0xcca8 };
FIXTURE_VARIANT_ADD(kernel12, aes128ccm) { .id = 0xc0ac };

FIXTURE_SETUP(kernel12)
{
    memset(self, 0, sizeof *self);
    self->fd[0] = self->fd[1] = -1;
    if (nk_ktls_unavailable_reason())
        SKIP(return, "%s", nk_ktls_unavailable_reason());
    self->s = nk_suite12_by_id(variant->id);
    ASSERT_NOT_NULL(self->s);
    for (size_t i = 0; i < sizeof self->keys; i++)
        self->keys[i] = (uint8_t)(0x2d + 17 * i);
    ASSERT_EQ(nk_rec_tls12.install(&self->wr, self->s, self->keys, 1), OK);
    ASSERT_EQ(nk_rec_tls12.install(&self->rd, self->s, self->keys, 0), OK);
    ASSERT_EQ(tcp_pair(self->fd), 0);
}

FIXTURE_TEARDOWN(kernel12)
{
    nk_rec_clear(&self->wr);
    nk_rec_clear(&self->rd);
    nk_buf_free(&self->out);
    for (int i = 0; i < 2; i++)
        if (self->fd[i] >= 0)
            close(self->fd[i]);
}

TEST_F(kernel12, tx_goes_on_from_software)
{
    /* Two records in software, then the kernel seals: what it sends opens
     * under our software key at the next sequence number. */
    static uint8_t buf[NK_MAX_RECORD];
    uint8_t type, *data;
    size_t n;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_HANDSHAKE, (const uint8_t *)"one", 3, 0, &self->out), OK);
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"two", 3, 0, &self->out), OK);
    ASSERT_EQ(send(self->fd[0], self->out.p, self->out.len, 0), (ssize_t)self->out.len);
    ASSERT_EQ(kernel_key(self->fd[0], 1, self->s, &self->wr), 0) TH_LOG("errno %d", errno);
    ASSERT_EQ(send(self->fd[0], "from the kernel", 15, 0), 15);
    ASSERT_EQ(recv_open(self->fd[1], &self->rd, buf, &type, &data, &n), OK);
    EXPECT_EQ(type, NK_CT_HANDSHAKE);
    ASSERT_EQ(recv_open(self->fd[1], &self->rd, buf, &type, &data, &n), OK);
    EXPECT_EQ(type, NK_CT_APPLICATION_DATA);
    ASSERT_EQ(recv_open(self->fd[1], &self->rd, buf, &type, &data, &n), OK);
    EXPECT_EQ(type, NK_CT_APPLICATION_DATA);
    ASSERT_EQ(n, 15u);
    EXPECT_MEM_EQ(data, "from the kernel", 15);
    EXPECT_EQ(self->rd.seq, 3u);
}

TEST_F(kernel12, rx_goes_on_from_software)
{
    /* One record opened in software, then the kernel opens the rest. */
    static uint8_t buf[NK_MAX_RECORD];
    uint8_t type, *data, got[6];
    size_t n;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"first", 5, 0, &self->out), OK);
    ASSERT_EQ(send(self->fd[0], self->out.p, self->out.len, 0), (ssize_t)self->out.len);
    ASSERT_EQ(recv_open(self->fd[1], &self->rd, buf, &type, &data, &n), OK);
    EXPECT_MEM_EQ(data, "first", 5);
    ASSERT_EQ(kernel_key(self->fd[1], 0, self->s, &self->rd), 0) TH_LOG("errno %d", errno);
    self->out.len = 0;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"bee", 3, 0, &self->out), OK);
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"sea", 3, 0, &self->out), OK);
    ASSERT_EQ(send(self->fd[0], self->out.p, self->out.len, 0), (ssize_t)self->out.len);
    ASSERT_EQ(recv_exact(self->fd[1], got, sizeof got), 0) TH_LOG("errno %d", errno);
    EXPECT_MEM_EQ(got, "beesea", 6);
}

TEST_HARNESS_MAIN
