package dev.captionfn.image;

import com.luciad.imageio.webp.WebPImageReaderSpi;
import com.luciad.imageio.webp.WebPReadParam;
import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

/**
 * Decodes JPEG, PNG, GIF, BMP, WebP and TIFF bytes into the RGB pixels Pillow 9.4 gives for
 * {@code Image.open(f).convert("RGB")}, which is what the reference captioning pipelines feed the
 * model.
 *
 * <p>ImageIO (with the TwelveMonkeys JPEG and TIFF plugins) does the decoding, and WebP goes through
 * libwebp itself (the webp-imageio binding), the library Pillow uses; this class only steers them
 * towards Pillow's semantics: raw samples instead of colour-managed ones, alpha dropped rather than
 * composited, palettes expanded, 16-bit samples reduced as Pillow does, first frame or page only,
 * EXIF orientation not applied. Files Pillow refuses (truncated JPEGs, PNGs with bad checksums or
 * text-chunk bombs) are refused here too, as {@link ImageError#CORRUPT_IMAGE}.
 *
 * <p>The pixel count comes from the header and is checked against the caller's limit before any
 * pixel buffer exists, so a 44-byte GIF that declares four billion pixels costs nothing.
 *
 * <p>Thread-safe: each call uses its own ImageIO reader and holds no state between calls.
 */
public final class ImageDecoder {

    /**
     * libwebp's reader by name: ImageIO's registry order between two WebP plugins is not something to
     * rely on, and only this one decodes as Pillow does.
     */
    private static final WebPImageReaderSpi WEBP_READERS = new WebPImageReaderSpi();

    /** The largest image whose RGB bytes fit in one Java array. */
    static final long MAX_ARRAY_PIXELS = (Integer.MAX_VALUE - 8) / 3;

    /** libjpeg's warning when the data ends before the image does; Pillow fails on such files. */
    private static final String JPEG_TRUNCATED_WARNING = "Missing EOI marker";

