/* compat_legacy.h — what compat_legacy.c (legacy-generation declarations)
 * offers test_compat.c (current ones). Neither side's declarations of the
 * library's calls are visible here, so both may include it. */
#ifndef NKTLS_TEST_COMPAT_LEGACY_H
#define NKTLS_TEST_COMPAT_LEGACY_H

#include "common/mtypes.h"
#include "common/merrors.h"

MSTATUS legacy_write_file(const char *path, const ubyte *data, ubyte4 len);
MSTATUS legacy_read_file(const char *path, ubyte **buf, ubyte4 *len);

#endif
