/* examples/dtls.c — DTLS 1.2 for the example programs: a connection made with
 * the usual SSL_connect / SSL_acceptConnection on a connected UDP socket is a
 * DTLS one; SRTP profiles through SSL_enableSrtpProfiles; the keys through
 * SSL_setSrtpInitCallback and SSL_generateExportKeyMaterial. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dtls.h"

static const struct {
    const char *name;
    ubyte2 id;
} profiles[] = {
    { "SRTP_AES128_CM_SHA1_80", SRTP_AES128_CM_HMAC_SHA1_80 },
    { "SRTP_AES128_CM_SHA1_32", SRTP_AES128_CM_HMAC_SHA1_32 },
    { "SRTP_AEAD_AES_128_GCM", SRTP_AEAD_AES_128_GCM },
    { "SRTP_AEAD_AES_256_GCM", SRTP_AEAD_AES_256_GCM },
};

void ex_dtls_parse_srtp(struct ex_dtls *d, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        ex_fail("out of memory");
    d->n_srtp = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < sizeof profiles / sizeof profiles[0] && strcmp(profiles[i].name, t) != 0)
            i++;
        if (i == sizeof profiles / sizeof profiles[0])
            ex_usage_error("--srtp: unknown profile '%s'", t);
        if (d->n_srtp == sizeof d->srtp / sizeof d->srtp[0])
            ex_usage_error("--srtp: at most 4 profiles");
        d->srtp[d->n_srtp++] = profiles[i].id;
    }
    free(copy);
}

static const char *profile_name(ubyte2 id)
{
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
        if (profiles[i].id == id)
            return profiles[i].name;
    return "?";
}

static void print_hex(const char *what, const ubyte *p, size_t n)
{
    fprintf(stderr, "%s: ", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%02X", p[i]);
    fputc('\n', stderr);
}

static sbyte4 on_srtp_keys(sbyte4 conn, peerDescr *peer, const SrtpProfileInfo *info, void *km, ubyte *mki)
{
    (void)conn;
    (void)peer;
    (void)mki;
    fprintf(stderr, "SRTP profile: %s\n", profile_name(info->profileId));
    print_hex("SRTP keying material", km, 2u * (size_t)(info->keySize + info->saltSize));
    return OK;
}

MSTATUS ex_dtls_setup(sbyte4 conn, const struct ex_dtls *d)
{
    MSTATUS st = SSL_setSrtpInitCallback(on_srtp_keys);
    if (st == OK && d->pmtu)
        st = SSL_ioctl(conn, DTLS_SET_PMTU, (void *)(uintptr_t)d->pmtu);
    if (st == OK && d->n_srtp)
        st = SSL_enableSrtpProfiles(conn, (ubyte2 *)d->srtp, d->n_srtp);
    return st;
}

void ex_dtls_report(sbyte4 conn, const struct ex_dtls *d)
{
    ubyte out[256];
    ubyte2 n = d->keymat_len ? d->keymat_len : 20;
    if (!d->keymat_label)
        return;
    if (n > sizeof out)
        n = sizeof out;
    MSTATUS st = SSL_generateExportKeyMaterial(conn, out, n, (ubyte *)d->keymat_label,
                                               (ubyte2)strlen(d->keymat_label), NULL, 0, 0);
    if (st != OK)
        fprintf(stderr, "%s: SSL_generateExportKeyMaterial: %s\n", ex_prog, ex_status_text(st));
    else
        print_hex("Keying material", out, n);
}

void ex_dtls_drop_other(sbyte4 conn, int fd)
{
    char b;
    if (SSL_isSessionDTLS(conn) == TRUE)
        (void)!recv(fd, &b, 1, MSG_DONTWAIT);   /* the rest of the datagram goes with it */
}

int ex_dtls_connect(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, err = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        ex_fail("cannot resolve '%s': %s", host, gai_strerror(rc));
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        ex_fail("cannot connect to %s:%s over UDP: %s", host, port, strerror(err));
    return fd;
}

int ex_dtls_bind(const char *listen_arg)
{
    char *host, *port;
    struct addrinfo hints, *res;
    ex_split_hostport(listen_arg, &host, &port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(host && *host ? host : NULL, port, &hints, &res);
    if (rc != 0)
        ex_fail("--listen %s: %s", listen_arg, gai_strerror(rc));
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
        || bind(fd, res->ai_addr, res->ai_addrlen) < 0)
        ex_fail("--listen %s: %s", listen_arg, strerror(errno));
    freeaddrinfo(res);
    free(host);
    free(port);
    return fd;
}

int ex_dtls_accept(const char *listen_arg, char *peer, size_t cap)
{
    int fd = ex_dtls_bind(listen_arg);
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    char b;
    while (recvfrom(fd, &b, 1, MSG_PEEK | MSG_TRUNC, (struct sockaddr *)&from, &fl) < 0)
        if (errno != EINTR)
            ex_fail("recvfrom: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&from, fl) < 0)
        ex_fail("connect: %s", strerror(errno));
    char h[NI_MAXHOST], s[NI_MAXSERV];
    if (getnameinfo((struct sockaddr *)&from, fl, h, sizeof h, s, sizeof s, NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(peer, cap, "%s:%s", h, s);
    else
        snprintf(peer, cap, "?");
    return fd;
}
