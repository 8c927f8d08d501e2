/* fuzz_keys.c — libFuzzer target for the certificate and key readers that
 * take what applications load from files (PEM or DER certificates, chains,
 * private keys, key blobs) and the CA_MGMT_* certificate readers. A peer does
 * not reach these; its chain is fuzz_cert's.
 *
 * Byte 0 picks what the rest is (modulo 6):
 *   0  PEM (or DER) for CA_MGMT_decodeCertificate;
 *   1  PEM for CA_MGMT_decodeCertificateChain;
 *   2  a PEM private key for CA_MGMT_convertKeyPEM;
 *   3  a DER private key for CA_MGMT_convertKeyDER;
 *   4  a key blob for CA_MGMT_keyBlobToDER / keyBlobToPEM and nk_key_blob_decode;
 *   5  one DER certificate (2-byte length first) for the CA_MGMT_* readers
 *      (names, public key, dates) and for a store as trust point and, with a key blob after it (2-byte
 *      length first), as identity.
 * A key that converts to a blob must come back from the blob as a DER key that
 * converts to the same blob again. */
#include "nktls.h"
#include "fuzz/fuzz_common.h"
#include "handshake/store.h"
#include "api/keyblob.h"
#include "core/wire.h"
#include "handshake/cert.h"

static void decode_pem(const uint8_t *d, size_t n, int all)
{
    if (!all) {
        ubyte *der = NULL;
        ubyte4 der_len = 0;
        if (CA_MGMT_decodeCertificate(d, (ubyte4)n, &der, &der_len) == OK)
            free(der);
        return;
    }
    SizedBuffer *certs = NULL;
    ubyte4 num = 0;
    if (CA_MGMT_decodeCertificateChain(d, (ubyte4)n, &certs, &num) == OK)
        (void)!CA_MGMT_freeCertificateChain(certs, num);
}

/* Blob → DER and PEM; DER back to a blob must give the same blob. */
static void blob_round_trip(const uint8_t *blob, size_t n, int must)
{
    ubyte *der = NULL, *pem = NULL, *again = NULL;
    ubyte4 der_len = 0, pem_len = 0, again_len = 0;
    EVP_PKEY *k = NULL;

    if (nk_key_blob_decode(blob, n, &k) == OK)
        EVP_PKEY_free(k);
    if (CA_MGMT_keyBlobToPEM(blob, (ubyte4)n, &pem, &pem_len) == OK)
        CA_MGMT_freeKeyBlob(&pem);
    if (CA_MGMT_keyBlobToDER(blob, (ubyte4)n, &der, &der_len) != OK) {
        if (must)
            abort();
        return;
    }
    if (CA_MGMT_convertKeyDER(der, der_len, &again, &again_len) != OK || again_len != n
        || memcmp(again, blob, n) != 0) {
        if (must)
            abort();
    }
    CA_MGMT_freeKeyBlob(&again);
    CA_MGMT_freeKeyBlob(&der);
}

static void convert_key(const uint8_t *d, size_t n, int pem)
{
    ubyte *blob = NULL;
    ubyte4 len = 0;
    MSTATUS st = pem ? CA_MGMT_convertKeyPEM(d, (ubyte4)n, &blob, &len)
                     : CA_MGMT_convertKeyDER(d, (ubyte4)n, &blob, &len);
    if (st != OK)
        return;
    blob_round_trip(blob, len, 1);
    CA_MGMT_freeKeyBlob(&blob);
}

static void cert_readers(const uint8_t *d, size_t n)
{
    struct nk_rd r, cert;
    nk_rd_init(&r, d, n);
    if (nk_rd_vec16(&r, &cert, 1, 0xffff) < 0)
        return;
    const ubyte *c = cert.p;
    ubyte4 clen = (ubyte4)nk_rd_left(&cert);
    certDistinguishedName *dn = NULL;
    if (CA_MGMT_allocCertDistinguishedName(&dn) == OK) {
        /* Each call overwrites *dn without freeing it: clear in between. */
        for (int subject = 0; subject < 2; subject++)
            if (CA_MGMT_extractCertDistinguishedName(c, clen, subject, dn) == OK)
                (void)!CA_MGMT_clearCertDistinguishedName(dn);
        (void)!CA_MGMT_freeCertDistinguishedName(&dn);
    }
    ubyte *out = NULL;
    ubyte4 out_len = 0;
    if (CA_MGMT_returnPublicKey(c, clen, &out, &out_len) == OK)
        free(out);
    if (CA_MGMT_extractCertASN1Name(c, clen, 1, &out, &out_len) == OK)
        free(out);
    (void)!CA_MGMT_verifyCertDate(c, clen);
    char subject[256];
    (void)!nk_cert_name(c, clen, NKTLS_CERT_SUBJECT, subject, sizeof subject);

    certStorePtr store = NULL;
    if (CERT_STORE_createStore(&store) != OK)
        abort();
    (void)!CERT_STORE_addTrustPoint(store, c, clen);
    (void)!CERT_STORE_addIdentity(store, c, clen, r.p, (ubyte4)nk_rd_left(&r));
    CERT_STORE_releaseStore(&store);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_setup();
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 6;
    data++;
    size--;
    /* Exact-size copy: the PEM readers get no terminating zero. */
    uint8_t *d = malloc(size ? size : 1);
    if (!d)
        abort();
    memcpy(d, data, size);
    switch (mode) {
    case 0: decode_pem(d, size, 0); break;
    case 1: decode_pem(d, size, 1); break;
    case 2: convert_key(d, size, 1); break;
    case 3: convert_key(d, size, 0); break;
    case 4: blob_round_trip(d, size, 0); break;
    default: cert_readers(d, size); break;
    }
    free(d);
    return 0;
}
