/* symclash_ossl.c — a shared object linked against OpenSSL's libssl, loaded by
 * test_symbols next to one linked against nktls. It reports where its own
 * reference to SSL_connect was bound. */
#include <dlfcn.h>
#include <string.h>
#include <openssl/ssl.h>

__attribute__((visibility("default"))) int ossl_side(void);

/* 1 when this object's SSL_connect is libssl's, 0 otherwise. */
int ossl_side(void)
{
    int (*fn)(SSL *) = SSL_connect;
    Dl_info info;

    if (!dladdr((void *)fn, &info) || !info.dli_fname)
        return 0;
    return strstr(info.dli_fname, "libssl") != NULL;
}

/* The address itself, so the test can compare it with dlsym's answers. */
__attribute__((visibility("default"))) void *ossl_side_addr(void);
void *ossl_side_addr(void)
{
    return (void *)SSL_connect;
}
