/* test_harness_selftest.c — checks tests/harness.h itself: fixtures, variants,
 * signals, and that skips, failures, crashes and hangs are reported as such.
 *
 * This file builds twice. Built with TH_SELFTEST_FAILING it is a helper program
 * full of cases that must fail; the normal build runs that helper (its path is
 * TH_FAILING_BIN) and checks its TAP output and exit status, so the registered
 * selftest run itself contains no failing case. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "harness.h"

#ifdef TH_SELFTEST_FAILING

/* ---- the helper: apart from "passes", "leaves_child" and the two skips, every
 * case here must fail ---- */

static void __attribute__((constructor)) maybe_skip_all(void)
{
    if (getenv("TH_HELPER_SKIP_ALL"))
        th_skip_all("helper told to skip everything");
}

TEST(passes)
{
    ASSERT_EQ(1, 1);
}

TEST(expect_fails)
{
    EXPECT_EQ(1, 2);
    EXPECT_STR_EQ("abc", "abd");
    TH_LOG("after expect");
}

TEST(assert_stops)
{
    ASSERT_EQ(2 + 2, 5);
    TH_LOG("not reached");
}

TEST(expect_then_exit0)
{
    EXPECT_TRUE(0);
    exit(0);
}

TEST(crashes)
{
    abort();
}

TEST_TIMEOUT(hangs, 1)
{
    pause();
}

/* No timeout of its own: TH_TIMEOUT from the environment applies. */
TEST(env_hang)
{
    pause();
}

FIXTURE(fx) {
    int dummy;
};

FIXTURE_VARIANT(fx) {
    const char *label;
};

FIXTURE_VARIANT_ADD(fx, a) { .label = "a" };
FIXTURE_VARIANT_ADD(fx, b) { .label = "b" };

FIXTURE_TEARDOWN(fx)
{
    TH_LOG("teardown ran for %s", variant->label);
}

TEST_F(fx, assert_in_body)
{
    ASSERT_TRUE(0);
}

TEST(skips)
{
    SKIP(return, "helper skip reason");
    abort();
}

/* A skip in setup skips the body. */
FIXTURE(skipper) {
    int unused;
};

FIXTURE_SETUP(skipper)
{
    SKIP(return, "setup decided this cannot run");
}

TEST_F(skipper, body_not_run)
{
    abort();
}

TEST(mem_mismatch)
{
    unsigned char x[16] = { 0 }, y[16] = { 0 };

    y[5] = 0xab;
    ASSERT_MEM_EQ(x, y, sizeof(x));
}

TEST_SIGNAL(wrong_signal_none, SIGABRT)
{
}

/* Passes, but leaves a grandchild behind: the harness must kill it. */
TEST(leaves_child)
{
    pid_t pid = fork();

    ASSERT_GE(pid, 0);
    if (pid == 0) {
        sleep(60);
        _exit(0);
    }
    TH_LOG("grandchild %d", (int)pid);
}

#else /* the selftest proper */

TEST(checks_pass)
{
    int x = 3;
    unsigned u = 7;
    const char *s = "nktls";
    unsigned char a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 2, 3, 4 };

    ASSERT_EQ(x, 3);
    ASSERT_NE(x, 4);
    ASSERT_LT(x, 4);
    ASSERT_LE(x, 3);
    ASSERT_GT(u, 6u);
    ASSERT_GE(u, 7u);
    ASSERT_TRUE(x == 3);
    ASSERT_FALSE(x == 4);
    ASSERT_NULL(NULL);
    ASSERT_NOT_NULL(s);
    ASSERT_MEM_EQ(a, b, sizeof(a));
    ASSERT_STR_EQ(s, "nktls");
    ASSERT_STR_NE(s, "other");
    EXPECT_EQ(-1, x - 4);
    EXPECT_STR_EQ("a", "a");
}

TEST(operands_evaluated_once)
{
    int n = 0;

    ASSERT_EQ(n++, 0);
    ASSERT_EQ(n, 1);
    EXPECT_NE(++n, 0);
    ASSERT_EQ(n, 2);
}

/* The statement after a check runs only when the check fails. */
TEST(trailing_statement_only_on_failure)
{
    int ran = 0;

    ASSERT_EQ(1, 1) ran = 1;
    EXPECT_TRUE(1) ran = 1;
    ASSERT_EQ(ran, 0);
}

TEST_SIGNAL(expected_signal, SIGABRT)
{
    abort();
}

TEST_TIMEOUT(own_timeout, 5)
{
    ASSERT_TRUE(1);
}

