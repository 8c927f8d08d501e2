/* symclash_nk.c — a shared object linked against libnktls, loaded by
 * test_symbols next to one linked against OpenSSL's libssl. It reports where
 * its own reference to SSL_connect was bound.
 *
 * The prototype is declared here rather than taken from ssl/ssl.h: only the
 * address is used (never called), so this test depends on nothing but the
 * library's exported symbol table. */
#include <dlfcn.h>
#include <string.h>

struct certStore;
extern int SSL_connect(int sock, unsigned char idLen, unsigned char *id, unsigned char *ms,
                       const signed char *dnsName, struct certStore *store);

__attribute__((visibility("default"))) int nk_side(void);

/* 1 when this object's SSL_connect is libnktls's, 0 otherwise. */
int nk_side(void)
{
    Dl_info info;

    if (!dladdr((void *)SSL_connect, &info) || !info.dli_fname)
        return 0;
    return strstr(info.dli_fname, "libnktls") != NULL;
}

__attribute__((visibility("default"))) void *nk_side_addr(void);
void *nk_side_addr(void)
{
    return (void *)SSL_connect;
}
