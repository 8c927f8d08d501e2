/* test_ticket_keys.c — the session-ticket key set (handshake/ticket_keys.c)
 * and NKTLS_loadTicketKeys: the key file's form (docs/ticket-keys.md), each
 * malformed line refused with ERR_TICKET_KEYS_FORMAT and its line number
 * while the set in use stays, and which key seals and which open at a given
 * time (the newest in use seals; older ones open until their end). Each case
 * is its own process, so each starts from the random key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "core/nk.h"
#include "handshake/ticket_keys.h"
#include "common/mocana.h"
#include "nktls.h"

#define NAME_A "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"
#define NAME_B "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
#define KEY_A  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B  "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF0001020304050607080900AABBCCDDEE"

static MSTATUS parse(const char *text, unsigned *line)
{
    return nk_ticket_keys_parse(text, strlen(text), line);
}

static void name_of(const char *hex, uint8_t out[16])
{
    for (int i = 0; i < 16; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* Two keys: A from 1000 until 5000, B from 2000 with no end. */
static const char two_keys[] =
    "# the fleet's keys\n"
    "nktls-ticket-keys 1\n"
    "\n"
    NAME_A " " KEY_A " 1000 5000\n"
    "  " NAME_B "\t" KEY_B " 2000 0\r\n";

TEST(seal_and_open_by_time)
{
    unsigned line = 99;
    uint8_t a[16], b[16];
    struct nk_ticket_key k;
    name_of(NAME_A, a);
    name_of(NAME_B, b);
    ASSERT_EQ(parse(two_keys, &line), OK);
    EXPECT_EQ(line, 0u);
    /* Before either is in use: the earliest seals. */
    ASSERT_EQ(nk_ticket_key_seal(500, &k), OK);
    ASSERT_MEM_EQ(k.name, a, 16);
    EXPECT_EQ(k.key[1], 0x01);
    EXPECT_EQ(k.key[31], 0x1f);
    /* A alone in use. */
    ASSERT_EQ(nk_ticket_key_seal(1500, &k), OK);
    ASSERT_MEM_EQ(k.name, a, 16);
    /* B is newer: it seals from 2000; A still opens until 5000. */
    ASSERT_EQ(nk_ticket_key_seal(2000, &k), OK);
    ASSERT_MEM_EQ(k.name, b, 16);
    EXPECT_EQ(k.key[0], 0xf0);
    EXPECT_EQ(k.key[31], 0xee);
    ASSERT_EQ(nk_ticket_key_open(a, 4999, &k), OK);
    EXPECT_EQ(k.not_after, 5000);
    EXPECT_EQ(nk_ticket_key_open(a, 5000, &k), ERR_SSL_HANDSHAKE_FAILURE);
    /* B opens even before its time (another server's clock may be ahead). */
    ASSERT_EQ(nk_ticket_key_open(b, 10, &k), OK);
    ASSERT_EQ(nk_ticket_key_open(b, 1000000, &k), OK);
    uint8_t other[16] = { 0 };
    EXPECT_EQ(nk_ticket_key_open(other, 1500, &k), ERR_SSL_HANDSHAKE_FAILURE);
}

TEST(every_key_ended)
{
    unsigned line;
    struct nk_ticket_key k;
    ASSERT_EQ(parse("nktls-ticket-keys 1\n" NAME_A " " KEY_A " 10 20\n", &line), OK);
    ASSERT_EQ(nk_ticket_key_seal(15, &k), OK);
    EXPECT_EQ(nk_ticket_key_seal(20, &k), ERR_SSL_HANDSHAKE_FAILURE);
}

/* Without a file: one random key, which seals and opens at any time. */
TEST(random_key_by_default)
{
    struct nk_ticket_key k, again;
    ASSERT_EQ(nk_ticket_key_seal(0, &k), OK);
    ASSERT_EQ(nk_ticket_key_open(k.name, 1LL << 40, &again), OK);
    ASSERT_MEM_EQ(again.key, k.key, 32);
    EXPECT_EQ(k.not_after, 0);
}

struct bad {
    const char *text;
    unsigned line;
};

