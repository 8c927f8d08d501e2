/* nktls-server — a small TLS server on the NanoSSL-style API: echoes what each
 * client sends (or, with --www, answers one HTTP request describing the
 * connection; with --root, serves files over HTTP/1.1, see http_files.h).
 * --io uring (the default) or epoll: nktls runs one event loop per worker
 * (nktls_loop.h; the file server through http_loop.c); --io threads: one
 * detached thread per connection, blocking calls. --dtls: DTLS 1.2 over UDP,
 * echo: on the event loop (many clients at once, by address), or with
 * --io threads one client at a time on a connected socket. */
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "dtls.h"
#include "http_files.h"
#include "http_loop.h"
#include "nktls_loop.h"

static const char usage[] =
    "usage: nktls-server --listen ADDR:PORT --cert FILE --key FILE [--chain FILE]\n"
    "         [--psk IDENTITY:HEXKEY [--psk-ke]]\n"
    "         [--ca FILE --verify-client] [--alpn LIST] [--ciphers LIST] [--groups LIST]\n"
    "         [--tls 1.2|1.3|any] [--tls-min 1.2|1.3] [--tls-max 1.2|1.3]\n"
    "         [--ktls auto|off|require] [--rekey fail|software-rx|software] [--zerocopy-sendfile]\n"
    "         [--www | --root DIR] [--count N] [--io uring|epoll|threads] [--workers N] [-v]\n"
    "         [--handshake-timeout MS] [--idle-timeout MS] [--header-timeout MS]\n"
    "         [--ticket-keys FILE] [--tickets N] [--ocsp FILE] [--heartbeat]\n"
    "         [--allow-renegotiation] [--max-early-data BYTES] [--pha]\n"
    "         [--dtls [--srtp PROFILE[,PROFILE]] [--pmtu N]]\n"
    "         [--keymatexport LABEL [--keymatexportlen N]] [-h] [--version]\n"
    "  --dtls: DTLS 1.2 over UDP, echo: the event loop serves many clients at once\n"
    "  (--io threads: one client at a time); --srtp: SRTP_AES128_CM_SHA1_80,\n"
    "  SRTP_AES128_CM_SHA1_32, SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM\n"
    "  --ciphers: IANA names (TLS_AES_128_GCM_SHA256) or 0xNNNN, comma-separated\n"
    "  --ktls require: refused at start-up when the kernel cannot carry TLS\n"
    "  --psk: clients may authenticate with this external PSK (then --cert and --key\n"
    "  may be left out): TLS 1.3, and the TLS 1.2 / DTLS 1.2 PSK suites --ciphers names\n"
    "  (0x00A8, 0xCCAC...); --psk-ke: take it without (EC)DHE when a client offers so\n"
    "  --ticket-keys FILE: seal session tickets with the keys of FILE, shared by a fleet\n"
    "  (docs/ticket-keys.md); without it, a random key per process\n"
    "  --ocsp FILE: a DER OCSP response for the certificate, stapled for clients that ask\n"
    "  --heartbeat: answer TLS 1.2 clients' heartbeat requests (RFC 6520; -v logs each)\n"
    "  --allow-renegotiation: TLS 1.2 clients may renegotiate (RFC 5746 only, a few a minute)\n"
    "  --max-early-data BYTES: tickets allow this much TLS 1.3 0-RTT data, and a\n"
    "  resumed client's early data up to it is accepted (read before the rest)\n"
    "  --pha: after a TLS 1.3 handshake whose client offered post_handshake_auth, ask\n"
    "  for its certificate (CertificateRequest, RFC 8446 4.6.2) and print what came\n"
    "  (\"pha: PEER: ...\" on stdout); with --verify-client one is required\n"
    "  (certificate_required otherwise). Needs --ca; --io threads, echo or --www\n"
    "  --tickets N: session tickets after a full handshake (default 1; 0: none, so\n"
    "  TLS 1.2 clients resume by session id)\n"
    "  --root: a request head must arrive whole within --header-timeout (default 10000),\n"
    "  a keep-alive connection may be silent --idle-timeout between requests (default\n"
    "  30000; without --root: no idle limit unless given).\n";

/* Read-only once the accept loop starts. */
static struct {
    struct ex_opts tls;
    certStorePtr store;
    int verify_client;
    int heartbeat;             /* --heartbeat */
    int allow_reneg;           /* --allow-renegotiation */
    int pha;                   /* --pha: post-handshake client authentication */
    int www;
    const char *root;          /* --root: serve files from here */
    struct http_files files;
    enum ex_io io;
    long workers;
    long count;
    long hs_timeout_ms;        /* 0: the library's default */
    long idle_timeout_ms;      /* -1: not given */
    long max_early;            /* --max-early-data: 0-RTT bytes our tickets allow */
    long tickets;              /* -1: not given (the library's default) */
    struct ex_dtls dtls;       /* --dtls: one client at a time over UDP */
} cfg;

