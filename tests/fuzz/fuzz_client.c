/* fuzz_client.c — libFuzzer target: the input is everything a server sends to a
 * client connection for "localhost" after its ClientHello (ServerHello or
 * HelloRetryRequest, the encrypted flight, post-handshake records). The client
 * trusts the same self-signed P-256 certificate fuzz_server uses. */
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    certStorePtr store = fz_setup();

    /* The ClientHello — random, session id, key share — is the same bytes for
     * every input, so a seed can answer it. */
    fz_rng_reset(FZ_STREAM_CLIENT);
    fz_run(SSL_connect(-1, 0, NULL, NULL, (const sbyte *)"localhost", store), data, size);
    return 0;
}
