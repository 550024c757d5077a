package dev.captionfn.lambda;

import com.amazonaws.services.lambda.runtime.events.SQSEvent.SQSMessage;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.CaptionRequest;
import dev.captionfn.caption.CaptionResult;
import dev.captionfn.caption.CaptionService;
import dev.captionfn.caption.ErrorBody;
import dev.captionfn.caption.ErrorCode;
import dev.captionfn.caption.OutgoingEvent;
import dev.captionfn.caption.RequestJson;
import dev.captionfn.config.CaptionfnConfig;
import io.quarkus.funqy.Funq;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The Lambda way in for an SQS event source, exported as {@value #NAME}
 * ({@code QUARKUS_FUNQY_EXPORT=caption-sqs}). Funqy splits the SQS event into one call per
 * message and hands each message over whole, because this function takes Lambda's own
 * {@link SQSMessage}: the body is the request JSON, and the message id goes into the answer.
 *
 * <p>An event source mapping drops whatever a function returns, so each message's outcome is
 * published to the result queue ({@link ResultQueue}) as a structured CloudEvent, before the
 * message counts as done:
 *
 * <ul>
 *   <li>a caption: an event of the result type ({@code captionfn.events.result-type}), the result
 *       JSON as its data;
 *   <li>a permanent failure (INVALID_REQUEST, URL_NOT_ALLOWED, NOT_AN_IMAGE, …): an event of the
 *       error type ({@code captionfn.events.error-type}), {@code {code, message, id, imageUrl}} as
 *       its data, as the HTTP way in answers a CloudEvent; retrying would fail the same way, so the
 *       message is done;
 *   <li>a transient failure (UPSTREAM_ERROR, UPSTREAM_TIMEOUT, DEADLINE_EXCEEDED, …): nothing is
 *       published and the call fails, so that Funqy reports the message in
 *       {@code batchItemFailures}: SQS delivers it again after the visibility timeout, and its
 *       redrive policy dead-letters it after the last receive (the Kafka way in retries, then
 *       dead-letters, the same codes);
 *   <li>an event that SQS does not take: the call fails too, and the message is received again, so
 *       that no outcome is lost, only made twice.
 * </ul>
 *
 * <p>Every event carries the request's id as {@value OutgoingEvent#CORRELATION} (a request without
 * an id, or whose body cannot be read, is known by its message id, which stays the same across
 * receives) and the SQS message id as {@value #MESSAGE_ID}.
 */
public class SqsFunction {
    static final String NAME = "caption-sqs";
    /** CloudEvents extension with the id of the SQS message the event answers (lowercase alphanumerics, as the spec requires). */
    static final String MESSAGE_ID = "sqsmessageid";
    private static final Logger LOG = Logger.getLogger(SqsFunction.class);

    private final CaptionService service;
    private final ResultQueue results;
    private final ObjectMapper json;
    private final CaptionfnConfig.Events events;

    public SqsFunction(CaptionService service, ResultQueue results, ObjectMapper json, CaptionfnConfig config) {
        this.service = service;
        this.results = results;
        this.json = json;
        this.events = config.events();
    }

    @Funq(NAME)
    public Uni<Void> captionMessage(SQSMessage message) {
        String messageId = message.getMessageId();
        return Uni.createFrom().deferred(() -> service.caption(request(message)))
                // publishing blocks on SQS: never on an event loop, where a fetch failure may arrive
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .onItemOrFailure().transformToUni((result, failure) -> {
                    if (failure == null) {
                        publish(result(result, messageId), result.id(), messageId);
                        LOG.infof("captioned %s [id=%s, message %s]: %s", result.imageUrl(), result.id(), messageId,
                                result.caption());
                        return Uni.createFrom().voidItem();
                    }
                    CaptionException e = asCaptionException(failure, messageId);
                    if (e.code().isTransient()) {
                        // a plain failure puts the message in batchItemFailures
                        CaptionFailed failed = new CaptionFailed(e);
                        LOG.warnf("%s; message %s is left for SQS to deliver again", failed.getMessage(), messageId);
                        return Uni.createFrom().failure(failed);
                    }
                    publish(error(e, messageId), e.requestId(), messageId);
                    LOG.infof("%s; error event published for message %s", new CaptionFailed(e).getMessage(), messageId);
                    return Uni.createFrom().voidItem();
                });
    }

    /** The request in the body, known by the message id unless it names its own. */
    private CaptionRequest request(SQSMessage message) {
        String body = message.getBody();
        CaptionRequest r = RequestJson.read(json, body == null ? null : body.getBytes(StandardCharsets.UTF_8));
        return r.orId(message.getMessageId());
    }

    private Map<String, Object> result(CaptionResult result, String messageId) {
        OutgoingEvent event = new OutgoingEvent(events.resultType(), events.source(), result.imageUrl(), result.id());
        return withMessageId(event.structured(result), messageId);
    }

    /** The data as the HTTP way in's error event carries it. */
    private Map<String, Object> error(CaptionException e, String messageId) {
        OutgoingEvent event = new OutgoingEvent(events.errorType(), events.source(), e.imageUrl(), e.requestId());
        return withMessageId(event.structured(ErrorBody.of(e).json()), messageId);
    }

    private static Map<String, Object> withMessageId(Map<String, Object> event, String messageId) {
        if (messageId != null) {
            event.put(MESSAGE_ID, messageId);
        }
        return event;
    }

    /** Returns once SQS has the event; otherwise fails the call, so that the message is received again. */
    private void publish(Map<String, Object> event, String requestId, String messageId) {
        String body;
        try {
            body = json.writeValueAsString(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the event as JSON", e);
        }
        try {
            results.send(body);
        } catch (RuntimeException e) {
            LOG.errorf("cannot publish the %s event of message %s [id=%s] to the result queue, so the message is left "
                    + "for SQS to deliver again: %s", event.get("type"), messageId, requestId, e.toString());
            throw e;
        }
    }

    /** The failure with the request it belongs to: a body that cannot be read is known by its message id. */
    private static CaptionException asCaptionException(Throwable failure, String messageId) {
        CaptionException e = failure instanceof CaptionException c ? c
                : new CaptionException(ErrorCode.INTERNAL, "unexpected error: " + failure.getClass().getSimpleName(), failure);
        return e.requestId() == null ? e.withRequest(messageId, null) : e;
    }
}
