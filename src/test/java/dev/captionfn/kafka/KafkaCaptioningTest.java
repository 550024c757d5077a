package dev.captionfn.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.KafkaBroker;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/**
 * The Kafka way in against a real broker (KRaft, started in the test JVM): requests on
 * caption-requests, results on captions, failures on caption-requests-dlq.
 */
@QuarkusTest
@TestProfile(KafkaCaptioningTest.WithKafka.class)
class KafkaCaptioningTest {
    public static class WithKafka implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(KafkaBroker.class));
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "captionfn.kafka.retry.initial-backoff", "100ms",
                    "captionfn.kafka.retry.max-backoff", "200ms",
                    "captionfn.kafka.retry.max-retries", "2",
                    // greedy search keeps 200 captions quick on two cores; beams are the function tests' business
                    "captionfn.limits.max-beams", "1");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final ImageServer server = ImageServer.get();

    private static byte[] json(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode tree(byte[] value) {
        try {
            return JSON.readTree(value);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private String scene(int i) {
        return server.image("tiny-reference/scene-%02d.png".formatted(i % 30));
    }

    @Test
    void twoHundredRequestsOverManyKeysGiveTwoHundredResultsInKeyOrder() throws Exception {
        int keys = 10;
        int perKey = 20;
        Map<String, List<String>> sent = new LinkedHashMap<>();
        try (KafkaProducer<String, byte[]> producer = KafkaBroker.producer()) {
            for (int i = 0; i < perKey; i++) {
                for (int k = 0; k < keys; k++) {
                    String key = "order-key-" + k;
                    String id = key + "/" + i;
                    sent.computeIfAbsent(key, x -> new ArrayList<>()).add(id);
                    producer.send(new ProducerRecord<>(KafkaBroker.REQUESTS, key, json(Map.of("imageUrl", scene(k * perKey + i), "id", id))));
                }
            }
            producer.flush();
        }
        int total = keys * perKey;
        List<ConsumerRecord<String, byte[]>> results = KafkaBroker.consume(KafkaBroker.RESULTS,
                r -> r.key() != null && r.key().startsWith("order-key-"), got -> got.size() >= total, Duration.ofMinutes(3));

        assertEquals(total, results.size(), "exactly one result per request");
        Map<String, List<String>> received = new HashMap<>();
        Set<Integer> partitions = new java.util.HashSet<>();
        for (ConsumerRecord<String, byte[]> r : results) {
            JsonNode result = tree(r.value());
            String id = result.get("id").asText();
            assertEquals(id, header(r, "correlationid"), "the correlation header carries the request id");
            assertTrue(id.startsWith(r.key() + "/"), "the result keeps its request's key: " + r.key() + " " + id);
            assertTrue(!result.get("caption").asText().isBlank());
            received.computeIfAbsent(r.key(), x -> new ArrayList<>()).add(id);
            partitions.add(r.partition());
        }
        // one partition holds a key, so reading it gives the key's results in the order they were written
        assertEquals(sent, received, "each key's results in its requests' order");
        assertTrue(partitions.size() > 1, "the keys spread over partitions: " + partitions);
    }

    @Test
    void poisonRecordsGoToTheDeadLetterTopicWithTheirReasonAndTheGoodOnesAreCaptioned() throws Exception {
        Map<String, byte[]> poison = new LinkedHashMap<>();
        poison.put("poison-not-json", "{not json".getBytes(StandardCharsets.UTF_8));
        poison.put("poison-ftp", json(Map.of("imageUrl", "ftp://127.0.0.1/x.png", "id", "poison-ftp")));
        poison.put("poison-broken-image", json(Map.of("imageUrl", server.image("images/edge/broken.png"), "id", "poison-broken-image")));
        poison.put("poison-no-url", json(Map.of("prompt", "What is it?", "id", "poison-no-url")));
        poison.put("poison-404", json(Map.of("imageUrl", server.status(404), "id", "poison-404")));
        poison.put("poison-503", json(Map.of("imageUrl", server.status(503), "id", "poison-503")));
        poison.put("poison-empty", new byte[0]);
        Map<String, String> expectedCodes = Map.of(
                "poison-not-json", "INVALID_REQUEST", "poison-ftp", "URL_NOT_ALLOWED",
                "poison-broken-image", "CORRUPT_IMAGE", "poison-no-url", "INVALID_REQUEST",
                "poison-404", "FETCH_FAILED", "poison-503", "UPSTREAM_ERROR", "poison-empty", "INVALID_REQUEST");
        List<String> good = new ArrayList<>();
        try (KafkaProducer<String, byte[]> producer = KafkaBroker.producer()) {
            int i = 0;
            for (var p : poison.entrySet()) {
                String id = "poison-good-" + i;
                good.add(id);
                producer.send(new ProducerRecord<>(KafkaBroker.REQUESTS, id, json(Map.of("imageUrl", scene(i), "id", id))));
                producer.send(new ProducerRecord<>(KafkaBroker.REQUESTS, p.getKey(), p.getValue()));
                i++;
            }
            producer.flush();
        }
        List<ConsumerRecord<String, byte[]>> dead = KafkaBroker.consume(KafkaBroker.DEAD_LETTERS,
                r -> r.key() != null && r.key().startsWith("poison-"), got -> got.size() >= poison.size(), Duration.ofMinutes(2));
        Map<String, ConsumerRecord<String, byte[]>> byKey = dead.stream().collect(Collectors.toMap(ConsumerRecord::key, r -> r));
        assertEquals(poison.keySet(), byKey.keySet(), "every poison record, and only those, is dead-lettered");
        for (var e : expectedCodes.entrySet()) {
            ConsumerRecord<String, byte[]> r = byKey.get(e.getKey());
            assertEquals(e.getValue(), header(r, "dead-letter-code"), e.getKey());
            assertNotNull(header(r, "dead-letter-reason"), e.getKey());
            assertEquals(KafkaBroker.REQUESTS, header(r, "dead-letter-topic"));
            assertNotNull(header(r, "dead-letter-partition"));
            assertNotNull(header(r, "dead-letter-offset"));
            assertEquals(new String(poison.get(e.getKey()), StandardCharsets.UTF_8), new String(r.value(), StandardCharsets.UTF_8),
                    "the dead letter carries the original value");
            System.out.printf("%s -> %s: %s (%s attempt(s))%n", e.getKey(), header(r, "dead-letter-code"),
                    header(r, "dead-letter-reason"), header(r, "dead-letter-attempts"));
        }
        assertEquals("3", header(byKey.get("poison-503"), "dead-letter-attempts"), "a transient failure is retried, then dead-lettered");
        assertEquals("1", header(byKey.get("poison-404"), "dead-letter-attempts"), "a permanent failure is not retried");

        List<ConsumerRecord<String, byte[]>> results = KafkaBroker.consume(KafkaBroker.RESULTS,
                r -> r.key() != null && r.key().startsWith("poison-good-"), got -> got.size() >= good.size(), Duration.ofMinutes(2));
        assertEquals(new TreeMap<>(good.stream().collect(Collectors.toMap(g -> g, g -> g))).keySet(),
                results.stream().map(ConsumerRecord::key).collect(Collectors.toCollection(java.util.TreeSet::new)),
                "every good record is still captioned");
    }

    @Test
    void cloudEventRequestsGetCloudEventResultsInTheirOwnMode() throws Exception {
        String url = scene(3);
        try (KafkaProducer<String, byte[]> producer = KafkaBroker.producer()) {
            ProducerRecord<String, byte[]> binary = new ProducerRecord<>(KafkaBroker.REQUESTS, "ce-binary", json(Map.of("imageUrl", url)));
            binary.headers().add("ce_specversion", "1.0".getBytes(StandardCharsets.UTF_8));
            binary.headers().add("ce_id", "evt-binary".getBytes(StandardCharsets.UTF_8));
            binary.headers().add("ce_type", "dev.captionfn.caption.request".getBytes(StandardCharsets.UTF_8));
            binary.headers().add("ce_source", "/uploads".getBytes(StandardCharsets.UTF_8));
            binary.headers().add("content-type", "application/json".getBytes(StandardCharsets.UTF_8));
            producer.send(binary);
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("specversion", "1.0");
            event.put("id", "evt-structured");
            event.put("type", "dev.captionfn.caption.request");
            event.put("source", "/uploads");
            event.put("datacontenttype", "application/json");
            event.put("data", Map.of("imageUrl", url));
            ProducerRecord<String, byte[]> structured = new ProducerRecord<>(KafkaBroker.REQUESTS, "ce-structured", json(event));
            structured.headers().add("content-type", "application/cloudevents+json; charset=UTF-8".getBytes(StandardCharsets.UTF_8));
            producer.send(structured);
            producer.flush();
        }
        Map<String, ConsumerRecord<String, byte[]>> results = KafkaBroker.consume(KafkaBroker.RESULTS,
                        r -> r.key() != null && r.key().startsWith("ce-"), got -> got.size() >= 2, Duration.ofMinutes(1))
                .stream().collect(Collectors.toMap(ConsumerRecord::key, r -> r));

        ConsumerRecord<String, byte[]> binary = results.get("ce-binary");
        assertEquals("dev.captionfn.caption.result", header(binary, "ce_type"));
        assertEquals(url, header(binary, "ce_subject"));
        assertEquals("evt-binary", header(binary, "ce_correlationid"));
        assertEquals("evt-binary", header(binary, "correlationid"));
        assertEquals("evt-binary", tree(binary.value()).get("id").asText());
        assertTrue(!tree(binary.value()).get("caption").asText().isBlank());

        ConsumerRecord<String, byte[]> structured = results.get("ce-structured");
        assertEquals("application/cloudevents+json", header(structured, "content-type"));
        JsonNode envelope = tree(structured.value());
        assertEquals("dev.captionfn.caption.result", envelope.get("type").asText());
        assertEquals(url, envelope.get("subject").asText());
        assertEquals("evt-structured", envelope.get("correlationid").asText());
        assertTrue(!envelope.get("data").get("caption").asText().isBlank());
    }
}
