/* test_symbols.c — nktls and OpenSSL's libssl export some of the same names
 * (SSL_connect, ...). This checks, from the shared library's symbol table
 * alone, that a process holding both still gives each caller its own:
 * only versioned public names are exported, internals stay hidden, and two
 * objects linked one to each library bind to the right SSL_connect however
 * the libraries were loaded. Nothing here calls into nktls. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>

#include "harness.h"

#ifndef NKTLS_SHARED_LIB
#error "NKTLS_SHARED_LIB must give the path of the built libnktls.so"
#endif
#ifndef SYMCLASH_OSSL
#error "SYMCLASH_OSSL must give the path of the symclash_ossl module"
#endif
#ifndef SYMCLASH_NK
#error "SYMCLASH_NK must give the path of the symclash_nk module"
#endif
#ifndef NKTLS_MAP
#error "NKTLS_MAP must give the path of nktls.map"
#endif

#define LIBSSL "libssl.so.3"
#define NK_VERSION "NKTLS_1.0"

static void *open_or_log(const char *path, int flags)
{
    void *h = dlopen(path, flags);

    if (!h)
        TH_LOG("dlopen %s: %s", path, dlerror());
    return h;
}

static const char *defining_file(void *addr)
{
    Dl_info info;

    if (!addr || !dladdr(addr, &info) || !info.dli_fname)
        return "";
    return info.dli_fname;
}

TEST(ssl_connect_distinct)
{
    void *ssl = open_or_log(LIBSSL, RTLD_NOW | RTLD_LOCAL);
    void *nk = open_or_log(NKTLS_SHARED_LIB, RTLD_NOW | RTLD_LOCAL);
    void *f_ssl, *f_nk;

    ASSERT_NOT_NULL(ssl);
    ASSERT_NOT_NULL(nk);
    f_ssl = dlsym(ssl, "SSL_connect");
    f_nk = dlsym(nk, "SSL_connect");
    ASSERT_NOT_NULL(f_ssl);
    ASSERT_NOT_NULL(f_nk);
    EXPECT_NE(f_ssl, f_nk);
    EXPECT_NOT_NULL(strstr(defining_file(f_ssl), "libssl")) TH_LOG("%s", defining_file(f_ssl));
    EXPECT_NOT_NULL(strstr(defining_file(f_nk), "libnktls")) TH_LOG("%s", defining_file(f_nk));
    dlclose(nk);
    dlclose(ssl);
}

TEST(ssl_connect_versioned)
{
    void *nk = open_or_log(NKTLS_SHARED_LIB, RTLD_NOW | RTLD_LOCAL);
    void *plain, *versioned;

    ASSERT_NOT_NULL(nk);
    plain = dlsym(nk, "SSL_connect");
    versioned = dlvsym(nk, "SSL_connect", NK_VERSION);
    ASSERT_NOT_NULL(versioned) TH_LOG("SSL_connect@%s: %s", NK_VERSION, dlerror());
    EXPECT_EQ(plain, versioned);
    /* An unversioned library would answer any version; a versioned one only its own. */
    EXPECT_NULL(dlvsym(nk, "SSL_connect", "NKTLS_0.0_NOT_A_VERSION"));
    dlclose(nk);
}

TEST(internal_symbols_hidden)
{
    static const char *const internal[] = {
        "nk_rd_u8", "nk_rd_vec16", "nk_wr_u16", "nk_crypto_init", "nk_hkdf_expand_label",
        "nk_alert_for", "nk_buf_append", "nk_log", "nk_srtp_protect", "nk_srtp_kdf",
    };
    void *nk = open_or_log(NKTLS_SHARED_LIB, RTLD_NOW | RTLD_LOCAL);

    ASSERT_NOT_NULL(nk);
    for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
        EXPECT_NULL(dlsym(nk, internal[i])) TH_LOG("%s is exported", internal[i]);
    dlclose(nk);
}

/* Every name the linker map exports is defined: a name in the map (and in a
 * public header) that no source file defines would leave programs that call
 * it unable to link, and the version script would not say so. */
TEST(every_map_name_defined)
{
    FILE *f = fopen(NKTLS_MAP, "r");
    void *nk = open_or_log(NKTLS_SHARED_LIB, RTLD_NOW | RTLD_LOCAL);
    char line[256];
    int in_global = 0, names = 0;

    ASSERT_NOT_NULL(f) TH_LOG("cannot open %s", NKTLS_MAP);
    ASSERT_NOT_NULL(nk);
    while (fgets(line, sizeof line, f)) {
        char name[128];
        if (strstr(line, "global:"))
            in_global = 1;
        else if (strstr(line, "local:"))
            in_global = 0;
        else if (in_global && sscanf(line, " %127[A-Za-z0-9_];", name) == 1) {
            names++;
            EXPECT_NOT_NULL(dlvsym(nk, name, NK_VERSION)) TH_LOG("%s is in nktls.map but not defined", name);
        }
    }
    fclose(f);
    TH_LOG("%d names in nktls.map", names);
    EXPECT_GT(names, 100);
    dlclose(nk);
}

