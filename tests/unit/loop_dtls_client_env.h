/* loop_dtls_client_env.h — what test_loop_dtls_client.c's cases share: the
 * loop's DTLS server (echo; "close" makes it close), a client-only loop
 * whose connections follow a plan (messages echoed, then a close by either
 * side, or nothing), the SRTP keying material each side was given, and the
 * fixture with one variant per backend (io_uring, io_uring without
 * multishot and buffer rings, epoll). Header-only: included once. */
#ifndef NKTLS_TEST_LOOP_DTLS_CLIENT_ENV_H
#define NKTLS_TEST_LOOP_DTLS_CLIENT_ENV_H

#include <dirent.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include "api_env.h"
#include "nktls_loop.h"
#include "engine/conn.h"
#include "engine/dtls.h"

#define WAIT_FOR(cond, ms) \
    for (int t_ = 0; t_ < (ms) && !(cond); t_ += 5) \
        usleep(5000)

static const ubyte2 srtp_profile = SRTP_AES128_CM_HMAC_SHA1_80;
static const char ekm_label[] = "EXTRACTOR-dtls_srtp";

static int port_of(const struct sockaddr_in *a) { return ntohs(a->sin_port); }

static int64_t now_ms(void) { return (int64_t)ms_now(); }

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

/* ---- SRTP keying material, as the init callback gives it to each side ---- */

static pthread_mutex_t km_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    sbyte4 h;
    ubyte2 profile;
    ubyte km[64];
    size_t len;
} told[4];
static int n_told;

static sbyte4 on_srtp_init(sbyte4 h, peerDescr *peer, const SrtpProfileInfo *info, void *km, ubyte *mki)
{
    (void)peer;
    (void)mki;
    pthread_mutex_lock(&km_mu);
    size_t len = 2u * (size_t)(info->keySize + info->saltSize);
    if (n_told < 4 && len <= sizeof told[0].km) {
        told[n_told].h = h;
        told[n_told].profile = info->profileId;
        memcpy(told[n_told].km, km, len);
        told[n_told++].len = len;
    }
    pthread_mutex_unlock(&km_mu);
    return OK;
}

static int told_for(sbyte4 h)
{
    for (int i = 0; i < n_told; i++)
        if (told[i].h == h)
            return i;
    return -1;
}

/* ---- the loop's DTLS server: echo; "close" makes it close ---------------- */

struct lsrv {
    atomic_int opened, closed, st_ok, last_open, last_st, peer_port, resumed;
    ubyte ekm[60];
};

static int srv_srtp;     /* the server agrees use_srtp */
static int srv_rtx_ms;   /* its first retransmission wait (0: the default, 1 s) */
static ubyte2 srv_suite; /* the one suite it takes (0: its defaults) */
static atomic_int srv_open_sleep_ms;   /* its next onOpen takes this long */

static MSTATUS s_setup(sbyte4 h, void *arg)
{
    (void)arg;
    if (srv_srtp)
        NK_TRY(SSL_enableSrtpProfiles(h, (ubyte2 *)&srtp_profile, 1));
    if (srv_rtx_ms)
        NK_TRY(SSL_ioctl(h, DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER, (void *)(uintptr_t)srv_rtx_ms));
    if (srv_suite)
        NK_TRY(SSL_enableCiphers(h, &srv_suite, 1));
    return OK;
}

static void s_open(sbyte4 h, void *arg)
{
    struct lsrv *s = arg;
    MOC_IP_ADDRESS_S a;
    ubyte2 port = 0;
    int sleep_ms = atomic_exchange(&srv_open_sleep_ms, 0);
    if (sleep_ms)
        usleep((useconds_t)sleep_ms * 1000);
    if (NKTLS_getPeerAddress(h, &port, &a) == OK)
        atomic_store(&s->peer_port, port);
    atomic_store(&s->resumed, NKTLS_isSessionResumed(h));
    if (srv_srtp)
        (void)!SSL_generateExportKeyMaterial(h, s->ekm, sizeof s->ekm, (ubyte *)ekm_label, sizeof ekm_label - 1,
                                             NULL, 0, 0);
    atomic_store(&s->last_open, h);
    atomic_fetch_add(&s->opened, 1);
}

