package dev.captionfn.modeldir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Reads model.json into a {@link ModelManifest}. Parsed by hand over Jackson's tree rather than
 * bound to the records, so that every problem is reported with the file and the field's path
 * ("model.json: llm.kv_heads is missing") instead of a binding stack trace.
 */
public final class ManifestReader {
    public static final String FILE_NAME = "model.json";
    /**
     * The layouts of model.json this reader knows, which models/export writes as {@code "format": 1}
     * (decoder contract 1) and {@code "format": 2} (decoder contract 2: beam_idx, last-position
     * logits, graphs.decoder.kv_dtype); captionfn_export/manifest.py's FORMAT and FORMAT_V2, whose
     * test_manifest.py reads these constants, so the two cannot drift. A directory of any other
     * format, or of none, is refused before anything else in it is read: its fields may mean
     * something else.
     */
    public static final int FORMAT = 1;
    public static final int FORMAT_V2 = 2;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    private ManifestReader(Path file) {
        this.file = file;
    }

    public static ModelManifest read(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException(file + ": missing; a model directory needs a " + FILE_NAME);
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelLoadException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelLoadException(file + ": must hold a JSON object");
        }
        return new ManifestReader(file).manifest(root);
    }

    private ModelManifest manifest(JsonNode root) {
        int format = checkFormat(root);
        String familyId = text(root, "family");
        ModelFamily family = ModelFamily.byId(familyId).orElseThrow(() -> fail(
                "family '" + familyId + "' is not one this server runs (known: " + ModelFamily.known() + ")"));
        JsonNode image = object(root, "image");
        JsonNode qformer = object(root, "qformer");
        JsonNode llm = object(root, "llm");
        JsonNode generation = object(root, "generation");
        JsonNode graphs = object(root, "graphs");
        return new ModelManifest(
                text(root, "id"),
                family,
                new ModelManifest.ImageSpec(
                        positiveInt(image, "image.width"),
                        positiveInt(image, "image.height"),
                        resample(image),
                        number(image, "image.rescale"),
                        channels(image, "image.mean"),
                        channels(image, "image.std")),
                new ModelManifest.QFormerSpec(
                        fileRef(qformer, "qformer.tokenizer"),
                        positiveInt(qformer, "qformer.max_length"),
                        positiveInt(qformer, "qformer.query_tokens")),
                new ModelManifest.LlmSpec(
                        fileRef(llm, "llm.tokenizer"),
                        llm.has("bos_id") && !llm.get("bos_id").isNull() ? integer(llm, "llm.bos_id") : -1,
                        longs(llm, "llm.eos_ids"),
                        integer(llm, "llm.pad_id"),
                        positiveInt(llm, "llm.vocab_size"),
                        positiveInt(llm, "llm.hidden_size"),
                        positiveInt(llm, "llm.layers"),
                        positiveInt(llm, "llm.kv_heads"),
                        positiveInt(llm, "llm.head_size"),
                        imageTokenId(llm)),
                text(root, "prompt"),
                generation(generation),
                new ModelManifest.Graphs(
                        graph(graphs, Graph.VISION.id()), graph(graphs, Graph.EMBED.id()), graph(graphs, Graph.DECODER.id())),
                decoderContract(format, object(graphs, "graphs." + Graph.DECODER.id())));
    }

    /** Format 1 is decoder contract 1 with a float32 cache; format 2 names its cache's type. */
    private ModelManifest.DecoderContract decoderContract(int format, JsonNode decoder) {
        if (format == FORMAT) {
            if (decoder.has("kv_dtype")) {
                throw fail("graphs.decoder.kv_dtype needs \"format\": " + FORMAT_V2
                        + " (a format " + FORMAT + " decoder keeps a float32 cache)");
            }
            return ModelManifest.DecoderContract.V1;
        }
        String id = text(decoder, "graphs.decoder.kv_dtype");
        ModelManifest.KvType kv = ModelManifest.KvType.byId(id).orElseThrow(() -> fail(
                "graphs.decoder.kv_dtype '" + id + "' is not float32 or float16"));
        return new ModelManifest.DecoderContract(2, kv);
    }

    private int checkFormat(JsonNode root) {
        JsonNode node = root.get("format");
        if (node == null || node.isNull()) {
            throw fail("format is missing (this server reads formats " + FORMAT + " and " + FORMAT_V2
                    + ", which models/export writes as \"format\": " + FORMAT_V2 + ")");
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || (node.asInt() != FORMAT && node.asInt() != FORMAT_V2)) {
            // toString() shows the value as the file has it: 3, 1.0 or "1" (a string)
            throw fail("format " + node + " is not one this server reads (it reads " + FORMAT + " and " + FORMAT_V2 + ")");
        }
        return node.asInt();
    }

    private ModelManifest.Generation generation(JsonNode g) {
        return new ModelManifest.Generation(
                positiveInt(g, "generation.num_beams"),
                positiveInt(g, "generation.max_new_tokens"),
                positiveInt(g, "generation.min_new_tokens"),
                number(g, "generation.repetition_penalty"),
                number(g, "generation.length_penalty"),
                bool(g, "generation.early_stopping"),
                convention(g));
    }

    /** Absent or null for models whose processor puts no image placeholder before the prompt. */
    private OptionalLong imageTokenId(JsonNode llm) {
        JsonNode node = llm.get("image_token_id");
        if (node == null || node.isNull()) {
            return OptionalLong.empty();
        }
        long id = integer(llm, "llm.image_token_id");
        if (id < 0) {
            throw fail("llm.image_token_id must be a token id (0 or more) or null, was " + id);
        }
        return OptionalLong.of(id);
    }

    /** Absent or null: the decoding's default; which names are known is decoding's to say. */
    private Optional<String> convention(JsonNode generation) {
        JsonNode node = generation.get("convention");
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        if (!node.isTextual()) {
            throw fail("generation.convention must be a string naming a convention models/README.md lists, not " + node);
        }
        return Optional.of(node.asText());
    }

    private ModelManifest.GraphSpec graph(JsonNode graphs, String name) {
        String path = "graphs." + name;
        JsonNode g = object(graphs, path);
        ModelManifest.FileRef file = fileRef(graphs, path);
        return new ModelManifest.GraphSpec(file, data(g, path, file), names(g, path + ".inputs"), names(g, path + ".outputs"));
    }

    /**
     * A graph's external data files (absent or empty: none). ONNX Runtime looks for them relative to
     * the graph file, so each must sit in the graph's directory.
     */
    private List<ModelManifest.FileRef> data(JsonNode graph, String graphPath, ModelManifest.FileRef graphFile) {
        String path = graphPath + ".data";
        JsonNode node = graph.get("data");
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw fail(path + " must be an array of {\"file\", \"sha256\"} objects");
        }
        Path graphDir = directoryOf(graphFile.file());
        List<ModelManifest.FileRef> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String itemPath = path + "[" + i + "]";
            JsonNode item = node.get(i);
            if (!item.isObject()) {
                throw fail(itemPath + " must be an object");
            }
            ModelManifest.FileRef ref = fileRefAt(item, itemPath);
            if (!Objects.equals(directoryOf(ref.file()), graphDir)) {
                throw fail(itemPath + ".file '" + ref.file() + "' must be in the same directory as "
                        + graphPath + ".file '" + graphFile.file()
                        + "': ONNX Runtime reads a graph's external data from the graph's directory");
            }
            out.add(ref);
        }
        return List.copyOf(out);
    }

    private static Path directoryOf(String file) {
        return Path.of(file).normalize().getParent();
    }

    private Map<String, String> names(JsonNode parent, String path) {
        JsonNode node = object(parent, path);
        Map<String, String> out = new LinkedHashMap<>();
        node.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual() || e.getValue().asText().isBlank()) {
                throw fail(path + "." + e.getKey() + " must be a tensor name");
            }
            out.put(e.getKey(), e.getValue().asText());
        });
        return Map.copyOf(out);
    }

    private ModelManifest.FileRef fileRef(JsonNode parent, String path) {
        return fileRefAt(object(parent, path), path);
    }

    /** A {"file", "sha256"} object already found at {@code path}. */
    private ModelManifest.FileRef fileRefAt(JsonNode node, String path) {
        String name = text(node, path + ".file");
        if (name.startsWith("/") || name.contains("..")) {
            throw fail(path + ".file must be a path inside the model directory, was '" + name + "'");
        }
        String sha = text(node, path + ".sha256");
        if (!sha.matches("[0-9a-f]{64}")) {
            throw fail(path + ".sha256 must be 64 lowercase hex digits, was '" + sha + "'");
        }
        return new ModelManifest.FileRef(name, sha);
    }

    private String resample(JsonNode image) {
        String r = text(image, "image.resample");
        if (!r.equals("bicubic")) {
            throw fail("image.resample '" + r + "' is not supported (supported: bicubic)");
        }
        return r;
    }

    private float[] channels(JsonNode parent, String path) {
        JsonNode node = field(parent, path);
        if (!node.isArray() || node.size() != 3) {
            throw fail(path + " must be an array of 3 numbers (R, G, B)");
        }
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) {
            if (!node.get(i).isNumber()) {
                throw fail(path + "[" + i + "] must be a number");
            }
            out[i] = (float) node.get(i).asDouble();
        }
        return out;
    }

    private List<Long> longs(JsonNode parent, String path) {
        JsonNode node = field(parent, path);
        if (!node.isArray() || node.isEmpty()) {
            throw fail(path + " must be a non-empty array of token ids");
        }
        List<Long> out = new ArrayList<>();
        node.forEach(n -> {
            if (!n.canConvertToLong()) {
                throw fail(path + " must hold integers");
            }
            out.add(n.asLong());
        });
        return List.copyOf(out);
    }

    private JsonNode object(JsonNode parent, String path) {
        JsonNode node = field(parent, path);
        if (!node.isObject()) {
            throw fail(path + " must be an object");
        }
        return node;
    }

    private String text(JsonNode parent, String path) {
        JsonNode node = field(parent, path);
        if (!node.isTextual() || node.asText().isBlank()) {
            throw fail(path + " must be a non-empty string");
        }
        return node.asText();
    }

    private double number(JsonNode parent, String path) {
        JsonNode node = field(parent, path);
        if (!node.isNumber()) {
            throw fail(path + " must be a number");
        }
        return node.asDouble();
    }

    private boolean bool(JsonNode parent, String path) {
        JsonNode node = field(parent, path);
        if (!node.isBoolean()) {
            throw fail(path + " must be true or false");
        }
        return node.asBoolean();
    }

    private long integer(JsonNode parent, String path) {
        JsonNode node = field(parent, path);
        if (!node.canConvertToLong() || !node.isIntegralNumber()) {
            throw fail(path + " must be an integer");
        }
        return node.asLong();
    }

    private int positiveInt(JsonNode parent, String path) {
        long v = integer(parent, path);
        if (v < 1 || v > Integer.MAX_VALUE) {
            throw fail(path + " must be a positive integer, was " + v);
        }
        return (int) v;
    }

    private JsonNode field(JsonNode parent, String path) {
        String name = path.substring(path.lastIndexOf('.') + 1);
        JsonNode node = parent.get(name);
        if (node == null || node.isNull()) {
            throw fail(path + " is missing");
        }
        return node;
    }

    private ModelLoadException fail(String what) {
        return new ModelLoadException(file + ": " + what);
    }
}
