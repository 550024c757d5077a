package dev.captionfn.caption;

import dev.captionfn.config.CaptionfnConfig;
import dev.captionfn.fetch.FetchException;
import dev.captionfn.fetch.ImageFetcher;
import dev.captionfn.image.ImageDecodeException;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.image.RgbImage;
import dev.captionfn.batch.MicroBatcher;
import dev.captionfn.model.ModelRunException;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * The one captioning service behind every way in: admit the request (a place in the bounded queue,
 * {@link Admission}), fetch the image, wait for the model if it is still warming up, decode and
 * preprocess the image, tokenize the instruction, hand it to the batcher, which runs it with
 * whatever else arrived together, decode the caption. Every outcome is counted in
 * {@link CaptionMetrics}.
 *
 * <p>A request leaves early, freeing its place, when its caller cancels the returned Uni (an HTTP
 * client that disconnected) or when {@code captionfn.limits.deadline} passes: queued, it is never
 * run; in a running batch, its rows leave at the next decoder step.
 */
@ApplicationScoped
public class CaptionService {
    private static final Logger LOG = Logger.getLogger(CaptionService.class);

    private final ServedModel served;
    private final ImageFetcher fetcher;
    private final Admission admission;
    private final CaptionfnConfig.Limits limits;
    private final CaptionMetrics metrics;
    private final ImageDecoder decoder = new ImageDecoder();

    public CaptionService(ServedModel served, ImageFetcher fetcher, Admission admission, CaptionfnConfig config,
            CaptionMetrics metrics) {
        this.served = served;
        this.fetcher = fetcher;
        this.admission = admission;
        this.limits = config.limits();
        this.metrics = metrics;
    }

    /** Captions one request, or answers OVERLOADED at once when every place is taken. */
    public Uni<CaptionResult> caption(CaptionRequest request) {
        return caption(request, false);
    }

    /**
     * Captions one request, waiting for a place when every one is taken instead of answering
     * OVERLOADED: for callers on worker threads that pull their own work (the Kafka consumer). The
     * wait blocks the thread that subscribes.
     */
    public Uni<CaptionResult> captionWhenAdmitted(CaptionRequest request) {
        return caption(request, true);
    }

    private Uni<CaptionResult> caption(CaptionRequest request, boolean waitForPlace) {
        return Uni.createFrom().deferred(() -> admitted(request, waitForPlace))
                .onItem().invoke(result -> LOG.debugf("captioned %s: %s", result.imageUrl(), result.caption()))
                .onFailure().invoke(e -> metrics.failed(e instanceof CaptionException c ? c.code() : ErrorCode.INTERNAL))
                .onCancellation().invoke(metrics::abandoned);
    }

    private Uni<CaptionResult> admitted(CaptionRequest request, boolean waitForPlace) {
        long start = System.nanoTime();
        PreparedRequest prepared;
        try {
            prepared = PreparedRequest.of(request, served.manifest(), limits);
        } catch (CaptionException e) {
            return Uni.createFrom().failure(request == null ? e : e.withRequest(request.id(), request.imageUrl()));
        }
        String url = prepared.url().toString();
        if (!enter(waitForPlace)) {
            return Uni.createFrom().failure(new CaptionException(ErrorCode.OVERLOADED,
                    "this instance already holds " + admission.places() + " requests; retry later").withRequest(prepared.id(), url));
        }
        Request r = new Request(prepared, start);
        Duration deadline = limits.deadline();
        return Uni.createFrom().completionStage(() -> fetcher.fetch(prepared.url()))
                .onFailure(FetchException.class).transform(e ->
                        new CaptionException(ErrorCodes.of(((FetchException) e).error()), e.getMessage(), e))
                .onItem().transformToUni(bytes -> {
                    r.fetched = System.nanoTime();
                    return Uni.createFrom().completionStage(served::whenReadyToCaption).map(model -> new Fetched(model, bytes));
                })
                // decoding and preprocessing take CPU: off the event loop
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .map(fetched -> toModelInput(r, fetched))
                .onItem().transformToUni(input -> generate(r, input))
                // the batcher completes on its own thread, which must go on to the next batch
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .map(generated -> result(r, generated))
                .ifNoItem().after(deadline).failWith(() -> new CaptionException(ErrorCode.DEADLINE_EXCEEDED,
                        "not answered within " + deadline.toMillis() + " ms (captionfn.limits.deadline)"))
                .onFailure().transform(e -> asCaptionException(e).withRequest(prepared.id(), url))
                .onTermination().invoke(() -> {
                    r.arrived();
                    admission.leave();
                });
    }

