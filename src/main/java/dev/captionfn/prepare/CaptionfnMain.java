package dev.captionfn.prepare;

import dev.captionfn.caption.ServedModel;
import dev.captionfn.ort.ExecutionProvider;
import dev.captionfn.ort.GraphSession;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;
import jakarta.inject.Inject;
import java.util.concurrent.CompletionException;
import org.jboss.logging.Logger;

/**
 * The application's entry point. With no arguments it serves (HTTP, and Kafka when enabled) until
 * it is stopped. With the one argument {@code prepare} it fills the warm-start caches for the
 * configured model and exits: the sessions are made on the configured providers (TensorRT builds
 * its engines, the CPU optimises its graphs), each is written to {@code captionfn.cache.dir}, and
 * one warm-up caption proves them before the exit code 0 (1 when the model cannot load or a
 * cache cannot be written). CUDA sessions have nothing to cache. Run it as an init container or a
 * Kubernetes Job against the cache volume, so that serving instances only load.
 */
@QuarkusMain
public class CaptionfnMain implements QuarkusApplication {
    private static final Logger LOG = Logger.getLogger(CaptionfnMain.class);
    public static final String PREPARE = "prepare";

    @Inject
    ServedModel served;

    public static void main(String... args) {
        if (args.length == 1 && PREPARE.equals(args[0])) {
            // a preparing process serves nothing: no port to bind next to a running instance, no
            // Kafka consumer to join the group with, no requests to drain when it exits
            System.setProperty("quarkus.http.host-enabled", "false");
            System.setProperty("captionfn.kafka.enabled", "false");
            System.setProperty("quarkus.shutdown.delay-enabled", "false");
        }
        Quarkus.run(CaptionfnMain.class, args);
    }

    @Override
    public int run(String... args) throws Exception {
        if (args.length == 0) {
            Quarkus.waitForExit();
            return 0;
        }
        if (args.length == 1 && PREPARE.equals(args[0])) {
            return prepare();
        }
        LOG.errorf("unknown arguments %s: start with none to serve, or with '%s' to fill the caches and exit",
                String.join(" ", args), PREPARE);
        return 2;
    }

    private int prepare() {
        if (served.settings().cacheDir().isEmpty()) {
            LOG.error("prepare has nothing to fill: set captionfn.cache.dir (env CAPTIONFN_CACHE_DIR) to the cache volume");
            return 1;
        }
        try {
            served.whenReady().toCompletableFuture().join();
        } catch (CompletionException e) {
            // ServedModel has logged why and asked Quarkus to exit with 1
            LOG.errorf("prepare failed: %s", e.getCause() == null ? e : e.getCause().getMessage());
            return 1;
        }
        var uncached = served.sessions().stream()
                .filter(s -> s.cache() == GraphSession.CacheUse.OFF && s.provider() != ExecutionProvider.CUDA)
                .map(s -> s.graph().id()).toList();
        if (!uncached.isEmpty()) {
            LOG.errorf("prepare could not write the cache of %s (the warnings above say why): serving instances would build them",
                    String.join(", ", uncached));
            return 1;
        }
        LOG.infof("prepared model %s in %s: %s", served.manifest().id(), served.settings().cacheDir().get(),
                GraphSession.summary(served.sessions()));
        return 0;
    }
}
