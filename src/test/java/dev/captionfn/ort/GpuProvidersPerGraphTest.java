package dev.captionfn.ort;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;
import dev.captionfn.caption.Settings;
import dev.captionfn.modeldir.Graph;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.testing.TestConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * With the GPU manifests' providers (TensorRT for the vision graph, CUDA for the embed graph and
 * the decoder, set as the manifests set them, in environment variables), ONNX Runtime's own option
 * objects, as captionfn fills them for each graph, hold the vision graph's profile for TensorRT and
 * only the CUDA options for the decoder, whose profile is never made. What a machine without a GPU
 * can check: it runs in the gpu profile (./mvnw -B verify -Pknative,gpu), whose onnxruntime_gpu
 * makes these objects without loading the provider libraries; that the sessions then open on those
 * providers needs a GPU, and nobody has run it on one.
 */
class GpuProvidersPerGraphTest {
    private static final Path TINY_DIR = Path.of("models", "tiny", "model");

    @Test
    void visionGetsTensorRtWithItsProfileAndTheDecoderCudaAlone() throws OrtException {
        assumeTrue(OrtEnvironment.getAvailableProviders().containsAll(Set.of(OrtProvider.TENSOR_RT, OrtProvider.CUDA)),
                "the GPU providers are in onnxruntime_gpu only (-Pgpu)");
        ModelManifest tiny = ManifestReader.read(TINY_DIR);
        SessionSettings settings = Settings.sessions(TestConfig.of(Map.of("captionfn.cuda.device-id", "1"), Map.of(
                "CAPTIONFN_EXECUTION_PROVIDERS", "cuda,cpu",
                "CAPTIONFN_EXECUTION_PROVIDERS_VISION", "tensorrt,cuda,cpu")));
        SessionFactory factory = new SessionFactory(OrtEnvironment.getEnvironment(), TINY_DIR, tiny, settings,
                new ProfileShapes.DefaultRequest(11, 10));
        assertEquals(Set.of(Graph.VISION), factory.profiles().keySet(), "only the graph on TensorRT has a profile");

        Path engines = Path.of("/cache/models/captionfn-tiny-instructblip/vision-tensorrt");
        Map<String, String> vision = factory.tensorRtOptionsOf(Graph.VISION, engines);
        try (OrtTensorRTProviderOptions trt = SessionFactory.tensorRtOptions(settings.cuda().deviceId(), vision)) {
            Map<String, String> held = parse(trt.getOptionsString());
            assertEquals(vision, held);
            assertEquals("1", held.get("device_id"));
            assertEquals(factory.profiles().get(Graph.VISION).max(), held.get("trt_profile_max_shapes"));
            assertTrue(held.get("trt_profile_max_shapes").startsWith("pixel_values:"), held.toString());
            assertFalse(held.get("trt_profile_max_shapes").contains("past_key_values"), "no decoder input in vision's profile");
            assertEquals(engines.toString(), held.get("trt_engine_cache_path"));
        }

        // the decoder: CUDA's options, the device the same, and nothing of TensorRT
        try (OrtCUDAProviderOptions cuda = SessionFactory.cudaOptions(settings.cuda())) {
            Map<String, String> held = parse(cuda.getOptionsString());
            assertEquals(ProviderOptions.cuda(settings.cuda()), held);
            assertEquals("1", held.get("device_id"));
            assertTrue(held.keySet().stream().noneMatch(option -> option.startsWith("trt_")), held.toString());
        }
    }

    /** ONNX Runtime's "key=value;key=value;" form. */
    private static Map<String, String> parse(String options) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String pair : options.split(";")) {
            if (!pair.isEmpty()) {
                int eq = pair.indexOf('=');
                map.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        return map;
    }
}
