/* api/keyblob.h — the key-blob codec that CA_MGMT_* and CERT_STORE_* share
 * (api/ca_mgmt.c). */
#ifndef NK_API_KEYBLOB_H
#define NK_API_KEYBLOB_H

#include <openssl/evp.h>
#include "core/nk.h"

/* Key blob layout (see crypto/ca_mgmt.h). */
#define NK_KEYBLOB_MAGIC   "NKKB"
#define NK_KEYBLOB_VERSION 1
#define NK_KEYBLOB_HDR     12

/* Decode a private key: an nktls key blob, or else PKCS#8 / traditional DER.
 * ERR_CERT_BAD_KEY_BLOB, ERR_CERT_UNSUPPORTED_KEY. */
MSTATUS nk_key_blob_decode(const uint8_t *blob, size_t len, EVP_PKEY **key) NK_MUST;
/* Encode a private key as a key blob (malloc'd). */
MSTATUS nk_key_blob_encode(EVP_PKEY *key, uint8_t **blob, size_t *len) NK_MUST;

#endif
