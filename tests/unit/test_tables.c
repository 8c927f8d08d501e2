/* test_tables.c — the protocols' state tables (handshake/protocol.c) and the
 * handshake input that feeds them (handshake/hs_input.c): every table's rows
 * are well formed; a message of another content type, or one this state has
 * no row for, is unexpected_message; change_cipher_spec only where §5 allows
 * it and only as one 0x01 byte; the post-handshake rows of each side; header
 * checks before any body is held; the §5.1 record-boundary rule; and a step
 * moving to the state its row names, for either branch. No crypto runs: the
 * connections here are bare structs in a given state. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "core/nk.h"
#include "core/wire.h"
#include "handshake/hs.h"
#include "handshake/tls12.h"
#include "handshake/tls12_resume.h"
#include "handshake/tls12_reneg.h"
#include "handshake/hello.h"

/* A connection of one protocol in one state (hs NULL: ST_CONNECTED). */
struct conn {
    struct nk_tls c;
    struct nk_hs hs;
    struct nk_config cfg;
};

static void conn_init(struct conn *k, uint8_t proto, int state)
{
    memset(k, 0, sizeof *k);
    k->c.proto = proto;
    k->c.role = proto == NK_PROTO_TLS13_CLIENT ? NK_CLIENT : NK_SERVER;
    k->c.cfg = &k->cfg;
    k->cfg.limits.hs_message = 16384;
    k->cfg.limits.cert_message = 65536;
    k->cfg.limits.hs_memory = 1u << 20;
    if (state != ST_CONNECTED) {
        k->c.hs = &k->hs;
        k->hs.state = state;
    }
}

static void conn_free(struct conn *k)
{
    nk_hs_input_free(&k->c);
    nk_transcript_free(&k->hs.tr);
}

/* ---- the tables themselves ---- */

TEST(registry_numbers_its_protocols)
{
    for (unsigned id = 0; id < NK_PROTO_COUNT; id++) {
        const struct nk_protocol *p = nk_hs_protocol(id);
        ASSERT_NOT_NULL(p);
        EXPECT_EQ(p->id, id);
    }
    /* A number past the list is the protocol that expects nothing. */
    EXPECT_EQ(nk_hs_protocol(NK_PROTO_COUNT)->id, NK_PROTO_NONE);
    EXPECT_EQ(nk_hs_protocol(255)->n_steps, 0u);
    EXPECT_EQ(nk_hs_protocol(NK_PROTO_NONE)->n_steps, 0u);
}

static void check_row(const struct nk_protocol *p, const struct nk_step *r)
{
    EXPECT_NOT_NULL(r->fn);
    EXPECT_NE(r->state, ST_NONE);
    EXPECT_TRUE(r->content_type == NK_CT_HANDSHAKE || r->content_type == NK_CT_CHANGE_CIPHER_SPEC);
    if (r->content_type == NK_CT_CHANGE_CIPHER_SPEC && p->version == NK_TLS12) {
        /* TLS 1.2 (RFC 5246 §7.1): the peer's ChangeCipherSpec switches its
         * read key and moves to its Finished (the client's checks first that
         * a promised NewSessionTicket came, RFC 5077 §3.3). */
        EXPECT_EQ(r->msg, 0);
        EXPECT_TRUE(r->fn == nk_tls12_on_ccs || (r->fn == nk_tls12_client_on_ccs && p->id == NK_PROTO_TLS12_CLIENT));
        EXPECT_NE(r->next, r->state);
        EXPECT_NE(r->state, ST_CONNECTED);
    } else if (r->content_type == NK_CT_CHANGE_CIPHER_SPEC) {
        /* TLS 1.3: dropped, a change_cipher_spec changes no state. */
        EXPECT_EQ(r->msg, 0);
        EXPECT_TRUE(r->fn == nk_hs_on_ccs);
        EXPECT_EQ(r->next, r->state);
        EXPECT_EQ(r->alt, ST_NONE);
        EXPECT_NE(r->state, ST_CONNECTED);   /* never after the peer's Finished */
    }
    /* Post-handshake messages stay there, but for those that begin a TLS 1.2
     * renegotiation (their refusal stays: NK_HS_STAY). */
    int renegotiates = r->fn == nk_reneg_on_client_hello || r->fn == nk_reneg_on_hello_request;
    if (r->state == ST_CONNECTED && !renegotiates)
        EXPECT_EQ(r->next, ST_CONNECTED);
    if (renegotiates) {
        EXPECT_EQ(p->version, NK_TLS12);
        EXPECT_EQ(r->state, ST_CONNECTED);
        EXPECT_NE(r->next, ST_CONNECTED);
    }
    /* Every row names its next state, but the server hello's: the version it
     * chooses names it (its own row for the same message). */
    if (p->id == NK_PROTO_HELLO)
        EXPECT_EQ(r->next, ST_NONE);
    else
        EXPECT_NE(r->next, ST_NONE);
    for (size_t j = 0; j < p->n_steps; j++) {
        const struct nk_step *o = &p->steps[j];
        if (o != r)
            EXPECT_FALSE(o->state == r->state && o->content_type == r->content_type && o->msg == r->msg);
    }
}

