package dev.captionfn.image;

/**
 * Pillow's {@code Image.resize(size, Image.BICUBIC)} for 8-bit RGB, ported from Pillow 9.x
 * src/libImaging/Resample.c so that the model sees the very pixels the reference pipelines
 * (LAVIS, HF BlipImageProcessor) give it.
 *
 * <p>Written by hand because no Java library resamples the way Pillow does: a bicubic kernel with
 * a = -0.5 whose support widens with the downscale factor (antialiasing), coefficients computed in
 * double and normalised per output pixel, then rounded to fixed point with 22 fractional bits;
 * two separable passes, horizontal first into an 8-bit image, then vertical, each sum rounded and
 * clipped to 0..255. AWT's bicubic, imgscalr and the like differ in the kernel, the antialiasing or
 * the intermediate rounding, and those differences move many output levels.
 *
 * <p>Each step below names the Resample.c function it follows; the arithmetic and its order are
 * kept, since Java's double and int arithmetic is IEEE and two's complement like Pillow's C on
 * x86-64 and arm64.
 */
final class BicubicResizer {

    /** 32 bits minus 8 for the result minus 2 for overflow of the negative-lobed filter. */
    static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 2.0;

    private BicubicResizer() {
    }

    /** The image resized to {@code width} x {@code height}; the input itself when the size is the same. */
    static RgbImage resize(RgbImage image, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("target size must be positive, got " + width + "x" + height);
        }
        boolean horizontal = width != image.width();
        boolean vertical = height != image.height();
        if (!horizontal && !vertical) {
            return image; // Pillow copies; RgbImage is treated as immutable, so the copy is not needed
        }
        Coefficients rows = Coefficients.compute(image.height(), height);
        // ImagingResampleInner: only the source rows the vertical pass reads are resampled horizontally
        int firstRow = rows.bounds[0];
        int lastRow = rows.bounds[height * 2 - 2] + rows.bounds[height * 2 - 1];
        RgbImage current = image;
        if (horizontal) {
            Coefficients columns = Coefficients.compute(image.width(), width);
            current = resampleHorizontal(image, width, firstRow, lastRow - firstRow, columns);
            for (int i = 0; i < height; i++) {
                rows.bounds[i * 2] -= firstRow;
            }
        }
        if (vertical) {
            current = resampleVertical(current, height, rows);
        }
        return current;
    }

    /** ImagingResampleHorizontal_8bpc. */
    private static RgbImage resampleHorizontal(RgbImage in, int outWidth, int rowOffset, int outHeight,
                                               Coefficients coefficients) {
        int ksize = coefficients.ksize;
        int[] kk = coefficients.fixedPoint;
        int[] bounds = coefficients.bounds;
        byte[] src = in.rgb();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(outWidth, outHeight), 3)];
        int inRowBytes = in.width() * 3;
        int o = 0;
        for (int yy = 0; yy < outHeight; yy++) {
            int rowStart = (yy + rowOffset) * inRowBytes;
            for (int xx = 0; xx < outWidth; xx++) {
                int xmin = bounds[xx * 2];
                int xmax = bounds[xx * 2 + 1];
                convolve(src, rowStart + xmin * 3, 3, xmax, kk, xx * ksize, out, o);
                o += 3;
            }
        }
        return new RgbImage(outWidth, outHeight, out);
    }

    /** ImagingResampleVertical_8bpc. */
    private static RgbImage resampleVertical(RgbImage in, int outHeight, Coefficients coefficients) {
        int ksize = coefficients.ksize;
        int[] kk = coefficients.fixedPoint;
        int[] bounds = coefficients.bounds;
        int width = in.width();
        int rowBytes = width * 3;
        byte[] src = in.rgb();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(width, outHeight), 3)];
        int o = 0;
        for (int yy = 0; yy < outHeight; yy++) {
            int k = yy * ksize;
            int ymin = bounds[yy * 2];
            int ymax = bounds[yy * 2 + 1];
            for (int xx = 0; xx < width; xx++) {
                convolve(src, ymin * rowBytes + xx * 3, rowBytes, ymax, kk, k, out, o);
                o += 3;
            }
        }
        return new RgbImage(width, outHeight, out);
    }

    /**
     * One output pixel of either pass: the fixed-point weighted sum of {@code n} source pixels
     * starting at byte {@code p}, {@code step} bytes apart (3 along a row, a row's bytes down a
     * column), rounded and clipped per channel.
     */
    private static void convolve(byte[] src, int p, int step, int n, int[] kk, int k, byte[] out, int o) {
        int ss0 = 1 << (PRECISION_BITS - 1);
        int ss1 = ss0;
        int ss2 = ss0;
        for (int i = 0; i < n; i++, p += step) {
            int weight = kk[k + i];
            ss0 += (src[p] & 0xFF) * weight;
            ss1 += (src[p + 1] & 0xFF) * weight;
            ss2 += (src[p + 2] & 0xFF) * weight;
        }
        out[o] = clip8(ss0);
        out[o + 1] = clip8(ss1);
        out[o + 2] = clip8(ss2);
    }

    /** clip8: the lookup table in Resample.c clamps {@code in >> PRECISION_BITS} to 0..255. */
    private static byte clip8(int in) {
        int v = in >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** bicubic_filter with a = -0.5. */
    static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /** Per output pixel along one axis: the first source index, the count, and the weights. */
    static final class Coefficients {
        final int ksize;
        final int[] bounds;
        final int[] fixedPoint;

        private Coefficients(int ksize, int[] bounds, int[] fixedPoint) {
            this.ksize = ksize;
            this.bounds = bounds;
            this.fixedPoint = fixedPoint;
        }

        /** precompute_coeffs over the whole axis (box 0..inSize), then normalize_coeffs_8bpc. */
        static Coefficients compute(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = SUPPORT * filterScale;
            int ksize = (int) Math.ceil(support) * 2 + 1;
            int[] bounds = new int[outSize * 2];
            int[] fixedPoint = new int[Math.multiplyExact(outSize, ksize)];
            double[] weights = new double[ksize];
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                double ww = 0.0;
                double ss = 1.0 / filterScale;
                int xmin = (int) (center - support + 0.5);
                if (xmin < 0) {
                    xmin = 0;
                }
                int xmax = (int) (center + support + 0.5);
                if (xmax > inSize) {
                    xmax = inSize;
                }
                xmax -= xmin;
                for (int x = 0; x < xmax; x++) {
                    double w = bicubic((x + xmin - center + 0.5) * ss);
                    weights[x] = w;
                    ww += w;
                }
                for (int x = 0; x < ksize; x++) {
                    double w = x < xmax ? (ww != 0.0 ? weights[x] / ww : weights[x]) : 0.0;
                    fixedPoint[xx * ksize + x] = w < 0
                            ? (int) (-0.5 + w * (1 << PRECISION_BITS))
                            : (int) (0.5 + w * (1 << PRECISION_BITS));
                }
                bounds[xx * 2] = xmin;
                bounds[xx * 2 + 1] = xmax;
            }
            return new Coefficients(ksize, bounds, fixedPoint);
        }
    }
}