static void s_data(sbyte4 h, const ubyte *d, ubyte4 n, void *arg)
{
    (void)arg;
    if (n == 5 && memcmp(d, "close", 5) == 0)
        NKTLS_LOOP_close(h);
    else
        NKTLS_LOOP_send(h, d, n);
}

static void s_close(sbyte4 h, MSTATUS st, void *arg)
{
    struct lsrv *s = arg;
    (void)h;
    atomic_fetch_add(&s->st_ok, st == OK);
    atomic_store(&s->last_st, st);
    atomic_fetch_add(&s->closed, 1);
}

static const nktlsLoopCallbacks srv_cb = { s_setup, s_open, s_data, s_close, NULL };

/* ---- the client loop ----------------------------------------------------- */

enum plan {
    ECHO_CLIENT_CLOSE,   /* three messages echoed, then NKTLS_LOOP_close */
    ECHO_SERVER_CLOSE,   /* the same, then "close": the server closes */
    SMALL_CLIENT_CLOSE,  /* one message of 200 bytes, then NKTLS_LOOP_close */
    HOLD,                /* nothing: the test decides */
};

/* The messages of ECHO_*: short, over 1 KiB, and over one record. */
static const size_t msg_len[] = { 15, 1100, 3000 };
#define ECHO_TOTAL (15 + 1100 + 3000)

/* One client connection. Written on the client loop's thread; the test
 * reads it once closed (or opened) is set. The cases keep theirs (and what
 * their helper threads use) static: a failed check leaves the case while
 * the loops still run until the teardown stops them, and each case runs in
 * a process of its own. */
struct cconn {
    enum plan plan;
    uint32_t seed;
    sbyte4 h;
    size_t want, got;
    int bad, is_dtls, resumed, peer_port, save_session, offer_session;
    ubyte4 version;
    uint32_t retransmits;   /* the engine's flights sent again, at onOpen or onClose */
    ubyte ekm[60];
    MSTATUS st;
    int64_t closed_at;
    atomic_int opened, closed;
    /* The datagram callback: how many, the last one's handle, source port and bytes */
    atomic_int dgrams;
    sbyte4 dg_h;
    int dg_port;
    ubyte dg[64];
    size_t dg_len;
};

struct cli {
    sbyte4 loop;
    pthread_t th;
    int th_up;
    atomic_int opened, closed, ok;
};

static int cli_srtp;   /* the client offers use_srtp */
static ubyte2 cli_suite;   /* the one suite it offers (0: its defaults) */
static atomic_int cli_open_sleep_ms;   /* its next onOpen takes this long */
static struct {
    ubyte id_len;
    ubyte id[SSL_MAXSESSIONIDSIZE], master[SSL_MASTERSECRETSIZE];
} session;

static uint32_t engine_retransmits(sbyte4 h)
{
    struct nk_conn *c;
    return nk_conn_get(h, &c) == OK && c->dtls ? c->dtls->retransmits : 0;
}

static MSTATUS c_setup(sbyte4 h, void *arg)
{
    struct cconn *k = NKTLS_LOOP_getConnArg(h);
    (void)arg;
    k->h = h;
    if (cli_srtp)
        NK_TRY(SSL_enableSrtpProfiles(h, (ubyte2 *)&srtp_profile, 1));
    if (cli_suite)
        NK_TRY(SSL_enableCiphers(h, &cli_suite, 1));
    if (k->offer_session)
        NK_TRY(NKTLS_setClientSession(h, session.id_len, session.id, session.master));
    return OK;
}

static void send_messages(struct cconn *k)
{
    ubyte buf[3000];
    size_t off = 0;
    int n = k->plan == SMALL_CLIENT_CLOSE ? 1 : 3;
    for (int m = 0; m < n; m++) {
        size_t len = k->plan == SMALL_CLIENT_CLOSE ? 200 : msg_len[m];
        for (size_t i = 0; i < len; i++)
            buf[i] = pat(k->seed, off + i);
        if (NKTLS_LOOP_send(k->h, buf, (ubyte4)len) != OK)
            k->bad = 1;
        off += len;
    }
    k->want = off;
}

