/* pubcrypto.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_CRYPTO_PUBCRYPTO_H
#define NKTLS_CRYPTO_PUBCRYPTO_H

#include "common/mtypes.h"

#endif
