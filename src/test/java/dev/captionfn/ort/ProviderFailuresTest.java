package dev.captionfn.ort;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime's errors about a provider that cannot load become one sentence naming the library
 * that is missing. The messages are the ones onnxruntime_gpu 1.23.2 gave on this machine, which has
 * no CUDA: its TensorRT and CUDA provider libraries fail to load their own dependencies.
 */
class ProviderFailuresTest {
    @Test
    void aMissingCudaLibraryIsNamedWithWhatToInstall() {
        String ort = "Error code - ORT_FAIL - message: /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1844 "
                + "onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load "
                + "library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: "
                + "No such file or directory";
        assertEquals("cuda cannot load: libonnxruntime_providers_cuda.so needs libcublasLt.so.12, which is not on the library "
                + "path (the CUDA provider needs CUDA 12 and cuDNN 9: deploy/docker/Dockerfile.gpu)",
                ProviderFailures.explain(ExecutionProvider.CUDA, ort));
    }

    @Test
    void aMissingTensorRtDependencyIsNamed() {
        String ort = "Error code - ORT_FAIL - message: /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1844 "
                + "onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load "
                + "library libonnxruntime_providers_tensorrt.so with error: libnvinfer.so.10: cannot open shared object file: "
                + "No such file or directory";
        assertEquals("tensorrt cannot load: libonnxruntime_providers_tensorrt.so needs libnvinfer.so.10, which is not on the "
                + "library path (the TensorRT provider needs TensorRT 10, CUDA 12 and cuDNN 9: deploy/docker/Dockerfile.gpu)",
                ProviderFailures.explain(ExecutionProvider.TENSORRT, ort));
    }

    @Test
    void aLibraryThatLoadsButFailsIsQuotedWithoutOnnxRuntimesSourceLocation() {
        String ort = "[ONNXRuntimeError] : 1 : FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: "
                + "/usr/lib/libcudnn.so.9: undefined symbol: cudnnGetVersion";
        assertEquals("cuda cannot load: libonnxruntime_providers_cuda.so: /usr/lib/libcudnn.so.9: undefined symbol: cudnnGetVersion",
                ProviderFailures.explain(ExecutionProvider.CUDA, ort));
    }

    @Test
    void anyOtherErrorKeepsOnlyItsReason() {
        String ort = "/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:129 [ONNXRuntimeError] : 1 : FAIL : "
                + "CUDA failure 100: no CUDA-capable device is detected";
        assertEquals("cuda cannot be used: CUDA failure 100: no CUDA-capable device is detected",
                ProviderFailures.explain(ExecutionProvider.CUDA, ort));
    }
}
