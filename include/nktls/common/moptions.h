/* moptions.h — the SDK's compile-time feature flags, set for what nktls provides.
 *
 * In the SDK these come from moptions_custom.h and the build: each one switches a
 * part of the library on, and application glue wraps the calls into that part in
 * #ifdef __ENABLE_MOCANA_<FEATURE>__ (or asserts the flag with #error). nktls is
 * built once with everything it has, so here every flag names something that
 * works in this library, and no flag names something that does not: an
 * #ifdef block in an application then compiles exactly the paths that run.
 * Newer TrustCore code spells the same flags __ENABLE_DIGICERT_<FEATURE>__; both
 * spellings are defined. docs/porting.md has the whole table, including the
 * flags left undefined on purpose (TLS 1.2 cipher-suite families, DTLS, SSLv3,
 * heartbeat, ...).
 *
 * Each flag is defined only if the build has not defined it already (SDK build
 * files pass them with -D), so a -D of the same flag never clashes. Defining a
 * flag this header leaves out enables nothing: the calls behind it do not exist. */
#ifndef NKTLS_COMMON_MOPTIONS_H
#define NKTLS_COMMON_MOPTIONS_H

/* Each feature below: __ENABLE_MOCANA_F__ and __ENABLE_DIGICERT_F__, as 1 so
 * that both #ifdef and #if test true. */

/* The synchronous client and server (SSL_connect, SSL_acceptConnection, ...). */
#ifndef __ENABLE_MOCANA_SSL_CLIENT__
#define __ENABLE_MOCANA_SSL_CLIENT__ 1
#endif
#ifndef __ENABLE_DIGICERT_SSL_CLIENT__
#define __ENABLE_DIGICERT_SSL_CLIENT__ 1
#endif
#ifndef __ENABLE_MOCANA_SSL_SERVER__
#define __ENABLE_MOCANA_SSL_SERVER__ 1
#endif
#ifndef __ENABLE_DIGICERT_SSL_SERVER__
#define __ENABLE_DIGICERT_SSL_SERVER__ 1
#endif

/* The SSL_ASYNC_* client and server; both APIs in one process (dual mode). */
#ifndef __ENABLE_MOCANA_SSL_ASYNC_CLIENT_API__
#define __ENABLE_MOCANA_SSL_ASYNC_CLIENT_API__ 1
#endif
#ifndef __ENABLE_DIGICERT_SSL_ASYNC_CLIENT_API__
#define __ENABLE_DIGICERT_SSL_ASYNC_CLIENT_API__ 1
#endif
#ifndef __ENABLE_MOCANA_SSL_ASYNC_SERVER_API__
#define __ENABLE_MOCANA_SSL_ASYNC_SERVER_API__ 1
#endif
#ifndef __ENABLE_DIGICERT_SSL_ASYNC_SERVER_API__
#define __ENABLE_DIGICERT_SSL_ASYNC_SERVER_API__ 1
#endif
#ifndef __ENABLE_MOCANA_SSL_DUAL_MODE_API__
#define __ENABLE_MOCANA_SSL_DUAL_MODE_API__ 1
#endif
#ifndef __ENABLE_DIGICERT_SSL_DUAL_MODE_API__
#define __ENABLE_DIGICERT_SSL_DUAL_MODE_API__ 1
#endif

/* SSL_lookupAlert, SSL_sendAlert, funcPtrAlertCallback. */
#ifndef __ENABLE_MOCANA_SSL_ALERTS__
#define __ENABLE_MOCANA_SSL_ALERTS__ 1
#endif
#ifndef __ENABLE_DIGICERT_SSL_ALERTS__
#define __ENABLE_DIGICERT_SSL_ALERTS__ 1
#endif

/* Client certificates: SSL_FLAG_REQUIRE_MUTUAL_AUTH, an identity in the
 * client's store, SSL_assignCertificateStore (legacy). */
