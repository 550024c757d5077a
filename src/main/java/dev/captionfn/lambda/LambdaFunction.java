package dev.captionfn.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.CaptionResult;
import dev.captionfn.caption.CaptionService;
import dev.captionfn.caption.RequestJson;
import io.quarkus.funqy.Funq;
import io.smallrye.mutiny.Uni;
import org.jboss.logging.Logger;

/**
 * The Lambda way in, exported as {@code caption} ({@code quarkus.funqy.export}): a direct
 * invocation takes the request JSON and returns the result JSON; an SQS event is split by Funqy
 * into one call per message, and the messages whose call failed are reported as batch item
 * failures. Failures are thrown as {@link CaptionFailed}, whose message starts with the error code.
 *
 * <p>Each caption and each failure is also logged: an SQS event source keeps only the batch item
 * failures of the answer, so without the log a queued request's caption, or why it failed (Funqy
 * reports the failure without its reason), would be seen nowhere.
 */
public class LambdaFunction {
    private static final Logger LOG = Logger.getLogger(LambdaFunction.class);

    private final CaptionService service;

    public LambdaFunction(CaptionService service) {
        this.service = service;
    }

    /** The request as parsed JSON, read here by RequestJson so that a wrong type is INVALID_REQUEST naming the field. */
    @Funq("caption")
    public Uni<CaptionResult> caption(JsonNode request) {
        return Uni.createFrom().item(() -> RequestJson.fromTree(request)).chain(service::caption)
                .onItem().invoke(r -> LOG.infof("captioned %s [id=%s]: %s", r.imageUrl(), r.id(), r.caption()))
                .onFailure(CaptionException.class).transform(e -> new CaptionFailed((CaptionException) e))
                .onFailure().invoke(e -> LOG.warn(e.getMessage()));
    }
}
