/* handshake/fips.h — FIPS mode (SSL_setFIPSEnabled; handshake/fips.c): the
 * FIPS module, and what a connection may use while the stack is in FIPS
 * mode. */
#ifndef NK_HS_FIPS_H
#define NK_HS_FIPS_H

#include "handshake/tls.h"

/* RSA keys below this are refused in FIPS mode (SP 800-131A Rev. 2). */
#define NK_FIPS_MIN_RSA_BITS 2048

/* Load libcrypto's FIPS provider and make it the one later fetches use;
 * ERR_FIPS_MODULE_UNAVAILABLE where it is not installed (nothing changed). */
MSTATUS nk_fips_module_start(void) NK_MUST;
/* Back to the default provider for later fetches (the module stays loaded). */
void nk_fips_module_stop(void);
/* Is this suite, group, signature scheme approved? */
int nk_fips_suite_ok(const struct nk_suite *s);
int nk_fips_group_ok(uint16_t group);
int nk_fips_sig_ok(uint16_t scheme);
/* In FIPS mode, narrow the connection to the approved set as its handshake
 * starts: its suites, its groups, its signature scheme lists. Nothing
 * otherwise. ERR_SSL_NO_CIPHER_MATCH or ERR_SSL_NO_GROUP_MATCH when nothing
 * approved is left. */
MSTATUS nk_fips_narrow(struct nk_tls *c) NK_MUST;
/* The smallest RSA key the peer may use: minRSAKeySize, at least 2048 in
 * FIPS mode. */
unsigned nk_fips_min_rsa_bits(const struct nk_tls *c);

#endif
