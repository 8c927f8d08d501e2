/* api/limits.c — the public calls that read and change the limits on what a
 * peer can make us hold. The limits and their defaults are in the stack's
 * configuration (engine/config.c), which connections point to from the moment
 * they are made; the bounds here keep a setting from disabling a limit
 * altogether. */
#include "core/nk.h"
#include "api/api.h"
#include "nktls.h"

/* The field a limit lives in and the values it may take. */
static uint32_t *limit_slot(ubyte4 which, uint32_t *lo, uint32_t *hi)
{
    switch (which) {
    case NKTLS_LIMIT_HANDSHAKE_MESSAGE:
        *lo = 1024, *hi = 0xffffff;
        return &nk_config.limits.hs_message;
    case NKTLS_LIMIT_CERTIFICATE_MESSAGE:
        *lo = 1024, *hi = 0xffffff;
        return &nk_config.limits.cert_message;
    case NKTLS_LIMIT_CERTIFICATE_COUNT:
        *lo = 1, *hi = 64;
        return &nk_config.limits.cert_count;
    case NKTLS_LIMIT_KEY_UPDATES:
        *lo = 1, *hi = 255;
        return &nk_config.limits.key_updates;
    case NKTLS_LIMIT_EARLY_DATA_SKIP:
        *lo = 0, *hi = 1024 * 1024;
        return &nk_config.limits.early_data_skip;
    case NKTLS_LIMIT_RECV_BUFFER:
        *lo = 16 * 1024 + 256, *hi = 1u << 30;
        return &nk_config.limits.recv_buffer;
    case NKTLS_LIMIT_HANDSHAKE_MEMORY:
        *lo = 1024 * 1024, *hi = UINT32_MAX;
        return &nk_config.limits.hs_memory;
    case NKTLS_LIMIT_SESSION_CACHE:
        *lo = 0, *hi = 1024 * 1024;
        return &nk_config.limits.session_cache;
    case NKTLS_LIMIT_SESSION_LIFETIME:
        *lo = 1, *hi = 24 * 3600;
        return &nk_config.limits.session_lifetime;
    case NKTLS_LIMIT_TICKET_LIFETIME:   /* RFC 8446 §4.6.1: at most 604800 (7 days) */
        *lo = 1, *hi = 604800;
        return &nk_config.limits.ticket_lifetime;
    default:
        return NULL;
    }
}

NK_API MSTATUS NKTLS_setLimit(ubyte4 which, ubyte4 value)
{
    uint32_t lo, hi, *slot = limit_slot(which, &lo, &hi);
    NK_CHECK(slot, ERR_INVALID_ARG);
    NK_CHECK(value >= lo && value <= hi, ERR_INVALID_ARG);
    __atomic_store_n(slot, value, __ATOMIC_RELAXED);
    return OK;
}

NK_API MSTATUS NKTLS_getLimit(ubyte4 which, ubyte4 *pValue)
{
    uint32_t lo, hi, *slot = limit_slot(which, &lo, &hi);
    NK_CHECK(slot, ERR_INVALID_ARG);
    NK_CHECK(pValue, ERR_NULL_POINTER);
    *pValue = __atomic_load_n(slot, __ATOMIC_RELAXED);
    return OK;
}
