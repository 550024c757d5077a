package dev.captionfn.image;

import java.util.Arrays;

/**
 * How a model wants its pixels: the size to resize to (a squash, no crop), the rescale factor and
 * the per-channel mean and std to normalise with, in R, G, B order.
 *
 * <p>The arrays are copied on the way in and out, so a spec cannot change after it is made.
 */
public record PreprocessSpec(int width, int height, double rescale, float[] mean, float[] std) {

    /** CLIP's normalisation, which BLIP, BLIP-2 and InstructBLIP all use. */
    public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

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

    /** The InstructBLIP / BLIP-2 preprocessing at {@code size} x {@code size}: 1/255, CLIP mean and std. */
    public static PreprocessSpec clip(int size) {
        return new PreprocessSpec(size, size, 1.0 / 255.0, CLIP_MEAN, CLIP_STD);
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
