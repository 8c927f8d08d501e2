/* fuzz_hs_client.c — libFuzzer target: one handshake message to a client for
 * "localhost", in whatever state the handshake has when that message comes
 * (fuzz_hs.h replays a recorded server up to there). Byte 0 picks the case,
 * the rest is the body of the message; the 4-byte header is built. For the
 * HelloRetryRequest case the body starts after the version and the special
 * random, which are put in front of it. With NKTLS_FUZZ_SEEDS=DIR set, the
 * process writes one seed per case to DIR and exits. */
#include "fuzz/fuzz_hs.h"
#include "fuzz/fuzz_seeds.h"

/* RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
static const uint8_t hrr_head[2 + 32] = {
    0x03, 0x03,
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

enum { CASE_HRR = 1 };

static const struct fh_case cases[] = {
    { "server_hello", FH_PLAIN, 0, NK_HS_SERVER_HELLO, ST_C_WAIT_SH },
    { "hello_retry_request", FH_HRR, 0, NK_HS_SERVER_HELLO, ST_C_WAIT_SH },
    { "server_hello_after_hrr", FH_HRR, 1, NK_HS_SERVER_HELLO, ST_C_WAIT_SH },
    { "encrypted_extensions", FH_PLAIN, 1, NK_HS_ENCRYPTED_EXTENSIONS, ST_C_WAIT_EE },
    { "certificate_request", FH_MUTUAL, 2, NK_HS_CERTIFICATE_REQUEST, ST_C_WAIT_CERT_CR },
    { "certificate", FH_PLAIN, 2, NK_HS_CERTIFICATE, ST_C_WAIT_CERT_CR },
    { "certificate_after_cr", FH_MUTUAL, 3, NK_HS_CERTIFICATE, ST_C_WAIT_CERT },
    { "certificate_verify", FH_PLAIN, 3, NK_HS_CERTIFICATE_VERIFY, ST_C_WAIT_CV },
    { "finished", FH_PLAIN, 4, NK_HS_FINISHED, ST_C_WAIT_FIN },
    { "new_session_ticket", FH_PLAIN, 5, NK_HS_NEW_SESSION_TICKET, FH_CONNECTED },
    { "key_update", FH_PLAIN, 5, NK_HS_KEY_UPDATE, FH_CONNECTED },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fh_setup();
    fs_write_seeds(1, cases, NK_ARRAY_LEN(cases));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned i = data[0] % NK_ARRAY_LEN(cases);
    data++;
    size--;
    if (i != CASE_HRR) {
        (void)!fh_run(1, &cases[i], data, size);
        return 0;
    }
    uint8_t *body = malloc(sizeof hrr_head + size);
    if (!body)
        abort();
    memcpy(body, hrr_head, sizeof hrr_head);
    if (size)
        memcpy(body + sizeof hrr_head, data, size);
    (void)!fh_run(1, &cases[i], body, sizeof hrr_head + size);
    free(body);
    return 0;
}
