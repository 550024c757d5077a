package dev.captionfn.image;

import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Walks a PNG's chunks the way Pillow 9.4's PngImagePlugin does, before ImageIO decodes the pixels.
 *
 * <p>ImageIO (with metadata ignored) reads only the chunks up to the image data and never checks a
 * checksum, so it accepts files Pillow refuses. The reference pipeline would fail on those, so this
 * walk refuses them too: a bad checksum in a chunk before the image data, a chunk cut short by the
 * end of the file, and compressed text or ICC chunks that inflate past Pillow's 1 MiB limit (its
 * guard against decompression bombs such as png_decompression_dos.png). Inflating is bounded, so
 * the walk itself never holds more than one limit's worth of memory.
 */
final class PngChunks {

    /** Pillow's MAX_TEXT_CHUNK (ImageFile.SAFEBLOCK): the most one compressed chunk may inflate to. */
    static final int MAX_TEXT_CHUNK = 1024 * 1024;
    /** Pillow's MAX_TEXT_MEMORY: the most all text chunks together may hold. */
    static final long MAX_TEXT_MEMORY = 64L * MAX_TEXT_CHUNK;

    private static final int SIGNATURE_LENGTH = 8;

    /** What the decoder needs from the chunks: IHDR's fields and the number of PLTE entries. */
    record Header(int width, int height, int bitDepth, int colorType, int paletteEntries) {

        static final int GRAY = 0;
        static final int RGB = 2;
        static final int PALETTE = 3;
        static final int GRAY_ALPHA = 4;
        static final int RGB_ALPHA = 6;
    }

    private PngChunks() {
    }

    /** Checks every chunk Pillow would look at to show the first frame; returns what they declare. */
    static Header walk(byte[] png) {
        int pos = SIGNATURE_LENGTH;
        boolean imageDataSeen = false;
        long animationFrames = 0; // acTL's count; 0 when absent or invalid, as Pillow ignores those
        int acTlChunks = 0;
        boolean frameControlBeforeImageData = false;
        int paletteEntries = 0;
        int width = -1;
        int height = -1;
        int bitDepth = -1;
        int colorType = -1;
        long textMemory = 0;
        Inflater inflater = new Inflater();
        try {
            while (true) {
                if (png.length - pos < 8) {
                    if (!imageDataSeen) {
                        throw corrupt("it ends before its image data");
                    }
                    break; // Pillow stops quietly when the file ends after the image data
                }
                long length = u32(png, pos);
                if (!isChunkType(png, pos + 4)) {
                    if (!imageDataSeen) {
                        throw corrupt("a chunk has the invalid type \"" + typeName(png, pos + 4) + "\"");
                    }
                    break;
                }
                String type = typeName(png, pos + 4);
                int data = pos + 8;
                if (length > png.length - data) {
                    throw corrupt("it is truncated (its " + type + " chunk is cut short)");
                }
                int size = (int) length;
                // Pillow stops at the next frame's fcTL: later chunks belong to frames it has not read
                boolean animated = animationFrames > 1 || (animationFrames == 1 && !frameControlBeforeImageData);
                if (type.equals("IEND") || (imageDataSeen && animated && type.equals("fcTL"))) {
                    break;
                }
                boolean imageData = type.equals("IDAT") || type.equals("fdAT");
                if (!imageDataSeen && !imageData) {
                    verifyCrc(png, pos, size, type);
                }
                switch (type) {
                    case "IHDR" -> {
                        if (size < 13) {
                            throw corrupt("truncated IHDR chunk");
                        }
                        width = (int) Math.min(Integer.MAX_VALUE, u32(png, data));
                        height = (int) Math.min(Integer.MAX_VALUE, u32(png, data + 4));
                        bitDepth = png[data + 8] & 0xFF;
                        colorType = png[data + 9] & 0xFF;
                    }
                    case "PLTE" -> {
                        if (!imageDataSeen && paletteEntries == 0) {
                            paletteEntries = Math.min(256, size / 3);
                        }
                    }
                    case "acTL" -> {
                        if (size < 8) {
                            throw corrupt("its acTL (animation) chunk is truncated");
                        }
                        long frames = u32(png, data);
                        acTlChunks++;
                        animationFrames = acTlChunks == 1 && frames > 0 && frames <= 0x80000000L ? frames : 0;
                    }
                    case "fcTL" -> frameControlBeforeImageData |= !imageDataSeen;
                    case "tEXt" -> textMemory += textLength(png, data, size);
                    case "zTXt" -> textMemory += zTxtLength(png, data, size, inflater);
                    case "iTXt" -> textMemory += iTxtLength(png, data, size, inflater);
                    case "iCCP" -> iccpLength(png, data, size, inflater);
                    default -> {
                    }
                }
                if (textMemory > MAX_TEXT_MEMORY) {
                    throw corrupt("its text chunks hold more than " + MAX_TEXT_MEMORY + " bytes");
                }
                imageDataSeen |= imageData;
                // the CRC after the data may be missing at the very end of the file: the next round stops
                pos = (int) Math.min(png.length, (long) data + size + 4);
            }
        } finally {
            inflater.end();
        }
        if (width < 0) {
            throw corrupt("it has no IHDR chunk");
        }
        return new Header(width, height, bitDepth, colorType, paletteEntries);
    }

