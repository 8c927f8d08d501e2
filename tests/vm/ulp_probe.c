/*
 * ulp_probe — what the running kernel's TLS offload accepts, checked from
 * outside the kernel.
 *
 *   ulp_probe [FIRST]
 *
 * Prints TAP lines numbered from FIRST (default 1), then the plan. For each
 * TLS version (1.3, 1.2) and suite (AES-128-GCM, AES-256-GCM,
 * ChaCha20-Poly1305, AES-128-CCM) it installs a TX key and an RX key on TCP
 * loopback sockets, and checks each direction against libcrypto rather than
 * against the kernel itself: a record the kernel sends must open with
 * libcrypto, a record libcrypto seals must come out of the kernel's recv().
 * Kernel-to-kernel would pass even if both sides shared a mistake. Then the
 * options (TLS_TX_ZEROCOPY_RO with sendfile, TLS_RX_EXPECT_NO_PAD with a
 * padded record), a corrupted record (EBADMSG), and the /proc/net/tls_stat
 * counters that prove the kernel carried the records.
 *
 * Built by tests/vm/smoke.sh; runs in the VM (scripts/vm-test), or anywhere:
 * without a tls module every line after the first says why it failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define REC_TYPE_DATA 23
#define TAG_LEN 16
#define MAX_REC (5 + 8 + 16384 + 256 + TAG_LEN)

struct suite {
	const char *name;
	uint16_t cipher;
	int key_len, salt_len, iv_len; /* as in struct tls12_crypto_info_* */
	const EVP_CIPHER *(*evp)(void);
	int ccm;
};

static const struct suite suites[] = {
	{ "AES-128-GCM", TLS_CIPHER_AES_GCM_128, 16, 4, 8, EVP_aes_128_gcm, 0 },
	{ "AES-256-GCM", TLS_CIPHER_AES_GCM_256, 32, 4, 8, EVP_aes_256_gcm, 0 },
	{ "CHACHA20-POLY1305", TLS_CIPHER_CHACHA20_POLY1305, 32, 0, 12,
	  EVP_chacha20_poly1305, 0 },
	{ "AES-128-CCM", TLS_CIPHER_AES_CCM_128, 16, 4, 8, EVP_aes_128_ccm, 1 },
};

/* One direction's secrets and its next record's sequence number. */
struct keys {
	const struct suite *s;
	uint16_t version;
	uint8_t key[32], salt[4], iv[12];
	uint64_t seq;
};

static int test_no;
static int failures;

static void tap(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

static const char *vname(uint16_t version)
{
	return version == TLS_1_3_VERSION ? "TLS1.3" : "TLS1.2";
}

/* ---- sockets and counters --------------------------------------------- */

static int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct timeval tv = { .tv_sec = 5 };
	int l, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (void *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (void *)&sa, &len))
		return -1;
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (*a < 0 || connect(*a, (void *)&sa, sizeof(sa)))
		return -1;
	*b = accept(l, NULL, NULL);
	close(l);
	if (*b < 0)
		return -1;
	/* A kernel that swallows a record must fail the test, not hang it. */
	setsockopt(*a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(*b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* The value of counter NAME in /proc/net/tls_stat, or -1. */
static long tls_stat(const char *name)
{
	char key[64];
	long val, found = -1;
	FILE *f = fopen("/proc/net/tls_stat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			found = val;
	fclose(f);
	return found;
}

static int read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, buf + got, n - got, 0);

		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t n)
{
	while (n) {
		ssize_t r = send(fd, buf, n, 0);

		if (r <= 0)
			return -1;
		buf += r;
		n -= r;
	}
	return 0;
}

/* ---- keys into the kernel --------------------------------------------- */

static void make_keys(struct keys *k, const struct suite *s, uint16_t version,
		      int salt)
{
	memset(k, 0, sizeof(*k));
	k->s = s;
	k->version = version;
	for (int i = 0; i < 32; i++)
		k->key[i] = (uint8_t)(salt * 31 + i * 7 + 1);
	for (int i = 0; i < 4; i++)
		k->salt[i] = (uint8_t)(salt + 0xa0 + i);
	for (int i = 0; i < 12; i++)
		k->iv[i] = (uint8_t)(salt * 3 + 0x50 + i);
	/* Not 0: the kernel must start from the sequence number it is given. */
	k->seq = 5;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Fills the crypto_info for K, returns its size. */
static socklen_t crypto_info(const struct keys *k, void *out)
{
	const struct suite *s = k->s;
	struct tls12_crypto_info_aes_gcm_256 *ci = out;
	socklen_t size;

	/* iv, key, salt, rec_seq in that order in every struct but ChaCha's,
	 * which has a 12-byte iv and no salt. */
	uint8_t *p = (uint8_t *)out + sizeof(struct tls_crypto_info);
	memset(out, 0, 64 + sizeof(struct tls_crypto_info));
	ci->info.version = k->version;
	ci->info.cipher_type = s->cipher;
	memcpy(p, k->iv, s->iv_len);
	memcpy(p + s->iv_len, k->key, s->key_len);
	memcpy(p + s->iv_len + s->key_len, k->salt, s->salt_len);
	put_be64(p + s->iv_len + s->key_len + s->salt_len, k->seq);
	size = sizeof(struct tls_crypto_info) + s->iv_len + s->key_len +
	       s->salt_len + 8;
	return size;
}

/* Attaches the ULP (if not yet) and installs K for DIR; 0 or an errno. */
static int install(int fd, int dir, const struct keys *k)
{
	uint8_t buf[128];
	char ulp[16] = "";
	socklen_t ulen = sizeof(ulp), size = crypto_info(k, buf);

	getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &ulen);
	if (strcmp(ulp, "tls") && setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 3))
		return errno;
	if (setsockopt(fd, SOL_TLS, dir, buf, size))
		return errno;
	return 0;
}

