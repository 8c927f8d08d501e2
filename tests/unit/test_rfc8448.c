/* test_rfc8448.c — the key schedule, record protection and key exchange
 * against RFC 8448 §3 ("Simple 1-RTT Handshake") byte for byte, and §5's
 * HelloRetryRequest transcript and P-256 exchange. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "core/kex.h"
#include "record/record.h"
#include "handshake/hs.h"
#include "unit/rfc8448_vectors.h"
#include "unit/crypto_util.h"

/* ---- RFC 8448 §3: key schedule ---- */

TEST(rfc8448_early_secret)
{
    static const uint8_t zero[32];
    uint8_t out[32];
    struct nk_hs hs = { .hash = NK_SHA256 };

    ASSERT_EQ(nk_hkdf_extract(NK_SHA256, zero, 32, zero, 32, out), OK);
    EXPECT_MEM_EQ(out, early_secret, 32);
    /* A NULL IKM means Hash.length zeros. */
    ASSERT_EQ(nk_hkdf_extract(NK_SHA256, zero, 32, NULL, 0, out), OK);
    EXPECT_MEM_EQ(out, early_secret, 32);
    ASSERT_EQ(nk_ks_early(&hs, NULL, 0), OK);
    EXPECT_MEM_EQ(hs.secret, early_secret, 32);
}

TEST(rfc8448_derived_secrets)
{
    uint8_t out[32], empty[32];

    /* Derive-Secret(early, "derived", "") — NULL and an explicit Hash("") agree. */
    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, early_secret, "derived", NULL, out), OK);
    EXPECT_MEM_EQ(out, derived_hs, 32);
    ASSERT_EQ(nk_digest(NK_SHA256, "", 0, empty), OK);
    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, early_secret, "derived", empty, out), OK);
    EXPECT_MEM_EQ(out, derived_hs, 32);

    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, hs_secret, "derived", NULL, out), OK);
    EXPECT_MEM_EQ(out, derived_master, 32);
}

TEST(rfc8448_x25519_shared_secret)
{
    EVP_PKEY *c = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, c_x25519_priv, 32);
    EVP_PKEY *s = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, s_x25519_priv, 32);
    uint8_t pub[32], out[NK_MAX_KEX_SECRET];
    size_t n = sizeof pub;

    ASSERT_NOT_NULL(c);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(EVP_PKEY_get_raw_public_key(c, pub, &n), 1);
    EXPECT_MEM_EQ(pub, c_x25519_pub, 32);
    n = sizeof pub;
    ASSERT_EQ(EVP_PKEY_get_raw_public_key(s, pub, &n), 1);
    EXPECT_MEM_EQ(pub, s_x25519_pub, 32);

    n = 0;
    ASSERT_EQ(nk_kex_derive(NK_GROUP_X25519, c, s_x25519_pub, 32, out, &n), OK);
    EXPECT_EQ(n, 32u);
    EXPECT_MEM_EQ(out, dhe_secret, 32);
    n = 0;
    ASSERT_EQ(nk_kex_derive(NK_GROUP_X25519, s, c_x25519_pub, 32, out, &n), OK);
    EXPECT_EQ(n, 32u);
    EXPECT_MEM_EQ(out, dhe_secret, 32);
    EVP_PKEY_free(c);
    EVP_PKEY_free(s);
}

TEST(rfc8448_handshake_secret)
{
    uint8_t out[32];
    ASSERT_EQ(nk_hkdf_extract(NK_SHA256, derived_hs, 32, dhe_secret, 32, out), OK);
    EXPECT_MEM_EQ(out, hs_secret, 32);
    ASSERT_EQ(nk_hkdf_extract(NK_SHA256, derived_master, 32, NULL, 0, out), OK);
    EXPECT_MEM_EQ(out, master_secret, 32);
}

