package dev.captionfn.modeldir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The default model that ships inside the application (models/tiny/model), so that a first run
 * works offline with nothing mounted. ONNX Runtime and the tokenizers read files, so it is unpacked
 * to a directory first; model.json names every other file, which is how the files are found.
 */
public final class EmbeddedModel {
    /** Classpath folder of the embedded model (the pom copies models/tiny/model there). */
    public static final String RESOURCE_DIR = "captionfn/default-model/";

    private EmbeddedModel() {}

    /** Unpacks into a directory that stays (a cache volume, say). */
    public static Path extractTo(Path target) {
        return extract(target, false);
    }

    private static Path extract(Path target, boolean temporary) {
        try {
            Files.createDirectories(target);
            copy(ManifestReader.FILE_NAME, target, temporary);
            ModelManifest manifest = ManifestReader.read(target);
            for (ModelManifest.FileRef ref : manifest.files()) {
                copy(ref.file(), target, temporary);
            }
            return target;
        } catch (IOException e) {
            throw new ModelLoadException("cannot unpack the embedded model to " + target + ": " + e.getMessage(), e);
        }
    }

    public static Path extractToTemp() {
        try {
            Path dir = Files.createTempDirectory("captionfn-model-");
            dir.toFile().deleteOnExit();
            return extract(dir, true);
        } catch (IOException e) {
            throw new ModelLoadException("cannot create a directory for the embedded model: " + e.getMessage(), e);
        }
    }

    private static void copy(String name, Path target, boolean temporary) throws IOException {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        try (InputStream in = loader.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) {
                throw new ModelLoadException("the embedded model lacks " + name + " (classpath " + RESOURCE_DIR + name + ")");
            }
            Path file = target.resolve(name).normalize();
            if (!Files.isDirectory(file.getParent())) {
                Files.createDirectories(file.getParent());
                if (temporary) {
                    // deleteOnExit runs last-registered first: the folder goes after its files
                    file.getParent().toFile().deleteOnExit();
                }
            }
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            if (temporary) {
                file.toFile().deleteOnExit();
            }
        }
    }
}
