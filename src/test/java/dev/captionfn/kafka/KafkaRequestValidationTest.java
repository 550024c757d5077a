package dev.captionfn.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.KafkaBroker;
import dev.captionfn.testing.WrongTypes;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/**
 * On the Kafka way in, a request of the wrong shape or with a field of the wrong JSON type is
 * dead-lettered at once as INVALID_REQUEST, its reason naming the field and the type it needs, in
 * each of the three record shapes (plain, binary and structured CloudEvent); the same request
 * written with integral numbers, nulls and unknown fields is captioned.
 */
@QuarkusTest
@TestProfile(KafkaCaptioningTest.WithKafka.class)
class KafkaRequestValidationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String REQUEST_TYPE = "dev.captionfn.caption.request";
    private final ImageServer server = ImageServer.get();

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Test
    void aRecordOfTheWrongTypeIsDeadLetteredAsAnInvalidRequestNamingTheField() throws Exception {
        String image = server.image("tiny-reference/scene-05.png");
        Map<String, WrongTypes.Case> sent = new LinkedHashMap<>();
        try (KafkaProducer<String, byte[]> producer = KafkaBroker.producer()) {
            for (WrongTypes.Case c : WrongTypes.cases(image)) {
                sent.put("plain-" + c.what(), c);
                producer.send(new ProducerRecord<>(KafkaBroker.REQUESTS, "plain-" + c.what(), utf8(c.json())));

                sent.put("binary-" + c.what(), c);
                ProducerRecord<String, byte[]> binary = new ProducerRecord<>(KafkaBroker.REQUESTS, "binary-" + c.what(), utf8(c.json()));
                binary.headers().add("ce_specversion", utf8("1.0"));
                binary.headers().add("ce_id", utf8("evt-" + c.what()));
                binary.headers().add("ce_type", utf8(REQUEST_TYPE));
                binary.headers().add("ce_source", utf8("/uploads"));
                binary.headers().add("content-type", utf8("application/json"));
                producer.send(binary);

                sent.put("structured-" + c.what(), c);
                String event = "{\"specversion\": \"1.0\", \"id\": \"evt-" + c.what() + "\", \"type\": \"" + REQUEST_TYPE + "\","
                        + " \"source\": \"/uploads\", \"datacontenttype\": \"application/json\", \"data\": " + c.json() + "}";
                ProducerRecord<String, byte[]> structured = new ProducerRecord<>(KafkaBroker.REQUESTS, "structured-" + c.what(), utf8(event));
                structured.headers().add("content-type", utf8("application/cloudevents+json; charset=UTF-8"));
                producer.send(structured);
            }
            producer.send(new ProducerRecord<>(KafkaBroker.REQUESTS, "wt-accepted", utf8(WrongTypes.acceptedVariant(image, "wt-accepted"))));
            producer.flush();
        }

        Map<String, ConsumerRecord<String, byte[]>> dead = KafkaBroker.consume(KafkaBroker.DEAD_LETTERS,
                        r -> r.key() != null && sent.containsKey(r.key()), got -> got.size() >= sent.size(), Duration.ofMinutes(2))
                .stream().collect(Collectors.toMap(ConsumerRecord::key, r -> r, (a, b) -> a));
        assertEquals(sent.keySet(), dead.keySet(), "every record of the wrong type is dead-lettered");
        for (var e : sent.entrySet()) {
            ConsumerRecord<String, byte[]> r = dead.get(e.getKey());
            assertEquals("INVALID_REQUEST", header(r, "dead-letter-code"), e.getKey());
            assertEquals(e.getValue().message(), header(r, "dead-letter-reason"), e.getKey());
            assertEquals("0", header(r, "dead-letter-attempts"), e.getKey() + " is refused before any captioning");
        }

        List<ConsumerRecord<String, byte[]>> results = KafkaBroker.consume(KafkaBroker.RESULTS,
                r -> "wt-accepted".equals(r.key()), got -> !got.isEmpty(), Duration.ofMinutes(1));
        assertEquals(1, results.size());
        assertTrue(!JSON.readTree(results.get(0).value()).get("caption").asText().isBlank());
    }
}
