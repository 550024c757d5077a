package dev.captionfn.caption;

import dev.captionfn.batch.MicroBatcher;
import dev.captionfn.config.CaptionfnConfig;
import dev.captionfn.fetch.Cidr;
import dev.captionfn.fetch.FetchLimits;
import dev.captionfn.modeldir.Graph;
import dev.captionfn.ort.ExecutionProvider;
import dev.captionfn.ort.SessionSettings;
import io.quarkus.runtime.configuration.MemorySize;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The one boundary between configuration and code: {@link CaptionfnConfig} becomes the records each
 * stage takes (session settings, batch settings, fetch limits, request limits), so that no stage
 * below reads configuration and each can be built and tested without Quarkus. Tests build their
 * defaults through the same methods, from the mapping's own {@code @WithDefault} values.
 */
@Singleton
public class Settings {

    /** How the model's sessions are made: each graph's providers, threads, CUDA and TensorRT options, cache, shape bounds. */
    public static SessionSettings sessions(CaptionfnConfig config) {
        var m = config.model();
        var cuda = config.cuda();
        var trt = config.tensorrt();
        var limits = config.limits();
        return new SessionSettings(
                providers(config.executionProviders()),
                m.intraOpThreads(),
                m.interOpThreads(),
                new SessionSettings.Cuda(cuda.deviceId(), bytes(cuda.memoryLimit()), cuda.cudnnConvAlgoSearch()),
                new SessionSettings.TensorRt(trt.fp16(), trt.layerNormFp32Fallback(), bytes(trt.maxWorkspaceSize()),
                        trt.builderOptimizationLevel()),
                config.cache().dir(),
                new SessionSettings.ShapeLimits(config.batch().maxRows(), maxPromptTokens(limits.maxPromptChars()), limits.maxNewTokens()),
                m.ioBinding());
    }

    /** Each graph's own list where it has one, else the list of every graph. */
    private static Map<Graph, List<ExecutionProvider>> providers(CaptionfnConfig.ExecutionProviders providers) {
        Map<Graph, List<ExecutionProvider>> byGraph = SessionSettings.everyGraph(providers.all());
        byGraph.putAll(providers.graphs());
        return byGraph;
    }

    /** How requests that arrive together are batched. */
    public static MicroBatcher.Settings batch(CaptionfnConfig config) {
        return new MicroBatcher.Settings(config.batch().maxRows(), config.batch().maxWait());
    }

    /** The fetcher's limits; a network that is no CIDR fails here, naming it. */
    public static FetchLimits fetch(CaptionfnConfig config) {
        var f = config.fetch();
        return new FetchLimits(f.connectTimeout(), f.timeout(), f.maxBytes(), f.maxRedirects(), f.userAgent(),
                f.allowPrivateAddresses(), f.allowedNetworks().orElse(List.of()).stream().map(Cidr::parse).toList());
    }

    /** What one request may ask for and cost. */
    public static RequestLimits requests(CaptionfnConfig config) {
        var l = config.limits();
        return new RequestLimits(l.maxBeams(), l.maxNewTokens(), l.maxPromptChars(), l.maxPixels(), l.maxInFlight(), l.deadline());
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

    @Produces
    @Singleton
    SessionSettings sessionSettings(CaptionfnConfig config) {
        return sessions(config);
    }

    @Produces
    @Singleton
    MicroBatcher.Settings batchSettings(CaptionfnConfig config) {
        return batch(config);
    }

    @Produces
    @Singleton
    FetchLimits fetchLimits(CaptionfnConfig config) {
        return fetch(config);
    }

    @Produces
    @Singleton
    RequestLimits requestLimits(CaptionfnConfig config) {
        return requests(config);
    }
}
