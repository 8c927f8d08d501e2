/* fuzz_hs12_server.c — libFuzzer target: one handshake message to a TLS 1.2
 * server (held to TLS 1.2), in the state that expects it, after a live TLS
 * 1.2 client's messages (fuzz_hs12.h). Byte 0 picks the case, the rest is
 * the body of the message; the 4-byte header is built. With
 * NKTLS_FUZZ_SEEDS=DIR set, the process writes one seed per case to DIR and
 * exits. */
#include "fuzz/fuzz_hs12.h"

static const struct f12_case cases[] = {
    { "client_hello", FH_PLAIN, NK_HS_CLIENT_HELLO, ST_S_WAIT_CH },
    { "client_key_exchange", FH_PLAIN, NK_HS_CLIENT_KEY_EXCHANGE, ST_S12_WAIT_CKE },
    { "certificate", FH_MUTUAL, NK_HS_CERTIFICATE, ST_S12_WAIT_CERT },
    { "client_key_exchange_mutual", FH_MUTUAL, NK_HS_CLIENT_KEY_EXCHANGE, ST_S12_WAIT_CKE },
    { "certificate_verify", FH_MUTUAL, NK_HS_CERTIFICATE_VERIFY, ST_S12_WAIT_CV },
    { "finished", FH_PLAIN, NK_HS_FINISHED, ST_S12_WAIT_FIN },
    { "finished_mutual", FH_MUTUAL, NK_HS_FINISHED, ST_S12_WAIT_FIN },
    { "client_hello_renegotiation", FH_PLAIN, NK_HS_CLIENT_HELLO, FH_CONNECTED },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    (void)fz_setup();
    f12_write_seeds(0, cases, NK_ARRAY_LEN(cases));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    (void)!f12_run(0, &cases[data[0] % NK_ARRAY_LEN(cases)], data + 1, size - 1, NULL);
    return 0;
}
