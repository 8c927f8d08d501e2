/* test_ktls.c — kernel TLS offload and its fallback, over TCP loopback.
 *
 * The same program runs on a host without the tls module (every direction must
 * fall back to the software layer, reason "no tls module", every byte intact)
 * and inside the VM (scripts/vm-test), where the kernel must carry the records:
 * /proc/net/tls_stat counters prove it. Cases: each protocol version × suite
 * (TLS 1.3 rows today; both ends must agree on the row's version) in both
 * directions, records already in flight at the switch, close_notify and fatal
 * alerts through control messages, a corrupted record, KeyUpdate under each
 * rekey policy, kTLS modes, and sendfile from 0 bytes to 100 MiB. (The
 * control-message helpers on plain buffers and sockets: test_ktls_io.c.) */
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include "api_env.h"
#include "engine/conn.h"
#include "core/wire.h"
#include "ktls/ktls.h"

/* ---- where are we ---------------------------------------------------------- */

static int kernel_tls(void)
{
    return nk_ktls_unavailable_reason() == NULL;
}

struct tls_stat {
    long tx_sw, rx_sw, cur_tx_sw, cur_rx_sw, decrypt_err;
};

static int read_tls_stat(struct tls_stat *t)
{
    FILE *f = fopen("/proc/net/tls_stat", "r");
    char name[64];
    long v;
    memset(t, 0, sizeof *t);
    if (!f)
        return -1;
    while (fscanf(f, "%63s %ld", name, &v) == 2) {
        if (!strcmp(name, "TlsTxSw"))
            t->tx_sw = v;
        else if (!strcmp(name, "TlsRxSw"))
            t->rx_sw = v;
        else if (!strcmp(name, "TlsCurrTxSw"))
            t->cur_tx_sw = v;
        else if (!strcmp(name, "TlsCurrRxSw"))
            t->cur_rx_sw = v;
        else if (!strcmp(name, "TlsDecryptError"))
            t->decrypt_err = v;
    }
    fclose(f);
    return 0;
}

/* Both ends of a connection report the layer this machine must use. */
static void expect_layers(sbyte4 h, const char *who)
{
    nktlsRecordLayerInfo info;
    ASSERT_EQ(NKTLS_getRecordLayerInfo(h, &info), OK);
    if (kernel_tls()) {
        EXPECT_EQ(info.txLayer, NKTLS_LAYER_KERNEL) TH_LOG("%s tx: %s", who, info.txReason);
        EXPECT_EQ(info.rxLayer, NKTLS_LAYER_KERNEL) TH_LOG("%s rx: %s", who, info.rxReason);
    } else {
        EXPECT_EQ(info.txLayer, NKTLS_LAYER_SOFTWARE);
        EXPECT_EQ(info.rxLayer, NKTLS_LAYER_SOFTWARE);
        EXPECT_STR_EQ(info.txReason, "no tls module");
        EXPECT_STR_EQ(info.rxReason, "no tls module");
    }
}

/* ---- every version × suite, both directions -------------------------------- */

FIXTURE(suite) {
    int unused;
};
FIXTURE_VARIANT(suite) {
    uint16_t version;   /* as on the wire: 0x0304 is TLS 1.3 */
    ubyte2 id;
};
FIXTURE_VARIANT_ADD(suite, tls13_aes128gcm) { .version = 0x0304, .id = 0x1301 };
FIXTURE_VARIANT_ADD(suite, tls13_aes256gcm) { .version = 0x0304, .id = 0x1302 };
FIXTURE_VARIANT_ADD(suite, tls13_chacha20) { .version = 0x0304, .id = 0x1303 };
FIXTURE_VARIANT_ADD(suite, tls13_aes128ccm) { .version = 0x0304, .id = 0x1304 };
/* TLS 1.2: every cipher the kernel has for it (explicit nonce for GCM and
 * CCM, RFC 5288 / RFC 6655; ChaCha20-Poly1305's from the sequence number,
 * RFC 7905), ECDHE-ECDSA with the test's P-256 certificate. */
