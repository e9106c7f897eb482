/* meter.c - a rate with fading memory (see meter.h). */
#include "meter.h"

#include <math.h>

#include "vb.h"

void meter_init(meter *m, double tau)
{
    pthread_mutex_init(&m->lock, NULL);
    m->tau = tau;
    m->rate = 0;
    m->at = vb_monotonic_s();
}

void meter_destroy(meter *m)
{
    pthread_mutex_destroy(&m->lock);
}

/* The rate as of now.  Called with the lock held. */
static double faded(const meter *m, double now)
{
    return m->rate * exp(-(now - m->at) / m->tau);
}

void meter_add(meter *m, double amount)
{
    pthread_mutex_lock(&m->lock);
    double now = vb_monotonic_s();
    m->rate = faded(m, now) + amount / m->tau;
    m->at = now;
    pthread_mutex_unlock(&m->lock);
}

double meter_rate(meter *m)
{
    pthread_mutex_lock(&m->lock);
    double rate = faded(m, vb_monotonic_s());
    pthread_mutex_unlock(&m->lock);
    return rate;
}
