package dev.captionfn.lambda;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.caption.OutgoingEvent;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TinyReference;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.net.URI;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * The SQS-fed function ({@code caption-sqs}) against a real SQS-compatible server (ElasticMQ) as
 * its result queue, invoked through Quarkus's Lambda mock event server with SQS events as Lambda's
 * event source mapping sends them.
 */
@QuarkusTest
@TestProfile(SqsResultsTest.FedBySqs.class)
class SqsResultsTest {
    public static class FedBySqs implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // the mock event server and the HTTP test port would both take 8081
            return Map.of("quarkus.lambda.mock-event-server.test-port", "0");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(ElasticMq.class));
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final ImageServer server = ImageServer.get();

    @ConfigProperty(name = "captionfn.lambda.sqs-endpoint")
    URI endpoint;

    @ConfigProperty(name = "captionfn.lambda.result-queue-url")
    String resultQueueUrl;

    private SqsClient sqs;

    @BeforeEach
    void emptyResultQueue() {
        sqs = ElasticMq.client(endpoint);
        sqs.purgeQueue(b -> b.queueUrl(resultQueueUrl));
    }

    @AfterEach
    void closeClient() {
        sqs.close();
    }

    @Test
    void aBatchPublishesEveryCaptionAndPermanentFailureAndReportsOnlyTheTransientFailure() throws Exception {
        TinyReference.Case first = TinyReference.cases().get(1);
        TinyReference.Case second = TinyReference.cases().get(2);
        String brokenUrl = server.image("images/edge/broken.png");
        String unavailableUrl = server.status(503);
        List<Map<String, Object>> records = List.of(
                sqs("m-good", json(Map.of("imageUrl", server.image(first.resource()), "prompt", first.instruction(),
                        "id", "req-good"))),
                sqs("m-good-no-id", json(Map.of("imageUrl", server.image(second.resource()), "prompt", second.instruction()))),
                sqs("m-file-url", json(Map.of("imageUrl", "file:///etc/passwd", "id", "req-file-url"))),
                sqs("m-broken", json(Map.of("imageUrl", brokenUrl, "id", "req-broken"))),
                sqs("m-not-json", "{not json"),
                sqs("m-503", json(Map.of("imageUrl", unavailableUrl, "id", "req-503"))));

        assertEquals(List.of("m-503"), invoke(records), "only the transient failure is left for SQS to deliver again");

        Map<String, JsonNode> events = drainResultQueue();
        assertEquals(List.of("m-broken", "m-file-url", "m-good", "m-good-no-id", "m-not-json"), List.copyOf(events.keySet()),
                "one event per message but the transient failure, keyed by sqsmessageid");

        JsonNode good = events.get("m-good");
        assertResult(good, "req-good", server.image(first.resource()));
        assertEquals(first.beamText(), good.at("/data/caption").asText());
        JsonNode noId = events.get("m-good-no-id");
        assertResult(noId, "m-good-no-id", server.image(second.resource()));
        assertEquals(second.beamText(), noId.at("/data/caption").asText());

        assertError(events.get("m-file-url"), "req-file-url", "URL_NOT_ALLOWED", "file:///etc/passwd");
        assertError(events.get("m-broken"), "req-broken", "CORRUPT_IMAGE", brokenUrl);
        assertError(events.get("m-not-json"), "m-not-json", "INVALID_REQUEST", null);
    }

    @Test
    void aCaptionOrErrorThatCannotBePublishedLeavesItsMessageForSqsToDeliverAgain() throws Exception {
        String queueName = ElasticMq.RESULT_QUEUE;
        sqs.deleteQueue(b -> b.queueUrl(resultQueueUrl));
        try {
            List<String> failed = invoke(List.of(
                    sqs("m-unpublished-caption", json(Map.of("imageUrl", server.image("tiny-reference/scene-03.png")))),
                    sqs("m-unpublished-error", json(Map.of("imageUrl", "file:///etc/passwd")))));
            assertEquals(List.of("m-unpublished-caption", "m-unpublished-error"), failed,
                    "neither outcome reached a queue, so neither message is done");
        } finally {
            assertEquals(resultQueueUrl, sqs.createQueue(b -> b.queueName(queueName)).queueUrl());
        }
    }

    private static void assertResult(JsonNode event, String id, String imageUrl) {
        assertEnvelope(event, "dev.captionfn.caption.result", id, imageUrl);
        assertEquals(id, event.at("/data/id").asText());
        assertEquals(imageUrl, event.at("/data/imageUrl").asText());
        assertEquals("captionfn-tiny-instructblip", event.at("/data/model").asText());
    }

    private static void assertError(JsonNode event, String id, String code, String imageUrl) {
        assertEnvelope(event, "dev.captionfn.caption.error", id, imageUrl);
        assertEquals(code, event.at("/data/code").asText(), event.toString());
        assertTrue(!event.at("/data/message").asText().isBlank(), "the error names its reason: " + event);
        assertEquals(id, event.at("/data/id").asText());
        if (imageUrl == null) {
            assertTrue(event.at("/data/imageUrl").isMissingNode(), event.toString());
        } else {
            assertEquals(imageUrl, event.at("/data/imageUrl").asText());
        }
    }

    /** CloudEvents 1.0 structured mode: the context attributes beside the data. */
    private static void assertEnvelope(JsonNode event, String type, String correlationId, String subject) {
        assertEquals("1.0", event.path("specversion").asText());
        assertEquals(type, event.path("type").asText(), event.toString());
        assertEquals("/captionfn", event.path("source").asText());
        assertTrue(!event.path("id").asText().isEmpty(), "every event has an id");
        assertNotNull(Instant.parse(event.path("time").asText()));
        assertEquals(correlationId, event.path(OutgoingEvent.CORRELATION).asText(), event.toString());
        assertEquals(OutgoingEvent.DATA_CONTENT_TYPE, event.path("datacontenttype").asText());
        if (subject == null) {
            assertTrue(event.path("subject").isMissingNode(), event.toString());
        } else {
            assertEquals(subject, event.path("subject").asText());
        }
    }

    /** One invocation with these records; the ids in its batchItemFailures, sorted. */
    private static List<String> invoke(List<Map<String, Object>> records) {
        return given().contentType(ContentType.JSON).body(Map.of("Records", records))
                .when().post()
                .then().statusCode(200)
                .extract().jsonPath().getList("batchItemFailures.itemIdentifier", String.class)
                .stream().sorted().toList();
    }

    /** Every event on the result queue, by the message id it answers; each checked for its content type. */
    private Map<String, JsonNode> drainResultQueue() throws Exception {
        Map<String, JsonNode> events = new TreeMap<>();
        while (true) {
            List<Message> batch = sqs.receiveMessage(b -> b.queueUrl(resultQueueUrl).maxNumberOfMessages(10)
                    .waitTimeSeconds(1).messageAttributeNames("All").attributeNamesWithStrings(
                            QueueAttributeName.ALL.toString())).messages();
            if (batch.isEmpty()) {
                return events;
            }
            for (Message m : batch) {
                assertEquals(OutgoingEvent.STRUCTURED_CONTENT_TYPE,
                        m.messageAttributes().get(ResultQueue.CONTENT_TYPE).stringValue());
                JsonNode event = JSON.readTree(m.body());
                String answers = event.path(SqsFunction.MESSAGE_ID).asText();
                assertTrue(events.put(answers, event) == null, "one event per message: " + answers);
                sqs.deleteMessage(b -> b.queueUrl(resultQueueUrl).receiptHandle(m.receiptHandle()));
            }
        }
    }

    private static String json(Map<String, Object> request) throws Exception {
        return JSON.writeValueAsString(request);
    }

    /** One SQS record as Lambda's SQS event source delivers it: the body is the message's text. */
    private static Map<String, Object> sqs(String messageId, String body) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("messageId", messageId);
        record.put("receiptHandle", "handle-" + messageId);
        record.put("body", body);
        record.put("attributes", Map.of("ApproximateReceiveCount", "1", "SentTimestamp", "1764144000000"));
        record.put("messageAttributes", Map.of());
        record.put("md5OfBody", "");
        record.put("eventSource", "aws:sqs");
        record.put("eventSourceARN", "arn:aws:sqs:eu-west-1:123456789012:caption-requests");
        record.put("awsRegion", "eu-west-1");
        return record;
    }
}