/* Connections finished, for --count. */
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static long n_done;

struct client {
    int fd;
    char peer[128];    /* "addr:port", for messages */
    int pha_pending;   /* --pha: a certificate was asked for, no outcome printed yet */
};

/* ALPN: the first of our protocols that the client offers. in is the client's
 * list in wire format (<len><bytes>...); *out gets the chosen entry, length byte
 * included, pointing into in. */
static sbyte4 choose_alpn(sbyte4 conn, ubyte **out[], sbyte4 *outLen, ubyte *in, sbyte4 inLen)
{
    sbyte4 i, off;

    for (i = 0; i < cfg.tls.n_alpn; i++) {
        size_t want = strlen(cfg.tls.alpn[i]);
        for (off = 0; off < inLen; off += 1 + in[off]) {
            size_t len = in[off];
            if (off + 1 + (sbyte4)len > inLen)
                return ERR_SSL_PROTOCOL;           /* malformed list */
            if (len == want && memcmp(in + off + 1, cfg.tls.alpn[i], len) == 0) {
                *out = (ubyte **)(in + off);
                *outLen = 1 + (sbyte4)len;
                return OK;
            }
        }
    }
    return ERR_SSL_NO_APPLICATION_PROTOCOL;
}

/* For a handshake that found no common version: what the client offered and what
 * this server accepts. */
static const char *version_hint(sbyte4 conn, MSTATUS st)
{
    static __thread char text[160];
    const char *offered;

    if (!ex_is_version_refusal(conn, st))
        return "";
    offered = ex_peer_versions_text(conn);
    snprintf(text, sizeof(text), "%s%s; this server accepts %s (see --tls)",
             *offered ? "; the client offered " : "", offered, ex_versions_text(&cfg.tls));
    return text;
}

/* --heartbeat -v: one line per request answered or response matched. */
static sbyte4 on_heartbeat(sbyte4 conn, sbyte4 status, ubyte type)
{
    if (cfg.tls.verbose && status == OK) {
        printf("heartbeat: %s\n", type == 1 ? "request answered" : "response received");
        fflush(stdout);
    }
    return OK;
}

static MSTATUS setup_conn(sbyte4 conn)
{
    MSTATUS st = ex_apply_opts(conn, &cfg.tls);

    if (st == OK && (cfg.verify_client || cfg.allow_reneg || cfg.pha)) {
        ubyte4 flags = 0;
        st = SSL_getSessionFlags(conn, &flags);
        /* --pha: the handshake asks for nothing; --verify-client applies to
         * the request after it (pha_request). */
        flags |= cfg.verify_client && !cfg.pha ? SSL_FLAG_REQUIRE_MUTUAL_AUTH : 0;
        flags |= cfg.pha ? SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH : 0;
        flags |= cfg.allow_reneg ? NKTLS_FLAG_ALLOW_RENEGOTIATION : 0;
        if (st == OK)
            st = SSL_setSessionFlags(conn, flags);
    }
    if (st == OK && cfg.tls.n_alpn)
        st = SSL_setAlpnCallback(conn, choose_alpn);
    if (st == OK && cfg.heartbeat)
        st = SSL_enableHeartbeatSupport(conn, peerAllowedToSend, on_heartbeat);
    if (st == OK && cfg.max_early)
        st = SSL_setMaxEarlyDataSize(conn, (sbyte4)cfg.max_early);
    if (st == OK && cfg.tickets >= 0)
        st = SSL_ioctl(conn, SSL_SET_NUM_TICKETS, (void *)(uintptr_t)cfg.tickets);
    if (st == OK && cfg.dtls.on && cfg.io == EX_IO_THREADS)   /* a client that goes silent ends its turn */
        st = SSL_ioctl(conn, SSL_SET_RECV_TIMEOUT,
                       (void *)(uintptr_t)(cfg.idle_timeout_ms > 0 ? cfg.idle_timeout_ms : 30000));
    if (st == OK && cfg.dtls.on)
        st = ex_dtls_setup(conn, &cfg.dtls);
    return st;
}

/* --pha, the handshake done: ask for the client's certificate, required with
 * --verify-client. Its answer is read with the data that follows (pha_poll). */
