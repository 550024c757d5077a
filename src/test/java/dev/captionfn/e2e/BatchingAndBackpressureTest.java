package dev.captionfn.e2e;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TinyReference;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Micro-batching and backpressure through the HTTP door: concurrent requests share batches and
 * each still gets the reference caption; a caller that hangs up and a request past its deadline
 * both give their place back.
 */
@QuarkusTest
@TestProfile(BatchingAndBackpressureTest.ShortDeadline.class)
class BatchingAndBackpressureTest {
    public static class ShortDeadline implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "captionfn.limits.deadline", "1500ms",
                    // the deadline, not the fetch timeout, must be what ends a slow fetch here
                    "captionfn.fetch.timeout", "10s",
                    // two cores in CI: give concurrent requests time to meet in a batch
                    "captionfn.batch.max-wait", "50ms");
        }
    }

    private final ImageServer server = ImageServer.get();

    @TestHTTPResource("/caption")
    URI captionUri;

    private static String metrics() {
        return given().when().get("/q/metrics").then().statusCode(200).extract().asString();
    }

    private static double sample(String metrics, String line) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(line) + " ([0-9.Ee+-]+)$").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static void awaitMetric(String line, double expected, Duration within) throws InterruptedException {
        long until = System.nanoTime() + within.toNanos();
        double seen;
        do {
            seen = sample(metrics(), line);
            if (seen == expected) {
                return;
            }
            Thread.sleep(25);
        } while (System.nanoTime() < until);
        throw new AssertionError(line + " is " + seen + ", not " + expected + " after " + within);
    }

    @Test
    void concurrentRequestsShareBatchesAndEachGetsItsReferenceCaption() throws Exception {
        List<TinyReference.Case> cases = TinyReference.cases().subList(0, 16);
        ExecutorService clients = Executors.newFixedThreadPool(cases.size());
        try {
            List<Future<Response>> answers = new ArrayList<>();
            for (TinyReference.Case c : cases) {
                answers.add(clients.submit(() -> given().contentType(ContentType.JSON)
                        .body(Map.of("imageUrl", server.image(c.resource()), "prompt", c.instruction()))
                        .when().post("/caption")));
            }
            for (int i = 0; i < cases.size(); i++) {
                Response r = answers.get(i).get(60, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.asString());
                assertEquals(cases.get(i).beamText(), r.jsonPath().getString("caption"), cases.get(i).resource());
                assertTrue(r.jsonPath().getDouble("timings.queueMs") >= 0);
            }
        } finally {
            clients.shutdownNow();
        }
        double largestBatch = sample(metrics(), "captionfn_batch_requests_max");
        assertTrue(largestBatch > 1, "16 concurrent requests never shared a batch (largest " + largestBatch + ")");
    }

    @Test
    void aCallerThatHangsUpFreesItsPlaceAndIsCountedAsAbandoned() throws Exception {
        String abandoned = "captionfn_captions_total{code=\"CANCELLED\",outcome=\"abandoned\"}";
        double before = sample(metrics(), abandoned);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest request = HttpRequest.newBuilder(captionUri)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofMillis(300))
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"imageUrl\": \"" + server.slowImage(5_000, "tiny-reference/scene-00.png") + "\"}"))
                .build();
        assertThrows(HttpTimeoutException.class, () -> client.send(request, HttpResponse.BodyHandlers.ofString()));
        // well before the 1.5 s deadline and the 5 s image: only the hang-up can have freed it
        awaitMetric(abandoned, before + 1, Duration.ofMillis(1_000));
        awaitMetric("captionfn_requests_in_flight", 0, Duration.ofMillis(1_000));
    }

    @Test
    void aRequestPastItsDeadlineIsAnsweredDeadlineExceededAndFreesItsPlace() throws Exception {
        long start = System.nanoTime();
        given().contentType(ContentType.JSON)
                .body(Map.of("imageUrl", server.slowImage(20_000, "tiny-reference/scene-00.png"), "id", "late"))
                .when().post("/caption")
                .then().statusCode(504)
                .body("code", equalTo("DEADLINE_EXCEEDED")).body("id", equalTo("late")).body("message", notNullValue());
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        // the upper bound only has to tell the deadline from the 20 s image: timed at the client, it
        // also holds the time a loaded machine takes to hand the request over
        assertTrue(millis >= 1_400 && millis < 10_000, "answered after " + millis + " ms; the deadline is 1500 ms");
        awaitMetric("captionfn_requests_in_flight", 0, Duration.ofMillis(1_000));
    }
}
