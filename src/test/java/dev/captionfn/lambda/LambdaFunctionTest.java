package dev.captionfn.lambda;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TinyReference;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Lambda build (./mvnw -Plambda verify) against Quarkus's Lambda mock event server, which
 * speaks the Lambda runtime API to the function as Lambda does: a POST to it is an invocation.
 */
@QuarkusTest
@TestProfile(LambdaFunctionTest.OnLambda.class)
class LambdaFunctionTest {
    public static class OnLambda implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // the mock event server and the HTTP test port would both take 8081
            return Map.of("quarkus.lambda.mock-event-server.test-port", "0");
        }
    }

    private final ImageServer server = ImageServer.get();

    @Test
    void aDirectInvocationCaptionsAServedImageWithTheEmbeddedModel() {
        TinyReference.Case c = TinyReference.cases().get(0);
        given().contentType(ContentType.JSON)
                .body(Map.of("imageUrl", server.image(c.resource()), "prompt", c.instruction(), "id", "direct-1"))
                .when().post()
                .then().statusCode(200)
                .body("id", equalTo("direct-1"))
                .body("caption", equalTo(c.beamText()))
                .body("model", equalTo("captionfn-tiny-instructblip"));
    }

    @Test
    void aBadInputReturnsTheDocumentedErrorCodeNotAStackTrace() {
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", "ftp://127.0.0.1/x.png", "id", "bad-1"))
                .when().post()
                .then().statusCode(500)
                .body("errorType", equalTo("io.quarkus.funqy.runtime.ApplicationException"))
                .body("errorMessage", startsWith("URL_NOT_ALLOWED: "))
                .body("errorMessage", org.hamcrest.Matchers.containsString("[id=bad-1]"));
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", server.image("images/edge/decompression_bomb.gif")))
                .when().post()
                .then().statusCode(500)
                .body("errorMessage", startsWith("TOO_MANY_PIXELS: "));
    }
}
