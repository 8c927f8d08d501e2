/* test_ktls_io.c — kernel TLS's control-message helpers (ktls/ktls_io.c) on
 * plain buffers and sockets, where no kernel TLS is needed: how records are
 * grouped into one sendmsg (data records together, every other type alone with
 * its type in a control message), what a partly sent group leaves, and how
 * receive errors and typed receives map to nktls's codes. */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "core/nk.h"
#include "core/wire.h"
#include "ktls/ktls.h"

TEST(tx_msg_groups_data_records)
{
    /* Two data records, an alert, a data record: the data records go together,
     * the alert alone with its type, the last data record after it. */
    uint8_t b[] = { 23, 3, 3, 0, 2, 'a', 'b', 23, 3, 3, 0, 1, 'c', 21, 3, 3, 0, 2, 1, 0, 23, 3, 3, 0, 1, 'd' };
    struct iovec iov[4];
    union nk_ktls_ctl ctl;
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = 4, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b };
    size_t span;
    ASSERT_EQ(nk_ktls_tx_msg(&m, b, sizeof b, &span), OK);
    EXPECT_EQ(m.msg_iovlen, 2u);
    EXPECT_EQ(span, 13u);
    EXPECT_TRUE(iov[0].iov_base == b + 5 && iov[0].iov_len == 2);
    EXPECT_TRUE(iov[1].iov_base == b + 12 && iov[1].iov_len == 1);
    EXPECT_NULL(m.msg_control);

    m.msg_iovlen = 4;
    m.msg_control = ctl.b;
    m.msg_controllen = sizeof ctl.b;
    ASSERT_EQ(nk_ktls_tx_msg(&m, b + 13, sizeof b - 13, &span), OK);
    EXPECT_EQ(m.msg_iovlen, 1u);
    EXPECT_EQ(span, 7u);
    ASSERT_NOT_NULL(m.msg_control);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    ASSERT_NOT_NULL(cm);
    EXPECT_EQ(cm->cmsg_level, 282);            /* SOL_TLS */
    EXPECT_EQ(cm->cmsg_type, 1);               /* TLS_SET_RECORD_TYPE */
    EXPECT_EQ(*CMSG_DATA(cm), NK_CT_ALERT);

    /* At most msg_iovlen records; a record cut short is our own bug. */
    m.msg_iovlen = 1;
    ASSERT_EQ(nk_ktls_tx_msg(&m, b, sizeof b, &span), OK);
    EXPECT_EQ(span, 7u);
    m.msg_iovlen = 4;
    EXPECT_EQ(nk_ktls_tx_msg(&m, b, 6, &span), ERR_SSL_INTERNAL);
    EXPECT_EQ(nk_ktls_tx_msg(&m, b, 0, &span), ERR_SSL_INTERNAL);
}

TEST(tx_sent_keeps_the_rest_typed)
{
    uint8_t b[] = { 22, 3, 3, 0, 4, 'w', 'x', 'y', 'z', 23, 3, 3, 0, 2, 'a', 'b' };
    /* Nothing sent, all of the first, the first and half the second. */
    EXPECT_EQ(nk_ktls_tx_sent(b, sizeof b, 0), 0u);
    EXPECT_EQ(nk_ktls_tx_sent(b, sizeof b, 4), 9u);
    EXPECT_EQ(nk_ktls_tx_sent(b, sizeof b, 6), sizeof b);
    EXPECT_EQ(nk_ktls_tx_sent(b, sizeof b, 5), 9u + 1);
    const uint8_t rest[] = { 23, 3, 3, 0, 1, 'b' };
    EXPECT_MEM_EQ(b + 10, rest, sizeof rest);
    /* Part of the first: its rest is again a handshake record. */
    uint8_t c[] = { 22, 3, 3, 0, 4, 'w', 'x', 'y', 'z' };
    EXPECT_EQ(nk_ktls_tx_sent(c, sizeof c, 3), 3u);
    const uint8_t rest_c[] = { 22, 3, 3, 0, 1, 'z' };
    EXPECT_MEM_EQ(c + 3, rest_c, sizeof rest_c);
}

TEST(recv_error_map)
{
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    EXPECT_EQ(nk_ktls_recv_failed(sv[0], EBADMSG), ERR_SSL_BAD_RECORD_MAC);
    EXPECT_EQ(nk_ktls_recv_failed(sv[0], EMSGSIZE), ERR_SSL_RECORD_OVERFLOW);
    EXPECT_EQ(nk_ktls_recv_failed(sv[0], EKEYEXPIRED), ERR_SSL_KTLS_NO_REKEY);
    EXPECT_EQ(nk_ktls_recv_failed(sv[0], EINVAL), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_ktls_recv_failed(sv[0], ECONNRESET), ERR_TCP_READ_ERROR);
    /* A plain socket: every byte is application data, nothing is lost. */
    uint8_t buf[8], type = 0;
    int lost = 1;
    ASSERT_EQ(write(sv[1], "hey", 3), 3);
    EXPECT_EQ(nk_ktls_recv_typed(sv[0], buf, sizeof buf, 0, &type, &lost), 3);
    EXPECT_EQ(type, NK_CT_APPLICATION_DATA);
    EXPECT_EQ(lost, 0);
    EXPECT_EQ(nk_ktls_recv_typed(sv[0], buf, sizeof buf, MSG_DONTWAIT, &type, &lost), -EAGAIN);
    close(sv[1]);
    EXPECT_EQ(nk_ktls_recv_typed(sv[0], buf, sizeof buf, 0, &type, &lost), 0);
    close(sv[0]);
}

TEST_HARNESS_MAIN
