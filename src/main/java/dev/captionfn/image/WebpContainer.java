package dev.captionfn.image;

import java.io.ByteArrayOutputStream;

/**
 * Finds what Pillow shows of a WebP file: the file itself when it is a still image, or, for an
 * animation, its first frame on the canvas.
 *
 * <p>Pillow decodes every WebP through libwebp's WebPAnimDecoder, which paints the first frame onto
 * a canvas of the size VP8X declares, cleared to transparent black. libwebp's WebPDecode (what the
 * Java binding calls) refuses animations, so the first ANMF frame's image chunks (ALPH, VP8, VP8L)
 * are copied into a still WebP of their own, and the caller places the decoded frame at its offset.
 * Hand-written because it is container bookkeeping only (RIFF chunks, a few header fields); the
 * pixels are still libwebp's.
 */
final class WebpContainer {

    private static final int FIRST_CHUNK = 12;
    private static final int ANIMATION_FLAG = 0x02;
    private static final int ALPHA_FLAG = 0x10;
    /** ANMF payload: X/2, Y/2, width-1, height-1, duration (24 bits each), flags (8 bits), then frame chunks. */
    private static final int ANMF_HEADER = 16;

    private WebpContainer() {
    }

    /**
     * The bytes for libwebp to decode and where they go.
     *
     * @param still     a still WebP: the file itself, or the first frame of an animation
     * @param animated  whether {@code still} is a frame to be placed on a canvas
     */
    record FirstFrame(byte[] still, boolean animated, int canvasWidth, int canvasHeight, int x, int y) {
    }

    static FirstFrame firstFrame(byte[] webp) {
        int pos = FIRST_CHUNK;
        int canvasWidth = 0;
        int canvasHeight = 0;
        boolean animated = false;
        while (pos + 8 <= webp.length) {
            long size = u32le(webp, pos + 4);
            long end = Math.min(webp.length, pos + 8 + size + (size & 1)); // chunks are padded to even sizes
            if (ImageFormat.startsWithAscii(webp, pos, "VP8X") && size >= 10 && pos + 18 <= webp.length) {
                animated = (webp[pos + 8] & ANIMATION_FLAG) != 0;
                canvasWidth = u24le(webp, pos + 12) + 1;
                canvasHeight = u24le(webp, pos + 15) + 1;
                if (!animated) {
                    break;
                }
            } else if (animated && ImageFormat.startsWithAscii(webp, pos, "ANMF")) {
                return frame(webp, pos + 8, (int) end, canvasWidth, canvasHeight);
            }
            pos = (int) end;
        }
        if (animated) {
            throw new ImageDecodeException(ImageError.CORRUPT_IMAGE, "The WebP animation is corrupt: it has no frame.");
        }
        return new FirstFrame(webp, false, 0, 0, 0, 0);
    }

    private static FirstFrame frame(byte[] webp, int start, int end, int canvasWidth, int canvasHeight) {
        if (end - start < ANMF_HEADER) {
            throw new ImageDecodeException(ImageError.CORRUPT_IMAGE, "The WebP animation is corrupt: its first frame is cut short.");
        }
        int x = u24le(webp, start) * 2;
        int y = u24le(webp, start + 3) * 2;
        int width = u24le(webp, start + 6) + 1;
        int height = u24le(webp, start + 9) + 1;
        if ((long) x + width > canvasWidth || (long) y + height > canvasHeight) {
            // libwebp's demuxer rejects such a file, and so does Pillow
            throw new ImageDecodeException(ImageError.CORRUPT_IMAGE, String.format(java.util.Locale.ROOT,
                    "The WebP animation is corrupt: its first frame (%dx%d at %d,%d) reaches past the %dx%d canvas.",
                    width, height, x, y, canvasWidth, canvasHeight));
        }
        ByteArrayOutputStream chunks = new ByteArrayOutputStream();
        boolean alpha = false;
        int pos = start + ANMF_HEADER;
        while (pos + 8 <= end) {
            long size = u32le(webp, pos + 4);
            int chunkEnd = (int) Math.min(end, pos + 8 + size + (size & 1));
            boolean image = ImageFormat.startsWithAscii(webp, pos, "VP8 ") || ImageFormat.startsWithAscii(webp, pos, "VP8L");
            if (image || ImageFormat.startsWithAscii(webp, pos, "ALPH")) {
                alpha |= !image;
                chunks.write(webp, pos, chunkEnd - pos);
            }
            pos = chunkEnd;
        }
        ByteArrayOutputStream still = new ByteArrayOutputStream();
        still.writeBytes(new byte[] {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0});
        still.write(alpha ? ALPHA_FLAG : 0);
        still.writeBytes(new byte[3]);
        still.writeBytes(u24le(width - 1));
        still.writeBytes(u24le(height - 1));
        still.writeBytes(chunks.toByteArray());
        byte[] out = still.toByteArray();
        putU32le(out, 4, out.length - 8L);
        return new FirstFrame(out, true, canvasWidth, canvasHeight, x, y);
    }

    private static int u24le(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16;
    }

    private static byte[] u24le(int value) {
        return new byte[] {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16)};
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
