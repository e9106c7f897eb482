/*
 * ogg.c - an incremental Ogg demuxer for one Opus stream (see demux.h).
 *
 * Ogg (RFC 3533) cuts each logical stream's packets into pages: a 27-byte
 * header ("OggS", version, flags, granule position, stream serial, page
 * sequence number, CRC, segment count), a lacing table of segment sizes
 * and the segments.  A packet is a run of 255-byte segments ended by a
 * shorter one, and may continue onto the next page.  The parser holds at
 * most one page (65,307 bytes) and the packet being assembled.
 *
 * It checks each page's CRC and sequence number, so that a damaged or lost
 * page is reported as such instead of being decoded as noise.  The stream
 * it follows is the first one whose beginning-of-stream page starts with
 * "OpusHead" (RFC 7845); others, such as a Theora video track beside it,
 * are passed over.  When the first pages after the beginning-of-stream
 * pages arrive and no Opus stream was announced, the codec that was found
 * is named in the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "demux.h"

#define PAGE_HEADER 27
#define PACKET_LIMIT (16u << 20)
#define FLAG_CONTINUED 0x01
#define FLAG_BOS 0x02

struct ogg_demux {
    demux_sink sink;
    int failed;
    uint64_t pos;           /* stream offset of the page being collected */
    uint8_t page[PAGE_HEADER + 255 + 255 * 255];
    size_t page_len, page_need;
    int stage;              /* 0 header, 1 lacing table, 2 segments */
    int have_stream;
    uint32_t serial, next_seq;
    uint64_t packets;       /* of the chosen stream, so far */
    uint8_t *packet;        /* the one being assembled */
    size_t packet_len, packet_cap;
    int in_packet;
    char other_codec[32];   /* what a non-Opus stream turned out to be */
};

int ogg_demux_create(const demux_sink *sink, ogg_demux **out)
{
    ogg_demux *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return VB_ENOMEM;
    d->sink = *sink;
    d->page_need = PAGE_HEADER;
    *out = d;
    return 0;
}

