/* api/tcp.c — the SDK's TCP layer (common/mtcp.h) over POSIX sockets, for the
 * glue code NanoSSL programs carry: listen, accept, connect, read, write, peer
 * name. Nothing in the library calls it; the drivers use their sockets directly. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/nk.h"
#include "drive/clock.h"
#include "common/mtcp.h"
#include "engine/dtls.h"

/* poll one descriptor; timeout_ms < 0 waits forever. An interrupted wait goes
 * on for the time left. 1: ready, 0: timed out, -1: error. */
static int wait_for(int fd, short events, int64_t timeout_ms)
{
    int64_t end = timeout_ms < 0 ? -1 : nk_mono_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        int64_t left = end < 0 ? -1 : end - nk_mono_ms();
        int r = poll(&p, 1, end < 0 ? -1 : (int)(left > 0 ? left : 0));
        if (r > 0)
            return (p.revents & POLLNVAL) ? -1 : 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* The SDK's convention: a timeout of 0 is no limit. */
static int64_t limit_ms(ubyte4 ms) { return ms == TCP_NO_TIMEOUT ? -1 : (int64_t)ms; }

NK_API MSTATUS NKTLS_TCP_init(void) { return OK; }
NK_API MSTATUS NKTLS_TCP_shutdown(void) { return OK; }

/* ---- listen and accept ---- */

static MSTATUS listen_on(int family, ubyte2 port, int *out, int *err)
{
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, zero = 0;
    MSTATUS st = OK;
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_any;
        a->sin6_port = htons(port);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_ANY);
        a->sin_port = htons(port);
        len = sizeof *a;
    }
    if (s < 0)
        st = ERR_TCP_LISTEN_SOCKET_ERROR;
    else if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
             || (family == AF_INET6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0))
        st = ERR_TCP_SOCKOPT_ERROR;
    else if (bind(s, (struct sockaddr *)&ss, len) < 0)
        st = ERR_TCP_LISTEN_BIND_ERROR;
    else if (listen(s, SOMAXCONN) < 0)
        st = ERR_TCP_LISTEN_ERROR;
    *err = errno;
    if (st < 0 && s >= 0)
        close(s);
    else
        *out = s;
    return st;
}

NK_API MSTATUS NKTLS_TCP_listenSocket(TCP_SOCKET *pListenSocket, ubyte2 portNumber)
{
    NK_CHECK(pListenSocket, ERR_NULL_POINTER);
    int err = 0;
    MSTATUS st = listen_on(AF_INET6, portNumber, pListenSocket, &err);
    /* A host without IPv6 (no address family, or the stack switched off and
     * :: not assignable): the IPv4 wildcard alone. */
    if ((st == ERR_TCP_LISTEN_SOCKET_ERROR && err == EAFNOSUPPORT)
        || (st == ERR_TCP_LISTEN_BIND_ERROR && err == EADDRNOTAVAIL))
        st = listen_on(AF_INET, portNumber, pListenSocket, &err);
    return st;
}

/* Wait up to timeout_ms (< 0: forever) for a connection, then take it. 0: none
 * came in time. */
static int accept_within(int listener, int64_t timeout_ms, int *client)
{
    int r = wait_for(listener, POLLIN, timeout_ms);
    if (r <= 0)
        return r;
    int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0) {
        *client = c;
        return 1;
    }
    /* Gone before we took it, or a spurious wakeup: not the listener's fault. */
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR ? 0 : -1;
}

NK_API MSTATUS NKTLS_TCP_acceptSocket(TCP_SOCKET *pClientSocket, TCP_SOCKET listenSocket,
                                      intBoolean *pIsBreakSignalRequest)
{
    NK_CHECK(pClientSocket, ERR_NULL_POINTER);
    *pClientSocket = -1;
    for (;;) {
        /* The flag is another thread's: read it once per wait. */
        if (pIsBreakSignalRequest && __atomic_load_n(pIsBreakSignalRequest, __ATOMIC_RELAXED))
            return OK;
        int r = accept_within(listenSocket, pIsBreakSignalRequest ? 250 : -1, pClientSocket);
        if (r > 0)
            return OK;
        if (r < 0)
            return ERR_TCP_ACCEPT_ERROR;
    }
}

