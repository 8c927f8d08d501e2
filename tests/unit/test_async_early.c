/* test_async_early.c — TLS 1.3 0-RTT data through the asynchronous API
 * (SSL_ASYNC_*), the test moving every byte: the server's receive upcall gets
 * a resumed client's early data; the receive-data callback answers it during
 * the handshake, and the answer reaches the client before the server has the
 * client's Finished. (The fixture's TLS 1.2 rows skip: 0-RTT is TLS 1.3's.) */
#include "unit/async_pair.h"

/* ---- 0-RTT data (handshake/tls13_early.c) ----------------------------------------- */

static ubyte g_psk[4096];
static ubyte4 g_psk_len;

static sbyte4 keep_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    if (len > sizeof g_psk)
        return -1;
    memcpy(g_psk, psk, len);
    g_psk_len = len;
    return 0;
}

static sbyte4 give_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    *psk = g_psk_len ? g_psk : NULL;
    *len = g_psk_len;
    *free_it = FALSE;
    return 0;
}

/* The asynchronous server takes 0-RTT data through its receive upcall, before
 * what the client sends once open. Under TLS 1.2 nothing is sent early: the
 * data is the application's to send after the handshake. */
TEST_F(async, early_data_to_server)
{
    ubyte4 status = 99;
    g_psk_len = 0;
    pair_new(_metadata, self->h);
    ASSERT_EQ(SSL_setMaxEarlyDataSize(self->h[SRV], 100), OK);
    ASSERT_EQ(SSL_setClientSavePSKCallback(self->h[CLI], keep_psk), OK);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    ST(pump(self->h, 0), OK);
    pair_close(_metadata, self->h);
    ASSERT_EQ(g_psk_len > 0, tls_minor == 4);   /* TLS 1.2 clients keep no tls13PSK */
    ups_reset();
    pair_new(_metadata, self->h);
    ASSERT_EQ(SSL_setMaxEarlyDataSize(self->h[SRV], 100), OK);
    ASSERT_EQ(SSL_CLIENT_setRetrievePSKCallback(self->h[CLI], give_psk), OK);
    ASSERT_EQ(SSL_setEarlyData(self->h[CLI], (ubyte *)"zero-rtt", 8), OK);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    ST(pump(self->h, 0), OK);
    struct up *s = up_for(self->h[SRV]);
    ASSERT_EQ(s->opens, 1);
    ASSERT_EQ(SSL_ioctl(self->h[SRV], SSL_GET_EARLY_DATA_STATUS, &status), OK);
    if (tls_minor == 4) {
        ASSERT_EQ(status, (ubyte4)SSL_EARLY_DATA_ACCEPTED);
        ASSERT_EQ(s->len, 8u);
        ASSERT_MEM_EQ(s->data, "zero-rtt", 8);
        ASSERT_GT(s->first_recv_seq, s->open_seq);   /* delivered once open */
    } else {
        ASSERT_EQ(status, (ubyte4)SSL_EARLY_DATA_NOT_SENT);
        ASSERT_EQ(s->len, 0u);
    }
    SEND(self->h[CLI], "-then-1-rtt");
    ST(pump(self->h, 0), OK);
    ASSERT_EQ(s->len, tls_minor == 4 ? 19u : 11u);
    ASSERT_MEM_EQ(s->data, tls_minor == 4 ? "zero-rtt-then-1-rtt" : "-then-1-rtt", s->len);
    pair_close(_metadata, self->h);
}

/* 0.5-RTT: the receive-data callback gets the early data during the
 * handshake and answers it at once; the answer reaches the client with the
 * server's flight, before the client's Finished has reached the server. */
static MSTATUS g_half_st = 1;
static sbyte4 answer_early(sbyte4 h, ubyte *d, ubyte4 n, dataState state)
{
    (void)d, (void)n;
    if (state == DATA_STATE_EARLY)
        g_half_st = SSL_ASYNC_sendMessage(h, (sbyte *)"half-rtt", 8, NULL);
    return OK;
}

TEST_F(async, early_data_answered_at_once)
{
    if (tls_minor != 4)
        SKIP(return, "0-RTT is TLS 1.3's");
    g_psk_len = 0;
    pair_new(_metadata, self->h);
    ASSERT_EQ(SSL_setMaxEarlyDataSize(self->h[SRV], 100), OK);
    ASSERT_EQ(SSL_setClientSavePSKCallback(self->h[CLI], keep_psk), OK);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    ST(pump(self->h, 0), OK);
    pair_close(_metadata, self->h);
    ups_reset();
    pair_new(_metadata, self->h);
    ASSERT_EQ(SSL_setMaxEarlyDataSize(self->h[SRV], 100), OK);
    ASSERT_EQ(SSL_CLIENT_setRetrievePSKCallback(self->h[CLI], give_psk), OK);
    ASSERT_EQ(SSL_setEarlyData(self->h[CLI], (ubyte *)"GET /", 5), OK);
    ASSERT_EQ(SSL_setReceiveApplicationDataCallback(answer_early), OK);
    g_half_st = 1;
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    ST(move(self->h[CLI], self->h[SRV], 0), OK);   /* ClientHello, early data */
    EXPECT_EQ(g_half_st, OK);
    ST(move(self->h[SRV], self->h[CLI], 0), OK);   /* the flight, the answer */
    struct up *s = up_for(self->h[SRV]), *c = up_for(self->h[CLI]);
    EXPECT_EQ(s->opens, 0);                        /* no client Finished yet */
    EXPECT_EQ(c->opens, 1);
    ASSERT_EQ(c->len, 8u);
    ASSERT_MEM_EQ(c->data, "half-rtt", 8);
    ASSERT_GT(SSL_ASYNC_sendMessagePending(self->h[CLI]), 0);   /* its Finished */
    ST(pump(self->h, 0), OK);
    EXPECT_EQ(s->opens, 1);
    ASSERT_EQ(SSL_setReceiveApplicationDataCallback(NULL), OK);
    pair_close(_metadata, self->h);
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
