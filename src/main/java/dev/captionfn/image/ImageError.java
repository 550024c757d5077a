package dev.captionfn.image;

/** Why an image could not be decoded: a stable code callers map to their own error answers. */
public enum ImageError {
    /** The bytes carry no known image signature (an HTML error page, text, random data). */
    NOT_AN_IMAGE,
    /** A recognised kind of image that this decoder does not read (TIFF, ICO, HEIC, SVG, ...). */
    UNSUPPORTED_FORMAT,
    /** A supported format whose data is truncated or broken, or that the reference (Pillow) refuses. */
    CORRUPT_IMAGE,
    /** The header declares more pixels than the caller allows; nothing was decoded. */
    TOO_MANY_PIXELS
}
