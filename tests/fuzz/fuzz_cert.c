/* fuzz_cert.c — libFuzzer target for what a peer sends as its certificate
 * chain: byte 0 is flags (bit 0: the peer is a server, else a client; bit 1:
 * SHA-1 signatures allowed), then DER certificates, each behind a 2-byte
 * length, leaf first, verified by nk_chain_verify against the store that
 * trusts the fuzz identity (fuzz_common.h) for "localhost" at a fixed time.
 * The certificate and key readers that take application files are in
 * fuzz_keys.c. */
#include "fuzz/fuzz_common.h"
#include "core/wire.h"
#include "handshake/cert.h"

#define MAX_CHAIN 8

static void chain(const uint8_t *d, size_t n)
{
    struct nk_der certs[MAX_CHAIN];
    struct nk_rd r, item;
    size_t len = 0;
    uint8_t flags;

    nk_rd_init(&r, d, n);
    if (nk_rd_u8(&r, &flags) < 0)
        return;
    while (len < MAX_CHAIN && nk_rd_vec16(&r, &item, 1, 0xffff) == OK) {
        /* Exact-size copies, so a read past a certificate is caught. */
        certs[len].len = nk_rd_left(&item);
        if (!(certs[len].p = malloc(certs[len].len)))
            abort();
        memcpy(certs[len].p, item.p, certs[len].len);
        len++;
    }
    if (len) {
        struct nk_verify_req req = {
            .store = fz_setup(), .chain = certs, .chain_len = len, .host = "localhost",
            .allow_sha1 = flags & 2, .now = FZ_NOW, .peer_is_server = flags & 1,
        };
        EVP_PKEY *pub = NULL;
        (void)!nk_chain_verify(&req, &pub);
        EVP_PKEY_free(pub);
    }
    while (len)
        free(certs[--len].p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_setup();
    chain(data, size);
    return 0;
}
