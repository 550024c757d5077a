package dev.captionfn.image;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ImagePreprocessorTest {

    /** Two pixels, (255, 0, 128) then (0, 255, 64), already at the spec's 2x1 size. */
    private static final RgbImage TWO_PIXELS = new RgbImage(2, 1, new byte[] {(byte) 255, 0, (byte) 128, 0, (byte) 255, 64});

    private static final PreprocessSpec TWO_BY_ONE = new PreprocessSpec(2, 1, 1.0 / 255,
            PilFixtures.CLIP_MEAN, PilFixtures.CLIP_STD);

    @Test
    void valuesAreRescaledAndNormalisedWithClipMeanAndStdInChwOrder() {
        float[] values = new ImagePreprocessor(TWO_BY_ONE).toPixelValues(TWO_PIXELS);

        // by hand: (level / 255 - mean) / std, mean (0.48145466, 0.4578275, 0.40821073),
        // std (0.26862954, 0.26130258, 0.27577711); plane R, then G, then B, each pixel 0 then 1
        float[] expected = {
            1.9303361f, -1.7922626f,      // R: (1 - 0.48145466) / 0.26862954, (0 - 0.48145466) / 0.26862954
            -1.7520971f, 2.0748837f,      // G: (0 - 0.4578275) / 0.26130258, (1 - 0.4578275) / 0.26130258
            0.33994877f, -0.57013553f,    // B: (128/255 - 0.40821073) / 0.27577711, (64/255 - 0.40821073) / 0.27577711
        };
        assertEquals(6, values.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], values[i], 1e-6f, "value " + i + " of " + Arrays.toString(values));
        }
    }

    @Test
    void rescaleInDoubleThenFloatEqualsTorchvisionFloatDivisionForEveryLevel() {
        // HF rescales in float64 and casts to float32; LAVIS's ToTensor divides in float32. They agree.
        for (int level = 0; level < 256; level++) {
            assertEquals((float) level / 255f, (float) (level * (1.0 / 255)), 0f, "level " + level);
        }
    }

    @Test
    void eachImageGetsANewArrayOfItsThreePlanesThatALaterImageLeavesAlone() {
        // the model copies each request's array into the batch at 3 x H x W floats apiece
        ImagePreprocessor preprocessor = new ImagePreprocessor(TWO_BY_ONE);
        float[] first = preprocessor.toPixelValues(TWO_PIXELS);
        float[] before = first.clone();

        float[] second = preprocessor.toPixelValues(new RgbImage(2, 1, new byte[6]));

        assertNotSame(first, second);
        assertEquals(3 * 2 * 1, first.length);
        assertEquals(3 * 2 * 1, second.length);
        assertArrayEquals(before, first);
    }

    @Test
    void imagesOfAnotherSizeAreResizedWithPillowBicubicFirst() {
        RgbImage photo = PilFixtures.rgbPng("fixtures/pil/resize/noise-300x200-down-224x224.in.png");
        RgbImage pillowResized = PilFixtures.rgbPng("fixtures/pil/resize/noise-300x200-down-224x224.png");
        ImagePreprocessor preprocessor = new ImagePreprocessor(PilFixtures.clip(224));

        assertArrayEquals(preprocessor.toPixelValues(pillowResized), preprocessor.toPixelValues(photo));
    }

    @Test
    void specCopiesItsArraysSoItCannotChangeAfterwards() {
        float[] mean = PilFixtures.CLIP_MEAN.clone();
        PreprocessSpec spec = new PreprocessSpec(224, 224, 1.0 / 255, mean, PilFixtures.CLIP_STD);
        mean[0] = 99f;
        spec.std()[1] = 99f;

        assertEquals(PilFixtures.clip(224), spec);
        assertEquals(0.48145466f, spec.mean()[0]);
    }

    @Test
    void specRejectsMissingChannelsAndNonPositiveStd() {
        assertThrows(IllegalArgumentException.class,
                () -> new PreprocessSpec(224, 224, 1.0 / 255, new float[] {0.5f, 0.5f}, PilFixtures.CLIP_STD));
        assertThrows(IllegalArgumentException.class,
                () -> new PreprocessSpec(224, 224, 1.0 / 255, PilFixtures.CLIP_MEAN, new float[] {1f, 0f, 1f}));
        assertThrows(IllegalArgumentException.class,
                () -> new PreprocessSpec(0, 0, 1.0 / 255, PilFixtures.CLIP_MEAN, PilFixtures.CLIP_STD));
    }
}
