/*
 * Preloaded into Verbatim under valgrind by bench/overhead.sh, nowhere
 * else.  FFmpeg's codecs pull in libhwy, whose start-up code reads the
 * processor's time-stamp counter with RDTSCP to learn the timer's
 * resolution; valgrind 3.19 (Debian 12) does not know that instruction
 * and stops the program before main().  This definition takes the place
 * of libhwy's, so the instruction is never run.  Nothing Verbatim
 * measures uses libhwy's timer.
 */
#include <stdint.h>

uint64_t _ZN3hwy8platform15TimerResolutionEv(void); /* hwy::platform:: */

uint64_t _ZN3hwy8platform15TimerResolutionEv(void)
{
    return 1;
}
