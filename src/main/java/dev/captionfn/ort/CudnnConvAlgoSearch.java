package dev.captionfn.ort;

/** How the CUDA provider picks cuDNN's convolution algorithms (ONNX Runtime's {@code cudnn_conv_algo_search}). */
public enum CudnnConvAlgoSearch {
    /** Times every algorithm on the first run of each shape: slowest first run, fastest after (ONNX Runtime's default). */
    EXHAUSTIVE,
    /** cuDNN's heuristics, no timing: a quicker first caption. */
    HEURISTIC,
    /** cuDNN's default algorithm. */
    DEFAULT
}
