/* fuzz_server.c — libFuzzer target: the input is everything a client sends to a
 * server connection (records, split however nk_in_buf asks), from the first
 * ClientHello on. The server holds a P-256 identity for "localhost". */
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    certStorePtr store = fz_setup();

    /* The same input draws the same "random" key share, server random and
     * signature nonce every time. */
    fz_rng_reset(FZ_STREAM_SERVER);
    fz_run(SSL_acceptConnection(-1, store), data, size);
    return 0;
}
