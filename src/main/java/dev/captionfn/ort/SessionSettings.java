package dev.captionfn.ort;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;

/**
 * How the sessions of a model are made: the execution providers in order of preference, their
 * options, the cache volume and the shapes the server will ask for (TensorRT's profiles).
 *
 * @param providers tried in this order for each graph; the first that loads runs it
 * @param intraOpThreads CPU threads inside one operator; 0 lets ONNX Runtime choose (one per core)
 * @param interOpThreads CPU threads across independent operators; 0 lets ONNX Runtime choose
 * @param cacheDir where warm-start caches live, one directory per model; empty means none
 * @param ioBinding run a contract 2 decoder through ONNX Runtime's I/O binding ({@link IoBinding}),
 *     its cache kept in the provider's memory; false runs it through the Java API
 */
public record SessionSettings(
        List<ExecutionProvider> providers,
        int intraOpThreads,
        int interOpThreads,
        Cuda cuda,
        TensorRt tensorrt,
        Optional<Path> cacheDir,
        ShapeLimits shapes,
        boolean ioBinding) {

    public SessionSettings {
        providers = List.copyOf(providers);
        if (providers.isEmpty()) {
            throw new IllegalArgumentException("execution-providers names none; the default is cpu");
        }
        if (EnumSet.copyOf(providers).size() != providers.size()) {
            throw new IllegalArgumentException("execution-providers names a provider twice: " + providers);
        }
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts cannot be negative");
        }
    }

    /**
     * The CUDA provider's options (TensorRT runs on the same device).
     *
     * @param memoryLimitBytes the provider's arena limit; 0 means no limit
     */
    public record Cuda(int deviceId, long memoryLimitBytes, CudnnConvAlgoSearch convAlgoSearch) {
        public Cuda {
            if (deviceId < 0) {
                throw new IllegalArgumentException("cuda device-id cannot be negative, not " + deviceId);
            }
            if (memoryLimitBytes < 0) {
                throw new IllegalArgumentException("cuda memory-limit cannot be negative");
            }
        }
    }

    /**
     * The TensorRT provider's options.
     *
     * @param fp16 let TensorRT run layers in half precision
     * @param layerNormFp32Fallback keep LayerNorm in float32 when fp16 is on: in half precision its
     *     variance overflows on large activations and the captions go wrong
     * @param maxWorkspaceBytes the builder's scratch memory; 0 leaves ONNX Runtime's default
     * @param builderOptimizationLevel 0–5: higher builds slower and may run faster (TensorRT's default is 3)
     */
    public record TensorRt(boolean fp16, boolean layerNormFp32Fallback, long maxWorkspaceBytes, int builderOptimizationLevel) {
        public TensorRt {
            if (maxWorkspaceBytes < 0) {
                throw new IllegalArgumentException("tensorrt max-workspace-size cannot be negative");
            }
            if (builderOptimizationLevel < 0 || builderOptimizationLevel > 5) {
                throw new IllegalArgumentException("tensorrt builder-optimization-level is 0 to 5, not " + builderOptimizationLevel);
            }
        }
    }

    /**
     * The largest requests the server accepts, which bound the shapes the graphs see.
     *
     * @param maxRows decoder rows in one batch (captionfn.batch.max-rows); also the most images in one vision run
     * @param maxPromptTokens LLM prompt tokens, BOS included
     * @param maxNewTokens generated tokens (captionfn.limits.max-new-tokens)
     */
    public record ShapeLimits(int maxRows, int maxPromptTokens, int maxNewTokens) {
        public ShapeLimits {
            if (maxRows < 1 || maxPromptTokens < 1 || maxNewTokens < 1) {
                throw new IllegalArgumentException("shape limits must be positive: " + maxRows + ", " + maxPromptTokens + ", " + maxNewTokens);
            }
        }
    }
}
