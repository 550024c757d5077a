package dev.captionfn.caption;

import dev.captionfn.batch.MicroBatcher;
import dev.captionfn.fetch.FetchException;
import dev.captionfn.fetch.ImageFetcher;
import dev.captionfn.image.ImageDecodeException;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.image.RgbImage;
import dev.captionfn.model.ModelRunException;
import dev.captionfn.model.VisionLanguageModel;
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
 * whatever else arrived together, decode the caption. Each stage hands the next an immutable
 * result ({@link Fetched}, {@link ModelInput}, {@link Generated}) that carries its own times; the
 * stage times are put together once, at the end. Every outcome is counted in {@link CaptionMetrics}.
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
    private final RequestLimits limits;
    private final CaptionMetrics metrics;
    private final ImageDecoder decoder = new ImageDecoder();

    public CaptionService(ServedModel served, ImageFetcher fetcher, Admission admission, RequestLimits limits,
            CaptionMetrics metrics) {
        this.served = served;
        this.fetcher = fetcher;
        this.admission = admission;
        this.limits = limits;
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
            prepared = PreparedRequest.of(request, served.manifest().prompt(), served.decoding().defaults(), limits);
        } catch (CaptionException e) {
            return Uni.createFrom().failure(request == null ? e : e.withRequest(request.id(), request.imageUrl()));
        }
        String url = prepared.url().toString();
        if (!enter(waitForPlace)) {
            return Uni.createFrom().failure(new CaptionException(ErrorCode.OVERLOADED,
                    "this instance already holds " + admission.places() + " requests; retry later").withRequest(prepared.id(), url));
        }
        Place place = new Place();
        Duration deadline = limits.deadline();
        return Uni.createFrom().completionStage(() -> fetcher.fetch(prepared.url()))
                .onFailure(FetchException.class).transform(e -> ErrorCodes.failure((FetchException) e))
                .onItem().transformToUni(bytes -> {
                    long fetchNanos = System.nanoTime() - start;
                    return Uni.createFrom().completionStage(served::ready).map(model -> new Fetched(bytes, fetchNanos, model));
                })
                // decoding and preprocessing take CPU: off the event loop
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .map(fetched -> toModelInput(prepared, fetched))
                .onItem().transformToUni(input -> generate(prepared, place, input))
                // the batcher completes on its own thread, which must go on to the next batch
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .map(generated -> result(prepared, generated, start))
                .ifNoItem().after(deadline).failWith(() -> new CaptionException(ErrorCode.DEADLINE_EXCEEDED,
                        "not answered within " + deadline.toMillis() + " ms (captionfn.limits.deadline)"))
                .onFailure().transform(e -> asCaptionException(e).withRequest(prepared.id(), url))
                .onTermination().invoke(() -> {
                    place.arrived();
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

    /**
     * An admitted request's place in the queue: whether it is still on its way to the model (which
     * a filling batch waits for) and, once submitted, its future in the batcher, to withdraw it.
     */
    private final class Place {
        private final AtomicBoolean arrived = new AtomicBoolean();
        private final AtomicReference<CompletableFuture<MicroBatcher.Generated>> inBatcher = new AtomicReference<>();

        /** It reached the model's queue or ended before; either way it is no longer on its way. */
        void arrived() {
            if (arrived.compareAndSet(false, true)) {
                admission.arrived();
            }
        }

        void withdraw() {
            var future = inBatcher.get();
            if (future != null) {
                future.cancel(false);
            }
        }
    }

    /** The image's bytes, how long fetching them took, and the model, ready. */
    private record Fetched(byte[] bytes, long fetchNanos, ReadyModel model) {}

    /** What the batcher runs, and the times of the stages before it. */
    private record ModelInput(ReadyModel model, VisionLanguageModel.Input input, long fetchNanos, long decodeNanos,
            long preprocessNanos) {}

    /** What the batch gave this request. */
    private record Generated(ModelInput input, MicroBatcher.Generated output) {}

    private ModelInput toModelInput(PreparedRequest request, Fetched fetched) {
        long start = System.nanoTime();
        RgbImage image;
        try {
            image = decoder.decode(fetched.bytes(), limits.maxPixels());
        } catch (ImageDecodeException e) {
            throw ErrorCodes.failure(e);
        }
        long decoded = System.nanoTime();
        var input = fetched.model().prepare(image, request.prompt(), request.options());
        return new ModelInput(fetched.model(), input, fetched.fetchNanos(), decoded - start, System.nanoTime() - decoded);
    }

    private Uni<Generated> generate(PreparedRequest request, Place place, ModelInput input) {
        return Uni.createFrom().completionStage(() -> {
                    // no longer on its way before it is queued: the batcher must not wait for it
                    place.arrived();
                    var future = input.model().submit(input.input());
                    place.inBatcher.set(future);
                    return future;
                })
                .map(output -> new Generated(input, output))
                .onCancellation().invoke(place::withdraw)
                .onFailure(ModelRunException.class).transform(e -> {
                    LOG.errorf(e, "model failure on %s", request.url());
                    return new CaptionException(ErrorCode.MODEL_FAILURE, "the model failed: " + e.getMessage(), e);
                });
    }

    private CaptionResult result(PreparedRequest request, Generated generated, long start) {
        ModelInput in = generated.input();
        MicroBatcher.Generated out = generated.output();
        String caption = in.model().text(out.tokens());
        StageNanos nanos = new StageNanos(in.fetchNanos(), in.decodeNanos(), in.preprocessNanos(), out.queuedNanos(),
                out.visionNanos(), out.generateNanos(), System.nanoTime() - start);
        metrics.captioned(nanos, out.tokens().length, out.batchRequests());
        return new CaptionResult(request.id(), request.url().toString(), caption, in.model().id(), request.prompt(),
                Timings.of(nanos));
    }

    private static CaptionException asCaptionException(Throwable failure) {
        CaptionException e = Causes.asCaptionException(failure);
        if (e.code() == ErrorCode.INTERNAL && e.getCause() == failure) {
            LOG.error("unexpected failure while captioning", failure);
        }
        return e;
    }
}