static void c_open(sbyte4 h, void *arg)
{
    struct cli *x = arg;
    struct cconn *k = NKTLS_LOOP_getConnArg(h);
    MOC_IP_ADDRESS_S a;
    ubyte2 port = 0;
    int sleep_ms = atomic_exchange(&cli_open_sleep_ms, 0);
    if (sleep_ms)
        usleep((useconds_t)sleep_ms * 1000);
    k->h = h;
    k->is_dtls = SSL_isSessionDTLS(h) == TRUE;
    (void)!SSL_getSSLTLSVersion(h, &k->version);
    k->resumed = NKTLS_isSessionResumed(h);
    k->retransmits = engine_retransmits(h);
    if (NKTLS_getPeerAddress(h, &port, &a) == OK)
        k->peer_port = port;
    if (cli_srtp)
        (void)!SSL_generateExportKeyMaterial(h, k->ekm, sizeof k->ekm, (ubyte *)ekm_label, sizeof ekm_label - 1,
                                             NULL, 0, 0);
    if (k->save_session && SSL_getClientSessionInfo(h, &session.id_len, session.id, session.master) != OK)
        k->bad = 1;
    if (k->plan != HOLD)
        send_messages(k);
    atomic_store(&k->opened, 1);
    atomic_fetch_add(&x->opened, 1);
}

static void c_data(sbyte4 h, const ubyte *d, ubyte4 n, void *arg)
{
    struct cconn *k = NKTLS_LOOP_getConnArg(h);
    (void)arg;
    for (ubyte4 i = 0; i < n && !k->bad; i++)
        k->bad = k->got + i >= k->want || d[i] != pat(k->seed, k->got + i);
    k->got += n;
    if (k->bad || k->got != k->want)
        return;
    if (k->plan == ECHO_SERVER_CLOSE)
        NKTLS_LOOP_send(h, (const ubyte *)"close", 5);
    else
        NKTLS_LOOP_close(h);
}

static void c_close(sbyte4 h, MSTATUS st, void *arg)
{
    struct cli *x = arg;
    struct cconn *k = NKTLS_LOOP_getConnArg(h);
    k->st = st;
    if (!atomic_load(&k->opened))
        k->retransmits = engine_retransmits(h);
    k->closed_at = now_ms();
    atomic_fetch_add(&x->ok, st == OK && !k->bad && k->got == k->want);
    atomic_store(&k->closed, 1);
    atomic_fetch_add(&x->closed, 1);
}

static void c_datagram(sbyte4 h, const struct sockaddr *from, ubyte4 fl, const ubyte *d, ubyte4 n, void *arg)
{
    (void)arg;
    (void)fl;
    struct cconn *k = NKTLS_LOOP_getConnArg(h);
    if (!k)
        return;
    k->dg_h = h;
    k->dg_port = from->sa_family == AF_INET ? port_of((const struct sockaddr_in *)from) : -1;
    k->dg_len = n < sizeof k->dg ? n : sizeof k->dg;
    memcpy(k->dg, d, k->dg_len);
    atomic_fetch_add(&k->dgrams, 1);
}

static const nktlsLoopCallbacks cli_cb = { c_setup, c_open, c_data, c_close, NULL };

/* ---- the fixture: the loop server, the client loop, one variant per backend ---- */

struct env {
    sbyte4 backend;
    struct lsrv s;
    int fd;                      /* the server's UDP socket */
    struct sockaddr_in addr;
    sbyte4 srv;
    pthread_t th;
    int th_up;
    struct cli c;
};

static void *run_thread(void *p)
{
    return (void *)(intptr_t)NKTLS_LOOP_run(*(sbyte4 *)p);
}

/* The loop server on the fixture's socket; 0 after SKIP. */
static int lsrv_start(struct th_meta *_metadata, struct env *e)
{
    nktlsLoopOptions o = { .backend = e->backend };
    e->srv = NKTLS_LOOP_createServer(&e->fd, 1, env.srv, &srv_cb, &e->s, &o);
    if (e->srv == ERR_NOT_SUPPORTED)
        SKIP(return 0, "io_uring unavailable");
    ASSERT_GT(e->srv, 0);
    ASSERT_EQ(pthread_create(&e->th, NULL, run_thread, &e->srv), 0);
    e->th_up = 1;
    return 1;
}

