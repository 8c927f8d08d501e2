/* handshake/hello.c — the server's first ClientHello, version-neutral: parsed
 * whole into a struct nk_client_hello and checked for what every version
 * requires, then the version chosen (RFC 8446 §4.2.1) and that version's
 * server run on the parsed hello. Until then the connection runs
 * nk_hello_server, whose table takes a ClientHello and nothing else. */
#include "handshake/hello.h"
#include "handshake/rare.h"

/* The server protocols, most preferred first. */
static const uint8_t server_protocols[] = { NK_PROTO_TLS13_SERVER, NK_PROTO_TLS12_SERVER };

/* §4.2.1: struct { ProtocolVersion versions<2..254>; } SupportedVersions. */
static MSTATUS read_versions(struct nk_client_hello *ch)
{
    const struct nk_ext *sv = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_SUPPORTED_VERSIONS);
    nk_rd_init(&ch->versions, NULL, 0);
    ch->has_versions = sv != NULL;
    if (!sv)
        return OK;
    struct nk_rd r = sv->data;
    NK_TRY(nk_rd_vec8(&r, &ch->versions, 2, 254));
    NK_TRY(nk_rd_done(&r));
    NK_CHECK(nk_rd_left(&ch->versions) % 2 == 0, ERR_SSL_PROTOCOL);
    return OK;
}

MSTATUS nk_hello_parse(struct nk_rd *b, struct nk_client_hello *ch)
{
    NK_TRY(nk_rd_u16(b, &ch->legacy_version));
    NK_TRY(nk_rd_copy(b, ch->random, 32));
    NK_TRY(nk_rd_vec8(b, &ch->session_id, 0, 32));
    NK_TRY(nk_rd_vec16(b, &ch->suites, 2, 0xfffe));
    NK_CHECK(nk_rd_left(&ch->suites) % 2 == 0, ERR_SSL_PROTOCOL);
    NK_TRY(nk_rd_vec8(b, &ch->compression, 1, 255));
    NK_TRY(nk_ext_parse(b, ch->exts, &ch->n_exts));
    NK_TRY(nk_rd_done(b));
    /* Appendix D.5: "Any endpoint receiving a Hello message with
     * ClientHello.legacy_version ... set to 0x0300 MUST abort the handshake with
     * a protocol_version alert" (and SSL 2 style values below it too). */
    NK_CHECK(ch->legacy_version > 0x0300, ERR_SSL_UNSUPPORTED_VERSION);
    /* §4.2.11: pre_shared_key MUST be the last extension. */
    const struct nk_ext *psk = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_PRE_SHARED_KEY);
    NK_CHECK(!psk || psk->last, ERR_SSL_ILLEGAL_PARAMETER);
    return read_versions(ch);
}

int nk_hello_offers(const struct nk_client_hello *ch, uint16_t version)
{
    /* §4.2.1: "If this extension is not present, servers which are compliant
     * with this specification and which also support TLS 1.2 MUST negotiate
     * TLS 1.2 or prior as specified in [RFC5246]". */
    if (!ch->has_versions)
        return version <= ch->legacy_version && version <= NK_TLS12;
    return nk_rd_has_u16(ch->versions, version);
}

/* A protocol this connection may speak (SSL_setMinProtoVersion and the like,
 * as TLS minor versions). */
static int allowed(const struct nk_tls *c, const struct nk_protocol *p)
{
    uint8_t minor = (uint8_t)p->version;
    return c->min_minor <= minor && minor <= c->max_minor;
}

static int any_allowed(const struct nk_tls *c)
{
    for (size_t i = 0; i < NK_ARRAY_LEN(server_protocols); i++)
        if (allowed(c, nk_hs_protocol(server_protocols[i])))
            return 1;
    return 0;
}

/* Our most preferred version that the client offers, among those with a
 * suite enabled; failing that, the first the client offers, whose suite
 * choice then fails with handshake_failure. */
static const struct nk_protocol *choose(const struct nk_tls *c, const struct nk_client_hello *ch)
{
    const struct nk_protocol *fallback = NULL;
    for (size_t i = 0; i < NK_ARRAY_LEN(server_protocols); i++) {
        const struct nk_protocol *p = nk_hs_protocol(server_protocols[i]);
        if (!allowed(c, p) || !nk_hello_offers(ch, p->version))
            continue;
        if (nk_tls_has_suites(c, (uint8_t)p->version))
            return p;
        if (!fallback)
            fallback = p;
    }
    return fallback;
}

MSTATUS nk_hello_on_client_hello(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    struct nk_client_hello ch;
    /* A server held to versions it does not implement has nothing to offer,
     * whatever the hello says. */
    NK_CHECK(any_allowed(c), ERR_SSL_UNSUPPORTED_VERSION);
    NK_TRY(nk_hello_parse(body, &ch));
    const struct nk_protocol *p = choose(c, &ch);
    unsigned client_max = 0;
    for (unsigned minor = 0; minor <= 4; minor++)
        if (nk_hello_offers(&ch, (uint16_t)(0x0300 | minor)))
            client_max = minor;
    if (p == NULL) {
        /* Kept for the application to say what the client wanted. */
        for (unsigned minor = 0; minor <= 4; minor++)
            if (nk_hello_offers(&ch, (uint16_t)(0x0300 | minor)))
                c->peer_versions |= 1u << minor;
        return nk_version_tell(c, 0, client_max, ERR_SSL_UNSUPPORTED_VERSION);
    }
    NK_TRY(nk_version_tell(c, (uint8_t)p->version, client_max, OK));
    c->proto = p->id;
    return p->client_hello(c, &ch, raw, n);
}

/* Before the first ClientHello: no version yet, and nothing but a
 * ClientHello may come (not even a change_cipher_spec, §5). The chosen
 * version's row for the ClientHello names the next state (protocol.c). */
static const struct nk_step hello_steps[] = {
    { ST_S_WAIT_CH, NK_CT_HANDSHAKE, NK_HS_CLIENT_HELLO, nk_hello_on_client_hello, ST_NONE },
};

const struct nk_protocol nk_hello_server = {
    .id = NK_PROTO_HELLO, .first = ST_S_WAIT_CH, .name = "server hello",
    .steps = hello_steps, .n_steps = NK_ARRAY_LEN(hello_steps),
};
