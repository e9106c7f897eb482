/*
 * webm.c - an incremental WebM/Matroska demuxer for one Opus track (see
 * demux.h).
 *
 * Matroska is EBML: a tree of elements, each an ID, a size and a payload,
 * IDs and sizes written as variable-length integers (the count of leading
 * zero bits in the first byte says how many more bytes follow).  A
 * browser's MediaRecorder writes the Segment and each Cluster with
 * "unknown size" because it does not know them yet when it sends their
 * first bytes, so the parser cannot rely on sizes to find where a Cluster
 * ends.  It reads the tree flat instead: a master element it cares about
 * (Segment, Tracks, TrackEntry, Cluster, BlockGroup) is entered by simply
 * reading on into its children, which works whatever the sizes say; the
 * few leaves it needs (track number, type, codec ID and private data, the
 * audio track's blocks) are collected whole; everything else, other
 * tracks' blocks included, is skipped by counting bytes, never buffered,
 * and a buffer grows only with bytes that have arrived.  The IDs it needs are unique across levels, so
 * the flat reading cannot confuse them.
 *
 * Damage is detected where it shows: an ID or size that is not a valid
 * variable-length integer, a child that overruns its parent's known size,
 * a block that does not fit its own lacing, an unknown element claiming
 * more than SKIP_LIMIT bytes (the usual look of garbage read as a header).
 * The track is chosen when the first Cluster starts: the first audio track
 * in Tracks; a codec other than Opus is refused there, naming it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vb.h"
#include "demux.h"

#define ID_EBML 0x1A45DFA3u
#define ID_SEGMENT 0x18538067u
#define ID_TRACKS 0x1654AE6Bu
#define ID_TRACK_ENTRY 0xAEu
#define ID_TRACK_NUMBER 0xD7u
#define ID_TRACK_TYPE 0x83u
#define ID_CODEC_ID 0x86u
#define ID_CODEC_PRIVATE 0x63A2u
#define ID_CLUSTER 0x1F43B675u
#define ID_BLOCK_GROUP 0xA0u
#define ID_BLOCK 0xA1u
#define ID_SIMPLE_BLOCK 0xA3u
#define ID_CUES 0x1C53BB6Bu
#define ID_ATTACHMENTS 0x1941A469u

#define UNKNOWN_SIZE UINT64_MAX
#define MAX_DEPTH 16
#define BLOCK_LIMIT (1u << 20)    /* largest audio block we will hold */
#define SKIP_LIMIT (64u << 20)    /* larger unknown elements are garbage */
#define CODEC_PRIVATE_LIMIT 65536
#define TRACK_AUDIO 2

enum mode { READ_HEADER, READ_TRACK, READ_PAYLOAD, SKIP };

typedef struct track_info {
    uint64_t number, type;
    char codec[48];
    uint8_t *priv;
    size_t priv_len;
} track_info;

struct webm_demux {
    demux_sink sink;
    enum mode mode;
    int failed;
    uint64_t pos;            /* stream offset of the next byte */
    uint8_t *buf;            /* a header or a leaf's payload, so far */
    size_t buf_len, buf_cap;
    uint32_t leaf_id;        /* READ_PAYLOAD: whose payload */
    uint64_t need;           /* READ_PAYLOAD: payload size */
    uint64_t skip_left;      /* SKIP: bytes still to pass over */
    uint64_t ends[MAX_DEPTH]; /* known-size masters entered: end offsets */
    int depth;
    int seen_ebml;
    track_info cur;          /* the TrackEntry being read */
    track_info audio;        /* the first audio track */
    int have_audio, chosen;
};

int webm_demux_create(const demux_sink *sink, webm_demux **out)
{
    webm_demux *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return VB_ENOMEM;
    d->sink = *sink;
    *out = d;
    return 0;
}

void webm_demux_destroy(webm_demux *d)
{
    if (d == NULL)
        return;
    free(d->buf);
    free(d->cur.priv);
    free(d->audio.priv);
    free(d);
}

size_t webm_demux_buffered(const webm_demux *d)
{
    return d->buf_cap;
}

static int corrupt(webm_demux *d, char *err, size_t errlen, const char *what)
{
    vb_seterr(err, errlen, "damaged WebM data near byte %llu: %s",
              (unsigned long long)d->pos, what);
    return VB_EINVAL;
}

/* Length of the variable-length integer that starts with `first`: 1-8,
 * or 0 when invalid. */
static int vint_length(uint8_t first)
{
    for (int n = 1; n <= 8; n++)
        if (first & (0x80 >> (n - 1)))
            return n;
    return 0;
}

