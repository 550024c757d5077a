package dev.captionfn.ort;

import ai.onnxruntime.OrtProvider;

/**
 * The ONNX Runtime execution providers captionfn can put a graph on, in the spelling of
 * {@code captionfn.execution-providers}.
 */
public enum ExecutionProvider {
    /** NVIDIA TensorRT: engines built for the GPU and cached on the cache volume. */
    TENSORRT("tensorrt", OrtProvider.TENSOR_RT),
    /** CUDA kernels on the GPU; no build step, so nothing to cache. */
    CUDA("cuda", OrtProvider.CUDA),
    /** ONNX Runtime's own kernels; the graph it optimised is cached on the cache volume. */
    CPU("cpu", OrtProvider.CPU);

    private final String id;
    private final OrtProvider ort;

    ExecutionProvider(String id, OrtProvider ort) {
        this.id = id;
        this.ort = ort;
    }

    public String id() {
        return id;
    }

    /** Whether this build of ONNX Runtime carries the provider at all (onnxruntime has CPU only, onnxruntime_gpu all three). */
    boolean inThisBuild() {
        return OrtProviders.available().contains(ort);
    }

    @Override
    public String toString() {
        return id;
    }
}
