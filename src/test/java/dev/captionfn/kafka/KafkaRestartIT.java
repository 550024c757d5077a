package dev.captionfn.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.testing.AppProcess;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.KafkaBroker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/**
 * At-least-once across a crash: the packaged application, as its own process, consumes a backlog
 * from a real broker, is killed (SIGKILL, no shutdown at all) mid-stream and started again; every
 * request then has a result or a dead letter. Records processed but not yet committed before the
 * crash are processed again: those duplicates are allowed, and counted.
 */
class KafkaRestartIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int REQUESTS = 300;
    private static final int KEYS = 6;

    private final ImageServer server = ImageServer.get();

    @Test
    void aCrashMidStreamLosesNoRequest() throws Exception {
        String bootstrap = KafkaBroker.startBroker();
        Set<String> ids = new LinkedHashSet<>();
        try (KafkaProducer<String, byte[]> producer = KafkaBroker.producer()) {
            for (int i = 0; i < REQUESTS; i++) {
                String key = "restart-" + (i % KEYS);
                String id = key + "/" + i;
                ids.add(id);
                // every 25th a poison record: it must end on the dead-letter topic, not vanish
                Object request = i % 25 == 0 ? Map.of("imageUrl", "ftp://127.0.0.1/x.png", "id", id)
                        : Map.of("imageUrl", server.image("tiny-reference/scene-%02d.png".formatted(i % 30)), "id", id);
                producer.send(new ProducerRecord<>(KafkaBroker.REQUESTS, key, JSON.writeValueAsBytes(request)));
            }
            producer.flush();
        }
        String[] config = {
            "captionfn.kafka.enabled=true",
            "kafka.bootstrap.servers=" + bootstrap,
            "captionfn.fetch.allow-private-addresses=true",
            "captionfn.limits.max-beams=1",
            "captionfn.model.intra-op-threads=1",
            // a dead consumer's partitions move to the new one after this, not after the default 45 s
            "mp.messaging.incoming.caption-requests.session.timeout.ms=6000",
            "mp.messaging.incoming.caption-requests.heartbeat.interval.ms=1000",
            "quarkus.shutdown.delay=0s"
        };

        int beforeCrash;
        try (AppProcess first = AppProcess.start(config)) {
            beforeCrash = answered(ids, REQUESTS / 5, Duration.ofMinutes(2)).size();
            first.kill();
            assertTrue(first.waitForExit(30) != 0, "killed");
        }
        List<ConsumerRecord<String, byte[]>> answers;
        try (AppProcess second = AppProcess.start(config)) {
            answers = answered(ids, Integer.MAX_VALUE, Duration.ofMinutes(3));
        }

        Map<String, Integer> perId = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : answers) {
            perId.merge(correlation(r), 1, Integer::sum);
        }
        Set<String> missing = ids.stream().filter(id -> !perId.containsKey(id)).collect(Collectors.toCollection(LinkedHashSet::new));
        long duplicates = perId.values().stream().mapToInt(n -> n - 1).sum();
        long deadLetters = answers.stream().filter(r -> r.topic().equals(KafkaBroker.DEAD_LETTERS)).map(KafkaRestartIT::correlation)
                .distinct().count();
        System.out.printf("%d requests: %d answered before the crash, %d answers in all, %d dead letters, %d duplicates, %d missing%n",
                REQUESTS, beforeCrash, answers.size(), deadLetters, duplicates, missing.size());
        assertTrue(beforeCrash < REQUESTS, "the crash came mid-stream");
        assertEquals(Set.of(), missing, "every request has a result or a dead letter");
        assertEquals(REQUESTS / 25, deadLetters, "the poison records are dead-lettered");
    }

    /** The answers (results and dead letters) to these ids read so far, once at least {@code enough} distinct ids have one. */
    private static List<ConsumerRecord<String, byte[]>> answered(Set<String> ids, int enough, Duration within) {
        int target = Math.min(enough, ids.size());
        return KafkaBroker.consume(Set.of(KafkaBroker.RESULTS, KafkaBroker.DEAD_LETTERS),
                r -> ids.contains(correlation(r)),
                got -> got.stream().map(KafkaRestartIT::correlation).distinct().count() >= target,
                within);
    }

    private static String correlation(ConsumerRecord<String, byte[]> r) {
        Header h = r.headers().lastHeader("correlationid");
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
