/* core/nk.h — what every internal file includes: types, status codes, the two
 * propagation macros, export and result annotations. */
#ifndef NK_H
#define NK_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "common/mtypes.h"
#include "common/merrors.h"

#define NK_API  __attribute__((visibility("default")))
#define NK_MUST __attribute__((warn_unused_result))

/* Propagate a failed status. */
#define NK_TRY(expr) do { MSTATUS nk_s_ = (expr); if (nk_s_ < 0) return nk_s_; } while (0)
/* Fail with a status (whose alert nk_alert_for() knows) unless cond holds. */
#define NK_CHECK(cond, err) do { if (!(cond)) return (err); } while (0)

#define NK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* TLS alert descriptions (RFC 8446 §6). */
enum {
    NK_ALERT_CLOSE_NOTIFY = 0, NK_ALERT_UNEXPECTED_MESSAGE = 10, NK_ALERT_BAD_RECORD_MAC = 20,
    NK_ALERT_RECORD_OVERFLOW = 22, NK_ALERT_HANDSHAKE_FAILURE = 40, NK_ALERT_BAD_CERTIFICATE = 42,
    NK_ALERT_UNSUPPORTED_CERTIFICATE = 43, NK_ALERT_CERTIFICATE_REVOKED = 44,
    NK_ALERT_CERTIFICATE_EXPIRED = 45, NK_ALERT_CERTIFICATE_UNKNOWN = 46,
    NK_ALERT_ILLEGAL_PARAMETER = 47, NK_ALERT_UNKNOWN_CA = 48, NK_ALERT_ACCESS_DENIED = 49,
    NK_ALERT_DECODE_ERROR = 50, NK_ALERT_DECRYPT_ERROR = 51, NK_ALERT_PROTOCOL_VERSION = 70,
    NK_ALERT_INSUFFICIENT_SECURITY = 71, NK_ALERT_INTERNAL_ERROR = 80,
    NK_ALERT_INAPPROPRIATE_FALLBACK = 86, NK_ALERT_USER_CANCELED = 90,
    NK_ALERT_MISSING_EXTENSION = 109, NK_ALERT_UNSUPPORTED_EXTENSION = 110,
    NK_ALERT_UNRECOGNIZED_NAME = 112, NK_ALERT_BAD_CERTIFICATE_STATUS = 113,
    NK_ALERT_UNKNOWN_PSK_IDENTITY = 115, NK_ALERT_CERTIFICATE_REQUIRED = 116,
    NK_ALERT_NO_APPLICATION_PROTOCOL = 120,
    NK_ALERT_NONE = 255,
};

/* The alert a fatal local error sends; NK_ALERT_NONE when none is sent (socket
 * errors, an alert the peer already sent). */
int nk_alert_for(MSTATUS err);
const char *nk_alert_name(int alert);

/* Secrets: wipe with nk_wipe; compare with nk_ct_equal (constant time). */
void nk_wipe(void *p, size_t n);
int nk_ct_equal(const void *a, const void *b, size_t n);

/* Growable byte buffer. hw is how far bytes were ever written (the most len
 * has been): freeing wipes that much, not the whole capacity, since a record
 * buffer of 16.6 KiB usually saw a few hundred bytes. Whoever writes past len
 * moves len with nk_buf_wrote, so hw never misses written bytes. Buffers stay
 * below 4 GiB (nk_buf_reserve refuses more). */
struct nk_buf {
    uint8_t *p;
    size_t len;
    uint32_t cap, hw;
};
/* n bytes were written at p + len (within cap): they are now part of the buffer. */
static inline void nk_buf_wrote(struct nk_buf *b, size_t n)
{
    b->len += n;
    if (b->len > b->hw)
        b->hw = (uint32_t)b->len;
}
/* Bytes up to end were written into the storage without becoming part of the
 * buffer (a receive straight into it): freeing must still wipe them. */
static inline void nk_buf_mark(struct nk_buf *b, size_t end)
{
    if (end > b->hw)
        b->hw = (uint32_t)end;
}
MSTATUS nk_buf_reserve(struct nk_buf *b, size_t extra) NK_MUST;
MSTATUS nk_buf_append(struct nk_buf *b, const void *d, size_t n) NK_MUST;
void nk_buf_consume(struct nk_buf *b, size_t n);   /* drop n bytes from the front */
void nk_buf_free(struct nk_buf *b);                /* wipes, then frees */

/* Logging through MOCANA_initLog's function (no-op when none), core/log.c. */
void nk_log(int severity, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nk_log_set_sink(void (*sink)(sbyte4 module, sbyte4 severity, sbyte *msg));

/* An error's name ("ERR_SSL_PROTOCOL"), core/alert.c; MERROR_lookUpErrorCode's answer. */
const char *nk_err_name(MSTATUS err);
/* Its sentence ("the peer's certificate chain does not end at a trusted CA"). */
const char *nk_err_text(MSTATUS err);

#endif
