package dev.captionfn.function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.ImageServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged application as a platform runs it, as its own process: sent SIGTERM (what
 * Kubernetes does when it scales a pod down) while a caption is in flight, readiness turns DOWN
 * at once, the caption in flight still gets its answer, and the process then exits; given a
 * model that cannot load, it exits with status 1 and the reason in its log.
 */
class GracefulShutdownIT {
    private static final Pattern LISTENING = Pattern.compile("Listening on: http://[^\\s]+:(\\d+)");
    private static final Path APP = Path.of("target/quarkus-app/quarkus-run.jar");

    private final ImageServer server = ImageServer.get();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<String> log = new CopyOnWriteArrayList<>();
    private Process app;
    private Thread logReader;
    private Path brokenModel;

    @AfterEach
    void stop() throws IOException {
        if (app != null && app.isAlive()) {
            app.destroyForcibly();
        }
        if (brokenModel != null) {
            try (var files = Files.walk(brokenModel)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    @Test
    void sigtermDrainsTheCaptionInFlightAndReadinessTurnsDown() throws Exception {
        assertTrue(Files.exists(APP), "package the application first: " + APP);
        String java = ProcessHandle.current().info().command().orElse("java");
        app = new ProcessBuilder(java,
                "-Dquarkus.http.port=0",
                "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.shutdown.delay=2s",
                "-Dquarkus.shutdown.timeout=30s",
                "-Dcaptionfn.fetch.allow-private-addresses=true",
                "-Dcaptionfn.model.intra-op-threads=1",
                "-Dcaptionfn.model.inter-op-threads=1",
                "-jar", APP.toString())
                .redirectErrorStream(true)
                .start();
        int port = listeningPort();
        String base = "http://127.0.0.1:" + port;
        awaitStatus(base + "/q/health/ready", 200, Duration.ofSeconds(60));

        // the image takes 4 s to arrive, so the caption is in flight when the signal comes
        String body = "{\"imageUrl\":\"" + server.slowImage(4000, "tiny-reference/scene-00.png") + "\",\"id\":\"in-flight\"}";
        CompletableFuture<HttpResponse<String>> inFlight = http.sendAsync(
                HttpRequest.newBuilder(URI.create(base + "/caption")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString());
        awaitLog("captionfn_requests_in_flight 1.0", base);

        app.destroy(); // SIGTERM
        awaitStatus(base + "/q/health/ready", 503, Duration.ofSeconds(5));

        HttpResponse<String> response = inFlight.get(60, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.body().contains("\"caption\""), response.body());
        assertTrue(response.body().contains("\"id\":\"in-flight\""), response.body());

        assertTrue(app.waitFor(60, TimeUnit.SECONDS), "the process exits once drained");
        logReader.join(10_000);
        assertFalse(String.join("\n", log).contains(" ERROR "), "a clean shutdown logs no error:\n" + String.join("\n", log));
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
        Files.write(model.resolve("decoder.onnx"), new byte[] {0}, java.nio.file.StandardOpenOption.APPEND);
        String java = ProcessHandle.current().info().command().orElse("java");
        app = new ProcessBuilder(java, "-Dquarkus.http.port=0", "-Dquarkus.http.host=127.0.0.1",
                "-Dcaptionfn.model.dir=" + model, "-jar", APP.toString())
                .redirectErrorStream(true)
                .start();
        listeningPort();
        assertTrue(app.waitFor(60, TimeUnit.SECONDS), "the process ends");
        assertEquals(1, app.exitValue(), "a failed model load is a failed start");
        logReader.join(10_000);
        assertTrue(log.stream().anyMatch(line -> line.contains("ERROR") && line.contains("decoder.onnx")),
                "the log names the broken file:\n" + String.join("\n", log));
    }

    private int listeningPort() throws IOException, InterruptedException {
        BufferedReader out = new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Integer> port = new CompletableFuture<>();
        logReader = new Thread(() -> {
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    log.add(line);
                    System.out.println("[app] " + line);
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        port.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
            port.completeExceptionally(new AssertionError("the application ended before listening"));
        }, "app-log");
        logReader.setDaemon(true);
        logReader.start();
        try {
            return port.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("the application did not start:\n" + String.join("\n", log), e);
        }
    }

    private void awaitStatus(String url, int status, Duration within) throws InterruptedException {
        long end = System.nanoTime() + within.toNanos();
        int last = -1;
        while (System.nanoTime() < end) {
            try {
                last = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
                if (last == status) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        throw new AssertionError(url + " never answered " + status + " (last " + last + ")\n" + String.join("\n", log));
    }

    private void awaitLog(String metricLine, String base) throws Exception {
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
