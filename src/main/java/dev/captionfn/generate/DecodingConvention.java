package dev.captionfn.generate;

import java.util.Arrays;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

/**
 * Which reference a model's decoding reproduces where HF transformers' versions disagree. Both are
 * HF's greedy and beam search with the same processors; they differ in what the repetition penalty
 * sees and in how a beam search scores finished hypotheses and decides it is done. The model says
 * which one it follows (model.json's {@code generation.convention}); a request cannot change it,
 * because the reference a model's captions were validated against is a property of the model.
 */
public enum DecodingConvention {
    /**
     * transformers &le; 4.33 as Salesforce LAVIS calls it (inputs_embeds only, so input_ids start
     * empty): the penalty sees generated tokens only, and a hypothesis ending on EOS is scored over
     * the tokens before EOS. The published InstructBLIP and BLIP-2 captions were made this way.
     */
    LAVIS("lavis"),
    /**
     * transformers 4.57 and 5.x, whose InstructBLIP and BLIP-2 {@code generate} pass the processor's
     * input_ids (image placeholders, BOS, prompt) to the language model: the penalty covers the
     * prompt too, and a finished hypothesis's length counts its EOS.
     */
    TRANSFORMERS("transformers");

    /** What a model.json without {@code generation.convention} follows: the seed's reference, LAVIS. */
    public static final DecodingConvention DEFAULT = LAVIS;

    private final String id;

    DecodingConvention(String id) {
        this.id = id;
    }

    /** The name model.json uses. */
    public String id() {
        return id;
    }

    public static Optional<DecodingConvention> byId(String id) {
        return Arrays.stream(values()).filter(c -> c.id.equals(id)).findFirst();
    }

    public static String known() {
        return Arrays.stream(values()).map(DecodingConvention::id).collect(Collectors.joining(", "));
    }

    /**
     * The ids HF's input_ids hold when generation starts, which its repetition penalty sees beside
     * the generated tokens.
     *
     * @param imageTokenId the processor's image placeholder, which transformers puts before the
     *     prompt once per query token (once is enough: the penalty counts each distinct id once)
     * @param llmPromptIds the prompt as the server feeds it, BOS first when the model has one
     */
    public long[] penalisedPromptIds(OptionalLong imageTokenId, long[] llmPromptIds) {
        return switch (this) {
            case LAVIS -> new long[0];
            case TRANSFORMERS -> imageTokenId.isPresent()
                    ? LongStream.concat(LongStream.of(imageTokenId.getAsLong()), Arrays.stream(llmPromptIds)).toArray()
                    : llmPromptIds.clone();
        };
    }
}
