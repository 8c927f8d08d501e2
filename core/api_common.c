/* core/api_common.c — the "common" public calls (start-up, logging, files, error
 * names) and the small internal helpers every file uses: wiping, constant-time
 * compare, the growable buffer, and the error → alert mapping. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>

#include "core/nk.h"
#include "core/crypto.h"
#include "common/mocana.h"

/* ---- start-up and shutdown ---- */

NK_API sbyte4 MOCANA_initMocana(void)
{
    return nk_crypto_init();
}

NK_API sbyte4 MOCANA_freeMocana(void)
{
    nk_crypto_shutdown();
    return OK;
}

/* ---- logging ---- */

/* Read and written with atomics: the sink may be swapped while connection threads log. */
static logFn log_sink;

NK_API MSTATUS MOCANA_initLog(logFn lf)
{
    __atomic_store_n(&log_sink, lf, __ATOMIC_RELEASE);
    return OK;
}

void nk_log(int severity, const char *fmt, ...)
{
    logFn sink = __atomic_load_n(&log_sink, __ATOMIC_ACQUIRE);
    char line[512];
    va_list ap;

    if (!sink)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    sink(LM_SSL, severity, (sbyte *)line);
}

NK_API void NKTLS_logError(const char *pFile, sbyte4 line, sbyte4 errorCode)
{
    nk_log(LS_MINOR, "%s:%d: %s (%d)", pFile ? pFile : "?", (int)line,
           (const char *)MERROR_lookUpErrorCode((MSTATUS)errorCode), (int)errorCode);
}

/* ---- files ---- */

/* Read f to EOF rather than trusting its size: works for pipes and /proc too. */
static MSTATUS read_all(FILE *f, ubyte **pbuf, size_t *plen)
{
    ubyte *buf = NULL;
    size_t len = 0, cap = 0;

    for (;;) {
        size_t n;
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            ubyte *nbuf = ncap <= UINT32_MAX ? realloc(buf, ncap) : NULL;
            if (!nbuf) {
                free(buf);
                return ncap <= UINT32_MAX ? ERR_MEM_ALLOC_FAIL : ERR_FILE_READ_FAILED;
            }
            buf = nbuf;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return ERR_FILE_READ_FAILED;
    }
    *pbuf = buf;
    *plen = len;
    return OK;
}

NK_API MSTATUS MOCANA_readFile(const char *pFilename, ubyte **ppRetBuffer, ubyte4 *pRetBufLength)
{
    FILE *f;
    size_t len = 0;
    MSTATUS st;

    if (!pFilename || !ppRetBuffer || !pRetBufLength)
        return ERR_NULL_POINTER;
    *ppRetBuffer = NULL;
    *pRetBufLength = 0;
    f = fopen(pFilename, "rb");
    if (!f)
        return ERR_FILE_OPEN_FAILED;
    st = read_all(f, ppRetBuffer, &len);
    fclose(f);
    if (st == OK)
        *pRetBufLength = (ubyte4)len;
    return st;
}

NK_API MSTATUS MOCANA_freeReadFile(ubyte **ppRetBuffer)
{
    if (!ppRetBuffer)
        return ERR_NULL_POINTER;
    free(*ppRetBuffer);
    *ppRetBuffer = NULL;
    return OK;
}

NK_API MSTATUS MOCANA_writeFile(const char *pFilename, const ubyte *pBuffer, ubyte4 bufLength)
{
    FILE *f;
    int bad;

    if (!pFilename || (!pBuffer && bufLength))
        return ERR_NULL_POINTER;
    f = fopen(pFilename, "wb");
    if (!f)
        return ERR_FILE_OPEN_FAILED;
    bad = bufLength && fwrite(pBuffer, 1, bufLength, f) != bufLength;
    /* fclose flushes: a full disk shows up here, not in fwrite. */
    if (fclose(f) != 0)
        bad = 1;
    return bad ? ERR_FILE_WRITE_FAILED : OK;
}

/* ---- error names ---- */

NK_API const ubyte *MERROR_lookUpErrorCode(MSTATUS errorCode)
{
    switch ((int)errorCode) {
#define NK_ERR_NAME_(name, value, text) case (value): return (const ubyte *)#name;
    NKTLS_ERROR_LIST(NK_ERR_NAME_)
#undef NK_ERR_NAME_
    default:
        return (const ubyte *)"ERR_UNKNOWN";
    }
}

/* ---- secrets ---- */

void nk_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

int nk_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---- growable buffer ---- */

