/* srtp_fake.h — a stand-in SRTP encoder for the tests of
 * SSL_setSrtpEncodeCallback: the packet is 0x80 (RTP's first byte), the
 * data, then a 10-byte tag of 0xAA, in a buffer nktls frees. It counts its
 * calls, keeps the peer descriptor it was given, and fails with
 * fake_srtp_fail when that is set. */
#ifndef NK_TEST_SRTP_FAKE_H
#define NK_TEST_SRTP_FAKE_H

#include <stdlib.h>
#include <string.h>
#include "ssl/ssl.h"

#define FAKE_SRTP_TAG 10

static int fake_srtp_calls;
static MSTATUS fake_srtp_fail;
static peerDescr fake_srtp_peer;

static sbyte4 fake_srtp_encode(sbyte4 h, peerDescr *peer, const sbyte *data, ubyte4 len, ubyte **out,
                               ubyte4 *out_len)
{
    (void)h;
    fake_srtp_calls++;
    fake_srtp_peer = *peer;
    if (fake_srtp_fail)
        return fake_srtp_fail;
    *out = malloc(len + 1 + FAKE_SRTP_TAG);
    if (!*out)
        return ERR_MEM_ALLOC_FAIL;
    (*out)[0] = 0x80;
    memcpy(*out + 1, data, len);
    memset(*out + 1 + len, 0xAA, FAKE_SRTP_TAG);
    *out_len = len + 1 + FAKE_SRTP_TAG;
    return OK;
}

#endif