    private static void verifyCrc(byte[] png, int pos, int size, String type) {
        int crcAt = pos + 8 + size;
        if (png.length - crcAt < 4) {
            throw corrupt("the checksum of its " + type + " chunk is cut short");
        }
        CRC32 crc = new CRC32();
        crc.update(png, pos + 4, 4 + size);
        if (crc.getValue() != u32(png, crcAt)) {
            throw corrupt("the checksum of its " + type + " chunk is wrong");
        }
    }

    /** tEXt: keyword, NUL, text. Pillow counts the text only when the keyword is not empty. */
    private static long textLength(byte[] png, int data, int size) {
        int nul = indexOf(png, data, data + size, 0);
        if (nul < 0 || nul == data) {
            return 0;
        }
        return data + size - nul - 1;
    }

    /** zTXt: keyword, NUL, method, compressed text. Pillow ignores text zlib cannot inflate. */
    private static long zTxtLength(byte[] png, int data, int size, Inflater inflater) {
        int nul = indexOf(png, data, data + size, 0);
        if (nul < 0 || nul == data + size - 1) {
            return 0;
        }
        if (png[nul + 1] != 0) {
            throw corrupt("unknown compression method " + (png[nul + 1] & 0xFF) + " in zTXt chunk");
        }
        long inflated = boundedInflate(png, nul + 2, data + size - nul - 2, inflater, "zTXt");
        return nul == data ? 0 : Math.max(inflated, 0);
    }

    /** iTXt: keyword, NUL, flag, method, language, NUL, translated keyword, NUL, text. */
    private static long iTxtLength(byte[] png, int data, int size, Inflater inflater) {
        int end = data + size;
        int nul = indexOf(png, data, end, 0);
        if (nul < 0 || end - nul - 1 < 2) {
            return 0;
        }
        boolean compressed = png[nul + 1] != 0;
        int method = png[nul + 2] & 0xFF;
        int language = indexOf(png, nul + 3, end, 0);
        int translated = language < 0 ? -1 : indexOf(png, language + 1, end, 0);
        if (translated < 0) {
            return 0;
        }
        int text = translated + 1;
        if (!compressed) {
            return end - text;
        }
        if (method != 0) {
            return 0;
        }
        return Math.max(boundedInflate(png, text, end - text, inflater, "iTXt"), 0);
    }

    /** iCCP: name, NUL, method, compressed profile. Only the size limit matters (Pillow drops bad zlib). */
    private static void iccpLength(byte[] png, int data, int size, Inflater inflater) {
        int nul = indexOf(png, data, data + size, 0);
        int start = nul < 0 ? data + size : nul + 2;
        if (start < data + size) {
            boundedInflate(png, start, data + size - start, inflater, "iCCP");
        }
    }

    /**
     * Inflates into a throw-away buffer, stopping as soon as the output passes Pillow's limit; returns
     * the inflated length, or -1 for data zlib rejects (which Pillow treats as empty text).
     */
    private static long boundedInflate(byte[] png, int offset, int length, Inflater inflater, String type) {
        inflater.reset();
        inflater.setInput(png, offset, length);
        byte[] sink = new byte[16 * 1024];
        long total = 0;
        try {
            while (!inflater.finished()) {
                int n = inflater.inflate(sink);
                total += n;
                if (total > MAX_TEXT_CHUNK) {
                    throw corrupt("a compressed " + type + " chunk inflates to more than " + MAX_TEXT_CHUNK
                            + " bytes (Pillow refuses it as a decompression bomb)");
                }
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
            }
        } catch (DataFormatException e) {
            return -1;
        }
        return total;
    }

    private static boolean isChunkType(byte[] png, int at) {
        for (int i = at; i < at + 4; i++) {
            int c = png[i] & 0xFF;
            boolean word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
            if (!word) {
                return false;
            }
        }
        return true;
    }

    private static String typeName(byte[] png, int at) {
        StringBuilder name = new StringBuilder(4);
        for (int i = at; i < at + 4; i++) {
            int c = png[i] & 0xFF;
            name.append(c >= 0x20 && c < 0x7F ? (char) c : '?');
        }
        return name.toString();
    }

    private static int indexOf(byte[] bytes, int from, int to, int value) {
        for (int i = from; i < to; i++) {
            if (bytes[i] == value) {
                return i;
            }
        }
        return -1;
    }

    private static long u32(byte[] b, int at) {
        return ((long) (b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }

    private static ImageDecodeException corrupt(String why) {
        return new ImageDecodeException(ImageError.CORRUPT_IMAGE, "The PNG image is corrupt: " + why + ".");
    }
}
