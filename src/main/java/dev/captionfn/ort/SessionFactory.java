package dev.captionfn.ort;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;
import dev.captionfn.modeldir.Graph;
import dev.captionfn.modeldir.ModelFiles;
import dev.captionfn.modeldir.ModelLoadException;
import dev.captionfn.modeldir.ModelManifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Makes a model's sessions on the configured execution providers, with their warm-start caches.
 *
 * <p>Each graph gets the first provider of its own list ({@code captionfn.execution-providers},
 * or {@code captionfn.execution-providers.<graph>}) that loads; the providers after it stay in the
 * session as ONNX Runtime's fallbacks for the operators the first one cannot run. A provider whose
 * library cannot load is reported once per model, with the library it misses, and skipped for the
 * remaining graphs. Only the graphs that list TensorRT get its profile shapes.
 */
public final class SessionFactory {
    private static final Logger LOG = Logger.getLogger(SessionFactory.class);
    static final String OPTIMIZED_GRAPH = "optimized.onnx";
    /** ONNX Runtime writes the optimised graph's weights beside it: a 7B graph is past protobuf's 2 GB. */
    static final String OPTIMIZED_DATA = "optimized.onnx.data";

    private final OrtEnvironment env;
    private final Path modelDir;
    private final ModelManifest manifest;
    private final SessionSettings settings;
    /** TensorRT's profile of each graph that lists it; the other graphs have none. */
    private final Map<Graph, ProfileShapes> profiles;
    private final SessionCache cache;
    private final Map<ExecutionProvider, String> unavailable = new EnumMap<>(ExecutionProvider.class);
    private final List<String> warnings = new ArrayList<>();
    /** Asked once per model, when the first cache key needs them (nvidia-smi takes a moment). */
    private String cpu;
    private String tensorRtVersion;
    private String computeCapability;

    public SessionFactory(OrtEnvironment env, Path modelDir, ModelManifest manifest, SessionSettings settings,
            ProfileShapes.DefaultRequest typical) {
        this.env = env;
        this.modelDir = modelDir;
        this.manifest = manifest;
        this.settings = settings;
        this.profiles = ProfileShapes.forTensorRt(manifest, settings, typical);
        this.cache = settings.cacheDir().map(dir -> new SessionCache(dir, manifest.id())).orElse(null);
    }

    /** What went wrong along the way: unavailable providers, failed sessions, ignored caches. */
    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    /** A graph's session, and how it was made. */
    public record Opened(OrtSession session, GraphSession info) {}

