/* dtls_client_ossl.c — the load client of scripts/bench's "dtls" section over
 * UDP: back-to-back full DTLS 1.2 handshakes against one server, each on a
 * new UDP socket (a new source port, so a new association and a new cookie
 * exchange), each ended with close_notify, one at a time.
 *
 *   dtls_client_ossl --connect IP:PORT --ca FILE [--count N] [--servername NAME]
 *
 * It is a libssl client, the same for every server measured, so the servers
 * see the same ClientHello: ECDHE-ECDSA-AES128-GCM-SHA256, X25519 (P-256
 * also listed), extended master secret, no session offered, the chain
 * verified for the server name. One at a time because openssl s_server
 * serves one DTLS client at a time; back to back because a server that idles
 * between handshakes pays for waking with cold caches, which a busy server
 * does not. Prints `count=OK failed=N wall_us=...`; exit 1 when any failed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static void die(const char *what)
{
    fprintf(stderr, "dtls_client_ossl: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

/* One handshake on a new socket; 1 when it completed with the expected suite. */
static int one_handshake(SSL_CTX *ctx, const struct sockaddr_in *to, const char *name)
{
    int ok = 0, fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)to, sizeof *to) < 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    SSL *ssl = SSL_new(ctx);
    BIO *bio = BIO_new_dgram(fd, BIO_CLOSE);
    if (!ssl || !bio) {
        BIO_free(bio);
        SSL_free(ssl);
        close(fd);
        return 0;
    }
    BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, (void *)to);
    struct timeval limit = { 10, 0 };   /* a lost server ends this try, not the run */
    BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_RECV_TIMEOUT, 0, &limit);
    SSL_set_bio(ssl, bio, bio);
    SSL_set1_host(ssl, name);
    SSL_set_tlsext_host_name(ssl, name);
    if (SSL_connect(ssl) == 1 && strcmp(SSL_get_cipher_name(ssl), "ECDHE-ECDSA-AES128-GCM-SHA256") == 0) {
        ok = 1;
        SSL_shutdown(ssl);   /* close_notify: the server ends the association */
    }
    ERR_clear_error();
    SSL_free(ssl);           /* closes the socket through the BIO */
    return ok;
}

int main(int argc, char **argv)
{
    const char *connect_to = NULL, *ca = NULL, *name = "localhost";
    long count = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--connect") == 0)
            connect_to = argv[i + 1];
        else if (strcmp(argv[i], "--ca") == 0)
            ca = argv[i + 1];
        else if (strcmp(argv[i], "--count") == 0)
            count = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--servername") == 0)
            name = argv[i + 1];
        else
            die("usage: --connect IP:PORT --ca FILE [--count N] [--servername NAME]");
    }
    if (!connect_to || !ca || count <= 0 || (argc & 1) == 0)
        die("usage: --connect IP:PORT --ca FILE [--count N] [--servername NAME]");

    char host[64];
    const char *colon = strrchr(connect_to, ':');
    struct sockaddr_in to = { .sin_family = AF_INET };
    if (!colon || (size_t)(colon - connect_to) >= sizeof host)
        die("--connect: IPv4:PORT");
    memcpy(host, connect_to, (size_t)(colon - connect_to));
    host[colon - connect_to] = 0;
    to.sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1)
        die("--connect: IPv4:PORT");

    SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1
        || SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1
        || SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256") != 1
        || SSL_CTX_set1_groups_list(ctx, "X25519:P-256") != 1
        || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        die("SSL_CTX setup");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

    struct timespec t0, t1;
    long ok = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < count; i++)
        ok += one_handshake(ctx, &to, name);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long wall = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
    printf("count=%ld failed=%ld wall_us=%lld\n", ok, count - ok, wall);
    SSL_CTX_free(ctx);
    return ok == count ? 0 : 1;
}
