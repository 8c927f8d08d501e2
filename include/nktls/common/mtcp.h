/* mtcp.h — the SDK's portable TCP layer, which application glue calls directly
 * (TCP_LISTEN_SOCKET, TCP_ACCEPT_SOCKET, TCP_CONNECT, TCP_READ_AVL, ...), here
 * for POSIX sockets, IPv4 and IPv6. As in the SDK, each TCP_* name is a macro
 * for the platform's function; nktls's are the exported NKTLS_TCP_* below.
 *
 * Conventions: each call returns OK or a negative ERR_TCP_* code (MERROR_lookUp-
 * ErrorCode names it); a TCP_SOCKET is a file descriptor; timeouts are in ms
 * unless the name says seconds, and TCP_NO_TIMEOUT (0) waits without a limit.
 * Addresses are numeric (inet_pton forms, IPv6 with an optional %scope): this
 * layer does no name lookups, as the SDK's does none. Writes never raise
 * SIGPIPE: a peer that went away is ERR_TCP_WRITE_ERROR.
 *
 * An application that brings its own TCP layer (an RTOS stack, a modem) defines
 * __CUSTOM_TCP__, as it would for the SDK, and supplies its TCP_* macros itself;
 * this header then declares only the types. Such a socket is not a descriptor
 * nktls can use: NKTLS_setTransport (nktls.h) runs the synchronous API over the
 * application's own send and receive calls. */
#ifndef NKTLS_COMMON_MTCP_H
#define NKTLS_COMMON_MTCP_H

#include "common/mtypes.h"
#include "common/merrors.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TCP_NO_TIMEOUT
#define TCP_NO_TIMEOUT          (0)
#endif

/* An IP address (TCP_getPeerName, DTLS peer descriptors). family is AF_INET or
 * AF_INET6. IPv4: uin.addr in host byte order (0x7f000001 is 127.0.0.1), as the
 * SDK reports it. IPv6: the 16 address bytes in network order in addr6[0..3],
 * the scope id in addr6[4]. An IPv4 peer of a dual-stack listener is reported
 * as AF_INET. */
typedef struct MOC_IP_ADDRESS_S {
    ubyte2 family;
    union {
        ubyte4 addr;
        ubyte4 addr6[5];
    } uin;
} MOC_IP_ADDRESS_S;

#ifndef __CUSTOM_TCP__

#define TCP_IS_SOCKET_VALID(s)      ((s) >= 0)
/* Nothing to set up or tear down on POSIX; kept for glue that calls them. */
#define TCP_INIT                    NKTLS_TCP_init
#define TCP_SHUTDOWN                NKTLS_TCP_shutdown
/* Listen on every local address at port (0: a port the kernel picks), IPv6 and
 * IPv4 on one socket where the host has IPv6, else IPv4; SO_REUSEADDR.
 * ERR_TCP_LISTEN_SOCKET_ERROR, ERR_TCP_SOCKOPT_ERROR, ERR_TCP_LISTEN_BIND_ERROR
 * (port in use), ERR_TCP_LISTEN_ERROR. */
#define TCP_LISTEN_SOCKET           NKTLS_TCP_listenSocket
/* Wait for a connection. *pIsBreakSignalRequest (may be NULL) is checked at
 * least four times a second: once another thread sets it TRUE, the call
 * returns OK with *pClientSocket = -1. ERR_TCP_ACCEPT_ERROR. */
#define TCP_ACCEPT_SOCKET           NKTLS_TCP_acceptSocket
/* Same, giving up after timeoutSeconds (0: never) with ERR_TCP_ACCEPT_ERROR,
 * the SDK's code for it. */
#define TCP_ACCEPT_SOCKET_TIMEOUT   NKTLS_TCP_acceptSocketTimeout
/* Connect to a numeric IPv4 or IPv6 address. ERR_TCP_BAD_ADDRESS (not a numeric
 * address), ERR_TCP_CONNECT_CREATE (no socket), ERR_TCP_CONNECT_ERROR (refused,
 * unreachable). The socket is blocking, as the synchronous API wants it. */
