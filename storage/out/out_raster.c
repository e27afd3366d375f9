/* out_raster.c: a tiny RGB canvas for sheets, strips and the sweep chart: filled
 * rectangles, thick lines (Bresenham with a square pen), nearest-neighbour blits and a 3x5
 * pixel font (digits, '.', '-', upper-case letters; lower case is drawn as upper case,
 * anything else as a blank). Everything is integer arithmetic: the pixels, hence the PNG
 * bytes, are the same on every machine. */
#include <stdlib.h>
#include <string.h>

#include "storage/out/out_impl.h"

int out_canvas_init(out_canvas *c, int w, int h, const uint8_t bg[3])
{
    c->w = w;
    c->h = h;
    c->px = malloc((size_t)w * (size_t)h * 3);
    if (!c->px)
        return GQ_ENOMEM;
    for (size_t k = 0; k < (size_t)w * (size_t)h; k++)
        memcpy(c->px + 3 * k, bg, 3);
    return 0;
}

void out_canvas_release(out_canvas *c)
{
    free(c->px);
    c->px = NULL;
}

static void dot(out_canvas *c, int x, int y, const uint8_t rgb[3])
{
    if (x >= 0 && y >= 0 && x < c->w && y < c->h)
        memcpy(c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3, rgb, 3);
}

void out_canvas_rect(out_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3])
{
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++)
            dot(c, i, j, rgb);
}

void out_canvas_line(out_canvas *c, int x0, int y0, int x1, int y1, const uint8_t rgb[3],
                     int pen)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (;;) {
        out_canvas_rect(c, x0 - pen / 2, y0 - pen / 2, pen, pen, rgb);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

void out_canvas_blit(out_canvas *c, int x, int y, int tw, int th, const uint8_t *src, int sw,
                     int sh)
{
    for (int j = 0; j < th; j++) {
        int sj = (int)((int64_t)j * sh / th);
        for (int i = 0; i < tw; i++) {
            int si = (int)((int64_t)i * sw / tw);
            dot(c, x + i, y + j, src + ((size_t)sj * (size_t)sw + (size_t)si) * 3);
        }
    }
}

/* 3x5 glyphs, rows top to bottom, 3 bits each (bit 2 = left). */
static const char *glyph(char ch)
{
    static const char *digits[10] = {"75557", "26227", "71747", "71717", "55711",
                                     "74717", "74757", "71111", "75757", "75717"};
    static const char *letters[26] = {
        "25755", "65656", "34443", "65556", "74647", "74644", "34553", "55755", "72227",
        "11153", "55655", "44447", "57555", "75555", "25552", "65644", "25573", "65655",
        "34216", "72222", "55557", "55552", "55575", "55255", "55222", "71247"};
    if (ch >= '0' && ch <= '9')
        return digits[ch - '0'];
    if (ch >= 'a' && ch <= 'z')
        ch = (char)(ch - 'a' + 'A');
    if (ch >= 'A' && ch <= 'Z')
        return letters[ch - 'A'];
    if (ch == '.')
        return "00002";
    if (ch == '-')
        return "00700";
    if (ch == '=')
        return "07070";
    return "00000";
}

void out_canvas_text(out_canvas *c, int x, int y, int scale, const char *s, const uint8_t rgb[3])
{
    for (; *s; s++, x += 4 * scale) {
        const char *g = glyph(*s);
        for (int r = 0; r < 5; r++) {
            int bits = g[r] - '0';
            for (int b = 0; b < 3; b++)
                if (bits & (4 >> b))
                    out_canvas_rect(c, x + b * scale, y + r * scale, scale, scale, rgb);
        }
    }
}
