package dev.captionfn.image;

import com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReaderSpi;
import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.util.Arrays;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import org.w3c.dom.Node;

/**
 * TIFF to the RGB Pillow 9.4 gives for {@code Image.open(f).convert("RGB")}.
 *
 * <p>TwelveMonkeys' reader decodes the strips and tiles (every compression Pillow's libtiff reads:
 * LZW, Deflate, PackBits, CCITT, JPEG); this class applies Pillow's TiffImagePlugin modes to the
 * samples it hands over, read from the first page only, as Pillow opens a multi-page file at page
 * 0. The tags that decide the mode (photometric interpretation, bits and extra samples) come from
 * the reader's metadata, because its colour model alone does not say what Pillow does:
 * <ul>
 *   <li>gray ("L", "1", 2- and 4-bit "L;2"/"L;4") is kept; 16-bit gray opens as "I;16", and
 *       convert("RGB") clips it to 0..255 rather than scaling it;</li>
 *   <li>16-bit RGB and CMYK keep the high byte of each sample (unpackers "RGB;16L", "CMYK;16L");</li>
 *   <li>palettes keep the high byte of TIFF's 16-bit colour map ({@code b // 256});</li>
 *   <li>CMYK converts with Convert.c cmyk2rgb, no colour profile;</li>
 *   <li>unassociated alpha is dropped; premultiplied (associated) alpha is divided out first
 *       (unpacker "RGBa");</li>
 *   <li>YCbCr is read only where libtiff turns it into RGB (JPEG compression): Pillow fails on
 *       uncompressed YCbCr, so this class refuses it too.</li>
 * </ul>
 */
final class TiffDecoder {

    private static final String NATIVE_METADATA = "com_sun_media_imageio_plugins_tiff_image_1.0";
    private static final int BITS_PER_SAMPLE = 258;
    private static final int COMPRESSION = 259;
    private static final int PHOTOMETRIC = 262;
    private static final int COLOR_MAP = 320;
    private static final int EXTRA_SAMPLES = 338;
    private static final int SAMPLE_FORMAT = 339;

    private static final int WHITE_IS_ZERO = 0;
    private static final int BLACK_IS_ZERO = 1;
    private static final int RGB = 2;
    private static final int PALETTE = 3;
    private static final int CMYK = 5;
    private static final int YCBCR = 6;
    private static final int OLD_JPEG = 6;
    private static final int JPEG = 7;
    private static final int ASSOCIATED_ALPHA = 1;

    /** The TwelveMonkeys reader by name: the JDK's own TIFF reader is on the class path too. */
    private static final TIFFImageReaderSpi SPI = new TIFFImageReaderSpi();

    private TiffDecoder() {
    }

