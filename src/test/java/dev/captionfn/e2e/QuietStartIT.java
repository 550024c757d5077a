package dev.captionfn.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.AppProcess;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TinyReference;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged application as a new user first starts it: the default configuration logs no WARN
 * or ERROR line from its start through its first caption (Kafka off is said at INFO; DJL's GPU
 * probe, which finds the CUDA runtime without a driver on machines like this one, is not a fault of
 * a CPU tokenizer). Real warnings stay warnings: a GPU provider that cannot load and a cache that
 * cannot be used are still logged at WARN.
 */
class QuietStartIT {
    private final ImageServer server = ImageServer.get();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private AppProcess app;
    private Path notADirectory;

    @AfterEach
    void stop() throws IOException {
        if (app != null) {
            app.close();
        }
        if (notADirectory != null) {
            Files.deleteIfExists(notADirectory);
        }
    }

    /** The log's warnings and errors, the JVM's own included (Java 25's native-access warning). */
    private static List<String> loud(List<String> log) {
        return log.stream().filter(line -> line.contains(" WARN ") || line.contains(" ERROR ") || line.startsWith("WARNING:"))
                .toList();
    }

    @Test
    void theDefaultConfigurationStartsAndCaptionsWithoutAWarning() throws Exception {
        // the one setting that is not the default lets the function fetch from the loopback test server
        app = AppProcess.start("captionfn.fetch.allow-private-addresses=true");
        app.awaitStatus("/q/health/ready", 200, Duration.ofSeconds(90));

        HttpResponse<String> caption = http.send(HttpRequest.newBuilder(URI.create(app.baseUrl() + "/caption"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"imageUrl\": \"" + server.image("tiny-reference/scene-07.png") + "\"}"))
                .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, caption.statusCode(), caption.body());
        assertTrue(caption.body().contains("\"caption\""), caption.body());

        List<String> log = app.logLines();
        assertEquals(List.of(), loud(log), "no WARN or ERROR line up to the first caption:\n" + String.join("\n", log));
        assertTrue(log.stream().anyMatch(line -> line.contains(" INFO ")
                        && line.contains("the Kafka processor is off (captionfn.kafka.enabled=false)")),
                "what is off, and why, is said at INFO:\n" + String.join("\n", log));
    }

    /**
     * A contract 2 model decodes through ONNX Runtime's C API (FFM), which Java 25 warns about
     * unless the packaged application's manifest grants native access: it does, so no warning.
     */
    @Test
    void aContract2ModelDecodesBoundWithoutAWarning() throws Exception {
        app = AppProcess.start("captionfn.fetch.allow-private-addresses=true",
                "captionfn.model.dir=" + TinyReference.MODEL_DIR_V2.toAbsolutePath());
        app.awaitStatus("/q/health/ready", 200, Duration.ofSeconds(90));
        HttpResponse<String> caption = http.send(HttpRequest.newBuilder(URI.create(app.baseUrl() + "/caption"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"imageUrl\": \"" + server.image("tiny-reference/scene-07.png") + "\"}"))
                .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, caption.statusCode(), caption.body());
        TinyReference.Case expected = TinyReference.cases().stream()
                .filter(c -> c.resource().endsWith("scene-07.png")).findFirst().orElseThrow();
        assertTrue(caption.body().contains("\"caption\":\"" + expected.beamText() + "\""), caption.body() + " vs " + expected.beamText());
        assertEquals(List.of(), loud(app.logLines()), "no warning from a bound decoder:\n" + app.log());
    }

    @Test
    void aGpuProviderThatCannotLoadAndACacheThatCannotBeUsedStillWarn() throws Exception {
        notADirectory = Files.createTempFile("captionfn-cache", ".not-a-directory");
        app = AppProcess.start("captionfn.execution-providers=cuda,cpu", "captionfn.cache.dir=" + notADirectory);
        app.awaitStatus("/q/health/ready", 200, Duration.ofSeconds(90));

        List<String> loud = loud(app.logLines());
        assertTrue(loud.stream().anyMatch(line -> line.contains(" WARN ") && line.contains("execution provider cuda")),
                "the GPU provider that cannot load warns:\n" + app.log());
        assertTrue(loud.stream().anyMatch(line -> line.contains(" WARN ") && line.contains(notADirectory.toString())
                        && line.contains("cannot be written")),
                "the cache that cannot be used warns:\n" + app.log());
    }
}
