/* nktls-client — a small TLS client on the NanoSSL-style API: connects, runs the
 * handshake, then copies stdin to the connection and the connection to stdout
 * until the server closes the connection.
 *
 * Exit status: 0 after a clean end: the server's close_notify (or, once stdin is
 * done, the whole response to a single HTTP request by its Content-Length; with
 * --echo, as many bytes received as were sent; with --dtls and no --echo, the
 * end of stdin); 1 when connecting,
 * the handshake or the transfer failed or was cut short (the server closed
 * without close_notify, an HTTP response shorter than its Content-Length, a
 * reset, an alert, a timeout), each with a message on stderr; 2 on usage errors. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_http.h"
#include "common.h"
#include "dtls.h"

/* How long one SSL_recv may wait for the rest of a record. Finite, so that a
 * record that carries no application data (a session ticket) cannot hold up
 * copying stdin. */
#define RECV_WAIT_MS 200

static const char usage[] =
    "usage: nktls-client --connect HOST:PORT [--servername NAME] [--ca FILE | --insecure]\n"
    "         [--cert FILE --key FILE] [--alpn LIST] [--ciphers LIST] [--groups LIST]\n"
    "         [--psk IDENTITY:HEXKEY [--psk-ke]]\n"
    "         [--tls 1.2|1.3|any] [--tls-min 1.2|1.3] [--tls-max 1.2|1.3]\n"
    "         [--ktls auto|off|require] [--rekey fail|software-rx|software]\n"
    "         [--sess-in FILE] [--sess-out FILE] [--early-data FILE]\n"
    "         [--connect-timeout SEC] [--timeout SEC]\n"
    "         [--echo | --wait-close] [--reconnect] [--ocsp request|require] [--heartbeat]\n"
    "         [--pha]\n"
    "         [-v] [-h] [--version]\n"
    "         [--dtls [--srtp PROFILE[,PROFILE]] [--pmtu N]] [--keymatexport LABEL [--keymatexportlen N]]\n"
    "  Copies stdin to the server and what the server sends to stdout until the\n"
    "  server closes (or, after a single HTTP request, until its response is\n"
    "  whole by its Content-Length); exits 1 when the transfer failed or was cut.\n"
    "  --ca FILE    trust these CAs (PEM or DER) instead of the system's (libcrypto's\n"
    "               default paths; SSL_CERT_FILE and SSL_CERT_DIR override them)\n"
    "  --insecure   do not verify the server's certificate (a warning says so)\n"
    "  --ciphers    IANA names (TLS_AES_128_GCM_SHA256) or 0xNNNN, comma-separated\n"
    "  --psk        offer this external PSK: TLS 1.3, and the TLS 1.2 / DTLS 1.2 PSK\n"
    "               suites --ciphers names (0x00A8, 0xCCAC...); --psk-ke: offer it\n"
    "               alone, without (EC)DHE\n"
    "  --connect-timeout SEC  limit on TCP connect plus handshake (default: 15 s\n"
    "               for the handshake)\n"
    "  --timeout SEC          limit on the whole run, connect to close\n"
    "  --echo       for echo servers: once stdin is done, stop when as many bytes\n"
    "               came back as were sent\n"
    "  --dtls       DTLS 1.2 over UDP; at the end of stdin (with --echo: once the\n"
    "               echo is back) sends close_notify and exits 0\n"
    "  --wait-close accepted for compatibility: waiting for the close is the default\n"
    "  --reconnect  a first connection for its TLS 1.2 or DTLS 1.2 session\n"
    "               (SSL_getClientSessionInfo), then the one that copies data, offering\n"
    "               that session to SSL_connect\n"
    "  --ocsp request  ask the server to staple its certificate's OCSP status; a\n"
    "               stapled response must say good; stderr says what came\n"
    "  --ocsp require  the same, and a server that staples none is refused\n"
    "  --heartbeat  TLS 1.2: offer heartbeats (RFC 6520), answer the server's, send one\n"
    "               request after the handshake; stderr says what happened\n"
    "  --pha        TLS 1.3: offer post-handshake authentication (post_handshake_auth);\n"
    "               a CertificateRequest after the handshake is answered with --cert\n"
    "               (or with none), and stderr says so\n"
    "  --early-data FILE  with --sess-in: send FILE as TLS 1.3 0-RTT data (SSL_setEarlyData)\n"
    "               when the ticket allows it; a server that refuses it gets it right\n"
    "               after the handshake instead (stderr says which)\n";

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --timeout's and --connect-timeout's ends (monotonic ms, 0: none) and how to
 * say which one ran out. */
