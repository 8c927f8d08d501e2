/* examples/common.c — helpers shared by nktls-server and nktls-client. */
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "common.h"
#include "nktls_loop.h"

const char *ex_prog = "nktls";
const char *ex_opt = "option";

static void vmessage(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", ex_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void ex_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    exit(2);
}

void ex_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    exit(1);
}

/* ---- option values ---- */

int ex_getopt(int argc, char **argv, const char *shorts, const struct option *longs)
{
    static char short_name[3] = "-?", spec[32] = ":";
    int index = -1, opt;

    /* A leading ':' tells a missing value (':') from an unknown option ('?'). */
    snprintf(spec + 1, sizeof(spec) - 1, "%s", shorts);
    opterr = 0;     /* we print our own one-line message */
    opt = getopt_long(argc, argv, spec, longs, &index);
    if (opt == '?')
        ex_usage_error("unknown option '%s' (try --help)", argv[optind - 1]);
    if (opt == ':')
        ex_usage_error("%s needs a value (try --help)", argv[optind - 1]);
    if (index >= 0) {
        static char long_name[64];
        snprintf(long_name, sizeof(long_name), "--%s", longs[index].name);
        ex_opt = long_name;
    } else if (opt > 0) {
        short_name[1] = (char)opt;
        ex_opt = short_name;
    }
    return opt;
}

/* Split list on any of seps, calling fn(name, ctx) for each non-empty item. */
static void for_each_item(const char *list, const char *seps,
                          void (*fn)(const char *name, void *ctx), void *ctx)
{
    char *copy = strdup(list), *save = NULL, *item;

    if (!copy)
        ex_fail("out of memory");
    for (item = strtok_r(copy, seps, &save); item; item = strtok_r(NULL, seps, &save))
        fn(item, ctx);
    free(copy);
}

static void add_cipher(const char *name, void *ctx)
{
    struct ex_opts *o = ctx;
    sbyte4 id = NKTLS_cipherIdByName(name);

    if (strncmp(name, "0x", 2) == 0 || strncmp(name, "0X", 2) == 0) {
        char *end;
        unsigned long v = strtoul(name + 2, &end, 16);
        /* Only a suite the name lookup knows: SSL_enableCiphers takes the same ones. */
        id = *end || end == name + 2 || v > 0xffff || !NKTLS_cipherName((ubyte2)v) ||
             NKTLS_cipherIdByName(NKTLS_cipherName((ubyte2)v)) != (sbyte4)v ? -1 : (sbyte4)v;
    }
    if (id < 0)
        ex_usage_error("%s: '%s' is not a cipher suite nktls knows (IANA names such as "
                       "TLS_AES_128_GCM_SHA256, or 0xNNNN)", ex_opt, name);
    if (o->n_ciphers == EX_MAX_LIST)
        ex_usage_error("%s: more than %d cipher suites", ex_opt, EX_MAX_LIST);
    o->ciphers[o->n_ciphers++] = (ubyte2)id;
}

static void add_group(const char *name, void *ctx)
{
    struct ex_opts *o = ctx;
    sbyte4 id = NKTLS_groupIdByName(name);

    if (id < 0)
        ex_usage_error("%s: '%s' is not a group nktls knows (X25519, P-256, P-384, X448, "
                       "P-521)", ex_opt, name);
    if (o->n_groups == EX_MAX_LIST)
        ex_usage_error("%s: more than %d groups", ex_opt, EX_MAX_LIST);
    o->groups[o->n_groups++] = (ubyte2)id;
}

static void add_alpn(const char *name, void *ctx)
{
    struct ex_opts *o = ctx;
    char *copy;

    if (strlen(name) > 255)
        ex_usage_error("%s: '%s' is too long (255 bytes at most)", ex_opt, name);
    if (o->n_alpn == EX_MAX_LIST)
        ex_usage_error("%s: more than %d protocols", ex_opt, EX_MAX_LIST);
    copy = strdup(name);      /* lives as long as the program */
    if (!copy)
        ex_fail("out of memory");
    o->alpn[o->n_alpn++] = copy;
}

void ex_parse_ciphers(struct ex_opts *o, const char *list)
{
    o->n_ciphers = 0;
    for_each_item(list, ",:", add_cipher, o);
    if (o->n_ciphers == 0)
        ex_usage_error("%s: '%s' is not a list of cipher suites", ex_opt, list);
}

