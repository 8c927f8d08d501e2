/* tests/harness.h — nktls's small test harness, in the style of the Linux
 * kselftest macros (same names, our own implementation).
 *
 *   TEST(name) { ... }
 *   TEST_TIMEOUT(name, secs) { ... }
 *   TEST_SIGNAL(name, signo) { ... }          passes only if the case dies of signo
 *   FIXTURE(f) { fields };                      FIXTURE_DATA(f) names the struct
 *   FIXTURE_VARIANT(f) { fields };              optional; const FIXTURE_VARIANT(f) *
 *   FIXTURE_VARIANT_ADD(f, v) { .field = ... };
 *   FIXTURE_SETUP(f) { ... }                    optional; self, variant in scope
 *   FIXTURE_TEARDOWN(f) { ... }                 optional; runs even after a failed ASSERT
 *   TEST_F(f, name) { ... }                     once per variant; self, variant in scope
 *   TEST_F_TIMEOUT(f, name, secs) { ... }
 *   ASSERT_EQ/NE/LT/LE/GT/GE(a, b), ASSERT_TRUE/FALSE(x), ASSERT_NULL/NOT_NULL(p),
 *   ASSERT_MEM_EQ(a, b, len), ASSERT_STR_EQ(a, b), ASSERT_STR_NE(a, b)
 *   EXPECT_* twins: record the failure and carry on.
 *   SKIP(statement, fmt, ...)                   mark skipped with a reason, then statement
 *   TH_LOG(fmt, ...)                            a "# " diagnostic line
 *   th_skip_all(fmt, ...)                       nothing in this program can run: exit 77
 *   TEST_HARNESS_MAIN                           defines main()
 *
 * A failed check may be followed by a statement that runs only on failure:
 *   ASSERT_EQ(n, 3) TH_LOG("while reading %s", path);
 * so always end a check with ';' when nothing should follow.
 *
 * Each case runs in its own forked child, in its own process group, so a crash,
 * abort or hang fails that case only. Output is TAP:
 *   ok 1 - wire.u16
 *   # test_wire.c:42: ASSERT_EQ(n, 3) failed: n = 2, 3 = 3
 *   not ok 2 - tls.aes128.send
 *   ok 3 - ktls.tx # SKIP no tls module
 *   # 1 passed, 1 failed, 1 skipped
 * Exit status: 0 when nothing failed, 1 otherwise, 77 from th_skip_all.
 *
 * Usage: prog [-l] [FILTER]    -l lists case names; FILTER is a substring of
 * the full case name. TH_TIMEOUT=secs overrides the 60 s default per case
 * (a case with a shorter timeout of its own gets TH_TIMEOUT too: a slow build).
 */
#ifndef NK_TEST_HARNESS_H
#define NK_TEST_HARNESS_H

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define TH_DEFAULT_TIMEOUT 60

/* Under valgrind everything runs many times slower: a case that measures
 * time against a deadline of a few hundred milliseconds skips there, with its
 * reason (the unit, asan and VM suites run it). */
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TH_UNDER_VALGRIND (RUNNING_ON_VALGRIND != 0)
#else
#define TH_UNDER_VALGRIND 0
#endif
#define TH_SKIP_TIMING_UNDER_VALGRIND()                                                \
    do {                                                                               \
        if (TH_UNDER_VALGRIND)                                                         \
            SKIP(return, "timing against short deadlines: not under valgrind (the unit, asan and VM suites run it)"); \
    } while (0)
#define TH_SKIP_EXIT 77

/* The verdict of the running case. It lives in shared memory so the parent can
 * read it, and the skip reason, even when the child dies without reporting. */
struct th_meta {
    const char *name;           /* full case name */
    int failed;
    int skipped;
    char skip_reason[256];
};
/* Helpers written in the kernel style take "struct __test_metadata *_metadata". */
#define __test_metadata th_meta

enum { TH_STAGE_SETUP, TH_STAGE_BODY, TH_STAGE_TEARDOWN, TH_STAGE_DONE };

/* Where a failed ASSERT jumps to, and how far the case got. These stay private
 * to each process: a test that forks must not have its helper process's
 * harness state overwrite the case's own. */
static jmp_buf th_bail_jmp_ __attribute__((unused));
static volatile int th_stage_ __attribute__((unused));

struct th_variant {
    const char *name;
    const void *data;
    int line;
    struct th_variant *next;
};

