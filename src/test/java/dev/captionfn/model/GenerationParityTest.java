package dev.captionfn.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.testing.TinyReference;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java pipeline (decoding, PIL-exact resize, DJL tokenizers, ONNX Runtime, the searches)
 * reproduces the token ids the reference script's PyTorch forward pass produced, exactly.
 */
class GenerationParityTest {
    private static LoadedModel model;
    private static List<TinyReference.Case> cases;
    private static GenerationOptions beam;
    private static GenerationOptions greedy;

    @BeforeAll
    static void load() {
        model = LoadedModel.load(TinyReference.MODEL_DIR, SessionSettings.cpu(1, 1));
        cases = TinyReference.cases();
        beam = model.manifest().generation();
        greedy = new GenerationOptions(1, beam.maxNewTokens(), beam.minNewTokens(), beam.repetitionPenalty(),
                beam.lengthPenalty(), beam.earlyStopping());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static VisionLanguageModel.Input input(TinyReference.Case c, GenerationOptions options) {
        var image = new ImageDecoder().decode(TinyReference.bytes(c.resource()), 1_000_000);
        float[] pixels = model.preprocessor().toPixelValues(image);
        return new VisionLanguageModel.Input(pixels, c.qformerIds(), c.promptIds(), options);
    }

    @Test
    void tokenizersGiveTheReferenceIdsForEveryInstruction() {
        for (TinyReference.Case c : cases) {
            assertArrayEquals(c.qformerIds(), model.qformerTokenizer().encode(List.of(c.instruction())).idsOf(0),
                    "Q-Former ids of " + c.instruction());
            assertArrayEquals(c.promptIds(), model.llmTokenizer().encodePrompt(c.instruction()),
                    "LLM prompt ids of " + c.instruction());
        }
    }

    @Test
    void greedySearchReproducesTheReferenceTokensOneRequestAtATime() {
        for (TinyReference.Case c : cases) {
            long[] got = model.model().generate(List.of(input(c, greedy))).tokens().get(0);
            assertArrayEquals(c.greedyIds(), got, c.image() + " " + c.instruction());
            assertEquals(c.greedyText(), model.llmTokenizer().decode(got));
        }
    }

    @Test
    void beamSearchReproducesTheReferenceTokensOneRequestAtATime() {
        for (TinyReference.Case c : cases) {
            long[] got = model.model().generate(List.of(input(c, beam))).tokens().get(0);
            assertArrayEquals(c.beamIds(), got, c.image() + " " + c.instruction());
            assertEquals(c.beamText(), model.llmTokenizer().decode(got));
        }
    }

    @Test
    void aMixedBatchOfGreedyAndBeamRequestsGivesEachRequestItsOwnReferenceTokens() {
        List<VisionLanguageModel.Input> inputs = new ArrayList<>();
        List<long[]> expected = new ArrayList<>();
        for (TinyReference.Case c : cases) {
            inputs.add(input(c, beam));
            expected.add(c.beamIds());
            inputs.add(input(c, greedy));
            expected.add(c.greedyIds());
        }
        // batches of different sizes and prompt lengths: left padding must not change any row
        for (int size : new int[] {2, 7, inputs.size()}) {
            for (int from = 0; from < inputs.size(); from += size) {
                int to = Math.min(inputs.size(), from + size);
                List<long[]> got = model.model().generate(inputs.subList(from, to)).tokens();
                for (int i = from; i < to; i++) {
                    assertArrayEquals(expected.get(i), got.get(i - from), "batch of " + size + ", row " + (i - from));
                }
            }
        }
    }
}
