/*
 * keep.c - kept audio: Opus packets as a session hears them, and Ogg Opus
 * files made of them (keep.h; the Ogg Opus mapping is RFC 7845).
 */
#include "keep.h"

#include <opus/opus.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "demux.h"

#define BITRATE 16000
#define MAX_PACKET 1275     /* Opus's own limit for one frame */
#define GRANULE_PER_PACKET 960 /* 20 ms at 48 kHz, Ogg Opus's clock */
#define PACKETS_PER_PAGE 50 /* a second: seeking finds a page near */

struct keep_encoder {
    OpusEncoder *opus;
    int16_t pending[KEEP_FRAME];
    size_t npending;
};

int keep_encoder_create(keep_encoder **out)
{
    keep_encoder *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return VB_ENOMEM;
    int err;
    e->opus = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
    if (e->opus == NULL) {
        free(e);
        return err == OPUS_ALLOC_FAIL ? VB_ENOMEM : VB_EINTERNAL;
    }
    /* Speech at 16 kbit/s is clear; complexity 5 costs a fraction of
     * the recogniser's time (bench/NOTES.md, "Kept audio"). */
    opus_encoder_ctl(e->opus, OPUS_SET_BITRATE(BITRATE));
    opus_encoder_ctl(e->opus, OPUS_SET_COMPLEXITY(5));
    opus_encoder_ctl(e->opus, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    *out = e;
    return 0;
}

static int encode(keep_encoder *e, const int16_t *frame, strbuf *out)
{
    uint8_t packet[2 + MAX_PACKET];
    opus_int32 n = opus_encode(e->opus, frame, KEEP_FRAME, packet + 2,
                               MAX_PACKET);
    if (n < 0)
        return VB_EINTERNAL;
    packet[0] = (uint8_t)(n & 0xff);
    packet[1] = (uint8_t)(n >> 8);
    strbuf_append(out, (const char *)packet, (size_t)n + 2);
    return out->failed ? VB_ENOMEM : 1;
}

int keep_encoder_push(keep_encoder *e, const int16_t *pcm, size_t n,
                      strbuf *out)
{
    int packets = 0;
    while (n > 0) {
        size_t take = KEEP_FRAME - e->npending;
        if (take > n)
            take = n;
        memcpy(e->pending + e->npending, pcm, take * sizeof(*pcm));
        e->npending += take;
        pcm += take;
        n -= take;
        if (e->npending < KEEP_FRAME)
            break;
        e->npending = 0;
        int rc = encode(e, e->pending, out);
        if (rc < 0)
            return rc;
        packets++;
    }
    return packets;
}

int keep_encoder_flush(keep_encoder *e, strbuf *out)
{
    if (e->npending == 0)
        return 0;
    memset(e->pending + e->npending, 0,
           (KEEP_FRAME - e->npending) * sizeof(int16_t));
    e->npending = 0;
    return encode(e, e->pending, out);
}

void keep_encoder_free(keep_encoder *e)
{
    if (e == NULL)
        return;
    opus_encoder_destroy(e->opus);
    free(e);
}

/* Walks a packet run: the packet at *pos, or 0 at its end (or where it is
 * cut short). */
static int next_packet(const uint8_t *run, size_t len, size_t *pos,
                       const uint8_t **packet, size_t *plen)
{
    if (len - *pos < 2)
        return 0;
    size_t n = (size_t)run[*pos] | (size_t)run[*pos + 1] << 8;
    if (n > len - *pos - 2)
        return 0;
    *packet = run + *pos + 2;
    *plen = n;
    *pos += 2 + n;
    return 1;
}

double keep_run_seconds(const uint8_t *packets, size_t len)
{
    size_t pos = 0, count = 0, n;
    const uint8_t *p;
    while (next_packet(packets, len, &pos, &p, &n))
        count++;
    return count * KEEP_PACKET_S;
}

/* ---- the Ogg Opus file ------------------------------------------------ */

typedef struct {
    strbuf out;
    uint32_t serial, sequence;
    uint64_t granule;          /* 48 kHz samples of the packets so far */
    uint8_t lacing[255];       /* the page being filled */
    size_t segments;
    strbuf body;
    int packets;
} ogg_writer;

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void page_out(ogg_writer *w, int flags)
{
    uint8_t head[27 + 255];
    memcpy(head, "OggS", 4);
    head[4] = 0;
    head[5] = (uint8_t)flags;
    put32(head + 6, (uint32_t)w->granule);
    put32(head + 10, (uint32_t)(w->granule >> 32));
    put32(head + 14, w->serial);
    put32(head + 18, w->sequence++);
    put32(head + 22, 0);
    head[26] = (uint8_t)w->segments;
    memcpy(head + 27, w->lacing, w->segments);
    size_t hlen = 27 + w->segments;
    size_t at = w->out.len;
    strbuf_append(&w->out, (const char *)head, hlen);
    strbuf_append(&w->out, w->body.data ? w->body.data : "", w->body.len);
    if (!w->out.failed)
        put32((uint8_t *)w->out.data + at + 22,
              ogg_page_crc((const uint8_t *)w->out.data + at,
                           hlen + w->body.len));
    w->segments = 0;
    w->body.len = 0;
    w->packets = 0;
}

/* One packet onto the page being filled (a page of its own for the
 * headers); a full page goes out first. */
static void packet_out(ogg_writer *w, const uint8_t *p, size_t len,
                       int audio)
{
    size_t lacing = len / 255 + 1;
    if (w->segments + lacing > 255 || w->packets == PACKETS_PER_PAGE)
        page_out(w, 0);
    for (size_t i = 0; i < lacing; i++)
        w->lacing[w->segments++] = i + 1 < lacing ? 255 : (uint8_t)(len % 255);
    strbuf_append(&w->body, (const char *)p, len);
    w->packets++;
    if (audio)
        w->granule += GRANULE_PER_PACKET;
}

/* What the file needs of an encoder like the sessions' own: a packet of
 * silence for the gaps between runs (its third, past its start), and its
 * lookahead in 48 kHz samples (OpusHead's pre-skip). */
static int encoder_facts(uint8_t *packet, size_t *len, int *pre_skip)
{
    keep_encoder *e;
    if (keep_encoder_create(&e) != 0)
        return -1;
    opus_int32 lookahead = 0;
    *pre_skip = opus_encoder_ctl(e->opus, OPUS_GET_LOOKAHEAD(&lookahead)) == OPUS_OK
                    ? lookahead * 3 : 312;
    int16_t zeros[KEEP_FRAME] = {0};
    strbuf sb = {0};
    int rc = 0;
    for (int i = 0; i < 3 && rc >= 0; i++) {
        sb.len = 0;
        rc = encode(e, zeros, &sb);
    }
    keep_encoder_free(e);
    if (rc >= 0) {
        *len = sb.len - 2;
        memcpy(packet, sb.data + 2, *len);
    }
    free(sb.data);
    return rc >= 0 ? 0 : -1;
}

uint8_t *keep_ogg(const keep_run *runs, size_t count, size_t *len)
{
    ogg_writer w = {.serial = 0x56425431u}; /* "VBT1" */
    uint8_t silence[MAX_PACKET];
    size_t silence_len = 0;
    int pre_skip;
    if (encoder_facts(silence, &silence_len, &pre_skip) != 0)
        return NULL;
    uint8_t head[19] = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 1};
    head[10] = (uint8_t)(pre_skip & 0xff);
    head[11] = (uint8_t)(pre_skip >> 8);
    put32(head + 12, 16000);
    packet_out(&w, head, sizeof(head), 0);
    page_out(&w, 0x02); /* beginning of stream */
    static const char vendor[] = "Verbatim";
    uint8_t tags[8 + 4 + sizeof(vendor) - 1 + 4];
    memcpy(tags, "OpusTags", 8);
    put32(tags + 8, sizeof(vendor) - 1);
    memcpy(tags + 12, vendor, sizeof(vendor) - 1);
    put32(tags + 12 + sizeof(vendor) - 1, 0);
    packet_out(&w, tags, sizeof(tags), 0);
    page_out(&w, 0);
    /* The timeline in packets: each run from its offset until the next
     * run's (or its own end), silence in the gaps. */
    uint64_t at = 0;
    for (size_t r = 0; r < count; r++) {
        uint64_t start = runs[r].offset > 0
                             ? (uint64_t)(runs[r].offset / KEEP_PACKET_S + 0.5)
                             : 0;
        uint64_t until = UINT64_MAX;
        if (r + 1 < count && runs[r + 1].offset > 0)
            until = (uint64_t)(runs[r + 1].offset / KEEP_PACKET_S + 0.5);
        for (; at < start; at++)
            packet_out(&w, silence, silence_len, 1);
        size_t pos = 0, n;
        const uint8_t *p;
        uint64_t k = start;
        while (k < until && next_packet(runs[r].packets, runs[r].len, &pos, &p, &n)) {
            if (k++ < at)
                continue; /* under the run before (offsets out of order) */
            packet_out(&w, p, n, 1);
            at++;
        }
    }
    page_out(&w, 0x04); /* end of stream */
    free(w.body.data);
    if (w.out.failed) {
        free(w.out.data);
        return NULL;
    }
    *len = w.out.len;
    return (uint8_t *)w.out.data;
}