struct th_fixture {
    const char *name;
    size_t data_size;
    void (*setup)(struct th_meta *, void *self, const void *variant);
    void (*teardown)(struct th_meta *, void *self, const void *variant);
    struct th_variant *variants;
};

struct th_test {
    const char *name;
    struct th_fixture *fixture;     /* NULL for TEST() */
    void (*fn)(struct th_meta *, void *self, const void *variant);
    int timeout;                    /* seconds; 0 = default */
    int signal;                     /* expected terminating signal; 0 = none */
    int line;
    struct th_test *next;
};

static struct th_test *th_tests_ __attribute__((unused));
static struct th_meta *th_cur_ __attribute__((unused));

/* Registration happens from constructors, whose order is not something to rely
 * on; keeping both lists sorted by source line makes the run order the file order. */
static void __attribute__((unused)) th_register_test_(struct th_test *t)
{
    struct th_test **pp = &th_tests_;
    while (*pp && (*pp)->line <= t->line)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
}

static void __attribute__((unused)) th_register_variant_(struct th_fixture *f, struct th_variant *v)
{
    struct th_variant **pp = &f->variants;
    while (*pp && (*pp)->line <= v->line)
        pp = &(*pp)->next;
    v->next = *pp;
    *pp = v;
}

/* ---- declaring tests ---------------------------------------------------- */

#define TH_TEST_(tname, tmo, sig)                                                    \
    static void th_body_##tname(struct th_meta *_metadata);                         \
    static void th_thunk_##tname(struct th_meta *m, void *self, const void *v)     \
    {                                                                                \
        (void)self; (void)v;                                                         \
        th_body_##tname(m);                                                          \
    }                                                                                \
    static struct th_test th_test_##tname = {                                        \
        .name = #tname, .fn = th_thunk_##tname, .timeout = (tmo),                    \
        .signal = (sig), .line = __LINE__,                                           \
    };                                                                               \
    static void __attribute__((constructor)) th_reg_##tname(void)                   \
    {                                                                                \
        th_register_test_(&th_test_##tname);                                         \
    }                                                                                \
    static void th_body_##tname(struct th_meta __attribute__((unused)) *_metadata)

#define TEST(name)                  TH_TEST_(name, 0, 0)
#define TEST_TIMEOUT(name, secs)    TH_TEST_(name, secs, 0)
#define TEST_SIGNAL(name, signo)    TH_TEST_(name, 0, signo)

#define FIXTURE_DATA(f)     struct th_data_##f
#define FIXTURE_VARIANT(f)  struct th_vdata_##f

#define FIXTURE(f)                                                                   \
    FIXTURE_VARIANT(f);                                                              \
    FIXTURE_DATA(f);                                                                 \
    static struct th_fixture th_fixture_##f = { .name = #f };                        \
    FIXTURE_DATA(f)

#define FIXTURE_SETUP(f)                                                             \
    static void th_setup_##f(struct th_meta *_metadata, FIXTURE_DATA(f) *self,       \
                             const FIXTURE_VARIANT(f) *variant);                     \
    static void th_setup_thunk_##f(struct th_meta *m, void *self, const void *v)   \
    {                                                                                \
        th_setup_##f(m, (FIXTURE_DATA(f) *)self, (const FIXTURE_VARIANT(f) *)v);     \
    }                                                                                \
    static void __attribute__((constructor)) th_setup_reg_##f(void)                 \
    {                                                                                \
        th_fixture_##f.setup = th_setup_thunk_##f;                                   \
    }                                                                                \
    static void th_setup_##f(struct th_meta __attribute__((unused)) *_metadata,      \
                             FIXTURE_DATA(f) __attribute__((unused)) *self,          \
                             const FIXTURE_VARIANT(f) __attribute__((unused)) *variant)

#define FIXTURE_TEARDOWN(f)                                                          \
    static void th_teardown_##f(struct th_meta *_metadata, FIXTURE_DATA(f) *self,    \
                                const FIXTURE_VARIANT(f) *variant);                  \
    static void th_teardown_thunk_##f(struct th_meta *m, void *self, const void *v) \
    {                                                                                \
        th_teardown_##f(m, (FIXTURE_DATA(f) *)self, (const FIXTURE_VARIANT(f) *)v);  \
    }                                                                                \
    static void __attribute__((constructor)) th_teardown_reg_##f(void)              \
    {                                                                                \
        th_fixture_##f.teardown = th_teardown_thunk_##f;                             \
    }                                                                                \
    static void th_teardown_##f(struct th_meta __attribute__((unused)) *_metadata,   \
                                FIXTURE_DATA(f) __attribute__((unused)) *self,       \
                                const FIXTURE_VARIANT(f) __attribute__((unused)) *variant)

