/* nktls-load — a TLS load generator on nktls's own event loop (NKTLS_LOOP_*:
 * io_uring, or epoll where io_uring is unavailable): many connections per
 * worker thread, against any TLS server (or DTLS 1.2 server: --dtls).
 * Measures full and resumed handshakes, bulk echo throughput,
 * request/reply latency and the cost of idle connections, closed loop or
 * open loop (--rate).
 *
 * The parts: this file (options, the report), load_worker.c (the loop, the
 * schedule, the scheduler thread), load_ops.c (what each mode does),
 * load_conn.c (the loop's callbacks, tickets, errors by kind), load_stats.c
 * (the histogram and the report formats), load_series.c (the per-second
 * series). docs/nktls-load.md describes every option.
 *
 * Exit status: 0 when every operation succeeded, 1 when any failed (the report
 * says how) or none ran, 2 on usage errors. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "load.h"

static const char usage[] =
    "usage: nktls-load --connect HOST:PORT --mode handshake|resume|bulk|request|idle\n"
    "       nktls-load [options] https://HOST[:PORT][/PATH]   (request mode)\n"
    "         [--servername NAME] [--ca FILE | --insecure] [--cert FILE --key FILE]\n"
    "         [--duration SEC | --count N] [--warmup SEC] [--concurrency N] [--threads N]\n"
    "         [--rate R] [--tls 1.2|1.3|any] [--ciphers LIST] [--groups LIST] [--alpn LIST]\n"
    "         [--size BYTES] [--request TEXT | -m METHOD -H 'NAME: VALUE'...]\n"
    "         [--reconnect] [--resume] [--early-data] [--accept-status]\n"
    "         [--ktls auto|off] [--timeout MS]\n"
    "         [--dtls [--srtp PROFILE[,PROFILE]] [--pmtu N]]\n"
    "         [--json FILE] [--csv FILE] [-h] [--version]\n"
    "  handshake  full handshakes, each connection closed after it (close_notify)\n"
    "  resume     resumed handshakes with the server's session ticket\n"
    "  bulk       send --size bytes, read the echo back, check it (on a kept\n"
    "             connection; --reconnect: a new one per operation)\n"
    "  request    send --request (\\r \\n \\t \\\\ \\xHH escapes), or the GET (-m:\n"
    "             another method) a URL names, on keep-alive connections; count\n"
    "             replies by status class (HTTP by Content-Length or chunked, else\n"
    "             the request's length); a status other than 2xx is an error\n"
    "             unless --accept-status; --resume: each on a new connection,\n"
    "             resumed with the newest session (one full handshake first);\n"
    "             --early-data: and the request sent as TLS 1.3 0-RTT data\n"
    "             (accepted, rejected or not sent: counted)\n"
    "  idle       open --concurrency connections, hold them without traffic for\n"
    "             --duration seconds (or until SIGINT), then close them; prints\n"
    "             \"idle: N connections open\" once all are open\n"
    "  --duration S  measure for S seconds (default 10), then stop: operations\n"
    "                still running are reported as in flight\n"
    "  --warmup S    run S seconds of load before --duration, not counted\n"
    "  --rate R      open loop: R operations per second, latency from when each\n"
    "                was due; without it, closed loop\n"
    "  --threads N   event-loop workers, each driving its share of the connections\n"
    "                (io_uring, or epoll where io_uring is unavailable;\n"
    "                NKTLS_IO=epoll forces epoll)\n"
    "  --timeout MS  limit on a handshake (from connect) and on a stall after it\n"
    "                (default 10000)\n"
    "  --ktls auto   (the default) the kernel carries the records where it can\n"
    "  --csv FILE    the per-second series (also in --json) as CSV\n"
    "  --dtls        DTLS 1.2 over UDP (handshake, resume, bulk and idle modes):\n"
    "                each connection a UDP socket of its own, so each handshake\n"
    "                a cookie exchange; bulk sends what one datagram carries at\n"
    "                a time, a few in flight (a lost datagram ends the operation\n"
    "                at --timeout: DTLS resends no data); --srtp offers use_srtp\n"
    "                (SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32,\n"
    "                SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM), --pmtu N the\n"
    "                largest datagram (default 1200)\n";

static volatile int g_stop;         /* 1: start nothing new; 2: end now */
static char *g_host;                /* --connect's host: the default server name */

static void on_signal(int sig)
{
    (void)sig;
    if (g_stop < 2)
        g_stop++;
}

