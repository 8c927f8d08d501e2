/* oiddefs.h — exists for source compatibility: NanoSSL applications include it. */
#ifndef NKTLS_ASN1_OIDDEFS_H
#define NKTLS_ASN1_OIDDEFS_H

#include "common/mtypes.h"

#endif
