package dev.captionfn.e2e;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.startsWith;

import dev.captionfn.testing.ImageServer;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.specification.RequestSpecification;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * CloudEvents as a Knative trigger delivers them: a result event on success; an error event of the
 * error type with HTTP 200 for a permanent failure, so that the broker does not retry it; a 5xx
 * for a transient one, so that it does.
 */
@QuarkusTest
class CloudEventContractTest {
    private static final String REQUEST_TYPE = "dev.captionfn.caption.request";
    private static final String RESULT_TYPE = "dev.captionfn.caption.result";
    private static final String ERROR_TYPE = "dev.captionfn.caption.error";

    private final ImageServer server = ImageServer.get();

    /** The headers a Knative broker's trigger sends along with a binary-mode event. */
    private static RequestSpecification fromTrigger(String id) {
        return given()
                .header("ce-specversion", "1.0")
                .header("ce-id", id)
                .header("ce-type", REQUEST_TYPE)
                .header("ce-source", "/apis/v1/namespaces/default/pingsources/uploads")
                .header("ce-time", "2026-11-26T08:00:00Z")
                .header("ce-knativearrivaltime", "2026-11-26T08:00:00.123Z")
                .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .header("Prefer", "reply")
                .contentType(ContentType.JSON);
    }

    private static Map<String, Object> structured(String id, Map<String, Object> data) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("specversion", "1.0");
        event.put("id", id);
        event.put("type", REQUEST_TYPE);
        event.put("source", "/uploads");
        event.put("knativearrivaltime", "2026-11-26T08:00:00.123Z");
        event.put("datacontenttype", "application/json");
        event.put("data", data);
        return event;
    }

    @Test
    void aBinaryTriggerEventGetsAResultEvent() {
        String url = server.image("tiny-reference/scene-00.png");
        fromTrigger("evt-1").body(Map.of("imageUrl", url))
                .when().post("/")
                .then().statusCode(200)
                .header("ce-type", RESULT_TYPE)
                .header("ce-source", "/captionfn")
                .header("ce-subject", url)
                .header("ce-correlationid", "evt-1")
                .body("caption", notNullValue())
                .body("id", equalTo("evt-1"));
    }

    @Test
    void aStructuredTriggerEventGetsAResultEvent() {
        String url = server.image("tiny-reference/scene-01.png");
        given().contentType("application/cloudevents+json").body(structured("evt-2", Map.of("imageUrl", url, "id", "req-2")))
                .when().post("/")
                .then().statusCode(200)
                .contentType(startsWith("application/cloudevents+json"))
                .body("type", equalTo(RESULT_TYPE))
                .body("subject", equalTo(url))
                .body("correlationid", equalTo("req-2"))
                .body("data.caption", notNullValue());
    }

    @Test
    void aPermanentFailureGetsAnErrorEventWith200InBinaryMode() {
        String url = server.status(404);
        fromTrigger("evt-404").body(Map.of("imageUrl", url))
                .when().post("/")
                .then().statusCode(200)
                .header("ce-type", ERROR_TYPE)
                .header("ce-source", "/captionfn")
                .header("ce-subject", url)
                .header("ce-correlationid", "evt-404")
                .header("ce-id", notNullValue())
                .contentType(startsWith("application/json"))
                .body("code", equalTo("FETCH_FAILED"))
                .body("id", equalTo("evt-404"))
                .body("imageUrl", equalTo(url))
                .body("message", containsString("404"));
    }

    @Test
    void aPermanentFailureGetsAnErrorEventWith200InStructuredMode() {
        String url = server.image("images/edge/decompression_bomb.gif");
        given().contentType("application/cloudevents+json").body(structured("evt-bomb", Map.of("imageUrl", url)))
                .when().post("/")
                .then().statusCode(200)
                .contentType(startsWith("application/cloudevents+json"))
                .body("specversion", equalTo("1.0"))
                .body("type", equalTo(ERROR_TYPE))
                .body("subject", equalTo(url))
                .body("correlationid", equalTo("evt-bomb"))
                .body("data.code", equalTo("TOO_MANY_PIXELS"));
    }

    @Test
    void anEventWithoutImageUrlGetsAnErrorEvent() {
        fromTrigger("evt-empty").body(Map.of("prompt", "What is it?"))
                .when().post("/")
                .then().statusCode(200)
                .header("ce-type", ERROR_TYPE)
                .header("ce-correlationid", "evt-empty")
                .body("code", equalTo("INVALID_REQUEST"))
                .body("message", containsString("imageUrl"));
    }

    @Test
    void anEventWhoseDataIsNotJsonGetsAnErrorEvent() {
        fromTrigger("evt-garbage").body("{not json")
                .when().post("/")
                .then().statusCode(200)
                .header("ce-type", ERROR_TYPE)
                .body("code", equalTo("INVALID_REQUEST"))
                .body("id", equalTo("evt-garbage"));
    }

    @Test
    void aTransientFailureGets5xxSoTheBrokerRetries() {
        fromTrigger("evt-503").body(Map.of("imageUrl", server.status(503)))
                .when().post("/")
                .then().statusCode(502)
                .header("ce-type", (String) null)
                .body("code", equalTo("UPSTREAM_ERROR"))
                .body("id", equalTo("evt-503"));
        given().contentType("application/cloudevents+json").body(structured("evt-slow", Map.of("imageUrl", server.never())))
                .when().post("/")
                .then().statusCode(504)
                .body("code", equalTo("UPSTREAM_TIMEOUT"))
                .body("id", equalTo("evt-slow"));
    }
}
