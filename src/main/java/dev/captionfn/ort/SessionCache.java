package dev.captionfn.ort;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.captionfn.modeldir.Graph;
import dev.captionfn.modeldir.ModelFiles;
import dev.captionfn.modeldir.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * One model's warm-start caches on the cache volume:
 * {@code <cache dir>/<model id>/<graph>-<provider>-<machine>/}, a slot per session and kind of machine, holding what ONNX Runtime wrote for it (an optimised graph, TensorRT engines
 * and timing cache) and {@value #RECORD}, written last, which says what the slot was built for
 * (its key) and the size, CRC-32C and stamp (times, device, inode) of every file.
 *
 * <p>A slot is used only when its key equals the key of the session being made and every file is
 * whole; anything else (another model's files, another ONNX Runtime, another GPU, a torn or
 * damaged file) is ignored with the reason and rebuilt. A slot is built in a sibling directory and
 * moved into place whole, so that instances starting side by side on a shared volume never see
 * half a cache. A file whose stamp still matches was not rewritten since it was sealed and is not
 * read again (as for the model's own files, {@link ModelFiles}); any other is checked against its
 * CRC-32C, rather than a sha256, because it finds damage at memory speed, and the key, not the
 * checksum, is what ties a slot to its model.
 */
final class SessionCache {
    static final String RECORD = "cache.json";
    static final String FORMAT = "1";
    static final String BUILDING = ".building-";
    /** Longer than any build: a prepare Job's deadline is hours, a TensorRT build minutes. */
    static final Duration ABANDONED_AFTER = Duration.ofHours(24);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;

    SessionCache(Path cacheDir, String modelId) {
        this.root = ModelFiles.cacheDirOf(cacheDir, modelId);
    }

    /**
     * @param machine what ties the cache to this kind of machine (the CPU's features, or TensorRT's
     *     version and the GPU's compute capability), also part of the key: machines of different
     *     kinds sharing one volume each keep a slot of their own instead of rebuilding each other's
     */
    Slot slot(Graph graph, ExecutionProvider provider, Map<String, String> key, String machine) {
        String name = graph.id() + "-" + provider.id() + "-" + Sha256.of(machine).substring(0, 8);
        return new Slot(root.resolve(name), new TreeMap<>(key));
    }

    /** Whether a slot can be used, and if not, why. */
    record Check(boolean valid, String reason) {
        static final Check ABSENT = new Check(false, null);

        static Check ok() {
            return new Check(true, null);
        }

        static Check invalid(String reason) {
            return new Check(false, reason);
        }
    }

    static final class Slot {
        private final Path dir;
        private final Map<String, String> key;

        private Slot(Path dir, Map<String, String> key) {
            this.dir = dir;
            this.key = key;
        }

        Path dir() {
            return dir;
        }

        Map<String, String> key() {
            return key;
        }

        Check check() {
            Path record = dir.resolve(RECORD);
            if (!Files.isDirectory(dir)) {
                return Check.ABSENT;
            }
            if (!Files.isRegularFile(record)) {
                return Check.invalid("it has no " + RECORD + " (not built by captionfn, or never finished)");
            }
            JsonNode json;
            try {
                json = JSON.readTree(record.toFile());
            } catch (IOException e) {
                return Check.invalid(RECORD + " cannot be read: " + e.getMessage());
            }
            if (json == null || !json.path("key").isObject() || !json.path("files").isObject()) {
                return Check.invalid(RECORD + " is not a cache record");
            }
            List<String> differences = new ArrayList<>();
            Map<String, String> recorded = new TreeMap<>();
            json.get("key").fields().forEachRemaining(e -> recorded.put(e.getKey(), e.getValue().asText()));
            for (String field : union(key, recorded)) {
                String was = recorded.get(field);
                String is = key.get(field);
                if (!Objects.equals(was, is)) {
                    differences.add(field + " was " + shorten(was) + ", is " + shorten(is));
                }
            }
            if (!differences.isEmpty()) {
                return Check.invalid("it was built for something else: " + String.join("; ", differences));
            }
            for (var entry : iterable(json.get("files").fields())) {
                Path file = dir.resolve(entry.getKey()).normalize();
                if (!file.startsWith(dir) || !Files.isRegularFile(file)) {
                    return Check.invalid(entry.getKey() + " is missing");
                }
                try {
                    long size = Files.size(file);
                    if (size != entry.getValue().path("size").asLong(-1)) {
                        return Check.invalid(entry.getKey() + " is " + size + " bytes, " + RECORD + " says "
                                + entry.getValue().path("size").asText());
                    }
                    // unchanged since it was sealed (same inode, same ctime): no need to read it all again
                    boolean untouched = ModelFiles.stamp(file).equals(entry.getValue().path("stamp").asText());
                    if (!untouched && !crc32c(file).equals(entry.getValue().path("crc32c").asText())) {
                        return Check.invalid(entry.getKey() + " is damaged (its CRC-32C differs from " + RECORD + "'s)");
                    }
                } catch (IOException e) {
                    return Check.invalid(entry.getKey() + " cannot be read: " + e.getMessage());
                }
            }
            return Check.ok();
        }

        /**
         * A fresh directory beside the slot for ONNX Runtime to write into. Builds of this slot left
         * behind by a process that died (a TensorRT build can leave a model-sized directory) are
         * removed once they are older than any build takes.
         */
        Path startBuilding() throws IOException {
            Files.createDirectories(dir.getParent());
            String prefix = dir.getFileName() + BUILDING;
            Instant abandoned = Instant.now().minus(ABANDONED_AFTER);
            try (Stream<Path> siblings = Files.list(dir.getParent())) {
                for (Path stale : siblings.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
                    if (Files.getLastModifiedTime(stale).toInstant().isBefore(abandoned)) {
                        delete(stale);
                    }
                }
            }
            return Files.createDirectory(dir.resolveSibling(prefix + UUID.randomUUID()));
        }

        /**
         * Records what was built and moves it into place, replacing an invalid slot. When another
         * instance sealed the same slot meanwhile, its cache stays and this one is dropped.
         *
         * @return whether this build is now the slot
         */
        boolean seal(Path building) throws IOException {
            ObjectNode json = JSON.createObjectNode();
            json.put("format", FORMAT);
            ObjectNode k = json.putObject("key");
            key.forEach(k::put);
            ObjectNode files = json.putObject("files");
            try (Stream<Path> walk = Files.walk(building)) {
                for (Path file : walk.filter(Files::isRegularFile).sorted().toList()) {
                    ObjectNode f = files.putObject(building.relativize(file).toString());
                    f.put("size", Files.size(file));
                    f.put("crc32c", crc32c(file));
                    f.put("stamp", ModelFiles.stamp(file));
                }
            }
            JSON.writerWithDefaultPrettyPrinter().writeValue(building.resolve(RECORD).toFile(), json);
            if (Files.exists(dir) && !check().valid()) {
                delete(dir);
            }
            try {
                Files.move(building, dir, StandardCopyOption.ATOMIC_MOVE);
                return true;
            } catch (IOException e) {
                delete(building);
                if (Files.isDirectory(dir)) {
                    return false;
                }
                throw e;
            }
        }

        void discard(Path building) {
            try {
                delete(building);
            } catch (IOException e) {
                // a leftover .building directory is ignored by every later start
            }
        }
    }

    static String crc32c(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
            }
        }
        return Long.toHexString(crc.getValue());
    }

    static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static List<String> union(Map<String, String> a, Map<String, String> b) {
        var all = new TreeSet<String>(a.keySet());
        all.addAll(b.keySet());
        return List.copyOf(all);
    }

    private static String shorten(String value) {
        if (value == null) {
            return "(none)";
        }
        return value.length() > 80 ? value.substring(0, 77) + "..." : value;
    }

    private static <T> Iterable<T> iterable(Iterator<T> it) {
        return () -> it;
    }
}
