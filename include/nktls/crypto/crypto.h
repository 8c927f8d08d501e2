/* crypto.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_CRYPTO_CRYPTO_H
#define NKTLS_CRYPTO_CRYPTO_H

#include "common/mtypes.h"

#endif
