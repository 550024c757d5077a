package dev.captionfn.caption;

import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.RgbImage;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.model.VisionLanguageModel;
import java.util.List;

/**
 * The model's share of a caption, from decoded pixels to text: preprocess and tokenize into the
 * model's input, which the batcher runs with others; decode the generated tokens. Requests and the
 * start-up warm-up take the same steps, so that the warm-up warms what requests use.
 */
final class CaptionPipeline {
    private CaptionPipeline() {}

    /** The model's input for one request, and how long preprocessing and tokenizing took. */
    record Prepared(VisionLanguageModel.Input input, long preprocessNanos) {}

    static Prepared prepare(LoadedModel model, RgbImage image, String prompt, GenerationOptions options) {
        long start = System.nanoTime();
        float[] pixels = model.preprocessor().toPixelValues(image);
        long[] qformerIds = model.qformerTokenizer().encode(List.of(prompt)).idsOf(0);
        long[] promptIds = model.llmTokenizer().encodePrompt(prompt);
        return new Prepared(new VisionLanguageModel.Input(pixels, qformerIds, promptIds, options), System.nanoTime() - start);
    }

    /** The caption text of generated tokens, as LAVIS decodes them. */
    static String text(LoadedModel model, long[] tokens) {
        return model.llmTokenizer().decode(tokens);
    }
}
