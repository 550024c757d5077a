package dev.captionfn.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.generate.DecodingConvention;
import dev.captionfn.generate.GenerationOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * An HF parity fixture: a model directory and the reference.json written beside it from
 * transformers' own {@code generate()} (the transformers convention) and from the Python reference
 * search over the same PyTorch model (the LAVIS convention), for the same images and prompts.
 *
 * @param name what test reports call the fixture
 * @param modelDir the model directory the ids were made with
 * @param file the reference.json
 * @param beam the options of every case's beam search
 * @param greedy the options of every case's greedy search
 */
public record HfReference(
        String name, Path modelDir, Path file, String model, GenerationOptions beam, GenerationOptions greedy, List<Case> cases) {

    /**
     * Every fixture the parity test holds Java to, in one place: the tiny-random exports of both
     * families (models/export) and the embedded default model (models/tiny), each as exported with
     * decoder contract 1 and again with contract 2 (the same weights, so the same reference ids),
     * whose decoder runs bound (I/O binding) and, with captionfn.model.io-binding off, through the
     * Java API; the default model also with a float16 cache, both ways.
     */
    public static final List<Location> FIXTURES;

    static {
        Path hf = Path.of("src/test/resources/hf-tiny-random");
        Location instructblip = Location.beside("hf-tiny-random/instructblip", hf.resolve("instructblip"), true);
        Location blip2 = Location.beside("hf-tiny-random/blip2", hf.resolve("blip2"), true);
        Location defaultModel = new Location("default model", TinyReference.MODEL_DIR,
                Path.of("src/test/resources/tiny-reference/reference.json"), false, DecoderPath.JAVA_API);
        FIXTURES = List.of(instructblip, blip2, defaultModel,
                instructblip.contract2(hf.resolve("instructblip-v2"), DecoderPath.BOUND),
                blip2.contract2(hf.resolve("blip2-v2"), DecoderPath.BOUND),
                defaultModel.contract2(TinyReference.MODEL_DIR_V2, DecoderPath.BOUND),
                defaultModel.contract2(TinyReference.MODEL_DIR_V2, DecoderPath.JAVA_API),
                // a float16 cache gives the same ids on every fixture: models/README.md, "float16 KV, measured"
                defaultModel.contract2(TinyReference.MODEL_DIR_V2_FP16_KV, DecoderPath.BOUND),
                defaultModel.contract2(TinyReference.MODEL_DIR_V2_FP16_KV, DecoderPath.JAVA_API));
    }

    /** How the decoder runs: ONNX Runtime's I/O binding (contract 2 only) or the Java API's host tensors. */
    public enum DecoderPath {
        BOUND,
        JAVA_API;

        /** captionfn.model.io-binding for this path. */
        public String ioBinding() {
            return Boolean.toString(this == BOUND);
        }
    }

    /**
     * Where a fixture lives: its model directory and its reference.json.
     *
     * @param showsTheConventionsDiffer whether the fixture was made to hold a case where the LAVIS
     *     and transformers ids differ, so that it proves the setting matters
     */
    public record Location(String name, Path modelDir, Path reference, boolean showsTheConventionsDiffer, DecoderPath path) {
        /**
         * A fixture directory holding reference.json and the model: model.json in the same
         * directory, or in its {@code model/} subdirectory.
         */
        static Location beside(String name, Path dir, boolean showsTheConventionsDiffer) {
            Path model = Files.isRegularFile(dir.resolve("model.json")) ? dir : dir.resolve("model");
            return new Location(name, model, dir.resolve("reference.json"), showsTheConventionsDiffer, DecoderPath.JAVA_API);
        }

        /**
         * The same fixture served from its contract 2 export: the same weights, so its reference
         * ids are this one's, now held to decoding on {@code path}.
         */
        Location contract2(Path modelDir, DecoderPath path) {
            return new Location(name + " (" + modelDir.getFileName() + ", " + path.name().toLowerCase(java.util.Locale.ROOT)
                    .replace('_', ' ') + ")", modelDir, reference, false, path);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** What one convention generated for a case: ids cut after the first EOS, and their decoded text. */
    public record Decoded(long[] greedyIds, String greedyText, long[] beamIds, String beamText) {}

    /**
     * One image and instruction.
     *
     * @param image a classpath resource (under src/test/resources)
     * @param qformerIds the Q-Former ids, or null where the family's Q-Former reads no text (BLIP-2)
     * @param promptIds the language model's prompt as the server builds it: BOS, then the prompt
     * @param expected the held-out truth of a trained model's case, or null
     */
    public record Case(
            String image,
            String instruction,
            String expected,
            long[] qformerIds,
            long[] promptIds,
            Map<DecodingConvention, Decoded> decoded) {
        public Decoded under(DecodingConvention convention) {
            return decoded.get(convention);
        }

        @Override
        public String toString() {
            return image + " '" + instruction + "'";
        }
    }

    /** Reads a fixture; a missing or incomplete one fails, naming what is missing. */
    public static HfReference read(Location location) {
        if (!Files.isRegularFile(location.reference())) {
            throw new AssertionError(location + ": fixture missing: no " + location.reference());
        }
        if (!Files.isRegularFile(location.modelDir().resolve("model.json"))) {
            throw new AssertionError(location + ": fixture missing: no model directory at " + location.modelDir());
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(location.reference().toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(location.reference() + ": " + e.getMessage(), e);
        }
        JsonNode generation = required(root, "generation", location);
        List<Case> cases = new ArrayList<>();
        for (JsonNode c : required(root, "cases", location)) {
            Map<DecodingConvention, Decoded> decoded = new EnumMap<>(DecodingConvention.class);
            for (DecodingConvention convention : DecodingConvention.values()) {
                JsonNode d = required(c, convention.id(), location);
                decoded.put(convention, new Decoded(
                        longs(required(d, "greedy_ids", location)), required(d, "greedy_text", location).asText(),
                        longs(required(d, "beam_ids", location)), required(d, "beam_text", location).asText()));
            }
            cases.add(new Case(
                    required(c, "image", location).asText(),
                    required(c, "instruction", location).asText(),
                    c.hasNonNull("expected") ? c.get("expected").asText() : null,
                    c.hasNonNull("qformer_input_ids") ? longs(c.get("qformer_input_ids")) : null,
                    longs(required(c, "llm_prompt_ids", location)),
                    Map.copyOf(decoded)));
        }
        if (cases.isEmpty()) {
            throw new AssertionError(location + ": " + location.reference() + " holds no cases");
        }
        return new HfReference(location.name(), location.modelDir(), location.reference(),
                root.path("model").asText(null),
                options(required(generation, "beam", location)),
                options(required(generation, "greedy", location)),
                List.copyOf(cases));
    }

    private static GenerationOptions options(JsonNode g) {
        return new GenerationOptions(
                g.get("num_beams").asInt(),
                g.get("max_new_tokens").asInt(),
                g.get("min_new_tokens").asInt(),
                g.get("repetition_penalty").asDouble(),
                g.get("length_penalty").asDouble(),
                g.get("early_stopping").asBoolean());
    }

    private static JsonNode required(JsonNode parent, String field, Location location) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            throw new AssertionError(location + ": " + location.reference() + " has no '" + field
                    + "' where one is needed (the fixture format is in models/README.md)");
        }
        return node;
    }

    private static long[] longs(JsonNode n) {
        long[] out = new long[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asLong();
        }
        return out;
    }
}
