/* ktls/ktls.c — decide and install kernel TLS offload (Linux net/tls).
 * Everything that can fail is checked before the first SOL_TLS setsockopt of a
 * direction; once a direction's key is in the kernel it is never taken back. */
#include <errno.h>
#include <stddef.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ktls/ktls.h"
#include "handshake/early.h"
#include "nktls.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif
#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* Where each kernel struct keeps its fields: one row per cipher. */
#define LAYOUT(cipher, type) \
    { cipher, sizeof(struct type), offsetof(struct type, iv), sizeof(((struct type *)0)->iv), \
      offsetof(struct type, key), sizeof(((struct type *)0)->key), offsetof(struct type, salt), \
      sizeof(((struct type *)0)->salt), offsetof(struct type, rec_seq) }
static const struct layout {
    uint16_t cipher;
    size_t size, iv, iv_len, key, key_len, salt, salt_len, seq;
} layouts[] = {
    LAYOUT(TLS_CIPHER_AES_GCM_128, tls12_crypto_info_aes_gcm_128),
    LAYOUT(TLS_CIPHER_AES_GCM_256, tls12_crypto_info_aes_gcm_256),
    LAYOUT(TLS_CIPHER_AES_CCM_128, tls12_crypto_info_aes_ccm_128),
    LAYOUT(TLS_CIPHER_CHACHA20_POLY1305, tls12_crypto_info_chacha20_poly1305),
};

/* The kernel's salt || iv is the record layer's 12-byte nonce base: for TLS 1.3
 * the write IV (RFC 8446 §5.3); for TLS 1.2 AES-GCM/CCM the 4-byte implicit
 * salt followed by the next record's 8-byte explicit nonce (RFC 5288 §3),
 * which the kernel then advances per record: our explicit nonce is the
 * sequence number, so the kernel's go on from it and none repeats.
 * ChaCha20-Poly1305 has no salt and takes all 12 bytes as iv in both
 * versions (RFC 7905 §2). The key's protection says the version; a
 * connection or suite of the other one is refused (size 0), as is a cipher
 * the kernel lacks. */
size_t nk_ktls_crypto_info(union nk_ktls_crypto_info *ci, int minor, const struct nk_suite *s,
                           const struct nk_rec_key *k)
{
    unsigned char *base = (unsigned char *)ci;
    int tls12 = k->ops_id == NK_REC_OPS_TLS12_AEAD;
    memset(ci, 0, sizeof *ci);
    if (tls12 != (minor == 3) || s->minor != (tls12 ? 3 : 4) || (tls12 && k->suite != s))
        return 0;
    for (size_t i = 0; i < NK_ARRAY_LEN(layouts); i++) {
        const struct layout *l = &layouts[i];
        if (l->cipher != s->ktls_cipher)
            continue;
        uint8_t nonce[NK_AEAD_IV];
        memcpy(nonce, k->iv, NK_AEAD_IV);
        for (int b = 0; tls12 && l->salt_len && b < 8; b++)
            nonce[NK_AEAD_IV - 1 - b] ^= (uint8_t)(k->seq >> (8 * b));
        ci->info.version = tls12 ? TLS_1_2_VERSION : TLS_1_3_VERSION;
        ci->info.cipher_type = l->cipher;
        memcpy(base + l->salt, nonce, l->salt_len);
        memcpy(base + l->iv, nonce + l->salt_len, l->iv_len);
        memcpy(base + l->key, k->key, l->key_len);
        for (int b = 7; b >= 0; b--)
            base[l->seq + (size_t)b] = (unsigned char)(k->seq >> (8 * (7 - b)));
        nk_wipe(nonce, sizeof nonce);
        return l->size;
    }
    return 0;
}

static int set_key(int fd, int tx, int minor, const struct nk_suite *s, const struct nk_rec_key *k)
{
    union nk_ktls_crypto_info ci;
    size_t n = nk_ktls_crypto_info(&ci, minor, s, k);
    int rc = n ? setsockopt(fd, SOL_TLS, tx ? TLS_TX : TLS_RX, &ci, (socklen_t)n) : -1;
    int saved = n ? errno : EINVAL;
    nk_wipe(&ci, sizeof ci);
    errno = saved;
    return rc;
}

/* ---- process-wide probe ---- */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static const char *g_unavailable;
static int g_can_rekey;

