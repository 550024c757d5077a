package dev.captionfn.ort;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.caption.Settings;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.testing.TestConfig;
import dev.captionfn.testing.TinyReference;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The options captionfn hands to ONNX Runtime's CUDA and TensorRT providers are the ones
 * configured under captionfn.*: read through the real configuration mapping (its defaults and
 * converters), turned into session settings, then into the providers' option strings.
 */
class ProviderOptionsFromConfigurationTest {
    private static final ModelManifest TINY = ManifestReader.read(TinyReference.MODEL_DIR);
    private static final ProfileShapes.DefaultRequest TYPICAL = new ProfileShapes.DefaultRequest(11, 10);

    private static SessionSettings settings(Map<String, String> properties) {
        return Settings.sessions(TestConfig.of(properties));
    }

    @Test
    void byDefaultTheCpuRunsEveryGraphWithoutCaches() {
        SessionSettings s = settings(Map.of());
        assertEquals(SessionSettings.everyGraph(List.of(ExecutionProvider.CPU)), s.providers());
        assertEquals(Optional.empty(), s.cacheDir());
        assertEquals(Map.of("device_id", "0", "cudnn_conv_algo_search", "EXHAUSTIVE"), ProviderOptions.cuda(s.cuda()));
        // fp16 off by default: float32 arithmetic as the reference's
        Map<String, String> trt = ProviderOptions.tensorrt(s.cuda(), s.tensorrt(), profile(s), null, null);
        assertEquals("0", trt.get("trt_fp16_enable"));
        assertEquals("3", trt.get("trt_builder_optimization_level"));
        assertTrue(!trt.containsKey("trt_max_workspace_size") && !trt.containsKey("trt_engine_cache_enable"), trt.toString());
    }

    @Test
    void theConfiguredTensorRtOptionsAreTheOnesOnnxRuntimeGets() {
        SessionSettings s = settings(Map.of(
                "captionfn.execution-providers", "tensorrt,cuda,cpu",
                "captionfn.cache.dir", "/cache/models",
                "captionfn.cuda.device-id", "1",
                "captionfn.tensorrt.fp16", "true",
                "captionfn.tensorrt.max-workspace-size", "4G",
                "captionfn.tensorrt.builder-optimization-level", "5",
                "captionfn.batch.max-rows", "10",
                "captionfn.limits.max-prompt-chars", "100",
                "captionfn.limits.max-new-tokens", "30"));
        assertEquals(SessionSettings.everyGraph(List.of(ExecutionProvider.TENSORRT, ExecutionProvider.CUDA, ExecutionProvider.CPU)),
                s.providers());
        assertEquals(Optional.of(Path.of("/cache/models")), s.cacheDir());
        ProfileShapes vision = ProfileShapes.vision(TINY, s.shapes(), TYPICAL);
        Path slot = Path.of("/cache/models/captionfn-tiny-instructblip/vision-tensorrt");

        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("device_id", "1");
        expected.put("trt_fp16_enable", "1");
        // on with fp16 unless turned off: LayerNorm overflows in half precision
        expected.put("trt_layer_norm_fp32_fallback", "1");
        expected.put("trt_max_workspace_size", Long.toString(4L << 30));
        expected.put("trt_builder_optimization_level", "5");
        expected.put("trt_profile_min_shapes", "pixel_values:1x3x64x64,qformer_input_ids:1x1,qformer_attention_mask:1x1");
        expected.put("trt_profile_opt_shapes", "pixel_values:1x3x64x64,qformer_input_ids:1x11,qformer_attention_mask:1x11");
        expected.put("trt_profile_max_shapes", "pixel_values:10x3x64x64,qformer_input_ids:10x128,qformer_attention_mask:10x128");
        expected.put("trt_engine_cache_enable", "1");
        expected.put("trt_engine_cache_path", slot.toString());
        expected.put("trt_engine_cache_prefix", "captionfn-tiny-instructblip");
        expected.put("trt_timing_cache_enable", "1");
        expected.put("trt_timing_cache_path", slot.toString());
        assertEquals(expected, ProviderOptions.tensorrt(s.cuda(), s.tensorrt(), vision, slot, "captionfn-tiny-instructblip"));
    }

