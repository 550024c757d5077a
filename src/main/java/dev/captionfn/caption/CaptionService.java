package dev.captionfn.caption;

import dev.captionfn.config.CaptionfnConfig;
import dev.captionfn.fetch.ImageFetcher;
import dev.captionfn.image.ImageDecodeException;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.image.RgbImage;
import dev.captionfn.model.LoadedModel;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

/**
 * The one captioning service behind every way in: admit the request, fetch the image, wait for the
 * model if it is still warming up, decode and preprocess the image, tokenize the instruction, run
 * the model, decode the caption. Every outcome is counted in {@link CaptionMetrics}.
 */
@ApplicationScoped
public class CaptionService {
    private static final Logger LOG = Logger.getLogger(CaptionService.class);

    private final ServedModel served;
    private final ImageFetcher fetcher;
    private final CaptionfnConfig.Limits limits;
    private final CaptionMetrics metrics;
    private final ImageDecoder decoder = new ImageDecoder();

    public CaptionService(ServedModel served, ImageFetcher fetcher, CaptionfnConfig config, CaptionMetrics metrics) {
        this.served = served;
        this.fetcher = fetcher;
        this.limits = config.limits();
        this.metrics = metrics;
    }

    public Uni<CaptionResult> caption(CaptionRequest request) {
        return Uni.createFrom().deferred(() -> admitted(request))
                .onItem().invoke(result -> LOG.debugf("captioned %s: %s", result.imageUrl(), result.caption()))
                .onFailure().invoke(e -> metrics.failed(e instanceof CaptionException c ? c.code() : ErrorCode.INTERNAL));
    }

    private Uni<CaptionResult> admitted(CaptionRequest request) {
        long start = System.nanoTime();
        PreparedRequest prepared;
        try {
            prepared = PreparedRequest.of(request, served.manifest(), limits);
        } catch (CaptionException e) {
            return Uni.createFrom().failure(request == null ? e : e.withRequest(request.id(), request.imageUrl()));
        }
        String url = prepared.url().toString();
        if (metrics.inFlight().incrementAndGet() > limits.maxInFlight()) {
            metrics.inFlight().decrementAndGet();
            return Uni.createFrom().failure(new CaptionException(ErrorCode.OVERLOADED,
                    "this instance already holds " + limits.maxInFlight() + " requests; retry later").withRequest(prepared.id(), url));
        }
        return Uni.createFrom().completionStage(() -> fetcher.fetch(prepared.url()))
                .onItem().transformToUni(bytes -> {
                    long fetched = System.nanoTime();
                    return Uni.createFrom().completionStage(served::whenReady).map(model -> new Fetched(model, bytes, fetched));
                })
                // decoding and the model block: off the event loop
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .map(fetched -> caption(prepared, fetched, start))
                .onFailure().transform(e -> asCaptionException(e).withRequest(prepared.id(), url))
                .onTermination().invoke(() -> metrics.inFlight().decrementAndGet());
    }

    private record Fetched(LoadedModel model, byte[] bytes, long at) {}

    private static CaptionException asCaptionException(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CaptionException e) {
                return e;
            }
        }
        LOG.error("unexpected failure while captioning", failure);
        return new CaptionException(ErrorCode.INTERNAL, "unexpected error: " + failure.getClass().getSimpleName(), failure);
    }

    private CaptionResult caption(PreparedRequest request, Fetched fetched, long start) {
        RgbImage image;
        try {
            image = decoder.decode(fetched.bytes(), limits.maxPixels());
        } catch (ImageDecodeException e) {
            throw new CaptionException(ErrorCodes.of(e.error()), e.getMessage(), e);
        }
        long decoded = System.nanoTime();
        CaptionPipeline.Captioned out;
        try {
            out = CaptionPipeline.run(fetched.model(), image, request.prompt(), request.options());
        } catch (CaptionException e) {
            LOG.errorf(e, "model failure on %s", request.url());
            throw e;
        }
        long end = System.nanoTime();
        Timings timings = new Timings(
                Timings.ms(fetched.at() - start), Timings.ms(decoded - fetched.at()), Timings.ms(out.preprocessNanos()),
                Timings.ms(out.visionNanos()), Timings.ms(out.generateNanos()), Timings.ms(end - start));
        metrics.captioned(timings, out.tokens());
        return new CaptionResult(request.id(), request.url().toString(), out.caption(), fetched.model().manifest().id(),
                request.prompt(), timings);
    }
}
