/* handshake/rare.c — the rare per-connection state (handshake/rare.h) and
 * the version callback. */
#include "handshake/rare.h"
#include "handshake/tls.h"

MSTATUS nk_rare_get(struct nk_tls *c, struct nk_rare **out)
{
    if (!c->rare_on) {
        /* Only before a TLS 1.3 handshake keeps its transcript here. */
        NK_CHECK(!c->pha_md, ERR_SSL_BAD_STATE);
        struct nk_rare *r = calloc(1, sizeof *r);
        NK_CHECK(r, ERR_MEM_ALLOC_FAIL);
        c->rare = r;
        c->rare_on = 1;
    }
    *out = c->rare;
    return OK;
}

void nk_rare_free(struct nk_tls *c)
{
    if (!c->rare_on)
        return;
    free(c->rare);
    c->rare = NULL;
    c->rare_on = 0;
}

MSTATUS nk_version_tell(struct nk_tls *c, unsigned server_minor, unsigned client_minor, MSTATUS st)
{
    funcPtrVersionCallback_t cb = c->rare_on && c->rare->version_cb ? c->rare->version_cb
                                                                    : c->cfg->ssl.funcPtrVersionCallback;
    MSTATUS answer = cb ? cb(server_minor, client_minor, st) : OK;
    if (st < 0)
        return st;
    return answer < 0 ? ERR_SSL_VERSION_REFUSED : OK;
}
