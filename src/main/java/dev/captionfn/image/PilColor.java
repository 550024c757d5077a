package dev.captionfn.image;

import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.util.Arrays;

/**
 * The colour conversions that make a decoded raster equal Pillow's {@code convert("RGB")}.
 *
 * <p>These are hand-written because Java's colour management does something else on purpose:
 * {@code BufferedImage.getRGB} linearises gray through a gamma curve and applies embedded ICC
 * profiles, and no Java CMYK path uses Pillow's naive formula. Pillow does none of that: it keeps
 * the stored levels, drops alpha without compositing, expands palettes, clips 16-bit gray and
 * converts CMYK with {@code Convert.c cmyk2rgb}. JPEG YCbCr is converted with libjpeg's own integer
 * tables (jdcolor.c), which is what libjpeg-turbo hands Pillow.
 */
final class PilColor {

    private static final int SCALE_BITS = 16;
    private static final int ONE_HALF = 1 << (SCALE_BITS - 1);
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        // build_ycc_rgb_table in libjpeg's jdcolor.c
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALE_BITS;
            CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALE_BITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private PilColor() {
    }

    /** 8-bit samples kept as they are. Shared: lookup tables are never written after they are built. */
    static final byte[] IDENTITY_8 = highBits(8);
    /** 16-bit samples where Pillow keeps the high byte (16-bit RGB, RGBA and LA PNGs: rawmodes ";16B"). */
    static final byte[] HIGH_BYTE_16 = highBits(16);
    /** 16-bit gray opens as mode "I", and Convert.c i2rgb clips it to 0..255 rather than scaling. */
    static final byte[] CLIP_16 = clip16();

    /** Samples of 8 or more bits reduced to their top 8 bits. */
    static byte[] highBits(int bits) {
        byte[] lut = new byte[1 << bits];
        for (int i = 0; i < lut.length; i++) {
            lut[i] = (byte) (i >> (bits - 8));
        }
        return lut;
    }

    private static byte[] clip16() {
        byte[] lut = new byte[65536];
        for (int i = 0; i < lut.length; i++) {
            lut[i] = (byte) Math.min(i, 255);
        }
        return lut;
    }

    /** Samples of fewer than 8 bits stretched as Pillow's unpackers do (e.g. BGR;15: v * 255 / 31). */
    static byte[] scaled(int bits) {
        int max = (1 << bits) - 1;
        byte[] lut = new byte[max + 1];
        for (int i = 0; i <= max; i++) {
            lut[i] = (byte) (i * 255 / max);
        }
        return lut;
    }

    /**
     * One channel of a palette, {@code entries} long as the file declares it: Pillow fills the rest of
     * its 256 slots with the gray ramp (i, i, i), so out-of-range indices become gray, not black.
     */
    static byte[][] palette(IndexColorModel model, int entries) {
        int n = Math.min(entries, model.getMapSize());
        byte[][] luts = new byte[3][256];
        for (int i = 0; i < 256; i++) {
            boolean declared = i < n;
            luts[0][i] = (byte) (declared ? model.getRed(i) : i);
            luts[1][i] = (byte) (declared ? model.getGreen(i) : i);
            luts[2][i] = (byte) (declared ? model.getBlue(i) : i);
        }
        return luts;
    }

    /** The same, from a palette given as interleaved R, G, B bytes. */
    static byte[][] palette(byte[] rgb) {
        int n = Math.min(rgb.length / 3, 256);
        byte[][] luts = new byte[3][256];
        for (int i = 0; i < 256; i++) {
            for (int c = 0; c < 3; c++) {
                luts[c][i] = i < n ? rgb[i * 3 + c] : (byte) i;
            }
        }
        return luts;
    }

    /** The gray ramp Pillow uses for a GIF without any colour table (mode "L"). */
    static byte[][] grayRamp() {
        return new byte[][] {IDENTITY_8, IDENTITY_8, IDENTITY_8};
    }