/* ---- records, as libcrypto sees them ----------------------------------- */

/* AEAD over IN with NONCE and AAD; TAG is written (enc) or checked (dec). */
static int aead(const struct keys *k, int enc, const uint8_t *nonce,
		const uint8_t *aad, int aad_len, const uint8_t *in, int len,
		uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	ok = c && EVP_CipherInit_ex(c, k->s->evp(), NULL, NULL, NULL, enc) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) &&
	     /* CCM takes the tag (or its length) before the key. */
	     (!k->s->ccm || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG,
						TAG_LEN, enc ? NULL : tag)) &&
	     EVP_CipherInit_ex(c, NULL, NULL, k->key, nonce, enc) &&
	     (!k->s->ccm || EVP_CipherUpdate(c, NULL, &n, NULL, len)) &&
	     EVP_CipherUpdate(c, NULL, &n, aad, aad_len) &&
	     EVP_CipherUpdate(c, out, &n, in, len) &&
	     (enc || k->s->ccm ||
	      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag)) &&
	     (k->s->ccm || EVP_CipherFinal_ex(c, out + n, &n)) &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag));
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

/* TLS 1.2 AES-GCM/CCM carry an explicit nonce; ChaCha and TLS 1.3 do not. */
static int explicit_len(const struct keys *k)
{
	return k->version == TLS_1_2_VERSION && k->s->salt_len ? 8 : 0;
}

/* The 12-byte nonce of record SEQ (EXPLICIT: the record's explicit part). */
static void nonce_for(const struct keys *k, const uint8_t *explicit,
		      uint8_t *nonce)
{
	uint8_t seq[8];

	memcpy(nonce, k->salt, k->s->salt_len);
	memcpy(nonce + k->s->salt_len, k->iv, k->s->iv_len);
	if (explicit_len(k)) {
		memcpy(nonce + 4, explicit, 8);
		return;
	}
	put_be64(seq, k->seq);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= seq[i];
}

/* TLS 1.3: the header; TLS 1.2: seq, type, version, plaintext length. */
static int make_aad(const struct keys *k, const uint8_t *hdr, int type,
		    int plen, uint8_t *aad)
{
	if (k->version == TLS_1_3_VERSION) {
		memcpy(aad, hdr, 5);
		return 5;
	}
	put_be64(aad, k->seq);
	aad[8] = (uint8_t)type;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = (uint8_t)(plen >> 8);
	aad[12] = (uint8_t)plen;
	return 13;
}

