/* export.c - transcript files (see export.h). */
#include "export.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/strbuf.h"
#include "../util/utf8.h"

int export_format_parse(const char *ext)
{
    static const char *const names[] = {"txt", "srt", "vtt", "json", "rttm"};
    for (int i = 0; i < 5; i++)
        if (strcmp(ext, names[i]) == 0)
            return i;
    return -1;
}

const char *export_content_type(export_format fmt)
{
    switch (fmt) {
    case EXPORT_TXT: return "text/plain; charset=utf-8";
    case EXPORT_SRT: return "application/x-subrip; charset=utf-8";
    case EXPORT_VTT: return "text/vtt; charset=utf-8";
    case EXPORT_JSON: return "application/json";
    case EXPORT_RTTM: return "text/plain; charset=utf-8";
    }
    return "application/octet-stream";
}

const char *export_speaker_name(const export_doc *doc, const char *label,
                                char *buf, size_t len)
{
    if (label == NULL)
        return NULL;
    for (size_t i = 0; i < doc->speaker_count; i++)
        if (strcmp(doc->speakers[i].label, label) == 0)
            return doc->speakers[i].name;
    unsigned n;
    char rest;
    if (sscanf(label, "speaker_%u%c", &n, &rest) == 1) {
        snprintf(buf, len, "Speaker %u", n);
        return buf;
    }
    return label;
}

/* H:MM:SS for text, HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT). */
static void put_time(strbuf *sb, double seconds, char millis_sep)
{
    long ms = lround(seconds * 1000.0);
    if (ms < 0)
        ms = 0;
    long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60;
    if (millis_sep)
        strbuf_printf(sb, "%02ld:%02ld:%02ld%c%03ld", h, m, s, millis_sep, ms % 1000);
    else
        strbuf_printf(sb, "%ld:%02ld:%02ld", h, m, s);
}

/* ---- plain text ----------------------------------------------------- */

static char *render_txt(const export_doc *doc)
{
    strbuf sb = {0};
    strbuf_printf(&sb, "%s\n", doc->transcription->title);
    const char *prev = NULL;
    char bufs[2][64];
    for (size_t i = 0; i < doc->segment_count; i++) {
        const store_segment *seg = &doc->segments[i];
        const char *name = export_speaker_name(doc, seg->speaker, bufs[i & 1], 64);
        /* A new paragraph when the speaker changes, or at every segment
         * while speakers are unknown. */
        int same = i > 0 && name && prev && strcmp(name, prev) == 0;
        if (same) {
            strbuf_printf(&sb, " %s", seg->text);
        } else {
            strbuf_puts(&sb, i > 0 ? "\n\n[" : "\n[");
            put_time(&sb, seg->start_time, 0);
            strbuf_puts(&sb, "]");
            if (name)
                strbuf_printf(&sb, " %s:", name);
            strbuf_printf(&sb, " %s", seg->text);
        }
        prev = name;
    }
    strbuf_puts(&sb, "\n");
    return strbuf_take(&sb);
}

/* ---- subtitles ------------------------------------------------------ */

/* Every line break splits words, so no word carries one into a cue. */
#define WORD_BREAKS " \t\n\r\v\f"

typedef struct {
    const char *text; /* points into a copy of the segment text */
    double start, end;
} token;

/*
 * Splits a segment's text into words with times: the recogniser's when
 * there are as many of them as words in the text (the text was not
 * rewritten), else spread over the segment by character position.
 * Returns the count; *out and *copy are freed by the caller.
 */
