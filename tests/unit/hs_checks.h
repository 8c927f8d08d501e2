/* hs_checks.h — what the full-handshake tests (test_handshake.c,
 * test_handshake12.c) check on an open pair: the version both ends agreed on,
 * application data both ways in records of every size, the exporter,
 * close_notify each way. Include after harness.h and tls_pair.h. */
#ifndef TEST_HS_CHECKS_H
#define TEST_HS_CHECKS_H

/* Protocol versions of the variant rows, as on the wire. */
#define TLS13 0x0304
#define TLS12 0x0303

/* Big enough for the largest case: 100000 bytes, seven records. */
static __attribute__((unused)) uint8_t g_data[100000];
static __attribute__((unused)) const size_t data_sizes[] = { 0, 1, 16384, 16385, 100000 };

/* Both ends negotiate at most the row's version (SSL_SET_VERSION: the highest
 * to negotiate), so each row gets the version it names. */
TP_FN void pin_version(struct __test_metadata *_metadata, struct tp_pair *p, uint16_t version)
{
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(p->h[s], SSL_SET_VERSION, (void *)(uintptr_t)(version & 0xff)), OK);
}

/* Both ends agreed on the row's version: the public call and the connection. */
TP_FN void check_version(struct __test_metadata *_metadata, struct tp_pair *p, uint16_t version)
{
    for (int s = 0; s < 2; s++) {
        ubyte4 minor = 0;
        ASSERT_EQ(SSL_getSSLTLSVersion(p->h[s], &minor), OK);
        ASSERT_EQ(minor, (ubyte4)(version & 0xff)) TH_LOG("%s", s == TP_SERVER ? "server" : "client");
        ASSERT_EQ(0x0300 | p->c[s]->minor, version);
    }
}

/* Send n bytes from one side, pump, and compare what the other side read. The
 * sender cuts records at its send limit (2^14 bytes unless the peer asked
 * for less); an empty write is one empty record. */
TP_FN void check_data(struct __test_metadata *_metadata, struct tp_pair *p, int from, size_t n,
                       unsigned seed)
{
    int to = 1 - from;
    unsigned before = p->records[from];
    tp_fill(g_data, n, seed);
    p->rx[to].len = 0;
    ASSERT_EQ(tp_send(p, from, g_data, n), OK);
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_EQ(p->c[to]->err, OK);
    size_t lim = p->c[from]->send_limit;
    EXPECT_EQ(p->records[from] - before, n ? (unsigned)((n + lim - 1) / lim) : 1u);
    ASSERT_EQ(p->rx[to].len, n);
    ASSERT_MEM_EQ(p->rx[to].p, g_data, n);
}

TP_FN void check_all_data(struct __test_metadata *_metadata, struct tp_pair *p)
{
    for (size_t i = 0; i < NK_ARRAY_LEN(data_sizes); i++) {
        check_data(_metadata, p, TP_CLIENT, data_sizes[i], (unsigned)i);
        check_data(_metadata, p, TP_SERVER, data_sizes[i], (unsigned)i + 100);
    }
}

TP_FN void check_exporter(struct __test_metadata *_metadata, struct tp_pair *p, uint16_t version)
{
    static const char label[] = "EXPORTER-nktls-test", other[] = "EXPORTER-nktls-other";
    uint8_t a[48], b[48], c[48], d[48], zero[48] = { 0 };
    ubyte *ctx = (ubyte *)"context";
    ASSERT_EQ(SSL_generateExportKeyMaterial(p->h[TP_CLIENT], a, sizeof a, (ubyte *)label,
                                            sizeof label - 1, ctx, 7, 1), OK);
    ASSERT_EQ(SSL_generateExportKeyMaterial(p->h[TP_SERVER], b, sizeof b, (ubyte *)label,
                                            sizeof label - 1, ctx, 7, 1), OK);
    ASSERT_MEM_EQ(a, b, sizeof a);
    ASSERT_NE(memcmp(a, zero, sizeof a), 0);
    /* Another label or another context: another key. */
    ASSERT_EQ(SSL_generateExportKeyMaterial(p->h[TP_SERVER], c, sizeof c, (ubyte *)other,
                                            sizeof other - 1, ctx, 7, 1), OK);
    ASSERT_NE(memcmp(a, c, sizeof a), 0);
    ASSERT_EQ(SSL_generateExportKeyMaterial(p->h[TP_CLIENT], c, sizeof c, (ubyte *)label,
                                            sizeof label - 1, ctx, 6, 1), OK);
    ASSERT_NE(memcmp(a, c, sizeof a), 0);
    /* §7.5: in TLS 1.3 no context and an empty context are the same; RFC
     * 5705 §4: in TLS 1.2 they differ. */
    ASSERT_EQ(SSL_generateExportKeyMaterial(p->h[TP_CLIENT], c, sizeof c, (ubyte *)label,
                                            sizeof label - 1, NULL, 0, 0), OK);
    ASSERT_EQ(SSL_generateExportKeyMaterial(p->h[TP_SERVER], d, sizeof d, (ubyte *)label,
                                            sizeof label - 1, ctx, 0, 1), OK);
    if (version == TLS12)
        ASSERT_NE(memcmp(c, d, sizeof c), 0);
    else
        ASSERT_MEM_EQ(c, d, sizeof c);
}

TP_FN void check_close(struct __test_metadata *_metadata, struct tp_pair *p)
{
    struct nk_conn *cli = p->c[TP_CLIENT], *srv = p->c[TP_SERVER];
    sbyte buf[16];
    sbyte4 got = -1;
    ASSERT_EQ(SSL_sendAlert(p->h[TP_CLIENT], SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING), OK);
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_TRUE(srv->got_close_notify);
    ASSERT_EQ(srv->err, OK);
    ASSERT_EQ(srv->alert_in, NK_ALERT_CLOSE_NOTIFY);
    ASSERT_TRUE(nk_conn_wants(srv) & NK_CLOSED);
    ASSERT_FALSE(nk_conn_wants(srv) & NK_WANT_RECV);
    /* The blocking read path sees the closure before it would touch the socket. */
    srv->is_async = 0;
    MSTATUS st = SSL_recv(p->h[TP_SERVER], buf, sizeof buf, &got, 0);
    srv->is_async = 1;
    ASSERT_EQ(st, ERR_SSL_CONNECTION_CLOSED);
    ASSERT_EQ(got, 0);
    /* We said we are done writing; we may still read (§6.1: each direction
     * closes on its own). */
    ASSERT_EQ(tp_send(p, TP_CLIENT, "x", 1), ERR_SSL_NOT_OPEN);
    check_data(_metadata, p, TP_SERVER, 20000, 3);
    ASSERT_EQ(SSL_sendAlert(p->h[TP_SERVER], SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING), OK);
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_TRUE(cli->got_close_notify);
    ASSERT_EQ(cli->err, OK);
    ASSERT_TRUE(nk_conn_wants(cli) & NK_CLOSED);
    cli->is_async = 0;
    st = SSL_recv(p->h[TP_CLIENT], buf, sizeof buf, &got, 0);
    cli->is_async = 1;
    ASSERT_EQ(st, ERR_SSL_CONNECTION_CLOSED);
    /* Nothing was an error: no alert other than close_notify either way. */
    ASSERT_EQ(cli->alert_out, -1);
    ASSERT_EQ(srv->alert_out, -1);
}

#endif