TEST(rfc8448_transcript_ch_sh)
{
    struct nk_transcript t = { 0 };
    uint8_t th[32];

    /* ClientHello arrives before the suite (and so the hash) is known. */
    ASSERT_EQ(nk_transcript_add(&t, client_hello, sizeof client_hello), OK);
    ASSERT_EQ(nk_transcript_set_hash(&t, NK_SHA256), OK);
    ASSERT_EQ(nk_transcript_add(&t, server_hello, sizeof server_hello), OK);
    ASSERT_EQ(nk_transcript_hash(&t, th), OK);
    EXPECT_MEM_EQ(th, th_ch_sh, 32);
    /* Taking the hash does not disturb the running state. */
    ASSERT_EQ(nk_transcript_hash(&t, th), OK);
    EXPECT_MEM_EQ(th, th_ch_sh, 32);
    /* The hash cannot change once chosen. */
    EXPECT_EQ(nk_transcript_set_hash(&t, NK_SHA384), ERR_SSL_INTERNAL);
    EXPECT_EQ(nk_transcript_set_hash(&t, NK_SHA256), OK);
    nk_transcript_free(&t);

    /* Hash known from the start: same result. */
    ASSERT_EQ(nk_transcript_set_hash(&t, NK_SHA256), OK);
    ASSERT_EQ(nk_transcript_add(&t, client_hello, sizeof client_hello), OK);
    ASSERT_EQ(nk_transcript_add(&t, server_hello, sizeof server_hello), OK);
    ASSERT_EQ(nk_transcript_hash(&t, th), OK);
    EXPECT_MEM_EQ(th, th_ch_sh, 32);
    nk_transcript_free(&t);

    /* No hash yet: nothing to report. */
    ASSERT_EQ(nk_transcript_add(&t, client_hello, sizeof client_hello), OK);
    EXPECT_EQ(nk_transcript_hash(&t, th), ERR_SSL_INTERNAL);
    nk_transcript_free(&t);
}

TEST(rfc8448_hs_traffic_secrets)
{
    uint8_t out[32];

    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, hs_secret, "c hs traffic", th_ch_sh, out), OK);
    EXPECT_MEM_EQ(out, c_hs_traffic, 32);
    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, hs_secret, "s hs traffic", th_ch_sh, out), OK);
    EXPECT_MEM_EQ(out, s_hs_traffic, 32);
    /* The RFC also prints the HkdfLabel it expanded: plain HKDF-Expand over it. */
    ASSERT_EQ(nk_hkdf_expand(NK_SHA256, hs_secret, c_hs_info, sizeof c_hs_info, out, 32), OK);
    EXPECT_MEM_EQ(out, c_hs_traffic, 32);
}

TEST(rfc8448_key_schedule_via_conn)
{
    struct nk_conn *c = ks_conn();
    uint8_t th[32], vd[32];

    ASSERT_NOT_NULL(c);
    struct nk_hs *hs = c->hs;
    ASSERT_EQ(nk_transcript_add(&hs->tr, client_hello, sizeof client_hello), OK);
    ASSERT_EQ(nk_transcript_set_hash(&hs->tr, NK_SHA256), OK);
    ASSERT_EQ(nk_transcript_add(&hs->tr, server_hello, sizeof server_hello), OK);

    ASSERT_EQ(nk_ks_early(hs, NULL, 0), OK);
    EXPECT_MEM_EQ(hs->secret, early_secret, 32);
    ASSERT_EQ(nk_ks_handshake(&c->tls, dhe_secret, sizeof dhe_secret), OK);
    EXPECT_MEM_EQ(hs->secret, hs_secret, 32);
    EXPECT_MEM_EQ(hs->c_hs, c_hs_traffic, 32);
    EXPECT_MEM_EQ(hs->s_hs, s_hs_traffic, 32);

    /* Server Finished covers ClientHello..CertificateVerify. */
    ASSERT_EQ(nk_transcript_add(&hs->tr, enc_exts, sizeof enc_exts), OK);
    ASSERT_EQ(nk_transcript_add(&hs->tr, certificate, sizeof certificate), OK);
    ASSERT_EQ(nk_transcript_add(&hs->tr, cert_verify, sizeof cert_verify), OK);
    ASSERT_EQ(nk_transcript_hash(&hs->tr, th), OK);
    ASSERT_EQ(nk_ks_finished(NK_SHA256, hs->s_hs, th, vd), OK);
    EXPECT_MEM_EQ(vd, s_verify_data, 32);
    EXPECT_MEM_EQ(vd, s_finished + 4, 32);

    /* Application secrets cover ClientHello..server Finished. */
    ASSERT_EQ(nk_transcript_add(&hs->tr, s_finished, sizeof s_finished), OK);
    ASSERT_EQ(nk_transcript_hash(&hs->tr, th), OK);
    EXPECT_MEM_EQ(th, th_ch_sfin, 32);
    ASSERT_EQ(nk_ks_finished(NK_SHA256, hs->c_hs, th, vd), OK);
    EXPECT_MEM_EQ(vd, c_verify_data, 32);
    EXPECT_MEM_EQ(vd, c_finished + 4, 32);
    ASSERT_EQ(nk_ks_application(&c->tls), OK);
    EXPECT_MEM_EQ(hs->secret, master_secret, 32);
    EXPECT_MEM_EQ(c->c_ap, c_ap_traffic, 32);
    EXPECT_MEM_EQ(c->s_ap, s_ap_traffic, 32);
    EXPECT_MEM_EQ(c->exporter, exp_master, 32);

    /* Resumption covers ClientHello..client Finished. */
    ASSERT_EQ(nk_transcript_add(&hs->tr, c_finished, sizeof c_finished), OK);
    ASSERT_EQ(nk_transcript_hash(&hs->tr, th), OK);
    EXPECT_MEM_EQ(th, th_ch_cfin, 32);
    ASSERT_EQ(nk_ks_resumption(&c->tls), OK);
    EXPECT_MEM_EQ(c->resumption, res_master, 32);
    ks_conn_free(c);
}

