/* moptions.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_COMMON_MOPTIONS_H
#define NKTLS_COMMON_MOPTIONS_H

#include "common/mtypes.h"

#endif
