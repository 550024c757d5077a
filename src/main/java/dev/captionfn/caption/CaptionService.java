package dev.captionfn.caption;

import dev.captionfn.config.CaptionfnConfig;
import dev.captionfn.fetch.ImageFetcher;
import dev.captionfn.image.ImageDecodeException;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.image.RgbImage;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.model.ModelRunException;
import dev.captionfn.model.VisionLanguageModel;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The one captioning service behind every way in: fetch the image, decode and preprocess it,
 * tokenize the instruction, run the model, decode the caption.
 */
@ApplicationScoped
public class CaptionService {
    private static final Logger LOG = Logger.getLogger(CaptionService.class);

    private final ServedModel served;
    private final ImageFetcher fetcher;
    private final CaptionfnConfig config;
    private final ImageDecoder decoder = new ImageDecoder();

    public CaptionService(ServedModel served, ImageFetcher fetcher, CaptionfnConfig config) {
        this.served = served;
        this.fetcher = fetcher;
        this.config = config;
    }

    public Uni<CaptionResult> caption(CaptionRequest request) {
        long start = System.nanoTime();
        PreparedRequest prepared;
        try {
            prepared = PreparedRequest.of(request, served.get().manifest(), config.limits());
        } catch (CaptionException e) {
            return Uni.createFrom().failure(e.withRequestId(request == null ? null : request.id()));
        }
        return Uni.createFrom().completionStage(() -> fetcher.fetch(prepared.url()))
                // decoding and the model block: off the event loop
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .map(bytes -> caption(prepared, bytes, start, System.nanoTime()))
                .onFailure().transform(e -> asCaptionException(e).withRequestId(prepared.id()));
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

    private CaptionResult caption(PreparedRequest request, byte[] bytes, long start, long fetched) {
        LoadedModel model = served.get();
        RgbImage image;
        try {
            image = decoder.decode(bytes, config.limits().maxPixels());
        } catch (ImageDecodeException e) {
            throw new CaptionException(ErrorCodes.of(e.error()), e.getMessage(), e);
        }
        long decoded = System.nanoTime();
        float[] pixels = model.preprocessor().toPixelValues(image);
        long[] qformerIds = model.qformerTokenizer().encode(List.of(request.prompt())).idsOf(0);
        long[] promptIds = model.llmTokenizer().encodePrompt(request.prompt());
        long prepared = System.nanoTime();
        VisionLanguageModel.Output out;
        try {
            out = model.model().generate(List.of(new VisionLanguageModel.Input(pixels, qformerIds, promptIds, request.options())));
        } catch (ModelRunException e) {
            LOG.errorf(e, "model failure on %s", request.url());
            throw new CaptionException(ErrorCode.MODEL_FAILURE, "the model failed: " + e.getMessage(), e);
        }
        String caption = model.llmTokenizer().decode(out.tokens().get(0));
        long end = System.nanoTime();
        Timings timings = new Timings(
                Timings.ms(fetched - start), Timings.ms(decoded - fetched), Timings.ms(prepared - decoded),
                Timings.ms(out.visionNanos()), Timings.ms(out.generateNanos()), Timings.ms(end - start));
        return new CaptionResult(request.id(), request.url().toString(), caption, model.manifest().id(), request.prompt(), timings);
    }
}
