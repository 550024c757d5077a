package dev.captionfn.ort;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The option strings captionfn hands to ONNX Runtime's CUDA and TensorRT providers, built from
 * configuration alone so that what reaches ONNX Runtime can be read and tested on a machine
 * without a GPU. Keys are ONNX Runtime's ({@code OrtCUDAProviderOptionsV2},
 * {@code OrtTensorRTProviderOptionsV2}); an option left at ONNX Runtime's default is not set.
 */
final class ProviderOptions {
    private ProviderOptions() {}

    static Map<String, String> cuda(SessionSettings.Cuda cuda) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("device_id", Integer.toString(cuda.deviceId()));
        if (cuda.memoryLimitBytes() > 0) {
            o.put("gpu_mem_limit", Long.toString(cuda.memoryLimitBytes()));
        }
        o.put("cudnn_conv_algo_search", cuda.convAlgoSearch().name());
        return o;
    }

    /**
     * @param cache where the engine and timing caches are read and written; null builds the
     *     engines in memory at every start
     * @param prefix the engine files' prefix, the model's: one cache directory never mixes models
     */
    static Map<String, String> tensorrt(SessionSettings.Cuda cuda, SessionSettings.TensorRt trt, ProfileShapes profile,
            Path cache, String prefix) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("device_id", Integer.toString(cuda.deviceId()));
        o.put("trt_fp16_enable", flag(trt.fp16()));
        if (trt.fp16()) {
            o.put("trt_layer_norm_fp32_fallback", flag(trt.layerNormFp32Fallback()));
        }
        if (trt.maxWorkspaceBytes() > 0) {
            o.put("trt_max_workspace_size", Long.toString(trt.maxWorkspaceBytes()));
        }
        o.put("trt_builder_optimization_level", Integer.toString(trt.builderOptimizationLevel()));
        o.put("trt_profile_min_shapes", profile.min());
        o.put("trt_profile_opt_shapes", profile.opt());
        o.put("trt_profile_max_shapes", profile.max());
        if (cache != null) {
            o.put("trt_engine_cache_enable", "1");
            o.put("trt_engine_cache_path", cache.toString());
            o.put("trt_engine_cache_prefix", prefix);
            o.put("trt_timing_cache_enable", "1");
            o.put("trt_timing_cache_path", cache.toString());
        }
        return o;
    }

    private static String flag(boolean on) {
        return on ? "1" : "0";
    }
}
