/*
 * web.h - the browser app's files (web/), served by the server itself.
 *
 * They are read once at start-up into memory, so serving them never
 * touches the disk from the I/O thread.  Page addresses of the single-page
 * app ("/", "/t/12") answer with index.html; "/api/docs" with docs.html.
 */
#ifndef VB_WEB_H
#define VB_WEB_H

#include <stddef.h>

typedef struct web_file {
    char path[128];           /* "/static/app.js" */
    const char *content_type;
    unsigned char *data;
    size_t len;
} web_file;

typedef struct web_files web_files;

/* Loads every file under dir.  A missing folder gives an empty set (the
 * API still works) and a warning in the log. */
int web_load(const char *dir, web_files **out);
void web_free(web_files *files);
/* The file for a request path, or NULL. */
const web_file *web_lookup(const web_files *files, const char *path);
/* The web/ folder next to the program (build/verbatim -> web/). */
void web_default_dir(char *out, size_t len);

#endif
