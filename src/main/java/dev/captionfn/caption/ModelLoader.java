package dev.captionfn.caption;

import dev.captionfn.model.LoadedModel;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.SessionSettings;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;

/** Loads the served model's sessions; a bean so that a test can hold the load to watch readiness. */
@ApplicationScoped
public class ModelLoader {
    public LoadedModel load(Path dir, ModelManifest manifest, SessionSettings settings) {
        return LoadedModel.load(dir, manifest, settings);
    }
}