NK_API MSTATUS NKTLS_TCP_acceptSocketTimeout(TCP_SOCKET *pClientSocket, TCP_SOCKET listenSocket,
                                             ubyte4 timeoutSeconds)
{
    NK_CHECK(pClientSocket, ERR_NULL_POINTER);
    *pClientSocket = -1;
    int64_t end = timeoutSeconds ? nk_mono_ms() + (int64_t)timeoutSeconds * 1000 : -1;
    for (;;) {
        int64_t left = end < 0 ? -1 : end - nk_mono_ms();
        if (end >= 0 && left <= 0)
            return ERR_TCP_ACCEPT_ERROR;
        int r = accept_within(listenSocket, left, pClientSocket);
        if (r > 0)
            return OK;
        if (r < 0)
            return ERR_TCP_ACCEPT_ERROR;
    }
}

/* ---- connect and close ---- */

/* A numeric address (no lookups, as in the SDK), IPv6 scope ids included. */
static MSTATUS numeric_address(const sbyte *ip, ubyte2 port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints, *res = NULL;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo((const char *)ip, service, &hints, &res) != 0 || !res)
        return ERR_TCP_BAD_ADDRESS;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return OK;
}

/* The connection is made non-blocking so that the wait can end at a deadline,
 * and handed back blocking. */
static MSTATUS connect_within(TCP_SOCKET *out, const sbyte *ip, ubyte2 port, int64_t timeout_ms)
{
    NK_CHECK(out && ip, ERR_NULL_POINTER);
    struct sockaddr_storage ss;
    socklen_t len;
    NK_TRY(numeric_address(ip, port, &ss, &len));
    int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    NK_CHECK(s >= 0, ERR_TCP_CONNECT_CREATE);
    MSTATUS st = OK;
    if (connect(s, (struct sockaddr *)&ss, len) < 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            st = ERR_TCP_CONNECT_ERROR;
        } else {
            int r = wait_for(s, POLLOUT, timeout_ms), err = 0;
            socklen_t elen = sizeof err;
            if (r == 0)
                st = ERR_TCP_CONNECT_INPROGRESS;
            else if (r < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
                st = ERR_TCP_CONNECT_ERROR;   /* refused, unreachable, reset */
        }
    }
    int fl = fcntl(s, F_GETFL);
    if (st == OK && (fl < 0 || fcntl(s, F_SETFL, fl & ~O_NONBLOCK) < 0))
        st = ERR_TCP_SOCKOPT_ERROR;
    if (st < 0) {
        close(s);
        return st;
    }
    *out = s;
    return OK;
}

NK_API MSTATUS NKTLS_TCP_connectSocket(TCP_SOCKET *pConnectSocket, sbyte *pIpAddress, ubyte2 portNumber)
{
    return connect_within(pConnectSocket, pIpAddress, portNumber, -1);
}

NK_API MSTATUS NKTLS_TCP_connectSocketTimeout(TCP_SOCKET *pConnectSocket, sbyte *pIpAddress,
                                              ubyte2 portNumber, ubyte4 msTimeout)
{
    return connect_within(pConnectSocket, pIpAddress, portNumber, limit_ms(msTimeout));
}

NK_API MSTATUS NKTLS_TCP_closeSocket(TCP_SOCKET socket)
{
    /* EINTR from close still closes the descriptor on Linux: not an error. */
    return close(socket) == 0 || errno == EINTR ? OK : ERR_TCP_SOCKET_CLOSE_FAIL;
}

/* ---- read and write ---- */

/* One recv, after waiting up to timeout_ms (< 0: forever) for something. */
static MSTATUS read_once(int s, sbyte *buf, ubyte4 max, ubyte4 *got, int64_t timeout_ms)
{
    *got = 0;
    if (max == 0)
        return OK;
    if (timeout_ms >= 0) {
        int r = wait_for(s, POLLIN, timeout_ms);
        if (r == 0)
            return ERR_TCP_READ_TIMEOUT;
        if (r < 0)
            return ERR_TCP_READ_ERROR;
    }
    for (;;) {
        ssize_t n = recv(s, buf, max, 0);
        if (n > 0) {
            *got = (ubyte4)n;
            return OK;
        }
        if (n == 0)
            return ERR_TCP_SOCKET_CLOSED;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return ERR_TCP_WOULDBLOCK;
        if (errno != EINTR)
            return ERR_TCP_READ_ERROR;
    }
}

