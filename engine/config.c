/* engine/config.c — the stack's settings and limits: the one instance, which
 * every connection points to (c->cfg) from the moment it is made. It lives
 * here, below the drivers, so that each of them (the blocking and async API,
 * the event loop) can pass it when it makes a connection; the public calls
 * that read and change it stay in api/ (api/ssl.c, api/limits.c). Every limit's
 * default is safe for a server on the internet. */
#include "engine/conn.h"
#include "nktls.h"

/* sslSettings is filled in at SSL_init (api/ssl.c, nk_settings_defaults). */
struct nk_config nk_config = {
    .limits = {
        .hs_message = 16 * 1024,
        .cert_message = 64 * 1024,
        .cert_count = 10,
        .key_updates = 32,
        .early_data_skip = 16 * 1024,
        .recv_buffer = 256 * 1024,
        .hs_memory = 64 * 1024 * 1024,
        .session_cache = 4096,
        .session_lifetime = 3600,
        .ticket_lifetime = 7200,
        .dtls_reasm = NK_DTLS_REASM_DEFAULT,
        .dtls_hs_window = NK_DTLS_HS_WINDOW_DEFAULT,
    },
    .ktls_mode = NKTLS_KTLS_AUTO,
    .rekey_policy = NKTLS_REKEY_FAIL,
};