#define FIXTURE_VARIANT_ADD(f, v)                                                    \
    static const FIXTURE_VARIANT(f) th_vd_##f##_##v;                                 \
    static struct th_variant th_var_##f##_##v = {                                    \
        .name = #v, .data = &th_vd_##f##_##v, .line = __LINE__,                      \
    };                                                                               \
    static void __attribute__((constructor)) th_varreg_##f##_##v(void)             \
    {                                                                                \
        th_register_variant_(&th_fixture_##f, &th_var_##f##_##v);                    \
    }                                                                                \
    static const FIXTURE_VARIANT(f) th_vd_##f##_##v =

#define TH_TEST_F_(f, tname, tmo)                                                    \
    static void th_fbody_##f##_##tname(struct th_meta *_metadata,                    \
                                       FIXTURE_DATA(f) *self,                        \
                                       const FIXTURE_VARIANT(f) *variant);           \
    static void th_fthunk_##f##_##tname(struct th_meta *m, void *self, const void *v) \
    {                                                                                \
        th_fbody_##f##_##tname(m, (FIXTURE_DATA(f) *)self,                           \
                               (const FIXTURE_VARIANT(f) *)v);                       \
    }                                                                                \
    static struct th_test th_ftest_##f##_##tname = {                                 \
        .name = #tname, .fixture = &th_fixture_##f, .fn = th_fthunk_##f##_##tname,  \
        .timeout = (tmo), .line = __LINE__,                                          \
    };                                                                               \
    static void __attribute__((constructor)) th_freg_##f##_##tname(void)            \
    {                                                                                \
        /* The data struct is complete here, not yet at FIXTURE(). */               \
        th_fixture_##f.data_size = sizeof(FIXTURE_DATA(f));                          \
        th_register_test_(&th_ftest_##f##_##tname);                                  \
    }                                                                                \
    static void th_fbody_##f##_##tname(struct th_meta __attribute__((unused)) *_metadata, \
                                       FIXTURE_DATA(f) __attribute__((unused)) *self, \
                                       const FIXTURE_VARIANT(f) __attribute__((unused)) *variant)

#define TEST_F(f, name)                 TH_TEST_F_(f, name, 0)
#define TEST_F_TIMEOUT(f, name, secs)   TH_TEST_F_(f, name, secs)

/* ---- logging, skipping ---------------------------------------------------- */