static size_t tokenise(const store_segment *seg, token **out, char **copy)
{
    *copy = strdup(seg->text ? seg->text : "");
    size_t cap = strlen(*copy) / 2 + 1, n = 0;
    *out = malloc(cap * sizeof(token));
    if (*copy == NULL || *out == NULL)
        return 0;
    size_t total = strlen(*copy);
    for (char *save = NULL, *w = strtok_r(*copy, WORD_BREAKS, &save); w;
         w = strtok_r(NULL, WORD_BREAKS, &save)) {
        double from = (double)(w - *copy) / (double)(total ? total : 1);
        double to = (double)(w - *copy + (long)strlen(w)) / (double)(total ? total : 1);
        double span = seg->end_time - seg->start_time;
        (*out)[n].text = w;
        (*out)[n].start = seg->start_time + from * span;
        (*out)[n].end = seg->start_time + to * span;
        n++;
    }
    cJSON *words = seg->words_json ? cJSON_Parse(seg->words_json) : NULL;
    if (cJSON_IsArray(words) && (size_t)cJSON_GetArraySize(words) == n) {
        size_t i = 0;
        for (cJSON *w = words->child; w; w = w->next, i++) {
            (*out)[i].start = cJSON_GetNumberValue(cJSON_GetObjectItem(w, "start"));
            (*out)[i].end = cJSON_GetNumberValue(cJSON_GetObjectItem(w, "end"));
        }
    }
    cJSON_Delete(words);
    return n;
}

typedef struct {
    strbuf sb;
    export_format fmt;
    int number;
    double last_end;
} cue_writer;

/* Text from people (a corrected segment, a speaker's name) in a cue, so
 * that it cannot end the cue or start another: control characters become
 * spaces; in WebVTT, & < > are written as entities (which also takes care
 * of "-->", not allowed in a cue); SubRip has no escapes, so "-->" there
 * becomes "->". */
static void put_cue_text(cue_writer *cw, const char *text)
{
    for (const char *c = text; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch < 0x20 || ch == 0x7f)
            strbuf_puts(&cw->sb, " ");
        else if (cw->fmt == EXPORT_VTT && ch == '&')
            strbuf_puts(&cw->sb, "&amp;");
        else if (cw->fmt == EXPORT_VTT && ch == '<')
            strbuf_puts(&cw->sb, "&lt;");
        else if (cw->fmt == EXPORT_VTT && ch == '>')
            strbuf_puts(&cw->sb, "&gt;");
        else if (cw->fmt == EXPORT_SRT && strncmp(c, "-->", 3) == 0) {
            strbuf_puts(&cw->sb, "->");
            c += 2;
        } else
            strbuf_append(&cw->sb, c, 1);
    }
}

/* Writes one cue of words [from, to) with its lines broken at 42. */
static void write_cue(cue_writer *cw, const token *t, size_t from, size_t to,
                      const char *speaker)
{
    double start = t[from].start, end = t[to - 1].end;
    if (start < cw->last_end)
        start = cw->last_end;
    if (end < start + 0.3)
        end = start + 0.3;
    cw->last_end = end;
    char sep = cw->fmt == EXPORT_SRT ? ',' : '.';
    if (cw->fmt == EXPORT_SRT)
        strbuf_printf(&cw->sb, "%d\n", ++cw->number);
    put_time(&cw->sb, start, sep);
    strbuf_puts(&cw->sb, " --> ");
    put_time(&cw->sb, end, sep);
    strbuf_puts(&cw->sb, "\n");
    if (speaker) {
        strbuf_puts(&cw->sb, cw->fmt == EXPORT_VTT ? "<v " : "");
        put_cue_text(cw, speaker);
        strbuf_puts(&cw->sb, cw->fmt == EXPORT_VTT ? ">" : ": ");
    }
    size_t line = speaker && cw->fmt == EXPORT_SRT
                      ? utf8_chars(speaker, strlen(speaker)) + 2 : 0;
    for (size_t i = from; i < to; i++) {
        size_t w = utf8_chars(t[i].text, strlen(t[i].text));
        if (i > from && line + 1 + w > EXPORT_LINE_CHARS) {
            strbuf_puts(&cw->sb, "\n");
            line = 0;
        } else if (i > from) {
            strbuf_puts(&cw->sb, " ");
            line++;
        }
        put_cue_text(cw, t[i].text);
        line += w;
    }
    strbuf_puts(&cw->sb, "\n\n");
}

/* How many words from `from` fit one cue: two lines, 7 seconds. */
static size_t cue_length(const token *t, size_t from, size_t n, size_t prefix)
{
    size_t lines = 1, line = prefix, i = from;
    for (; i < n; i++) {
        size_t w = utf8_chars(t[i].text, strlen(t[i].text));
        if (i > from && t[i].end - t[from].start > EXPORT_CUE_SECONDS)
            break;
        if (i > from && line + 1 + w > EXPORT_LINE_CHARS) {
            if (lines == 2)
                break;
            lines++;
            line = w;
        } else {
            line += (i > from ? 1 : 0) + w;
        }
    }
    return i > from ? i - from : 1;
}

