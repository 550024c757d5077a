package dev.captionfn.image;

import java.util.Objects;

/**
 * Turns a decoded image into the model's {@code pixel_values}: Pillow BICUBIC resize to the spec's
 * size, then per channel {@code ((level * rescale) - mean) / std}, laid out CHW in float32.
 *
 * <p>The arithmetic follows HF's BlipImageProcessor: {@code rescale} multiplies in double and the
 * product is cast to float32 (transformers' {@code rescale}), then mean and std apply in float32
 * ({@code normalize}). For the usual 1/255 this gives, for every level, the same float as LAVIS's
 * torchvision path ({@code ToTensor}'s float32 {@code / 255}, then {@code Normalize}). Only 256
 * levels exist per channel, so the results are tabulated once per spec.
 *
 * <p>Immutable and thread-safe.
 */
public final class ImagePreprocessor {

    private final PreprocessSpec spec;
    /** values[c][level]: the normalised value of {@code level} in channel c. */
    private final float[][] values = new float[3][256];

    public ImagePreprocessor(PreprocessSpec spec) {
        this.spec = Objects.requireNonNull(spec, "spec");
        float[] mean = spec.mean();
        float[] std = spec.std();
        for (int c = 0; c < 3; c++) {
            for (int level = 0; level < 256; level++) {
                float rescaled = (float) (level * spec.rescale());
                values[c][level] = (rescaled - mean[c]) / std[c];
            }
        }
    }

    /** A new CHW array of 3 x the spec's height x width floats for {@code image}. */
    public float[] toPixelValues(RgbImage image) {
        int plane = spec.height() * spec.width();
        byte[] rgb = BicubicResizer.resize(image, spec.width(), spec.height()).rgb();
        float[] red = values[0];
        float[] green = values[1];
        float[] blue = values[2];
        float[] out = new float[3 * plane];
        for (int i = 0, p = 0; i < plane; i++, p += 3) {
            out[i] = red[rgb[p] & 0xFF];
            out[plane + i] = green[rgb[p + 1] & 0xFF];
            out[2 * plane + i] = blue[rgb[p + 2] & 0xFF];
        }
        return out;
    }
}