static void __attribute__((unused, format(printf, 3, 4)))
th_log_(const char *file, int line, const char *fmt, ...)
{
    const char *base = strrchr(file, '/');
    va_list ap;

    printf("# %s:%d: ", base ? base + 1 : file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

#define TH_LOG(...) th_log_(__FILE__, __LINE__, __VA_ARGS__)

static void __attribute__((unused, format(printf, 1, 2)))
th_set_skip_(const char *fmt, ...)
{
    va_list ap;

    if (!th_cur_)
        return;
    th_cur_->skipped = 1;
    va_start(ap, fmt);
    vsnprintf(th_cur_->skip_reason, sizeof(th_cur_->skip_reason), fmt, ap);
    va_end(ap);
    /* A reason goes after "# SKIP" on one TAP line: no newlines in it. */
    for (char *p = th_cur_->skip_reason; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

#define SKIP(statement, ...) do { th_set_skip_(__VA_ARGS__); statement; } while (0)

static void __attribute__((unused, noreturn, format(printf, 1, 2)))
th_skip_all(const char *fmt, ...)
{
    va_list ap;

    printf("1..0 # SKIP ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    exit(TH_SKIP_EXIT);
}

/* ---- checks --------------------------------------------------------------- */

/* Called in the increment of the check's for-loop, after the optional trailing
 * statement: an ASSERT leaves the case, an EXPECT ends the loop. */
static int __attribute__((unused)) th_bail_(int is_assert)
{
    if (is_assert && th_cur_)
        longjmp(th_bail_jmp_, 1);
    return 0;
}

static void __attribute__((unused))
th_fail_cmp_(const char *file, int line, const char *check, const char *ea, const char *eb,
             int is_signed, unsigned long long a, unsigned long long b)
{
    if (th_cur_)
        th_cur_->failed = 1;
    if (is_signed)
        th_log_(file, line, "%s(%s, %s) failed: %s = %lld, %s = %lld",
                check, ea, eb, ea, (long long)a, eb, (long long)b);
    else
        th_log_(file, line, "%s(%s, %s) failed: %s = %llu (0x%llx), %s = %llu (0x%llx)",
                check, ea, eb, ea, a, a, eb, b, b);
}

static void __attribute__((unused))
th_fail_bool_(const char *file, int line, const char *check, const char *expr)
{
    if (th_cur_)
        th_cur_->failed = 1;
    th_log_(file, line, "%s(%s) failed", check, expr);
}

static void th_hex_(char *out, size_t outlen, const unsigned char *p, size_t n)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && o + 3 < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%02x", p[i]);
}

static int __attribute__((unused))
th_mem_check_(const char *file, int line, const char *check, const char *ea, const char *eb,
              const void *a, const void *b, size_t len)
{
    const unsigned char *pa = a, *pb = b;
    char ha[70], hb[70];
    size_t i, from, n;

    if (pa == pb || (pa && pb && memcmp(pa, pb, len) == 0) || len == 0)
        return 0;
    if (th_cur_)
        th_cur_->failed = 1;
    if (!pa || !pb) {
        th_log_(file, line, "%s(%s, %s, %zu) failed: NULL pointer", check, ea, eb, len);
        return 1;
    }
    for (i = 0; pa[i] == pb[i]; i++)
        ;
    from = i > 8 ? i - 8 : 0;
    n = len - from < 32 ? len - from : 32;
    th_hex_(ha, sizeof(ha), pa + from, n);
    th_hex_(hb, sizeof(hb), pb + from, n);
    th_log_(file, line, "%s(%s, %s, %zu) failed: first difference at offset %zu", check, ea, eb,
            len, i);
    th_log_(file, line, "  %s [%zu..]: %s", ea, from, ha);
    th_log_(file, line, "  %s [%zu..]: %s", eb, from, hb);
    return 1;
}

static int __attribute__((unused))
th_str_check_(const char *file, int line, const char *check, const char *ea, const char *eb,
              const char *a, const char *b, int want_equal)
{
    int equal = (a == b) || (a && b && strcmp(a, b) == 0);

    if (equal == want_equal)
        return 0;
    if (th_cur_)
        th_cur_->failed = 1;
    th_log_(file, line, "%s(%s, %s) failed: %s = \"%s\", %s = \"%s\"", check, ea, eb,
            ea, a ? a : "(null)", eb, b ? b : "(null)");
    return 1;
}

#define TH_IS_SIGNED_(x) ((__typeof__(x))-1 < (__typeof__(x))1)

/* Each operand is evaluated once. */
#define TH_CMP_(is_assert, check, a, op, b)                                          \
    for (int th_f_ = ({                                                              \
             __typeof__(a) th_a_ = (a);                                              \
             __typeof__(b) th_b_ = (b);                                              \
             int th_bad_ = !(th_a_ op th_b_);                                        \
             if (th_bad_)                                                            \
                 th_fail_cmp_(__FILE__, __LINE__, check, #a, #b,                     \
                              TH_IS_SIGNED_(th_a_) || TH_IS_SIGNED_(th_b_),          \
                              (unsigned long long)th_a_, (unsigned long long)th_b_); \
             th_bad_;                                                                \
         });                                                                         \
         th_f_; th_f_ = th_bail_(is_assert))

#define TH_BOOL_(is_assert, check, x, want)                                          \
    for (int th_f_ = ({                                                              \
             int th_bad_ = (!!(x)) != (want);                                        \
             if (th_bad_)                                                            \
                 th_fail_bool_(__FILE__, __LINE__, check, #x);                       \
             th_bad_;                                                                \
         });                                                                         \
         th_f_; th_f_ = th_bail_(is_assert))

#define TH_PTR_(is_assert, check, p, want_null)                                      \
    for (int th_f_ = ({                                                              \
             const void *th_p_ = (const void *)(p);                                  \
             int th_bad_ = (th_p_ == NULL) != (want_null);                           \
             if (th_bad_) {                                                          \
                 if (th_cur_)                                                        \
                     th_cur_->failed = 1;                                            \
                 th_log_(__FILE__, __LINE__, "%s(%s) failed: %s = %p", check, #p,    \
                         #p, th_p_);                                                 \
             }                                                                       \
             th_bad_;                                                                \
         });                                                                         \
         th_f_; th_f_ = th_bail_(is_assert))

#define TH_MEM_(is_assert, check, a, b, len)                                         \
    for (int th_f_ = th_mem_check_(__FILE__, __LINE__, check, #a, #b, (a), (b),     \
                                   (size_t)(len));                                   \
         th_f_; th_f_ = th_bail_(is_assert))

#define TH_STR_(is_assert, check, a, b, want_equal)                                  \
    for (int th_f_ = th_str_check_(__FILE__, __LINE__, check, #a, #b, (a), (b),     \
                                   want_equal);                                      \
         th_f_; th_f_ = th_bail_(is_assert))

#define ASSERT_EQ(a, b)         TH_CMP_(1, "ASSERT_EQ", a, ==, b)
#define ASSERT_NE(a, b)         TH_CMP_(1, "ASSERT_NE", a, !=, b)
#define ASSERT_LT(a, b)         TH_CMP_(1, "ASSERT_LT", a, <, b)
#define ASSERT_LE(a, b)         TH_CMP_(1, "ASSERT_LE", a, <=, b)
#define ASSERT_GT(a, b)         TH_CMP_(1, "ASSERT_GT", a, >, b)
#define ASSERT_GE(a, b)         TH_CMP_(1, "ASSERT_GE", a, >=, b)
#define ASSERT_TRUE(x)          TH_BOOL_(1, "ASSERT_TRUE", x, 1)
#define ASSERT_FALSE(x)         TH_BOOL_(1, "ASSERT_FALSE", x, 0)
#define ASSERT_NULL(p)          TH_PTR_(1, "ASSERT_NULL", p, 1)
#define ASSERT_NOT_NULL(p)      TH_PTR_(1, "ASSERT_NOT_NULL", p, 0)
#define ASSERT_MEM_EQ(a, b, n)  TH_MEM_(1, "ASSERT_MEM_EQ", a, b, n)
#define ASSERT_STR_EQ(a, b)     TH_STR_(1, "ASSERT_STR_EQ", a, b, 1)
#define ASSERT_STR_NE(a, b)     TH_STR_(1, "ASSERT_STR_NE", a, b, 0)

#define EXPECT_EQ(a, b)         TH_CMP_(0, "EXPECT_EQ", a, ==, b)
#define EXPECT_NE(a, b)         TH_CMP_(0, "EXPECT_NE", a, !=, b)
#define EXPECT_LT(a, b)         TH_CMP_(0, "EXPECT_LT", a, <, b)
#define EXPECT_LE(a, b)         TH_CMP_(0, "EXPECT_LE", a, <=, b)
#define EXPECT_GT(a, b)         TH_CMP_(0, "EXPECT_GT", a, >, b)
#define EXPECT_GE(a, b)         TH_CMP_(0, "EXPECT_GE", a, >=, b)
#define EXPECT_TRUE(x)          TH_BOOL_(0, "EXPECT_TRUE", x, 1)
#define EXPECT_FALSE(x)         TH_BOOL_(0, "EXPECT_FALSE", x, 0)
#define EXPECT_NULL(p)          TH_PTR_(0, "EXPECT_NULL", p, 1)
#define EXPECT_NOT_NULL(p)      TH_PTR_(0, "EXPECT_NOT_NULL", p, 0)
#define EXPECT_MEM_EQ(a, b, n)  TH_MEM_(0, "EXPECT_MEM_EQ", a, b, n)
#define EXPECT_STR_EQ(a, b)     TH_STR_(0, "EXPECT_STR_EQ", a, b, 1)
#define EXPECT_STR_NE(a, b)     TH_STR_(0, "EXPECT_STR_NE", a, b, 0)

/* ---- running -------------------------------------------------------------- */

static volatile pid_t th_child_;
static volatile sig_atomic_t th_timed_out_;

static void th_on_alarm_(int sig)
{
    (void)sig;
    th_timed_out_ = 1;
    if (th_child_ > 0) {
        kill(-th_child_, SIGKILL);
        kill(th_child_, SIGKILL);
    }
}

/* The running case sits in its own process group, out of reach of a terminal's
 * ^C or a supervisor's SIGTERM aimed at us: take it down with us. */
static void th_on_term_(int sig)
{
    if (th_child_ > 0) {
        kill(-th_child_, SIGKILL);
        kill(th_child_, SIGKILL);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* In the child: setup, body, teardown. An ASSERT anywhere longjmps back here;
 * teardown still runs once setup has started, so resources are released. */
static void th_run_case_(struct th_meta *m, const struct th_test *t, const void *variant)
{
    const struct th_fixture *const f = t->fixture;
    void *volatile self = NULL;     /* read again after longjmp */

    if (f) {
        self = calloc(1, f->data_size ? f->data_size : 1);
        if (!self) {
            TH_LOG("out of memory for fixture %s", f->name);
            m->failed = 1;
            return;
        }
    }
    th_stage_ = TH_STAGE_SETUP;
    if (setjmp(th_bail_jmp_) == 0) {
        if (f && f->setup)
            f->setup(m, self, variant);
        if (!m->failed && !m->skipped) {
            th_stage_ = TH_STAGE_BODY;
            t->fn(m, self, variant);
        }
    }
    if (th_stage_ != TH_STAGE_TEARDOWN && th_stage_ != TH_STAGE_DONE) {
        th_stage_ = TH_STAGE_TEARDOWN;
        if (setjmp(th_bail_jmp_) == 0) {
            if (f && f->teardown)
                f->teardown(m, self, variant);
        }
    }
    th_stage_ = TH_STAGE_DONE;
    free(self);
}

static int th_timeout_for_(const struct th_test *t)
{
    const char *env = getenv("TH_TIMEOUT");

    int slow = env ? atoi(env) : 0;

    /* A case's own short limit catches a hang quickly; a slow build (valgrind,
     * ThreadSanitizer: TH_TIMEOUT set for the slowdown) raises it too. */
    if (t->timeout > 0)
        return slow > t->timeout ? slow : t->timeout;
    if (slow > 0)
        return slow;
    return TH_DEFAULT_TIMEOUT;
}

enum { TH_PASS, TH_FAIL, TH_SKIPPED };

/* Fork, run, wait, and turn what happened into a verdict. Diagnostics go out
 * as "# " lines before the parent prints the TAP line. */
static int th_fork_case_(struct th_meta *m, const struct th_test *t, const void *variant,
                         const char *full)
{
    int timeout = th_timeout_for_(t), status = 0;
    pid_t pid;

    memset(m, 0, sizeof(*m));
    m->name = full;
    fflush(stdout);
    fflush(stderr);
    th_timed_out_ = 0;
    pid = fork();
    if (pid < 0) {
        printf("# %s: fork: %s\n", full, strerror(errno));
        return TH_FAIL;
    }
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGALRM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        th_cur_ = m;
        th_run_case_(m, t, variant);
        fflush(stdout);
        exit(m->failed ? 1 : m->skipped ? TH_SKIP_EXIT : 0);
    }
    /* Both sides set the group, so the parent's kill(-pid) cannot race it. */
    setpgid(pid, pid);
    th_child_ = pid;
    alarm((unsigned)timeout);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            printf("# %s: waitpid: %s\n", full, strerror(errno));
            break;
        }
    }
    alarm(0);
    th_child_ = 0;
    /* Whatever the case left running in its process group goes with it. */
    kill(-pid, SIGKILL);

    if (th_timed_out_) {
        printf("# %s: timed out after %d s\n", full, timeout);
        return TH_FAIL;
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (t->signal && sig == t->signal && !m->failed)
            return TH_PASS;
        printf("# %s: killed by signal %d (%s)\n", full, sig, strsignal(sig));
        return TH_FAIL;
    }
    if (t->signal) {
        printf("# %s: expected signal %d, exited with status %d\n", full, t->signal,
               WEXITSTATUS(status));
        return TH_FAIL;
    }
    /* The shared verdict wins: a failed EXPECT fails the case even if the
     * body called exit(0) itself. */
    if (m->failed)
        return TH_FAIL;
    if (WEXITSTATUS(status) == TH_SKIP_EXIT) {
        if (!m->skipped)
            snprintf(m->skip_reason, sizeof(m->skip_reason), "exit status 77");
        return TH_SKIPPED;
    }
    if (WEXITSTATUS(status) != 0) {
        printf("# %s: exited with status %d\n", full, WEXITSTATUS(status));
        return TH_FAIL;
    }
    return m->skipped ? TH_SKIPPED : TH_PASS;
}

static void th_case_name_(char *out, size_t n, const struct th_test *t,
                          const struct th_variant *v)
{
    if (!t->fixture)
        snprintf(out, n, "%s", t->name);
    else if (v)
        snprintf(out, n, "%s.%s.%s", t->fixture->name, v->name, t->name);
    else
        snprintf(out, n, "%s.%s", t->fixture->name, t->name);
}

/* Calls fn for every (test, variant) pair whose name matches filter. */
static int th_each_case_(const char *filter, int (*fn)(void *, const struct th_test *,
                         const struct th_variant *, const char *), void *arg)
{
    char full[512];
    int count = 0;

    for (const struct th_test *t = th_tests_; t; t = t->next) {
        const struct th_variant *v = t->fixture ? t->fixture->variants : NULL;
        do {
            th_case_name_(full, sizeof(full), t, v);
            if (!filter || strstr(full, filter)) {
                count++;
                if (fn)
                    fn(arg, t, v, full);
            }
            v = v ? v->next : NULL;
        } while (v);
    }
    return count;
}

struct th_totals {
    struct th_meta *m;
    int n, passed, failed, skipped;
    int sample;                   /* TH_SAMPLE: run 1 case in this many (0, 1: all) */
};

/* TH_SAMPLE=K (the valgrind suite, for programs that are long matrices of
 * handshakes: one costs a second of CPU there, and the matrix repeats the
 * same code under other keys and suites): cases 1, K+1, 2K+1... run, the
 * others are counted as skips that say so. The unit and asan suites run
 * every case. */
static int th_sampled_out_(const struct th_totals *tt)
{
    return tt->sample > 1 && (tt->n - 1) % tt->sample != 0;
}

static int th_list_one_(void *arg, const struct th_test *t, const struct th_variant *v,
                        const char *full)
{
    (void)arg; (void)t; (void)v;
    printf("%s\n", full);
    return 0;
}

static int th_run_one_(void *arg, const struct th_test *t, const struct th_variant *v,
                       const char *full)
{
    struct th_totals *tt = arg;
    tt->n++;
    if (th_sampled_out_(tt)) {
        tt->skipped++;
        printf("ok %d - %s # SKIP sampled out (TH_SAMPLE=%d: 1 case in %d runs here; "
               "the unit and asan suites run it)\n", tt->n, full, tt->sample, tt->sample);
        fflush(stdout);
        return 0;
    }
    int r = th_fork_case_(tt->m, t, v ? v->data : NULL, full);

    if (r == TH_PASS) {
        tt->passed++;
        printf("ok %d - %s\n", tt->n, full);
    } else if (r == TH_SKIPPED) {
        tt->skipped++;
        printf("ok %d - %s # SKIP %s\n", tt->n, full, tt->m->skip_reason);
    } else {
        tt->failed++;
        printf("not ok %d - %s\n", tt->n, full);
    }
    fflush(stdout);
    return 0;
}

static int __attribute__((unused)) th_main(int argc, char **argv)
{
    struct th_totals tt = { 0 };
    struct sigaction sa;
    const char *filter = NULL;
    int list = 0, total;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-l") == 0) {
            list = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: %s [-l] [FILTER]\n", argv[0]);
            return 0;
        } else {
            filter = argv[i];
        }
    }
    if (list) {
        th_each_case_(filter, th_list_one_, NULL);
        return 0;
    }
    /* Line buffering keeps our lines and the children's in order in a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    tt.m = mmap(NULL, sizeof(struct th_meta), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (tt.m == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = th_on_alarm_;    /* no SA_RESTART: waitpid must see EINTR */
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = th_on_term_;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    const char *sample = getenv("TH_SAMPLE");
    tt.sample = sample ? atoi(sample) : 0;
    total = th_each_case_(filter, NULL, NULL);
    printf("TAP version 13\n1..%d\n", total);
    th_each_case_(filter, th_run_one_, &tt);
    printf("# %d passed, %d failed, %d skipped\n", tt.passed, tt.failed, tt.skipped);
    fflush(stdout);
    munmap(tt.m, sizeof(struct th_meta));
    return tt.failed ? 1 : 0;
}

#define TEST_HARNESS_MAIN \
    int main(int argc, char **argv) { return th_main(argc, argv); }

#endif
