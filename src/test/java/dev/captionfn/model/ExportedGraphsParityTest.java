package dev.captionfn.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.testing.TestConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A model directory written by models/export (its graph export and model.json writer, run on the
 * stand-in model of models/export/tests/standin.py, every graph's weights in external data) loads
 * here and gives the greedy tokens PyTorch gave through the same wrappers: the exporter's tensor
 * names, dynamic axes, float32 I/O, KV cache layout and empty-past prefill are what the server needs.
 */
class ExportedGraphsParityTest {
    private static final Path DIR = Path.of("src", "test", "resources", "export-standin");

    private static LoadedModel model;
    private static List<Case> cases;

    record Case(float[] pixels, long[] qformerIds, long[] promptIds, int maxNewTokens, long[] greedyIds) {}

    @BeforeAll
    static void load() throws IOException {
        model = TestConfig.load(DIR);
        cases = new ArrayList<>();
        for (JsonNode c : new ObjectMapper().readTree(DIR.resolve("reference.json").toFile()).get("cases")) {
            float[] pixels = new float[c.get("pixel_values").size()];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = (float) c.get("pixel_values").get(i).asDouble();
            }
            cases.add(new Case(pixels, longs(c.get("qformer_input_ids")), longs(c.get("prompt_ids")),
                    c.get("max_new_tokens").asInt(), longs(c.get("greedy_ids"))));
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private static VisionLanguageModel.Input input(Case c) {
        var options = new GenerationOptions(1, c.maxNewTokens(), 1, 1.0, 1.0, false);
        return new VisionLanguageModel.Input(c.pixels(), c.qformerIds(), c.promptIds(), options);
    }

    @Test
    void theExportedDirectoryNamesItsExternalDataAndLoads() {
        var graphs = model.manifest().graphs();
        assertEquals(List.of("vision.onnx.data", "embed.onnx.data", "decoder.onnx.data"),
                graphs.all().stream().flatMap(g -> g.data().stream()).map(ModelManifest.FileRef::file).toList());
        assertFalse(cases.isEmpty());
    }

    @Test
    void greedyDecodingReproducesPyTorchTokensOneRequestAtATime() {
        for (Case c : cases) {
            assertArrayEquals(c.greedyIds(), TestConfig.generate(model.model(), List.of(input(c))).tokens().get(0));
        }
    }

    @Test
    void aLeftPaddedBatchGivesEachRequestItsPyTorchTokens() {
        List<long[]> got = TestConfig.generate(model.model(), cases.stream().map(ExportedGraphsParityTest::input).toList()).tokens();
        for (int i = 0; i < cases.size(); i++) {
            assertArrayEquals(cases.get(i).greedyIds(), got.get(i), "case " + i);
        }
    }
}