/* A fixture with variants: setup sees the variant, teardown frees. */
FIXTURE(counter) {
    int value;
    char *buf;
};

FIXTURE_VARIANT(counter) {
    int start;
    const char *label;
};

FIXTURE_VARIANT_ADD(counter, zero) { .start = 0, .label = "zero" };
FIXTURE_VARIANT_ADD(counter, ten) { .start = 10, .label = "ten" };

FIXTURE_SETUP(counter)
{
    self->value = variant->start;
    self->buf = malloc(32);
    ASSERT_NOT_NULL(self->buf);
    snprintf(self->buf, 32, "%s", variant->label);
}

FIXTURE_TEARDOWN(counter)
{
    free(self->buf);
}

TEST_F(counter, setup_saw_variant)
{
    ASSERT_EQ(self->value, variant->start);
    ASSERT_STR_EQ(self->buf, variant->label);
}

TEST_F(counter, each_case_starts_fresh)
{
    /* Cases run in separate children: the increment in one is not seen by another. */
    self->value++;
    ASSERT_EQ(self->value, variant->start + 1);
}

/* A fixture without variants or teardown runs once. */
FIXTURE(plain) {
    int ready;
};

FIXTURE_SETUP(plain)
{
    self->ready = 1;
}

TEST_F(plain, runs_once)
{
    ASSERT_EQ(self->ready, 1);
    ASSERT_NULL(variant);
}

/* ---- failure detection, through the helper program ---- */

#ifndef TH_FAILING_BIN
#error "TH_FAILING_BIN must name the helper built with -DTH_SELFTEST_FAILING"
#endif

struct run_result {
    char out[65536];
    int status;     /* exit status, or 128 + signal */
};

