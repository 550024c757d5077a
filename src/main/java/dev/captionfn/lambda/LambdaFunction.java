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
 * The Lambda way in for direct invocations, exported as {@code caption} ({@code quarkus.funqy.export}):
 * the request JSON in, the result JSON out, a failure thrown as {@link CaptionFailed}, whose
 * message starts with the error code. An asynchronous invocation's answer goes to the function's
 * on-success or on-failure destination (deploy/lambda/template.yaml). An SQS event source feeds
 * {@link SqsFunction} instead, which publishes what it makes.
 *
 * <p>Each caption and each failure is also logged: an asynchronous invocation without destinations
 * keeps neither, and Funqy reports a failure without its reason.
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
