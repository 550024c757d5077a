package dev.captionfn.caption;

import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.RgbImage;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.model.ModelRunException;
import dev.captionfn.model.VisionLanguageModel;
import java.util.List;

/**
 * The model's share of a caption, from decoded pixels to text: preprocess, tokenize, generate,
 * decode. Requests and the start-up warm-up run the same steps, so that the warm-up warms what
 * requests use.
 */
final class CaptionPipeline {
    private CaptionPipeline() {}

    /** A caption and where its time went; the token count includes the end-of-sequence token. */
    record Captioned(String caption, int tokens, long preprocessNanos, long visionNanos, long generateNanos) {}

    static Captioned run(LoadedModel model, RgbImage image, String prompt, GenerationOptions options) {
        long start = System.nanoTime();
        float[] pixels = model.preprocessor().toPixelValues(image);
        long[] qformerIds = model.qformerTokenizer().encode(List.of(prompt)).idsOf(0);
        long[] promptIds = model.llmTokenizer().encodePrompt(prompt);
        long prepared = System.nanoTime();
        VisionLanguageModel.Output out;
        try {
            out = model.model().generate(List.of(new VisionLanguageModel.Input(pixels, qformerIds, promptIds, options)));
        } catch (ModelRunException e) {
            throw new CaptionException(ErrorCode.MODEL_FAILURE, "the model failed: " + e.getMessage(), e);
        }
        long[] tokens = out.tokens().get(0);
        return new Captioned(model.llmTokenizer().decode(tokens), tokens.length,
                prepared - start, out.visionNanos(), out.generateNanos());
    }
}
