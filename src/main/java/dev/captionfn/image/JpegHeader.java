package dev.captionfn.image;

/**
 * The few JPEG header facts that decide how libjpeg (and so Pillow) turns the decoded components
 * into colours: the components and their ids, and whether JFIF and Adobe markers are present.
 *
 * <p>The decoder reads the raw components (ImageReader.readRaster) so that no embedded ICC profile
 * is applied, which leaves the colour conversion to us; these facts pick it the way libjpeg-turbo's
 * default_decompress_parms (jdapimin.c) does.
 */
record JpegHeader(int precision, int width, int height, int[] componentIds, boolean jfif, int adobeTransform) {

    /** How libjpeg interprets the stored components. */
    enum ColorSpace { GRAYSCALE, YCBCR, RGB, CMYK, YCCK, UNKNOWN }

    static final int NO_ADOBE_MARKER = -1;

    /** Reads every marker up to the first scan, as libjpeg does before it picks the colour space. */
    static JpegHeader scan(byte[] jpeg) {
        boolean jfif = false;
        int adobeTransform = NO_ADOBE_MARKER;
        int frame = -1;
        int pos = 2; // after SOI
        while (pos < jpeg.length) {
            if ((jpeg[pos] & 0xFF) != 0xFF) {
                pos++; // libjpeg skips garbage between segments (with a warning)
                continue;
            }
            while (pos < jpeg.length && (jpeg[pos] & 0xFF) == 0xFF) {
                pos++; // fill bytes
            }
            if (pos >= jpeg.length) {
                break;
            }
            int marker = jpeg[pos++] & 0xFF;
            if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) {
                continue; // markers without a length
            }
            if (marker == 0xD9 || marker == 0xDA || pos + 2 > jpeg.length) {
                break;
            }
            int length = u16(jpeg, pos);
            if (length < 2) {
                break;
            }
            int data = pos + 2;
            int dataLength = Math.min(length - 2, jpeg.length - data);
            if (marker == 0xE0 && dataLength >= 14 && ImageFormat.startsWithAscii(jpeg, data, "JFIF\0")) {
                jfif = true;
            } else if (marker == 0xEE && dataLength >= 12 && ImageFormat.startsWithAscii(jpeg, data, "Adobe")) {
                adobeTransform = jpeg[data + 11] & 0xFF;
            } else if (isStartOfFrame(marker) && frame < 0 && dataLength >= 6) {
                frame = data;
            }
            pos = data + length - 2;
        }
        if (frame < 0) {
            throw new ImageDecodeException(ImageError.CORRUPT_IMAGE,
                    "The JPEG image is corrupt: no frame header (SOF marker) before the image data.");
        }
        int[] ids = new int[jpeg[frame + 5] & 0xFF];
        for (int i = 0; i < ids.length && frame + 6 + 3 * i < jpeg.length; i++) {
            ids[i] = jpeg[frame + 6 + 3 * i] & 0xFF;
        }
        return new JpegHeader(jpeg[frame] & 0xFF, u16(jpeg, frame + 3), u16(jpeg, frame + 1), ids, jfif, adobeTransform);
    }

    /** libjpeg-turbo's choice of jpeg_color_space (jdapimin.c, default_decompress_parms). */
    ColorSpace colorSpace() {
        return switch (componentIds.length) {
            case 1 -> ColorSpace.GRAYSCALE;
            case 3 -> {
                if (jfif) {
                    yield ColorSpace.YCBCR;
                }
                if (adobeTransform != NO_ADOBE_MARKER) {
                    yield adobeTransform == 0 ? ColorSpace.RGB : ColorSpace.YCBCR;
                }
                boolean rgbIds = componentIds[0] == 'R' && componentIds[1] == 'G' && componentIds[2] == 'B';
                yield rgbIds ? ColorSpace.RGB : ColorSpace.YCBCR;
            }
            case 4 -> adobeTransform == NO_ADOBE_MARKER || adobeTransform == 0 ? ColorSpace.CMYK : ColorSpace.YCCK;
            default -> ColorSpace.UNKNOWN;
        };
    }

    private static boolean isStartOfFrame(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    private static int u16(byte[] b, int at) {
        return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
    }
}