static char *render_subtitles(const export_doc *doc, export_format fmt)
{
    cue_writer cw = {.fmt = fmt};
    if (fmt == EXPORT_VTT)
        strbuf_puts(&cw.sb, "WEBVTT\n\n");
    for (size_t s = 0; s < doc->segment_count; s++) {
        token *t = NULL;
        char *copy = NULL;
        size_t n = tokenise(&doc->segments[s], &t, &copy);
        char buf[64];
        const char *speaker = export_speaker_name(doc, doc->segments[s].speaker,
                                                  buf, sizeof(buf));
        for (size_t from = 0; from < n;) {
            size_t prefix = speaker && fmt == EXPORT_SRT && from == 0
                                ? utf8_chars(speaker, strlen(speaker)) + 2 : 0;
            size_t len = cue_length(t, from, n, prefix);
            write_cue(&cw, t, from, from + len, from == 0 || fmt == EXPORT_VTT
                                                    ? speaker : NULL);
            from += len;
        }
        free(t);
        free(copy);
    }
    return strbuf_take(&cw.sb);
}

/* ---- JSON ----------------------------------------------------------- */

static char *render_json(const export_doc *doc)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *t = cJSON_AddObjectToObject(root, "transcription");
    cJSON_AddNumberToObject(t, "id", (double)doc->transcription->id);
    cJSON_AddStringToObject(t, "title", doc->transcription->title);
    cJSON_AddStringToObject(t, "created_at", doc->transcription->created_at);
    cJSON *names = cJSON_AddObjectToObject(root, "speakers");
    for (size_t i = 0; i < doc->speaker_count; i++)
        cJSON_AddStringToObject(names, doc->speakers[i].label, doc->speakers[i].name);
    cJSON *segs = cJSON_AddArrayToObject(root, "segments");
    for (size_t i = 0; i < doc->segment_count; i++) {
        const store_segment *seg = &doc->segments[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "id", (double)seg->id);
        cJSON_AddStringToObject(j, "text", seg->text);
        if (seg->speaker) {
            cJSON_AddStringToObject(j, "speaker", seg->speaker);
            char buf[64];
            cJSON_AddStringToObject(j, "speaker_name",
                                    export_speaker_name(doc, seg->speaker, buf,
                                                        sizeof(buf)));
        } else {
            cJSON_AddNullToObject(j, "speaker");
            cJSON_AddNullToObject(j, "speaker_name");
        }
        cJSON_AddNumberToObject(j, "start_time", round(seg->start_time * 1000) / 1000);
        cJSON_AddNumberToObject(j, "end_time", round(seg->end_time * 1000) / 1000);
        cJSON_AddBoolToObject(j, "is_final", seg->is_final);
        cJSON *words = seg->words_json ? cJSON_Parse(seg->words_json) : NULL;
        cJSON_AddItemToObject(j, "words", words ? words : cJSON_CreateArray());
        cJSON_AddItemToArray(segs, j);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

static char *render_rttm(const export_doc *doc)
{
    strbuf sb = {0};
    for (size_t i = 0; i < doc->segment_count; i++) {
        const store_segment *seg = &doc->segments[i];
        strbuf_printf(&sb, "SPEAKER verbatim_%lld 1 %.3f %.3f <NA> <NA> %s "
                      "<NA> <NA>\n", (long long)doc->transcription->id,
                      seg->start_time, seg->end_time - seg->start_time,
                      seg->speaker ? seg->speaker : "unknown");
    }
    return strbuf_take(&sb);
}

char *export_render(const export_doc *doc, export_format fmt)
{
    switch (fmt) {
    case EXPORT_RTTM: return render_rttm(doc);
    case EXPORT_TXT: return render_txt(doc);
    case EXPORT_SRT:
    case EXPORT_VTT: return render_subtitles(doc, fmt);
    case EXPORT_JSON: return render_json(doc);
    }
    return NULL;
}