void ex_parse_groups(struct ex_opts *o, const char *list)
{
    o->n_groups = 0;
    for_each_item(list, ",:", add_group, o);
    if (o->n_groups == 0)
        ex_usage_error("%s: '%s' is not a list of groups", ex_opt, list);
}

void ex_parse_alpn(struct ex_opts *o, const char *list)
{
    o->n_alpn = 0;
    for_each_item(list, ",", add_alpn, o);
    if (o->n_alpn == 0)
        ex_usage_error("%s: '%s' is not a list of protocol names", ex_opt, list);
}

ubyte4 ex_parse_version(const char *s)
{
    if (strcmp(s, "1.2") == 0)
        return TLS12_MINORVERSION;
    if (strcmp(s, "1.3") == 0)
        return TLS13_MINORVERSION;
    ex_usage_error("%s: '%s' is not a TLS version (1.2 or 1.3)", ex_opt, s);
}

void ex_parse_tls(struct ex_opts *o, const char *s)
{
    if (strcmp(s, "any") == 0) {
        o->tls_min = o->tls_max = 0;
        return;
    }
    if (strcmp(s, "1.2") != 0 && strcmp(s, "1.3") != 0)
        ex_usage_error("%s: '%s' is not a TLS version (1.2, 1.3 or any)", ex_opt, s);
    o->tls_min = o->tls_max = ex_parse_version(s);
}

void ex_parse_ktls_mode(struct ex_opts *o, const char *s)
{
    if (strcmp(s, "auto") == 0)
        o->ktls_mode = NKTLS_KTLS_AUTO;
    else if (strcmp(s, "off") == 0)
        o->ktls_mode = NKTLS_KTLS_OFF;
    else if (strcmp(s, "require") == 0)
        o->ktls_mode = NKTLS_KTLS_REQUIRE;
    else
        ex_usage_error("%s: '%s' is not a kTLS mode (auto, off or require)", ex_opt, s);
    o->has_ktls_mode = 1;
}

void ex_parse_rekey(struct ex_opts *o, const char *s)
{
    if (strcmp(s, "fail") == 0)
        o->rekey_policy = NKTLS_REKEY_FAIL;
    else if (strcmp(s, "software-rx") == 0)
        o->rekey_policy = NKTLS_REKEY_SOFTWARE_RX;
    else if (strcmp(s, "software") == 0)
        o->rekey_policy = NKTLS_REKEY_SOFTWARE;
    else
        ex_usage_error("%s: '%s' is not a rekey policy (fail, software-rx or software)", ex_opt,
                       s);
    o->has_rekey_policy = 1;
}

long ex_parse_count(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1)
        ex_usage_error("%s: '%s' is not a number (1 or more)", ex_opt, s);
    return v;
}

long ex_parse_seconds_ms(const char *s)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || v > 86400 * 365)
        ex_usage_error("%s: '%s' is not a number of seconds (more than 0)", ex_opt, s);
    return v * 1000 < 1 ? 1 : (long)(v * 1000);
}

enum ex_io ex_parse_io(const char *s)
{
    if (strcmp(s, "uring") == 0 || strcmp(s, "io_uring") == 0)
        return EX_IO_URING;
    if (strcmp(s, "epoll") == 0)
        return EX_IO_EPOLL;
    if (strcmp(s, "threads") == 0)
        return EX_IO_THREADS;
    ex_usage_error("%s: '%s' is not an I/O mode (uring, epoll or threads)", ex_opt, s);
}

void ex_split_hostport(const char *arg, char **host, char **port)
{
    const char *colon, *h = arg;
    size_t hlen;

    if (arg[0] == '[') {                     /* [v6addr]:port */
        const char *close = strchr(arg, ']');
        if (!close || close[1] != ':')
            ex_usage_error("%s: '%s' is not an address ([ADDR]:PORT)", ex_opt, arg);
        h = arg + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(arg, ':');
        if (!colon || strchr(arg, ':') != colon)
            ex_usage_error("%s: '%s' is not an address (HOST:PORT)", ex_opt, arg);
        hlen = (size_t)(colon - arg);
    }
    if (colon[1] == '\0')
        ex_usage_error("%s: '%s' has no port (HOST:PORT)", ex_opt, arg);
    *host = hlen ? strndup(h, hlen) : NULL;
    *port = strdup(colon + 1);
    if ((hlen && !*host) || !*port)
        ex_fail("out of memory");
}

