package dev.captionfn.ort;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;
import dev.captionfn.caption.Settings;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.testing.TestConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime's own TensorRT options object, as captionfn fills it, holds exactly the options
 * built from configuration. Needs the providers in the build: it runs in the gpu profile
 * (./mvnw -B verify -Pknative,gpu, part of CI), where onnxruntime_gpu makes these objects even
 * without a GPU; the default onnxruntime jar cannot.
 */
class GpuProviderOptionsTest {
    @Test
    void theTensorRtOptionsObjectHoldsTheConfiguredOptions() throws OrtException {
        assumeTrue(OrtEnvironment.getAvailableProviders().contains(OrtProvider.TENSOR_RT),
                "the TensorRT provider is in onnxruntime_gpu only (-Pgpu)");
        ModelManifest tiny = ManifestReader.read(Path.of("models", "tiny", "model"));
        var cuda = new SessionSettings.Cuda(0, 0, CudnnConvAlgoSearch.EXHAUSTIVE);
        var trt = new SessionSettings.TensorRt(true, true, 1L << 30, 4);
        ProfileShapes profile = ProfileShapes.decoder(tiny, Settings.sessions(TestConfig.defaults()).shapes(),
                new ProfileShapes.DefaultRequest(11, 10));
        Map<String, String> configured = ProviderOptions.tensorrt(cuda, trt, profile, Path.of("/cache/m/decoder-tensorrt"), "m");
        try (OrtTensorRTProviderOptions options = SessionFactory.tensorRtOptions(0, configured)) {
            assertEquals(configured, parse(options.getOptionsString()));
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
