package dev.captionfn.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.AppProcess;
import dev.captionfn.testing.ImageServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged application as a platform runs it, as its own process: sent SIGTERM (what
 * Kubernetes does when it scales a pod down) while a caption is in flight, readiness turns DOWN
 * at once, the caption in flight still gets its answer, and the process then exits; given a
 * model that cannot load, it exits with status 1 and the reason in its log.
 */
class GracefulShutdownIT {
    private final ImageServer server = ImageServer.get();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private AppProcess app;
    private Path brokenModel;

    @AfterEach
    void stop() throws IOException {
        if (app != null) {
            app.close();
        }
        if (brokenModel != null) {
            try (var files = Files.walk(brokenModel)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    @Test
    void sigtermDrainsTheCaptionInFlightAndReadinessTurnsDown() throws Exception {
        app = AppProcess.start(
                "quarkus.shutdown.delay=2s",
                "quarkus.shutdown.timeout=30s",
                "captionfn.fetch.allow-private-addresses=true",
                "captionfn.model.intra-op-threads=1",
                "captionfn.model.inter-op-threads=1");
        String base = app.baseUrl();
        app.awaitStatus("/q/health/ready", 200, Duration.ofSeconds(60));

        // the image takes 4 s to arrive, so the caption is in flight when the signal comes
        String body = "{\"imageUrl\":\"" + server.slowImage(4000, "tiny-reference/scene-00.png") + "\",\"id\":\"in-flight\"}";
        CompletableFuture<HttpResponse<String>> inFlight = http.sendAsync(
                HttpRequest.newBuilder(URI.create(base + "/caption")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString());
        awaitMetric("captionfn_requests_in_flight 1.0", base);

        app.terminate();
        app.awaitStatus("/q/health/ready", 503, Duration.ofSeconds(5));

        HttpResponse<String> response = inFlight.get(60, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.body().contains("\"caption\""), response.body());
        assertTrue(response.body().contains("\"id\":\"in-flight\""), response.body());

        assertTrue(app.waitForExit(60) >= 0, "the process exits once drained");
        assertTrue(app.logLines().stream().noneMatch(line -> line.contains(" ERROR ")), "a clean shutdown logs no error:\n" + app.log());
    }

    @Test
    void aModelThatCannotLoadEndsTheProcessWithItsReason() throws Exception {
        Path model = brokenModel = Files.createTempDirectory("captionfn-broken-model");
        Path tiny = Path.of("models/tiny/model");
        try (var files = Files.walk(tiny)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Path copy = model.resolve(tiny.relativize(f).toString());
                Files.createDirectories(copy.getParent());
                Files.copy(f, copy);
            }
        }
        // one byte more than model.json's sha256 allows: found only after startup, by the load thread
        Files.write(model.resolve("decoder.onnx"), new byte[] {0}, StandardOpenOption.APPEND);
        app = AppProcess.start("captionfn.model.dir=" + model);
        assertEquals(1, app.waitForExit(60), "a failed model load is a failed start");
        assertTrue(app.logLines().stream().anyMatch(line -> line.contains("ERROR") && line.contains("decoder.onnx")),
                "the log names the broken file:\n" + app.log());
    }

    private void awaitMetric(String metricLine, String base) throws Exception {
        for (int i = 0; i < 200; i++) {
            String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            if (metrics.contains(metricLine)) {
                return;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("never saw " + metricLine);
    }
}