TEST(rows_are_well_formed)
{
    for (unsigned id = 0; id < NK_PROTO_COUNT; id++) {
        const struct nk_protocol *p = nk_hs_protocol(id);
        for (size_t i = 0; i < p->n_steps; i++)
            check_row(p, &p->steps[i]);
    }
}

/* Does state have any row in p? */
static int has_rows(const struct nk_protocol *p, int state)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i].state == state)
            return 1;
    return 0;
}

TEST(every_state_reached_has_rows)
{
    for (unsigned id = NK_PROTO_NONE + 1; id < NK_PROTO_COUNT; id++) {
        const struct nk_protocol *p = nk_hs_protocol(id);
        EXPECT_TRUE(has_rows(p, p->first));
        for (size_t i = 0; i < p->n_steps; i++) {
            const struct nk_step *r = &p->steps[i];
            uint8_t to[3] = { r->next, r->alt, r->alt2 };
            for (int k = 0; k < 3; k++)
                if (to[k] != ST_NONE && to[k] != ST_CONNECTED)
                    EXPECT_TRUE(has_rows(p, to[k]));
        }
    }
}

TEST(chosen_version_names_the_hello_next_state)
{
    /* The server hello's one row, and the TLS 1.3 server's row for the same
     * message, which takes over once TLS 1.3 is chosen. */
    const struct nk_protocol *hello = nk_hs_protocol(NK_PROTO_HELLO);
    const struct nk_protocol *s13 = nk_hs_protocol(NK_PROTO_TLS13_SERVER);
    struct conn k;
    ASSERT_EQ(hello->n_steps, 1u);
    EXPECT_EQ(hello->first, ST_S_WAIT_CH);
    EXPECT_NULL(hello->client_hello);
    EXPECT_NOT_NULL(s13->client_hello);
    conn_init(&k, NK_PROTO_TLS13_SERVER, ST_S_WAIT_CH);
    const struct nk_step *r = nk_hs_row(&k.c, NK_CT_HANDSHAKE, NK_HS_CLIENT_HELLO);
    ASSERT_NOT_NULL(r);
    EXPECT_TRUE(r->fn == nk_hello_on_client_hello);
    EXPECT_EQ(r->next, ST_S_WAIT_FIN);
    EXPECT_EQ(r->alt, ST_S_WAIT_CERT);    /* we sent a CertificateRequest */
    EXPECT_EQ(r->alt2, ST_S_WAIT_CH2);    /* we sent a HelloRetryRequest */
}

/* ---- lookups ---- */