TEST(rfc8448_ap_secrets_direct)
{
    uint8_t out[32];
    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, master_secret, "c ap traffic", th_ch_sfin, out), OK);
    EXPECT_MEM_EQ(out, c_ap_traffic, 32);
    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, master_secret, "s ap traffic", th_ch_sfin, out), OK);
    EXPECT_MEM_EQ(out, s_ap_traffic, 32);
    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, master_secret, "exp master", th_ch_sfin, out), OK);
    EXPECT_MEM_EQ(out, exp_master, 32);
    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, master_secret, "res master", th_ch_cfin, out), OK);
    EXPECT_MEM_EQ(out, res_master, 32);
}

TEST(rfc8448_finished_key)
{
    uint8_t key[32];
    ASSERT_EQ(nk_hkdf_expand_label(NK_SHA256, s_hs_traffic, "finished", NULL, 0, key, 32), OK);
    EXPECT_MEM_EQ(key, s_finished_key, 32);
}

TEST(rfc8448_ticket_psk)
{
    /* PSK = HKDF-Expand-Label(res_master, "resumption", ticket_nonce = 00 00, 32). */
    static const uint8_t nonce[2] = { 0, 0 };
    uint8_t psk[32];
    ASSERT_EQ(nk_hkdf_expand_label(NK_SHA256, res_master, "resumption", nonce, 2, psk, 32), OK);
    EXPECT_MEM_EQ(psk, ticket_psk, 32);
}

TEST(rfc8448_traffic_keys)
{
    static const struct {
        const uint8_t *secret, *key, *iv;
    } v[] = {
        { s_hs_traffic, s_hs_key, s_hs_iv },
        { c_hs_traffic, c_hs_key, c_hs_iv },
        { s_ap_traffic, s_ap_key, s_ap_iv },
        { c_ap_traffic, c_ap_key, c_ap_iv },
    };
    const struct nk_suite *s = nk_suite_by_id(0x1301);

    ASSERT_NOT_NULL(s);
    for (size_t i = 0; i < NK_ARRAY_LEN(v); i++) {
        struct nk_rec_key k = { 0 };
        ASSERT_EQ(nk_rec_install(&k, s, v[i].secret, i % 2), OK);
        EXPECT_MEM_EQ(k.key, v[i].key, 16) TH_LOG("secret %zu", i);
        EXPECT_MEM_EQ(k.iv, v[i].iv, 12) TH_LOG("secret %zu", i);
        EXPECT_EQ(k.seq, 0u);
        EXPECT_TRUE(k.suite == s);
        nk_rec_clear(&k);
    }
}

/* ---- RFC 8448 §3: record protection ---- */

TEST(rfc8448_server_flight_seal)
{
    const struct nk_suite *s = nk_suite_by_id(0x1301);
    struct nk_rec_key k = { 0 };
    struct nk_buf out = { 0 };
    uint8_t flight[657];

    ASSERT_EQ(server_flight(flight), sizeof flight);
    ASSERT_EQ(nk_rec_install(&k, s, s_hs_traffic, 1), OK);
    ASSERT_EQ(nk_rec_seal(&k, NK_CT_HANDSHAKE, flight, sizeof flight, 0, &out), OK);
    ASSERT_EQ(out.len, sizeof s_flight_rec);
    EXPECT_MEM_EQ(out.p, s_flight_rec, sizeof s_flight_rec);
    EXPECT_EQ(k.seq, 1u);
    nk_buf_free(&out);
    nk_rec_clear(&k);
}

