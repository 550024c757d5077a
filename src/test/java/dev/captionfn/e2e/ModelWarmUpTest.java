package dev.captionfn.e2e;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.GatedModelLoader;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TinyReference;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * An instance whose model is still loading: not ready, not started, but alive; requests that come
 * early wait for the model rather than fail; past the in-flight limit a request is told to retry
 * later (429); once the model has loaded and a warm-up caption has run, it is ready and the early
 * request gets its caption.
 */
@QuarkusTest
@TestProfile(ModelWarmUpTest.HeldModelLoad.class)
class ModelWarmUpTest {
    public static class HeldModelLoad implements QuarkusTestProfile {
        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(GatedModelLoader.class);
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(GatedModelLoader.ClosedAtStart.class));
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("captionfn.limits.max-in-flight", "1");
        }
    }

    private final ImageServer server = ImageServer.get();

    @AfterAll
    static void openTheGateWhateverHappened() {
        GatedModelLoader.open();
    }

    @Test
    void readinessIsDownUntilTheModelIsWarmAndEarlyRequestsWaitForIt() throws Exception {
        given().when().get("/q/health/ready").then().statusCode(503)
                .body("status", equalTo("DOWN"))
                .body("checks.find { it.name == 'model' }.data.phase", equalTo("LOADING"));
        given().when().get("/q/health/started").then().statusCode(503).body("status", equalTo("DOWN"));
        given().when().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));

        TinyReference.Case c = TinyReference.cases().get(0);
        String url = server.image(c.resource());
        CompletableFuture<Response> early = CompletableFuture.supplyAsync(() -> given().contentType(ContentType.JSON)
                .body(Map.of("imageUrl", url, "prompt", c.instruction(), "id", "early"))
                .when().post("/caption"));
        awaitInFlight(1);

        // the one request this instance may hold is held: the next is told to come back later
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", url, "id", "one-too-many"))
                .when().post("/caption")
                .then().statusCode(429).header("Retry-After", notNullValue())
                .body("code", equalTo("OVERLOADED")).body("id", equalTo("one-too-many"));
        // and a CloudEvent is not answered with an error event: 429 makes the broker retry it
        given().header("ce-id", "event-too-many").header("ce-specversion", "1.0")
                .header("ce-type", "dev.captionfn.caption.request").header("ce-source", "/test")
                .contentType(ContentType.JSON).body(Map.of("imageUrl", url))
                .when().post("/")
                .then().statusCode(429).body("code", equalTo("OVERLOADED")).body("id", equalTo("event-too-many"));
        assertTrue(!early.isDone(), "the early request waits for the model");

        GatedModelLoader.open();
        awaitReady();
        given().when().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'model' }.data.phase", equalTo("READY"))
                .body("checks.find { it.name == 'model' }.data.warmUpMs", greaterThanOrEqualTo(0));
        given().when().get("/q/health/started").then().statusCode(200);

        Response response = early.get(60, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode(), response.asString());
        assertEquals(c.beamText(), response.jsonPath().getString("caption"));
        assertEquals("early", response.jsonPath().getString("id"));
    }

    private static void awaitInFlight(int expected) throws InterruptedException {
        String line = "captionfn_requests_in_flight " + expected + ".0";
        String metrics = "";
        for (int i = 0; i < 200; i++) {
            metrics = given().when().get("/q/metrics").asString();
            if (metrics.contains(line)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("never saw " + line + " in:\n" + metrics.lines()
                .filter(l -> l.contains("in_flight")).collect(java.util.stream.Collectors.joining("\n")));
    }

    private static void awaitReady() throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            if (given().when().get("/q/health/ready").statusCode() == 200) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the model never became ready");
    }
}
