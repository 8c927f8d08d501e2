/* handshake/tls13_early.c — TLS 1.3 0-RTT data (RFC 8446 §2.3, §4.2.10, §4.5).
 *
 * Server: tickets carry max_early_data_size when the application set one
 * (SSL_setMaxEarlyDataSize). A resumption ClientHello with early_data has its
 * data accepted only when every condition of §4.2.10 holds: the first
 * identity's ticket was accepted, it allows 0-RTT, it was issued under this
 * very suite (and, through its binding, this server name and ALPN protocol),
 * no HelloRetryRequest came, its max_early_data_size is within what this
 * connection accepts (SSL_setRecvEarlyDataSize), the ticket's age agrees
 * with the client's (§8.3) and the ClientHello was not seen before (§8.2,
 * handshake/antireplay.c). Otherwise the data is skipped (engine/engine.c).
 * Accepted data is read under client_early_traffic_secret until
 * EndOfEarlyData, and goes to the application's receive-data callback
 * (DATA_STATE_EARLY) or, without one, waits for SSL_recv after the handshake.
 *
 * Client: SSL_setEarlyData's bytes go out under the early key right after the
 * ClientHello when the offered ticket allows at least that many; EndOfEarlyData
 * follows the server's Finished when the server accepted them. When it did
 * not, nothing is resent: §4.2.10 says an implementation SHOULD NOT resend
 * early data by itself, so the application reads SSL_EARLY_DATA_REJECTED
 * (SSL_ioctl SSL_GET_EARLY_DATA_STATUS) and sends them again with SSL_send. */
#include <stdlib.h>
#include "handshake/early.h"
#include "handshake/hello.h"

MSTATUS nk_early_get(struct nk_tls *c, struct nk_early **out)
{
    if (!c->early)
        NK_CHECK(c->early = calloc(1, sizeof *c->early), ERR_MEM_ALLOC_FAIL);
    *out = c->early;
    return OK;
}

static struct nk_early *early_of(const struct nk_tls *c)
{
    return c->early;
}

void nk_early_free(struct nk_tls *c)
{
    if (!c->early)
        return;
    nk_buf_free(&c->early->data);
    nk_wipe(c->early, sizeof *c->early);
    free(c->early);
    c->early = NULL;
}

/* client_early_traffic_secret = Derive-Secret(HKDF-Extract(0, PSK),
 * "c e traffic", ClientHello)  (§7.1) */
static MSTATUS early_secret(const struct nk_hs *hs, enum nk_hash h, const uint8_t *psk, size_t psk_len,
                            uint8_t *out)
{
    static const uint8_t zero[NK_MAX_HASH];
    uint8_t es[NK_MAX_HASH], th[NK_MAX_HASH];
    size_t hl = nk_hash_len(h);
    MSTATUS st = nk_hkdf_extract(h, zero, hl, psk, psk_len, es);
    if (st == OK)
        st = nk_transcript_hash_extra(&hs->tr, h, NULL, 0, th);
    if (st == OK)
        st = nk_ks_derive_secret(h, es, "c e traffic", th, out);
    nk_wipe(es, sizeof es);
    return st;
}

/* ---- server ---- */

void nk_early_server_offered(struct nk_tls *c)
{
    /* The client sent early data that a connection without 0-RTT state
     * skips: it learns the same as one that refused it (a bit, so that a
     * connection that never enabled 0-RTT allocates nothing for it). */
    c->early_offered = 1;
    if (c->early)
        c->early->status = SSL_EARLY_DATA_REJECTED;
}

void nk_early_server_ticket(struct nk_tls *c, const struct nk_ticket_state *t, uint32_t obfuscated_age,
                            const uint8_t *binder, size_t binder_len)
{
    struct nk_early *e = early_of(c);
    /* A connection that set nothing itself takes the process-wide receive
     * bound (SSL_Settings_Ioctl's SSL_SETTINGS_SET_RECV_MAX_EARLY_DATA);
     * without memory for the state, the early data is only skipped. */
    if (!e && t->max_early && c->cfg->ssl.recvMaxEarlyData && nk_early_get(c, &e) == OK)
        e->recv_max = c->cfg->ssl.recvMaxEarlyData;
    if (!e || binder_len > sizeof e->binder)
        return;
    e->ticket_ok = t->max_early > 0;
    e->ticket_max = t->max_early;
    e->ticket_suite = t->suite;
    e->ticket_issued = (int64_t)t->issued;
    /* §4.2.11.1: the obfuscated age is the age in ms plus age_add, mod 2^32. */
    e->ticket_age_ms = obfuscated_age - t->age_add;
    memcpy(e->binder, binder, binder_len);
    e->binder_len = (uint8_t)binder_len;
}

