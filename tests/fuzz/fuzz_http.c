/* fuzz_http.c — libFuzzer target: the request parser of the file server
 * (examples/http_parse.c, what `nktls-server --root` runs on every byte a
 * client sends before it touches a file). The input is what arrived on the
 * connection. Besides "no crash, no overread" (the sanitizers), it checks
 * what the file server relies on: finding the head's end in two reads gives
 * the answer one read gives; a parsed request's method and target lie inside
 * the head; a path never holds a ".." segment nor starts with '/'; a byte
 * range lies inside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/http_parse.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static char buf[HTTP_HEAD_MAX];

/* The head's end found in one read, and in two split at `split`. */
static size_t head_end(size_t used, size_t split)
{
    size_t scanned = 0, one = http_find_head_end(buf, used, &scanned), two;

    scanned = 0;
    two = http_find_head_end(buf, split, &scanned);
    if (!two)
        two = http_find_head_end(buf, used, &scanned);
    CHECK(one == two);
    CHECK(one <= used);
    return one;
}

static void check_path(const char *target)
{
    char path[HTTP_PATH_CAP];
    const char *p;

    if (http_target_path(target, path, sizeof(path)) != 0)
        return;
    CHECK(strlen(path) < sizeof(path) && path[0] && path[0] != '/');
    for (p = path; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
        CHECK(strncmp(p, "..", 2) != 0 || (p[2] != '/' && p[2] != '\0'));
}

static void check_range(const char *range)
{
    static const unsigned long long sizes[] = { 0, 1, 2, 1000, 1ULL << 40 };
    size_t i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned long long first = 0, last = 0;
        int st = http_eval_range(range, sizes[i], &first, &last);
        CHECK(st == 200 || st == 206 || st == 416);
        if (st == 206)
            CHECK(first <= last && last < sizes[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t used = size < sizeof(buf) ? size : sizeof(buf), skip, end;
    struct http_req rq;
    int st;

    memcpy(buf, data, used);
    skip = http_skip_empty_lines(buf, used);
    CHECK(skip <= used);
    memmove(buf, buf + skip, used - skip);
    used -= skip;
    end = head_end(used, used ? data[0] % (used + 1) : 0);
    if (!end)
        return 0;
    st = http_parse_head(buf, end, &rq);
    if (st != 0) {
        CHECK(st == 400 || st == 505);
        return 0;
    }
    CHECK(rq.method >= buf && rq.method < buf + end);
    CHECK(rq.target >= buf && rq.target < buf + end);
    CHECK(rq.content_length >= -1);
    (void)http_keep_alive(&rq);
    check_path(rq.target);
    if (rq.range)
        check_range(rq.range);
    return 0;
}
