package dev.captionfn.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The reference outputs models/tiny/make_tiny_model.py wrote from its own PyTorch forward pass for
 * held-out drawn images (src/test/resources/tiny-reference).
 */
public final class TinyReference {
    public static final String DIR = "tiny-reference/";
    /** The embedded default model's directory in the source tree. */
    public static final Path MODEL_DIR = Path.of("models", "tiny", "model");

    /** One held-out image and instruction with the ids the reference produced. */
    public record Case(
            String image,
            String instruction,
            String expected,
            long[] qformerIds,
            long[] promptIds,
            long[] greedyIds,
            String greedyText,
            long[] beamIds,
            String beamText) {
        public String resource() {
            return DIR + image;
        }
    }

    private TinyReference() {}

    /** A copy of the embedded default model's directory at {@code target}, for a test to change or break. */
    public static Path copyOfModel(Path target) throws IOException {
        try (Stream<Path> files = Files.walk(MODEL_DIR)) {
            for (Path f : files.toList()) {
                Path to = target.resolve(MODEL_DIR.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        return target;
    }

    public static List<Case> cases() {
        try (InputStream in = TinyReference.class.getClassLoader().getResourceAsStream(DIR + "reference.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            List<Case> cases = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                cases.add(new Case(
                        c.get("image").asText(),
                        c.get("instruction").asText(),
                        c.get("expected").asText(),
                        longs(c.get("qformer_input_ids")),
                        longs(c.get("llm_prompt_ids")),
                        longs(c.get("greedy_ids")),
                        c.get("greedy_text").asText(),
                        longs(c.get("beam_ids")),
                        c.get("beam_text").asText()));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] bytes(String resource) {
        try (InputStream in = TinyReference.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no test resource " + resource);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long[] longs(JsonNode n) {
        long[] out = new long[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asLong();
        }
        return out;
    }
}