/* --request: the usual backslash escapes, so a shell argument can carry CRLF. */
static char *unescape(const char *s, size_t *len)
{
    char *out = malloc(strlen(s) + 1), *o = out;

    if (!out)
        ex_fail("out of memory");
    for (; *s; s++) {
        if (*s != '\\' || !s[1]) {
            *o++ = *s;
            continue;
        }
        switch (*++s) {
        case 'r': *o++ = '\r'; break;
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'x': {
            char hex[3] = { s[1], s[1] ? s[2] : 0, 0 };
            *o++ = (char)strtol(hex, NULL, 16);
            s += strlen(hex);
            break;
        }
        default: *o++ = *s; break;
        }
    }
    *len = (size_t)(o - out);
    return out;
}

static double parse_positive(const char *opt, const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v > 0))
        ex_usage_error("%s: '%s' is not a number (more than 0)", opt, s);
    return v;
}

static enum load_mode parse_mode(const char *s)
{
    static const char *const names[] = { "handshake", "resume", "bulk", "request", "idle" };
    unsigned i;

    for (i = 0; i < 5; i++)
        if (!strcmp(s, names[i]))
            return (enum load_mode)i;
    ex_usage_error("--mode: handshake, resume, bulk, request or idle, not '%s'", s);
}

enum { OPT_CONNECT = 256, OPT_SERVERNAME, OPT_CA, OPT_INSECURE, OPT_MODE, OPT_DURATION,
       OPT_COUNT, OPT_CONCURRENCY, OPT_THREADS, OPT_RATE, OPT_TLS, OPT_CIPHERS, OPT_GROUPS,
       OPT_SIZE, OPT_REQUEST, OPT_KTLS, OPT_TIMEOUT, OPT_JSON, OPT_HELP, OPT_WARMUP,
       OPT_RECONNECT, OPT_ACCEPT_STATUS, OPT_ALPN, OPT_CERT, OPT_KEY, OPT_CSV, OPT_VERSION,
       OPT_RESUME, OPT_EARLY_DATA, OPT_DTLS, OPT_SRTP, OPT_PMTU };

static const struct option long_opts[] = {
    { "connect", required_argument, NULL, OPT_CONNECT },
    { "servername", required_argument, NULL, OPT_SERVERNAME },
    { "ca", required_argument, NULL, OPT_CA },
    { "insecure", no_argument, NULL, OPT_INSECURE },
    { "mode", required_argument, NULL, OPT_MODE },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "count", required_argument, NULL, OPT_COUNT },
    { "concurrency", required_argument, NULL, OPT_CONCURRENCY },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "rate", required_argument, NULL, OPT_RATE },
    { "tls", required_argument, NULL, OPT_TLS },
    { "ciphers", required_argument, NULL, OPT_CIPHERS },
    { "groups", required_argument, NULL, OPT_GROUPS },
    { "size", required_argument, NULL, OPT_SIZE },
    { "request", required_argument, NULL, OPT_REQUEST },
    { "ktls", required_argument, NULL, OPT_KTLS },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "json", required_argument, NULL, OPT_JSON },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { "warmup", required_argument, NULL, OPT_WARMUP },
    { "reconnect", no_argument, NULL, OPT_RECONNECT },
    { "accept-status", no_argument, NULL, OPT_ACCEPT_STATUS },
    { "resume", no_argument, NULL, OPT_RESUME },
    { "early-data", no_argument, NULL, OPT_EARLY_DATA },
    { "alpn", required_argument, NULL, OPT_ALPN },
    { "cert", required_argument, NULL, OPT_CERT },
    { "key", required_argument, NULL, OPT_KEY },
    { "csv", required_argument, NULL, OPT_CSV },
    { "dtls", no_argument, NULL, OPT_DTLS },
    { "srtp", required_argument, NULL, OPT_SRTP },
    { "pmtu", required_argument, NULL, OPT_PMTU },
    { "header", required_argument, NULL, 'H' },
    { "method", required_argument, NULL, 'm' },
    { NULL, 0, NULL, 0 },
};

#define MAX_HEADERS 64

struct args {
    const char *connect, *ca, *json, *csv, *cert, *key;
    const char *url, *method;
    const char *headers[MAX_HEADERS];
    int n_headers;
    int has_mode;
    struct load_cfg cfg;
};

