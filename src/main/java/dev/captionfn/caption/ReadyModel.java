package dev.captionfn.caption;

import dev.captionfn.batch.MicroBatcher;
import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.RgbImage;
import dev.captionfn.model.InstructBlipProcessor;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.model.VisionLanguageModel;
import java.util.concurrent.CompletableFuture;

/**
 * The served model once it is loaded and warmed up: the one handle the service captions with.
 * A request is prepared into the model's input, submitted to the batcher, which runs it with
 * whatever else arrived together, and its generated ids decoded to text.
 */
final class ReadyModel implements AutoCloseable {
    private final LoadedModel model;
    private final InstructBlipProcessor processor;
    private final MicroBatcher batcher;

    ReadyModel(LoadedModel model, MicroBatcher batcher) {
        this.model = model;
        this.processor = model.processor();
        this.batcher = batcher;
    }

    /** model.json's id, which every caption names. */
    String id() {
        return model.manifest().id();
    }

    VisionLanguageModel.Input prepare(RgbImage image, String prompt, GenerationOptions options) {
        return processor.prepare(image, prompt, options);
    }

    CompletableFuture<MicroBatcher.Generated> submit(VisionLanguageModel.Input input) {
        return batcher.submit(input);
    }

    String text(long[] tokens) {
        return processor.decode(tokens);
    }

    @Override
    public void close() {
        batcher.close();
        model.close();
    }
}