static int loopback_pair(int *client, int *server)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    *client = *server = -1;
    if (l < 0)
        return -1;
    if (bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0
        && getsockname(l, (struct sockaddr *)&a, &alen) == 0
        && (*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0
        && connect(*client, (struct sockaddr *)&a, sizeof a) == 0)
        *server = accept(l, NULL, NULL);
    close(l);
    return *server >= 0 ? 0 : -1;
}

static const char *ulp_error(int err)
{
    switch (err) {
    case ENOENT: return "no tls module";
    case EOPNOTSUPP: case ENOPROTOOPT: return "not a TCP socket";
    case ENOTCONN: return "socket not connected";
    case EPERM: case EACCES: return "kernel TLS not permitted";
    default: return "kernel refused the tls ULP";
    }
}

static void probe(void)
{
    int c, s;
    if (loopback_pair(&c, &s) < 0) {
        g_unavailable = "kernel TLS probe failed (no loopback TCP)";
    } else if (setsockopt(c, SOL_TCP, TCP_ULP, "tls", sizeof "tls") < 0) {
        g_unavailable = ulp_error(errno);
    } else {
        /* Linux 6.14+ replaces a TLS 1.3 key in place; older kernels say EBUSY. */
        struct nk_rec_key k = { 0 };
        const struct nk_suite *suite = nk_suite_by_id(0x1301);
        g_can_rekey = set_key(c, 1, 4, suite, &k) == 0 && set_key(c, 1, 4, suite, &k) == 0;
    }
    if (c >= 0)
        close(c);
    if (s >= 0)
        close(s);
}

const char *nk_ktls_unavailable_reason(void)
{
    pthread_once(&g_once, probe);
    return g_unavailable;
}

int nk_ktls_can_rekey(void)
{
    pthread_once(&g_once, probe);
    return g_can_rekey;
}

int nk_ktls_rx_never(const struct nk_conn *c)
{
    return c->ktls_mode == NKTLS_KTLS_OFF || c->has_xport || nk_ktls_unavailable_reason() != NULL;
}

NK_API const char *NKTLS_ktlsUnavailableReason(void)
{
    return nk_ktls_unavailable_reason();
}

NK_API intBoolean NKTLS_kernelCanRekey(void)
{
    return nk_ktls_unavailable_reason() == NULL && nk_ktls_can_rekey();
}

/* ---- per connection ---- */

/* Why software carries a direction. A connection keeps an index into this
 * table: one byte, not a pointer (thousands of connections sit idle). */
static const char *const g_why[] = {
    NULL, "", "disabled", "no socket", "rekey policy", "data already read", "output pending",
    "no tls module", "not a TCP socket", "socket not connected", "kernel TLS not permitted",
    "kernel refused the tls ULP", "cipher not supported by the kernel", "kernel refused the key",
    "kernel TLS probe failed (no loopback TCP)", "application transport",
};

static uint8_t why_code(const char *s)
{
    for (uint8_t i = 1; i < NK_ARRAY_LEN(g_why); i++)
        if (!strcmp(g_why[i], s))
            return i;
    return 13;   /* every reason comes from this file: not reached */
}

const char *nk_ktls_why(uint8_t code)
{
    return code < NK_ARRAY_LEN(g_why) ? g_why[code] : NULL;
}

static const char *key_error(int err)
{
    return err == EINVAL || err == ENOENT || err == ENOPROTOOPT || err == EOPNOTSUPP
               ? "cipher not supported by the kernel" : "kernel refused the key";
}

static void offload_tx(struct nk_conn *c)
{
    if (set_key(c->fd, 1, c->minor, c->suite, c->wr) < 0) {
        c->tx_why = why_code(key_error(errno));
        return;
    }
    c->ktls_tx = 1;
    c->ktls_tx_rekey = nk_ktls_can_rekey() != 0;
    c->tx_why = why_code("");
    nk_rec_clear(c->wr);    /* from now on the engine queues plaintext records */
    if (c->ktls_opts & NKTLS_KTLS_ZEROCOPY_SENDFILE) {
        int one = 1;
        if (setsockopt(c->fd, SOL_TLS, TLS_TX_ZEROCOPY_RO, &one, sizeof one) < 0)
            c->ktls_opts &= ~(unsigned)NKTLS_KTLS_ZEROCOPY_SENDFILE;   /* before Linux 6.0 */
    }
}