    /**
     * Decodes {@code bytes} to RGB.
     *
     * @param maxPixels the most pixels (width × height, as the header declares) the caller accepts
     * @throws ImageDecodeException with the reason when the bytes cannot be decoded
     */
    public RgbImage decode(byte[] bytes, long maxPixels) {
        Objects.requireNonNull(bytes, "bytes");
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("maxPixels must be positive, got " + maxPixels);
        }
        ImageFormat format = ImageFormat.detect(bytes).orElseThrow(() -> unknown(bytes));
        try {
            return switch (format) {
                case JPEG -> decodeJpeg(bytes, maxPixels);
                case PNG -> decodePng(bytes, maxPixels);
                case GIF -> decodeGif(bytes, maxPixels);
                case BMP -> decodeBmp(bytes, maxPixels);
                case WEBP -> decodeWebp(bytes, maxPixels);
                case TIFF -> TiffDecoder.decode(bytes, maxPixels);
            };
        } catch (ImageDecodeException e) {
            throw e;
        } catch (UnsatisfiedLinkError e) {
            // webp-imageio could not load its libwebp build (a platform it ships none for, or no
            // writable java.io.tmpdir to unpack it to): the format cannot be read here at all
            throw new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT, format.displayName()
                    + " images cannot be decoded on this machine: the native libwebp library did not load ("
                    + e.getMessage() + ").", e);
        } catch (IOException | RuntimeException e) {
            throw corrupt(format, e);
        } catch (OutOfMemoryError e) {
            throw e;
        } catch (Error e) {
            // plugins throw odd Errors on hostile input (e.g. from deep recursion); a bad file is all it means
            throw corrupt(format, e);
        }
    }

    private RgbImage decodeJpeg(byte[] bytes, long maxPixels) throws IOException {
        JpegHeader header = JpegHeader.scan(bytes);
        if (header.precision() != 8) {
            throw new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT,
                    header.precision() + "-bit JPEG images are not supported (only 8-bit ones are).");
        }
        JpegHeader.ColorSpace colorSpace = header.colorSpace();
        if (colorSpace == JpegHeader.ColorSpace.UNKNOWN) {
            throw new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT,
                    "JPEG images with " + header.componentIds().length + " colour components are not supported.");
        }
        ImageReader reader = reader(ImageFormat.JPEG);
        try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
            reader.setInput(in, true, true);
            checkPixels(ImageFormat.JPEG, reader.getWidth(0), reader.getHeight(0), maxPixels);
            AtomicBoolean truncated = new AtomicBoolean();
            reader.addIIOReadWarningListener((source, warning) -> {
                if (warning != null && warning.contains(JPEG_TRUNCATED_WARNING)) {
                    truncated.set(true);
                }
            });
            // readRaster gives the components as stored: no ICC profile applied, no colour conversion
            Raster raster = reader.readRaster(0, null);
            if (truncated.get()) {
                throw new ImageDecodeException(ImageError.CORRUPT_IMAGE,
                        "The JPEG image is truncated: its data ends before the image does.");
            }
            int expectedBands = header.componentIds().length;
            if (raster.getNumBands() != expectedBands) {
                throw new ImageDecodeException(ImageError.CORRUPT_IMAGE, "The JPEG image is corrupt: "
                        + expectedBands + " components declared, " + raster.getNumBands() + " decoded.");
            }
            return switch (colorSpace) {
                case GRAYSCALE -> PilColor.map(raster, new int[] {0, 0, 0}, luts(PilColor.IDENTITY_8));
                case RGB -> PilColor.map(raster, new int[] {0, 1, 2}, luts(PilColor.IDENTITY_8));
                case YCBCR -> PilColor.fromYCbCr(raster);
                case CMYK -> PilColor.fromCmyk(raster, false);
                case YCCK -> PilColor.fromCmyk(raster, true);
                case UNKNOWN -> throw new IllegalStateException("checked above");
            };
        } finally {
            reader.dispose();
        }
    }

    private RgbImage decodePng(byte[] bytes, long maxPixels) throws IOException {
        ImageReader reader = reader(ImageFormat.PNG);
        try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
            // metadata ignored: ImageIO then skips the text chunks instead of inflating them whole
            reader.setInput(in, true, true);
            checkPixels(ImageFormat.PNG, reader.getWidth(0), reader.getHeight(0), maxPixels);
            PngChunks.Header header = PngChunks.walk(bytes);
            BufferedImage image = reader.read(0);
            Raster raster = image.getRaster();
            boolean sixteen = header.bitDepth() == 16;
            return switch (header.colorType()) {
                case PngChunks.Header.GRAY -> PilColor.map(raster, new int[] {0, 0, 0},
                        luts(sixteen ? PilColor.CLIP_16 : levels(image.getColorModel(), raster, 0)));
                case PngChunks.Header.GRAY_ALPHA -> PilColor.map(raster, new int[] {0, 0, 0},
                        luts(sixteen ? PilColor.HIGH_BYTE_16 : PilColor.IDENTITY_8));
                case PngChunks.Header.RGB, PngChunks.Header.RGB_ALPHA -> PilColor.map(raster, new int[] {0, 1, 2},
                        luts(sixteen ? PilColor.HIGH_BYTE_16 : PilColor.IDENTITY_8));
                case PngChunks.Header.PALETTE -> PilColor.map(raster, new int[] {0, 0, 0},
                        PilColor.palette((IndexColorModel) image.getColorModel(), header.paletteEntries()));
                default -> throw new ImageDecodeException(ImageError.CORRUPT_IMAGE,
                        "The PNG image is corrupt: unknown colour type " + header.colorType() + ".");
            };
        } finally {
            reader.dispose();
        }
    }

    /**
     * Pillow shows a GIF's first frame on a canvas as large as the logical screen (grown when the
     * frame reaches past it), filled with the frame's transparent index if it has one, else index 0.
     * The frame's own colour table wins over the global one; with neither, indices are gray levels.
     */
    private RgbImage decodeGif(byte[] bytes, long maxPixels) throws IOException {
        ImageReader reader = reader(ImageFormat.GIF);
        try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
            reader.setInput(in, true, true);
            IIOMetadata streamMetadata = reader.getStreamMetadata();
            IIOMetadata frameMetadata = reader.getImageMetadata(0);
            Node stream = streamMetadata.getAsTree(streamMetadata.getNativeMetadataFormatName());
            Node frame = frameMetadata.getAsTree(frameMetadata.getNativeMetadataFormatName());
            Node screen = child(stream, "LogicalScreenDescriptor");
            Node descriptor = child(frame, "ImageDescriptor");
            int left = intAttribute(descriptor, "imageLeftPosition");
            int top = intAttribute(descriptor, "imageTopPosition");
            int frameWidth = intAttribute(descriptor, "imageWidth");
            int frameHeight = intAttribute(descriptor, "imageHeight");
            long canvasWidth = Math.max(intAttribute(screen, "logicalScreenWidth"), (long) left + frameWidth);
            long canvasHeight = Math.max(intAttribute(screen, "logicalScreenHeight"), (long) top + frameHeight);
            checkPixels(ImageFormat.GIF, canvasWidth, canvasHeight, maxPixels);

            Node control = child(frame, "GraphicControlExtension");
            int background = control != null && "TRUE".equals(attribute(control, "transparentColorFlag"))
                    ? intAttribute(control, "transparentColorIndex") : 0;
            byte[] table = colorTable(child(frame, "LocalColorTable"));
            if (table == null) {
                table = colorTable(child(stream, "GlobalColorTable"));
            }
            byte[][] palette = table == null ? PilColor.grayRamp() : PilColor.palette(table);

            Raster raster = reader.read(0).getRaster();
            RgbImage frameRgb = PilColor.map(raster, new int[] {0, 0, 0}, palette);
            if (left == 0 && top == 0 && frameRgb.width() == canvasWidth && frameRgb.height() == canvasHeight) {
                return frameRgb;
            }
            return onCanvas(frameRgb, left, top, (int) canvasWidth, (int) canvasHeight,
                    palette[0][background], palette[1][background], palette[2][background]);
        } finally {
            reader.dispose();
        }
    }

    /**
     * WebP through libwebp's WebPDecode with its default options (fancy upsampling on, no dithering),
     * which is what Pillow's WebPAnimDecoder uses: the same library, so the same pixels. The colour
     * channels come out as stored, whatever the alpha; an ICC profile is carried, never applied, by
     * both. An animation shows its first frame on a black canvas (transparent black, alpha dropped).
     */
    private RgbImage decodeWebp(byte[] bytes, long maxPixels) throws IOException {
        WebpContainer.FirstFrame frame = WebpContainer.firstFrame(bytes);
        if (frame.animated()) {
            checkPixels(ImageFormat.WEBP, frame.canvasWidth(), frame.canvasHeight(), maxPixels);
        }
        ImageReader reader = WEBP_READERS.createReaderInstance(null);
        try (ImageInputStream in = new ByteArrayImageInputStream(frame.still())) {
            reader.setInput(in, true, true);
            if (!frame.animated()) {
                checkPixels(ImageFormat.WEBP, reader.getWidth(0), reader.getHeight(0), maxPixels);
            }
            WebPReadParam libwebpDefaults = new WebPReadParam();
            libwebpDefaults.setNoFancyUpsampling(false);
            libwebpDefaults.setUseThreads(false);
            libwebpDefaults.setDitheringStrength(0);
            libwebpDefaults.setAlphaDitheringStrength(0);
            BufferedImage image;
            try {
                image = reader.read(0, libwebpDefaults);
            } catch (OutOfMemoryError e) {
                if (e.getMessage() != null) {
                    throw e; // the JVM's own: the heap is exhausted, not the file at fault
                }
                // the binding's translation of VP8_STATUS_OUT_OF_MEMORY, which libwebp also answers
                // for damaged data declaring huge internal tables; the pixels were checked above
                throw new ImageDecodeException(ImageError.CORRUPT_IMAGE,
                        "The WebP image is corrupt: libwebp could not allocate what its data declares.", e);
            }
            RgbImage rgb = PilColor.map(image.getRaster(), new int[] {0, 1, 2}, luts(PilColor.IDENTITY_8));
            if (!frame.animated()) {
                return rgb;
            }
            return onCanvas(rgb, frame.x(), frame.y(), frame.canvasWidth(), frame.canvasHeight(), (byte) 0, (byte) 0, (byte) 0);
        } finally {
            reader.dispose();
        }
    }

    /** BMP: the stored samples, read through whatever colour model the reader chose. */
    private RgbImage decodeBmp(byte[] bytes, long maxPixels) throws IOException {
        ImageFormat format = ImageFormat.BMP;
        ImageReader reader = reader(format);
        try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
            reader.setInput(in, true, true);
            checkPixels(format, reader.getWidth(0), reader.getHeight(0), maxPixels);
            BufferedImage image = reader.read(0);
            Raster raster = image.getRaster();
            ColorModel model = image.getColorModel();
            if (model instanceof IndexColorModel palette) {
                return PilColor.map(raster, new int[] {0, 0, 0}, PilColor.palette(palette, palette.getMapSize()));
            }
            int colorBands = model.getNumColorComponents();
            if (colorBands == 1) {
                return PilColor.map(raster, new int[] {0, 0, 0}, luts(levels(model, raster, 0)));
            }
            if (colorBands != 3) {
                throw new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT,
                        format.displayName() + " images with " + colorBands + " colour components are not supported.");
            }
            return PilColor.map(raster, new int[] {0, 1, 2},
                    new byte[][] {levels(model, raster, 0), levels(model, raster, 1), levels(model, raster, 2)});
        } finally {
            reader.dispose();
        }
    }

    /** Levels for one band: 8-bit kept, packed fields of fewer bits stretched (16-bit BMP), wider ones cut. */
    private static byte[] levels(ColorModel model, Raster raster, int band) {
        int bits = model instanceof DirectColorModel ? model.getComponentSize(band)
                : raster.getSampleModel().getSampleSize(band);
        if (bits == 8) {
            return PilColor.IDENTITY_8;
        }
        return bits < 8 ? PilColor.scaled(bits) : PilColor.highBits(bits);
    }

    private static RgbImage onCanvas(RgbImage frame, int left, int top, int width, int height,
                                     byte r, byte g, byte b) {
        byte[] canvas = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        for (int i = 0; i < canvas.length; i += 3) {
            canvas[i] = r;
            canvas[i + 1] = g;
            canvas[i + 2] = b;
        }
        int rowBytes = frame.width() * 3;
        for (int y = 0; y < frame.height(); y++) {
            System.arraycopy(frame.rgb(), y * rowBytes, canvas, ((top + y) * width + left) * 3, rowBytes);
        }
        return new RgbImage(width, height, canvas);
    }

    private static byte[][] luts(byte[] lut) {
        return new byte[][] {lut, lut, lut};
    }

    static void checkPixels(ImageFormat format, long width, long height, long maxPixels) {
        if (width <= 0 || height <= 0) {
            throw new ImageDecodeException(ImageError.CORRUPT_IMAGE,
                    "The " + format.displayName() + " image is corrupt: it declares a size of " + width + "x" + height + ".");
        }
        long pixels = width * height;
        long limit = Math.min(maxPixels, MAX_ARRAY_PIXELS);
        if (pixels > limit) {
            throw new ImageDecodeException(ImageError.TOO_MANY_PIXELS, String.format(Locale.ROOT,
                    "The %s image is %dx%d (%,d pixels), more than the %,d pixels allowed.",
                    format.displayName(), width, height, pixels, limit));
        }
    }

    private static ImageReader reader(ImageFormat format) {
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format.name().toLowerCase(Locale.ROOT));
        if (!readers.hasNext()) {
            // the TwelveMonkeys plugins register through META-INF/services; a stripped class path loses them
            throw new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT,
                    "No ImageIO reader for " + format.displayName() + " images is installed.");
        }
        return readers.next();
    }

    private static ImageDecodeException unknown(byte[] bytes) {
        return ForeignFormats.recognise(bytes)
                .map(kind -> new ImageDecodeException(ImageError.UNSUPPORTED_FORMAT,
                        kind + " images are not supported (supported: JPEG, PNG, GIF, BMP, WebP, TIFF)."))
                .orElseGet(() -> new ImageDecodeException(ImageError.NOT_AN_IMAGE, bytes.length == 0
                        ? "The data is empty, not an image."
                        : ForeignFormats.looksLikeText(bytes)
                        ? "The data is text (an HTML page or an error message?), not an image."
                        : "The data is not an image: it starts with none of the JPEG, PNG, GIF, BMP, WebP or TIFF signatures."));
    }

    private static ImageDecodeException corrupt(ImageFormat format, Throwable cause) {
        String detail = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return new ImageDecodeException(ImageError.CORRUPT_IMAGE,
                "The " + format.displayName() + " image is corrupt or truncated (" + detail + ").", cause);
    }

    private static byte[] colorTable(Node table) {
        if (table == null) {
            return null;
        }
        byte[] rgb = new byte[256 * 3];
        int entries = 0;
        for (Node entry = table.getFirstChild(); entry != null; entry = entry.getNextSibling()) {
            int index = intAttribute(entry, "index");
            if (index >= 0 && index < 256) {
                rgb[index * 3] = (byte) intAttribute(entry, "red");
                rgb[index * 3 + 1] = (byte) intAttribute(entry, "green");
                rgb[index * 3 + 2] = (byte) intAttribute(entry, "blue");
                entries = Math.max(entries, index + 1);
            }
        }
        return Arrays.copyOf(rgb, entries * 3);
    }

    private static Node child(Node parent, String name) {
        for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (name.equals(node.getNodeName())) {
                return node;
            }
        }
        return null;
    }

    private static String attribute(Node node, String name) {
        NamedNodeMap attributes = node.getAttributes();
        Node value = attributes == null ? null : attributes.getNamedItem(name);
        return value == null ? null : value.getNodeValue();
    }

    private static int intAttribute(Node node, String name) {
        if (node == null) {
            throw new ImageDecodeException(ImageError.CORRUPT_IMAGE, "The GIF image is corrupt: a header is missing.");
        }
        return Integer.parseInt(attribute(node, name));
    }
}