#define TCP_CONNECT                 NKTLS_TCP_connectSocket
/* Same, giving up after msTimeout (0: never) with ERR_TCP_CONNECT_INPROGRESS,
 * the SDK's code for a connection that did not complete in time. */
#define TCP_CONNECT_TIMEOUT         NKTLS_TCP_connectSocketTimeout
/* ERR_TCP_SOCKET_CLOSE_FAIL for something that is not an open descriptor. */
#define TCP_CLOSE_SOCKET            NKTLS_TCP_closeSocket
/* What is available, up to maxBytes, waiting up to msTimeout for the first
 * byte: ERR_TCP_READ_TIMEOUT when none came, ERR_TCP_SOCKET_CLOSED at the end
 * of the stream, ERR_TCP_WOULDBLOCK on a non-blocking socket with nothing
 * there, ERR_TCP_READ_ERROR. */
#define TCP_READ_AVL                NKTLS_TCP_readSocketAvailable
/* Exactly maxBytes unless the stream ends (ERR_TCP_SOCKET_CLOSED) or msTimeout
 * runs out for the whole read (ERR_TCP_READ_TIMEOUT); *pNumBytesRead says how
 * many arrived either way. */
#define TCP_READ_ALL                NKTLS_TCP_readSocketAll
/* One send: *pNumBytesWritten may be less than numBytes. ERR_TCP_WOULDBLOCK on
 * a non-blocking socket that takes nothing now, ERR_TCP_WRITE_ERROR. */
#define TCP_WRITE                   NKTLS_TCP_writeSocket
/* Every byte, waiting for room as needed; *pNumBytesWritten as far as it got. */
#define TCP_WRITE_ALL               NKTLS_TCP_writeSocketAll
/* The peer's port (host byte order) and address. ERR_TCP_GETSOCKNAME for an
 * unconnected socket or one that is not TCP/IP. */
#define TCP_getPeerName             NKTLS_TCP_getPeerName

MSTATUS NKTLS_TCP_init(void);
MSTATUS NKTLS_TCP_shutdown(void);
MSTATUS NKTLS_TCP_listenSocket(TCP_SOCKET *pListenSocket, ubyte2 portNumber);
MSTATUS NKTLS_TCP_acceptSocket(TCP_SOCKET *pClientSocket, TCP_SOCKET listenSocket,
                               intBoolean *pIsBreakSignalRequest);
MSTATUS NKTLS_TCP_acceptSocketTimeout(TCP_SOCKET *pClientSocket, TCP_SOCKET listenSocket,
                                      ubyte4 timeoutSeconds);
MSTATUS NKTLS_TCP_connectSocket(TCP_SOCKET *pConnectSocket, sbyte *pIpAddress, ubyte2 portNumber);
MSTATUS NKTLS_TCP_connectSocketTimeout(TCP_SOCKET *pConnectSocket, sbyte *pIpAddress,
                                       ubyte2 portNumber, ubyte4 msTimeout);
MSTATUS NKTLS_TCP_closeSocket(TCP_SOCKET socket);
MSTATUS NKTLS_TCP_readSocketAvailable(TCP_SOCKET socket, sbyte *pBuffer, ubyte4 maxBytes,
                                      ubyte4 *pNumBytesRead, ubyte4 msTimeout);
MSTATUS NKTLS_TCP_readSocketAll(TCP_SOCKET socket, sbyte *pBuffer, ubyte4 maxBytes,
                                ubyte4 *pNumBytesRead, ubyte4 msTimeout);
MSTATUS NKTLS_TCP_writeSocket(TCP_SOCKET socket, sbyte *pBuffer, ubyte4 numBytes,
                              ubyte4 *pNumBytesWritten);
MSTATUS NKTLS_TCP_writeSocketAll(TCP_SOCKET socket, sbyte *pBuffer, ubyte4 numBytes,
                                 ubyte4 *pNumBytesWritten);
MSTATUS NKTLS_TCP_getPeerName(TCP_SOCKET socket, ubyte2 *pRetPortNo, MOC_IP_ADDRESS_S *pRetAddr);

#endif /* __CUSTOM_TCP__ */

#ifdef __cplusplus
}
#endif

#endif
