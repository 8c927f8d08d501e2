/* test_ktls_suites.c — suites whose cipher the kernel lacks (8-byte CCM tags
 * in TLS 1.3 and 1.2, AES-256-CCM and CBC in 1.2) stay on the software record layer
 * with the reason "cipher not supported by the kernel", found before any
 * setsockopt, so on every kernel; a suite the kernel has (TLS 1.2
 * AES-128-CCM) gets the kernel where there is one. Data flows both ways over
 * TCP loopback either way. */
#include <signal.h>
#include <unistd.h>
#include "api_env.h"
#include "ktls/ktls.h"

FIXTURE(ccm) {
    int unused;
};
FIXTURE_VARIANT(ccm) {
    uint16_t version;   /* as on the wire */
    ubyte2 id;
    int kernel_has;     /* the kernel has a crypto_info for it */
};
FIXTURE_VARIANT_ADD(ccm, tls13_aes128ccm8) { .version = 0x0304, .id = 0x1305 };
FIXTURE_VARIANT_ADD(ccm, tls12_aes128ccm8) { .version = 0x0303, .id = 0xc0ae };
FIXTURE_VARIANT_ADD(ccm, tls12_aes256ccm8) { .version = 0x0303, .id = 0xc0af };
FIXTURE_VARIANT_ADD(ccm, tls12_aes256ccm) { .version = 0x0303, .id = 0xc0ad };
FIXTURE_VARIANT_ADD(ccm, tls12_aes128ccm) { .version = 0x0303, .id = 0xc0ac, .kernel_has = 1 };
/* CBC: the kernel never carries it (its TLS 1.2 ciphers are AEADs). */
FIXTURE_VARIANT_ADD(ccm, tls12_aes128cbc_sha) { .version = 0x0303, .id = 0xc009 };
FIXTURE_VARIANT_ADD(ccm, tls12_aes256cbc_sha384) { .version = 0x0303, .id = 0xc024 };
FIXTURE_SETUP(ccm) { env_up(4); }
FIXTURE_TEARDOWN(ccm) { env_down(); }

#define XFER 40000

static void pre_suite(struct srv *s)
{
    const FIXTURE_VARIANT(ccm) *v = s->arg;
    s->st[5] = SSL_enableCiphers(s->h, &v->id, 1);
    s->st[6] = SSL_ioctl(s->h, SSL_SET_VERSION, (void *)(uintptr_t)(v->version & 0xff));
}

static void post_echo(struct srv *s)
{
    if (s->hs != OK)
        return;
    nktlsRecordLayerInfo info;
    s->st[0] = NKTLS_getRecordLayerInfo(s->h, &info);
    s->u[0] = (ubyte4)info.txLayer;
    s->u[1] = (ubyte4)info.rxLayer;
    snprintf(s->text, sizeof s->text, "%s|%s", info.txReason, info.rxReason);
    s->st[1] = recv_check(s->h, XFER, 1);
    s->st[2] = send_fill(s->h, XFER, 2);
    s->st[3] = recv_until_end(s->h);
}

TEST_F(ccm, layer_and_reason)
{
    struct pair p = { 0 };
    p.s.pre = pre_suite;
    p.s.post = post_echo;
    p.s.arg = variant;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_enableCiphers(p.ch, &variant->id, 1), OK);
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)(variant->version & 0xff)), OK);
    MSTATUS st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    ubyte2 cipher = 0;
    ubyte4 curves, minor = 0;
    ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), OK);
    ASSERT_EQ(cipher, variant->id);
    ASSERT_EQ(SSL_getSSLTLSVersion(p.ch, &minor), OK);
    ASSERT_EQ(minor, (ubyte4)(variant->version & 0xff));
    nktlsRecordLayerInfo info;
    ASSERT_EQ(NKTLS_getRecordLayerInfo(p.ch, &info), OK);
    int kernel = variant->kernel_has && nk_ktls_unavailable_reason() == NULL;
    const char *why = !variant->kernel_has ? "cipher not supported by the kernel"
                    : kernel ? "" : nk_ktls_unavailable_reason();
    EXPECT_EQ(info.txLayer, kernel ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE);
    EXPECT_EQ(info.rxLayer, kernel ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE);
    EXPECT_STR_EQ(info.txReason, why);
    EXPECT_STR_EQ(info.rxReason, why);
    ST_EQ(send_fill(p.ch, XFER, 1), OK);
    ST_EQ(recv_check(p.ch, XFER, 2), OK);
    pair_down(&p);
    ST_EQ(p.s.st[5], OK);
    ST_EQ(p.s.st[6], OK);
    ST_EQ(p.s.st[0], OK);
    ST_EQ(p.s.st[1], OK);
    ST_EQ(p.s.st[2], OK);
    ST_EQ(p.s.st[3], ERR_SSL_CONNECTION_CLOSED);
    ASSERT_EQ(p.s.u[0], (ubyte4)(kernel ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE));
    ASSERT_EQ(p.s.u[1], (ubyte4)(kernel ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE));
    char both[256];
    snprintf(both, sizeof both, "%s|%s", why, why);
    ASSERT_STR_EQ(p.s.text, both);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    return api_env_main(argc, argv);
}
