package dev.captionfn.function;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.Causes;
import dev.captionfn.caption.ErrorBody;
import dev.captionfn.caption.ErrorCode;
import dev.captionfn.caption.OutgoingEvent;
import dev.captionfn.config.CaptionfnConfig;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.jboss.logging.Logger;

/**
 * The error contract, in one place for every failed request (Funqy fails the routing context with
 * whatever the function threw, or with a bare status for a body it could not read):
 *
 * <ul>
 *   <li>plain HTTP: the code's status and {@code {code, message, id}};
 *   <li>a CloudEvent with a permanent failure: HTTP 200 and an error event of the error type, in
 *       the request's mode (binary or structured), so that the broker delivers the verdict
 *       instead of retrying what would fail again;
 *   <li>a CloudEvent with a transient failure: the code's 5xx or 429 with the JSON body, so that
 *       the broker retries and finally dead-letters it.
 * </ul>
 */
@ApplicationScoped
public class ErrorResponses {
    private static final Logger LOG = Logger.getLogger(ErrorResponses.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Seconds a client should wait after OVERLOADED before trying again. */
    static final String RETRY_AFTER_SECONDS = "1";

    private final CaptionfnConfig.Events events;

    public ErrorResponses(CaptionfnConfig config) {
        this.events = config.events();
    }

    void install(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE).failureHandler(this::handle);
        // Funqy would read a GET's query string into the function's input by rules of its own; a
        // request is read one way only (RequestJson, from a POST's JSON), so GET is refused here
        router.getWithRegex("/(caption|captionEvent)/?").order(Integer.MIN_VALUE).handler(ctx -> ctx.fail(405));
    }

    /** A failure as the contract names it. */
    record Failure(ErrorCode code, String message, String id, String imageUrl, int status) {
        Map<String, Object> body() {
            return new ErrorBody(code, message, id, imageUrl).json();
        }
    }

    void handle(RoutingContext ctx) {
        if (ctx.response().ended()) {
            return;
        }
        if (Causes.find(ctx.failure(), CancellationException.class).isPresent()) {
            // the caller hung up (CaptionFunction cancelled the caption): nobody is left to answer
            LOG.debugf("caller of %s went away before its answer", ctx.request().path());
            if (!ctx.response().closed()) {
                ctx.response().setStatusCode(499).end();
            }
            return;
        }
        Failure failure = describe(ctx);
        try {
            if (isCloudEvent(ctx.request()) && !failure.code().isTransient()) {
                writeErrorEvent(ctx, failure);
            } else {
                writeJson(ctx.response(), failure);
            }
        } catch (Exception e) {
            LOG.error("cannot write the error answer", e);
            ctx.response().setStatusCode(500).end();
        }
    }

    private static Failure describe(RoutingContext ctx) {
        Throwable thrown = Causes.find(ctx.failure(), CaptionException.class).map(Throwable.class::cast).orElse(ctx.failure());
        String ceId = ctx.request().getHeader("ce-id");
        int status = ctx.statusCode();
        if (thrown instanceof CaptionException e) {
            return new Failure(e.code(), e.getMessage(), e.requestId() != null ? e.requestId() : ceId, e.imageUrl(), e.code().httpStatus());
        }
        if (Causes.find(thrown, JacksonException.class).isPresent()) {
            // a structured event that is not JSON: Funqy fails with what Jackson says
            return new Failure(ErrorCode.INVALID_REQUEST, statusMessage(400), ceId, null, 400);
        }
        if (thrown == null && status >= 400 && status < 500) {
            // Funqy's own refusals, which carry no reason: a body that is not JSON (the functions take
            // any JSON and read it with RequestJson, so a field of the wrong type is answered above
            // as a CaptionException naming it), no function for the path or event type
            return new Failure(ErrorCode.INVALID_REQUEST, statusMessage(status), ceId, null, status);
        }
        LOG.error("unexpected failure", thrown);
        String what = thrown == null ? "HTTP " + status : thrown.getClass().getSimpleName();
        return new Failure(ErrorCode.INTERNAL, "unexpected error: " + what, ceId, null, ErrorCode.INTERNAL.httpStatus());
    }

    private static void writeJson(HttpServerResponse response, Failure failure) throws Exception {
        response.setStatusCode(failure.status()).putHeader("Content-Type", "application/json");
        if (failure.code() == ErrorCode.OVERLOADED) {
            response.putHeader("Retry-After", RETRY_AFTER_SECONDS);
        }
        if (failure.status() == 405) {
            response.putHeader("Allow", "POST");
        }
        response.end(JSON.writeValueAsString(failure.body()));
    }

    private void writeErrorEvent(RoutingContext ctx, Failure failure) throws Exception {
        HttpServerResponse response = ctx.response().setStatusCode(200);
        OutgoingEvent event = new OutgoingEvent(events.errorType(), events.source(), failure.imageUrl(), failure.id());
        if (isStructured(ctx.request())) {
            response.putHeader("Content-Type", OutgoingEvent.STRUCTURED_CONTENT_TYPE)
                    .end(JSON.writeValueAsString(event.structured(failure.body())));
            return;
        }
        event.attributes().forEach((name, value) -> response.putHeader("ce-" + name, value));
        response.putHeader("Content-Type", OutgoingEvent.DATA_CONTENT_TYPE).end(JSON.writeValueAsString(failure.body()));
    }

    static boolean isCloudEvent(HttpServerRequest request) {
        return request.getHeader("ce-specversion") != null || isStructured(request);
    }

    private static boolean isStructured(HttpServerRequest request) {
        String type = request.getHeader("Content-Type");
        return type != null && type.toLowerCase(java.util.Locale.ROOT).startsWith(OutgoingEvent.STRUCTURED_CONTENT_TYPE);
    }

    private static String statusMessage(int status) {
        return switch (status) {
            case 400 -> "the request body is not JSON: send a JSON object with imageUrl, and optionally prompt, id and options";
            case 404 -> "no function here: POST JSON to /caption, or a CloudEvent of the request type to /";
            case 405 -> "use POST with the request as a JSON body";
            case 406 -> "unsupported content type: send application/json or a CloudEvent";
            case 413 -> "the request body is too large: send the image's URL, not the image";
            default -> "HTTP " + status;
        };
    }
}
