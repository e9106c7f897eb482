/*
 * exposition.c - GET /metrics: the figures an operator's Prometheus
 * scrapes, in its text format 0.0.4.
 *
 * Gauges are read where they already live (the server's health callback:
 * sessions, decoders, lag, load), counters and histograms from
 * util/metrics.  Runs on the I/O thread (API_ON_ANY): it touches no store
 * and takes no lock of its own; the page is built in a strbuf, a few KiB.
 * The route table gives the HTTP counter its labels, so that the number
 * of series is bounded by the table, never by the paths clients send.
 */
#include <stdio.h>
#include <string.h>

#include "../util/metrics.h"
#include "../util/strbuf.h"
#include "routes.h"

int api_metrics_slot(const api_match *match, int web_file)
{
    if (match->route_index >= 0)
        return match->route_index;
    return web_file ? api_route_count : api_route_count + 1;
}

static const char *slot_label(int slot, const char **method)
{
    if (slot == api_route_count) {
        *method = "GET";
        return "(web app)";
    }
    if (slot == api_route_count + 1) {
        *method = "";
        return "(no route)";
    }
    return api_route_label(slot, method);
}

static void gauge(strbuf *out, const char *name, const char *help,
                  double value)
{
    metrics_family(out, name, "gauge", help);
    metrics_sample(out, name, NULL, value);
}

static void render_sessions(strbuf *out, const api_health *h)
{
    static const char name[] = "verbatim_sessions_open";
    char labels[64];
    metrics_family(out, name, "gauge", "Sessions open now, by kind (live "
                   "sockets, Deepgram live sockets, uploads being "
                   "transcribed, watchers)");
    for (int k = 0; k < METRICS_SESSION_KINDS; k++) {
        snprintf(labels, sizeof(labels), "kind=\"%s\"",
                 metrics_session_kind_name((metrics_session_kind)k));
        metrics_sample(out, name, labels,
                       metrics_sessions_open((metrics_session_kind)k));
    }
    metrics_sample(out, name, "kind=\"watcher\"", h->watchers);
}

void handle_metrics(const route_call *call, api_response *out)
{
    api_health h = {0};
    if (call->ctx->health)
        call->ctx->health(call->ctx->health_ctx, &h);
    strbuf page = {0};
    render_sessions(&page, &h);
    gauge(&page, "verbatim_sessions_max",
          "Live sessions and uploads allowed at once (--max-sessions)",
          h.max_sessions);
    gauge(&page, "verbatim_workers", "Decoder worker threads", h.workers);
    gauge(&page, "verbatim_decoders",
          "Recogniser decoders in the pool (model instances)", h.decoders);
    gauge(&page, "verbatim_decoders_in_use", "Decoders held by a session",
          h.decoders_in_use);
    gauge(&page, "verbatim_decoders_waiting",
          "Sessions waiting for a decoder", h.decoders_waiting);
    gauge(&page, "verbatim_recogniser_ready",
          "1 once the recogniser's model is loaded", !h.loading);
    gauge(&page, "verbatim_worker_lag_seconds",
          "How long work has waited for a decoder worker", h.lag);
    gauge(&page, "verbatim_worker_load_ratio",
          "Share of the workers' time spent decoding lately (0 to 1)",
          h.load / 100);
    gauge(&page, "verbatim_store_queue",
          "Jobs waiting for the store's writer thread", h.store_queue);
    if (h.remote) {
        gauge(&page, "verbatim_upstream_connections",
              "Connections open to the recognition service", h.upstream_open);
        metrics_family(&page, "verbatim_upstream_failures_total", "counter",
                       "Connections to the recognition service dropped or "
                       "refused");
        metrics_sample(&page, "verbatim_upstream_failures_total", NULL,
                       (double)h.upstream_failures);
    }
    metrics_render(&page, slot_label);
    out->status = 200;
    out->content_type = API_METRICS_TYPE;
    out->body = strbuf_take(&page);
    out->body_len = out->body ? strlen(out->body) : 0;
    if (out->body == NULL)
        api_error_response(500, "Out of memory", out);
}
