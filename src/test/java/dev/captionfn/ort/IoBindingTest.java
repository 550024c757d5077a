package dev.captionfn.ort;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelManifest;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime's I/O binding reached through the FFM API runs the decoder of the default model's
 * contract 2 export exactly as the Java API runs it: the same logits and presents, bit for bit,
 * with a reorder by beam_idx; its failures carry ONNX Runtime's message, and nothing stays open.
 */
class IoBindingTest {
    private static final Path DIR = Path.of("models", "tiny", "model-v2");
    private static OrtEnvironment env;
    private static OrtSession decoder;
    private static ModelManifest manifest;

    @BeforeAll
    static void open() throws OrtException {
        env = OrtEnvironment.getEnvironment();
        manifest = ManifestReader.read(DIR);
        decoder = env.createSession(DIR.resolve("decoder.onnx").toString(), new OrtSession.SessionOptions());
    }

    @AfterAll
    static void close() throws OrtException {
        decoder.close();
    }

    @Test
    void theCApiTableIsTheOneTheJarLoadedAndPassesItsSelfCheck() {
        OrtCApi api = OrtCApi.load();
        assertTrue(api == OrtCApi.load(), "loaded once");
    }

    @Test
    void aBoundRunGivesTheJavaApisLogitsAndPresentsAndReordersByBeamIdx() throws OrtException {
        int layers = manifest.llm().layers();
        long kv = manifest.llm().kvHeads();
        long head = manifest.llm().headSize();
        long hidden = manifest.llm().hiddenSize();
        Random random = new Random(18);
        // a step of 3 rows over a past of 4 positions from 2 rows: row 1 twice, then row 0
        long[] beamIdx = {1, 1, 0};
        float[] embeds = floats(random, 3 * hidden);
        float[][] past = new float[2 * layers][];
        for (int i = 0; i < past.length; i++) {
            past[i] = floats(random, (int) (2 * kv * 4 * head));
        }
        long[] mask = new long[3 * 5];
        java.util.Arrays.fill(mask, 1);
        long[] positions = {4, 4, 4};

        Map<String, OnnxTensor> inputs = new HashMap<>();
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            owned.add(put(inputs, "inputs_embeds", OnnxTensor.createTensor(env, FloatBuffer.wrap(embeds), new long[] {3, 1, hidden})));
            owned.add(put(inputs, "attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {3, 5})));
            owned.add(put(inputs, "position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {3, 1})));
            owned.add(put(inputs, "beam_idx", OnnxTensor.createTensor(env, LongBuffer.wrap(beamIdx), new long[] {3})));
            for (int i = 0; i < layers; i++) {
                owned.add(put(inputs, "past_key_values." + i + ".key",
                        OnnxTensor.createTensor(env, FloatBuffer.wrap(past[2 * i]), new long[] {2, kv, 4, head})));
                owned.add(put(inputs, "past_key_values." + i + ".value",
                        OnnxTensor.createTensor(env, FloatBuffer.wrap(past[2 * i + 1]), new long[] {2, kv, 4, head})));
            }
            long openBefore = NativeValue.open();
            try (OrtSession.Result expected = decoder.run(inputs);
                    OrtSession.RunOptions options = new OrtSession.RunOptions();
                    IoBinding binding = IoBinding.of(decoder, ExecutionProvider.CPU, 0);
                    HostTensors host = binding.hostTensors()) {
                assertEquals("Cpu", binding.deviceMemory());
                binding.bindInput("inputs_embeds", host.floats(embeds, 3, 1, hidden));
                binding.bindInput("attention_mask", host.longs(mask, 3, 5));
                binding.bindInput("position_ids", host.longs(positions, 3, 1));
                binding.bindInput("beam_idx", host.longs(beamIdx, 3));
                for (int i = 0; i < layers; i++) {
                    // a Java API tensor binds as it is
                    binding.bindInput("past_key_values." + i + ".key", inputs.get("past_key_values." + i + ".key"));
                    binding.bindInput("past_key_values." + i + ".value", host.floats(past[2 * i + 1], 2, kv, 4, head));
                }
                binding.bindOutputToCpu("logits");
                List<String> presents = new ArrayList<>();
                for (int i = 0; i < layers; i++) {
                    presents.add("present." + i + ".key");
                    presents.add("present." + i + ".value");
                }
                presents.forEach(binding::bindOutputToDevice);
                List<NativeValue> out = binding.run(options);
                try {
                    assertEquals(1 + 2 * layers, out.size());
                    long width = ((OnnxTensor) expected.get("logits").orElseThrow()).getInfo().getShape()[2];
                    assertArrayEquals(new long[] {3, 1, width}, out.get(0).shape(), "contract 2: the last position's logits only");
                    assertArrayEquals(floats(expected, "logits"), out.get(0).floats());
                    for (int i = 0; i < presents.size(); i++) {
                        assertArrayEquals(new long[] {3, kv, 5, head}, out.get(1 + i).shape());
                        assertArrayEquals(floats(expected, presents.get(i)), out.get(1 + i).floats(), presents.get(i));
                    }
                } finally {
                    out.forEach(NativeValue::close);
                    binding.clearInputs();
                }
            }
            assertEquals(openBefore, NativeValue.open(), "every OrtValue released");
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    @Test
    void aFailedBoundRunReportsOnnxRuntimesMessageAndLeavesNothingOpen() throws OrtException {
        long values = NativeValue.open();
        long bindings = IoBinding.open();
        try (OrtSession.RunOptions options = new OrtSession.RunOptions();
                IoBinding binding = IoBinding.of(decoder, ExecutionProvider.CPU, 0);
                HostTensors host = binding.hostTensors()) {
            // beam_idx of the wrong rank, everything else missing
            binding.bindInput("beam_idx", host.longs(new long[] {0, 0}, 1, 2));
            binding.bindOutputToCpu("logits");
            OrtCallException e = assertThrows(OrtCallException.class, () -> binding.run(options));
            assertTrue(e.getMessage().startsWith("RunWithBinding failed: "), e.getMessage());
            binding.clearInputs();
        }
        assertEquals(values, NativeValue.open());
        assertEquals(bindings, IoBinding.open());
    }

    @Test
    void aNameTheGraphDoesNotHaveIsRefusedAtBindTime() {
        try (IoBinding binding = IoBinding.of(decoder, ExecutionProvider.CPU, 0); HostTensors host = binding.hostTensors()) {
            OrtCallException e = assertThrows(OrtCallException.class,
                    () -> binding.bindInput("past_key_values.9.key", host.longs(new long[] {1}, 1)));
            assertTrue(e.getMessage().contains("past_key_values.9.key"), e.getMessage());
        }
    }

    @Test
    void theGpuProvidersBindTheCacheToCudaMemoryAndTheCpuProviderToTheHost() {
        assertEquals("Cuda", IoBinding.memoryName(ExecutionProvider.CUDA));
        assertEquals("Cuda", IoBinding.memoryName(ExecutionProvider.TENSORRT));
        assertEquals("Cpu", IoBinding.memoryName(ExecutionProvider.CPU));
    }

    private static OnnxTensor put(Map<String, OnnxTensor> inputs, String name, OnnxTensor t) {
        inputs.put(name, t);
        return t;
    }

    private static float[] floats(Random random, long n) {
        float[] f = new float[(int) n];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) random.nextGaussian();
        }
        return f;
    }

    private static float[] floats(OrtSession.Result result, String name) {
        FloatBuffer b = ((OnnxTensor) result.get(name).orElseThrow()).getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }
}