    @Test
    void layerNormCanBeLetToHalfPrecisionOnPurpose() {
        SessionSettings s = settings(Map.of("captionfn.tensorrt.fp16", "true",
                "captionfn.tensorrt.layer-norm-fp32-fallback", "false"));
        assertEquals("0", ProviderOptions.tensorrt(s.cuda(), s.tensorrt(), profile(s), null, null).get("trt_layer_norm_fp32_fallback"));
    }

    @Test
    void theConfiguredCudaOptionsAreTheOnesOnnxRuntimeGets() {
        SessionSettings s = settings(Map.of(
                "captionfn.execution-providers", "cuda,cpu",
                "captionfn.cuda.device-id", "2",
                "captionfn.cuda.memory-limit", "20G",
                "captionfn.cuda.cudnn-conv-algo-search", "heuristic"));
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("device_id", "2");
        expected.put("gpu_mem_limit", Long.toString(20L << 30));
        expected.put("cudnn_conv_algo_search", "HEURISTIC");
        assertEquals(expected, ProviderOptions.cuda(s.cuda()));
    }

    /**
     * The decoder's profile runs from one row with an empty past (a prefill) to the largest batch
     * with the longest prompt and caption the limits allow: 3 tokens per prompt char (a token
     * covers at least one UTF-8 byte) plus BOS, then the new tokens.
     */
    @Test
    void theDecoderProfileSpansEveryRequestTheLimitsAdmit() {
        SessionSettings s = settings(Map.of("captionfn.batch.max-rows", "10", "captionfn.limits.max-prompt-chars", "100",
                "captionfn.limits.max-new-tokens", "30"));
        assertEquals(new SessionSettings.ShapeLimits(10, 301, 30), s.shapes());
        ProfileShapes decoder = ProfileShapes.decoder(TINY, s.shapes(), TYPICAL);
        assertTrue(decoder.min().startsWith("inputs_embeds:1x1x64,attention_mask:1x1,position_ids:1x1,"
                + "past_key_values.0.key:1x2x0x16,"), decoder.min());
        // 8 queries + 301 prompt tokens at prefill, 30 new tokens more in all
        assertTrue(decoder.max().startsWith("inputs_embeds:10x309x64,attention_mask:10x339,position_ids:10x309,"
                + "past_key_values.0.key:10x2x338x16,"), decoder.max());
        // the typical step: 5 beams, one token, a past of queries + prompt + half the model's 30 new tokens
        assertTrue(decoder.opt().startsWith("inputs_embeds:5x1x64,attention_mask:5x34,position_ids:5x1,"
                + "past_key_values.0.key:5x2x33x16,"), decoder.opt());
        assertEquals(4, decoder.max().split("past_key_values").length - 1, "2 layers, key and value: " + decoder.max());
    }

    @Test
    void aContract2DecodersProfileCoversBeamIdxFromOneRowToTheLargestBatch() {
        SessionSettings s = settings(Map.of("captionfn.batch.max-rows", "10"));
        ModelManifest v2 = ManifestReader.read(Path.of("models", "tiny", "model-v2"));
        ProfileShapes decoder = ProfileShapes.decoder(v2, s.shapes(), TYPICAL);
        assertTrue(decoder.min().contains(",beam_idx:1,"), decoder.min());
        assertTrue(decoder.opt().contains(",beam_idx:5,"), decoder.opt());
        assertTrue(decoder.max().contains(",beam_idx:10,"), decoder.max());
        assertTrue(!ProfileShapes.decoder(TINY, s.shapes(), TYPICAL).max().contains("beam_idx"), "contract 1 has none");
    }

    @Test
    void anUnknownProviderStopsStartupNamingIt() {
        var e = assertThrows(RuntimeException.class, () -> settings(Map.of("captionfn.execution-providers", "tpu,cpu")));
        assertTrue(String.valueOf(e.getMessage()).contains("tpu"), e.getMessage());
    }

    @Test
    void aProviderNamedTwiceStopsStartup() {
        var e = assertThrows(IllegalArgumentException.class, () -> settings(Map.of("captionfn.execution-providers", "cuda,cpu,cuda")));
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
    }

    private static ProfileShapes profile(SessionSettings s) {
        return ProfileShapes.embed(TINY, s.shapes(), TYPICAL);
    }
}
