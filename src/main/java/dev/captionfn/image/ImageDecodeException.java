package dev.captionfn.image;

import java.util.Objects;

/** An image that could not be decoded, with a code for machines and a message for people. */
public final class ImageDecodeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final ImageError error;

    public ImageDecodeException(ImageError error, String message) {
        this(error, message, null);
    }

    public ImageDecodeException(ImageError error, String message, Throwable cause) {
        super(message, cause);
        this.error = Objects.requireNonNull(error, "error");
    }

    public ImageError error() {
        return error;
    }
}