/* §8.3: the client's view of the ticket's age and ours (the ticket keeps
 * seconds: up to a second more either way) agree within the window. */
static int age_fresh(const struct nk_tls *c, const struct nk_early *e)
{
    int64_t ours = c->now - e->ticket_issued * 1000;
    int64_t diff = ours - (int64_t)e->ticket_age_ms;
    return diff >= -(NK_ANTIREPLAY_WINDOW_MS + 1000) && diff <= NK_ANTIREPLAY_WINDOW_MS + 1000;
}

MSTATUS nk_early_server_decide(struct nk_tls *c, const struct nk_client_hello *ch)
{
    struct nk_hs *hs = c->hs;
    struct nk_early *e = early_of(c);
    const struct nk_ext *x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_EARLY_DATA);
    if (!x || !e)
        return OK;
    /* §4.2.10: the ClientHello's early_data is empty. */
    NK_CHECK(nk_rd_left(&x->data) == 0, ERR_SSL_PROTOCOL);
    /* §4.2.10: the PSK is the first identity's (the only one we look at), the
     * suite the ticket's, the ALPN protocol the ticket's (its binding, checked
     * with the ticket), and no HelloRetryRequest came between. */
    uint32_t recv_max = e->recv_max ? e->recv_max
                        : e->max_ticket ? e->max_ticket : c->cfg->ssl.recvMaxEarlyData;
    int ok = hs->psk_ok && e->ticket_ok && !hs->hrr && e->ticket_suite == c->suite->id
             && e->ticket_max <= recv_max && age_fresh(c, e);
    if (ok) {
        /* §8: only a ClientHello never seen before has its 0-RTT data read. */
        MSTATUS st = nk_antireplay_check(c, e->binder, e->binder_len, c->now);
        e->replayed = st < 0;
        ok = st == OK;
    }
    if (!ok) {
        e->status = SSL_EARLY_DATA_REJECTED;
        return OK;   /* the engine skips the data (hs->early_skip) */
    }
    NK_TRY(early_secret(hs, c->suite->hash, hs->psk, hs->psk_len, e->secret));
    e->limit = e->ticket_max;
    e->status = SSL_EARLY_DATA_ACCEPTED;
    hs->early_skip = 0;
    return OK;
}

int nk_early_accepted(const struct nk_tls *c)
{
    struct nk_early *e = early_of(c);
    return e && e->status == SSL_EARLY_DATA_ACCEPTED;
}

MSTATUS nk_early_server_ee(struct nk_tls *c, struct nk_wr *w)
{
    struct nk_early *e = early_of(c);
    if (!e || c->role != NK_SERVER || e->status != SSL_EARLY_DATA_ACCEPTED)
        return OK;
    nk_wr_u16(w, NK_EXT_EARLY_DATA);   /* §4.2.10: empty in EncryptedExtensions */
    nk_wr_u16(w, 0);
    /* The handshake key read_key waits for EndOfEarlyData (§4.5). */
    NK_TRY(nk_rec_install(c->rd, c->suite, e->secret, 0));
    c->rd_epoch++;
    e->reading = 1;
    return OK;
}

MSTATUS nk_early_server_record(const struct nk_tls *c, uint8_t type, const uint8_t *d, size_t n)
{
    struct nk_early *e = early_of(c);
    if (!e || !e->reading || type != NK_CT_HANDSHAKE)
        return OK;
    /* §4.5: the client's Finished comes under the handshake key, after
     * EndOfEarlyData: no other handshake message is read under the early key
     * (a record that begins with EndOfEarlyData ends with it: a message never
     * spans a key change, handshake/hs_input.c). */
    NK_CHECK(n && d[0] == NK_HS_END_OF_EARLY_DATA, ERR_SSL_UNEXPECTED_MESSAGE);
    return OK;
}