static void offload_rx(struct nk_conn *c)
{
    if (set_key(c->fd, 0, c->minor, c->suite, c->rd) < 0) {
        c->rx_why = why_code(key_error(errno));
        return;
    }
    c->ktls_rx = 1;
    c->rx_why = why_code("");
    nk_rec_clear(c->rd);
    nk_buf_free(&c->in);
    if (c->minor == 4 && !(c->ktls_opts & NKTLS_KTLS_RX_PADDED)) {
        /* TLS 1.3 records from common peers carry no padding; the kernel can then
         * decrypt straight into our buffer, and retries a padded record itself. */
        int one = 1;
        (void)!setsockopt(c->fd, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &one, sizeof one);
    }
}

MSTATUS nk_ktls_offload(struct nk_conn *c)
{
    const char *why = NULL;
    int want_tx = 1, want_rx = 1;
    if (c->ktls_mode == NKTLS_KTLS_OFF)
        why = "disabled";
    else if (c->has_xport)   /* NKTLS_setTransport: the fd is only a name */
        why = "application transport";
    else if (c->fd < 0)
        why = "no socket";
    else if (!c->suite->ktls_cipher)   /* 8-byte CCM tags, AES-256-CCM: known before any setsockopt */
        why = "cipher not supported by the kernel";
    else if ((why = nk_ktls_unavailable_reason()) == NULL && !nk_ktls_can_rekey()) {
        if (c->rekey_policy == NKTLS_REKEY_SOFTWARE)
            want_tx = want_rx = 0;
        else if (c->rekey_policy == NKTLS_REKEY_SOFTWARE_RX)
            want_rx = 0;
    }
    c->tx_why = c->rx_why = why_code(why ? why : "rekey policy");
    if (!why && (want_tx || want_rx)) {
        /* Bytes already read past the handshake can never reach the kernel. */
        /* (0-RTT data waiting for the application is not such bytes: it was
         * read and kept during the handshake, handshake/tls13_early.c.) */
        int read_past = c->app_len && !nk_early_app_is_ours(&c->tls, c->app);
        if (want_rx && (read_past || c->in.len > c->in_start || c->hs_in.len)) {
            want_rx = 0;
            c->rx_why = why_code("data already read");
        }
        if (c->out.len > c->out_off)
            want_tx = 0, c->tx_why = why_code("output pending");
        if ((want_tx || want_rx) && setsockopt(c->fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") < 0
            && errno != EEXIST) {
            why = ulp_error(errno);
            c->tx_why = c->rx_why = why_code(why);
        }
        if (!why && want_tx)
            offload_tx(c);
        if (!why && want_rx)
            offload_rx(c);
    }
    /* The kernel carries both directions: userspace never protects a record
     * again (a KeyUpdate hands the kernel a key derived on the stack). */
    if (c->ktls_tx && c->ktls_rx)
        nk_conn_keys_free(c);
    if (c->ktls_mode == NKTLS_KTLS_REQUIRE && !(c->ktls_tx && c->ktls_rx))
        return ERR_SSL_KTLS_UNAVAILABLE;
    return OK;
}

MSTATUS nk_ktls_rekey(struct nk_conn *c, int tx)
{
    NK_CHECK(nk_ktls_can_rekey(), ERR_SSL_KTLS_NO_REKEY);
    int client = c->role == NK_CLIENT;
    const uint8_t *secret = tx == client ? c->c_ap : c->s_ap;
    struct nk_rec_key k = { 0 };
    NK_TRY(nk_rec_derive(&k, c->suite, secret));
    int rc = set_key(c->fd, tx, c->minor, c->suite, &k);
    nk_wipe(&k, sizeof k);
    return rc == 0 ? OK : ERR_SSL_KTLS_NO_REKEY;
}

MSTATUS nk_ktls_tx_rekey_now(struct nk_conn *c)
{
    NK_TRY(nk_ktls_rekey(c, 1));
    c->tx_rekey_pending = 0;
    return OK;
}

MSTATUS nk_ktls_in_record(struct nk_conn *c, uint8_t type, const uint8_t *d, size_t n)
{
    NK_TRY(nk_in_plain(c, type, d, n));
    if (c->rx_rekey_pending) {
        /* A KeyUpdate: the kernel waits for the next read key before it
         * decrypts another record. */
        c->rx_rekey_pending = 0;
        NK_TRY(nk_fail(c, nk_ktls_rekey(c, 0)));
    }
    return OK;
}
