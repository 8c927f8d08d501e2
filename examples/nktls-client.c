/* nktls-client — a small TLS client on the NanoSSL-style API: connects, runs the
 * handshake, then copies stdin to the connection and the connection to stdout.
 *
 * Exit status: 0 after a clean end (the server's close_notify, or, once stdin is
 * done, as many bytes received as were sent), 1 on connection, handshake or I/O
 * errors, 2 on usage errors. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

/* How long one SSL_recv may wait for the rest of a record. Finite, so that a
 * record that carries no application data (a session ticket) cannot hold up
 * copying stdin. */
#define RECV_WAIT_MS 200

static const char usage[] =
    "usage: nktls-client --connect HOST:PORT [--servername NAME] [--ca FILE | --insecure]\n"
    "         [--cert FILE --key FILE] [--alpn LIST] [--ciphers LIST] [--groups LIST]\n"
    "         [--tls-min 1.2|1.3] [--tls-max 1.2|1.3] [--ktls auto|off|require]\n"
    "         [--rekey fail|software-rx|software] [--sess-in FILE] [--sess-out FILE]\n"
    "         [--wait-close] [--reconnect] [-v]\n"
    "  --reconnect: a first connection for its TLS 1.2 session (SSL_getClientSessionInfo),\n"
    "  then the one that copies data, offering that session to SSL_connect.\n";

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

/* --insecure: accept whatever chain the server sent. */
static MSTATUS accept_any_cert(sbyte4 conn, MSTATUS validation_status)
{
    return OK;
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
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        ex_fail("cannot connect to %s:%s: %s", host, port, strerror(err));
    return fd;
}

/* Read what the connection has for us and copy it to stdout. Returns 1 with
 * data or nothing yet, 0 after the server's close_notify, -1 on an error. */
static int pull(sbyte4 conn, unsigned long long *received)
{
    char buf[16384];
    sbyte4 n = 0;
    MSTATUS st = SSL_recv(conn, (sbyte *)buf, sizeof(buf), &n, RECV_WAIT_MS);

    if (st == ERR_SSL_CONNECTION_CLOSED)
        return 0;
    if (st == ERR_TCP_READ_TIMEOUT || st == ERR_TCP_WOULDBLOCK)
        return 1;
    if (st < 0) {
        fprintf(stderr, "%s: receive failed: %s\n", ex_prog, ex_status_name(st));
        return -1;
    }
    if (n > 0 && ex_write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
        fprintf(stderr, "%s: cannot write to stdout: %s\n", ex_prog, strerror(errno));
        return -1;
    }
    *received += (unsigned long long)(n > 0 ? n : 0);
    return 1;
}

/* Read stdin once and send it. Returns 1 while stdin is open, 0 at EOF, -1 on error. */
static int push(sbyte4 conn, unsigned long long *sent)
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
    st = ex_ssl_send_all(conn, buf, (size_t)n);
    if (st != OK) {
        fprintf(stderr, "%s: send failed: %s\n", ex_prog, ex_status_name(st));
        return -1;
    }
    *sent += (unsigned long long)n;
    return 1;
}

/* Copy both ways until done; returns the exit status. Once stdin is at EOF we keep
 * reading rather than closing: an echo server answers only after it has read. */