MSTATUS nk_early_server_count(struct nk_tls *c, size_t n)
{
    struct nk_early *e = early_of(c);
    NK_CHECK(e && e->reading, ERR_SSL_UNEXPECTED_MESSAGE);
    /* §4.2.10: more 0-RTT data than max_early_data_size SHOULD end the
     * handshake with unexpected_message. */
    NK_CHECK(n <= e->limit - e->received, ERR_SSL_EARLY_DATA_LIMIT);
    e->received += (uint32_t)n;
    return OK;
}

MSTATUS nk_early_server_data(struct nk_tls *c, uint8_t *d, size_t n)
{
    struct nk_early *e = early_of(c);
    NK_TRY(nk_early_server_count(c, n));
    if (!n)
        return OK;
    funcPtrReceiveApplicationData_t cb = c->cfg->ssl.funcPtrReceiveApplicationData;
    if (cb) {
        cb(c->handle, d, (ubyte4)n, DATA_STATE_EARLY);
        return OK;
    }
    return nk_buf_append(&e->data, d, n);
}

MSTATUS nk_early_on_end(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    struct nk_early *e = early_of(c);
    /* §4.5: only after accepted early data; anything else is unexpected. */
    NK_CHECK(e && e->reading, ERR_SSL_UNEXPECTED_MESSAGE);
    NK_TRY(nk_rd_done(b));   /* struct {} EndOfEarlyData */
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    /* "...and switches to the handshake traffic key" for what follows. */
    NK_TRY(nk_rec_install(c->rd, c->suite, hs->c_hs, 0));
    c->rd_epoch++;
    e->reading = 0;
    nk_wipe(e->secret, sizeof e->secret);
    return OK;
}

uint32_t nk_early_ticket_max(const struct nk_tls *c)
{
    struct nk_early *e = early_of(c);
    return e && c->proto == NK_PROTO_TLS13_SERVER ? e->max_ticket : 0;
}

void nk_early_ticket_exts(const struct nk_tls *c, struct nk_wr *w)
{
    uint32_t max = nk_early_ticket_max(c);
    size_t exts = nk_wr_open(w, 2);
    if (max) {   /* §4.6.1: early_data carries max_early_data_size */
        nk_wr_u16(w, NK_EXT_EARLY_DATA);
        nk_wr_u16(w, 4);
        nk_wr_u32(w, max);
    }
    nk_wr_close(w, exts, 2);
}

/* ---- client ---- */

/* §4.2.10: "The parameters for the 0-RTT data (version, symmetric cipher
 * suite, Application-Layer Protocol Negotiation (ALPN) [RFC7301] protocol,
 * etc.) are those associated with the PSK in use", and the server accepts
 * them only if it selects that protocol again. The data is written for the
 * protocol the application asks for first: send it only when that is the
 * ticket's (no ALPN offered and none kept count as the same). */
static int alpn_first_is(const struct nk_tls *c, const char *alpn)
{
    size_t len = strlen(alpn);
    if (!c->alpn_offer_len)
        return len == 0;
    size_t first = c->alpn_offer[0];
    return first == len && 1 + first <= c->alpn_offer_len && !memcmp(c->alpn_offer + 1, alpn, len);
}

int nk_early_client_offer(struct nk_tls *c)
{
    struct nk_early *e = early_of(c);
    struct tls13PSK *p = c->hs->offer;
    /* §4.2.10: never in the second ClientHello; only with a ticket that
     * allows as much (the data goes whole or not at all), for the protocol
     * the ticket's data is for. */
    int offer = e && c->role == NK_CLIENT && e->data.len && p && p->max_early >= e->data.len && !c->hs->hrr
                && c->max_minor >= 4 && alpn_first_is(c, p->alpn);
    if (e)
        e->offered = (uint8_t)offer;
    return offer;
}

MSTATUS nk_early_client_send(struct nk_tls *c)
{
    struct nk_early *e = early_of(c);
    struct nk_hs *hs = c->hs;
    if (!e || !e->offered || e->sending || hs->hrr)
        return OK;
    const struct nk_suite *s = nk_suite_by_id(hs->offer->suite);
    /* §4.2.10: the early key uses the ticket's suite and its PSK. */
    NK_TRY(early_secret(hs, s->hash, hs->offer->psk, hs->offer->psk_len, e->secret));
    if (!c->ccs_sent && hs->session_id_len)
        NK_TRY(nk_send_ccs(c));   /* D.4: right after the ClientHello */
    NK_TRY(nk_rec_install(c->wr, s, e->secret, 1));
    e->sending = 1;
    return nk_send_records(c, NK_CT_APPLICATION_DATA, e->data.p, e->data.len);
}

