package dev.captionfn.model;

import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.ImagePreprocessor;
import dev.captionfn.image.PreprocessSpec;
import dev.captionfn.image.RgbImage;
import dev.captionfn.modeldir.ModelFiles;
import dev.captionfn.modeldir.ModelLoadException;
import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.ort.ProfileShapes;
import dev.captionfn.text.LlmTokenizer;
import dev.captionfn.text.LlmTokenizerSpec;
import dev.captionfn.text.QFormerTokenizer;
import dev.captionfn.text.QFormerTokenizerSpec;
import dev.captionfn.text.TokenizerLoadException;
import java.nio.file.Path;

/**
 * What HF's {@code InstructBlipProcessor} does around the model, as model.json configures it: an
 * image and an instruction become the model's {@link VisionLanguageModel.Input} (pixel values, the
 * instruction's Q-Former ids, the language model's prompt ids), and generated ids become the
 * caption's text. Requests and the start-up warm-up go through the same processor, so that the
 * warm-up warms what requests use. Thread-safe; close it to free the native tokenizers.
 */
public final class InstructBlipProcessor implements AutoCloseable {
    private final ImagePreprocessor images;
    private final QFormerTokenizer qformer;
    private final LlmTokenizer llm;

    private InstructBlipProcessor(ImagePreprocessor images, QFormerTokenizer qformer, LlmTokenizer llm) {
        this.images = images;
        this.qformer = qformer;
        this.llm = llm;
    }

    /** Loads the tokenizers model.json names; a missing or unusable one is a {@link ModelLoadException}. */
    public static InstructBlipProcessor load(Path dir, ModelManifest manifest) {
        QFormerTokenizer qformer = null;
        try {
            qformer = QFormerTokenizer.load(ModelFiles.resolve(dir, manifest.qformer().tokenizer()),
                    new QFormerTokenizerSpec(manifest.qformer().maxLength(), QFormerTokenizerSpec.BERT_PAD_TOKEN));
            var l = manifest.llm();
            LlmTokenizer llm = LlmTokenizer.load(ModelFiles.resolve(dir, l.tokenizer()),
                    new LlmTokenizerSpec(l.bosId() >= 0, Math.max(l.bosId(), 0), l.eosIds().get(0), l.padId()));
            var image = manifest.image();
            return new InstructBlipProcessor(new ImagePreprocessor(
                    new PreprocessSpec(image.width(), image.height(), image.rescale(), image.mean(), image.std())), qformer, llm);
        } catch (RuntimeException e) {
            if (qformer != null) {
                qformer.close();
            }
            throw e instanceof TokenizerLoadException t ? new ModelLoadException(t.getMessage(), t) : e;
        }
    }

    /** One request's input: the image resized and normalised, the instruction tokenized for both towers. */
    public VisionLanguageModel.Input prepare(RgbImage image, String prompt, GenerationOptions options) {
        return new VisionLanguageModel.Input(images.toPixelValues(image), qformer.encodeOne(prompt), llm.encodePrompt(prompt), options);
    }

    /** The caption text of generated ids, as LAVIS decodes them. */
    public String decode(long[] tokens) {
        return llm.decode(tokens);
    }

    /** The id that pads the Q-Former's rows of a batch. */
    public long qformerPadId() {
        return qformer.padId();
    }

    /** How long a prompt is once tokenized: the shapes TensorRT tunes its engines for. */
    public ProfileShapes.DefaultRequest typicalRequest(String prompt) {
        return new ProfileShapes.DefaultRequest(qformer.encodeOne(prompt).length, llm.encodePrompt(prompt).length);
    }

    @Override
    public void close() {
        qformer.close();
        llm.close();
    }
}