static const struct bad bad_files[] = {
    { "", 1 },                                                              /* nothing */
    { "# only a comment\n", 2 },                                            /* no header */
    { "nktls-ticket-keys 2\n" NAME_A " " KEY_A " 1 0\n", 1 },               /* another version */
    { NAME_A " " KEY_A " 1 0\n", 1 },                                       /* no header */
    { "nktls-ticket-keys 1\n", 2 },                                         /* no key */
    { "nktls-ticket-keys 1\n" NAME_A "0 " KEY_A " 1 0\n", 2 },              /* name too long */
    { "nktls-ticket-keys 1\na0a0 " KEY_A " 1 0\n", 2 },                     /* name too short */
    { "nktls-ticket-keys 1\n" NAME_A " " KEY_A "g 1 0\n", 2 },              /* key: not hex */
    { "nktls-ticket-keys 1\n" NAME_A " zz" KEY_A " 1 0\n", 2 },             /* key: not hex */
    { "nktls-ticket-keys 1\n" NAME_A " " KEY_A " 1\n", 2 },                 /* no not_after */
    { "nktls-ticket-keys 1\n" NAME_A " " KEY_A " 1 0 x\n", 2 },             /* more fields */
    { "nktls-ticket-keys 1\n" NAME_A " " KEY_A " -1 0\n", 2 },              /* negative */
    { "nktls-ticket-keys 1\n" NAME_A " " KEY_A " 50 50\n", 2 },             /* ends as it starts */
    { "nktls-ticket-keys 1\n" NAME_A " " KEY_A " 1 0\n" NAME_A " " KEY_B " 2 0\n", 3 },   /* name twice */
    { "nktls-ticket-keys 1\n" NAME_A " " KEY_A " 1234567890123456789 0\n", 2 },          /* too large */
};

TEST(malformed_files_refused)
{
    struct nk_ticket_key before, after;
    ASSERT_EQ(nk_ticket_key_seal(0, &before), OK);
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        unsigned line = 0;
        EXPECT_EQ(parse(bad_files[i].text, &line), ERR_TICKET_KEYS_FORMAT) TH_LOG("file %zu", i);
        EXPECT_EQ(line, bad_files[i].line) TH_LOG("file %zu", i);
    }
    /* The set in use is the one before. */
    ASSERT_EQ(nk_ticket_key_seal(0, &after), OK);
    ASSERT_MEM_EQ(after.name, before.name, 16);
    ASSERT_MEM_EQ(after.key, before.key, 32);
}

TEST(seventeen_keys_refused)
{
    char text[4096] = "nktls-ticket-keys 1\n";
    unsigned line;
    for (int i = 0; i < 17; i++) {
        char l[160];
        snprintf(l, sizeof l, "%030x%02x %s %d 0\n", 0, i, KEY_A, i + 1);
        strcat(text, l);
    }
    EXPECT_EQ(parse(text, &line), ERR_TICKET_KEYS_FORMAT);
    EXPECT_EQ(line, 18u);
    text[strlen(text) - 1] = 0;
    *strrchr(text, '\n') = 0;   /* 16 keys */
    EXPECT_EQ(parse(text, &line), OK);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST(load_from_a_file)
{
    char path[] = "/tmp/nktls-keys-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    struct nk_ticket_key k;
    uint8_t b[16];
    name_of(NAME_B, b);
    write_file(path, two_keys);
    EXPECT_EQ(NKTLS_loadTicketKeys(path), OK);
    EXPECT_EQ(nk_ticket_key_seal(3000, &k), OK);
    EXPECT_MEM_EQ(k.name, b, 16);
    write_file(path, "nktls-ticket-keys 1\nnot a key\n");
    EXPECT_EQ(NKTLS_loadTicketKeys(path), ERR_TICKET_KEYS_FORMAT);
    EXPECT_EQ(nk_ticket_key_seal(3000, &k), OK);   /* still the good set */
    EXPECT_MEM_EQ(k.name, b, 16);
    unlink(path);
    EXPECT_EQ(NKTLS_loadTicketKeys(path), ERR_FILE_OPEN_FAILED);
    EXPECT_EQ(NKTLS_loadTicketKeys(NULL), ERR_NULL_POINTER);
}

TEST_HARNESS_MAIN
