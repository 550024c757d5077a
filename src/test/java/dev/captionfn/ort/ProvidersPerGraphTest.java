package dev.captionfn.ort;

import static dev.captionfn.ort.ExecutionProvider.CPU;
import static dev.captionfn.ort.ExecutionProvider.CUDA;
import static dev.captionfn.ort.ExecutionProvider.TENSORRT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import dev.captionfn.caption.Settings;
import dev.captionfn.modeldir.Graph;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.testing.TestConfig;
import dev.captionfn.testing.TinyReference;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code captionfn.execution-providers} sets every graph's providers, and
 * {@code captionfn.execution-providers.vision|embed|decoder} one graph's, in properties and in
 * environment variables alike (the Knative manifests set the latter); TensorRT's profile shapes are
 * made for the graphs that list TensorRT and for no other. Read through the real configuration
 * mapping, as the application reads it.
 */
class ProvidersPerGraphTest {
    private static final ModelManifest TINY = ManifestReader.read(TinyReference.MODEL_DIR);
    private static final ProfileShapes.DefaultRequest TYPICAL = new ProfileShapes.DefaultRequest(11, 10);

    /** The GPU manifests' choice: TensorRT for the static-shape vision graph, CUDA for the rest. */
    private static final Map<String, String> GPU_DEFAULT = Map.of(
            "captionfn.execution-providers", "cuda,cpu",
            "captionfn.execution-providers.vision", "tensorrt,cuda,cpu");

    private static SessionSettings settings(Map<String, String> properties) {
        return Settings.sessions(TestConfig.of(properties));
    }

    private static Map<Graph, List<ExecutionProvider>> byGraph(List<ExecutionProvider> vision, List<ExecutionProvider> embed,
            List<ExecutionProvider> decoder) {
        Map<Graph, List<ExecutionProvider>> expected = new EnumMap<>(Graph.class);
        expected.put(Graph.VISION, vision);
        expected.put(Graph.EMBED, embed);
        expected.put(Graph.DECODER, decoder);
        return expected;
    }

    @Test
    void byDefaultEveryGraphRunsOnTheCpuAndNoneGetsAProfile() {
        SessionSettings s = settings(Map.of());
        assertEquals(byGraph(List.of(CPU), List.of(CPU), List.of(CPU)), s.providers());
        assertEquals(Map.of(), ProfileShapes.forTensorRt(TINY, s, TYPICAL));
    }

    @Test
    void aGraphsOwnListReplacesTheListOfEveryGraphForThatGraphOnly() {
        SessionSettings s = settings(GPU_DEFAULT);
        assertEquals(byGraph(List.of(TENSORRT, CUDA, CPU), List.of(CUDA, CPU), List.of(CUDA, CPU)), s.providers());

        SessionSettings decoderOnly = settings(Map.of("captionfn.execution-providers.decoder", "cpu",
                "captionfn.execution-providers", "tensorrt,cpu"));
        assertEquals(byGraph(List.of(TENSORRT, CPU), List.of(TENSORRT, CPU), List.of(CPU)), decoderOnly.providers());
    }

    @Test
    void onlyTheGraphsOnTensorRtGetProfileShapes() {
        SessionSettings s = settings(GPU_DEFAULT);
        Map<Graph, ProfileShapes> profiles = ProfileShapes.forTensorRt(TINY, s, TYPICAL);
        assertEquals(Map.of(Graph.VISION, ProfileShapes.vision(TINY, s.shapes(), TYPICAL)), profiles);

        // the factory that opens the sessions makes the same, and has no TensorRT options for a graph off TensorRT
        SessionFactory factory = new SessionFactory(OrtEnvironment.getEnvironment(), TinyReference.MODEL_DIR, TINY, s, TYPICAL);
        assertEquals(profiles, factory.profiles());
        assertTrue(factory.tensorRtOptionsOf(Graph.VISION, null).get("trt_profile_max_shapes").startsWith("pixel_values:"));
        var e = assertThrows(IllegalStateException.class, () -> factory.tensorRtOptionsOf(Graph.DECODER, null));
        assertTrue(e.getMessage().contains("decoder does not list tensorrt: cuda,cpu"), e.getMessage());

        SessionSettings everyGraph = settings(Map.of("captionfn.execution-providers", "tensorrt,cuda,cpu"));
        assertEquals(Set.of(Graph.VISION, Graph.EMBED, Graph.DECODER), ProfileShapes.forTensorRt(TINY, everyGraph, TYPICAL).keySet());
        SessionSettings decoderOnly = settings(Map.of("captionfn.execution-providers.decoder", "tensorrt,cpu"));
        assertEquals(Map.of(Graph.DECODER, ProfileShapes.decoder(TINY, decoderOnly.shapes(), TYPICAL)),
                ProfileShapes.forTensorRt(TINY, decoderOnly, TYPICAL));
    }

