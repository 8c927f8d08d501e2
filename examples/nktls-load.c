/* nktls-load — a TLS load generator on nktls's own event loop (NKTLS_LOOP_*:
 * io_uring, or epoll where io_uring is unavailable): many connections per
 * worker thread, against any TLS server. Measures full and resumed
 * handshakes, bulk echo throughput, request/reply latency and the cost of
 * idle connections, closed loop or open loop (--rate).
 *
 * The parts: this file (options, the report), load_worker.c (the loop, the
 * schedule, the scheduler thread), load_ops.c (what each mode does),
 * load_conn.c (the loop's callbacks, tickets, errors by kind), load_stats.c
 * (the histogram and the report formats).
 *
 * Exit status: 0 when every operation succeeded, 1 when any failed (the report
 * says how) or none ran, 2 on usage errors. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "load.h"

static const char usage[] =
    "usage: nktls-load --connect HOST:PORT --mode handshake|resume|bulk|request|idle\n"
    "         [--servername NAME] [--ca FILE | --insecure]\n"
    "         [--duration SEC | --count N] [--concurrency N] [--threads N] [--rate R]\n"
    "         [--tls 1.2|1.3] [--ciphers LIST] [--groups LIST] [--size BYTES]\n"
    "         [--request TEXT] [--ktls auto|off] [--timeout MS] [--json FILE] [-h] [--version]\n"
    "  handshake  full handshakes, each connection closed after it (close_notify)\n"
    "  resume     resumed handshakes with the server's session ticket\n"
    "  bulk       per connection: send --size bytes, read the echo back, check it\n"
    "  request    send --request (\\r \\n \\t \\\\ \\xHH escapes) on keep-alive\n"
    "             connections, count replies (HTTP by Content-Length, else the\n"
    "             request's length)\n"
    "  idle       open --concurrency connections, hold them without traffic for\n"
    "             --duration seconds (or until SIGINT), then close them; prints\n"
    "             \"idle: N connections open\" once all are open\n"
    "  --rate R      open loop: R operations per second, latency from when each\n"
    "                was due; without it, closed loop\n"
    "  --threads N   event-loop workers, each driving its share of the connections\n"
    "                (io_uring, or epoll where io_uring is unavailable;\n"
    "                NKTLS_IO=epoll forces epoll)\n"
    "  --timeout MS  limit on a handshake (from connect) and on a stall after it\n"
    "                (default 10000)\n"
    "  --ktls auto   (the default) the kernel carries the records where it can\n";

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
       OPT_SIZE, OPT_REQUEST, OPT_KTLS, OPT_TIMEOUT, OPT_JSON, OPT_VERSION };

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
    { NULL, 0, NULL, 0 },
};

struct args {
    const char *connect, *ca, *json;
    int has_mode;
    struct load_cfg cfg;
};

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
    case OPT_TLS: c->tls.tls_min = c->tls.tls_max = ex_parse_version(optarg); break;
    case OPT_CIPHERS: ex_parse_ciphers(&c->tls, optarg); break;
    case OPT_GROUPS: ex_parse_groups(&c->tls, optarg); break;
    case OPT_SIZE: c->size = (unsigned long long)ex_parse_count(optarg); break;
    case OPT_REQUEST: c->request = unescape(optarg, &c->request_len); break;
    case OPT_KTLS: ex_parse_ktls_mode(&c->tls, optarg); break;
    case OPT_TIMEOUT: c->timeout_ms = (unsigned)ex_parse_count(optarg); break;
    case OPT_JSON: a->json = optarg; break;
    case 'h': fputs(usage, stdout); exit(0);
    case OPT_VERSION: ex_print_version(); exit(0);
    default: ex_usage_error("bad option '%s' (try --help)", optarg ? optarg : "?");
    }
}

static void check_args(struct args *a)
{
    struct load_cfg *c = &a->cfg;

    if (!a->connect || !a->has_mode)
        ex_usage_error("--connect and --mode are required (try --help)");
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

    while ((opt = ex_getopt(argc, argv, "h", long_opts)) != -1)
        parse_opt(opt, a);
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
    hints.ai_socktype = SOCK_STREAM;
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
static void init_stack(struct load_cfg *c, const char *ca)
{
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
}

int main(int argc, char **argv)
{
    struct args a;
    struct load_stats *total;
    double elapsed;
    int rc;

    ex_prog = "nktls-load";
    memset(&a, 0, sizeof(a));
    parse_args(argc, argv, &a);
    resolve(&a.cfg, a.connect);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    init_stack(&a.cfg, a.ca);

    total = calloc(1, sizeof(*total));
    if (!total)
        ex_fail("out of memory");
    /* --json -: the JSON alone on stdout, for pipes; the text goes to stderr. */
    a.cfg.out = a.json && !strcmp(a.json, "-") ? stderr : stdout;
    elapsed = load_run(&a.cfg, total, &g_stop);

    load_report_text(a.cfg.out, &a.cfg, total, elapsed);
    if (a.json && load_report_json(a.json, &a.cfg, total, elapsed) != 0)
        ex_fail("cannot write '%s': %s", a.json, strerror(errno));
    CERT_STORE_releaseStore(&a.cfg.store);
    SSL_shutdownStack();
    SSL_releaseTables();
    MOCANA_freeMocana();
    rc = total->errors || !total->ops ? 1 : 0;
    free(total);
    free(a.cfg.request);
    free(g_host);
    return rc;
}