static int pump(sbyte4 conn, int fd, int wait_close)
{
    unsigned long long sent = 0, received = 0;
    int stdin_open = 1;

    for (;;) {
        struct pollfd p[2];
        sbyte4 pending = 0;
        int r;

        if (!stdin_open && !wait_close && received >= sent)
            return 0;
        if (SSL_recvPending(conn, &pending) == OK && pending) {
            r = pull(conn, &received);     /* already decrypted: poll would not see it */
            if (r <= 0)
                return r < 0;
            continue;
        }
        p[0].fd = fd;
        p[0].events = POLLIN;
        p[1].fd = STDIN_FILENO;
        p[1].events = POLLIN;
        if (poll(p, stdin_open ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: poll: %s\n", ex_prog, strerror(errno));
            return 1;
        }
        if (stdin_open && p[1].revents) {
            r = push(conn, &sent);
            if (r < 0)
                return 1;
            stdin_open = r;
        }
        if (p[0].revents) {
            r = pull(conn, &received);
            if (r <= 0)
                return r < 0;
        }
    }
}

enum { OPT_CONNECT = 256, OPT_SERVERNAME, OPT_CA, OPT_INSECURE, OPT_CERT, OPT_KEY, OPT_ALPN,
       OPT_CIPHERS, OPT_GROUPS, OPT_TLS_MIN, OPT_TLS_MAX, OPT_KTLS, OPT_REKEY, OPT_WAIT_CLOSE,
       OPT_SESS_IN, OPT_SESS_OUT, OPT_RECONNECT, OPT_HELP };

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
    { "tls-min", required_argument, NULL, OPT_TLS_MIN },
    { "tls-max", required_argument, NULL, OPT_TLS_MAX },
    { "ktls", required_argument, NULL, OPT_KTLS },
    { "rekey", required_argument, NULL, OPT_REKEY },
    { "wait-close", no_argument, NULL, OPT_WAIT_CLOSE },
    { "sess-in", required_argument, NULL, OPT_SESS_IN },
    { "sess-out", required_argument, NULL, OPT_SESS_OUT },
    { "reconnect", no_argument, NULL, OPT_RECONNECT },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

struct client_args {
    const char *connect, *servername, *ca, *cert, *key;
    int insecure, wait_close, reconnect;
    struct ex_opts tls;
};

static void parse_args(int argc, char **argv, struct client_args *a)
{
    int opt;

    opterr = 0;     /* we print our own one-line message */
    while ((opt = getopt_long(argc, argv, "v", long_opts, NULL)) != -1) {
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
        case OPT_TLS_MIN: a->tls.tls_min = ex_parse_version(optarg); break;
        case OPT_TLS_MAX: a->tls.tls_max = ex_parse_version(optarg); break;
        case OPT_KTLS: ex_parse_ktls_mode(&a->tls, optarg); break;
        case OPT_REKEY: ex_parse_rekey(&a->tls, optarg); break;
        case OPT_WAIT_CLOSE: a->wait_close = 1; break;
        case OPT_SESS_IN: g_sess_in = optarg; break;
        case OPT_SESS_OUT: g_sess_out = optarg; break;
        case OPT_RECONNECT: a->reconnect = 1; break;
        case 'v': a->tls.verbose = 1; break;
        case OPT_HELP: fputs(usage, stdout); exit(0);
        default:
            ex_usage_error("bad option '%s' (try --help)", argv[optind - 1]);
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
    MSTATUS st;

    if (conn < 0)
        ex_fail("SSL_connect: %s", ex_status_name((MSTATUS)conn));
    st = ex_apply_opts(conn, &a->tls);
    if (st == OK && a->insecure)
        st = SSL_setInvalidCertCallback(conn, accept_any_cert);
    if (st == OK && g_sess_out)
        st = SSL_setClientSavePSKCallback(conn, save_ticket);
    if (st == OK && g_sess_in)
        st = SSL_CLIENT_setRetrievePSKCallback(conn, load_ticket);
    if (st == OK && a->tls.n_alpn)
        st = SSL_setApplicationLayerProtocol(conn, a->tls.n_alpn, (const char **)a->tls.alpn);
    if (st == OK)
        st = SSL_negotiateConnection(conn);
    if (st != OK) {
        /* Look the alert up before closing: the connection's state goes with it. */
        const char *alert = ex_alert_for(conn, st);
        fprintf(stderr, "%s: handshake failed: %s (alert %s)\n", ex_prog, ex_status_name(st),
                alert);
        SSL_closeConnection(conn);
        close(fd);
        exit(1);
    }
    return conn;
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
        ex_usage_error("--connect needs a host");

    signal(SIGPIPE, SIG_IGN);    /* a closed socket shows up as an error, not a signal */
    if ((st = MOCANA_initMocana()) < 0)
        ex_fail("MOCANA_initMocana: %s", ex_status_name((MSTATUS)st));
    if ((st = SSL_init(0, 1)) < 0)
        ex_fail("SSL_init: %s", ex_status_name((MSTATUS)st));
    if ((st = CERT_STORE_createStore(&store)) < 0)
        ex_fail("CERT_STORE_createStore: %s", ex_status_name((MSTATUS)st));
    if (a.ca)
        ex_load_trust(store, a.ca);
    if (a.cert)
        ex_load_identity(store, a.cert, NULL, a.key);

    if (a.reconnect) {   /* the NanoSSL way to resume: the session of one connection */
        fd = connect_to(host, port);
        conn = open_tls(&a, fd, host, store, &sess);
        if ((st = SSL_getClientSessionInfo(conn, &sess.id_len, sess.id, sess.master)) < 0)
            ex_fail("SSL_getClientSessionInfo: %s", ex_status_name((MSTATUS)st));
        if (a.tls.verbose)
            fprintf(stderr, "first connection: session id of %u bytes\n", (unsigned)sess.id_len);
        SSL_closeConnection(conn);
        close(fd);
    }
    fd = connect_to(host, port);
    conn = open_tls(&a, fd, host, store, &sess);
    memset(&sess, 0, sizeof(sess));
    if (a.tls.verbose) {
        char info[1024];
        ex_format_info(conn, EX_INFO_PEER | EX_INFO_LAYER, info, sizeof(info));
        fputs(info, stderr);
        fprintf(stderr, "resumed: %s\n", NKTLS_isSessionResumed(conn) ? "yes" : "no");
    }

    rc = pump(conn, fd, a.wait_close);
    SSL_closeConnection(conn);       /* sends our close_notify */
    close(fd);

    CERT_STORE_releaseStore(&store);
    SSL_shutdownStack();
    SSL_releaseTables();
    MOCANA_freeMocana();
    free(host);
    free(port);
    return rc;
}