/* The client-only loop (one worker; two where asked); 0 after SKIP. */
static int cli_start(struct th_meta *_metadata, struct env *e, ubyte4 hs_ms, ubyte4 workers)
{
    nktlsLoopOptions o = { .backend = e->backend, .handshakeTimeoutMs = hs_ms, .workers = workers };
    e->c.loop = NKTLS_LOOP_createServer(NULL, 0, NULL, &cli_cb, &e->c, &o);
    if (e->c.loop == ERR_NOT_SUPPORTED)
        SKIP(return 0, "io_uring unavailable");
    ASSERT_GT(e->c.loop, 0);
    ASSERT_EQ(NKTLS_LOOP_setDatagramCallback(e->c.loop, c_datagram), OK);
    ASSERT_EQ(pthread_create(&e->c.th, NULL, run_thread, &e->c.loop), 0);
    e->c.th_up = 1;
    return 1;
}

/* The loop server and a client loop of one worker; 0 after SKIP. */
static int both_start(struct th_meta *_metadata, struct env *e)
{
    return lsrv_start(_metadata, e) && cli_start(_metadata, e, 10000, 1);
}

static sbyte4 dial(struct env *e, const struct sockaddr_in *to, struct cconn *k)
{
    return NKTLS_LOOP_connectDTLS(e->c.loop, (const struct sockaddr *)to, sizeof *to,
                                  (const sbyte *)"server.example.com", env.cli, k);
}

static nktlsLoopStats stats_of(sbyte4 loop)
{
    nktlsLoopStats s;
    memset(&s, 0, sizeof s);
    NKTLS_LOOP_getStats(loop, &s);
    return s;
}

/* Every client connection freed, and its socket with it: the descriptors
 * open are those open at fds0. */
static void check_all_freed(struct th_meta *_metadata, struct env *e, int fds0)
{
    WAIT_FOR(stats_of(e->c.loop).live == 0, 3000);
    ASSERT_EQ(stats_of(e->c.loop).live, 0u);
    ASSERT_EQ(open_fds(), fds0);
}

static void stop_loop(struct th_meta *_metadata, sbyte4 loop, pthread_t th)
{
    void *r;
    ASSERT_EQ(NKTLS_LOOP_stop(loop), OK);
    ASSERT_EQ(pthread_join(th, &r), 0);
    EXPECT_EQ((MSTATUS)(intptr_t)r, OK);
    ASSERT_EQ(NKTLS_LOOP_destroy(loop), OK);
}

FIXTURE(dcli) {
    struct env e;
};

FIXTURE_VARIANT(dcli) {
    sbyte4 backend;
    const char *disable;     /* NKTLS_URING_DISABLE */
};

FIXTURE_VARIANT_ADD(dcli, uring) {
    .backend = NKTLS_LOOP_BACKEND_URING,
};
FIXTURE_VARIANT_ADD(dcli, uring_basic) {
    .backend = NKTLS_LOOP_BACKEND_URING, .disable = "multishot,bufring",
};
FIXTURE_VARIANT_ADD(dcli, epoll) {
    .backend = NKTLS_LOOP_BACKEND_EPOLL,
};

FIXTURE_SETUP(dcli)
{
    memset(&self->e, 0, sizeof self->e);
    if (variant->disable)
        setenv("NKTLS_URING_DISABLE", variant->disable, 1);
    self->e.backend = variant->backend;
    env_up(128);
    self->e.fd = udp_bound(&self->e.addr, INADDR_LOOPBACK);
    ASSERT_GE(self->e.fd, 0);
}

FIXTURE_TEARDOWN(dcli)
{
    struct env *e = &self->e;
    if (e->c.th_up)
        stop_loop(_metadata, e->c.loop, e->c.th);
    if (e->th_up)
        stop_loop(_metadata, e->srv, e->th);
    if (e->fd >= 0)
        close(e->fd);
    srv_srtp = cli_srtp = srv_rtx_ms = 0;
    srv_suite = cli_suite = 0;
    atomic_store(&srv_open_sleep_ms, 0);
    atomic_store(&cli_open_sleep_ms, 0);
    (void)SSL_setSrtpInitCallback(NULL);
    env_down();
}

static void check_echoed(struct th_meta *_metadata, struct cconn *k, MSTATUS want_st)
{
    ASSERT_EQ(atomic_load(&k->opened), 1);
    ASSERT_EQ(k->is_dtls, 1);
    ASSERT_EQ(k->version, (ubyte4)DTLS12_MINORVERSION);
    ST_EQ(k->st, want_st);
    ASSERT_EQ(k->bad, 0);
    ASSERT_EQ(k->got, k->want);
}

#endif
