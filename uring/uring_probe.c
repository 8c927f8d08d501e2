/* uring/uring_probe.c — can this process use io_uring, and with what: the
 * probe a server makes before choosing its backend (nk_uring_probe), and the
 * same answer once per process for a program's --version
 * (NKTLS_LOOP_probeUring). The reason string names what is missing. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <liburing.h>
#include <unistd.h>
#include "uring/loop.h"

static const char *setup_error(int err, char *buf, size_t len)
{
    int disabled = -1;
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    if (f) {
        if (fscanf(f, "%d", &disabled) != 1)
            disabled = -1;
        fclose(f);
    }
    if (err == ENOSYS)
        snprintf(buf, len, "io_uring_setup: ENOSYS (kernel without io_uring, or a seccomp filter)");
    else if (err == EPERM && disabled > 0)
        snprintf(buf, len, "io_uring_setup: EPERM (kernel.io_uring_disabled = %d)", disabled);
    else if (err == EPERM)
        snprintf(buf, len, "io_uring_setup: EPERM (a seccomp filter or kernel.io_uring_group)");
    else if (err == ENOMEM)
        snprintf(buf, len, "io_uring_setup: ENOMEM (locked-memory limit?)");
    else
        snprintf(buf, len, "io_uring_setup: %s", strerror(err));
    return buf;
}

static const struct { int op; const char *name; } needed_ops[] = {
    { IORING_OP_ACCEPT, "ACCEPT" }, { IORING_OP_RECV, "RECV" }, { IORING_OP_SENDMSG, "SENDMSG" },
    { IORING_OP_RECVMSG, "RECVMSG" }, { IORING_OP_TIMEOUT, "TIMEOUT" },
    { IORING_OP_TIMEOUT_REMOVE, "TIMEOUT_REMOVE" }, { IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL" },
    { IORING_OP_CONNECT, "CONNECT" }, { IORING_OP_READ, "READ" }, { IORING_OP_SPLICE, "SPLICE" },
};

static const char *missing_op(struct io_uring *ring)
{
    struct io_uring_probe *p = io_uring_get_probe_ring(ring);
    const char *miss = NULL;
    if (!p)
        return "opcode probe (kernel older than 5.6)";
    for (size_t i = 0; i < NK_ARRAY_LEN(needed_ops) && !miss; i++)
        if (!io_uring_opcode_supported(p, needed_ops[i].op))
            miss = needed_ops[i].name;
    io_uring_free_probe(p);
    return miss;
}

/* Multishot accept (Linux 5.19): arm one on a loopback listener, cancel it, and
 * see whether it ended as cancelled (supported) or invalid (not). */
static int probe_multishot(struct io_uring *ring)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;
    struct io_uring_cqe *cqe;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0)
        goto out;
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, 1);
    sqe = io_uring_get_sqe(ring);
    io_uring_prep_cancel64(sqe, 1, 0);
    io_uring_sqe_set_data64(sqe, 2);
    io_uring_submit(ring);
    for (int seen = 0; seen < 2 && io_uring_wait_cqe(ring, &cqe) == 0; seen++) {
        if (cqe->user_data == 1)
            ok = cqe->res == -ECANCELED;
        io_uring_cqe_seen(ring, cqe);
    }
out:
    if (fd >= 0)
        close(fd);
    return ok;
}

MSTATUS nk_uring_probe(struct nk_server *s)
{
    struct io_uring ring;
    const char *off = getenv("NKTLS_URING_DISABLE");   /* testing: "multishot,bufring" */
    int r = io_uring_queue_init(8, &ring, 0);
    if (r < 0) {
        setup_error(-r, s->be_why, sizeof s->be_why);
        return ERR_NOT_SUPPORTED;
    }
    const char *miss = missing_op(&ring);
    if (miss) {
        snprintf(s->be_why, sizeof s->be_why, "io_uring: kernel lacks %s", miss);
        io_uring_queue_exit(&ring);
        return ERR_NOT_SUPPORTED;
    }
    s->ur_multishot = !(off && strstr(off, "multishot")) && probe_multishot(&ring);
    s->ur_bufring = !(off && strstr(off, "bufring")) && nk_uring_bufring_works(&ring);
    io_uring_queue_exit(&ring);
    snprintf(s->be_why, sizeof s->be_why, "%s, %s",
             s->ur_multishot ? "multishot accept" : "single-shot accept",
             s->ur_bufring ? "provided buffer ring" : "poll, then receive into a shared buffer");
    return OK;
}

/* For a program's --version: the same probe a server makes, once per process. */
static pthread_once_t g_probe_once = PTHREAD_ONCE_INIT;
static char g_probe_why[192];
static int g_probe_ok;

static void probe_once(void)
{
    struct nk_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(g_probe_why, sizeof g_probe_why, "io_uring probe: out of memory");
        return;
    }
    g_probe_ok = nk_uring_probe(s) == OK;
    snprintf(g_probe_why, sizeof g_probe_why, "%s", s->be_why);
    free(s);
}

NK_API MSTATUS NKTLS_LOOP_probeUring(const char **ppReason)
{
    pthread_once(&g_probe_once, probe_once);
    if (ppReason != NULL)
        *ppReason = g_probe_why;
    return g_probe_ok ? OK : ERR_NOT_SUPPORTED;
}
