/* nktls_loop.h — an nktls extension: nktls runs the event loop. One thread per
 * worker drives thousands of TLS connections through io_uring (or epoll where
 * io_uring is unavailable); the application sees callbacks. NanoSSL style: a
 * server and its connections are positive sbyte4 handles, calls return OK (0) or
 * a negative MSTATUS.
 *
 *   listen fd(s) ─► NKTLS_LOOP_createServer ─► NKTLS_LOOP_run (blocks)
 *                      onSetup  (before the handshake: SSL_enableCiphers, ALPN...)
 *                      onOpen   (handshake done, kernel offload decided)
 *                      onData   (decrypted bytes)      ─► NKTLS_LOOP_send / _sendFile / _close
 *                      onClose  (once, with the reason)
 *
 * Connections are ordinary nktls connection instances (SSL_ASYNC_acceptConnection /
 * SSL_ASYNC_connect made them): SSL_getCipherInfo, NKTLS_getRecordLayerInfo and the
 * other per-connection queries and settings work on them. Their socket belongs to
 * the loop (TCP_NODELAY is set: records leave whole), and so does their I/O: use
 * NKTLS_LOOP_send/_close, never SSL_send, SSL_closeConnection or the SSL_ASYNC_*
 * I/O calls on them.
 *
 * Threads. Every callback of a connection runs on the worker thread that owns it,
 * and NKTLS_LOOP_send, _sendFile, _close, _setConnArg, _getConnArg must be called
 * there (from a callback, or a function given to NKTLS_LOOP_post); elsewhere they
 * return ERR_SSL_BAD_STATE (NULL). NKTLS_LOOP_connect, _connectDTLS, _post and
 * _stop may be called from any thread; NKTLS_LOOP_stop also from a signal handler.
 *
 * Backends. io_uring: multishot accept (single-shot where the kernel lacks it),
 * receives into a provided buffer ring (plain receives into the engine's buffer
 * where the kernel lacks buffer rings), sends, io_uring timeouts, and, with kernel
 * TLS, recvmsg with a control buffer for non-data records and splice through a
 * pipe for sendfile. epoll: the same semantics with non-blocking sockets, a timer
 * heap and sendfile(2). The backend is chosen when the server is created: AUTO
 * takes io_uring and falls back to epoll when io_uring cannot be set up (kernel
 * too old, kernel.io_uring_disabled, seccomp, locked-memory limit); the
 * environment variable NKTLS_IO=epoll forces epoll under AUTO.
 * NKTLS_LOOP_getBackend says which runs and why. For tests, NKTLS_URING_DISABLE
 * =multishot,bufring makes io_uring take its paths for older kernels.
 *
 * Memory. An idle connection holds no record buffer where the kernel carries
 * RX or receives go through the buffer ring / epoll: the engine's buffers are
 * released whenever the connection waits for input with nothing to send.
 *
 * DTLS 1.2. A server whose listen fds are UDP sockets (bound, SOCK_DGRAM:
 * NKTLS_LOOP_createServer tells by SO_TYPE; all of one kind per server) serves
 * DTLS 1.2 on them. Each peer is a connection of its own, found by the source
 * address of its datagrams, with the same callbacks as a TCP one (SSL_*
 * queries work on it; SSL_isSessionDTLS says TRUE, and onSetup may set
 * SSL_enableSrtpProfiles, DTLS_USE_SRTP, DTLS_SET_PMTU...). A datagram from an
 * address with no connection costs no state (RFC 6347 §4.2.1): a ClientHello
 * without a valid cookie gets a HelloVerifyRequest and nothing is kept; only
 * a ClientHello with a valid cookie, whole in the datagram's first record,
 * makes a connection (a client's first hello fragmented over records is
 * dropped). The peers are bounded: maxConnections, or 4096 when 0, per
 * server; maxHandshakes, or 1024 when 0, peers between their cookie and
 * onOpen; hellos beyond them are dropped and count in rejected. Datagrams
 * that are not DTLS (RFC 7983: first byte outside 20..63: RTP, STUN) go to
 * the datagram callback (NKTLS_LOOP_setDatagramCallback), or are dropped
 * without one. Each retransmission timer, the handshake timeout and the
 * idle timeout are the peer's deadline in the worker's timer heap.
 * NKTLS_LOOP_send encrypts at once into DTLS records of at most what the
 * PMTU leaves (1200-byte datagrams by default; a send that fits is one
 * record, a longer one reaches the peer as several reads), packed into
 * datagrams of at most the PMTU, one sendmsg each; application datagrams are
 * not resent (DTLS does not promise delivery), and one the socket cannot
 * take (its buffer full) waits for room. NKTLS_LOOP_close sends close_notify and frees the peer; a
 * close_notify or fatal alert from the peer ends it (onClose: OK, or the
 * alert's error). NKTLS_LOOP_sendFile: ERR_NOT_SUPPORTED. Workers: with one
 * UDP socket per worker (SO_REUSEPORT: the kernel keeps a peer on one), each
 * serves its own; with one socket without SO_REUSEPORT, worker 0 alone reads
 * it (a peer's datagrams must reach one worker). io_uring: multishot
 * recvmsg into the buffer ring where the kernel has both (datagrams up to
 * about 16 KiB), else one recvmsg at a time; sendmsg with the peer's
 * address. epoll: recvfrom and sendmsg on the non-blocking socket.
 * NKTLS_LOOP_connectDTLS opens DTLS 1.2 client connections, on a loop of
 * any kind (UDP, TCP or client-only): each on a UDP socket of its own. */