/* ---- certificates and keys ---- */

static void read_file(const char *path, ubyte **buf, ubyte4 *len)
{
    MSTATUS st;

    errno = 0;
    st = MOCANA_readFile(path, buf, len);
    if (st == ERR_FILE_OPEN_FAILED && errno)     /* errno says why: missing, no permission */
        ex_usage_error("cannot read '%s': %s", path, strerror(errno));
    if (st != OK)
        ex_usage_error("cannot read '%s': %s", path, ex_status_text(st));
}

/* Certificates read from one file: decoded from PEM by the library (released
 * with CA_MGMT_freeCertificateChain), or the single certificate of a DER file. */
struct certs {
    SizedBuffer *v;
    ubyte4 n;
    SizedBuffer one;     /* the DER case: v points here */
};

static void read_certs(const char *path, struct certs *c)
{
    ubyte *file = NULL;
    ubyte4 flen = 0;
    MSTATUS st;

    memset(c, 0, sizeof(*c));
    read_file(path, &file, &flen);
    st = CA_MGMT_decodeCertificateChain(file, flen, &c->v, &c->n);
    if (st != OK) {
        /* Not PEM: CA_MGMT_decodeCertificate accepts DER too. */
        st = CA_MGMT_decodeCertificate(file, flen, &c->one.data, &c->one.length);
        if (st == OK) {
            c->v = &c->one;
            c->n = 1;
        }
    }
    MOCANA_freeReadFile(&file);
    if (st != OK)
        ex_usage_error("no certificate in '%s': %s", path, ex_status_text(st));
}

static void free_certs(struct certs *c)
{
    if (c->v == &c->one)
        free(c->one.data);
    else if (c->v)
        CA_MGMT_freeCertificateChain(c->v, c->n);
    memset(c, 0, sizeof(*c));
}

static void read_key(const char *path, ubyte **blob, ubyte4 *blob_len)
{
    ubyte *file = NULL;
    ubyte4 flen = 0;
    MSTATUS st;

    read_file(path, &file, &flen);
    if (memmem(file, flen, "-----BEGIN", 10))
        st = CA_MGMT_convertKeyPEM(file, flen, blob, blob_len);
    else
        st = CA_MGMT_convertKeyDER(file, flen, blob, blob_len);
    explicit_bzero(file, flen);
    MOCANA_freeReadFile(&file);
    if (st != OK)
        ex_usage_error("cannot load private key '%s': %s", path, ex_status_text(st));
}

/* A certificate out of its dates still loads (the clock may be wrong), but the
 * peers will refuse it: say so now rather than per connection. */
static void warn_dates(const char *path, const SizedBuffer *leaf)
{
    MSTATUS st = CA_MGMT_verifyCertDate(leaf->data, leaf->length);
    certDistinguishedName *dn = NULL;
    const char *date = "?";

    if (st != ERR_CERT_EXPIRED && st != ERR_CERT_NOT_YET_VALID)
        return;
    if (CA_MGMT_allocCertDistinguishedName(&dn) == OK &&
        CA_MGMT_extractCertDistinguishedName(leaf->data, leaf->length, 1, dn) == OK) {
        const sbyte *d = st == ERR_CERT_EXPIRED ? dn->pEndDate : dn->pStartDate;
        date = d ? (const char *)d : "?";
    }
    fprintf(stderr, "%s: warning: the certificate in '%s' %s %s (UTC): peers will refuse it\n",
            ex_prog, path, st == ERR_CERT_EXPIRED ? "expired on" : "is not valid before", date);
    CA_MGMT_freeCertDistinguishedName(&dn);
}

