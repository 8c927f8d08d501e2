/* mocana.h — process start-up and shutdown, logging, file helpers and error
 * names: the "common" part of the NanoSSL API. */
#ifndef NKTLS_MOCANA_H
#define NKTLS_MOCANA_H

#include "common/mtypes.h"
#include "common/merrors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Log sink installed with MOCANA_initLog: module is one of LM_*, severity one of
 * LS_*, msg a NUL-terminated line without the trailing newline. */
#ifndef NKTLS_LOGFN_DEFINED
#define NKTLS_LOGFN_DEFINED
typedef void (*logFn)(sbyte4 module, sbyte4 severity, sbyte *msg);
#endif

/* Log modules. */
#define LM_UNKNOWN  0
#define LM_SSL      1
#define LM_CERT     2
#define LM_CRYPTO   3

/* Log severities, most severe first. */
#define LS_CRITICAL 0
#define LS_MAJOR    1
#define LS_MINOR    2
#define LS_WARNING  3
#define LS_INFO     4
#define LS_DEBUG    5

/* Must be called once before any other call; MOCANA_freeMocana undoes it. */
sbyte4 MOCANA_initMocana(void);
sbyte4 MOCANA_freeMocana(void);
/* Install (or, with NULL, remove) the log sink. */
MSTATUS MOCANA_initLog(logFn lf);

/* Read a whole file into a new buffer; free it with MOCANA_freeReadFile. On
 * ERR_FILE_OPEN_FAILED errno says why (ENOENT, EACCES, ...). */
#ifndef NKTLS_NANOSSL_LEGACY_API
MSTATUS MOCANA_readFile(const char *pFilename, ubyte **ppRetBuffer, ubyte4 *pRetBufLength);
MSTATUS MOCANA_writeFile(const char *pFilename, const ubyte *pBuffer, ubyte4 bufLength);
#else
/* The legacy generation (5.x) names the file as const sbyte *, and its callers
 * cast to (sbyte *): with these declarations that compiles without a pointer-sign
 * warning, in C and C++. They are bound to their own symbols, as the legacy
 * entry points in ssl/ssl.h are. */
MSTATUS MOCANA_readFile(const sbyte *pFilename, ubyte **ppRetBuffer,
                        ubyte4 *pRetBufLength) __asm__("NKTLS_legacy_MOCANA_readFile");
MSTATUS MOCANA_writeFile(const sbyte *pFilename, const ubyte *pBuffer,
                         ubyte4 bufLength) __asm__("NKTLS_legacy_MOCANA_writeFile");
#endif
MSTATUS MOCANA_freeReadFile(ubyte **ppRetBuffer);

/* Newer TrustCore code spells the calls above DIGICERT_*: the same functions
 * under a second name (one definition, two exported symbols). */
sbyte4 DIGICERT_initDigicert(void);
sbyte4 DIGICERT_freeDigicert(void);
MSTATUS DIGICERT_initLog(logFn lf);
MSTATUS DIGICERT_readFile(const char *pFilename, ubyte **ppRetBuffer, ubyte4 *pRetBufLength);
MSTATUS DIGICERT_freeReadFile(ubyte **ppRetBuffer);
MSTATUS DIGICERT_writeFile(const char *pFilename, const ubyte *pBuffer, ubyte4 bufLength);

/* The code's name ("ERR_SSL_BAD_ID"), or "ERR_UNKNOWN". Never NULL. */
const ubyte *MERROR_lookUpErrorCode(MSTATUS errorCode);

/* nktls addition behind DISPLAY_ERROR: logs "file:line: NAME (value)" through the
 * log sink at LS_MINOR; does nothing when no sink is installed. */
void NKTLS_logError(const char *pFile, sbyte4 line, sbyte4 errorCode);

/* DISPLAY_ERROR(module, err): report err through the log sink. The module argument
 * is not evaluated, so applications may pass their own debug-module names. */
#define DISPLAY_ERROR(module, err) NKTLS_logError(__FILE__, __LINE__, (sbyte4)(err))

#ifdef __cplusplus
}
#endif

#endif
