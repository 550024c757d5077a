package dev.captionfn.e2e;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TinyReference;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The function end to end: images served over real HTTP on loopback, captioned by the embedded
 * tiny model through plain JSON and through CloudEvents in both modes.
 */
@QuarkusTest
class CaptionFunctionTest {
    private static final String REQUEST_TYPE = "dev.captionfn.caption.request";
    private static final String RESULT_TYPE = "dev.captionfn.caption.result";
    private static final double REQUIRED_ACCURACY = 0.95;

    private final ImageServer server = ImageServer.get();

    private static Map<String, Object> request(String url, String prompt, String id) {
        return prompt == null ? Map.of("imageUrl", url, "id", id) : Map.of("imageUrl", url, "prompt", prompt, "id", id);
    }

    private void assertAccuracy(String way, Function<TinyReference.Case, String> captioner) {
        List<TinyReference.Case> cases = TinyReference.heldOut();
        int correct = 0;
        StringBuilder misses = new StringBuilder();
        for (TinyReference.Case c : cases) {
            String caption = captioner.apply(c);
            if (c.expected().equals(caption)) {
                correct++;
            } else {
                misses.append("\n  ").append(c.resource()).append(" '").append(c.instruction()).append("': expected '")
                        .append(c.expected()).append("', got '").append(caption).append("'");
            }
        }
        double accuracy = (double) correct / cases.size();
        System.out.printf("%s: %d of %d held-out captions correct (%.1f %%)%s%n", way, correct, cases.size(), 100 * accuracy, misses);
        assertTrue(accuracy >= REQUIRED_ACCURACY, way + ": accuracy " + accuracy + misses);
    }

    @Test
    void plainJsonCaptionsTheHeldOutImagesCorrectly() {
        assertAccuracy("POST /caption", c -> {
            String id = UUID.randomUUID().toString();
            String url = server.image(c.resource());
            JsonPath body = given().contentType(ContentType.JSON).body(request(url, c.instruction(), id))
                    .when().post("/caption")
                    .then().statusCode(200)
                    .body("id", equalTo(id))
                    .body("imageUrl", equalTo(url))
                    .body("prompt", equalTo(c.instruction()))
                    .body("model", equalTo("captionfn-tiny-instructblip"))
                    .body("timings.totalMs", greaterThan(0f))
                    .extract().jsonPath();
            return body.getString("caption");
        });
    }

    @Test
    void binaryCloudEventsGetAResultEventOfTheResultType() {
        assertAccuracy("binary CloudEvents", c -> {
            String id = UUID.randomUUID().toString();
            String url = server.image(c.resource());
            Response response = given()
                    .header("ce-id", id)
                    .header("ce-specversion", "1.0")
                    .header("ce-type", REQUEST_TYPE)
                    .header("ce-source", "/test")
                    .contentType(ContentType.JSON)
                    .body(Map.of("imageUrl", url, "prompt", c.instruction()))
                    .when().post("/");
            response.then().statusCode(200)
                    .header("ce-type", RESULT_TYPE)
                    .header("ce-subject", url)
                    .header("ce-correlationid", id)
                    .header("ce-id", notNullValue());
            return response.jsonPath().getString("caption");
        });
    }

    @Test
    void structuredCloudEventsGetAResultEventOfTheResultType() {
        assertAccuracy("structured CloudEvents", c -> {
            String id = UUID.randomUUID().toString();
            String url = server.image(c.resource());
            Map<String, Object> event = Map.of(
                    "specversion", "1.0",
                    "id", id,
                    "type", REQUEST_TYPE,
                    "source", "/test",
                    "datacontenttype", "application/json",
                    "data", Map.of("imageUrl", url, "prompt", c.instruction()));
            JsonPath body = given().contentType("application/cloudevents+json").body(event)
                    .when().post("/")
                    .then().statusCode(200)
                    .contentType(startsWith("application/cloudevents+json"))
                    .body("type", equalTo(RESULT_TYPE))
                    .body("subject", equalTo(url))
                    .body("correlationid", equalTo(id))
                    .extract().jsonPath();
            return body.getString("data.caption");
        });
    }

    private static org.hamcrest.Matcher<String> startsWith(String prefix) {
        return org.hamcrest.Matchers.startsWith(prefix);
    }

    @Test
    void withoutAPromptTheModelsDefaultInstructionIsUsed() {
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", server.image("tiny-reference/scene-00.png")))
                .when().post("/caption")
                .then().statusCode(200)
                .body("prompt", equalTo("Write a short description for the image."))
                .body("id", notNullValue());
    }

