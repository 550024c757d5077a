package dev.captionfn.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Finished hypotheses as transformers 4.57 and 5.x keep them ({@code _beam_search} and its
 * helpers), in float32 as PyTorch computes them. A candidate among the first {@code numBeams}
 * ranks finishes a hypothesis when its token is EOS or it is the last token max_new_tokens allows;
 * the hypothesis holds that token and is scored over a length that counts it. The search goes on
 * while the best running beam, over the new length, could still beat the worst of a full list.
 */
final class TransformersBeamHypotheses implements BeamHypotheses {
    private record Hypothesis(float score, long[] tokens) {}

    private final int numBeams;
    private final double lengthPenalty;
    private final boolean earlyStopping;
    private final TokenSpace tokens;
    /** Best first; HF keeps its n best by a top-k over old and new, so the list stays sorted. */
    private final List<Hypothesis> beams = new ArrayList<>();

    TransformersBeamHypotheses(GenerationOptions options, TokenSpace tokens) {
        this.numBeams = options.numBeams();
        this.lengthPenalty = options.lengthPenalty();
        this.earlyStopping = options.earlyStopping();
        this.tokens = tokens;
    }

    @Override
    public boolean afterStep(BeamStep step) {
        // HF also guards these additions with its "improvable" flag and the early-stopping rule,
        // because the rows of its batch stop together; a search here ends as soon as either says
        // stop, so on any step that is still taken both allow the additions.
        int length = step.generated() + 1;
        float denominator = (float) Math.pow(length, lengthPenalty);
        for (int rank = 0; rank < Math.min(numBeams, step.tokens().length); rank++) {
            if (step.last() || tokens.isEos(step.tokens()[rank])) {
                add(step.candidate(rank), step.scores()[rank] / denominator);
            }
        }
        if (step.last()) {
            return true;
        }
        if (earlyStopping && isFull()) {
            return true;
        }
        return !improvable(step.nextScores()[0], length);
    }

    /** HF's early-stop heuristic (early_stopping=False): the best running beam over its length. */
    boolean improvable(float bestRunningScore, int length) {
        return !isFull() || bestRunningScore / (float) Math.pow(length, lengthPenalty) > worstScore();
    }

    void add(long[] hypothesis, float score) {
        int at = beams.size();
        // after its equals: the old entries come first in HF's merged top-k
        while (at > 0 && score > beams.get(at - 1).score()) {
            at--;
        }
        if (at < numBeams) {
            beams.add(at, new Hypothesis(score, hypothesis.clone()));
            if (beams.size() > numBeams) {
                beams.remove(numBeams);
            }
        }
    }

    private boolean isFull() {
        return beams.size() >= numBeams;
    }

    private float worstScore() {
        return beams.get(beams.size() - 1).score();
    }

    /** The finished hypotheses, best first. */
    List<List<Long>> finished() {
        return beams.stream().map(h -> Arrays.stream(h.tokens()).boxed().toList()).toList();
    }

    @Override
    public long[] best() {
        return beams.get(0).tokens().clone();
    }
}