/* Newer TrustCore code calls DIGICERT_* where older code calls MOCANA_*: both
 * names are exported, versioned, and are one function. */
TEST(digicert_aliases)
{
    static const char *const pairs[][2] = {
        { "DIGICERT_initDigicert", "MOCANA_initMocana" },
        { "DIGICERT_freeDigicert", "MOCANA_freeMocana" },
        { "DIGICERT_initLog", "MOCANA_initLog" },
        { "DIGICERT_readFile", "MOCANA_readFile" },
        { "DIGICERT_freeReadFile", "MOCANA_freeReadFile" },
        { "DIGICERT_writeFile", "MOCANA_writeFile" },
    };
    void *nk = open_or_log(NKTLS_SHARED_LIB, RTLD_NOW | RTLD_LOCAL);

    ASSERT_NOT_NULL(nk);
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        void *a = dlvsym(nk, pairs[i][0], NK_VERSION), *b = dlvsym(nk, pairs[i][1], NK_VERSION);
        EXPECT_NOT_NULL(a) TH_LOG("%s@%s is not exported", pairs[i][0], NK_VERSION);
        EXPECT_TRUE(a == b) TH_LOG("%s is not %s", pairs[i][0], pairs[i][1]);
    }
    dlclose(nk);
}

/* ---- the dynamic symbol table, read from the file ---- */

struct elf_file {
    unsigned char *data;
    size_t size;
};

static int read_file(const char *path, struct elf_file *f)
{
    struct stat st;
    ssize_t n;
    size_t got = 0;
    int fd = open(path, O_RDONLY);

    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    f->size = (size_t)st.st_size;
    f->data = malloc(f->size ? f->size : 1);
    while (f->data && got < f->size && (n = read(fd, f->data + got, f->size - got)) > 0)
        got += (size_t)n;
    close(fd);
    return f->data && got == f->size ? 0 : -1;
}

/* The section's bytes, or NULL when it lies outside the file. */
static const void *section_at(const struct elf_file *f, const Elf64_Shdr *sh)
{
    if (sh->sh_offset > f->size || sh->sh_size > f->size - sh->sh_offset)
        return NULL;
    return f->data + sh->sh_offset;
}

static const char *str_at(const struct elf_file *f, const Elf64_Shdr *strtab, size_t off)
{
    const char *s = section_at(f, strtab);

    if (!s || off >= strtab->sh_size || !memchr(s + off, '\0', strtab->sh_size - off))
        return NULL;
    return s + off;
}

/* Name of version index ndx from .gnu.version_d, NULL if not defined there. */
static const char *version_name(const struct elf_file *f, const Elf64_Shdr *verdef,
                                const Elf64_Shdr *strtab, unsigned ndx)
{
    size_t off = 0;

    for (unsigned i = 0; verdef && i < verdef->sh_info; i++) {
        const Elf64_Verdef *vd;
        const Elf64_Verdaux *aux;

        if (off + sizeof(*vd) > verdef->sh_size)
            return NULL;
        vd = (const Elf64_Verdef *)((const unsigned char *)section_at(f, verdef) + off);
        if (vd->vd_ndx == ndx && !(vd->vd_flags & VER_FLG_BASE)) {
            if (off + vd->vd_aux + sizeof(*aux) > verdef->sh_size)
                return NULL;
            aux = (const Elf64_Verdaux *)((const unsigned char *)vd + vd->vd_aux);
            return str_at(f, strtab, aux->vda_name);
        }
        if (!vd->vd_next)
            break;
        off += vd->vd_next;
    }
    return NULL;
}

