/* compat_legacy.c — calls written as legacy-generation (NanoSSL 5.x) code writes
 * them, in a translation unit of their own: the legacy declarations replace the
 * current ones (common/mocana.h), so they cannot share one with test_compat.c.
 * Built with -Werror=pointer-sign: the (sbyte *) casts legacy callers make
 * must compile cleanly. */
#define NKTLS_NANOSSL_LEGACY_API
#include "common/mocana.h"
#include "compat_legacy.h"

MSTATUS legacy_write_file(const char *path, const ubyte *data, ubyte4 len)
{
    return MOCANA_writeFile((sbyte *)path, (ubyte *)data, len);
}

MSTATUS legacy_read_file(const char *path, ubyte **buf, ubyte4 *len)
{
    return MOCANA_readFile((sbyte *)path, buf, len);
}
