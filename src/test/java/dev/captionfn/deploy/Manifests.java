package dev.captionfn.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Every document of every *.yaml / *.yml file under a deploy/ directory, read as data, and what
 * failed to parse; plus the readers both manifest tests use (fields, pod specs, containers,
 * environment, and the Dockerfile's ENV and USER).
 */
record Manifests(List<Path> files, List<Manifest> all, List<String> unreadable) {
    static Manifests load(Path dir) {
        List<Path> files = new ArrayList<>();
        List<Manifest> all = new ArrayList<>();
        List<String> unreadable = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return new Manifests(files, all, unreadable);
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().matches(".*\\.ya?ml")).sorted()
                    .forEach(files::add);
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir, e);
        }
        YAMLMapper yaml = new YAMLMapper();
        for (Path file : files) {
            try (MappingIterator<JsonNode> docs = yaml.readerFor(JsonNode.class).readValues(file.toFile())) {
                int index = 0;
                int kept = 0;
                for (JsonNode node : docs.readAll()) {
                    index++;
                    if (node == null || node.isNull() || node.isMissingNode()) {
                        continue; // an empty document (a stray ---), which kubectl skips too
                    }
                    all.add(new Manifest(file, index, node));
                    kept++;
                }
                if (kept == 0) {
                    unreadable.add(file + ": holds no YAML document");
                }
            } catch (IOException | RuntimeException e) {
                unreadable.add(file + ": " + e.getMessage());
            }
        }
        return new Manifests(files, all, unreadable);
    }

    /** What keeps the file set from being applied: unreadable files, documents without apiVersion, kind or name. */
    List<String> problems() {
        List<String> problems = new ArrayList<>(unreadable);
        for (Manifest m : all) {
            for (String missing : Stream.of("apiVersion", "kind").filter(f -> isBlank(text(m.node(), f))).toList()) {
                problems.add(m + ": no " + missing);
            }
            if (isBlank(m.name())) {
                problems.add(m + ": no metadata.name");
            }
        }
        return problems;
    }

    List<Manifest> ofType(String type) {
        return all.stream().filter(m -> m.type().equals(type)).toList();
    }

    /** The workloads of this kind whose container runs captionfn's image (not, say, an event sink). */
    List<Manifest> runningCaptionfn(String type) {
        return ofType(type).stream().filter(m -> containers(m).stream().anyMatch(c -> isCaptionfnImage(text(c, "image")))).toList();
    }

    static String text(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isValueNode() ? value.asText() : null;
    }
    static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
    static JsonNode podSpec(Manifest deployment) {
        return deployment.node().path("spec").path("template").path("spec");
    }
    static List<JsonNode> containers(Manifest deployment) {
        List<JsonNode> list = new ArrayList<>();
        podSpec(deployment).path("containers").forEach(list::add);
        return list;
    }
    static Map<String, String> env(JsonNode container) {
        Map<String, String> env = new LinkedHashMap<>();
        container.path("env").forEach(e -> env.put(text(e, "name"), text(e, "value")));
        return env;
    }
    static boolean isCaptionfnImage(String image) {
        if (image == null) {
            return false;
        }
        String repository = image.substring(image.lastIndexOf('/') + 1);
        return repository.equals("captionfn") || repository.startsWith("captionfn:") || repository.startsWith("captionfn@");
    }
    /** MicroProfile Config's environment variable for a property: non-alphanumerics to _, upper case. */
    static String envName(String property) {
        return property.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    /** The ENV values and the last USER of a Dockerfile (single-line instructions). */
    record Dockerfile(Map<String, String> env, String user) {
        static Dockerfile read(Path file) throws IOException {
            Map<String, String> env = new LinkedHashMap<>();
            String user = null;
            Pattern assignment = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|\\S+)");
            for (String line : Files.readAllLines(file)) {
                String l = line.trim();
                if (l.startsWith("ENV ")) {
                    Matcher m = assignment.matcher(l.substring(4));
                    while (m.find()) {
                        String value = m.group(2);
                        if (value.length() >= 2 && (value.startsWith("\"") || value.startsWith("'"))) {
                            value = value.substring(1, value.length() - 1);
                        }
                        env.put(m.group(1), value);
                    }
                } else if (l.startsWith("USER ")) {
                    user = l.substring(5).trim();
                }
            }
            return new Dockerfile(env, user);
        }
    }
}
