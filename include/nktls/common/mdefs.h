/* mdefs.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_COMMON_MDEFS_H
#define NKTLS_COMMON_MDEFS_H

#include "common/mtypes.h"

#endif
