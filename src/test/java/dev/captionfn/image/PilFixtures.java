package dev.captionfn.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Reads the test images and the PIL reference outputs that src/test/python/make_pil_fixtures.py
 * wrote (from the class path, so the tests need neither Python nor the shared data folder).
 */
final class PilFixtures {

    private static final ObjectMapper JSON = new ObjectMapper();

    private PilFixtures() {
    }

    /**
     * CLIP's normalisation, which BLIP, BLIP-2 and InstructBLIP all use. A served model's values come
     * from its model.json ({@code image.mean}, {@code image.std}); these are the tests' copy.
     */
    static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    /** The InstructBLIP / BLIP-2 preprocessing at {@code size} x {@code size}: 1/255, CLIP mean and std. */
    static PreprocessSpec clip(int size) {
        return new PreprocessSpec(size, size, 1.0 / 255.0, CLIP_MEAN, CLIP_STD);
    }

    static byte[] bytes(String resource) {
        try (InputStream in = PilFixtures.class.getResourceAsStream("/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A PNG the fixture script wrote (8-bit RGB), read straight from its raster. */
    static RgbImage rgbPng(String resource) {
        try (InputStream in = PilFixtures.class.getResourceAsStream("/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            BufferedImage image = ImageIO.read(in);
            Raster raster = image.getRaster();
            int width = raster.getWidth();
            int height = raster.getHeight();
            int bands = raster.getNumBands();
            int[] samples = raster.getPixels(0, 0, width, height, (int[]) null);
            byte[] rgb = new byte[width * height * 3];
            for (int i = 0; i < width * height; i++) {
                for (int c = 0; c < 3; c++) {
                    rgb[i * 3 + c] = (byte) samples[i * bands + c];
                }
            }
            return new RgbImage(width, height, rgb);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The entries of fixtures/pil/{name}.json, in file-name order. */
    static List<Map.Entry<String, JsonNode>> manifest(String name) {
        try {
            JsonNode root = JSON.readTree(bytes("fixtures/pil/" + name + ".json"));
            List<Map.Entry<String, JsonNode>> entries = new ArrayList<>(root.properties());
            entries.sort(Map.Entry.comparingByKey());
            return entries;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How far two images of the same size are apart, level by level. */
    record Comparison(int maxDiff, long equal, long total, double meanAbsDiff) {

        static Comparison of(RgbImage expected, RgbImage actual) {
            if (expected.width() != actual.width() || expected.height() != actual.height()) {
                throw new AssertionError("size " + actual.width() + "x" + actual.height() + ", expected "
                        + expected.width() + "x" + expected.height());
            }
            byte[] a = expected.rgb();
            byte[] b = actual.rgb();
            int max = 0;
            long equal = 0;
            long sum = 0;
            for (int i = 0; i < a.length; i++) {
                int d = Math.abs((a[i] & 0xFF) - (b[i] & 0xFF));
                max = Math.max(max, d);
                sum += d;
                if (d == 0) {
                    equal++;
                }
            }
            return new Comparison(max, equal, a.length, (double) sum / a.length);
        }

        double equalFraction() {
            return (double) equal / total;
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "max diff %d, equal %.4f%% (%d of %d), mean |diff| %.3f",
                    maxDiff, 100 * equalFraction(), equal, total, meanAbsDiff);
        }
    }
}