    /**
     * Output channel c of each pixel is {@code luts[c][sample of band bands[c]]}: gray is bands
     * {0, 0, 0}, RGB(A) is {0, 1, 2} (alpha is simply never read), a palette is {0, 0, 0} with one
     * table per channel.
     */
    static RgbImage map(Raster raster, int[] bands, byte[][] luts) {
        int width = raster.getWidth();
        int height = raster.getHeight();
        boolean unchanged = Arrays.equals(bands, new int[] {0, 1, 2})
                && luts[0] == IDENTITY_8 && luts[1] == IDENTITY_8 && luts[2] == IDENTITY_8;
        byte[] stored = unchanged ? interleavedRgb(raster) : null;
        if (stored != null) {
            return new RgbImage(width, height, stored); // the decoder's own array already is the answer
        }
        int stride = raster.getNumBands();
        byte[] lutR = luts[0];
        byte[] lutG = luts[1];
        byte[] lutB = luts[2];
        int bandR = bands[0];
        int bandG = bands[1];
        int bandB = bands[2];
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int[] row = new int[width * stride];
        int out = 0;
        for (int y = 0; y < height; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
            for (int x = 0, in = 0; x < width; x++, in += stride) {
                rgb[out++] = lutR[row[in + bandR]];
                rgb[out++] = lutG[row[in + bandG]];
                rgb[out++] = lutB[row[in + bandB]];
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /**
     * JPEG YCbCr to RGB exactly as libjpeg's ycc_rgb_convert (jdcolor.c). Converted in place when the
     * decoder's raster is a plain interleaved byte array, so a photo is held once, not twice.
     */
    static RgbImage fromYCbCr(Raster raster) {
        int width = raster.getWidth();
        int height = raster.getHeight();
        byte[] stored = interleavedRgb(raster);
        if (stored != null) {
            for (int p = 0; p < stored.length; p += 3) {
                int luma = stored[p] & 0xFF;
                int cb = stored[p + 1] & 0xFF;
                int cr = stored[p + 2] & 0xFF;
                stored[p] = clamp(luma + CR_R[cr]);
                stored[p + 1] = clamp(luma + ((CB_G[cb] + CR_G[cr]) >> SCALE_BITS));
                stored[p + 2] = clamp(luma + CB_B[cb]);
            }
            return new RgbImage(width, height, stored);
        }
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int[] row = new int[width * 3];
        int out = 0;
        for (int y = 0; y < height; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
            for (int x = 0, in = 0; x < width; x++, in += 3) {
                int luma = row[in];
                int cb = row[in + 1];
                int cr = row[in + 2];
                rgb[out++] = clamp(luma + CR_R[cr]);
                rgb[out++] = clamp(luma + ((CB_G[cb] + CR_G[cr]) >> SCALE_BITS));
                rgb[out++] = clamp(luma + CB_B[cb]);
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /**
     * CMYK (or YCCK) JPEG components to RGB as Pillow 9.4 does it: libjpeg turns YCCK into CMYK
     * (ycck_cmyk_convert), Pillow reads the result as inverted Adobe CMYK ("CMYK;I") and
     * {@code convert("RGB")} applies Convert.c cmyk2rgb: {@code nk = 255 - k; out = nk - nk * c / 255}
     * with MULDIV255's rounding. No colour profile is involved.
     */
    static RgbImage fromCmyk(Raster raster, boolean ycck) {
        int width = raster.getWidth();
        int height = raster.getHeight();
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int[] row = new int[width * 4];
        int out = 0;
        for (int y = 0; y < height; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
            for (int x = 0, in = 0; x < width; x++, in += 4) {
                int c;
                int m;
                int yellow;
                if (ycck) {
                    // libjpeg stores 255 - clamp(R) etc.; Pillow's inversion undoes the 255 -
                    int luma = row[in];
                    int cb = row[in + 1];
                    int cr = row[in + 2];
                    c = clampInt(luma + CR_R[cr]);
                    m = clampInt(luma + ((CB_G[cb] + CR_G[cr]) >> SCALE_BITS));
                    yellow = clampInt(luma + CB_B[cb]);
                } else {
                    c = 255 - row[in];
                    m = 255 - row[in + 1];
                    yellow = 255 - row[in + 2];
                }
                int k = 255 - row[in + 3];
                int nk = 255 - k;
                rgb[out++] = clamp(nk - mulDiv255(c, nk));
                rgb[out++] = clamp(nk - mulDiv255(m, nk));
                rgb[out++] = clamp(nk - mulDiv255(yellow, nk));
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /**
     * CMYK samples as a TIFF stores them (0 = no ink), each reduced to 8 bits through {@code lut}, to
     * RGB with Pillow's Convert.c cmyk2rgb: {@code nk = 255 - k; out = nk - nk * c / 255}.
     */
    static RgbImage fromStoredCmyk(Raster raster, byte[] lut) {
        int width = raster.getWidth();
        int height = raster.getHeight();
        int stride = raster.getNumBands();
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int[] row = new int[width * stride];
        int out = 0;
        for (int y = 0; y < height; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
            for (int x = 0, in = 0; x < width; x++, in += stride) {
                int nk = 255 - (lut[row[in + 3]] & 0xFF);
                rgb[out++] = clamp(nk - mulDiv255(lut[row[in]] & 0xFF, nk));
                rgb[out++] = clamp(nk - mulDiv255(lut[row[in + 1]] & 0xFF, nk));
                rgb[out++] = clamp(nk - mulDiv255(lut[row[in + 2]] & 0xFF, nk));
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /**
     * RGB with premultiplied ("associated") alpha in band 3, each sample reduced to 8 bits through
     * {@code lut}, to straight RGB as Pillow's unpackers "RGBa" and "RGBa;16" do it: a pixel with no
     * alpha becomes black, one with full alpha stays, the others are {@code min(255, v * 255 / a)}.
     */
    static RgbImage fromPremultiplied(Raster raster, byte[] lut) {
        int width = raster.getWidth();
        int height = raster.getHeight();
        int stride = raster.getNumBands();
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int[] row = new int[width * stride];
        int out = 0;
        for (int y = 0; y < height; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
            for (int x = 0, in = 0; x < width; x++, in += stride) {
                int a = lut[row[in + 3]] & 0xFF;
                for (int c = 0; c < 3; c++) {
                    int v = lut[row[in + c]] & 0xFF;
                    rgb[out++] = a == 0 ? 0 : a == 255 ? (byte) v : clamp(v * 255 / a);
                }
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /**
     * The raster's backing array, holding bands 0, 1, 2 interleaved, when the raster is exactly
     * width x height x 3 bytes without padding, so it can become an {@link RgbImage} without a copy;
     * null otherwise. A B, G, R layout (ImageIO's TYPE_3BYTE_BGR) is reordered in place.
     */
    static byte[] interleavedRgb(Raster raster) {
        DataBuffer buffer = raster.getDataBuffer();
        if (!(buffer instanceof DataBufferByte bytes) || bytes.getNumBanks() != 1 || bytes.getOffset() != 0
                || !(raster.getSampleModel() instanceof PixelInterleavedSampleModel model)
                || raster.getNumBands() != 3 || raster.getParent() != null
                || raster.getSampleModelTranslateX() != 0 || raster.getSampleModelTranslateY() != 0) {
            return null;
        }
        int width = raster.getWidth();
        byte[] data = bytes.getData();
        if (model.getPixelStride() != 3 || model.getScanlineStride() != width * 3
                || data.length != width * raster.getHeight() * 3) {
            return null;
        }
        int[] offsets = model.getBandOffsets();
        if (Arrays.equals(offsets, new int[] {0, 1, 2})) {
            return data;
        }
        if (Arrays.equals(offsets, new int[] {2, 1, 0})) {
            for (int p = 0; p < data.length; p += 3) {
                byte first = data[p];
                data[p] = data[p + 2];
                data[p + 2] = first;
            }
            return data;
        }
        return null;
    }

    /** Pillow's MULDIV255: a * b / 255 rounded, computed with shifts. */
    static int mulDiv255(int a, int b) {
        int tmp = a * b + 128;
        return ((tmp >> 8) + tmp) >> 8;
    }

    private static int fix(double x) {
        return (int) (x * (1L << SCALE_BITS) + 0.5);
    }

    private static int clampInt(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    private static byte clamp(int v) {
        return (byte) clampInt(v);
    }
}
