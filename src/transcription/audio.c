/*
 * audio.c - a run's kept audio (tx_internal.h): what its session hears,
 * encoded on the session's worker (audio/keep.h) and stored on the writer
 * a piece at a time, so that a session that ends badly loses at most the
 * last piece, and nothing is stored for a transcription that keeps no
 * audio or is gone.  A piece the store fails to take (PostgreSQL
 * restarting) is held and stored again with the next one under the same
 * number: the store replaces a piece by a longer one of the same number,
 * so a piece whose insert did land before its error is not kept twice.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../util/log.h"
#include "../util/vb.h"
#include "tx_internal.h"

#define PIECE_PACKETS 250 /* 5 s: a piece the writer stores */
/* Held while the store fails: about 17 minutes of speech (Opus at
 * 16 kbit/s); past it keeping stops. */
#define UNSAVED_MAX (2u << 20)

struct tx_audio {
    keep_encoder *encoder;  /* the worker's */
    pthread_mutex_t lock;   /* guards the three below */
    strbuf pending;         /* packets not stored yet */
    int packets;            /* in pending */
    int queued;             /* a store_piece job is queued */
    int off;                /* nothing is kept (writer: the lookup said so,
                               the transcription is gone, or it failed) */
    int seq;                /* writer */
    strbuf unsaved;         /* writer: packets of piece `seq` the store
                               did not take yet */
    char name[17];          /* the run's name for its pieces */
    const char *tag;
};

tx_audio *tx_audio_create(const char *tag)
{
    tx_audio *a = calloc(1, sizeof(*a));
    if (a == NULL || keep_encoder_create(&a->encoder) != 0) {
        log_error(tag, "out of memory: this session's audio is not kept");
        free(a);
        return NULL;
    }
    uint64_t id = 0;
    if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
        id = (uint64_t)(vb_monotonic_s() * 1e9) ^ (uint64_t)(uintptr_t)a;
    snprintf(a->name, sizeof(a->name), "%016llx", (unsigned long long)id);
    pthread_mutex_init(&a->lock, NULL);
    a->tag = tag;
    return a;
}

void tx_audio_free(tx_audio *a)
{
    if (a == NULL)
        return;
    keep_encoder_free(a->encoder);
    free(a->pending.data);
    if (a->unsaved.len > 0)
        log_error(a->tag, "%zu bytes of this session's audio could not be "
                  "kept: the store did not take them", a->unsaved.len);
    free(a->unsaved.data);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* The worker's packets join the pending ones: 1 when a piece is due and
 * no job is queued for it (the caller queues one). */
static int add_packets(tx_audio *a, strbuf *packets, int count)
{
    pthread_mutex_lock(&a->lock);
    int due = 0;
    if (!a->off && packets->len > 0) {
        strbuf_append(&a->pending, packets->data, packets->len);
        a->packets += count;
        if (a->pending.failed) { /* out of memory: keeping stops */
            a->off = 1;
            log_error(a->tag, "out of memory: the rest of this session's "
                      "audio is not kept");
        }
        due = a->packets >= PIECE_PACKETS && !a->queued;
        if (due)
            a->queued = 1;
    }
    pthread_mutex_unlock(&a->lock);
    packets->len = 0;
    return due;
}

int tx_audio_hear(tx_audio *a, const int16_t *pcm, size_t n)
{
    pthread_mutex_lock(&a->lock);
    int off = a->off;
    pthread_mutex_unlock(&a->lock);
    if (off) /* not kept: not worth encoding either */
        return 0;
    strbuf packets = {0};
    int count = keep_encoder_push(a->encoder, pcm, n, &packets);
    int due = count > 0 ? add_packets(a, &packets, count) : 0;
    free(packets.data);
    return due;
}

void tx_audio_end(tx_audio *a)
{
    strbuf packets = {0};
    int count = keep_encoder_flush(a->encoder, &packets);
    if (count > 0)
        add_packets(a, &packets, count);
    free(packets.data);
}

void tx_audio_keep(tx_audio *a, int keep)
{
    pthread_mutex_lock(&a->lock);
    if (!keep)
        a->off = 1;
    pthread_mutex_unlock(&a->lock);
}

void tx_audio_store(tx_audio *a, store_t *store, int64_t tid, double offset)
{
    pthread_mutex_lock(&a->lock);
    strbuf piece = a->pending;
    a->pending = (strbuf){0};
    a->packets = 0;
    a->queued = 0;
    int off = a->off;
    pthread_mutex_unlock(&a->lock);
    if (off || piece.len == 0) {
        free(piece.data);
        return;
    }
    int held = a->unsaved.len > 0;
    strbuf_append(&a->unsaved, piece.data, piece.len);
    free(piece.data);
    if (a->unsaved.failed) {
        log_error(a->tag, "out of memory: the rest of this session's audio "
                  "is not kept");
        tx_audio_keep(a, 0);
        return;
    }
    int rc = store_audio_append(store, tid, a->name, a->seq, offset,
                                (const uint8_t *)a->unsaved.data,
                                a->unsaved.len);
    if (rc == 0) {
        if (held)
            log_info(a->tag, "the session's audio is kept again");
        a->seq++;
        a->unsaved.len = 0;
    } else if (rc == VB_ENOTFOUND) { /* the transcription is gone */
        tx_audio_keep(a, 0);
    } else if (a->unsaved.len > UNSAVED_MAX) {
        log_error(a->tag, "the session's audio could not be kept (%s) for "
                  "too long; keeping it stops", vb_strerror(rc));
        tx_audio_keep(a, 0);
    } else if (!held) {
        log_warn(a->tag, "the session's audio could not be kept (%s): held "
                 "to store again with the next piece", vb_strerror(rc));
    }
}