static void pha_request(sbyte4 conn, struct client *c)
{
    ubyte4 flags = 0;
    MSTATUS st = SSL_getSessionFlags(conn, &flags);

    if (st == OK && cfg.verify_client)
        st = SSL_setSessionFlags(conn, flags | SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    if (st == OK)
        st = SSL_sendPosthandshakeAuthCertificateRequest(conn);
    if (st == ERR_SSL_BAD_STATE)
        printf("pha: %s: not asked: the client did not offer post_handshake_auth "
               "(or the connection is not TLS 1.3)\n", c->peer);
    else if (st != OK)
        printf("pha: %s: the request failed: %s\n", c->peer, ex_status_text(st));
    else
        printf("pha: %s: client certificate requested%s\n", c->peer,
               cfg.verify_client ? " (required)" : "");
    fflush(stdout);
    c->pha_pending = st == OK;
}

/* After each receive (st its status; closed: the connection ends): what the
 * client answered, once it is known. An empty answer shows only at the end. */
static void pha_poll(sbyte4 conn, struct client *c, MSTATUS st, int closed)
{
    const ubyte *der = NULL;
    ubyte4 len = 0;
    char info[1024];
    const char *subject;

    if (!c->pha_pending)
        return;
    if (NKTLS_getPeerCertificate(conn, 0, &der, &len) == OK) {
        ex_format_info(conn, EX_INFO_PEER, info, sizeof(info));
        subject = strstr(info, "peer: ");
        printf("pha: %s: client certificate received, %u bytes, %.*s\n", c->peer,
               (unsigned)len, subject ? (int)strcspn(subject + 6, "\n") : 1,
               subject ? subject + 6 : "?");
    } else if (st < 0 && st != ERR_TCP_READ_TIMEOUT && st != ERR_TCP_WOULDBLOCK &&
               st != ERR_SSL_CONNECTION_CLOSED) {
        printf("pha: %s: refused: %s%s\n", c->peer, ex_status_text(st),
               ex_alert_suffix(conn, st));
    } else if (closed) {
        printf("pha: %s: no client certificate came\n", c->peer);
    } else {
        return;
    }
    fflush(stdout);
    c->pha_pending = 0;
}

/* Echo until the client closes. */
static void serve_echo(sbyte4 conn, struct client *c)
{
    char buf[16384];

    for (;;) {
        sbyte4 n = 0;
        MSTATUS st = SSL_recv(conn, (sbyte *)buf, sizeof(buf), &n, 0);
        pha_poll(conn, c, st, 0);
        if (st == ERR_SSL_CONNECTION_CLOSED || (st == ERR_TCP_READ_TIMEOUT && cfg.dtls.on))
            return;
        if (st == ERR_TCP_WOULDBLOCK && cfg.dtls.on)
            ex_dtls_drop_other(conn, c->fd);
        if (st < 0 && st != ERR_TCP_READ_TIMEOUT && st != ERR_TCP_WOULDBLOCK) {
            if (cfg.tls.verbose)
                fprintf(stderr, "%s: %s: receive failed: %s\n", ex_prog, c->peer,
                        ex_status_text(st));
            return;
        }
        if (n > 0 && (st = ex_ssl_send_all(conn, buf, (size_t)n)) != OK) {
            if (cfg.tls.verbose)
                fprintf(stderr, "%s: %s: send failed: %s\n", ex_prog, c->peer,
                        ex_status_text(st));
            return;
        }
    }
}

/* Read one HTTP request head, answer with a description of the connection. */
static void serve_www(sbyte4 conn, struct client *c)
{
    char req[16384], info[1024], resp[1536];
    size_t used = 0;
    int len;

    while (!memmem(req, used, "\r\n\r\n", 4) && !memmem(req, used, "\n\n", 2)) {
        sbyte4 n = 0;
        MSTATUS st;
        if (used == sizeof(req))
            return;                                /* head too large: just close */
        st = SSL_recv(conn, (sbyte *)req + used, (sbyte4)(sizeof(req) - used), &n, 0);
        pha_poll(conn, c, st, 0);
        if (st < 0 && st != ERR_TCP_READ_TIMEOUT && st != ERR_TCP_WOULDBLOCK)
            return;
        used += (size_t)(n > 0 ? n : 0);
    }
    ex_format_info(conn, EX_INFO_SNI, info, sizeof(info));
    len = snprintf(resp, sizeof(resp),
                   "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n%s", strlen(info), info);
    if (ex_ssl_send_all(conn, resp, (size_t)len) != OK && cfg.tls.verbose)
        fprintf(stderr, "%s: %s: send failed\n", ex_prog, c->peer);
}

static void serve(struct client *c)
{
    sbyte4 conn = SSL_acceptConnection(c->fd, cfg.store);
    MSTATUS st;

    if (conn < 0) {
        fprintf(stderr, "%s: %s: SSL_acceptConnection: %s\n", ex_prog, c->peer,
                ex_status_text((MSTATUS)conn));
        return;
    }
    st = setup_conn(conn);
    if (st == OK)
        st = SSL_negotiateConnection(conn);
    if (st != OK) {
        fprintf(stderr, "%s: %s: handshake failed: %s%s%s\n", ex_prog, c->peer,
                ex_status_text(st), ex_alert_suffix(conn, st), version_hint(conn, st));
        SSL_closeConnection(conn);
        return;
    }
    ex_dtls_report(conn, &cfg.dtls);
    if (cfg.tls.verbose) {
        char info[1024];
        ex_format_info(conn, EX_INFO_PEER | EX_INFO_SNI | EX_INFO_LAYER, info, sizeof(info));
        /* One fprintf: stderr's lock keeps other threads' lines out of the block. */
        fprintf(stderr, "connection from %s\n%s", c->peer, info);
    }
    if (cfg.pha)
        pha_request(conn, c);
    if (cfg.root)
        http_files_serve(conn, &cfg.files, c->peer);
    else if (cfg.www)
        serve_www(conn, c);
    else
        serve_echo(conn, c);
    pha_poll(conn, c, OK, 1);
    SSL_closeConnection(conn);       /* sends close_notify; the socket stays ours */
}

/* --dtls: one client at a time on a UDP socket connected to it. */
static void dtls_loop(const char *listen_arg, long count)
{
    printf("io: DTLS 1.2 over UDP, one client at a time\n");
    fflush(stdout);
    for (long n = 0; !count || n < count; n++) {
        struct client c;
        c.fd = ex_dtls_accept(listen_arg, c.peer, sizeof c.peer);
        serve(&c);
        close(c.fd);
    }
}

static void *client_thread(void *arg)
{
    struct client *c = arg;

    serve(c);
    close(c->fd);
    free(c);
    pthread_mutex_lock(&done_lock);
    n_done++;
    pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

static void accept_loop(int lfd, long count)
{
    pthread_attr_t attr;
    long accepted = 0;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (count == 0 || accepted < count) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        struct client *c;
        pthread_t tid;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
                continue;
            ex_fail("accept: %s", strerror(errno));
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        ex_addr_text((struct sockaddr *)&ss, sl, c->peer, sizeof(c->peer));
        accepted++;
        if (pthread_create(&tid, &attr, client_thread, c) != 0)
            client_thread(c);        /* no thread to spare: serve it here */
    }
    pthread_attr_destroy(&attr);

    /* --count: wait for the last connections to finish before exiting. */
    pthread_mutex_lock(&done_lock);
    while (n_done < accepted)
        pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);
}

