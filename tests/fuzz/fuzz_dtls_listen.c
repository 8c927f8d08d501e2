/* fuzz_dtls_listen.c — libFuzzer target for a DTLS server's stateless
 * listener (engine/dtls_listen.c, nk_dtls_listen): what it does with a
 * datagram from an address it holds no connection for.
 *
 * Byte 0, bit 0:
 *   0  the rest is the datagram, from one of four addresses (bits 1..2): a
 *      verdict, and a reply only with NK_DTLS_REPLY: a HelloVerifyRequest
 *      record numbered like the datagram's first record, 60 bytes;
 *   1  the rest is what follows the cookie in a ClientHello body (suites,
 *      compression methods, extensions): the hello is built without a
 *      cookie, then again with the cookie the answer held. Answered
 *      (NK_DTLS_REPLY) exactly when the second one is accepted: the cookie
 *      is valid from the same address at the same time, from no other.
 * The clock and the cookie secret are fixed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "core/nk.h"
#include "engine/dtls.h"

#define NOW_MS 1700000000000

static struct sockaddr_in addr_of(unsigned i)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)(4433 + i));
    a.sin_addr.s_addr = htonl(0x7f000001u + (i >> 1));
    return a;
}

static void check_reply(const uint8_t *dg, const uint8_t *reply, size_t n)
{
    /* type handshake, version 1.2, epoch 0, the hello's sequence number,
     * length 47; a hello_verify_request of 35 bytes, version DTLS 1.0. */
    if (n != NK_DTLS_LISTEN_REPLY_MAX || reply[0] != 22 || memcmp(reply + 3, dg + 3, 8) != 0 || reply[13] != 3
        || reply[25] != 0xfe || reply[26] != 0xff || reply[27] != 32)
        abort();
}

static void datagram(const uint8_t *d, size_t n, unsigned who)
{
    uint8_t *dg = n ? malloc(n) : NULL, reply[NK_DTLS_LISTEN_REPLY_MAX];
    size_t rn = 1;
    struct sockaddr_in a = addr_of(who);
    if (n && !dg)
        return;
    if (n)
        memcpy(dg, d, n);
    enum nk_dtls_verdict v = nk_dtls_listen(dg, n, &a, sizeof a, NOW_MS, reply, &rn);
    if (v == NK_DTLS_REPLY)
        check_reply(dg, reply, rn);
    else if (rn != 0 || (v != NK_DTLS_DROP && v != NK_DTLS_ACCEPT))
        abort();
    free(dg);
}

/* A ClientHello datagram: record 5, message 0, the cookie, then rest. */
static size_t build_hello(uint8_t *out, const uint8_t *cookie, size_t clen, const uint8_t *rest, size_t n)
{
    size_t body = 2 + 32 + 1 + 1 + clen + n, p = 0;
    static const uint8_t rec[] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 5 };
    memcpy(out, rec, sizeof rec);
    p = sizeof rec;
    out[p++] = (uint8_t)((12 + body) >> 8);
    out[p++] = (uint8_t)(12 + body);
    const uint8_t hs[] = { 1, 0, (uint8_t)(body >> 8), (uint8_t)body, 0, 0, 0, 0, 0, 0, (uint8_t)(body >> 8),
                           (uint8_t)body };
    memcpy(out + p, hs, sizeof hs);
    p += sizeof hs;
    out[p++] = 0xfe;
    out[p++] = 0xfd;
    memset(out + p, 0x42, 32);
    p += 32;
    out[p++] = 0;
    out[p++] = (uint8_t)clen;
    if (clen)
        memcpy(out + p, cookie, clen);
    p += clen;
    memcpy(out + p, rest, n);
    return p + n;
}

static void cookie_round(const uint8_t *rest, size_t n, unsigned who)
{
    if (n > 1024)
        return;
    uint8_t dg[1200], reply[NK_DTLS_LISTEN_REPLY_MAX], again[NK_DTLS_LISTEN_REPLY_MAX];
    size_t rn, an;
    struct sockaddr_in a = addr_of(who), other = addr_of(who ^ 1);
    size_t len = build_hello(dg, NULL, 0, rest, n);
    enum nk_dtls_verdict first = nk_dtls_listen(dg, len, &a, sizeof a, NOW_MS, reply, &rn);
    if (first == NK_DTLS_ACCEPT)
        abort();   /* no cookie is never a valid one */
    if (first != NK_DTLS_REPLY)
        return;
    check_reply(dg, reply, rn);
    len = build_hello(dg, reply + 28, 32, rest, n);
    if (nk_dtls_listen(dg, len, &a, sizeof a, NOW_MS, again, &an) != NK_DTLS_ACCEPT)
        abort();
    if (nk_dtls_listen(dg, len, &other, sizeof other, NOW_MS, again, &an) != NK_DTLS_REPLY)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const uint8_t key[32] = { 7 };
    nk_dtls_cookie_secret_set(key);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        cookie_round(data + 1, size - 1, (data[0] >> 1) & 3);
    else
        datagram(data + 1, size - 1, (data[0] >> 1) & 3);
    return 0;
}
