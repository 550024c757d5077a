package dev.captionfn.config;

import dev.captionfn.ort.SessionSettings;
import io.quarkus.runtime.configuration.MemorySize;
import java.util.Optional;

/** The session settings that configuration asks for. */
public final class Sessions {
    private Sessions() {}

    public static SessionSettings settings(CaptionfnConfig config) {
        var m = config.model();
        var cuda = config.cuda();
        var trt = config.tensorrt();
        var limits = config.limits();
        return new SessionSettings(
                config.executionProviders(),
                m.intraOpThreads(),
                m.interOpThreads(),
                new SessionSettings.Cuda(cuda.deviceId(), bytes(cuda.memoryLimit()), cuda.cudnnConvAlgoSearch()),
                new SessionSettings.TensorRt(trt.fp16(), trt.layerNormFp32Fallback(), bytes(trt.maxWorkspaceSize()),
                        trt.builderOptimizationLevel()),
                config.cache().dir(),
                new SessionSettings.ShapeLimits(config.batch().maxRows(), maxPromptTokens(limits.maxPromptChars()), limits.maxNewTokens()));
    }

    /**
     * The most tokens a prompt of this many chars can become, BOS included: every BPE or
     * SentencePiece token covers at least one UTF-8 byte, and a Java char is at most 3 bytes.
     * TensorRT refuses shapes past its profile, so the bound must hold for any prompt, not a typical one.
     */
    static int maxPromptTokens(int maxPromptChars) {
        return 3 * maxPromptChars + 1;
    }

    private static long bytes(Optional<MemorySize> size) {
        return size.map(MemorySize::asLongValue).orElse(0L);
    }
}