#ifndef __ENABLE_MOCANA_SSL_MUTUAL_AUTH_SUPPORT__
#define __ENABLE_MOCANA_SSL_MUTUAL_AUTH_SUPPORT__ 1
#endif
#ifndef __ENABLE_DIGICERT_SSL_MUTUAL_AUTH_SUPPORT__
#define __ENABLE_DIGICERT_SSL_MUTUAL_AUTH_SUPPORT__ 1
#endif

/* SSL_enableCiphers (IANA suite ids). */
#ifndef __ENABLE_MOCANA_SSL_CIPHER_SUITES_SELECT__
#define __ENABLE_MOCANA_SSL_CIPHER_SUITES_SELECT__ 1
#endif
#ifndef __ENABLE_DIGICERT_SSL_CIPHER_SUITES_SELECT__
#define __ENABLE_DIGICERT_SSL_CIPHER_SUITES_SELECT__ 1
#endif

/* SSL_setDNSNames (CNMatchInfo lists). */
#ifndef __ENABLE_MOCANA_MULTIPLE_COMMON_NAMES__
#define __ENABLE_MOCANA_MULTIPLE_COMMON_NAMES__ 1
#endif
#ifndef __ENABLE_DIGICERT_MULTIPLE_COMMON_NAMES__
#define __ENABLE_DIGICERT_MULTIPLE_COMMON_NAMES__ 1
#endif

/* CA_MGMT_decodeCertificate, CA_MGMT_convertKeyPEM / CA_MGMT_keyBlobToPEM and
 * CA_MGMT_convertKeyDER / CA_MGMT_keyBlobToDER. */
#ifndef __ENABLE_MOCANA_PEM_CONVERSION__
#define __ENABLE_MOCANA_PEM_CONVERSION__ 1
#endif
#ifndef __ENABLE_DIGICERT_PEM_CONVERSION__
#define __ENABLE_DIGICERT_PEM_CONVERSION__ 1
#endif
#ifndef __ENABLE_MOCANA_DER_CONVERSION__
#define __ENABLE_MOCANA_DER_CONVERSION__ 1
#endif
#ifndef __ENABLE_DIGICERT_DER_CONVERSION__
#define __ENABLE_DIGICERT_DER_CONVERSION__ 1
#endif

/* TLS 1.3 (RFC 8446), and its session resumption: tickets kept and offered
 * through SSL_setClientSavePSKCallback / SSL_CLIENT_setRetrievePSKCallback and
 * SSL_serializePSK / SSL_deserializePSK / SSL_freePSK. */
#ifndef __ENABLE_MOCANA_TLS13__
#define __ENABLE_MOCANA_TLS13__ 1
#endif
#ifndef __ENABLE_DIGICERT_TLS13__
#define __ENABLE_DIGICERT_TLS13__ 1
#endif
#ifndef __ENABLE_MOCANA_TLS13_PSK__
#define __ENABLE_MOCANA_TLS13_PSK__ 1
#endif
#ifndef __ENABLE_DIGICERT_TLS13_PSK__
#define __ENABLE_DIGICERT_TLS13_PSK__ 1
#endif

/* Pre-shared keys: TLS 1.2's PSK, DHE_PSK and ECDHE_PSK suites (RFC 4279,
 * 5489) and TLS 1.3's external PSKs, with funcPtrGetHintPSK,
 * funcPtrChoosePSK, funcPtrLookupPSK and CERT_STORE_addIdentityPSK. */
#ifndef __ENABLE_MOCANA_SSL_PSK_SUPPORT__
#define __ENABLE_MOCANA_SSL_PSK_SUPPORT__ 1
#endif
#ifndef __ENABLE_DIGICERT_SSL_PSK_SUPPORT__
#define __ENABLE_DIGICERT_SSL_PSK_SUPPORT__ 1
#endif

/* IPv6: TCP_CONNECT takes IPv6 literals, TCP_LISTEN_SOCKET takes both families,
 * and MOC_IP_ADDRESS_S is the structure with a family (common/mtcp.h). */
#ifndef __ENABLE_MOCANA_IPV6__
#define __ENABLE_MOCANA_IPV6__ 1
#endif
#ifndef __ENABLE_DIGICERT_IPV6__
#define __ENABLE_DIGICERT_IPV6__ 1
#endif

#endif