static void add_header(struct args *a, const char *h)
{
    const char *colon = strchr(h, ':');

    if (!colon || colon == h || strpbrk(h, "\r\n"))
        ex_usage_error("-H wants 'Name: value', not '%s'", h);
    if (a->n_headers == MAX_HEADERS)
        ex_usage_error("-H: at most %d headers", MAX_HEADERS);
    a->headers[a->n_headers++] = h;
}

static void parse_opt(int opt, struct args *a)
{
    struct load_cfg *c = &a->cfg;

    switch (opt) {
    case OPT_CONNECT: a->connect = optarg; break;
    case OPT_SERVERNAME: c->servername = optarg; break;
    case OPT_CA: a->ca = optarg; break;
    case OPT_INSECURE: c->insecure = 1; break;
    case OPT_MODE: c->mode = parse_mode(optarg); a->has_mode = 1; break;
    case OPT_DURATION: c->duration = parse_positive("--duration", optarg); break;
    case OPT_COUNT: c->count = ex_parse_count(optarg); break;
    case OPT_CONCURRENCY: c->concurrency = (int)ex_parse_count(optarg); break;
    case OPT_THREADS: c->threads = (int)ex_parse_count(optarg); break;
    case OPT_RATE: c->rate = parse_positive("--rate", optarg); break;
    case OPT_TLS: ex_parse_tls(&c->tls, optarg); c->tls_name = optarg; break;
    case OPT_CIPHERS: ex_parse_ciphers(&c->tls, optarg); break;
    case OPT_GROUPS: ex_parse_groups(&c->tls, optarg); break;
    case OPT_SIZE: c->size = (unsigned long long)ex_parse_count(optarg); break;
    case OPT_REQUEST: c->request = unescape(optarg, &c->request_len); break;
    case OPT_KTLS: ex_parse_ktls_mode(&c->tls, optarg); break;
    case OPT_TIMEOUT: c->timeout_ms = (unsigned)ex_parse_count(optarg); break;
    case OPT_JSON: a->json = optarg; break;
    case 'h': fputs(usage, stdout); exit(0);
    case OPT_VERSION: ex_print_version(); exit(0);
    case OPT_WARMUP: c->warmup = parse_positive("--warmup", optarg); break;
    case OPT_RECONNECT: c->reconnect = 1; break;
    case OPT_ACCEPT_STATUS: c->accept_status = 1; break;
    case OPT_RESUME: c->resume = 1; break;
    case OPT_EARLY_DATA: c->early_data = c->resume = 1; break;
    case OPT_ALPN: ex_parse_alpn(&c->tls, optarg); break;
    case OPT_CERT: a->cert = optarg; break;
    case OPT_KEY: a->key = optarg; break;
    case OPT_CSV: a->csv = optarg; break;
    case OPT_DTLS: c->dtls.on = 1; break;
    case OPT_SRTP: ex_dtls_parse_srtp(&c->dtls, optarg); break;
    case OPT_PMTU: c->dtls.pmtu = ex_parse_count(optarg); break;
    case 'H': add_header(a, optarg); break;
    case 'm': a->method = optarg; break;
    default: ex_usage_error("bad option '%s' (try --help)", optarg ? optarg : "?");
    }
}

/* https://HOST[:PORT][/PATH]: where to connect (HOST:PORT, the port 443 by
 * default) and the request, an HTTP/1.1 one that keeps the connection. */
