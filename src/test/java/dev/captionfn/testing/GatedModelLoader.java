package dev.captionfn.testing;

import dev.captionfn.caption.ModelLoader;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.SessionSettings;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The real model loader, held at a gate until a test opens it: a slow load (a 7B model's
 * checksums, a TensorRT engine build) made deterministic, so that a test can watch the instance
 * before its model is ready. Enabled only by the profiles that select it.
 */
@Alternative
@ApplicationScoped
public class GatedModelLoader extends ModelLoader {
    private static volatile CountDownLatch gate = new CountDownLatch(1);

    /**
     * A test resource that closes the gate before its profile's application starts: list it in the
     * profile's test resources wherever the profile enables this loader.
     */
    public static class ClosedAtStart implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            gate = new CountDownLatch(1);
            return Map.of();
        }

        @Override
        public void stop() {
            open();
        }
    }

    public static void open() {
        gate.countDown();
    }

    @Override
    public LoadedModel load(Path dir, ModelManifest manifest, SessionSettings settings) {
        try {
            // bounded, so that a test that forgets to open it cannot hang the build
            gate.await(2, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return super.load(dir, manifest, settings);
    }
}
