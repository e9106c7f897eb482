/* fuzz_multipart.c - multipart/form-data bodies (net/multipart.c): the
 * input's first line is a Content-Type value, the rest a body with the
 * boundary found there (or "b").  Every part found lies inside the body,
 * no more parts than allowed are returned, and a refusal says why. */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "net/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const uint8_t *nl = memchr(data, '\n', len < 256 ? len : 256);
    size_t type_len = nl ? (size_t)(nl - data) : 0;
    char type[257], boundary[MULTIPART_BOUNDARY_MAX + 1];
    memcpy(type, data, type_len);
    type[type_len] = '\0';
    if (multipart_boundary(type, boundary) != 1)
        strcpy(boundary, "b");
    const uint8_t *body = nl ? nl + 1 : data;
    size_t body_len = len - (size_t)(body - data);
    multipart_part parts[8];
    size_t count = 99;
    char err[200] = "";
    int rc = multipart_parse(body, body_len, boundary, parts, 8, &count, err,
                             sizeof(err));
    if (rc != 0 && rc != -1)
        abort();
    if (rc == -1 && err[0] == '\0')
        abort();
    if (count > 8)
        abort();
    for (size_t i = 0; rc == 0 && i < count; i++)
        if (parts[i].data < body || parts[i].len > body_len ||
            parts[i].data + parts[i].len > body + body_len)
            abort();
    return 0;
}
