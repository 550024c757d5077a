package dev.captionfn.modeldir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * Checks that every file model.json names is present and has the sha256 model.json gives for it.
 *
 * <p>Hashing a 7B export reads 16 to 33 GB at every start. With a cache directory, the files
 * already verified are recorded there with their size, times and inode; a file whose record still
 * matches is not read again, and any change to it (a rewrite changes its ctime, which no one can
 * set back) makes it hashed anew.
 */
public final class ModelFiles {
    private static final Logger LOG = Logger.getLogger(ModelFiles.class);
    public static final String VERIFIED = "verified-files.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFiles() {}

    /** How many files were hashed, and how many were known unchanged from the cache's record. */
    public record Verification(int hashed, int unchanged) {}

    public static Verification verify(Path modelDir, ModelManifest manifest, Optional<Path> cacheDir) {
        Path record = cacheDir.map(dir -> cacheDirOf(dir, manifest.id()).resolve(VERIFIED)).orElse(null);
        JsonNode known = record == null ? null : readRecord(record);
        ObjectNode verified = JSON.createObjectNode();
        int hashed = 0;
        int unchanged = 0;
        for (ModelManifest.FileRef ref : manifest.files()) {
            Path file = resolve(modelDir, ref);
            if (!Files.isRegularFile(file)) {
                throw new ModelLoadException(file + ": missing (named by " + ManifestReader.FILE_NAME + ")");
            }
            String key = file.toAbsolutePath().toString();
            String stamp = stamp(file);
            JsonNode entry = known == null ? null : known.path(key);
            if (entry != null && stamp.equals(entry.path("stamp").asText()) && ref.sha256().equals(entry.path("sha256").asText())) {
                unchanged++;
            } else {
                String actual = Sha256.of(file);
                if (!actual.equals(ref.sha256())) {
                    throw new ModelLoadException(file + ": sha256 mismatch: " + ManifestReader.FILE_NAME + " says "
                            + ref.sha256() + ", the file has " + actual);
                }
                hashed++;
            }
            verified.putObject(key).put("stamp", stamp).put("sha256", ref.sha256());
        }
        if (record != null && hashed > 0) {
            writeRecord(record, verified);
        }
        return new Verification(hashed, unchanged);
    }

    /**
     * One model's folder on the cache volume, which holds its verification record and its
     * sessions' warm-start caches. Ids are free text in model.json: this one is a single path segment.
     */
    public static Path cacheDirOf(Path cacheDir, String modelId) {
        return cacheDir.resolve(pathSegment(modelId));
    }

    /** A model id as one path segment (also the prefix of TensorRT's engine files): ids are free text in model.json. */
    public static String pathSegment(String modelId) {
        String s = modelId.replaceAll("[^A-Za-z0-9._-]", "_");
        return s.isEmpty() || s.startsWith(".") ? "_" + s : s;
    }

    /** Size, modification and change times, device and inode: what any rewrite of the file changes. */
    public static String stamp(Path file) {
        try {
            Map<String, Object> unix = Files.readAttributes(file, "unix:size,lastModifiedTime,ctime,dev,ino");
            return unix.get("size") + "|" + unix.get("lastModifiedTime") + "|" + unix.get("ctime") + "|" + unix.get("dev")
                    + "|" + unix.get("ino");
        } catch (UnsupportedOperationException | IllegalArgumentException notUnix) {
            try {
                BasicFileAttributes basic = Files.readAttributes(file, BasicFileAttributes.class);
                return basic.size() + "|" + basic.lastModifiedTime() + "|" + basic.fileKey();
            } catch (IOException e) {
                throw new ModelLoadException(file + ": cannot be read: " + e.getMessage(), e);
            }
        } catch (IOException e) {
            throw new ModelLoadException(file + ": cannot be read: " + e.getMessage(), e);
        }
    }

    private static JsonNode readRecord(Path record) {
        if (!Files.isRegularFile(record)) {
            return null;
        }
        try {
            JsonNode json = JSON.readTree(record.toFile());
            return json != null && json.isObject() ? json : null;
        } catch (IOException e) {
            LOG.warnf("%s cannot be read (%s); every file is hashed", record, e.getMessage());
            return null;
        }
    }

    /** Written whole or not at all; a record that cannot be written only costs the next start its hashing. */
    private static void writeRecord(Path record, ObjectNode verified) {
        Path tmp = record.resolveSibling(VERIFIED + "." + UUID.randomUUID());
        try {
            Files.createDirectories(record.getParent());
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), verified);
            Files.move(tmp, record, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warnf("%s cannot be written (%s); the next start hashes the model's files again", record, e.getMessage());
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // nothing was written, or it cannot be removed either
            }
        }
    }

    public static Path resolve(Path modelDir, ModelManifest.FileRef ref) {
        return modelDir.resolve(ref.file()).normalize();
    }
}
