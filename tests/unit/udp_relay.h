/* udp_relay.h — for the DTLS tests over loopback UDP: a relay in a thread
 * between one client and a server, whose policy sees every datagram before
 * it goes on and may drop it, and a look at a datagram's first record.
 * Header-only, after api_env.h. */
#ifndef NKTLS_TEST_UDP_RELAY_H
#define NKTLS_TEST_UDP_RELAY_H

#include <poll.h>
#include <stdatomic.h>

/* The handshake message type in a datagram's first record when that is an
 * epoch-0 handshake record (1 ClientHello, 2 ServerHello, 3
 * HelloVerifyRequest); -1 otherwise. */
static int dtls_hs_type(const uint8_t *b, ssize_t n)
{
    return n > 25 && b[0] == 22 && b[3] == 0 && b[4] == 0 ? b[13] : -1;
}

struct udp_relay {
    int front, back;                /* the client's side; connected to the server */
    struct sockaddr_in front_addr;  /* where the client sends */
    atomic_int stop;
    pthread_t th;
    /* Each datagram, the client's (from_client 1) or the server's, before
     * it goes on: 0 drops it. Runs on the relay's thread. */
    int (*pass)(struct udp_relay *r, int from_client, const uint8_t *d, ssize_t n);
};

static void *udp_relay_main(void *p)
{
    struct udp_relay *r = p;
    struct sockaddr_in client;
    socklen_t cl = sizeof client;
    int have_client = 0;
    uint8_t buf[4096];
    while (!atomic_load(&r->stop)) {
        struct pollfd pf[2] = { { .fd = r->front, .events = POLLIN }, { .fd = r->back, .events = POLLIN } };
        if (poll(pf, 2, 50) <= 0)
            continue;
        if (pf[0].revents & POLLIN) {
            cl = sizeof client;
            ssize_t n = recvfrom(r->front, buf, sizeof buf, 0, (struct sockaddr *)&client, &cl);
            have_client |= n >= 0;
            if (n > 0 && r->pass(r, 1, buf, n))
                (void)!send(r->back, buf, (size_t)n, 0);
        }
        if (pf[1].revents & POLLIN) {
            ssize_t n = recv(r->back, buf, sizeof buf, 0);
            if (n > 0 && r->pass(r, 0, buf, n) && have_client)
                (void)!sendto(r->front, buf, (size_t)n, 0, (struct sockaddr *)&client, cl);
        }
    }
    return NULL;
}

/* The relay to server, in a thread; 0 once it runs. */
static int udp_relay_start(struct udp_relay *r, const struct sockaddr_in *server)
{
    struct sockaddr_in back;
    r->front = udp_bound(&r->front_addr, INADDR_LOOPBACK);
    r->back = udp_bound(&back, INADDR_LOOPBACK);
    if (r->front < 0 || r->back < 0 || connect(r->back, (const struct sockaddr *)server, sizeof *server) < 0)
        return -1;
    return pthread_create(&r->th, NULL, udp_relay_main, r);
}

static void udp_relay_stop(struct udp_relay *r)
{
    atomic_store(&r->stop, 1);
    pthread_join(r->th, NULL);
    close(r->front);
    close(r->back);
}

#endif
