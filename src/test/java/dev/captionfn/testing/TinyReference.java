package dev.captionfn.testing;

import dev.captionfn.generate.DecodingConvention;
import dev.captionfn.model.Decoding;
import dev.captionfn.modeldir.ManifestReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The embedded default model (models/tiny/model) and its reference outputs for held-out drawn
 * images and photos (src/test/resources/tiny-reference).
 */
public final class TinyReference {
    public static final String DIR = "tiny-reference/";
    /** The embedded default model's directory in the source tree. */
    public static final Path MODEL_DIR = Path.of("models", "tiny", "model");
    /** The same checkpoint exported with decoder contract 2 (float32 cache). */
    public static final Path MODEL_DIR_V2 = Path.of("models", "tiny", "model-v2");
    /** The same checkpoint exported with decoder contract 2 and a float16 cache. */
    public static final Path MODEL_DIR_V2_FP16_KV = Path.of("models", "tiny", "model-v2-fp16kv");

    /**
     * One image and instruction with the ids the reference produced under the model's convention.
     *
     * @param resource the image's classpath resource
     * @param expected the held-out truth, or null where the case has none
     * @param beamIds EOS included where the hypothesis ended on one
     */
    public record Case(
            String resource,
            String instruction,
            String expected,
            long[] qformerIds,
            long[] promptIds,
            long[] greedyIds,
            String greedyText,
            long[] beamIds,
            String beamText) {}

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

    /** Every case of the default model's reference ({@link HfReference}), with the ids of the model's own convention. */
    public static List<Case> cases() {
        DecodingConvention convention = Decoding.of(MODEL_DIR, ManifestReader.read(MODEL_DIR)).convention();
        HfReference.Location location = HfReference.FIXTURES.stream()
                .filter(l -> l.modelDir().equals(MODEL_DIR)).findFirst().orElseThrow();
        List<Case> cases = new ArrayList<>();
        for (HfReference.Case c : HfReference.read(location).cases()) {
            HfReference.Decoded d = c.under(convention);
            cases.add(new Case(c.image(), c.instruction(), c.expected(), c.qformerIds(), c.promptIds(),
                    d.greedyIds(), d.greedyText(), d.beamIds(), d.beamText()));
        }
        return cases;
    }

    /** The cases that carry a held-out truth (drawings; the photos have none). */
    public static List<Case> heldOut() {
        return cases().stream().filter(c -> c.expected() != null).toList();
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
}
