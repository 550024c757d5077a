package dev.captionfn.deploy;

import static dev.captionfn.testing.DockerContext.ignored;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The images of deploy/docker are built with the project root as context: each Dockerfile's own
 * .dockerignore must let through every file it copies and keep the rest of the project out (the
 * exporter's virtual environment alone is over a gigabyte).
 */
class DockerBuildContextTest {
    private static final Path DIR = Path.of("deploy", "docker");

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile.jvm", "Dockerfile.gpu"})
    void theBuildContextHoldsWhatTheDockerfileCopiesAndNothingElse(String name) throws IOException {
        Path ignoreFile = DIR.resolve(name + ".dockerignore");
        assertTrue(Files.exists(ignoreFile), ignoreFile + " is missing: the whole project would be the build context");
        List<String> patterns = Files.readAllLines(ignoreFile).stream().map(String::trim)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        List<String> copied = copiedFromContext(DIR.resolve(name));
        assertFalse(copied.isEmpty(), name + " copies nothing from the build context");
        for (String source : copied) {
            // a directory stands for a file inside it, a glob for a file it matches
            String sample = (source.endsWith("/") ? source + "any.jar" : source).replace("*", "any");
            assertFalse(ignored(patterns, sample), ignoreFile + " keeps " + sample + " out, which " + name + " copies");
        }
        for (String other : List.of(".venv-export/bin/python", "target/peer-bench/model.onnx", "src/test/resources/x.png",
                "models/tiny/model/decoder.onnx")) {
            assertTrue(ignored(patterns, other), ignoreFile + " lets " + other + " into the build context");
        }
    }

    /** The sources of the COPY instructions that read the build context (not another stage). */
    private static List<String> copiedFromContext(Path dockerfile) throws IOException {
        List<String> sources = new ArrayList<>();
        for (String line : Files.readAllLines(dockerfile)) {
            String l = line.trim();
            if (!l.startsWith("COPY ") || l.contains("--from=")) {
                continue;
            }
            List<String> words = new ArrayList<>(List.of(l.substring(5).trim().split("\\s+")));
            words.removeIf(w -> w.startsWith("--"));
            sources.addAll(words.subList(0, words.size() - 1));
        }
        return sources;
    }
}
