/* handshake/tls.c — what the protocol state does on its own: queue records of a
 * content type (fragmented, protected once keys are in place), the
 * compatibility change_cipher_spec, alerts, KeyUpdate, and the server name it
 * keeps. The handshake and the engine both send through these. */
#include "handshake/hs.h"
#include "handshake/dtls12.h"
#include "core/slab.h"
#include "nktls.h"

/* Queue data of one content type, fragmented into records we may send. */
MSTATUS nk_send_records(struct nk_tls *c, uint8_t type, const uint8_t *d, size_t n)
{
    if (c->is_dtls)   /* datagrams, flights (handshake/dtls12_flight.c) */
        return nk_dtls_send(c, type, d, n);
    NK_CHECK(c->send_limit > 0, ERR_SSL_INTERNAL);
    /* Appendix D.4: in compatibility mode (it sent a session id) the client's
     * CCS precedes its first protected record, whatever that is: an alert
     * after ServerHello too, or a middlebox sees an unexpected record. */
    if (c->role == NK_CLIENT && !c->ccs_sent && c->hs && c->hs->session_id_len && nk_wr_protected(c))
        NK_TRY(nk_send_ccs(c));
    do {
        size_t chunk = n < c->send_limit ? n : c->send_limit;
        /* §5.1: the initial ClientHello MAY use 0x0301 for compatibility;
         * everything else says 0x0303 (protected records always do). */
        uint16_t version = c->role == NK_CLIENT && !c->first_record_sent ? NK_REC_V10 : NK_REC_V12;
        NK_TRY(nk_rec_write(c->wr, type, version, d, chunk, &c->out));
        c->first_record_sent = 1;
        d += chunk;
        n -= chunk;
    } while (n);
    return OK;
}

MSTATUS nk_send_handshake(struct nk_tls *c, const uint8_t *msg, size_t n)
{
    return nk_send_records(c, NK_CT_HANDSHAKE, msg, n);
}

MSTATUS nk_send_ccs(struct nk_tls *c)
{
    /* Middlebox compatibility (RFC 8446 Appendix D.4). */
    static const uint8_t one = 1;
    c->ccs_sent = 1;
    if (c->is_dtls)
        return nk_dtls_send(c, NK_CT_CHANGE_CIPHER_SPEC, &one, 1);
    return nk_rec_write_ccs(&c->out);
}

MSTATUS nk_send_alert(struct nk_tls *c, int level, int alert)
{
    uint8_t a[2] = { (uint8_t)level, (uint8_t)alert };
    if (alert == NK_ALERT_CLOSE_NOTIFY) {
        if (c->sent_close_notify)
            return OK;
        c->sent_close_notify = 1;
    }
    return nk_send_records(c, NK_CT_ALERT, a, 2);
}

MSTATUS nk_key_update_send(struct nk_tls *c, int request)
{
    /* §4.6.3: KeyUpdate under the old key, then switch our sending key. */
    uint8_t msg[5] = { NK_HS_KEY_UPDATE, 0, 0, 1, (uint8_t)(request ? 1 : 0) };
    uint8_t *secret = c->role == NK_CLIENT ? c->c_ap : c->s_ap;
    NK_CHECK(c->status == SSL_CONNECTION_OPEN && c->wr_app, ERR_SSL_NOT_OPEN);
    MSTATUS st = nk_rec_can_rekey(&c->kernel, NK_REC_TX);
    if (st == NK_REC_KEY_PENDING) {
        /* The KeyUpdate we sent last has not switched our sending key yet.
         * It already changes it after anything the peer asked (§4.6.3 wants
         * one before our next data): it answers the peer; a request of our
         * own must wait. */
        NK_CHECK(!request, ERR_SSL_BAD_STATE);
        c->key_update_pending = 0;
        return OK;
    }
    NK_TRY(st);   /* refused before anything is queued: the stream stays intact */
    NK_TRY(nk_send_records(c, NK_CT_HANDSHAKE, msg, sizeof msg));
    NK_TRY(nk_ks_update(c->suite->hash, secret));
    c->key_update_pending = 0;
    /* The new key protects what follows the KeyUpdate just queued. */
    return nk_rec_next_key(c->wr, &c->kernel, NK_REC_TX, c->suite, secret, c->out.len - c->out_off);
}

MSTATUS nk_tls_set_server_name(struct nk_tls *c, const char *name)
{
    char *copy = NULL;
    unsigned pooled = 0;
    if (name && !(copy = nk_name_dup(name, strlen(name), &pooled)))
        return ERR_MEM_ALLOC_FAIL;
    nk_name_free(c->server_name, c->name_pooled);
    c->server_name = copy;
    c->name_pooled = pooled & 1;
    return OK;
}

static const struct nk_suite *version_table(uint8_t minor, size_t *n)
{
    *n = minor == 4 ? nk_suite_count : nk_suite12_count;
    return minor == 4 ? nk_suites : nk_suites12;
}

int nk_tls_suite_enabled(const struct nk_tls *c, const struct nk_suite *s)
{
    return s && (c->suites & nk_suite_bit(s));
}

int nk_tls_has_suites(const struct nk_tls *c, uint8_t minor)
{
    size_t n;
    const struct nk_suite *t = version_table(minor, &n);
    for (size_t i = 0; i < n; i++)
        if (nk_tls_suite_enabled(c, &t[i]))
            return 1;
    return 0;
}

void nk_tls_write_suites(const struct nk_tls *c, struct nk_wr *w, uint8_t minor)
{
    size_t n;
    const struct nk_suite *t = version_table(minor, &n);
    for (size_t i = 0; i < n; i++)
        if (nk_tls_suite_enabled(c, &t[i]))
            nk_wr_u16(w, t[i].id);
}

const struct nk_suite *nk_tls_pick_suite(const struct nk_tls *c, struct nk_rd offered, uint8_t minor, uint8_t auth,
                                         unsigned kx_ok)
{
    const struct nk_suite *best = NULL;
    uint64_t best_rank = UINT64_MAX;
    int client_order = (c->flags & NKTLS_FLAG_CLIENT_CIPHER_ORDER) != 0;
    uint16_t id;
    for (uint64_t pos = 0; nk_rd_u16(&offered, &id) == OK; pos++) {
        const struct nk_suite *s = nk_suite_any_by_id(id);
        if (!s || s->minor != minor || s->auth != auth || !(kx_ok & (1u << s->kx)) || !nk_tls_suite_enabled(c, s))
            continue;
        /* Our order is the table's, which nk_suite_bit follows. */
        uint64_t rank = client_order ? pos : nk_suite_bit(s);
        if (rank < best_rank) {
            best = s;
            best_rank = rank;
        }
    }
    return best;
}
