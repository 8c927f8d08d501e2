/* vlong.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_COMMON_VLONG_H
#define NKTLS_COMMON_VLONG_H

#include "common/mtypes.h"

#endif
