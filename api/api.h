/* api/api.h — what the public API files share: the stack's settings and
 * limits (the instance is engine/config.c's nk_config), which connections
 * point to from the moment they are made. */
#ifndef NK_API_API_H
#define NK_API_API_H

#include "engine/conn.h"
#include "drive/drive.h"

/* Limits are read without a lock (they are words, set before use). */
void nk_settings_defaults(void);
static inline sslSettings *nk_settings(void) { return &nk_config.ssl; }
static inline const struct nk_limits *nk_limits(void) { return &nk_config.limits; }

/* api/cert_store.c: an identity signed for by the application
 * (funcPtrMutualAuthCertificateVerify), for api/client_auth.c. */
MSTATUS nk_store_add_external_identity(struct certStore *s, const SizedBuffer *certs, ubyte4 n) NK_MUST;

/* SSL_ioctl's 0-RTT settings (api/early.c); ERR_NOT_SUPPORTED for any other. */
MSTATUS nk_api_early_ioctl(sbyte4 h, ubyte4 setting, void *value) NK_MUST;

#endif
