/* examples/load_conn.c — nktls-load's connections on the nktls event loop
 * (NKTLS_LOOP_*): the callbacks, per-connection settings, the shared
 * session-ticket store of resume mode, and the naming of errors by kind.
 * What each mode does with an open connection is load_ops.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "load_conn.h"

/* The slot a callback is for; NULL once nktls-load let go of the connection
 * (lc_release), when only the loop's own closing remains. */
static struct lconn *slot_of(sbyte4 h)
{
    struct lconn *c = NKTLS_LOOP_getConnArg(h);
    if (c)
        c->h = h;
    return c;
}

/* ---- the ticket store: one ticket, shared by every worker, the newest wins.
 * A mutex is enough: it is taken once or twice per handshake. A TLS 1.3
 * ticket comes through the PSK callbacks; a TLS 1.2 session (by id, or a
 * ticket the library keeps under the id) through SSL_getClientSessionInfo
 * once the handshake is done, offered with NKTLS_setClientSession. ---- */

static pthread_mutex_t g_ticket_lock = PTHREAD_MUTEX_INITIALIZER;
static ubyte *g_ticket;
static ubyte4 g_ticket_len;
static struct {
    ubyte id_len;
    ubyte id[SSL_MAXSESSIONIDSIZE];
    ubyte master[SSL_MASTERSECRETSIZE];
} g_sess12;

/* A TLS 1.2 (or DTLS 1.2) connection just opened: keep its session, the
 * newest wins. */
static void save_session12(struct lconn *c, sbyte4 h)
{
    ubyte4 minor = 0;
    ubyte id_len = 0, id[SSL_MAXSESSIONIDSIZE], master[SSL_MASTERSECRETSIZE];

    if (SSL_getSSLTLSVersion(h, &minor) != OK
        || (minor != TLS12_MINORVERSION && minor != DTLS12_MINORVERSION)
        || SSL_getClientSessionInfo(h, &id_len, id, master) != OK || !id_len)
        return;
    pthread_mutex_lock(&g_ticket_lock);
    g_sess12.id_len = id_len;
    memcpy(g_sess12.id, id, id_len);
    memcpy(g_sess12.master, master, sizeof(master));
    pthread_mutex_unlock(&g_ticket_lock);
    memset(master, 0, sizeof(master));
    lo_on_ticket(c);
}

static MSTATUS offer_session12(sbyte4 h)
{
    ubyte id_len, id[SSL_MAXSESSIONIDSIZE], master[SSL_MASTERSECRETSIZE];
    MSTATUS st;

    pthread_mutex_lock(&g_ticket_lock);
    id_len = g_sess12.id_len;
    memcpy(id, g_sess12.id, sizeof(id));
    memcpy(master, g_sess12.master, sizeof(master));
    pthread_mutex_unlock(&g_ticket_lock);
    st = NKTLS_setClientSession(h, id_len, id, master);
    memset(master, 0, sizeof(master));
    return st;
}

static sbyte4 save_ticket(sbyte4 h, sbyte *server, ubyte4 server_len, ubyte *psk, ubyte4 len)
{
    struct lconn *c = slot_of(h);
    ubyte *copy = malloc(len);

    (void)server, (void)server_len;
    if (!copy)
        return -1;
    memcpy(copy, psk, len);
    pthread_mutex_lock(&g_ticket_lock);
    free(g_ticket);
    g_ticket = copy;
    g_ticket_len = len;
    pthread_mutex_unlock(&g_ticket_lock);
    if (c)
        lo_on_ticket(c);
    return 0;
}

static sbyte4 offer_ticket(sbyte4 h, sbyte *server, ubyte4 server_len, ubyte **psk, ubyte4 *len,
                           intBoolean *free_it)
{
    (void)h, (void)server, (void)server_len;
    *psk = NULL;
    *free_it = TRUE;
    pthread_mutex_lock(&g_ticket_lock);
    if (g_ticket && (*psk = malloc(g_ticket_len)) != NULL) {
        memcpy(*psk, g_ticket, g_ticket_len);
        *len = g_ticket_len;
    }
    pthread_mutex_unlock(&g_ticket_lock);
    return 0;
}

int load_have_ticket(void)
{
    int have;
    pthread_mutex_lock(&g_ticket_lock);
    have = g_ticket != NULL || g_sess12.id_len;
    pthread_mutex_unlock(&g_ticket_lock);
    return have;
}