/* Seals one record of TYPE (TLS 1.3: followed by PAD zero bytes) into OUT;
 * returns its length. */
static int seal(struct keys *k, int type, const uint8_t *data, int len, int pad,
		uint8_t *out)
{
	uint8_t inner[16384 + 256], nonce[12], aad[13];
	int ex = explicit_len(k), ilen = len, clen, alen;

	memcpy(inner, data, len);
	if (k->version == TLS_1_3_VERSION) {
		inner[ilen++] = (uint8_t)type;
		memset(inner + ilen, 0, pad);
		ilen += pad;
	}
	clen = ex + ilen + TAG_LEN;
	out[0] = k->version == TLS_1_3_VERSION ? REC_TYPE_DATA : (uint8_t)type;
	out[1] = 3;
	out[2] = 3;
	out[3] = (uint8_t)(clen >> 8);
	out[4] = (uint8_t)clen;
	put_be64(out + 5, k->seq); /* the explicit nonce, when there is one */
	nonce_for(k, out + 5, nonce);
	alen = make_aad(k, out, type, len, aad);
	if (aead(k, 1, nonce, aad, alen, inner, ilen, out + 5 + ex,
		 out + 5 + ex + ilen))
		return -1;
	k->seq++;
	return 5 + clen;
}

/* Reads one record from FD and opens it into DATA; returns the plaintext
 * length, or -1 if it does not open. */
static int open_one(int fd, struct keys *k, uint8_t *data)
{
	uint8_t rec[MAX_REC], nonce[12], aad[13];
	int ex = explicit_len(k), clen, plen, alen;

	if (read_full(fd, rec, 5))
		return -1;
	clen = rec[3] << 8 | rec[4];
	if (rec[0] != REC_TYPE_DATA || rec[1] != 3 || rec[2] != 3 ||
	    clen < ex + TAG_LEN + 1 || clen > MAX_REC - 5 ||
	    read_full(fd, rec + 5, clen))
		return -1;
	plen = clen - ex - TAG_LEN;
	nonce_for(k, rec + 5, nonce);
	alen = make_aad(k, rec, REC_TYPE_DATA, plen, aad);
	if (aead(k, 0, nonce, aad, alen, rec + 5 + ex, plen, data,
		 rec + 5 + ex + plen))
		return -1;
	k->seq++;
	if (k->version == TLS_1_3_VERSION) {
		while (plen > 0 && data[plen - 1] == 0)
			plen--; /* padding */
		if (plen == 0 || data[--plen] != REC_TYPE_DATA)
			return -1;
	}
	return plen;
}

/* Opens records from FD until LEN bytes equal to WANT have come; 0 if so. */
static int open_stream(int fd, struct keys *k, const uint8_t *want, size_t len)
{
	static uint8_t data[16384 + 256];
	size_t got = 0;

	while (got < len) {
		int n = open_one(fd, k, data);

		if (n < 0 || got + n > len || memcmp(data, want + got, n))
			return -1;
		got += n;
	}
	return 0;
}

/* ---- the probes -------------------------------------------------------- */

/* Kernel TX -> libcrypto: MSG sent in the clear on FD must arrive on PEER
 * as records that open with the same keys. */
static int check_tx(int fd, int peer, struct keys *k, const char *msg)
{
	if (write_full(fd, (const uint8_t *)msg, strlen(msg)))
		return -1;
	return open_stream(peer, k, (const uint8_t *)msg, strlen(msg));
}

/* libcrypto -> kernel RX: a record sealed here, written raw on PEER, must be
 * read in the clear from FD. The buffer is larger than the record, as it
 * must be for the kernel to decrypt straight into it (its zero-copy path,
 * the one TLS_RX_EXPECT_NO_PAD is about). */
static int check_rx(int fd, int peer, struct keys *k, const char *msg, int pad)
{
	uint8_t rec[MAX_REC];
	char got[1024];
	size_t len = strlen(msg), have = 0;
	int n = seal(k, REC_TYPE_DATA, (const uint8_t *)msg, len, pad, rec);

	if (n < 0 || write_full(peer, rec, n))
		return -1;
	while (have < len) {
		ssize_t r = recv(fd, got + have, sizeof(got) - have, 0);

		if (r <= 0)
			return -1;
		have += r;
	}
	return have == len && !memcmp(got, msg, len) ? 0 : -1;
}

