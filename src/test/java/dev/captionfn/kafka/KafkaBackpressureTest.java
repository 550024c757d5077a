package dev.captionfn.kafka;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.testing.GatedModelLoader;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.KafkaBroker;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Backpressure on the Kafka way in: while the instance cannot take more work (its model still
 * loading, its one place taken), the consumer stops fetching instead of piling records up or
 * dead-lettering them as OVERLOADED; HTTP meanwhile gets 429; once the model is ready every
 * record is captioned.
 */
@QuarkusTest
@TestProfile(KafkaBackpressureTest.SaturatedInstance.class)
class KafkaBackpressureTest {
    public static class SaturatedInstance implements QuarkusTestProfile {
        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(GatedModelLoader.class);
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(GatedModelLoader.ClosedAtStart.class), new TestResourceEntry(KafkaBroker.class));
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "captionfn.limits.max-in-flight", "1",
                    "captionfn.kafka.concurrency", "2",
                    "captionfn.kafka.max-poll-records", "2",
                    "captionfn.limits.max-beams", "1");
        }
    }

    private static final int RECORDS = 40;
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ImageServer server = ImageServer.get();

    @Inject
    KafkaClientService kafka;

    @AfterAll
    static void openTheGateWhateverHappened() {
        GatedModelLoader.open();
    }

    @Test
    void aSaturatedInstancePausesTheConsumerAndLaterCaptionsEveryRecord() throws Exception {
        try (KafkaProducer<String, byte[]> producer = KafkaBroker.producer()) {
            for (int i = 0; i < RECORDS; i++) {
                String image = server.image("tiny-reference/scene-%02d.png".formatted(i % 30));
                producer.send(new ProducerRecord<>(KafkaBroker.REQUESTS, "pressure-" + i,
                        JSON.writeValueAsBytes(Map.of("imageUrl", image, "id", "pressure-" + i))));
            }
            producer.flush();
        }

        Set<TopicPartition> paused = awaitPausedPartitions(Duration.ofSeconds(30));
        assertTrue(!paused.isEmpty(), "the consumer never paused while the instance was saturated");
        // the one place is held by a Kafka record waiting for the model: HTTP is told to come back later
        given().contentType(ContentType.JSON).body(Map.of("imageUrl", server.image("tiny-reference/scene-00.png")))
                .when().post("/caption")
                .then().statusCode(429).body("code", equalTo("OVERLOADED"));

        GatedModelLoader.open();
        List<ConsumerRecord<String, byte[]>> answers = KafkaBroker.consume(Set.of(KafkaBroker.RESULTS, KafkaBroker.DEAD_LETTERS),
                r -> r.key() != null && r.key().startsWith("pressure-"), got -> got.size() >= RECORDS, Duration.ofMinutes(2));
        long deadLetters = answers.stream().filter(r -> r.topic().equals(KafkaBroker.DEAD_LETTERS)).count();
        assertEquals(0, deadLetters, "no record was dead-lettered for the instance's overload");
        assertEquals(RECORDS, answers.size(), "every record was captioned once the model was ready");
    }

    private Set<TopicPartition> awaitPausedPartitions(Duration within) throws InterruptedException {
        long until = System.nanoTime() + within.toNanos();
        Set<TopicPartition> paused = Set.of();
        while (System.nanoTime() < until) {
            paused = kafka.getConsumer("caption-requests").paused().await().atMost(Duration.ofSeconds(5));
            if (!paused.isEmpty()) {
                return paused;
            }
            Thread.sleep(100);
        }
        return paused;
    }
}
