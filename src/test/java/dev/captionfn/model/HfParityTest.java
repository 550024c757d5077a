package dev.captionfn.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.caption.Settings;
import dev.captionfn.generate.DecodingConvention;
import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.SessionSettings;
import dev.captionfn.testing.HfReference;
import dev.captionfn.testing.TestConfig;
import dev.captionfn.testing.TinyReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java pipeline (image decoding, PIL-exact preprocessing, the tokenizers, ONNX Runtime, the
 * searches) reproduces every id sequence of every HF parity fixture ({@link HfReference#FIXTURES})
 * exactly, under both decoding conventions: transformers' as its own generate() gave them, LAVIS's
 * as the Python reference search over the same PyTorch model gave them. The model is loaded once
 * per convention, with model.json's convention replaced for the other one, which is how a model
 * exported with {@code --convention} would differ.
 */
class HfParityTest {
    /** @param prepared each case's image and instruction as the processor prepares them, once */
    private record Loaded(HfReference reference, LoadedModel model, List<VisionLanguageModel.Input> prepared) {}

    private static final Map<String, HfReference> REFERENCES = new HashMap<>();
    private static final Map<String, Loaded> MODELS = new HashMap<>();

    @AfterAll
    static void close() {
        MODELS.values().forEach(m -> m.model().close());
    }

    static Stream<HfReference.Location> fixtures() {
        return HfReference.FIXTURES.stream();
    }

    static Stream<Arguments> fixturesAndConventions() {
        return HfReference.FIXTURES.stream()
                .flatMap(f -> Arrays.stream(DecodingConvention.values()).map(c -> Arguments.of(f, c)));
    }

    private static HfReference reference(HfReference.Location location) {
        return REFERENCES.computeIfAbsent(location.name(), n -> HfReference.read(location));
    }

    private static Loaded loaded(HfReference.Location location, DecodingConvention convention) {
        return MODELS.computeIfAbsent(location.name() + "/" + convention.id(), key -> {
            HfReference reference = reference(location);
            ModelManifest manifest = withConvention(ManifestReader.read(reference.modelDir()), convention);
            LoadedModel model = LoadedModel.load(reference.modelDir(), manifest, sessions(location.path()));
            List<VisionLanguageModel.Input> prepared = new ArrayList<>();
            for (HfReference.Case c : reference.cases()) {
                var image = new ImageDecoder().decode(TinyReference.bytes(c.image()), 100_000_000);
                prepared.add(model.processor().prepare(image, c.instruction(), reference.greedy()));
            }
            return new Loaded(reference, model, prepared);
        });
    }

    /** One thread each, the decoder on the fixture's path. */
    static SessionSettings sessions(HfReference.DecoderPath path) {
        return Settings.sessions(TestConfig.of(Map.of("captionfn.model.intra-op-threads", "1",
                "captionfn.model.inter-op-threads", "1", "captionfn.model.io-binding", path.ioBinding())));
    }

    /** The same model decoded under another convention, to hold one model to both references. */
    private static ModelManifest withConvention(ModelManifest m, DecodingConvention convention) {
        var g = m.generation();
        return new ModelManifest(m.id(), m.family(), m.image(), m.qformer(), m.llm(), m.prompt(),
                new ModelManifest.Generation(g.numBeams(), g.maxNewTokens(), g.minNewTokens(), g.repetitionPenalty(),
                        g.lengthPenalty(), g.earlyStopping(), Optional.of(convention.id())),
                m.graphs(), m.decoder());
    }

    /** One case's request as the server builds it, with the fixture's own options. */
    private static VisionLanguageModel.Input input(Loaded m, int i, GenerationOptions options) {
        VisionLanguageModel.Input prepared = m.prepared().get(i);
        return new VisionLanguageModel.Input(prepared.pixelValues(), prepared.qformerIds(), prepared.promptIds(), options);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void theTokenizersGiveTheFixturesQFormerAndPromptIds(HfReference.Location location) {
        Loaded m = loaded(location, DecodingConvention.DEFAULT);
        for (int i = 0; i < m.reference().cases().size(); i++) {
            HfReference.Case c = m.reference().cases().get(i);
            if (c.qformerIds() != null) {
                assertArrayEquals(c.qformerIds(), m.prepared().get(i).qformerIds(), location + ": Q-Former ids of " + c);
            } else {
                assertFalse(m.model().manifest().family().qformerReadsInstruction(),
                        location + ": the fixture has no Q-Former ids, but the family's Q-Former reads the instruction");
            }
            assertArrayEquals(c.promptIds(), m.prepared().get(i).promptIds(), location + ": LLM prompt ids of " + c);
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("fixturesAndConventions")
    void greedyAndBeamSearchReproduceTheReferenceIdsAndTextsOneRequestAtATime(
            HfReference.Location location, DecodingConvention convention) {
        Loaded m = loaded(location, convention);
        HfReference reference = m.reference();
        for (int i = 0; i < reference.cases().size(); i++) {
            HfReference.Case c = reference.cases().get(i);
            HfReference.Decoded expected = c.under(convention);
            long[] greedy = TestConfig.generate(m.model().model(), List.of(input(m, i, reference.greedy()))).tokens().get(0);
            assertArrayEquals(expected.greedyIds(), greedy, location + ", " + convention.id() + ", greedy: " + c);
            assertEquals(expected.greedyText(), m.model().processor().decode(greedy), location + ": greedy text of " + c);
            long[] beam = TestConfig.generate(m.model().model(), List.of(input(m, i, reference.beam()))).tokens().get(0);
            assertArrayEquals(expected.beamIds(), beam, location + ", " + convention.id() + ", beam: " + c);
            assertEquals(expected.beamText(), m.model().processor().decode(beam), location + ": beam text of " + c);
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("fixturesAndConventions")
    void mixedBatchesOfGreedyAndBeamRequestsGiveEachRequestItsReferenceIds(
            HfReference.Location location, DecodingConvention convention) {
        Loaded m = loaded(location, convention);
        HfReference reference = m.reference();
        List<VisionLanguageModel.Input> inputs = new ArrayList<>();
        List<long[]> expected = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < reference.cases().size(); i++) {
            HfReference.Case c = reference.cases().get(i);
            inputs.add(input(m, i, reference.beam()));
            expected.add(c.under(convention).beamIds());
            names.add("beam: " + c);
            inputs.add(input(m, i, reference.greedy()));
            expected.add(c.under(convention).greedyIds());
            names.add("greedy: " + c);
        }
        // batches of different sizes and prompt lengths: left padding must not change any row
        for (int size : new int[] {2, 7, inputs.size()}) {
            for (int from = 0; from < inputs.size(); from += size) {
                int to = Math.min(inputs.size(), from + size);
                List<long[]> got = TestConfig.generate(m.model().model(), inputs.subList(from, to)).tokens();
                for (int i = from; i < to; i++) {
                    assertArrayEquals(expected.get(i), got.get(i - from), location + ", " + convention.id()
                            + ", batch of " + size + ", row " + (i - from) + ", " + names.get(i));
                }
            }
        }
    }

    @Test
    void theTinyRandomFixturesHoldACaseWhereTheConventionsDiffer() {
        List<HfReference.Location> proving = HfReference.FIXTURES.stream()
                .filter(HfReference.Location::showsTheConventionsDiffer).toList();
        assertEquals(List.of("hf-tiny-random/instructblip", "hf-tiny-random/blip2"),
                proving.stream().map(HfReference.Location::name).toList());
        for (HfReference.Location location : proving) {
            long differing = reference(location).cases().stream().filter(c -> {
                HfReference.Decoded lavis = c.under(DecodingConvention.LAVIS);
                HfReference.Decoded transformers = c.under(DecodingConvention.TRANSFORMERS);
                return !Arrays.equals(lavis.greedyIds(), transformers.greedyIds())
                        || !Arrays.equals(lavis.beamIds(), transformers.beamIds());
            }).count();
            assertTrue(differing > 0, location + ": no case where lavis and transformers differ, so the fixture "
                    + "cannot show that the convention setting matters");
        }
    }
}
