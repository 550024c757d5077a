package dev.captionfn.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.caption.Settings;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.ort.IoBinding;
import dev.captionfn.ort.NativeValue;
import dev.captionfn.testing.TestConfig;
import dev.captionfn.testing.TinyReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Which decoder path a model takes, and that the bound path gives back every OrtValue and binding
 * it makes (one binding per model, reused from batch to batch): after each batch, after a withdrawn
 * one, and over a long run whose resident memory
 * stays flat. The ids themselves are {@link HfParityTest}'s (every fixture, both paths).
 */
class BoundDecoderTest {
    private static final Path V2 = TinyReference.MODEL_DIR_V2;

    private static LoadedModel load(Path dir, boolean ioBinding) {
        return LoadedModel.load(dir, ManifestReader.read(dir), Settings.sessions(TestConfig.of(Map.of(
                "captionfn.model.intra-op-threads", "1", "captionfn.model.inter-op-threads", "1",
                "captionfn.model.io-binding", Boolean.toString(ioBinding)))));
    }

    private static List<VisionLanguageModel.Input> inputs(LoadedModel model, int n) {
        List<VisionLanguageModel.Input> inputs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            var image = new ImageDecoder().decode(TinyReference.bytes("tiny-reference/scene-%02d.png".formatted(i)), 40_000_000);
            inputs.add(model.processor().prepare(image, model.manifest().prompt(), model.decoding().defaults()));
        }
        return inputs;
    }

    @Test
    void aContract2ModelDecodesBoundUnlessIoBindingIsOffAndAContract1ModelNever() {
        try (LoadedModel bound = load(V2, true); LoadedModel off = load(V2, false);
                LoadedModel v1 = load(TinyReference.MODEL_DIR, true)) {
            assertTrue(bound.model().bindsDecoder());
            assertFalse(off.model().bindsDecoder());
            assertFalse(v1.model().bindsDecoder(), "a contract 1 decoder needs its cache reordered on the host");
        }
    }

    @Test
    void everyOrtValueAndBindingIsReleasedAfterEachBatchAndAfterAWithdrawnOne() {
        try (LoadedModel model = load(V2, true)) {
            List<VisionLanguageModel.Input> inputs = inputs(model, 4);
            // the first batch makes the binding that every later batch reuses
            TestConfig.generate(model.model(), inputs);
            long values = NativeValue.open();
            long bindings = IoBinding.open();
            TestConfig.generate(model.model(), inputs);
            assertEquals(values, NativeValue.open(), "OrtValues left open after a batch");
            assertEquals(bindings, IoBinding.open(), "bindings left open after a batch");

            try (BatchControl control = new BatchControl(inputs.size())) {
                // every caller gone before a step: the run is terminated where it stands
                for (int i = 0; i < inputs.size(); i++) {
                    control.withdraw(i);
                }
                try {
                    model.model().generate(inputs, control);
                } catch (ModelRunException expected) {
                    // terminated: what matters is what it leaves behind
                }
            }
            assertEquals(values, NativeValue.open(), "OrtValues left open after a withdrawn batch");
            assertEquals(bindings, IoBinding.open(), "bindings left open after a withdrawn batch");
        }
    }

    /**
     * A leak of one step's presents would grow the process by about a megabyte a batch of four
     * beam searches, and never give it back. The Java heap breathes by tens of megabytes from one
     * sample to the next, so what is compared is the floor: the least resident memory of the last
     * three rounds against that of the three before, after two rounds of warm-up (ONNX Runtime's
     * arenas, the JIT).
     */
    @Test
    void aLongBoundRunKeepsResidentMemoryFlat() throws IOException {
        long bindings = IoBinding.open();
        try (LoadedModel model = load(V2, true)) {
            List<VisionLanguageModel.Input> inputs = inputs(model, 4);
            List<Long> rounds = new ArrayList<>();
            for (int round = 0; round < 8; round++) {
                for (int i = 0; i < 75; i++) {
                    TestConfig.generate(model.model(), inputs);
                }
                System.gc();
                rounds.add(residentKb());
            }
            long earlier = Collections.min(rounds.subList(2, 5));
            long later = Collections.min(rounds.subList(5, 8));
            assertTrue(later - earlier < 16 * 1024, "the resident floor rose by " + (later - earlier) / 1024
                    + " MB over the last 225 bound batches: " + rounds + " kB after each 75");
        }
        assertEquals(bindings, IoBinding.open(), "the model's binding closed with it");
    }

    /** VmRSS of this process, from /proc (Linux, as CI is). */
    private static long residentKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