void load_ticket_free(void)
{
    pthread_mutex_lock(&g_ticket_lock);
    free(g_ticket);
    g_ticket = NULL;
    memset(&g_sess12, 0, sizeof(g_sess12));
    pthread_mutex_unlock(&g_ticket_lock);
}

/* --srtp: the keying material a handshake agreed is counted, not used
 * (nktls-load carries no media). */
sbyte4 load_srtp_agreed(sbyte4 h, peerDescr *peer, const SrtpProfileInfo *info, void *km, ubyte *mki)
{
    struct lconn *c = slot_of(h);

    (void)peer, (void)info, (void)km, (void)mki;
    if (c && !c->prime && lc_counting())
        lc_stats(c)->srtp++;
    return OK;
}

/* --insecure: accept whatever chain the server sent. */
static MSTATUS accept_any_cert(sbyte4 h, MSTATUS validation_status)
{
    (void)h, (void)validation_status;
    return OK;
}

/* ---- the connection's life ---- */

/* Count a failed operation against the slot (unless the run's stop came
 * first) and let the slot go on. chain: the next operation may start at once. */
static void count_failure(struct lconn *c, const char *kind, const char *detail, int chain)
{
    struct load_stats *st = lc_stats(c);

    if (lc_counting()) {
        load_err_add(st, kind, detail, 1);
        __atomic_fetch_add(&st->errors, 1, __ATOMIC_RELAXED);
        if (st == &lw_self->st) {
            struct load_sec *s = load_sec_at(lw_self, load_now_ns());
            if (s)
                __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
            lw_self->t_done = load_now_ns();
        }
    }
    c->busy = 0;
    lw_slot_done(c, chain);
}

/* A failed operation: the connection goes, the failure is counted (once,
 * against the running operation). */
static void fail_op(struct lconn *c, const char *kind, const char *detail, int chain)
{
    int was_busy = c->busy;

    lc_release(c);
    if (was_busy)                   /* else an idle keep-alive connection went away */
        count_failure(c, kind, detail, chain);
}

void lc_op_failed(struct lconn *c, const char *kind, const char *detail)
{
    count_failure(c, kind, detail, 1);
}

void lc_fail(struct lconn *c, const char *kind, const char *detail)
{
    fail_op(c, kind, detail, 1);
}

/* Let go of the attached connection: the loop closes it (close_notify after
 * whatever is queued) and its last callbacks find no slot. */
void lc_release(struct lconn *c)
{
    if (c->h > 0) {
        NKTLS_LOOP_setConnArg(c->h, NULL);
        NKTLS_LOOP_close(c->h);
    }
    c->h = 0;
    c->state = LC_FREE;
    lo_unwait(c);
}

/* A new connection for the slot's operation. On success the slot belongs to
 * the worker the loop picked: the caller touches it no more. */
void lc_connect(struct lconn *c)
{
    const struct load_cfg *cfg = g_load.cfg;
    sbyte4 h;

    c->state = LC_CONNECTING;
    /* --dtls: a UDP socket of its own, so a cookie exchange each time. */
    h = (cfg->dtls.on ? NKTLS_LOOP_connectDTLS : NKTLS_LOOP_connect)(
        g_load.srv, (const struct sockaddr *)&cfg->addr, cfg->addr_len, (const sbyte *)cfg->servername,
        cfg->store, c);
    if (h < 0) {
        c->state = LC_FREE;
        /* Out of descriptors or connection slots: retrying at once would
         * only fail again, so the scheduler restarts the slot later. */
        fail_op(c, "connect", ex_status_name((MSTATUS)h), 0);
    }
}

/* ---- the loop's callbacks ---- */

