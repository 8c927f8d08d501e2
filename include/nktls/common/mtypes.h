/* mtypes.h — the NanoSSL integer and boolean types. Every public header
 * includes it, so the feature flags of common/moptions.h are set wherever an
 * application includes any of them, as glue that tests a flag expects. */
#ifndef NKTLS_MTYPES_H
#define NKTLS_MTYPES_H

#include "common/moptions.h"
#include <stdint.h>
#include <stddef.h>

typedef uint8_t  ubyte;
typedef uint16_t ubyte2;
typedef uint32_t ubyte4;
typedef uint64_t ubyte8;
typedef int8_t   sbyte;
typedef int16_t  sbyte2;
typedef int32_t  sbyte4;
typedef int64_t  sbyte8;

typedef sbyte4 intBoolean;
typedef sbyte  byteBoolean;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#ifndef TCP_SOCKET
#define TCP_SOCKET int
#endif

/* A length-counted buffer (certificate chains and CA lists use arrays of these). */
typedef struct SizedBuffer {
    ubyte4 length;
    ubyte *pHeader;   /* start of the allocation, when it differs from data */
    ubyte *data;
} SizedBuffer;

#endif
