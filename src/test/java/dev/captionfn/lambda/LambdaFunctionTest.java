package dev.captionfn.lambda;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TinyReference;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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

    private static final ObjectMapper JSON = new ObjectMapper();
    private final ImageServer server = ImageServer.get();

    @Inject
    MeterRegistry meters;

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

    @Test
    void anSqsBatchReportsExactlyItsBadMessagesAsFailuresAndCaptionsTheRest() throws Exception {
        double captionedBefore = captioned();
        List<Map<String, Object>> records = new ArrayList<>();
        records.add(sqs("m-1", Map.of("imageUrl", server.image("tiny-reference/scene-01.png"))));
        records.add(sqs("m-2", Map.of("imageUrl", "file:///etc/passwd")));
        records.add(sqs("m-3", Map.of("imageUrl", server.image("tiny-reference/scene-02.png"))));
        records.add(sqs("m-4", Map.of("imageUrl", server.image("images/edge/broken.png"))));
        records.add(sqs("m-5", Map.of("imageUrl", server.image("tiny-reference/scene-03.png"))));
        List<String> failed = given().contentType(ContentType.JSON).body(Map.of("Records", records))
                .when().post()
                .then().statusCode(200)
                .extract().jsonPath().getList("batchItemFailures.itemIdentifier", String.class);
        assertEquals(List.of("m-2", "m-4"), failed.stream().sorted().toList(), "exactly the two bad messages");
        assertEquals(3, captioned() - captionedBefore, "the other three were captioned");
    }

    private double captioned() {
        var counter = meters.find("captionfn.captions").tags("outcome", "captioned").counter();
        return counter == null ? 0 : counter.count();
    }

    /** One SQS record as Lambda's SQS event source delivers it: the request JSON is the body, as a string. */
    private static Map<String, Object> sqs(String messageId, Map<String, Object> request) throws Exception {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("messageId", messageId);
        record.put("receiptHandle", "handle-" + messageId);
        record.put("body", JSON.writeValueAsString(request));
        record.put("attributes", Map.of("ApproximateReceiveCount", "1", "SentTimestamp", "1764144000000"));
        record.put("messageAttributes", Map.of());
        record.put("md5OfBody", "");
        record.put("eventSource", "aws:sqs");
        record.put("eventSourceARN", "arn:aws:sqs:eu-west-1:123456789012:caption-requests");
        record.put("awsRegion", "eu-west-1");
        return record;
    }
}
