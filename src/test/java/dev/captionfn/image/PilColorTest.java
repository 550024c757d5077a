package dev.captionfn.image;

import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.util.Random;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class PilColorTest {

    @Test
    void yCbCrUsesLibjpegIntegerTables() {
        // R = Y + 1.402 (Cr - 128) = 200.94, G = Y - 0.71414 (Cr - 128) = 48.58, B = Y: libjpeg rounds to 201, 49, 100
        RgbImage rgb = PilColor.fromYCbCr(interleaved(1, 1, 100, 128, 200));

        assertArrayEquals(new byte[] {(byte) 201, 49, 100}, rgb.rgb());
    }

    @Test
    void yCbCrGivesTheSameInPlaceAndRowByRow() {
        int width = 7;
        int height = 5;
        int[] samples = new int[width * height * 3];
        Random random = new Random(3);
        for (int i = 0; i < samples.length; i++) {
            samples[i] = random.nextInt(256);
        }
        WritableRaster banded = Raster.createBandedRaster(DataBuffer.TYPE_BYTE, width, height, 3, null);
        banded.setPixels(0, 0, width, height, samples);

        RgbImage rowByRow = PilColor.fromYCbCr(banded);
        RgbImage inPlace = PilColor.fromYCbCr(interleaved(width, height, samples));

        assertArrayEquals(rowByRow.rgb(), inPlace.rgb());
    }

    @Test
    void cmykFollowsPillowsNaiveFormulaOnInvertedAdobeSamples() {
        // stored (Adobe-inverted) C=155 M=255 Y=255 K=205 is Pillow's C=100 M=0 Y=0 K=50:
        // nk = 205, R = 205 - 100 * 205 / 255 (rounded: 80) = 125, G = B = 205
        Raster plain = interleaved(3, 1, 155, 255, 255, 205, 255, 255, 255, 255, 0, 0, 0, 0);

        RgbImage rgb = PilColor.fromCmyk(plain, false);

        assertArrayEquals(new byte[] {125, (byte) 205, (byte) 205, (byte) 255, (byte) 255, (byte) 255, 0, 0, 0},
                rgb.rgb());
    }

    @Test
    void paletteIndicesPastTheDeclaredEntriesAreTheGrayRamp() {
        byte[][] luts = PilColor.palette(new byte[] {10, 20, 30, 40, 50, 60});

        assertEquals(20, luts[1][0]);
        assertEquals(60, luts[2][1]);
        for (int c = 0; c < 3; c++) {
            assertEquals(5, luts[c][5]);
            assertEquals((byte) 255, luts[c][255]);
        }
    }

    @Test
    void narrowSamplesStretchWithPillowsTruncatingDivision() {
        byte[] five = PilColor.scaled(5);

        assertEquals(0, five[0]);
        assertEquals(131, five[16] & 0xFF); // 16 * 255 / 31 = 131.6
        assertEquals(255, five[31] & 0xFF);
        assertEquals(255, PilColor.CLIP_16[1000] & 0xFF);
        assertEquals(77, PilColor.CLIP_16[77] & 0xFF);
        assertEquals(0x12, PilColor.HIGH_BYTE_16[0x12FF] & 0xFF);
    }

    private static Raster interleaved(int width, int height, int... samples) {
        int bands = samples.length / (width * height);
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, width, height, bands, null);
        raster.setPixels(0, 0, width, height, samples);
        return raster;
    }
}
