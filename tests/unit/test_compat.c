/* test_compat.c — the names NanoSSL programs of either generation call, beyond
 * the current API: the legacy generation's file helpers (const sbyte * names,
 * through compat_legacy.c), and newer TrustCore code's DIGICERT_* spellings,
 * which must be the very same functions as the MOCANA_* ones. */
#include <sys/stat.h>
#include "harness.h"
#include "common/mocana.h"
#include "compat_legacy.h"

static void temp_path(char *path, size_t n)
{
    snprintf(path, n, "%s/nktls-compat-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int fd = mkstemp(path);
    if (fd >= 0)
        close(fd);
}

/* One definition, two names: the alias is the function itself. */
TEST(digicert_names_are_the_mocana_functions)
{
    EXPECT_TRUE((void *)DIGICERT_initDigicert == (void *)MOCANA_initMocana);
    EXPECT_TRUE((void *)DIGICERT_freeDigicert == (void *)MOCANA_freeMocana);
    EXPECT_TRUE((void *)DIGICERT_initLog == (void *)MOCANA_initLog);
    EXPECT_TRUE((void *)DIGICERT_readFile == (void *)MOCANA_readFile);
    EXPECT_TRUE((void *)DIGICERT_freeReadFile == (void *)MOCANA_freeReadFile);
    EXPECT_TRUE((void *)DIGICERT_writeFile == (void *)MOCANA_writeFile);
}

/* A program written against the newer spelling, start to end. */
TEST(digicert_calls)
{
    char path[256];
    ubyte data[300], *buf = NULL;
    ubyte4 len = 0;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (ubyte)(i * 7);
    temp_path(path, sizeof path);
    ASSERT_EQ(DIGICERT_initDigicert(), OK);
    ASSERT_EQ(DIGICERT_initLog(NULL), OK);
    ASSERT_EQ(DIGICERT_writeFile(path, data, sizeof data), OK);
    ASSERT_EQ(DIGICERT_readFile(path, &buf, &len), OK);
    ASSERT_EQ(len, (ubyte4)sizeof data);
    ASSERT_MEM_EQ(buf, data, sizeof data);
    ASSERT_EQ(DIGICERT_freeReadFile(&buf), OK);
    ASSERT_NULL(buf);
    ASSERT_EQ(DIGICERT_readFile(NULL, &buf, &len), ERR_NULL_POINTER);
    ASSERT_EQ(DIGICERT_freeDigicert(), OK);
    unlink(path);
}

/* The legacy declarations reach the same files: what one generation writes the
 * other reads, and the errors are the same. */
TEST(legacy_file_helpers)
{
    char path[256], missing[300];
    ubyte data[64], *buf = NULL;
    ubyte4 len = 0;
    memset(data, 0x5a, sizeof data);
    temp_path(path, sizeof path);
    ASSERT_EQ(legacy_write_file(path, data, sizeof data), OK);
    ASSERT_EQ(MOCANA_readFile(path, &buf, &len), OK);
    ASSERT_EQ(len, (ubyte4)sizeof data);
    ASSERT_MEM_EQ(buf, data, sizeof data);
    ASSERT_EQ(MOCANA_freeReadFile(&buf), OK);

    data[0] = 1;
    ASSERT_EQ(MOCANA_writeFile(path, data, 10), OK);
    ASSERT_EQ(legacy_read_file(path, &buf, &len), OK);
    ASSERT_EQ(len, 10u);
    ASSERT_MEM_EQ(buf, data, 10);
    ASSERT_EQ(MOCANA_freeReadFile(&buf), OK);

    snprintf(missing, sizeof missing, "%s.missing", path);
    ASSERT_EQ(legacy_read_file(missing, &buf, &len), ERR_FILE_OPEN_FAILED);
    ASSERT_NULL(buf);
    ASSERT_EQ(legacy_read_file(NULL, &buf, &len), ERR_NULL_POINTER);
    ASSERT_EQ(legacy_write_file("/nonexistent-nktls-dir/x", data, 1), ERR_FILE_OPEN_FAILED);
    unlink(path);
}

TEST_HARNESS_MAIN