/* ---- --io uring|epoll: the event loop --------------------------------------- */

/* What the loop keeps per connection (NKTLS_LOOP_setConnArg). */
struct lconn {
    char peer[128];
    int opened;
    struct http_lconn *http;   /* --root */
    size_t used;               /* --www: request bytes so far */
    char req[];
};

static sbyte4 loop_server;
static long loop_done;         /* connections closed, for --count */
static pthread_mutex_t loop_done_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_signal(int sig)
{
    (void)sig;
    NKTLS_LOOP_stop(loop_server);    /* async-signal-safe */
}

/* The peer's address: a DTLS peer of the loop shares the loop's socket,
 * so it comes from nktls (NKTLS_getPeerAddress), not from getpeername. */
static void peer_of(sbyte4 conn, char *out, size_t cap)
{
    MOC_IP_ADDRESS_S a;
    ubyte2 port = 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (NKTLS_getPeerAddress(conn, &port, &a) != OK) {
        snprintf(out, cap, "?");
        return;
    }
    if (a.family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        v4->sin_addr.s_addr = htonl(a.uin.addr);
        ex_addr_text((struct sockaddr *)v4, sizeof *v4, out, cap);
    } else {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        memcpy(v6->sin6_addr.s6_addr, a.uin.addr6, 16);
        v6->sin6_scope_id = a.uin.addr6[4];
        ex_addr_text((struct sockaddr *)v6, sizeof *v6, out, cap);
    }
}

static MSTATUS l_setup(sbyte4 conn, void *arg)
{
    struct lconn *lc = calloc(1, sizeof(*lc) + (cfg.www ? 16384 : 0));

    (void)arg;
    if (!lc)
        return ERR_MEM_ALLOC_FAIL;
    peer_of(conn, lc->peer, sizeof(lc->peer));
    NKTLS_LOOP_setConnArg(conn, lc);
    return setup_conn(conn);
}

