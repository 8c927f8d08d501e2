/* random.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_COMMON_RANDOM_H
#define NKTLS_COMMON_RANDOM_H

#include "common/mtypes.h"

#endif
