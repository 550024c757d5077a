package dev.captionfn.function;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.CaptionRequest;
import dev.captionfn.caption.CaptionResult;
import dev.captionfn.caption.CaptionService;
import dev.captionfn.caption.Causes;
import dev.captionfn.caption.ErrorCode;
import dev.captionfn.caption.OutgoingEvent;
import dev.captionfn.caption.RequestJson;
import dev.captionfn.config.CaptionfnConfig;
import io.quarkus.funqy.Funq;
import io.quarkus.funqy.knative.events.CloudEvent;
import io.quarkus.funqy.knative.events.CloudEventBuilder;
import io.quarkus.vertx.http.runtime.CurrentVertxRequest;
import io.smallrye.mutiny.Uni;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The function's two doors over the one captioning service: {@code caption} for plain JSON
 * (POST /caption), and {@code captionEvent} for CloudEvents of the request type, which Knative
 * delivers to / (mapped in application.properties).
 *
 * <p>Both take the request as parsed JSON and read it with {@link RequestJson} here, rather than
 * letting Funqy bind a {@link CaptionRequest}: a binding failure inside Funqy becomes a bare 400
 * without its reason (and an ERROR line in the log), while a failure here is an INVALID_REQUEST
 * that names the field, answered like every other failure by {@link ErrorResponses}.
 */
public class CaptionFunction {
    private final CaptionService service;
    private final CaptionfnConfig.Events events;
    private final CurrentVertxRequest http;

    public CaptionFunction(CaptionService service, CaptionfnConfig config, CurrentVertxRequest http) {
        this.service = service;
        this.events = config.events();
        this.http = http;
    }

    @Funq
    public Uni<CaptionResult> caption(JsonNode body) {
        CaptionRequest request;
        try {
            request = RequestJson.fromTree(body);
        } catch (CaptionException e) {
            return Uni.createFrom().failure(e);
        }
        return whileCallerWaits(service.caption(request));
    }

    @Funq
    public Uni<CloudEvent<CaptionResult>> captionEvent(CloudEvent<JsonNode> event) {
        CaptionRequest request;
        try {
            JsonNode data = dataOf(event);
            if (data == null || data.isMissingNode()) {
                throw new CaptionException(ErrorCode.INVALID_REQUEST,
                        "the event has no data: send {\"imageUrl\": \"https://…\"} as its JSON data");
            }
            request = RequestJson.fromTree(data);
        } catch (CaptionException e) {
            // named by the event when its data names no id, as a caption of it would be
            return Uni.createFrom().failure(e.requestId() != null ? e : e.withRequest(event.id(), null));
        }
        // the event's id is the correlation id when the data names none
        return whileCallerWaits(service.caption(request.orId(event.id()))).map(result -> CloudEventBuilder.create()
                .type(events.resultType())
                .source(events.source())
                .subject(result.imageUrl())
                .extensions(Map.of(OutgoingEvent.CORRELATION, result.id()))
                .build(result));
    }

    /** A binary event's data is parsed only when asked for: data that is not JSON fails here. */
    private static JsonNode dataOf(CloudEvent<JsonNode> event) {
        try {
            return event.data();
        } catch (RuntimeException e) {
            throw Causes.find(e, JacksonException.class).map(j -> RequestJson.notJson("the event's data", j)).orElseThrow(() -> e);
        }
    }

    /**
     * Funqy does not cancel a function's Uni when the caller disconnects: this does, so that a
     * caller that gave up (a client timeout, the broker's delivery timeout) frees its place and
     * its rows in the model's batch.
     */
    private <T> Uni<T> whileCallerWaits(Uni<T> work) {
        RoutingContext context = http.getCurrent();
        if (context == null) {
            return work;
        }
        CompletableFuture<T> answer = work.subscribeAsCompletionStage();
        context.response().closeHandler(closed -> answer.cancel(false));
        return Uni.createFrom().completionStage(answer);
    }
}
