package dev.captionfn.image;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageFormatTest {

    private final ImageDecoder decoder = new ImageDecoder();

    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource({
        "images/edge/hopper.jpg, JPEG",
        "images/edge/pil_sample_cmyk.jpg, JPEG",
        "images/edge/hopper.png, PNG",
        "images/edge/chi.gif, GIF",
        "images/synthetic/rgb.bmp, BMP",
        "images/synthetic/palette.bmp, BMP",
        "images/edge/hopper.webp, WEBP",
        "images/synthetic/lossless.webp, WEBP",
        "images/formats/rgb.tif, TIFF",
        "images/formats/gray16_big_endian.tif, TIFF",
    })
    void formatIsDetectedFromTheLeadingBytes(String resource, ImageFormat expected) {
        assertEquals(Optional.of(expected), ImageFormat.detect(PilFixtures.bytes(resource)));
    }

    @Test
    void pngBytesInAFileNamedJpgAreDetectedAndDecodedAsPng() {
        byte[] bytes = PilFixtures.bytes("images/synthetic/png_named.jpg");

        assertEquals(Optional.of(ImageFormat.PNG), ImageFormat.detect(bytes));
        assertEquals(23, decoder.decode(bytes, 1_000_000).width());
    }

    @Test
    void randomBytesHaveNoFormat() {
        Random random = new Random(42);
        for (int i = 0; i < 100; i++) {
            byte[] bytes = new byte[1 + random.nextInt(4096)];
            random.nextBytes(bytes);
            assertEquals(Optional.empty(), ImageFormat.detect(bytes), "random bytes " + i);
        }
    }

    @Test
    void htmlAndTextAreNotImages() {
        for (String text : new String[] {
            "<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>",
            "{\"error\": \"rate limited\"}",
            "BMW is not a bitmap, even though it starts with BM and goes on for a while.",
        }) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            assertEquals(Optional.empty(), ImageFormat.detect(bytes), text);
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(bytes, 1000));
            assertEquals(ImageError.NOT_AN_IMAGE, e.error(), text);
            assertTrue(e.getMessage().contains("text"), e.getMessage());
        }
    }

    @Test
    void emptyAndCutOffSignaturesAreNotImages() {
        byte[] png = PilFixtures.bytes("images/edge/hopper.png");
        for (byte[] bytes : new byte[][] {new byte[0], Arrays.copyOf(png, 4), {(byte) 0xFF, (byte) 0xD8}, null}) {
            assertEquals(Optional.empty(), ImageFormat.detect(bytes));
        }
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(new byte[0], 1000));
        assertEquals(ImageError.NOT_AN_IMAGE, e.error());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"49492A00", "4D4D002A", "49492B00", "4D4D002B"})
    void classicAndBigTiffHeadersInEitherByteOrderAreTiff(String hex) {
        assertEquals(Optional.of(ImageFormat.TIFF), ImageFormat.detect(java.util.HexFormat.of().parseHex(hex + "0800000000000000")));
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource({
        "0000010001001010, ICO",
        "0000001866747970686569630000000068656963, HEIF",
        "0000001C667479706176696600000000, AVIF",
        "0000000C6A5020200D0A870A, JPEG 2000",
        "38425053000100000000, PSD",
        "3C3F786D6C2076657273696F6E3D22312E30223F3E0A3C73766720786D6C6E733D22687474703A2F2F7777772E77332E6F72672F323030302F737667222F3E, SVG",
    })
    void knownImageKindsWeDoNotReadAreNamedAsUnsupported(String hex, String kind) {
        byte[] bytes = java.util.HexFormat.of().parseHex(hex);

        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(bytes, 1000));

        assertEquals(ImageError.UNSUPPORTED_FORMAT, e.error());
        assertTrue(e.getMessage().startsWith(kind), e.getMessage());
    }
}