MSTATUS nk_early_client_refused(struct nk_tls *c)
{
    struct nk_early *e = early_of(c);
    if (!e || !e->offered)
        return OK;
    e->status = SSL_EARLY_DATA_REJECTED;   /* §4.2.10: a HelloRetryRequest rejects it */
    e->offered = 0;
    if (e->sending) {
        nk_rec_clear(c->wr);   /* the second ClientHello is unprotected */
        e->sending = 0;
    }
    return OK;
}

int nk_early_client_sending(const struct nk_tls *c)
{
    struct nk_early *e = early_of(c);
    return e && c->role == NK_CLIENT && e->sending;
}

MSTATUS nk_early_client_ee(struct nk_tls *c, const struct nk_ext *x)
{
    struct nk_early *e = early_of(c);
    struct nk_hs *hs = c->hs;
    if (x) {
        /* It was sent only with the ClientHello's (the caller checks that);
         * §4.2.10: empty, and for the first PSK identity only. */
        NK_CHECK(nk_rd_left(&x->data) == 0, ERR_SSL_PROTOCOL);
        NK_CHECK(e && e->sending && hs->psk_ok, ERR_SSL_ILLEGAL_PARAMETER);
        /* The suite must be the one the early data went under. */
        NK_CHECK(hs->offer && hs->offer->suite == c->suite->id, ERR_SSL_ILLEGAL_PARAMETER);
        e->status = SSL_EARLY_DATA_ACCEPTED;
        return OK;
    }
    if (!e || !e->sending || e->status == SSL_EARLY_DATA_ACCEPTED)
        return OK;
    /* Rejected: our next record is the Finished, under the handshake key. */
    e->status = SSL_EARLY_DATA_REJECTED;
    e->sending = 0;
    return nk_rec_install(c->wr, c->suite, hs->c_hs, 1);
}

MSTATUS nk_early_client_end(struct nk_tls *c)
{
    struct nk_early *e = early_of(c);
    struct nk_wr w;
    if (!e || !e->sending)
        return OK;
    /* §4.5: EndOfEarlyData, under the early key, after the server's Finished. */
    nk_hs_begin(c, &w, NK_HS_END_OF_EARLY_DATA);
    NK_TRY(nk_hs_finish(c, &w));
    e->sending = 0;
    nk_wipe(e->secret, sizeof e->secret);
    return nk_rec_install(c->wr, c->suite, c->hs->c_hs, 1);
}

MSTATUS nk_early_ticket_read(const struct nk_ext *e, size_t n, uint32_t *max)
{
    const struct nk_ext *x = nk_ext_find(e, n, NK_EXT_EARLY_DATA);
    *max = 0;
    if (!x)
        return OK;
    struct nk_rd r = x->data;
    NK_TRY(nk_rd_u32(&r, max));
    return nk_rd_done(&r);
}

/* ---- the engine ---- */

int nk_early_to_app(struct nk_tls *c, uint8_t **app, uint32_t *app_len)
{
    struct nk_early *e = early_of(c);
    if (!e || e->delivered || !e->data.len || c->role != NK_SERVER)
        return 0;
    e->delivered = 1;
    *app = e->data.p;
    *app_len = (uint32_t)e->data.len;
    return 1;
}

int nk_early_app_is_ours(const struct nk_tls *c, const uint8_t *app)
{
    struct nk_early *e = early_of(c);
    return e && e->delivered && e->data.p && app >= e->data.p && app <= e->data.p + e->data.len;
}

void nk_early_drained(struct nk_tls *c)
{
    struct nk_early *e = early_of(c);
    if (e && e->delivered && e->data.p)
        nk_buf_free(&e->data);
}

unsigned nk_early_status(const struct nk_tls *c)
{
    struct nk_early *e = early_of(c);
    if (e)
        return e->status;
    return c->role == NK_SERVER && c->early_offered ? SSL_EARLY_DATA_REJECTED : SSL_EARLY_DATA_NOT_SENT;
}