TEST(lookup_by_state_type_and_message)
{
    struct conn k;
    const struct nk_step *r;
    conn_init(&k, NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE);
    EXPECT_EQ(nk_hs_state(&k.c), ST_C_WAIT_EE);
    r = nk_hs_row(&k.c, NK_CT_HANDSHAKE, NK_HS_ENCRYPTED_EXTENSIONS);
    ASSERT_NOT_NULL(r);
    EXPECT_EQ(r->next, ST_C_WAIT_CERT_CR);
    EXPECT_EQ(r->alt, ST_C_WAIT_FIN);      /* resumed */
    EXPECT_NOT_NULL(nk_hs_row(&k.c, NK_CT_CHANGE_CIPHER_SPEC, 0));
    /* Another state's message, another side's, a post-handshake one. */
    EXPECT_NULL(nk_hs_row(&k.c, NK_CT_HANDSHAKE, NK_HS_SERVER_HELLO));
    EXPECT_NULL(nk_hs_row(&k.c, NK_CT_HANDSHAKE, NK_HS_CLIENT_HELLO));
    EXPECT_NULL(nk_hs_row(&k.c, NK_CT_HANDSHAKE, NK_HS_NEW_SESSION_TICKET));
    /* The right message number under another content type. */
    EXPECT_NULL(nk_hs_row(&k.c, NK_CT_ALERT, NK_HS_ENCRYPTED_EXTENSIONS));
    EXPECT_NULL(nk_hs_row(&k.c, NK_CT_APPLICATION_DATA, NK_HS_ENCRYPTED_EXTENSIONS));
    EXPECT_NULL(nk_hs_row(&k.c, NK_CT_CHANGE_CIPHER_SPEC, NK_HS_ENCRYPTED_EXTENSIONS));
    /* The same message in another protocol. */
    k.c.proto = NK_PROTO_TLS13_SERVER;
    EXPECT_NULL(nk_hs_row(&k.c, NK_CT_HANDSHAKE, NK_HS_ENCRYPTED_EXTENSIONS));
    k.c.proto = NK_PROTO_NONE;
    EXPECT_NULL(nk_hs_row(&k.c, NK_CT_HANDSHAKE, NK_HS_ENCRYPTED_EXTENSIONS));
}