FIXTURE_VARIANT_ADD(suite, tls12_aes128gcm) { .version = 0x0303, .id = 0xc02b };
FIXTURE_VARIANT_ADD(suite, tls12_aes256gcm) { .version = 0x0303, .id = 0xc02c };
FIXTURE_VARIANT_ADD(suite, tls12_chacha20) { .version = 0x0303, .id = 0xcca9 };
FIXTURE_VARIANT_ADD(suite, tls12_aes128ccm) { .version = 0x0303, .id = 0xc0ac };
FIXTURE_SETUP(suite) { env_up(4); }
FIXTURE_TEARDOWN(suite) { env_down(); }

#define XFER (1024 * 1024 + 7)

/* The row's version is the highest either end may negotiate (SSL_SET_VERSION
 * takes the minor version: 4 for 0x0304), so each row gets the one it names. */
static MSTATUS set_version(sbyte4 h, uint16_t version)
{
    return SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)(version & 0xff));
}

static void pre_version(struct srv *s)
{
    const FIXTURE_VARIANT(suite) *v = s->arg;
    s->st[5] = set_version(s->h, v->version);
    if (s->st[5] == OK)   /* TLS 1.2 CCM is off unless enabled */
        s->st[5] = SSL_enableCiphers(s->h, &v->id, 1);
}

/* Echo: receive XFER bytes, check them, send them back with another seed. */
static void post_echo(struct srv *s)
{
    if (s->hs != OK)
        return;
    nktlsRecordLayerInfo info;
    s->st[0] = NKTLS_getRecordLayerInfo(s->h, &info);
    s->u[0] = (ubyte4)info.txLayer;
    s->u[1] = (ubyte4)info.rxLayer;
    s->st[4] = SSL_getSSLTLSVersion(s->h, &s->u[2]);
    s->st[1] = recv_check(s->h, XFER, 1);
    s->st[2] = send_fill(s->h, XFER, 2);
    s->st[3] = recv_until_end(s->h);
}

TEST_F(suite, data_both_ways)
{
    struct pair p = { 0 };
    struct tls_stat before, during, after;
    int kernel = kernel_tls();   /* the once-per-process probe installs a key: before counting */
    int have_stat = read_tls_stat(&before) == 0;
    ASSERT_EQ(have_stat, kernel);
    p.s.pre = pre_version;
    p.s.post = post_echo;
    p.s.arg = variant;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_enableCiphers(p.ch, &variant->id, 1), OK);
    ASSERT_EQ(set_version(p.ch, variant->version), OK);
    MSTATUS st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    ubyte2 cipher = 0;
    ubyte4 curves, minor = 0;
    ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), OK);
    ASSERT_EQ(cipher, variant->id);
    ASSERT_EQ(SSL_getSSLTLSVersion(p.ch, &minor), OK);
    ASSERT_EQ(minor, (ubyte4)(variant->version & 0xff));
    expect_layers(p.ch, "client");
    st = send_fill(p.ch, XFER, 1);
    ST_EQ(st, OK);
    st = recv_check(p.ch, XFER, 2);
    ST_EQ(st, OK);
    if (have_stat) {
        /* Both ends of this connection are in the kernel right now. */
        read_tls_stat(&during);
        EXPECT_EQ(during.cur_tx_sw - before.cur_tx_sw, 2);
        EXPECT_EQ(during.cur_rx_sw - before.cur_rx_sw, 2);
        EXPECT_EQ(during.tx_sw - before.tx_sw, 2);
        EXPECT_EQ(during.rx_sw - before.rx_sw, 2);
    }
    pair_down(&p);
    ST_EQ(p.s.st[0], OK);
    ST_EQ(p.s.st[1], OK);
    ST_EQ(p.s.st[2], OK);
    ST_EQ(p.s.st[3], ERR_SSL_CONNECTION_CLOSED);
    ST_EQ(p.s.st[4], OK);
    ST_EQ(p.s.st[5], OK);
    ASSERT_EQ(p.s.u[2], (ubyte4)(variant->version & 0xff));
    ASSERT_EQ(p.s.u[0], (ubyte4)(kernel_tls() ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE));
    ASSERT_EQ(p.s.u[1], (ubyte4)(kernel_tls() ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE));
    if (have_stat) {
        read_tls_stat(&after);
        EXPECT_EQ(after.cur_tx_sw, before.cur_tx_sw);
        EXPECT_EQ(after.cur_rx_sw, before.cur_rx_sw);
    }
}

/* ---- records already in flight at the switch ------------------------------ */

