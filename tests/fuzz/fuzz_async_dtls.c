/* fuzz_async_dtls.c — libFuzzer target for DTLS 1.2 through the
 * asynchronous API (drive/async_dtls.c): a live async client and server in
 * memory, made DTLS by SSL_SET_VERSION, whose datagrams the input schedules
 * one by one.
 *
 * Byte 0: bit 0 / bit 1: the server / client keeps its data for
 * SSL_ASYNC_getRecvBuffer (SSL_FLAG_ENABLE_RECV_BUFFER); bit 2: use_srtp.
 * Then, per datagram taken from the front of the queue, a byte b: b % 8 ==
 * 0 drops it, 1 delivers it with recvMessage, 2 twice, 3 with the bit the
 * next byte names flipped, 4 with recvMessage2, 5 cut to the length the
 * next byte names, 6 joined with the next one, 7 after draining the
 * receiver's kept data. A getSendBuffer one byte short first must be
 * refused and keep the datagram. Once both ends are open, b / 8 also has
 * the sender send a message of (b / 8) * 37 bytes, or more than a datagram
 * carries, which must be refused; with nothing in flight, a byte b has the
 * client (b even) or the server send such a message. Aborts when: the two ends complete with
 * different keys; a message arrives damaged or twice; a size rule is
 * broken (a datagram over the PMTU, a length other than the announced one,
 * a refusal not refused, recvMessage2 leaving bytes). */
#include "fuzz/fuzz_common.h"

#define QMAX 64

static struct {
    uint8_t p[QMAX][1300];
    size_t n[QMAX];
    int to[QMAX];
    size_t count;
} q;

static sbyte4 hs[2];
static uint16_t next_seq[2];           /* per sender */
static uint8_t seen[2][65536 / 8];     /* per receiver: messages delivered */

static int side_of(sbyte4 h) { return h == hs[1]; }

/* A message is its sequence number, then bytes seq + i. */
static void check_message(sbyte4 h, const ubyte *d, ubyte4 n)
{
    if (n < 2)
        abort();
    uint16_t seq = (uint16_t)(d[0] << 8 | d[1]);
    uint8_t *bit = &seen[side_of(h)][seq / 8];
    if (*bit & (1u << (seq % 8)) || seq >= next_seq[1 - side_of(h)])
        abort();   /* twice, or never sent */
    *bit |= (uint8_t)(1u << (seq % 8));
    for (ubyte4 i = 2; i < n; i++)
        if (d[i] != (uint8_t)(seq + i))
            abort();
}

static sbyte4 on_recv(sbyte4 h, ubyte *d, ubyte4 n)
{
    check_message(h, d, n);
    return OK;
}

static void drain_kept(sbyte4 h)
{
    ubyte *p;
    ubyte4 n;
    while (SSL_ASYNC_getRecvBuffer(h, &p, &n, NULL) == OK && n)
        check_message(h, p, n);
}

static void take(sbyte4 from, int to, int short_first)
{
    sbyte4 want;
    while ((want = SSL_ASYNC_sendMessagePending(from)) > 0) {
        if (want > 1200)
            abort();
        ubyte4 len = (ubyte4)want - 1;
        if (short_first && (SSL_ASYNC_getSendBuffer(from, q.p[0], &len) != ERR_SSL_DATAGRAM_BUFFER_TOO_SMALL ||
                            len != 0 || SSL_ASYNC_sendMessagePending(from) != want))
            abort();
        uint8_t sink[1300];
        size_t at = q.count < QMAX ? q.count++ : QMAX;
        uint8_t *dst = at < QMAX ? q.p[at] : sink;
        len = sizeof sink;
        if (SSL_ASYNC_getSendBuffer(from, dst, &len) != OK || len != (ubyte4)want)
            abort();
        if (at < QMAX) {
            q.n[at] = len;
            q.to[at] = to;
        }
    }
}

static void pop(uint8_t *p, size_t *n, int *to)
{
    memcpy(p, q.p[0], q.n[0]);
    *n = q.n[0];
    *to = q.to[0];
    q.count--;
    memmove(q.p, q.p + 1, q.count * sizeof q.p[0]);
    memmove(q.n, q.n + 1, q.count * sizeof q.n[0]);
    memmove(q.to, q.to + 1, q.count * sizeof q.to[0]);
}

static int is_open(sbyte4 h)
{
    ubyte4 s = 0;
    return SSL_getSessionStatus(h, &s) == OK && s == SSL_CONNECTION_OPEN;
}

static void send_message(int from, size_t len)
{
    ubyte4 max = 0;
    if (NKTLS_DTLS_getMaxMessage(hs[from], &max) != OK)
        return;
    static uint8_t m[1300];
    uint16_t seq = next_seq[from];
    if (len > max) {   /* refused, nothing queued */
        if (SSL_ASYNC_sendMessage(hs[from], (sbyte *)m, (sbyte4)max + 1, NULL) != ERR_SSL_DATAGRAM_TOO_LONG)
            abort();
        return;
    }
    len = len < 2 ? 2 : len;
    m[0] = (uint8_t)(seq >> 8);
    m[1] = (uint8_t)seq;
    for (size_t i = 2; i < len; i++)
        m[i] = (uint8_t)(seq + i);
    if (SSL_ASYNC_sendMessage(hs[from], (sbyte *)m, (sbyte4)len, NULL) == OK)
        next_seq[from]++;
}

