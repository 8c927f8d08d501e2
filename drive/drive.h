/* drive/drive.h — the blocking driver: the engine over a blocking socket, with
 * the kernel record layer switched in after the handshake (drive/blocking.c). */
#ifndef NK_DRIVE_H
#define NK_DRIVE_H

#include "engine/conn.h"

MSTATUS nk_drive_flush(struct nk_conn *c) NK_MUST;
MSTATUS nk_drive_handshake(struct nk_conn *c) NK_MUST;
/* Receive application data, waiting up to timeout_ms (0: forever). */
MSTATUS nk_drive_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, ubyte4 timeout_ms) NK_MUST;

#endif
