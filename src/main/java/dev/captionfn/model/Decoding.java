package dev.captionfn.model;

import dev.captionfn.generate.DecodingConvention;
import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.modeldir.ModelLoadException;
import dev.captionfn.modeldir.ModelManifest;
import java.nio.file.Path;

/**
 * How a model decodes, from model.json's generation section: the options a request gets where it
 * sets none, and the reference its decoding reproduces. Checked here, where decoding's rules are
 * known, so that a value decoding refuses stops startup with model.json's name on it.
 */
public record Decoding(GenerationOptions defaults, DecodingConvention convention) {

    public static Decoding of(Path modelDir, ModelManifest manifest) {
        Path file = modelDir.resolve(ManifestReader.FILE_NAME);
        var g = manifest.generation();
        GenerationOptions defaults;
        try {
            defaults = new GenerationOptions(g.numBeams(), g.maxNewTokens(), g.minNewTokens(), g.repetitionPenalty(),
                    g.lengthPenalty(), g.earlyStopping());
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(file + ": generation: " + e.getMessage());
        }
        // absent: LAVIS, the reference the project's models were first held to
        DecodingConvention convention = g.convention().map(id -> DecodingConvention.byId(id).orElseThrow(() ->
                new ModelLoadException(file + ": generation.convention '" + id + "' is not one this server knows (allowed: "
                        + DecodingConvention.known() + ")"))).orElse(DecodingConvention.DEFAULT);
        return new Decoding(defaults, convention);
    }
}
