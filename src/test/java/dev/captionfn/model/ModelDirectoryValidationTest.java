package dev.captionfn.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.captionfn.testing.TinyReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each way a model directory can be wrong stops loading with one message naming the file and the fault. */
class ModelDirectoryValidationTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path copyOfTinyModel() throws IOException {
        try (Stream<Path> files = Files.walk(TinyReference.MODEL_DIR)) {
            for (Path f : files.toList()) {
                Path target = dir.resolve(TinyReference.MODEL_DIR.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
        return dir;
    }

    private Path withManifest(Consumer<ObjectNode> edit) throws IOException {
        Path model = copyOfTinyModel();
        ObjectNode root = (ObjectNode) JSON.readTree(model.resolve("model.json").toFile());
        edit.accept(root);
        JSON.writeValue(model.resolve("model.json").toFile(), root);
        return model;
    }

    private static String failure(Path model) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> {
            try (LoadedModel m = LoadedModel.load(model, new SessionSettings(1, 1))) {
                // loading is the test
            }
        });
        return e.getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "message should mention '" + part + "': " + message);
        }
    }

    @Test
    void theTinyModelLoads() throws IOException {
        try (LoadedModel m = LoadedModel.load(copyOfTinyModel(), new SessionSettings(1, 1))) {
            assertTrue(m.manifest().id().startsWith("captionfn-tiny"));
        }
    }

    @Test
    void aMissingModelJsonIsNamed() {
        assertMentions(failure(dir), "model.json", "missing");
    }

    @Test
    void aMissingGraphFileIsNamed() throws IOException {
        Path model = copyOfTinyModel();
        Files.delete(model.resolve("decoder.onnx"));
        assertMentions(failure(model), "decoder.onnx", "missing");
    }

    @Test
    void aFileWhoseSha256DiffersIsNamedWithBothHashes() throws IOException {
        Path model = copyOfTinyModel();
        Files.writeString(model.resolve("llm/tokenizer.json"), "{}");
        assertMentions(failure(model), "llm/tokenizer.json", "sha256 mismatch", "model.json says");
    }

    @Test
    void anUnknownFamilyIsRefusedWithTheKnownOnes() throws IOException {
        Path model = withManifest(m -> m.put("family", "flamingo"));
        assertMentions(failure(model), "model.json", "family 'flamingo'", "instructblip, blip2");
    }

    @Test
    void aMissingFieldIsNamedByItsPath() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).remove("kv_heads"));
        assertMentions(failure(model), "model.json", "llm.kv_heads is missing");
    }

    @Test
    void aMisnamedTensorIsReportedWithWhatTheGraphReallyHas() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.at("/graphs/vision/inputs")).put("pixel_values", "pixels"));
        assertMentions(failure(model), "vision.onnx", "input 'pixels' (pixel_values) is not in the graph",
                "The graph has inputs [", "pixel_values FLOAT");
    }

    @Test
    void aTensorOfTheWrongRankIsReported() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.at("/graphs/decoder/inputs")).put("position_ids", "inputs_embeds"));
        assertMentions(failure(model), "decoder.onnx", "'inputs_embeds' has rank 3", "expected rank 2");
    }

    @Test
    void aWidthThatContradictsModelJsonIsReported() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).put("hidden_size", 99));
        assertMentions(failure(model), "vision.onnx", "language_embeds", "model.json implies 99");
    }

    @Test
    void aWrongHeadCountIsReportedOnTheCache() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).put("kv_heads", 7));
        assertMentions(failure(model), "decoder.onnx", "past_key_values.0.key", "model.json implies 7");
    }

    @Test
    void anLmHeadNarrowerThanTheVocabularyIsReported() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).put("vocab_size", 999));
        assertMentions(failure(model), "decoder.onnx", "'logits' is 48 wide", "llm.vocab_size 999");
    }

    @Test
    void moreLayersThanTheGraphHasAreReported() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).put("layers", 9));
        assertMentions(failure(model), "decoder.onnx", "past_key_values.8.key", "is not in the graph");
    }

    @Test
    void aGraphInputNothingFeedsIsReported() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).put("layers", 1));
        assertMentions(failure(model), "decoder.onnx", "past_key_values.1.key", "nothing would feed it");
    }
}
