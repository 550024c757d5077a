package dev.captionfn.ort;

import dev.captionfn.modeldir.Graph;
import java.nio.file.Path;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * How the sessions of a model are made: each graph's execution providers in order of preference,
 * their options, the cache volume and the shapes the server will ask for (TensorRT's profiles).
 *
 * @param providers every graph's providers, tried in this order; the first that loads runs it
 * @param intraOpThreads CPU threads inside one operator; 0 lets ONNX Runtime choose (one per core)
 * @param interOpThreads CPU threads across independent operators; 0 lets ONNX Runtime choose
 * @param cacheDir where warm-start caches live, one directory per model; empty means none
 * @param ioBinding run a contract 2 decoder through ONNX Runtime's I/O binding ({@link IoBinding}),
 *     its cache kept in the provider's memory; false runs it through the Java API
 */
public record SessionSettings(
        Map<Graph, List<ExecutionProvider>> providers,
        int intraOpThreads,
        int interOpThreads,
        Cuda cuda,
        TensorRt tensorrt,
        Optional<Path> cacheDir,
        ShapeLimits shapes,
        boolean ioBinding) {

    public SessionSettings {
        Map<Graph, List<ExecutionProvider>> copy = new EnumMap<>(Graph.class);
        for (Graph graph : Graph.values()) {
            List<ExecutionProvider> list = providers.get(graph);
            if (list == null || list.isEmpty()) {
                throw new IllegalArgumentException("the execution providers of graph " + graph + " name none; the default is cpu");
            }
            if (EnumSet.copyOf(list).size() != list.size()) {
                throw new IllegalArgumentException("the execution providers of graph " + graph + " name a provider twice: " + ids(list));
            }
            copy.put(graph, List.copyOf(list));
        }
        providers = Collections.unmodifiableMap(copy);
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts cannot be negative");
        }
    }

    /** The same list for every graph, as {@code captionfn.execution-providers} alone sets it. */
    public static Map<Graph, List<ExecutionProvider>> everyGraph(List<ExecutionProvider> providers) {
        Map<Graph, List<ExecutionProvider>> all = new EnumMap<>(Graph.class);
        for (Graph graph : Graph.values()) {
            all.put(graph, providers);
        }
        return all;
    }

    /** This graph's providers in order of preference. */
    public List<ExecutionProvider> providers(Graph graph) {
        return providers.get(graph);
    }

    /** A list in the configuration's spelling: tensorrt,cuda,cpu. */
    static String ids(List<ExecutionProvider> providers) {
        return providers.stream().map(ExecutionProvider::id).collect(Collectors.joining(","));
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