MSTATUS lc_on_setup(sbyte4 h, void *arg)
{
    const struct load_cfg *cfg = g_load.cfg;
    struct lconn *c = slot_of(h);
    MSTATUS st;

    (void)arg;
    if (!c)
        return ERR_SSL_BAD_STATE;
    c->worker = lw_self->id;
    c->state = LC_HANDSHAKE;
    st = ex_apply_opts(h, &cfg->tls);
    if (st == OK && cfg->dtls.n_srtp)
        st = SSL_enableSrtpProfiles(h, (ubyte2 *)cfg->dtls.srtp, cfg->dtls.n_srtp);
    if (st == OK && cfg->dtls.pmtu)
        st = SSL_ioctl(h, DTLS_SET_PMTU, (void *)(uintptr_t)cfg->dtls.pmtu);
    if (st == OK && cfg->tls.n_alpn)
        st = SSL_setApplicationLayerProtocol(h, cfg->tls.n_alpn, (const char **)cfg->tls.alpn);
    if (st == OK && cfg->insecure)
        st = SSL_setInvalidCertCallback(h, accept_any_cert);
    if (st == OK && load_resuming(cfg))
        st = SSL_setClientSavePSKCallback(h, save_ticket);
    if (st == OK && load_resuming(cfg) && !c->prime)
        st = SSL_CLIENT_setRetrievePSKCallback(h, offer_ticket);
    if (st == OK && load_resuming(cfg) && !c->prime)
        st = offer_session12(h);
    /* Sent right after the ClientHello when the ticket allows as much. */
    if (st == OK && cfg->early_data && !c->prime)
        st = SSL_setEarlyData(h, (ubyte *)cfg->request, (ubyte4)cfg->request_len);
    if (st != OK)
        fail_op(c, "setup", ex_status_name(st), 0);
    return st;
}

void lc_on_open(sbyte4 h, void *arg)
{
    struct lconn *c = slot_of(h);

    (void)arg;
    if (!c)
        return;
    c->state = LC_OPEN;
    if (load_resuming(g_load.cfg))
        save_session12(c, h);
    lo_on_open(c);
}

void lc_on_data(sbyte4 h, const ubyte *p, ubyte4 n, void *arg)
{
    struct lconn *c = slot_of(h);

    (void)arg;
    if (!c)
        return;
    lo_on_data(c, p, n);            /* the slot may belong to another worker now */
}

static int is_verification(MSTATUS st)
{
    return (st <= ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY && st >= ERR_CERT_SHA1_SIGNATURE) ||
           st == ERR_SSL_PROTOCOL_PROCESS_CERTIFICATE;
}

/* Kind and detail of a connection the loop ended: a received alert by its
 * name; a certificate we refused; a timeout and in which phase; anything
 * else by the status's name (and the alert we sent for it). */
static void closed_with_error(struct lconn *c, sbyte4 h, enum lc_state was, MSTATUS st)
{
    sbyte4 alert = -1, level = 0;
    char detail[64];
    const char *name;

    if (st == ERR_SSL_FATAL_ALERT && SSL_lookupAlert(h, st, &alert, &level) == OK) {
        name = NKTLS_alertName(alert);
        if (!name) {
            snprintf(detail, sizeof(detail), "alert %d", (int)alert);
            name = detail;
        }
        lc_fail(c, "alert", name);
    } else if (is_verification(st)) {
        lc_fail(c, "verification", ex_status_name(st));
    } else if (st == ERR_SSL_HANDSHAKE_TIMEOUT) {
        lc_fail(c, "timeout", was == LC_CONNECTING ? "connect" : "handshake");
    } else if (st == ERR_TCP_READ_TIMEOUT) {
        lc_fail(c, "timeout", "operation");
    } else if (st == ERR_TCP_CONNECT_ERROR) {
        lc_fail(c, "connect", ex_status_name(st));
    } else {
        snprintf(detail, sizeof(detail), "%s (sent %s)", ex_status_name(st),
                 ex_alert_for(h, st));
        lc_fail(c, was == LC_OPEN ? "tls" : "handshake", detail);
    }
}

void lc_on_close(sbyte4 h, MSTATUS st, void *arg)
{
    struct lconn *c = NKTLS_LOOP_getConnArg(h);
    enum lc_state was;

    (void)arg;
    if (!c)
        return;
    was = c->state;
    c->h = 0;                       /* the handle stops working when we return */
    c->state = LC_FREE;
    if (g_load.closing) {
        /* Our own stop: the end of idle mode's hold, the hard stop at the
         * end of --duration, or operations given up after a second SIGINT.
         * None is the server's fault; what ran is counted as in flight. */
        lo_unwait(c);
        if (c->busy) {
            c->busy = 0;
            lw_slot_done(c, 0);
        }
        return;
    }
    if (st == OK || st == ERR_TCP_SOCKET_CLOSED || st == ERR_SSL_CONNECTION_CLOSED)
        lo_peer_closed(c, was == LC_OPEN);
    else
        closed_with_error(c, h, was, st);
}
