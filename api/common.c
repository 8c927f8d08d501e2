/* api/common.c — the "common" public calls: start-up, logging, files, error
 * names. The helpers under them are core/'s (buf.c, log.c, alert.c).
 * Each MOCANA_* call is exported a second time as DIGICERT_* (newer TrustCore
 * code's spelling): an ELF alias of the same function, not a wrapper. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>

#include "core/nk.h"
#include "core/crypto.h"
#include "common/mocana.h"

/* ---- start-up and shutdown ---- */

NK_API sbyte4 MOCANA_initMocana(void)
{
    return nk_crypto_init();
}

NK_API sbyte4 MOCANA_freeMocana(void)
{
    nk_crypto_shutdown();
    return OK;
}

/* The function declared after it is target's second exported name (target is
 * defined above it, in this file). */
#define NK_ALIAS(target) NK_API __attribute__((alias(#target)))

NK_ALIAS(MOCANA_initMocana) sbyte4 DIGICERT_initDigicert(void);
NK_ALIAS(MOCANA_freeMocana) sbyte4 DIGICERT_freeDigicert(void);

/* ---- logging ---- */

NK_API MSTATUS MOCANA_initLog(logFn lf)
{
    nk_log_set_sink(lf);
    return OK;
}

NK_ALIAS(MOCANA_initLog) MSTATUS DIGICERT_initLog(logFn lf);

NK_API void NKTLS_logError(const char *pFile, sbyte4 line, sbyte4 errorCode)
{
    nk_log(LS_MINOR, "%s:%d: %s (%d)", pFile ? pFile : "?", (int)line,
           (const char *)MERROR_lookUpErrorCode((MSTATUS)errorCode), (int)errorCode);
}

/* ---- files ---- */

/* Read f to EOF rather than trusting its size: works for pipes and /proc too. */
static MSTATUS read_all(FILE *f, ubyte **pbuf, size_t *plen)
{
    ubyte *buf = NULL;
    size_t len = 0, cap = 0;

    for (;;) {
        size_t n;
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            ubyte *nbuf = ncap <= UINT32_MAX ? realloc(buf, ncap) : NULL;
            if (!nbuf) {
                free(buf);
                return ncap <= UINT32_MAX ? ERR_MEM_ALLOC_FAIL : ERR_FILE_READ_FAILED;
            }
            buf = nbuf;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return ERR_FILE_READ_FAILED;
    }
    *pbuf = buf;
    *plen = len;
    return OK;
}

NK_API MSTATUS MOCANA_readFile(const char *pFilename, ubyte **ppRetBuffer, ubyte4 *pRetBufLength)
{
    FILE *f;
    size_t len = 0;
    MSTATUS st;

    if (!pFilename || !ppRetBuffer || !pRetBufLength)
        return ERR_NULL_POINTER;
    *ppRetBuffer = NULL;
    *pRetBufLength = 0;
    f = fopen(pFilename, "rb");
    if (!f)
        return ERR_FILE_OPEN_FAILED;
    st = read_all(f, ppRetBuffer, &len);
    fclose(f);
    if (st == OK)
        *pRetBufLength = (ubyte4)len;
    return st;
}

NK_ALIAS(MOCANA_readFile) MSTATUS DIGICERT_readFile(const char *pFilename, ubyte **ppRetBuffer,
                                                   ubyte4 *pRetBufLength);

/* The legacy generation's spelling (const sbyte * names): common/mocana.h binds
 * its declaration to this symbol. The bytes of the name are the same. */
NK_API MSTATUS NKTLS_legacy_MOCANA_readFile(const sbyte *pFilename, ubyte **ppRetBuffer,
                                            ubyte4 *pRetBufLength)
{
    return MOCANA_readFile((const char *)pFilename, ppRetBuffer, pRetBufLength);
}

NK_API MSTATUS MOCANA_freeReadFile(ubyte **ppRetBuffer)
{
    if (!ppRetBuffer)
        return ERR_NULL_POINTER;
    free(*ppRetBuffer);
    *ppRetBuffer = NULL;
    return OK;
}

NK_API MSTATUS MOCANA_writeFile(const char *pFilename, const ubyte *pBuffer, ubyte4 bufLength)
{
    FILE *f;
    int bad;

    if (!pFilename || (!pBuffer && bufLength))
        return ERR_NULL_POINTER;
    f = fopen(pFilename, "wb");
    if (!f)
        return ERR_FILE_OPEN_FAILED;
    bad = bufLength && fwrite(pBuffer, 1, bufLength, f) != bufLength;
    /* fclose flushes: a full disk shows up here, not in fwrite. */
    if (fclose(f) != 0)
        bad = 1;
    return bad ? ERR_FILE_WRITE_FAILED : OK;
}

NK_ALIAS(MOCANA_freeReadFile) MSTATUS DIGICERT_freeReadFile(ubyte **ppRetBuffer);
NK_ALIAS(MOCANA_writeFile) MSTATUS DIGICERT_writeFile(const char *pFilename, const ubyte *pBuffer,
                                                     ubyte4 bufLength);

NK_API MSTATUS NKTLS_legacy_MOCANA_writeFile(const sbyte *pFilename, const ubyte *pBuffer,
                                             ubyte4 bufLength)
{
    return MOCANA_writeFile((const char *)pFilename, pBuffer, bufLength);
}

/* ---- error names ---- */

NK_API const ubyte *MERROR_lookUpErrorCode(MSTATUS errorCode)
{
    return (const ubyte *)nk_err_name(errorCode);
}

NK_API const char *NKTLS_errorText(MSTATUS errorCode)
{
    return nk_err_text(errorCode);
}

NK_API const char *NKTLS_version(void)
{
    return NKTLS_VERSION_TEXT;
}