NK_API MSTATUS NKTLS_TCP_readSocketAvailable(TCP_SOCKET socket, sbyte *pBuffer, ubyte4 maxBytes,
                                             ubyte4 *pNumBytesRead, ubyte4 msTimeout)
{
    NK_CHECK(pBuffer && pNumBytesRead, ERR_NULL_POINTER);
    return read_once(socket, pBuffer, maxBytes, pNumBytesRead, limit_ms(msTimeout));
}

NK_API MSTATUS NKTLS_TCP_readSocketAll(TCP_SOCKET socket, sbyte *pBuffer, ubyte4 maxBytes,
                                       ubyte4 *pNumBytesRead, ubyte4 msTimeout)
{
    NK_CHECK(pBuffer && pNumBytesRead, ERR_NULL_POINTER);
    int64_t end = msTimeout == TCP_NO_TIMEOUT ? -1 : nk_mono_ms() + msTimeout;
    ubyte4 total = 0;
    MSTATUS st = OK;
    while (st == OK && total < maxBytes) {
        /* Once the time is up, one last look at what is already there. */
        int64_t left = end < 0 ? -1 : end - nk_mono_ms(), wait = end < 0 ? -1 : left > 0 ? left : 0;
        ubyte4 n = 0;
        st = read_once(socket, pBuffer + total, maxBytes - total, &n, wait);
        /* A non-blocking socket: wait for the rest rather than fail half-way. */
        if (st == ERR_TCP_WOULDBLOCK) {
            int r = wait_for(socket, POLLIN, wait);
            st = r > 0 ? OK : r == 0 ? ERR_TCP_READ_TIMEOUT : ERR_TCP_READ_ERROR;
        }
        total += n;
    }
    *pNumBytesRead = total;
    return st;
}

/* One send; MSG_NOSIGNAL: a peer that went away is an error, not a SIGPIPE. */
static MSTATUS write_once(int s, const sbyte *buf, ubyte4 n, ubyte4 *sent)
{
    *sent = 0;
    for (;;) {
        ssize_t k = send(s, buf, n, MSG_NOSIGNAL);
        if (k >= 0) {
            *sent = (ubyte4)k;
            return OK;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return ERR_TCP_WOULDBLOCK;
        if (errno != EINTR)
            return ERR_TCP_WRITE_ERROR;
    }
}

NK_API MSTATUS NKTLS_TCP_writeSocket(TCP_SOCKET socket, sbyte *pBuffer, ubyte4 numBytes,
                                     ubyte4 *pNumBytesWritten)
{
    NK_CHECK(pBuffer && pNumBytesWritten, ERR_NULL_POINTER);
    return write_once(socket, pBuffer, numBytes, pNumBytesWritten);
}

NK_API MSTATUS NKTLS_TCP_writeSocketAll(TCP_SOCKET socket, sbyte *pBuffer, ubyte4 numBytes,
                                        ubyte4 *pNumBytesWritten)
{
    NK_CHECK(pBuffer && pNumBytesWritten, ERR_NULL_POINTER);
    ubyte4 total = 0;
    MSTATUS st = OK;
    while (st == OK && total < numBytes) {
        ubyte4 k = 0;
        st = write_once(socket, pBuffer + total, numBytes - total, &k);
        if (st == ERR_TCP_WOULDBLOCK)
            st = wait_for(socket, POLLOUT, -1) > 0 ? OK : ERR_TCP_WRITE_ERROR;
        total += k;
    }
    *pNumBytesWritten = total;
    return st;
}

/* ---- peer name ---- */

NK_API MSTATUS NKTLS_TCP_getPeerName(TCP_SOCKET socket, ubyte2 *pRetPortNo, MOC_IP_ADDRESS_S *pRetAddr)
{
    NK_CHECK(pRetPortNo && pRetAddr, ERR_NULL_POINTER);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    NK_CHECK(getpeername(socket, (struct sockaddr *)&ss, &len) == 0, ERR_TCP_GETSOCKNAME);
    return nk_addr_to_sdk(&ss, len, pRetPortNo, pRetAddr);
}
