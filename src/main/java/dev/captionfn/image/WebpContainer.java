package dev.captionfn.image;

/**
 * Removes the ICC profile from a WebP file before TwelveMonkeys decodes it.
 *
 * <p>The TwelveMonkeys reader converts pixels through an embedded ICCP profile whatever the read
 * parameters say; Pillow keeps the stored values and only carries the profile along. Dropping the
 * chunk (and the VP8X flag announcing it) from a copy of the container is the one way to get the
 * stored values. Files without a profile are returned as they are, without a copy.
 */
final class WebpContainer {

    private static final int FIRST_CHUNK = 12;
    private static final int ICC_FLAG = 0x20;

    private WebpContainer() {
    }

    static byte[] withoutIccProfile(byte[] webp) {
        int iccStart = -1;
        int iccEnd = -1;
        int vp8x = -1;
        int pos = FIRST_CHUNK;
        while (pos + 8 <= webp.length) {
            long size = u32le(webp, pos + 4);
            long end = Math.min(webp.length, pos + 8 + size + (size & 1)); // chunks are padded to even sizes
            if (ImageFormat.startsWithAscii(webp, pos, "ICCP") && iccStart < 0) {
                iccStart = pos;
                iccEnd = (int) end;
            } else if (ImageFormat.startsWithAscii(webp, pos, "VP8X") && size >= 1) {
                vp8x = pos;
            }
            pos = (int) end;
        }
        if (iccStart < 0) {
            return webp;
        }
        int removed = iccEnd - iccStart;
        byte[] out = new byte[webp.length - removed];
        System.arraycopy(webp, 0, out, 0, iccStart);
        System.arraycopy(webp, iccEnd, out, iccStart, webp.length - iccEnd);
        putU32le(out, 4, u32le(webp, 4) - removed);
        if (vp8x >= 0) {
            int flags = (vp8x < iccStart ? vp8x : vp8x - removed) + 8;
            out[flags] = (byte) (out[flags] & ~ICC_FLAG);
        }
        return out;
    }

    private static long u32le(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (long) (b[at + 3] & 0xFF) << 24;
    }

    private static void putU32le(byte[] b, int at, long value) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (value >>> (8 * i));
        }
    }
}
