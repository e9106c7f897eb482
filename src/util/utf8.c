/* utf8.c - UTF-8 checks and cuts (see utf8.h). */
#include "utf8.h"

#include <string.h>

static int continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

int utf8_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;         /* continuation bytes */
        unsigned min, cp; /* the least code point n allows; the one read */
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n >= len)
            return 0; /* cut short */
        for (size_t k = 1; k <= n; k++) {
            if (!continuation(s[i + k]))
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!continuation((unsigned char)s[i]))
            n++;
    return n;
}

size_t utf8_prefix(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && continuation((unsigned char)s[n]))
        n--;
    return n;
}
