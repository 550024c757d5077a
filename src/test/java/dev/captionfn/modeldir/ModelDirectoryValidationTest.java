package dev.captionfn.modeldir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.captionfn.generate.DecodingConvention;
import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.model.Decoding;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.testing.TestConfig;
import dev.captionfn.testing.TinyReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each way a model directory can be wrong stops loading with one message naming the file and the fault. */
class ModelDirectoryValidationTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path copyOfTinyModel() throws IOException {
        return TinyReference.copyOfModel(dir);
    }

    private Path withManifest(Consumer<ObjectNode> edit) throws IOException {
        Path model = copyOfTinyModel();
        ObjectNode root = (ObjectNode) JSON.readTree(model.resolve("model.json").toFile());
        edit.accept(root);
        JSON.writeValue(model.resolve("model.json").toFile(), root);
        return model;
    }

    /**
     * The tiny model with its decoder split as exports over 2 GB are: decoder.onnx without weights
     * plus decoder.onnx.data (src/test/resources/external-data-model), the data file placed at
     * {@code dataFile} and listed under graphs.decoder.data with its sha256.
     */
    private Path withExternalDataDecoder(String dataFile) throws IOException {
        Path model = copyOfTinyModel();
        Files.write(model.resolve("decoder.onnx"), TinyReference.bytes("external-data-model/decoder.onnx"));
        Path data = model.resolve(dataFile);
        Files.createDirectories(data.getParent());
        Files.write(data, TinyReference.bytes("external-data-model/decoder.onnx.data"));
        ObjectNode root = (ObjectNode) JSON.readTree(model.resolve("model.json").toFile());
        ObjectNode decoder = (ObjectNode) root.at("/graphs/decoder");
        decoder.put("sha256", Sha256.of(model.resolve("decoder.onnx")));
        decoder.putArray("data").addObject().put("file", dataFile).put("sha256", Sha256.of(data));
        JSON.writeValue(model.resolve("model.json").toFile(), root);
        return model;
    }

    private static String failure(Path model) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> {
            try (LoadedModel m = TestConfig.load(model)) {
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
        try (LoadedModel m = TestConfig.load(copyOfTinyModel())) {
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
    void aFormatThisServerDoesNotReadIsRefusedNamingTheValueAndTheOneItReads() throws IOException {
        Path model = withManifest(m -> m.put("format", 3));
        assertMentions(failure(model), "model.json", "format 3 is not one this server reads", "it reads 1 and 2");
    }

    @Test
    void aFormatWrittenAsAStringIsRefusedShowingItAsTheFileHasIt() throws IOException {
        Path model = withManifest(m -> m.put("format", "1"));
        assertMentions(failure(model), "model.json", "format \"1\" is not one this server reads", "it reads 1 and 2");
    }

    @Test
    void aModelJsonWithoutAFormatIsRefused() throws IOException {
        Path model = withManifest(m -> m.remove("format"));
        assertMentions(failure(model), "model.json", "format is missing", "this server reads formats 1 and 2");
    }

    @Test
    void theFormatIsCheckedBeforeAnyFieldItsLayoutMightMeanOtherwise() throws IOException {
        Path model = withManifest(m -> {
            m.put("format", 3);
            m.put("family", "flamingo");
            m.remove("llm");
        });
        String message = failure(model);
        assertMentions(message, "format 3 is not one this server reads");
        assertTrue(!message.contains("family") && !message.contains("llm"), message);
    }

    @Test
    void aFormat1DecoderNamingAKvTypeIsRefused() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.at("/graphs/decoder")).put("kv_dtype", "float16"));
        assertMentions(failure(model), "model.json", "graphs.decoder.kv_dtype needs \"format\": 2");
    }

    @Test
    void aFormat2DecoderMustNameItsKvType() throws IOException {
        Path model = withManifest(m -> m.put("format", 2));
        assertMentions(failure(model), "model.json", "graphs.decoder.kv_dtype is missing");
    }

    @Test
    void aKvTypeOtherThanFloat32OrFloat16IsRefused() throws IOException {
        Path model = withManifest(m -> {
            m.put("format", 2);
            ((ObjectNode) m.at("/graphs/decoder")).put("kv_dtype", "bfloat16");
        });
        assertMentions(failure(model), "model.json", "kv_dtype 'bfloat16' is not float32 or float16");
    }

    @Test
    void aFormat2DecoderGraphWithoutBeamIdxIsRefusedListingWhatTheGraphHas() throws IOException {
        // a contract 1 graph under a format 2 model.json: the server would feed beam_idx
        Path model = withManifest(m -> {
            m.put("format", 2);
            ((ObjectNode) m.at("/graphs/decoder")).put("kv_dtype", "float32");
            ((ObjectNode) m.at("/graphs/decoder/inputs")).put("beam_idx", "beam_idx");
        });
        assertMentions(failure(model), "decoder.onnx", "beam_idx", "past_key_values.0.key");
    }

    @Test
    void theReaderReadsTheFormatTheCommittedModelsCarry() throws IOException {
        assertEquals(ManifestReader.FORMAT, JSON.readTree(copyOfTinyModel().resolve("model.json").toFile())
                .get("format").intValue());
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
        assertMentions(failure(model), "decoder.onnx", "'logits' is 432 wide", "llm.vocab_size 999");
    }

    @Test
    void aModelJsonWithoutAConventionFollowsLavisAndNamesNoImageToken() throws IOException {
        Path model = withManifest(m -> {
            ((ObjectNode) m.get("generation")).remove("convention");
            ((ObjectNode) m.get("llm")).remove("image_token_id");
        });
        ModelManifest manifest = ManifestReader.read(model);
        assertEquals(DecodingConvention.LAVIS, Decoding.of(model, manifest).convention());
        assertEquals(OptionalLong.empty(), manifest.llm().imageTokenId());
    }

    @Test
    void theConventionAndTheImageTokenAreReadFromModelJson() throws IOException {
        Path model = withManifest(m -> {
            ((ObjectNode) m.get("generation")).put("convention", "transformers");
            ((ObjectNode) m.get("llm")).put("image_token_id", 45);
        });
        ModelManifest manifest = ManifestReader.read(model);
        assertEquals(DecodingConvention.TRANSFORMERS, Decoding.of(model, manifest).convention());
        assertEquals(OptionalLong.of(45), manifest.llm().imageTokenId());
        try (LoadedModel m = TestConfig.load(model)) {
            assertEquals(DecodingConvention.TRANSFORMERS, m.decoding().convention());
        }
    }

    @Test
    void aNullImageTokenIdMeansNone() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).putNull("image_token_id"));
        assertEquals(OptionalLong.empty(), ManifestReader.read(model).llm().imageTokenId());
    }

    @Test
    void anUnknownConventionIsRefusedWithTheAllowedOnes() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("generation")).put("convention", "hf-4.33"));
        assertMentions(failure(model), "model.json", "generation.convention 'hf-4.33'", "allowed: lavis, transformers");
    }

    @Test
    void aConventionThatIsNotAStringIsRefusedPointingToTheList() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("generation")).put("convention", 2));
        assertMentions(failure(model), "model.json", "generation.convention must be a string", "models/README.md", "not 2");
    }

    @Test
    void aNegativeImageTokenIdIsRefused() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).put("image_token_id", -1));
        assertMentions(failure(model), "model.json", "llm.image_token_id must be a token id", "-1");
    }

    @Test
    void anImageTokenIdThatIsNotAnIntegerIsRefused() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).put("image_token_id", "<image>"));
        assertMentions(failure(model), "model.json", "llm.image_token_id must be an integer");
    }

    @Test
    void anImageTokenIdPastTheLogitsIsReported() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.get("llm")).put("image_token_id", 432));
        assertMentions(failure(model), "decoder.onnx", "llm.image_token_id 432", "432 wide");
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

    @Test
    void aGraphSplitIntoExternalDataLoadsAndCaptionsAsTheSingleFileGraphDoes() throws IOException {
        Path model = withExternalDataDecoder("decoder.onnx.data");
        try (LoadedModel m = TestConfig.load(model)) {
            assertEquals(List.of(new ModelManifest.FileRef("decoder.onnx.data",
                    Sha256.of(model.resolve("decoder.onnx.data")))), m.manifest().graphs().decoder().data());
            assertTrue(m.manifest().files().contains(m.manifest().graphs().decoder().data().get(0)),
                    "files() must list the external data for the checks and the embedded copy");
            TinyReference.Case c = TinyReference.cases().get(0);
            GenerationOptions beam = m.decoding().defaults();
            GenerationOptions greedy = new GenerationOptions(1, beam.maxNewTokens(), beam.minNewTokens(),
                    beam.repetitionPenalty(), beam.lengthPenalty(), beam.earlyStopping());
            var image = new ImageDecoder().decode(TinyReference.bytes(c.resource()), 1_000_000);
            var input = m.processor().prepare(image, c.instruction(), greedy);
            long[] got = TestConfig.generate(m.model(), List.of(input)).tokens().get(0);
            assertArrayEquals(c.greedyIds(), got, c.resource() + " " + c.instruction());
            assertEquals(c.greedyText(), m.processor().decode(got));
        }
    }

    @Test
    void anEmptyDataArrayMeansNoExternalData() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.at("/graphs/decoder")).putArray("data"));
        assertEquals(List.of(), ManifestReader.read(model).graphs().decoder().data());
    }

    @Test
    void anExternalDataFileWhoseSha256DiffersIsNamedWithBothHashes() throws IOException {
        Path model = withExternalDataDecoder("decoder.onnx.data");
        byte[] data = Files.readAllBytes(model.resolve("decoder.onnx.data"));
        data[data.length / 2] ^= 1;
        Files.write(model.resolve("decoder.onnx.data"), data);
        assertMentions(failure(model), "decoder.onnx.data", "sha256 mismatch", "model.json says");
    }

    @Test
    void aMissingExternalDataFileIsNamed() throws IOException {
        Path model = withExternalDataDecoder("decoder.onnx.data");
        Files.delete(model.resolve("decoder.onnx.data"));
        assertMentions(failure(model), "decoder.onnx.data", "missing");
    }

    @Test
    void externalDataOutsideItsGraphsDirectoryIsRefused() throws IOException {
        Path model = withExternalDataDecoder("weights/decoder.onnx.data");
        assertMentions(failure(model), "model.json", "graphs.decoder.data[0].file 'weights/decoder.onnx.data'",
                "same directory as graphs.decoder.file 'decoder.onnx'");
    }

    @Test
    void aDataFieldThatIsNotAnArrayIsNamedByItsPath() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.at("/graphs/decoder")).putObject("data")
                .put("file", "decoder.onnx.data").put("sha256", "0".repeat(64)));
        assertMentions(failure(model), "model.json", "graphs.decoder.data must be an array");
    }

    @Test
    void anExternalDataEntryWithABadSha256IsNamedByItsIndex() throws IOException {
        Path model = withManifest(m -> {
            ArrayNode data = ((ObjectNode) m.at("/graphs/vision")).putArray("data");
            data.addObject().put("file", "vision.onnx.data").put("sha256", "0".repeat(64));
            data.addObject().put("file", "vision.onnx.data.1").put("sha256", "ABC");
        });
        assertMentions(failure(model), "model.json", "graphs.vision.data[1].sha256 must be 64 lowercase hex digits",
                "'ABC'");
    }

    @Test
    void anExternalDataEntryThatIsNotAnObjectIsNamedByItsIndex() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.at("/graphs/embed")).putArray("data").add("embed.onnx.data"));
        assertMentions(failure(model), "model.json", "graphs.embed.data[0] must be an object");
    }

    @Test
    void anExternalDataFileOutsideTheModelDirectoryIsRefused() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.at("/graphs/decoder")).putArray("data").addObject()
                .put("file", "../decoder.onnx.data").put("sha256", "0".repeat(64)));
        assertMentions(failure(model), "model.json",
                "graphs.decoder.data[0].file must be a path inside the model directory");
    }

    @Test
    void anExternalDataEntryWithoutSha256IsNamedByItsPath() throws IOException {
        Path model = withManifest(m -> ((ObjectNode) m.at("/graphs/decoder")).putArray("data").addObject()
                .put("file", "decoder.onnx.data"));
        assertMentions(failure(model), "model.json", "graphs.decoder.data[0].sha256 is missing");
    }
}