MSTATUS nk_buf_reserve(struct nk_buf *b, size_t extra)
{
    size_t need, ncap;
    uint8_t *np;

    if (extra > SIZE_MAX - b->len)
        return ERR_MEM_ALLOC_FAIL;
    need = b->len + extra;
    if (need <= b->cap)
        return OK;
    /* An empty buffer gets what is asked (a record buffer is one record, not the
     * next power of two: that is per-connection memory); one being appended to
     * grows geometrically. */
    ncap = b->cap ? b->cap : 256;
    if (b->len == 0 && need > ncap)
        ncap = need;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > UINT32_MAX)
        return ERR_MEM_ALLOC_FAIL;
    /* Not realloc: the old block may hold key material and must be wiped first. */
    np = malloc(ncap);
    if (!np)
        return ERR_MEM_ALLOC_FAIL;
    if (b->p) {
        memcpy(np, b->p, b->len);
        nk_wipe(b->p, b->hw > b->len ? b->hw : b->len);
        free(b->p);
    }
    b->p = np;
    b->cap = (uint32_t)ncap;
    b->hw = (uint32_t)b->len;
    return OK;
}

MSTATUS nk_buf_append(struct nk_buf *b, const void *d, size_t n)
{
    if (n == 0)
        return OK;
    NK_TRY(nk_buf_reserve(b, n));
    memcpy(b->p + b->len, d, n);
    nk_buf_wrote(b, n);
    return OK;
}