struct counters {
	long tx, curr_tx, rx, curr_rx;
};

static void snapshot(struct counters *c)
{
	c->tx = tls_stat("TlsTxSw");
	c->curr_tx = tls_stat("TlsCurrTxSw");
	c->rx = tls_stat("TlsRxSw");
	c->curr_rx = tls_stat("TlsCurrRxSw");
}

static void report(const char *what, int err)
{
	tap(err == 0, "%s%s%s", what, err ? " # " : "", err ? strerror(err) : "");
}

/* Both directions of one version x suite. */
static void probe_suite(uint16_t version, const struct suite *s)
{
	struct keys tx, rx, peer_tx, peer_rx;
	struct counters before, after;
	char what[128];
	int a = -1, b = -1, c = -1, d = -1, err;

	make_keys(&tx, s, version, 1);
	make_keys(&rx, s, version, 2);
	peer_tx = tx;
	peer_rx = rx;
	snapshot(&before);
	if (tcp_pair(&a, &b) || tcp_pair(&c, &d)) {
		tap(0, "%s %s: loopback connection # %s", vname(version),
		    s->name, strerror(errno));
		return;
	}
	snprintf(what, sizeof(what), "%s %s: TX key accepted", vname(version), s->name);
	report(what, err = install(a, TLS_TX, &tx));
	tap(!err && !check_tx(a, b, &peer_tx, "hello"),
	    "%s %s: kernel TX record opens with libcrypto", vname(version), s->name);
	snprintf(what, sizeof(what), "%s %s: RX key accepted", vname(version), s->name);
	report(what, err = install(c, TLS_RX, &rx));
	tap(!err && !check_rx(c, d, &peer_rx, "hello", 0),
	    "%s %s: libcrypto record opens through kernel RX", vname(version), s->name);
	snapshot(&after);
	tap(before.tx >= 0 && after.tx == before.tx + 1 &&
	    after.curr_tx == before.curr_tx + 1 && after.rx == before.rx + 1 &&
	    after.curr_rx == before.curr_rx + 1,
	    "%s %s: TlsTxSw TlsCurrTxSw TlsRxSw TlsCurrRxSw each +1 (%ld %ld %ld %ld)",
	    vname(version), s->name, after.tx - before.tx,
	    after.curr_tx - before.curr_tx, after.rx - before.rx,
	    after.curr_rx - before.curr_rx);
	close(a), close(b), close(c), close(d);
}

/* sendfile of all of FD on SOCK, from a child: more than the socket buffers
 * hold, so the parent must be reading meanwhile. Returns the child's pid. */
static pid_t sendfile_child(int sock, int fd, size_t size)
{
	pid_t pid = fork();
	off_t off = 0;

	if (pid != 0)
		return pid;
	while (off < (off_t)size && sendfile(sock, fd, &off, size - off) > 0)
		;
	_exit(off == (off_t)size ? 0 : 1);
}

/* TLS_TX_ZEROCOPY_RO, then sendfile of a file larger than one record. */
static void probe_zerocopy_sendfile(void)
{
	static uint8_t content[300000];
	struct keys k, peer;
	char path[] = "/tmp/ulp_probe.XXXXXX";
	int a = -1, b = -1, one = 1, val = 0, err, fd, status = -1, opened;
	socklen_t len = sizeof(val);
	pid_t pid;

	make_keys(&k, &suites[0], TLS_1_3_VERSION, 3);
	peer = k;
	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (uint8_t)(i * 2654435761u >> 13);
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	if (fd < 0 || write(fd, content, sizeof(content)) != sizeof(content) ||
	    tcp_pair(&a, &b)) {
		tap(0, "TLS_TX_ZEROCOPY_RO accepted # setup: %s", strerror(errno));
		tap(0, "sendfile over kernel TX opens with libcrypto # setup");
		return;
	}
	err = install(a, TLS_TX, &k);
	if (!err)
		err = setsockopt(a, SOL_TLS, TLS_TX_ZEROCOPY_RO, &one, sizeof(one)) ? errno : 0;
	if (!err && (getsockopt(a, SOL_TLS, TLS_TX_ZEROCOPY_RO, &val, &len) || val != 1))
		err = EPROTO;
	report("TLS1.3 AES-128-GCM: TLS_TX_ZEROCOPY_RO accepted and reads back 1", err);
	pid = sendfile_child(a, fd, sizeof(content));
	opened = pid > 0 && !open_stream(b, &peer, content, sizeof(content));
	if (pid > 0)
		waitpid(pid, &status, 0);
	tap(opened && status == 0,
	    "TLS1.3 AES-128-GCM: sendfile of %zu bytes over kernel TX opens with libcrypto",
	    sizeof(content));
	close(a), close(b), close(fd);
}

