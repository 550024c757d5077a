package dev.captionfn.model;

import dev.captionfn.modeldir.ModelManifest;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelFiles;
import dev.captionfn.modeldir.ModelLoadException;
import dev.captionfn.ort.SessionSettings;
import dev.captionfn.ort.ProfileShapes;

import dev.captionfn.image.ImagePreprocessor;
import dev.captionfn.image.PreprocessSpec;
import dev.captionfn.text.LlmTokenizer;
import dev.captionfn.text.LlmTokenizerSpec;
import dev.captionfn.text.QFormerTokenizer;
import dev.captionfn.text.QFormerTokenizerSpec;
import dev.captionfn.text.TokenizerLoadException;
import java.nio.file.Path;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * A model directory made ready to serve: verified files, checked sessions, tokenizers and the
 * image preprocessing it asks for.
 */
public record LoadedModel(
        Path dir,
        ModelManifest manifest,
        VisionLanguageModel model,
        QFormerTokenizer qformerTokenizer,
        LlmTokenizer llmTokenizer,
        ImagePreprocessor preprocessor) implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(LoadedModel.class);

    public static LoadedModel load(Path dir, SessionSettings settings) {
        return load(dir, ManifestReader.read(dir), settings);
    }

    /** Loads a directory whose model.json was already read (the slow part: checksums and sessions). */
    public static LoadedModel load(Path dir, ModelManifest manifest, SessionSettings settings) {
        var checked = ModelFiles.verify(dir, manifest, settings.cacheDir());
        if (settings.cacheDir().isPresent()) {
            LOG.infof("model %s: %d files hashed, %d unchanged since their last check (the cache's record)", manifest.id(),
                    checked.hashed(), checked.unchanged());
        }
        QFormerTokenizer qformer = null;
        LlmTokenizer llm = null;
        try {
            qformer = QFormerTokenizer.load(ModelFiles.resolve(dir, manifest.qformer().tokenizer()),
                    new QFormerTokenizerSpec(manifest.qformer().maxLength(), QFormerTokenizerSpec.BERT_PAD_TOKEN));
            var l = manifest.llm();
            llm = LlmTokenizer.load(ModelFiles.resolve(dir, l.tokenizer()),
                    new LlmTokenizerSpec(l.bosId() >= 0, Math.max(l.bosId(), 0), l.eosIds().get(0), l.padId()));
            var image = manifest.image();
            ImagePreprocessor preprocessor = new ImagePreprocessor(
                    new PreprocessSpec(image.width(), image.height(), image.rescale(), image.mean(), image.std()));
            VisionLanguageModel vlm = new VisionLanguageModel(
                    OnnxGraphs.load(dir, manifest, settings, typicalRequest(manifest, qformer, llm)), qformer.padId());
            return new LoadedModel(dir, manifest, vlm, qformer, llm, preprocessor);
        } catch (TokenizerLoadException e) {
            close(qformer, llm);
            throw new ModelLoadException(e.getMessage(), e);
        } catch (RuntimeException e) {
            close(qformer, llm);
            throw e;
        }
    }

    /** The default prompt's lengths, for the shapes TensorRT tunes its engines for. */
    private static ProfileShapes.DefaultRequest typicalRequest(ModelManifest manifest, QFormerTokenizer qformer, LlmTokenizer llm) {
        return new ProfileShapes.DefaultRequest(qformer.encode(List.of(manifest.prompt())).length(),
                llm.encodePrompt(manifest.prompt()).length);
    }

    private static void close(QFormerTokenizer qformer, LlmTokenizer llm) {
        if (qformer != null) {
            qformer.close();
        }
        if (llm != null) {
            llm.close();
        }
    }

    @Override
    public void close() {
        model.close();
        close(qformerTokenizer, llmTokenizer);
    }
}