static void l_open(sbyte4 conn, void *arg)
{
    struct lconn *lc = NKTLS_LOOP_getConnArg(conn);

    (void)arg;
    lc->opened = 1;
    if (cfg.dtls.on)
        ex_dtls_report(conn, &cfg.dtls);
    if (cfg.tls.verbose) {
        char info[1024];
        ex_format_info(conn, EX_INFO_PEER | EX_INFO_SNI | EX_INFO_LAYER, info, sizeof(info));
        fprintf(stderr, "connection from %s\n%s", lc->peer, info);
    }
    if (cfg.root && !lc->http && !(lc->http = http_loop_open(conn, &cfg.files, lc->peer)))
        NKTLS_LOOP_close(conn);
}

/* --www: collect the request head, answer, close. */
static void l_www(sbyte4 conn, struct lconn *lc, const ubyte *d, ubyte4 n)
{
    char info[1024], resp[1536];
    int len;

    if (n > 16384 - lc->used) {
        NKTLS_LOOP_close(conn);              /* head too large: just close */
        return;
    }
    memcpy(lc->req + lc->used, d, n);
    lc->used += n;
    if (!memmem(lc->req, lc->used, "\r\n\r\n", 4) && !memmem(lc->req, lc->used, "\n\n", 2))
        return;
    ex_format_info(conn, EX_INFO_SNI, info, sizeof(info));
    len = snprintf(resp, sizeof(resp),
                   "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n%s", strlen(info), info);
    NKTLS_LOOP_send(conn, (const ubyte *)resp, (ubyte4)len);
    NKTLS_LOOP_close(conn);
}

static void l_data(sbyte4 conn, const ubyte *d, ubyte4 n, void *arg)
{
    struct lconn *lc = NKTLS_LOOP_getConnArg(conn);
    MSTATUS st;

    (void)arg;
    if (cfg.root) {
        /* Before l_open: accepted 0-RTT data, answered at once (0.5-RTT). */
        if (!lc->http && !(lc->http = http_loop_open(conn, &cfg.files, lc->peer)))
            NKTLS_LOOP_close(conn);
        if (lc->http)
            http_loop_data(lc->http, d, n);
        return;
    }
    if (cfg.www) {
        l_www(conn, lc, d, n);
        return;
    }
    st = NKTLS_LOOP_send(conn, d, n);
    if (st != OK && cfg.tls.verbose)
        fprintf(stderr, "%s: %s: send failed: %s\n", ex_prog, lc->peer, ex_status_text(st));
}

static void l_file_sent(sbyte4 conn, MSTATUS st, ubyte8 sent, void *arg)
{
    struct lconn *lc = NKTLS_LOOP_getConnArg(conn);

    (void)arg;
    if (lc && lc->http)
        http_loop_file_sent(lc->http, st, sent);
}

static void l_close(sbyte4 conn, MSTATUS st, void *arg)
{
    struct lconn *lc = NKTLS_LOOP_getConnArg(conn);

    (void)arg;
    if (lc && !lc->opened)
        fprintf(stderr, "%s: %s: handshake failed: %s%s%s\n", ex_prog, lc->peer,
                ex_status_text(st), ex_alert_suffix(conn, st), version_hint(conn, st));
    else if (lc && st != OK && cfg.tls.verbose)
        fprintf(stderr, "%s: %s: closed: %s\n", ex_prog, lc->peer, ex_status_text(st));
    if (lc)
        http_loop_free(lc->http);
    free(lc);
    pthread_mutex_lock(&loop_done_lock);
    if (cfg.count && ++loop_done == cfg.count)
        NKTLS_LOOP_stop(loop_server);
    pthread_mutex_unlock(&loop_done_lock);
}