void ex_load_identity(certStorePtr store, const char *cert_file, const char *chain_file,
                      const char *key_file)
{
    struct certs leaf, extra;
    SizedBuffer *all;
    ubyte4 i;
    ubyte *blob = NULL;
    ubyte4 blob_len = 0;
    MSTATUS st;

    read_certs(cert_file, &leaf);
    warn_dates(cert_file, &leaf.v[0]);
    if (chain_file)
        read_certs(chain_file, &extra);
    else
        memset(&extra, 0, sizeof(extra));
    read_key(key_file, &blob, &blob_len);

    /* The store copies what it keeps, so a shallow array is enough here. */
    all = calloc(leaf.n + extra.n, sizeof(*all));
    if (!all)
        ex_fail("out of memory");
    for (i = 0; i < leaf.n; i++)
        all[i] = leaf.v[i];
    for (i = 0; i < extra.n; i++)
        all[leaf.n + i] = extra.v[i];
    st = CERT_STORE_addIdentityWithCertificateChain(store, all, leaf.n + extra.n, blob, blob_len);
    free(all);
    CA_MGMT_freeKeyBlob(&blob);
    free_certs(&leaf);
    free_certs(&extra);
    if (st != OK)
        ex_usage_error("cannot use '%s' with '%s': %s", cert_file, key_file, ex_status_text(st));
}

void ex_read_identity(const char *cert_file, const char *key_file, struct ex_identity *id)
{
    struct certs *c = calloc(1, sizeof(*c));
    certStorePtr check = NULL;

    if (!c || CERT_STORE_createStore(&check) != OK)
        ex_fail("out of memory");
    ex_load_identity(check, cert_file, NULL, key_file);   /* exits when they do not fit */
    CERT_STORE_releaseStore(&check);
    read_certs(cert_file, c);   /* kept: id points into it */
    read_key(key_file, &id->blob, &id->blob_len);
    id->certs = c->v;
    id->n = c->n;
}

void ex_load_trust(certStorePtr store, const char *ca_file)
{
    struct certs c;
    ubyte4 i;

    read_certs(ca_file, &c);
    for (i = 0; i < c.n; i++) {
        MSTATUS st = CERT_STORE_addTrustPoint(store, c.v[i].data, c.v[i].length);
        if (st != OK)
            ex_usage_error("cannot add trust point %u of '%s': %s", (unsigned)i + 1, ca_file,
                           ex_status_text(st));
    }
    free_certs(&c);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void ex_load_psk(certStorePtr store, const char *arg)
{
    const char *colon = strrchr(arg, ':');
    ubyte key[64];
    size_t n = 0, hex_len;
    MSTATUS st;

    if (!colon || colon == arg)
        ex_usage_error("--psk: '%s' is not IDENTITY:HEXKEY", arg);
    hex_len = strlen(colon + 1);
    if (hex_len == 0 || hex_len % 2 || hex_len / 2 > sizeof(key))
        ex_usage_error("--psk: the key must be 1 to 64 bytes in hex");
    for (; n < hex_len / 2; n++) {
        int hi = hex_digit(colon[1 + 2 * n]), lo = hex_digit(colon[2 + 2 * n]);
        if (hi < 0 || lo < 0)
            ex_usage_error("--psk: the key must be 1 to 64 bytes in hex");
        key[n] = (ubyte)(hi << 4 | lo);
    }
    st = CERT_STORE_addIdentityPSK(store, (const ubyte *)arg, (ubyte4)(colon - arg), NULL, 0, key,
                                   (ubyte4)n);
    memset(key, 0, sizeof(key));
    if (st != OK)
        ex_usage_error("--psk: %s", ex_status_text(st));
}

/* ---- connections ---- */

MSTATUS ex_apply_opts(sbyte4 conn, const struct ex_opts *o)
{
    MSTATUS st = OK;

    if (o->n_ciphers)
        st = SSL_enableCiphers(conn, o->ciphers, o->n_ciphers);
    if (st == OK && o->n_groups)
        st = NKTLS_setGroups(conn, o->groups, o->n_groups);
    if (st == OK && o->tls_min)
        st = SSL_ioctl(conn, SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)o->tls_min);
    if (st == OK && o->tls_max)
        st = SSL_ioctl(conn, SSL_SET_VERSION, (void *)(uintptr_t)o->tls_max);
    if (st == OK && o->has_ktls_mode)
        st = NKTLS_setKtlsMode(conn, o->ktls_mode);
    if (st == OK && o->has_rekey_policy)
        st = NKTLS_setRekeyPolicy(conn, o->rekey_policy);
    if (st == OK && o->ktls_flags)
        st = NKTLS_setKtlsOptions(conn, o->ktls_flags);
    if (st == OK && o->psk_ke)
        st = SSL_ioctl(conn, SSL_PSK_KEY_EXCHANGE_MODE, (void *)(uintptr_t)SSL_PSK_KE);
    return st;
}

