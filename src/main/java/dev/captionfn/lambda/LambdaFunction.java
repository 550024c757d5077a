package dev.captionfn.lambda;

import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.CaptionRequest;
import dev.captionfn.caption.CaptionResult;
import dev.captionfn.caption.CaptionService;
import io.quarkus.funqy.Funq;
import io.smallrye.mutiny.Uni;

/**
 * The Lambda way in, exported as {@code caption} ({@code quarkus.funqy.export}): a direct
 * invocation takes the request JSON and returns the result JSON; an SQS event is split by Funqy
 * into one call per message, and the messages whose call failed are reported as batch item
 * failures. Failures are thrown as {@link CaptionFailed}, whose message starts with the error code.
 */
public class LambdaFunction {
    private final CaptionService service;

    public LambdaFunction(CaptionService service) {
        this.service = service;
    }

    @Funq("caption")
    public Uni<CaptionResult> caption(CaptionRequest request) {
        return service.caption(request).onFailure(CaptionException.class).transform(e -> new CaptionFailed((CaptionException) e));
    }
}
