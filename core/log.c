/* core/log.c — the library's log line, sent to the application's sink
 * (MOCANA_initLog) when it set one. */
#include <stdarg.h>
#include <stdio.h>

#include "core/nk.h"
#include "common/mocana.h"

/* ---- logging ---- */

/* Read and written with atomics: the sink may be swapped while connection threads log. */
static logFn log_sink;

void nk_log_set_sink(logFn lf)
{
    __atomic_store_n(&log_sink, lf, __ATOMIC_RELEASE);
}

void nk_log(int severity, const char *fmt, ...)
{
    logFn sink = __atomic_load_n(&log_sink, __ATOMIC_ACQUIRE);
    char line[512];
    va_list ap;

    if (!sink)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    sink(LM_SSL, severity, (sbyte *)line);
}
