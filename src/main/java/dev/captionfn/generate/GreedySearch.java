package dev.captionfn.generate;

import java.util.Arrays;
import java.util.List;

/** HF's greedy search: the processors run on the raw logits (no log-softmax), then the first maximum wins. */
final class GreedySearch implements Search {
    private final LogitsProcessor processors;
    private final List<StoppingCriteria> stopping;
    private final long[] generated;
    private float[] scores = new float[0];
    private int length;
    private boolean done;

    GreedySearch(GenerationOptions options, TokenSpace tokens, LogitsProcessor processors) {
        this.processors = processors;
        this.stopping = List.of(new EosTokenCriteria(tokens), new MaxNewTokensCriteria(options.maxNewTokens()));
        this.generated = new long[options.maxNewTokens()];
    }

    @Override
    public int rows() {
        return done ? 0 : 1;
    }

    @Override
    public Step step(float[] logits, int firstRow, int width) {
        if (scores.length != width) {
            scores = new float[width];
        }
        System.arraycopy(logits, firstRow * width, scores, 0, width);
        processors.process(generated, length, scores, 0, width);
        int best = 0;
        for (int t = 1; t < width; t++) {
            if (scores[t] > scores[best]) {
                best = t;
            }
        }
        generated[length++] = best;
        for (StoppingCriteria c : stopping) {
            if (c.isDone(generated, length)) {
                done = true;
                return Step.finished();
            }
        }
        return new Step(new int[] {0}, new long[] {best});
    }

    @Override
    public long[] result() {
        return Arrays.copyOf(generated, length);
    }
}
