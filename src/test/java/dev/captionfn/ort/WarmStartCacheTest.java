package dev.captionfn.ort;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.model.VisionLanguageModel;
import dev.captionfn.modeldir.Graph;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelFiles;
import dev.captionfn.modeldir.ModelLoadException;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.modeldir.Sha256;
import dev.captionfn.testing.TestConfig;
import dev.captionfn.testing.TinyReference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warm-start cache on the CPU: a cold start optimises each graph and writes it to the cache
 * directory, the next start loads those graphs (faster) and captions exactly as the reference;
 * a damaged, unreadable or foreign cache is ignored with a warning and rebuilt, and a cache
 * directory that cannot be written leaves the sessions uncached but working. The model's files
 * are hashed once and then known unchanged from the cache's record, unless they change.
 */
class WarmStartCacheTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<Graph> GRAPHS = List.of(Graph.VISION, Graph.EMBED, Graph.DECODER);

    @TempDir
    Path tmp;

    private SessionSettings cachedIn(Path cache) {
        return TestConfig.cpuSessionsCachedIn(cache);
    }

    private static Map<Graph, GraphSession.CacheUse> cacheUse(LoadedModel m) {
        return m.model().sessions().stream().collect(Collectors.toMap(GraphSession::graph, GraphSession::cache));
    }

    private static Map<Graph, GraphSession.CacheUse> all(GraphSession.CacheUse use) {
        return GRAPHS.stream().collect(Collectors.toMap(Function.identity(), g -> use));
    }

    private Map<Graph, GraphSession.CacheUse> load(Path model, Path cache, List<String> warnings) {
        try (LoadedModel m = TestConfig.load(model, cachedIn(cache))) {
            warnings.addAll(m.model().warnings());
            m.model().sessions().forEach(s -> assertEquals(ExecutionProvider.CPU, s.provider()));
            return cacheUse(m);
        }
    }

    /** The graph's CPU slot: {@code <graph>-cpu-<this machine>}. */
    private Path slot(Path cache, Graph graph) {
        try (Stream<Path> slots = Files.list(cache.resolve("captionfn-tiny-instructblip"))) {
            List<Path> found = slots.filter(p -> p.getFileName().toString().matches(graph + "-cpu-[0-9a-f]{8}")).toList();
            assertEquals(1, found.size(), "one CPU slot of " + graph + ": " + found);
            return found.get(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assertMentions(List<String> warnings, String... parts) {
        String all = String.join("\n", warnings);
        for (String part : parts) {
            assertTrue(all.contains(part), "warnings should mention '" + part + "': " + all);
        }
    }

    @Test
    void aColdStartBuildsEveryCacheAndTheNextStartLoadsThem() {
        Path cache = tmp.resolve("cache");
        List<String> warnings = new ArrayList<>();
        assertEquals(all(GraphSession.CacheUse.BUILT), load(TinyReference.MODEL_DIR, cache, warnings));
        for (Graph graph : GRAPHS) {
            assertTrue(Files.isRegularFile(slot(cache, graph).resolve(SessionFactory.OPTIMIZED_GRAPH)), graph.id());
            assertTrue(Files.isRegularFile(slot(cache, graph).resolve(SessionCache.RECORD)), graph.id());
        }
        assertEquals(all(GraphSession.CacheUse.HIT), load(TinyReference.MODEL_DIR, cache, warnings));
        assertEquals(List.of(), warnings);
    }

    /** So that a warm start reads a model-sized cache only once, in ONNX Runtime, not first for its checksum. */
    @Test
    void aSealedCacheIsKnownUntouchedByItsFilesStampsWithoutReadingThem() throws IOException {
        Path cache = tmp.resolve("cache");
        load(TinyReference.MODEL_DIR, cache, new ArrayList<>());
        for (Graph graph : GRAPHS) {
            var files = JSON.readTree(slot(cache, graph).resolve(SessionCache.RECORD).toFile()).get("files");
            assertTrue(files.size() >= 1, graph + ": " + files);
            files.fields().forEachRemaining(f -> assertEquals(f.getValue().get("stamp").asText(),
                    ModelFiles.stamp(slot(cache, graph).resolve(f.getKey())), graph + "/" + f.getKey()));
        }
    }

    @Test
    void theGraphsLoadedFromTheCacheCaptionAsTheReference() {
        Path cache = tmp.resolve("cache");
        load(TinyReference.MODEL_DIR, cache, new ArrayList<>());
        try (LoadedModel m = TestConfig.load(TinyReference.MODEL_DIR, cachedIn(cache))) {
            assertEquals(all(GraphSession.CacheUse.HIT), cacheUse(m));
            GenerationOptions beam = m.decoding().defaults();
            GenerationOptions greedy = new GenerationOptions(1, beam.maxNewTokens(), beam.minNewTokens(),
                    beam.repetitionPenalty(), beam.lengthPenalty(), beam.earlyStopping());
            for (TinyReference.Case c : TinyReference.cases()) {
                var image = new ImageDecoder().decode(TinyReference.bytes(c.resource()), 1_000_000);
                var beamInput = m.processor().prepare(image, c.instruction(), beam);
                List<long[]> got = TestConfig.generate(m.model(), List.of(beamInput, new VisionLanguageModel.Input(
                        beamInput.pixelValues(), beamInput.qformerIds(), beamInput.promptIds(), greedy))).tokens();
                assertArrayEquals(c.beamIds(), got.get(0), "beam, " + c.resource());
                assertArrayEquals(c.greedyIds(), got.get(1), "greedy, " + c.resource());
            }
        }
    }

    @Test
    void aDamagedCachedGraphIsIgnoredWithAWarningAndRebuilt() throws IOException {
        Path cache = tmp.resolve("cache");
        load(TinyReference.MODEL_DIR, cache, new ArrayList<>());
        Path graph = slot(cache, Graph.VISION).resolve(SessionFactory.OPTIMIZED_GRAPH);
        byte[] bytes = Files.readAllBytes(graph);
        bytes[bytes.length / 2] ^= 0x5a;
        Files.write(graph, bytes);

        List<String> warnings = new ArrayList<>();
        var use = load(TinyReference.MODEL_DIR, cache, warnings);
        assertEquals(GraphSession.CacheUse.BUILT, use.get(Graph.VISION));
        assertEquals(GraphSession.CacheUse.HIT, use.get(Graph.DECODER));
        assertMentions(warnings, slot(cache, Graph.VISION).toString(), "ignored and rebuilt", "optimized.onnx is damaged");
        assertEquals(all(GraphSession.CacheUse.HIT), load(TinyReference.MODEL_DIR, cache, new ArrayList<>()));
    }

    @Test
    void aTruncatedOrUnreadableCacheRecordIsIgnoredAndRebuilt() throws IOException {
        Path cache = tmp.resolve("cache");
        load(TinyReference.MODEL_DIR, cache, new ArrayList<>());
        Files.writeString(slot(cache, Graph.EMBED).resolve(SessionCache.RECORD), "{\"key\": {\"format\"");
        Files.delete(slot(cache, Graph.DECODER).resolve(SessionCache.RECORD));

        List<String> warnings = new ArrayList<>();
        var use = load(TinyReference.MODEL_DIR, cache, warnings);
        assertEquals(Map.of(Graph.VISION, GraphSession.CacheUse.HIT, Graph.EMBED, GraphSession.CacheUse.BUILT,
                Graph.DECODER, GraphSession.CacheUse.BUILT), use);
        assertMentions(warnings, "cache.json cannot be read", "it has no cache.json");
    }

    /**
     * Two models with one id and one shape (the tiny model, and the same with its decoder stored as
     * external data): the second never takes the first one's decoder, because the key holds each
     * graph's sha256.
     */
    @Test
    void anotherModelsCacheUnderTheSameIdIsIgnoredAndRebuilt() throws IOException {
        Path cache = tmp.resolve("cache");
        Path other = withExternalDataDecoder(tmp.resolve("other"));
        load(TinyReference.MODEL_DIR, cache, new ArrayList<>());

        List<String> warnings = new ArrayList<>();
        var use = load(other, cache, warnings);
        assertEquals(GraphSession.CacheUse.HIT, use.get(Graph.VISION));
        assertEquals(GraphSession.CacheUse.BUILT, use.get(Graph.DECODER));
        assertMentions(warnings, slot(cache, Graph.DECODER) + " ignored and rebuilt", "it was built for something else",
                "graph_sha256 was ");

        // and back: the first model does not take the other's decoder either
        warnings.clear();
        assertEquals(GraphSession.CacheUse.BUILT, load(TinyReference.MODEL_DIR, cache, warnings).get(Graph.DECODER));
        assertMentions(warnings, "graph_sha256 was ");
    }

    @Test
    void aCacheBuiltByAnotherOnnxRuntimeOrCpuIsIgnoredAndRebuilt() throws IOException {
        Path cache = tmp.resolve("cache");
        load(TinyReference.MODEL_DIR, cache, new ArrayList<>());
        Path record = slot(cache, Graph.VISION).resolve(SessionCache.RECORD);
        ObjectNode json = (ObjectNode) JSON.readTree(record.toFile());
        ((ObjectNode) json.get("key")).put("onnxruntime", "1.0.0").put("cpu", "amd64/0000000000000000");
        JSON.writeValue(record.toFile(), json);

        List<String> warnings = new ArrayList<>();
        assertEquals(GraphSession.CacheUse.BUILT, load(TinyReference.MODEL_DIR, cache, warnings).get(Graph.VISION));
        assertMentions(warnings, "onnxruntime was 1.0.0, is ", "cpu was amd64/0000000000000000");
    }

    @Test
    void aBuildLeftBehindByAProcessThatDiedIsRemovedOnceItIsADayOld() throws IOException {
        Path cache = tmp.resolve("cache");
        load(TinyReference.MODEL_DIR, cache, new ArrayList<>());
        Path slot = slot(cache, Graph.VISION);
        Path abandoned = Files.createDirectories(slot.resolveSibling(slot.getFileName() + SessionCache.BUILDING + "dead"));
        Files.writeString(abandoned.resolve(SessionFactory.OPTIMIZED_GRAPH), "half a graph");
        Files.setLastModifiedTime(abandoned, FileTime.from(Instant.now().minus(Duration.ofHours(25))));
        Path recent = Files.createDirectories(slot.resolveSibling(slot.getFileName() + SessionCache.BUILDING + "running"));
        Files.delete(slot.resolve(SessionCache.RECORD)); // so that the next start builds this slot again

        load(TinyReference.MODEL_DIR, cache, new ArrayList<>());
        assertTrue(Files.notExists(abandoned), "a day-old build is gone");
        assertTrue(Files.isDirectory(recent), "a build that may still be running stays");
    }

    @Test
    void aCacheDirectoryThatCannotBeWrittenLeavesTheSessionsUncachedButServing() throws IOException {
        Path notADirectory = Files.writeString(tmp.resolve("a-file"), "not a directory");
        List<String> warnings = new ArrayList<>();
        assertEquals(all(GraphSession.CacheUse.OFF), load(TinyReference.MODEL_DIR, notADirectory, warnings));
        assertMentions(warnings, "cannot be written", "this session is built without one");
    }

    @Test
    void theModelsFilesAreHashedOnceThenKnownUnchangedFromTheCacheRecord() {
        Path cache = tmp.resolve("cache");
        ModelManifest manifest = ManifestReader.read(TinyReference.MODEL_DIR);
        int files = manifest.files().size();
        assertEquals(new ModelFiles.Verification(files, 0), ModelFiles.verify(TinyReference.MODEL_DIR, manifest, Optional.of(cache)));
        assertEquals(new ModelFiles.Verification(0, files), ModelFiles.verify(TinyReference.MODEL_DIR, manifest, Optional.of(cache)));
        assertEquals(new ModelFiles.Verification(files, 0), ModelFiles.verify(TinyReference.MODEL_DIR, manifest, Optional.empty()));
    }

    /** A rewrite changes the file's ctime, which cannot be set back: the record no longer vouches for it. */
    @Test
    void aModelFileChangedSinceItsCheckIsHashedAgainEvenWithItsTimeSetBack() throws IOException {
        Path cache = tmp.resolve("cache");
        Path model = TinyReference.copyOfModel(tmp.resolve("model"));
        ModelManifest manifest = ManifestReader.read(model);
        ModelFiles.verify(model, manifest, Optional.of(cache));

        Path decoder = model.resolve("decoder.onnx");
        FileTime modified = Files.getLastModifiedTime(decoder);
        byte[] bytes = Files.readAllBytes(decoder);
        bytes[bytes.length / 2] ^= 0x5a;
        Files.write(decoder, bytes);
        Files.setLastModifiedTime(decoder, modified);

        var e = assertThrows(ModelLoadException.class, () -> ModelFiles.verify(model, manifest, Optional.of(cache)));
        assertTrue(e.getMessage().contains("decoder.onnx: sha256 mismatch"), e.getMessage());
    }

    @Test
    void anUnreadableRecordOfVerifiedFilesMeansEveryFileIsHashed() throws IOException {
        Path cache = tmp.resolve("cache");
        ModelManifest manifest = ManifestReader.read(TinyReference.MODEL_DIR);
        ModelFiles.verify(TinyReference.MODEL_DIR, manifest, Optional.of(cache));
        Files.writeString(cache.resolve("captionfn-tiny-instructblip").resolve(ModelFiles.VERIFIED), "[truncated");
        assertEquals(new ModelFiles.Verification(manifest.files().size(), 0),
                ModelFiles.verify(TinyReference.MODEL_DIR, manifest, Optional.of(cache)));
    }

    /**
     * Session creation from a warm cache against a cold start that builds it, same model, same
     * JVM, alternating, medians of five: loading an optimised graph skips ONNX Runtime's graph
     * optimisation (about a third of the cold time on the tiny model here).
     */
    @Test
    void sessionsFromAWarmCacheAreMadeFasterThanOnAColdStart() {
        Path warmCache = tmp.resolve("warm");
        load(TinyReference.MODEL_DIR, warmCache, new ArrayList<>());
        List<Long> cold = new ArrayList<>();
        List<Long> warm = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            cold.add(sessionMillis(tmp.resolve("cold-" + i), GraphSession.CacheUse.BUILT));
            warm.add(sessionMillis(warmCache, GraphSession.CacheUse.HIT));
        }
        long coldMedian = cold.stream().sorted().toList().get(2);
        long warmMedian = warm.stream().sorted().toList().get(2);
        assertTrue(warmMedian < coldMedian, "warm " + warm + " ms should be faster than cold " + cold + " ms");
    }

    private long sessionMillis(Path cache, GraphSession.CacheUse expected) {
        try (LoadedModel m = TestConfig.load(TinyReference.MODEL_DIR, cachedIn(cache))) {
            assertEquals(all(expected), cacheUse(m));
            return m.model().sessions().stream().mapToLong(GraphSession::millis).sum();
        }
    }

    /** The tiny model with its decoder as a weightless graph plus decoder.onnx.data: same id, same shapes, other files. */
    private static Path withExternalDataDecoder(Path model) throws IOException {
        TinyReference.copyOfModel(model);
        Files.write(model.resolve("decoder.onnx"), TinyReference.bytes("external-data-model/decoder.onnx"));
        Files.write(model.resolve("decoder.onnx.data"), TinyReference.bytes("external-data-model/decoder.onnx.data"));
        ObjectNode root = (ObjectNode) JSON.readTree(model.resolve("model.json").toFile());
        ObjectNode decoder = (ObjectNode) root.at("/graphs/decoder");
        decoder.put("sha256", Sha256.of(model.resolve("decoder.onnx")));
        decoder.putArray("data").addObject().put("file", "decoder.onnx.data")
                .put("sha256", Sha256.of(model.resolve("decoder.onnx.data")));
        JSON.writeValue(model.resolve("model.json").toFile(), root);
        return model;
    }
}
