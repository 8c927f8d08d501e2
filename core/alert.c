/* core/alert.c — what each error is called, and the alert a fatal error sends
 * (RFC 8446 §6). */
#include "core/nk.h"

/* ---- error names ---- */

const char *nk_err_name(MSTATUS errorCode)
{
    switch ((int)errorCode) {
#define NK_ERR_NAME_(name, value, text) case (value): return #name;
    NKTLS_ERROR_LIST(NK_ERR_NAME_)
#undef NK_ERR_NAME_
    default:
        return "ERR_UNKNOWN";
    }
}

const char *nk_err_text(MSTATUS errorCode)
{
    switch ((int)errorCode) {
#define NK_ERR_TEXT_(name, value, text) case (value): return text;
    NKTLS_ERROR_LIST(NK_ERR_TEXT_)
#undef NK_ERR_TEXT_
    default:
        return "unknown error";
    }
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
    case ERR_SSL_NOT_TLS:                      return NK_ALERT_DECODE_ERROR;
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
    case ERR_SSL_VERSION_REFUSED:              return NK_ALERT_PROTOCOL_VERSION;
    case ERR_SSL_BAD_FINISHED:                 return NK_ALERT_DECRYPT_ERROR;
    case ERR_SSL_BAD_SIGNATURE:                return NK_ALERT_DECRYPT_ERROR;
    case ERR_SSL_BAD_BINDER:                   return NK_ALERT_DECRYPT_ERROR;
    case ERR_SSL_UNKNOWN_PSK_IDENTITY:         return NK_ALERT_UNKNOWN_PSK_IDENTITY;   /* RFC 4279 §2 */
    case ERR_SSL_NO_PSK:                       return NK_ALERT_HANDSHAKE_FAILURE;
    case ERR_SSL_MESSAGE_TOO_LONG:             return NK_ALERT_DECODE_ERROR;
    case ERR_SSL_EARLY_DATA_LIMIT:             return NK_ALERT_UNEXPECTED_MESSAGE;
    case ERR_SSL_EARLY_DATA_DOWNGRADE:         return NK_ALERT_PROTOCOL_VERSION;
    case ERR_SSL_BUFFER_LIMIT:                 return NK_ALERT_NONE;
    case ERR_SSL_MISSING_EXTENSION:            return NK_ALERT_MISSING_EXTENSION;
    case ERR_SSL_UNSUPPORTED_EXTENSION:        return NK_ALERT_UNSUPPORTED_EXTENSION;
    case ERR_SSL_PROTOCOL_PROCESS_CERTIFICATE: return NK_ALERT_BAD_CERTIFICATE;
    case ERR_SSL_NO_APPLICATION_PROTOCOL:      return NK_ALERT_NO_APPLICATION_PROTOCOL;
    case ERR_SSL_CERTIFICATE_REQUIRED:         return NK_ALERT_CERTIFICATE_REQUIRED;
    case ERR_SSL_DOWNGRADE_DETECTED:           return NK_ALERT_ILLEGAL_PARAMETER;
    case ERR_SSL_BAD_KEY_SHARE:                return NK_ALERT_ILLEGAL_PARAMETER;
    case ERR_SSL_BAD_DH_VALUE:                 return NK_ALERT_HANDSHAKE_FAILURE;   /* RFC 7919 §3, §4 */
    case ERR_SSL_UNRECOGNIZED_NAME:            return NK_ALERT_UNRECOGNIZED_NAME;
    case ERR_SSL_INSUFFICIENT_SECURITY:        return NK_ALERT_INSUFFICIENT_SECURITY;
    case ERR_SSL_INAPPROPRIATE_FALLBACK:       return NK_ALERT_INAPPROPRIATE_FALLBACK;
    case ERR_SSL_SIGALG_NOT_OFFERED:           return NK_ALERT_ILLEGAL_PARAMETER;
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
    case ERR_CERT_REVOKED:                     return NK_ALERT_CERTIFICATE_REVOKED;
    /* RFC 8446 §6.2: "an invalid or unacceptable OCSP response" */
    case ERR_CERT_STATUS:                      return NK_ALERT_BAD_CERTIFICATE_STATUS;
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
