package dev.captionfn.image;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The resizer alone, on synthetic inputs, against Pillow's own resize: no level may differ. */
class BicubicResizerTest {

    static Stream<Map.Entry<String, JsonNode>> cases() {
        return PilFixtures.manifest("resize").stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void resizeEqualsPillowBicubicExactly(Map.Entry<String, JsonNode> resizeCase) {
        JsonNode entry = resizeCase.getValue();
        RgbImage input = PilFixtures.rgbPng("fixtures/pil/resize/" + entry.get("input").asText());
        RgbImage expected = PilFixtures.rgbPng("fixtures/pil/resize/" + entry.get("output").asText());

        RgbImage actual = BicubicResizer.resize(input, entry.get("width").asInt(), entry.get("height").asInt());

        PilFixtures.Comparison comparison = PilFixtures.Comparison.of(expected, actual);
        System.out.printf("resize %-32s %dx%d -> %dx%d: %s%n", resizeCase.getKey(), input.width(), input.height(),
                actual.width(), actual.height(), comparison);
        assertEquals(comparison.total(), comparison.equal(), resizeCase.getKey() + ": " + comparison);
    }

    @Test
    void sameSizeReturnsTheImageUnchanged() {
        RgbImage image = new RgbImage(2, 1, new byte[] {1, 2, 3, 4, 5, 6});

        assertSame(image, BicubicResizer.resize(image, 2, 1));
    }

    @Test
    void uniformImageStaysUniformAtAnySize() {
        byte[] rgb = new byte[7 * 5 * 3];
        for (int i = 0; i < rgb.length; i += 3) {
            rgb[i] = (byte) 200;
            rgb[i + 1] = 17;
            rgb[i + 2] = (byte) 255;
        }
        RgbImage resized = BicubicResizer.resize(new RgbImage(7, 5, rgb), 224, 3);

        for (int y = 0; y < resized.height(); y++) {
            for (int x = 0; x < resized.width(); x++) {
                assertEquals(200, level(resized, x, y, 0));
                assertEquals(17, level(resized, x, y, 1));
                assertEquals(255, level(resized, x, y, 2));
            }
        }
    }

    @Test
    void nonPositiveTargetSizeIsRejected() {
        RgbImage image = new RgbImage(1, 1, new byte[3]);

        assertThrows(IllegalArgumentException.class, () -> BicubicResizer.resize(image, 0, 5));
        assertThrows(IllegalArgumentException.class, () -> BicubicResizer.resize(image, 5, -1));
    }

    /** The level (0..255) of channel {@code c} (0 = R, 1 = G, 2 = B) of pixel (x, y). */
    private static int level(RgbImage image, int x, int y, int c) {
        return image.rgb()[(y * image.width() + x) * 3 + c] & 0xFF;
    }
}
