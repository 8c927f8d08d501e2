/* handshake/protocol.c — the state-table machinery every protocol shares: the
 * protocols by number, the row for a message, the step from one state to the
 * next (handshake/hs.h says what a row is). No version is compared here: a
 * connection reaches its table through c->proto. */
#include "handshake/hs.h"
#include "handshake/hello.h"
#include "handshake/fips.h"

/* A connection that has not started: nothing is expected. */
static const struct nk_protocol proto_none = { .id = NK_PROTO_NONE, .name = "none" };

/* c->proto is a 4-bit field of the packed protocol state (handshake/tls.h). */
_Static_assert(NK_PROTO_COUNT <= 16, "c->proto holds 4 bits");

static const struct nk_protocol *const protocols[NK_PROTO_COUNT] = {
    [NK_PROTO_NONE] = &proto_none,
    [NK_PROTO_HELLO] = &nk_hello_server,
    [NK_PROTO_TLS13_CLIENT] = &nk_tls13_client,
    [NK_PROTO_TLS13_SERVER] = &nk_tls13_server,
    [NK_PROTO_TLS12_CLIENT] = &nk_tls12_client,
    [NK_PROTO_TLS12_SERVER] = &nk_tls12_server,
};

/* The protocol each role starts a handshake in. */
static const uint8_t first_protocol[] = {
    [NK_CLIENT] = NK_PROTO_TLS13_CLIENT,
    [NK_SERVER] = NK_PROTO_HELLO,   /* the ClientHello chooses the version (hello.c) */
};

const struct nk_protocol *nk_hs_protocol(unsigned id)
{
    return id < NK_PROTO_COUNT ? protocols[id] : &proto_none;
}

const struct nk_protocol *nk_hs_proto(const struct nk_tls *c)
{
    return nk_hs_protocol(c->proto);
}

int nk_hs_state(const struct nk_tls *c)
{
    return c->hs ? c->hs->state : ST_CONNECTED;
}

static const struct nk_step *find_row(const struct nk_protocol *p, int state, uint8_t content_type,
                                      uint8_t msg)
{
    for (size_t i = 0; i < p->n_steps; i++) {
        const struct nk_step *r = &p->steps[i];
        if (r->state == state && r->content_type == content_type && r->msg == msg)
            return r;
    }
    return NULL;
}

const struct nk_step *nk_hs_row(const struct nk_tls *c, uint8_t content_type, uint8_t msg)
{
    return find_row(nk_hs_proto(c), nk_hs_state(c), content_type, msg);
}

static int outcome(const struct nk_step *row, MSTATUS st)
{
    if (st == NK_HS_NEXT)
        return row->next;
    if (st == NK_HS_ALT)
        return row->alt;
    if (st == NK_HS_STAY)
        return row->state;
    return st == NK_HS_ALT2 ? row->alt2 : ST_NONE;
}

MSTATUS nk_hs_step(struct nk_tls *c, uint8_t content_type, uint8_t msg, struct nk_rd *body,
                   const uint8_t *raw, size_t raw_len)
{
    const struct nk_protocol *p = nk_hs_proto(c);
    int state = nk_hs_state(c);
    const struct nk_step *row = find_row(p, state, content_type, msg);
    NK_CHECK(row, ERR_SSL_UNEXPECTED_MESSAGE);
    MSTATUS st = row->fn(c, body, raw, raw_len);
    if (st < 0)
        return st;
    /* A handler that chose the protocol (a server's ClientHello chooses the
     * version) leaves the next state to the chosen protocol's row for the
     * same message: each protocol names its own states. */
    if (nk_hs_proto(c) != p)
        row = find_row(nk_hs_proto(c), state, content_type, msg);
    int next = row ? outcome(row, st) : ST_NONE;
    NK_CHECK(next != ST_NONE, ERR_SSL_INTERNAL);
    /* The rows that lead to ST_CONNECTED are those whose handler ends the
     * handshake (nk_hs_complete), and only those. */
    NK_CHECK((c->hs == NULL) == (next == ST_CONNECTED), ERR_SSL_INTERNAL);
    if (c->hs)
        c->hs->state = next;
    return OK;
}

MSTATUS nk_hs_start(struct nk_tls *c)
{
    const struct nk_protocol *p = nk_hs_protocol(first_protocol[c->role]);
    NK_TRY(nk_fips_narrow(c));   /* FIPS mode: the approved suites, groups and schemes */
    c->proto = p->id;
    c->hs->state = p->first;
    return p->start ? p->start(c) : OK;
}

/* RFC 8446 §5: "An implementation may receive an unencrypted record of type
 * change_cipher_spec consisting of the single byte value 0x01 at any time
 * after the first ClientHello message has been sent or received and before
 * the peer's Finished message has been received and MUST simply drop it
 * without further processing. ... An implementation which receives any other
 * change_cipher_spec value or which receives a protected change_cipher_spec
 * record MUST abort the handshake with an "unexpected_message" alert." The
 * rows say when, this says what. A record of outer type change_cipher_spec is
 * unprotected (protected records have outer type application_data); a
 * protected one, inner type change_cipher_spec, never reaches a table: the
 * engine refuses it. */
MSTATUS nk_hs_on_ccs(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    uint8_t v;
    NK_CHECK(nk_rd_u8(body, &v) == OK && v == 1 && nk_rd_done(body) == OK, ERR_SSL_UNEXPECTED_MESSAGE);
    return OK;
}