/* The value of a size vint; UNKNOWN_SIZE when all its value bits are 1. */
static uint64_t vint_value(const uint8_t *p, int n)
{
    uint64_t v = p[0] & (0xFFu >> n);
    uint64_t all_ones = (1ull << (7 * n)) - 1;
    for (int i = 1; i < n; i++)
        v = v << 8 | p[i];
    return v == all_ones ? UNKNOWN_SIZE : v;
}

static uint64_t read_uint(const uint8_t *p, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void track_reset(track_info *t)
{
    free(t->priv);
    memset(t, 0, sizeof(*t));
}

/* A TrackEntry has ended (another began, or Tracks ended): keep it if it
 * is the first audio track. */
static void track_close(webm_demux *d)
{
    if (!d->have_audio && d->cur.type == TRACK_AUDIO) {
        d->audio = d->cur;
        d->have_audio = 1;
        memset(&d->cur, 0, sizeof(d->cur));
        return;
    }
    track_reset(&d->cur);
}

static int choose_track(webm_demux *d, char *err, size_t errlen)
{
    d->chosen = 1;
    track_close(d);
    if (!d->have_audio) {
        vb_seterr(err, errlen, "the WebM stream has no audio track");
        return VB_EUNSUPPORTED;
    }
    if (strcmp(d->audio.codec, "A_OPUS") != 0) {
        vb_seterr(err, errlen, "the WebM audio track uses codec %s; "
                  "supported in WebM: Opus (A_OPUS)",
                  d->audio.codec[0] ? d->audio.codec : "(none given)");
        return VB_EUNSUPPORTED;
    }
    return d->sink.track(d->sink.ctx, d->audio.priv, d->audio.priv_len, err,
                         errlen);
}

/* Splits a Block or SimpleBlock into its frames (Matroska lacing). */
static int handle_block(webm_demux *d, const uint8_t *p, size_t len,
                        char *err, size_t errlen)
{
    if (!d->chosen) {
        int rc = choose_track(d, err, errlen);
        if (rc != 0)
            return rc;
    }
    int n = len > 0 ? vint_length(p[0]) : 0;
    if (n == 0 || (size_t)n + 3 > len)
        return corrupt(d, err, errlen, "a block too short for its header");
    if (vint_value(p, n) != d->audio.number)
        return 0; /* another track's */
    uint8_t flags = p[n + 2];
    p += n + 3;
    len -= (size_t)n + 3;
    int lacing = (flags >> 1) & 3;
    if (lacing == 0)
        return d->sink.packet(d->sink.ctx, p, len, err, errlen);
    if (len < 1)
        return corrupt(d, err, errlen, "a laced block without a frame count");
    size_t count = (size_t)p[0] + 1, sizes[256], used = 1, total = 0;
    for (size_t i = 0; i + 1 < count; i++) {
        if (lacing == 1) { /* Xiph: runs of 255 */
            size_t size = 0;
            uint8_t b;
            do {
                if (used >= len)
                    return corrupt(d, err, errlen, "a truncated lace table");
                b = p[used++];
                size += b;
            } while (b == 255);
            sizes[i] = size;
        } else if (lacing == 3) { /* EBML: a size, then signed differences */
            int m = used < len ? vint_length(p[used]) : 0;
            if (m == 0 || used + (size_t)m > len)
                return corrupt(d, err, errlen, "a truncated lace table");
            uint64_t raw = vint_value(p + used, m);
            used += (size_t)m;
            if (i == 0) {
                sizes[i] = (size_t)raw;
            } else {
                int64_t bias = (int64_t)((1ull << (7 * m - 1)) - 1);
                int64_t size = (int64_t)sizes[i - 1] + ((int64_t)raw - bias);
                if (raw == UNKNOWN_SIZE || size < 0)
                    return corrupt(d, err, errlen, "a bad lace size");
                sizes[i] = (size_t)size;
            }
        } else { /* fixed */
            sizes[i] = (len - 1) / count;
        }
        if (sizes[i] > len)
            return corrupt(d, err, errlen, "a lace larger than its block");
        total += sizes[i];
    }
    if (lacing == 2 && (len - 1) % count != 0)
        return corrupt(d, err, errlen, "fixed lacing of unequal frames");
    if (used + total > len)
        return corrupt(d, err, errlen, "laces larger than their block");
    sizes[count - 1] = len - used - total;
    for (size_t i = 0; i < count; i++) {
        int rc = d->sink.packet(d->sink.ctx, p + used, sizes[i], err, errlen);
        if (rc != 0)
            return rc;
        used += sizes[i];
    }
    return 0;
}

static int handle_leaf(webm_demux *d, uint32_t id, const uint8_t *p,
                       size_t len, char *err, size_t errlen)
{
    switch (id) {
    case ID_TRACK_NUMBER: d->cur.number = read_uint(p, len); return 0;
    case ID_TRACK_TYPE: d->cur.type = read_uint(p, len); return 0;
    case ID_CODEC_ID:
        snprintf(d->cur.codec, sizeof(d->cur.codec), "%.*s",
                 (int)(len < 47 ? len : 47), (const char *)p);
        for (char *c = d->cur.codec; *c; c++)
            if (*c < 0x20 || *c > 0x7E)
                *c = '?';
        return 0;
    case ID_CODEC_PRIVATE:
        free(d->cur.priv);
        d->cur.priv = malloc(len ? len : 1);
        if (d->cur.priv == NULL)
            return VB_ENOMEM;
        memcpy(d->cur.priv, p, len);
        d->cur.priv_len = len;
        return 0;
    default: /* a block */
        return handle_block(d, p, len, err, errlen);
    }
}

static int is_entered(uint32_t id)
{
    return id == ID_EBML || id == ID_SEGMENT || id == ID_TRACKS ||
           id == ID_TRACK_ENTRY || id == ID_CLUSTER || id == ID_BLOCK_GROUP;
}

static int is_read(uint32_t id)
{
    return id == ID_TRACK_NUMBER || id == ID_TRACK_TYPE || id == ID_CODEC_ID ||
           id == ID_CODEC_PRIVATE || id == ID_SIMPLE_BLOCK || id == ID_BLOCK;
}

/* An element header is complete in buf: decide what to do with it. */
static int start_element(webm_demux *d, uint32_t id, uint64_t size,
                         char *err, size_t errlen)
{
    if (!d->seen_ebml) {
        if (id != ID_EBML)
            return corrupt(d, err, errlen, "no EBML header at the start");
        d->seen_ebml = 1;
    }
    while (d->depth > 0 && d->ends[d->depth - 1] <= d->pos - d->buf_len)
        d->depth--; /* masters that ended before this element */
    uint64_t end = size == UNKNOWN_SIZE ? UNKNOWN_SIZE : d->pos + size;
    if (end != UNKNOWN_SIZE && d->depth > 0 && end > d->ends[d->depth - 1])
        return corrupt(d, err, errlen, "an element overruns its parent");
    if (id == ID_TRACK_ENTRY || id == ID_TRACKS)
        track_close(d);
    if (id == ID_CLUSTER && !d->chosen) {
        int rc = choose_track(d, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (is_entered(id) || size == UNKNOWN_SIZE) {
        if (end != UNKNOWN_SIZE) {
            if (d->depth == MAX_DEPTH)
                return corrupt(d, err, errlen, "elements nested too deep");
            d->ends[d->depth++] = end;
        }
        d->mode = READ_HEADER;
        return 0;
    }
    if ((id == ID_SIMPLE_BLOCK || id == ID_BLOCK) && size > 0) {
        if (!d->chosen) {
            int rc = choose_track(d, err, errlen);
            if (rc != 0)
                return rc;
        }
        d->leaf_id = id;
        d->need = size;
        d->mode = READ_TRACK; /* whose block is it? */
        return 0;
    }
    if (is_read(id)) {
        if (size > CODEC_PRIVATE_LIMIT)
            return corrupt(d, err, errlen, "an element is implausibly large");
        if (size == 0) {
            static const uint8_t empty[1];
            d->mode = READ_HEADER;
            return handle_leaf(d, id, empty, 0, err, errlen);
        }
        d->leaf_id = id;
        d->need = size;
        d->mode = READ_PAYLOAD;
        return 0;
    }
    if (size > SKIP_LIMIT && id != ID_CUES && id != ID_ATTACHMENTS &&
        id != ID_SEGMENT)
        return corrupt(d, err, errlen, "an unknown element is implausibly large");
    d->skip_left = size;
    d->mode = SKIP;
    return 0;
}

static int buf_reserve(webm_demux *d, size_t cap)
{
    if (cap <= d->buf_cap)
        return 0;
    uint8_t *grown = realloc(d->buf, cap);
    if (grown == NULL)
        return VB_ENOMEM;
    d->buf = grown;
    d->buf_cap = cap;
    return 0;
}

/* Takes header bytes one at a time until the ID and size are whole. */
/* Keeps one byte of a header or a block's track number. */
static int push_byte(webm_demux *d, uint8_t byte)
{
    int rc = buf_reserve(d, 16);
    if (rc != 0)
        return rc;
    d->buf[d->buf_len++] = byte;
    d->pos++;
    return 0;
}

static int take_header_byte(webm_demux *d, uint8_t byte, char *err,
                            size_t errlen)
{
    int rc = push_byte(d, byte);
    if (rc != 0)
        return rc;
    int id_len = vint_length(d->buf[0]);
    if (id_len == 0 || id_len > 4)
        return corrupt(d, err, errlen, "not an element ID");
    if (d->buf_len <= (size_t)id_len)
        return 0;
    int size_len = vint_length(d->buf[id_len]);
    if (size_len == 0)
        return corrupt(d, err, errlen, "not an element size");
    if (d->buf_len < (size_t)(id_len + size_len))
        return 0;
    uint32_t id = (uint32_t)read_uint(d->buf, (size_t)id_len);
    uint64_t size = vint_value(d->buf + id_len, size_len);
    rc = start_element(d, id, size, err, errlen);
    d->buf_len = 0;
    return rc;
}

/* The first bytes of a block: its track number.  Our track's blocks are
 * collected whole; any other's (video, say, whose blocks can be large)
 * are skipped without being held. */
static int take_track_byte(webm_demux *d, uint8_t byte, char *err,
                           size_t errlen)
{
    int rc = push_byte(d, byte);
    if (rc != 0)
        return rc;
    int n = vint_length(d->buf[0]);
    if (n == 0 || (uint64_t)n > d->need)
        return corrupt(d, err, errlen, "a block without a track number");
    if (d->buf_len < (size_t)n)
        return 0;
    if (vint_value(d->buf, n) != d->audio.number) {
        d->skip_left = d->need - (uint64_t)n;
        d->buf_len = 0;
        d->mode = d->skip_left > 0 ? SKIP : READ_HEADER;
        return 0;
    }
    if (d->need > BLOCK_LIMIT)
        return corrupt(d, err, errlen, "an audio block is implausibly large");
    d->mode = READ_PAYLOAD;
    if (d->buf_len == d->need) { /* a block of nothing but its track */
        d->buf_len = 0;
        d->mode = READ_HEADER;
        return handle_block(d, d->buf, (size_t)d->need, err, errlen);
    }
    return 0;
}

int webm_demux_feed(webm_demux *d, const uint8_t *data, size_t len,
                    char *err, size_t errlen)
{
    if (d->failed) {
        vb_seterr(err, errlen, "the WebM stream already failed");
        return VB_EINVAL;
    }
    int rc = 0;
    while (len > 0 && rc == 0) {
        if (d->mode == READ_HEADER || d->mode == READ_TRACK) {
            rc = d->mode == READ_HEADER
                     ? take_header_byte(d, *data, err, errlen)
                     : take_track_byte(d, *data, err, errlen);
            data++;
            len--;
        } else if (d->mode == SKIP) {
            size_t n = len < d->skip_left ? len : (size_t)d->skip_left;
            d->skip_left -= n;
            d->pos += n;
            data += n;
            len -= n;
            if (d->skip_left == 0)
                d->mode = READ_HEADER;
        } else {
            size_t n = (size_t)d->need - d->buf_len;
            n = len < n ? len : n;
            const uint8_t *payload = data;
            if (d->buf_len > 0 || n < d->need) { /* split: collect */
                /* Grow with what has arrived, not with what the size
                 * claims: a damaged size must not cost memory. */
                size_t want = d->buf_len + n;
                if (want > d->buf_cap) {
                    size_t cap = d->buf_cap * 2 > want ? d->buf_cap * 2 : want;
                    rc = buf_reserve(d, cap < d->need ? cap : (size_t)d->need);
                    if (rc != 0)
                        break;
                }
                memcpy(d->buf + d->buf_len, data, n);
                d->buf_len += n;
                payload = d->buf;
            }
            d->pos += n;
            data += n;
            len -= n;
            if (d->buf_len == 0 || d->buf_len == d->need) {
                size_t whole = (size_t)d->need;
                d->buf_len = 0;
                d->mode = READ_HEADER;
                rc = handle_leaf(d, d->leaf_id, payload, whole, err, errlen);
            }
        }
    }
    if (rc != 0)
        d->failed = 1;
    return rc;
}

int webm_demux_finish(webm_demux *d, char *err, size_t errlen)
{
    if (d->failed)
        return 0; /* already reported */
    if (d->mode == READ_PAYLOAD || d->mode == READ_TRACK ||
        (d->mode == READ_HEADER && d->buf_len > 0)) {
        vb_seterr(err, errlen, "the WebM stream was cut off inside an "
                  "element at byte %llu", (unsigned long long)d->pos);
        return VB_EINVAL;
    }
    return 0;
}
