package dev.captionfn.caption;

import dev.captionfn.batch.MicroBatcher;
import dev.captionfn.config.CaptionfnConfig;
import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.RgbImage;
import dev.captionfn.model.Decoding;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.modeldir.EmbeddedModel;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.GraphSession;
import dev.captionfn.ort.SessionSettings;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.jboss.logging.Logger;

/**
 * The model this instance serves. model.json is read while the application starts (a broken one
 * stops startup with its message); the checksums, the sessions and one warm-up caption then run
 * on a thread of their own, so that the health endpoints answer during a load that can take
 * minutes, readiness turns UP only once a caption has really run, and requests that arrive early
 * wait for the model instead of failing. A model that cannot load ends the process with its
 * message, so that the platform reports it and restarts the instance.
 */
@Startup
@ApplicationScoped
public class ServedModel {
    private static final Logger LOG = Logger.getLogger(ServedModel.class);

    public enum Phase { LOADING, WARMING_UP, READY, FAILED }

    private final Path dir;
    private final ModelManifest manifest;
    private final Decoding decoding;
    private final SessionSettings settings;
    private final RequestLimits limits;
    private final MicroBatcher.Settings batching;
    private final Admission admission;
    private final ModelLoader loader;
    private final CaptionMetrics metrics;
    private final CompletableFuture<ReadyModel> ready = new CompletableFuture<>();
    private final Thread loading;
    private volatile Phase phase = Phase.LOADING;
    private volatile String failure;
    private volatile long loadMillis = -1;
    private volatile long warmUpMillis = -1;
    private volatile List<GraphSession> sessions = List.of();
    private volatile List<String> warnings = List.of();

    public ServedModel(CaptionfnConfig config, SessionSettings settings, MicroBatcher.Settings batching, RequestLimits limits,
            ModelLoader loader, Admission admission, CaptionMetrics metrics) {
        var m = config.model();
        this.dir = m.dir().orElseGet(() -> m.extractDir().map(EmbeddedModel::extractTo).orElseGet(EmbeddedModel::extractToTemp));
        LOG.infof("serving the model in %s%s", dir, m.dir().isPresent() ? "" : " (the embedded default model)");
        this.manifest = ManifestReader.read(dir);
        this.decoding = Decoding.of(dir, manifest);
        this.settings = settings;
        this.limits = limits;
        this.batching = batching;
        this.admission = admission;
        this.loader = loader;
        this.metrics = metrics;
        this.loading = new Thread(this::loadAndWarmUp, "captionfn-model-load");
        loading.setDaemon(true);
    }

    @PostConstruct
    void start() {
        loading.start();
    }

    private void loadAndWarmUp() {
        long start = System.nanoTime();
        LoadedModel model;
        try {
            model = loader.load(dir, manifest, settings);
        } catch (RuntimeException e) {
            failed("the model in " + dir + " cannot be loaded: " + e.getMessage(), e);
            return;
        }
        loadMillis = (System.nanoTime() - start) / 1_000_000;
        sessions = model.model().sessions();
        warnings = model.model().warnings();
        metrics.sessionsMade(sessions);
        phase = Phase.WARMING_UP;
        LOG.infof("model %s (%s, %s decoding) loaded in %d ms (%s); warming up", manifest.id(), manifest.family().id(),
                decoding.convention().id(), loadMillis, GraphSession.summary(sessions));
        long warm = System.nanoTime();
        ReadyModel handle = new ReadyModel(model, new MicroBatcher(model.model(), batching, admission::onTheirWay));
        try {
            var input = handle.prepare(warmUpImage(manifest), manifest.prompt(), warmUpOptions());
            LOG.debugf("warm-up caption: %s", handle.text(handle.submit(input).join().tokens()));
        } catch (RuntimeException e) {
            handle.close();
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            failed("the model in " + dir + " loaded but cannot caption: " + cause.getMessage(), cause);
            return;
        }
        warmUpMillis = (System.nanoTime() - warm) / 1_000_000;
        phase = Phase.READY;
        ready.complete(handle);
        LOG.infof("model %s ready: loaded in %d ms, warm-up caption in %d ms", manifest.id(), loadMillis, warmUpMillis);
    }

    /** The generation a default request gets, so that the warm-up takes the same paths (beams and all). */
    private GenerationOptions warmUpOptions() {
        return PreparedRequest.resolveOptions(CaptionOptions.none(), decoding.defaults(), limits);
    }

    /** A smooth gradient at the model's input size: any image exercises every graph. */
    static RgbImage warmUpImage(ModelManifest manifest) {
        int w = manifest.image().width();
        int h = manifest.image().height();
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                rgb[i] = (byte) (255 * x / Math.max(1, w - 1));
                rgb[i + 1] = (byte) (255 * y / Math.max(1, h - 1));
                rgb[i + 2] = (byte) 128;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private void failed(String message, Throwable cause) {
        failure = message;
        phase = Phase.FAILED;
        ready.completeExceptionally(new CaptionException(ErrorCode.MODEL_FAILURE, message, cause));
        LOG.error(message, cause);
        Quarkus.asyncExit(1);
    }

    /** model.json, known from startup on. */
    public ModelManifest manifest() {
        return manifest;
    }

    /** model.json's generation defaults and decoding convention, known from startup on. */
    public Decoding decoding() {
        return decoding;
    }

    /** Completes once the sessions exist and the warm-up caption ran; fails if they cannot. */
    public CompletionStage<?> whenReady() {
        return ready;
    }

    /** The handle requests caption with, once {@link #whenReady()}. */
    CompletionStage<ReadyModel> ready() {
        return ready;
    }

    public Phase phase() {
        return phase;
    }

    /** Why the model failed to load, or null. */
    public String failure() {
        return failure;
    }

    public Path dir() {
        return dir;
    }

    public long loadMillis() {
        return loadMillis;
    }

    public long warmUpMillis() {
        return warmUpMillis;
    }

    /** Which provider runs each graph and what its cache did; empty until the sessions exist. */
    public List<GraphSession> sessions() {
        return sessions;
    }

    /** Fallbacks and ignored caches met while the sessions were made. */
    public List<String> warnings() {
        return warnings;
    }

    /** The session settings configuration asked for. */
    public SessionSettings settings() {
        return settings;
    }

    @PreDestroy
    void close() {
        try {
            // sessions must not close under a load or warm-up still running
            loading.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ready.thenAccept(ReadyModel::close);
    }
}