static void run_loop(int lfd)
{
    static const nktlsLoopCallbacks cb = { l_setup, l_open, l_data, l_close, l_file_sent };
    nktlsLoopOptions o;
    const char *name = "?", *why = "";
    MSTATUS st;

    memset(&o, 0, sizeof(o));
    o.workers = (ubyte4)cfg.workers;
    o.backend = cfg.io == EX_IO_EPOLL ? NKTLS_LOOP_BACKEND_EPOLL : NKTLS_LOOP_BACKEND_AUTO;
    o.handshakeTimeoutMs = (ubyte4)cfg.hs_timeout_ms;
    o.idleTimeoutMs = cfg.idle_timeout_ms > 0 ? (ubyte4)cfg.idle_timeout_ms : 0;
    /* A DTLS client that vanishes sends nothing more, not even a FIN: it
     * ends at the idle timeout. */
    if (cfg.dtls.on && !o.idleTimeoutMs)
        o.idleTimeoutMs = 30000;
    loop_server = NKTLS_LOOP_createServer(&lfd, 1, cfg.store, &cb, NULL, &o);
    if (loop_server < 0)
        ex_fail("NKTLS_LOOP_createServer: %s", ex_status_text((MSTATUS)loop_server));
    NKTLS_LOOP_getBackend(loop_server, &name, &why);
    /* io_uring lists its features; epoll says why io_uring is not running. */
    if (cfg.tls.verbose || strcmp(name, "epoll") == 0)
        printf("io: %s (%s), %ld worker%s\n", name, why, cfg.workers, cfg.workers > 1 ? "s" : "");
    else
        printf("io: %s, %ld worker%s\n", name, cfg.workers, cfg.workers > 1 ? "s" : "");
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    st = NKTLS_LOOP_run(loop_server);
    if (st != OK)
        fprintf(stderr, "%s: NKTLS_LOOP_run: %s\n", ex_prog, ex_status_text(st));
    NKTLS_LOOP_destroy(loop_server);
}

static void start_stack(const char *cert, const char *chain, const char *key, const char *ca)
{
    sbyte4 st;

    if ((st = MOCANA_initMocana()) < 0)
        ex_fail("MOCANA_initMocana: %s", ex_status_text((MSTATUS)st));
    /* An event loop needs room for thousands of connections in the table. */
    if ((st = SSL_init(cfg.io == EX_IO_THREADS ? SOMAXCONN : 60000, 0)) < 0)
        ex_fail("SSL_init: %s", ex_status_text((MSTATUS)st));
    /* --io threads: the handshake's limit is the process-wide setting. */
    if (cfg.hs_timeout_ms)
        SSL_sslSettings()->sslTimeOutHello = (ubyte4)cfg.hs_timeout_ms;
    if ((st = CERT_STORE_createStore(&cfg.store)) < 0)
        ex_fail("CERT_STORE_createStore: %s", ex_status_text((MSTATUS)st));
    if (cert)
        ex_load_identity(cfg.store, cert, chain, key);
    if (ca)
        ex_load_trust(cfg.store, ca);
}

/* --io and --workers, after the other options. An event loop holds thousands of
 * connections: it gets every descriptor the hard limit allows. */
