/* examples/common.h — what nktls-server and nktls-client share: option parsing,
 * loading certificates and keys into a store, applying TLS options to a
 * connection, and describing a finished handshake. Public API only. */
#ifndef EX_COMMON_H
#define EX_COMMON_H

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
    int verbose;
};

/* Program name for messages ("nktls-client"). */
extern const char *ex_prog;

/* Print "prog: message" on stderr and exit: 2 for usage errors, 1 for failures. */
void ex_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void ex_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Option values; each exits with status 2 on a bad value. Lists are separated by
 * commas or colons (ALPN: commas only, a protocol name may contain a colon). */
void ex_parse_ciphers(struct ex_opts *o, const char *list);
void ex_parse_groups(struct ex_opts *o, const char *list);
void ex_parse_alpn(struct ex_opts *o, const char *list);
ubyte4 ex_parse_version(const char *s);
/* --ktls auto|off|require and --rekey fail|software-rx|software. */
void ex_parse_ktls_mode(struct ex_opts *o, const char *s);
void ex_parse_rekey(struct ex_opts *o, const char *s);
long ex_parse_count(const char *s);
/* --io uring|epoll|threads (nktls-server). */
enum ex_io { EX_IO_URING, EX_IO_EPOLL, EX_IO_THREADS };
enum ex_io ex_parse_io(const char *s);
/* "host:port", "[v6addr]:port" or ":port" (host NULL); both results malloc'd. */
void ex_split_hostport(const char *arg, char **host, char **port);

/* Load a certificate (PEM, possibly a whole chain, or DER), optional extra chain
 * certificates and a private key (PEM or DER) as the store's identity; load every
 * certificate of a PEM/DER file as trust points. Exit 2 on failure. */
void ex_load_identity(certStorePtr store, const char *cert_file, const char *chain_file,
                      const char *key_file);
void ex_load_trust(certStorePtr store, const char *ca_file);

/* Apply ciphers, groups, version bounds and the kernel TLS settings to a new
 * connection (before its handshake). */
MSTATUS ex_apply_opts(sbyte4 conn, const struct ex_opts *o);

/* Name of a status ("ERR_SSL_BAD_ID") and of the alert it sends ("handshake_failure"). */
const char *ex_status_name(MSTATUS st);
const char *ex_alert_for(sbyte4 conn, MSTATUS st);

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
