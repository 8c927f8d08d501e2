/* ca_mgmt.h — certificates and private keys: PEM/DER conversion, the nktls key blob,
 * and read-only queries on a DER certificate.
 *
 * Memory: every buffer these calls return is allocated with malloc(). Free it with
 * the matching call named below, or with free() where the comment says so. Buffers
 * that hold private keys should go through CA_MGMT_freeKeyBlob, which wipes them.
 *
 * The key blob is nktls's own format (NanoSSL leaves it to the library): a 12-byte
 * header — "NKKB", version 1, key type, two zero bytes, big-endian length of what
 * follows — then the key as unencrypted PKCS#8 PrivateKeyInfo DER. Treat it as
 * opaque; it round-trips through CA_MGMT_keyBlobToDER/PEM and CA_MGMT_convertKeyDER/PEM. */
#ifndef NKTLS_CA_MGMT_H
#define NKTLS_CA_MGMT_H

#include "common/mtypes.h"
#include "common/merrors.h"

#ifdef __cplusplus
extern "C" {
#endif

struct AsymmetricKey;   /* NanoSSL's in-memory key; nktls never fills pKey */

/* A certificate and its key, as NanoSSL applications pass them around. */
typedef struct certDescriptor {
    ubyte *pCertificate;          /* DER */
    ubyte4 certLength;
    ubyte *pKeyBlob;              /* nktls key blob */
    ubyte4 keyBlobLength;
    struct AsymmetricKey *pKey;   /* unused by nktls; left untouched */
    ubyte4 cookie;                /* for the application */
} certDescriptor;

/* Names the peer's certificate may match (SSL_setDNSNames). Arrays end with an
 * entry whose name is NULL. Without flags a name is matched like a host name:
 * against subjectAltName dNSName (iPAddress for an IP literal), the subject CN only
 * when the certificate has no dNSName, and "*.example.com" wildcards allowed. */
typedef struct CNMatchInfo {
    ubyte4 flags;
    const sbyte *name;
} CNMatchInfo;

#define matchFlagSuffix      0x1   /* name is a domain suffix: "example.com" matches
                                      example.com and any name below it */
#define matchFlagNoWildcard  0x2   /* a wildcard in the certificate does not match */

/* A certificate name split into its common attributes. Each field is a
 * NUL-terminated UTF-8 string allocated by the library, or NULL when the name has
 * no such attribute (the first one is taken when an attribute repeats). Dates are
 * in GeneralizedTime form, "YYYYMMDDHHMMSSZ" (UTC), whatever the certificate used. */
typedef struct certDistinguishedName {
    sbyte *pStartDate;            /* notBefore */
    sbyte *pEndDate;              /* notAfter */
    sbyte *pCommonName;           /* CN */
    sbyte *pOrganization;         /* O */
    sbyte *pOrganizationalUnit;   /* OU */
    sbyte *pLocality;             /* L */
    sbyte *pStateOrProvince;      /* ST */
    sbyte *pCountry;              /* C */
    sbyte *pEmailAddress;         /* emailAddress */
    sbyte *pSerialNumber;         /* serialNumber attribute of the name */
    sbyte *pOneLine;              /* the whole name, "CN=a, O=b, C=c" */
} certDistinguishedName;

/* PEM → DER: the first CERTIFICATE block of pem. DER input is accepted too and
 * copied. *ppDer is freed with free() (or through CA_MGMT_freeCertificate). */
MSTATUS CA_MGMT_decodeCertificate(const ubyte *pPem, ubyte4 pemLength,
                                  ubyte **ppDer, ubyte4 *pDerLength);

/* nktls extension: every CERTIFICATE block of a PEM file (a chain, leaf first as
 * the file has it, or a CA bundle). The array and its buffers are freed with
 * CA_MGMT_freeCertificateChain. ERR_CERT_DECODE when there is none. */
MSTATUS CA_MGMT_decodeCertificateChain(const ubyte *pPem, ubyte4 pemLength,
                                       SizedBuffer **ppCerts, ubyte4 *pNumCerts);
MSTATUS CA_MGMT_freeCertificateChain(SizedBuffer *pCerts, ubyte4 numCerts);

/* Private key → key blob. Accepted: PKCS#8 (unencrypted), traditional RSA, SEC1
 * EC ("EC PRIVATE KEY"); RSA, RSASSA-PSS, EC P-256/P-384/P-521, Ed25519, Ed448.
 * Encrypted keys are refused (ERR_CERT_BAD_KEY_BLOB); other key types give
 * ERR_CERT_UNSUPPORTED_KEY. Free the blob with CA_MGMT_freeKeyBlob. */
MSTATUS CA_MGMT_convertKeyPEM(const ubyte *pPemKey, ubyte4 pemKeyLength,
                              ubyte **ppKeyBlob, ubyte4 *pKeyBlobLength);
MSTATUS CA_MGMT_convertKeyDER(const ubyte *pDerKey, ubyte4 derKeyLength,
                              ubyte **ppKeyBlob, ubyte4 *pKeyBlobLength);

/* Key blob → PKCS#8 PrivateKeyInfo, DER or PEM ("-----BEGIN PRIVATE KEY-----").
 * The output holds the private key: free it with CA_MGMT_freeKeyBlob. */
MSTATUS CA_MGMT_keyBlobToDER(const ubyte *pKeyBlob, ubyte4 keyBlobLength,
                             ubyte **ppDerKey, ubyte4 *pDerKeyLength);
MSTATUS CA_MGMT_keyBlobToPEM(const ubyte *pKeyBlob, ubyte4 keyBlobLength,
                             ubyte **ppPemKey, ubyte4 *pPemKeyLength);

/* Wipes and frees a buffer these calls returned; sets *ppBlob to NULL. */
MSTATUS CA_MGMT_freeKeyBlob(ubyte **ppKeyBlob);

/* Frees pCertificate and pKeyBlob (the key blob is wiped first) and zeroes those
 * four fields. Safe on a zeroed or partly filled descriptor. */
MSTATUS CA_MGMT_freeCertificate(certDescriptor *pCertDescr);

/* Fill *pDN from the subject (isSubject != 0) or issuer name of a DER certificate,
 * plus its validity dates. *pDN is output only: it is overwritten, not freed, so
 * free the strings of an earlier call first. Free with
 * CA_MGMT_freeCertDistinguishedName, or CA_MGMT_clearCertDistinguishedName for a
 * struct the caller owns. On failure *pDN is left zeroed. */
MSTATUS CA_MGMT_extractCertDistinguishedName(const ubyte *pCertificate, ubyte4 certLength,
                                             sbyte4 isSubject, certDistinguishedName *pDN);
MSTATUS CA_MGMT_allocCertDistinguishedName(certDistinguishedName **ppDN);
/* Frees the strings and the struct from CA_MGMT_allocCertDistinguishedName. */
MSTATUS CA_MGMT_freeCertDistinguishedName(certDistinguishedName **ppDN);
/* nktls extension: frees the strings only and zeroes the struct. */
MSTATUS CA_MGMT_clearCertDistinguishedName(certDistinguishedName *pDN);

/* The subject (isSubject != 0) or issuer Name exactly as encoded in the
 * certificate (DER). *ppName is freed with free(). */
MSTATUS CA_MGMT_extractCertASN1Name(const ubyte *pCertificate, ubyte4 certLength,
                                    sbyte4 isSubject, ubyte **ppName, ubyte4 *pNameLength);

/* The certificate's SubjectPublicKeyInfo (DER). *ppSpki is freed with free(). */
MSTATUS CA_MGMT_returnPublicKey(const ubyte *pCertificate, ubyte4 certLength,
                                ubyte **ppSpki, ubyte4 *pSpkiLength);

/* Is the certificate valid now? OK, ERR_CERT_EXPIRED or ERR_CERT_NOT_YET_VALID
 * (ERR_CERT_DECODE for bytes that are not a certificate). */
MSTATUS CA_MGMT_verifyCertDate(const ubyte *pCertificate, ubyte4 certLength);

#ifdef __cplusplus
}
#endif

#endif