static long long g_deadline, g_connect_deadline;
static const char *g_timeout_arg, *g_connect_timeout_arg;

/* Milliseconds left before the nearer of the two ends (connecting: both count),
 * -1 for no limit. */
static long long ms_left(int connecting)
{
    long long end = g_deadline, now = now_ms();

    if (connecting && g_connect_deadline && (!end || g_connect_deadline < end))
        end = g_connect_deadline;
    if (!end)
        return -1;
    return end > now ? end - now : 0;
}

static void __attribute__((noreturn)) timed_out(int connecting, const char *what)
{
    if (connecting && g_connect_deadline && (!g_deadline || g_connect_deadline <= g_deadline))
        ex_fail("timed out %s: --connect-timeout %s s ran out", what, g_connect_timeout_arg);
    if (g_deadline)
        ex_fail("timed out %s: --timeout %s s ran out", what, g_timeout_arg);
    ex_fail("timed out %s: no answer within the default %u ms (see --connect-timeout)", what,
            (unsigned)SSL_sslSettings()->sslTimeOutHello);
}

/* --sess-out / --sess-in: the session ticket, in SSL_serializePSK's form. The
 * last ticket the server sends is the one kept. */
static const char *g_sess_out, *g_sess_in;

static sbyte4 save_ticket(sbyte4 conn, sbyte *server, ubyte4 server_len, ubyte *psk, ubyte4 len)
{
    return MOCANA_writeFile(g_sess_out, psk, len) == OK ? 0 : -1;
}

static sbyte4 load_ticket(sbyte4 conn, sbyte *server, ubyte4 server_len, ubyte **psk, ubyte4 *len,
                          intBoolean *free_it)
{
    /* No file yet: no ticket, a full handshake. */
    if (MOCANA_readFile(g_sess_in, psk, len) != OK)
        *psk = NULL;
    *free_it = TRUE;
    return 0;
}

/* --cert/--key: offered when a server asks (SSL_setClientCertCallback), after
 * saying (-v) how many certificate authorities it named. */
static struct ex_identity g_id;
static int g_verbose;

static MSTATUS on_ca_names(sbyte4 conn, SizedBuffer *cas, ubyte4 n)
{
    if (g_verbose)
        fprintf(stderr, "the server asks for a client certificate and names %u certificate authorit%s\n",
                (unsigned)n, n == 1 ? "y" : "ies");
    return OK;
}

/* --pha: post_handshake_auth offered; g_open: the handshake is over, so a
 * CertificateRequest now is a post-handshake one (stderr says so). */
static int g_pha, g_open;

static MSTATUS on_client_cert(sbyte4 conn, SizedBuffer **certs, ubyte4 *n, ubyte **key, ubyte4 *key_len,
                              ubyte **ca, ubyte4 *n_ca)
{
    if (g_pha && g_open)
        fprintf(stderr, "%s: post-handshake authentication: the server asks for a certificate; "
                "answering with %s\n", ex_prog, g_id.n ? "the one of --cert" : "none (no --cert)");
    if (g_id.n == 0)
        return OK;   /* none: an empty Certificate */
    *certs = g_id.certs;
    *n = g_id.n;
    *key = g_id.blob;
    *key_len = g_id.blob_len;
    if (g_verbose)
        fprintf(stderr, "client certificate: offered from the certificate callback\n");
    return OK;
}

/* --early-data: its bytes, sent as 0-RTT data when the ticket allows. */
static ubyte *g_early;
static ubyte4 g_early_len;

/* After the handshake: what became of the early data. Refused (or never sent:
 * the ticket did not allow it), the library does not resend it (RFC 8446
 * §4.2.10 leaves that to the application): we do. */
static MSTATUS early_outcome(sbyte4 conn)
{
    ubyte4 status = SSL_EARLY_DATA_NOT_SENT;
    MSTATUS st = SSL_ioctl(conn, SSL_GET_EARLY_DATA_STATUS, &status);

    if (st != OK || !g_early)
        return st;
    fprintf(stderr, "early data: %s\n", status == SSL_EARLY_DATA_ACCEPTED ? "accepted"
            : status == SSL_EARLY_DATA_REJECTED ? "rejected, sent after the handshake"
            : "not sent (the ticket does not allow it), sent after the handshake");
    if (status == SSL_EARLY_DATA_ACCEPTED)
        return OK;
    return ex_ssl_send_all(conn, g_early, g_early_len);
}