void nk_buf_consume(struct nk_buf *b, size_t n)
{
    if (n >= b->len) {
        nk_wipe(b->p, b->len);
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    nk_wipe(b->p + b->len, n);    /* the stale tail still holds consumed bytes */
}

void nk_buf_free(struct nk_buf *b)
{
    if (b->p) {
        /* Only bytes ever written can hold anything (see struct nk_buf). */
        nk_wipe(b->p, b->hw > b->len ? b->hw : b->len);
        free(b->p);
    }
    b->p = NULL;
    b->len = 0;
    b->cap = b->hw = 0;
}

/* ---- alerts ---- */

const char *nk_alert_name(int alert)
{
    switch (alert) {
    case 0:   return "close_notify";
    case 10:  return "unexpected_message";
    case 20:  return "bad_record_mac";
    case 21:  return "decryption_failed";
    case 22:  return "record_overflow";
    case 30:  return "decompression_failure";
    case 40:  return "handshake_failure";
    case 41:  return "no_certificate";
    case 42:  return "bad_certificate";
    case 43:  return "unsupported_certificate";
    case 44:  return "certificate_revoked";
    case 45:  return "certificate_expired";
    case 46:  return "certificate_unknown";
    case 47:  return "illegal_parameter";
    case 48:  return "unknown_ca";
    case 49:  return "access_denied";
    case 50:  return "decode_error";
    case 51:  return "decrypt_error";
    case 60:  return "export_restriction";
    case 70:  return "protocol_version";
    case 71:  return "insufficient_security";
    case 80:  return "internal_error";
    case 86:  return "inappropriate_fallback";
    case 90:  return "user_canceled";
    case 100: return "no_renegotiation";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 111: return "certificate_unobtainable";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 114: return "bad_certificate_hash_value";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    case NK_ALERT_NONE: return "none";
    default:  return "unknown";
    }
}

int nk_alert_for(MSTATUS err)
{
    switch ((int)err) {
    case ERR_SSL_PROTOCOL:                     return NK_ALERT_DECODE_ERROR;
    case ERR_SSL_UNEXPECTED_MESSAGE:           return NK_ALERT_UNEXPECTED_MESSAGE;
    case ERR_SSL_BAD_RECORD_MAC:               return NK_ALERT_BAD_RECORD_MAC;
    case ERR_SSL_RECORD_OVERFLOW:              return NK_ALERT_RECORD_OVERFLOW;
    case ERR_SSL_ILLEGAL_PARAMETER:            return NK_ALERT_ILLEGAL_PARAMETER;
    case ERR_SSL_HANDSHAKE_FAILURE:            return NK_ALERT_HANDSHAKE_FAILURE;
    case ERR_SSL_NO_CIPHER_MATCH:              return NK_ALERT_HANDSHAKE_FAILURE;
    case ERR_SSL_NO_GROUP_MATCH:               return NK_ALERT_HANDSHAKE_FAILURE;
    case ERR_SSL_NO_SIGALG_MATCH:              return NK_ALERT_HANDSHAKE_FAILURE;
    case ERR_SSL_NO_IDENTITY:                  return NK_ALERT_HANDSHAKE_FAILURE;
    case ERR_SSL_UNSUPPORTED_VERSION:          return NK_ALERT_PROTOCOL_VERSION;
    case ERR_SSL_BAD_FINISHED:                 return NK_ALERT_DECRYPT_ERROR;
    case ERR_SSL_BAD_SIGNATURE:                return NK_ALERT_DECRYPT_ERROR;
    case ERR_SSL_BAD_BINDER:                   return NK_ALERT_DECRYPT_ERROR;
    case ERR_SSL_MESSAGE_TOO_LONG:             return NK_ALERT_DECODE_ERROR;
    case ERR_SSL_EARLY_DATA_LIMIT:             return NK_ALERT_UNEXPECTED_MESSAGE;
    case ERR_SSL_BUFFER_LIMIT:                 return NK_ALERT_NONE;
    case ERR_SSL_MISSING_EXTENSION:            return NK_ALERT_MISSING_EXTENSION;
    case ERR_SSL_UNSUPPORTED_EXTENSION:        return NK_ALERT_UNSUPPORTED_EXTENSION;
    case ERR_SSL_PROTOCOL_PROCESS_CERTIFICATE: return NK_ALERT_BAD_CERTIFICATE;
    case ERR_SSL_NO_APPLICATION_PROTOCOL:      return NK_ALERT_NO_APPLICATION_PROTOCOL;
    case ERR_SSL_CERTIFICATE_REQUIRED:         return NK_ALERT_CERTIFICATE_REQUIRED;
    case ERR_SSL_DOWNGRADE_DETECTED:           return NK_ALERT_ILLEGAL_PARAMETER;
    case ERR_SSL_BAD_KEY_SHARE:                return NK_ALERT_ILLEGAL_PARAMETER;
    case ERR_SSL_UNRECOGNIZED_NAME:            return NK_ALERT_UNRECOGNIZED_NAME;
    case ERR_SSL_INSUFFICIENT_SECURITY:        return NK_ALERT_INSUFFICIENT_SECURITY;
    case ERR_SSL_KEY_UPDATE_LIMIT:             return NK_ALERT_UNEXPECTED_MESSAGE;
    case ERR_SSL_CERT_VALIDATION_FAILED:       return NK_ALERT_BAD_CERTIFICATE;
    case ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY: return NK_ALERT_UNKNOWN_CA;
    case ERR_SSLCC_NO_SELF_SIGNED_CERTIFICATES:   return NK_ALERT_UNKNOWN_CA;
    case ERR_CERT_EXPIRED:                     return NK_ALERT_CERTIFICATE_EXPIRED;
    case ERR_CERT_NOT_YET_VALID:               return NK_ALERT_CERTIFICATE_EXPIRED;
    case ERR_CERT_HOSTNAME_MISMATCH:           return NK_ALERT_CERTIFICATE_UNKNOWN;
    case ERR_CERT_BAD_SIGNATURE:               return NK_ALERT_BAD_CERTIFICATE;
    case ERR_CERT_KEY_TOO_SMALL:               return NK_ALERT_INSUFFICIENT_SECURITY;
    case ERR_CERT_SHA1_SIGNATURE:              return NK_ALERT_BAD_CERTIFICATE;
    case ERR_CERT_INVALID:                     return NK_ALERT_BAD_CERTIFICATE;
    case ERR_CERT_DECODE:                      return NK_ALERT_BAD_CERTIFICATE;
    case ERR_CERT_UNSUPPORTED_KEY:             return NK_ALERT_UNSUPPORTED_CERTIFICATE;
    case ERR_CERT_KEY_USAGE:                   return NK_ALERT_UNSUPPORTED_CERTIFICATE;
    /* Nothing to send: the socket is gone, the peer already alerted or closed,
     * or we simply gave up waiting. */
    case ERR_TCP_SOCKET_CLOSED:
    case ERR_TCP_READ_ERROR:
    case ERR_TCP_READ_TIMEOUT:
    case ERR_TCP_WRITE_ERROR:
    case ERR_TCP_CONNECT_ERROR:
    case ERR_TCP_WOULDBLOCK:
    case ERR_SSL_FATAL_ALERT:
    case ERR_SSL_CONNECTION_CLOSED:
    case ERR_SSL_HANDSHAKE_TIMEOUT:
        return NK_ALERT_NONE;
    default:
        return NK_ALERT_INTERNAL_ERROR;
    }
}
