package dev.captionfn.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.AppProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged application run as an init container or a Job runs it: {@code prepare} fills the
 * cache volume for the model and exits 0 without serving; an instance started next on the same
 * volume loads every session from the cache (its log and its metrics say so). That loading is
 * faster than building is shown in the same JVM, where one sample per process does not decide it
 * (WarmStartCacheTest); the benchmark measures startup to ready, cold and warm.
 */
class PrepareThenStartIT {
    private static final Pattern SESSION = Pattern.compile("graph (\\w+) runs on cpu: session in \\d+ ms \\(cache (\\w+)\\)");
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path tmp;

    @Test
    void prepareFillsTheCacheAndExitsThenAServingInstanceOnlyLoadsIt() throws Exception {
        Path cache = tmp.resolve("cache");
        try (AppProcess prepare = AppProcess.withArguments(List.of("prepare"), "captionfn.cache.dir=" + cache)) {
            assertEquals(0, prepare.waitForExit(180), prepare.log());
            assertTrue(prepare.log().contains("prepared model captionfn-tiny-instructblip in " + cache), prepare.log());
            assertFalse(prepare.log().contains("Listening on: http"), "prepare serves nothing:\n" + prepare.log());
            assertSessions(prepare.logLines(), "built");
        }
        try (var slots = Files.list(cache.resolve("captionfn-tiny-instructblip"))) {
            assertEquals(List.of("decoder-cpu-", "embed-cpu-", "vision-cpu-"), slots
                    .filter(slot -> Files.isRegularFile(slot.resolve("cache.json")))
                    .map(slot -> slot.getFileName().toString().replaceAll("[0-9a-f]{8}$", "")).sorted().toList());
        }

        try (AppProcess app = AppProcess.start("captionfn.cache.dir=" + cache)) {
            awaitReady(app);
            assertSessions(app.logLines(), "hit");
            String metrics = get(app, "/q/metrics").body();
            for (String graph : new String[] {"vision", "embed", "decoder"}) {
                String sample = "captionfn_model_session_seconds{cache=\"hit\",graph=\"" + graph + "\",provider=\"cpu\"}";
                assertTrue(metrics.contains(sample), sample + " in\n" + metrics);
            }
        }
    }

    @Test
    void prepareWithoutACacheDirectorySaysWhatToSetAndFails() throws Exception {
        try (AppProcess prepare = AppProcess.withArguments(List.of("prepare"))) {
            assertEquals(1, prepare.waitForExit(120), prepare.log());
            assertTrue(prepare.log().contains("set captionfn.cache.dir (env CAPTIONFN_CACHE_DIR)"), prepare.log());
        }
    }

    @Test
    void anUnknownArgumentIsRefusedNamingTheOneThereIs() throws Exception {
        try (AppProcess app = AppProcess.withArguments(List.of("prepair"))) {
            assertEquals(2, app.waitForExit(120), app.log());
            assertTrue(app.log().contains("unknown arguments prepair"), app.log());
        }
    }

    /** Checks that the log has one session line per graph, each with this cache use. */
    private static void assertSessions(List<String> log, String cacheUse) {
        int graphs = 0;
        for (String line : log) {
            Matcher m = SESSION.matcher(line);
            if (m.find()) {
                assertEquals(cacheUse, m.group(2), line);
                graphs++;
            }
        }
        assertEquals(3, graphs, "one session line per graph:\n" + String.join("\n", log));
    }

    private void awaitReady(AppProcess app) throws Exception {
        long until = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < until) {
            if (get(app, "/q/health/ready").statusCode() == 200) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("not ready in 120 s:\n" + app.log());
    }

    private HttpResponse<String> get(AppProcess app, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(app.baseUrl() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