const char *ex_status_name(MSTATUS st)
{
    return (const char *)MERROR_lookUpErrorCode(st);
}

const char *ex_status_text(MSTATUS st)
{
    /* One buffer per thread: the server's connection threads report at once. */
    static __thread char text[256];

    snprintf(text, sizeof(text), "%s: %s", ex_status_name(st), NKTLS_errorText(st));
    return text;
}

const char *ex_alert_for(sbyte4 conn, MSTATUS st)
{
    sbyte4 alert = -1, level = 0;
    const char *name;

    if (SSL_lookupAlert(conn, st, &alert, &level) != OK || alert < 0)
        return "none";
    name = NKTLS_alertName(alert);
    return name ? name : "unknown";
}

const char *ex_alert_suffix(sbyte4 conn, MSTATUS st)
{
    static __thread char text[64];
    const char *name = ex_alert_for(conn, st);

    if (strcmp(name, "none") == 0)
        return "";
    snprintf(text, sizeof(text), st == ERR_SSL_FATAL_ALERT ? " (the peer sent %s)" : " (we sent %s)",
             name);
    return text;
}

const char *ex_versions_text(const struct ex_opts *o)
{
    ubyte4 lo = o->tls_min ? o->tls_min : TLS12_MINORVERSION;
    ubyte4 hi = o->tls_max ? o->tls_max : TLS13_MINORVERSION;

    if (lo == hi)
        return lo == TLS13_MINORVERSION ? "TLS 1.3 only" : "TLS 1.2 only";
    return lo < hi ? "TLS 1.2 and TLS 1.3" : "no version (--tls-min above --tls-max)";
}

const char *ex_peer_versions_text(sbyte4 conn)
{
    static __thread char text[64];
    static const char *const names[] = { "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3" };
    ubyte4 mask = 0;
    int minor;

    text[0] = '\0';
    if (NKTLS_getPeerVersions(conn, &mask) != OK)
        return text;
    for (minor = 4; minor >= 0; minor--)    /* newest first, as a client lists them */
        if ((mask & NKTLS_VERSION_BIT(minor)) && (minor > 0 || !text[0]))
            snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s",
                     text[0] ? ", " : "", names[minor]);
    return text;
}

int ex_is_version_refusal(sbyte4 conn, MSTATUS st)
{
    return st == ERR_SSL_UNSUPPORTED_VERSION ||
           (st == ERR_SSL_FATAL_ALERT && strcmp(ex_alert_for(conn, st), "protocol_version") == 0);
}

static const char *version_name(ubyte4 v)
{
    switch (v & 0xff) {   /* the minor version, whether or not the major came along */
    case TLS13_MINORVERSION:  return "TLSv1.3";
    case TLS12_MINORVERSION:  return "TLSv1.2";
    case TLS11_MINORVERSION:  return "TLSv1.1";
    case TLS10_MINORVERSION:  return "TLSv1";
    case DTLS12_MINORVERSION: return "DTLSv1.2";
    case DTLS13_MINORVERSION: return "DTLSv1.3";
    default:                  return "unknown";
    }
}

static void layer_text(char *out, size_t cap, sbyte4 layer, const char *reason)
{
    if (layer == NKTLS_LAYER_KERNEL)
        snprintf(out, cap, "kernel");
    else if (reason && *reason)
        snprintf(out, cap, "software (%s)", reason);
    else
        snprintf(out, cap, "software");
}

