package dev.captionfn.image;

import java.util.Objects;

/**
 * An 8-bit RGB image, pixels interleaved row by row (R, G, B for each pixel, 3 bytes per pixel).
 *
 * <p>The array is not copied, so that a decoded photo is not held twice: whoever builds an
 * {@code RgbImage} hands the array over and must not change it afterwards, and readers must not
 * write to {@link #rgb()}.
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        Objects.requireNonNull(rgb, "rgb");
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if ((long) width * height * 3 != rgb.length) {
            throw new IllegalArgumentException(
                    "a " + width + "x" + height + " RGB image needs " + (long) width * height * 3
                            + " bytes, got " + rgb.length);
        }
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}
