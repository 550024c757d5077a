package dev.captionfn.e2e;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.notNullValue;

import dev.captionfn.testing.ImageServer;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What image servers can do to the function over real HTTP on loopback, each answered with its
 * documented code while the function keeps serving. (The address policy is off in the default
 * test profile so that loopback servers can misbehave; StrictAddressPolicyTest turns it on.)
 */
@QuarkusTest
class BadInputsTest {
    private static final String GOOD = "tiny-reference/scene-00.png";
    /** captionfn.fetch.max-bytes's default. */
    private static final long MAX_BYTES = 20L * 1024 * 1024;

    private final ImageServer server = ImageServer.get();

    record Bad(String what, String url, int status, String code, String inMessage) {}

    private List<Bad> badInputs() {
        return List.of(
                new Bad("a 404", server.status(404), 422, "FETCH_FAILED", "404"),
                new Bad("a 410", server.status(410), 422, "FETCH_FAILED", "410"),
                new Bad("a 503", server.status(503), 502, "UPSTREAM_ERROR", "503"),
                new Bad("a 429 from the image server", server.status(429), 502, "UPSTREAM_ERROR", "429"),
                new Bad("a server that never answers", server.never(), 504, "UPSTREAM_TIMEOUT", "longer than"),
                new Bad("a body past the limit with Content-Length", server.hugeDeclared(MAX_BYTES + 1), 413, "TOO_LARGE",
                        "declares " + (MAX_BYTES + 1)),
                new Bad("a body past the limit without Content-Length", server.hugeChunked(), 413, "TOO_LARGE",
                        "limit of " + MAX_BYTES),
                new Bad("a redirect loop", server.redirectLoop(), 422, "FETCH_FAILED", "redirected more than 5 times"),
                new Bad("a redirect to ftp:", server.redirectTo("ftp://127.0.0.1/image.png"), 400, "URL_NOT_ALLOWED", "ftp"),
                new Bad("a redirect to file:", server.redirectTo("file:///etc/passwd"), 400, "URL_NOT_ALLOWED", "file"),
                new Bad("a redirect to a missing image", server.redirectTo(server.image("missing.png")), 422, "FETCH_FAILED", "404"),
                new Bad("an ftp: URL", "ftp://127.0.0.1/image.png", 400, "URL_NOT_ALLOWED", "ftp"),
                new Bad("a file: URL", "file:///etc/passwd", 400, "URL_NOT_ALLOWED", "file"),
                new Bad("a URL with credentials", "http://user:secret@127.0.0.1:" + server.port() + "/images/" + GOOD, 400,
                        "URL_NOT_ALLOWED", "password"),
                new Bad("a URL without a host", "http:///image.png", 400, "INVALID_REQUEST", "host"),
                new Bad("a port nobody listens on", "http://127.0.0.1:1/image.png", 422, "FETCH_FAILED", "connect"),
                new Bad("text, not an image", server.image("application.properties"), 415, "NOT_AN_IMAGE", ""),
                new Bad("a decompression bomb", server.image("images/edge/decompression_bomb.gif"), 413, "TOO_MANY_PIXELS", ""),
                new Bad("a truncated JPEG", server.image("images/edge/truncated_jpeg.jpg"), 422, "CORRUPT_IMAGE", ""));
    }

    @Test
    void eachBadInputGetsItsCodeAndTheFunctionKeepsServing() {
        for (Bad bad : badInputs()) {
            long start = System.nanoTime();
            given().contentType(ContentType.JSON).body(Map.of("imageUrl", bad.url(), "id", bad.what()))
                    .when().post("/caption")
                    .then().statusCode(bad.status())
                    .body("code", equalTo(bad.code()))
                    .body("id", equalTo(bad.what()))
                    .body("message", containsString(bad.inMessage()));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            System.out.printf("%-45s -> %d %s in %d ms%n", bad.what(), bad.status(), bad.code(), ms);
        }
        aGoodImageIsStillCaptioned();
    }

    @Test
    void aMissingImageUrlIsAnInvalidRequest() {
        given().contentType(ContentType.JSON).body(Map.of("id", "no-url"))
                .when().post("/caption")
                .then().statusCode(400).body("code", equalTo("INVALID_REQUEST")).body("message", containsString("imageUrl"));
        aGoodImageIsStillCaptioned();
    }

    @Test
    void aRedirectToAnImageIsFollowed() {
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", server.redirectTo(server.redirectTo(server.image(GOOD)))))
                .when().post("/caption")
                .then().statusCode(200).body("caption", notNullValue());
    }

    @Test
    void theDeadlineBoundsAFetchThatNeverEnds() {
        // captionfn.fetch.timeout is 2 s in the tests
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", server.never()))
                .when().post("/caption")
                .then().statusCode(504).time(lessThan(10_000L));
    }

    private void aGoodImageIsStillCaptioned() {
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", server.image(GOOD)))
                .when().post("/caption")
                .then().statusCode(200).body("caption", notNullValue());
    }
}