static void check_agree(void)
{
    uint8_t k[2][32];
    for (int s = 0; s < 2; s++)
        if (SSL_generateExportKeyMaterial(hs[s], k[s], sizeof k[s], (ubyte *)"EXTRACTOR-dtls_srtp", 19, NULL,
                                          0, 0) != OK)
            abort();
    if (memcmp(k[0], k[1], sizeof k[0]) != 0)
        abort();
}

static void deliver(int to, uint8_t *p, size_t n, uint8_t op, const uint8_t *in, size_t size, size_t *i)
{
    sbyte4 h = hs[to];
    uint8_t arg = 0;
    if ((op % 8 == 3 || op % 8 == 5) && *i < size)
        arg = in[(*i)++];
    ubyte *rest;
    ubyte4 rest_len;
    switch (op % 8) {
    case 0:
        return;
    case 2:
        (void)SSL_ASYNC_recvMessage(h, p, (ubyte4)n);
        break;
    case 3:
        if (n)
            p[arg % n] ^= (uint8_t)(1u << (arg % 8));
        break;
    case 4:
        if (SSL_ASYNC_recvMessage2(h, p, (ubyte4)n, &rest, &rest_len) >= 0 && rest_len != 0)
            abort();
        return;
    case 5:
        n = n ? arg % n : 0;
        break;
    case 6:
        if (q.count && q.to[0] == to && n + q.n[0] <= 1300) {
            uint8_t next[1300];
            size_t m;
            int t;
            pop(next, &m, &t);
            memcpy(p + n, next, m);
            n += m;
        }
        break;
    case 7:
        drain_kept(h);
        break;
    }
    (void)SSL_ASYNC_recvMessage(h, p, (ubyte4)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size < 1)
        return 0;
    certStorePtr store = fz_setup();
    q.count = 0;
    memset(next_seq, 0, sizeof next_seq);
    memset(seen, 0, sizeof seen);
    fz_rng_reset(FZ_STREAM_CLIENT);
    hs[0] = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"localhost", store);
    hs[1] = SSL_ASYNC_acceptConnection(-1, store);
    ubyte2 profiles[] = { SRTP_AES128_CM_HMAC_SHA1_80 };
    for (int s = 0; s < 2; s++) {
        if (hs[s] < 0 || SSL_ioctl(hs[s], SSL_SET_VERSION, (void *)(uintptr_t)DTLS12_MINORVERSION) != OK)
            abort();
        if ((in[0] >> (1 - s)) & 1)
            (void)SSL_setSessionFlags(hs[s], SSL_FLAG_ENABLE_RECV_BUFFER);
        if (in[0] & 4)
            (void)SSL_enableSrtpProfiles(hs[s], profiles, 1);
    }
    if (SSL_ASYNC_start(hs[0]) != OK)
        abort();
    size_t i = 1;
    for (int steps = 0; steps < 400 && q.count < QMAX; steps++) {
        take(hs[0], 1, steps == 0);
        take(hs[1], 0, 0);
        if (!q.count) {   /* nothing in flight: once open, the input sends */
            if (!is_open(hs[0]) || !is_open(hs[1]) || i >= size)
                break;
            send_message(in[i] & 1, (size_t)(in[i] / 8) * 37);
            i++;
            continue;
        }
        uint8_t p[1300];
        size_t n;
        int to;
        pop(p, &n, &to);
        uint8_t b = i < size ? in[i++] : 1;
        if (is_open(hs[0]) && is_open(hs[1]) && b / 8)
            send_message(1 - to, (size_t)(b / 8) * 37);
        deliver(to, p, n, b, in, size, &i);
    }
    if (is_open(hs[0]) && is_open(hs[1]))
        check_agree();
    for (int s = 0; s < 2; s++) {
        drain_kept(hs[s]);
        SSL_ASYNC_closeConnection(hs[s]);
    }
    return 0;
}

static void write_seeds(const char *dir)
{
    static const uint8_t seeds[][12] = {
        { 0x00, 1, 1, 1, 1, 1, 1, 1, 1, 0x41, 0x81, 0xf9 },   /* a clean handshake, then data */
        { 0x07, 1, 1, 1, 1, 1, 1, 1, 1, 0x44, 0x47, 0x46 },   /* kept data, use_srtp, joined */
        { 0x01, 1, 2, 1, 4, 1, 1, 1, 1, 0x43, 9, 0x45 },      /* repeats, recvMessage2, damage, cuts */
    };
    fz_write_seeds(dir, seeds[0], sizeof seeds / sizeof seeds[0], sizeof seeds[0]);
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    (void)fz_setup();
    sslSettings *s = SSL_sslSettings();
    s->funcPtrReceiveUpcall = on_recv;
    s->funcPtrClientReceiveUpcall = on_recv;
    const char *dir = getenv("NKTLS_FUZZ_SEEDS");
    if (dir)
        write_seeds(dir);
    return 0;
}
