/* drive/clock.h — the drivers' two clocks, in milliseconds. The engine reads
 * neither: it is given the wall clock as c->now (tickets and certificate dates
 * are calendar times) and the monotonic one with every timer call (a deadline
 * must not move when the system's time is set). */
#ifndef NK_DRIVE_CLOCK_H
#define NK_DRIVE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t nk_clock_read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* For deadlines and waits. */
static inline int64_t nk_mono_ms(void) { return nk_clock_read_ms(CLOCK_MONOTONIC); }
/* For c->now: ms since the Unix epoch. */
static inline int64_t nk_wall_ms(void) { return nk_clock_read_ms(CLOCK_REALTIME); }

#endif