    private boolean enter(boolean waitForPlace) {
        if (!waitForPlace) {
            return admission.tryEnter();
        }
        try {
            admission.enter();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CaptionException(ErrorCode.OVERLOADED, "interrupted while waiting for a place");
        }
    }

    /** One admitted request on its way through the stages. */
    private final class Request {
        final PreparedRequest prepared;
        final long start;
        final AtomicBoolean arrived = new AtomicBoolean();
        final AtomicReference<CompletableFuture<MicroBatcher.Generated>> inBatcher = new AtomicReference<>();
        volatile long fetched;
        volatile long decoded;
        volatile long preprocessNanos;
        volatile ReadyModel model;

        Request(PreparedRequest prepared, long start) {
            this.prepared = prepared;
            this.start = start;
        }

        /** It reached the model's queue or ended before; either way it is no longer on its way. */
        void arrived() {
            if (arrived.compareAndSet(false, true)) {
                admission.arrived();
            }
        }
    }

    private record Fetched(ReadyModel model, byte[] bytes) {}

    private CaptionPipeline.Prepared toModelInput(Request r, Fetched fetched) {
        r.model = fetched.model();
        RgbImage image;
        try {
            image = decoder.decode(fetched.bytes(), limits.maxPixels());
        } catch (ImageDecodeException e) {
            throw new CaptionException(ErrorCodes.of(e.error()), e.getMessage(), e);
        }
        r.decoded = System.nanoTime();
        CaptionPipeline.Prepared prepared = CaptionPipeline.prepare(r.model.model(), image, r.prepared.prompt(), r.prepared.options());
        r.preprocessNanos = prepared.preprocessNanos();
        return prepared;
    }

    private Uni<MicroBatcher.Generated> generate(Request r, CaptionPipeline.Prepared input) {
        return Uni.createFrom().completionStage(() -> {
                    // no longer on its way before it is queued: the batcher must not wait for it
                    r.arrived();
                    var future = r.model.batcher().submit(input.input());
                    r.inBatcher.set(future);
                    return future;
                })
                .onCancellation().invoke(() -> {
                    var future = r.inBatcher.get();
                    if (future != null) {
                        future.cancel(false);
                    }
                })
                .onFailure(ModelRunException.class).transform(e -> {
                    LOG.errorf(e, "model failure on %s", r.prepared.url());
                    return new CaptionException(ErrorCode.MODEL_FAILURE, "the model failed: " + e.getMessage(), e);
                });
    }

    private CaptionResult result(Request r, MicroBatcher.Generated generated) {
        String caption = CaptionPipeline.text(r.model.model(), generated.tokens());
        long end = System.nanoTime();
        Timings timings = new Timings(
                Timings.ms(r.fetched - r.start), Timings.ms(r.decoded - r.fetched), Timings.ms(r.preprocessNanos),
                Timings.ms(generated.queuedNanos()), Timings.ms(generated.visionNanos()),
                Timings.ms(generated.generateNanos()), Timings.ms(end - r.start));
        metrics.captioned(timings, generated.tokens().length, generated.batchRequests());
        return new CaptionResult(r.prepared.id(), r.prepared.url().toString(), caption, r.model.model().manifest().id(),
                r.prepared.prompt(), timings);
    }

    private static CaptionException asCaptionException(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CaptionException e) {
                return e;
            }
        }
        LOG.error("unexpected failure while captioning", failure);
        return new CaptionException(ErrorCode.INTERNAL, "unexpected error: " + failure.getClass().getSimpleName(), failure);
    }
}
