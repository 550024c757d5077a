package dev.captionfn.generate;

import java.util.ArrayList;
import java.util.List;

/**
 * The processors one request needs, in HF's order, each added only when its setting is not neutral
 * (a penalty of 1, a head no wider than the vocabulary). The minimum of new tokens never is: HF's
 * neutral minimum, 0, is one that {@link GenerationOptions} refuses, and a minimum of 1 still bans
 * EOS as the first token.
 */
final class LogitsProcessorList implements LogitsProcessor {
    private final List<LogitsProcessor> processors;

    private LogitsProcessorList(List<LogitsProcessor> processors) {
        this.processors = List.copyOf(processors);
    }

    /** @param penalisedPromptIds the prompt ids the repetition penalty sees besides the generated tokens */
    static LogitsProcessorList forOptions(GenerationOptions options, TokenSpace tokens, long[] penalisedPromptIds) {
        List<LogitsProcessor> list = new ArrayList<>();
        if (options.repetitionPenalty() != 1.0) {
            list.add(new RepetitionPenaltyLogitsProcessor(options.repetitionPenalty(), penalisedPromptIds));
        }
        // always added: no valid GenerationOptions holds a minimum that bans nothing (see above)
        list.add(new MinNewTokensLogitsProcessor(options.minNewTokens(), tokens.eosIds()));
        if (tokens.width() > tokens.vocabSize()) {
            list.add(new VocabularyMaskLogitsProcessor(tokens.vocabSize()));
        }
        return new LogitsProcessorList(list);
    }

    List<LogitsProcessor> processors() {
        return processors;
    }

    @Override
    public void process(long[] generated, int length, float[] scores, int offset, int width) {
        for (LogitsProcessor p : processors) {
            p.process(generated, length, scores, offset, width);
        }
    }
}
