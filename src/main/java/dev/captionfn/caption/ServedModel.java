package dev.captionfn.caption;

import dev.captionfn.config.CaptionfnConfig;
import dev.captionfn.model.EmbeddedModel;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.model.SessionSettings;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import org.jboss.logging.Logger;

/**
 * The model this instance serves, loaded while the application starts, so that a missing or broken
 * model directory stops startup with its message and the first request finds the sessions ready.
 */
@Startup
@ApplicationScoped
public class ServedModel {
    private static final Logger LOG = Logger.getLogger(ServedModel.class);

    private final LoadedModel model;

    public ServedModel(CaptionfnConfig config) {
        long start = System.nanoTime();
        var m = config.model();
        Path dir = m.dir().orElseGet(() -> m.extractDir().map(EmbeddedModel::extractTo).orElseGet(EmbeddedModel::extractToTemp));
        LOG.infof("loading model from %s%s", dir, m.dir().isPresent() ? "" : " (the embedded default model)");
        this.model = LoadedModel.load(dir, new SessionSettings(m.intraOpThreads(), m.interOpThreads()));
        LOG.infof("model %s (%s) ready in %d ms", model.manifest().id(), model.manifest().family().id(),
                (System.nanoTime() - start) / 1_000_000);
    }

    public LoadedModel get() {
        return model;
    }

    @PreDestroy
    void close() {
        model.close();
    }
}