#ifndef NKTLS_NKTLS_LOOP_H
#define NKTLS_NKTLS_LOOP_H

#include "common/mtypes.h"
#include "common/merrors.h"

#ifdef __cplusplus
extern "C" {
#endif

struct certStore;
struct sockaddr;

#define NKTLS_LOOP_BACKEND_AUTO  0
#define NKTLS_LOOP_BACKEND_URING 1   /* io_uring or fail with ERR_NOT_SUPPORTED */
#define NKTLS_LOOP_BACKEND_EPOLL 2

typedef struct nktlsLoopCallbacks {
    /* Optional. Before the handshake, on the worker thread: set per-connection
     * options. A negative result closes the connection (onClose gets it). */
    MSTATUS (*onSetup)(sbyte4 connection, void *arg);
    /* The handshake finished and kernel offload was decided. Once per
     * connection: a TLS 1.2 renegotiation does not call it again (it keeps
     * the connection's ALPN protocol and name; docs/tls12-status.md). */
    void (*onOpen)(sbyte4 connection, void *arg);
    /* Decrypted application data; valid only during the call. A server
     * connection that accepted TLS 1.3 0-RTT data (SSL_setMaxEarlyDataSize)
     * gets it here as soon as it is decrypted, right after the server's
     * Finished went into the queue: before onOpen, while the client's
     * Finished is still to come. That is how the application tells early
     * data: onData before onOpen (SSL_getSessionStatus is not yet
     * SSL_CONNECTION_OPEN; SSL_GET_EARLY_DATA_STATUS says
     * SSL_EARLY_DATA_ACCEPTED). It may answer at once (NKTLS_LOOP_send,
     * _sendFile, _setDeadline, _close work from then on): the answer leaves
     * under the server's application key behind its Finished (RFC 8446 §2.3,
     * §4.4.4, "0.5-RTT data"), a round trip before the handshake completes.
     * If the handshake then fails (a bad client Finished), onOpen never comes
     * and onClose says why. Early data can be replayed (RFC 8446 §8, §E.5):
     * answer it only for requests that are safe to repeat. The data sent
     * after the handshake follows, in order, after onOpen. */
    void (*onData)(sbyte4 connection, const ubyte *pData, ubyte4 dataLen, void *arg);
    /* Once per connection the application has seen (every client connection;
     * every server connection that reached onSetup, onOpen or onData). OK: closed
     * cleanly (close_notify either way, or NKTLS_LOOP_close/stop); otherwise why:
     * ERR_SSL_HANDSHAKE_TIMEOUT, ERR_TCP_READ_TIMEOUT (idle timeout),
     * ERR_TCP_SOCKET_CLOSED (peer closed without close_notify), a handshake or
     * alert error... The handle stops working when onClose returns. */
    void (*onClose)(sbyte4 connection, MSTATUS status, void *arg);
    /* Optional. A range queued with NKTLS_LOOP_sendFile is done: all of it went
     * out (OK), or the connection failed or the file ended early (the error),
     * after bytesSent bytes. Called before onClose for ranges still queued. */
    void (*onFileSent)(sbyte4 connection, MSTATUS status, ubyte8 bytesSent, void *arg);
} nktlsLoopCallbacks;

typedef struct nktlsLoopOptions {
    ubyte4 workers;             /* worker threads, each with its own ring; 0 = 1 */
    sbyte4 backend;             /* NKTLS_LOOP_BACKEND_* */
    ubyte4 handshakeTimeoutMs;  /* accept (or connect) to onOpen; 0 = sslTimeOutHello */
    ubyte4 idleTimeoutMs;       /* no byte in either direction for this long; 0 = never */
    ubyte4 maxConnections;      /* live connections, server-wide; 0 = no limit of
                                 * ours (SSL_init's table still is one). Accepted
                                 * sockets beyond it are closed at once. */
    ubyte4 maxHandshakes;       /* server connections accepted but not yet open,
                                 * server-wide; 0 = no limit of ours (live
                                 * connections and the handshake deadline bound
                                 * them). Accepted sockets beyond it are closed
                                 * at once and count in nktlsLoopStats.rejected. */
} nktlsLoopOptions;

/* Create a server on listening sockets (bound, listening; the application keeps
 * ownership and closes them after NKTLS_LOOP_destroy; the epoll backend makes
 * them non-blocking). Workers and sockets:
 *   numListenFds == workers  worker i accepts on listenFds[i] (SO_REUSEPORT
 *                            sockets bound to one address: the kernel spreads
 *                            connections, each accept queue has one reader);
 *   numListenFds == 1        with workers > 1: if the socket has SO_REUSEPORT,
 *                            nktls opens workers - 1 more on the same address
 *                            (closed by NKTLS_LOOP_destroy); otherwise every
 *                            worker accepts on the one socket;
 *   numListenFds == 0        a client-only loop (NKTLS_LOOP_connect).
 * pStore: the server identity (may be NULL for a client-only loop). pOpts may be
 * NULL (defaults). Returns the server handle or a negative MSTATUS. */
sbyte4 NKTLS_LOOP_createServer(const TCP_SOCKET *pListenFds, ubyte4 numListenFds,
                               struct certStore *pStore, const nktlsLoopCallbacks *pCallbacks,
                               void *arg, const nktlsLoopOptions *pOpts);

/* Run every worker (worker 0 on the calling thread) until NKTLS_LOOP_stop, then
 * close every connection (close_notify, a short grace, then the socket) and
 * return. Returns at once if the server was already stopped. */
MSTATUS NKTLS_LOOP_run(sbyte4 server);

/* Ask run to finish. Any thread; async-signal-safe while the server exists. */
MSTATUS NKTLS_LOOP_stop(sbyte4 server);

/* Free the server after run returned (or if it never ran); open connections are
 * closed without callbacks. */
MSTATUS NKTLS_LOOP_destroy(sbyte4 server);

/* Open a TLS connection to addr on one of the server's workers (round robin).
 * dnsName: the name to send (SNI) and verify; pStore: trust points (and a client
 * identity). connArg: what NKTLS_LOOP_getConnArg returns. Returns the
 * connection handle at once; the handshake runs on the loop and ends in onOpen or
 * onClose. Any thread; before run, the connection starts when run does. */
sbyte4 NKTLS_LOOP_connect(sbyte4 server, const struct sockaddr *pAddr, ubyte4 addrLen,
                          const sbyte *dnsName, struct certStore *pStore, void *connArg);

/* An nktls extension: open a DTLS 1.2 connection to pAddr (UDP, IPv4 or
 * IPv6) as NKTLS_LOOP_connect opens a TLS one: on one of the server's
 * workers (round robin), any thread, the handle returned at once, the
 * handshake run on the loop and ended in onOpen or onClose. The loop opens
 * a UDP socket of the connection's own (non-blocking, connected to pAddr:
 * only that address's datagrams arrive) and closes it when the connection
 * is freed; a connect() the kernel refuses ends in onClose with
 * ERR_TCP_CONNECT_ERROR. onSetup may set SSL_enableSrtpProfiles,
 * DTLS_SET_PMTU, DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER, ALPN, a session
 * to resume (NKTLS_setClientSession)... The handshake: the server's cookie
 * exchange (HelloVerifyRequest), our flights cut to the PMTU and sent
 * again by the retransmission timer (1 s, doubling; in the worker's timer
 * heap) until handshakeTimeoutMs (onClose: ERR_SSL_HANDSHAKE_TIMEOUT). An
 * ICMP error on the socket (ECONNREFUSED from a port with nothing bound,
 * EHOSTUNREACH...) counts as a lost datagram and ends nothing by itself
 * (anyone can forge ICMP): without an answer the handshake still ends at
 * its time limit. Each datagram received goes whole to the engine; one
 * that is not DTLS goes to the datagram callback (below) or is dropped. Once open, as
 * a DTLS server's peer (above): NKTLS_LOOP_send in records of at most what
 * the PMTU leaves, one datagram per send; NKTLS_LOOP_close sends
 * close_notify and frees it; the server's close_notify or fatal alert ends
 * it (onClose: OK, or the alert's error); the idle timeout; the SRTP init
 * and encode callbacks; NKTLS_LOOP_sendFile: ERR_NOT_SUPPORTED. addrLen:
 * at least the address's own size (a whole sockaddr_storage is fine). */
sbyte4 NKTLS_LOOP_connectDTLS(sbyte4 server, const struct sockaddr *pAddr, ubyte4 addrLen,
                              const sbyte *dnsName, struct certStore *pStore, void *connArg);

/* Run fn(arg) on worker's thread at its next turn (where NKTLS_LOOP_send and
 * friends may be called): how another thread gets work onto a loop. Any thread;
 * before run, it runs when run starts. */
MSTATUS NKTLS_LOOP_post(sbyte4 server, ubyte4 worker, void (*fn)(void *arg), void *arg);

/* Datagrams beside DTLS. A datagram on a DTLS server's UDP socket, or on a
 * DTLS client connection's own socket, that is not DTLS (RFC 7983 §7: a
 * first byte outside 20..63: SRTP and SRTCP from 128..191, STUN from 0..3,
 * ...), as it came, valid only during the call: the media an application
 * unprotects (include/nktls/srtp.h) on the socket its DTLS-SRTP keys came
 * from. connection: on a server's socket, the DTLS peer at that source
 * address once the application has seen it (onSetup, or onOpen without
 * onSetup) and until its onClose, otherwise 0 (an address with no DTLS
 * association: STUN before the handshake); on a client's socket (connected:
 * only its server's datagrams arrive), that client connection until its
 * onClose. pFrom says who sent it; arg is the server's. On the worker
 * thread, like the other callbacks. Replies go out through the SRTP encode
 * callback and NKTLS_LOOP_send, or by the application's own sendto on its
 * socket. Without a callback such datagrams are dropped. (A setter, not a
 * member of nktlsLoopCallbacks: that struct is passed by pointer with no
 * size, so it cannot grow without breaking programs built against an older
 * header.) */
typedef void (*nktlsLoopDatagramCallback)(sbyte4 connection, const struct sockaddr *pFrom, ubyte4 fromLen,
                                          const ubyte *pData, ubyte4 dataLen, void *arg);

/* Set, or with NULL remove, the datagram callback: before NKTLS_LOOP_run
 * (ERR_SSL_BAD_STATE while the server runs). */
MSTATUS NKTLS_LOOP_setDatagramCallback(sbyte4 server, nktlsLoopDatagramCallback onDatagram);

/* Queue data: encrypted now (or handed to kernel TLS), sent by the loop in order.
 * After the handshake only (from onOpen on), or from an onData with 0-RTT data
 * (onData above). */
MSTATUS NKTLS_LOOP_send(sbyte4 connection, const ubyte *pData, ubyte4 dataLen);

/* Queue len bytes of fd from offset, in order with NKTLS_LOOP_send data. With
 * kernel TX no file byte enters userspace (io_uring: splice through a pipe;
 * epoll: sendfile(2)); otherwise the loop reads and encrypts 64 KiB at a time
 * (io_uring: the reads are ring operations; epoll: pread). fd must stay open
 * until onFileSent reports the range. */
MSTATUS NKTLS_LOOP_sendFile(sbyte4 connection, int fd, sbyte8 offset, ubyte8 len);

/* An nktls extension: a deadline for the connection that activity does not
 * move. ms from now, the connection closes like at the idle timeout
 * (close_notify; onClose gets ERR_TCP_READ_TIMEOUT) unless set again before;
 * 0 clears it. Each call replaces the previous deadline. What it is for: a
 * limit on the whole of something the peer sends (an HTTP request head: a
 * client that sends one byte a second never trips idleTimeoutMs, but trips
 * this). After the handshake only (from onOpen on, or 0-RTT data's onData:
 * it then takes effect once the handshake is over); it counts in
 * nktlsLoopStats.deadlineTimeouts. Both backends: the worker's timer heap. */
MSTATUS NKTLS_LOOP_setDeadline(sbyte4 connection, ubyte4 ms);

/* Close after everything queued went out: close_notify, then the socket.
 * Called while answering 0-RTT data (onData before onOpen): once the
 * handshake is over, so that the client's Finished is read; data it sends
 * meanwhile is dropped. Before the handshake otherwise: at once, without
 * close_notify. */
MSTATUS NKTLS_LOOP_close(sbyte4 connection);

MSTATUS NKTLS_LOOP_setConnArg(sbyte4 connection, void *connArg);
void *NKTLS_LOOP_getConnArg(sbyte4 connection);

/* Which backend runs: "io_uring" or "epoll"; *ppReason says why epoll runs
 * ("NKTLS_IO=epoll", "io_uring_setup: EPERM (kernel.io_uring_disabled = 2)", ...)
 * and lists the io_uring features in use or missing ("multishot accept, buffer
 * ring"). Strings live as long as the server. Either pointer may be NULL. */
MSTATUS NKTLS_LOOP_getBackend(sbyte4 server, const char **ppName, const char **ppReason);
/* Whether io_uring can run a loop on this kernel, without making a server: OK with
 * the features it would use in *ppReason, or ERR_NOT_SUPPORTED with why not
 * ("io_uring_setup: EPERM (kernel.io_uring_disabled = 2)"). Probed once per
 * process; the string lives as long as the process. ppReason may be NULL. */
MSTATUS NKTLS_LOOP_probeUring(const char **ppReason);

typedef struct nktlsLoopStats {
    ubyte4 live;                /* connections the loop holds now */
    ubyte8 accepted;            /* server connections accepted */
    ubyte8 connected;           /* client connections started */
    ubyte8 opened;              /* handshakes completed (onOpen) */
    ubyte8 rejected;            /* accepted sockets closed at maxConnections or maxHandshakes */
    ubyte8 handshakeTimeouts;
    ubyte8 idleTimeouts;
    ubyte8 deadlineTimeouts;    /* closed at an NKTLS_LOOP_setDeadline deadline */
} nktlsLoopStats;

/* Counters over all workers; any thread (values are read without stopping the
 * workers, so they may be a moment old). */
MSTATUS NKTLS_LOOP_getStats(sbyte4 server, nktlsLoopStats *pStats);

#ifdef __cplusplus
}
#endif

#endif
