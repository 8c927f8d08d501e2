/* mtcp.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_COMMON_MTCP_H
#define NKTLS_COMMON_MTCP_H

#include "common/mtypes.h"

#endif