TEST(rfc8448_server_flight_open)
{
    const struct nk_suite *s = nk_suite_by_id(0x1301);
    struct nk_rec_key k = { 0 };
    uint8_t flight[657], plain[sizeof s_flight_rec], type = 0;
    size_t n = 0;

    server_flight(flight);
    ASSERT_EQ(nk_rec_install(&k, s, s_hs_traffic, 0), OK);
    ASSERT_EQ(open_copy(&k, s_flight_rec, sizeof s_flight_rec, &type, plain, &n), OK);
    EXPECT_EQ(type, NK_CT_HANDSHAKE);
    ASSERT_EQ(n, sizeof flight);
    EXPECT_MEM_EQ(plain, flight, sizeof flight);
    EXPECT_EQ(k.seq, 1u);
    nk_rec_clear(&k);
}

TEST(rfc8448_client_finished_record)
{
    const struct nk_suite *s = nk_suite_by_id(0x1301);
    struct nk_rec_key w = { 0 }, r = { 0 };
    struct nk_buf out = { 0 };
    uint8_t plain[64], type = 0;
    size_t n = 0;

    ASSERT_EQ(nk_rec_install(&w, s, c_hs_traffic, 1), OK);
    ASSERT_EQ(nk_rec_seal(&w, NK_CT_HANDSHAKE, c_finished, sizeof c_finished, 0, &out), OK);
    ASSERT_EQ(out.len, sizeof c_finished_rec);
    EXPECT_MEM_EQ(out.p, c_finished_rec, sizeof c_finished_rec);

    ASSERT_EQ(nk_rec_install(&r, s, c_hs_traffic, 0), OK);
    ASSERT_EQ(open_copy(&r, c_finished_rec, sizeof c_finished_rec, &type, plain, &n), OK);
    EXPECT_EQ(type, NK_CT_HANDSHAKE);
    ASSERT_EQ(n, sizeof c_finished);
    EXPECT_MEM_EQ(plain, c_finished, sizeof c_finished);
    nk_buf_free(&out);
    nk_rec_clear(&w);
    nk_rec_clear(&r);
}

/* One direction's application records, in order: sealing each payload under the
 * sender's key must give the RFC's bytes, and opening them must give it back. */
struct ap_rec {
    uint8_t type;
    const uint8_t *plain;
    size_t plain_len;
    const uint8_t *rec;
    size_t rec_len;
};

static void check_ap_records(struct __test_metadata *_metadata, const uint8_t *secret,
                             const struct ap_rec *v, size_t n)
{
    const struct nk_suite *s = nk_suite_by_id(0x1301);
    struct nk_rec_key w = { 0 }, r = { 0 };
    struct nk_buf out = { 0 };
    uint8_t plain[256], type;
    size_t len;

    ASSERT_EQ(nk_rec_install(&w, s, secret, 1), OK);
    ASSERT_EQ(nk_rec_install(&r, s, secret, 0), OK);
    for (size_t i = 0; i < n; i++) {
        out.len = 0;
        ASSERT_EQ(nk_rec_seal(&w, v[i].type, v[i].plain, v[i].plain_len, 0, &out), OK);
        ASSERT_EQ(out.len, v[i].rec_len) TH_LOG("record %zu", i);
        EXPECT_MEM_EQ(out.p, v[i].rec, v[i].rec_len) TH_LOG("record %zu", i);
        ASSERT_EQ(open_copy(&r, v[i].rec, v[i].rec_len, &type, plain, &len), OK)
            TH_LOG("record %zu", i);
        EXPECT_EQ(type, v[i].type);
        ASSERT_EQ(len, v[i].plain_len);
        EXPECT_MEM_EQ(plain, v[i].plain, len);
        EXPECT_EQ(w.seq, i + 1);
        EXPECT_EQ(r.seq, i + 1);
    }
    nk_buf_free(&out);
    nk_rec_clear(&w);
    nk_rec_clear(&r);
}

TEST(rfc8448_server_application_records)
{
    /* Under the server's application key: NewSessionTicket (seq 0), the
     * application data (seq 1), close_notify (seq 2). */
    static const uint8_t alert[2] = { 1, 0 };
    uint8_t data[50];
    app_payload(data);
    const struct ap_rec v[] = {
        { NK_CT_HANDSHAKE, new_session_ticket, sizeof new_session_ticket, nst_rec, sizeof nst_rec },
        { NK_CT_APPLICATION_DATA, data, sizeof data, s_app_rec, sizeof s_app_rec },
        { NK_CT_ALERT, alert, 2, s_alert_rec, sizeof s_alert_rec },
    };
    check_ap_records(_metadata, s_ap_traffic, v, NK_ARRAY_LEN(v));
}

