package dev.captionfn.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Checks that every file model.json names is present and has the sha256 model.json gives for it. */
public final class ModelFiles {
    private ModelFiles() {}

    public static void verify(Path modelDir, ModelManifest manifest) {
        for (ModelManifest.FileRef ref : manifest.files()) {
            Path file = resolve(modelDir, ref);
            if (!Files.isRegularFile(file)) {
                throw new ModelLoadException(file + ": missing (named by " + ManifestReader.FILE_NAME + ")");
            }
            String actual = sha256(file);
            if (!actual.equals(ref.sha256())) {
                throw new ModelLoadException(file + ": sha256 mismatch: " + ManifestReader.FILE_NAME + " says "
                        + ref.sha256() + ", the file has " + actual);
            }
        }
    }

    public static Path resolve(Path modelDir, ModelManifest.FileRef ref) {
        return modelDir.resolve(ref.file()).normalize();
    }

    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                digest.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new ModelLoadException(file + ": cannot be read: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
