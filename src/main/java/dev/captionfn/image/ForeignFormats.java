package dev.captionfn.image;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

import static dev.captionfn.image.ImageFormat.startsWith;
import static dev.captionfn.image.ImageFormat.startsWithAscii;

/**
 * Recognises common image kinds the decoder does not read, so that a user who sends a HEIC or an
 * AVIF photo is told so, rather than that the bytes are not an image at all.
 */
final class ForeignFormats {

    private ForeignFormats() {
    }

    /** The name of the unsupported image kind {@code bytes} starts with, if any. */
    static Optional<String> recognise(byte[] bytes) {
        if (bytes.length >= 6 && bytes[0] == 0 && bytes[1] == 0 && bytes[3] == 0
                && (bytes[2] == 1 || bytes[2] == 2) && (bytes[4] != 0 || bytes[5] != 0)) {
            return Optional.of(bytes[2] == 1 ? "ICO (Windows icon)" : "CUR (Windows cursor)");
        }
        if (startsWithAscii(bytes, 4, "ftyp") && bytes.length >= 12) {
            String brand = new String(bytes, 8, 4, StandardCharsets.US_ASCII);
            switch (brand) {
                case "avif", "avis":
                    return Optional.of("AVIF");
                case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
                    return Optional.of("HEIF/HEIC");
                default:
                    break;
            }
        }
        if (startsWith(bytes, 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0x0C, (byte) 'j', (byte) 'P', (byte) ' ', (byte) ' ')
                || startsWith(bytes, 0, (byte) 0xFF, (byte) 0x4F, (byte) 0xFF, (byte) 0x51)) {
            return Optional.of("JPEG 2000");
        }
        if (startsWith(bytes, 0, (byte) 0xFF, (byte) 0x0A)
                || startsWith(bytes, 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0x0C, (byte) 'J', (byte) 'X', (byte) 'L', (byte) ' ')) {
            return Optional.of("JPEG XL");
        }
        if (startsWithAscii(bytes, 0, "8BPS")) {
            return Optional.of("PSD (Photoshop)");
        }
        if (isSvg(bytes)) {
            return Optional.of("SVG");
        }
        return Optional.empty();
    }

    /** True when the bytes look like text (an HTML error page, JSON, a redirect notice). */
    static boolean looksLikeText(byte[] bytes) {
        int n = Math.min(bytes.length, 512);
        if (n == 0) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            int b = bytes[i] & 0xFF;
            if (b < 0x09 || (b > 0x0D && b < 0x20 && b != 0x1B)) {
                return false;
            }
        }
        return true;
    }

    private static boolean isSvg(byte[] bytes) {
        if (!looksLikeText(bytes)) {
            return false;
        }
        String head = new String(bytes, 0, Math.min(bytes.length, 1024), StandardCharsets.UTF_8)
                .replace("\uFEFF", "").stripLeading().toLowerCase(Locale.ROOT);
        return head.startsWith("<svg") || (head.startsWith("<?xml") && head.contains("<svg"));
    }
}
