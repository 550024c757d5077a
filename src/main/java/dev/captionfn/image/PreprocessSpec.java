package dev.captionfn.image;

import java.util.Arrays;

/**
 * How a model wants its pixels: the size to resize to (a squash, no crop), the rescale factor and
 * the per-channel mean and std to normalise with, in R, G, B order.
 *
 * <p>The arrays are copied on the way in and out, so a spec cannot change after it is made.
 */
public record PreprocessSpec(int width, int height, double rescale, float[] mean, float[] std) {

    public PreprocessSpec {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("size must be positive, got " + width + "x" + height);
        }
        if (!(rescale > 0) || Double.isInfinite(rescale)) {
            throw new IllegalArgumentException("rescale must be a positive number, got " + rescale);
        }
        if (mean == null || mean.length != 3 || std == null || std.length != 3) {
            throw new IllegalArgumentException("mean and std need one value per RGB channel");
        }
        for (float s : std) {
            if (!(s > 0) || Float.isInfinite(s)) {
                throw new IllegalArgumentException("std values must be positive, got " + Arrays.toString(std));
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof PreprocessSpec that && width == that.width && height == that.height
                && Double.compare(rescale, that.rescale) == 0
                && Arrays.equals(mean, that.mean) && Arrays.equals(std, that.std);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * (31 * width + height) + Double.hashCode(rescale)) + Arrays.hashCode(mean))
                + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "PreprocessSpec[" + width + "x" + height + ", rescale=" + rescale + ", mean=" + Arrays.toString(mean)
                + ", std=" + Arrays.toString(std) + "]";
    }
}