    /** Opens one graph on the first configured provider that loads it; throws {@link ModelLoadException} when none does. */
    public Opened open(Graph graph) {
        ModelManifest.GraphSpec spec = manifest.graphs().get(graph);
        Path file = ModelFiles.resolve(modelDir, spec.file());
        List<ExecutionProvider> providers = settings.providers(graph);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < providers.size(); i++) {
            ExecutionProvider provider = providers.get(i);
            if (!available(provider)) {
                failures.add(unavailable.get(provider));
                continue;
            }
            long start = System.nanoTime();
            try {
                Opened opened = openOn(graph, spec, file, provider, providers.subList(i + 1, providers.size()), start);
                LOG.infof("graph %s runs on %s: session in %d ms (cache %s)", graph, provider, opened.info().millis(),
                        opened.info().cache().id());
                return opened;
            } catch (Unavailable e) {
                failures.add(e.getMessage());
            } catch (OrtException e) {
                String reason = provider + ": " + ProviderFailures.lastLine(e.getMessage());
                if (i + 1 < providers.size()) {
                    warn("graph " + graph + ": " + provider + " could not make a session: "
                            + ProviderFailures.lastLine(e.getMessage()) + "; trying " + providers.get(i + 1));
                }
                failures.add(reason);
            }
        }
        throw new ModelLoadException(file + ": ONNX Runtime cannot load it on " + (providers.size() == 1 ? "the provider " : "any of ")
                + providers + ": " + String.join("; ", failures));
    }

    private Opened openOn(Graph graph, ModelManifest.GraphSpec spec, Path file, ExecutionProvider provider,
            List<ExecutionProvider> fallbacks, long start) throws OrtException {
        return switch (provider) {
            case CPU -> openOnCpu(graph, spec, file, start);
            case CUDA -> {
                try (OrtSession.SessionOptions options = baseOptions()) {
                    addCuda(options);
                    addFallbacks(options, fallbacks);
                    yield opened(env.createSession(file.toString(), options), graph, provider, GraphSession.CacheUse.OFF, start);
                }
            }
            case TENSORRT -> openOnTensorRt(graph, spec, file, fallbacks, start);
        };
    }

    private Opened openOnCpu(Graph graph, ModelManifest.GraphSpec spec, Path file, long start) throws OrtException {
        if (cache == null) {
            try (OrtSession.SessionOptions options = baseOptions()) {
                return opened(env.createSession(file.toString(), options), graph, ExecutionProvider.CPU, GraphSession.CacheUse.OFF, start);
            }
        }
        Map<String, String> key = cpuKey(graph, spec);
        SessionCache.Slot slot = cache.slot(graph, ExecutionProvider.CPU, key, key.get("cpu"));
        SessionCache.Check check = slot.check();
        if (check.valid()) {
            try (OrtSession.SessionOptions options = baseOptions()) {
                // already optimised, for this CPU, by this ONNX Runtime: loading it is all that is left
                options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
                OrtSession session = env.createSession(slot.dir().resolve(OPTIMIZED_GRAPH).toString(), options);
                return opened(session, graph, ExecutionProvider.CPU, GraphSession.CacheUse.HIT, start);
            } catch (OrtException e) {
                warn("cache " + slot.dir() + " ignored and rebuilt: ONNX Runtime cannot load its graph: "
                        + ProviderFailures.lastLine(e.getMessage()));
            }
        } else if (check.reason() != null) {
            warn("cache " + slot.dir() + " ignored and rebuilt: " + check.reason());
        }
        Path building = startBuilding(slot);
        try (OrtSession.SessionOptions options = baseOptions()) {
            if (building == null) {
                return opened(env.createSession(file.toString(), options), graph, ExecutionProvider.CPU, GraphSession.CacheUse.OFF, start);
            }
            options.setOptimizedModelFilePath(building.resolve(OPTIMIZED_GRAPH).toString());
            options.addConfigEntry("session.optimized_model_external_initializers_file_name", OPTIMIZED_DATA);
            // ONNX Runtime warns that a graph optimised at this level is specific to this CPU; the
            // cache key holds the CPU's features for exactly that reason, so the warning says nothing new
            options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            OrtSession session = env.createSession(file.toString(), options);
            GraphSession.CacheUse use = seal(slot, building) ? GraphSession.CacheUse.BUILT : GraphSession.CacheUse.OFF;
            building = null;
            return opened(session, graph, ExecutionProvider.CPU, use, start);
        } finally {
            if (building != null) {
                slot.discard(building);
            }
        }
    }

    private Opened openOnTensorRt(Graph graph, ModelManifest.GraphSpec spec, Path file, List<ExecutionProvider> fallbacks,
            long start) throws OrtException {
        SessionCache.Slot slot = null;
        if (cache != null) {
            Map<String, String> key = tensorRtKey(graph, spec);
            slot = cache.slot(graph, ExecutionProvider.TENSORRT, key, key.get("tensorrt") + "/" + key.get("compute_capability"));
        }
        if (slot != null) {
            SessionCache.Check check = slot.check();
            if (check.valid()) {
                try {
                    return openOnTensorRt(graph, file, fallbacks, slot.dir(), GraphSession.CacheUse.HIT, start);
                } catch (OrtException e) {
                    // TensorRT refuses an engine it cannot deserialize; this provider is fine, its cache is not
                    warn("cache " + slot.dir() + " ignored and rebuilt: ONNX Runtime cannot load its engines: "
                            + ProviderFailures.lastLine(e.getMessage()));
                }
            } else if (check.reason() != null) {
                warn("cache " + slot.dir() + " ignored and rebuilt: " + check.reason());
            }
        }
        Path building = slot == null ? null : startBuilding(slot);
        if (building == null) {
            return openOnTensorRt(graph, file, fallbacks, null, GraphSession.CacheUse.OFF, start);
        }
        try {
            Opened opened = openOnTensorRt(graph, file, fallbacks, building, GraphSession.CacheUse.BUILT, start);
            boolean cached = seal(slot, building);
            building = null;
            return cached ? opened : new Opened(opened.session(),
                    new GraphSession(graph, ExecutionProvider.TENSORRT, GraphSession.CacheUse.OFF, opened.info().millis()));
        } finally {
            if (building != null) {
                slot.discard(building);
            }
        }
    }

    /** A TensorRT session whose engines and timing cache are read from and written to {@code engines} (null: in memory only). */
    private Opened openOnTensorRt(Graph graph, Path file, List<ExecutionProvider> fallbacks, Path engines,
            GraphSession.CacheUse use, long start) throws OrtException {
        try (OrtSession.SessionOptions options = baseOptions()) {
            addTensorRt(options, tensorRtOptionsOf(graph, engines));
            addFallbacks(options, fallbacks);
            return opened(env.createSession(file.toString(), options), graph, ExecutionProvider.TENSORRT, use, start);
        }
    }

    private OrtSession.SessionOptions baseOptions() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (settings.intraOpThreads() > 0) {
                options.setIntraOpNumThreads(settings.intraOpThreads());
            }
            if (settings.interOpThreads() > 0) {
                options.setInterOpNumThreads(settings.interOpThreads());
            }
            return options;
        } catch (OrtException e) {
            options.close();
            throw e;
        }
    }

    /**
     * The providers after the chosen one, for the operators it cannot run: CUDA behind TensorRT.
     * CPU needs no adding (it is always ONNX Runtime's last resort), and TensorRT behind CUDA would
     * get nothing, CUDA taking every operator first.
     */
    private void addFallbacks(OrtSession.SessionOptions options, List<ExecutionProvider> fallbacks) {
        if (fallbacks.contains(ExecutionProvider.CUDA) && available(ExecutionProvider.CUDA)) {
            try {
                addCuda(options);
            } catch (Unavailable e) {
                // already reported; the session goes on without it
            }
        }
    }

    private void addCuda(OrtSession.SessionOptions options) {
        try (OrtCUDAProviderOptions cuda = cudaOptions(settings.cuda())) {
            options.addCUDA(cuda);
        } catch (OrtException e) {
            throw unavailable(ExecutionProvider.CUDA, e);
        }
    }

    /** ONNX Runtime's CUDA options object holding the configured options. */
    static OrtCUDAProviderOptions cudaOptions(SessionSettings.Cuda settings) throws OrtException {
        OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(settings.deviceId());
        try {
            for (var option : ProviderOptions.cuda(settings).entrySet()) {
                cuda.add(option.getKey(), option.getValue());
            }
            return cuda;
        } catch (OrtException | RuntimeException e) {
            cuda.close();
            throw e;
        }
    }

    private void addTensorRt(OrtSession.SessionOptions options, Map<String, String> trtOptions) {
        try {
            // ONNX Runtime Java issue 26493: the TensorRT provider reaches into the CUDA provider's
            // library, which the Java loader only unpacks for CUDA's own options. Creating those
            // first unpacks it (with onnxruntime.native.path set, both are already in place).
            new OrtCUDAProviderOptions(settings.cuda().deviceId()).close();
            try (OrtTensorRTProviderOptions trt = tensorRtOptions(settings.cuda().deviceId(), trtOptions)) {
                options.addTensorrt(trt);
            }
        } catch (OrtException e) {
            throw unavailable(ExecutionProvider.TENSORRT, e);
        }
    }

    /** ONNX Runtime's TensorRT options object holding exactly these options. */
    static OrtTensorRTProviderOptions tensorRtOptions(int deviceId, Map<String, String> trtOptions) throws OrtException {
        OrtTensorRTProviderOptions trt = new OrtTensorRTProviderOptions(deviceId);
        try {
            for (var option : trtOptions.entrySet()) {
                if (option.getValue() != null) {
                    trt.add(option.getKey(), option.getValue());
                }
            }
            return trt;
        } catch (OrtException | RuntimeException e) {
            trt.close();
            throw e;
        }
    }

    /** Whether the provider may load; one not in this build is reported without asking ONNX Runtime. */
    private boolean available(ExecutionProvider provider) {
        if (provider == ExecutionProvider.CPU) {
            return true;
        }
        if (!unavailable.containsKey(provider) && !provider.inThisBuild()) {
            markUnavailable(provider, ProviderFailures.unavailable(provider, null));
        }
        return !unavailable.containsKey(provider);
    }

    private Unavailable unavailable(ExecutionProvider provider, OrtException e) {
        String reason = ProviderFailures.unavailable(provider, e.getMessage());
        markUnavailable(provider, reason);
        return new Unavailable(reason);
    }

    private void markUnavailable(ExecutionProvider provider, String reason) {
        if (unavailable.putIfAbsent(provider, reason) == null) {
            warn("execution provider " + reason + "; " + fallingBack(provider));
        }
    }

    /** Where the graphs that list this provider go instead: the next of their list, named per graph when the lists differ. */
    private String fallingBack(ExecutionProvider provider) {
        var lists = settings.providers();
        if (lists.values().stream().distinct().count() == 1) {
            return "the graphs fall back to the next of " + SessionSettings.ids(lists.get(Graph.VISION));
        }
        return "the graphs that list it fall back to the next of their own: " + lists.entrySet().stream()
                .filter(e -> e.getValue().contains(provider))
                .map(e -> e.getKey() + " " + SessionSettings.ids(e.getValue()))
                .collect(Collectors.joining("; "));
    }

    private Path startBuilding(SessionCache.Slot slot) {
        try {
            return slot.startBuilding();
        } catch (IOException e) {
            warn("cache " + slot.dir() + " cannot be written (" + e + "); this session is built without one");
            return null;
        }
    }

    /** Puts a built cache in place; false when it could not be written (the session itself is fine). */
    private boolean seal(SessionCache.Slot slot, Path building) {
        try {
            if (!slot.seal(building)) {
                LOG.infof("cache %s was written by another instance meanwhile; keeping that one", slot.dir());
            }
            return true;
        } catch (IOException e) {
            slot.discard(building);
            warn("cache " + slot.dir() + " cannot be written (" + e + "); the next start builds it again");
            return false;
        }
    }

    private Opened opened(OrtSession session, Graph graph, ExecutionProvider provider, GraphSession.CacheUse use, long start) {
        return new Opened(session, new GraphSession(graph, provider, use, (System.nanoTime() - start) / 1_000_000));
    }

    private void warn(String message) {
        warnings.add(message);
        LOG.warn(message);
    }

    /** The profiles this factory made: one for each graph that lists TensorRT. */
    Map<Graph, ProfileShapes> profiles() {
        return profiles;
    }

    /**
     * What TensorRT gets for this graph: the configured options and the graph's profile, with its
     * engines read from and written to {@code engines} (null: in memory only).
     */
    Map<String, String> tensorRtOptionsOf(Graph graph, Path engines) {
        ProfileShapes profile = profiles.get(graph);
        if (profile == null) {
            throw new IllegalStateException("graph " + graph + " does not list tensorrt: " + SessionSettings.ids(settings.providers(graph)));
        }
        return ProviderOptions.tensorrt(settings.cuda(), settings.tensorrt(), profile, engines, ModelFiles.pathSegment(manifest.id()));
    }

    /** What an optimised CPU graph depends on. */
    Map<String, String> cpuKey(Graph graph, ModelManifest.GraphSpec spec) {
        Map<String, String> key = commonKey(graph, spec);
        if (cpu == null) {
            cpu = Hardware.cpu();
        }
        key.put("cpu", cpu);
        key.put("optimization", "all");
        return key;
    }

    /** What a TensorRT engine depends on: besides the graph, the library, the GPU and every build option. */
    Map<String, String> tensorRtKey(Graph graph, ModelManifest.GraphSpec spec) {
        Map<String, String> key = commonKey(graph, spec);
        if (tensorRtVersion == null) {
            tensorRtVersion = Hardware.tensorRtVersion();
            computeCapability = Hardware.computeCapability(settings.cuda().deviceId());
        }
        key.put("tensorrt", tensorRtVersion);
        key.put("compute_capability", computeCapability);
        tensorRtOptionsOf(graph, null).forEach((option, value) -> key.put("option." + option, value));
        key.remove("option.device_id");
        return key;
    }

    private Map<String, String> commonKey(Graph graph, ModelManifest.GraphSpec spec) {
        Map<String, String> key = new LinkedHashMap<>();
        key.put("format", SessionCache.FORMAT);
        key.put("model", manifest.id());
        key.put("graph", graph.id());
        key.put("graph_sha256", spec.file().sha256());
        key.put("data_sha256", spec.data().stream().map(ModelManifest.FileRef::sha256).collect(Collectors.joining(",")));
        key.put("onnxruntime", env.getVersion());
        return key;
    }

    /** A provider that cannot be added to a session; its reason was already reported. */
    private static final class Unavailable extends RuntimeException {
        Unavailable(String reason) {
            super(reason, null, false, false);
        }
    }
}
