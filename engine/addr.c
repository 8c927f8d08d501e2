/* engine/addr.c — socket addresses as the SDK reports them (MOC_IP_ADDRESS_S,
 * common/mtcp.h): for TCP_getPeerName and for the DTLS peer descriptor the
 * SRTP callbacks get. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "engine/dtls.h"

MSTATUS nk_addr_to_sdk(const void *addr, size_t len, ubyte2 *port, MOC_IP_ADDRESS_S *out)
{
    /* Copied first: a DTLS connection keeps its peer's address in a byte
     * array, with no alignment for the sockaddr types. */
    struct sockaddr_storage ss;
    const struct sockaddr *sa = (const struct sockaddr *)&ss;
    memset(out, 0, sizeof *out);
    *port = 0;
    NK_CHECK(len <= sizeof ss && len >= sizeof sa->sa_family, ERR_TCP_GETSOCKNAME);
    memcpy(&ss, addr, len);
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        out->family = AF_INET;
        out->uin.addr = ntohl(a->sin_addr.s_addr);
        *port = ntohs(a->sin_port);
        return OK;
    }
    NK_CHECK(sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6), ERR_TCP_GETSOCKNAME);
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    *port = ntohs(a->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
        /* An IPv4 client of a dual-stack socket. */
        uint32_t v4;
        memcpy(&v4, a->sin6_addr.s6_addr + 12, 4);
        out->family = AF_INET;
        out->uin.addr = ntohl(v4);
        return OK;
    }
    out->family = AF_INET6;
    memcpy(out->uin.addr6, a->sin6_addr.s6_addr, 16);
    out->uin.addr6[4] = a->sin6_scope_id;
    return OK;
}

void nk_dtls_peer_descr(const struct nk_conn *c, peerDescr *out)
{
    memset(out, 0, sizeof *out);
    if (c->dtls->peer_len)
        (void)!nk_addr_to_sdk(c->dtls->peer, c->dtls->peer_len, &out->peerPort, &out->peerAddr);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (c->fd >= 0 && getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        (void)!nk_addr_to_sdk(&ss, sl, &out->srcPort, &out->srcAddr);
}
