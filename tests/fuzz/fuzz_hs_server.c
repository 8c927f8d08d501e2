/* fuzz_hs_server.c — libFuzzer target: one handshake message to a server, in
 * whatever state the handshake has when that message comes (fuzz_hs.h replays
 * a recorded client up to there). Byte 0 picks the case, the rest is the body
 * of the message; the 4-byte header is built. With NKTLS_FUZZ_SEEDS=DIR set,
 * the process writes one seed per case (the recorded message) to DIR and exits. */
#include "fuzz/fuzz_hs.h"
#include "fuzz/fuzz_seeds.h"

static const struct fh_case cases[] = {
    { "client_hello", FH_PLAIN, 0, NK_HS_CLIENT_HELLO, ST_S_WAIT_CH },
    { "client_hello_after_hrr", FH_HRR, 1, NK_HS_CLIENT_HELLO, ST_S_WAIT_CH2 },
    { "certificate", FH_MUTUAL, 1, NK_HS_CERTIFICATE, ST_S_WAIT_CERT },
    { "certificate_verify", FH_MUTUAL, 2, NK_HS_CERTIFICATE_VERIFY, ST_S_WAIT_CV },
    { "finished", FH_PLAIN, 1, NK_HS_FINISHED, ST_S_WAIT_FIN },
    { "finished_mutual", FH_MUTUAL, 3, NK_HS_FINISHED, ST_S_WAIT_FIN },
    { "finished_after_hrr", FH_HRR, 2, NK_HS_FINISHED, ST_S_WAIT_FIN },
    { "key_update", FH_PLAIN, 2, NK_HS_KEY_UPDATE, FH_CONNECTED },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fh_setup();
    fs_write_seeds(0, cases, NK_ARRAY_LEN(cases));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    (void)!fh_run(0, &cases[data[0] % NK_ARRAY_LEN(cases)], data + 1, size - 1);
    return 0;
}