/* Drive an engine by hand over its socket until cond holds (no flushing). */
static MSTATUS pump_until(struct nk_conn *c, int (*cond)(struct nk_conn *))
{
    while (!cond(c)) {
        size_t len;
        const uint8_t *out;
        while ((out = nk_out_buf(c, &len)) != NULL) {
            ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);
            if (n <= 0)
                return ERR_TCP_WRITE_ERROR;
            nk_out_ack(c, (size_t)n);
        }
        uint8_t *in = nk_in_buf(c, &len);
        if (!in)
            return c->err < 0 ? c->err : ERR_SSL_BAD_STATE;
        ssize_t n = recv(c->fd, in, len, 0);
        if (n <= 0)
            return ERR_TCP_READ_ERROR;
        NK_TRY(nk_in_ack(c, (size_t)n));
    }
    return OK;
}

static int server_flight_queued(struct nk_conn *c) { return c->wr_app; }
static int client_open(struct nk_conn *c) { return c->status == SSL_CONNECTION_OPEN; }

/* Send the whole output buffer in one write: records back to back on the wire. */
static MSTATUS send_queued(struct nk_conn *c)
{
    size_t len;
    const uint8_t *out = nk_out_buf(c, &len);
    if (out && send(c->fd, out, len, MSG_NOSIGNAL) != (ssize_t)len)
        return ERR_TCP_WRITE_ERROR;
    nk_out_ack(c, len);
    return OK;
}

/* Server: its flight and 0.5-RTT data leave in one write, so the data sits right
 * behind the server's Finished when the client switches its read key. */
static void pre_half_rtt(struct srv *s)
{
    struct nk_conn *c;
    s->st[0] = nk_conn_get(s->h, &c);
    if (s->st[0] != OK)
        return;
    c->now = (int64_t)time(NULL) * 1000;
    s->st[0] = nk_engine_start(c);
    if (s->st[0] == OK)
        s->st[0] = pump_until(c, server_flight_queued);
    ubyte buf[3000];
    fill(buf, sizeof buf, 7);
    if (s->st[0] == OK)
        s->st[0] = nk_app_write(c, buf, sizeof buf);
    if (s->st[0] == OK)
        s->st[0] = send_queued(c);
}

static void post_recv_early(struct srv *s)
{
    if (s->hs == OK)
        s->st[1] = recv_check(s->h, 5000, 8);
    s->st[2] = recv_until_end(s->h);
}

