package dev.captionfn.model;

import dev.captionfn.modeldir.ModelFiles;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.SessionSettings;
import java.nio.file.Path;
import org.jboss.logging.Logger;

/**
 * A model directory made ready to serve: verified files, checked sessions, and the processor that
 * turns images and prompts into the model's input and its output into text.
 */
public record LoadedModel(Path dir, ModelManifest manifest, Decoding decoding, VisionLanguageModel model, InstructBlipProcessor processor)
        implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(LoadedModel.class);

    /** Loads a directory whose model.json was already read (the slow part: checksums and sessions). */
    public static LoadedModel load(Path dir, ModelManifest manifest, SessionSettings settings) {
        Decoding decoding = Decoding.of(dir, manifest);
        var checked = ModelFiles.verify(dir, manifest, settings.cacheDir());
        if (settings.cacheDir().isPresent()) {
            LOG.infof("model %s: %d files hashed, %d unchanged since their last check (the cache's record)", manifest.id(),
                    checked.hashed(), checked.unchanged());
        }
        InstructBlipProcessor processor = InstructBlipProcessor.load(dir, manifest);
        try {
            VisionLanguageModel vlm = new VisionLanguageModel(
                    OnnxGraphs.load(dir, manifest, settings, processor.typicalRequest(manifest.prompt())), decoding,
                    processor.qformerPadId());
            return new LoadedModel(dir, manifest, decoding, vlm, processor);
        } catch (RuntimeException e) {
            processor.close();
            throw e;
        }
    }

    @Override
    public void close() {
        model.close();
        processor.close();
    }
}