    @Test
    void everyTestImageGetsACaptionOrAClearErrorAndTheFunctionKeepsServing() throws IOException {
        List<Path> files;
        try (Stream<Path> photos = Files.list(Path.of("src/test/resources/images/photos"));
                Stream<Path> edge = Files.list(Path.of("src/test/resources/images/edge"))) {
            files = Stream.concat(photos, edge).filter(p -> !p.getFileName().toString().startsWith("LICENSE")).sorted().toList();
        }
        assertTrue(files.size() >= 20, "the photos and the edge files are there");
        for (Path file : files) {
            String resource = "images/" + file.getParent().getFileName() + "/" + file.getFileName();
            Response response = given().contentType(ContentType.JSON)
                    .body(request(server.image(resource), null, "file-" + file.getFileName()))
                    .when().post("/caption");
            int status = response.statusCode();
            String outcome = status == 200 ? "caption '" + response.jsonPath().getString("caption") + "'"
                    : status + " " + response.jsonPath().getString("code") + ": " + response.jsonPath().getString("message");
            System.out.println(resource + " -> " + outcome);
            if (status == 200) {
                assertTrue(!response.jsonPath().getString("caption").isBlank(), resource);
            } else {
                assertTrue(status >= 400 && status < 500, resource + " gets a client error, not " + status);
                assertTrue(List.of("CORRUPT_IMAGE", "TOO_MANY_PIXELS", "NOT_AN_IMAGE", "UNSUPPORTED_FORMAT")
                        .contains(response.jsonPath().getString("code")), resource + ": " + outcome);
                assertEquals("file-" + file.getFileName(), response.jsonPath().getString("id"), resource + " error names the request");
            }
        }
        for (String broken : List.of("broken.png", "truncated_jpeg.jpg", "decompression_bomb.gif")) {
            given().contentType(ContentType.JSON).body(request(server.image("images/edge/" + broken), null, broken))
                    .when().post("/caption").then().statusCode(greaterThan(399));
        }
        given().contentType(ContentType.JSON).body(request(server.image("tiny-reference/scene-00.png"), null, "after"))
                .when().post("/caption").then().statusCode(200).body("caption", notNullValue());
    }

    @Test
    void aRequestWithoutImageUrlIsAnInvalidRequest() {
        given().contentType(ContentType.JSON).body(Map.of("prompt", "What colour is the square?", "id", "no-url"))
                .when().post("/caption")
                .then().statusCode(400).body("code", equalTo("INVALID_REQUEST")).body("id", equalTo("no-url"))
                .body("message", org.hamcrest.Matchers.containsString("imageUrl"));
    }

    @Test
    void aBodyThatIsNotJsonIsAnInvalidRequest() {
        given().contentType(ContentType.JSON).body("{not json")
                .when().post("/caption")
                .then().statusCode(400).body("code", equalTo("INVALID_REQUEST"));
    }

    @Test
    void aRequestBodyPastTheLimitIsRefusedWithTheErrorContract() {
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", "http://127.0.0.1/x.png", "prompt", "x".repeat(100_000)))
                .when().post("/caption")
                .then().statusCode(413).body("code", equalTo("INVALID_REQUEST"))
                .body("message", org.hamcrest.Matchers.containsString("URL"));
    }

    @Test
    void urlsThatAreNotHttpAreNotAllowed() {
        for (String url : List.of("ftp://127.0.0.1/image.png", "file:///etc/passwd")) {
            given().contentType(ContentType.JSON).body(Map.of("imageUrl", url))
                    .when().post("/caption")
                    .then().statusCode(400).body("code", equalTo("URL_NOT_ALLOWED"));
        }
    }

    @Test
    void anImageUrlThatAnswers404IsAFetchFailure() {
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", server.status(404)))
                .when().post("/caption")
                .then().statusCode(422).body("code", equalTo("FETCH_FAILED"))
                .body("message", org.hamcrest.Matchers.containsString("404"));
    }

    @Test
    void optionsOutOfRangeAreRefusedAndOptionsPastTheLimitsAreCapped() {
        String url = server.image("tiny-reference/scene-00.png");
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", url, "options", Map.of("numBeams", 0)))
                .when().post("/caption")
                .then().statusCode(400).body("code", equalTo("INVALID_REQUEST"))
                .body("message", org.hamcrest.Matchers.containsString("num_beams"));
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", url, "options", Map.of("numBeams", 500, "maxNewTokens", 5000)))
                .when().post("/caption")
                .then().statusCode(200).body("caption", notNullValue());
    }

    @Test
    void greedyAndBeamOptionsGiveTheReferenceCaptions() {
        TinyReference.Case c = TinyReference.cases().get(0);
        String url = server.image(c.resource());
        given().contentType(ContentType.JSON)
                .body(Map.of("imageUrl", url, "prompt", c.instruction(), "options", Map.of("numBeams", 1)))
                .when().post("/caption").then().statusCode(200).body("caption", equalTo(c.greedyText()));
        given().contentType(ContentType.JSON)
                .body(Map.of("imageUrl", url, "prompt", c.instruction()))
                .when().post("/caption").then().statusCode(200).body("caption", equalTo(c.beamText()));
    }
}
