package dev.captionfn.image;

import com.fasterxml.jackson.databind.JsonNode;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every edge-case file (Pillow's own test images) and every synthetic file decodes to the pixels
 * Pillow's open + convert("RGB") gives, or fails where Pillow fails, with a documented code.
 */
class ImageDecoderTest {

    private static final long MAX_PIXELS = 50_000_000L;

    /** Where Pillow raises, the code we answer with; anything not listed here is CORRUPT_IMAGE. */
    private static final Map<String, ImageError> ERROR_CODES = Map.of(
            "decompression_bomb.gif", ImageError.TOO_MANY_PIXELS);

    private final ImageDecoder decoder = new ImageDecoder();

    static Stream<Arguments> pillowOutcomes() {
        return Stream.of("edge", "synthetic", "formats").flatMap(folder -> PilFixtures.manifest(folder).stream()
                .map(entry -> Arguments.of(folder + "/" + entry.getKey(), entry.getValue())));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pillowOutcomes")
    void decodesLikePillowOrFailsWhereItFails(String file, JsonNode pillow) {
        byte[] bytes = PilFixtures.bytes("images/" + file);
        String name = file.substring(file.indexOf('/') + 1);

        if (pillow.get("outcome").asText().equals("error")) {
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(bytes, MAX_PIXELS));
            System.out.printf("decode %-40s Pillow: %s | Java: %s %s%n", file, pillow.get("error").asText(),
                    e.error(), e.getMessage());
            assertEquals(ERROR_CODES.getOrDefault(name, ImageError.CORRUPT_IMAGE), e.error(), e.getMessage());
            return;
        }
        RgbImage actual = decoder.decode(bytes, MAX_PIXELS);
        String folder = file.substring(0, file.indexOf('/'));
        RgbImage expected = PilFixtures.rgbPng("fixtures/pil/" + folder + "/" + name + ".png");
        PilFixtures.Comparison comparison = PilFixtures.Comparison.of(expected, actual);
        System.out.printf("decode %-40s Pillow mode %-4s %dx%d: %s%n", file, pillow.get("mode").asText(),
                actual.width(), actual.height(), comparison);

        ImageFormat format = ImageFormat.detect(bytes).orElseThrow();
        if (format == ImageFormat.JPEG || isJpegCompressedTiff(format, pillow)) {
            assertTrue(comparison.maxDiff() <= 1 && comparison.equalFraction() >= 0.999, file + ": " + comparison);
        } else {
            assertEquals(comparison.total(), comparison.equal(), file + ": " + comparison);
        }
    }

    @Test
    void decompressionBombIsRefusedFromItsHeaderWithoutAllocatingPixels() {
        byte[] bomb = PilFixtures.bytes("images/edge/decompression_bomb.gif");
        warmUp(bomb);

        long allocated = allocatedBy(() -> {
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(bomb, MAX_PIXELS));
            assertEquals(ImageError.TOO_MANY_PIXELS, e.error());
            assertTrue(e.getMessage().contains("65535x66601"), e.getMessage());
        });

        // the canvas it declares would take 13 GB; refusing it must cost next to nothing
        assertTrue(allocated < 1L << 20, "allocated " + allocated + " bytes");
    }

    @Test
    void pngWhoseTextChunksInflateHugelyIsRefusedWithBoundedMemory() {
        byte[] dos = PilFixtures.bytes("images/edge/png_decompression_dos.png");
        warmUp(dos);

        long allocated = allocatedBy(() -> assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(dos, MAX_PIXELS));
            assertEquals(ImageError.CORRUPT_IMAGE, e.error());
            assertTrue(e.getMessage().contains("zTXt"), e.getMessage());
        }));

        assertTrue(allocated < 1L << 20, "allocated " + allocated + " bytes"); // inflated text is counted, never kept
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "images/edge/hopper.jpg, 128, 128",
        "images/edge/hopper.png, 128, 128",
        "images/edge/chi.gif, 320, 240",
        "images/edge/hopper.webp, 128, 128",
        "images/synthetic/rgb.bmp, 23, 17",
        "images/formats/rgb.tif, 97, 65",
        "images/formats/animated_offset_frame.webp, 64, 48",
    })
    void pixelLimitAppliesToTheDeclaredSize(String resource, int width, int height) {
        byte[] bytes = PilFixtures.bytes(resource);
        long pixels = (long) width * height;

        assertEquals(width, decoder.decode(bytes, pixels).width());
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(bytes, pixels - 1));
        assertEquals(ImageError.TOO_MANY_PIXELS, e.error());
        assertTrue(e.getMessage().contains(width + "x" + height), e.getMessage());
    }

    @Test
    void exifOrientationIsNotApplied() {
        RgbImage image = decoder.decode(PilFixtures.bytes("images/synthetic/exif_orientation_6.jpg"), MAX_PIXELS);

        assertEquals(23, image.width());
        assertEquals(17, image.height());
    }

    @Test
    void truncatedJpegIsCorruptLikePillowSaysImageFileIsTruncated() {
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> decoder.decode(PilFixtures.bytes("images/edge/truncated_jpeg.jpg"), MAX_PIXELS));

        assertEquals(ImageError.CORRUPT_IMAGE, e.error());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "images/edge/hopper.jpg", "images/edge/pil_sample_cmyk.jpg", "images/edge/app13-multiple.jpg",
        "images/edge/hopper.png", "images/edge/apng_mode_16bit.png", "images/edge/i_trns.png",
        "images/synthetic/palette4bit_trns.png", "images/synthetic/offset_frame_trns.gif",
        "images/synthetic/chi_first_2000_bytes.gif", "images/edge/hopper.webp", "images/synthetic/rgba_lossless.webp",
        "images/synthetic/palette.bmp", "images/synthetic/rgb555.bmp",
        "images/formats/lossy_alpha.webp", "images/formats/animated_offset_frame.webp",
        "images/formats/rgb_lzw.tif", "images/formats/cmyk.tif", "images/formats/palette.tif",
        "images/formats/rgb_jpeg.tif", "images/formats/multipage.tif",
    })
    void damagedBytesYieldAnImageOrAnImageDecodeExceptionNeverAnythingElse(String resource) {
        byte[] original = PilFixtures.bytes(resource);
        Random random = new Random(resource.hashCode());
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int round = 0; round < 40; round++) {
                byte[] damaged = damage(original, random, round);
                try {
                    RgbImage image = decoder.decode(damaged, 4_000_000);
                    assertTrue(image.width() > 0 && image.height() > 0);
                } catch (ImageDecodeException expected) {
                    assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank());
                }
            }
        });
    }

    @Test
    void concurrentDecodesGiveTheSamePixels() throws Exception {
        byte[] jpeg = PilFixtures.bytes("images/photos/dog.jpg");
        byte[] expected = decoder.decode(jpeg, MAX_PIXELS).rgb();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<byte[]>> results = pool.invokeAll(java.util.Collections.nCopies(8,
                    () -> decoder.decode(jpeg, MAX_PIXELS).rgb()));
            for (Future<byte[]> result : results) {
                assertArrayEquals(expected, result.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void webpAnimationWhoseFirstFrameReachesPastItsCanvasIsCorruptAsPillowSays() {
        byte[] bytes = PilFixtures.bytes("images/formats/animated_offset_frame.webp");
        bytes[24] = 39; // canvas 40 wide, frame 49 wide at x = 8 (Pillow: "could not create decoder object")

        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(bytes, MAX_PIXELS));

        assertEquals(ImageError.CORRUPT_IMAGE, e.error());
        assertTrue(e.getMessage().contains("reaches past the 40x48 canvas"), e.getMessage());
    }

    @Test
    void webpAnimationWithoutFramesIsCorruptAsPillowSays() {
        byte[] animated = PilFixtures.bytes("images/formats/animated_offset_frame.webp");
        byte[] bytes = Arrays.copyOf(animated, new String(animated, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("ANMF"));
        int riffSize = bytes.length - 8;
        for (int i = 0; i < 4; i++) {
            bytes[4 + i] = (byte) (riffSize >>> (8 * i));
        }

        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(bytes, MAX_PIXELS));

        assertEquals(ImageError.CORRUPT_IMAGE, e.error());
        assertTrue(e.getMessage().contains("no frame"), e.getMessage());
    }

    @Test
    void nonPositivePixelLimitIsAProgrammingError() {
        assertThrows(IllegalArgumentException.class,
                () -> decoder.decode(PilFixtures.bytes("images/edge/hopper.png"), 0));
    }

    /** Flips, zeroes or cuts bytes past the signature, differently each round. */
    private static byte[] damage(byte[] original, Random random, int round) {
        byte[] bytes = original.clone();
        switch (round % 4) {
            case 0 -> {
                for (int i = 0; i < 1 + random.nextInt(8); i++) {
                    int at = 8 + random.nextInt(bytes.length - 8);
                    bytes[at] ^= (byte) (1 + random.nextInt(255));
                }
            }
            case 1 -> {
                int at = 8 + random.nextInt(Math.min(200, bytes.length - 8));
                bytes[at] = (byte) random.nextInt(256);
            }
            case 2 -> bytes = Arrays.copyOf(bytes, 8 + random.nextInt(bytes.length - 8));
            default -> {
                int at = 8 + random.nextInt(bytes.length - 8);
                Arrays.fill(bytes, at, Math.min(bytes.length, at + 1 + random.nextInt(64)), (byte) 0xFF);
            }
        }
        return bytes;
    }

    /** JPEG inside TIFF goes through a JPEG decoder that is not libjpeg-turbo: the JPEG bar applies. */
    private static boolean isJpegCompressedTiff(ImageFormat format, JsonNode pillow) {
        return format == ImageFormat.TIFF && pillow.path("compression").asText().equals("jpeg");
    }

    /** Loads ImageIO's plugin registry and classes first, so that only the decode itself is measured. */
    private void warmUp(byte[] bytes) {
        assertThrows(ImageDecodeException.class, () -> decoder.decode(bytes, MAX_PIXELS));
    }

    private static long allocatedBy(Runnable action) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(thread);
        action.run();
        return threads.getThreadAllocatedBytes(thread) - before;
    }
}
