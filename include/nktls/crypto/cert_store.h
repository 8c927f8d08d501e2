/* cert_store.h — a certificate store: the trust points that peer chains must lead
 * to, the identities (certificate chain + private key) we authenticate with, and
 * pre-shared keys.
 *
 * Fill a store completely before the first connection uses it. From then on
 * connections on any number of threads may share it: handshakes only read it.
 * Adding to a store while a connection is using it is not supported, and a store
 * must outlive every connection created with it. */
#ifndef NKTLS_CERT_STORE_H
#define NKTLS_CERT_STORE_H

#include "common/mtypes.h"
#include "common/merrors.h"

#ifdef __cplusplus
extern "C" {
#endif

struct certStore;
typedef struct certStore *certStorePtr;

MSTATUS CERT_STORE_createStore(certStorePtr *ppNewStore);
/* Frees the store, wiping its private keys and PSKs; sets *ppStore to NULL.
 * NULL or *ppStore == NULL is OK. */
MSTATUS CERT_STORE_releaseStore(certStorePtr *ppStore);

/* A DER certificate that peer chains may lead to. Any certificate added here is a
 * trust anchor, self-signed or not: an intermediate, or a pinned server
 * certificate, ends the path as well as a root does (RFC 5280 §6.1.1 (d)). */
MSTATUS CERT_STORE_addTrustPoint(certStorePtr pStore, const ubyte *pDerTrustPoint,
                                 ubyte4 trustPointLength);

/* A DER certificate with its private key (an nktls key blob from
 * CA_MGMT_convertKeyPEM/DER; a PKCS#8/traditional DER key is accepted as well).
 * ERR_CERT_KEY_MISMATCH when the key is not the certificate's. */
MSTATUS CERT_STORE_addIdentity(certStorePtr pStore, const ubyte *pDerCert, ubyte4 derCertLength,
                               const ubyte *pKeyBlob, ubyte4 keyBlobLength);

/* Same with intermediates: pCerts[0] is the leaf, the rest are sent after it in
 * the given order (each should certify the one before it). */
MSTATUS CERT_STORE_addIdentityWithCertificateChain(certStorePtr pStore, SizedBuffer *pCerts,
                                                   ubyte4 numCerts, const ubyte *pKeyBlob,
                                                   ubyte4 keyBlobLength);

/* A pre-shared key: identity 1..128 bytes, hint 0..128 bytes (NULL for none),
 * secret 1..64 bytes. Adding an identity twice is ERR_INVALID_ARG. */
MSTATUS CERT_STORE_addIdentityPSK(certStorePtr pStore, const ubyte *pPskIdentity,
                                  ubyte4 pskIdentityLength, const ubyte *pPskHint,
                                  ubyte4 pskHintLength, const ubyte *pPskSecret,
                                  ubyte4 pskSecretLength);

#ifdef __cplusplus
}
#endif

#endif