void ogg_demux_destroy(ogg_demux *d)
{
    if (d == NULL)
        return;
    free(d->packet);
    free(d);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Ogg's CRC-32: polynomial 0x04C11DB7, most significant bit first, no
 * reflection, initial value and final XOR 0; the CRC field counts as 0. */
uint32_t ogg_page_crc(const uint8_t *page, size_t len)
{
    uint32_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t byte = i >= 22 && i < 26 ? 0 : page[i];
        crc ^= (uint32_t)byte << 24;
        for (int b = 0; b < 8; b++)
            crc = crc & 0x80000000u ? crc << 1 ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

static int corrupt(ogg_demux *d, char *err, size_t errlen, const char *what)
{
    vb_seterr(err, errlen, "damaged Ogg data in the page at byte %llu: %s",
              (unsigned long long)d->pos, what);
    return VB_EINVAL;
}

static const char *codec_of(const uint8_t *p, size_t len)
{
    if (len >= 7 && memcmp(p, "\x01vorbis", 7) == 0)
        return "Vorbis";
    if (len >= 5 && memcmp(p, "\x7f" "FLAC", 5) == 0)
        return "FLAC";
    if (len >= 8 && memcmp(p, "Speex   ", 8) == 0)
        return "Speex";
    if (len >= 7 && memcmp(p, "\x80theora", 7) == 0)
        return NULL; /* video: look for audio beside it */
    return "an unknown codec";
}

static int deliver(ogg_demux *d, const uint8_t *p, size_t len, char *err,
                   size_t errlen)
{
    uint64_t n = d->packets++;
    if (n == 0)
        return d->sink.track(d->sink.ctx, p, len, err, errlen);
    if (n == 1)
        return 0; /* OpusTags: nothing we need */
    return d->sink.packet(d->sink.ctx, p, len, err, errlen);
}

static int packet_append(ogg_demux *d, const uint8_t *p, size_t len,
                         char *err, size_t errlen)
{
    if (d->packet_len + len > PACKET_LIMIT)
        return corrupt(d, err, errlen, "a packet is implausibly large");
    if (d->packet_len + len > d->packet_cap) {
        size_t cap = (d->packet_len + len) * 2;
        uint8_t *grown = realloc(d->packet, cap);
        if (grown == NULL)
            return VB_ENOMEM;
        d->packet = grown;
        d->packet_cap = cap;
    }
    memcpy(d->packet + d->packet_len, p, len);
    d->packet_len += len;
    return 0;
}

/* A beginning-of-stream page: is this the Opus stream? */
static int consider_stream(ogg_demux *d, uint32_t serial, const uint8_t *body,
                           size_t len)
{
    if (len >= 8 && memcmp(body, "OpusHead", 8) == 0) {
        d->have_stream = 1;
        d->serial = serial;
        return 1;
    }
    const char *codec = codec_of(body, len);
    if (codec != NULL && d->other_codec[0] == '\0')
        snprintf(d->other_codec, sizeof(d->other_codec), "%s", codec);
    return 0;
}

/* Splits the chosen stream's page into packets. */
static int split_packets(ogg_demux *d, const uint8_t *h, char *err,
                         size_t errlen)
{
    int segments = h[26];
    const uint8_t *body = h + PAGE_HEADER + segments;
    if (!(h[5] & FLAG_CONTINUED) && d->in_packet)
        return corrupt(d, err, errlen, "a packet was left unfinished");
    int skipping = (h[5] & FLAG_CONTINUED) && !d->in_packet;
    size_t run = 0;
    for (int i = 0; i < segments; i++) {
        run += h[PAGE_HEADER + i];
        if (h[PAGE_HEADER + i] == 255)
            continue;
        int rc = 0;
        if (skipping) {
            skipping = 0; /* the tail of a packet begun before we joined */
        } else if (d->in_packet) {
            rc = packet_append(d, body, run, err, errlen);
            if (rc == 0)
                rc = deliver(d, d->packet, d->packet_len, err, errlen);
            d->packet_len = 0;
            d->in_packet = 0;
        } else {
            rc = deliver(d, body, run, err, errlen);
        }
        if (rc != 0)
            return rc;
        body += run;
        run = 0;
    }
    if (run > 0 && !skipping) { /* continues on the next page */
        d->in_packet = 1;
        return packet_append(d, body, run, err, errlen);
    }
    return 0;
}

static int handle_page(ogg_demux *d, char *err, size_t errlen)
{
    const uint8_t *h = d->page;
    if (le32(h + 22) != ogg_page_crc(h, d->page_len))
        return corrupt(d, err, errlen, "its checksum does not match");
    uint32_t serial = le32(h + 14), seq = le32(h + 18);
    if (!d->have_stream) {
        if (!(h[5] & FLAG_BOS) || h[26] == 0 || h[PAGE_HEADER] == 255) {
            vb_seterr(err, errlen, "the Ogg stream holds %s audio; supported "
                      "in Ogg: Opus", d->other_codec[0] ? d->other_codec
                                                        : "no");
            return VB_EUNSUPPORTED;
        }
        const uint8_t *body = h + PAGE_HEADER + h[26];
        if (!consider_stream(d, serial, body, h[PAGE_HEADER]))
            return 0;
        d->next_seq = seq;
    }
    if (serial != d->serial)
        return 0;
    if (seq != d->next_seq)
        return corrupt(d, err, errlen, "pages are missing before it");
    d->next_seq = seq + 1;
    return split_packets(d, h, err, errlen);
}

/* The page so far is complete up to page_need: work out what comes next.
 * Returns 1 when the whole page is in. */
static int page_step(ogg_demux *d, char *err, size_t errlen, int *rc)
{
    if (d->stage == 0) {
        if (memcmp(d->page, "OggS", 4) != 0 || d->page[4] != 0) {
            *rc = corrupt(d, err, errlen, "no page starts here");
            return 0;
        }
        d->stage = 1;
        d->page_need += d->page[26];
    }
    if (d->stage == 1 && d->page_len == d->page_need) {
        d->stage = 2;
        for (int i = 0; i < d->page[26]; i++)
            d->page_need += d->page[PAGE_HEADER + i];
    }
    return d->stage == 2 && d->page_len == d->page_need;
}

int ogg_demux_feed(ogg_demux *d, const uint8_t *data, size_t len, char *err,
                   size_t errlen)
{
    if (d->failed) {
        vb_seterr(err, errlen, "the Ogg stream already failed");
        return VB_EINVAL;
    }
    int rc = 0;
    while (len > 0 && rc == 0) {
        size_t n = d->page_need - d->page_len;
        n = len < n ? len : n;
        memcpy(d->page + d->page_len, data, n);
        d->page_len += n;
        data += n;
        len -= n;
        if (d->page_len < d->page_need || !page_step(d, err, errlen, &rc))
            continue;
        rc = handle_page(d, err, errlen);
        d->pos += d->page_len;
        d->page_len = 0;
        d->page_need = PAGE_HEADER;
        d->stage = 0;
    }
    if (rc != 0)
        d->failed = 1;
    return rc;
}

int ogg_demux_finish(ogg_demux *d, char *err, size_t errlen)
{
    if (d->failed)
        return 0;
    if (d->page_len > 0) {
        vb_seterr(err, errlen, "the Ogg stream was cut off inside the page "
                  "at byte %llu", (unsigned long long)d->pos);
        return VB_EINVAL;
    }
    if (d->in_packet) {
        vb_seterr(err, errlen, "the Ogg stream ended inside a packet");
        return VB_EINVAL;
    }
    return 0;
}