static void use_url(struct args *a)
{
    struct load_cfg *c = &a->cfg;
    const char *auth = a->url + 8, *path, *method = a->method ? a->method : "GET";
    size_t auth_len, cap;
    int has_port, host_given = 0, n;
    char *req, *connect;

    if (strncasecmp(a->url, "https://", 8))
        ex_usage_error("the URL must begin with https://, not '%s'", a->url);
    for (const char *p = a->url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            ex_usage_error("the URL has a space or control character: '%s'", a->url);
    auth_len = strcspn(auth, "/?#");
    path = auth + auth_len;
    if (!auth_len || memchr(auth, '@', auth_len))
        ex_usage_error("the URL needs a host (and no user name): '%s'", a->url);
    if (method[strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789!#$%&'*+-.^_`|~")] || !method[0])
        ex_usage_error("-m: '%s' is not an HTTP method", method);
    /* A port follows the last colon, after an IPv6 literal's bracket. */
    has_port = auth[auth_len - 1] != ']' && memchr(auth, ':', auth_len) != NULL &&
               (auth[0] != '[' || memmem(auth, auth_len, "]:", 2));
    connect = malloc(auth_len + 5);
    if (!connect)
        ex_fail("out of memory");
    snprintf(connect, auth_len + 5, "%.*s%s", (int)auth_len, auth, has_port ? "" : ":443");
    a->connect = connect;

    for (int i = 0; i < a->n_headers; i++)
        host_given |= !strncasecmp(a->headers[i], "host:", 5);
    cap = strlen(method) + strlen(path) + auth_len + 64;
    for (int i = 0; i < a->n_headers; i++)
        cap += strlen(a->headers[i]) + 2;
    if (!(req = malloc(cap)))
        ex_fail("out of memory");
    n = snprintf(req, cap, "%s %s%.*s HTTP/1.1\r\n", method, *path == '/' ? "" : "/",
                 (int)strcspn(path, "#"), path);
    if (!host_given)
        n += snprintf(req + n, cap - (size_t)n, "Host: %.*s\r\n", (int)auth_len, auth);
    for (int i = 0; i < a->n_headers; i++)
        n += snprintf(req + n, cap - (size_t)n, "%s\r\n", a->headers[i]);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    c->request = req;
    c->request_len = (size_t)n;
}

/* --dtls: DTLS 1.2 has one version, no kernel offload and no 0-RTT; its
 * modes are those that need no byte stream of replies. */
static void check_dtls(struct load_cfg *c)
{
    if ((c->dtls.n_srtp || c->dtls.pmtu) && !c->dtls.on)
        ex_usage_error("--srtp and --pmtu need --dtls");
    if (!c->dtls.on)
        return;
    if (c->mode == LOAD_REQUEST)
        ex_usage_error("--dtls: handshake, resume, bulk or idle mode");
    if (c->tls_name || c->tls.has_ktls_mode)
        ex_usage_error("--dtls is DTLS 1.2 in userspace: no --tls, no --ktls");
    if (c->dtls.pmtu && (c->dtls.pmtu < 64 || c->dtls.pmtu > 65507))
        ex_usage_error("--pmtu: 64..65507");
}

static void check_args(struct args *a)
{
    struct load_cfg *c = &a->cfg;

    if (a->url && (a->connect || c->request))
        ex_usage_error("a URL excludes --connect and --request");
    if (!a->url && (a->n_headers || a->method))
        ex_usage_error("-H and -m build a request from a URL: give one");
    if (a->url && a->has_mode && c->mode != LOAD_REQUEST)
        ex_usage_error("a URL is for --mode request");
    if (a->url) {
        use_url(a);
        c->mode = LOAD_REQUEST;
        a->has_mode = 1;
    }
    if (!a->connect || !a->has_mode)
        ex_usage_error("--connect and --mode, or a URL, are required (try --help)");
    if (!a->cert != !a->key)
        ex_usage_error("--cert and --key go together");
    if (c->warmup > 0 && (c->count || c->mode == LOAD_IDLE))
        ex_usage_error("--warmup goes with --duration (not --count, not idle mode)");
    if (c->reconnect && c->mode != LOAD_BULK && c->mode != LOAD_REQUEST)
        ex_usage_error("--reconnect is for bulk and request modes");
    if (c->accept_status && c->mode != LOAD_REQUEST)
        ex_usage_error("--accept-status is for request mode");
    if (c->resume && c->mode != LOAD_REQUEST)
        ex_usage_error("--resume and --early-data are for request mode (see also --mode resume)");
    if (c->early_data && !strcmp(c->tls_name ? c->tls_name : "any", "1.2"))
        ex_usage_error("--early-data is TLS 1.3's (not --tls 1.2)");
    if (c->resume)
        c->reconnect = 1;           /* every request resumes on a new connection */
    check_dtls(c);
    if (!c->tls_name)
        c->tls_name = "any";
    if (a->ca && c->insecure)
        ex_usage_error("--ca and --insecure exclude each other");
    if (c->duration > 0 && c->count)
        ex_usage_error("--duration and --count exclude each other");
    if (c->tls.has_ktls_mode && c->tls.ktls_mode == NKTLS_KTLS_REQUIRE)
        ex_usage_error("--ktls: auto or off");
    if (c->mode == LOAD_BULK && !c->size)
        ex_usage_error("--mode bulk needs --size");
    if (c->mode == LOAD_REQUEST && !c->request_len)
        ex_usage_error("--mode request needs --request");
    if (c->mode == LOAD_IDLE && c->count)
        ex_usage_error("--mode idle holds --concurrency connections: no --count");
    if (!c->duration && !c->count)
        c->duration = 10;
    c->concurrency = c->concurrency > 0 ? c->concurrency : 1;
    c->threads = c->threads > 0 ? c->threads : 1;
    if (c->threads > c->concurrency)
        c->threads = c->concurrency;
    if (c->count && c->threads > c->count)
        c->threads = (int)c->count;     /* more workers than operations only idle */
    c->timeout_ms = c->timeout_ms ? c->timeout_ms : 10000;
    if (c->concurrency > 30000)
        ex_usage_error("--concurrency: at most 30000");
    c->ktls_auto = !(c->tls.has_ktls_mode && c->tls.ktls_mode == NKTLS_KTLS_OFF);
}

static void parse_args(int argc, char **argv, struct args *a)
{
    int opt;

    while ((opt = ex_getopt(argc, argv, "hH:m:", long_opts)) != -1)
        parse_opt(opt, a);
    if (optind < argc)
        a->url = argv[optind++];
    if (optind < argc)
        ex_usage_error("unexpected argument '%s'", argv[optind]);
    check_args(a);
}

static void resolve(struct load_cfg *c, const char *hostport)
{
    struct addrinfo hints, *res;
    char *host, *port;
    int rc;

    ex_split_hostport(hostport, &host, &port);
    if (!host)
        ex_usage_error("--connect needs a host");
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = c->dtls.on ? SOCK_DGRAM : SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        ex_fail("cannot resolve '%s': %s", host, gai_strerror(rc));
    memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
    c->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    if (!c->servername)
        c->servername = host;
    g_host = host;                  /* freed at the end of the run */
    free(port);
    c->target = hostport;
}

/* Room for every slot's connection plus those still closing; descriptors
 * for as many as the hard limit allows. */
static void init_stack(struct load_cfg *c, const struct args *a)
{
    const char *ca = a->ca;
    sbyte4 table = 2 * c->concurrency + 64;
    struct rlimit rl;
    MSTATUS st;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if ((st = MOCANA_initMocana()) < 0)
        ex_fail("MOCANA_initMocana: %s", ex_status_name(st));
    if ((st = SSL_ASYNC_init(0, table)) < 0)
        ex_fail("SSL_ASYNC_init: %s", ex_status_name(st));
    if ((st = CERT_STORE_createStore(&c->store)) < 0)
        ex_fail("CERT_STORE_createStore: %s", ex_status_name(st));
    if (ca)
        ex_load_trust(c->store, ca);
    if (a->cert)                    /* offered when the server asks for a certificate */
        ex_load_identity(c->store, a->cert, NULL, a->key);
    if (c->dtls.n_srtp && (st = SSL_setSrtpInitCallback(load_srtp_agreed)) < 0)
        ex_fail("SSL_setSrtpInitCallback: %s", ex_status_name(st));
}

int main(int argc, char **argv)
{
    struct args a;
    struct load_stats *total;
    struct load_sec *series;
    unsigned n_series;
    double elapsed;
    int rc;

    ex_prog = "nktls-load";
    memset(&a, 0, sizeof(a));
    parse_args(argc, argv, &a);
    resolve(&a.cfg, a.connect);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    init_stack(&a.cfg, &a);

    total = calloc(1, sizeof(*total));
    if (!total)
        ex_fail("out of memory");
    /* --json -: the JSON alone on stdout, for pipes; the text goes to stderr. */
    a.cfg.out = a.json && !strcmp(a.json, "-") ? stderr : stdout;
    elapsed = load_run(&a.cfg, total, &g_stop, &series, &n_series);

    load_report_text(a.cfg.out, &a.cfg, total, elapsed);
    if (a.json && load_report_json(a.json, &a.cfg, total, elapsed, series, n_series) != 0)
        ex_fail("cannot write '%s': %s", a.json, strerror(errno));
    if (a.csv && load_series_csv(a.csv, series, n_series) != 0)
        ex_fail("cannot write '%s': %s", a.csv, strerror(errno));
    free(series);
    CERT_STORE_releaseStore(&a.cfg.store);
    SSL_shutdownStack();
    SSL_releaseTables();
    MOCANA_freeMocana();
    rc = total->errors || !total->ops ? 1 : 0;
    free(total);
    free(a.cfg.request);
    free(g_host);
    if (a.url)
        free((char *)a.connect);
    for (int i = 0; i < a.cfg.tls.n_alpn; i++)
        free((char *)a.cfg.tls.alpn[i]);
    return rc;
}
