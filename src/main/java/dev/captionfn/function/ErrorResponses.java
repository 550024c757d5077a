package dev.captionfn.function;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.ErrorCode;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Turns every failed request into the error contract's JSON {code, message, id} with the code's
 * HTTP status, instead of Quarkus's default error page: Funqy fails the routing context with
 * whatever the function threw, or with a bare status for a body it could not read.
 */
@ApplicationScoped
public class ErrorResponses {
    private static final Logger LOG = Logger.getLogger(ErrorResponses.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    void install(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE).failureHandler(this::handle);
    }

    void handle(RoutingContext ctx) {
        if (ctx.response().ended()) {
            return;
        }
        Throwable failure = unwrap(ctx.failure());
        ErrorCode code;
        String message;
        if (failure instanceof CaptionException e) {
            code = e.code();
            message = e.getMessage();
        } else if (failure == null && ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
            code = ErrorCode.INVALID_REQUEST;
            message = statusMessage(ctx.statusCode());
        } else {
            code = ErrorCode.INTERNAL;
            message = "unexpected error: " + (failure == null ? "HTTP " + ctx.statusCode() : failure.getClass().getSimpleName());
            LOG.error("unexpected failure", failure);
        }
        int status = failure == null && ctx.statusCode() >= 400 && ctx.statusCode() < 500 ? ctx.statusCode() : code.httpStatus();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("code", code.name());
        body.put("message", message);
        body.put("id", failure instanceof CaptionException e && e.requestId() != null ? e.requestId() : ctx.request().getHeader("ce-id"));
        try {
            ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                    .end(JSON.writeValueAsString(body));
        } catch (Exception e) {
            ctx.response().setStatusCode(500).end();
        }
    }

    private static String statusMessage(int status) {
        return switch (status) {
            case 400 -> "the request body is not a valid caption request (JSON object with imageUrl, prompt, id, options)";
            case 404 -> "no function here: POST JSON to /caption, or a CloudEvent of the request type to /";
            case 405 -> "use POST";
            case 406 -> "unsupported content type: send application/json or a CloudEvent";
            case 413 -> "the request body is too large: send the image's URL, not the image";
            default -> "HTTP " + status;
        };
    }

    private static Throwable unwrap(Throwable t) {
        Throwable cur = t;
        while (cur != null && !(cur instanceof CaptionException) && cur.getCause() != null && cur.getCause() != cur) {
            cur = cur.getCause();
        }
        return cur instanceof CaptionException ? cur : t;
    }
}
