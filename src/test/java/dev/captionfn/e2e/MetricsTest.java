package dev.captionfn.e2e;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.ImageServer;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** /q/metrics in Prometheus format shows the captions, their stages and tokens moving. */
@QuarkusTest
class MetricsTest {
    private final ImageServer server = ImageServer.get();

    private static String metrics() {
        return given().when().get("/q/metrics").then().statusCode(200).extract().asString();
    }

    /** The value of one sample, e.g. {@code captionfn_stage_seconds_count{stage="vision"}}; 0 when absent. */
    private static double sample(String metrics, String name, String labels) {
        // Prometheus orders labels by name; the test names them in that order
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{" + Pattern.quote(labels) + "[^}]*} ([0-9.Ee+-]+)$")
                .matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void captionsStagesTokensAndFailuresAreCounted() {
        String before = metrics();
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", server.image("tiny-reference/scene-02.png")))
                .when().post("/caption").then().statusCode(200);
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", server.status(404)))
                .when().post("/caption").then().statusCode(422);
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", "ftp://127.0.0.1/x.png"))
                .when().post("/caption").then().statusCode(400);
        String after = metrics();

        assertEquals(1, delta(before, after, "captionfn_captions_total", "code=\"OK\",outcome=\"captioned\""));
        assertEquals(1, delta(before, after, "captionfn_captions_total", "code=\"FETCH_FAILED\",outcome=\"failed\""));
        assertEquals(1, delta(before, after, "captionfn_captions_total", "code=\"URL_NOT_ALLOWED\",outcome=\"failed\""));
        for (String stage : new String[] {"fetch", "decode", "preprocess", "queue", "vision", "generate", "total"}) {
            assertEquals(1, delta(before, after, "captionfn_stage_seconds_count", "stage=\"" + stage + "\""), stage);
            assertTrue(sample(after, "captionfn_stage_seconds_sum", "stage=\"" + stage + "\"") > 0, stage + " took time");
        }
        assertTrue(delta(before, after, "captionfn_tokens_generated_total", "") >= 2, "tokens were generated");
        assertTrue(after.contains("captionfn_requests_in_flight "), "the in-flight gauge is exported");
        assertEquals(1, delta(before, after, "captionfn_batch_requests_count", ""), "the caption's batch was recorded");
        assertTrue(after.contains("captionfn_captions_total{code=\"TOO_MANY_PIXELS\",outcome=\"failed\"}"),
                "every code's counter exists before its first failure");
    }

    private static double delta(String before, String after, String name, String labels) {
        if (labels.isEmpty()) {
            return plain(after, name) - plain(before, name);
        }
        return sample(after, name, labels) - sample(before, name, labels);
    }

    private static double plain(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*})? ([0-9.Ee+-]+)$").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }
}
