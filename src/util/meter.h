/*
 * meter.h - a rate (amount per second) over about the last `tau` seconds,
 * with fading memory: each amount added counts fully now and less as it
 * ages (by e^(-age/tau)).  Thread-safe.
 *
 * The server measures two with the same memory: the seconds its workers
 * spend decoding and the seconds of audio they decode; their ratio is
 * what a second of audio costs, whatever the load has been lately.
 */
#ifndef VB_METER_H
#define VB_METER_H

#include <pthread.h>

typedef struct meter {
    pthread_mutex_t lock;
    double tau;     /* seconds */
    double rate;    /* as of `at` */
    double at;      /* monotonic seconds */
} meter;

void meter_init(meter *m, double tau);
void meter_destroy(meter *m);
void meter_add(meter *m, double amount);
/* Amount per second, now. */
double meter_rate(meter *m);

#endif
