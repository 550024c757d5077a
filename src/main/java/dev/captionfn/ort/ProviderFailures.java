package dev.captionfn.ort;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns ONNX Runtime's errors about a provider that cannot be used into one sentence an operator
 * can act on. The provider libraries (libonnxruntime_providers_cuda.so and _tensorrt.so) are
 * loaded with dlopen when a session first asks for them; what fails is usually a library they
 * link (libcublasLt, libcudnn, libnvinfer), and dlopen's message names it.
 */
final class ProviderFailures {
    /** dlopen's "libX.so.N: cannot open shared object file", as ONNX Runtime quotes it. */
    private static final Pattern MISSING_LIBRARY = Pattern.compile(
            "Failed to load library (\\S+?) with error: (\\S+?): cannot open shared object file");
    private static final Pattern ANY_LIBRARY_ERROR = Pattern.compile("Failed to load library (\\S+?) with error: ([^\\n]+)");

    private static final Pattern ORT_STATUS = Pattern.compile("\\[ONNXRuntimeError\\] : \\d+ : \\w+ : (.*)", Pattern.DOTALL);
    private static final Pattern JAVA_PREFIX = Pattern.compile("^Error code - \\w+ - message: (.*)", Pattern.DOTALL);

    private ProviderFailures() {}

    /** Why a provider cannot be added to a session at all (the library is absent or cannot load). */
    static String unavailable(ExecutionProvider provider, String ortMessage) {
        if (!provider.inThisBuild()) {
            return provider + " is not in this build of ONNX Runtime (the onnxruntime jar has the CPU provider only; "
                    + "build with -Pgpu for onnxruntime_gpu)";
        }
        return explain(provider, ortMessage);
    }

    /** ONNX Runtime's message about a provider of this build that cannot load, as one sentence. */
    static String explain(ExecutionProvider provider, String ortMessage) {
        String message = ortMessage == null ? "" : ortMessage;
        Matcher missing = MISSING_LIBRARY.matcher(message);
        if (missing.find()) {
            return provider + " cannot load: " + missing.group(1) + " needs " + missing.group(2)
                    + ", which is not on the library path (" + needs(provider) + ")";
        }
        Matcher other = ANY_LIBRARY_ERROR.matcher(message);
        if (other.find()) {
            return provider + " cannot load: " + other.group(1) + ": " + other.group(2).strip();
        }
        return provider + " cannot be used: " + lastLine(message);
    }

    private static String needs(ExecutionProvider provider) {
        return switch (provider) {
            case TENSORRT -> "the TensorRT provider needs TensorRT 10, CUDA 12 and cuDNN 9: deploy/docker/Dockerfile.gpu";
            case CUDA -> "the CUDA provider needs CUDA 12 and cuDNN 9: deploy/docker/Dockerfile.gpu";
            case CPU -> "the CPU provider needs nothing else";
        };
    }

    /**
     * The reason alone: ONNX Runtime puts a source location and a status code before it
     * ("… [ONNXRuntimeError] : 1 : FAIL : reason"), and the Java binding its own error code
     * ("Error code - ORT_FAIL - message: …").
     */
    static String lastLine(String message) {
        String m = message == null ? "" : message.strip();
        Matcher status = ORT_STATUS.matcher(m);
        if (status.find()) {
            return status.group(1).strip();
        }
        Matcher java = JAVA_PREFIX.matcher(m);
        return java.find() ? java.group(1).strip() : m;
    }
}
