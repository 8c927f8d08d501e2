/* nktls.h — what nktls adds to the NanoSSL API. Same conventions: connection
 * instances are sbyte4, calls return OK (0) or a negative MSTATUS. */
#ifndef NKTLS_NKTLS_H
#define NKTLS_NKTLS_H

#include "common/mtypes.h"
#include "common/merrors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which layer carries the records in one direction. */
#define NKTLS_LAYER_SOFTWARE 0
#define NKTLS_LAYER_KERNEL   1

typedef struct nktlsRecordLayerInfo {
    sbyte4 txLayer;          /* NKTLS_LAYER_* */
    sbyte4 rxLayer;
    const char *txReason;    /* why software carries TX ("no tls module", ...); "" for kernel */
    const char *rxReason;
} nktlsRecordLayerInfo;

MSTATUS NKTLS_getRecordLayerInfo(sbyte4 connectionInstance, nktlsRecordLayerInfo *pInfo);

/* Key exchange groups offered (client) or accepted (server), IANA ids in order of
 * preference. The default is X25519, P-256, P-384, X448, P-521. */
MSTATUS NKTLS_setGroups(sbyte4 connectionInstance, const ubyte2 *pGroups, ubyte4 numGroups);
/* The group the handshake used (IANA id). */
MSTATUS NKTLS_getNegotiatedGroup(sbyte4 connectionInstance, ubyte2 *pGroup);
/* The server name the client sent (server side), or the one we asked for (client). */
MSTATUS NKTLS_getServerName(sbyte4 connectionInstance, const sbyte **ppName);
/* One-line subject of the peer's leaf certificate; ERR_SSL_NOT_OPEN if none. */
MSTATUS NKTLS_getPeerSubject(sbyte4 connectionInstance, sbyte *pBuf, ubyte4 bufLen);
/* The signature scheme the peer used in its CertificateVerify (IANA id). */
MSTATUS NKTLS_getPeerSignatureScheme(sbyte4 connectionInstance, ubyte2 *pScheme);

/* Names as OpenSSL spells them (TLS_AES_128_GCM_SHA256, X25519, P-256) <-> IANA ids.
 * Lookups return NULL / a negative status for unknown names. */
const char *NKTLS_cipherName(ubyte2 cipherId);
sbyte4 NKTLS_cipherIdByName(const char *name);
const char *NKTLS_groupName(ubyte2 groupId);
sbyte4 NKTLS_groupIdByName(const char *name);
const char *NKTLS_sigSchemeName(ubyte2 scheme);
const char *NKTLS_alertName(sbyte4 alertId);

#ifdef __cplusplus
}
#endif

#endif
