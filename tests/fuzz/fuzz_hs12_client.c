/* fuzz_hs12_client.c — libFuzzer target: one handshake message to a TLS 1.2
 * client for "localhost" (held to TLS 1.2: its ClientHello offers 1.2
 * only), in the state that expects it, after a live TLS 1.2 server's
 * messages (fuzz_hs12.h). Byte 0 picks the case, the rest is the body of
 * the message; the 4-byte header is built. With NKTLS_FUZZ_SEEDS=DIR set,
 * the process writes one seed per case to DIR and exits. */
#include "fuzz/fuzz_hs12.h"

static const struct f12_case cases[] = {
    { "server_hello", FH_PLAIN, NK_HS_SERVER_HELLO, ST_C_WAIT_SH },
    { "certificate", FH_PLAIN, NK_HS_CERTIFICATE, ST_C12_WAIT_CERT },
    { "server_key_exchange", FH_PLAIN, NK_HS_SERVER_KEY_EXCHANGE, ST_C12_WAIT_SKE },
    { "server_hello_done", FH_PLAIN, NK_HS_SERVER_HELLO_DONE, ST_C12_WAIT_SHD },
    { "certificate_request", FH_MUTUAL, NK_HS_CERTIFICATE_REQUEST, ST_C12_WAIT_SHD },
    { "server_hello_done_after_cr", FH_MUTUAL, NK_HS_SERVER_HELLO_DONE, ST_C12_WAIT_SHD_CR },
    { "finished", FH_PLAIN, NK_HS_FINISHED, ST_C12_WAIT_FIN },
    { "hello_request", FH_PLAIN, NK_HS_HELLO_REQUEST, FH_CONNECTED },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    (void)fz_setup();
    f12_write_seeds(1, cases, NK_ARRAY_LEN(cases));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    (void)!f12_run(1, &cases[data[0] % NK_ARRAY_LEN(cases)], data + 1, size - 1, NULL);
    return 0;
}
