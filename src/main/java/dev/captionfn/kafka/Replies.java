package dev.captionfn.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.CaptionResult;
import dev.captionfn.caption.OutgoingEvent;
import dev.captionfn.config.CaptionfnConfig;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * The records the processor writes: a result on the result topic, in the request's own shape (a
 * CloudEvent in the same mode when the request was one), or a dead letter on the dead-letter
 * topic. Both keep the request's key, so that a key's answers stay in one partition, in order.
 */
final class Replies {
    // the dead-letter headers SmallRye's own dead-letter queue writes, plus the error code
    static final String DLQ_CODE = "dead-letter-code";
    static final String DLQ_REASON = "dead-letter-reason";
    static final String DLQ_TOPIC = "dead-letter-topic";
    static final String DLQ_PARTITION = "dead-letter-partition";
    static final String DLQ_OFFSET = "dead-letter-offset";
    static final String DLQ_ATTEMPTS = "dead-letter-attempts";

    private final ObjectMapper json;
    private final CaptionfnConfig.Events events;
    private final String deadLetterTopic;

    Replies(ObjectMapper json, CaptionfnConfig config) {
        this.json = json;
        this.events = config.events();
        this.deadLetterTopic = config.kafka().deadLetterTopic();
    }

    Message<byte[]> result(String key, RequestRecord request, CaptionResult result) {
        RecordHeaders headers = new RecordHeaders();
        put(headers, OutgoingEvent.CORRELATION, result.id());
        byte[] value;
        OutgoingEvent event = new OutgoingEvent(events.resultType(), events.source(), result.imageUrl(), result.id());
        switch (request.mode()) {
            case BINARY_EVENT -> {
                event.attributes().forEach((name, v) -> put(headers, RequestRecord.CE_PREFIX + name, v));
                put(headers, RequestRecord.CONTENT_TYPE, OutgoingEvent.DATA_CONTENT_TYPE);
                value = bytes(result);
            }
            case STRUCTURED_EVENT -> {
                put(headers, RequestRecord.CONTENT_TYPE, OutgoingEvent.STRUCTURED_CONTENT_TYPE);
                value = bytes(event.structured(result));
            }
            default -> {
                put(headers, RequestRecord.CONTENT_TYPE, OutgoingEvent.DATA_CONTENT_TYPE);
                value = bytes(result);
            }
        }
        return Message.of(value).addMetadata(OutgoingKafkaRecordMetadata.<String>builder()
                .withKey(key).withHeaders(headers).build());
    }

    /**
     * The request record as it came (value and headers, so a CloudEvent stays one), with why it
     * failed and where it came from.
     */
    Message<byte[]> deadLetter(byte[] value, IncomingKafkaRecordMetadata<String, byte[]> from, CaptionException failure,
            int attempts) {
        RecordHeaders headers = new RecordHeaders();
        for (Header h : from.getHeaders()) {
            headers.add(h);
        }
        if (failure.requestId() != null) {
            put(headers, OutgoingEvent.CORRELATION, failure.requestId());
        }
        put(headers, DLQ_CODE, failure.code().name());
        put(headers, DLQ_REASON, failure.getMessage());
        put(headers, DLQ_TOPIC, from.getTopic());
        put(headers, DLQ_PARTITION, Integer.toString(from.getPartition()));
        put(headers, DLQ_OFFSET, Long.toString(from.getOffset()));
        put(headers, DLQ_ATTEMPTS, Integer.toString(attempts));
        return Message.of(value == null ? new byte[0] : value).addMetadata(OutgoingKafkaRecordMetadata.<String>builder()
                .withTopic(deadLetterTopic).withKey(from.getKey()).withHeaders(headers).build());
    }

    private byte[] bytes(Object value) {
        try {
            return json.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    private static void put(RecordHeaders headers, String name, String value) {
        headers.remove(name);
        if (value != null) {
            headers.add(name, value.getBytes(StandardCharsets.UTF_8));
        }
    }
}