/* Append one formatted line to buf at *used, never past cap. */
static void add_line(char *buf, size_t cap, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_line(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*used >= cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = (size_t)n >= cap - *used ? cap - 1 : *used + (size_t)n;
}

void ex_format_info(sbyte4 conn, unsigned what, char *buf, size_t cap)
{
    ubyte4 version = 0, curves = 0, alpn_len = 0;
    ubyte2 cipher = 0, group = 0;
    const ubyte *alpn = NULL;
    const char *name;
    size_t used = 0;

    buf[0] = '\0';
    SSL_getSSLTLSVersion(conn, &version);
    add_line(buf, cap, &used, "protocol: %s\n", version_name(version));

    name = SSL_getCipherInfo(conn, &cipher, &curves) == OK ? NKTLS_cipherName(cipher) : NULL;
    add_line(buf, cap, &used, "cipher: %s\n", name ? name : "none");

    name = NKTLS_getNegotiatedGroup(conn, &group) == OK ? NKTLS_groupName(group) : NULL;
    add_line(buf, cap, &used, "group: %s\n", name ? name : "none");

    if (SSL_getSelectedApplicationProtocol(conn, &alpn, &alpn_len) == OK && alpn && alpn_len)
        add_line(buf, cap, &used, "alpn: %.*s\n", (int)alpn_len, (const char *)alpn);
    else
        add_line(buf, cap, &used, "alpn: none\n");

    if (what & EX_INFO_SNI) {
        const sbyte *sni = NULL;
        if (NKTLS_getServerName(conn, &sni) != OK || !sni || !*sni)
            sni = (const sbyte *)"none";
        add_line(buf, cap, &used, "sni: %s\n", (const char *)sni);
    }
    if (what & EX_INFO_PEER) {
        sbyte subject[512];
        if (NKTLS_getPeerSubject(conn, subject, sizeof(subject)) != OK)
            strcpy((char *)subject, "none");
        add_line(buf, cap, &used, "peer: %s\n", (const char *)subject);
    }
    if (what & EX_INFO_LAYER) {
        nktlsRecordLayerInfo info;
        char tx[160], rx[160];
        memset(&info, 0, sizeof(info));
        if (NKTLS_getRecordLayerInfo(conn, &info) == OK) {
            layer_text(tx, sizeof(tx), info.txLayer, info.txReason);
            layer_text(rx, sizeof(rx), info.rxLayer, info.rxReason);
            add_line(buf, cap, &used, "record layer: tx %s, rx %s\n", tx, rx);
        } else {
            add_line(buf, cap, &used, "record layer: unknown\n");
        }
    }
}

void ex_check_ktls_mode(const struct ex_opts *o)
{
    const char *why = NKTLS_ktlsUnavailableReason();

    if (o->has_ktls_mode && o->ktls_mode == NKTLS_KTLS_REQUIRE && why)
        ex_fail("--ktls require: this kernel cannot carry TLS (%s); use --ktls auto to go on "
                "in software", why);
}

/* ---- --version ---- */

void ex_print_version(void)
{
    const char *why = NKTLS_ktlsUnavailableReason(), *uring = NULL;

    printf("%s (nktls %s)\n", ex_prog, NKTLS_version());
    printf("libcrypto: %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("liburing: %s (built with)\n", NKTLS_LIBURING_VERSION);
    if (why)
        printf("kTLS: not available (%s)\n", why);
    else
        printf("kTLS: available%s\n", NKTLS_kernelCanRekey() ? ", with rekey" : ", without rekey");
    if (NKTLS_LOOP_probeUring(&uring) == OK)
        printf("io_uring: available (%s)\n", uring);
    else
        printf("io_uring: not available (%s)\n", uring);
}

/* ---- I/O ---- */

int ex_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

MSTATUS ex_ssl_send_all(sbyte4 conn, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        sbyte4 chunk = len > 0x4000 ? 0x4000 : (sbyte4)len;
        sbyte4 n = SSL_send(conn, (sbyte *)p, chunk);
        if (n < 0)
            return (MSTATUS)n;
        if (n == 0)            /* no progress: report rather than spin */
            return ERR_TCP_WRITE_ERROR;
        p += n;
        len -= (size_t)n;
    }
    return OK;
}

/* ---- sockets ---- */

void ex_addr_text(const struct sockaddr *sa, unsigned len, char *out, size_t cap)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];

    if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, cap, "?");
        return;
    }
    snprintf(out, cap, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

int ex_listen_tcp(const char *arg, int reuseport)
{
    struct addrinfo hints, *res, *ai;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char *host, *port, text[NI_MAXHOST + NI_MAXSERV + 4];
    int fd = -1, one = 1, rc;

    ex_split_hostport(arg, &host, &port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        ex_usage_error("cannot resolve '%s': %s", arg, gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        /* Loop workers: nktls opens one more socket per worker on this address. */
        if (reuseport)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        ex_fail("cannot listen on '%s': %s", arg, strerror(errno));
    /* Port 0 means "any": report the one the kernel chose. */
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    ex_addr_text((struct sockaddr *)&ss, sl, text, sizeof(text));
    printf("listening on %s\n", text);
    fflush(stdout);
    free(host);
    free(port);
    return fd;
}
