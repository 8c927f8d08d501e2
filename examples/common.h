/* examples/common.h — what nktls-server and nktls-client share: option parsing,
 * loading certificates and keys into a store, applying TLS options to a
 * connection, and describing a finished handshake. Public API only. */
#ifndef EX_COMMON_H
#define EX_COMMON_H

#include <getopt.h>
#include <stdio.h>

#include "common/mocana.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"
#include "ssl/ssl.h"
#include "nktls.h"

#define EX_MAX_LIST 32

/* TLS options both programs take. Zero = library default. */
struct ex_opts {
    ubyte2 ciphers[EX_MAX_LIST];
    ubyte4 n_ciphers;
    ubyte2 groups[EX_MAX_LIST];
    ubyte4 n_groups;
    ubyte4 tls_min, tls_max;          /* minor versions: 3 = TLS 1.2, 4 = TLS 1.3 */
    const char *alpn[EX_MAX_LIST];    /* protocol names, in preference order */
    sbyte4 n_alpn;
    /* Kernel TLS: applied only when given, so the process default stays in
     * charge otherwise. */
    int has_ktls_mode, has_rekey_policy;
    sbyte4 ktls_mode;                 /* NKTLS_KTLS_AUTO/OFF/REQUIRE */
    sbyte4 rekey_policy;              /* NKTLS_REKEY_* */
    ubyte4 ktls_flags;                /* NKTLS_KTLS_ZEROCOPY_SENDFILE, ... */
    int psk_ke;                       /* --psk-ke: TLS 1.3 PSK without (EC)DHE (NKTLS_FLAG_PSK_KE) */
    int verbose;
};

/* Program name for messages ("nktls-client"). */
extern const char *ex_prog;
/* The option being parsed ("--port"), set by ex_getopt, for messages about its value:
 * "nktls-client: --port: 'abc' is not a number (1-65535)". */
extern const char *ex_opt;

/* getopt_long that keeps ex_opt and refuses unknown options and missing values with
 * one line (exit 2). */
int ex_getopt(int argc, char **argv, const char *shorts, const struct option *longs);

/* Print "prog: message" on stderr and exit: 2 for usage errors, 1 for failures. */
void ex_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void ex_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Option values; each exits with status 2 on a bad value. Lists are separated by
 * commas or colons (ALPN: commas only, a protocol name may contain a colon). */
void ex_parse_ciphers(struct ex_opts *o, const char *list);
void ex_parse_groups(struct ex_opts *o, const char *list);
void ex_parse_alpn(struct ex_opts *o, const char *list);
ubyte4 ex_parse_version(const char *s);
/* --tls 1.2|1.3|any: both bounds to one version, or the library's range. */
void ex_parse_tls(struct ex_opts *o, const char *s);
/* Seconds (fractions allowed, more than 0), as milliseconds. */
long ex_parse_seconds_ms(const char *s);
/* --ktls auto|off|require and --rekey fail|software-rx|software. */
void ex_parse_ktls_mode(struct ex_opts *o, const char *s);
void ex_parse_rekey(struct ex_opts *o, const char *s);
long ex_parse_count(const char *s);
/* --io uring|epoll|threads (nktls-server). */
enum ex_io { EX_IO_URING, EX_IO_EPOLL, EX_IO_THREADS };
enum ex_io ex_parse_io(const char *s);
/* "host:port", "[v6addr]:port" or ":port" (host NULL); both results malloc'd. */
void ex_split_hostport(const char *arg, char **host, char **port);

struct sockaddr;
/* "HOST:PORT" ("[HOST]:PORT" for IPv6) of a socket address, numeric; "?" when
 * it has none. */
void ex_addr_text(const struct sockaddr *sa, unsigned len, char *out, size_t cap);
/* A TCP socket listening on ARG (HOST:PORT; port 0: any), SO_REUSEPORT when
 * asked (the loop's workers open one each on the same address); prints
 * "listening on ADDR" with the port chosen. Ends the program when it cannot. */
int ex_listen_tcp(const char *arg, int reuseport);

/* Load a certificate (PEM, possibly a whole chain, or DER), optional extra chain
 * certificates and a private key (PEM or DER) as the store's identity; load every
 * certificate of a PEM/DER file as trust points. Exit 2 on failure. */
void ex_load_identity(certStorePtr store, const char *cert_file, const char *chain_file,
                      const char *key_file);
void ex_load_trust(certStorePtr store, const char *ca_file);
/* --psk IDENTITY:HEXKEY: an external PSK in the store (CERT_STORE_addIdentityPSK). */
void ex_load_psk(certStorePtr store, const char *arg);
/* The same identity kept in memory, for a client certificate callback
 * (SSL_setClientCertCallback): checked once as ex_load_identity does, then
 * held for the life of the process. */
struct ex_identity {
    SizedBuffer *certs;
    ubyte4 n;
    ubyte *blob;
    ubyte4 blob_len;
};
void ex_read_identity(const char *cert_file, const char *key_file, struct ex_identity *id);

/* Apply ciphers, groups, version bounds and the kernel TLS settings to a new
 * connection (before its handshake). */
MSTATUS ex_apply_opts(sbyte4 conn, const struct ex_opts *o);

/* A status's name ("ERR_SSL_BAD_ID"); the name with its sentence, for messages
 * ("ERR_SSL_NO_CIPHER_MATCH: no cipher suite in common: ..."); the alert that
 * went with it, " (we sent handshake_failure)" or for ERR_SSL_FATAL_ALERT " (the
 * peer sent protocol_version)", or "" when there was none. */
const char *ex_status_name(MSTATUS st);
const char *ex_status_text(MSTATUS st);
const char *ex_alert_suffix(sbyte4 conn, MSTATUS st);
/* The alert's name alone ("handshake_failure", "none"); for ERR_SSL_FATAL_ALERT
 * the one the peer sent. */
const char *ex_alert_for(sbyte4 conn, MSTATUS st);
/* The versions o allows, in words ("TLS 1.3 only"); whether a failed handshake
 * failed for want of a common version (ours, or the peer's protocol_version). */
const char *ex_versions_text(const struct ex_opts *o);
int ex_is_version_refusal(sbyte4 conn, MSTATUS st);
/* After such a refusal, what the peer wanted ("TLS 1.2, TLS 1.1, TLS 1.0"; SSL 3.0
 * only when alone), or "" when it did not say. */
const char *ex_peer_versions_text(sbyte4 conn);

/* --ktls require on a kernel that cannot take TLS keys: refuse at start-up with
 * the reason (exit 1), rather than failing every connection. */
void ex_check_ktls_mode(const struct ex_opts *o);

/* --version: the program, nktls, libcrypto and liburing versions, and whether
 * kTLS and io_uring work on this kernel (why not, when not). */
void ex_print_version(void);

/* Describe a finished handshake, one "key: value" line each, into buf. */
#define EX_INFO_PEER  0x1   /* peer: <subject> */
#define EX_INFO_SNI   0x2   /* sni: <name> */
#define EX_INFO_LAYER 0x4   /* record layer: ... */
void ex_format_info(sbyte4 conn, unsigned what, char *buf, size_t cap);

/* Write all of buf to fd, retrying short writes; -1 on error. */
int ex_write_all(int fd, const void *buf, size_t len);
/* SSL_send until all of buf is written; OK or the error. */
MSTATUS ex_ssl_send_all(sbyte4 conn, const void *buf, size_t len);

#endif