TEST(rfc8448_client_application_records)
{
    /* Under the client's application key: the data (seq 0), close_notify (seq 1). */
    static const uint8_t alert[2] = { 1, 0 };
    uint8_t data[50];
    app_payload(data);
    const struct ap_rec v[] = {
        { NK_CT_APPLICATION_DATA, data, sizeof data, c_app_rec, sizeof c_app_rec },
        { NK_CT_ALERT, alert, 2, c_alert_rec, sizeof c_alert_rec },
    };
    check_ap_records(_metadata, c_ap_traffic, v, NK_ARRAY_LEN(v));
}

TEST(rfc8448_record_wrong_sequence)
{
    /* The server's data record was sealed at sequence 1: at 0 it must not open,
     * and the failure must not advance the sequence number. */
    const struct nk_suite *s = nk_suite_by_id(0x1301);
    struct nk_rec_key r = { 0 };
    uint8_t plain[256], type;
    size_t len;

    ASSERT_EQ(nk_rec_install(&r, s, s_ap_traffic, 0), OK);
    EXPECT_EQ(open_copy(&r, s_app_rec, sizeof s_app_rec, &type, plain, &len), ERR_SSL_BAD_RECORD_MAC);
    EXPECT_EQ(r.seq, 0u);
    ASSERT_EQ(open_copy(&r, nst_rec, sizeof nst_rec, &type, plain, &len), OK);
    ASSERT_EQ(open_copy(&r, s_app_rec, sizeof s_app_rec, &type, plain, &len), OK);
    EXPECT_EQ(type, NK_CT_APPLICATION_DATA);
    /* Wrong key: the client's record under the server's key. */
    EXPECT_EQ(open_copy(&r, c_alert_rec, sizeof c_alert_rec, &type, plain, &len), ERR_SSL_BAD_RECORD_MAC);
    nk_rec_clear(&r);
}

/* ---- RFC 8448 §5: HelloRetryRequest ---- */

TEST(rfc8448_hrr_transcript)
{
    /* ClientHello1 is replaced by message_hash(Hash(ClientHello1)) once the
     * HelloRetryRequest fixes the hash (RFC 8446 §4.4.1). */
    struct nk_transcript t = { 0 };
    uint8_t th[32], out[32];

    ASSERT_EQ(nk_transcript_add(&t, hrr_ch1, sizeof hrr_ch1), OK);
    ASSERT_EQ(nk_transcript_set_hash(&t, NK_SHA256), OK);
    ASSERT_EQ(nk_transcript_hrr_reset(&t), OK);
    ASSERT_EQ(nk_transcript_add(&t, hrr_retry, sizeof hrr_retry), OK);
    ASSERT_EQ(nk_transcript_add(&t, hrr_ch2, sizeof hrr_ch2), OK);
    ASSERT_EQ(nk_transcript_add(&t, hrr_sh, sizeof hrr_sh), OK);
    ASSERT_EQ(nk_transcript_hash(&t, th), OK);
    EXPECT_MEM_EQ(th, hrr_th_ch_sh, 32);
    nk_transcript_free(&t);

    ASSERT_EQ(nk_ks_derive_secret(NK_SHA256, hrr_hs_secret, "c hs traffic", hrr_th_ch_sh, out), OK);
    EXPECT_MEM_EQ(out, hrr_c_hs_traffic, 32);
}

/* A P-256 key pair from the RFC's private scalar and public point. */
static EVP_PKEY *p256_key(const uint8_t priv[32], const uint8_t pub[65])
{
    EVP_PKEY *key = NULL;
    BIGNUM *d = BN_bin2bn(priv, 32, NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

    if (d && b && ctx && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0)
        && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d)
        && OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, 65)
        && (params = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(ctx) == 1)
        (void)EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_clear_free(d);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

TEST(rfc8448_p256_shared_secret)
{
    EVP_PKEY *c = p256_key(hrr_c_p256_priv, hrr_c_p256_pub);
    EVP_PKEY *s = p256_key(hrr_s_p256_priv, hrr_s_p256_pub);
    uint8_t out[NK_MAX_KEX_SECRET];
    size_t n = 0;

    ASSERT_NOT_NULL(c);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(nk_kex_derive(NK_GROUP_SECP256R1, c, hrr_s_p256_pub, 65, out, &n), OK);
    EXPECT_EQ(n, 32u);
    EXPECT_MEM_EQ(out, hrr_dhe, 32);
    n = 0;
    ASSERT_EQ(nk_kex_derive(NK_GROUP_SECP256R1, s, hrr_c_p256_pub, 65, out, &n), OK);
    EXPECT_EQ(n, 32u);
    EXPECT_MEM_EQ(out, hrr_dhe, 32);
    EVP_PKEY_free(c);
    EVP_PKEY_free(s);
}

TEST_HARNESS_MAIN