static void choose_io(int io_given, long count)
{
    struct rlimit rl;

    (void)io_given;
    if (!cfg.workers)
        cfg.workers = 1;
    cfg.count = count;
    if (cfg.io != EX_IO_THREADS && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* --root: the served directory and the file server's limits (http_files.h). */
static void setup_root(void)
{
    cfg.files.root_fd = http_files_open_root(cfg.root);
    cfg.files.verbose = cfg.tls.verbose;
    if (!cfg.files.header_ms)
        cfg.files.header_ms = HTTP_HEADER_MS;
    if (cfg.idle_timeout_ms < 0)
        cfg.idle_timeout_ms = HTTP_IDLE_MS;
    cfg.files.idle_ms = (unsigned)cfg.idle_timeout_ms;
}

/* --ocsp: the response is stapled for the identity whose certificate it covers
 * (RFC 6066 §8, RFC 8446 §4.4.2.1); replace the file and restart to renew it. */
static void staple_ocsp(const char *file)
{
    ubyte *der = NULL;
    ubyte4 len = 0;
    MSTATUS st = MOCANA_readFile(file, &der, &len);
    if (st == OK)
        st = NKTLS_setOcspResponse(cfg.store, der, len);
    MOCANA_freeReadFile(&der);
    if (st != OK)
        ex_fail("%s: %s", file, ex_status_text(st));
}

enum { OPT_LISTEN = 256, OPT_CERT, OPT_KEY, OPT_CHAIN, OPT_CA, OPT_VERIFY_CLIENT, OPT_ALPN,
       OPT_CIPHERS, OPT_GROUPS, OPT_TLS, OPT_TLS_MIN, OPT_TLS_MAX, OPT_KTLS, OPT_REKEY,
       OPT_ZEROCOPY, OPT_WWW, OPT_ROOT, OPT_COUNT, OPT_IO, OPT_WORKERS, OPT_HS_TIMEOUT,
       OPT_IDLE_TIMEOUT, OPT_HEADER_TIMEOUT, OPT_TICKET_KEYS, OPT_OCSP, OPT_HEARTBEAT, OPT_ALLOW_RENEG,
       OPT_MAX_EARLY, OPT_TICKETS, OPT_DTLS, OPT_SRTP, OPT_KEYMAT, OPT_KEYMAT_LEN, OPT_PMTU,
       OPT_PSK, OPT_PSK_KE, OPT_PHA, OPT_VERSION };

static const struct option long_opts[] = {
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "cert", required_argument, NULL, OPT_CERT },
    { "key", required_argument, NULL, OPT_KEY },
    { "chain", required_argument, NULL, OPT_CHAIN },
    { "ca", required_argument, NULL, OPT_CA },
    { "verify-client", no_argument, NULL, OPT_VERIFY_CLIENT },
    { "alpn", required_argument, NULL, OPT_ALPN },
    { "ciphers", required_argument, NULL, OPT_CIPHERS },
    { "groups", required_argument, NULL, OPT_GROUPS },
    { "tls", required_argument, NULL, OPT_TLS },
    { "tls-min", required_argument, NULL, OPT_TLS_MIN },
    { "tls-max", required_argument, NULL, OPT_TLS_MAX },
    { "ktls", required_argument, NULL, OPT_KTLS },
    { "rekey", required_argument, NULL, OPT_REKEY },
    { "zerocopy-sendfile", no_argument, NULL, OPT_ZEROCOPY },
    { "www", no_argument, NULL, OPT_WWW },
    { "root", required_argument, NULL, OPT_ROOT },
    { "count", required_argument, NULL, OPT_COUNT },
    { "io", required_argument, NULL, OPT_IO },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "handshake-timeout", required_argument, NULL, OPT_HS_TIMEOUT },
    { "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
    { "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
    { "ticket-keys", required_argument, NULL, OPT_TICKET_KEYS },
    { "psk", required_argument, NULL, OPT_PSK },
    { "psk-ke", no_argument, NULL, OPT_PSK_KE },
    { "ocsp", required_argument, NULL, OPT_OCSP },
    { "heartbeat", no_argument, NULL, OPT_HEARTBEAT },
    { "allow-renegotiation", no_argument, NULL, OPT_ALLOW_RENEG },
    { "max-early-data", required_argument, NULL, OPT_MAX_EARLY },
    { "tickets", required_argument, NULL, OPT_TICKETS },
    { "pha", no_argument, NULL, OPT_PHA },
    { "dtls", no_argument, NULL, OPT_DTLS },
    { "srtp", required_argument, NULL, OPT_SRTP },
    { "keymatexport", required_argument, NULL, OPT_KEYMAT },
    { "keymatexportlen", required_argument, NULL, OPT_KEYMAT_LEN },
    { "pmtu", required_argument, NULL, OPT_PMTU },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
    const char *listen_arg = NULL, *cert = NULL, *key = NULL, *chain = NULL, *ca = NULL;
    const char *ticket_keys = NULL, *ocsp = NULL, *psk = NULL;
    long count = 0;
    int opt, lfd, io_given = 0;

    ex_prog = "nktls-server";
    cfg.idle_timeout_ms = -1;
    cfg.tickets = -1;
    while ((opt = ex_getopt(argc, argv, "vh", long_opts)) != -1) {
        switch (opt) {
        case OPT_LISTEN: listen_arg = optarg; break;
        case OPT_CERT: cert = optarg; break;
        case OPT_KEY: key = optarg; break;
        case OPT_CHAIN: chain = optarg; break;
        case OPT_CA: ca = optarg; break;
        case OPT_VERIFY_CLIENT: cfg.verify_client = 1; break;
        case OPT_ALPN: ex_parse_alpn(&cfg.tls, optarg); break;
        case OPT_CIPHERS: ex_parse_ciphers(&cfg.tls, optarg); break;
        case OPT_GROUPS: ex_parse_groups(&cfg.tls, optarg); break;
        case OPT_TLS: ex_parse_tls(&cfg.tls, optarg); break;
        case OPT_TLS_MIN: cfg.tls.tls_min = ex_parse_version(optarg); break;
        case OPT_TLS_MAX: cfg.tls.tls_max = ex_parse_version(optarg); break;
        case OPT_KTLS: ex_parse_ktls_mode(&cfg.tls, optarg); break;
        case OPT_REKEY: ex_parse_rekey(&cfg.tls, optarg); break;
        case OPT_ZEROCOPY: cfg.tls.ktls_flags |= NKTLS_KTLS_ZEROCOPY_SENDFILE; break;
        case OPT_WWW: cfg.www = 1; break;
        case OPT_ROOT: cfg.root = optarg; break;
        case OPT_COUNT: count = ex_parse_count(optarg); break;
        case OPT_IO: cfg.io = ex_parse_io(optarg); io_given = 1; break;
        case OPT_WORKERS: cfg.workers = ex_parse_count(optarg); break;
        case OPT_HS_TIMEOUT: cfg.hs_timeout_ms = ex_parse_count(optarg); break;
        case OPT_IDLE_TIMEOUT: cfg.idle_timeout_ms = ex_parse_count(optarg); break;
        case OPT_HEADER_TIMEOUT: cfg.files.header_ms = (unsigned)ex_parse_count(optarg); break;
        case OPT_TICKET_KEYS: ticket_keys = optarg; break;
        case OPT_PSK: psk = optarg; break;
        case OPT_PSK_KE: cfg.tls.psk_ke = 1; break;
        case OPT_OCSP: ocsp = optarg; break;
        case OPT_HEARTBEAT: cfg.heartbeat = 1; break;
        case OPT_ALLOW_RENEG: cfg.allow_reneg = 1; break;
        case OPT_MAX_EARLY: cfg.max_early = ex_parse_count(optarg); break;
        case OPT_TICKETS: cfg.tickets = strcmp(optarg, "0") == 0 ? 0 : ex_parse_count(optarg); break;
        case OPT_DTLS: cfg.dtls.on = 1; break;
        case OPT_SRTP: ex_dtls_parse_srtp(&cfg.dtls, optarg); break;
        case OPT_KEYMAT: cfg.dtls.keymat_label = optarg; break;
        case OPT_KEYMAT_LEN: cfg.dtls.keymat_len = (ubyte2)ex_parse_count(optarg); break;
        case OPT_PMTU: cfg.dtls.pmtu = ex_parse_count(optarg); break;
        case OPT_PHA: cfg.pha = 1; break;
        case 'v': cfg.tls.verbose = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        case OPT_VERSION: ex_print_version(); return 0;
        default:
            ex_usage_error("unknown option '%s' (try --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        ex_usage_error("unexpected argument '%s'", argv[optind]);
    if (!listen_arg || (!psk && (!cert || !key)))
        ex_usage_error("--listen, --cert and --key are required (try --help)");
    if (!cert != !key)
        ex_usage_error("--cert and --key go together");
    if (cfg.verify_client && !ca)
        ex_usage_error("--verify-client needs --ca");
    if (cfg.www && cfg.root)
        ex_usage_error("--www and --root exclude each other");
    if (cfg.pha && (!ca || cfg.root || (io_given && cfg.io != EX_IO_THREADS)))
        ex_usage_error("--pha needs --ca and runs on --io threads, echoing or with --www");
    if (cfg.pha)
        cfg.io = EX_IO_THREADS;     /* its answer is read by the blocking calls */
    if (cfg.root)
        setup_root();
    if (cfg.dtls.n_srtp && !cfg.dtls.on)
        ex_usage_error("--srtp needs --dtls");
    if (cfg.dtls.on && (cfg.root || cfg.www))
        ex_usage_error("--dtls echoes: no --www or --root");
    choose_io(io_given, count);

    ex_check_ktls_mode(&cfg.tls);
    signal(SIGPIPE, SIG_IGN);    /* a client that vanishes must not kill the server */
    start_stack(cert, chain, key, ca);
    if (psk)
        ex_load_psk(cfg.store, psk);
    if (ticket_keys) {
        MSTATUS st = NKTLS_loadTicketKeys(ticket_keys);
        if (st != OK)
            ex_fail("%s: %s", ticket_keys, ex_status_text(st));
    }

    if (ocsp)
        staple_ocsp(ocsp);

    if (cfg.dtls.on && cfg.io == EX_IO_THREADS) {
        dtls_loop(listen_arg, count);
        lfd = -1;
    } else {
        lfd = cfg.dtls.on ? ex_dtls_bind(listen_arg)
                          : ex_listen_tcp(listen_arg, cfg.io != EX_IO_THREADS && cfg.workers > 1);
    }
    if (cfg.dtls.on && lfd >= 0) {   /* as for TCP: port 0 is any, so say which */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char text[128];
        getsockname(lfd, (struct sockaddr *)&ss, &sl);
        ex_addr_text((struct sockaddr *)&ss, sl, text, sizeof text);
        printf("listening on %s (UDP)\n", text);
        fflush(stdout);
    }
    if (cfg.dtls.on && cfg.io == EX_IO_THREADS) {
    } else if (cfg.io == EX_IO_THREADS) {
        printf("io: threads, one per connection\n");
        fflush(stdout);
        accept_loop(lfd, count);
    } else {
        run_loop(lfd);
    }
    if (lfd >= 0)
        close(lfd);

    CERT_STORE_releaseStore(&cfg.store);
    SSL_shutdownStack();
    SSL_releaseTables();
    MOCANA_freeMocana();
    return 0;
}