TEST(exports_all_versioned)
{
    struct elf_file f = { 0 };
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh, *dynsym = NULL, *versym = NULL, *verdef = NULL, *dynstr, *verstr;
    const Elf64_Sym *syms;
    const Elf64_Half *vers;
    size_t nsyms, exported = 0;

    ASSERT_EQ(read_file(NKTLS_SHARED_LIB, &f), 0) TH_LOG("cannot read %s", NKTLS_SHARED_LIB);
    ASSERT_GE(f.size, sizeof(*eh));
    eh = (const Elf64_Ehdr *)f.data;
    ASSERT_MEM_EQ(eh->e_ident, ELFMAG, SELFMAG);
    ASSERT_EQ(eh->e_ident[EI_CLASS], ELFCLASS64);
    ASSERT_EQ(eh->e_shentsize, sizeof(Elf64_Shdr));
    ASSERT_LE(eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr), f.size);
    sh = (const Elf64_Shdr *)(f.data + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_DYNSYM)
            dynsym = &sh[i];
        else if (sh[i].sh_type == SHT_GNU_versym)
            versym = &sh[i];
        else if (sh[i].sh_type == SHT_GNU_verdef)
            verdef = &sh[i];
    }
    ASSERT_NOT_NULL(dynsym);
    ASSERT_NOT_NULL(versym) TH_LOG("no .gnu.version: the library has no symbol versions");
    ASSERT_NOT_NULL(verdef) TH_LOG("no .gnu.version_d: the library defines no versions");
    ASSERT_LT(dynsym->sh_link, eh->e_shnum);
    ASSERT_LT(verdef->sh_link, eh->e_shnum);
    dynstr = &sh[dynsym->sh_link];
    verstr = &sh[verdef->sh_link];
    syms = section_at(&f, dynsym);
    vers = section_at(&f, versym);
    ASSERT_NOT_NULL(syms);
    ASSERT_NOT_NULL(vers);
    nsyms = dynsym->sh_size / sizeof(Elf64_Sym);
    ASSERT_EQ(versym->sh_size / sizeof(Elf64_Half), nsyms);

    for (size_t i = 1; i < nsyms; i++) {
        const Elf64_Sym *s = &syms[i];
        unsigned bind = ELF64_ST_BIND(s->st_info), ndx = vers[i] & 0x7fff;
        const char *name = str_at(&f, dynstr, s->st_name), *ver;

        if (s->st_shndx == SHN_UNDEF || bind == STB_LOCAL)
            continue;
        EXPECT_NOT_NULL(name);
        if (!name)
            continue;
        /* The version nodes themselves appear as absolute symbols. */
        if (s->st_shndx == SHN_ABS && strncmp(name, "NKTLS", 5) == 0)
            continue;
        exported++;
        ver = version_name(&f, verdef, verstr, ndx);
        EXPECT_TRUE(ver && strncmp(ver, "NKTLS", 5) == 0)
            TH_LOG("%s is exported with version %s", name, ver ? ver : "(none)");
        EXPECT_NE(strncmp(name, "nk_", 3), 0) TH_LOG("internal %s is exported", name);
    }
    TH_LOG("%zu exported symbols, all versioned", exported);
    EXPECT_GT(exported, 0u);
    free(f.data);
}

/* ---- two callers in one process, one linked to each library ---- */

FIXTURE(symclash) {
    void *pre, *ossl, *nk;
    int (*ossl_side)(void);
    int (*nk_side)(void);
    void *(*ossl_addr)(void);
    void *(*nk_addr)(void);
};

/* What is loaded first, into the global scope, before the two callers. A
 * library loaded RTLD_GLOBAL first would win every unversioned lookup. */
FIXTURE_VARIANT(symclash) {
    const char *preload;
};

FIXTURE_VARIANT_ADD(symclash, local) { .preload = NULL };
FIXTURE_VARIANT_ADD(symclash, libssl_global_first) { .preload = LIBSSL };
FIXTURE_VARIANT_ADD(symclash, nktls_global_first) { .preload = NKTLS_SHARED_LIB };

FIXTURE_SETUP(symclash)
{
    if (variant->preload) {
        self->pre = open_or_log(variant->preload, RTLD_NOW | RTLD_GLOBAL);
        ASSERT_NOT_NULL(self->pre);
    }
    self->ossl = open_or_log(SYMCLASH_OSSL, RTLD_NOW | RTLD_LOCAL);
    self->nk = open_or_log(SYMCLASH_NK, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NOT_NULL(self->ossl);
    ASSERT_NOT_NULL(self->nk);
    *(void **)&self->ossl_side = dlsym(self->ossl, "ossl_side");
    *(void **)&self->ossl_addr = dlsym(self->ossl, "ossl_side_addr");
    *(void **)&self->nk_side = dlsym(self->nk, "nk_side");
    *(void **)&self->nk_addr = dlsym(self->nk, "nk_side_addr");
    ASSERT_NOT_NULL(self->ossl_side);
    ASSERT_NOT_NULL(self->ossl_addr);
    ASSERT_NOT_NULL(self->nk_side);
    ASSERT_NOT_NULL(self->nk_addr);
}

FIXTURE_TEARDOWN(symclash)
{
    if (self->nk)
        dlclose(self->nk);
    if (self->ossl)
        dlclose(self->ossl);
    if (self->pre)
        dlclose(self->pre);
}

TEST_F(symclash, each_caller_gets_its_own)
{
    void *a = self->ossl_addr(), *b = self->nk_addr();

    EXPECT_EQ(self->ossl_side(), 1) TH_LOG("libssl caller bound to %s", defining_file(a));
    EXPECT_EQ(self->nk_side(), 1) TH_LOG("nktls caller bound to %s", defining_file(b));
    EXPECT_NE(a, b);
}

TEST_HARNESS_MAIN
