/* handshake/tls12_anon.c — anonymous Diffie-Hellman suites in TLS 1.2
 * (DH_anon, RFC 5246 Appendix A.5; ECDH_anon, RFC 8422 §2.5): no
 * Certificate from the server and a ServerKeyExchange with no signature
 * (RFC 5246 §7.4.2, §7.4.3); the key exchange itself is tls12_kx.c's. They
 * authenticate nobody, so they are never on by default: a connection
 * negotiates one only when its application named it in SSL_enableCiphers,
 * on both ends (the client's ServerHello check refuses a suite it did not
 * offer: illegal_parameter). Also which authentications a connection has
 * enabled, which the DHE_DSS suites ask too (tls12_auth.c lists dsa_*
 * schemes only where one is). */
#include "handshake/tls12.h"

int nk_tls12_auth_enabled(const struct nk_tls *c, uint8_t auth)
{
    for (size_t i = 0; i < nk_suite12_count; i++)
        if (nk_suites12[i].auth == auth && nk_tls_suite_enabled(c, &nk_suites12[i]))
            return 1;
    return 0;
}

const struct nk_suite *nk_tls12_anon_pick(const struct nk_tls *c, struct nk_rd offered, unsigned kx_ok)
{
    /* RFC 5246 §7.4.4: "It is a fatal handshake_failure alert for an
     * anonymous server to request client authentication": a server that
     * asks for a certificate takes no anonymous suite. */
    if (nk_tls12_wants_client_cert(c))
        return NULL;
    return nk_tls_pick_suite(c, offered, 3, NK_AUTH_ANON, kx_ok);
}