    static RgbImage decode(byte[] bytes, long maxPixels) throws IOException {
        ImageReader reader = SPI.createReaderInstance(null);
        try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
            reader.setInput(in, true, false);
            ImageDecoder.checkPixels(ImageFormat.TIFF, reader.getWidth(0), reader.getHeight(0), maxPixels);
            IIOMetadata metadata = reader.getImageMetadata(0);
            Node ifd = metadata.getAsTree(NATIVE_METADATA).getFirstChild();
            int photometric = first(ifd, PHOTOMETRIC, WHITE_IS_ZERO);
            int compression = first(ifd, COMPRESSION, 1);
            int[] sampleFormats = values(ifd, SAMPLE_FORMAT);
            if (Arrays.stream(sampleFormats).anyMatch(f -> f != 1)) {
                throw new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT,
                        "TIFF images with signed or floating-point samples are not supported.");
            }
            if (photometric == YCBCR && compression != JPEG && compression != OLD_JPEG) {
                // Pillow reads such strips as RGBX and fails ("image file is truncated")
                throw new ImageDecodeException(ImageError.CORRUPT_IMAGE,
                        "The TIFF image stores YCbCr samples without JPEG compression, which the reference decoder (Pillow) cannot read.");
            }
            if (photometric != WHITE_IS_ZERO && photometric != BLACK_IS_ZERO && photometric != RGB
                    && photometric != PALETTE && photometric != CMYK && photometric != YCBCR) {
                throw new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT,
                        "TIFF images with photometric interpretation " + photometric
                                + " are not supported (only gray, RGB, palette, CMYK and JPEG YCbCr ones are).");
            }
            int[] extraSamples = values(ifd, EXTRA_SAMPLES);
            int[] colorMap = values(ifd, COLOR_MAP);
            BufferedImage image = reader.read(0);
            return toRgb(image, photometric, first(ifd, BITS_PER_SAMPLE, 1), extraSamples, colorMap);
        } finally {
            reader.dispose();
        }
    }

    private static RgbImage toRgb(BufferedImage image, int photometric, int bits, int[] extraSamples, int[] colorMap) {
        Raster raster = image.getRaster();
        int bands = raster.getNumBands();
        byte[] lut = bits == 16 ? PilColor.HIGH_BYTE_16 : PilColor.IDENTITY_8;
        if (bits != 8 && bits != 16 && (photometric == RGB || photometric == CMYK || photometric == YCBCR)) {
            throw new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT,
                    "TIFF colour images with " + bits + "-bit samples are not supported (only 8- and 16-bit ones are).");
        }
        switch (photometric) {
            case PALETTE -> {
                return PilColor.map(raster, new int[] {0, 0, 0}, palette(colorMap, bits));
            }
            case CMYK -> {
                requireBands(bands, 4, "CMYK");
                return PilColor.fromStoredCmyk(raster, lut);
            }
            case RGB, YCBCR -> {
                requireBands(bands, 3, "RGB");
                if (bands >= 4 && extraSamples.length > 0 && extraSamples[0] == ASSOCIATED_ALPHA) {
                    return PilColor.fromPremultiplied(raster, lut);
                }
                return PilColor.map(raster, new int[] {0, 1, 2}, new byte[][] {lut, lut, lut});
            }
            default -> {
                // gray: the reader shows bilevel and 2- or 4-bit gray through a gray palette, and has
                // already turned WhiteIsZero samples of up to 8 bits the right way round
                if (image.getColorModel() instanceof IndexColorModel gray) {
                    return PilColor.map(raster, new int[] {0, 0, 0}, PilColor.palette(gray, gray.getMapSize()));
                }
                return PilColor.map(raster, new int[] {0, 0, 0}, luts(grayLevels(bits, photometric)));
            }
        }
    }

    /** 16-bit gray is "I;16" whichever way round the file says it is, and convert("RGB") clips it. */
    private static byte[] grayLevels(int bits, int photometric) {
        if (bits == 16) {
            if (photometric == WHITE_IS_ZERO) {
                // TwelveMonkeys inverts WhiteIsZero samples; Pillow's "I;16" mode does not
                byte[] lut = new byte[65536];
                for (int v = 0; v < lut.length; v++) {
                    lut[v] = PilColor.CLIP_16[65535 - v];
                }
                return lut;
            }
            return PilColor.CLIP_16;
        }
        if (bits == 8) {
            return PilColor.IDENTITY_8;
        }
        if (bits < 8) {
            return PilColor.scaled(bits);
        }
        throw new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT,
                "TIFF gray images with " + bits + "-bit samples are not supported (1, 2, 4, 8 and 16 bits are).");
    }

    /** TIFF's colour map: all reds, then all greens, then all blues, 16 bits each; Pillow keeps {@code b // 256}. */
    private static byte[][] palette(int[] colorMap, int bits) {
        int entries = colorMap.length / 3;
        if (entries == 0 || bits > 8) {
            throw new ImageDecodeException(ImageError.CORRUPT_IMAGE,
                    "The TIFF image is corrupt: a " + bits + "-bit palette image with " + entries + " colour map entries.");
        }
        byte[] rgb = new byte[Math.min(entries, 256) * 3];
        for (int i = 0; i < rgb.length / 3; i++) {
            for (int c = 0; c < 3; c++) {
                rgb[i * 3 + c] = (byte) (colorMap[c * entries + i] >> 8);
            }
        }
        return PilColor.palette(rgb);
    }

    private static void requireBands(int bands, int needed, String kind) {
        if (bands < needed) {
            throw new ImageDecodeException(ImageError.CORRUPT_IMAGE,
                    "The TIFF image is corrupt: " + kind + " with " + bands + " samples per pixel.");
        }
    }

    private static byte[][] luts(byte[] lut) {
        return new byte[][] {lut, lut, lut};
    }

    private static int first(Node ifd, int tag, int absent) {
        int[] values = values(ifd, tag);
        return values.length == 0 ? absent : values[0];
    }

    /** The values of one tag of the reader's native metadata tree (TIFFField / TIFFShorts / TIFFShort value=…). */
    private static int[] values(Node ifd, int tag) {
        String number = Integer.toString(tag);
        for (Node field = ifd.getFirstChild(); field != null; field = field.getNextSibling()) {
            Node numberAttribute = field.getAttributes() == null ? null : field.getAttributes().getNamedItem("number");
            if (numberAttribute == null || !number.equals(numberAttribute.getNodeValue())) {
                continue;
            }
            Node array = field.getFirstChild();
            int count = 0;
            for (Node v = array == null ? null : array.getFirstChild(); v != null; v = v.getNextSibling()) {
                count++;
            }
            int[] values = new int[count];
            int i = 0;
            for (Node v = array == null ? null : array.getFirstChild(); v != null; v = v.getNextSibling()) {
                Node value = v.getAttributes().getNamedItem("value");
                values[i++] = value == null ? 0 : (int) Long.parseLong(value.getNodeValue().trim());
            }
            return values;
        }
        return new int[0];
    }
}
