package dev.captionfn.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.smallrye.reactive.messaging.kafka.companion.test.EmbeddedKafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A real Kafka broker (KRaft, from Maven jars) on loopback, started once per test JVM, with the
 * function's three topics; plus the plain Kafka clients the tests produce and consume with.
 */
public final class KafkaBroker implements QuarkusTestResourceLifecycleManager {
    public static final String REQUESTS = "caption-requests";
    public static final String RESULTS = "captions";
    public static final String DEAD_LETTERS = "caption-requests-dlq";
    public static final int PARTITIONS = 4;

    private static EmbeddedKafkaBroker broker;

    /** Starts the broker if this JVM has none yet; returns its bootstrap servers. */
    public static synchronized String startBroker() {
        if (broker == null) {
            broker = new EmbeddedKafkaBroker()
                    .withKafkaHost("127.0.0.1")
                    .withAdditionalProperties(p -> {
                        p.put("num.partitions", Integer.toString(PARTITIONS));
                        p.put("group.initial.rebalance.delay.ms", "0");
                    })
                    .start();
            createTopics();
        }
        return bootstrapServers();
    }

    public static String bootstrapServers() {
        String listeners = broker.getAdvertisedListeners();
        return listeners.substring(listeners.indexOf("//") + 2);
    }

    private static void createTopics() {
        Properties config = new Properties();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        try (Admin admin = Admin.create(config)) {
            admin.createTopics(List.of(
                    new NewTopic(REQUESTS, PARTITIONS, (short) 1),
                    new NewTopic(RESULTS, PARTITIONS, (short) 1),
                    new NewTopic(DEAD_LETTERS, 1, (short) 1))).all().get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot create the test topics", e);
        }
    }

    @Override
    public Map<String, String> start() {
        return Map.of("kafka.bootstrap.servers", startBroker(), "captionfn.kafka.enabled", "true");
    }

    @Override
    public void stop() {
        // one broker for the whole test JVM: later test classes reuse it
    }

    public static KafkaProducer<String, byte[]> producer() {
        Properties config = new Properties();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(config);
    }

    /**
     * Reads {@code topic} from the start until {@code until} holds for what was read (records not
     * matching {@code keep} are skipped), or the time is up.
     */
    public static List<ConsumerRecord<String, byte[]>> consume(String topic, Predicate<ConsumerRecord<String, byte[]>> keep,
            Predicate<List<ConsumerRecord<String, byte[]>>> until, Duration within) {
        return consume(Set.of(topic), keep, until, within);
    }

    /** The same over several topics, read together. */
    public static List<ConsumerRecord<String, byte[]>> consume(Set<String> topics, Predicate<ConsumerRecord<String, byte[]>> keep,
            Predicate<List<ConsumerRecord<String, byte[]>>> until, Duration within) {
        Properties config = new Properties();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + java.util.UUID.randomUUID());
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        long end = System.nanoTime() + within.toNanos();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config)) {
            consumer.subscribe(topics);
            while (System.nanoTime() < end && !until.test(records)) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (keep.test(r)) {
                        records.add(r);
                    }
                }
            }
        }
        return records;
    }

}