TEST(no_row_is_unexpected_message_and_moves_nothing)
{
    static const uint8_t fin[4 + 32] = { NK_HS_FINISHED, 0, 0, 32 };
    struct conn k;
    struct nk_rd body;
    conn_init(&k, NK_PROTO_TLS13_CLIENT, ST_C_WAIT_CV);
    nk_rd_init(&body, fin + 4, 32);
    EXPECT_EQ(nk_hs_step(&k.c, NK_CT_HANDSHAKE, NK_HS_FINISHED, &body, fin, sizeof fin),
              ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(k.hs.state, ST_C_WAIT_CV);
    nk_rd_init(&body, fin + 4, 32);
    EXPECT_EQ(nk_hs_step(&k.c, NK_CT_ALERT, NK_HS_CERTIFICATE_VERIFY, &body, fin, sizeof fin),
              ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(k.hs.state, ST_C_WAIT_CV);
    conn_init(&k, NK_PROTO_TLS13_SERVER, ST_S_WAIT_CERT);
    nk_rd_init(&body, fin + 4, 32);
    EXPECT_EQ(nk_hs_step(&k.c, NK_CT_HANDSHAKE, NK_HS_FINISHED, &body, fin, sizeof fin),
              ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(k.hs.state, ST_S_WAIT_CERT);
}

/* ---- change_cipher_spec (§5) ---- */

static MSTATUS ccs(uint8_t proto, int state, const uint8_t *d, size_t n)
{
    struct conn k;
    conn_init(&k, proto, state);
    MSTATUS st = nk_hs_ccs(&k.c, d, n);
    if (state != ST_CONNECTED && k.hs.state != state)
        return ERR_SSL_INTERNAL;   /* a change_cipher_spec must change no state */
    return st;
}

TEST(ccs_where_section_5_allows_it)
{
    static const uint8_t one[] = { 1 };
    static const int client[] = { ST_C_WAIT_SH, ST_C_WAIT_EE, ST_C_WAIT_CERT_CR,
                                  ST_C_WAIT_CERT, ST_C_WAIT_CV, ST_C_WAIT_FIN };
    static const int server[] = { ST_S_WAIT_CH2, ST_S_WAIT_CERT, ST_S_WAIT_CV, ST_S_WAIT_FIN };
    /* From our ClientHello (or the peer's) until the peer's Finished. */
    for (size_t i = 0; i < NK_ARRAY_LEN(client); i++)
        EXPECT_EQ(ccs(NK_PROTO_TLS13_CLIENT, client[i], one, 1), OK);
    for (size_t i = 0; i < NK_ARRAY_LEN(server); i++)
        EXPECT_EQ(ccs(NK_PROTO_TLS13_SERVER, server[i], one, 1), OK);
    /* Not before the first ClientHello, nor after the handshake. */
    EXPECT_EQ(ccs(NK_PROTO_HELLO, ST_S_WAIT_CH, one, 1), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(ccs(NK_PROTO_TLS13_CLIENT, ST_CONNECTED, one, 1), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(ccs(NK_PROTO_TLS13_SERVER, ST_CONNECTED, one, 1), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(ccs(NK_PROTO_NONE, ST_C_WAIT_SH, one, 1), ERR_SSL_UNEXPECTED_MESSAGE);
}

TEST(ccs_is_one_byte_of_value_1)
{
    static const uint8_t two[] = { 2 }, zero[] = { 0 }, ones[] = { 1, 1 };
    EXPECT_EQ(ccs(NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE, two, 1), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(ccs(NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE, zero, 1), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(ccs(NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE, ones, 2), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(ccs(NK_PROTO_TLS13_SERVER, ST_S_WAIT_FIN, ones, 0), ERR_SSL_UNEXPECTED_MESSAGE);
}

/* ---- headers, and the post-handshake rows ---- */

static MSTATUS header(uint8_t proto, int state, uint8_t type, uint32_t len)
{
    struct conn k;
    conn_init(&k, proto, state);
    return nk_hs_check_header(&k.c, type, len);
}

TEST(post_handshake_rows)
{
    /* A client takes NewSessionTicket, KeyUpdate and CertificateRequest (its
     * handler refuses it unless we offered post_handshake_auth: test_pha); a
     * server KeyUpdate only, and during its post-handshake authentication the
     * answer's messages only. */
    EXPECT_EQ(header(NK_PROTO_TLS13_CLIENT, ST_CONNECTED, NK_HS_NEW_SESSION_TICKET, 100), OK);
    EXPECT_EQ(header(NK_PROTO_TLS13_CLIENT, ST_CONNECTED, NK_HS_KEY_UPDATE, 1), OK);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_CONNECTED, NK_HS_KEY_UPDATE, 1), OK);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_CONNECTED, NK_HS_NEW_SESSION_TICKET, 100),
              ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(header(NK_PROTO_TLS13_CLIENT, ST_CONNECTED, NK_HS_CERTIFICATE_REQUEST, 10), OK);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_CONNECTED, NK_HS_CERTIFICATE, 100), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_S_PHA_WAIT_CERT, NK_HS_CERTIFICATE, 100), OK);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_S_PHA_WAIT_CERT, NK_HS_KEY_UPDATE, 1), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_S_PHA_WAIT_CERT, NK_HS_FINISHED, 32), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_S_PHA_WAIT_CV, NK_HS_CERTIFICATE_VERIFY, 100), OK);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_S_PHA_WAIT_FIN, NK_HS_FINISHED, 32), OK);
    EXPECT_EQ(header(NK_PROTO_TLS13_CLIENT, ST_CONNECTED, NK_HS_FINISHED, 32), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_CONNECTED, NK_HS_CLIENT_HELLO, 100),
              ERR_SSL_UNEXPECTED_MESSAGE);
}

TEST(header_type_then_length)
{
    /* The type is refused first, whatever the length; then the type's limit. */
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_CONNECTED, NK_HS_NEW_SESSION_TICKET, 0xffffff),
              ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(header(NK_PROTO_TLS13_SERVER, ST_CONNECTED, NK_HS_KEY_UPDATE, 2), ERR_SSL_MESSAGE_TOO_LONG);
    EXPECT_EQ(header(NK_PROTO_TLS13_CLIENT, ST_C_WAIT_FIN, NK_HS_FINISHED, NK_MAX_HASH), OK);
    EXPECT_EQ(header(NK_PROTO_TLS13_CLIENT, ST_C_WAIT_FIN, NK_HS_FINISHED, NK_MAX_HASH + 1),
              ERR_SSL_MESSAGE_TOO_LONG);
    EXPECT_EQ(header(NK_PROTO_HELLO, ST_S_WAIT_CH, NK_HS_CLIENT_HELLO, 16384), OK);
    EXPECT_EQ(header(NK_PROTO_HELLO, ST_S_WAIT_CH, NK_HS_CLIENT_HELLO, 16385), ERR_SSL_MESSAGE_TOO_LONG);
    EXPECT_EQ(header(NK_PROTO_HELLO, ST_S_WAIT_CH, NK_HS_SERVER_HELLO, 10), ERR_SSL_UNEXPECTED_MESSAGE);
}