TEST(in_flight_at_switch)
{
    struct pair p = { 0 };
    env_up(4);
    p.s.pre = pre_half_rtt;
    p.s.post = post_recv_early;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    /* Client: finish by hand and put data right behind its Finished, one write. */
    struct nk_conn *c;
    ASSERT_EQ(nk_conn_get(p.ch, &c), OK);
    c->now = (int64_t)time(NULL) * 1000;
    ASSERT_EQ(nk_engine_start(c), OK);
    MSTATUS st = pump_until(c, client_open);
    ST_EQ(st, OK);
    ubyte buf[5000];
    fill(buf, sizeof buf, 8);
    ASSERT_EQ(nk_app_write(c, buf, sizeof buf), OK);
    ASSERT_EQ(send_queued(c), OK);
    /* Only now does the client offload: the server's 0.5-RTT data is already in
     * the socket behind the Finished it has read. */
    ASSERT_EQ(nk_ktls_offload(c), OK);
    expect_layers(p.ch, "client");
    st = recv_check(p.ch, 3000, 7);
    ST_EQ(st, OK);
    pair_down(&p);
    ST_EQ(p.s.st[0], OK);
    ST_EQ(p.s.hs, OK);
    ST_EQ(p.s.st[1], OK);
    ST_EQ(p.s.st[2], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* ---- alerts through control messages --------------------------------------- */

static void post_close(struct srv *s)
{
    if (s->hs != OK)
        return;
    s->st[0] = send_fill(s->h, 100, 3);
    s->st[1] = SSL_closeConnection(s->h);
    s->keep = 1;
}

TEST(close_notify_via_control)
{
    struct pair p = { 0 };
    env_up(4);
    p.s.post = post_close;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    expect_layers(p.ch, "client");
    MSTATUS st = recv_check(p.ch, 100, 3);
    ST_EQ(st, OK);
    st = recv_until_end(p.ch);
    ST_EQ(st, ERR_SSL_CONNECTION_CLOSED);
    sbyte4 id = -1, cls = -1;
    ASSERT_GE(alerts_for(p.ch, &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_CLOSE_NOTIFY);
    pair_down(&p);
    env_down();
}

static void post_fatal_alert(struct srv *s)
{
    if (s->hs != OK)
        return;
    s->st[0] = SSL_sendAlert(s->h, SSL_ALERT_INTERNAL_ERROR, SSLALERTLEVEL_FATAL);
}

TEST(fatal_alert_via_control)
{
    struct pair p = { 0 };
    env_up(4);
    p.s.post = post_fatal_alert;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    expect_layers(p.ch, "client");
    MSTATUS st = recv_until_end(p.ch);
    ST_EQ(st, ERR_SSL_FATAL_ALERT);
    sbyte4 id = -1, cls = -1;
    ASSERT_EQ(SSL_lookupAlert(p.ch, ERR_SSL_FATAL_ALERT, &id, &cls), OK);
    ASSERT_EQ(id, SSL_ALERT_INTERNAL_ERROR);
    pair_down(&p);
    ST_EQ(p.s.st[0], OK);
    env_down();
}

/* ---- a corrupted record ------------------------------------------------------ */

/* A relay between client and server that can flip the last byte (the tag) of
 * the next protected record going from server to client. */
struct relay {
    int cfd, sfd;              /* its ends towards client and server */
    atomic_int corrupt;
    pthread_t th;
};

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    uint8_t buf[NK_MAX_RECORD];
    size_t have = 0;
    for (;;) {
        struct pollfd pf[2] = { { .fd = r->cfd, .events = POLLIN }, { .fd = r->sfd, .events = POLLIN } };
        if (poll(pf, 2, 10000) <= 0)
            break;
        if (pf[0].revents) {   /* client to server: pass through */
            uint8_t tmp[4096];
            ssize_t n = recv(r->cfd, tmp, sizeof tmp, 0);
            if (n <= 0 || send(r->sfd, tmp, (size_t)n, MSG_NOSIGNAL) != n)
                break;
        }
        if (pf[1].revents) {   /* server to client: whole records */
            ssize_t n = recv(r->sfd, buf + have, sizeof buf - have, 0);
            if (n <= 0)
                break;
            have += (size_t)n;
            while (have >= NK_REC_HDR && have >= (size_t)NK_REC_HDR + nk_load16(buf + 3)) {
                size_t len = NK_REC_HDR + nk_load16(buf + 3);
                if (buf[0] == NK_CT_APPLICATION_DATA && atomic_exchange(&r->corrupt, 0))
                    buf[len - 1] ^= 0x01;
                if (send(r->cfd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
                    goto out;
                memmove(buf, buf + len, have - len);
                have -= len;
            }
        }
    }
out:
    shutdown(r->cfd, SHUT_RDWR);
    shutdown(r->sfd, SHUT_RDWR);
    return NULL;
}

static void post_send_two(struct srv *s)
{
    if (s->hs != OK)
        return;
    const struct relay *r = s->arg;
    s->st[0] = send_fill(s->h, 100, 4);
    sem_wait(&s->go);      /* the client has read the first, and armed the relay */
    (void)r;
    s->st[1] = send_fill(s->h, 100, 5);
    s->st[2] = recv_until_end(s->h);
    sbyte4 cls;
    if (s->st[2] == ERR_SSL_FATAL_ALERT)
        s->st[3] = SSL_lookupAlert(s->h, s->st[2], (sbyte4 *)&s->u[0], &cls);
}

TEST(corrupted_record)
{
    int cpair[2], spair[2];
    struct relay r = { 0 };
    struct srv s = { 0 };
    env_up(4);
    ASSERT_EQ(make_pair(1, cpair), 0);   /* client <-> relay */
    ASSERT_EQ(make_pair(1, spair), 0);   /* relay <-> server */
    r.cfd = cpair[1];
    r.sfd = spair[0];
    ASSERT_EQ(pthread_create(&r.th, NULL, relay_main, &r), 0);
    s.fd = spair[1];
    s.store = env.srv;
    s.post = post_send_two;
    s.arg = &r;
    srv_start(&s);
    sbyte4 ch = SSL_connect(cpair[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(ch, 0);
    ASSERT_EQ(SSL_negotiateConnection(ch), OK);
    expect_layers(ch, "client");
    MSTATUS st = recv_check(ch, 100, 4);
    ST_EQ(st, OK);
    atomic_store(&r.corrupt, 1);
    sem_post(&s.go);
    st = recv_check(ch, 100, 5);
    /* The kernel answers EBADMSG, the software layer fails the tag: the same
     * error, and a bad_record_mac alert to the server either way. */
    ST_EQ(st, ERR_SSL_BAD_RECORD_MAC);
    sbyte4 id = -1, cls = -1;
    ASSERT_EQ(SSL_lookupAlert(ch, st, &id, &cls), OK);
    ASSERT_EQ(id, SSL_ALERT_BAD_RECORD_MAC);
    SSL_closeConnection(ch);
    srv_join(&s);
    ST_EQ(s.st[0], OK);
    ST_EQ(s.st[1], OK);
    ST_EQ(s.st[2], ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(s.u[0], (ubyte4)SSL_ALERT_BAD_RECORD_MAC);
    shutdown(cpair[0], SHUT_RDWR);
    pthread_join(r.th, NULL);
    for (int i = 0; i < 2; i++) {
        close(cpair[i]);
        close(spair[i]);
    }
    env_down();
}

/* ---- KeyUpdate under each rekey policy ----------------------------------------- */

FIXTURE(rekey) {
    int unused;
};
FIXTURE_VARIANT(rekey) {
    sbyte4 policy;
};
FIXTURE_VARIANT_ADD(rekey, fail) { .policy = NKTLS_REKEY_FAIL };
FIXTURE_VARIANT_ADD(rekey, software_rx) { .policy = NKTLS_REKEY_SOFTWARE_RX };
FIXTURE_VARIANT_ADD(rekey, software) { .policy = NKTLS_REKEY_SOFTWARE };
FIXTURE_SETUP(rekey) { env_up(4); }
FIXTURE_TEARDOWN(rekey) { env_down(); }

static sbyte4 g_policy;

static void pre_policy(struct srv *s)
{
    s->st[6] = NKTLS_setRekeyPolicy(s->h, g_policy);
}

/* Server: data, then wait while the client rekeys, then data again. */
static void post_rekey(struct srv *s)
{
    if (s->hs != OK)
        return;
    nktlsRecordLayerInfo info;
    NKTLS_getRecordLayerInfo(s->h, &info);
    s->u[0] = (ubyte4)info.txLayer;
    s->u[1] = (ubyte4)info.rxLayer;
    s->st[0] = recv_check(s->h, 1000, 10);     /* the KeyUpdate arrives before this */
    s->st[1] = send_fill(s->h, 1000, 11);
    s->st[2] = recv_until_end(s->h);
}

/* The client is all software, so it can always rekey: what is tested is how
 * the server, whose layers follow the policy, copes with the client's
 * KeyUpdate (update_requested: it must follow the client's key and update
 * its own). */
TEST_F(rekey, peer_key_update)
{
    struct pair p = { 0 };
    g_policy = variant->policy;
    p.s.pre = pre_policy;
    p.s.post = post_rekey;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(NKTLS_setKtlsMode(p.ch, NKTLS_KTLS_OFF), OK);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    ASSERT_EQ(SSL_sendKeyUpdateRequest(p.ch, 1), OK);
    MSTATUS st = send_fill(p.ch, 1000, 10);
    ST_EQ(st, OK);
    MSTATUS got = recv_check(p.ch, 1000, 11);
    pair_down(&p);
    ST_EQ(p.s.st[6], OK);
    int can = !kernel_tls() || NKTLS_kernelCanRekey();
    int rx_kernel = kernel_tls() && variant->policy == NKTLS_REKEY_FAIL;
    int tx_kernel = kernel_tls() && variant->policy != NKTLS_REKEY_SOFTWARE;
    if (!can) {
        EXPECT_EQ(p.s.u[0], (ubyte4)(tx_kernel ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE));
        EXPECT_EQ(p.s.u[1], (ubyte4)(rx_kernel ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE));
    }
    if (can || variant->policy == NKTLS_REKEY_SOFTWARE) {
        ST_EQ(p.s.st[0], OK);
        ST_EQ(p.s.st[1], OK);
        ST_EQ(got, OK);
        ST_EQ(p.s.st[2], ERR_SSL_CONNECTION_CLOSED);
    } else {
        /* The kernel cannot follow: the server stops cleanly with the reason,
         * and the client hears internal_error rather than garbage. */
        ST_EQ(p.s.st[0], ERR_SSL_KTLS_NO_REKEY);
        ST_EQ(got, ERR_SSL_FATAL_ALERT);
    }
}

/* Our own KeyUpdate with the kernel carrying TX. */
TEST(own_key_update)
{
    struct pair p = { 0 };
    env_up(4);
    p.s.post = post_rekey;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    MSTATUS st = SSL_sendKeyUpdateRequest(p.ch, 0);
    if (kernel_tls() && !NKTLS_kernelCanRekey())
        ST_EQ(st, ERR_SSL_KTLS_NO_REKEY);   /* refused before anything was queued */
    else
        ST_EQ(st, OK);
    st = send_fill(p.ch, 1000, 10);
    ST_EQ(st, OK);
    st = recv_check(p.ch, 1000, 11);
    ST_EQ(st, OK);
    pair_down(&p);
    ST_EQ(p.s.st[0], OK);
    env_down();
}

/* ---- modes ----------------------------------------------------------------------- */

TEST(mode_off)
{
    struct pair p = { 0 };
    env_up(4);
    p.s.post = post_wait_end;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(NKTLS_setKtlsMode(p.ch, NKTLS_KTLS_OFF), OK);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    nktlsRecordLayerInfo info;
    ASSERT_EQ(NKTLS_getRecordLayerInfo(p.ch, &info), OK);
    ASSERT_EQ(info.txLayer, NKTLS_LAYER_SOFTWARE);
    ASSERT_EQ(info.rxLayer, NKTLS_LAYER_SOFTWARE);
    ASSERT_STR_EQ(info.txReason, "disabled");
    ASSERT_STR_EQ(info.rxReason, "disabled");
    pair_down(&p);
    env_down();
}

TEST(mode_require)
{
    struct pair p = { 0 };
    env_up(4);
    p.s.post = post_wait_end;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(NKTLS_setKtlsMode(p.ch, NKTLS_KTLS_REQUIRE), OK);
    MSTATUS st = SSL_negotiateConnection(p.ch);
    if (kernel_tls()) {
        ST_EQ(st, OK);
        expect_layers(p.ch, "client");
    } else {
        ST_EQ(st, ERR_SSL_KTLS_UNAVAILABLE);
    }
    pair_down(&p);
    env_down();
}

TEST(unix_socket_falls_back)
{
    struct pair p = { 0 };
    env_up(4);
    p.s.post = post_wait_end;
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    nktlsRecordLayerInfo info;
    ASSERT_EQ(NKTLS_getRecordLayerInfo(p.ch, &info), OK);
    ASSERT_EQ(info.txLayer, NKTLS_LAYER_SOFTWARE);
    ASSERT_STR_EQ(info.txReason, kernel_tls() ? "not a TCP socket" : "no tls module");
    MSTATUS st = send_fill(p.ch, 5000, 12);
    ST_EQ(st, OK);
    pair_down(&p);
    env_down();
}

/* ---- sendfile -------------------------------------------------------------------- */

static int temp_file(size_t size, uint32_t seed)
{
    char path[] = "/tmp/nktls-sendfile-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    ubyte *buf = malloc(1 << 20);
    for (size_t done = 0, i = 0; done < size; i++) {
        size_t n = size - done < (1u << 20) ? size - done : (1u << 20);
        fill(buf, n, seed + (uint32_t)i);
        if (write(fd, buf, n) != (ssize_t)n) {
            close(fd);
            fd = -1;
            break;
        }
        done += n;
    }
    free(buf);
    return fd;
}

/* Read size bytes and compare them, chunk by chunk, with the file's content. */
static MSTATUS recv_file_check(sbyte4 h, size_t size, uint32_t seed)
{
    ubyte *want = malloc(1 << 20), *got = malloc(1 << 20);
    MSTATUS st = OK;
    for (size_t done = 0, i = 0; st == OK && done < size; i++) {
        size_t n = size - done < (1u << 20) ? size - done : (1u << 20);
        fill(want, n, seed + (uint32_t)i);
        st = recv_all(h, got, n, 60000);
        if (st == OK && memcmp(want, got, n) != 0)
            st = ERR_GENERAL;
        done += n;
    }
    free(want);
    free(got);
    return st;
}

struct file_job {
    int fd;
    ubyte8 offset, len, sent;
};

static void post_sendfile(struct srv *s)
{
    struct file_job *j = (struct file_job *)s->arg;
    if (s->hs != OK)
        return;
    nktlsRecordLayerInfo info;
    NKTLS_getRecordLayerInfo(s->h, &info);
    s->u[0] = (ubyte4)info.txLayer;
    s->st[0] = NKTLS_sendFile(s->h, j->fd, (sbyte8)j->offset, j->len, &j->sent);
    s->st[1] = send_fill(s->h, 10, 13);   /* still usable after a short file */
    s->st[2] = recv_until_end(s->h);
}

FIXTURE(sendfile) {
    int unused;
};
FIXTURE_VARIANT(sendfile) {
    size_t size;
};
FIXTURE_VARIANT_ADD(sendfile, empty) { .size = 0 };
FIXTURE_VARIANT_ADD(sendfile, one) { .size = 1 };
FIXTURE_VARIANT_ADD(sendfile, rec_minus_1) { .size = 16383 };
FIXTURE_VARIANT_ADD(sendfile, rec) { .size = 16384 };
FIXTURE_VARIANT_ADD(sendfile, rec_plus_1) { .size = 16385 };
FIXTURE_VARIANT_ADD(sendfile, mib) { .size = 1 << 20 };
FIXTURE_VARIANT_ADD(sendfile, mib100) { .size = 100u << 20 };
FIXTURE_SETUP(sendfile) { env_up(4); }
FIXTURE_TEARDOWN(sendfile) { env_down(); }

TEST_F(sendfile, whole_file)
{
    struct pair p = { 0 };
    struct file_job j = { .fd = temp_file(variant->size, 20), .len = variant->size };
    ASSERT_GE(j.fd, 0);
    p.s.post = post_sendfile;
    p.s.arg = &j;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    MSTATUS st = recv_file_check(p.ch, variant->size, 20);
    ST_EQ(st, OK);
    st = recv_check(p.ch, 10, 13);
    ST_EQ(st, OK);
    pair_down(&p);
    ST_EQ(p.s.st[0], OK);
    ASSERT_EQ(j.sent, (ubyte8)variant->size);
    ASSERT_EQ(p.s.u[0], (ubyte4)(kernel_tls() ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE));
    close(j.fd);
}

TEST(sendfile_short_file)
{
    struct pair p = { 0 };
    env_up(4);
    /* Ask for 3000 bytes from offset 1000 of a 2500-byte file: 1500 arrive. */
    struct file_job j = { .fd = temp_file(2500, 30), .offset = 1000, .len = 3000 };
    ASSERT_GE(j.fd, 0);
    p.s.post = post_sendfile;
    p.s.arg = &j;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    ubyte want[2500], got[1500];
    fill(want, sizeof want, 30);
    MSTATUS st = recv_all(p.ch, got, sizeof got, 10000);
    ST_EQ(st, OK);
    ASSERT_MEM_EQ(got, want + 1000, sizeof got);
    st = recv_check(p.ch, 10, 13);
    ST_EQ(st, OK);
    pair_down(&p);
    ST_EQ(p.s.st[0], ERR_FILE_EOF);
    ASSERT_EQ(j.sent, (ubyte8)1500);
    ST_EQ(p.s.st[1], OK);
    close(j.fd);
    env_down();
}

TEST(sendfile_peer_goes_away)
{
    struct pair p = { 0 };
    env_up(4);
    struct file_job j = { .fd = temp_file(64u << 20, 40), .len = 64u << 20 };
    ASSERT_GE(j.fd, 0);
    p.s.post = post_sendfile;
    p.s.arg = &j;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    MSTATUS st = recv_file_check(p.ch, 100000, 40);
    ST_EQ(st, OK);
    /* Vanish without close_notify, mid-transfer: unread data makes it a reset. */
    close(p.fd[0]);
    p.fd[0] = -1;
    ASSERT_EQ(SSL_closeConnection(p.ch), OK);
    p.ch = 0;
    srv_join(&p.s);
    ST_EQ(p.s.st[0], ERR_TCP_WRITE_ERROR);
    ASSERT_LT(j.sent, (ubyte8)(64u << 20));
    close(p.fd[1]);
    close(j.fd);
    env_down();
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    return api_env_main(argc, argv);
}
