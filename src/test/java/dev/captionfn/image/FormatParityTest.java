package dev.captionfn.image;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The acceptance bar of PreprocessingParityTest, applied to every WebP of the test data and to one
 * TIFF per mode: decode + 224x224 BICUBIC resize gives Pillow 9.4's pixels, and the model input
 * made from them is the one made from Pillow's.
 */
class FormatParityTest {

    private static final long MAX_PIXELS = 50_000_000L;
    private final ImageDecoder decoder = new ImageDecoder();

    static Stream<Map.Entry<String, JsonNode>> resized() {
        return PilFixtures.manifest("resized").stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("resized")
    void decodedAndResizedMatchesPillowWithinOneLevel(Map.Entry<String, JsonNode> file) {
        JsonNode entry = file.getValue();
        RgbImage expected = PilFixtures.rgbPng("fixtures/pil/resized/" + entry.get("fixture").asText());

        RgbImage decoded = decoder.decode(PilFixtures.bytes("images/" + file.getKey()), MAX_PIXELS);
        RgbImage actual = BicubicResizer.resize(decoded, entry.get("width").asInt(), entry.get("height").asInt());

        PilFixtures.Comparison comparison = PilFixtures.Comparison.of(expected, actual);
        System.out.printf("resized %-36s %dx%d -> 224x224: %s%n", file.getKey(), decoded.width(), decoded.height(), comparison);
        assertTrue(comparison.maxDiff() <= 1, file.getKey() + ": " + comparison);
        assertTrue(comparison.equalFraction() >= 0.999, file.getKey() + ": " + comparison);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("resized")
    void preprocessorOutputIsTheNormalisedPillowPixels(Map.Entry<String, JsonNode> file) {
        RgbImage pillow = PilFixtures.rgbPng("fixtures/pil/resized/" + file.getValue().get("fixture").asText());
        ImagePreprocessor preprocessor = new ImagePreprocessor(PilFixtures.clip(224));
        float[] expected = preprocessor.toPixelValues(pillow);

        float[] actual = preprocessor.toPixelValues(decoder.decode(PilFixtures.bytes("images/" + file.getKey()), MAX_PIXELS));

        long equal = 0;
        double maxError = 0;
        for (int i = 0; i < expected.length; i++) {
            maxError = Math.max(maxError, Math.abs(expected[i] - actual[i]));
            equal += expected[i] == actual[i] ? 1 : 0;
        }
        assertEquals(3 * 224 * 224, actual.length);
        // one uint8 level is 1/255/std ≈ 0.015 in the normalised values
        assertTrue(maxError <= 1.0 / 255 / 0.2613 + 1e-6, file.getKey() + ": max error " + maxError);
        assertTrue(equal >= 0.999 * expected.length, file.getKey() + ": " + equal + " of " + expected.length + " values equal");
    }
}
