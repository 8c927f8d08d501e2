/* hw_accel.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_CRYPTO_HW_ACCEL_H
#define NKTLS_CRYPTO_HW_ACCEL_H

#include "common/mtypes.h"

#endif