/* ---- handshake input ---- */

TEST(empty_handshake_record_is_unexpected)
{
    struct conn k;
    conn_init(&k, NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE);
    EXPECT_EQ(nk_hs_input(&k.c, (const uint8_t *)"", 0), ERR_SSL_UNEXPECTED_MESSAGE);   /* §5.1 */
}

TEST(unexpected_header_refused_before_holding_the_body)
{
    static const uint8_t sh[4] = { NK_HS_SERVER_HELLO, 0, 0x40, 0 };
    struct conn k;
    conn_init(&k, NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE);
    /* The header in two records: held in the smallest buffer meanwhile, and
     * never grown for the 16 KiB body it announces. */
    EXPECT_EQ(nk_hs_input(&k.c, sh, 2), OK);
    EXPECT_EQ(k.c.hs_in.len, 2u);
    EXPECT_EQ(nk_hs_input(&k.c, sh + 2, 2), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_LE(k.c.hs_in.cap, 256u);
    conn_free(&k);
    /* Whole in its record: refused where it lies, nothing held. */
    conn_init(&k, NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE);
    EXPECT_EQ(nk_hs_input(&k.c, sh, sizeof sh), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(k.c.hs_in.cap, 0u);
    EXPECT_EQ(k.hs.state, ST_C_WAIT_EE);
}

TEST(finished_must_end_its_record)
{
    /* §5.1: bytes after a Finished in its record: refused before the
     * handler runs (it would need keys this bare connection lacks). */
    uint8_t rec[4 + 32 + 1] = { NK_HS_FINISHED, 0, 0, 32 };
    struct conn k;
    conn_init(&k, NK_PROTO_TLS13_CLIENT, ST_C_WAIT_FIN);
    EXPECT_EQ(nk_hs_input(&k.c, rec, sizeof rec), ERR_SSL_UNEXPECTED_MESSAGE);
    EXPECT_EQ(k.hs.state, ST_C_WAIT_FIN);
}

/* An empty EncryptedExtensions: its handler only adds it to the transcript
 * and answers whether the handshake was resumed. */
static const uint8_t empty_ee[6] = { NK_HS_ENCRYPTED_EXTENSIONS, 0, 0, 2, 0, 0 };

TEST(step_moves_to_the_row_next_state)
{
    struct conn k;
    conn_init(&k, NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE);
    EXPECT_EQ(nk_hs_input(&k.c, empty_ee, sizeof empty_ee), OK);
    EXPECT_EQ(k.hs.state, ST_C_WAIT_CERT_CR);
    conn_free(&k);
}

TEST(step_moves_to_the_row_alt_state)
{
    struct conn k;
    conn_init(&k, NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE);
    k.hs.psk_ok = 1;   /* resumed: the PSK authenticates the server */
    EXPECT_EQ(nk_hs_input(&k.c, empty_ee, sizeof empty_ee), OK);
    EXPECT_EQ(k.hs.state, ST_C_WAIT_FIN);
    conn_free(&k);
}

TEST(reassembly_across_records_is_budgeted)
{
    struct conn k;
    uint64_t base = nk_hs_memory_held();
    conn_init(&k, NK_PROTO_TLS13_CLIENT, ST_C_WAIT_EE);
    /* One byte at a time; what the buffer holds counts in the budget. */
    for (size_t i = 0; i + 1 < sizeof empty_ee; i++) {
        ASSERT_EQ(nk_hs_input(&k.c, empty_ee + i, 1), OK);
        EXPECT_EQ(k.hs.state, ST_C_WAIT_EE);
    }
    EXPECT_EQ(k.c.hs_in.len, sizeof empty_ee - 1);
    EXPECT_GE(k.c.hs_in.cap, sizeof empty_ee);
    EXPECT_EQ(nk_hs_memory_held() - base, k.c.hs_in.cap);
    ASSERT_EQ(nk_hs_input(&k.c, empty_ee + sizeof empty_ee - 1, 1), OK);
    EXPECT_EQ(k.hs.state, ST_C_WAIT_CERT_CR);
    EXPECT_EQ(k.c.hs_in.cap, 0u);
    EXPECT_EQ(nk_hs_memory_held(), base);
    conn_free(&k);
}

TEST_HARNESS_MAIN
