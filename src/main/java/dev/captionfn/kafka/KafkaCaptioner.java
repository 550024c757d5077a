package dev.captionfn.kafka;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.CaptionResult;
import dev.captionfn.caption.CaptionService;
import dev.captionfn.caption.Causes;
import dev.captionfn.config.CaptionfnConfig;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * The Kafka way in, a thin adapter over the captioning service: each request record becomes a
 * result record or a dead letter, and its offset is committed only after that record is on the
 * broker, so a crash at any point re-delivers rather than loses it (at-least-once).
 *
 * <p>Order and parallelism come from the connector (application.properties): records of one key
 * are handed over one after another, records of different keys side by side on at most
 * {@code captionfn.kafka.concurrency} worker threads; while those are busy the connector stops
 * fetching. A record never meets OVERLOADED: when the instance's places are all taken (HTTP traffic
 * on the same instance), its worker waits for one, and the connector pauses. Transient failures are retried here with exponential backoff, holding the key's later
 * records back, and dead-lettered once the retries are spent. Nothing a record contains stops the
 * stream; only a result that cannot be written to the broker does, and then the record is
 * re-delivered after the restart.
 */
@ApplicationScoped
public class KafkaCaptioner {
    static final String REQUESTS = "caption-requests";
    static final String RESULTS = "captions";
    static final String WORKERS = "captionfn-kafka";
    private static final Logger LOG = Logger.getLogger(KafkaCaptioner.class);

    private final CaptionService service;
    private final MutinyEmitter<byte[]> out;
    private final CaptionfnConfig config;
    private final ObjectMapper json;
    private final Replies replies;

    public KafkaCaptioner(CaptionService service, @Channel(RESULTS) MutinyEmitter<byte[]> out, CaptionfnConfig config,
            ObjectMapper json) {
        this.service = service;
        this.out = out;
        this.config = config;
        this.json = json;
        this.replies = new Replies(json, config);
    }

    @Incoming(REQUESTS)
    @Blocking(value = WORKERS, ordered = false)
    public void caption(byte[] value, IncomingKafkaRecordMetadata<String, byte[]> record) {
        String recordId = record.getTopic() + "-" + record.getPartition() + "-" + record.getOffset();
        AtomicInteger attempts = new AtomicInteger();
        Message<byte[]> reply;
        try {
            RequestRecord request = RequestRecord.parse(value, record.getHeaders(), config.events().requestType(), recordId, json);
            CaptionResult result = captionWithRetries(request, attempts);
            reply = replies.result(record.getKey(), request, result);
        } catch (CaptionException e) {
            LOG.debugf("dead-lettering %s after %d attempt(s): %s %s", recordId, attempts.get(), e.code(), e.getMessage());
            reply = replies.deadLetter(value, record, e, attempts.get());
        }
        // returns once the broker has the record: only then may the offset be committed
        out.sendMessageAndAwait(reply);
    }

    private CaptionResult captionWithRetries(RequestRecord request, AtomicInteger attempts) {
        var retry = config.kafka().retry();
        return Uni.createFrom().deferred(() -> {
                    attempts.incrementAndGet();
                    return service.captionWhenAdmitted(request.request());
                })
                .onFailure(KafkaCaptioner::isTransient)
                .retry().withBackOff(retry.initialBackoff(), retry.maxBackoff()).atMost(retry.maxRetries())
                .onFailure().transform(Causes::asCaptionException)
                .await().indefinitely();
    }

    private static boolean isTransient(Throwable t) {
        return t instanceof CaptionException e && e.code().isTransient();
    }
}
