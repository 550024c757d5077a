package dev.captionfn.image;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The project's acceptance bar for image preprocessing: for every real photo, decode + 224x224
 * BICUBIC resize in Java gives the uint8 RGB that Pillow 9.4 gives (open, convert("RGB"), resize).
 */
class PreprocessingParityTest {

    private static final long MAX_PIXELS = 50_000_000L;
    private final ImageDecoder decoder = new ImageDecoder();

    static Stream<Map.Entry<String, JsonNode>> photos() {
        return PilFixtures.manifest("photos").stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("photos")
    void photoDecodedAndResizedMatchesPillowWithinOneLevel(Map.Entry<String, JsonNode> photo) {
        JsonNode entry = photo.getValue();
        RgbImage expected = PilFixtures.rgbPng("fixtures/pil/photos/" + entry.get("fixture").asText());

        RgbImage decoded = decoder.decode(PilFixtures.bytes("images/photos/" + photo.getKey()), MAX_PIXELS);
        RgbImage actual = BicubicResizer.resize(decoded, entry.get("width").asInt(), entry.get("height").asInt());

        PilFixtures.Comparison comparison = PilFixtures.Comparison.of(expected, actual);
        System.out.printf("parity %-24s %dx%d -> 224x224: %s%n", photo.getKey(), decoded.width(), decoded.height(),
                comparison);
        assertTrue(comparison.maxDiff() <= 1, photo.getKey() + ": " + comparison);
        assertTrue(comparison.equalFraction() >= 0.999, photo.getKey() + ": " + comparison);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("photos")
    void preprocessorOutputIsTheNormalisedPillowPixels(Map.Entry<String, JsonNode> photo) {
        RgbImage pillow = PilFixtures.rgbPng("fixtures/pil/photos/" + photo.getValue().get("fixture").asText());
        ImagePreprocessor preprocessor = new ImagePreprocessor(PilFixtures.clip(224));
        float[] expected = preprocessor.toPixelValues(pillow);

        float[] actual = preprocessor.toPixelValues(
                decoder.decode(PilFixtures.bytes("images/photos/" + photo.getKey()), MAX_PIXELS));

        int plane = 224 * 224;
        double maxError = 0;
        for (int i = 0; i < expected.length; i++) {
            maxError = Math.max(maxError, Math.abs(expected[i] - actual[i]));
        }
        // one uint8 level is 1/255/std ≈ 0.015 in the normalised values
        assertEquals(3 * plane, actual.length);
        assertTrue(maxError <= 1.0 / 255 / 0.2613 + 1e-6, photo.getKey() + ": max error " + maxError);
    }
}
