/* ktls/ktls.c — can this kernel take TLS keys? Probed once per process on a
 * loopback TCP connection: attaching the "tls" upper-layer protocol fails with
 * ENOENT when the kernel has no tls module. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "core/conn.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static const char *g_reason;

static int loopback_pair(int *client, int *server)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    *client = *server = -1;
    if (l < 0)
        return -1;
    if (bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0
        && getsockname(l, (struct sockaddr *)&a, &alen) == 0
        && (*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0
        && connect(*client, (struct sockaddr *)&a, sizeof a) == 0)
        *server = accept(l, NULL, NULL);
    close(l);
    return *server >= 0 ? 0 : -1;
}

static void probe(void)
{
    int c, s;
    if (loopback_pair(&c, &s) < 0) {
        g_reason = "kernel TLS probe failed (no loopback TCP)";
    } else if (setsockopt(c, SOL_TCP, TCP_ULP, "tls", sizeof "tls") < 0) {
        g_reason = errno == ENOENT ? "no tls module" : "kernel refused the tls ULP";
    } else {
        g_reason = "kernel offload not enabled";
    }
    if (c >= 0)
        close(c);
    if (s >= 0)
        close(s);
}

const char *nk_ktls_unavailable_reason(void)
{
    pthread_once(&g_once, probe);
    return g_reason;
}
