package dev.captionfn.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.captionfn.caption.Settings;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.ort.ExecutionProvider;
import dev.captionfn.ort.HostTensors;
import dev.captionfn.ort.IoBinding;
import dev.captionfn.ort.NativeValue;
import dev.captionfn.ort.OrtCallException;
import dev.captionfn.testing.TestConfig;
import dev.captionfn.testing.TinyReference;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What of the bound path on a GPU can be checked without one. Runs in the default build and
 * again in the gpu build (-Pknative,gpu), whose onnxruntime_gpu library is the one a GPU server
 * loads: its C API table passes the same check, a decoder asked onto CUDA that falls back to the
 * CPU binds its cache to the host and captions as the reference, and a binding to CUDA memory on a
 * machine without a GPU fails with ONNX Runtime's message rather than a crash.
 */
class GpuIoBindingTest {
    private static final Path V2 = TinyReference.MODEL_DIR_V2;

    @Test
    void aDecoderAskedOntoCudaThatFallsBackToTheCpuBindsItsCacheToTheHostAndCaptionsAsTheReference() {
        var settings = Settings.sessions(TestConfig.of(Map.of("captionfn.execution-providers", "cuda,cpu",
                "captionfn.model.intra-op-threads", "1", "captionfn.model.inter-op-threads", "1")));
        try (LoadedModel model = LoadedModel.load(V2, ManifestReader.read(V2), settings)) {
            assertTrue(model.model().bindsDecoder());
            OnnxGraphs graphs = model.model().graphs();
            try (IoBinding binding = graphs.bindDecoder()) {
                assertEquals("Cpu", binding.deviceMemory(), "the decoder runs on " + model.model().sessions());
            }
            TinyReference.Case c = TinyReference.cases().get(0);
            var image = new ImageDecoder().decode(TinyReference.bytes(c.resource()), 40_000_000);
            var input = model.processor().prepare(image, c.instruction(), model.decoding().defaults());
            assertArrayEquals(c.beamIds(), TestConfig.generate(model.model(), List.of(input)).tokens().get(0));
        }
    }

    @Test
    void aBindingToCudaMemoryWithoutAGpuFailsWithOnnxRuntimesMessage() throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long open = NativeValue.open();
        long bindings = IoBinding.open();
        try (OrtSession decoder = env.createSession(V2.resolve("decoder.onnx").toString(), new OrtSession.SessionOptions());
                OrtSession.RunOptions options = new OrtSession.RunOptions()) {
            OrtCallException e = assertThrows(OrtCallException.class, () -> {
                try (IoBinding binding = IoBinding.of(decoder, ExecutionProvider.CUDA, 0); HostTensors host = binding.hostTensors()) {
                    assertEquals("Cuda", binding.deviceMemory());
                    binding.bindInput("beam_idx", host.longs(new long[] {0}, 1));
                    binding.bindOutputToDevice("present.0.key");
                    binding.run(options).forEach(NativeValue::close);
                }
            });
            assertTrue(e.getMessage().contains("failed: "), e.getMessage());
        }
        assertEquals(open, NativeValue.open());
        assertEquals(bindings, IoBinding.open());
    }
}