/* Runs the helper with extra arguments and environment, capturing stdout+stderr. */
static void run_helper(struct run_result *r, const char *env, const char *args)
{
    char cmd[1024];
    size_t len = 0, n;
    FILE *p;
    int st;

    snprintf(cmd, sizeof(cmd), "env %s '%s' %s 2>&1", env ? env : "", TH_FAILING_BIN,
             args ? args : "");
    p = popen(cmd, "r");
    r->out[0] = '\0';
    r->status = -1;
    if (!p)
        return;
    while ((n = fread(r->out + len, 1, sizeof(r->out) - 1 - len, p)) > 0)
        len += n;
    r->out[len] = '\0';
    st = pclose(p);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The helper's output as "# " lines: raw, its "ok" lines would read as ours. */
static void log_output(const char *out)
{
    const char *p = out, *nl;

    while (*p) {
        nl = strchr(p, '\n');
        if (!nl)
            nl = p + strlen(p);
        TH_LOG("helper| %.*s", (int)(nl - p), p);
        p = *nl ? nl + 1 : nl;
    }
}

static int has_line(const char *out, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = out; (p = strstr(p, line)); p++)
        if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* "ok N - name" with any N, and an exact rest of line. */
static int has_result(const char *out, const char *verdict, const char *rest)
{
    char want[256];

    for (int i = 1; i <= 64; i++) {
        snprintf(want, sizeof(want), "%s %d - %s", verdict, i, rest);
        if (has_line(out, want))
            return 1;
    }
    return 0;
}

TEST_TIMEOUT(detects_failures, 30)
{
    static struct run_result r;

    run_helper(&r, "TH_TIMEOUT=2", NULL);
    EXPECT_EQ(r.status, 1) log_output(r.out);
    EXPECT_TRUE(has_line(r.out, "1..14"));
    EXPECT_TRUE(has_line(r.out, "# 2 passed, 10 failed, 2 skipped"));

    EXPECT_TRUE(has_result(r.out, "ok", "passes"));
    EXPECT_TRUE(has_result(r.out, "ok", "leaves_child"));
    EXPECT_TRUE(has_result(r.out, "ok", "skips # SKIP helper skip reason"));
    EXPECT_TRUE(has_result(r.out, "ok", "skipper.body_not_run # SKIP setup decided this cannot run"));
    EXPECT_TRUE(has_result(r.out, "not ok", "expect_fails"));
    EXPECT_TRUE(has_result(r.out, "not ok", "assert_stops"));
    EXPECT_TRUE(has_result(r.out, "not ok", "expect_then_exit0"));
    EXPECT_TRUE(has_result(r.out, "not ok", "crashes"));
    EXPECT_TRUE(has_result(r.out, "not ok", "hangs"));
    EXPECT_TRUE(has_result(r.out, "not ok", "env_hang"));
    EXPECT_TRUE(has_result(r.out, "not ok", "fx.a.assert_in_body"));
    EXPECT_TRUE(has_result(r.out, "not ok", "fx.b.assert_in_body"));
    EXPECT_TRUE(has_result(r.out, "not ok", "mem_mismatch"));
    EXPECT_TRUE(has_result(r.out, "not ok", "wrong_signal_none"));

    /* Diagnostics: file:line and values, EXPECT continues, ASSERT stops,
     * teardown runs after a failed ASSERT, timeouts and signals are named. */
    EXPECT_NOT_NULL(strstr(r.out, "test_harness_selftest.c:"));
    EXPECT_NOT_NULL(strstr(r.out, "EXPECT_EQ(1, 2) failed: 1 = 1, 2 = 2"));
    EXPECT_NOT_NULL(strstr(r.out, "\"abc\""));
    EXPECT_NOT_NULL(strstr(r.out, "after expect"));
    EXPECT_NULL(strstr(r.out, "not reached"));
    EXPECT_NOT_NULL(strstr(r.out, "teardown ran for a"));
    EXPECT_NOT_NULL(strstr(r.out, "teardown ran for b"));
    /* hangs has a 1 s limit of its own, raised to the environment's 2 s. */
    EXPECT_NOT_NULL(strstr(r.out, "hangs: timed out after 2 s"));
    EXPECT_NOT_NULL(strstr(r.out, "env_hang: timed out after 2 s"));
    EXPECT_NOT_NULL(strstr(r.out, "killed by signal"));
    EXPECT_NOT_NULL(strstr(r.out, "first difference at offset 5"));
    EXPECT_NOT_NULL(strstr(r.out, "expected signal"));
}

TEST(kills_leftover_processes)
{
    static struct run_result r;
    char path[64], st[256];
    const char *p;
    int pid = 0, fd;
    ssize_t n;

    run_helper(&r, NULL, "leaves_child");
    ASSERT_EQ(r.status, 0);
    p = strstr(r.out, "grandchild ");
    ASSERT_NOT_NULL(p);
    pid = atoi(p + strlen("grandchild "));
    ASSERT_GT(pid, 0);
    /* Gone, or at worst a zombie nobody has reaped yet. */
    for (int i = 0; i < 50; i++) {
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        fd = open(path, O_RDONLY);
        if (fd < 0)
            return;
        n = read(fd, st, sizeof(st) - 1);
        close(fd);
        st[n > 0 ? n : 0] = '\0';
        p = strrchr(st, ')');
        if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
            return;
        usleep(20000);
    }
    TH_LOG("pid %d still running: %s", pid, st);
    ASSERT_TRUE(0);
}

TEST(filter_selects_cases)
{
    static struct run_result r;

    run_helper(&r, NULL, "passes");
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(has_line(r.out, "1..1"));
    EXPECT_TRUE(has_line(r.out, "ok 1 - passes"));
    EXPECT_TRUE(has_line(r.out, "# 1 passed, 0 failed, 0 skipped"));
}

TEST(sample_runs_one_case_in_k)
{
    static struct run_result r;

    run_helper(&r, "TH_SAMPLE=5", "fx.");
    EXPECT_EQ(r.status, 1) log_output(r.out);
    EXPECT_TRUE(has_line(r.out, "1..2"));
    EXPECT_TRUE(has_line(r.out, "not ok 1 - fx.a.assert_in_body"));
    EXPECT_TRUE(has_line(r.out, "ok 2 - fx.b.assert_in_body # SKIP sampled out (TH_SAMPLE=5: "
                                "1 case in 5 runs here; the unit and asan suites run it)"));
    EXPECT_TRUE(has_line(r.out, "# 0 passed, 1 failed, 1 skipped"));
    EXPECT_NULL(strstr(r.out, "teardown ran for b"));
}

TEST(list_names)
{
    static struct run_result r;

    run_helper(&r, NULL, "-l");
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(has_line(r.out, "fx.a.assert_in_body"));
    EXPECT_TRUE(has_line(r.out, "passes"));
}

TEST(skip_all_exits_77)
{
    static struct run_result r;

    run_helper(&r, "TH_HELPER_SKIP_ALL=1", NULL);
    EXPECT_EQ(r.status, 77);
    EXPECT_TRUE(has_line(r.out, "1..0 # SKIP helper told to skip everything"));
}

#endif

TEST_HARNESS_MAIN