/* --insecure: accept whatever chain the server sent. */
static MSTATUS accept_any_cert(sbyte4 conn, MSTATUS validation_status)
{
    return OK;
}

/* connect(2) within the connect limit: non-blocking, then back to blocking for
 * the handshake. 0, or an errno (ETIMEDOUT when the limit ran out). */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t len)
{
    int flags = fcntl(fd, F_GETFL), err = 0;
    socklen_t elen = sizeof(err);
    struct pollfd p = { .fd = fd, .events = POLLOUT };

    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (connect(fd, sa, len) < 0) {
        if (errno != EINPROGRESS)
            return errno;
        for (;;) {
            long long left = ms_left(1);
            int r = poll(&p, 1, left < 0 ? -1 : (int)(left > 1000000 ? 1000000 : left));
            if (r > 0)
                break;
            if (r == 0 && ms_left(1) == 0)
                return ETIMEDOUT;
            if (r < 0 && errno != EINTR)
                return errno;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        if (err)
            return err;
    }
    fcntl(fd, F_SETFL, flags);
    return 0;
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, rc, err = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        ex_fail("cannot resolve '%s': %s", host, gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        err = connect_within(fd, ai->ai_addr, ai->ai_addrlen);
        if (err == 0)
            break;
        close(fd);
        fd = -1;
        if (err == ETIMEDOUT && ms_left(1) == 0)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0 && err == ETIMEDOUT && ms_left(1) == 0) {
        char what[300];
        snprintf(what, sizeof(what), "connecting to %s:%s", host, port);
        timed_out(1, what);
    }
    if (fd < 0)
        ex_fail("cannot connect to %s:%s: %s", host, port, strerror(err));
    return fd;
}

/* What one read from the connection ended with. */
enum pulled { PULL_MORE, PULL_CLOSED, PULL_EOF, PULL_ERROR };

struct transfer {
    int fd;
    unsigned long long sent, received;
    struct http_check http;
};

/* Read what the connection has for us and copy it to stdout. */
static enum pulled pull(sbyte4 conn, struct transfer *t)
{
    char buf[16384];
    sbyte4 n = 0;
    long long left = ms_left(0);
    ubyte4 wait = left >= 0 && left < RECV_WAIT_MS ? (ubyte4)(left ? left : 1) : RECV_WAIT_MS;
    MSTATUS st = SSL_recv(conn, (sbyte *)buf, sizeof(buf), &n, wait);

    if (st == ERR_SSL_CONNECTION_CLOSED)
        return PULL_CLOSED;
    if (st == ERR_TCP_SOCKET_CLOSED)
        return PULL_EOF;
    if (st == ERR_TCP_WOULDBLOCK)
        ex_dtls_drop_other(conn, t->fd);   /* DTLS-SRTP: a datagram that is not DTLS */
    if (st == ERR_TCP_READ_TIMEOUT || st == ERR_TCP_WOULDBLOCK)
        return PULL_MORE;
    if (st < 0) {
        fprintf(stderr, "%s: receive failed after %llu bytes: %s%s\n", ex_prog, t->received,
                ex_status_text(st), ex_alert_suffix(conn, st));
        return PULL_ERROR;
    }
    if (n > 0 && ex_write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
        fprintf(stderr, "%s: cannot write to stdout: %s\n", ex_prog, strerror(errno));
        return PULL_ERROR;
    }
    if (n > 0) {
        http_check_received(&t->http, buf, (size_t)n);
        t->received += (unsigned long long)n;
    }
    return PULL_MORE;
}

/* Read stdin once and send it. Returns 1 while stdin is open, 0 at EOF, -1 on error. */
static int push(sbyte4 conn, struct transfer *t)
{
    char buf[16384];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    MSTATUS st;

    if (n < 0 && errno == EINTR)
        return 1;
    if (n < 0) {
        fprintf(stderr, "%s: cannot read stdin: %s\n", ex_prog, strerror(errno));
        return -1;
    }
    if (n == 0)
        return 0;
    http_check_sent(&t->http, buf, (size_t)n);
    st = ex_ssl_send_all(conn, buf, (size_t)n);
    if (st != OK) {
        fprintf(stderr, "%s: send failed after %llu bytes: %s%s\n", ex_prog, t->sent,
                ex_status_text(st), ex_alert_suffix(conn, st));
        return -1;
    }
    t->sent += (unsigned long long)n;
    return 1;
}

/* The exit status for how the server ended the connection. An HTTP response
 * that announced its length is judged by it, close_notify or not (many HTTP
 * servers skip close_notify); anything else needs close_notify to be whole. */
static int judge_end(enum pulled how, const struct transfer *t)
{
    int whole = http_check_complete(&t->http);

    if (whole == 0) {
        fprintf(stderr, "%s: the response was cut short: %llu of %llu body bytes (Content-Length)\n",
                ex_prog, t->http.body, t->http.length);
        return 1;
    }
    if (how == PULL_EOF && whole < 0) {
        fprintf(stderr, "%s: the server closed the connection without close_notify after %llu "
                "bytes: the data may be cut short\n", ex_prog, t->received);
        return 1;
    }
    return 0;
}

/* Copy both ways until the server closes (or, with echo, until what was sent came
 * back); returns the exit status. Once stdin is at EOF we keep reading: a server
 * answers only after it has read. Over DTLS (dtls set) there is no stream for
 * the server to close: at the end of stdin we are done (without --echo), and
 * the caller's SSL_closeConnection sends our close_notify. */
static int pump(sbyte4 conn, int fd, int echo, int dtls)
{
    struct transfer *t = calloc(1, sizeof(*t));
    int stdin_open = 1, rc = -1;

    if (!t)
        ex_fail("out of memory");
    t->fd = fd;
    t->sent = g_early_len;   /* --early-data went out, in 0-RTT or after the handshake */
    while (rc < 0) {
        struct pollfd p[2];
        sbyte4 pending = 0;
        enum pulled r = PULL_MORE;
        long long left = ms_left(0);

        if (!stdin_open && ((echo && t->received >= t->sent) || (dtls && !echo)
                            || http_check_answered(&t->http))) {
            rc = 0;
            break;
        }
        if (left == 0) {
            free(t);
            timed_out(0, "during the transfer");
        }
        if (SSL_recvPending(conn, &pending) == OK && pending) {
            r = pull(conn, t);      /* already decrypted: poll would not see it */
        } else {
            p[0].fd = fd;
            p[0].events = POLLIN;
            p[1].fd = STDIN_FILENO;
            p[1].events = POLLIN;
            if (poll(p, stdin_open ? 2 : 1, left < 0 ? -1 : (int)(left > 1000000 ? 1000000 : left)) < 0) {
                if (errno == EINTR)
                    continue;
                fprintf(stderr, "%s: poll: %s\n", ex_prog, strerror(errno));
                rc = 1;
                break;
            }
            if (stdin_open && p[1].revents) {
                int k = push(conn, t);
                if (k < 0) {
                    rc = 1;
                    break;
                }
                stdin_open = k;
            }
            if (p[0].revents)
                r = pull(conn, t);
        }
        if (r == PULL_ERROR)
            rc = 1;
        else if (r != PULL_MORE)
            rc = judge_end(r, t);
    }
    free(t);
    return rc;
}

enum { OPT_CONNECT = 256, OPT_SERVERNAME, OPT_CA, OPT_INSECURE, OPT_CERT, OPT_KEY, OPT_ALPN,
       OPT_CIPHERS, OPT_GROUPS, OPT_TLS, OPT_TLS_MIN, OPT_TLS_MAX, OPT_KTLS, OPT_REKEY,
       OPT_WAIT_CLOSE, OPT_ECHO, OPT_SESS_IN, OPT_SESS_OUT, OPT_CONNECT_TIMEOUT, OPT_TIMEOUT,
       OPT_RECONNECT, OPT_OCSP, OPT_HEARTBEAT, OPT_EARLY_DATA,
       OPT_DTLS, OPT_SRTP, OPT_KEYMAT, OPT_KEYMAT_LEN, OPT_PMTU, OPT_PSK, OPT_PSK_KE, OPT_PHA,
       OPT_VERSION };

static const struct option long_opts[] = {
    { "connect", required_argument, NULL, OPT_CONNECT },
    { "servername", required_argument, NULL, OPT_SERVERNAME },
    { "ca", required_argument, NULL, OPT_CA },
    { "insecure", no_argument, NULL, OPT_INSECURE },
    { "cert", required_argument, NULL, OPT_CERT },
    { "key", required_argument, NULL, OPT_KEY },
    { "alpn", required_argument, NULL, OPT_ALPN },
    { "ciphers", required_argument, NULL, OPT_CIPHERS },
    { "groups", required_argument, NULL, OPT_GROUPS },
    { "tls", required_argument, NULL, OPT_TLS },
    { "tls-min", required_argument, NULL, OPT_TLS_MIN },
    { "tls-max", required_argument, NULL, OPT_TLS_MAX },
    { "ktls", required_argument, NULL, OPT_KTLS },
    { "rekey", required_argument, NULL, OPT_REKEY },
    { "wait-close", no_argument, NULL, OPT_WAIT_CLOSE },
    { "echo", no_argument, NULL, OPT_ECHO },
    { "sess-in", required_argument, NULL, OPT_SESS_IN },
    { "sess-out", required_argument, NULL, OPT_SESS_OUT },
    { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "reconnect", no_argument, NULL, OPT_RECONNECT },
    { "psk", required_argument, NULL, OPT_PSK },
    { "psk-ke", no_argument, NULL, OPT_PSK_KE },
    { "ocsp", required_argument, NULL, OPT_OCSP },
    { "heartbeat", no_argument, NULL, OPT_HEARTBEAT },
    { "early-data", required_argument, NULL, OPT_EARLY_DATA },
    { "dtls", no_argument, NULL, OPT_DTLS },
    { "srtp", required_argument, NULL, OPT_SRTP },
    { "keymatexport", required_argument, NULL, OPT_KEYMAT },
    { "keymatexportlen", required_argument, NULL, OPT_KEYMAT_LEN },
    { "pmtu", required_argument, NULL, OPT_PMTU },
    { "pha", no_argument, NULL, OPT_PHA },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

struct client_args {
    const char *connect, *servername, *ca, *cert, *key, *psk;
    int insecure, echo, reconnect;
    ubyte4 ocsp;                   /* NKTLS_FLAG_OCSP_REQUEST or _REQUIRE; 0: not asked */
    int heartbeat;
    long connect_timeout_ms, timeout_ms;
    struct ex_opts tls;
    struct ex_dtls dtls;
};

static void parse_args(int argc, char **argv, struct client_args *a)
{
    int opt;

    while ((opt = ex_getopt(argc, argv, "vh", long_opts)) != -1) {
        switch (opt) {
        case OPT_CONNECT: a->connect = optarg; break;
        case OPT_SERVERNAME: a->servername = optarg; break;
        case OPT_CA: a->ca = optarg; break;
        case OPT_INSECURE: a->insecure = 1; break;
        case OPT_CERT: a->cert = optarg; break;
        case OPT_KEY: a->key = optarg; break;
        case OPT_ALPN: ex_parse_alpn(&a->tls, optarg); break;
        case OPT_CIPHERS: ex_parse_ciphers(&a->tls, optarg); break;
        case OPT_GROUPS: ex_parse_groups(&a->tls, optarg); break;
        case OPT_TLS: ex_parse_tls(&a->tls, optarg); break;
        case OPT_TLS_MIN: a->tls.tls_min = ex_parse_version(optarg); break;
        case OPT_TLS_MAX: a->tls.tls_max = ex_parse_version(optarg); break;
        case OPT_KTLS: ex_parse_ktls_mode(&a->tls, optarg); break;
        case OPT_REKEY: ex_parse_rekey(&a->tls, optarg); break;
        case OPT_WAIT_CLOSE: break;      /* the default now */
        case OPT_ECHO: a->echo = 1; break;
        case OPT_SESS_IN: g_sess_in = optarg; break;
        case OPT_SESS_OUT: g_sess_out = optarg; break;
        case OPT_RECONNECT: a->reconnect = 1; break;
        case OPT_PSK: a->psk = optarg; break;
        case OPT_PSK_KE: a->tls.psk_ke = 1; break;
        case OPT_HEARTBEAT: a->heartbeat = 1; break;
        case OPT_PHA: g_pha = 1; break;
        case OPT_OCSP:
            if (strcmp(optarg, "request") && strcmp(optarg, "require"))
                ex_usage_error("--ocsp takes request or require, not '%s'", optarg);
            a->ocsp = strcmp(optarg, "require") ? NKTLS_FLAG_OCSP_REQUEST : NKTLS_FLAG_OCSP_REQUIRE;
            break;
        case OPT_EARLY_DATA:
            if (MOCANA_readFile(optarg, &g_early, &g_early_len) != OK)
                ex_usage_error("--early-data: cannot read '%s'", optarg);
            break;
        case OPT_DTLS: a->dtls.on = 1; break;
        case OPT_SRTP: ex_dtls_parse_srtp(&a->dtls, optarg); break;
        case OPT_KEYMAT: a->dtls.keymat_label = optarg; break;
        case OPT_KEYMAT_LEN: a->dtls.keymat_len = (ubyte2)ex_parse_count(optarg); break;
        case OPT_PMTU: a->dtls.pmtu = ex_parse_count(optarg); break;
        case OPT_CONNECT_TIMEOUT:
            a->connect_timeout_ms = ex_parse_seconds_ms(optarg);
            g_connect_timeout_arg = optarg;
            break;
        case OPT_TIMEOUT:
            a->timeout_ms = ex_parse_seconds_ms(optarg);
            g_timeout_arg = optarg;
            break;
        case 'v': a->tls.verbose = 1; break;
        case 'h': fputs(usage, stdout); exit(0);
        case OPT_VERSION: ex_print_version(); exit(0);
        default: ex_usage_error("unknown option '%s' (try --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        ex_usage_error("unexpected argument '%s'", argv[optind]);
    if (!a->connect)
        ex_usage_error("--connect is required (try --help)");
    if (a->ca && a->insecure)
        ex_usage_error("--ca and --insecure exclude each other");
    if (!a->cert != !a->key)
        ex_usage_error("--cert and --key go together");
    if (a->dtls.n_srtp && !a->dtls.on)
        ex_usage_error("--srtp needs --dtls");
}

/* The peer's certificate number i, if the handshake kept it. */
static int cert_line(sbyte4 conn, ubyte4 i, sbyte4 which, char *out, size_t cap)
{
    const ubyte *der;
    ubyte4 len;

    return NKTLS_getPeerCertificate(conn, i, &der, &len) == OK &&
           NKTLS_getCertificateName(der, len, which, (sbyte *)out, (ubyte4)cap) >= 0;
}

/* What to do about a certificate that did not verify: which issuer was not
 * trusted, which names the certificate has. */
static void explain_cert(sbyte4 conn, MSTATUS st, const struct client_args *a, const char *name)
{
    char line[512];
    ubyte4 last = 0;
    const ubyte *der;
    ubyte4 len;

    if (st == ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY || st == ERR_SSLCC_NO_SELF_SIGNED_CERTIFICATES) {
        while (NKTLS_getPeerCertificate(conn, last + 1, &der, &len) == OK)
            last++;
        if (cert_line(conn, last, NKTLS_CERT_ISSUER, line, sizeof(line)))
            fprintf(stderr, "%s: the chain ends at '%s', which is not trusted\n", ex_prog, line);
        fprintf(stderr, "%s: %s\n", ex_prog, a->ca
                ? "give the CA that issued it with --ca FILE (the one given does not)"
                : "give the CA that issued it with --ca FILE, or add it to the system's store "
                  "(SSL_CERT_FILE, SSL_CERT_DIR)");
    } else if (st == ERR_CERT_HOSTNAME_MISMATCH) {
        if (cert_line(conn, 0, NKTLS_CERT_HOST_NAMES, line, sizeof(line)))
            fprintf(stderr, "%s: asked for '%s'; the certificate is for %s\n", ex_prog, name, line);
        fprintf(stderr, "%s: connect by one of those names, or give it with --servername NAME\n",
                ex_prog);
    }
}

/* --ocsp: what the server stapled (funcPtrCertStatusCallback); -1 not told. */
static int g_ocsp_good = -1;

static sbyte4 on_cert_status(sbyte4 conn, intBoolean good)
{
    (void)conn;
    g_ocsp_good = good ? 1 : 0;
    return OK;
}

static MSTATUS ask_ocsp(sbyte4 conn, ubyte4 flag)
{
    ubyte4 flags = 0;
    MSTATUS st = SSL_getSessionFlags(conn, &flags);
    SSL_sslSettings()->funcPtrCertStatusCallback = on_cert_status;
    return st == OK ? SSL_setSessionFlags(conn, flags | flag) : st;
}

/* --heartbeat: what happened, on stderr. */
static sbyte4 on_heartbeat(sbyte4 conn, sbyte4 status, ubyte type)
{
    (void)conn;
    if (status == OK)
        fprintf(stderr, "%s: heartbeat: %s\n", ex_prog,
                type == 1 ? "the server's request answered" : "response to our request received");
    return OK;
}

/* --pha: the ClientHello's post_handshake_auth (RFC 8446 4.2.6). */
static MSTATUS offer_pha(sbyte4 conn)
{
    ubyte4 flags = 0;
    MSTATUS st = SSL_getSessionFlags(conn, &flags);
    return st == OK ? SSL_setSessionFlags(conn, flags | SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH) : st;
}

/* A TLS 1.2 session to offer (--reconnect): id_len 0 for none. */
struct session {
    ubyte id_len;
    ubyte id[SSL_MAXSESSIONIDSIZE];
    ubyte master[SSL_MASTERSECRETSIZE];
};

/* Everything before the data phase; returns the connection or exits. */
static sbyte4 open_tls(const struct client_args *a, int fd, const char *host,
                       certStorePtr store, struct session *sess)
{
    const char *name = a->servername ? a->servername : host;
    sbyte4 conn = SSL_connect(fd, sess->id_len, sess->id, sess->master, (const sbyte *)name, store);
    long long left = ms_left(1);
    MSTATUS st;

    if (conn < 0)
        ex_fail("SSL_connect: %s", ex_status_text((MSTATUS)conn));
    /* The handshake's limit is process-wide: this process has one connection. */
    if (left >= 0)
        SSL_sslSettings()->sslTimeOutHello = (ubyte4)(left ? left : 1);
    st = ex_apply_opts(conn, &a->tls);
    if (st == OK && a->insecure)
        st = SSL_setInvalidCertCallback(conn, accept_any_cert);
    if (st == OK)
        st = SSL_setClientCertAuthorityCallback(conn, on_ca_names);
    if (st == OK)
        st = SSL_setClientCertCallback(conn, on_client_cert);
    if (st == OK && g_sess_out)
        st = SSL_setClientSavePSKCallback(conn, save_ticket);
    if (st == OK && g_sess_in)
        st = SSL_CLIENT_setRetrievePSKCallback(conn, load_ticket);
    if (st == OK && g_early && !sess->id_len)
        st = SSL_setEarlyData(conn, g_early, g_early_len);
    if (st == OK && a->tls.n_alpn)
        st = SSL_setApplicationLayerProtocol(conn, a->tls.n_alpn, (const char **)a->tls.alpn);
    if (st == OK && a->ocsp)
        st = ask_ocsp(conn, a->ocsp);
    if (st == OK && a->heartbeat)
        st = SSL_enableHeartbeatSupport(conn, peerAllowedToSend, on_heartbeat);
    if (st == OK && a->dtls.on)
        st = ex_dtls_setup(conn, &a->dtls);
    if (st == OK && g_pha)
        st = offer_pha(conn);
    g_open = 0;
    if (st == OK)
        st = SSL_negotiateConnection(conn);
    g_open = st == OK;
    if (a->ocsp && (st == OK || st == ERR_CERT_STATUS || st == ERR_CERT_REVOKED))
        fprintf(stderr, "%s: OCSP status: %s\n", ex_prog,
                st == ERR_CERT_REVOKED ? "revoked (stapled response)"
                : g_ocsp_good == 1 ? "good (stapled response verified)"
                : st == ERR_CERT_STATUS && g_ocsp_good < 0 ? "no acceptable response stapled"
                : "none stapled");
    if (st != OK) {
        if (st == ERR_SSL_HANDSHAKE_TIMEOUT)
            timed_out(1, "in the handshake");
        /* Look the alert and the certificates up before closing: the connection's
         * state goes with it. */
        fprintf(stderr, "%s: handshake failed: %s%s\n", ex_prog, ex_status_text(st),
                ex_alert_suffix(conn, st));
        explain_cert(conn, st, a, name);
        if (ex_is_version_refusal(conn, st) && *ex_peer_versions_text(conn))
            fprintf(stderr, "%s: we offered %s; the server chose %s (see --tls)\n", ex_prog,
                    ex_versions_text(&a->tls), ex_peer_versions_text(conn));
        else if (ex_is_version_refusal(conn, st))
            fprintf(stderr, "%s: we offered %s; the server accepts none of them (see --tls)\n",
                    ex_prog, ex_versions_text(&a->tls));
        SSL_closeConnection(conn);
        close(fd);
        exit(1);
    }
    if (a->heartbeat) {   /* the response arrives with what the server sends next */
        st = SSL_sendHeartbeatMessage(conn);
        fprintf(stderr, "%s: heartbeat: %s\n", ex_prog, st == OK ? "request sent" : ex_status_text(st));
    }
    if (!sess->id_len && (st = early_outcome(conn)) != OK)
        ex_fail("sending the early data: %s", ex_status_text(st));
    return conn;
}

static void load_trust(const struct client_args *a, certStorePtr store)
{
    MSTATUS st;

    if (a->ca) {
        ex_load_trust(store, a->ca);
    } else if (a->insecure) {
        fprintf(stderr, "%s: warning: --insecure: the server's certificate is not verified; "
                "anyone on the path can read and change this connection\n", ex_prog);
    } else if ((st = NKTLS_addSystemTrustPoints(store)) != OK) {
        ex_fail("cannot use the system's CA store: %s", ex_status_text(st));
    }
}

int main(int argc, char **argv)
{
    struct client_args a;
    certStorePtr store = NULL;
    char *host, *port;
    sbyte4 conn, st;
    int fd, rc;
    struct session sess = { 0 };

    ex_prog = "nktls-client";
    memset(&a, 0, sizeof(a));
    parse_args(argc, argv, &a);
    ex_split_hostport(a.connect, &host, &port);
    if (!host)
        ex_usage_error("--connect: '%s' has no host (HOST:PORT)", a.connect);
    if (a.timeout_ms)
        g_deadline = now_ms() + a.timeout_ms;
    if (a.connect_timeout_ms)
        g_connect_deadline = now_ms() + a.connect_timeout_ms;

    signal(SIGPIPE, SIG_IGN);    /* a closed socket shows up as an error, not a signal */
    if ((st = MOCANA_initMocana()) < 0)
        ex_fail("MOCANA_initMocana: %s", ex_status_text((MSTATUS)st));
    if ((st = SSL_init(0, 1)) < 0)
        ex_fail("SSL_init: %s", ex_status_text((MSTATUS)st));
    if ((st = CERT_STORE_createStore(&store)) < 0)
        ex_fail("CERT_STORE_createStore: %s", ex_status_text((MSTATUS)st));
    load_trust(&a, store);
    if (a.cert)
        ex_read_identity(a.cert, a.key, &g_id);
    if (a.psk)
        ex_load_psk(store, a.psk);
    g_verbose = a.tls.verbose;
    ex_check_ktls_mode(&a.tls);

    if (a.reconnect) {   /* the NanoSSL way to resume: the session of one connection */
        fd = a.dtls.on ? ex_dtls_connect(host, port) : connect_to(host, port);
        conn = open_tls(&a, fd, host, store, &sess);
        if ((st = SSL_getClientSessionInfo(conn, &sess.id_len, sess.id, sess.master)) < 0)
            ex_fail("SSL_getClientSessionInfo: %s", ex_status_text((MSTATUS)st));
        if (a.tls.verbose)
            fprintf(stderr, "first connection: session id of %u bytes\n", (unsigned)sess.id_len);
        SSL_closeConnection(conn);
        close(fd);
    }
    fd = a.dtls.on ? ex_dtls_connect(host, port) : connect_to(host, port);
    conn = open_tls(&a, fd, host, store, &sess);
    memset(&sess, 0, sizeof(sess));
    ex_dtls_report(conn, &a.dtls);
    if (a.tls.verbose) {
        char info[1024];
        ex_format_info(conn, EX_INFO_PEER | EX_INFO_LAYER, info, sizeof(info));
        fputs(info, stderr);
        fprintf(stderr, "resumed: %s\n", NKTLS_isSessionResumed(conn) ? "yes" : "no");
    }

    rc = pump(conn, fd, a.echo, a.dtls.on);
    SSL_closeConnection(conn);       /* sends our close_notify */
    close(fd);

    CERT_STORE_releaseStore(&store);
    SSL_shutdownStack();
    SSL_releaseTables();
    MOCANA_freeMocana();
    free(host);
    free(port);
    if (g_early)
        MOCANA_freeReadFile(&g_early);
    return rc;
}
