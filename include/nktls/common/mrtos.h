/* mrtos.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_COMMON_MRTOS_H
#define NKTLS_COMMON_MRTOS_H

#include "common/mtypes.h"

#endif
