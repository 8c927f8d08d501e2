/* api/ticket_keys.c — NKTLS_loadTicketKeys: the session-ticket keys from a
 * key file (handshake/ticket_keys.c parses it; docs/ticket-keys.md says its
 * form and how a fleet rotates it). */
#include <stdlib.h>
#include "api/api.h"
#include "handshake/ticket_keys.h"
#include "common/mocana.h"
#include "nktls.h"

/* The largest key file read: 16 keys and their comments fit easily. */
#define KEY_FILE_MAX (64 * 1024)

NK_API MSTATUS NKTLS_loadTicketKeys(const char *path)
{
    ubyte *text = NULL;
    ubyte4 len = 0;
    unsigned bad = 0;
    NK_CHECK(path, ERR_NULL_POINTER);
    NK_TRY(MOCANA_readFile(path, &text, &len));
    MSTATUS st = len <= KEY_FILE_MAX ? nk_ticket_keys_parse((const char *)text, len, &bad) : ERR_TICKET_KEYS_FORMAT;
    if (st == ERR_TICKET_KEYS_FORMAT)
        nk_log(LS_MAJOR, "%s:%u: not a ticket key file line (docs/ticket-keys.md)", path, bad);
    nk_wipe(text, len);
    free(text);
    return st;
}