/* TLS_RX_EXPECT_NO_PAD, then a padded record: still read correctly (the
 * kernel retries), and counted as a violation. */
static void probe_no_pad(void)
{
	struct keys k, peer;
	int a = -1, b = -1, one = 1, val = 0, err;
	socklen_t len = sizeof(val);
	long before = tls_stat("TlsRxNoPadViolation");

	make_keys(&k, &suites[0], TLS_1_3_VERSION, 4);
	peer = k;
	if (tcp_pair(&a, &b)) {
		tap(0, "TLS_RX_EXPECT_NO_PAD accepted # setup: %s", strerror(errno));
		return;
	}
	err = install(a, TLS_RX, &k);
	if (!err)
		err = setsockopt(a, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &one, sizeof(one)) ? errno : 0;
	if (!err && (getsockopt(a, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &val, &len) || val != 1))
		err = EPROTO;
	report("TLS1.3 AES-128-GCM: TLS_RX_EXPECT_NO_PAD accepted and reads back 1", err);
	tap(!err && !check_rx(a, b, &peer, "unpadded", 0) &&
	    !check_rx(a, b, &peer, "padded", 32),
	    "TLS1.3 AES-128-GCM: with EXPECT_NO_PAD, unpadded and padded records read");
	tap(!err && before >= 0 && tls_stat("TlsRxNoPadViolation") == before + 1,
	    "TlsRxNoPadViolation +1 for the padded record");
	close(a), close(b);
}

/* One flipped ciphertext bit: recv() fails with EBADMSG, TlsDecryptError. */
static void probe_corrupt(void)
{
	struct keys k, peer;
	uint8_t rec[MAX_REC], buf[64];
	long before = tls_stat("TlsDecryptError");
	int a = -1, b = -1, n, err = -1;

	make_keys(&k, &suites[0], TLS_1_3_VERSION, 5);
	peer = k;
	if (tcp_pair(&a, &b) == 0 && install(a, TLS_RX, &k) == 0) {
		n = seal(&peer, REC_TYPE_DATA, (const uint8_t *)"tampered", 8, 0, rec);
		rec[7] ^= 1;
		if (n > 0 && write_full(b, rec, n) == 0)
			err = recv(a, buf, sizeof(buf), 0) < 0 ? errno : 0;
	}
	tap(err == EBADMSG, "TLS1.3 AES-128-GCM: corrupted record -> EBADMSG (%s)",
	    err < 0 ? "setup failed" : strerror(err));
	tap(before >= 0 && tls_stat("TlsDecryptError") == before + 1,
	    "TlsDecryptError +1 for the corrupted record");
	close(a), close(b);
}

int main(int argc, char **argv)
{
	static const uint16_t versions[] = { TLS_1_3_VERSION, TLS_1_2_VERSION };
	int a = -1, b = -1, err = 0;

	test_no = argc > 1 ? atoi(argv[1]) - 1 : 0;
	if (tcp_pair(&a, &b))
		err = errno;
	else if (setsockopt(a, IPPROTO_TCP, TCP_ULP, "tls", 3))
		err = errno;
	report("setsockopt(TCP_ULP, \"tls\") on a connected TCP socket", err);
	if (err == ENOENT)
		printf("# ENOENT: no tls module in this kernel\n");
	close(a), close(b);

	for (size_t v = 0; v < 2; v++)
		for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++)
			probe_suite(versions[v], &suites[s]);
	probe_zerocopy_sendfile();
	probe_no_pad();
	probe_corrupt();
	printf("1..%d\n", test_no);
	return failures ? 1 : 0;
}
