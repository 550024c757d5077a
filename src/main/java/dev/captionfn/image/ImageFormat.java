package dev.captionfn.image;

import java.util.Optional;

/**
 * The image formats the decoder reads, recognised from their leading bytes only.
 *
 * <p>A Content-Type header or a file name says what a server or a user believes, not what the bytes
 * are (PNGs served as image/jpeg are common), so neither is consulted.
 */
public enum ImageFormat {
    JPEG("JPEG"),
    PNG("PNG"),
    GIF("GIF"),
    BMP("BMP"),
    WEBP("WebP"),
    TIFF("TIFF");

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private final String displayName;

    ImageFormat(String displayName) {
        this.displayName = displayName;
    }

    /** The name people know the format by, for messages. */
    public String displayName() {
        return displayName;
    }

    /** The format whose signature starts {@code bytes}, or empty when none does. */
    public static Optional<ImageFormat> detect(byte[] bytes) {
        if (bytes == null) {
            return Optional.empty();
        }
        if (startsWith(bytes, 0, (byte) 0xFF, (byte) 0xD8, (byte) 0xFF)) {
            return Optional.of(JPEG);
        }
        if (startsWith(bytes, 0, PNG_SIGNATURE)) {
            return Optional.of(PNG);
        }
        if (startsWithAscii(bytes, 0, "GIF87a") || startsWithAscii(bytes, 0, "GIF89a")) {
            return Optional.of(GIF);
        }
        if (startsWithAscii(bytes, 0, "RIFF") && startsWithAscii(bytes, 8, "WEBP")) {
            return Optional.of(WEBP);
        }
        if (isBmp(bytes)) {
            return Optional.of(BMP);
        }
        // classic TIFF and BigTIFF, in either byte order: the headers Pillow's TiffImagePlugin accepts
        if (startsWithAscii(bytes, 0, "II*\0") || startsWithAscii(bytes, 0, "MM\0*")
                || startsWithAscii(bytes, 0, "II+\0") || startsWithAscii(bytes, 0, "MM\0+")) {
            return Optional.of(TIFF);
        }
        return Optional.empty();
    }

    /**
     * "BM" alone is too weak a signature (text can start with it), so the size of the header that
     * follows must also be one of the sizes BMP writers use.
     */
    private static boolean isBmp(byte[] bytes) {
        if (bytes.length < 18 || !startsWithAscii(bytes, 0, "BM")) {
            return false;
        }
        int headerSize = (bytes[14] & 0xFF) | (bytes[15] & 0xFF) << 8 | (bytes[16] & 0xFF) << 16 | (bytes[17] & 0xFF) << 24;
        return switch (headerSize) {
            case 12, 16, 40, 52, 56, 64, 108, 124 -> true;
            default -> false;
        };
    }

    static boolean startsWith(byte[] bytes, int offset, byte... prefix) {
        if (bytes.length < offset + prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (bytes[offset + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    static boolean startsWithAscii(byte[] bytes, int offset, String prefix) {
        if (bytes.length < offset + prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (bytes[offset + i] != (byte) prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
