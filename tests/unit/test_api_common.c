/* test_api_common.c — the "common" public calls (api/common.c): error names,
 * the log sink, reading and writing files. */
#include "api_env.h"

/* ---- error names and files ------------------------------------------------------ */

TEST(error_names)
{
    static const struct {
        MSTATUS code;
        const char *name;
    } names[] = {
        { OK, "OK" },
        { ERR_TCP_SOCKET_CLOSED, "ERR_TCP_SOCKET_CLOSED" },
        { ERR_TCP_READ_TIMEOUT, "ERR_TCP_READ_TIMEOUT" },
        { ERR_TCP_WOULDBLOCK, "ERR_TCP_WOULDBLOCK" },
        { ERR_GENERAL, "ERR_GENERAL" },
        { ERR_NULL_POINTER, "ERR_NULL_POINTER" },
        { ERR_MEM_ALLOC_FAIL, "ERR_MEM_ALLOC_FAIL" },
        { ERR_SSL_TOO_MANY_CONNECTIONS, "ERR_SSL_TOO_MANY_CONNECTIONS" },
        { ERR_SSL_BAD_ID, "ERR_SSL_BAD_ID" },
        { ERR_SSL_NO_CIPHER_MATCH, "ERR_SSL_NO_CIPHER_MATCH" },
        { ERR_SSL_FATAL_ALERT, "ERR_SSL_FATAL_ALERT" },
        { ERR_SSL_CONNECTION_CLOSED, "ERR_SSL_CONNECTION_CLOSED" },
        { ERR_SSL_HANDSHAKE_TIMEOUT, "ERR_SSL_HANDSHAKE_TIMEOUT" },
        { ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY, "ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY" },
        { ERR_CERT_HOSTNAME_MISMATCH, "ERR_CERT_HOSTNAME_MISMATCH" },
        { ERR_FILE_OPEN_FAILED, "ERR_FILE_OPEN_FAILED" },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        EXPECT_STR_EQ((const char *)MERROR_lookUpErrorCode(names[i].code), names[i].name);
    /* Fixed values applications compare against. */
    ASSERT_EQ(ERR_SSL_BAD_ID, -7503);
    ASSERT_EQ(ERR_TCP_READ_TIMEOUT, -5904);
    ASSERT_EQ(ERR_SSL_TOO_MANY_CONNECTIONS, -7501);
    ASSERT_EQ(ERR_SSL_UNKNOWN_CERTIFICATE_AUTHORITY, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    ASSERT_STR_EQ((const char *)MERROR_lookUpErrorCode((MSTATUS)-1), "ERR_UNKNOWN");
    ASSERT_STR_EQ((const char *)MERROR_lookUpErrorCode((MSTATUS)12345), "ERR_UNKNOWN");
}

/* Every code has a sentence of its own: not empty, not its symbol, not another
 * code's; a value outside the table gets "unknown error". */
TEST(error_texts)
{
#define CODE_(name, value, text) (value),
    static const int codes[] = { NKTLS_ERROR_LIST(CODE_) };
#undef CODE_
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        const char *t = NKTLS_errorText((MSTATUS)codes[i]);
        ASSERT_NOT_NULL(t);
        EXPECT_GT(strlen(t), 5u) TH_LOG("%d", codes[i]);
        EXPECT_STR_NE(t, (const char *)MERROR_lookUpErrorCode((MSTATUS)codes[i]));
        EXPECT_STR_NE(t, "unknown error");
        for (size_t j = 0; j < i; j++)
            EXPECT_STR_NE(t, NKTLS_errorText((MSTATUS)codes[j])) TH_LOG("%d and %d", codes[i], codes[j]);
    }
    EXPECT_STR_EQ(NKTLS_errorText(ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY),
                  "the peer's certificate chain does not end at a trusted CA");
    EXPECT_STR_EQ(NKTLS_errorText(ERR_SSL_NOT_TLS), "the peer is not speaking TLS (a plain-text port?)");
    EXPECT_STR_EQ(NKTLS_errorText((MSTATUS)-1), "unknown error");
    EXPECT_STR_EQ(NKTLS_errorText((MSTATUS)12345), "unknown error");
    EXPECT_STR_EQ(NKTLS_version(), NKTLS_VERSION_TEXT);
}

static struct {
    int calls;
    sbyte4 severity;
    char line[512];
} logged;

static void on_log(sbyte4 module, sbyte4 severity, sbyte *msg)
{
    logged.calls++;
    logged.severity = severity;
    snprintf(logged.line, sizeof(logged.line), "%s", (const char *)msg);
}

/* DISPLAY_ERROR reaches the sink as "file:line: NAME (value)"; no sink, no call. */
TEST(log_sink)
{
    ASSERT_EQ(MOCANA_initLog(on_log), OK);
    DISPLAY_ERROR(0, ERR_SSL_BAD_ID);
    ASSERT_EQ(logged.calls, 1);
    ASSERT_EQ(logged.severity, LS_MINOR);
    ASSERT_NOT_NULL(strstr(logged.line, "test_api_common.c:")) TH_LOG("%s", logged.line);
    ASSERT_NOT_NULL(strstr(logged.line, ": ERR_SSL_BAD_ID (-7503)")) TH_LOG("%s", logged.line);
    ASSERT_EQ(MOCANA_initLog(NULL), OK);
    DISPLAY_ERROR(0, ERR_GENERAL);
    ASSERT_EQ(logged.calls, 1);
}

TEST(read_write_file)
{
    char path[] = "/tmp/nktls-test-api-XXXXXX", missing[64];
    ubyte data[3000], *buf = (ubyte *)1;
    ubyte4 len = 1;
    int fd = mkstemp(path);

    ASSERT_GE(fd, 0);
    close(fd);
    fill(data, sizeof(data), 42);
    ASSERT_EQ(MOCANA_writeFile(path, data, sizeof(data)), OK);
    ASSERT_EQ(MOCANA_readFile(path, &buf, &len), OK);
    ASSERT_EQ(len, (ubyte4)sizeof(data));
    ASSERT_MEM_EQ(buf, data, sizeof(data));
    ASSERT_EQ(MOCANA_freeReadFile(&buf), OK);
    ASSERT_NULL(buf);

    /* Rewriting truncates; an empty file reads back as nothing. */
    ASSERT_EQ(MOCANA_writeFile(path, data, 0), OK);
    len = 1;
    ASSERT_EQ(MOCANA_readFile(path, &buf, &len), OK);
    ASSERT_EQ(len, 0u);
    ASSERT_EQ(MOCANA_freeReadFile(&buf), OK);
    unlink(path);

    snprintf(missing, sizeof(missing), "%s.missing", path);
    buf = (ubyte *)1;
    len = 1;
    errno = 0;
    ASSERT_EQ(MOCANA_readFile(missing, &buf, &len), ERR_FILE_OPEN_FAILED);
    ASSERT_EQ(errno, ENOENT);   /* documented: errno says why */
    ASSERT_NULL(buf);
    ASSERT_EQ(len, 0u);
    ASSERT_EQ(MOCANA_writeFile("/nonexistent-nktls-dir/x", data, 1), ERR_FILE_OPEN_FAILED);
    ASSERT_EQ(MOCANA_readFile(NULL, &buf, &len), ERR_NULL_POINTER);
    ASSERT_EQ(MOCANA_readFile(path, NULL, &len), ERR_NULL_POINTER);
    ASSERT_EQ(MOCANA_writeFile(NULL, data, 1), ERR_NULL_POINTER);
    ASSERT_EQ(MOCANA_writeFile(path, NULL, 1), ERR_NULL_POINTER);
    ASSERT_EQ(MOCANA_freeReadFile(NULL), ERR_NULL_POINTER);
}

/* No keys or certificates: these calls need none (api_env_main would make
 * them, and nothing here would hold them). */
int main(int argc, char **argv)
{
    return th_main(argc, argv);
}