    @Test
    void theEnvironmentVariablesSetEachGraphsListAsTheKnativeManifestsDo() {
        SessionSettings s = Settings.sessions(TestConfig.of(Map.of(), Map.of(
                "CAPTIONFN_EXECUTION_PROVIDERS", "cuda,cpu",
                "CAPTIONFN_EXECUTION_PROVIDERS_VISION", "tensorrt,cuda,cpu")));
        assertEquals(byGraph(List.of(TENSORRT, CUDA, CPU), List.of(CUDA, CPU), List.of(CUDA, CPU)), s.providers());

        SessionSettings each = Settings.sessions(TestConfig.of(Map.of(), Map.of(
                "CAPTIONFN_EXECUTION_PROVIDERS_VISION", "tensorrt,cpu",
                "CAPTIONFN_EXECUTION_PROVIDERS_EMBED", "cuda,cpu",
                "CAPTIONFN_EXECUTION_PROVIDERS_DECODER", "cuda")));
        assertEquals(byGraph(List.of(TENSORRT, CPU), List.of(CUDA, CPU), List.of(CUDA)), each.providers());
    }

    @Test
    void anUnknownGraphStopsStartupNamingTheGraphsThatExist() {
        for (var config : List.of(
                (Runnable) () -> settings(Map.of("captionfn.execution-providers.visoin", "tensorrt,cpu")),
                () -> Settings.sessions(TestConfig.of(Map.of(), Map.of("CAPTIONFN_EXECUTION_PROVIDERS_VISOIN", "tensorrt,cpu"))))) {
            var e = assertThrows(RuntimeException.class, config::run);
            String message = String.valueOf(e.getMessage());
            assertTrue(message.contains("visoin") && message.contains("vision,embed,decoder"), message);
        }
    }

    @Test
    void aProviderNamedTwiceInOneGraphsListStopsStartupNamingTheGraph() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> settings(Map.of("captionfn.execution-providers.decoder", "cuda,cpu,cuda")));
        assertEquals("the execution providers of graph decoder name a provider twice: cuda,cpu,cuda", e.getMessage());
    }

    @Test
    void aGraphWithoutProvidersIsRefused() {
        Map<Graph, List<ExecutionProvider>> none = new EnumMap<>(SessionSettings.everyGraph(List.of(CPU)));
        none.put(Graph.EMBED, List.of());
        SessionSettings defaults = settings(Map.of());
        var e = assertThrows(IllegalArgumentException.class, () -> new SessionSettings(none, 1, 1, defaults.cuda(),
                defaults.tensorrt(), defaults.cacheDir(), defaults.shapes(), defaults.ioBinding()));
        assertEquals("the execution providers of graph embed name none; the default is cpu", e.getMessage());
    }

    /**
     * Each graph is opened on its own list: the vision graph tries TensorRT, which this machine
     * cannot load (no GPU; with the default jar not even in the build), and falls back to the CPU;
     * the other two never try it. The one warning says which graphs fall back, and to what.
     */
    @Test
    void eachGraphOpensOnItsOwnList() throws Exception {
        SessionSettings s = Settings.sessions(TestConfig.of(Map.of(
                "captionfn.model.intra-op-threads", "1", "captionfn.model.inter-op-threads", "1",
                "captionfn.execution-providers.vision", "tensorrt,cpu")));
        SessionFactory factory = new SessionFactory(OrtEnvironment.getEnvironment(), TinyReference.MODEL_DIR, TINY, s, TYPICAL);
        List<GraphSession> opened = new ArrayList<>();
        for (Graph graph : Graph.values()) {
            SessionFactory.Opened o = factory.open(graph);
            try (var session = o.session()) {
                opened.add(o.info());
            }
        }
        assertEquals(List.of(CPU, CPU, CPU), opened.stream().map(GraphSession::provider).toList());
        assertEquals(1, factory.warnings().size(), factory.warnings().toString());
        String warning = factory.warnings().get(0);
        // "is not in this build" with the default jar, "cannot load: … needs libcublas…" with onnxruntime_gpu
        assertTrue(warning.startsWith("execution provider tensorrt "), warning);
        assertTrue(warning.endsWith("; the graphs that list it fall back to the next of their own: vision tensorrt,cpu"), warning);
    }
}
